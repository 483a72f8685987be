//! Serving a router over real sockets: plain HTTP ([`serve`]), HTTPS
//! ([`serve_tls`], HTTP/1.1 and HTTP/2 chosen by ALPN), and the plain-HTTP
//! listener that only redirects to HTTPS ([`redirect_listener`]), to the
//! configured public origin or an allowlisted host, never to whatever
//! `Host` a client sent ([`RedirectTarget`]).
//!
//! Each request gets `ConnectInfo<SocketAddr>` (the peer) and, over TLS, the
//! [`crate::headers::Tls`] marker in its extensions. Hyper's own header
//! limits are set to twice [`crate::limits::LimitsConfig`]'s, so the global
//! layer answers moderate excess with problem+json and hyper cuts off the rest.
//! Shutdown is graceful: stop accepting, let open connections finish (up to
//! `drain_timeout`), then close them.
//!
//! Connections are bounded too, so a client cannot hold file descriptors
//! forever: an HTTP/1 request head must arrive within `header_read_timeout`;
//! a connection of either protocol with no request in flight for
//! `idle_timeout` is closed (HTTP/2 with a `GOAWAY`); HTTP/2 peers are pinged
//! every `http2_keep_alive_interval` and dropped when a ping goes
//! unanswered for `http2_keep_alive_timeout`; and at most `max_connections`
//! are open at once. At the cap the server stops accepting: new connections
//! wait in the kernel's listen backlog (a client sees a slow connect, not a
//! reset) and are served, oldest first, as open ones close. All come from
//! [`LimitsConfig`] (`[harden.limits]`, `RAMPART_*`).

#[cfg(feature = "tls")]
pub mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
#[cfg(feature = "tls")]
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::harden::{HardenConfig, HardenLayer};
use crate::headers::Tls;
use crate::limits::LimitsConfig;
use crate::problem::Problem;
#[cfg(feature = "tls")]
use crate::tls::{CertReloader, TlsConfig, server_config};

/// Without the `tls` feature no TLS acceptor exists.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
enum TlsAcceptor {}

type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where and how to listen.
pub struct ServeConfig {
    /// The address to bind (port 0 picks a free port; see [`Serving::local_addr`]).
    pub addr: SocketAddr,
    /// Hyper's hard limit on request headers (default 128, twice the soft limit).
    pub max_headers: usize,
    /// Hyper's hard limit on header bytes (default 32 KiB, twice the soft limit).
    pub max_header_bytes: usize,
    /// Longest an HTTP/1 client may take to send a request head (default
    /// 30 s; `None`: no limit).
    pub header_read_timeout: Option<Duration>,
    /// A connection with no request in flight this long is closed (default
    /// 75 s; `None`: never).
    pub idle_timeout: Option<Duration>,
    /// Interval of HTTP/2 keep-alive pings (default 30 s; `None`: no pings).
    pub http2_keep_alive_interval: Option<Duration>,
    /// An HTTP/2 ping unanswered this long closes the connection (default 10 s).
    pub http2_keep_alive_timeout: Duration,
    /// Most connections open at once (default 10 000; `0`: no cap). At the
    /// cap, new connections wait in the listen backlog.
    pub max_connections: usize,
    /// Longest open connections may take to finish at shutdown (default 30 s).
    pub drain_timeout: Duration,
    shutdown: Option<ShutdownFuture>,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("addr", &self.addr)
            .field("max_headers", &self.max_headers)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("http2_keep_alive_interval", &self.http2_keep_alive_interval)
            .field("http2_keep_alive_timeout", &self.http2_keep_alive_timeout)
            .field("max_connections", &self.max_connections)
            .field("drain_timeout", &self.drain_timeout)
            .field("shutdown", &self.shutdown.is_some())
            .finish()
    }
}

impl ServeConfig {
    /// Listen on `addr` with the default limits.
    pub fn new(addr: SocketAddr) -> Self {
        ServeConfig {
            addr,
            max_headers: 0,
            max_header_bytes: 0,
            header_read_timeout: None,
            idle_timeout: None,
            http2_keep_alive_interval: None,
            http2_keep_alive_timeout: Duration::from_secs(10),
            max_connections: 0,
            drain_timeout: Duration::from_secs(30),
            shutdown: None,
        }
        .with_limits(&LimitsConfig::default())
    }

    /// Listen on `addr` with the default limits overlaid with the
    /// environment ([`LimitsConfig::apply_env`]: `RAMPART_IDLE_TIMEOUT_MS`,
    /// `RAMPART_MAX_CONNECTIONS` and the rest).
    pub fn from_env(addr: SocketAddr) -> Result<Self, crate::error::ConfigError> {
        let mut limits = LimitsConfig::default();
        limits.apply_env(|name| std::env::var(name).ok())?;
        Ok(ServeConfig::new(addr).with_limits(&limits))
    }

    /// Set hyper's hard limits to twice the soft limits of `limits`, and take
    /// its connection limits (timeouts, keep-alive, the connection cap).
    pub fn with_limits(mut self, limits: &LimitsConfig) -> Self {
        let ms = |n: u64| (n > 0).then(|| Duration::from_millis(n));
        self.max_headers = limits.max_headers.saturating_mul(2);
        self.max_header_bytes = limits.max_header_bytes.saturating_mul(2);
        self.header_read_timeout = ms(limits.header_read_timeout_ms);
        self.idle_timeout = ms(limits.idle_timeout_ms);
        self.http2_keep_alive_interval = ms(limits.http2_keep_alive_interval_ms);
        self.http2_keep_alive_timeout =
            Duration::from_millis(limits.http2_keep_alive_timeout_ms.max(1));
        self.max_connections = limits.max_connections;
        self
    }

    /// Shut down gracefully when `signal` completes (e.g. `tokio::signal::ctrl_c()`).
    pub fn with_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future + Send + 'static,
    {
        self.shutdown = Some(Box::pin(async move {
            signal.await;
        }));
        self
    }

    fn builder(&self) -> Builder<TokioExecutor> {
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_headers(self.max_headers)
            .max_buf_size(self.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(self.http2_keep_alive_interval)
            .keep_alive_timeout(self.http2_keep_alive_timeout)
            .max_header_list_size(u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX));
        builder
    }
}

/// A running server. Dropping it stops the server gracefully, as
/// [`Serving::shutdown`] does; a `main` keeps it with [`Serving::wait`]:
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// use rampart::server::{ServeConfig, serve};
/// let cfg = ServeConfig::new("0.0.0.0:8080".parse().unwrap())
///     .with_shutdown(async { let _ = tokio::signal::ctrl_c().await; });
/// serve(app, cfg).await?.wait().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Serving {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    #[cfg(feature = "tls")]
    reloader: Option<Arc<CertReloader>>,
}

impl Serving {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The certificate reloader of a TLS server.
    #[cfg(feature = "tls")]
    pub fn cert_reloader(&self) -> Option<&Arc<CertReloader>> {
        self.reloader.as_ref()
    }

    /// Stop accepting, let open connections finish, and wait.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Wait until the server stops (its shutdown signal fired).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Serve `router` over plain HTTP (HTTP/1.1, and HTTP/2 with prior knowledge).
/// A [`crate::Routes`] is served behind its `Security`'s front.
pub async fn serve(router: impl Into<Router>, cfg: ServeConfig) -> io::Result<Serving> {
    let router = router.into();
    let listener = TcpListener::bind(cfg.addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, router, cfg, None, stop_rx));
    Ok(Serving {
        local_addr,
        stop,
        task,
        #[cfg(feature = "tls")]
        reloader: None,
    })
}

#[cfg(feature = "tls")]
/// Serve `router` over TLS 1.2/1.3 with ALPN (`h2`, `http/1.1`), reloading
/// the certificate on SIGHUP and when its files change. Bad certificate
/// files are an `InvalidData` error naming the problem.
pub async fn serve_tls(router: impl Into<Router>, cfg: TlsConfig) -> io::Result<Serving> {
    let router = router.into();
    let invalid = |e: crate::harden::ConfigError| io::Error::new(io::ErrorKind::InvalidData, e);
    let reloader = CertReloader::load(&cfg.cert_path, &cfg.key_path).map_err(invalid)?;
    let acceptor = TlsAcceptor::from(server_config(reloader.clone()).map_err(invalid)?);
    let listener = TcpListener::bind(cfg.serve.addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    reloader.watch(cfg.reload_interval, cfg.reload_on_sighup, stop_rx.clone())?;
    let tls = Some((acceptor, cfg.handshake_timeout));
    let task = tokio::spawn(accept_loop(listener, router, cfg.serve, tls, stop_rx));
    Ok(Serving {
        local_addr,
        stop,
        task,
        reloader: Some(reloader),
    })
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut cfg: ServeConfig,
    tls: Option<(TlsAcceptor, Duration)>,
    mut stop: watch::Receiver<bool>,
) {
    let builder = Arc::new(cfg.builder());
    let mut signal = cfg
        .shutdown
        .take()
        .unwrap_or_else(|| Box::pin(std::future::pending()));
    let (drain, draining) = watch::channel(false);
    let mut connections = JoinSet::new();
    let idle = cfg.idle_timeout;
    let mut cap = ConnectionCap::new(cfg.max_connections);
    loop {
        // At the cap, wait for a connection to close before accepting the
        // next: meanwhile new connections wait in the listen backlog.
        let slot = tokio::select! {
            slot = cap.slot() => slot,
            _ = stop.changed() => break,
            () = &mut signal => break,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let stream = Counted { io: stream, _slot: slot };
                    let (builder, router, draining) = (builder.clone(), router.clone(), draining.clone());
                    match tls.clone() {
                        None => connections.spawn(connection(stream, peer, false, router, builder, idle, draining)),
                        #[cfg(not(feature = "tls"))]
                        Some((acceptor, _)) => match acceptor {},
                        #[cfg(feature = "tls")]
                        Some((acceptor, handshake_timeout)) => connections.spawn(async move {
                            if let Ok(Ok(stream)) = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                                connection(stream, peer, true, router, builder, idle, draining).await;
                            }
                        }),
                    };
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
            () = &mut signal => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = drain.send(true);
    let drained = tokio::time::timeout(cfg.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the drain timeout were closed");
    }
}

/// The connection cap: a semaphore of `max_connections` slots (none when 0).
struct ConnectionCap {
    slots: Option<Arc<Semaphore>>,
    max: usize,
    warned: Option<tokio::time::Instant>,
}

impl ConnectionCap {
    fn new(max: usize) -> Self {
        ConnectionCap {
            slots: (max > 0).then(|| Arc::new(Semaphore::new(max))),
            max,
            warned: None,
        }
    }

    /// A free slot, waiting for one at the cap (warning at most every 10 s).
    async fn slot(&mut self) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots.clone()?;
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return Some(slot);
        }
        let now = tokio::time::Instant::now();
        if self
            .warned
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10))
        {
            self.warned = Some(now);
            tracing::warn!(
                max_connections = self.max,
                "connection cap reached: new connections wait in the listen backlog until one closes"
            );
        }
        slots.acquire_owned().await.ok()
    }
}

/// A TCP stream holding its slot of the connection cap: the slot is freed
/// when the socket closes, wherever it went (an upgraded connection too).
struct Counted {
    io: TcpStream,
    _slot: Option<OwnedSemaphorePermit>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Requests in flight on one connection, and since when it has had none.
struct Activity {
    in_flight: AtomicUsize,
    idle_since: std::sync::Mutex<tokio::time::Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// When the connection became idle, or `None` while a request is in flight.
    fn idle_since(&self) -> Option<tokio::time::Instant> {
        let since = *self
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (self.in_flight.load(Ordering::Acquire) == 0).then_some(since)
    }
}

/// One request in flight, from the call until its response body is sent
/// (or dropped).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut since = self
            .0
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *since = tokio::time::Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight.
struct TrackedBody {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// How long an idle connection closed with a graceful shutdown (an HTTP/2
/// `GOAWAY` and its ping) may take before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(5);

async fn connection<I>(
    io: I,
    peer: SocketAddr,
    tls: bool,
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    idle: Option<Duration>,
    mut draining: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let tracked = activity.clone();
    let service = tower::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if tls {
            req.extensions_mut().insert(Tls);
        }
        let busy = Busy::start(&tracked);
        let call = router.clone().oneshot(req);
        async move {
            let response = call.await?;
            Ok::<_, std::convert::Infallible>(
                response.map(|inner| Body::new(TrackedBody { inner, _busy: busy })),
            )
        }
    });
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut check = idle.map(|idle| tokio::time::Instant::now() + idle);
    loop {
        let idle_check = async move {
            match check {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            _ = draining.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
                return;
            }
            () = idle_check => {
                let (Some(idle), now) = (idle, tokio::time::Instant::now()) else { return };
                match activity.idle_since() {
                    Some(since) if now.duration_since(since) >= idle => {
                        tracing::debug!(%peer, "closing an idle connection");
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(idle.min(IDLE_CLOSE_GRACE), conn.as_mut()).await;
                        return;
                    }
                    Some(since) => check = Some(since + idle),
                    None => check = Some(now + idle),
                }
            }
        }
    }
}

/// Where the plain-HTTP listener sends clients. Never the request's own
/// `Host` unchecked: that is chosen by the client (and behind a proxy names
/// the proxy's upstream), so an unchecked redirect could point anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget {
    /// Always this origin (`RAMPART_PUBLIC_ORIGIN`): `Location` is the
    /// origin followed by the request's path and query. The recommended
    /// setting in production.
    Origin(String),
    /// The request's host, only when it is one of `names` (the host names
    /// the TLS certificate covers, say), on `https_port` (left out when
    /// 443). Any other host is answered `400`.
    Hosts {
        /// Accepted host names and IP addresses, lower-case (IPv6 in brackets).
        names: Vec<String>,
        /// The HTTPS port.
        https_port: u16,
    },
}

impl RedirectTarget {
    /// Always redirect to `origin` (see [`crate::config::parse_public_origin`]),
    /// which must be `https://`.
    pub fn origin(origin: &crate::config::PublicOrigin) -> Result<Self, crate::error::ConfigError> {
        if !origin.origin.starts_with("https://") {
            return Err(crate::error::ConfigError::new(
                format!(
                    "the plain-HTTP listener cannot redirect to `{}`, which is not HTTPS",
                    origin.origin
                ),
                "set RAMPART_PUBLIC_ORIGIN to the https:// origin clients use",
            ));
        }
        Ok(RedirectTarget::Origin(origin.origin.clone()))
    }

    /// Redirect to the request's host when it is one of `names`, on `https_port`.
    pub fn hosts<I, S>(names: I, https_port: u16) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names = names
            .into_iter()
            .map(|name| {
                let name = name.as_ref().trim().to_ascii_lowercase();
                match name.parse::<std::net::Ipv6Addr>() {
                    Ok(_) => format!("[{name}]"),
                    Err(_) => name,
                }
            })
            .collect();
        RedirectTarget::Hosts { names, https_port }
    }

    /// The origin `RAMPART_PUBLIC_ORIGIN` (or `public-origin`) names if set,
    /// else the request's host when it is one of `names`, on `https_port`.
    pub fn from_config<S: AsRef<str>>(
        config: &crate::config::SecurityConfig,
        names: &[S],
        https_port: u16,
    ) -> Result<Self, crate::error::ConfigError> {
        match config.public_origin()? {
            Some(origin) => RedirectTarget::origin(&origin),
            None => Ok(RedirectTarget::hosts(
                names.iter().map(AsRef::as_ref),
                https_port,
            )),
        }
    }
}

/// A router that answers every `GET`/`HEAD` with `301` to the same path and
/// query on HTTPS at `target`, and anything else with `400` problem+json:
/// other methods, and (for [`RedirectTarget::Hosts`]) a missing or
/// malformed `Host` or one not among the names.
pub fn redirect_router(target: RedirectTarget) -> Router {
    let target = Arc::new(target);
    Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap| async move {
            redirect(&target, &method, &uri, &headers)
        },
    )
}

/// Listen on `addr` with [`redirect_router`] behind the global layer (request
/// ids and security headers; no HSTS, which only means something over TLS).
pub async fn redirect_listener(addr: SocketAddr, target: RedirectTarget) -> io::Result<Serving> {
    let cfg = HardenConfig::default();
    let router = redirect_router(target).layer(HardenLayer::new(&cfg));
    serve(router, ServeConfig::new(addr).with_limits(&cfg.limits)).await
}

fn redirect(target: &RedirectTarget, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return Problem::bad_request("this listener only redirects GET and HEAD requests to HTTPS")
            .into_response();
    }
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = match target {
        RedirectTarget::Origin(origin) => format!("{origin}{path}"),
        RedirectTarget::Hosts { names, https_port } => {
            let host = uri
                .authority()
                .map(|a| a.as_str())
                .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()));
            let Some(host) = host.and_then(crate::net::host_of) else {
                return Problem::bad_request("a valid Host header is required").into_response();
            };
            let Some(host) = names.iter().find(|name| name.eq_ignore_ascii_case(host)) else {
                return Problem::bad_request("this listener does not redirect for that host")
                    .into_response();
            };
            if *https_port == 443 {
                format!("https://{host}{path}")
            } else {
                format!("https://{host}:{https_port}{path}")
            }
        }
    };
    match HeaderValue::try_from(location) {
        Ok(location) => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => Problem::bad_request("the request target cannot be redirected").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use crate::net::host_of;

    #[test]
    fn hosts() {
        assert_eq!(host_of("example.com:8080"), Some("example.com"));
        assert_eq!(host_of("127.0.0.1"), Some("127.0.0.1"));
        assert_eq!(host_of("[::1]:80"), Some("[::1]"));
        for bad in [
            "",
            "a b",
            "ex@mple.com",
            "-x.com",
            "x.com:",
            "x.com:99999",
            "[zz]",
            "a..b",
        ] {
            assert_eq!(host_of(bad), None, "{bad}");
        }
    }
}
