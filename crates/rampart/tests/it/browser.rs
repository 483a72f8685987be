//! A real browser against real sockets: Debian's headless `chromium`
//! (`/usr/bin/chromium`, or `CHROMIUM`) renders the built-in `/docs` page
//! under its strict CSP (DOM dump and screenshot), and calls a CORS-enabled
//! API from an allowed origin and from a foreign one.
//!
//! Without chromium the tests are skipped, and fail under `CI=true`
//! (`scripts/ensure-chromium.sh` installs it).

use crate::support::auth;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::{claims, client, hs_config, hs256, model_of, router, temp_dir};
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rampart::Security;

/// How long one chromium run may take before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);
/// Virtual time granted to the page, so its fetches finish before the dump.
const VIRTUAL_TIME_MS: &str = "5000";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// The chromium binary: `CHROMIUM` when set, else `/usr/bin/chromium`, else
/// `chromium` on `PATH`. When there is none: under `CI=true` the test fails;
/// otherwise it is skipped with a note.
fn chromium(test: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("CHROMIUM").filter(|v| !v.is_empty()) {
        Some(chosen) => vec![PathBuf::from(chosen)],
        None => std::iter::once(PathBuf::from("/usr/bin/chromium"))
            .chain(
                std::env::var_os("PATH")
                    .iter()
                    .flat_map(std::env::split_paths)
                    .map(|dir| dir.join("chromium")),
            )
            .collect(),
    };
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Some(found.clone());
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{test}: chromium not found ({candidates:?}) and CI=true (run scripts/ensure-chromium.sh)"
    );
    eprintln!("{test}: SKIPPED, chromium not found (run scripts/ensure-chromium.sh)");
    None
}

/// What one chromium run printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Run headless chromium on `url` with `extra` arguments (`--dump-dom`,
/// `--screenshot=...`), a fresh profile, and a hard timeout.
async fn run_chromium(binary: &Path, extra: &[String], url: &str) -> Run {
    let profile = temp_dir("chromium-profile");
    let mut command = tokio::process::Command::new(binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--no-proxy-server",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--virtual-time-budget={VIRTUAL_TIME_MS}"),
        ])
        .args(extra)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let output = tokio::time::timeout(CHROMIUM_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?} on {url}"))
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let run = Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        output.status.success(),
        "chromium failed on {url} ({}):\n{}",
        output.status,
        run.stderr
    );
    run
}

async fn dump_dom(binary: &Path, url: &str) -> Run {
    let run = run_chromium(binary, &["--dump-dom".to_owned()], url).await;
    assert!(
        run.stdout.contains("</html>"),
        "no DOM dumped for {url}:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

/// A screenshot of `url` at [`WIDTH`]x[`HEIGHT`], as PNG bytes.
async fn screenshot(binary: &Path, url: &str) -> Vec<u8> {
    let dir = temp_dir("chromium-shot");
    let file = dir.join("shot.png");
    run_chromium(
        binary,
        &[
            format!("--screenshot={}", file.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
            "--hide-scrollbars".to_owned(),
        ],
        url,
    )
    .await;
    let png = std::fs::read(&file).unwrap_or_else(|e| panic!("no screenshot of {url}: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    png
}

/// The PNG's IHDR width and height, after checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 33, "PNG too short: {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "first chunk is not IHDR");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Serve `app` on a listener bound beforehand (peer addresses available).
fn serve_on(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
}

async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    (listener, origin)
}

/// The hardened app of `spec` (HS256 tokens, manual clock at
/// `auth::NOW`), each operation answered by `auth::router`'s
/// echo of the principal; `outer` records every request outside the front.
fn hardened(spec: &str, outer: Option<Recorder>) -> Router {
    let model = model_of(spec);
    let security = Security::builder(&model.descriptor())
        .config(hs_config())
        .clock(rampart::auth::ManualClock::at(auth::NOW))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let app = security.harden(router(&model, &security));
    match outer {
        Some(recorder) => app.layer(middleware::from_fn_with_state(recorder, record)),
        None => app,
    }
}

// ---------------------------------------------------------------- /docs

const DOCS_SPEC: &str = r#"
openapi: 3.0.3
info: { title: "Browser Pets", version: "3.4.5" }
servers: [ { url: "https://api.example.com/v1" } ]
x-rampart:
  roles: [admin, viewer]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /pets:
    get:
      operationId: listPets
      tags: [pets]
      summary: List every pet
      x-rampart: { roles: [viewer] }
      responses: { "200": { description: ok } }
    post:
      operationId: createPet
      tags: [pets]
      summary: Register a new pet
      x-rampart: { roles: [admin] }
      requestBody:
        content:
          application/json:
            schema: { type: object, properties: { name: { type: string } } }
      responses: { "201": { description: made } }
  /status:
    get:
      operationId: getStatus
      tags: [service]
      summary: Report the service status
      security: []
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
"#;

#[tokio::test]
async fn docs_page_renders_title_and_operations_under_its_csp() {
    let Some(binary) = chromium("docs_page_renders_title_and_operations_under_its_csp") else {
        return;
    };
    let (listener, base) = bind().await;
    serve_on(listener, hardened(DOCS_SPEC, None));
    let url = format!("{base}/docs");

    // The page is served with the strict CSP: whatever renders below ran
    // from 'self' scripts only.
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = response.text().await.unwrap();
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count(),
        "the page has an inline script: {html}"
    );

    let run = dump_dom(&binary, &url).await;
    // Nothing the page does breaks its own policy.
    assert!(
        !run.stderr.contains("Content Security Policy"),
        "CSP violation reported:\n{}",
        run.stderr
    );
    let dom = run.stdout;
    assert!(
        dom.contains("<title>Browser Pets — API reference</title>"),
        "{dom}"
    );
    assert!(dom.contains(r#"<h1 id="title">Browser Pets</h1>"#), "{dom}");
    assert!(dom.contains("version 3.4.5"), "{dom}");
    // Rendered by rampart-docs.js from /docs/openapi.json: the script ran.
    assert!(
        !dom.contains("Loading the API description"),
        "docs.js did not render:\n{dom}"
    );
    assert!(!dom.contains("Could not load"), "{dom}");
    for tag in ["pets", "service"] {
        assert!(
            dom.contains(&format!(r#"<h2 class="tag">{tag}</h2>"#)),
            "{dom}"
        );
    }
    for (id, method, path, summary) in [
        ("listPets", "get", "/pets", "List every pet"),
        ("createPet", "post", "/pets", "Register a new pet"),
        ("getStatus", "get", "/status", "Report the service status"),
    ] {
        let rendered = format!(
            r#"<details class="operation" id="{id}"><summary><span class="method {method}">{method}</span><span class="path">{path}</span><span class="summary">{summary}</span></summary>"#
        );
        assert!(dom.contains(&rendered), "missing {rendered}\nin\n{dom}");
    }
    // The request body of createPet is prefilled from its schema.
    assert!(dom.contains("body (application/json)"), "{dom}");

    // The rendering check: a screenshot of the window's size that is not a
    // blank page (a blank page of the same size compresses to far less).
    let png = screenshot(&binary, &url).await;
    if let Some(dir) = std::env::var_os("RAMPART_BROWSER_SHOTS") {
        // Kept for a look: RAMPART_BROWSER_SHOTS=/some/dir.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join("docs.png"), &png).unwrap();
    }
    assert_eq!(png_size(&png), (WIDTH, HEIGHT));
    let blank = screenshot(&binary, "about:blank").await;
    assert_eq!(png_size(&blank), (WIDTH, HEIGHT));
    assert!(
        png.len() > 15_000 && png.len() > 3 * blank.len(),
        "the /docs screenshot looks blank: {} bytes (about:blank: {} bytes)",
        png.len(),
        blank.len()
    );
    eprintln!(
        "/docs screenshot: {} bytes; about:blank: {} bytes",
        png.len(),
        blank.len()
    );
    let distinct: std::collections::HashSet<&[u8]> = png[33..].chunks(64).collect();
    assert!(distinct.len() > 100, "the screenshot's data is too uniform");
}

// ---------------------------------------------------------------- CORS

/// What reached the API from a browser, and what it answered.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    origin: String,
    status: u16,
    allow_origin: Option<String>,
}

type Recorder = Arc<Mutex<Vec<Seen>>>;

/// Outside the whole front: every request (preflights too) and its answer.
async fn record(State(seen): State<Recorder>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let origin = request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let response = next.run(request).await;
    seen.lock().unwrap().push(Seen {
        method,
        path,
        origin,
        status: response.status().as_u16(),
        allow_origin: response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned()),
    });
    response
}

const CORS_SPEC: &str = r#"
openapi: 3.0.3
info: { title: "Browser CORS", version: "1" }
servers: [ { url: "https://api.example.com/v1" } ]
x-rampart:
  roles: [viewer]
  cors:
    origins: [ALLOWED]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /thing:
    get:
      operationId: getThing
      security: []
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
  /secret:
    get:
      operationId: getSecret
      x-rampart: { roles: [viewer] }
      responses: { "200": { description: ok } }
"#;

/// The calling page: its external script fetches the API twice (a simple
/// GET of a public operation; a GET with a bearer token, so a preflight)
/// and writes each outcome into the DOM.
const PROBE_JS: &str = r#"
(function () {
  "use strict";
  const main = document.getElementById("out");
  const api = main.getAttribute("data-api");
  const token = main.getAttribute("data-token");
  function probe(id, path, init) {
    const out = document.getElementById(id);
    return fetch(api + path, init)
      .then(function (r) {
        return r.text().then(function (t) { out.textContent = "status " + r.status + " body " + t; });
      })
      .catch(function (e) { out.textContent = "blocked: " + e; });
  }
  probe("public", "/v1/thing", {})
    .then(function () {
      return probe("secured", "/v1/secret", { headers: { Authorization: "Bearer " + token } });
    })
    .then(function () { document.getElementById("done").textContent = "done"; });
})();
"#;

fn page_server(api: String, token: String) -> Router {
    let page = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>caller</title></head>
<body>
<main id="out" data-api="{api}" data-token="{token}">
<p id="public">pending</p><p id="secured">pending</p><p id="done">running</p>
</main>
<script src="/probe.js"></script>
</body></html>"#
    );
    Router::new()
        .route("/", get(move || async move { Html(page.clone()) }))
        .route(
            "/probe.js",
            get(|| async { ([("content-type", "text/javascript")], PROBE_JS).into_response() }),
        )
}

/// The text chromium left in `<p id="{id}">`.
fn outcome<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = format!(r#"<p id="{id}">"#);
    let from = dom
        .find(&start)
        .unwrap_or_else(|| panic!("no #{id} in\n{dom}"))
        + start.len();
    let to = dom[from..].find("</p>").unwrap() + from;
    &dom[from..to]
}

#[tokio::test]
async fn cors_call_from_an_allowed_origin_succeeds_and_from_a_foreign_one_is_blocked() {
    let Some(binary) =
        chromium("cors_call_from_an_allowed_origin_succeeds_and_from_a_foreign_one_is_blocked")
    else {
        return;
    };
    // Three loopback origins: the API, the allowed caller, a foreign caller.
    let (api_listener, api) = bind().await;
    let (allowed_listener, allowed) = bind().await;
    let (foreign_listener, foreign) = bind().await;

    let seen: Recorder = Arc::default();
    let spec = CORS_SPEC.replace("ALLOWED", &allowed);
    serve_on(api_listener, hardened(&spec, Some(seen.clone())));
    let token = hs256(&claims("alice", &["viewer"]));
    serve_on(allowed_listener, page_server(api.clone(), token.clone()));
    serve_on(foreign_listener, page_server(api.clone(), token));

    // From the allowed origin: both calls go through, the secured one after
    // an answered preflight.
    let run = dump_dom(&binary, &format!("{allowed}/")).await;
    let dom = &run.stdout;
    assert_eq!(outcome(dom, "done"), "done", "{dom}");
    let public = outcome(dom, "public");
    assert!(
        public.starts_with("status 200 body "),
        "{public}\n{}",
        run.stderr
    );
    assert!(public.contains("anonymous"), "{public}");
    let secured = outcome(dom, "secured");
    assert!(
        secured.starts_with("status 200 body "),
        "{secured}\n{}",
        run.stderr
    );
    assert!(secured.contains(r#""subject":"alice""#), "{secured}");
    assert!(
        !run.stderr.contains("blocked by CORS policy"),
        "{}",
        run.stderr
    );

    let from_allowed: Vec<Seen> = seen
        .lock()
        .unwrap()
        .drain(..)
        .filter(|s| s.origin == allowed)
        .collect();
    let find = |seen: &[Seen], method: &str, path: &str| {
        seen.iter()
            .find(|s| s.method == method && s.path == path)
            .cloned()
    };
    let get_thing = find(&from_allowed, "GET", "/v1/thing").expect("GET /v1/thing not seen");
    assert_eq!(get_thing.status, 200);
    assert_eq!(get_thing.allow_origin.as_deref(), Some(allowed.as_str()));
    let preflight =
        find(&from_allowed, "OPTIONS", "/v1/secret").expect("no preflight of /v1/secret seen");
    assert!(
        (200..300).contains(&preflight.status),
        "preflight: {preflight:?}"
    );
    assert_eq!(preflight.allow_origin.as_deref(), Some(allowed.as_str()));
    let get_secret = find(&from_allowed, "GET", "/v1/secret").expect("GET /v1/secret not seen");
    assert_eq!(get_secret.status, 200);
    assert_eq!(get_secret.allow_origin.as_deref(), Some(allowed.as_str()));

    // From a foreign origin: the API answers without Access-Control-Allow-
    // Origin, so the browser hides the answer; the preflight fails, so the
    // secured call is never sent.
    let run = dump_dom(&binary, &format!("{foreign}/")).await;
    // Chromium's console (logged to stderr) says why.
    let console: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("blocked by CORS policy"))
        .collect();
    for (path, why) in [
        ("/v1/thing", "No 'Access-Control-Allow-Origin' header"),
        ("/v1/secret", "Response to preflight request"),
    ] {
        assert!(
            console
                .iter()
                .any(|l| l.contains(&format!("{api}{path}")) && l.contains(why)),
            "chromium did not report {path} blocked ({why}):\n{}",
            run.stderr
        );
    }
    let dom = &run.stdout;
    assert_eq!(outcome(dom, "done"), "done", "{dom}");
    for id in ["public", "secured"] {
        let text = outcome(dom, id);
        assert!(
            text.starts_with("blocked: "),
            "#{id}: {text}\n{}",
            run.stderr
        );
        assert!(
            !text.contains("alice") && !text.contains("anonymous"),
            "{text}"
        );
    }
    let from_foreign: Vec<Seen> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.origin == foreign)
        .cloned()
        .collect();
    let get_thing = find(&from_foreign, "GET", "/v1/thing").expect("GET /v1/thing not seen");
    assert_eq!(get_thing.status, 200, "the simple request reached the API");
    assert_eq!(get_thing.allow_origin, None, "{get_thing:?}");
    let preflight =
        find(&from_foreign, "OPTIONS", "/v1/secret").expect("no preflight of /v1/secret seen");
    assert_eq!(preflight.allow_origin, None, "{preflight:?}");
    assert!(
        find(&from_foreign, "GET", "/v1/secret").is_none(),
        "the secured call was sent despite the failed preflight: {from_foreign:?}"
    );
    assert!(
        from_foreign.iter().all(|s| s.allow_origin.is_none()),
        "{from_foreign:?}"
    );
}
