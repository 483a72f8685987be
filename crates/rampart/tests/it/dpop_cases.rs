//! Replay protection over real sockets (issue 24): DPoP (RFC 9449)
//! sender-constrained tokens, one-time tokens (`replay: reject`), a proof
//! replayed across two instances sharing Redis, every failed credential
//! counted towards the lockout, and subjects scoped by their issuer.

use jsonwebtoken::Algorithm;
use rampart::auth::dpop::ProofSigner;
use serde_json::{Value, json};

use crate::support::auth::*;

const DPOP_SPEC: &str = r#"
openapi: 3.0.3
info: { title: DPoP test, version: "1" }
components:
  securitySchemes:
    dpopAuth: { type: http, scheme: dpop, bearerFormat: JWT }
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
      x-rampart: { dpop: allowed }
    apiKey: { type: apiKey, in: header, name: X-API-Key }
paths:
  /dpop:
    get:
      operationId: getDpop
      security: [ { dpopAuth: [] } ]
      responses: { "200": { description: ok } }
    post:
      operationId: postDpop
      security: [ { dpopAuth: [] } ]
      responses: { "200": { description: ok } }
  /mixed:
    get:
      operationId: getMixed
      security: [ { bearerAuth: [] } ]
      responses: { "200": { description: ok } }
  /once:
    post:
      operationId: once
      security: [ { bearerAuth: [] } ]
      x-rampart: { replay: reject }
      responses: { "200": { description: ok } }
  /either:
    get:
      operationId: getEither
      security: [ { bearerAuth: [] }, { apiKey: [] } ]
      responses: { "200": { description: ok } }
"#;

fn signer() -> ProofSigner {
    ProofSigner::from_pem(&fixture_bytes("test-only-ec-private.pem"), Algorithm::ES256).unwrap()
}

fn other_signer() -> ProofSigner {
    ProofSigner::from_pem(
        &fixture_bytes("test-only-ed25519-private.pem"),
        Algorithm::EdDSA,
    )
    .unwrap()
}

/// An access token bound to `jkt` (`cnf.jkt`).
fn bound_token(sub: &str, jkt: &str) -> String {
    let mut c = claims(sub, &[]);
    c["cnf"] = json!({ "jkt": jkt });
    hs256(&c)
}

async fn dpop_setup() -> Setup {
    let mut config = hs_config();
    start_with(DPOP_SPEC, &mut config, |b| b).await
}

fn dpop_request(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    proof: &str,
) -> reqwest::RequestBuilder {
    c.request(method, url)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
}

/// 401 `invalid_token` on a scheme offering Bearer (and DPoP beside it).
fn assert_invalid_bearer(a: &Answer) {
    a.assert_problem(401, "unauthorized");
    assert_eq!(
        a.challenges.first().map(String::as_str),
        Some(r#"Bearer realm="api", error="invalid_token""#),
        "{a:?}"
    );
}

fn assert_dpop_refusal(a: &Answer, error: &str) {
    a.assert_problem(401, "unauthorized");
    assert_eq!(a.challenges.len(), 1, "{a:?}");
    let challenge = &a.challenges[0];
    assert!(challenge.starts_with("DPoP realm=\"api\""), "{a:?}");
    assert!(challenge.contains("algs=\"ES256"), "{a:?}");
    assert!(
        challenge.ends_with(&format!("error=\"{error}\"")),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_valid_dpop_request_is_admitted_and_each_broken_proof_refused() {
    let s = dpop_setup().await;
    let c = client();
    let key = signer();
    let token = bound_token("alice", key.jkt());
    let url = s.url("/dpop");
    let proof = |method: &str, url: &str, iat: u64| {
        key.proof(method, url, Some(&token), iat, None).unwrap()
    };
    let get = reqwest::Method::GET;

    // Admitted: the query is not part of `htu`.
    let a = send(dpop_request(
        &c,
        get.clone(),
        &format!("{url}?page=2"),
        &token,
        &proof("GET", &url, NOW),
    ))
    .await;
    a.assert_ok_as("alice");

    // The same proof again: replayed.
    let replayed = proof("GET", &url, NOW);
    send(dpop_request(&c, get.clone(), &url, &token, &replayed))
        .await
        .assert_ok_as("alice");
    let a = send(dpop_request(&c, get.clone(), &url, &token, &replayed)).await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");

    // A proof for another method, another URI, or issued too long ago.
    let a = send(dpop_request(
        &c,
        get.clone(),
        &url,
        &token,
        &proof("POST", &url, NOW),
    ))
    .await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");
    let a = send(dpop_request(
        &c,
        get.clone(),
        &url,
        &token,
        &proof("GET", &s.url("/mixed"), NOW),
    ))
    .await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");
    let a = send(dpop_request(
        &c,
        get.clone(),
        &url,
        &token,
        &proof("GET", &url, NOW - 3600),
    ))
    .await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");
    let a = send(dpop_request(
        &c,
        get.clone(),
        &url,
        &token,
        &proof("GET", &url, NOW + 3600),
    ))
    .await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");

    // `ath` of another access token.
    let other_token = bound_token("bob", key.jkt());
    let wrong_ath = key
        .proof("GET", &url, Some(&other_token), NOW, None)
        .unwrap();
    let a = send(dpop_request(&c, get.clone(), &url, &token, &wrong_ath)).await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");

    // A valid proof signed by another key than the one the token is bound to.
    let stranger = other_signer();
    let foreign = stranger
        .proof("GET", &url, Some(&token), NOW, None)
        .unwrap();
    let a = send(dpop_request(&c, get.clone(), &url, &token, &foreign)).await;
    assert_dpop_refusal(&a, "invalid_token");

    // No proof at all, and a token without `cnf` on a DPoP scheme.
    let a = send(c.get(&url).header("authorization", format!("DPoP {token}"))).await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");
    let unbound = hs256(&claims("alice", &[]));
    let p = key.proof("GET", &url, Some(&unbound), NOW, None).unwrap();
    let a = send(dpop_request(&c, get.clone(), &url, &unbound, &p)).await;
    assert_dpop_refusal(&a, "invalid_token");

    // A proof with a private key member in its `jwk` is refused whatever
    // its signature.
    let with_private = tamper_jwk(&proof("GET", &url, NOW), "d", "AAAA");
    let a = send(dpop_request(&c, get.clone(), &url, &token, &with_private)).await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");

    // A bearer token on the DPoP-only scheme: not accepted.
    let a = send(
        c.get(&url)
            .header("authorization", format!("Bearer {token}")),
    )
    .await;
    assert_dpop_refusal(&a, "invalid_request");

    // Without credentials the challenge names DPoP and its algorithms only.
    let a = send(c.get(&url)).await;
    a.assert_problem(401, "unauthorized");
    assert_eq!(a.challenges.len(), 1, "{a:?}");
    assert!(
        a.challenges[0].starts_with("DPoP realm=\"api\", algs=\"ES256 "),
        "{a:?}"
    );
}

/// Replace member `name` of the proof header's `jwk` (the signature no
/// longer matters: the proof must be refused before it is checked).
fn tamper_jwk(proof: &str, name: &str, value: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (header, rest) = proof.split_once('.').unwrap();
    let mut h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    h["jwk"][name] = value.into();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(h.to_string()))
}

#[tokio::test]
async fn a_bound_token_is_refused_as_bearer_and_unbound_ones_still_work_where_dpop_is_allowed() {
    let s = dpop_setup().await;
    let c = client();
    let key = signer();
    let url = s.url("/mixed");
    // An unbound token as Bearer: fine on a `dpop: allowed` scheme.
    let plain = hs256(&claims("carol", &[]));
    send(
        c.get(&url)
            .header("authorization", format!("Bearer {plain}")),
    )
    .await
    .assert_ok_as("carol");
    // A bound token with its proof: fine.
    let token = bound_token("alice", key.jkt());
    let p = key.proof("GET", &url, Some(&token), NOW, None).unwrap();
    send(dpop_request(&c, reqwest::Method::GET, &url, &token, &p))
        .await
        .assert_ok_as("alice");
    // The same bound token as Bearer (the downgrade): refused.
    let a = send(
        c.get(&url)
            .header("authorization", format!("Bearer {token}")),
    )
    .await;
    assert_dpop_refusal(&a, "invalid_token");
    // Also on a bearer-only scheme that knows nothing of DPoP.
    let auth = start(hs_config()).await;
    let a = send(
        c.get(auth.url("/any"))
            .header("authorization", format!("Bearer {token}")),
    )
    .await;
    a.assert_invalid_token();
}

#[tokio::test]
async fn one_time_tokens_are_refused_the_second_time_and_without_jti() {
    let s = dpop_setup().await;
    let c = client();
    let url = s.url("/once");
    let mut once = claims("alice", &[]);
    once["jti"] = "token-1".into();
    let token = hs256(&once);
    let call = |token: &str| {
        c.post(&url)
            .header("authorization", format!("Bearer {token}"))
    };
    send(call(&token)).await.assert_ok_as("alice");
    assert_invalid_bearer(&send(call(&token)).await);
    // A token without `jti` cannot be one-time: refused outright.
    assert_invalid_bearer(&send(call(&hs256(&claims("alice", &[])))).await);
    // Other operations of the scheme are not one-time.
    let mixed = s.url("/mixed");
    for _ in 0..2 {
        send(
            c.get(&mixed)
                .header("authorization", format!("Bearer {token}")),
        )
        .await
        .assert_ok_as("alice");
    }
}

#[tokio::test]
async fn a_server_nonce_is_required_when_configured() {
    let mut config = hs_config();
    config.jwt.dpop_nonce = Some(true);
    config.jwt.dpop_nonce_secret = Some(rampart::config::Secret::new(
        "test-only-dpop-nonce-secret-0123456789",
    ));
    let s = start_with(DPOP_SPEC, &mut config, |b| b).await;
    let c = client();
    let key = signer();
    let token = bound_token("alice", key.jkt());
    let url = s.url("/dpop");
    let p = key.proof("GET", &url, Some(&token), NOW, None).unwrap();
    let response = dpop_request(&c, reqwest::Method::GET, &url, &token, &p)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let nonce = response
        .headers()
        .get("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_str()
        .unwrap()
        .to_owned();
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.ends_with("error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let p = key
        .proof("GET", &url, Some(&token), NOW, Some(&nonce))
        .unwrap();
    send(dpop_request(&c, reqwest::Method::GET, &url, &token, &p))
        .await
        .assert_ok_as("alice");
    let p = key
        .proof("GET", &url, Some(&token), NOW, Some("made-up"))
        .unwrap();
    let a = send(dpop_request(&c, reqwest::Method::GET, &url, &token, &p)).await;
    assert_dpop_refusal(&a, "use_dpop_nonce");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_proof_replayed_at_a_second_instance_sharing_redis_is_refused() {
    let Some(redis) = crate::support::rate::redis_url("dpop replay across instances").await else {
        return;
    };
    let prefix = format!("rampart-test-dpop-{}", rand::random::<u32>());
    let mut instances = Vec::new();
    for _ in 0..2 {
        let limiter = rampart::RateLimiter::redis(
            rampart::rate::RedisConfig::new(redis.clone()).key_prefix(prefix.clone()),
        )
        .await
        .unwrap();
        let mut config = hs_config();
        config.public_origin = Some("https://api.example.test".into());
        instances.push(start_with(DPOP_SPEC, &mut config, |b| b.rate_limiter(limiter)).await);
    }
    let c = client();
    let key = signer();
    let token = bound_token("alice", key.jkt());
    // Behind a load balancer both instances are reached at the public origin.
    let p = key
        .proof(
            "GET",
            "https://api.example.test/dpop",
            Some(&token),
            NOW,
            None,
        )
        .unwrap();
    send(dpop_request(
        &c,
        reqwest::Method::GET,
        &instances[0].url("/dpop"),
        &token,
        &p,
    ))
    .await
    .assert_ok_as("alice");
    let a = send(dpop_request(
        &c,
        reqwest::Method::GET,
        &instances[1].url("/dpop"),
        &token,
        &p,
    ))
    .await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");
    // A proof for the instance's own address is not for the public origin.
    let local = key
        .proof("GET", &instances[1].url("/dpop"), Some(&token), NOW, None)
        .unwrap();
    let a = send(dpop_request(
        &c,
        reqwest::Method::GET,
        &instances[1].url("/dpop"),
        &token,
        &local,
    ))
    .await;
    assert_dpop_refusal(&a, "invalid_dpop_proof");
}

#[tokio::test]
async fn an_expired_token_beside_api_key_guesses_does_not_hide_them_from_the_lockout() {
    let mut config = hs_config();
    config.lockout.after = Some("3/15min".into());
    let s = start_with(DPOP_SPEC, &mut config, |b| b).await;
    let c = client();
    let mut expired = claims("alice", &[]);
    expired["exp"] = (NOW - 3600).into();
    let expired = hs256(&expired);
    let guess = |i: u32| {
        c.get(s.url("/either"))
            .header("authorization", format!("Bearer {expired}"))
            .header("x-api-key", format!("rk_guess{i}_wrongsecretwrongsecret"))
    };
    for i in 0..3 {
        let a = send(guess(i)).await;
        assert_eq!(a.status, 401, "guess {i}: {a:?}");
    }
    // The guesses were counted: the client is locked out now.
    let a = send(guess(99)).await;
    a.assert_problem(429, "auth-lockout");
}

#[tokio::test]
async fn subjects_are_scoped_by_issuer_and_client_id_only_stands_in_where_allowed() {
    const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Issuers, version: "1" }
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
    machines:
      type: http
      scheme: bearer
      bearerFormat: JWT
      x-rampart: { client-id-subject: true, audience: machines }
paths:
  /limited:
    get:
      operationId: limited
      security: [ { bearerAuth: [] } ]
      x-rampart: { rate: 2/min }
      responses: { "200": { description: ok } }
  /machines:
    get:
      operationId: machines
      security: [ { machines: [] } ]
      responses: { "200": { description: ok } }
"#;
    let mut config = hs_config();
    config.jwt.issuer = Some(rampart::config::OneOrMany::Many(vec![
        ISSUER.into(),
        "https://other-idp.test".into(),
    ]));
    let s = start_with(SPEC, &mut config, |b| b).await;
    let c = client();
    let call = |claims: &Value| {
        c.get(s.url("/limited"))
            .header("authorization", format!("Bearer {}", hs256(claims)))
    };
    let alice_a = claims("alice", &[]);
    let mut alice_b = claims("alice", &[]);
    alice_b["iss"] = "https://other-idp.test".into();
    for _ in 0..2 {
        send(call(&alice_a)).await.assert_ok_as("alice");
    }
    assert_eq!(send(call(&alice_a)).await.status, 429);
    // The other identity provider's `alice` is someone else, with her own quota.
    send(call(&alice_b)).await.assert_ok_as("alice");

    // `client_id` does not stand in for `sub`…
    let mut machine = claims("x", &[]);
    machine.as_object_mut().unwrap().remove("sub");
    machine["client_id"] = "robot-7".into();
    send(call(&machine)).await.assert_invalid_token();
    // …except on a scheme that says so.
    machine["aud"] = "machines".into();
    send(
        c.get(s.url("/machines"))
            .header("authorization", format!("Bearer {}", hs256(&machine))),
    )
    .await
    .assert_ok_as("robot-7");
}
