//! Servers on 127.0.0.1:0 and the clients that call them, over real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `127.0.0.1:0`.
pub fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Serve `router` on a fresh loopback port, with the peer address available
/// to it (`ConnectInfo`); returns where it listens.
pub async fn serve_at(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(local()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// [`serve_at`], as a base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: Router) -> String {
    format!("http://{}", serve_at(router).await)
}

/// A client that ignores proxy settings and gives up after 10 s.
pub fn client() -> reqwest::Client {
    client_builder().build().unwrap()
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address), so
/// one test can play several clients.
pub fn client_from(ip: &str) -> reqwest::Client {
    client_builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
}

/// Send raw bytes, read until the server closes: (status, lower-cased head, body).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// Header value as text ("" when absent).
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
