//! The per-route pipeline: ONE policy-aware tower layer that runs, in order
//! (DESIGN.md steps 3-7):
//!
//! 1. credentials in the URL (`?access_token=`, `?api_key=`, `?apikey=`,
//!    `?token=`, or an apiKey scheme's name) → 400, before anything reads them;
//! 2. brute-force lockout, consulted only for attempts that fail: a locked
//!    client IP (or client + key id) gets 429 with `Retry-After` instead of
//!    401; valid credentials are never refused; expired ones are not counted;
//! 3. authentication: OpenAPI `security` is an OR of ANDs; JWT bearer for
//!    http bearer / oauth2 / openIdConnect schemes, the named header for apiKey
//!    schemes → 401 with `WWW-Authenticate` (RFC 6750);
//! 4. authorization: scopes per scheme requirement → 403 `insufficient_scope`;
//!    roles with the hierarchy → 403;
//! 5. [rate limit: the per-principal limiter plugs in here];
//! 6. the [`Principal`] goes into the request extensions, and the handler runs.
//!
//! Public policies (no `security`) skip 2-6. Everything per route (challenge
//! header values, scheme lookups, role ranks) is computed once in
//! [`Security::guard`](crate::Security::guard), which refuses a policy that
//! asks for a check this skipping would drop (roles on a route that admits
//! anonymous callers, security requirements on a public one): a startup
//! error, never a route that is silently open.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Request, header};
use rampart_api::policy::OperationPolicy;
use tower::{Layer, Service};

use crate::access::missing_scope;
use crate::audit::{self, AuditContext};
use crate::auth::api_key::StoredKey;
use crate::auth::dpop::{DpopFailure, DpopMode, verify_proof};
use crate::auth::jwt::Identity;
use crate::auth::key_verify::KeyOutcome;
use crate::auth::lockout::LockTarget;
use crate::auth::replay::{FirstUse, ReplayKey, replay_key};
use crate::auth::url::find_url_credential;
use crate::auth::{bearer_token, dpop_token};
use crate::config::ConfigError;
use crate::context::RequestContext;
use crate::net::ClientIp;
use crate::plan::{MAX_SCHEMES_PER_ROUTE, RoutePlan, SchemeAuth, SchemeEntry, State};
use crate::principal::{AuthMethod, Principal};
use crate::problem::{Problem, kinds};
use crate::rate::{Outcome as RateOutcome, RateKeyValue, quota_exceeded, store_unavailable};
use crate::request_id::RequestId;
use http::HeaderName;
use http::request::Parts;
use pin_project_lite::pin_project;

/// The tower layer of one route's pipeline; made by [`Security::guard`](crate::Security::guard).
#[derive(Clone)]
pub struct GuardLayer {
    plan: Arc<RoutePlan>,
}

impl std::fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardLayer")
            .field("operation", &self.plan.operation)
            .field("public", &self.plan.public)
            .finish_non_exhaustive()
    }
}

impl GuardLayer {
    pub(crate) fn new(state: Arc<State>, policy: &OperationPolicy) -> Result<Self, ConfigError> {
        refuse_unchecked(policy)?;
        Ok(GuardLayer {
            plan: Arc::new(RoutePlan::new(state, policy)?),
        })
    }
}

/// A policy the guard would enforce less than it says: a public route (or
/// one without a security requirement) skips authentication and with it the
/// role and scope checks. Roles there, or requirements beside `public`, are
/// a mistake that would leave the route open to anyone: refused here, when
/// the router is built. (An empty alternative among the requirements is not
/// refused: it authenticates nobody, so the guard answers 401 on it, closed.)
fn refuse_unchecked(policy: &OperationPolicy) -> Result<(), ConfigError> {
    let route = format!(
        "operation `{}` ({} {})",
        policy.operation_id, policy.method, policy.path
    );
    if policy.public && !policy.security.is_empty() {
        let schemes = policy.schemes().join(", ");
        return Err(ConfigError::new(
            format!(
                "{route} is public but lists security requirements [{schemes}]: the guard skips them, \
                 scopes included, and admits anyone"
            ),
            "set `public: false` to require them, or clear `security` if the route is meant to be open to anyone",
        ));
    }
    if !policy.roles.is_empty() && (policy.public || policy.security.is_empty()) {
        let why = if policy.public {
            "is public"
        } else {
            "has no security requirement"
        };
        return Err(ConfigError::new(
            format!(
                "{route} requires roles [{}] but {why}, so it admits anonymous callers, who carry no roles: \
                 the guard would never check the roles and anyone could call it",
                policy.roles.join(", ")
            ),
            "require authentication: give the policy a security requirement \
             (`SecurityRequirement::scheme(\"bearerAuth\", [])`, `SecurityRequirement::any([])`, or \
             `#[secured(role = ...)]` without `public`) and leave `public` false; or drop the roles if the \
             route is meant to be open to anyone",
        ));
    }
    Ok(())
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            plan: self.plan.clone(),
        }
    }
}

/// The service [`GuardLayer`] wraps a route in.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    plan: Arc<RoutePlan>,
}

impl<S> std::fmt::Debug for Guard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("operation", &self.plan.operation)
            .finish_non_exhaustive()
    }
}

impl<S> Service<Request<Body>> for Guard<S>
where
    S: Service<Request<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let plan = &self.plan;
        let mut traced = false;
        let mut resumed = None;
        if plan.local {
            // Every store this route uses answers from memory: decide right
            // here, without a boxed future. A JWKS that must be fetched
            // (stale, or an unknown `kid`) or a key store that needs I/O
            // sends the request down the waiting path instead, before any
            // audit event but the request trace has been written.
            let (parts, body) = req.into_parts();
            let verdict = {
                let facts = Facts::of(plan, &parts);
                let decided =
                    std::pin::pin!(decide(plan, &parts, &facts, true, true, Memo::default()));
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let mut decided = decided;
                decided.as_mut().poll(&mut cx)
            };
            match verdict {
                Poll::Ready(Ok(Verdict::Refuse(response))) => {
                    return GuardFuture::refused(response).metered(plan);
                }
                Poll::Ready(Ok(Verdict::Admit {
                    principal,
                    rate_headers,
                })) => {
                    return match prepare(plan, principal, Request::from_parts(parts, body)) {
                        Ok((req, authenticated)) => GuardFuture {
                            state: GuardState::Inner {
                                future: self.inner.call(req),
                                post: Some(Post {
                                    plan: plan.clone(),
                                    rate_headers,
                                    authenticated,
                                }),
                            },
                            metered: None,
                        }
                        .metered(plan),
                        Err(problem) => GuardFuture::refused(problem.into_response()).metered(plan),
                    };
                }
                Poll::Ready(Err(resume)) => {
                    traced = true;
                    resumed = Some(resume);
                    req = Request::from_parts(parts, body);
                }
                // Unreachable: no-waiting stores never return `Pending`.
                Poll::Pending => {
                    traced = true;
                    resumed = Some(Resume::Authenticate(Box::default()));
                    req = Request::from_parts(parts, body);
                }
            }
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let plan = self.plan.clone();
        let metered = plan
            .metrics
            .is_some()
            .then(|| (plan.clone(), std::time::Instant::now()));
        GuardFuture {
            metered,
            state: GuardState::Waiting {
                future: Box::pin(async move {
                    let (parts, body) = req.into_parts();
                    let facts = Facts::of(&plan, &parts);
                    let verdict = match resumed {
                        None => decide(&plan, &parts, &facts, false, true, Memo::default()).await,
                        Some(Resume::Authenticate(memo)) => {
                            decide(&plan, &parts, &facts, false, !traced, *memo).await
                        }
                        Some(Resume::Admit(principal)) => {
                            admission(&plan, principal, facts.ip, false).await
                        }
                    };
                    let (principal, rate_headers) = match verdict {
                        Ok(Verdict::Admit {
                            principal,
                            rate_headers,
                        }) => (principal, rate_headers),
                        Ok(Verdict::Refuse(response)) => return response,
                        // Unreachable: the waiting path never gives up.
                        Err(_) => return Problem::internal().into_response(),
                    };
                    let req = Request::from_parts(parts, body);
                    let (req, authenticated) = match prepare(&plan, principal, req) {
                        Ok(ready) => ready,
                        Err(problem) => return problem.into_response(),
                    };
                    let mut response = match inner.call(req).await {
                        Ok(response) => response.into_response(),
                        Err(never) => match never {},
                    };
                    Post {
                        plan,
                        rate_headers,
                        authenticated,
                    }
                    .apply(&mut response);
                    response
                }),
            },
        }
    }
}

pin_project! {
    /// Response future of [`Guard`]: refused, admitted without waiting (the
    /// handler's own future, unboxed), or boxed when a store must be awaited
    /// (Redis, a JWKS fetch, a remote key store).
    pub struct GuardFuture<F> {
        #[pin]
        state: GuardState<F>,
        // The route's series and when the guard started, while metrics are on.
        metered: Option<(Arc<RoutePlan>, std::time::Instant)>,
    }
}

pin_project! {
    #[project = GuardProj]
    enum GuardState<F> {
        Refused { response: Option<Response> },
        Inner { #[pin] future: F, post: Option<Post> },
        Waiting { future: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> GuardFuture<F> {
    fn refused(response: Response) -> Self {
        GuardFuture {
            state: GuardState::Refused {
                response: Some(response),
            },
            metered: None,
        }
    }

    /// Count the answer in the route's metrics (when they are on).
    fn metered(mut self, plan: &Arc<RoutePlan>) -> Self {
        if plan.metrics.is_some() {
            self.metered = Some((plan.clone(), std::time::Instant::now()));
        }
        self
    }
}

impl<F, R> Future for GuardFuture<F>
where
    F: Future<Output = Result<R, Infallible>>,
    R: IntoResponse,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = match this.state.project() {
            GuardProj::Refused { response } => crate::respond::answered(response),
            GuardProj::Inner { future, post } => {
                let response = match std::task::ready!(future.poll(cx)) {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let mut response = response.into_response();
                if let Some(post) = post.take() {
                    post.apply(&mut response);
                }
                Poll::Ready(Ok(response))
            }
            GuardProj::Waiting { future } => future.as_mut().poll(cx).map(Ok),
        };
        if let (Poll::Ready(Ok(response)), Some((plan, started))) = (&answer, this.metered.take())
            && let Some(metrics) = &plan.metrics
        {
            metrics.record(response.status().as_u16(), started.elapsed());
        }
        answer
    }
}

/// A store that would have to be awaited, met on the no-waiting path.
#[derive(Debug)]
struct WouldBlock;

/// The credentials a request presented, each scheme's outcome by slot.
type Memo = [Option<Outcome>; MAX_SCHEMES_PER_ROUTE];

/// Where the waiting path picks up a decision the no-waiting path gave up
/// on, so that nothing is done twice: no credential is verified twice and
/// no audit event is written twice.
enum Resume {
    /// Authentication and what follows, with the credentials evaluated so
    /// far (no event but the request trace was written).
    Authenticate(Box<Memo>),
    /// The caller is authenticated (and audited as such): the admission
    /// steps, sunset and the rate limit.
    Admit(Option<Principal>),
}

/// What the decision steps concluded.
enum Verdict {
    Refuse(Response),
    Admit {
        principal: Option<Principal>,
        rate_headers: Option<[(HeaderName, HeaderValue); 2]>,
    },
}

/// What the guard needs from the request context: the request id and the
/// client IP, computed once by the front (a route guarded outside a
/// hardened router computes its own, once).
struct Facts {
    request_id: Option<RequestId>,
    ip: Option<IpAddr>,
}

impl Facts {
    fn of(plan: &RoutePlan, req: &Parts) -> Self {
        let context = req.extensions.get::<RequestContext>();
        let ip = match context {
            Some(ctx) if plan.state.made(ctx) => ctx.client_ip(),
            _ => crate::context::peer(&req.extensions)
                .and_then(|peer| crate::rate::client_ip(peer, &req.headers, &plan.state.trusted)),
        };
        // A route guarded outside the front makes its own id, trusting the
        // caller's only where the front would (`trust-incoming`).
        let request_id = match context {
            Some(_) => None,
            None => {
                let ids = &plan.state.harden.request_id;
                let incoming = ids
                    .trust_incoming
                    .then(|| req.headers.get(&ids.header).and_then(RequestId::parse))
                    .flatten();
                Some(incoming.unwrap_or_else(RequestId::generate))
            }
        };
        Facts { request_id, ip }
    }

    fn request_id<'a>(&'a self, req: &'a Parts) -> &'a RequestId {
        match &self.request_id {
            Some(id) => id,
            None => req
                .extensions
                .get::<RequestContext>()
                .map(RequestContext::request_id)
                .unwrap_or(&FALLBACK_ID),
        }
    }
}

/// Never used: a request without a context always has its own id in [`Facts`].
static FALLBACK_ID: std::sync::LazyLock<RequestId> = std::sync::LazyLock::new(RequestId::generate);

/// After the handler: the RateLimit and deprecation headers, and the
/// no-store marker for authenticated responses.
struct Post {
    plan: Arc<RoutePlan>,
    rate_headers: Option<[(HeaderName, HeaderValue); 2]>,
    authenticated: bool,
}

impl Post {
    fn apply(self, response: &mut Response) {
        if let Some(headers) = self.rate_headers {
            for (name, value) in headers {
                response.headers_mut().insert(name, value);
            }
        }
        if let Some(deprecated) = &self.plan.deprecated {
            deprecated.apply(response.headers_mut());
        }
        if self.authenticated {
            response
                .extensions_mut()
                .insert(crate::headers::Authenticated);
        }
    }
}

/// Run `$local` when `local` (a `None` answer gives up with [`WouldBlock`],
/// or with `$blocked`), else await `$waiting`.
macro_rules! store {
    ($local_mode:expr, $local:expr, $waiting:expr) => {
        store!($local_mode, $local, $waiting, WouldBlock)
    };
    ($local_mode:expr, $local:expr, $waiting:expr, $blocked:expr) => {
        if $local_mode {
            match $local {
                Some(answer) => answer,
                None => return Err($blocked),
            }
        } else {
            $waiting.await
        }
    };
}

#[derive(Clone)]
enum Outcome {
    Missing,
    Invalid {
        reason: &'static str,
        key_id: Option<String>,
        /// A DPoP refusal, answered with its RFC 9449 challenge.
        dpop: Option<DpopFailure>,
    },
    Unavailable,
    /// Every remote key lookup of this instance was in use.
    Busy,
    /// The client is locked out, found before a remote key lookup (seconds left).
    Locked(u64),
    Jwt(Arc<Identity>),
    Key(Arc<StoredKey>),
}

fn invalid(reason: &'static str) -> Outcome {
    Outcome::Invalid {
        reason,
        key_id: None,
        dpop: None,
    }
}

fn dpop_invalid(why: DpopFailure) -> Outcome {
    Outcome::Invalid {
        reason: why.as_str(),
        key_id: None,
        dpop: Some(why),
    }
}

/// Reasons that are not a guess at a credential, so not counted towards the
/// lockout: an expired credential was valid once, and a DPoP nonce request
/// is the protocol's normal first round trip.
fn counts_as_guess(reason: &str) -> bool {
    reason != "expired" && reason != DpopFailure::Nonce.as_str()
}

fn single<'h>(
    headers: &'h HeaderMap,
    name: &header::HeaderName,
) -> Result<Option<&'h HeaderValue>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// The `DPoP` proof header (RFC 9449).
static DPOP: HeaderName = HeaderName::from_static("dpop");

/// The request's target URI as a DPoP `htu` names it: the configured public
/// origin (or the connection's scheme and `Host`) and the path the client
/// sent (before any nesting stripped a prefix).
fn request_uri(state: &State, req: &Parts) -> Option<String> {
    let path = req
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(req.uri.path(), |o| o.0.path());
    match &state.public_origin {
        Some(origin) => Some(format!("{}{path}", origin.origin)),
        None => {
            let scheme = if req.extensions.get::<crate::headers::Tls>().is_some() {
                "https"
            } else {
                req.uri.scheme_str().unwrap_or("http")
            };
            let host = req
                .uri
                .authority()
                .map(|a| a.as_str())
                .or_else(|| req.headers.get(header::HOST).and_then(|h| h.to_str().ok()))?;
            Some(format!("{scheme}://{host}{path}"))
        }
    }
}

/// Remember `key` until `expires` unless it was seen before; an identifier
/// this request already consumed (two schemes reading one proof) is not a
/// replay.
async fn first_use(
    state: &State,
    consumed: &mut Vec<ReplayKey>,
    key: ReplayKey,
    expires: u64,
    now: u64,
    local: bool,
) -> Result<FirstUse, WouldBlock> {
    if consumed.contains(&key) {
        return Ok(FirstUse::First);
    }
    let answer = store!(
        local,
        state.replay.first_use_now(&key, expires, now),
        state.replay.first_use(&key, expires, now)
    );
    if answer == FirstUse::First {
        consumed.push(key);
    }
    Ok(answer)
}

async fn evaluate(
    plan: &RoutePlan,
    slot: usize,
    req: &Parts,
    ip: Option<IpAddr>,
    consumed: &mut Vec<ReplayKey>,
    local: bool,
) -> Result<Outcome, WouldBlock> {
    let inner = &*plan.state;
    let headers = &req.headers;
    Ok(match &inner.schemes[plan.schemes[slot]].auth {
        SchemeAuth::Jwt(verifier) => {
            let Ok(value) = single(headers, &header::AUTHORIZATION) else {
                return Ok(invalid("several_authorization_headers"));
            };
            let Some(value) = value else {
                return Ok(Outcome::Missing);
            };
            let rules = verifier.dpop();
            let (token, via_dpop) =
                match (bearer_token(value.as_bytes()), dpop_token(value.as_bytes())) {
                    (Some(token), _) => (token, false),
                    (None, Some(token)) if rules.mode != DpopMode::Off => (token, true),
                    _ => return Ok(Outcome::Missing),
                };
            let Ok(token) = std::str::from_utf8(token) else {
                return Ok(invalid("malformed"));
            };
            if !via_dpop && rules.mode == DpopMode::Required {
                return Ok(dpop_invalid(DpopFailure::BearerNotAllowed));
            }
            let identity = match store!(local, verifier.verify_now(token), verifier.verify(token)) {
                Ok(identity) => identity,
                Err(crate::auth::jwt::JwtFailure::JwksStale) => return Ok(Outcome::Unavailable),
                Err(why) => return Ok(invalid(why.as_str())),
            };
            let now = inner.clock.unix_secs();
            if via_dpop {
                let proof = match single(headers, &DPOP) {
                    Ok(Some(proof)) => proof,
                    _ => return Ok(dpop_invalid(DpopFailure::MissingProof)),
                };
                let (Ok(proof), Some(htu)) = (proof.to_str(), request_uri(inner, req)) else {
                    return Ok(dpop_invalid(DpopFailure::Malformed));
                };
                let proof = match verify_proof(proof, req.method.as_str(), &htu, token, rules, now)
                {
                    Ok(proof) => proof,
                    Err(why) => return Ok(dpop_invalid(why)),
                };
                // The token must be bound to the very key that signed the proof.
                if identity.cnf_jkt.as_deref() != Some(proof.jkt.as_str()) {
                    return Ok(dpop_invalid(DpopFailure::Binding));
                }
                let key = replay_key(&format!("dpop:{}", proof.jkt), &proof.jti);
                let expires = proof
                    .iat
                    .saturating_add(rules.max_age)
                    .saturating_add(rules.leeway.saturating_mul(2))
                    .max(now.saturating_add(1));
                match first_use(inner, consumed, key, expires, now, local).await? {
                    FirstUse::First => {}
                    FirstUse::Replayed => return Ok(dpop_invalid(DpopFailure::Replayed)),
                    FirstUse::Unavailable => return Ok(Outcome::Unavailable),
                }
            } else if identity.bound {
                // A sender-constrained token sent without its proof: the
                // downgrade RFC 9449 §7.2 warns about.
                return Ok(dpop_invalid(DpopFailure::BoundTokenAsBearer));
            }
            if plan.one_time || verifier.one_time() {
                let Some(jti) = &identity.jti else {
                    return Ok(invalid("no_jti"));
                };
                let namespace = format!("jwt:{}", identity.issuer.as_deref().unwrap_or(""));
                let expires = identity
                    .expires
                    .saturating_add(verifier.rules().leeway)
                    .max(now.saturating_add(1));
                let key = replay_key(&namespace, jti);
                match first_use(inner, consumed, key, expires, now, local).await? {
                    FirstUse::First => {}
                    FirstUse::Replayed => return Ok(invalid("token_replayed")),
                    FirstUse::Unavailable => return Ok(Outcome::Unavailable),
                }
            }
            Outcome::Jwt(identity)
        }
        SchemeAuth::ApiKey(verifier) => {
            let Ok(value) = single(headers, &verifier.header) else {
                return Ok(invalid("several_key_headers"));
            };
            let Some(value) = value else {
                return Ok(Outcome::Missing);
            };
            let outcome = match verifier.verify_now(value.as_bytes()) {
                Some(outcome) => outcome,
                None if local => return Err(WouldBlock),
                None => {
                    // A remote lookup: none is made for a locked-out client,
                    // so guesses from it cost the key store nothing.
                    let now = inner.clock.unix_secs();
                    if let Some(client) = ip.map(crate::rate::ip_bucket)
                        && let Some(retry_after) =
                            inner.lockout.locked(LockTarget::Ip(client), now).await
                    {
                        return Ok(Outcome::Locked(retry_after));
                    }
                    verifier.verify(value.as_bytes()).await
                }
            };
            match outcome {
                KeyOutcome::Valid(key) => Outcome::Key(key),
                KeyOutcome::Invalid { why, key_id } => Outcome::Invalid {
                    reason: why.as_str(),
                    key_id,
                    dpop: None,
                },
                KeyOutcome::Unavailable => Outcome::Unavailable,
                KeyOutcome::Busy => Outcome::Busy,
            }
        }
    })
}

fn add_identity(principal: &mut Option<Principal>, scheme: &str, outcome: &Outcome) {
    let (subject, roles, scopes, method, key_id): (&str, &[String], &[String], _, _) = match outcome
    {
        Outcome::Jwt(id) => (&id.subject, &id.roles, &id.scopes, AuthMethod::Jwt, None),
        Outcome::Key(key) => (
            &key.id,
            &key.roles,
            &key.scopes,
            AuthMethod::ApiKey,
            Some(&key.id),
        ),
        _ => return,
    };
    let issuer = match outcome {
        Outcome::Jwt(id) => id.issuer.as_ref(),
        _ => None,
    };
    match principal {
        None => {
            *principal = Some(Principal {
                subject: subject.to_owned(),
                roles: roles.to_vec(),
                scopes: scopes.to_vec(),
                method,
                scheme: scheme.to_owned(),
                key_id: key_id.cloned(),
                issuer: issuer.cloned(),
            });
        }
        Some(p) => {
            p.roles.extend(roles.iter().cloned());
            p.scopes.extend(scopes.iter().cloned());
            if p.key_id.is_none() {
                p.key_id = key_id.cloned();
            }
        }
    }
}

fn too_many(retry_after: u64) -> Response {
    Problem::too_many_requests(
        "auth-lockout",
        retry_after.max(1),
        "too many failed authentication attempts; try again later",
    )
    .into_response()
}

/// 401 for a DPoP refusal: the RFC 9449 §7.1 challenge with its error code
/// (and a fresh `DPoP-Nonce` when a nonce is what was missing); a route
/// without DPoP schemes (a bound token sent as Bearer) gets a Bearer
/// `invalid_token` challenge.
fn dpop_refusal(plan: &RoutePlan, why: DpopFailure, now: u64) -> Response {
    let detail = match why {
        DpopFailure::Nonce => "a DPoP proof with the server's nonce is required",
        DpopFailure::BoundTokenAsBearer => {
            "the access token is bound to a key: send it with `Authorization: DPoP` and a proof"
        }
        DpopFailure::BearerNotAllowed => {
            "this operation accepts only DPoP-bound tokens: send `Authorization: DPoP` and a proof"
        }
        _ => "the DPoP proof was not accepted",
    };
    let realm = &plan.state.realm;
    let text = match &plan.dpop_challenge {
        Some(base) => format!("{base}, error=\"{}\"", why.error_code()),
        None => format!("Bearer realm=\"{realm}\", error=\"invalid_token\""),
    };
    let mut problem = Problem::of(kinds::UNAUTHORIZED).detail(detail);
    if let Ok(value) = HeaderValue::try_from(text) {
        problem = problem.header(header::WWW_AUTHENTICATE, value);
    }
    if why == DpopFailure::Nonce {
        let nonce = plan
            .schemes
            .iter()
            .find_map(|i| match &plan.state.schemes[*i].auth {
                SchemeAuth::Jwt(v) => v.dpop().nonce_key.as_ref().map(|k| k.current(now)),
                SchemeAuth::ApiKey(_) => None,
            });
        if let Some(value) = nonce.and_then(|n| HeaderValue::try_from(n).ok()) {
            problem = problem.header(DPOP_NONCE.clone(), value);
        }
    }
    problem.into_response()
}

/// The `DPoP-Nonce` response header (RFC 9449 §8).
static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

fn unauthorized(challenges: &[HeaderValue], detail: &'static str) -> Response {
    let mut problem = Problem::of(kinds::UNAUTHORIZED).detail(detail);
    for c in challenges {
        problem = problem.header(header::WWW_AUTHENTICATE, c.clone());
    }
    problem.into_response()
}

/// DESIGN.md steps 3-7 for one request: credentials in the URL, lockout,
/// authentication, authorization, sunset, rate limit. With `local`, every
/// store is asked through its no-waiting variant and a store that would
/// have to be awaited gives up with where to [`Resume`]: either before any
/// audit event but the request trace (written only when `trace`), with the
/// credentials evaluated so far, or once the caller is authenticated.
/// `memo` holds credentials an earlier attempt evaluated.
async fn decide(
    plan: &RoutePlan,
    req: &Parts,
    facts: &Facts,
    local: bool,
    trace: bool,
    mut memo: Memo,
) -> Result<Verdict, Resume> {
    let security = &*plan.state;
    let ip = facts.ip;
    if trace && tracing::enabled!(target: "rampart::audit", tracing::Level::TRACE) {
        tracing::trace!(
            target: "rampart::audit",
            event = "request",
            operation = %plan.operation,
            client_ip = %ClientIp::or_dash(ip.map(ClientIp)),
            method = %req.method,
            path = req.uri.path(),
            query = %security.redactor.query(req.uri.query().unwrap_or("")),
            headers = %security.redactor.headers(&req.headers),
            "request received"
        );
    }
    let ctx = AuditContext {
        request_id: facts.request_id(req),
        client_ip: ip.map(ClientIp),
        operation: &plan.operation,
    };

    // 3. Credentials in the URL are refused before anything reads them.
    if let Some(param) = req
        .uri
        .query()
        .and_then(|q| find_url_credential(q, &security.url_params))
    {
        audit::url_credentials(&ctx, &param);
        return Ok(Verdict::Refuse(
            Problem::of(kinds::CREDENTIALS_IN_URL)
                .detail("credentials must not be sent in the URL; send them in a request header")
                .into_response(),
        ));
    }
    if plan.public {
        return admission(plan, None, ip, local).await;
    }

    // The clock is read once. The brute-force lockout (4) is consulted only
    // for attempts that fail: valid credentials are never refused, so a
    // client that shares an address with an attacker (NAT, a proxy) keeps
    // working.
    let now = security.clock.unix_secs();

    // 5. Authentication: OR of ANDs, each scheme's credential checked at most once.
    let mut consumed: Vec<ReplayKey> = Vec::new();
    let mut scope_denied: Option<&HeaderValue> = None;
    let mut scope_principal: Option<Principal> = None;
    let mut role_denied: Option<Principal> = None;
    for alternative in plan.alternatives.iter() {
        let mut principal: Option<Principal> = None;
        let mut authenticated = true;
        let mut scopes_ok = true;
        let mut scope_challenge = None;
        for req_scheme in alternative.iter() {
            if memo[req_scheme.slot].is_none() {
                match evaluate(plan, req_scheme.slot, req, ip, &mut consumed, local).await {
                    Ok(outcome) => memo[req_scheme.slot] = Some(outcome),
                    Err(WouldBlock) => return Err(Resume::Authenticate(Box::new(memo))),
                }
            }
            let outcome = memo[req_scheme.slot].as_ref().unwrap_or(&Outcome::Missing);
            let granted: &[String] = match outcome {
                Outcome::Jwt(id) => &id.scopes,
                Outcome::Key(key) => &key.scopes,
                _ => {
                    authenticated = false;
                    break;
                }
            };
            if scopes_ok && missing_scope(&req_scheme.scopes, granted).is_some() {
                scopes_ok = false;
                scope_challenge = req_scheme.scope_challenge.as_ref();
            }
            let name = &security.schemes[plan.schemes[req_scheme.slot]].name;
            add_identity(&mut principal, name, outcome);
        }
        if !authenticated {
            continue;
        }
        let Some(principal) = principal else { continue };
        if !scopes_ok {
            if scope_denied.is_none() {
                scope_denied = scope_challenge.or(Some(&plan.missing[0]));
                scope_principal = Some(principal);
            }
            continue;
        }
        // 6. Authorization: roles, stronger satisfying weaker.
        if !plan.roles.allows(&security.roles, &principal.roles) {
            role_denied.get_or_insert(principal);
            continue;
        }

        if tracing::enabled!(target: "rampart::audit", tracing::Level::INFO) {
            audit::success(&ctx, &principal);
        }
        return admission(plan, Some(principal), ip, local).await;
    }

    // No alternative passed: answer for the most telling outcome.
    let evaluated = || {
        memo.iter().enumerate().filter_map(|(slot, o)| {
            o.as_ref()
                .map(|o| (&security.schemes[plan.schemes[slot]], o))
        })
    };
    // A locked-out client whose key would have needed a remote lookup.
    if let Some(retry_after) = memo.iter().find_map(|o| match o {
        Some(Outcome::Locked(secs)) => Some(*secs),
        _ => None,
    }) && let Some(client) = ip.map(crate::rate::ip_bucket)
    {
        audit::locked(&ctx, LockTarget::Ip(client), retry_after);
        return Ok(Verdict::Refuse(too_many(retry_after)));
    }
    // Every JWT scheme reads the one bearer token: when one of them verified
    // it, another scheme's refusal (another audience, issuer or `typ`) does
    // not make it a bad credential, let alone a brute-force attempt.
    let token_verified = memo.iter().any(|o| matches!(o, Some(Outcome::Jwt(_))));
    // Every credential the request carried that failed: all are counted, so
    // an expired (uncounted) token sent beside API-key guesses does not hide
    // the guesses from the lockout.
    let failures: Vec<(
        &SchemeEntry,
        &'static str,
        Option<&str>,
        Option<DpopFailure>,
    )> = evaluated()
        .filter_map(|(e, o)| match o {
            Outcome::Invalid { .. } if token_verified && matches!(e.auth, SchemeAuth::Jwt(_)) => {
                None
            }
            Outcome::Invalid {
                reason,
                key_id,
                dpop,
            } => Some((e, *reason, key_id.as_deref(), *dpop)),
            _ => None,
        })
        .collect();
    if let Some(&(entry, _, _, _)) = failures.first() {
        // Failures of one key id count per client, so nobody can lock a real
        // key out by sending its (public) id with a wrong secret.
        // Clients are grouped as the rate limiter groups them: IPv6 by /64
        // (one subscriber's prefix), so rotating addresses inside it does
        // not reset the count.
        let client = ip.map(crate::rate::ip_bucket);
        if client.is_none() && security.lockout.is_on() {
            // Without the client's address failures cannot be counted per
            // client: fail closed rather than switch the lockout off.
            return Ok(Verdict::Refuse(crate::respond::client_ip_unknown(
                &plan.operation,
                "lockout",
            )));
        }
        let client_keys: Vec<(String, bool)> = failures
            .iter()
            .filter_map(|(_, reason, key, _)| {
                key.map(|id| {
                    let key = match client {
                        Some(client) => format!("{id}@{client}"),
                        None => id.to_owned(),
                    };
                    (key, counts_as_guess(reason))
                })
            })
            .collect();
        let guessed = failures
            .iter()
            .any(|(_, reason, _, _)| counts_as_guess(reason));
        let targets = || {
            client
                .map(|c| (LockTarget::Ip(c), guessed))
                .into_iter()
                .chain(
                    client_keys
                        .iter()
                        .map(|(key, counted)| (LockTarget::KeyId(key), *counted)),
                )
        };
        // `local` routes have a local lockout (checked when the plan was
        // built), so these never give up after an event was logged.
        for (target, _) in targets() {
            let locked = store!(
                local,
                security.lockout.locked_local(target, now),
                security.lockout.locked(target, now),
                Resume::Authenticate(Box::new(memo.clone()))
            );
            if let Some(retry_after) = locked {
                audit::locked(&ctx, target, retry_after);
                return Ok(Verdict::Refuse(too_many(retry_after)));
            }
        }
        for (entry, reason, key, _) in &failures {
            audit::failure(&ctx, &entry.name, reason, *key, 401);
        }
        security.alerts.failure(&plan.operation);
        for (target, counted) in targets() {
            if !counted {
                continue;
            }
            let locked = store!(
                local,
                security.lockout.fail_local(target, now),
                security.lockout.fail(target, now),
                Resume::Authenticate(Box::new(memo.clone()))
            );
            if let Some(secs) = locked {
                audit::lockout(&ctx, target, secs);
                if let Some(policy) = security.lockout.policy() {
                    security.alerts.lockout(
                        ip.map(crate::net::ClientIp),
                        &plan.operation,
                        u64::from(policy.threshold),
                        policy.window,
                    );
                }
            }
        }
        if let Some(why) = failures.iter().find_map(|(_, _, _, dpop)| *dpop) {
            return Ok(Verdict::Refuse(dpop_refusal(plan, why, now)));
        }
        let challenges = match entry.auth {
            SchemeAuth::Jwt(_) => &plan.invalid_jwt,
            SchemeAuth::ApiKey(_) => &plan.invalid_key,
        };
        return Ok(Verdict::Refuse(unauthorized(
            challenges,
            "the credentials were not accepted",
        )));
    }
    if let Some((entry, _)) = evaluated().find(|(_, o)| matches!(o, Outcome::Busy)) {
        audit::lookups_busy(&ctx, &entry.name);
        return Ok(Verdict::Refuse(
            Problem::unavailable("too many credential checks are in progress; retry shortly")
                .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
                .into_response(),
        ));
    }
    if let Some((entry, _)) = evaluated().find(|(_, o)| matches!(o, Outcome::Unavailable)) {
        audit::unavailable(&ctx, &entry.name);
        return Ok(Verdict::Refuse(
            Problem::unavailable("authentication is temporarily unavailable").into_response(),
        ));
    }
    if let (Some(challenge), Some(principal)) = (scope_denied, scope_principal) {
        audit::forbidden(&ctx, &principal, "insufficient_scope");
        return Ok(Verdict::Refuse(
            Problem::of(kinds::INSUFFICIENT_SCOPE)
                .detail("the token lacks a scope this operation requires")
                .header(header::WWW_AUTHENTICATE, challenge.clone())
                .into_response(),
        ));
    }
    if let Some(principal) = role_denied {
        audit::forbidden(&ctx, &principal, "role");
        return Ok(Verdict::Refuse(
            Problem::forbidden("the caller's role may not perform this operation").into_response(),
        ));
    }
    audit::failure(&ctx, "-", "no_credentials", None, 401);
    Ok(Verdict::Refuse(unauthorized(
        &plan.missing,
        "authentication is required",
    )))
}

/// Steps after authorization: sunset (410), then the per-principal rate
/// limit (7).
async fn admission(
    plan: &RoutePlan,
    principal: Option<Principal>,
    ip: Option<IpAddr>,
    local: bool,
) -> Result<Verdict, Resume> {
    if let Some(deprecated) = &plan.deprecated
        && let Err(gone) = deprecated.check(principal.as_ref())
    {
        let mut response = gone.into_response();
        deprecated.apply(response.headers_mut());
        return Ok(Verdict::Refuse(response));
    }
    let mut rate_headers = None;
    if let Some(rate) = &plan.rate {
        let Some(key) = RateKeyValue::for_policy_if_known(plan.rate_key, principal.as_ref(), ip)
        else {
            // One bucket for every client would be no quota at all.
            return Ok(Verdict::Refuse(crate::respond::client_ip_unknown(
                &plan.operation,
                "rate limit by client IP",
            )));
        };
        let decision = if local {
            match rate.check_now(key) {
                Some(decision) => decision,
                // Redis must be asked: the waiting path picks up here.
                None => return Err(Resume::Admit(principal)),
            }
        } else {
            rate.check(key).await
        };
        match decision.outcome {
            RateOutcome::Limited => {
                return Ok(Verdict::Refuse(
                    quota_exceeded(rate.name(), rate.rate(), &decision).into_response(),
                ));
            }
            RateOutcome::Unavailable => {
                return Ok(Verdict::Refuse(
                    store_unavailable(rate.name()).into_response(),
                ));
            }
            RateOutcome::Allowed => rate_headers = Some(rate.headers(&decision)),
            RateOutcome::FailedOpen => {}
        }
    }
    Ok(Verdict::Admit {
        principal,
        rate_headers,
    })
}

/// The body limit (`413` for a declared length over it; a body is read at
/// most up to it), and the [`Principal`] into the request extensions.
/// Returns the request and whether the caller is authenticated.
fn prepare(
    plan: &RoutePlan,
    principal: Option<Principal>,
    mut req: Request<Body>,
) -> Result<(Request<Body>, bool), Problem> {
    if let Some(limit) = plan.body_limit {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(Problem::payload_too_large(limit));
        }
        // A request without a body (most GETs) needs no limited wrapper.
        if !http_body::Body::is_end_stream(req.body()) {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
        }
    }
    let authenticated = principal.is_some();
    if let Some(principal) = principal {
        req.extensions_mut().insert(principal);
    }
    Ok((req, authenticated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_url_credentials_even_encoded() {
        let names: Vec<String> = ["access_token", "token", "x-api-key"]
            .map(String::from)
            .to_vec();
        assert_eq!(find_url_credential("a=1&b=2", &names), None);
        assert_eq!(
            find_url_credential("a=1&TOKEN=x", &names).as_deref(),
            Some("TOKEN")
        );
        assert_eq!(
            find_url_credential("access%5Ftoken=x", &names).as_deref(),
            Some("access_token")
        );
        assert_eq!(
            find_url_credential("X-API-Key", &names).as_deref(),
            Some("X-API-Key")
        );
        assert_eq!(find_url_credential("tokens=1", &names), None);
    }
}
