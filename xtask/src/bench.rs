//! `cargo xtask bench`: throughput of rampart-secured routes against a bare
//! axum route, over real sockets, and the generation time of the largest
//! corpus spec. See `docs/bench.md`.
//!
//! Every scenario gets a fresh server in its own Tokio runtime (threads named
//! [`SERVER_THREAD`]) on an ephemeral 127.0.0.1 port; a load generator in a
//! second runtime opens `--connections` HTTP/1.1 keep-alive connections and
//! sends requests back to back for `--warmup` + `--duration` seconds, counting
//! only the responses that both start and end inside the measured window.
//! Rampart routes are built as generated code builds them: a spec
//! (`bench_spec.yaml`) loaded into an `ApiModel`, a `Security` built from it,
//! `security.guard(policy)` on each handler, routes under `security.path(..)`
//! and `security.harden_mounted(router)`.

use std::net::{Ipv4Addr, SocketAddr};

use crate::wrk;

mod flood;
mod memory;
mod rounds;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::Router;
use axum::handler::Handler as _;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rampart::Security;
use rampart::auth::{FileKeyStore, KeyFile, NewKey};
use rampart::rate::{MemoryConfig, Outcome, Rate, RateConfig, RateLimiter, RedisConfig};
use rampart::validate::ValidJson;
use rampart_spec::ApiModel;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use validator::Validate;

/// Name of the server runtime's threads, whose CPU time is reported.
const SERVER_THREAD: &str = "bench-server";
/// Name of the load generator's threads, whose CPU time is reported too.
const CLIENT_THREAD: &str = "bench-client";
/// Issuer of the bench's tokens (and the only one the server accepts).
const ISSUER: &str = "https://rampart.bench/issuer";
/// Audience of the bench's tokens.
const AUDIENCE: &str = "bench";
/// The origin the bench spec's CORS policy admits (sent on the public route).
const ORIGIN: &str = "https://app.bench.example";
/// The annotated spec the rampart scenarios are built from.
const SPEC: &str = include_str!("bench_spec.yaml");
/// The `validated-json` scenario's request body: five fields, all valid.
const ORDER_BODY: &str = r#"{"customer":"Ada Lovelace","email":"ada@example.com","sku":"PET-FOOD-42","quantity":3,"tags":["dry","large"]}"#;

/// The models of `bench_models.yaml`, as `rampart::api!` generates them:
/// the `recursive-one-of` scenario deserializes its `Filter`, the timed
/// refusal after it a `Comment`.
mod generated {
    rampart::api!("src/bench_models.yaml");
}

/// The `recursive-one-of` scenario's body: a `Filter` at the JSON depth
/// limit, 31 levels of `{"and": [<inner>, {"field": "abc"}]}` around a leaf
/// (63 levels of nesting; one more `and` would be 65).
fn filter_body() -> String {
    let levels = (rampart::validate::MAX_JSON_DEPTH - 1) / 2;
    let mut body = r#"{"field":"leaf"}"#.to_owned();
    for _ in 0..levels {
        body = format!(r#"{{"and":[{body},{{"field":"abc"}}]}}"#);
    }
    body
}

/// A `Comment` at the depth limit whose every level fits both alternatives
/// (`{"replies": [{"replies": [...]}]}`): 2^31 attempts without a budget.
fn comment_body() -> String {
    let levels = (rampart::validate::MAX_JSON_DEPTH - 2) / 2;
    let mut body = r#"{"replies":[]}"#.to_owned();
    for _ in 0..levels {
        body = format!(r#"{{"replies":[{body}]}}"#);
    }
    body
}

/// How long `ValidJson`'s parse takes to refuse [`comment_body`] (best of
/// `runs`, on this thread), with the work it did. Errors unless the refusal
/// is the work limit's.
fn time_budget_refusal(runs: usize) -> Result<(Duration, usize, rampart::validate::one_of::Stats)> {
    let body = comment_body();
    let mut best = Duration::MAX;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let outcome = rampart::validate::parse_json::<generated::Comment>(body.as_bytes());
        best = best.min(start.elapsed());
        let Err(problem) = outcome else {
            bail!("the overlapping recursive oneOf body was accepted");
        };
        let answer = format!("{problem:?}");
        if !answer.contains("work-limit") {
            bail!("the overlapping recursive oneOf body was refused otherwise: {answer}");
        }
    }
    let stats = rampart::validate::one_of::last().context("no oneOf work recorded")?;
    Ok((best, body.len(), stats))
}

/// `cargo xtask bench` options.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Args {
    /// Seconds measured per scenario (after the warm-up).
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    duration: f64,
    /// Seconds of warm-up per scenario (requests sent but not counted).
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    warmup: f64,
    /// Concurrent HTTP/1.1 keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32, value_name = "N")]
    connections: usize,
    /// Run the selected scenarios this many times, interleaved: the table
    /// shows each one's median round, and the ratios against `--against`
    /// are paired round by round (what a comparison should quote).
    #[arg(long, default_value_t = 1, value_name = "N")]
    rounds: usize,
    /// The scenario the paired ratios of `--rounds` are taken against
    /// (e.g. `jwt-rate-memory` to compare the Redis limiter with it).
    #[arg(long, default_value = "bare", value_name = "NAME")]
    against: String,
    /// Run only this scenario (repeatable); the `bare*` baselines always run.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Print one JSON object per line (each scenario, then the generation time).
    #[arg(long)]
    json: bool,
    /// Worker threads of the server runtime (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's runtime (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    client_threads: Option<usize>,
    /// Runs of the generation-time measurement (the best is reported); 0 skips it.
    #[arg(long, default_value_t = 5, value_name = "N")]
    gen_runs: usize,
    /// Spec whose generation is timed (default: the largest file in ../shared/corpus).
    #[arg(long, value_name = "FILE")]
    gen_spec: Option<PathBuf>,
    /// Run this build as it is, even a debug build (smoke tests); by default a
    /// debug build re-runs itself with `cargo run --release`.
    #[arg(long)]
    debug: bool,
    /// Also drive every scenario with `wrk` (an external load generator,
    /// `bash scripts/ensure-wrk.sh` installs it) and report its figures beside
    /// the in-process ones.
    #[arg(long)]
    external: bool,
    /// Put the server and the load generators on separate cores: the server
    /// runtime (one worker thread) on CPU 0, the in-process load generator and
    /// `wrk` on CPU 1 (needs two CPUs and `taskset`).
    #[arg(long)]
    pin: bool,
    /// Only measure the resident memory of the in-memory stores under a
    /// flood of 2 million distinct keys (each store in a child process).
    #[arg(long)]
    memory: bool,
    /// Internal: fill this store in this process and print its memory.
    #[arg(long, hide = true, value_name = "STORE")]
    memory_child: Option<String>,
}

/// Units per lease of the `jwt-rate-redis-lease` scenario.
const BENCH_LEASE: u32 = 256;

/// What a scenario serves and sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bare,
    BareHeaders,
    BareStaticHeaders,
    Public,
    Jwt,
    ApiKey,
    JwtRateMemory,
    JwtRateRedis,
    /// The Redis limiter with leases of [`BENCH_LEASE`] units.
    JwtRateRedisLease,
    /// Two servers sharing one Redis limiter, the load split between them.
    JwtRateRedisTwo,
    /// One principal over its quota: every measured answer is a 429.
    JwtRateMemoryHot,
    JwtRateRedisHot,
    ValidatedJson,
    RecursiveOneOf,
    /// Random unknown API keys against a key store, a valid key beside them.
    ApiKeyFlood(flood::Store),
}

impl Kind {
    /// The status every measured answer of the scenario must have.
    fn expected(self) -> StatusCode {
        match self {
            Kind::JwtRateMemoryHot | Kind::JwtRateRedisHot => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        }
    }

    /// Whether the scenario's limiter is Redis (skipped when it is unreachable).
    fn uses_redis(self) -> bool {
        matches!(
            self,
            Kind::JwtRateRedis
                | Kind::JwtRateRedisLease
                | Kind::JwtRateRedisTwo
                | Kind::JwtRateRedisHot
                | Kind::ApiKeyFlood(flood::Store::Redis)
        )
    }
}

/// One row of the report.
struct Scenario {
    name: &'static str,
    what: &'static str,
    kind: Kind,
}

/// Every scenario, baseline first.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "bare",
        what: "bare axum 0.8: one route, no layers (baseline)",
        kind: Kind::Bare,
    },
    Scenario {
        name: "bare+headers",
        what: "bare axum + the same response headers set by tower-http layers (second baseline)",
        kind: Kind::BareHeaders,
    },
    Scenario {
        name: "bare+static-headers",
        what: "bare axum whose handler returns those same headers itself (no layer): what the bytes alone cost",
        kind: Kind::BareStaticHeaders,
    },
    Scenario {
        name: "public",
        what: "rampart public route: headers, CORS, version, pipeline",
        kind: Kind::Public,
    },
    Scenario {
        name: "jwt",
        what: "JWT HS256 bearer + role (same token: verified-token cache)",
        kind: Kind::Jwt,
    },
    Scenario {
        name: "api-key",
        what: "API key (file store) + role",
        kind: Kind::ApiKey,
    },
    Scenario {
        name: "jwt-rate-memory",
        what: "JWT + role + in-memory rate limit (never trips)",
        kind: Kind::JwtRateMemory,
    },
    Scenario {
        name: "jwt-rate-redis",
        what: "JWT + role + Redis rate limit (never trips)",
        kind: Kind::JwtRateRedis,
    },
    Scenario {
        name: "jwt-rate-redis-lease",
        what: "JWT + role + Redis rate limit with leases of 256 units (RAMPART_RATE_LEASE=256; never trips)",
        kind: Kind::JwtRateRedisLease,
    },
    Scenario {
        name: "jwt-rate-redis-2",
        what: "JWT + role + Redis rate limit shared by two instances, load split between them (never trips)",
        kind: Kind::JwtRateRedisTwo,
    },
    Scenario {
        name: "jwt-rate-memory-hot",
        what: "JWT + role + in-memory rate limit, one principal over its quota (every answer 429)",
        kind: Kind::JwtRateMemoryHot,
    },
    Scenario {
        name: "jwt-rate-redis-hot",
        what: "JWT + role + Redis rate limit, one principal over its quota (every answer 429)",
        kind: Kind::JwtRateRedisHot,
    },
    Scenario {
        name: "validated-json",
        what: "POST ValidJson: 5 validated fields (public)",
        kind: Kind::ValidatedJson,
    },
    Scenario {
        name: "api-key-flood-sqlite",
        what: "API key (SQLite store): the legitimate client's 4 connections, while 28 send random unknown keys from rotating addresses",
        kind: Kind::ApiKeyFlood(flood::Store::Sqlite),
    },
    Scenario {
        name: "api-key-flood-redis",
        what: "API key (Redis store, no cache of valid keys): the legitimate client's 4 connections, while 28 flood as above",
        kind: Kind::ApiKeyFlood(flood::Store::Redis),
    },
    Scenario {
        name: "recursive-one-of",
        what: "POST ValidJson: a generated recursive oneOf at the depth limit (public)",
        kind: Kind::RecursiveOneOf,
    },
];

/// The body every route answers with.
#[derive(Debug, Serialize)]
struct Hello {
    message: &'static str,
    ok: bool,
    n: u32,
}

/// The bench's handler for every GET route: a small JSON body.
async fn hello() -> Json<Hello> {
    Json(Hello {
        message: "hello, world",
        ok: true,
        n: 42,
    })
}

/// The `validated-json` scenario's body, as generated models look.
#[derive(Debug, Deserialize, Validate)]
struct NewOrder {
    #[validate(length(min = 1, max = 64))]
    customer: String,
    #[validate(email, length(max = 254))]
    email: String,
    #[validate(length(min = 1, max = 32))]
    sku: String,
    #[validate(range(min = 1, max = 1000))]
    quantity: u32,
    #[validate(length(max = 8))]
    tags: Vec<String>,
}

/// The `validated-json` handler: answers from the validated body.
async fn create_order(ValidJson(order): ValidJson<NewOrder>) -> Json<Hello> {
    let n = order.quantity
        + u32::try_from(order.customer.len() + order.email.len() + order.sku.len()).unwrap_or(0)
        + u32::try_from(order.tags.len()).unwrap_or(0);
    Json(Hello {
        message: "order accepted",
        ok: true,
        n,
    })
}

/// The `recursive-one-of` handler: answers from the validated filter.
async fn create_filter(ValidJson(filter): ValidJson<generated::Filter>) -> Json<Hello> {
    /// Leaves of a filter, counted without recursion.
    fn leaves(filter: &generated::Filter) -> u32 {
        let mut stack = vec![filter];
        let mut n = 0;
        while let Some(filter) = stack.pop() {
            match filter {
                generated::Filter::Object(f) => stack.extend(f.and.iter()),
                generated::Filter::Object2(f) => stack.extend(f.or.iter()),
                generated::Filter::Object3(_) => n += 1,
            }
        }
        n
    }
    Json(Hello {
        message: "filter accepted",
        ok: true,
        n: leaves(&filter),
    })
}

/// Credentials and the model every rampart scenario shares.
struct Fixture {
    model: ApiModel,
    secret: String,
    token: String,
    api_key: String,
    /// The record of `api_key` (seeded into the flood scenarios' stores).
    api_key_record: rampart::auth::KeyRecord,
    /// The key store of the running flood scenario, counting its lookups.
    flood_store: std::sync::Mutex<Option<Arc<flood::Counting>>>,
    dir: PathBuf,
    key_file: PathBuf,
    redis_url: String,
    redis_prefix: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Fixture {
    fn new() -> Result<Self> {
        let loaded = rampart_spec::load_str("xtask/src/bench_spec.yaml", SPEC.to_owned());
        let model = match loaded.model {
            Some(ref model) if !loaded.has_errors() => model.clone(),
            _ => bail!("the bench spec is invalid:\n{}", loaded.render()),
        };
        let secret: String = rand::random::<[u8; 32]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let now = unix_now();
        let claims = serde_json::json!({
            "sub": "bench-user",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 24 * 3600,
            // `editor` satisfies the routes' `viewer` through the role hierarchy.
            "roles": ["editor"],
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .context("signing the bench token")?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let run_id = format!("{}-{nanos}", std::process::id());
        let dir = std::env::temp_dir().join(format!("rampart-bench-{run_id}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let key_file = dir.join("keys.toml");
        let new = NewKey::generate(vec!["viewer".to_owned()], None, now as i64);
        let mut file = KeyFile::default();
        file.add(new.record.clone());
        file.save(&key_file).map_err(anyhow::Error::msg)?;
        Ok(Fixture {
            model,
            secret,
            token,
            api_key: new.key,
            api_key_record: new.record,
            flood_store: std::sync::Mutex::new(None),
            dir,
            key_file,
            redis_url: std::env::var("REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
            redis_prefix: format!("rampart:bench:{run_id}"),
        })
    }

    /// The policy of operation `id`, as the generated `policies::*()` return it.
    fn policy(&self, id: &str) -> rampart::OperationPolicy {
        self.model
            .operations
            .iter()
            .find(|op| op.policy.operation_id == id)
            .map(|op| op.policy.clone())
            .unwrap_or_else(|| panic!("the bench spec has no operation `{id}`"))
    }

    /// A `Security` as a server's `main` builds one (dev-style HS256 secret,
    /// a key file), over `limiter`.
    fn security(&self, limiter: RateLimiter) -> Result<Security> {
        let store = FileKeyStore::open(&self.key_file).map_err(anyhow::Error::msg)?;
        self.security_with(limiter, Arc::new(store))
    }

    /// [`Fixture::security`] with another key store.
    fn security_with(
        &self,
        limiter: RateLimiter,
        store: Arc<dyn rampart::auth::KeyStore>,
    ) -> Result<Security> {
        Security::builder(&self.model.descriptor())
            .jwt_hs256("bearerAuth", self.secret.as_bytes().to_vec())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .key_store("apiKey", store)
            .rate_limiter(limiter)
            .build()
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The rampart router, wired exactly as generated `router()` functions are.
    fn router(&self, security: &Security) -> Router {
        let guard = |id: &str| security.guard(self.policy(id));
        let path = |p: &str| security.path(p);
        let router = Router::new()
            .route(&path("/public"), get(hello.layer(guard("getPublic"))))
            .route(&path("/jwt"), get(hello.layer(guard("getJwt"))))
            .route(&path("/api-key"), get(hello.layer(guard("getApiKey"))))
            .route(&path("/jwt-rate"), get(hello.layer(guard("getJwtRate"))))
            .route(
                &path("/jwt-rate-hot"),
                get(hello.layer(guard("getJwtRateHot"))),
            )
            .route(
                &path("/orders"),
                post(create_order.layer(guard("createOrder"))),
            )
            .route(
                &path("/filters"),
                post(create_filter.layer(guard("createFilter"))),
            );
        security.harden_mounted(router)
    }

    /// A Redis limiter when Redis answers, else `None`. The `[rate]`
    /// variables of the environment apply (`RAMPART_RATE_BATCH=false`,
    /// `RAMPART_RATE_DENY_CACHE=false` to compare), but the URL and prefix;
    /// `lease` overrides `RAMPART_RATE_LEASE`.
    async fn redis_limiter(&self, lease: Option<u32>) -> Option<RateLimiter> {
        let settings = RateConfig::default()
            .with_env(|name| match name {
                "REDIS_URL" => Some(self.redis_url.clone()),
                _ => std::env::var(name).ok(),
            })
            .ok()?;
        let config = RedisConfig::new(self.redis_url.clone())
            .key_prefix(self.redis_prefix.clone())
            .batch(settings.batch)
            .deny_cache(settings.deny_cache)
            .lease(lease.unwrap_or(settings.lease));
        let limiter = RateLimiter::redis(config).await.ok()?;
        let rate = Rate::new(1000, Duration::from_secs(1));
        for _ in 0..3 {
            let decision = limiter.check("bench-probe", "probe", &rate).await;
            if decision.outcome == Outcome::Allowed {
                return Some(limiter);
            }
            // A failed decision is not retried within the retry interval (500 ms).
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        None
    }

    /// The apps of one scenario (one per instance); `None` when it cannot
    /// run here (Redis unreachable).
    async fn apps(&self, kind: Kind) -> Result<Option<Vec<Router>>> {
        let bare = match kind {
            Kind::Bare => Some(Router::new().route("/hello", get(hello))),
            Kind::BareHeaders => Some(bare_with_headers()),
            Kind::BareStaticHeaders => Some(Router::new().route("/hello", get(hello_with_headers))),
            _ => None,
        };
        if let Some(app) = bare {
            return Ok(Some(vec![app]));
        }
        if let Kind::ApiKeyFlood(which) = kind {
            let store = flood::open(
                which,
                &self.api_key_record,
                &self.dir,
                &self.redis_url,
                &self.redis_prefix,
            )
            .await?;
            let Some(store) = store else {
                return Ok(None);
            };
            *self.flood_store.lock().unwrap_or_else(|e| e.into_inner()) = Some(store.clone());
            let limiter = RateLimiter::memory(MemoryConfig::default());
            return Ok(Some(vec![
                self.router(&self.security_with(limiter, store)?),
            ]));
        }
        let instances = if kind == Kind::JwtRateRedisTwo { 2 } else { 1 };
        let mut apps = Vec::with_capacity(instances);
        for _ in 0..instances {
            let limiter = if kind.uses_redis() {
                let lease = (kind == Kind::JwtRateRedisLease).then_some(BENCH_LEASE);
                match self.redis_limiter(lease).await {
                    Some(limiter) => limiter,
                    None => return Ok(None),
                }
            } else {
                RateLimiter::memory(MemoryConfig::default())
            };
            apps.push(self.router(&self.security(limiter)?));
        }
        Ok(Some(apps))
    }

    /// What the load generator sends in a scenario.
    fn target(&self, kind: Kind, addr: SocketAddr) -> Result<Target> {
        let bearer = || HeaderValue::try_from(format!("Bearer {}", self.token));
        let mut headers = vec![(header::HOST, HeaderValue::try_from(addr.to_string())?)];
        let (method, path, body): (Method, &str, Bytes) = match kind {
            Kind::Bare => (Method::GET, "/hello", Bytes::new()),
            Kind::BareHeaders | Kind::BareStaticHeaders => {
                headers.push((header::ORIGIN, HeaderValue::from_static(ORIGIN)));
                (Method::GET, "/hello", Bytes::new())
            }
            Kind::Public => {
                headers.push((header::ORIGIN, HeaderValue::from_static(ORIGIN)));
                (Method::GET, "/v1/public", Bytes::new())
            }
            Kind::Jwt => {
                headers.push((header::AUTHORIZATION, bearer()?));
                (Method::GET, "/v1/jwt", Bytes::new())
            }
            Kind::ApiKey | Kind::ApiKeyFlood(_) => {
                headers.push((
                    HeaderName::from_static("x-api-key"),
                    HeaderValue::try_from(self.api_key.as_str())?,
                ));
                (Method::GET, "/v1/api-key", Bytes::new())
            }
            Kind::JwtRateMemory
            | Kind::JwtRateRedis
            | Kind::JwtRateRedisLease
            | Kind::JwtRateRedisTwo => {
                headers.push((header::AUTHORIZATION, bearer()?));
                (Method::GET, "/v1/jwt-rate", Bytes::new())
            }
            Kind::JwtRateMemoryHot | Kind::JwtRateRedisHot => {
                headers.push((header::AUTHORIZATION, bearer()?));
                (Method::GET, "/v1/jwt-rate-hot", Bytes::new())
            }
            Kind::ValidatedJson => {
                headers.push((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ));
                (
                    Method::POST,
                    "/v1/orders",
                    Bytes::from_static(ORDER_BODY.as_bytes()),
                )
            }
            Kind::RecursiveOneOf => {
                headers.push((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ));
                (Method::POST, "/v1/filters", Bytes::from(filter_body()))
            }
        };
        Ok(Target {
            addr,
            method,
            path,
            headers,
            body,
            expected: kind.expected(),
            flood: false,
        })
    }

    /// The targets of a scenario's `connections` connections to `addrs`
    /// (taken in turn); in a flood scenario, all but
    /// [`flood::LEGITIMATE_CONNECTIONS`] of them flood.
    fn targets(
        &self,
        kind: Kind,
        addrs: &[SocketAddr],
        connections: usize,
    ) -> Result<Vec<Arc<Target>>> {
        if !matches!(kind, Kind::ApiKeyFlood(_)) {
            return addrs
                .iter()
                .map(|addr| Ok(Arc::new(self.target(kind, *addr)?)))
                .collect();
        }
        let legitimate = Arc::new(self.target(kind, addrs[0])?);
        let mut flooding = self.target(kind, addrs[0])?;
        flooding.flood = true;
        let flooding = Arc::new(flooding);
        Ok((0..connections.max(flood::LEGITIMATE_CONNECTIONS + 1))
            .map(|i| {
                if i < flood::LEGITIMATE_CONNECTIONS {
                    legitimate.clone()
                } else {
                    flooding.clone()
                }
            })
            .collect())
    }
}

/// The response headers a rampart public route adds, as fixed values.
const STATIC_HEADERS: [(&str, &str); 10] = [
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-api-version", "1.0.0"),
    ("x-request-id", "0b0e4a4e-7c3c-4f7e-9d0c-6a2d35b2b0e1"),
    ("vary", "origin"),
    ("access-control-allow-origin", ORIGIN),
    (
        "access-control-expose-headers",
        "x-request-id, x-client-request-id, x-api-version, deprecation, sunset, link, retry-after, ratelimit, ratelimit-policy",
    ),
];

/// The `bare+static-headers` handler: [`hello`] plus [`STATIC_HEADERS`],
/// set by the handler itself.
async fn hello_with_headers() -> ([(HeaderName, HeaderValue); 10], Json<Hello>) {
    let headers = STATIC_HEADERS.map(|(name, value)| {
        (
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    });
    (headers, hello().await)
}

/// The `bare+headers` baseline: bare axum with the response headers a
/// rampart public route sends, set the usual way with tower-http layers
/// (security headers, `X-API-Version`, request id, CORS for the bench origin).
fn bare_with_headers() -> Router {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::set_header::SetResponseHeaderLayer;
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (HeaderName::from_static("x-api-version"), "1.0.0"),
    ];
    let request_id = HeaderName::from_static("x-request-id");
    let mut router = Router::new().route("/hello", get(hello));
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(HeaderValue::from_static(ORIGIN)))
                .allow_methods([Method::GET, Method::POST])
                .expose_headers([request_id.clone(), HeaderName::from_static("x-api-version")]),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// One request, repeated.
#[derive(Debug)]
struct Target {
    addr: SocketAddr,
    method: Method,
    path: &'static str,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    /// The status every measured answer must have (200, or 429 for a
    /// principal over its quota).
    expected: StatusCode,
    /// A flood connection: a fresh random API key per request, from a
    /// loopback address that changes every [`flood::REQUESTS_PER_ADDRESS`]
    /// requests; its answers are tallied, not measured.
    flood: bool,
}

impl Target {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = http::Uri::from_static(self.path);
        let headers = req.headers_mut();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        if self.flood
            && let Ok(key) = HeaderValue::try_from(flood::random_key())
        {
            headers.insert(HeaderName::from_static("x-api-key"), key);
        }
        req
    }
}

/// What one connection (or the whole load) saw.
#[derive(Debug, Default)]
struct LoadStats {
    /// Responses started and finished inside the measured window.
    measured: u64,
    /// Responses with another status than the scenario expects, warm-up
    /// included (where a 200 is also accepted: a quota being used up).
    unexpected: u64,
    /// Connection and protocol errors.
    errors: u64,
    /// Latencies of the measured responses, in microseconds.
    latencies_us: Vec<u32>,
    /// The first unexpected response or error, for the report.
    first_failure: Option<String>,
    /// CPU time of the server's threads over the measured window, if known.
    server_cpu: Option<Duration>,
    /// CPU time of the load generator's threads over the measured window, if known.
    client_cpu: Option<Duration>,
    /// Header fields of the last 2xx response (rampart adds security headers).
    response_headers: usize,
    /// The flood connections' answers, by status.
    flood: flood::Statuses,
}

impl LoadStats {
    fn merge(&mut self, other: LoadStats) {
        self.measured += other.measured;
        self.unexpected += other.unexpected;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.response_headers = self.response_headers.max(other.response_headers);
        for (status, n) in other.flood {
            *self.flood.entry(status).or_default() += n;
        }
    }

    fn fail(&mut self, what: String) {
        self.errors += 1;
        self.first_failure.get_or_insert(what);
    }
}

/// One keep-alive connection sending requests back to back until `end`
/// (reconnecting if the server closes it).
async fn connection(target: Arc<Target>, start: Instant, end: Instant) -> LoadStats {
    let mut stats = LoadStats::default();
    'connect: while Instant::now() < end {
        let connected = if target.flood {
            connect_from(flood::random_address(), target.addr).await
        } else {
            TcpStream::connect(target.addr).await
        };
        let stream = match connected {
            Ok(stream) => stream,
            Err(e) => {
                stats.fail(format!("connect: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(pair) => pair,
                Err(e) => {
                    stats.fail(format!("handshake: {e}"));
                    continue;
                }
            };
        let driver = tokio::spawn(conn);
        let mut sent_here = 0;
        loop {
            if target.flood && sent_here == flood::REQUESTS_PER_ADDRESS {
                // On to another address before the lockout catches this one.
                break;
            }
            sent_here += 1;
            if Instant::now() >= end {
                driver.abort();
                break 'connect;
            }
            if let Err(e) = sender.ready().await {
                stats.fail(format!("connection closed: {e}"));
                break;
            }
            let sent = Instant::now();
            let response = match sender.send_request(target.request()).await {
                Ok(response) => response,
                Err(e) => {
                    stats.fail(format!("request: {e}"));
                    break;
                }
            };
            let status = response.status();
            if status == target.expected {
                stats.response_headers = response.headers().len();
            }
            let body = match response.into_body().collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) => {
                    stats.fail(format!("response body: {e}"));
                    break;
                }
            };
            let done = Instant::now();
            if target.flood {
                if done <= end {
                    *stats.flood.entry(status.as_u16()).or_default() += 1;
                }
                continue;
            }
            let warming = sent < start && status == StatusCode::OK;
            if status != target.expected && !warming {
                stats.unexpected += 1;
                stats
                    .first_failure
                    .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
            }
            if sent >= start && done <= end {
                stats.measured += 1;
                let us = done.duration_since(sent).as_micros();
                stats
                    .latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            }
        }
        driver.abort();
    }
    stats
}

/// A connection to `addr` from the loopback address `from`.
async fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(addr).await
}

/// CPU time (user + system) of this process's threads named `thread`,
/// from `/proc/self/task/*/stat` (Linux; `None` elsewhere).
fn cpu_time(thread: &str) -> Option<Duration> {
    // USER_HZ, the unit of utime/stime in /proc, is 100 on every Linux ABI.
    const TICKS_PER_SEC: u64 = 100;
    let mut ticks = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let dir = entry.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if comm.trim_end() != thread {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the `(comm)`: state is the first, utime the 12th, stime the 13th.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        ticks += field(11).unwrap_or(0) + field(12).unwrap_or(0);
    }
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SEC))
}

/// Drive `connections` connections at `target` for `warmup` + `duration`.
async fn generate_load(
    targets: &[Arc<Target>],
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> LoadStats {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let before = (cpu_time(SERVER_THREAD), cpu_time(CLIENT_THREAD));
        tokio::time::sleep_until(end.into()).await;
        let after = (cpu_time(SERVER_THREAD), cpu_time(CLIENT_THREAD));
        let spent =
            |b: Option<Duration>, a: Option<Duration>| b.zip(a).map(|(b, a)| a.saturating_sub(b));
        (spent(before.0, after.0), spent(before.1, after.1))
    });
    let tasks: Vec<_> = (0..connections)
        .map(|i| tokio::spawn(connection(targets[i % targets.len()].clone(), start, end)))
        .collect();
    let mut total = LoadStats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => total.merge(stats),
            Err(e) => total.fail(format!("load task: {e}")),
        }
    }
    if let Ok((server, client)) = sampler.await {
        total.server_cpu = server;
        total.client_cpu = client;
    }
    total
}

/// The measured figures of one scenario.
#[derive(Debug)]
struct Row {
    name: &'static str,
    what: &'static str,
    /// The status every measured answer must have.
    expected: StatusCode,
    /// `None` when the scenario was skipped, with the reason in `skipped`.
    stats: Option<LoadStats>,
    skipped: Option<&'static str>,
    requests_per_sec: f64,
    p50_us: Option<u32>,
    p99_us: Option<u32>,
    server_cpu_us_per_req: Option<f64>,
    client_cpu_us_per_req: Option<f64>,
    /// `wrk`'s figures (`--external`).
    external: Option<External>,
    /// A line reported under the row (the flood scenarios' flood).
    note: Option<String>,
}

impl Row {
    /// wrk's requests/s (`--external`).
    fn wrk_rps(&self) -> Option<f64> {
        self.external.as_ref().map(|e| e.stats.requests_per_sec)
    }

    /// Server CPU per request over the wrk run (`--external`).
    fn wrk_cpu(&self) -> Option<f64> {
        self.external.as_ref().and_then(|e| e.server_cpu_us_per_req)
    }

    /// Whether the scenario saw an error or an unexpected answer, or measured
    /// nothing (a skipped scenario has not failed).
    fn failed(&self) -> bool {
        let Some(stats) = &self.stats else {
            return false;
        };
        stats.unexpected > 0
            || stats.errors > 0
            || stats.measured == 0
            || self.external.as_ref().is_some_and(|e| {
                e.unexpected(self.expected) > 0 || e.stats.errors > 0 || e.stats.requests == 0
            })
    }
}

/// One scenario driven by `wrk`.
#[derive(Debug)]
struct External {
    stats: wrk::WrkStats,
    /// Server CPU per request over the measured `wrk` run.
    server_cpu_us_per_req: Option<f64>,
}

impl External {
    /// Answers with another status than `expected` (wrk counts the ones
    /// outside 2xx/3xx).
    fn unexpected(&self, expected: StatusCode) -> u64 {
        if expected.is_success() {
            self.stats.non_2xx
        } else {
            self.stats.requests.saturating_sub(self.stats.non_2xx)
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

fn run_scenario(
    scenario: &Scenario,
    fixture: &Fixture,
    args: &Args,
    client: &tokio::runtime::Runtime,
    server_threads: usize,
) -> Result<Row> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(server_threads)
        .thread_name(SERVER_THREAD)
        .enable_all();
    if args.pin {
        builder.on_thread_start(|| {
            if let Some((server, _)) = wrk::pinned_cpus() {
                wrk::pin_current_thread(server);
            }
        });
    }
    let server = builder.build().context("building the server runtime")?;
    let addrs = server.block_on(async {
        let Some(apps) = fixture.apps(scenario.kind).await? else {
            return Ok::<_, anyhow::Error>(None);
        };
        let mut addrs = Vec::with_capacity(apps.len());
        for app in apps {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            addrs.push(listener.local_addr()?);
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(async move {
                let service = app.into_make_service_with_connect_info::<SocketAddr>();
                if let Err(e) = axum::serve(listener, service).await {
                    eprintln!("bench: server error: {e}");
                }
            });
        }
        Ok(Some(addrs))
    })?;
    let Some(addrs) = addrs else {
        server.shutdown_timeout(Duration::from_secs(1));
        return Ok(Row {
            name: scenario.name,
            what: scenario.what,
            expected: scenario.kind.expected(),
            stats: None,
            skipped: Some("redis unreachable"),
            requests_per_sec: 0.0,
            p50_us: None,
            p99_us: None,
            server_cpu_us_per_req: None,
            client_cpu_us_per_req: None,
            external: None,
            note: None,
        });
    };
    let targets = fixture.targets(scenario.kind, &addrs, args.connections)?;
    let flooding = matches!(scenario.kind, Kind::ApiKeyFlood(_));
    let connections = if flooding {
        targets.len()
    } else {
        args.connections
    };
    let lookups_before = flood_lookups(fixture);
    let duration = Duration::from_secs_f64(args.duration);
    let mut stats = client.block_on(generate_load(
        &targets,
        connections,
        Duration::from_secs_f64(args.warmup),
        duration,
    ));
    let note = flooding.then(|| {
        flood::summary(
            &stats.flood,
            flood_lookups(fixture).saturating_sub(lookups_before),
        )
    });
    // wrk sends one fixed request: it cannot flood with random keys.
    let external = if args.external && !flooding {
        // wrk drives one address: the first instance.
        Some(run_wrk(&targets[0], fixture, args, duration)?)
    } else {
        None
    };
    server.shutdown_timeout(Duration::from_secs(1));
    stats.latencies_us.sort_unstable();
    let requests_per_sec = stats.measured as f64 / duration.as_secs_f64();
    let per_request = |cpu: Option<Duration>| {
        cpu.filter(|_| stats.measured > 0)
            .map(|cpu| cpu.as_secs_f64() * 1e6 / stats.measured as f64)
    };
    let server_cpu_us_per_req = per_request(stats.server_cpu);
    let client_cpu_us_per_req = per_request(stats.client_cpu);
    Ok(Row {
        name: scenario.name,
        what: scenario.what,
        expected: scenario.kind.expected(),
        p50_us: percentile(&stats.latencies_us, 50.0),
        p99_us: percentile(&stats.latencies_us, 99.0),
        stats: Some(stats),
        skipped: None,
        requests_per_sec,
        server_cpu_us_per_req,
        client_cpu_us_per_req,
        external,
        note,
    })
}

/// Lookups that reached the running flood scenario's key store (0 outside one).
fn flood_lookups(fixture: &Fixture) -> u64 {
    fixture
        .flood_store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, |store| store.lookups())
}

/// Drive the running server with `wrk`: a warm-up run, then the measured
/// one, with the server threads' CPU time sampled around it.
fn run_wrk(
    target: &Target,
    fixture: &Fixture,
    args: &Args,
    duration: Duration,
) -> Result<External> {
    let request = wrk::WrkRequest {
        url: format!("http://{}{}", target.addr, target.path),
        method: &target.method,
        headers: &target.headers,
        body: &target.body,
    };
    if args.warmup > 0.0 {
        wrk::run(
            &request,
            args.connections,
            Duration::from_secs_f64(args.warmup),
            args.pin,
            &fixture.dir,
        )?;
    }
    let before = cpu_time(SERVER_THREAD);
    let stats = wrk::run(&request, args.connections, duration, args.pin, &fixture.dir)?;
    let after = cpu_time(SERVER_THREAD);
    let server_cpu_us_per_req = before
        .zip(after)
        .filter(|_| stats.requests > 0)
        .map(|(b, a)| a.saturating_sub(b).as_secs_f64() * 1e6 / stats.requests as f64);
    Ok(External {
        stats,
        server_cpu_us_per_req,
    })
}

/// The generation-time measurement.
#[derive(Debug)]
struct Generation {
    spec: PathBuf,
    bytes: u64,
    runs: usize,
    best: Duration,
    /// The phases of the best run: load + model, generate tokens, format.
    phases: [Duration; 3],
    lines: usize,
}

/// The largest `.yaml`/`.yml`/`.json` file in `dir`.
fn largest_spec(dir: &Path) -> Result<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let is_spec = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if !is_spec {
            continue;
        }
        let len = std::fs::metadata(&path)?.len();
        if best.as_ref().is_none_or(|(l, _)| len > *l) {
            best = Some((len, path));
        }
    }
    best.map(|(_, p)| p)
        .with_context(|| format!("no spec in {}", dir.display()))
}

/// Load + model + generate + format `spec`, `runs` times; the best run.
fn time_generation(spec: &Path, runs: usize) -> Result<Generation> {
    let bytes = std::fs::metadata(spec)
        .with_context(|| format!("reading {}", spec.display()))?
        .len();
    let mut best = Duration::MAX;
    let mut phases = [Duration::ZERO; 3];
    let mut lines = 0;
    let source = spec.display().to_string();
    for _ in 0..runs {
        // The steps of `rampart_codegen::generate_from_path`, timed one by one.
        let started = Instant::now();
        let (model, _files, _diagnostics) = rampart_spec::load_file(spec)
            .into_result()
            .map_err(|e| anyhow::anyhow!("loading {}: {e}", spec.display()))?;
        let loaded = started.elapsed();
        let generated = rampart_codegen::Generator::new(&model, source.clone()).generate();
        let tokens = started.elapsed();
        let text = generated.to_formatted_string(&source);
        let total = started.elapsed();
        if total < best {
            best = total;
            phases = [loaded, tokens - loaded, total - tokens];
        }
        lines = text.lines().count();
    }
    Ok(Generation {
        spec: spec.to_owned(),
        bytes,
        runs,
        best,
        phases,
        lines,
    })
}

/// A baseline's figures, for the ratios.
#[derive(Debug, Default, Clone, Copy)]
struct Baseline {
    rps: f64,
    cpu: Option<f64>,
    wrk_rps: Option<f64>,
    wrk_cpu: Option<f64>,
}

/// A row's figures relative to the two baselines (`None` when unknown).
#[derive(Debug, Default)]
struct Ratios {
    /// requests/s ÷ bare requests/s (in-process load).
    bare: Option<f64>,
    /// requests/s ÷ bare+headers requests/s.
    headers: Option<f64>,
    /// bare server µs ÷ this server µs.
    cpu_bare: Option<f64>,
    /// bare+headers server µs ÷ this server µs.
    cpu_headers: Option<f64>,
    /// wrk requests/s ÷ bare's wrk requests/s.
    wrk_bare: Option<f64>,
    /// wrk requests/s ÷ bare+headers' wrk requests/s.
    wrk_headers: Option<f64>,
    /// bare server µs ÷ this server µs, under wrk.
    wrk_cpu_bare: Option<f64>,
}

fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    value
        .zip(base)
        .filter(|(v, b)| *v > 0.0 && *b > 0.0)
        .map(|(v, b)| v / b)
}

impl Ratios {
    fn of(row: &Row, bare: &Baseline, headers: &Baseline) -> Self {
        let rps = Some(row.requests_per_sec);
        let cpu = row.server_cpu_us_per_req;
        let (wrk_rps, wrk_cpu) = (row.wrk_rps(), row.wrk_cpu());
        Ratios {
            bare: ratio(rps, Some(bare.rps)),
            headers: ratio(rps, Some(headers.rps)),
            cpu_bare: ratio(bare.cpu, cpu),
            cpu_headers: ratio(headers.cpu, cpu),
            wrk_bare: ratio(wrk_rps, bare.wrk_rps),
            wrk_headers: ratio(wrk_rps, headers.wrk_rps),
            wrk_cpu_bare: ratio(bare.wrk_cpu, wrk_cpu),
        }
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    fmt_opt(r.map(|r| format!("{r:.2}x")))
}

fn print_header(external: bool) {
    println!();
    print!(
        "{:<20} {:>10} {:>6} {:>7} {:>7} {:>7} {:>10} {:>9} {:>9} {:>10} {:>7} {:>7}",
        "scenario",
        "requests/s",
        "ratio",
        "vs hdrs",
        "p50 µs",
        "p99 µs",
        "server µs",
        "cpu ratio",
        "cpu vs h",
        "client µs",
        "headers",
        "unexpected"
    );
    if external {
        print!(
            " {:>10} {:>7} {:>7} {:>8} {:>8} {:>9}",
            "wrk req/s", "wrk rat", "wrk v h", "wrk p50", "wrk p99", "wrk srvµs"
        );
    }
    println!("  description");
}

fn print_row(row: &Row, stats: &LoadStats, r: &Ratios) {
    print!(
        "{:<20} {:>10.0} {:>6} {:>7} {:>7} {:>7} {:>10} {:>9} {:>9} {:>10} {:>7} {:>7}",
        row.name,
        row.requests_per_sec,
        fmt_ratio(r.bare),
        fmt_ratio(r.headers),
        fmt_opt(row.p50_us),
        fmt_opt(row.p99_us),
        fmt_opt(row.server_cpu_us_per_req.map(|c| format!("{c:.1}"))),
        fmt_ratio(r.cpu_bare),
        fmt_ratio(r.cpu_headers),
        fmt_opt(row.client_cpu_us_per_req.map(|c| format!("{c:.1}"))),
        stats.response_headers,
        stats.unexpected + stats.errors,
    );
    if let Some(e) = &row.external {
        print!(
            " {:>10.0} {:>7} {:>7} {:>8} {:>8} {:>9}",
            e.stats.requests_per_sec,
            fmt_ratio(r.wrk_bare),
            fmt_ratio(r.wrk_headers),
            fmt_opt(e.stats.p50_us.map(|v| format!("{v:.0}"))),
            fmt_opt(e.stats.p99_us.map(|v| format!("{v:.0}"))),
            fmt_opt(e.server_cpu_us_per_req.map(|c| format!("{c:.1}"))),
        );
    }
    println!("  {}", row.what);
    if let Some(failure) = &stats.first_failure {
        println!("{:<16} first failure: {failure}", "");
    }
    if let Some(e) = row
        .external
        .as_ref()
        .filter(|e| e.unexpected(row.expected) + e.stats.errors > 0)
    {
        println!(
            "{:<16} wrk: {} unexpected responses, {} socket errors",
            "",
            e.unexpected(row.expected),
            e.stats.errors
        );
    }
}

fn json_row(row: &Row, stats: &LoadStats, r: &Ratios) -> serde_json::Value {
    let mut value = serde_json::json!({
        "scenario": row.name,
        "description": row.what,
        "requests": stats.measured,
        "requests_per_sec": row.requests_per_sec,
        "ratio_to_bare": r.bare,
        "ratio_to_bare_headers": r.headers,
        "p50_us": row.p50_us,
        "p99_us": row.p99_us,
        "server_cpu_us_per_req": row.server_cpu_us_per_req,
        "cpu_ratio_to_bare": r.cpu_bare,
        "cpu_ratio_to_bare_headers": r.cpu_headers,
        "client_cpu_us_per_req": row.client_cpu_us_per_req,
        "response_headers": stats.response_headers,
        "expected_status": row.expected.as_u16(),
        "unexpected": stats.unexpected,
        "errors": stats.errors,
        "first_failure": stats.first_failure,
    });
    if let Some(e) = &row.external {
        value["external"] = serde_json::json!({
            "tool": "wrk",
            "requests": e.stats.requests,
            "requests_per_sec": e.stats.requests_per_sec,
            "ratio_to_bare": r.wrk_bare,
            "ratio_to_bare_headers": r.wrk_headers,
            "p50_us": e.stats.p50_us,
            "p99_us": e.stats.p99_us,
            "server_cpu_us_per_req": e.server_cpu_us_per_req,
            "cpu_ratio_to_bare": r.wrk_cpu_bare,
            "unexpected": e.unexpected(row.expected),
            "errors": e.stats.errors,
        });
    }
    value
}

/// Re-run `cargo xtask bench` with the same arguments from a release build.
fn rerun_in_release() -> Result<ExitCode> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("Cargo.toml");
    eprintln!(
        "bench: debug builds measure nothing useful; re-running as `cargo run --release -p xtask -- bench ...` (--debug runs this build as it is)"
    );
    let status = Command::new(env!("CARGO"))
        .args(["run", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .status()
        .context("running cargo")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn fmt_opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// `cargo xtask bench`.
pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    if let Some(store) = &args.memory_child {
        memory::child(store)?;
        return Ok(ExitCode::SUCCESS);
    }
    if cfg!(debug_assertions) && !args.debug {
        return rerun_in_release();
    }
    if args.memory {
        for (store, line) in memory::measure()? {
            if args.json {
                println!("{}", serde_json::json!({ "memory": store, "report": line }));
            } else {
                println!("{store:<16} {line}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !(args.duration > 0.0 && args.duration.is_finite()) {
        bail!("--duration must be a positive number of seconds");
    }
    if !(args.warmup >= 0.0 && args.warmup.is_finite()) {
        bail!("--warmup must be zero or a positive number of seconds");
    }
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    for name in args.only.iter().chain([&args.against]) {
        if !SCENARIOS.iter().any(|s| s.name == name) {
            let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            bail!("unknown scenario `{name}`; scenarios: {}", names.join(", "));
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    wrk::preflight(args.external, args.pin, cpus)?;
    // Pinned, each side has one core: one worker thread each unless told otherwise.
    let default_threads = if args.pin { 1 } else { cpus };
    let server_threads = args.server_threads.unwrap_or(default_threads).max(1);
    let client_threads = args.client_threads.unwrap_or(default_threads).max(1);
    let profile = if cfg!(debug_assertions) {
        "DEBUG build (figures meaningless)"
    } else {
        "release build"
    };
    if !args.json {
        let placement = if args.pin {
            let (server, load) = wrk::pinned_cpus().unwrap_or((0, 1));
            format!("server pinned to CPU {server}, load generators to CPU {load}")
        } else {
            format!("{cpus} CPU(s) shared by the load generator and the server")
        };
        let load = if args.external {
            "in-process load generator, then wrk"
        } else {
            "in-process load generator"
        };
        println!(
            "rampart bench ({profile}): {placement} ({client_threads} client + {server_threads} server worker threads); \
             {load}; HTTP/1.1 keep-alive over 127.0.0.1, {} connections, {:.1} s warm-up + {:.1} s per scenario{}",
            args.connections,
            args.warmup,
            args.duration,
            if args.rounds > 1 {
                format!(
                    ", {} interleaved rounds (the table shows each scenario's median round)",
                    args.rounds
                )
            } else {
                String::new()
            }
        );
    }
    let fixture = Fixture::new()?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(client_threads)
        .thread_name(CLIENT_THREAD)
        .enable_all();
    if args.pin {
        builder.on_thread_start(|| {
            if let Some((_, load)) = wrk::pinned_cpus() {
                wrk::pin_current_thread(load);
            }
        });
    }
    let client = builder.build().context("building the client runtime")?;
    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|scenario| {
            matches!(
                scenario.kind,
                Kind::Bare | Kind::BareHeaders | Kind::BareStaticHeaders
            ) || args.only.is_empty()
                || args.only.iter().any(|n| n == scenario.name)
        })
        .collect();
    let mut all_rounds = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let mut round = Vec::with_capacity(selected.len());
        for scenario in &selected {
            round.push(run_scenario(
                scenario,
                &fixture,
                args,
                &client,
                server_threads,
            )?);
        }
        all_rounds.push(round);
    }
    drop(client);
    // A failure in any round fails the run, not only in the rounds shown.
    let failures: Vec<String> = all_rounds
        .iter()
        .enumerate()
        .flat_map(|(i, round)| {
            round.iter().filter(|r| r.failed()).map(move |r| {
                let first = r.stats.as_ref().and_then(|s| s.first_failure.as_deref());
                format!(
                    "round {}: {}: {}",
                    i + 1,
                    r.name,
                    first
                        .unwrap_or("wrk saw unexpected answers or errors, or nothing was measured")
                )
            })
        })
        .collect();
    let paired = (args.rounds > 1).then(|| rounds::paired(&all_rounds, &args.against));
    let rows = rounds::median_rows(all_rounds);
    let baseline = |name: &str| {
        rows.iter().find(|r| r.name == name).map(|r| Baseline {
            rps: r.requests_per_sec,
            cpu: r.server_cpu_us_per_req,
            wrk_rps: r.wrk_rps(),
            wrk_cpu: r.wrk_cpu(),
        })
    };
    let bare = baseline("bare").unwrap_or_default();
    let headers = baseline("bare+headers").unwrap_or_default();
    if !args.json {
        print_header(args.external);
    }
    for row in &rows {
        let Some(stats) = &row.stats else {
            let reason = row.skipped.unwrap_or("skipped");
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "scenario": row.name,
                        "description": row.what,
                        "skipped": reason,
                    })
                );
            } else {
                println!("{:<16} skipped: {reason}", row.name);
            }
            continue;
        };
        let ratios = Ratios::of(row, &bare, &headers);
        if args.json {
            let mut value = json_row(row, stats, &ratios);
            if let Some(note) = &row.note {
                value["note"] = serde_json::json!(note);
            }
            println!("{value}");
        } else {
            print_row(row, stats, &ratios);
            if let Some(note) = &row.note {
                println!("{:<16} {note}", "");
            }
        }
    }
    if let Some(paired) = &paired {
        if args.json {
            for p in paired {
                println!("{}", rounds::json(p, &args.against));
            }
        } else {
            rounds::print(paired, &args.against, args.rounds);
        }
    }
    if rows
        .iter()
        .any(|r| r.name == "recursive-one-of" && r.stats.is_some())
    {
        let (took, bytes, work) = time_budget_refusal(20)?;
        let us = took.as_secs_f64() * 1e6;
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "scenario": "one-of-budget-refusal",
                    "body_bytes": bytes,
                    "best_us": us,
                    "limit_steps": work.limit,
                    "attempts": work.attempts,
                    "steps": work.steps,
                })
            );
        } else {
            println!(
                "{:<16} refusing an overlapping recursive oneOf at the depth limit ({bytes} bytes, \
                 2^31 attempts unbounded): 422 work-limit after {} attempts / {} of {} steps, \
                 best of 20 in-process parses {us:.0} µs",
                "", work.attempts, work.steps, work.limit
            );
        }
    }
    if args.gen_runs > 0 {
        let spec = match &args.gen_spec {
            Some(spec) => Some(spec.clone()),
            None => {
                let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
                let corpus = corpus.canonicalize().unwrap_or(corpus);
                largest_spec(&corpus).ok()
            }
        };
        match spec {
            Some(spec) => {
                let generation = time_generation(&spec, args.gen_runs)?;
                let ms = generation.best.as_secs_f64() * 1e3;
                let [load_ms, generate_ms, format_ms] =
                    generation.phases.map(|d| d.as_secs_f64() * 1e3);
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "scenario": "generation",
                            "spec": generation.spec.display().to_string(),
                            "spec_bytes": generation.bytes,
                            "runs": generation.runs,
                            "best_ms": ms,
                            "load_ms": load_ms,
                            "generate_ms": generate_ms,
                            "format_ms": format_ms,
                            "generated_lines": generation.lines,
                        })
                    );
                } else {
                    println!();
                    println!(
                        "generation (load + model + generate + format) of {} ({:.1} MB, {} generated lines): best of {} runs {ms:.0} ms (target < 1000 ms in release)",
                        generation.spec.display(),
                        generation.bytes as f64 / 1e6,
                        generation.lines,
                        generation.runs,
                    );
                    println!(
                        "{:<16} of which load + model {load_ms:.0} ms, generate {generate_ms:.0} ms, format {format_ms:.0} ms",
                        ""
                    );
                }
            }
            None if args.json => println!(
                "{}",
                serde_json::json!({"scenario": "generation", "skipped": "no corpus (../shared/corpus)"})
            ),
            None => println!(
                "\ngeneration: skipped: no corpus (../shared/corpus); pass --gen-spec FILE"
            ),
        }
    }
    if !args.json {
        println!();
        println!(
            "ratio = requests/s ÷ bare requests/s in this run (unless pinned, client and server share the CPUs, so it includes the client's \
             cost of the larger responses); vs hdrs = the same against bare+headers; server/client µs = CPU time per request of each side's threads; \
             cpu ratio = bare server µs ÷ this scenario's (the server's own capacity ratio); wrk columns (--external) = the same \
             measured with wrk. DESIGN.md target: ≥ 0.90x bare."
        );
    }
    if !failures.is_empty() {
        eprintln!("bench: some scenario had errors or unexpected responses:");
        for failure in &failures {
            eprintln!("  {failure}");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
