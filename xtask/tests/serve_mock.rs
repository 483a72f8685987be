//! `cargo xtask serve SPEC --mock` end to end: the xtask binary generates,
//! builds and runs the server; requests go over real HTTP. Mock bodies must
//! validate against the spec's response schemas, and security must hold.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The running `cargo xtask serve` (the xtask process becomes the server); killed on drop.
struct Served {
    child: Child,
    base: String,
    output: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    async fn start(spec: &Path, base_path: &str) -> Served {
        Self::start_with(spec, base_path, true).await
    }

    async fn start_with(spec: &Path, base_path: &str, mock: bool) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(["serve", "--port", &port.to_string()])
            .args(mock.then_some("--mock"))
            .arg(spec)
            .current_dir(root())
            .stdout(Stdio::piped());
        for v in [
            "RAMPART_JWT_SECRET",
            "RAMPART_JWT_SECRET_FILE",
            "RAMPART_JWT_PUBLIC_KEY",
            "RAMPART_JWKS",
            "RAMPART_API_KEYS",
            "RAMPART_CONFIG",
            // Quotas and lockout in this server's memory, not a Redis other tests share.
            "REDIS_URL",
        ] {
            command.env_remove(v);
        }
        let mut child = command.spawn().expect("xtask runs");
        let output = Arc::new(Mutex::new(Vec::new()));
        let lines = output.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut served = Served {
            child,
            base: format!("http://127.0.0.1:{port}{base_path}"),
            output,
        };
        // The first run builds the generated crate: allow for a cold build.
        let deadline = Instant::now() + Duration::from_secs(1200);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = served.child.try_wait().unwrap() {
                panic!("xtask serve exited ({status}) before answering");
            }
            let listening = served
                .output
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("listening on"));
            if listening
                && client
                    .get(format!("http://127.0.0.1:{port}/"))
                    .send()
                    .await
                    .is_ok()
            {
                return served;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer in time"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The line after the one ending with `label` (tokens and keys are printed so).
    fn printed_after(&self, label: &str) -> String {
        let lines = self.output.lock().unwrap();
        let i = lines
            .iter()
            .position(|l| l.ends_with(label))
            .unwrap_or_else(|| panic!("no `{label}` in the output:\n{}", lines.join("\n")));
        lines[i + 1].trim().to_owned()
    }
}

fn validate(spec: &Path, operation: &str, body: &Value) {
    let (model, _, _) = rampart_spec::load_file(spec).into_result().unwrap();
    let op = model.operation(operation).unwrap();
    let mock = rampart_codegen::mock::mock_response(&model.openapi, op).unwrap();
    let schema = rampart_codegen::mock::json_schema(&model.openapi, mock.schema().unwrap());
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{operation}: {body} does not validate: {errors:?}"
    );
}

fn is_problem(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

#[tokio::test(flavor = "multi_thread")]
async fn petstore_mock_is_served_securely_with_schema_valid_bodies() {
    let spec = root().join("specs/petstore.yaml");
    let served = Served::start(&spec, "/v1").await;
    let viewer = served.printed_after("viewer token (8 h):");
    let editor = served.printed_after("editor token (8 h):");
    let admin_key = served.printed_after("admin API key (X-API-Key):");
    let client = reqwest::Client::new();
    let base = &served.base;

    // (a) a valid token: 200 and a body valid against the response schema.
    let response = client
        .get(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        response.headers().contains_key("ratelimit"),
        "the guard ran: {:?}",
        response.headers()
    );
    let pets: Value = response.json().await.unwrap();
    assert!(!pets.as_array().unwrap().is_empty());
    validate(&spec, "listPets", &pets);

    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let response = client
        .get(format!("{base}/pets/{id}"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "getPet", &response.json().await.unwrap());

    // The API key scheme works as well.
    let response = client
        .get(format!("{base}/pets/{id}"))
        .header("X-API-Key", &admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({"name": "Rex", "species": "dog"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    validate(&spec, "createPet", &response.json().await.unwrap());

    // (b) no token: 401 with a challenge.
    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert!(is_problem(&response));

    // (c) a role too weak: 403.
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({"name": "Rex", "species": "dog"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(is_problem(&response));

    // (d) an invalid body: 422 problem+json naming the fields.
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({"name": "", "species": "unicorn", "age": 500}))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 400 | 422),
        "{}",
        response.status()
    );
    assert!(is_problem(&response));
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{problem}"
    );

    // Public operation: no credentials needed.
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "getHealth", &response.json().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn corpus_spec_mock_bodies_validate() {
    let spec = root().join("../shared/corpus/oai-petstore-expanded.yaml");
    let (model, _, _) = rampart_spec::load_file(&spec).into_result().unwrap();
    let served = Served::start(&spec, &model.base_path()).await;
    let client = reqwest::Client::new();
    let base = &served.base;

    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "findPets", &response.json().await.unwrap());

    let response = client.get(format!("{base}/pets/7")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "find pet by id", &response.json().await.unwrap());

    let response = client
        .post(format!("{base}/pets"))
        .json(&serde_json::json!({"name": "Rex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "addPet", &response.json().await.unwrap());

    // A malformed body is refused before the mock runs.
    let response = client
        .post(format!("{base}/pets"))
        .json(&serde_json::json!({"tag": 5}))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 400 | 422),
        "{}",
        response.status()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_mock_every_operation_answers_501_behind_the_pipeline() {
    let spec = root().join("specs/petstore.yaml");
    let served = Served::start_with(&spec, "/v1", false).await;
    let viewer = served.printed_after("viewer token (8 h):");
    let client = reqwest::Client::new();
    let base = &served.base;

    let response = client
        .get(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 501);
    assert!(is_problem(&response));
    assert!(
        response.headers().contains_key("ratelimit"),
        "the guard ran first"
    );

    // Security and validation still come first: 401 without a token, 403 for a viewer's POST.
    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({ "name": "Rex", "species": "dog" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[test]
fn bad_specs_are_refused_with_a_clear_message() {
    let run = |spec: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["serve", "--mock", spec])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{spec} was served");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let missing = run("specs/no-such-spec.yaml");
    assert!(missing.contains("specs/no-such-spec.yaml"), "{missing}");
    assert!(!missing.contains("panicked"), "{missing}");
    let broken = run("crates/rampart-macros/tests/ui/specs/broken.yaml");
    assert!(broken.contains("broken.yaml:11:1"), "{broken}");
    assert!(broken.contains("invalid YAML"), "{broken}");
    assert!(!broken.contains("panicked"), "{broken}");
}
