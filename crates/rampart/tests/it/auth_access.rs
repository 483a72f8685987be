//! Authorization over real sockets: the role hierarchy, OAuth2 scopes
//! (403 `insufficient_scope` naming the scope), and OpenAPI's OR-of-ANDs
//! security requirements.

use crate::support::auth;

use auth::*;
use serde_json::json;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

const BOTH_CHALLENGES: [&str; 2] = [r#"Bearer realm="api""#, r#"ApiKey realm="api""#];

#[tokio::test]
async fn stronger_roles_satisfy_weaker_requirements() {
    let s = start(hs_config()).await;
    let c = client();
    let call = |path: &'static str, roles: &'static [&'static str]| {
        let token = hs256(&claims("alice", roles));
        send(c.get(s.url(path)).header("authorization", bearer(&token)))
    };
    call("/viewer", &["admin"]).await.assert_ok_as("alice");
    call("/viewer", &["viewer"]).await.assert_ok_as("alice");
    call("/editor", &["admin"]).await.assert_ok_as("alice");
    call("/editor", &["editor"]).await.assert_ok_as("alice");
    call("/admin", &["admin"]).await.assert_ok_as("alice");
    for (path, roles) in [
        ("/editor", &["viewer"][..]),
        ("/admin", &["editor", "viewer"][..]),
        ("/viewer", &[][..]),
        ("/viewer", &["superuser"][..]),
    ] {
        let a = call(path, roles).await;
        a.assert_problem(403, "forbidden");
        assert!(
            a.challenges.is_empty(),
            "a role failure carries no challenge: {a:?}"
        );
    }
}

#[tokio::test]
async fn missing_scopes_are_403_insufficient_scope() {
    let s = start(hs_config()).await;
    let c = client();
    let mut read_only = claims("svc", &[]);
    read_only["scope"] = json!("pets:read");
    let a = send(
        c.post(s.url("/scoped"))
            .header("authorization", bearer(&hs256(&read_only))),
    )
    .await;
    a.assert_problem(403, "insufficient-scope");
    assert_eq!(
        a.challenges,
        [r#"Bearer realm="api", error="insufficient_scope", scope="pets:write""#]
    );

    let mut writer = claims("svc", &[]);
    writer["scope"] = json!("pets:read pets:write");
    let a = send(
        c.post(s.url("/scoped"))
            .header("authorization", bearer(&hs256(&writer))),
    )
    .await;
    a.assert_ok_as("svc");
    assert_eq!(a.body["scheme"], "oauth2");

    // `scp` as an array (Azure AD style) counts too.
    let mut scp = claims("svc", &[]);
    scp["scp"] = json!(["pets:write"]);
    let a = send(
        c.post(s.url("/scoped"))
            .header("authorization", bearer(&hs256(&scp))),
    )
    .await;
    a.assert_ok_as("svc");

    // The oauth2 scheme verifies tokens like the bearer one: expired, wrong audience, forged.
    let mut expired = writer.clone();
    expired["exp"] = json!(NOW - 3600);
    let mut wrong_aud = writer.clone();
    wrong_aud["aud"] = json!("other");
    let forged = sign(
        &writer,
        jsonwebtoken::Algorithm::HS256,
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-secret-not-the-secret-not-the"),
        None,
    );
    for token in [
        hs256(&expired),
        hs256(&wrong_aud),
        forged,
        "x.y.z".to_owned(),
    ] {
        let a = send(
            c.post(s.url("/scoped"))
                .header("authorization", bearer(&token)),
        )
        .await;
        a.assert_invalid_token();
    }

    // No token at all is still 401, not 403.
    let a = send(c.post(s.url("/scoped"))).await;
    a.assert_unauthenticated(&[r#"Bearer realm="api""#]);
}

#[tokio::test]
async fn alternatives_are_or() {
    let s = start(hs_config()).await;
    let c = client();
    let token = hs256(&claims("alice", &["viewer"]));
    send(
        c.get(s.url("/either"))
            .header("authorization", bearer(&token)),
    )
    .await
    .assert_ok_as("alice");
    let key = &s.keys["editor"];
    send(c.get(s.url("/either")).header("x-api-key", &key.key))
        .await
        .assert_ok_as(&key.record.id);

    let a = send(c.get(s.url("/either"))).await;
    a.assert_unauthenticated(&BOTH_CHALLENGES);

    // A bad token fails even though another alternative exists: the client sent garbage.
    let a = send(
        c.get(s.url("/either"))
            .header("authorization", "Bearer garbage"),
    )
    .await;
    a.assert_problem(401, "unauthorized");
    assert_eq!(
        a.challenges,
        [
            r#"Bearer realm="api", error="invalid_token""#,
            r#"ApiKey realm="api""#
        ]
    );
    // A bad key carries the error on the key's challenge.
    let a = send(c.get(s.url("/either")).header("x-api-key", "rk_bad")).await;
    assert_eq!(
        a.challenges,
        [
            r#"Bearer realm="api""#,
            r#"ApiKey realm="api", error="invalid_token""#
        ]
    );
}

#[tokio::test]
async fn schemes_within_a_requirement_are_and() {
    let s = start(hs_config()).await;
    let c = client();
    let token = hs256(&claims("alice", &["viewer"]));
    let key = &s.keys["editor"];
    let a = send(
        c.get(s.url("/both"))
            .header("authorization", bearer(&token)),
    )
    .await;
    a.assert_unauthenticated(&BOTH_CHALLENGES);
    let a = send(c.get(s.url("/both")).header("x-api-key", &key.key)).await;
    a.assert_unauthenticated(&BOTH_CHALLENGES);
    let a = send(
        c.get(s.url("/both"))
            .header("authorization", bearer(&token))
            .header("x-api-key", &key.key),
    )
    .await;
    a.assert_ok_as("alice");
    assert_eq!(a.body["key_id"], key.record.id);
    assert_eq!(a.body["roles"], json!(["viewer", "editor"]));
    // Both present, one invalid: 401 invalid_token for that one.
    let a = send(
        c.get(s.url("/both"))
            .header("authorization", bearer(&token))
            .header("x-api-key", s.key("inactive")),
    )
    .await;
    a.assert_problem(401, "unauthorized");
    assert_eq!(
        a.challenges,
        [
            r#"Bearer realm="api""#,
            r#"ApiKey realm="api", error="invalid_token""#
        ]
    );
}

#[tokio::test]
async fn hand_written_servers_use_the_builder() {
    use axum::Router;
    use axum::routing::get;
    use rampart::{OperationPolicy, Principal, SecurityBuilder, SecurityRequirement};

    let security = SecurityBuilder::new()
        .roles(["admin", "editor", "viewer"])
        .jwt_hs256("bearer", SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .clock(rampart::auth::ManualClock::at(NOW))
        .build()
        .unwrap();
    let mut policy = OperationPolicy::new("deleteThing", "DELETE", "/things");
    policy.security = vec![SecurityRequirement::scheme("bearer", Vec::<String>::new())];
    policy.roles = vec!["editor".into()];
    let app = Router::new().route(
        "/things",
        get(|p: Principal| async move { axum::Json(json!({ "subject": p.subject })) })
            .route_layer(security.guard(policy)),
    );
    let base = serve(app).await;
    let c = client();
    let ok = hs256(&claims("alice", &["admin"]));
    send(
        c.get(format!("{base}/things"))
            .header("authorization", bearer(&ok)),
    )
    .await
    .assert_ok_as("alice");
    let weak = hs256(&claims("bob", &["viewer"]));
    send(
        c.get(format!("{base}/things"))
            .header("authorization", bearer(&weak)),
    )
    .await
    .assert_problem(403, "forbidden");

    // A policy naming an unknown scheme is refused at router build time.
    let mut bad = OperationPolicy::new("x", "GET", "/x");
    bad.security = vec![SecurityRequirement::scheme("nope", Vec::<String>::new())];
    let err = security.try_guard(bad).unwrap_err();
    assert!(err.message.contains("`nope`"), "{err}");
}

/// A policy asking for roles on a route that admits anonymous callers (no
/// security requirement, or `public`), or for requirements on a public
/// route, would be enforced less than it says: the guard skips
/// authentication there, and with it roles and scopes. It is refused when
/// the guard is built (a startup error), never served open.
#[test]
fn a_policy_whose_checks_the_guard_would_skip_is_refused_at_build_time() {
    use rampart::{OperationPolicy, SecurityBuilder, SecurityRequirement};

    let security = SecurityBuilder::new()
        .roles(["admin", "viewer"])
        .jwt_hs256("bearer", SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let admin = |security: Vec<SecurityRequirement>, public: bool| {
        let mut policy = OperationPolicy::new("purge", "DELETE", "/purge");
        policy.security = security;
        policy.public = public;
        policy.roles = vec!["admin".into()];
        policy
    };
    let bearer = || vec![SecurityRequirement::scheme("bearer", Vec::<String>::new())];

    // Roles and no security requirement: anonymous callers, never checked.
    let err = security.try_guard(admin(vec![], false)).unwrap_err();
    assert!(
        err.message
            .contains("operation `purge` (DELETE /purge) requires roles [admin] but has no security requirement")
            && err.message.contains("would never check the roles"),
        "{err}"
    );
    assert!(err.fix.contains("SecurityRequirement::any"), "{err}");
    // Roles beside `public`, with or without requirements.
    let err = security.try_guard(admin(vec![], true)).unwrap_err();
    assert!(
        err.message.contains("requires roles [admin] but is public"),
        "{err}"
    );
    let err = security.try_guard(admin(bearer(), true)).unwrap_err();
    assert!(
        err.message
            .contains("is public but lists security requirements [bearer]"),
        "{err}"
    );
    // Requirements (scopes included) beside `public`, without roles.
    let mut scoped = OperationPolicy::new("list", "GET", "/things");
    scoped.security = vec![SecurityRequirement::scheme("bearer", ["things:read"])];
    scoped.public = true;
    let err = security.try_guard(scoped).unwrap_err();
    assert!(
        err.message
            .contains("the guard skips them, scopes included"),
        "{err}"
    );
    assert!(err.fix.contains("`public: false`"), "{err}");
    // `guard` (what generated routers call) refuses it too, while the router
    // is built.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        security.guard(admin(vec![], false))
    }))
    .expect_err("guard panics on a policy it would enforce less than it says");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("requires roles [admin]"), "{text}");

    // What is consistent still builds: roles behind authentication, and a
    // public route without roles or requirements.
    security.try_guard(admin(bearer(), false)).unwrap();
    let mut open = OperationPolicy::new("health", "GET", "/health");
    open.public = true;
    security.try_guard(open).unwrap();
    security
        .try_guard(OperationPolicy::new("anon", "GET", "/anon"))
        .unwrap();
}
