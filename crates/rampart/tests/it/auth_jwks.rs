//! JWKS over a URL served by a second local server: keys are fetched at
//! startup, an unknown `kid` triggers exactly one refetch per refresh interval
//! (then 401), rotated keys are picked up, symmetric JWKS keys are ignored, and
//! a failing refresh makes `/readyz` 503 while the current keys keep serving.

use crate::support::auth;
use crate::support::process::alone;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::*;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Idp {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    fn publish(&self, private_pem: &str, kid: &str) -> EncodingKey {
        let key = EncodingKey::from_rsa_pem(&fixture_bytes(private_pem)).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        self.keys
            .lock()
            .unwrap()
            .push(serde_json::to_value(jwk).unwrap());
        key
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(idp): State<Idp>) -> Json<Value> {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": *idp.keys.lock().unwrap() }))
}

async fn idp_server(idp: &Idp) -> String {
    serve(
        Router::new()
            .route("/jwks.json", get(jwks))
            .with_state(idp.clone()),
    )
    .await
}

fn jwks_config(location: String) -> rampart::SecurityConfig {
    let mut config = hs_config();
    config.jwt.secret = None;
    config.jwt.jwks = Some(location);
    config.jwt.jwks_refresh_interval = Some(60);
    config
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_refetches_once_per_interval_then_401() {
    let idp = Idp::default();
    let k1 = idp.publish("test-only-rsa-private.pem", "k1");
    let idp_url = idp_server(&idp).await;
    let s = start(jwks_config(format!("{idp_url}/jwks.json"))).await;
    assert_eq!(idp.fetches(), 1, "fetched once at startup");
    let c = client();

    let token = sign(&claims("alice", &[]), Algorithm::RS256, &k1, Some("k1"));
    send(c.get(s.url("/any")).header("authorization", bearer(&token)))
        .await
        .assert_ok_as("alice");
    assert_eq!(idp.fetches(), 1);

    // An unknown kid: one refetch, then 401.
    let rogue = EncodingKey::from_rsa_pem(&fixture_bytes("test-only-rsa2-private.pem")).unwrap();
    let unknown = sign(
        &claims("mallory", &[]),
        Algorithm::RS256,
        &rogue,
        Some("nope"),
    );
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&unknown)),
    )
    .await
    .assert_invalid_token();
    assert_eq!(idp.fetches(), 2, "refetched once for the unknown kid");
    assert_eq!(s.security.jwks_fetch_count("bearerAuth"), Some(2));

    // More unknown kids within the interval do not reach the IdP.
    for i in 0..5 {
        let t = sign(
            &claims("mallory", &[]),
            Algorithm::RS256,
            &rogue,
            Some(&format!("nope{i}")),
        );
        send(c.get(s.url("/any")).header("authorization", bearer(&t)))
            .await
            .assert_invalid_token();
    }
    assert_eq!(
        idp.fetches(),
        2,
        "throttled: at most one fetch per interval"
    );

    // The IdP rotates in k2; it is found once the interval has passed.
    let k2 = idp.publish("test-only-rsa2-private.pem", "k2");
    let rotated = sign(&claims("bob", &[]), Algorithm::RS256, &k2, Some("k2"));
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&rotated)),
    )
    .await
    .assert_invalid_token();
    assert_eq!(idp.fetches(), 2);
    s.clock.advance(Duration::from_secs(61));
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&rotated)),
    )
    .await
    .assert_ok_as("bob");
    assert_eq!(idp.fetches(), 3);

    // A known kid with the wrong key's signature is a bad signature: no refetch.
    let mismatched = sign(&claims("mallory", &[]), Algorithm::RS256, &k2, Some("k1"));
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&mismatched)),
    )
    .await
    .assert_invalid_token();
    assert_eq!(idp.fetches(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_jwks_is_refreshed_after_max_age() {
    let idp = Idp::default();
    let k1 = idp.publish("test-only-rsa-private.pem", "k1");
    let idp_url = idp_server(&idp).await;
    let mut config = jwks_config(format!("{idp_url}/jwks.json"));
    config.jwt.jwks_max_age = Some(3600);
    let s = start(config).await;
    let mut long_lived = claims("alice", &[]);
    long_lived["exp"] = json!(NOW + 86_400);
    let token = sign(&long_lived, Algorithm::RS256, &k1, Some("k1"));
    let c = client();
    send(c.get(s.url("/any")).header("authorization", bearer(&token)))
        .await
        .assert_ok_as("alice");
    assert_eq!(idp.fetches(), 1);
    s.clock.advance(Duration::from_secs(3600));
    // Stale: served from the current keys while a refresh runs in the background.
    send(c.get(s.url("/any")).header("authorization", bearer(&token)))
        .await
        .assert_ok_as("alice");
    eventually(|| idp.fetches() == 2).await;
    assert_eq!(idp.fetches(), 2);
    // Once the key is gone from the IdP, tokens it signed stop working after
    // the (background) refresh has replaced the keys.
    idp.keys.lock().unwrap().clear();
    let _ = idp.publish("test-only-rsa2-private.pem", "k2");
    s.clock.advance(Duration::from_secs(3600));
    let mut refused = false;
    for _ in 0..200 {
        let a = send(c.get(s.url("/any")).header("authorization", bearer(&token))).await;
        if a.status == 401 {
            a.assert_invalid_token();
            refused = true;
            break;
        }
        a.assert_ok_as("alice");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the refreshed JWKS was never used");
    assert_eq!(idp.fetches(), 3);
}

/// Wait (bounded: 200 × 10 ms) until `done` holds.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A JWKS endpoint that answers its first request (the startup fetch) and
/// then hangs every later one until `release`; it records whether a hanging
/// fetch was abandoned by the client (its timeout) before the release.
struct HangingIdp {
    url: String,
    abandoned: Arc<std::sync::atomic::AtomicBool>,
    release: tokio::sync::watch::Sender<bool>,
}

async fn hanging_idp(document: Value) -> HangingIdp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (release, released) = tokio::sync::watch::channel(false);
    let flag = abandoned.clone();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            if first {
                first = false;
                let _ = stream.read(&mut buf).await;
                let body = document.to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                continue;
            }
            let flag = flag.clone();
            let mut released = released.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        read = stream.read(&mut buf) => {
                            if matches!(read, Ok(0) | Err(_)) {
                                if !*released.borrow() {
                                    flag.store(true, Ordering::SeqCst);
                                }
                                return;
                            }
                        }
                        _ = released.changed() => return,
                    }
                }
            });
        }
    });
    HangingIdp {
        url,
        abandoned,
        release,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_jwks_endpoint_never_holds_up_bearer_requests() {
    let idp = Idp::default();
    let k1 = idp.publish("test-only-rsa-private.pem", "k1");
    let document = json!({ "keys": *idp.keys.lock().unwrap() });
    let hanging = hanging_idp(document).await;
    let mut config = jwks_config(hanging.url.clone());
    config.jwt.jwks_max_age = Some(3600);
    let s = start(config).await;
    let mut long_lived = claims("alice", &[]);
    long_lived["exp"] = json!(NOW + 86_400);
    let token = sign(&long_lived, Algorithm::RS256, &k1, Some("k1"));
    let c = client();
    send(c.get(s.url("/any")).header("authorization", bearer(&token)))
        .await
        .assert_ok_as("alice");
    // The copy goes stale; the identity provider now hangs every fetch.
    s.clock.advance(Duration::from_secs(3600));
    for _ in 0..3 {
        send(c.get(s.url("/any")).header("authorization", bearer(&token)))
            .await
            .assert_ok_as("alice");
    }
    // Answered while the refresh was still hanging: nobody waited for the
    // fetch to time out.
    assert!(
        !hanging.abandoned.load(Ordering::SeqCst),
        "a bearer request waited for the hanging JWKS fetch"
    );
    eventually(|| s.security.jwks_fetch_count("bearerAuth") == Some(2)).await;
    assert_eq!(s.security.jwks_fetch_count("bearerAuth"), Some(2));
    let _ = hanging.release.send(true);
}

#[tokio::test]
async fn jwks_from_a_file_and_symmetric_keys_ignored() {
    let dir = temp_dir("jwks");
    let ec = EncodingKey::from_ec_pem(&fixture_bytes("test-only-ec-private.pem")).unwrap();
    let mut jwk = Jwk::from_encoding_key(&ec, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("ec1".into());
    // An `oct` key in a JWKS would let anyone who reads the JWKS sign tokens: ignored.
    let oct = json!({ "kty": "oct", "kid": "sym", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA" });
    let path = dir.join("jwks.json");
    std::fs::write(&path, json!({ "keys": [jwk, oct] }).to_string()).unwrap();
    let s = start(jwks_config(path.display().to_string())).await;
    let c = client();
    let token = sign(&claims("alice", &[]), Algorithm::ES256, &ec, Some("ec1"));
    send(c.get(s.url("/any")).header("authorization", bearer(&token)))
        .await
        .assert_ok_as("alice");
    let sym = EncodingKey::from_secret(b"secret-secret-secret-secret-secret");
    let forged = sign(&claims("mallory", &[]), Algorithm::HS256, &sym, Some("sym"));
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&forged)),
    )
    .await
    .assert_invalid_token();

    // A JWKS with nothing usable refuses to start.
    std::fs::write(&path, json!({ "keys": [oct] }).to_string()).unwrap();
    let err = rampart::Security::from_api(&model().descriptor(), {
        let mut c = jwks_config(path.display().to_string());
        c.api_keys.file = Some(s.keys_path.clone());
        c
    })
    .unwrap_err();
    assert!(err.message.contains("no signing key"), "{err}");
}

/// A JWKS endpoint that answers its first request and fails every later one.
async fn failing_idp(document: Value) -> String {
    let served = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let (served, document) = (served.clone(), document.clone());
            async move {
                if served.fetch_add(1, Ordering::SeqCst) == 0 {
                    Ok(Json(document))
                } else {
                    Err(axum::http::StatusCode::BAD_GATEWAY)
                }
            }
        }),
    );
    format!("{}/jwks.json", serve(app).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_jwks_refresh_makes_ready_503_while_bearer_requests_keep_being_served() {
    let idp = Idp::default();
    let k1 = idp.publish("test-only-rsa-private.pem", "k1");
    let url = failing_idp(json!({ "keys": *idp.keys.lock().unwrap() })).await;
    let mut config = jwks_config(url);
    config.jwt.jwks_max_age = Some(3600);
    let (keys, _) = write_keys(&temp_dir("jwks-ready"));
    config.api_keys.file = Some(keys);
    let model = model();
    let clock = rampart::auth::ManualClock::at(NOW);
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(security.harden(router(&model, &security))).await;
    let c = client();
    let ready = c.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let mut long_lived = claims("alice", &[]);
    long_lived["exp"] = json!(NOW + 86_400);
    let token = sign(&long_lived, Algorithm::RS256, &k1, Some("k1"));
    // The copy goes stale; its background refresh fails.
    clock.advance(Duration::from_secs(3600));
    send(
        c.get(format!("{base}/any"))
            .header("authorization", bearer(&token)),
    )
    .await
    .assert_ok_as("alice");
    eventually(|| security.jwks_fetch_count("bearerAuth") == Some(2)).await;
    let mut report = Value::Null;
    for _ in 0..40 {
        let r = c.get(format!("{base}/readyz")).send().await.unwrap();
        if r.status().as_u16() == 503 {
            report = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(report["checks"]["jwks:bearerAuth"], "down", "{report}");
    assert!(
        !report.to_string().contains("jwks.json"),
        "no internals: {report}"
    );
    // Bearer requests keep being served from the current keys.
    send(
        c.get(format!("{base}/any"))
            .header("authorization", bearer(&token)),
    )
    .await
    .assert_ok_as("alice");
}

/// A JWKS endpoint that serves `document` while `up` holds, else 502.
async fn flaky_idp(document: Value, up: Arc<std::sync::atomic::AtomicBool>) -> String {
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let (up, document) = (up.clone(), document.clone());
            async move {
                if up.load(Ordering::SeqCst) {
                    Ok(Json(document))
                } else {
                    Err(axum::http::StatusCode::BAD_GATEWAY)
                }
            }
        }),
    );
    format!("{}/jwks.json", serve(app).await)
}

/// Issue 24, item 7: a JWKS that cannot be refreshed for longer than
/// `jwks-max-stale` stops being trusted: tokens only its keys verify are
/// answered 503 (the token cache included), it is logged, `/readyz` says
/// so; once a refresh succeeds they are served again. Before, the last
/// copy was trusted forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_that_cannot_be_refreshed_past_max_stale_is_not_trusted() {
    alone!(a_jwks_that_cannot_be_refreshed_past_max_stale_is_not_trusted);
    let captured = capture_logs_at(tracing::Level::INFO);
    let idp = Idp::default();
    let k1 = idp.publish("test-only-rsa-private.pem", "k1");
    let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let url = flaky_idp(json!({ "keys": *idp.keys.lock().unwrap() }), up.clone()).await;
    let mut config = jwks_config(url);
    config.jwt.jwks_max_age = Some(3600);
    config.jwt.jwks_max_stale = Some(4 * 3600);
    let (keys, _) = write_keys(&temp_dir("jwks-max-stale"));
    config.api_keys.file = Some(keys);
    let model = model();
    let clock = rampart::auth::ManualClock::at(NOW);
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(security.harden(router(&model, &security))).await;
    let c = client();
    let mut long_lived = claims("alice", &[]);
    long_lived["exp"] = json!(NOW + 3 * 86_400);
    let token = sign(&long_lived, Algorithm::RS256, &k1, Some("k1"));
    let call = || {
        send(
            c.get(format!("{base}/any"))
                .header("authorization", bearer(&token)),
        )
    };
    call().await.assert_ok_as("alice");

    // The identity provider goes down; the copy goes stale and its
    // refreshes fail, but it is younger than jwks-max-stale: still served.
    up.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(3600));
    call().await.assert_ok_as("alice");
    eventually(|| security.jwks_fetch_count("bearerAuth") == Some(2)).await;
    // The count rises when the refetch starts; trust depends on its failure
    // being known, which a slow machine records a little later.
    eventually(|| captured.text().contains("jwks.refresh_failed")).await;
    clock.advance(Duration::from_secs(2 * 3600));
    call().await.assert_ok_as("alice");

    // Past jwks-max-stale with a failed refresh: refused, cache or not.
    clock.advance(Duration::from_secs(3600));
    call().await.assert_problem(503, "unavailable");
    call().await.assert_problem(503, "unavailable");
    let ready = c.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["checks"]["jwks:bearerAuth"], "down", "{report}");
    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(text.contains("jwks.untrusted"), "not logged:\n{text}");

    // The identity provider is back: the next refresh restores trust.
    up.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(60));
    let mut served = false;
    for _ in 0..200 {
        let a = call().await;
        if a.status == 200 {
            a.assert_ok_as("alice");
            served = true;
            break;
        }
        a.assert_problem(503, "unavailable");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served, "trust never came back after a successful refresh");
    // `/readyz` follows (its answer is kept for a second).
    let mut ready = 0;
    for _ in 0..40 {
        ready = c
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200);
}
