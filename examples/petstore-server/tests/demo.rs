//! The demo binary (what `cargo xtask demo` runs) serves HTTPS with a
//! self-signed certificate, redirects HTTP, and prints tokens and curl
//! commands that work.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_demo_prints_tokens_that_work_over_https() {
    let (https, http) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
        .env("RAMPART_DEMO_HTTPS_PORT", https.to_string())
        .env("RAMPART_DEMO_HTTP_PORT", http.to_string())
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo binary starts");
    let stdout = child.stdout.take().unwrap();
    let _demo = Demo(child);
    // Read the banner up to the last line (printed once the listeners are bound).
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
    let token_after = |heading: &str| {
        let i = lines
            .iter()
            .position(|l| l.starts_with(heading))
            .unwrap_or_else(|| panic!("no `{heading}` in {lines:#?}"));
        lines[i + 1].trim().to_owned()
    };
    let base = format!("https://127.0.0.1:{https}/v1");
    assert!(lines[0].contains(&base), "{lines:#?}");
    let curl = lines
        .iter()
        .find(|l| l.contains("curl -k -H 'Authorization: Bearer") && l.ends_with("/pets"))
        .unwrap();
    assert!(curl.contains(&base), "{curl}");

    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
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
