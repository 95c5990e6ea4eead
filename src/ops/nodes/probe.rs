//! One probe of one node, over the network: a TCP connect to the node's address, or an
//! HTTP(S) request whose connection is pinned to the node's address (the URL's host name is
//! sent, never resolved on its own, and redirects are not followed). The latency is the time
//! from the start of name resolution to the connection (TCP) or the response (HTTP).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::model::CheckKind;
use super::store::NodeRow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub latency_ms: i64,
    /// Why it failed ("" when it succeeded).
    pub error: String,
}

fn elapsed_ms(start: Instant) -> i64 {
    i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The node's address with `port`, resolved (an IP address resolves to itself).
async fn resolve(address: &str, port: u16) -> Result<SocketAddr, String> {
    let host = address.trim_matches(['[', ']']);
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("DNS: {host} has no address")),
        Err(e) => Err(format!("DNS: cannot resolve {host}: {e}")),
    }
}

pub async fn probe(node: &NodeRow) -> Outcome {
    let start = Instant::now();
    let timeout = Duration::from_millis(u64::try_from(node.timeout_ms).unwrap_or(5_000));
    let result = match node.check_kind {
        CheckKind::Tcp => tcp(node, timeout).await,
        CheckKind::Http => http(node, timeout).await,
    };
    Outcome {
        ok: result.is_ok(),
        latency_ms: elapsed_ms(start),
        error: result.err().unwrap_or_default(),
    }
}

async fn tcp(node: &NodeRow, timeout: Duration) -> Result<(), String> {
    let port = node
        .check_port
        .and_then(|p| u16::try_from(p).ok())
        .ok_or("no TCP port configured")?;
    let addr = tokio::time::timeout(timeout, resolve(&node.address, port))
        .await
        .map_err(|_| format!("DNS: resolving {} timed out", node.address))??;
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("TCP {addr}: {e}")),
        Err(_) => Err(format!(
            "TCP {addr}: no connection within {} ms",
            node.timeout_ms
        )),
    }
}

/// Root certificates for HTTPS checks, built once.
fn tls() -> Result<rustls::ClientConfig, String> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .map_err(|e| format!("TLS set-up: {e}"))
        })
        .clone()
}

async fn http(node: &NodeRow, timeout: Duration) -> Result<(), String> {
    let url = reqwest::Url::parse(&node.check_url).map_err(|e| format!("bad URL: {e}"))?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let addr = tokio::time::timeout(timeout, resolve(&node.address, port))
        .await
        .map_err(|_| format!("DNS: resolving {} timed out", node.address))??;
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent("mpanel-probe/1");
    if url.scheme() == "https" {
        builder = builder.use_preconfigured_tls(tls()?);
    }
    if let Some(host) = url.host_str()
        && host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_err()
    {
        // The name in the URL is sent (Host, SNI) but connects to the node's address only.
        builder = builder.resolve(host, addr);
    }
    let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
    let res = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("HTTP: no answer within {} ms", node.timeout_ms)
        } else if e.is_connect() {
            format!("HTTP: cannot connect to {addr}")
        } else {
            format!("HTTP: {e}")
        }
    })?;
    let expected = node.expected_status.unwrap_or(200);
    let got = i64::from(res.status().as_u16());
    if got == expected {
        Ok(())
    } else {
        Err(format!("HTTP status {got}, expected {expected}"))
    }
}
