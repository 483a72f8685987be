//! `cargo xtask serve SPEC [--port P] [--mock] [--release]`: generate, build
//! and run a server for any spec, behind the full security pipeline.
//!
//! The crate is written to `target/rampart-serve/<spec-stem>/` (its own
//! `[workspace]`, the workspace's `Cargo.lock` and dev profile, so the shared
//! target directory's dependencies are reused): `src/lib.rs` is the generator's
//! output with `Generator::mock`, `src/main.rs` builds
//! `rampart::Security::load(&API)` (the compiled descriptor; rampart.toml + `RAMPART_*`, as a hand-written
//! server does) and serves plain HTTP on 127.0.0.1.
//!
//! With `--mock` every operation answers its mocked success response; without
//! it every operation answers `501 Not Implemented` problem+json — after
//! authentication, authorization, rate limits and input validation.
//!
//! Dev mode: when no key configuration is given (`RAMPART_JWT_SECRET`,
//! `RAMPART_JWT_SECRET_FILE`, `RAMPART_JWT_PUBLIC_KEY`, `RAMPART_JWKS`,
//! `RAMPART_API_KEYS`, `RAMPART_CONFIG` or `./rampart.toml`), a random HS256
//! secret, a dev issuer and audience, and an API key file with one key per
//! role (if the spec has an apiKey scheme) are generated; a token per declared
//! role and one `curl` per role are printed. When an operation takes DPoP
//! (RFC 9449: `scheme: dpop`, or `x-rampart: { dpop }` on a JWT scheme), a dev
//! client key pair is written beside the crate and a token per role bound to
//! it (`cnf.jkt`) is printed, with a `curl` whose `DPoP` header comes from
//! `cargo xtask dpop-proof`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use rampart::auth::dpop::ProofSigner;
use rampart::auth::{KeyFile, NewKey};
use rampart_codegen::CrateOptions;
use rampart_spec::model::{ApiKeyLocation, Operation, SecuritySchemeKind};
use rampart_spec::{ApiModel, DpopMode, Replay};

use crate::workspace::Workspace;

/// The issuer of dev tokens (and the one the dev server requires).
const DEV_ISSUER: &str = "https://rampart.serve/dev";

/// `serve`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The spec (YAML or JSON).
    spec: PathBuf,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Answer every operation with the spec's example or a synthesized value
    /// (default: 501 Not Implemented behind the security pipeline).
    #[arg(long)]
    mock: bool,
    /// Build in release mode.
    #[arg(long)]
    release: bool,
}

/// Variables that configure keys: with any of them set, no dev defaults are made up.
const KEY_VARIABLES: &[&str] = &[
    "RAMPART_JWT_SECRET",
    "RAMPART_JWT_SECRET_FILE",
    "RAMPART_JWT_PUBLIC_KEY",
    "RAMPART_JWKS",
    "RAMPART_API_KEYS",
    "RAMPART_CONFIG",
];

/// Run `serve`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !args.spec.is_file() {
        bail!(
            "cannot read the spec `{}`: no such file",
            args.spec.display()
        );
    }
    let spec = std::fs::canonicalize(&args.spec)
        .with_context(|| format!("cannot read the spec `{}`", args.spec.display()))?;
    let loaded = rampart_spec::load_file(&spec);
    if loaded.has_errors() || loaded.model.is_none() {
        eprint!("{}", loaded.render());
        bail!("the spec `{}` has errors", args.spec.display());
    }
    let model = loaded.model.expect("checked above");

    let stem = crate_stem(&spec);
    let workspace = Workspace::current()?;
    let root = workspace.root.clone();
    let target = workspace.target.clone();
    let out = target.join("rampart-serve").join(&stem);
    let package = format!("rampart-serve-{stem}");
    let lib = package.replace('-', "_");

    let manifest_extra = "tokio = { version = \"1\", features = [\"full\"] }\n\n\
         # The workspace's dev profile, so the shared target directory's dependencies are reused.\n\
         [profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\nopt-level = 1\ndebug = false\n"
        .to_owned();
    let options = CrateOptions {
        crate_name: package.clone(),
        rampart: workspace.rampart.clone(),
        standalone: true,
        mock: true,
        manifest_extra,
        allow_unenforced: false,
        // What a served spec's rampart.toml and `RAMPART_*` may ask for: Redis
        // (`REDIS_URL`), keys in SQL, JWKS URLs.
        rampart_features: ["redis", "sql", "jwks"].map(String::from).to_vec(),
    };
    match rampart_codegen::generate_crate_with(&spec, &out, &options) {
        Ok(warnings) => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
        }
        Err(rampart_codegen::GenerateError::Spec(rendered)) => {
            eprint!("{rendered}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    }
    write_if_changed(&out.join("src/main.rs"), &main_rs(&lib, &spec))?;
    // Pin dependencies to the workspace's versions (cargo adds the new package).
    if let Ok(lock) = std::fs::read(root.join("Cargo.lock"))
        && std::fs::read(out.join("Cargo.lock")).ok().as_deref() != Some(&lock[..])
    {
        std::fs::write(out.join("Cargo.lock"), &lock).context("cannot write Cargo.lock")?;
    }

    eprintln!("building {} ...", out.display());
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .args(["build", "--quiet", "--manifest-path"])
        .arg(out.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target);
    if args.release {
        build.arg("--release");
    }
    let status = build.status().context("cannot run cargo")?;
    if !status.success() {
        bail!(
            "building the generated server failed (crate in {})",
            out.display()
        );
    }
    let binary = target
        .join(if args.release { "release" } else { "debug" })
        .join(format!("{package}{}", std::env::consts::EXE_SUFFIX));

    let mut server = Command::new(&binary);
    server
        .env("RAMPART_SERVE_PORT", args.port.to_string())
        .env("RAMPART_SERVE_MOCK", if args.mock { "1" } else { "0" });

    let base = format!("http://127.0.0.1:{}{}", args.port, model.base_path());
    println!(
        "rampart serve: {} {} on {base} ({})",
        model.title(),
        model.version(),
        if args.mock {
            "mock: every operation answers its example or a synthesized value"
        } else {
            "every operation answers 501 Not Implemented; --mock answers examples"
        }
    );
    let configured = KEY_VARIABLES.iter().any(|v| std::env::var_os(v).is_some())
        || Path::new("rampart.toml").exists();
    if configured {
        println!("  keys from rampart.toml / RAMPART_* (no dev defaults)");
    } else {
        let dev = DevKeys::create(&model, &out, &stem)?;
        server
            .env("RAMPART_JWT_SECRET", &dev.secret)
            .env("RAMPART_JWT_ISSUER", DEV_ISSUER)
            .env("RAMPART_JWT_AUDIENCE", &dev.audience);
        if let Some(file) = &dev.key_file {
            server.env("RAMPART_API_KEYS", file);
        }
        println!(
            "  DEV MODE: plain HTTP on loopback, a generated secret (issuer {DEV_ISSUER}, audience {}); not for production\n",
            dev.audience
        );
        dev.print(&model, &base);
    }
    println!("Ctrl-C stops the server.");
    exec(server, &binary)
}

/// Replace this process with the server (so signals and kills reach it), or run it and wait.
fn exec(mut server: Command, binary: &Path) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let error = server.exec();
        Err(anyhow::anyhow!("cannot run {}: {error}", binary.display()))
    }
    #[cfg(not(unix))]
    {
        let status = server
            .status()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Generated dev credentials.
struct DevKeys {
    secret: String,
    audience: String,
    /// API key file, when the spec uses an apiKey scheme.
    key_file: Option<PathBuf>,
    /// (role, key) per role, when there is a key file.
    api_keys: Vec<(String, String)>,
    /// Every OAuth2 scope the spec declares (dev tokens carry them all).
    scopes: Vec<String>,
    /// The dev DPoP client key (its PEM file), when an operation takes DPoP.
    dpop: Option<(PathBuf, ProofSigner)>,
}

/// How a scheme treats DPoP: `scheme: dpop` requires it, a JWT scheme says so in `x-rampart: { dpop }`.
fn dpop_mode(model: &ApiModel, scheme: &str) -> DpopMode {
    match model.scheme(scheme) {
        Some(SecuritySchemeKind::Dpop) => DpopMode::Required,
        Some(kind) if kind.is_jwt() => model
            .scheme_annotations(scheme)
            .and_then(|a| a.dpop.as_ref())
            .map_or(DpopMode::Off, |d| d.value),
        _ => DpopMode::Off,
    }
}

impl DevKeys {
    fn create(model: &ApiModel, out: &Path, stem: &str) -> anyhow::Result<Self> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let secret = hex::encode(bytes);
        let used: BTreeSet<&str> = model
            .operations
            .iter()
            .flat_map(|op| op.policy.schemes())
            .collect();
        let uses_api_key = model.schemes.iter().any(|(name, kind)| {
            used.contains(name.as_str())
                && matches!(
                    kind,
                    SecuritySchemeKind::ApiKey {
                        location: ApiKeyLocation::Header,
                        ..
                    }
                )
        });
        let mut api_keys = Vec::new();
        let key_file = if uses_api_key {
            let path = out.join("dev-api-keys.toml");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let mut file = KeyFile::default();
            for role in roles(model) {
                let new = NewKey::generate(role.iter().cloned().collect(), None, now);
                file.add(new.record);
                api_keys.push((role.unwrap_or_else(|| "dev".into()), new.key));
            }
            file.save(&path).map_err(anyhow::Error::msg)?;
            Some(path)
        } else {
            None
        };
        let scopes = model
            .schemes
            .iter()
            .flat_map(|(_, kind)| match kind {
                SecuritySchemeKind::OAuth2 { scopes } => scopes.clone(),
                _ => Vec::new(),
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let dpop = if used.iter().any(|s| dpop_mode(model, s) != DpopMode::Off) {
            let path = out.join("dev-dpop-key.pem");
            // Kept across runs, so printed commands keep working.
            let existing = std::fs::read_to_string(&path)
                .ok()
                .and_then(|pem| crate::dpop_proof::signer_from_pem(&pem).ok());
            let signer = match existing {
                Some(signer) => signer,
                None => {
                    let (pem, signer) = crate::dpop_proof::new_key()?;
                    crate::dpop_proof::write_key(&path, &pem)?;
                    signer
                }
            };
            Some((path, signer))
        } else {
            None
        };
        Ok(DevKeys {
            secret,
            audience: stem.to_owned(),
            key_file,
            api_keys,
            scopes,
            dpop,
        })
    }

    /// An HS256 token for `role` (none: no roles), valid for 8 hours.
    fn token(&self, role: Option<&str>) -> String {
        self.mint(role, None)
    }

    /// [`token`](Self::token), bound to the key with thumbprint `jkt` (`cnf`, RFC 9449 §6) when given.
    fn mint(&self, role: Option<&str>, jkt: Option<&str>) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut claims = serde_json::json!({
            "sub": format!("dev-{}", role.unwrap_or("user")),
            "iss": DEV_ISSUER,
            "aud": self.audience,
            "iat": now,
            "exp": now + 8 * 3600,
            "roles": role.into_iter().collect::<Vec<_>>(),
            "scope": self.scopes.join(" "),
        });
        if let Some(jkt) = jkt {
            claims["cnf"] = serde_json::json!({ "jkt": jkt });
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .expect("HS256 signing of JSON claims cannot fail")
    }

    fn print(&self, model: &ApiModel, base: &str) {
        // Schemes a plain Bearer token gets through.
        let jwt_schemes: BTreeSet<&str> = model
            .schemes
            .iter()
            .filter(|(name, kind)| {
                matches!(
                    kind,
                    SecuritySchemeKind::Bearer { .. }
                        | SecuritySchemeKind::OAuth2 { .. }
                        | SecuritySchemeKind::OpenIdConnect { .. }
                ) && dpop_mode(model, name) != DpopMode::Required
            })
            .map(|(name, _)| name.as_str())
            .collect();
        // Operations taking one-time tokens: the dev tokens (no `jti`) are refused there.
        let one_time: Vec<&str> = model
            .operations
            .iter()
            .filter(|op| {
                op.policy.replay == Replay::Reject
                    || op.policy.schemes().iter().any(|s| {
                        model
                            .scheme_annotations(s)
                            .and_then(|a| a.replay.as_ref())
                            .is_some_and(|r| r.value == Replay::Reject)
                    })
            })
            .map(|op| op.id.as_str())
            .collect();
        let dpop_schemes: BTreeSet<&str> = model
            .schemes
            .iter()
            .filter(|(name, _)| dpop_mode(model, name) != DpopMode::Off)
            .map(|(name, _)| name.as_str())
            .collect();
        let api_key_header = model.schemes.iter().find_map(|(_, kind)| match kind {
            SecuritySchemeKind::ApiKey {
                name,
                location: ApiKeyLocation::Header,
            } => Some(name.clone()),
            _ => None,
        });
        if let Some(op) = model
            .operations
            .iter()
            .find(|op| !op.policy.requires_auth())
        {
            println!("public:\n  {}\n", curl(model, op, base, &[]));
        }
        for role in roles(model) {
            let label = role.as_deref().unwrap_or("any signed-in caller");
            let token = self.token(role.as_deref());
            println!("{label} token (8 h):\n  {token}");
            let accepts = |op: &&Operation| {
                op.policy.requires_auth()
                    && op.policy.roles.iter().all(|need| {
                        role.as_deref()
                            .is_some_and(|have| model.roles.satisfies(have, need))
                    })
            };
            let by_token = example_operation(model, |op| {
                accepts(op)
                    && !one_time.contains(&op.id.as_str())
                    && op.policy.schemes().iter().any(|s| jwt_schemes.contains(s))
            });
            if let Some(op) = by_token {
                let header = format!("-H 'Authorization: Bearer {token}'");
                println!("  {}", curl(model, op, base, &[header]));
            }
            if let (Some(header_name), Some((_, key))) = (
                &api_key_header,
                self.api_keys
                    .iter()
                    .find(|(r, _)| Some(r.as_str()) == role.as_deref() || role.is_none()),
            ) {
                println!("{label} API key ({header_name}):\n  {key}");
                let by_key = example_operation(model, |op| {
                    accepts(op)
                        && op.policy.schemes().iter().any(|s| {
                            matches!(model.scheme(s), Some(SecuritySchemeKind::ApiKey { .. }))
                        })
                });
                if let Some(op) = by_key {
                    let header = format!("-H '{header_name}: {key}'");
                    println!("  {}", curl(model, op, base, &[header]));
                }
            }
            let by_dpop = example_operation(model, |op| {
                accepts(op)
                    && !one_time.contains(&op.id.as_str())
                    && op.policy.schemes().iter().any(|s| dpop_schemes.contains(s))
            });
            if let (Some((key, signer)), Some(op)) = (&self.dpop, by_dpop) {
                let token = self.mint(role.as_deref(), Some(signer.jkt()));
                let url = format!("{base}{}", example_path(model, op));
                println!("{label} DPoP-bound token (8 h):\n  {token}");
                let proof = format!(
                    "-H \"DPoP: $(cargo xtask dpop-proof --key {} --method {} --url {url} --token {token})\"",
                    key.display(),
                    op.method.to_ascii_uppercase()
                );
                let authorization = format!("-H 'Authorization: DPoP {token}'");
                println!("  {}", curl(model, op, base, &[authorization, proof]));
            }
            println!();
        }
        if let Some((key, signer)) = &self.dpop {
            println!(
                "DPoP (RFC 9449): the DPoP-bound tokens above are bound to the dev client key (jkt {});\n  \
                 a proof is valid once, for one method and URL, for about a minute: make one per request.\nDPoP dev key (EC P-256, PEM):\n  {}\n",
                signer.jkt(),
                key.display()
            );
        }
        if !one_time.is_empty() {
            println!(
                "one-time tokens (replay: reject) on {}: each call needs a new token with a `jti`; the dev tokens above have none and are refused there.\n",
                one_time.join(", ")
            );
        }
    }
}

/// Declared roles, strongest first; one `None` when the spec declares none.
fn roles(model: &ApiModel) -> Vec<Option<String>> {
    let declared = model.roles.roles();
    if declared.is_empty() {
        vec![None]
    } else {
        declared.iter().cloned().map(Some).collect()
    }
}

/// The operation to show in a `curl`: a GET without path parameters if one fits, else any.
fn example_operation(model: &ApiModel, fits: impl Fn(&&Operation) -> bool) -> Option<&Operation> {
    let fitting = || model.operations.iter().filter(&fits);
    fitting()
        .find(|op| op.method == "get" && !op.path.contains('{'))
        .or_else(|| fitting().find(|op| op.method == "get"))
        .or_else(|| fitting().next())
}

/// `op`'s path, parameters filled with synthesized values.
fn example_path(model: &ApiModel, op: &Operation) -> String {
    let mut path = op.path.clone();
    for p in &op.parameters {
        let data = p.parameter_data_ref();
        if rampart_spec::model::location(p) != "path" {
            continue;
        }
        let value = model
            .parameter_schema(p)
            .map(|s| rampart_codegen::mock::synthesize(&model.openapi, s))
            .map_or_else(
                || "1".to_owned(),
                |v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            );
        path = path.replace(&format!("{{{}}}", data.name), &value);
    }
    path
}

/// A `curl` for `op` with `headers` (each a quoted `-H` argument), path
/// parameters filled with synthesized values and a synthesized JSON body
/// when it takes one.
fn curl(model: &ApiModel, op: &Operation, base: &str, headers: &[String]) -> String {
    let path = example_path(model, op);
    let mut parts = vec!["curl -i".to_owned()];
    if op.method != "get" {
        parts.push(format!("-X {}", op.method.to_ascii_uppercase()));
    }
    parts.extend(headers.iter().cloned());
    let body = op
        .operation
        .request_body
        .as_ref()
        .and_then(|b| rampart_spec::resolve::resolve(&model.openapi, b))
        .and_then(|b| b.content.iter().find(|(m, _)| m.contains("json")))
        .and_then(|(_, media)| media.schema.as_ref())
        .map(|s| request_body(model, s));
    if let Some(body) = body {
        parts.push("-H 'Content-Type: application/json'".into());
        parts.push(format!("-d '{}'", body.to_string().replace('\'', "'\\''")));
    }
    parts.push(format!("{base}{path}"));
    parts.join(" ")
}

/// A request body: the synthesized value without read-only properties.
fn request_body(
    model: &ApiModel,
    schema: &openapiv3::ReferenceOr<openapiv3::Schema>,
) -> serde_json::Value {
    let mut value = rampart_codegen::mock::synthesize(&model.openapi, schema);
    // Read-only properties are refused in requests; the synthesized response value has them.
    if let serde_json::Value::Object(map) = &mut value {
        let read_only = read_only_properties(&model.openapi, schema);
        map.retain(|k, _| !read_only.contains(k));
    }
    value
}

/// Top-level read-only property names of an object schema (through `$ref` and allOf).
fn read_only_properties(
    spec: &openapiv3::OpenAPI,
    schema: &openapiv3::ReferenceOr<openapiv3::Schema>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(schema) = rampart_spec::resolve::resolve(spec, schema) else {
        return out;
    };
    match &schema.schema_kind {
        openapiv3::SchemaKind::Type(openapiv3::Type::Object(o)) => {
            for (name, p) in &o.properties {
                let p = match p {
                    openapiv3::ReferenceOr::Item(s) => Some(s.as_ref()),
                    openapiv3::ReferenceOr::Reference { reference } => {
                        rampart_spec::resolve::component_name::<openapiv3::Schema>(reference)
                            .and_then(|n| spec.components.as_ref()?.schemas.get(&n))
                            .and_then(|s| rampart_spec::resolve::resolve(spec, s))
                    }
                };
                if p.is_some_and(|p| p.schema_data.read_only) {
                    out.insert(name.clone());
                }
            }
        }
        openapiv3::SchemaKind::AllOf { all_of } => {
            for part in all_of {
                out.extend(read_only_properties(spec, part));
            }
        }
        _ => {}
    }
    out
}

/// The spec's file stem as a crate-name part (`petstore`, `oai_petstore`).
fn crate_stem(spec: &Path) -> String {
    let stem = spec
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("api")
        .to_ascii_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    if stem.starts_with(|c: char| c.is_ascii_alphabetic()) {
        stem
    } else {
        format!("api_{stem}")
    }
}

fn write_if_changed(path: &Path, contents: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// The server's `main`: `Security::load(&API)` (the descriptor compiled into
/// the generated crate), the mock or the 501 router.
fn main_rs(lib: &str, spec: &Path) -> String {
    format!(
        r#"// @generated by `cargo xtask serve` from {spec}. Do not edit.
//! Serves the generated API on 127.0.0.1 over plain HTTP, behind the full
//! security pipeline: `rampart::Security::load` reads rampart.toml and
//! `RAMPART_*` as any server does. `RAMPART_SERVE_MOCK=1` answers every
//! operation with its mock, else every operation answers 501.

use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {{
    match run().await {{
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {{
            eprintln!("error: {{e}}");
            ExitCode::FAILURE
        }}
    }}
}}

async fn run() -> Result<(), String> {{
    let port: u16 = match std::env::var("RAMPART_SERVE_PORT") {{
        Ok(p) => p
            .parse()
            .map_err(|_| format!("RAMPART_SERVE_PORT must be a port number, got `{{p}}`"))?,
        Err(_) => 8000,
    }};
    let mock = std::env::var("RAMPART_SERVE_MOCK").is_ok_and(|v| v == "1");
    // The spec as generated, compiled in: this server never reads the spec file.
    let security = rampart::Security::load(&{lib}::API)
        .await
        .map_err(|e| e.to_string())?;
    let router = if mock {{
        {lib}::router({lib}::Mock, security)
    }} else {{
        {lib}::not_implemented_router(security)
    }};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Connection limits from RAMPART_IDLE_TIMEOUT_MS, RAMPART_MAX_CONNECTIONS, ...
    let config = rampart::server::ServeConfig::from_env(addr)
        .map_err(|e| e.to_string())?
        .with_shutdown(async {{
            let _ = tokio::signal::ctrl_c().await;
        }});
    let serving = rampart::server::serve(router, config)
        .await
        .map_err(|e| format!("cannot listen on {{addr}}: {{e}}"))?;
    println!("listening on http://{{}}", serving.local_addr());
    serving.wait().await;
    Ok(())
}}
"#,
        spec = spec.display(),
    )
}
