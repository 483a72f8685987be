//! `#[secured]` handlers routed in a plain axum `Router` through
//! `security.secured(..)` (their guards built with the router), over a real socket:
//! role, rate and deprecation policies are enforced by the same pipeline as
//! generated code (the generated petstore's `deletePet` has the same policy as
//! `purge` below, and both are checked for the same answers).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rampart::__private::axum::Router;
use rampart::__private::axum::extract::{Path, State};
use rampart::__private::axum::routing::{delete, get, post};
use rampart::server::{ServeConfig, Serving, serve};
use rampart::version::{DeprecationConfig, DeprecationTracker, ManualClock};
use rampart::{HardenConfig, Principal, SecurityBuilder, parse_instant, secured};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "macros-test";

/// Only admins; five calls a minute per caller.
#[secured(role = "admin", rate = "5/min")]
async fn purge(principal: Principal) -> String {
    format!("purged by {}", principal.subject)
}

/// Any authenticated caller with at least the viewer role.
#[secured(role = "viewer")]
async fn show(principal: Principal, Path(id): Path<u32>) -> String {
    format!("{id} for {}", principal.subject)
}

/// Deprecated, with a sunset and a successor.
#[secured(
    role = "viewer",
    deprecated(since = "2026-01-01", sunset = "2027-06-01", successor = "/v2/legacy")
)]
async fn legacy() -> &'static str {
    "legacy"
}

/// Public, but limited per client IP.
#[secured(public, rate = "2/min", rate_key = "ip")]
async fn ping() -> &'static str {
    "pong"
}

/// A handler with application state, routed on a stateful router.
#[secured(role = "viewer")]
async fn count(State(hits): State<Arc<AtomicUsize>>, principal: Principal) -> String {
    let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{n} for {}", principal.subject)
}

/// A small body limit.
#[secured(role = "editor", body_limit = "16B")]
async fn upload(body: String) -> String {
    format!("{} bytes", body.len())
}

fn token(subject: &str, roles: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": subject, "iss": ISSUER, "aud": AUDIENCE,
        "iat": now, "exp": now + 600, "roles": roles,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

struct Server {
    _serving: Serving,
    base: String,
    clock: Arc<ManualClock>,
}

async fn start() -> Server {
    let clock = Arc::new(ManualClock::at_unix(
        parse_instant("2026-11-23T12:00:00Z").unwrap(),
    ));
    let tracker = DeprecationTracker::new(&DeprecationConfig::default()).with_clock(clock.clone());
    let security = SecurityBuilder::new()
        .jwt_hs256("bearerAuth", SECRET.as_bytes().to_vec())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .roles(["admin", "editor", "viewer"])
        .deprecations(tracker)
        .harden(HardenConfig::default())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/purge", delete(security.secured(purge)))
        .route("/items/{id}", get(security.secured(show)))
        .route("/legacy", get(security.secured(legacy)))
        .route("/ping", get(security.secured(ping)))
        .route("/upload", post(security.secured(upload)))
        .merge(
            Router::new()
                .route("/count", get(security.secured(count)))
                .with_state(Arc::new(AtomicUsize::new(0))),
        );
    let app = security.harden(app);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let serving = serve(app, ServeConfig::new(addr)).await.unwrap();
    let base = format!("http://{}", serving.local_addr());
    Server {
        _serving: serving,
        base,
        clock,
    }
}

async fn problem_type(response: reqwest::Response) -> String {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    body["type"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn roles_are_enforced_with_the_hierarchy() {
    let s = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/purge", s.base);

    let response = client.delete(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    let response = client
        .delete(&url)
        .bearer_auth(token("vera", &["viewer"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(problem_type(response).await.ends_with("forbidden"));

    let response = client
        .delete(&url)
        .bearer_auth(token("ada", &["admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.text().await.unwrap(), "purged by ada");

    // admin ⊇ editor ⊇ viewer: an admin may call a viewer route; path params reach the handler.
    let response = client
        .get(format!("{}/items/42", s.base))
        .bearer_auth(token("ada", &["admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "42 for ada");
}

#[tokio::test]
async fn rate_is_per_principal_with_ratelimit_headers() {
    let s = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/purge", s.base);
    let ada = token("ada", &["admin"]);
    for i in 0..5 {
        let response = client.delete(&url).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(response.status(), 200, "call {i}");
        assert_eq!(response.headers()["ratelimit-policy"], "\"purge\";q=5;w=60");
    }
    let response = client.delete(&url).bearer_auth(&ada).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(problem_type(response).await.ends_with("quota-exceeded"));

    // Another admin has a bucket of their own.
    let response = client
        .delete(&url)
        .bearer_auth(token("grace", &["admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The public route is limited per client IP.
    let ping_url = format!("{}/ping", s.base);
    for _ in 0..2 {
        assert_eq!(client.get(&ping_url).send().await.unwrap().status(), 200);
    }
    assert_eq!(client.get(&ping_url).send().await.unwrap().status(), 429);
}

#[tokio::test]
async fn deprecation_headers_then_gone_after_sunset() {
    let s = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/legacy", s.base);
    let vera = token("vera", &["viewer"]);

    let response = client.get(&url).bearer_auth(&vera).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["deprecation"], "@1767225600");
    assert_eq!(h["sunset"], "Tue, 01 Jun 2027 00:00:00 GMT");
    assert_eq!(h["link"], "</v2/legacy>; rel=\"successor-version\"");

    s.clock
        .set_unix(parse_instant("2027-06-02T00:00:00Z").unwrap());
    let response = client.get(&url).bearer_auth(&vera).send().await.unwrap();
    assert_eq!(response.status(), 410);
    assert_eq!(
        response.headers()["sunset"],
        "Tue, 01 Jun 2027 00:00:00 GMT"
    );
    assert!(problem_type(response).await.ends_with("sunset"));
}

#[tokio::test]
async fn body_limit_and_url_credentials() {
    let s = start().await;
    let client = reqwest::Client::new();
    let eve = token("eve", &["editor"]);
    let url = format!("{}/upload", s.base);
    let response = client
        .post(&url)
        .bearer_auth(&eve)
        .body("short")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "5 bytes");
    let response = client
        .post(&url)
        .bearer_auth(&eve)
        .body("x".repeat(17))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    let response = client
        .get(format!("{}/items/1?access_token={eve}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn handlers_with_state_are_guarded_too() {
    let s = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/count", s.base);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let response = client
        .get(&url)
        .bearer_auth(token("vera", &["viewer"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "1 for vera");
}

/// Names a scheme the `Security` below does not configure.
#[secured(role = "admin", scheme = "partnerKey")]
async fn partner_only() -> &'static str {
    "partner"
}

/// A `#[secured]` handler's guard is built with the router: a policy that
/// does not fit the `Security` (a scheme it does not configure) is an error
/// when the server starts, naming the scheme, never a request-time 500. (A
/// handler routed without `security.secured(..)` does not compile:
/// `tests/ui/secured_routed_without_guard.rs`.)
#[tokio::test]
async fn a_policy_that_does_not_fit_the_security_fails_at_startup() {
    let security = SecurityBuilder::new()
        .jwt_hs256("bearerAuth", SECRET.as_bytes().to_vec())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .roles(["admin", "editor", "viewer"])
        .build()
        .unwrap();
    let err = security.try_secured(partner_only).unwrap_err();
    assert!(err.to_string().contains("partnerKey"), "{err}");
    let routed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Router::<()>::new().route("/partner", get(security.secured(partner_only)))
    }));
    assert!(routed.is_err(), "routing it must stop the server");
    assert!(security.try_secured(purge).is_ok());
}

#[test]
fn the_policy_is_data_and_the_function_stays_callable() {
    let policy = purge::policy();
    assert_eq!(policy.operation_id, "purge");
    assert_eq!(policy.roles, ["admin"]);
    assert_eq!(policy.rate.unwrap().count, 5);
    assert!(!policy.public);
    assert_eq!(
        policy.security,
        [rampart::SecurityRequirement::any(std::iter::empty::<&str>())]
    );
    assert!(ping::policy().public);
    assert_eq!(upload::policy().body_limit, Some(16));
    let answer = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(legacy::handler());
    assert_eq!(answer, "legacy");
}
