//! The demo binary (what `cargo xtask demo` runs) serves HTTPS with a
//! self-signed certificate, redirects HTTP, and prints tokens and curl
//! commands that work; it keeps its data in SQLite across restarts, and
//! refuses to start on a database it cannot open.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "petstore-demo-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo binary, run in `cwd` with `DATABASE_URL` and `RAMPART_DEMO_DB`
/// unset unless `env` sets them.
fn demo_command(cwd: &Path, env: &[(&str, &str)]) -> (Command, u16, u16) {
    let (https, http) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_petstore-server"));
    command
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("RAMPART_DEMO_DB")
        .env("RAMPART_DEMO_HTTPS_PORT", https.to_string())
        .env("RAMPART_DEMO_HTTP_PORT", http.to_string())
        .env("RUST_LOG", "off");
    for (k, v) in env {
        command.env(k, v);
    }
    (command, https, http)
}

/// Start the demo and read its banner up to the last line (printed once the
/// listeners are bound).
async fn start_demo(cwd: &Path, env: &[(&str, &str)]) -> (Demo, Vec<String>, u16, u16) {
    let (mut command, https, http) = demo_command(cwd, env);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo binary starts");
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    let lines: Vec<String> = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Ctrl-C");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .unwrap();
    assert!(
        lines.last().is_some_and(|l| l.starts_with("Ctrl-C")),
        "the demo stopped early: {lines:#?}"
    );
    (demo, lines, https, http)
}

/// The line after the one starting with `heading`, trimmed.
fn after(lines: &[String], heading: &str) -> String {
    let i = lines
        .iter()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("no `{heading}` in {lines:#?}"));
    lines[i + 1].trim().to_owned()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_demo_prints_tokens_that_work_over_https() {
    let dir = TempDir::new();
    let (_demo, lines, https, http) = start_demo(&dir.0, &[]).await;
    let token_after = |heading: &str| after(&lines, heading);
    let base = format!("https://127.0.0.1:{https}/v1");
    assert!(lines[0].contains(&base), "{lines:#?}");
    let curl = lines
        .iter()
        .find(|l| l.contains("curl -k -H 'Authorization: Bearer") && l.ends_with("/pets"))
        .unwrap();
    assert!(curl.contains(&base), "{curl}");

    let client = client();
    let viewer = token_after("viewer token");
    let response = client
        .get(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let editor = token_after("editor token");
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({"name": "Rex", "species": "dog"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The viewer may not create pets.
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({"name": "Rex", "species": "dog"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Plain HTTP only redirects.
    let response = client
        .get(format!("http://127.0.0.1:{http}/v1/pets"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(
        response.headers()["location"],
        format!("https://127.0.0.1:{https}/v1/pets")
    );
}

#[tokio::test]
async fn the_demo_keeps_its_data_in_sqlite_across_restarts() {
    let dir = TempDir::new();
    // With nothing configured, the data goes to petstore-demo.sqlite3 in the
    // working directory, and the banner says so.
    let (demo, lines, https, _) = start_demo(&dir.0, &[]).await;
    let file = dir.0.join("petstore-demo.sqlite3");
    assert!(file.exists(), "no {} after start", file.display());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("data: SQLite file petstore-demo.sqlite3")),
        "{lines:#?}"
    );
    let base = format!("https://127.0.0.1:{https}/v1");
    let response = client()
        .post(format!("{base}/pets"))
        .bearer_auth(after(&lines, "editor token"))
        .json(&serde_json::json!({"name": "Rex'); DROP TABLE pets; --", "species": "dog", "tags": ["--"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let pet: serde_json::Value = response.json().await.unwrap();
    drop(demo);

    // Restarted (new secret, new tokens): the pet is still there.
    let (_demo, lines, https, _) = start_demo(&dir.0, &[]).await;
    let base = format!("https://127.0.0.1:{https}/v1");
    let id = pet["id"].as_str().unwrap();
    let response = client()
        .get(format!("{base}/pets/{id}"))
        .bearer_auth(after(&lines, "viewer token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), pet);

    // RAMPART_DEMO_DB chooses another file, created with its directory.
    let other = dir.0.join("nested").join("other.sqlite3");
    let (_other, lines, https, _) =
        start_demo(&dir.0, &[("RAMPART_DEMO_DB", other.to_str().unwrap())]).await;
    assert!(other.exists());
    let response = client()
        .get(format!("https://127.0.0.1:{https}/v1/pets"))
        .bearer_auth(after(&lines, "viewer token"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!([])
    );
}

/// Run the demo with `DATABASE_URL=url` and expect it to refuse to start;
/// returns what it printed.
fn refused(url: &str) -> String {
    let dir = TempDir::new();
    let (mut command, _, _) = demo_command(&dir.0, &[("DATABASE_URL", url)]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo binary starts");
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(!status.success(), "started on DATABASE_URL={url}: {out}");
    assert!(!out.contains("Ctrl-C"), "{out}");
    out
}

#[test]
fn a_database_url_that_does_not_work_stops_the_demo_without_showing_the_password() {
    // Nothing listens on port 1; the password must not be printed.
    for url in [
        "postgres://ann:Sup3r-s3cret@127.0.0.1:1/pets",
        "postgres://ann:Sup3r%2Ds3cret@127.0.0.1:1/pets?password=Sup3r-s3cret",
    ] {
        let out = refused(url);
        assert!(out.contains("DATABASE_URL"), "{out}");
        assert!(out.contains("127.0.0.1:1/pets"), "{out}");
        assert!(!out.contains("s3cret"), "the password leaked: {out}");
    }
    let out = refused("mysql://root:Sup3r-s3cret@127.0.0.1/pets");
    assert!(
        out.contains("DATABASE_URL") && out.contains("sqlite:"),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "the password leaked: {out}");
    // A SQLite file that cannot be opened (its directory does not exist and mode=rwc is not asked).
    let out = refused("sqlite:///nonexistent-dir/pets.sqlite3");
    assert!(out.contains("DATABASE_URL"), "{out}");
}

/// The server runs from the descriptor compiled into it (`petstore::API`):
/// no spec parser, YAML reader or OpenAPI model is linked into the binary,
/// so neither the spec file nor its interpretation can drift from what was
/// generated. (Every crate's source paths are in a debug binary's panic
/// locations; `rampart-api`'s are, as a control.)
#[test]
fn the_demo_binary_links_no_spec_parser() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_petstore-server")).unwrap();
    let holds = |needle: &str| {
        binary
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    assert!(holds("rampart-api"), "the control string is missing");
    for crate_name in ["rampart-spec", "yaml-rust2", "openapiv3"] {
        assert!(!holds(crate_name), "the demo binary links `{crate_name}`");
    }
}
