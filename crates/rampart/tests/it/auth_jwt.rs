//! JWT bearer authentication over real sockets: every way a token can be
//! wrong, each answered 401 `invalid_token` with a problem+json body that says
//! nothing about which check failed.

use crate::support::auth;

use std::time::Duration;

use auth::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn no_credential_gets_a_bare_challenge() {
    let s = start(hs_config()).await;
    let c = client();
    let a = send(c.get(s.url("/any"))).await;
    a.assert_unauthenticated(&[r#"Bearer realm="api""#]);
    // Another auth scheme is not a bearer credential: still no error code.
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", "Basic dXNlcjpwYXNz"),
    )
    .await;
    a.assert_unauthenticated(&[r#"Bearer realm="api""#]);
    // Public operations need nothing.
    let a = send(c.get(s.url("/public"))).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["anonymous"], true);
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_principal() {
    let s = start(hs_config()).await;
    let mut claims = claims("alice", &[]);
    claims["role"] = json!("editor");
    claims["scope"] = json!("pets:read pets:write");
    let a = send(
        client()
            .get(s.url("/any"))
            .header("authorization", bearer(&hs256(&claims))),
    )
    .await;
    a.assert_ok_as("alice");
    assert_eq!(a.body["roles"], json!(["editor"]));
    assert_eq!(a.body["scopes"], json!(["pets:read", "pets:write"]));
    assert_eq!(a.body["scheme"], "bearerAuth");
}

#[tokio::test]
async fn malformed_tokens_are_invalid() {
    let s = start(hs_config()).await;
    let c = client();
    for token in [
        "abc",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "é",
    ] {
        let a = send(c.get(s.url("/any")).header("authorization", bearer(token))).await;
        a.assert_invalid_token();
    }
    // Two Authorization headers are refused rather than guessed between.
    let good = hs256(&claims("alice", &[]));
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&good))
            .header("authorization", bearer(&good)),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn wrong_signature_is_invalid() {
    let s = start(hs_config()).await;
    let other = EncodingKey::from_secret(b"another-secret-that-is-long-enough-000000");
    let token = sign(&claims("alice", &[]), Algorithm::HS256, &other, None);
    let a = send(
        client()
            .get(s.url("/any"))
            .header("authorization", bearer(&token)),
    )
    .await;
    a.assert_invalid_token();
    // A tampered payload under a genuine signature.
    let genuine = hs256(&claims("alice", &[]));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims("mallory", &["admin"]).to_string());
    parts[1] = &forged;
    let a = send(
        client()
            .get(s.url("/any"))
            .header("authorization", bearer(&parts.join("."))),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn expiry_is_required_and_enforced_on_every_hit() {
    let s = start(hs_config()).await;
    let c = client();
    let mut expired = claims("alice", &[]);
    expired["exp"] = json!(NOW - 31); // beyond the 30 s leeway
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&expired))),
    )
    .await;
    a.assert_invalid_token();

    let mut skewed = claims("alice", &[]);
    skewed["exp"] = json!(NOW - 5); // within the leeway
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&skewed))),
    )
    .await;
    a.assert_ok_as("alice");

    let mut no_exp = claims("alice", &[]);
    no_exp.as_object_mut().unwrap().remove("exp");
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&no_exp))),
    )
    .await;
    a.assert_invalid_token();

    // A cached token is still checked for expiry.
    let token = hs256(&claims("alice", &[]));
    let a = send(c.get(s.url("/any")).header("authorization", bearer(&token))).await;
    a.assert_ok_as("alice");
    s.clock.advance(Duration::from_secs(600 + 30));
    let a = send(c.get(s.url("/any")).header("authorization", bearer(&token))).await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn not_yet_valid_tokens_are_refused_until_their_time() {
    let s = start(hs_config()).await;
    let c = client();
    let mut early = claims("alice", &[]);
    early["nbf"] = json!(NOW + 300);
    let token = hs256(&early);
    let a = send(c.get(s.url("/any")).header("authorization", bearer(&token))).await;
    a.assert_invalid_token();
    // The refusal was not cached.
    s.clock.advance(Duration::from_secs(300));
    let a = send(c.get(s.url("/any")).header("authorization", bearer(&token))).await;
    a.assert_ok_as("alice");

    let mut future_iat = claims("alice", &[]);
    future_iat["iat"] = json!(NOW + 3600);
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&future_iat))),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn issuer_and_audience_are_checked() {
    let s = start(hs_config()).await;
    let c = client();
    let mut wrong_iss = claims("alice", &[]);
    wrong_iss["iss"] = json!("https://evil.test");
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&wrong_iss))),
    )
    .await;
    a.assert_invalid_token();

    let mut no_iss = claims("alice", &[]);
    no_iss.as_object_mut().unwrap().remove("iss");
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&no_iss))),
    )
    .await;
    a.assert_invalid_token();

    let mut wrong_aud = claims("alice", &[]);
    wrong_aud["aud"] = json!("another-api");
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&wrong_aud))),
    )
    .await;
    a.assert_invalid_token();

    let mut many_aud = claims("alice", &[]);
    many_aud["aud"] = json!(["another-api", AUDIENCE]);
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&many_aud))),
    )
    .await;
    a.assert_ok_as("alice");
}

#[tokio::test]
async fn alg_none_is_refused() {
    let s = start(hs_config()).await;
    let c = client();
    let payload = URL_SAFE_NO_PAD.encode(claims("mallory", &["admin"]).to_string());
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"NONE"}"#,
    ] {
        let header = URL_SAFE_NO_PAD.encode(header);
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.c2ln"),
        ] {
            let a = send(
                c.get(s.url("/admin"))
                    .header("authorization", bearer(&token)),
            )
            .await;
            a.assert_invalid_token();
        }
    }
}

#[tokio::test]
async fn hs256_signed_with_the_rs256_public_key_is_refused() {
    let mut config = hs_config();
    config.jwt.secret = None;
    config.jwt.public_key = Some(fixture("test-only-rsa-public.pem"));
    let s = start(config).await;
    let c = client();
    // The classic confusion: the public key's bytes used as an HMAC secret.
    let public_pem = fixture_bytes("test-only-rsa-public.pem");
    let forged = sign(
        &claims("mallory", &["admin"]),
        Algorithm::HS256,
        &EncodingKey::from_secret(&public_pem),
        None,
    );
    let a = send(
        c.get(s.url("/admin"))
            .header("authorization", bearer(&forged)),
    )
    .await;
    a.assert_invalid_token();
    // The genuine RS256 token passes.
    let rsa = EncodingKey::from_rsa_pem(&fixture_bytes("test-only-rsa-private.pem")).unwrap();
    let token = sign(&claims("alice", &["admin"]), Algorithm::RS256, &rsa, None);
    let a = send(
        c.get(s.url("/admin"))
            .header("authorization", bearer(&token)),
    )
    .await;
    a.assert_ok_as("alice");
    // RS384 with the same key is outside the key's allowlist.
    let token = sign(&claims("alice", &["admin"]), Algorithm::RS384, &rsa, None);
    let a = send(
        c.get(s.url("/admin"))
            .header("authorization", bearer(&token)),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn ec_and_ed25519_public_keys_verify_their_algorithms() {
    for (public, private, alg) in [
        (
            "test-only-ec-public.pem",
            "test-only-ec-private.pem",
            Algorithm::ES256,
        ),
        (
            "test-only-ed25519-public.pem",
            "test-only-ed25519-private.pem",
            Algorithm::EdDSA,
        ),
    ] {
        let mut config = hs_config();
        config.jwt.secret = None;
        config.jwt.public_key = Some(fixture(public));
        let s = start(config).await;
        let pem = fixture_bytes(private);
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_ed_pem(&pem).unwrap(),
        };
        let token = sign(&claims("alice", &[]), alg, &key, None);
        let a = send(
            client()
                .get(s.url("/any"))
                .header("authorization", bearer(&token)),
        )
        .await;
        a.assert_ok_as("alice");
        let hs = hs256(&claims("alice", &[]));
        let a = send(
            client()
                .get(s.url("/any"))
                .header("authorization", bearer(&hs)),
        )
        .await;
        a.assert_invalid_token();
    }
}

#[tokio::test]
async fn oversized_tokens_are_refused_unread() {
    let s = start(hs_config()).await;
    let mut big = claims("alice", &[]);
    big["padding"] = json!("x".repeat(9000));
    let a = send(
        client()
            .get(s.url("/any"))
            .header("authorization", bearer(&hs256(&big))),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn typ_is_checked_when_configured_and_headers_are_never_followed() {
    let mut config = hs_config();
    config.jwt.typ = Some("at+jwt".into());
    let s = start(config).await;
    let c = client();
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let plain = hs256(&claims("alice", &[])); // typ: JWT
    let a = send(c.get(s.url("/any")).header("authorization", bearer(&plain))).await;
    a.assert_invalid_token();
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.typ = Some("application/at+jwt".into());
    // jku / x5u are ignored, never fetched.
    header.jku = Some("http://127.0.0.1:1/jwks.json".into());
    header.x5u = Some("http://127.0.0.1:1/cert.pem".into());
    let token = jsonwebtoken::encode(&header, &claims("alice", &[]), &key).unwrap();
    let a = send(c.get(s.url("/any")).header("authorization", bearer(&token))).await;
    a.assert_ok_as("alice");
    // An unknown `crit` header is refused (RFC 7515 §4.1.11).
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"at+jwt","crit":["exp"]}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("alice", &[]).to_string());
    let message = format!("{header}.{payload}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    let a = send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&format!("{message}.{signature}"))),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn configured_roles_claim_is_read_by_path() {
    let mut config = hs_config();
    config.jwt.roles_claim = Some("realm_access.roles".into());
    let s = start(config).await;
    let mut c = claims("alice", &[]);
    c["realm_access"] = json!({ "roles": ["admin"] });
    let a = send(
        client()
            .get(s.url("/admin"))
            .header("authorization", bearer(&hs256(&c))),
    )
    .await;
    a.assert_ok_as("alice");
    // `roles` is not consulted when another claim is configured.
    let a = send(
        client()
            .get(s.url("/admin"))
            .header("authorization", bearer(&hs256(&claims("bob", &["admin"])))),
    )
    .await;
    a.assert_problem(403, "forbidden");
}
