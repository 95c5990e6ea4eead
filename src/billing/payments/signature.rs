//! Webhook signatures, verified on the raw body before anything is parsed.
//!
//! - Stripe: `Stripe-Signature: t=<unix secs>,v1=<hex HMAC-SHA256 of "t.body">[,v1=…]`, keyed
//!   with the endpoint's whole signing secret; any `v1` may match (secret rotation); 300 s
//!   tolerance either way.
//! - Standard Webhooks (other gateways): `webhook-id`, `webhook-timestamp` and
//!   `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> [v1,<…>]`, keyed with
//!   the base64 part of `whsec_<base64>`; several secrets and signatures accepted during a
//!   rotation; 5 minutes' tolerance either way.
//!
//! Comparisons are constant time (`hmac`'s `verify_slice`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const STRIPE_TOLERANCE_SECS: i64 = 300;
pub const STANDARD_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    /// The timestamp is further than the tolerance from now (replayed, or a wrong clock).
    Stale,
    Future,
    /// No signature matches: a tampered body or the wrong secret.
    Mismatch,
    /// No secret is configured for this endpoint.
    NotConfigured,
}

impl SignatureError {
    pub fn describe(&self) -> &'static str {
        match self {
            SignatureError::Missing => "no signature header",
            SignatureError::Malformed => "malformed signature header",
            SignatureError::Stale => "timestamp too old",
            SignatureError::Future => "timestamp in the future",
            SignatureError::Mismatch => "signature does not match",
            SignatureError::NotConfigured => "no signing secret is configured",
        }
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        m.update(p);
    }
    m
}

fn check_time(t: i64, now: i64, tolerance: i64) -> Result<(), SignatureError> {
    if t < now - tolerance {
        Err(SignatureError::Stale)
    } else if t > now + tolerance {
        Err(SignatureError::Future)
    } else {
        Ok(())
    }
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies a `Stripe-Signature` header on `body` at `now` (Unix seconds).
pub fn verify_stripe(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t: Option<(&str, i64)> = None;
    let mut sigs = Vec::new();
    for item in header.split(',') {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => t = Some((v, v.parse().map_err(|_| SignatureError::Malformed)?)),
            "v1" => sigs.push(v),
            _ => {}
        }
    }
    let (t_text, t) = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    check_time(t, now, STRIPE_TOLERANCE_SECS)?;
    let expected = mac(secret.as_bytes(), &[t_text.as_bytes(), b".", body]);
    for s in sigs {
        if let Some(bytes) = hex_decode(s)
            && expected.clone().verify_slice(&bytes).is_ok()
        {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `Stripe-Signature` header Stripe would send (for the API double and tests).
pub fn sign_stripe(body: &[u8], secret: &str, t: i64) -> String {
    let sig = mac(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]).finalize();
    format!("t={t},v1={}", hex_encode(&sig.into_bytes()))
}

/// The key of a Standard Webhooks secret: the base64 after `whsec_` (or the whole text).
fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(secret.trim());
    STANDARD.decode(b64).ok().filter(|k| !k.is_empty())
}

/// The headers of a Standard Webhooks delivery.
pub struct StandardHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Verifies a Standard Webhooks delivery against any of `secrets`; returns the message id.
pub fn verify_standard<'a>(
    h: &StandardHeaders<'a>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<&'a str, SignatureError> {
    let keys: Vec<Vec<u8>> = secrets.iter().filter_map(|s| standard_key(s)).collect();
    if keys.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let (Some(id), Some(ts), Some(sig)) = (h.id, h.timestamp, h.signature) else {
        return Err(SignatureError::Missing);
    };
    if id.is_empty() || id.len() > 200 {
        return Err(SignatureError::Malformed);
    }
    let t: i64 = ts.trim().parse().map_err(|_| SignatureError::Malformed)?;
    let given: Vec<Vec<u8>> = sig
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b| STANDARD.decode(b).ok())
        .collect();
    if given.is_empty() {
        return Err(SignatureError::Malformed);
    }
    check_time(t, now, STANDARD_TOLERANCE_SECS)?;
    for key in &keys {
        let expected = mac(
            key,
            &[id.as_bytes(), b".", ts.trim().as_bytes(), b".", body],
        );
        if given
            .iter()
            .any(|g| expected.clone().verify_slice(g).is_ok())
        {
            return Ok(id);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `webhook-signature` value a Standard Webhooks sender computes (tests, doubles).
pub fn sign_standard(id: &str, t: i64, body: &[u8], secret: &str) -> String {
    let key = standard_key(secret).unwrap_or_default();
    let sig = mac(
        &key,
        &[id.as_bytes(), b".", t.to_string().as_bytes(), b".", body],
    )
    .finalize();
    format!("v1,{}", STANDARD.encode(sig.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn stripe_valid_and_several_v1() {
        let h = sign_stripe(BODY, SECRET, NOW);
        assert_eq!(verify_stripe(Some(&h), BODY, SECRET, NOW), Ok(()));
        // the known example shape: t first, v0 ignored, within tolerance
        assert_eq!(verify_stripe(Some(&h), BODY, SECRET, NOW + 300), Ok(()));
        let other = sign_stripe(BODY, "whsec_old", NOW);
        let v1_other = other.split_once(",v1=").unwrap().1;
        let v1_ok = h.split_once(",v1=").unwrap().1;
        let both = format!("t={NOW},v1={v1_other},v0=abc,v1={v1_ok}");
        assert_eq!(verify_stripe(Some(&both), BODY, SECRET, NOW), Ok(()));
        let only_other = format!("t={NOW},v1={v1_other}");
        assert_eq!(
            verify_stripe(Some(&only_other), BODY, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stripe_refusals() {
        let h = sign_stripe(BODY, SECRET, NOW);
        assert_eq!(
            verify_stripe(Some(&h), BODY, SECRET, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_stripe(Some(&h), BODY, SECRET, NOW - 301),
            Err(SignatureError::Future)
        );
        assert_eq!(
            verify_stripe(Some(&h), br#"{"id":"evt_2"}"#, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(Some(&h), BODY, "whsec_wrong", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(None, BODY, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_stripe(Some("garbage"), BODY, SECRET, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_stripe(Some(&format!("t={NOW}")), BODY, SECRET, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_stripe(Some(&format!("t={NOW},v1=zz")), BODY, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe(Some(&h), BODY, "", NOW),
            Err(SignatureError::NotConfigured)
        );
    }

    const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn std_headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> StandardHeaders<'a> {
        StandardHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn standard_webhooks_spec_example() {
        // The example of the Standard Webhooks specification.
        let body = br#"{"test": 2432232314}"#;
        let h = std_headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
        let secrets = vec![STD_SECRET.to_string()];
        assert_eq!(
            verify_standard(&h, body, &secrets, 1_614_265_330),
            Ok("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
        assert_eq!(
            sign_standard(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                body,
                STD_SECRET
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn standard_rotation_and_refusals() {
        let old = "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LTEyMzQ=".to_string();
        let new = STD_SECRET.to_string();
        let ts = NOW.to_string();
        let sig_old = sign_standard("msg_1", NOW, BODY, &old);
        let sig_new = sign_standard("msg_1", NOW, BODY, &new);
        // several signatures, one matching
        let both = format!("v1,AAAA {sig_new}");
        assert_eq!(
            verify_standard(
                &std_headers("msg_1", &ts, &both),
                BODY,
                std::slice::from_ref(&new),
                NOW
            ),
            Ok("msg_1")
        );
        // several secrets during a rotation
        assert_eq!(
            verify_standard(
                &std_headers("msg_1", &ts, &sig_old),
                BODY,
                &[new.clone(), old.clone()],
                NOW
            ),
            Ok("msg_1")
        );
        assert_eq!(
            verify_standard(
                &std_headers("msg_1", &ts, &sig_old),
                BODY,
                std::slice::from_ref(&new),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        // tampered body, other id
        assert_eq!(
            verify_standard(
                &std_headers("msg_1", &ts, &sig_new),
                b"{}",
                std::slice::from_ref(&new),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_standard(
                &std_headers("msg_2", &ts, &sig_new),
                BODY,
                std::slice::from_ref(&new),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        // stale and future
        assert_eq!(
            verify_standard(
                &std_headers("msg_1", &ts, &sig_new),
                BODY,
                std::slice::from_ref(&new),
                NOW + 301
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_standard(
                &std_headers("msg_1", &ts, &sig_new),
                BODY,
                std::slice::from_ref(&new),
                NOW - 301
            ),
            Err(SignatureError::Future)
        );
        // missing header, no secret
        let missing = StandardHeaders {
            id: Some("msg_1"),
            timestamp: None,
            signature: Some(&sig_new),
        };
        assert_eq!(
            verify_standard(&missing, BODY, std::slice::from_ref(&new), NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_standard(&std_headers("msg_1", &ts, &sig_new), BODY, &[], NOW),
            Err(SignatureError::NotConfigured)
        );
        assert_eq!(
            verify_standard(&std_headers("msg_1", &ts, "v2,abc"), BODY, &[new], NOW),
            Err(SignatureError::Malformed)
        );
    }
}
