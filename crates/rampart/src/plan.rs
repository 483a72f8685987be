//! Plans: what one route needs to enforce its policy, compiled once at
//! router build time from the [`OperationPolicy`] and the runtime's shared
//! `State` (the configured schemes, lockout, clock, limiter, redactor):
//! scheme slots, `WWW-Authenticate` challenges, role ranks, the prebuilt
//! rate policy, deprecation headers, the body limit. The guard
//! ([`crate::pipeline::guard`]) only reads a plan.

use std::sync::Arc;

use http::HeaderValue;
use rampart_api::grammar::RoleHierarchy;
use rampart_api::policy::{
    ANY_SCHEME, DpopMode, OperationPolicy, Replay, SchemeRequirement, SecurityRequirement,
};

use crate::access::RoleRequirement;
use crate::audit::Redactor;
use crate::auth::jwt::JwtVerifier;
use crate::auth::key_verify::ApiKeyVerifier;
use crate::auth::lockout::Lockout;
use crate::clock::SharedClock;
use crate::context::RequestContext;
use crate::error::ConfigError;
use crate::rate::{RateLimiter, RatePolicy, TrustedProxies};
use crate::settings::{ApiInfo, HardenConfig};
use crate::version::{DeprecatedOperation, DeprecationTracker};

/// Most distinct schemes one route may name.
pub const MAX_SCHEMES_PER_ROUTE: usize = 8;

/// How one scheme authenticates.
#[derive(Debug, Clone)]
pub(crate) enum SchemeAuth {
    Jwt(Arc<JwtVerifier>),
    ApiKey(Arc<ApiKeyVerifier>),
}

/// A configured scheme.
#[derive(Debug)]
pub(crate) struct SchemeEntry {
    pub(crate) name: String,
    pub(crate) auth: SchemeAuth,
}

/// The runtime's shared state: everything a route's plan reads, built
/// once by [`SecurityBuilder::build`](crate::SecurityBuilder::build).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) realm: String,
    pub(crate) roles: RoleHierarchy,
    pub(crate) schemes: Vec<SchemeEntry>,
    pub(crate) lockout: Lockout,
    pub(crate) clock: SharedClock,
    pub(crate) redactor: Redactor,
    /// Lower-case query parameter names refused as credentials in the URL.
    pub(crate) url_params: Vec<String>,
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
    /// Client-IP resolution (trusted proxies and the forwarding header).
    pub(crate) trusted: TrustedProxies,
    /// The rate-limit store (in memory unless configured otherwise).
    pub(crate) limiter: RateLimiter,
    /// Deprecation headers, 410 after sunset, and who still calls.
    pub(crate) deprecations: DeprecationTracker,
    /// The global layers' configuration.
    pub(crate) harden: HardenConfig,
    /// The API's version, base path and CORS, for `harden`.
    pub(crate) api: Option<ApiInfo>,
    /// Brute-force alerts (lockouts, bursts of failures).
    pub(crate) alerts: crate::alert::Alerts,
    /// The built-in endpoints the front answers (`None` when all are off).
    pub(crate) ops: Option<Arc<crate::ops::Ops>>,
    /// DPoP proof and one-time token identifiers already accepted.
    pub(crate) replay: crate::auth::replay::ReplayCache,
    /// The origin clients use (`RAMPART_PUBLIC_ORIGIN`), for DPoP `htu`.
    pub(crate) public_origin: Option<crate::config::PublicOrigin>,
    /// Where metrics are served, if they are (started by `Security::start_metrics`).
    pub(crate) metrics: MetricsPlan,
}

/// Where metrics are served: checked when a `Security` is built, started by
/// [`Security::start_metrics`](crate::Security::start_metrics).
#[derive(Debug, Clone, Default)]
pub(crate) struct MetricsPlan {
    /// `x-rampart.endpoints.metrics`: served on a path of the main listener.
    pub(crate) on_main_listener: bool,
    /// `RAMPART_METRICS_ADDR`: a listener of their own.
    pub(crate) addr: Option<std::net::SocketAddr>,
}

impl MetricsPlan {
    /// Whether metrics are served at all.
    pub(crate) fn configured(&self) -> bool {
        self.on_main_listener || self.addr.is_some()
    }
}

pub(crate) struct SchemeReq {
    /// Index into the plan's schemes.
    pub(crate) slot: usize,
    pub(crate) scopes: Box<[String]>,
    /// The 403 challenge naming the scopes, for JWT schemes with scopes.
    pub(crate) scope_challenge: Option<HeaderValue>,
}

/// Everything one route needs, computed at router build time.
pub(crate) struct RoutePlan {
    pub(crate) state: Arc<State>,
    /// Every store the route needs (lockout, rate limit) answers from
    /// memory, so the guard decides without a boxed future unless a
    /// credential check must wait (JWKS fetch, remote key store).
    pub(crate) local: bool,
    pub(crate) operation: String,
    pub(crate) public: bool,
    /// Indexes into the security's schemes.
    pub(crate) schemes: Box<[usize]>,
    pub(crate) alternatives: Box<[Box<[SchemeReq]>]>,
    pub(crate) roles: RoleRequirement,
    pub(crate) missing: Box<[HeaderValue]>,
    pub(crate) invalid_jwt: Box<[HeaderValue]>,
    pub(crate) invalid_key: Box<[HeaderValue]>,
    /// The operation's quota, prebuilt (policy header values included).
    pub(crate) rate: Option<RatePolicy>,
    pub(crate) rate_key: rampart_api::policy::RateKey,
    /// Deprecation headers, prebuilt, and the sunset check.
    pub(crate) deprecated: Option<DeprecatedOperation>,
    pub(crate) body_limit: Option<u64>,
    /// One-time tokens on this operation (`x-rampart: { replay: reject }`).
    pub(crate) one_time: bool,
    /// The `DPoP` challenge of the route's DPoP schemes (`algs` listed), for
    /// refusals that name a DPoP error.
    pub(crate) dpop_challenge: Option<String>,
    /// The route's metric series, while metrics are recorded.
    pub(crate) metrics: Option<crate::telemetry::RouteMetrics>,
}

fn challenge(text: String) -> Result<HeaderValue, ConfigError> {
    HeaderValue::try_from(text).map_err(|_| {
        ConfigError::new(
            "a WWW-Authenticate challenge cannot be written as a header",
            "use scope names of printable ASCII without quotes",
        )
    })
}

/// Logs a `config_warning` when two OR-alternatives name different JWT
/// schemes that share one verifier (identical effective settings) while
/// requiring different scopes ([`OperationPolicy::scope_gaps`]): a token
/// lacking the stronger alternative's scopes passes through the weaker one.
/// The lint rule `rampart-shared-verifier-scopes` says the same from the
/// spec alone.
fn warn_shared_verifiers(policy: &OperationPolicy, entries: &[SchemeEntry]) {
    let verifier = |name: &str| {
        entries.iter().find_map(|e| match &e.auth {
            SchemeAuth::Jwt(v) if e.name == name => Some(v),
            _ => None,
        })
    };
    for gap in policy.scope_gaps() {
        let (Some(weak), Some(strong)) = (verifier(gap.weak), verifier(gap.strong)) else {
            continue;
        };
        if !Arc::ptr_eq(weak, strong) {
            continue;
        }
        tracing::warn!(
            target: "rampart::audit",
            event = "config_warning",
            operation = %policy.operation_id,
            scheme = %gap.weak,
            stronger = %gap.strong,
            "schemes `{}` and `{}` share one JWT verifier, so a token without the scopes [{}] that `{}` requires is accepted through `{}`; configure [schemes.{}] with its own audience, issuer or typ",
            gap.weak,
            gap.strong,
            gap.missing.join(", "),
            gap.strong,
            gap.weak,
            gap.strong
        );
    }
}

impl RoutePlan {
    pub(crate) fn new(state: Arc<State>, policy: &OperationPolicy) -> Result<Self, ConfigError> {
        let inner = &*state;
        let realm = &inner.realm;
        let public = policy.public || policy.security.is_empty();
        let mut schemes: Vec<usize> = Vec::new();
        let mut alternatives = Vec::new();
        let requirements = expand_any_scheme(policy, &inner.schemes)?;
        for requirement in &requirements {
            let mut alt = Vec::new();
            for s in &requirement.schemes {
                let index = inner
                    .schemes
                    .iter()
                    .position(|e| e.name == s.scheme)
                    .ok_or_else(|| {
                        ConfigError::new(
                            format!(
                                "operation `{}` requires security scheme `{}`, which is not configured",
                                policy.operation_id, s.scheme
                            ),
                            "declare the scheme in components.securitySchemes (or with SecurityBuilder::new) and configure its keys",
                        )
                    })?;
                let slot = match schemes.iter().position(|i| *i == index) {
                    Some(slot) => slot,
                    None => {
                        schemes.push(index);
                        schemes.len() - 1
                    }
                };
                let is_jwt = matches!(inner.schemes[index].auth, SchemeAuth::Jwt(_));
                let scope_challenge = if is_jwt && !s.scopes.is_empty() {
                    Some(challenge(format!(
                        "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{}\"",
                        s.scopes.join(" ")
                    ))?)
                } else {
                    None
                };
                alt.push(SchemeReq {
                    slot,
                    scopes: s.scopes.clone().into(),
                    scope_challenge,
                });
            }
            alternatives.push(alt.into_boxed_slice());
        }
        warn_shared_verifiers(policy, &inner.schemes);
        if schemes.len() > MAX_SCHEMES_PER_ROUTE {
            return Err(ConfigError::new(
                format!(
                    "operation `{}` names {} security schemes",
                    policy.operation_id,
                    schemes.len()
                ),
                format!("a route may name at most {MAX_SCHEMES_PER_ROUTE} distinct schemes"),
            ));
        }
        let has_jwt = schemes
            .iter()
            .any(|i| matches!(inner.schemes[*i].auth, SchemeAuth::Jwt(_)));
        let has_key = schemes
            .iter()
            .any(|i| matches!(inner.schemes[*i].auth, SchemeAuth::ApiKey(_)));
        let jwt_verifiers = || {
            schemes
                .iter()
                .filter_map(|i| match &inner.schemes[*i].auth {
                    SchemeAuth::Jwt(v) => Some(v),
                    SchemeAuth::ApiKey(_) => None,
                })
        };
        // Bearer tokens are offered unless every JWT scheme requires DPoP;
        // a DPoP challenge names the proof algorithms every DPoP scheme accepts.
        let offers_bearer = jwt_verifiers().any(|v| v.dpop().mode != DpopMode::Required);
        let mut dpop_algs: Vec<String> = Vec::new();
        for v in jwt_verifiers().filter(|v| v.dpop().mode != DpopMode::Off) {
            for alg in v.dpop().algs().split(' ') {
                if !dpop_algs.iter().any(|a| a == alg) {
                    dpop_algs.push(alg.to_owned());
                }
            }
        }
        let dpop_challenge = (!dpop_algs.is_empty())
            .then(|| format!("DPoP realm=\"{realm}\", algs=\"{}\"", dpop_algs.join(" ")));
        let one_time = policy.replay == Replay::Reject;
        if one_time && !has_jwt {
            return Err(ConfigError::new(
                format!(
                    "operation `{}` says `replay: reject` (one-time tokens) but no JWT scheme authenticates it, so nothing would be checked",
                    policy.operation_id
                ),
                "require a bearer (JWT), oauth2, openIdConnect or dpop scheme on the operation, or remove `replay: reject`",
            ));
        }
        let consumes_ids =
            one_time || jwt_verifiers().any(|v| v.one_time() || v.dpop().mode != DpopMode::Off);
        let (bearer, bearer_bad) = if offers_bearer {
            (
                Some(challenge(format!("Bearer realm=\"{realm}\""))?),
                Some(challenge(format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\""
                ))?),
            )
        } else {
            (None, None)
        };
        let dpop_missing = dpop_challenge.clone().map(challenge).transpose()?;
        let key = challenge(format!("ApiKey realm=\"{realm}\""))?;
        let key_bad = challenge(format!("ApiKey realm=\"{realm}\", error=\"invalid_token\""))?;
        let pick = |jwt: &Option<HeaderValue>, api: &HeaderValue| -> Box<[HeaderValue]> {
            let mut v = Vec::new();
            if has_jwt {
                v.extend(jwt.iter().cloned());
                v.extend(dpop_missing.iter().cloned());
            }
            if has_key {
                v.push(api.clone());
            }
            v.into()
        };
        let rate = inner.limiter.for_operation(policy);
        let deprecated = inner.deprecations.operation(policy);
        // A route that remembers identifiers (DPoP proofs, one-time tokens)
        // always takes the waiting path: the no-waiting attempt may give up
        // after an identifier was remembered, and the second attempt would
        // then see its own first use as a replay.
        //
        // A Redis quota that can answer without waiting (a bucket its deny
        // cache knows is over its limit, a leased unit) starts on the
        // no-waiting path too. A request it cannot answer there (Redis must
        // be asked, or a failed credential needs the shared lockout) goes
        // down the waiting path, which picks up where the first attempt
        // stopped (`guard::Resume`): no credential is verified twice and no
        // audit event is written twice.
        let remote_answers_now = rate
            .as_ref()
            .is_some_and(|r| !r.is_local() && r.answers_now());
        if inner.metrics.configured() && !crate::telemetry::enabled() {
            return Err(ConfigError::new(
                format!(
                    "operation `{}`: metrics are served (x-rampart.endpoints.metrics or RAMPART_METRICS_ADDR) but were not started, so its requests would not be counted",
                    policy.operation_id
                ),
                "call `security.start_metrics()` before building routes (`Security::load` does)",
            ));
        }
        let local = (inner.lockout.is_local() || remote_answers_now)
            && rate.as_ref().is_none_or(RatePolicy::answers_now)
            && !consumes_ids;
        Ok(RoutePlan {
            local,
            rate,
            rate_key: policy.rate_key,
            deprecated,
            body_limit: policy.body_limit,
            one_time,
            dpop_challenge,
            metrics: crate::telemetry::RouteMetrics::new(&policy.operation_id),
            operation: policy.operation_id.clone(),
            public,
            roles: RoleRequirement::new(&inner.roles, &policy.roles),
            missing: pick(&bearer, &key),
            invalid_jwt: pick(&bearer_bad, &key),
            invalid_key: pick(&bearer, &key_bad),
            schemes: schemes.into(),
            alternatives: alternatives.into(),
            state,
        })
    }
}

/// Replace the wildcard scheme [`ANY_SCHEME`] (`#[secured]` without
/// `scheme = ...`) by each configured scheme in turn: any one of them may
/// authenticate the caller.
fn expand_any_scheme(
    policy: &OperationPolicy,
    configured: &[SchemeEntry],
) -> Result<Vec<SecurityRequirement>, ConfigError> {
    let uses_any = policy
        .security
        .iter()
        .any(|r| r.schemes.iter().any(|s| s.scheme == ANY_SCHEME));
    if !uses_any {
        return Ok(policy.security.clone());
    }
    if configured.is_empty() {
        return Err(ConfigError::new(
            format!(
                "operation `{}` requires authentication, but no security scheme is configured",
                policy.operation_id
            ),
            "declare a scheme in the spec's components.securitySchemes or with SecurityBuilder::new().jwt_hs256(..) / .api_key(..)",
        ));
    }
    let mut expanded: Vec<SecurityRequirement> = Vec::new();
    for requirement in &policy.security {
        let mut partial: Vec<SecurityRequirement> = vec![SecurityRequirement::default()];
        for s in &requirement.schemes {
            let names: Vec<&str> = if s.scheme == ANY_SCHEME {
                configured.iter().map(|c| c.name.as_str()).collect()
            } else {
                vec![s.scheme.as_str()]
            };
            partial = partial
                .into_iter()
                .flat_map(|base| {
                    names.iter().map(move |name| {
                        let mut next = base.clone();
                        next.schemes.push(SchemeRequirement {
                            scheme: (*name).to_owned(),
                            scopes: s.scopes.clone(),
                        });
                        next
                    })
                })
                .collect();
        }
        for candidate in partial {
            if !expanded.contains(&candidate) {
                expanded.push(candidate);
            }
        }
    }
    Ok(expanded)
}

impl State {
    /// Whether `ctx` was made by the front of this state's `Security` (so
    /// its client IP was resolved with these trusted proxies).
    pub(crate) fn made(self: &Arc<Self>, ctx: &RequestContext) -> bool {
        ctx.owner()
            .is_some_and(|owner| std::ptr::addr_eq(Arc::as_ptr(owner), Arc::as_ptr(self)))
    }
}
