//! Helpers shared by the `rate_*` integration tests: real servers on
//! 127.0.0.1:0, a stand-in authenticator, and Redis discovery.

use std::net::SocketAddr;
#[cfg(feature = "redis")]
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use rampart::{AuthMethod, Principal};

pub use super::net::{client, header};

/// Serve `app` on a fresh loopback port with peer addresses available.
pub async fn serve(app: Router) -> SocketAddr {
    super::net::serve_at(app).await
}

/// Stand-in for the auth pipeline: `x-test-user: alice` authenticates as
/// subject `alice`; `x-test-key: k1` as API key `k1`.
async fn fake_auth(mut request: Request, next: Next) -> Response {
    let principal = match (text(&request, "x-test-user"), text(&request, "x-test-key")) {
        (Some(subject), _) => Some(Principal {
            subject,
            roles: vec![],
            scopes: vec![],
            method: AuthMethod::Jwt,
            scheme: "bearerAuth".into(),
            key_id: None,
            issuer: None,
        }),
        (None, Some(key)) => Some(Principal {
            subject: key.clone(),
            roles: vec![],
            scopes: vec![],
            method: AuthMethod::ApiKey,
            scheme: "apiKey".into(),
            key_id: Some(key),
            issuer: None,
        }),
        _ => None,
    };
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    next.run(request).await
}

fn text(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Wrap `app` so the fake authenticator runs before its route layers.
pub fn with_fake_auth(app: Router) -> Router {
    app.layer(middleware::from_fn(fake_auth))
}

/// A route answering `ok`.
pub fn ok_route() -> axum::routing::MethodRouter {
    get(|| async { "ok" })
}

#[cfg(feature = "redis")]
/// `REDIS_URL` (default `redis://127.0.0.1:6379`) if Redis answers. When it
/// does not: under `CI=true` the test fails; otherwise it is skipped with a note.
pub async fn redis_url(test: &str) -> Option<String> {
    let url = std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    if redis_answers(&url).await {
        return Some(url);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{test}: Redis does not answer at {url} and CI=true (run scripts/ensure-redis.sh)"
    );
    eprintln!("{test}: SKIPPED, Redis does not answer at {url} (run scripts/ensure-redis.sh)");
    None
}

#[cfg(feature = "redis")]
pub async fn redis_answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Some(pong)) if pong == "PONG"
    )
}

/// A key prefix no other test run uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("rampart-test:{test}:{}:{nanos}", std::process::id())
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[cfg(feature = "redis")]
/// A `redis-server` of the test's own on `port` (no persistence), killed
/// when dropped; waits until it answers.
pub async fn start_redis(port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server must be installed (scripts/ensure-redis.sh)");
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..100 {
        if redis_answers(&url).await {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server on port {port} did not start");
}
