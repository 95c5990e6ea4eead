//! Trusting the Proxmox API's certificate: a CA file (PEM) or one pinned SHA-256
//! fingerprint of the end-entity certificate; never "accept any certificate".

use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// How the driver trusts the API's TLS certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxmoxTls {
    /// Plain HTTP: allowed only for `http://127.0.0.1`, `http://localhost` or `http://[::1]`
    /// (tests, or a local TLS-terminating tunnel).
    PlainLocalhost,
    /// PEM certificates (the PVE root CA, `/etc/pve/pve-root-ca.pem`) to verify against.
    CaPem(Vec<u8>),
    /// SHA-256 of the DER end-entity certificate the API presents.
    Fingerprint([u8; 32]),
}

impl std::fmt::Debug for ProxmoxTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxmoxTls::PlainLocalhost => f.write_str("PlainLocalhost"),
            ProxmoxTls::CaPem(pem) => write!(f, "CaPem({} bytes)", pem.len()),
            ProxmoxTls::Fingerprint(fp) => write!(f, "Fingerprint({})", fingerprint_hex(fp)),
        }
    }
}

/// Parses a SHA-256 fingerprint: 64 hex digits, optionally in colon-separated pairs
/// (`AB:CD:…`, as Proxmox shows it).
pub fn parse_fingerprint(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    let hex: String = if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.iter().any(|p| p.len() != 2) {
            bail!("a colon-separated fingerprint must be pairs of hex digits, like AB:CD:…");
        }
        parts.concat()
    } else {
        s.to_string()
    };
    if hex.len() != 64 {
        bail!(
            "a SHA-256 fingerprint has 32 bytes (64 hex digits); got {} hex digits",
            hex.len()
        );
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| anyhow::anyhow!("the fingerprint has a character that is not hex"))?;
    }
    Ok(out)
}

/// `AB:CD:…` (upper case, colon-separated, as Proxmox shows fingerprints).
pub fn fingerprint_hex(fp: &[u8]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(super) fn client_tls(tls: &ProxmoxTls) -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let config = match tls {
        ProxmoxTls::PlainLocalhost => builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        ProxmoxTls::CaPem(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.context("the Proxmox CA file is not valid PEM")?;
                roots
                    .add(cert)
                    .context("the Proxmox CA file holds a certificate that cannot be a CA")?;
            }
            if roots.is_empty() {
                bail!("the Proxmox CA file holds no PEM certificate");
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        ProxmoxTls::Fingerprint(fp) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCertificate {
                fingerprint: *fp,
                provider,
            }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Accepts exactly the end-entity certificate whose SHA-256 is pinned (Proxmox's default
/// certificates are self-signed by a per-cluster CA), still checking that the server holds
/// its key (the handshake signatures).
#[derive(Debug)]
struct PinnedCertificate {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Sha256::digest(end_entity.as_ref());
        if constant_time_eq(&got, &self.fingerprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the Proxmox certificate's SHA-256 fingerprint is {}, not the pinned {} \
                 (MPANEL_PROXMOX_FINGERPRINT)",
                fingerprint_hex(&got),
                fingerprint_hex(&self.fingerprint)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons() {
        let plain = "ab".repeat(32);
        assert_eq!(parse_fingerprint(&plain).unwrap(), [0xab; 32]);
        let colons = vec!["0F"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).unwrap(), [0x0f; 32]);
        assert_eq!(
            parse_fingerprint(&format!("  {colons}\n")).unwrap(),
            [0x0f; 32]
        );
        assert_eq!(fingerprint_hex(&[0x0f; 32]), colons);
    }

    #[test]
    fn bad_fingerprints_are_refused() {
        let short = parse_fingerprint(&"ab".repeat(20)).unwrap_err().to_string();
        assert!(short.contains("64 hex digits"), "{short}");
        let not_hex = parse_fingerprint(&"zz".repeat(32)).unwrap_err().to_string();
        assert!(not_hex.contains("not hex"), "{not_hex}");
        let odd_pairs = parse_fingerprint(&format!("{}:A", vec!["AB"; 31].join(":")))
            .unwrap_err()
            .to_string();
        assert!(odd_pairs.contains("pairs"), "{odd_pairs}");
        // SHA-1 fingerprints (20 bytes) are not enough.
        assert!(parse_fingerprint(&vec!["AB"; 20].join(":")).is_err());
    }
}
