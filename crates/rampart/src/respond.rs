//! Response helpers used by generated response enums.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::problem::Problem;

/// `status` with `body` serialized as JSON under `media_type`.
pub fn json<T: Serialize>(status: StatusCode, media_type: &'static str, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a response body could not be serialized");
            Problem::internal().into_response()
        }
    }
}

/// `status` with a text body under `media_type`.
pub fn text(status: StatusCode, media_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// The response of a service that answered without calling its inner
/// service (a refusal), taken out of its slot when its future is polled.
pub(crate) fn answered(
    response: &mut Option<axum::response::Response>,
) -> std::task::Poll<Result<axum::response::Response, std::convert::Infallible>> {
    use axum::response::IntoResponse as _;
    // Polled again after completion would be a caller bug: answer 500, never panic.
    std::task::Poll::Ready(Ok(response
        .take()
        .unwrap_or_else(|| crate::problem::Problem::internal().into_response())))
}

/// Whether the "client IP unknown" error was logged already (once per
/// process: every later refusal is logged at debug).
static CLIENT_IP_UNKNOWN_LOGGED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The answer when a step needs the client's address (the brute-force
/// lockout, a quota keyed by IP) and the server was run without the peer
/// address (`ConnectInfo<SocketAddr>`), or a trusted proxy forwarded an
/// unreadable client address ([`client_ip`](crate::rate::client_ip)): fail closed with `500` and say
/// loudly why, rather than silently turning the lockout off or sharing one
/// bucket between every anonymous client.
pub(crate) fn client_ip_unknown(operation: &str, needed_for: &'static str) -> Response {
    const FIX: &str = "the client IP is unknown: serve with rampart::server::serve or \
                       `into_make_service_with_connect_info::<SocketAddr>()` (or a trusted \
                       proxy forwarded a client address that is not an IP address); \
                       refusing requests that need it";
    if !CLIENT_IP_UNKNOWN_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::error!(
            target: "rampart::audit",
            event = "misconfigured",
            operation,
            needed_for,
            "{FIX}"
        );
    } else {
        tracing::debug!(
            target: "rampart::audit",
            event = "misconfigured",
            operation,
            needed_for,
            "{FIX}"
        );
    }
    Problem::internal().into_response()
}
