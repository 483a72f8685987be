//! One client-IP setting, used everywhere (issue 14, item 3):
//! `RAMPART_FORWARDED_HEADER=forwarded` makes the pipeline (the request
//! context, lockout, `rate-key: ip` quotas) read RFC 7239 `Forwarded` from
//! trusted proxies, not `X-Forwarded-For`.

use crate::support::auth;

use auth::*;
use axum::Router;
use axum::routing::get;
use rampart::context::RequestContext;

async fn client_ip(ctx: RequestContext) -> String {
    ctx.client_ip().map(|ip| ip.to_string()).unwrap_or_default()
}

async fn seen_ip(env: &[(&str, &str)]) -> String {
    let model = model();
    let mut config = hs_config();
    config.api_keys.file = Some(write_keys(&temp_dir("client-ip")).0);
    config
        .apply_env(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .build()
        .unwrap();
    let app = security.harden(Router::new().route("/ip", get(client_ip)));
    let base = serve(app).await;
    let response = client()
        .get(format!("{base}/ip"))
        .header("forwarded", "for=203.0.113.7;proto=https")
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_forwarded_header_setting_reaches_the_pipeline() {
    let trusted = ("RAMPART_TRUSTED_PROXIES", "127.0.0.1");
    assert_eq!(seen_ip(&[trusted]).await, "198.51.100.9");
    assert_eq!(
        seen_ip(&[trusted, ("RAMPART_FORWARDED_HEADER", "forwarded")]).await,
        "203.0.113.7"
    );
    // Untrusted peer: neither header is believed.
    assert_eq!(
        seen_ip(&[("RAMPART_FORWARDED_HEADER", "forwarded")]).await,
        "127.0.0.1"
    );
}

#[test]
fn a_bad_forwarded_header_setting_refuses_to_start() {
    let mut config = hs_config();
    config.api_keys.file = Some(write_keys(&temp_dir("client-ip-bad")).0);
    config.forwarded_header = Some("x-real-ip".into());
    let err = rampart::Security::builder(&model().descriptor())
        .config(config)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("forwarded"), "{err}");
}
