//! API keys over real sockets: valid, missing, malformed, wrong secret,
//! unknown, inactive, expired, revoked (file re-read), wrong role, keys in the
//! URL refused, and the Redis store against a real Redis.

use crate::support::auth;

#[cfg(feature = "redis")]
use std::sync::Arc;
use std::time::Duration;

use auth::*;
use rampart::auth::{KeyFile, NewKey};
#[cfg(feature = "redis")]
use rampart::auth::{KeyStore, RedisKeyStore};

const KEY_CHALLENGE: &str = r#"ApiKey realm="api""#;
const KEY_INVALID: &str = r#"ApiKey realm="api", error="invalid_token""#;

fn assert_key_invalid(a: &Answer) {
    a.assert_problem(401, "unauthorized");
    assert_eq!(a.challenges, [KEY_INVALID], "{a:?}");
}

#[tokio::test]
async fn valid_missing_and_malformed_keys() {
    let s = start(hs_config()).await;
    let c = client();
    let editor = &s.keys["editor"];
    let a = send(c.get(s.url("/keys")).header("x-api-key", &editor.key)).await;
    a.assert_ok_as(&editor.record.id);
    assert_eq!(a.body["key_id"], editor.record.id);
    assert_eq!(a.body["scheme"], "apiKey");
    assert_eq!(a.body["roles"], serde_json::json!(["editor"]));

    send(c.get(s.url("/keys")))
        .await
        .assert_unauthenticated(&[KEY_CHALLENGE]);
    for bad in [
        "nope",
        "rk_",
        "rk_0123456789abcdef_",
        "rk_XYZ_abc",
        &"a".repeat(200),
    ] {
        assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", bad)).await);
    }
}

#[tokio::test]
async fn wrong_secret_unknown_inactive_and_expired_keys_are_refused() {
    let s = start(hs_config()).await;
    let c = client();
    let editor = &s.keys["editor"];
    let wrong_secret = format!("rk_{}_{}", editor.record.id, "A".repeat(43));
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", wrong_secret)).await);
    let unknown = NewKey::generate(vec!["admin".into()], None, 0);
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", &unknown.key)).await);
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", s.key("inactive"))).await);
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", s.key("expired"))).await);
    // The viewer key expires in 2031: fine now, refused once the clock passes it.
    let a = send(c.get(s.url("/either")).header("x-api-key", s.key("viewer"))).await;
    assert_eq!(a.status, 200, "{a:?}");
    s.clock.advance(Duration::from_secs(2 * 366 * 86_400));
    let a = send(c.get(s.url("/either")).header("x-api-key", s.key("viewer"))).await;
    a.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn revoked_keys_stop_working_once_the_file_is_reread() {
    let s = start(hs_config()).await;
    let c = client();
    let editor = &s.keys["editor"];
    let a = send(c.get(s.url("/keys")).header("x-api-key", &editor.key)).await;
    assert_eq!(a.status, 200);
    let mut file = KeyFile::load(&s.keys_path).unwrap();
    assert!(file.revoke(&editor.record.id));
    file.save(&s.keys_path).unwrap();
    s.clock.advance(Duration::from_secs(5)); // the reload interval
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", &editor.key)).await);
}

#[tokio::test]
async fn a_weaker_role_is_forbidden() {
    let s = start(hs_config()).await;
    let a = send(
        client()
            .get(s.url("/keys"))
            .header("x-api-key", s.key("viewer")),
    )
    .await;
    a.assert_problem(403, "forbidden");
    assert!(a.challenges.is_empty(), "{a:?}");
}

#[tokio::test]
async fn credentials_in_the_url_are_refused_first() {
    let s = start(hs_config()).await;
    let c = client();
    let key = s.key("editor").to_owned();
    let token = hs256(&claims("alice", &["admin"]));
    for url in [
        format!("/keys?api_key={key}"),
        format!("/keys?apikey={key}"),
        format!("/keys?X-API-Key={key}"),
        format!("/any?access_token={token}"),
        format!("/any?a=1&token={token}"),
        format!("/any?access%5Ftoken={token}"),
        format!("/public?token={token}"),
    ] {
        // Even with a valid credential in the header, the URL one is refused.
        let a = send(
            c.get(s.url(&url))
                .header("x-api-key", &key)
                .header("authorization", format!("Bearer {token}")),
        )
        .await;
        a.assert_problem(400, "credentials-in-url");
        assert!(a.challenges.is_empty());
        assert!(!a.body.to_string().contains(&key) && !a.body.to_string().contains(&token));
    }
    let a = send(c.get(s.url("/keys?page=2")).header("x-api-key", &key)).await;
    assert_eq!(a.status, 200);
}

#[cfg(feature = "redis")]
async fn redis_reachable(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection()
        )
        .await,
        Ok(Ok(_))
    )
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_key_store() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    if !redis_reachable(&url).await {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Redis at {url} is unreachable, and CI=true requires it"
        );
        eprintln!("skipping redis_key_store: Redis at {url} is unreachable");
        return;
    }
    let prefix = format!(
        "rampart-auth-test:{}:{}:",
        std::process::id(),
        rand::random::<u32>()
    );
    let store = Arc::new(
        RedisKeyStore::new(&url)
            .unwrap()
            .with_prefix(prefix.clone()),
    );
    let editor = NewKey::generate(vec!["editor".into()], None, NOW as i64);
    store.insert(&editor.record).await.unwrap();
    let mut expired = NewKey::generate(vec!["admin".into()], Some("2029-01-01".into()), NOW as i64);
    expired.record.active = true;
    store.insert(&expired.record).await.unwrap();
    assert!(store.lookup(&editor.record.id).await.unwrap().is_some());
    // Bound to another apiKey scheme (issue 24, item 7): stored, and refused here.
    let bound = NewKey::generate(vec!["editor".into()], None, NOW as i64)
        .with_schemes(vec!["otherKey".into()]);
    store.insert(&bound.record).await.unwrap();
    let found = store.lookup(&bound.record.id).await.unwrap().unwrap();
    assert_eq!(found.schemes, ["otherKey"]);

    let dyn_store: Arc<dyn KeyStore> = store.clone();
    let s = start_with(SPEC, &mut hs_config(), |b| b.key_store("apiKey", dyn_store)).await;
    let c = client();
    let a = send(c.get(s.url("/keys")).header("x-api-key", &editor.key)).await;
    a.assert_ok_as(&editor.record.id);
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", &expired.key)).await);
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", &bound.key)).await);
    // A file key is unknown to this store.
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", s.key("editor"))).await);
    // Revocation takes effect on the next request.
    assert!(store.revoke(&editor.record.id).await.unwrap());
    assert_key_invalid(&send(c.get(s.url("/keys")).header("x-api-key", &editor.key)).await);
    assert!(!store.revoke("0000000000000000").await.unwrap());
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}{}", editor.record.id))
        .arg(format!("{prefix}{}", expired.record.id))
        .query_async(&mut conn)
        .await
        .unwrap();
}

const TWO_KEY_SCHEMES: &str = r#"
openapi: 3.0.3
info: { title: Two key schemes, version: "1" }
x-rampart:
  roles: [admin, editor, viewer]
components:
  securitySchemes:
    partnerKey: { type: apiKey, in: header, name: X-Partner-Key }
    opsKey: { type: apiKey, in: header, name: X-Ops-Key }
paths:
  /partner:
    get:
      operationId: partner
      security: [{ partnerKey: [] }]
      x-rampart: { roles: [viewer] }
      responses: { "200": { description: ok } }
  /ops:
    get:
      operationId: ops
      security: [{ opsKey: [] }]
      x-rampart: { roles: [viewer] }
      responses: { "200": { description: ok } }
"#;

/// Issue 24, item 7: a key issued for one apiKey scheme is refused in
/// another's header (before, any stored key worked in every apiKey scheme);
/// a key bound to several works in each, and an unbound key (issued before
/// bindings existed) keeps working everywhere.
#[tokio::test]
async fn a_key_bound_to_a_scheme_is_refused_in_another_schemes_header() {
    use rampart::auth::KeyFile;
    let dir = temp_dir("key-schemes");
    let path = dir.join("keys.toml");
    let mut file = KeyFile::default();
    let key = |schemes: &[&str]| {
        NewKey::generate(vec!["admin".into()], None, NOW as i64)
            .with_schemes(schemes.iter().map(|s| (*s).to_owned()).collect())
    };
    let partner = key(&["partnerKey"]);
    let both = key(&["partnerKey", "opsKey"]);
    let unbound = key(&[]);
    for k in [&partner, &both, &unbound] {
        file.add(k.record.clone());
    }
    file.save(&path).unwrap();
    let mut config = hs_config();
    config.api_keys.file = Some(path.clone());
    let s = start_with(TWO_KEY_SCHEMES, &mut config, |b| b).await;
    let c = client();
    let get = |path: &'static str, header: &'static str, key: &str| {
        send(c.get(s.url(path)).header(header, key))
    };

    get("/partner", "x-partner-key", &partner.key)
        .await
        .assert_ok_as(&partner.record.id);
    let refused = get("/ops", "x-ops-key", &partner.key).await;
    refused.assert_problem(401, "unauthorized");
    assert_eq!(
        refused.challenges,
        [r#"ApiKey realm="api", error="invalid_token""#],
        "{refused:?}"
    );
    for (path, header) in [("/partner", "x-partner-key"), ("/ops", "x-ops-key")] {
        get(path, header, &both.key)
            .await
            .assert_ok_as(&both.record.id);
        get(path, header, &unbound.key)
            .await
            .assert_ok_as(&unbound.record.id);
    }
    // The binding survives the key file's round trip.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#"schemes = ["partnerKey"]"#), "{text}");
}
