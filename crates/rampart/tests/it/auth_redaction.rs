//! The redaction test: capture every log line (all targets, TRACE) while
//! sending succeeding and failing requests full of secrets — tokens, API keys,
//! cookies, passwords, `writeOnly` and `x-rampart-sensitive` fields, URL
//! credentials — and assert that none of them appears in the output.

use crate::support::auth;
use crate::support::process::alone;

use auth::*;
use axum::Json;
use axum::routing::{get, post};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_at_any_level() {
    alone!(no_secret_reaches_the_logs_at_any_level);
    let captured = capture_logs_at(tracing::Level::TRACE);

    let model = model();
    let dir = temp_dir("redaction");
    let (keys_path, keys) = write_keys(&dir);
    let mut config = hs_config();
    config.api_keys.file = Some(keys_path);
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(NOW))
        .build()
        .unwrap();
    let redactor = security.redactor().clone();
    let mut app = axum::Router::new();
    for op in model.operations.iter().filter(|o| o.path != "/login") {
        app = app.route(
            &op.path,
            get(|| async { "ok" })
                .post(|| async { "ok" })
                .route_layer(security.guard(op.policy.clone())),
        );
    }
    let login = model.operation("login").unwrap().policy.clone();
    app = app.route(
        "/login",
        post(move |Json(body): Json<Value>| async move {
            // What a handler logging request data does: through the redactor.
            tracing::info!(body = %redactor.json(&body), "login attempt");
            "ok"
        })
        .route_layer(security.guard(login)),
    );
    let base = serve(app).await;
    let c = client();

    let valid = hs256(&claims("alice", &["admin"]));
    let mut expired_claims = claims("alice", &["admin"]);
    expired_claims["exp"] = json!(NOW - 3600);
    let expired = hs256(&expired_claims);
    let forged = sign(
        &claims("mallory", &["admin"]),
        jsonwebtoken::Algorithm::HS256,
        &jsonwebtoken::EncodingKey::from_secret(b"forged-secret-forged-secret-forged-secret"),
        None,
    );
    let key = keys["editor"].key.clone();
    let wrong_key = format!("rk_{}_{}", keys["editor"].record.id, "Zq9".repeat(14));
    let inactive_key = keys["inactive"].key.clone();
    let cookie = "session=cookie-secret-7c1f9a";
    let password = "hunter2-password-secret";
    let pin = "pin-9876-writeonly-secret";
    let memo = "memo-x-rampart-sensitive-secret";
    let url_token = "url-access-token-secret-55";

    let get = |path: &str| c.get(format!("{base}{path}")).header("cookie", cookie);
    for token in [&valid, &expired, &forged] {
        get("/any")
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        get("/either")
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
    }
    for k in [&key, &wrong_key, &inactive_key] {
        get("/keys").header("x-api-key", k).send().await.unwrap();
        get("/both")
            .header("x-api-key", k)
            .header("authorization", format!("Bearer {valid}"))
            .send()
            .await
            .unwrap();
    }
    get("/any").send().await.unwrap();
    get(&format!("/any?access_token={url_token}"))
        .send()
        .await
        .unwrap();
    get(&format!("/keys?api_key={url_token}"))
        .send()
        .await
        .unwrap();
    let r = c
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .json(&json!({ "user": "alice", "password": password, "pin": pin, "memo": memo }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    if std::env::var_os("RAMPART_SHOW_LOGS").is_some() {
        eprintln!("{text}");
    }
    // The capture works: events of every kind are there.
    for expected in [
        "auth.success",
        "auth.failure",
        "auth.url_credentials",
        "login attempt",
        "[REDACTED]",
        "request received",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from the logs:\n{text}"
        );
    }
    let secrets: Vec<&str> = vec![
        SECRET,
        &valid,
        &expired,
        &forged,
        valid.rsplit('.').next().unwrap(),
        forged.rsplit('.').next().unwrap(),
        &key,
        secret_of(&key),
        &wrong_key,
        &inactive_key,
        secret_of(&inactive_key),
        "cookie-secret-7c1f9a",
        password,
        pin,
        memo,
        url_token,
    ];
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "a secret reached the logs: `{secret}`\n{text}"
        );
    }
}

/// The secret part of `rk_<id>_<secret>`. Not `rsplit_once('_')`: the
/// secret is base64url and may itself hold `_`, which left a 2-character
/// "secret" that matched log text by chance.
fn secret_of(key: &str) -> &str {
    key.strip_prefix("rk_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(_, secret)| secret)
        .expect("rk_<id>_<secret>")
}
