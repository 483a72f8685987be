//! The demo: the generated petstore on embedded defaults — in-memory limiter,
//! a generated development secret, a self-signed certificate — over HTTPS on
//! 127.0.0.1:8443 with an HTTP listener on 127.0.0.1:8080 that only redirects.
//! Prints a ready token and a working `curl` command for each role.
//!
//! Pets and owners live in a SQLite file (`RAMPART_DEMO_DB`, default
//! `petstore-demo.sqlite3` in the working directory; created when missing),
//! or in the database `DATABASE_URL` names (`postgres://...` or `sqlite:...`)
//! when it is set. A database that cannot be opened stops the demo before it
//! listens, with a message naming the variable (never the password).
//!
//! Ports: `RAMPART_DEMO_HTTPS_PORT`, `RAMPART_DEMO_HTTP_PORT`. The
//! certificate is cached in `RAMPART_DEMO_TLS_DIR` when set. The HTTP
//! listener redirects to `RAMPART_PUBLIC_ORIGIN` when it is set, else only
//! requests for the names the certificate covers (`localhost`, `127.0.0.1`).

use std::net::SocketAddr;

use petstore_server::app;
use rampart::server::{RedirectTarget, ServeConfig, redirect_listener, serve_tls};
use rampart::tls::{TlsConfig, self_signed, self_signed_cached};

/// The names the self-signed certificate covers, and the only hosts the HTTP
/// listener redirects for without `RAMPART_PUBLIC_ORIGIN`.
const HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

fn port(var: &str, default: u16) -> anyhow::Result<u16> {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{var} must be a port number, got `{v}`")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rampart::audit=info".into()),
        )
        .init();
    let https_port = port("RAMPART_DEMO_HTTPS_PORT", 8443)?;
    let http_port = port("RAMPART_DEMO_HTTP_PORT", 8080)?;
    let data = app::DemoDatabase::from_env();
    let db = data.open().await?;

    // Embedded defaults: nothing here is ever written to the repository.
    let dir = std::env::temp_dir().join(format!("rampart-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // The certificate (30 days) is kept in RAMPART_DEMO_TLS_DIR when set
    // (`cargo xtask demo` points it into the target directory, so a client
    // can trust it across runs) and replaced a day before it expires;
    // otherwise a fresh one lives as long as this process.
    let (cert_path, key_path) = match std::env::var_os("RAMPART_DEMO_TLS_DIR") {
        Some(tls_dir) if !tls_dir.is_empty() => {
            self_signed_cached(std::path::Path::new(&tls_dir), &HOSTS)?
        }
        _ => {
            let (cert, key) = self_signed(&HOSTS)?;
            let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
            std::fs::write(&cert_path, cert)?;
            std::fs::write(&key_path, key)?;
            (cert_path, key_path)
        }
    };
    let secret = app::dev_secret();
    let key_file = dir.join("api-keys.toml");
    let api_key = app::dev_api_key(&key_file, "admin").map_err(anyhow::Error::msg)?;

    let security = app::dev_security(&petstore::API, &secret, &key_file)?;
    let router = app::router(security, db.clone());

    let https = SocketAddr::from(([127, 0, 0, 1], https_port));
    let tls = TlsConfig::new(ServeConfig::from_env(https)?, &cert_path, &key_path);
    let serving = serve_tls(router, tls).await?;
    let target = match std::env::var("RAMPART_PUBLIC_ORIGIN") {
        Ok(origin) if !origin.trim().is_empty() => {
            RedirectTarget::origin(&rampart::config::parse_public_origin(&origin)?)?
        }
        _ => RedirectTarget::hosts(HOSTS, https_port),
    };
    let redirect = redirect_listener(SocketAddr::from(([127, 0, 0, 1], http_port)), target).await?;

    let base = format!("https://127.0.0.1:{https_port}/v1");
    println!(
        "rampart demo: {} {} on {base}",
        petstore::TITLE,
        petstore::VERSION
    );
    println!(
        "  (self-signed certificate: curl needs -k; http://127.0.0.1:{http_port} redirects here)"
    );
    println!("  data: {}\n", data.describe());
    println!("public:\n  curl -k {base}/health\n");
    for (role, scopes) in [
        ("admin", ["pets:read", "pets:write"]),
        ("editor", ["pets:read", "pets:write"]),
        ("viewer", ["pets:read", ""]),
    ] {
        let scopes: Vec<&str> = scopes.into_iter().filter(|s| !s.is_empty()).collect();
        let token = app::dev_token(&secret, &format!("demo-{role}"), &[role], &scopes, 3600);
        println!("{role} token (1 h):\n  {token}");
        println!("  curl -k -H 'Authorization: Bearer {token}' {base}/pets");
        if role != "viewer" {
            println!(
                "  curl -k -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{\"name\":\"Rex\",\"species\":\"dog\"}}' {base}/pets"
            );
        }
        println!();
    }
    println!("admin API key (X-API-Key):\n  curl -k -H 'X-API-Key: {api_key}' {base}/pets\n");
    println!("Ctrl-C stops the server.");
    tokio::signal::ctrl_c().await?;
    serving.shutdown().await;
    redirect.shutdown().await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
