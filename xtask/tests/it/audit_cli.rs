//! `cargo xtask audit` end to end: it passes against `cargo xtask serve
//! --mock` (with the printed dev tokens, and with a configured secret and API
//! keys), fails with findings against a server without security, and exits 2
//! on usage errors and unreachable servers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::served::{Served, free_port, root};

/// `serve --mock specs/petstore.yaml` with `env` (none: dev mode).
async fn serve_petstore(env: &[(&str, String)]) -> Served {
    Served::mock(Path::new("specs/petstore.yaml"), "", env).await
}

/// Run the audit (blocking, off the runtime's workers).
async fn audit(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("audit")
            .args(&args)
            .current_dir(root())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// JSON lines → (check → (passed, failed, skipped)), and the failures as `operation check`.
fn tally(stdout: &str) -> (BTreeMap<String, [usize; 3]>, Vec<String>) {
    let mut counts: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut failures = Vec::new();
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let check = v["check"].as_str().unwrap().to_owned();
        let slot = match v["result"].as_str().unwrap() {
            "pass" => 0,
            "fail" => {
                failures.push(format!(
                    "{} {}",
                    v["operation"].as_str().unwrap_or("*"),
                    check
                ));
                1
            }
            "skip" => 2,
            other => panic!("result {other}"),
        };
        counts.entry(check).or_default()[slot] += 1;
    }
    (counts, failures)
}

fn passed(counts: &BTreeMap<String, [usize; 3]>, check: &str) -> usize {
    counts.get(check).map_or(0, |c| c[0])
}

#[tokio::test(flavor = "multi_thread")]
async fn passes_against_serve_mock_with_the_printed_dev_tokens() {
    let served = serve_petstore(&[]).await;
    let tokens: Vec<(&str, String)> = ["admin", "editor", "viewer"]
        .into_iter()
        .map(|role| (role, served.printed_after(&format!("{role} token (8 h):"))))
        .collect();
    let mut args = vec![
        "specs/petstore.yaml".to_owned(),
        "--base".into(),
        format!("http://127.0.0.1:{}", served.port),
        "--format".into(),
        "json".into(),
    ];
    for (role, token) in &tokens {
        args.push("--token-for".into());
        args.push(format!("{role}={token}"));
    }
    let output = audit(args).await;
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    let (counts, failures) = tally(&stdout);
    assert!(
        output.status.success(),
        "exit {:?}, failures {failures:?}\n{stdout}\n{stderr}",
        output.status.code()
    );
    assert!(failures.is_empty());
    // Every secured operation refuses anonymous callers; the role, quota,
    // token and header checks ran and passed.
    assert_eq!(passed(&counts, "no-credentials"), 5, "{counts:?}");
    assert!(passed(&counts, "weaker-role") >= 2, "{counts:?}");
    assert!(passed(&counts, "rate-limit") >= 3, "{counts:?}");
    assert_eq!(passed(&counts, "bad-signature"), 4, "{counts:?}");
    assert_eq!(passed(&counts, "alg-none"), 4, "{counts:?}");
    assert_eq!(passed(&counts, "query-credentials"), 4, "{counts:?}");
    assert_eq!(passed(&counts, "security-headers"), 6, "{counts:?}");
    assert_eq!(passed(&counts, "deprecation"), 1, "{counts:?}");
    assert_eq!(passed(&counts, "cors-foreign-origin"), 1, "{counts:?}");
    let total: usize = counts.values().map(|c| c[0]).sum();
    assert!(total >= 40, "{total} passed: {counts:?}");
    // Without the secret the expired token cannot be signed: skipped, not passed.
    assert_eq!(counts["expired-token"], [0, 0, 4], "{counts:?}");
    // Never a credential in the report.
    for (_, token) in &tokens {
        assert!(!stdout.contains(token.as_str()) && !stderr.contains(token.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn passes_against_serve_mock_with_a_secret_and_api_keys() {
    let dir = std::env::temp_dir().join(format!("rampart-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("keys.toml");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut file = rampart::auth::KeyFile::default();
    let mut keys = Vec::new();
    for role in ["admin", "viewer"] {
        let new = rampart::auth::NewKey::generate(vec![role.to_owned()], None, now);
        file.add(new.record);
        keys.push((role, new.key));
    }
    file.save(&key_path).unwrap();
    let secret = hex(&rand_bytes());
    let served = serve_petstore(&[
        ("RAMPART_JWT_SECRET", secret.clone()),
        ("RAMPART_JWT_ISSUER", "https://issuer.audit.test/".into()),
        ("RAMPART_JWT_AUDIENCE", "audit-test".into()),
        ("RAMPART_API_KEYS", key_path.display().to_string()),
    ])
    .await;

    let mut args = vec![
        "specs/petstore.yaml".to_owned(),
        "--base".into(),
        format!("http://127.0.0.1:{}/v1", served.port),
        "--jwt-secret".into(),
        secret.clone(),
        "--issuer".into(),
        "https://issuer.audit.test/".into(),
        "--audience".into(),
        "audit-test".into(),
    ];
    for (role, key) in &keys {
        args.push("--api-key-for".into());
        args.push(format!("{role}={key}"));
    }
    let output = audit(args.clone()).await;
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status.code()
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // Only the two quotas too large to trip are skipped.
    let skips: Vec<&str> = stdout.lines().filter(|l| l.starts_with("SKIP")).collect();
    assert_eq!(skips.len(), 2, "{stdout}");
    assert!(
        skips.iter().all(|l| l.contains(" rate-limit: ")),
        "{stdout}"
    );
    for line in [
        "expired-token        4 passed, 0 failed, 0 skipped",
        "weaker-role          3 passed, 0 failed, 0 skipped",
        "accepted             6 passed, 0 failed, 0 skipped",
        "bad-api-key          3 passed, 0 failed, 0 skipped",
    ] {
        assert!(stdout.contains(line), "no `{line}` in\n{stdout}");
    }
    assert!(stdout.contains("audit: "), "{stdout}");
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    for (_, key) in &keys {
        assert!(!stdout.contains(key.as_str()) && !stderr.contains(key.as_str()));
    }

    // A wrong secret: the minted credentials are refused, which the audit reports.
    let mut wrong = args.clone();
    let at = wrong.iter().position(|a| a == "--jwt-secret").unwrap();
    wrong[at + 1] = hex(&rand_bytes());
    let output = audit(wrong).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    // 401, or 429 once the failed attempts have locked this client out.
    assert!(
        stdout.contains("FAIL listPets accepted: expected 2xx (or 501 from a server without handlers), got 401 (the credential was refused)")
            || stdout.contains("FAIL listPets accepted: expected 2xx (or 501 from a server without handlers), got 429"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_bytes() -> [u8; 32] {
    rand::random()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The petstore's paths answering 200 to anything, with no security at all,
/// and a CORS header open to every origin.
async fn insecure_server() -> (u16, tokio::task::JoinHandle<()>) {
    use axum::routing::any;
    let ok = || async {
        (
            [("access-control-allow-origin", "*")],
            axum::Json(serde_json::json!({})),
        )
    };
    let app = axum::Router::new()
        .route("/v1/health", any(ok))
        .route("/v1/pets", any(ok))
        .route("/v1/pets/{petId}", any(ok))
        .route("/v1/owners", any(ok));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, handle)
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_with_findings_against_a_server_without_security() {
    let (port, server) = insecure_server().await;
    let base = format!("http://127.0.0.1:{port}");
    let args = |format: &str| {
        vec![
            "specs/petstore.yaml".to_owned(),
            "--base".into(),
            base.clone(),
            "--jwt-secret".into(),
            "an-audit-secret-of-32-bytes-or-more!".into(),
            "--format".into(),
            format.into(),
        ]
    };

    let output = audit(args("human")).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for line in [
        "FAIL listPets no-credentials: expected 401 with WWW-Authenticate, got 200",
        "FAIL createPet weaker-role: expected 403, got 200",
        "FAIL listPets bad-signature: expected 401 (or 429 once the client is locked out), got 200",
        "FAIL deletePet expired-token: expected 401",
        "FAIL getPet alg-none: expected 401",
        "FAIL registerOwner bad-api-key: expected 401",
        "FAIL createPet query-credentials: expected 400 or 401, got 200",
        "FAIL getHealth security-headers: expected X-Content-Type-Options: nosniff",
        "FAIL listPets no-store: expected Cache-Control: no-store, got no Cache-Control",
        "FAIL deletePet deprecation: ",
        "FAIL deletePet rate-limit: expected 429 with Retry-After within 11 requests, got no 429 (statuses 200×11)",
        "FAIL * cors-foreign-origin: ",
    ] {
        assert!(stdout.contains(line), "no `{line}` in\n{stdout}");
    }
    assert!(stdout.contains(" failed, "), "{stdout}");

    let output = audit(args("json")).await;
    assert_eq!(output.status.code(), Some(1));
    let (counts, failures) = tally(&text(&output.stdout));
    assert_eq!(counts["no-credentials"], [0, 5, 0], "{counts:?}");
    assert!(
        failures.contains(&"getPet security-headers".to_owned()),
        "{failures:?}"
    );
    // The requests were well formed: the server accepted them all (but
    // registerOwner's, which takes API keys only and got none).
    assert_eq!(counts["accepted"], [5, 0, 1], "{counts:?}");

    let output = audit(args("sarif")).await;
    assert_eq!(output.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "rampart-audit");
    let results = run["results"].as_array().unwrap();
    let failed: Vec<&Value> = results.iter().filter(|r| r["kind"] == "fail").collect();
    assert!(failed.len() >= 20, "{}", failed.len());
    let no_creds = failed
        .iter()
        .find(|r| r["ruleId"] == "no-credentials")
        .unwrap();
    assert_eq!(no_creds["level"], "error");
    let location = &no_creds["locations"][0];
    assert!(
        location["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("petstore.yaml")
    );
    assert!(
        location["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            > 1
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_and_unreachable_servers_exit_2() {
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        audit(args)
    };
    // No --base: clap's usage error.
    let output = run(&["specs/petstore.yaml"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("--base"),
        "{}",
        text(&output.stderr)
    );

    // Nobody listening.
    let port = free_port();
    let output = run(&[
        "specs/petstore.yaml",
        "--base",
        &format!("http://127.0.0.1:{port}"),
    ])
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach http://127.0.0.1:{port}/v1")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A credential without a role is refused without being echoed.
    let output = run(&[
        "specs/petstore.yaml",
        "--base",
        "http://127.0.0.1:9",
        "--token-for",
        "eyJSECRET.x.y",
    ])
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ROLE="), "{stderr}");
    assert!(!stderr.contains("eyJSECRET"), "{stderr}");

    // A role the spec does not declare.
    let output = run(&[
        "specs/petstore.yaml",
        "--base",
        "http://127.0.0.1:9",
        "--token-for",
        "superuser=abc",
    ])
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no role `superuser`"), "{stderr}");
    assert!(stderr.contains("admin, editor, viewer"), "{stderr}");

    // Not a URL; an unknown format; a missing spec.
    let output = run(&["specs/petstore.yaml", "--base", "127.0.0.1:8000"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let output = run(&[
        "specs/petstore.yaml",
        "--base",
        "http://127.0.0.1:9",
        "--format",
        "xml",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["specs/no-such.yaml", "--base", "http://127.0.0.1:9"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("specs/no-such.yaml"), "{stderr}");
}

// ---------------------------------------------------------------------------
// DPoP (RFC 9449) and one-time tokens, against a rampart server in this process.

/// DPoP required (`scheme: dpop`), DPoP allowed beside Bearer, a one-time
/// operation (allowing DPoP too) and a scheme whose tokens are one-time.
const DPOP_SPEC: &str = r#"openapi: 3.0.3
info: { title: DPoP audit, version: "1" }
components:
  securitySchemes:
    dpopAuth: { type: http, scheme: dpop, bearerFormat: JWT }
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
      x-rampart: { dpop: allowed }
    onceAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
      x-rampart: { replay: reject }
paths:
  /dpop:
    get:
      operationId: getDpop
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
  /ticket:
    get:
      operationId: ticket
      security: [ { onceAuth: [] } ]
      responses: { "200": { description: ok } }
"#;

const DPOP_SECRET: &str = "an-audit-dpop-secret-of-32-bytes-or-more";
const DPOP_ISSUER: &str = "https://issuer.dpop.test/";
const DPOP_AUDIENCE: &str = "dpop-audit";

/// The DPoP spec in a file of its own (the audit reads a file).
fn dpop_spec(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rampart-audit-dpop-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("dpop.yaml");
    std::fs::write(&spec, DPOP_SPEC).unwrap();
    (dir, spec)
}

/// Every operation of `spec` behind rampart's guard and global layers, answering 200; with a
/// public origin when given (proofs' `htu` are then compared with it).
async fn rampart_server(
    spec: &Path,
    public_origin: Option<&str>,
) -> (u16, tokio::task::JoinHandle<()>) {
    use axum::routing::{MethodFilter, on};
    let (model, _, _) = rampart_spec::load_file(spec).into_result().unwrap();
    let mut config = rampart::SecurityConfig::default();
    config.jwt.secret = Some(rampart::config::Secret::new(DPOP_SECRET));
    config.jwt.issuer = Some(rampart::config::OneOrMany::One(DPOP_ISSUER.into()));
    config.jwt.audience = Some(rampart::config::OneOrMany::One(DPOP_AUDIENCE.into()));
    // The refusals must be seen as 401s, not as the lockout's 429s.
    config.lockout.after = Some("100/15min".into());
    config.public_origin = public_origin.map(str::to_owned);
    let security = rampart::Security::builder(&model.descriptor())
        .config(config)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = axum::Router::new();
    for op in &model.operations {
        let filter = match op.method.as_str() {
            "post" => MethodFilter::POST,
            _ => MethodFilter::GET,
        };
        app = app.route(
            &op.path,
            on(filter, || async { axum::Json(serde_json::json!({})) })
                .route_layer(security.guard(op.policy.clone())),
        );
    }
    // Security headers, no-store and the rest, as a generated server has them.
    let app = security.harden(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (port, handle)
}

fn dpop_args(spec: &Path, port: u16, secret: bool, format: &str) -> Vec<String> {
    let mut args = vec![
        spec.display().to_string(),
        "--base".into(),
        format!("http://127.0.0.1:{port}"),
        "--issuer".into(),
        DPOP_ISSUER.into(),
        "--audience".into(),
        DPOP_AUDIENCE.into(),
        "--format".into(),
        format.into(),
    ];
    if secret {
        args.extend(["--jwt-secret".to_owned(), DPOP_SECRET.to_owned()]);
    }
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn dpop_and_one_time_token_checks_pass_against_rampart() {
    let (dir, spec) = dpop_spec("pass");
    let (port, server) = rampart_server(&spec, None).await;

    let output = audit(dpop_args(&spec, port, true, "json")).await;
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    let (counts, failures) = tally(&stdout);
    assert!(
        output.status.success(),
        "exit {:?}, failures {failures:?}\n{stdout}\n{stderr}",
        output.status.code()
    );
    // getDpop, getMixed and once take DPoP; once and ticket one-time tokens.
    for check in [
        "dpop-accepted",
        "dpop-replayed-proof",
        "dpop-wrong-target",
        "dpop-bound-as-bearer",
    ] {
        assert_eq!(counts[check], [3, 0, 0], "{check}: {counts:?}");
    }
    assert_eq!(counts["reused-jti"], [2, 0, 0], "{counts:?}");
    // The usual probes mint a DPoP-bound or one-time token per request.
    assert_eq!(counts["accepted"], [4, 0, 0], "{counts:?}");
    assert_eq!(counts["no-store"], [4, 0, 0], "{counts:?}");
    assert_eq!(counts["expired-token"], [4, 0, 0], "{counts:?}");
    // Never a credential in the report.
    assert!(
        !stdout.contains(DPOP_SECRET) && !stdout.contains("eyJ"),
        "{stdout}"
    );

    // The human report names the new checks.
    let output = audit(dpop_args(&spec, port, true, "human")).await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for line in [
        "dpop-replayed-proof  3 passed, 0 failed, 0 skipped",
        "dpop-bound-as-bearer 3 passed, 0 failed, 0 skipped",
        "reused-jti           2 passed, 0 failed, 0 skipped",
    ] {
        assert!(stdout.contains(line), "no `{line}` in\n{stdout}");
    }

    // Without the secret nothing can be bound to the audit's key: skipped, not failed.
    let output = audit(dpop_args(&spec, port, false, "json")).await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let (counts, _) = tally(&stdout);
    assert_eq!(counts["dpop-replayed-proof"], [0, 0, 3], "{counts:?}");
    assert_eq!(counts["reused-jti"], [0, 0, 2], "{counts:?}");
    assert!(
        stdout.contains("pass --jwt-secret"),
        "the skip says what to pass:\n{stdout}"
    );

    // SARIF: every new check is a rule.
    let output = audit(dpop_args(&spec, port, true, "sarif")).await;
    let log: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "dpop-accepted",
        "dpop-replayed-proof",
        "dpop-wrong-target",
        "dpop-bound-as-bearer",
        "reused-jti",
    ] {
        assert!(rules.contains(&id), "{rules:?}");
    }
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn dpop_and_one_time_token_checks_fail_against_a_server_that_ignores_them() {
    let (dir, spec) = dpop_spec("fail");
    // Any credential, any proof, any number of times: 200.
    let (port, server) = insecure_server_at(&["/dpop", "/mixed", "/once", "/ticket"]).await;
    let output = audit(dpop_args(&spec, port, true, "human")).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for line in [
        "FAIL getDpop dpop-replayed-proof: expected the first use admitted, the replay 401 with a DPoP challenge (or 429 once the client is locked out), got 200 then 200 (the second use was not refused)",
        "FAIL getMixed dpop-wrong-target: expected 401 with a DPoP challenge (or 429 once the client is locked out) for each, got 200 for a proof for another method; 200 for a proof for another URI",
        "FAIL getDpop dpop-bound-as-bearer: expected 401 (or 429 once the client is locked out), got 200",
        "FAIL once reused-jti: expected the first use admitted, the second 401 (or 429 once the client is locked out), got 200 then 200 (the second use was not refused)",
        "FAIL ticket reused-jti: ",
    ] {
        assert!(stdout.contains(line), "no `{line}` in\n{stdout}");
    }
    // A valid DPoP request is still admitted there.
    assert!(
        stdout.contains("dpop-accepted        3 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    server.abort();

    // rampart behind a proxy whose public origin the audit does not call:
    // every proof names another URL (`htu`), so DPoP requests are refused.
    let (port, server) = rampart_server(&spec, Some("https://api.example.test")).await;
    let output = audit(dpop_args(&spec, port, true, "human")).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL getDpop dpop-accepted: expected 2xx (or 501 from a server without handlers), got 401 (the credential was refused)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL getDpop dpop-replayed-proof: expected the first use admitted, the replay 401 with a DPoP challenge (or 429 once the client is locked out), got the first use got 401"),
        "{stdout}"
    );
    // Bearer tokens do not depend on the origin.
    assert!(!stdout.contains("FAIL ticket"), "{stdout}");
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `paths` answering 200 to anything, with no security at all.
async fn insecure_server_at(paths: &[&str]) -> (u16, tokio::task::JoinHandle<()>) {
    use axum::routing::any;
    let mut app = axum::Router::new();
    for path in paths {
        app = app.route(path, any(|| async { axum::Json(serde_json::json!({})) }));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, handle)
}

/// Run `cargo xtask dpop-proof` (blocking, off the runtime's workers).
async fn dpop_proof(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("dpop-proof")
            .args(&args)
            .current_dir(root())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn dpop_proof_prints_a_proof_the_server_accepts() {
    let (dir, spec) = dpop_spec("proof");
    let (port, server) = rampart_server(&spec, None).await;
    let url = format!("http://127.0.0.1:{port}/dpop");
    let key = dir.join("client-key.pem");

    // No key: one is generated, saved, and its thumbprint printed.
    let output = dpop_proof(vec![
        "--method".into(),
        "get".into(),
        "--url".into(),
        url.clone(),
        "--key-out".into(),
        key.display().to_string(),
    ])
    .await;
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let jkt = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("jkt (RFC 7638 thumbprint): "))
        .unwrap_or_else(|| panic!("no jkt in\n{stderr}"))
        .to_owned();
    assert!(stderr.contains(r#""cnf": {"jkt": "#), "{stderr}");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY")
    );
    let unbound_proof = text(&output.stdout).trim().to_owned();
    assert_eq!(unbound_proof.split('.').count(), 3, "{unbound_proof}");

    // A token bound to that key, and a proof for it made with the saved key.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({
            "sub": "dpop-proof-test", "iss": DPOP_ISSUER, "aud": DPOP_AUDIENCE,
            "iat": now, "exp": now + 600, "cnf": { "jkt": jkt },
        }),
        &jsonwebtoken::EncodingKey::from_secret(DPOP_SECRET.as_bytes()),
    )
    .unwrap();
    let proof_for = |method: &str| {
        vec![
            "--method".to_owned(),
            method.to_owned(),
            "--url".into(),
            url.clone(),
            "--token".into(),
            token.clone(),
            "--key".into(),
            key.display().to_string(),
        ]
    };
    let output = dpop_proof(proof_for("GET")).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(output.stderr.is_empty(), "{}", text(&output.stderr));
    let proof = text(&output.stdout).trim().to_owned();

    let client = reqwest::Client::new();
    let call = |proof: String| {
        client
            .get(&url)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    assert_eq!(call(proof.clone()).await.unwrap().status(), 200);
    // Once only; and a proof without `ath`, or for another method, is refused.
    assert_eq!(call(proof).await.unwrap().status(), 401);
    assert_eq!(call(unbound_proof).await.unwrap().status(), 401);
    let output = dpop_proof(proof_for("POST")).await;
    assert_eq!(
        call(text(&output.stdout).trim().to_owned())
            .await
            .unwrap()
            .status(),
        401
    );

    // Usage errors: not a method, not a URL, an unreadable key.
    for bad in [
        vec!["--method", "G T", "--url", "http://x/"],
        vec!["--method", "GET", "--url", "/relative"],
        vec![
            "--method",
            "GET",
            "--url",
            "http://x/",
            "--key",
            "/no/such.pem",
        ],
    ] {
        let output = dpop_proof(bad.iter().map(|s| s.to_string()).collect()).await;
        assert!(!output.status.success(), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?}");
    }
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
