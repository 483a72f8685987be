//! Every `#[secured]` argument at once, routed with plain axum routing
//! through `security.secured(..)`.

use rampart::__private::axum::Router;
use rampart::__private::axum::extract::Path;
use rampart::__private::axum::routing::{get, post};
use rampart::{Principal, RateKey, secured};

#[secured(
    roles = ["admin", "editor"],
    scopes = ["pets:write"],
    scheme = "bearerAuth",
    rate = "100/15min",
    burst = 10,
    rate_key = "ip",
    rate_exact,
    body_limit = "16KiB",
    deprecated(since = "2026-01-01", sunset = "2027-06-01T00:00:00Z", successor = "/v2/pets")
)]
async fn update(principal: Principal, Path(id): Path<u32>, body: String) -> String {
    format!("{id} {} {}", principal.subject, body.len())
}

/// Public, documented.
#[secured(public)]
pub async fn health() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() {
    let security = rampart::SecurityBuilder::new()
        .jwt_hs256("bearerAuth", b"0123456789abcdef0123456789abcdef".to_vec())
        .issuer("https://issuer.test")
        .audience("every-argument")
        .roles(["admin", "editor"])
        .build()
        .unwrap();
    let _app: Router = Router::new()
        .route("/pets/{id}", post(security.secured(update)))
        .route("/health", get(security.secured(health)));
    let policy = update::policy();
    assert_eq!(policy.roles, ["admin", "editor"]);
    assert_eq!(policy.security[0].schemes[0].scheme, "bearerAuth");
    assert_eq!(policy.security[0].schemes[0].scopes, ["pets:write"]);
    let rate = policy.rate.unwrap();
    assert_eq!((rate.count, rate.period.as_secs(), rate.burst), (100, 900, Some(10)));
    assert_eq!(policy.rate_key, RateKey::Ip);
    assert!(policy.rate_exact);
    assert_eq!(policy.body_limit, Some(16 * 1024));
    let deprecation = policy.deprecation.unwrap();
    assert_eq!(deprecation.since, Some(1_767_225_600));
    assert_eq!(deprecation.sunset, Some(1_811_808_000));
    assert_eq!(deprecation.successor.as_deref(), Some("/v2/pets"));
    assert!(health::policy().public && health::policy().security.is_empty());
}
