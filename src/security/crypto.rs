//! Secrets: TOTP codes, the at-rest encryption of TOTP secrets, API tokens and recovery codes.
//!
//! TOTP secrets must be readable again (the server computes codes), so they are encrypted, not
//! hashed: XChaCha20-Poly1305 with a random 192-bit nonce per value, under a key derived with
//! HKDF-SHA256 from the app's secret (never the cookie-signing key itself), and the user id as
//! associated data so a ciphertext copied onto another user's row does not decrypt.
//! API tokens and recovery codes are high-entropy random strings: SHA-256 is enough to store
//! them (there is nothing to brute-force), and lets the bearer check stay one indexed lookup.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const TOKEN_PREFIX: &str = "mpn_";
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_RANDOM_LEN: usize = 40;
/// Crockford-like: no 0/O, 1/I, so codes read back from paper are unambiguous. 32 symbols.
const RECOVERY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const RECOVERY_LEN: usize = 16;
pub const RECOVERY_CODE_COUNT: usize = 10;
const SEALED_VERSION: &str = "v1.";
pub const ISSUER: &str = "mPanel";
pub const STEP_SECS: u64 = 30;

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The encryption key for TOTP secrets, derived from the app's secret material.
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// `master` is the app's key material (the 64 bytes behind the cookie key); HKDF with its
    /// own label gives an independent key, so the cookie key is never used to encrypt.
    pub fn derive(master: &[u8]) -> SecretKey {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"mpanel security"), master);
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = hk.expand(b"totp secret encryption v1", &mut okm);
        SecretKey(okm)
    }

    pub fn seal(&self, user_id: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = XNonce::from(nonce);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encrypting a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{SEALED_VERSION}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    pub fn open(&self, user_id: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let body = sealed
            .strip_prefix(SEALED_VERSION)
            .ok_or_else(|| anyhow::anyhow!("unknown sealed-secret version"))?;
        let bytes = URL_SAFE_NO_PAD.decode(body)?;
        anyhow::ensure!(bytes.len() > 24, "sealed secret too short");
        let (nonce, ct) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into()?;
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("a sealed secret did not decrypt (wrong key or tampered)"))
    }
}

/// A fresh 160-bit TOTP secret (RFC 4226's recommended size).
pub fn new_totp_secret() -> Vec<u8> {
    Secret::generate().as_bytes().to_vec()
}

/// SHA-1, 6 digits, 30-second steps, ±1 step: what every authenticator app understands.
pub fn totp(secret: Vec<u8>, account: &str) -> anyhow::Result<Totp> {
    // The otpauth label may not contain ':'.
    let account = account.replace(':', "_");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| anyhow::anyhow!("building TOTP: {e}"))
}

/// The time step a code matches at `now_secs` (±1 step), or `None`.
pub fn matching_step(totp: &Totp, code: &str, now_secs: u64) -> Option<i64> {
    totp.check(code, now_secs)
        .and_then(|s| i64::try_from(s).ok())
}

pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The code an authenticator shows for `secret_base32` at `unix_secs` (tests, browser journey).
pub fn code_at(secret_base32: &str, unix_secs: u64) -> Option<String> {
    let secret = Secret::try_from_base32(secret_base32.trim()).ok()?;
    let t = totp(secret.as_bytes().to_vec(), "x").ok()?;
    Some(t.generate(unix_secs).to_string())
}

/// The otpauth:// URL as an SVG QR code (rendered here, no external service).
pub fn qr_svg(url: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(url.as_bytes())?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Inline in the page: drop the XML declaration, keep the <svg> element.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    ))
}

/// Digits only, spaces and dashes removed: what people type from an app or paper.
pub fn normalize_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .take(64)
        .collect()
}

pub fn looks_like_totp(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

pub fn looks_like_recovery(code: &str) -> bool {
    code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
}

/// Ten codes as shown to the user (`ABCD-EFGH-JKLM-NPQR`), 80 random bits each.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let raw: Vec<u8> = (0..RECOVERY_LEN)
                .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())])
                .collect();
            raw.chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 of its normalised text.
pub fn recovery_hash(code: &str) -> String {
    sha256_hex(&normalize_code(code))
}

pub struct NewToken {
    pub token: String,
    pub hash: String,
    pub prefix: String,
    pub last_four: String,
}

/// `mpn_` + 40 base62 characters (~238 bits).
pub fn new_api_token() -> NewToken {
    let mut rng = rand::rng();
    let random: String = (0..TOKEN_RANDOM_LEN)
        .map(|_| TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())] as char)
        .collect();
    let token = format!("{TOKEN_PREFIX}{random}");
    NewToken {
        hash: sha256_hex(&token),
        prefix: token[..TOKEN_PREFIX.len() + 4].to_string(),
        last_four: token[token.len() - 4..].to_string(),
        token,
    }
}

/// Whether a presented bearer value has our token's shape (saves a lookup for junk).
pub fn plausible_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|r| {
        r.len() == TOKEN_RANDOM_LEN && r.bytes().all(|b| TOKEN_ALPHABET.contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_round_trip_and_are_bound_to_the_user() {
        let key = SecretKey::derive(&[7u8; 64]);
        let sealed = key.seal("user-1", b"twenty bytes secret!").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("twenty"));
        assert_eq!(
            key.open("user-1", &sealed).unwrap(),
            b"twenty bytes secret!"
        );
        assert!(key.open("user-2", &sealed).is_err(), "bound to its user");
        let other = SecretKey::derive(&[8u8; 64]);
        assert!(
            other.open("user-1", &sealed).is_err(),
            "needs the right key"
        );
        assert_ne!(
            key.seal("user-1", b"x").unwrap(),
            key.seal("user-1", b"x").unwrap()
        );
        assert!(key.open("user-1", "v1.AAAA").is_err());
        assert!(key.open("user-1", "garbage").is_err());
    }

    #[test]
    fn totp_codes_match_their_step_within_one_step() {
        let secret = new_totp_secret();
        assert_eq!(secret.len(), 20);
        let t = totp(secret.clone(), "a:b@example.com").unwrap();
        let now = 1_800_000_000u64;
        let step = (now / 30) as i64;
        let code = code_at(&base32(&secret), now).unwrap();
        assert_eq!(matching_step(&t, &code, now), Some(step));
        assert_eq!(matching_step(&t, &code, now + 30), Some(step));
        assert_eq!(matching_step(&t, &code, now - 30), Some(step));
        assert_eq!(matching_step(&t, &code, now + 90), None);
        assert_eq!(matching_step(&t, "12345", now), None);
        assert_eq!(matching_step(&t, "+12345", now), None);
        let url = t.to_url().unwrap();
        assert!(url.starts_with("otpauth://totp/mPanel:a_b%40example.com?secret="));
        let svg = qr_svg(&url).unwrap();
        assert!(svg.starts_with("<svg role=\"img\"") && !svg.contains("style="));
    }

    #[test]
    fn recovery_codes_and_tokens_have_their_shapes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 19);
        let normal = normalize_code(&codes[0].to_lowercase());
        assert!(looks_like_recovery(&normal), "{normal}");
        assert_eq!(recovery_hash(&codes[0]), recovery_hash(&normal));
        assert!(looks_like_totp(&normalize_code(" 123 456 ")));
        let t = new_api_token();
        assert!(t.token.starts_with("mpn_") && t.token.len() == 44);
        assert!(plausible_token(&t.token));
        assert!(!plausible_token("mpn_short"));
        assert_eq!(t.hash, sha256_hex(&t.token));
        assert!(t.token.ends_with(&t.last_four) && t.token.starts_with(&t.prefix));
    }
}
