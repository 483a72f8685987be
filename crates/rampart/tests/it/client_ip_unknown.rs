//! Served without the peer address (plain `axum::serve(listener, app)`, no
//! `ConnectInfo<SocketAddr>`), the client IP is unknown (issue 14, item 4).
//! Steps that need it fail closed with a 500 problem and an error log,
//! instead of silently switching the lockout off or putting every client
//! in one `rate-key: ip` bucket; steps that do not need it keep working.

use crate::support::auth;

use auth::*;
use axum::Router;
use axum::routing::get;
use rampart::Security;

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: No peer, version: "1" }
x-rampart:
  roles: [admin, viewer]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /by-ip:
    get:
      operationId: byIp
      security: []
      x-rampart: { public: true, rate: 100/min, rate-key: ip }
      responses: { "200": { description: ok } }
  /open:
    get:
      operationId: open
      security: []
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
  /mine:
    get:
      operationId: mine
      x-rampart: { roles: [viewer], rate: 100/min }
      responses: { "200": { description: ok } }
"#;

/// Serve `router` the way `axum::serve` does by default: no peer address.
async fn serve_without_peer(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn ok() -> &'static str {
    "ok"
}

async fn start() -> String {
    let model = model_of(SPEC);
    let mut config = hs_config();
    config.lockout.after = Some("5/15min".into());
    let security = Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(NOW))
        .build()
        .unwrap();
    let mut router = Router::new();
    for op in &model.operations {
        router = router.route(
            &op.path,
            get(ok).route_layer(security.guard(op.policy.clone())),
        );
    }
    serve_without_peer(security.harden(router)).await
}

#[tokio::test]
async fn a_quota_keyed_by_ip_fails_closed_without_the_peer_address() {
    let base = start().await;
    // Before: 200 from one bucket shared by every client in the world.
    for _ in 0..2 {
        send(client().get(format!("{base}/by-ip")))
            .await
            .assert_problem(500, "internal");
    }
}

#[tokio::test]
async fn failing_credentials_fail_closed_instead_of_escaping_the_lockout() {
    let base = start().await;
    // Before: 401 every time, and no lockout ever (nothing was counted).
    for _ in 0..7 {
        send(
            client()
                .get(format!("{base}/mine"))
                .bearer_auth("not-a-token"),
        )
        .await
        .assert_problem(500, "internal");
    }
}

#[tokio::test]
async fn what_needs_no_client_ip_keeps_working() {
    let base = start().await;
    let open = send(client().get(format!("{base}/open"))).await;
    assert_eq!(open.status, 200, "{open:?}");
    // A valid token is never a lockout matter and its quota is keyed by
    // the principal: served.
    let token = hs256(&claims("alice", &["viewer"]));
    let mine = send(client().get(format!("{base}/mine")).bearer_auth(&token)).await;
    assert_eq!(mine.status, 200, "{mine:?}");
    // No credentials at all is a plain 401 (nothing to count).
    let anonymous = send(client().get(format!("{base}/mine"))).await;
    anonymous.assert_unauthenticated(&[r#"Bearer realm="api""#]);
}
