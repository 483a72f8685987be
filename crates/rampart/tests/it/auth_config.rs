//! Startup refusals: the server will not start on a short HS secret, a missing
//! key for a scheme the spec uses, an unreadable JWKS, unset iss/aud (unless
//! waived), API keys in the query string or cookies, or a missing key file —
//! and each message says what to fix. Configuration comes from `rampart.toml`
//! and the `RAMPART_*` names of the public contract.

use crate::support::auth;

use auth::*;
use rampart::{ConfigError, Security, SecurityConfig};

/// Load config from an optional rampart.toml text and env pairs, then build.
fn build(spec: &str, toml: Option<&str>, env: &[(&str, &str)]) -> Result<Security, ConfigError> {
    let dir = temp_dir("config");
    let path = toml.map(|text| {
        let p = dir.join("rampart.toml");
        std::fs::write(&p, text).unwrap();
        p
    });
    let env = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    // Without a file: no RAMPART_CONFIG in this environment, and no ./rampart.toml here.
    let config = SecurityConfig::load_with(path.as_deref(), env)?;
    Security::from_api(&model_of(spec).descriptor(), config)
}

const BEARER_ONLY: &str = r#"
openapi: 3.0.3
info: { title: t, version: "1" }
security: [ { bearerAuth: [] } ]
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer }
    apiKey: { type: apiKey, in: header, name: X-API-Key }
paths:
  /a: { get: { operationId: a, responses: { "200": { description: ok } } } }
"#;

fn spec_with_key_in(location: &str) -> String {
    format!(
        r#"
openapi: 3.0.3
info: {{ title: t, version: "1" }}
security: [ {{ apiKey: [] }} ]
components:
  securitySchemes:
    apiKey: {{ type: apiKey, in: {location}, name: api_key }}
paths:
  /a: {{ get: {{ operationId: a, responses: {{ "200": {{ description: ok }} }} }} }}
"#
    )
}

const ISS_AUD: [(&str, &str); 2] = [
    ("RAMPART_JWT_ISSUER", ISSUER),
    ("RAMPART_JWT_AUDIENCE", AUDIENCE),
];

fn env_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = ISS_AUD.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn a_complete_environment_starts_and_unused_schemes_need_no_keys() {
    // apiKey is declared but unused: no key file needed.
    build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWT_SECRET", SECRET)]),
    )
    .unwrap();
}

#[test]
fn short_hs_secrets_are_refused() {
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWT_SECRET", "too-short")]),
    )
    .unwrap_err();
    assert!(
        err.message.contains("9 bytes") && err.message.contains("32"),
        "{err}"
    );
    assert!(err.fix.contains("RAMPART_JWT_SECRET"), "{err}");
}

#[test]
fn a_used_scheme_without_a_key_is_refused() {
    let err = build(BEARER_ONLY, None, &ISS_AUD).unwrap_err();
    assert!(err.message.contains("`bearerAuth`"), "{err}");
    for name in [
        "RAMPART_JWT_SECRET",
        "RAMPART_JWT_PUBLIC_KEY",
        "RAMPART_JWKS",
    ] {
        assert!(err.fix.contains(name), "{err}");
    }
}

#[test]
fn jwks_urls_with_userinfo_are_refused() {
    for url in [
        "http://localhost:80@evil.example/jwks",
        "http://localhost@evil.example/jwks",
        "https://user:secret@idp.example/jwks",
    ] {
        let err = build(BEARER_ONLY, None, &env_with(&[("RAMPART_JWKS", url)])).unwrap_err();
        assert!(err.message.contains("userinfo"), "{url}: {err}");
    }
    // A loopback JWKS over plain http stays allowed (a local IdP in tests).
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWKS", "http://127.0.0.1:9/jwks.json")]),
    )
    .unwrap_err();
    assert!(!err.message.contains("plain http"), "{err}");
}

#[test]
fn unreadable_jwks_and_keys_are_refused() {
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWKS", "/nonexistent/jwks.json")]),
    )
    .unwrap_err();
    assert!(err.message.contains("/nonexistent/jwks.json"), "{err}");
    assert!(err.fix.contains("RAMPART_JWKS"), "{err}");
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWKS", "http://idp.example/jwks.json")]),
    )
    .unwrap_err();
    assert!(err.message.contains("https"), "{err}");
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWT_PUBLIC_KEY", "/nonexistent/key.pem")]),
    )
    .unwrap_err();
    assert!(err.fix.contains("RAMPART_JWT_PUBLIC_KEY"), "{err}");
    let private = fixture("test-only-rsa-private.pem").display().to_string();
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWT_PUBLIC_KEY", &private)]),
    )
    .unwrap_err();
    assert!(err.message.contains("PRIVATE"), "{err}");
    let public = fixture("test-only-rsa-public.pem").display().to_string();
    build(
        BEARER_ONLY,
        None,
        &env_with(&[("RAMPART_JWT_PUBLIC_KEY", &public)]),
    )
    .unwrap();
}

#[cfg(feature = "jwks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_url_that_fails_is_refused() {
    let base = serve(axum::Router::new()).await; // every path 404
    let url = format!("{base}/jwks.json");
    let err = build(BEARER_ONLY, None, &env_with(&[("RAMPART_JWKS", &url)])).unwrap_err();
    assert!(err.message.contains("404"), "{err}");
}

#[test]
fn issuer_and_audience_must_be_set_or_waived() {
    let err = build(
        BEARER_ONLY,
        None,
        &[
            ("RAMPART_JWT_SECRET", SECRET),
            ("RAMPART_JWT_AUDIENCE", AUDIENCE),
        ],
    )
    .unwrap_err();
    assert!(
        err.fix.contains("RAMPART_JWT_ISSUER") && err.fix.contains("skip-issuer-check"),
        "{err}"
    );
    let err = build(
        BEARER_ONLY,
        None,
        &[
            ("RAMPART_JWT_SECRET", SECRET),
            ("RAMPART_JWT_ISSUER", ISSUER),
        ],
    )
    .unwrap_err();
    assert!(err.fix.contains("RAMPART_JWT_AUDIENCE"), "{err}");
    build(
        BEARER_ONLY,
        Some("[jwt]\nskip-issuer-check = true\nskip-audience-check = true\n"),
        &[("RAMPART_JWT_SECRET", SECRET)],
    )
    .unwrap();
}

#[test]
fn api_keys_in_query_or_cookie_are_refused() {
    for (location, word) in [("query", "query string"), ("cookie", "cookie")] {
        let err = build(&spec_with_key_in(location), None, &[]).unwrap_err();
        assert!(err.message.contains(word), "{err}");
        assert!(err.fix.contains("in: header"), "{err}");
    }
}

/// Built without the `redis` feature, a configuration that needs Redis
/// refuses to start and names the feature.
#[cfg(not(feature = "redis"))]
#[test]
fn redis_settings_without_the_redis_feature_refuse_to_start() {
    let spec = spec_with_key_in("header");
    let err = build(
        &spec,
        None,
        &[
            ("RAMPART_API_KEY_STORE", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().contains("`redis` feature"), "{err}");
}

#[cfg(feature = "redis")]
#[test]
fn api_key_stores_must_exist() {
    let spec = spec_with_key_in("header");
    let err = build(
        &spec,
        None,
        &[("RAMPART_API_KEYS", "/nonexistent/keys.toml")],
    )
    .unwrap_err();
    assert!(err.fix.contains("cargo xtask apikey new"), "{err}");
    let err = build(&spec, None, &[("RAMPART_API_KEY_STORE", "redis")]).unwrap_err();
    assert!(err.message.contains("REDIS_URL"), "{err}");
    let dir = temp_dir("config-keys");
    let (path, _) = write_keys(&dir);
    build(
        &spec,
        None,
        &[("RAMPART_API_KEYS", &path.display().to_string())],
    )
    .unwrap();
    // REDIS_URL makes the rate limits shared too, which the synchronous
    // constructor cannot connect: it refuses rather than limit in memory.
    let err = build(
        &spec,
        None,
        &[
            ("RAMPART_API_KEY_STORE", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ],
    )
    .unwrap_err();
    assert!(err.fix.contains("Security::load"), "{err}");
}

#[test]
fn rampart_toml_is_read_and_the_environment_wins() {
    let toml = format!(
        "realm = \"pets\"\n[jwt]\nissuer = \"https://file-issuer\"\naudience = \"{AUDIENCE}\"\npublic-key = \"{}\"\n[lockout]\nafter = \"3/min\"\n",
        fixture("test-only-rsa-public.pem").display()
    );
    let security = build(
        BEARER_ONLY,
        Some(&toml),
        &[
            ("RAMPART_JWT_ISSUER", ISSUER),
            ("RAMPART_TRUSTED_PROXIES", "10.0.0.0/8,192.168.0.1"),
        ],
    )
    .unwrap();
    assert_eq!(security.realm(), "pets");
    assert_eq!(security.trusted_proxies().len(), 2);
    let err = build(BEARER_ONLY, Some("[jwt]\nsecret = \"inline\"\n"), &[]).unwrap_err();
    assert!(err.fix.contains("RAMPART_JWT_SECRET"), "{err}");
    let err = build(
        BEARER_ONLY,
        Some("[lockout]\nafter = \"5/fortnight\"\n"),
        &env_with(&[("RAMPART_JWT_SECRET", SECRET)]),
    )
    .unwrap_err();
    assert!(err.message.contains("fortnight"), "{err}");
    let err = build(
        BEARER_ONLY,
        None,
        &env_with(&[
            ("RAMPART_JWT_SECRET", SECRET),
            ("RAMPART_JWT_ALGORITHMS", "none"),
        ]),
    )
    .unwrap_err();
    assert!(err.message.contains("`none`"), "{err}");
}

#[test]
fn the_petstore_spec_builds_and_guards_every_operation() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../specs/petstore.yaml");
    let loaded = rampart_spec::load_file(std::path::Path::new(path));
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let model = loaded.model.unwrap();
    let dir = temp_dir("petstore");
    let (keys, _) = write_keys(&dir);
    let keys = keys.display().to_string();
    let env = env_with(&[("RAMPART_JWT_SECRET", SECRET), ("RAMPART_API_KEYS", &keys)]);
    let config = SecurityConfig::load_with(None, |n| {
        env.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let security = Security::from_api(&model.descriptor(), config).unwrap();
    for op in &model.operations {
        security.try_guard(op.policy.clone()).unwrap();
    }
    // Its apiKey header is secret in logs.
    let header = http::HeaderName::from_static("x-api-key");
    assert!(security.redactor().is_sensitive_header(&header));
}

/// Every ```toml block of the docs loads: `rampart.toml` fragments as the
/// configuration, key-file examples (`[[keys]]`) as a key file, Cargo
/// manifest examples as TOML.
#[test]
fn every_toml_block_in_the_docs_loads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "docs/runtime"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    let mut blocks = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut lines = text.lines().enumerate();
        while let Some((number, line)) = lines.next() {
            if line.trim_start() != "```toml" {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| l.trim_start() != "```")
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
                .collect();
            let block = block.join("\n");
            let origin = format!("{}:{}", file.display(), number + 1);
            let first_table = block.trim_start().lines().next().unwrap_or("");
            if ["[dependencies]", "[package]", "[workspace]"].contains(&first_table) {
                // A Cargo manifest (how to depend on rampart): valid TOML.
                block.parse::<toml::Table>().unwrap_or_else(|e| {
                    panic!("{origin}: the Cargo.toml example does not parse: {e}")
                });
            } else if block.trim_start().starts_with("[[accept]]") {
                // `cargo xtask diff --accept` (docs/diff.md): rampart-cli's
                // tests load it with the allowlist's own reader.
                block.parse::<toml::Table>().unwrap_or_else(|e| {
                    panic!("{origin}: the allowlist example does not parse: {e}")
                });
            } else if block.trim_start().starts_with("[[keys]]") {
                rampart::auth::KeyFile::parse(&block).unwrap_or_else(|e| {
                    panic!("{origin}: the key file example does not load: {e}")
                });
            } else {
                let config = SecurityConfig::from_toml_str(&block, &origin).unwrap_or_else(|e| {
                    panic!("{origin}: the rampart.toml example does not load: {e}")
                });
                // `[rate]` and `[harden]` are read when the server starts:
                // check them as they will be.
                if !config.rate.is_empty() {
                    let table = toml::to_string(&config.rate).unwrap();
                    rampart::rate::RateConfig::from_toml(&table).unwrap_or_else(|e| {
                        panic!("{origin}: its [rate] table does not load: {e}")
                    });
                }
                if !config.harden.is_empty() {
                    toml::Value::Table(config.harden.clone())
                        .try_into::<rampart::HardenConfig>()
                        .unwrap_or_else(|e| {
                            panic!("{origin}: its [harden] table does not load: {e}")
                        });
                }
            }
            blocks += 1;
        }
    }
    assert!(blocks >= 4, "only {blocks} toml blocks found in the docs");
}

#[test]
fn client_ip_settings_in_the_rate_table_are_refused() {
    let err =
        SecurityConfig::from_toml_str("[rate]\ntrusted-proxies = \"10.0.0.0/8\"\n", "rampart.toml")
            .unwrap_err();
    assert!(err.fix.contains("top level"), "{err}");
}

/// A misspelt `[rate]` or `[harden]` key refuses to start, naming it.
#[tokio::test]
async fn an_unknown_rate_or_harden_key_refuses_to_start() {
    let dir = temp_dir("table-keys");
    let path = dir.join("rampart.toml");
    let model = model_of(BEARER_ONLY);
    for (text, word) in [
        ("[rate]\nfailur = \"fail-closed\"\n", "failur"),
        ("[harden]\nheadrs = {}\n", "headrs"),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = rampart::Security::load_with(&model.descriptor(), Some(&path), |n| {
            (n == "RAMPART_JWT_SECRET").then(|| SECRET.to_owned())
        })
        .await
        .unwrap_err();
        assert!(err.message.contains(word), "{err}");
    }
}

/// `[harden]` and `[rate]` in rampart.toml take effect, over HTTP.
#[cfg(feature = "redis")]
#[tokio::test]
async fn harden_and_rate_tables_take_effect() {
    const SPEC: &str = r#"
openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /limited:
    get:
      operationId: limited
      security: []
      x-rampart: { public: true, rate: 100/min }
      responses: { "200": { description: ok } }
"#;
    let dir = temp_dir("tables");
    let path = dir.join("rampart.toml");
    // A Redis nobody listens on, failing closed: the limited route answers
    // 503, which only happens if `[rate]` was read and used.
    std::fs::write(
        &path,
        "[rate]\nredis-url = \"redis://127.0.0.1:1\"\nfailure = \"fail-closed\"\ntimeout-ms = 50\n\n[harden.headers]\nframe-options = \"SAMEORIGIN\"\n",
    )
    .unwrap();
    let model = model_of(SPEC);
    let security = rampart::Security::load_with(&model.descriptor(), Some(&path), |_| None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(security.harden(router(&model, &security))).await;
    let response = client()
        .get(format!("{base}/limited"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-frame-options"], "SAMEORIGIN");
    // The builder cannot connect to a configured Redis: it says so instead
    // of limiting in memory.
    let config = SecurityConfig::load_with(Some(&path), |_| None).unwrap();
    let err = rampart::Security::from_api(&model.descriptor(), config).unwrap_err();
    assert!(err.fix.contains("Security::load"), "{err}");
}

/// Issue 25, item 3: every `RAMPART_*` variable `docs/configuration.md`
/// documents is read from the environment in one place of the runtime (a
/// `get("…")`, `env("…")` or `var("…")` call naming it once), so two parsers
/// can never disagree about one setting; and every one the runtime reads is
/// documented. Variables read through a table of names (the connection
/// limits) and the demo's own ones (`RAMPART_DEMO_*`, read by the demo) are
/// named in the list below instead.
#[test]
fn every_documented_variable_is_read_in_exactly_one_place() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("../../docs/configuration.md")).unwrap();
    let names = |text: &str| -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for (at, _) in text.match_indices("RAMPART_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.ends_with('_') {
                out.insert(name);
            }
        }
        out
    };
    let documented = names(&docs);
    let mut sources = String::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    // Read through a table of names (limits.rs) or by the demo server.
    let elsewhere = [
        "RAMPART_HEADER_READ_TIMEOUT_MS",
        "RAMPART_IDLE_TIMEOUT_MS",
        "RAMPART_HTTP2_KEEP_ALIVE_INTERVAL_MS",
        "RAMPART_HTTP2_KEEP_ALIVE_TIMEOUT_MS",
        "RAMPART_MAX_CONNECTIONS",
    ];
    let mut problems = Vec::new();
    for name in &documented {
        if name.starts_with("RAMPART_DEMO_") {
            continue;
        }
        let reads: usize = ["get", "env", "var"]
            .iter()
            .map(|call| sources.matches(&format!("{call}(\"{name}\")")).count())
            .sum();
        let tabled = elsewhere.contains(&name.as_str());
        match (reads, tabled) {
            (1, false) => {}
            (0, true) => assert!(
                sources.contains(&format!("\"{name}\"")),
                "{name} is in no table of names"
            ),
            _ => problems.push(format!("{name}: read in {reads} places")),
        }
    }
    for name in names(&sources) {
        let read = ["get", "env", "var"]
            .iter()
            .any(|call| sources.contains(&format!("{call}(\"{name}\")")));
        if read && !documented.contains(&name) {
            problems.push(format!("{name}: read but not in docs/configuration.md"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
