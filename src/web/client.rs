//! The client's address and user agent, trusting `X-Forwarded-For` only from configured proxies.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::actor::ClientInfo;
use crate::state::AppState;

const MAX_USER_AGENT: usize = 400;

/// The client IP: the peer, unless the peer is a trusted proxy, in which case the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

pub fn client_info(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> ClientInfo {
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(MAX_USER_AGENT)
        .collect();
    ClientInfo {
        ip: client_ip(peer, headers, trusted).to_string(),
        user_agent,
    }
}

/// Puts a [`ClientInfo`] into every request's extensions.
pub async fn attach_client_info(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let info = client_info(peer, req.headers(), &state.config.trusted_proxies);
    req.extensions_mut().insert(info);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientInfo, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let direct: IpAddr = "203.0.113.9".parse().unwrap();
        // a client that is not a proxy cannot claim another address
        assert_eq!(client_ip(direct, &headers("1.2.3.4"), &[proxy]), direct);
        // behind the proxy, the right-most untrusted entry is the client; a spoofed
        // left-most entry is ignored
        assert_eq!(
            client_ip(proxy, &headers("1.2.3.4, 198.51.100.7"), &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &headers("garbage"), &[proxy]), proxy);
    }
}
