//! Log injection: values that come from a token (its `sub`, its
//! `client_id`) are written into audit events; a control character in them
//! must not start a new log line or forge an event (issue 14, item 8).

use crate::support::auth;
use crate::support::process::alone;

use auth::*;
use axum::routing::get;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_values_cannot_forge_audit_lines() {
    alone!(token_values_cannot_forge_audit_lines);
    let captured = capture_logs_at(tracing::Level::INFO);

    let model = model();
    let (keys_path, _keys) = write_keys(&temp_dir("audit-injection"));
    let mut config = hs_config();
    config.api_keys.file = Some(keys_path);
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(NOW))
        .build()
        .unwrap();
    let mut app = axum::Router::new();
    for op in model.operations.iter().filter(|o| o.path == "/admin") {
        app = app.route(
            &op.path,
            get(|| async { "ok" }).route_layer(security.guard(op.policy.clone())),
        );
    }
    let base = serve(app).await;
    let forged = "alice\nevent=\"auth.success\" subject=admin FORGED\r\u{1b}[2J";
    // An admitted caller (auth.success) and a refused one (auth.forbidden)
    // both log the subject.
    for roles in [&["admin"][..], &[][..]] {
        let token = hs256(&claims(forged, roles));
        let r = client()
            .get(format!("{base}/admin"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let expected = if roles.is_empty() { 403 } else { 200 };
        assert_eq!(r.status(), expected);
    }

    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("auth.success") && text.contains("auth.forbidden"),
        "events missing:\n{text}"
    );
    for line in text.lines() {
        assert!(
            !line.starts_with("event=") && !line.contains("FORGED\r"),
            "a token value started a log line or kept a control character:\n{line}\n--- all:\n{text}"
        );
    }
    assert!(
        !text.contains('\u{1b}'),
        "an escape sequence reached the log:\n{text}"
    );
    // The value is still there, escaped, for whoever reads the log.
    assert!(text.contains(r"alice\nevent="), "{text}");
}

/// Issue 24, item 7: Unicode line/paragraph separators, NEL and the
/// bidirectional controls in a token value reach the log escaped; before,
/// only the C0/C1 controls were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_separators_and_bidi_controls_are_escaped() {
    alone!(unicode_separators_and_bidi_controls_are_escaped);
    let captured = capture_logs_at(tracing::Level::INFO);

    let model = model();
    let (keys_path, _keys) = write_keys(&temp_dir("audit-unicode"));
    let mut config = hs_config();
    config.api_keys.file = Some(keys_path);
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(NOW))
        .build()
        .unwrap();
    let mut app = axum::Router::new();
    for op in model.operations.iter().filter(|o| o.path == "/admin") {
        app = app.route(
            &op.path,
            get(|| async { "ok" }).route_layer(security.guard(op.policy.clone())),
        );
    }
    let base = serve(app).await;
    let forged = "bob\u{2028}event=auth.success\u{2029}x\u{85}y\u{202E}nimda\u{202C}\u{2066}z\u{2069}\u{200F}\u{61C}SEPARATED";
    let token = hs256(&claims(forged, &["admin"]));
    let r = client()
        .get(format!("{base}/admin"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(text.contains("SEPARATED"), "event missing:\n{text}");
    for bad in [
        '\u{2028}', '\u{2029}', '\u{85}', '\u{202E}', '\u{202C}', '\u{2066}', '\u{2069}',
        '\u{200F}', '\u{61C}',
    ] {
        assert!(
            !text.contains(bad),
            "U+{:04X} reached the log unescaped:\n{text}",
            bad as u32
        );
    }
    assert!(
        text.contains(r"bob\u{2028}event=auth.success\u{2029}x\u{85}y\u{202e}nimda"),
        "{text}"
    );
}
