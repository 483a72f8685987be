//! Tokens of one kind or one scheme are not accepted as another (issue 14,
//! item 9): a JWT whose `typ` declares another kind of token (a DPoP proof,
//! a logout token) is refused by default, and JWT schemes configured with
//! their own audience (`[schemes.NAME]`) each have their own verifier, so an
//! `oauth2` alternative requiring `pets:write` is not bypassed through a
//! scope-less `bearerAuth` alternative. When two such alternatives do share
//! a verifier, building the route logs a `config_warning`.

use crate::support::auth;
use crate::support::process::alone;

use auth::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Scheme isolation, version: "1" }
x-rampart:
  roles: [admin, viewer]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
    oauth2:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://idp.test/token
          scopes: { "pets:read": read pets, "pets:write": write pets }
paths:
  /any:
    get:
      operationId: getAny
      responses: { "200": { description: ok } }
  /pets:
    post:
      operationId: addPet
      security:
        - bearerAuth: []
        - oauth2: ["pets:write"]
      responses: { "200": { description: ok } }
"#;

const OAUTH_AUDIENCE: &str = "pets-oauth";

fn typed(typ: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims("alice", &[]),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn with(audience: &str, scope: &str) -> String {
    let mut c: Value = claims("client-7", &[]);
    c["aud"] = audience.into();
    c["scope"] = scope.into();
    hs256(&c)
}

#[tokio::test]
async fn tokens_declaring_another_type_are_refused_by_default() {
    let mut config = hs_config();
    let s = start_with(SPEC, &mut config, |b| b).await;
    for typ in ["dpop+jwt", "logout+jwt", "secevent+jwt", "id_token"] {
        let a = send(client().get(s.url("/any")).bearer_auth(typed(Some(typ)))).await;
        assert_eq!(a.status, 401, "typ {typ}: {a:?}");
        a.assert_invalid_token();
    }
    for typ in [
        None,
        Some("JWT"),
        Some("jwt"),
        Some("at+jwt"),
        Some("application/at+JWT"),
    ] {
        let a = send(client().get(s.url("/any")).bearer_auth(typed(typ))).await;
        a.assert_ok_as("alice");
    }
}

#[tokio::test]
async fn a_scheme_with_its_own_audience_is_not_bypassed_through_another() {
    let mut config = hs_config();
    let oauth = rampart::config::JwtConfig {
        audience: Some(rampart::config::OneOrMany::One(OAUTH_AUDIENCE.into())),
        ..Default::default()
    };
    config.schemes.insert("oauth2".into(), oauth);
    let s = start_with(SPEC, &mut config, |b| b).await;
    // An oauth2 token without `pets:write`: bearerAuth does not accept its
    // audience, oauth2 lacks the scope.
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with(OAUTH_AUDIENCE, "pets:read")),
    )
    .await;
    a.assert_problem(403, "insufficient-scope");
    // With the scope, through oauth2.
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with(OAUTH_AUDIENCE, "pets:read pets:write")),
    )
    .await;
    a.assert_ok_as("client-7");
    // A token for bearerAuth's audience passes bearerAuth, as the spec says.
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with(AUDIENCE, "")),
    )
    .await;
    a.assert_ok_as("client-7");
}

#[tokio::test]
async fn alternatives_sharing_a_verifier_are_reported_when_the_route_is_built() {
    alone!(alternatives_sharing_a_verifier_are_reported_when_the_route_is_built);
    capture_logs();
    let mut config = hs_config();
    let s = start_with(SPEC, &mut config, |b| b).await;
    let logs = captured_text();
    assert!(
        logs.contains("config_warning")
            && logs.contains("addPet")
            && logs.contains("share one JWT verifier")
            && logs.contains("[schemes.oauth2]"),
        "{logs}"
    );
    // And this is the bypass it warns about: no `pets:write`, admitted.
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with(AUDIENCE, "pets:read")),
    )
    .await;
    a.assert_ok_as("client-7");
}

#[tokio::test]
async fn a_scheme_audience_declared_in_the_spec_gives_the_scheme_its_own_verifier() {
    let spec = SPEC.replace(
        "      type: oauth2\n",
        &format!("      type: oauth2\n      x-rampart: {{ audience: {OAUTH_AUDIENCE} }}\n"),
    );
    let mut config = hs_config();
    let s = start_with(&spec, &mut config, |b| b).await;
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with(OAUTH_AUDIENCE, "pets:read")),
    )
    .await;
    a.assert_problem(403, "insufficient-scope");
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with(OAUTH_AUDIENCE, "pets:write")),
    )
    .await;
    a.assert_ok_as("client-7");
    // `[schemes.oauth2]` in the configuration wins over the spec.
    let mut config = hs_config();
    config.schemes.insert(
        "oauth2".into(),
        rampart::config::JwtConfig {
            audience: Some(rampart::config::OneOrMany::One("from-config".into())),
            ..Default::default()
        },
    );
    let s = start_with(&spec, &mut config, |b| b).await;
    let a = send(
        client()
            .post(s.url("/pets"))
            .bearer_auth(with("from-config", "pets:write")),
    )
    .await;
    a.assert_ok_as("client-7");
}
