//! `cargo xtask audit SPEC --base URL [--jwt-secret S | --token-for ROLE=TOKEN ...]
//! [--api-key-for ROLE=KEY ...] [--format human|json|sarif]`: a black-box
//! probe, derived from the spec, of a running server's security.
//!
//! Every probe is a well-formed request for its operation (path parameters,
//! required parameters and a body from the spec's examples or synthesized
//! from its schemas), so a refusal is told apart from a 404 or a 400: a probe
//! of a refusal passes only on the exact refusal expected. The checks and
//! their order are in `plan` (plan.rs); docs/audit.md is the user's reference.
//!
//! Exit status: 0 when every check that ran passed (skipped checks do not
//! fail), 1 on any failure, 2 on a usage error or an unreachable server.
//! Credentials are never printed: findings hold statuses and the server's
//! header values only.

mod plan;
mod report;
mod token;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::ValueEnum;
use rampart_spec::ApiModel;
use rampart_spec::model::Operation;

use plan::{Action, Check, Credentials, FOREIGN_ORIGIN, Judged, Mint, Observed, Planned, Shape};
use report::{Finding, Outcome};

/// Output format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    /// A line per failed or skipped check (`FAIL <operationId> <check>: expected ..., got ...`) and a summary.
    Human,
    /// One JSON object per check result, one per line.
    Json,
    /// One SARIF 2.1.0 log.
    Sarif,
}

/// `audit`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The spec the server implements (YAML or JSON).
    spec: PathBuf,
    /// The API's base URL (`http://127.0.0.1:8000/v1`); without a path, the spec's base path is appended.
    #[arg(long, value_name = "URL")]
    base: String,
    /// The server's HS256 secret: tokens for every role (valid and expired) are minted with it.
    #[arg(long, value_name = "SECRET")]
    jwt_secret: Option<String>,
    /// A bearer token (JWT) for a role; repeatable.
    #[arg(long = "token-for", value_name = "ROLE=TOKEN")]
    token_for: Vec<String>,
    /// An API key for a role, sent in the spec's apiKey header; repeatable.
    #[arg(long = "api-key-for", value_name = "ROLE=KEY")]
    api_key_for: Vec<String>,
    /// `iss` of minted tokens [default: `cargo xtask serve`'s dev issuer].
    #[arg(long)]
    issuer: Option<String>,
    /// `aud` of minted tokens [default: the spec's file stem, as `cargo xtask serve` uses].
    #[arg(long)]
    audience: Option<String>,
    /// How to print the results.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Accept an invalid TLS certificate (self-signed); the report says the certificate was not verified.
    #[arg(long)]
    insecure: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    timeout: u64,
    /// Also print the checks that passed (human format).
    #[arg(long, short)]
    verbose: bool,
}

/// A usage error or an unreachable server: exit status 2.
fn usage(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

/// `ROLE=VALUE`; the error never repeats the value (it may be a secret).
fn parse_pair(flag: &str, text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((role, value)) if !role.trim().is_empty() && !value.trim().is_empty() => {
            Ok((role.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "{flag} takes ROLE=CREDENTIAL (e.g. {flag} admin=...); got a value without a role or without a credential"
        )),
    }
}

/// `cargo xtask serve`'s audience for a spec: its file stem as a crate-name part.
fn serve_audience(spec: &Path) -> String {
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

/// Run `audit`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if !args.spec.is_file() {
        return usage(format!(
            "cannot read the spec `{}`: no such file",
            args.spec.display()
        ));
    }
    let loaded = rampart_spec::load_file(&args.spec);
    let model = match &loaded.model {
        Some(model) if !loaded.has_errors() => model,
        _ => {
            eprint!("{}", loaded.render());
            return usage(format!("the spec `{}` has errors", args.spec.display()));
        }
    };

    let base = match base_url(&args.base, model) {
        Ok(base) => base,
        Err(message) => return usage(message),
    };
    let declared = model.roles.roles();
    let mut creds = Credentials {
        secret: args.jwt_secret.as_ref().map(|s| s.as_bytes().to_vec()),
        issuer: args
            .issuer
            .clone()
            .unwrap_or_else(|| token::DEV_ISSUER.to_owned()),
        audience: args
            .audience
            .clone()
            .unwrap_or_else(|| serve_audience(&args.spec)),
        run_id: hex::encode(rand::random::<[u8; 4]>()),
        // A key pair of the audit's own for the DPoP checks, made per run.
        dpop: token::new_dpop_key()
            .ok()
            .map(|(_, signer)| Arc::new(signer)),
        ..Credentials::default()
    };
    for (flag, values, into) in [
        ("--token-for", &args.token_for, &mut creds.tokens),
        ("--api-key-for", &args.api_key_for, &mut creds.api_keys),
    ] {
        for text in values {
            let (role, value) = match parse_pair(flag, text) {
                Ok(pair) => pair,
                Err(message) => return usage(message),
            };
            if !declared.is_empty() && !declared.contains(&role) {
                return usage(format!(
                    "{flag}: the spec declares no role `{role}` (declared: {})",
                    declared.join(", ")
                ));
            }
            into.insert(role, value);
        }
    }
    if creds.secret.as_ref().is_some_and(|s| s.is_empty()) {
        return usage("--jwt-secret is empty");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let auditor = Auditor {
        model,
        creds: &creds,
        base: base.clone(),
        https: base.starts_with("https://"),
        timeout: Duration::from_secs(args.timeout.max(1)),
        insecure: args.insecure,
        nonce: Mutex::new(None),
    };
    let findings = match runtime.block_on(auditor.run()) {
        Ok(findings) => findings,
        Err(unreachable) => return usage(unreachable),
    };

    let failed = findings.iter().any(|f| f.outcome == Outcome::Fail);
    let header = format!(
        "rampart audit: {} {} at {base}{}",
        model.title(),
        model.version(),
        if auditor.https && args.insecure {
            " (TLS certificate not verified: --insecure)"
        } else {
            ""
        }
    );
    let printed = (|| -> io::Result<()> {
        let mut out = io::stdout().lock();
        match args.format {
            Format::Human => report::human(&mut out, &findings, args.verbose, &header)?,
            Format::Json => report::json_lines(&mut out, &findings)?,
            Format::Sarif => {
                let spec = args.spec.display().to_string();
                let log = report::sarif(&findings, &loaded.files, &spec, &base);
                serde_json::to_writer_pretty(&mut out, &log)?;
                writeln!(out)?;
            }
        }
        out.flush()
    })();
    match printed {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The API base: `--base` as given, or with the spec's base path when it has no path.
fn base_url(text: &str, model: &ApiModel) -> Result<String, String> {
    let url =
        reqwest::Url::parse(text).map_err(|e| format!("--base `{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "--base `{text}`: only http and https are supported"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("--base must not carry credentials (user:password@)".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("--base `{text}` must not have a query or fragment"));
    }
    let mut base = url.as_str().trim_end_matches('/').to_owned();
    if url.path() == "/" || url.path().is_empty() {
        base.push_str(&model.base_path());
    }
    Ok(base)
}

/// One operation: its request and its planned checks.
struct Target<'a> {
    op: &'a Operation,
    shape: Shape,
    plan: Vec<Planned>,
    /// Answers of this operation's single-request probes, by check.
    answers: BTreeMap<Check, Result<Observed, String>>,
    /// One result per planned check, in plan order.
    results: Vec<Option<Finding>>,
}

struct Auditor<'a> {
    model: &'a ApiModel,
    creds: &'a Credentials,
    base: String,
    https: bool,
    timeout: Duration,
    insecure: bool,
    /// The last `DPoP-Nonce` the server handed out (RFC 9449 §8), put in later proofs.
    nonce: Mutex<Option<String>>,
}

impl Auditor<'_> {
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .danger_accept_invalid_certs(self.insecure)
            .user_agent(concat!("rampart-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with rustls builds")
    }

    /// Run every probe; `Err` when the base URL does not answer at all.
    async fn run(&self) -> Result<Vec<Finding>, String> {
        let client = self.client();
        if let Err(e) = client.get(&self.base).send().await {
            let hint = if self.https && !self.insecure && is_tls_error(&e) {
                " (a self-signed certificate? pass --insecure)"
            } else {
                ""
            };
            return Err(format!(
                "cannot reach {}: {}{hint}",
                self.base,
                describe(&e)
            ));
        }
        let request_spec = plan::request_view(&self.model.openapi);
        let mut targets: Vec<Target<'_>> = self
            .model
            .operations
            .iter()
            .map(|op| {
                let plan = plan::plan_operation(self.model, op, self.creds, self.https);
                Target {
                    op,
                    shape: Shape::of(self.model, &request_spec, op),
                    results: vec![None; plan.len()],
                    plan,
                    answers: BTreeMap::new(),
                }
            })
            .collect();
        let now = token::now();

        for phase in 1..=3 {
            for target in &mut targets {
                for i in 0..target.plan.len() {
                    let Planned { check, action } = target.plan[i].clone();
                    if check.phase() != phase {
                        continue;
                    }
                    let finding = match action {
                        Action::Skip(reason) => {
                            Some(self.finding(target, check, Outcome::Skip, String::new(), reason))
                        }
                        Action::Send {
                            headers,
                            query,
                            fresh,
                        } => {
                            let send = || {
                                self.send(
                                    &client,
                                    &target.shape,
                                    &headers,
                                    query.as_ref(),
                                    fresh.as_ref(),
                                )
                            };
                            let mut answer = send().await;
                            // A quota spent moments ago (a previous run): wait it out once.
                            if let Some(wait) = answer.as_ref().ok().and_then(short_retry) {
                                tokio::time::sleep(wait).await;
                                answer = send().await;
                            }
                            let finding = self.judge_one(target, check, &answer, now);
                            target.answers.insert(check, answer);
                            Some(finding)
                        }
                        Action::Burst {
                            headers,
                            count,
                            fresh,
                        } => Some(
                            self.burst(&client, target, check, &headers, count, fresh.as_ref())
                                .await,
                        ),
                        Action::Minted { headers, mint } => {
                            Some(self.minted(&client, target, check, &headers, &mint).await)
                        }
                        Action::Inspect => None,
                    };
                    target.results[i] = finding;
                }
                if phase == 1 {
                    for i in 0..target.plan.len() {
                        if target.plan[i].action == Action::Inspect {
                            let check = target.plan[i].check;
                            target.results[i] = Some(self.inspect(target, check, now));
                        }
                    }
                }
            }
        }
        let cors = self.cors(&client, &targets).await;
        let mut findings: Vec<Finding> = targets
            .into_iter()
            .flat_map(|t| t.results.into_iter().flatten())
            .collect();
        findings.push(cors);
        Ok(findings)
    }

    fn finding(
        &self,
        target: &Target<'_>,
        check: Check,
        outcome: Outcome,
        expected: String,
        got: String,
    ) -> Finding {
        Finding {
            check,
            operation: Some(target.op.id.clone()),
            method: Some(target.shape.method.clone()),
            path: Some(target.op.path.clone()),
            span: Some(target.op.span),
            outcome,
            expected,
            got,
        }
    }

    fn judged_finding(&self, target: &Target<'_>, check: Check, j: Judged) -> Finding {
        let outcome = if j.pass { Outcome::Pass } else { Outcome::Fail };
        self.finding(target, check, outcome, j.expected, j.got)
    }

    fn judge_one(
        &self,
        target: &Target<'_>,
        check: Check,
        answer: &Result<Observed, String>,
        now: i64,
    ) -> Finding {
        let o = match answer {
            Ok(o) => o,
            Err(e) => {
                let expected = match check {
                    Check::NoCredentials => "401 with WWW-Authenticate",
                    Check::WeakerRole => "403",
                    _ => "an answer",
                };
                return self.finding(
                    target,
                    check,
                    Outcome::Fail,
                    expected.into(),
                    format!("no answer: {e}"),
                );
            }
        };
        let judged = match check {
            Check::NoCredentials => plan::judge_no_credentials(o),
            Check::Accepted => plan::judge_accepted(o, target.op.policy.deprecation.as_ref(), now),
            Check::WeakerRole => plan::judge_weaker_role(o),
            Check::QueryCredentials => plan::judge_query_credentials(o),
            _ => plan::judge_invalid_credential(o),
        };
        self.judged_finding(target, check, judged)
    }

    /// Checks judged on answers already received.
    fn inspect(&self, target: &Target<'_>, check: Check, now: i64) -> Finding {
        let labelled: Vec<(&str, &Observed)> = [
            (Check::Accepted, "the admitted request"),
            (Check::NoCredentials, "the request without credentials"),
            (Check::WeakerRole, "the weaker role's request"),
        ]
        .into_iter()
        .filter_map(|(c, label)| match target.answers.get(&c) {
            Some(Ok(o)) => Some((label, o)),
            _ => None,
        })
        .collect();
        let accepted = target.answers.get(&Check::Accepted);
        let judged = match check {
            Check::SecurityHeaders | Check::Hsts if labelled.is_empty() => {
                return self.finding(
                    target,
                    check,
                    Outcome::Skip,
                    String::new(),
                    "no answer of this operation to inspect".into(),
                );
            }
            Check::SecurityHeaders => plan::judge_security_headers(&labelled),
            Check::Hsts => plan::judge_hsts(&labelled),
            Check::NoStore | Check::Deprecation => match accepted {
                Some(Ok(o)) => match (check, &target.op.policy.deprecation) {
                    (Check::Deprecation, Some(d)) => plan::judge_deprecation(o, d, now),
                    _ => plan::judge_no_store(o),
                },
                Some(Err(e)) => Judged {
                    pass: false,
                    expected: "an answer".into(),
                    got: format!("no answer: {e}"),
                },
                None => {
                    return self.finding(
                        target,
                        check,
                        Outcome::Skip,
                        String::new(),
                        "the operation was not called with an admitted credential".into(),
                    );
                }
            },
            _ => unreachable!("only inspection checks are inspected"),
        };
        self.judged_finding(target, check, judged)
    }

    async fn burst(
        &self,
        client: &reqwest::Client,
        target: &Target<'_>,
        check: Check,
        headers: &[(String, String)],
        count: u32,
        fresh: Option<&Mint>,
    ) -> Finding {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..count {
            let request = self.request(client, &target.shape, headers, None, fresh);
            set.spawn(async move { observe(request).await });
        }
        let mut answers = Vec::new();
        let mut errors = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(o)) => answers.push(o),
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if answers.is_empty() {
            return self.finding(
                target,
                check,
                Outcome::Fail,
                "429 with Retry-After".into(),
                format!("no answer: {}", errors.first().map_or("", String::as_str)),
            );
        }
        self.judged_finding(target, check, plan::judge_rate_limit(&answers))
    }

    /// A preflight and a plain request from a foreign origin.
    async fn cors(&self, client: &reqwest::Client, targets: &[Target<'_>]) -> Finding {
        let finding = |outcome, expected: String, got: String| Finding {
            check: Check::CorsForeignOrigin,
            operation: None,
            method: None,
            path: None,
            span: None,
            outcome,
            expected,
            got,
        };
        let expected = format!("no Access-Control-Allow-Origin for {FOREIGN_ORIGIN}");
        if plan::cors_admits_any(self.model) {
            return finding(
                Outcome::Skip,
                expected,
                "the spec's CORS policy admits every origin (`origins: \"*\"`)".into(),
            );
        }
        let Some(first) = targets
            .iter()
            .find(|t| t.op.policy.requires_auth())
            .or(targets.first())
        else {
            return finding(Outcome::Skip, expected, "the spec has no operations".into());
        };
        let plain = targets
            .iter()
            .find(|t| !t.op.policy.requires_auth())
            .unwrap_or(first);
        let url = self.url(&first.shape, None);
        let mut preflight = client
            .request(reqwest::Method::OPTIONS, url)
            .header("origin", FOREIGN_ORIGIN)
            .header("access-control-request-method", first.shape.method.as_str());
        if first.op.policy.requires_auth() {
            preflight = preflight.header("access-control-request-headers", "authorization");
        }
        let request = self
            .request(client, &plain.shape, &[], None, None)
            .header("origin", FOREIGN_ORIGIN);
        let mut answers = Vec::new();
        for (label, request) in [("preflight", preflight), ("request", request)] {
            match observe(request).await {
                Ok(o) => answers.push((label, o)),
                Err(e) => {
                    return finding(
                        Outcome::Fail,
                        expected,
                        format!("no answer to the {label}: {e}"),
                    );
                }
            }
        }
        let labelled: Vec<(&str, &Observed)> = answers.iter().map(|(l, o)| (*l, o)).collect();
        let j = plan::judge_cors(&labelled);
        finding(
            if j.pass { Outcome::Pass } else { Outcome::Fail },
            j.expected,
            j.got,
        )
    }

    fn url(&self, shape: &Shape, query: Option<&(String, String)>) -> reqwest::Url {
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base, shape.path))
            .or_else(|_| reqwest::Url::parse(&self.base))
            .expect("the base was parsed before");
        if !shape.query.is_empty() || query.is_some() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in shape.query.iter().chain(query) {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    /// The request for `shape` with `headers`, `query`, and a token minted
    /// for it (with a DPoP proof for this very method and URL) when `fresh`.
    fn request(
        &self,
        client: &reqwest::Client,
        shape: &Shape,
        headers: &[(String, String)],
        query: Option<&(String, String)>,
        fresh: Option<&Mint>,
    ) -> reqwest::RequestBuilder {
        let method =
            reqwest::Method::from_bytes(shape.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let url = self.url(shape, query);
        let minted = fresh.map(|mint| {
            let signer = self.creds.dpop.as_deref().filter(|_| mint.dpop);
            let token = mint.token(signer.map(|s| s.jkt()));
            match signer {
                Some(_) => self.dpop_headers(&token, &shape.method, url.as_str()),
                None => vec![("authorization".to_owned(), format!("Bearer {token}"))],
            }
        });
        let mut request = client.request(method, url);
        for (name, value) in shape
            .headers
            .iter()
            .chain(headers)
            .chain(minted.iter().flatten())
        {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                request = request.header(name, value);
            }
        }
        if let Some((media_type, body)) = &shape.body {
            request = request
                .header("content-type", media_type.as_str())
                .body(body.clone());
        }
        request
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        shape: &Shape,
        headers: &[(String, String)],
        query: Option<&(String, String)>,
        fresh: Option<&Mint>,
    ) -> Result<Observed, String> {
        let answer = observe(self.request(client, shape, headers, query, fresh)).await;
        // A server that wants its nonce in proofs: once more with it.
        if fresh.is_some_and(|m| m.dpop) && answer.as_ref().is_ok_and(|o| self.took_nonce(o)) {
            return observe(self.request(client, shape, headers, query, fresh)).await;
        }
        answer
    }

    /// A DPoP proof for `method` `url` bound to `token`, with the server's latest nonce.
    fn proof(&self, token: &str, method: &str, url: &str) -> String {
        let Some(signer) = self.creds.dpop.as_deref() else {
            return String::new();
        };
        let nonce = self.nonce.lock().map(|n| n.clone()).unwrap_or(None);
        signer
            .proof(
                method,
                url,
                Some(token),
                token::now().max(0) as u64,
                nonce.as_deref(),
            )
            .unwrap_or_default()
    }

    /// `Authorization: DPoP <token>` and a proof for `method` `url`.
    fn dpop_headers(&self, token: &str, method: &str, url: &str) -> Vec<(String, String)> {
        vec![
            ("authorization".to_owned(), format!("DPoP {token}")),
            ("dpop".to_owned(), self.proof(token, method, url)),
        ]
    }

    /// Whether `o` asks for a DPoP nonce (401 `use_dpop_nonce` with
    /// `DPoP-Nonce`); the nonce is kept for the next proofs.
    fn took_nonce(&self, o: &Observed) -> bool {
        let asks = o.status == 401
            && o.headers
                .get_all("www-authenticate")
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v.contains("use_dpop_nonce")));
        let nonce = o.headers.get("dpop-nonce").and_then(|v| v.to_str().ok());
        match (asks, nonce) {
            (true, Some(nonce)) => {
                if let Ok(mut kept) = self.nonce.lock() {
                    *kept = Some(nonce.to_owned());
                }
                true
            }
            _ => false,
        }
    }

    /// Send `shape` with `Authorization: DPoP <token>` and a proof made for
    /// `proof_method` `proof_url` (again with the server's nonce, if it asks
    /// for one); the answer and the proof that was sent last.
    async fn dpop_call(
        &self,
        client: &reqwest::Client,
        shape: &Shape,
        headers: &[(String, String)],
        token: &str,
        proof_method: &str,
        proof_url: &str,
    ) -> (Result<Observed, String>, String) {
        let mut proof = String::new();
        let mut answer = Err("not sent".to_owned());
        for _ in 0..2 {
            proof = self.proof(token, proof_method, proof_url);
            let mut all = headers.to_vec();
            all.push(("authorization".into(), format!("DPoP {token}")));
            all.push(("dpop".into(), proof.clone()));
            answer = self.send(client, shape, &all, None, None).await;
            if !answer.as_ref().is_ok_and(|o| self.took_nonce(o)) {
                break;
            }
        }
        (answer, proof)
    }

    /// A DPoP or one-time token check: several requests with tokens (and
    /// proofs) minted for them, judged together.
    async fn minted(
        &self,
        client: &reqwest::Client,
        target: &Target<'_>,
        check: Check,
        headers: &[(String, String)],
        mint: &Mint,
    ) -> Finding {
        let shape = &target.shape;
        let url = self.url(shape, None);
        let method = shape.method.as_str();
        let jkt = self.creds.dpop.as_deref().map(|s| s.jkt().to_owned());
        let token = mint.token(jkt.as_deref().filter(|_| mint.dpop));
        let with_token = |extra: Vec<(String, String)>| {
            let mut all = headers.to_vec();
            all.extend(extra);
            all
        };
        let answers: Vec<(&str, Result<Observed, String>)> = match check {
            Check::DpopAccepted => {
                vec![(
                    "the DPoP request",
                    self.dpop_call(client, shape, headers, &token, method, url.as_str())
                        .await
                        .0,
                )]
            }
            Check::DpopReplayedProof => {
                let (first, proof) = self
                    .dpop_call(client, shape, headers, &token, method, url.as_str())
                    .await;
                let again = with_token(vec![
                    ("authorization".into(), format!("DPoP {token}")),
                    ("dpop".into(), proof),
                ]);
                let second = self.send(client, shape, &again, None, None).await;
                vec![("the first use", first), ("the replayed proof", second)]
            }
            Check::DpopWrongTarget => {
                let other_method = if method == "POST" { "PUT" } else { "POST" };
                let mut other_url = url.clone();
                other_url.set_query(None);
                other_url.set_path(&format!(
                    "{}/rampart-audit-elsewhere",
                    url.path().trim_end_matches('/')
                ));
                let by_method = self
                    .dpop_call(client, shape, headers, &token, other_method, url.as_str())
                    .await
                    .0;
                let by_uri = self
                    .dpop_call(client, shape, headers, &token, method, other_url.as_str())
                    .await
                    .0;
                vec![
                    ("a proof for another method", by_method),
                    ("a proof for another URI", by_uri),
                ]
            }
            Check::DpopBoundAsBearer => {
                let bearer = with_token(vec![("authorization".into(), format!("Bearer {token}"))]);
                vec![(
                    "the bound token as Bearer",
                    self.send(client, shape, &bearer, None, None).await,
                )]
            }
            Check::ReusedJti => {
                let mut answers = Vec::new();
                for label in ["the first use", "the reused token"] {
                    let answer = if mint.dpop {
                        self.dpop_call(client, shape, headers, &token, method, url.as_str())
                            .await
                            .0
                    } else {
                        let bearer =
                            with_token(vec![("authorization".into(), format!("Bearer {token}"))]);
                        self.send(client, shape, &bearer, None, None).await
                    };
                    answers.push((label, answer));
                }
                answers
            }
            _ => unreachable!("only DPoP and one-time token checks mint per request"),
        };
        let mut observed = Vec::new();
        for (label, answer) in answers {
            match answer {
                Ok(o) => observed.push((label, o)),
                Err(e) => {
                    return self.finding(
                        target,
                        check,
                        Outcome::Fail,
                        "an answer".into(),
                        format!("no answer to {label}: {e}"),
                    );
                }
            }
        }
        let labelled: Vec<(&str, &Observed)> = observed.iter().map(|(l, o)| (*l, o)).collect();
        let judged = match check {
            Check::DpopAccepted => plan::judge_accepted(
                labelled[0].1,
                target.op.policy.deprecation.as_ref(),
                token::now(),
            ),
            Check::DpopReplayedProof | Check::ReusedJti => {
                let (first, second) = (labelled[0].1, labelled[1].1);
                // A quota spent by the rate-limit probe: the replay cannot be told apart.
                if first.status == 429 {
                    return self.finding(
                        target,
                        check,
                        Outcome::Skip,
                        String::new(),
                        "the first use was answered 429 (the quota is spent): the second use could not be told apart".into(),
                    );
                }
                plan::judge_second_use(first, second, check == Check::DpopReplayedProof)
            }
            Check::DpopWrongTarget => plan::judge_dpop_refusals(&labelled),
            _ => plan::judge_invalid_credential(labelled[0].1),
        };
        self.judged_finding(target, check, judged)
    }
}

/// How long to wait before asking again, for a 429 whose `Retry-After` is at most 10 s.
fn short_retry(o: &Observed) -> Option<Duration> {
    if o.status != 429 {
        return None;
    }
    let secs: u64 = o
        .headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs <= 10).then(|| Duration::from_millis(secs.max(1) * 1000 + 100))
}

/// Send, keep status and headers, drain the body.
async fn observe(request: reqwest::RequestBuilder) -> Result<Observed, String> {
    let response = request.send().await.map_err(|e| describe(&e))?;
    let observed = Observed {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
    };
    let _ = response.bytes().await;
    Ok(observed)
}

/// A reqwest error without its URL (a query-string probe's URL holds a credential), with its causes.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut parts = vec![kind.to_owned()];
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn is_tls_error(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_parsed_without_echoing_the_value() {
        assert_eq!(
            parse_pair("--token-for", "admin=ey.x.y").unwrap(),
            ("admin".to_owned(), "ey.x.y".to_owned())
        );
        let error = parse_pair("--token-for", "eySECRET").unwrap_err();
        assert!(!error.contains("eySECRET"), "{error}");
        assert!(parse_pair("--token-for", "admin=").is_err());
        assert!(parse_pair("--token-for", "=tok").is_err());
    }

    #[test]
    fn serve_audience_is_the_spec_stem() {
        assert_eq!(serve_audience(Path::new("specs/petstore.yaml")), "petstore");
        assert_eq!(
            serve_audience(Path::new("x/oai-petstore-expanded.yaml")),
            "oai_petstore_expanded"
        );
        assert_eq!(serve_audience(Path::new("x/1api.json")), "api_1api");
    }

    #[test]
    fn the_base_gets_the_spec_base_path_only_without_a_path() {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/petstore.yaml");
        let model = rampart_spec::load_file(&spec).into_result().unwrap().0;
        assert_eq!(
            base_url("http://127.0.0.1:8000", &model).unwrap(),
            "http://127.0.0.1:8000/v1"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8000/", &model).unwrap(),
            "http://127.0.0.1:8000/v1"
        );
        assert_eq!(
            base_url("https://h.example/api/v1/", &model).unwrap(),
            "https://h.example/api/v1"
        );
        assert!(base_url("ftp://h.example", &model).is_err());
        assert!(base_url("http://u:p@h.example", &model).is_err());
        assert!(base_url("not a url", &model).is_err());
    }
}
