//! A software authenticator for tests: a P-256 key that answers WebAuthn options the way a
//! browser and a passkey would (packed as "none" attestation, user present and verified), so
//! tests can drive registration and sign-in — and forge what a broken or hostile one sends
//! (another origin, a bad signature, a counter that goes back). Test code only; the server
//! parses nothing of this by hand (webauthn-rs does).
//!
//! Shared by the unit tests (`#[cfg(test)]`) and the integration tests (`#[path]`): it uses
//! only p256, sha2, base64, serde_json and rand.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct SoftPasskey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The user handle the relying party gave at registration (returned when signing in).
    pub user_handle: Vec<u8>,
    pub counter: u32,
}

/// How to answer a sign-in: the honest answer, or one spoiled on purpose.
#[derive(Clone, Debug, Default)]
pub struct Spoil {
    /// Sign with another origin in the client data.
    pub origin: Option<String>,
    /// Flip a bit of the signature.
    pub bad_signature: bool,
    /// Use this counter instead of the next one.
    pub counter: Option<u32>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url from the server")
}

/// A CBOR byte string header and body.
fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n < 24 {
        out.push(0x40 | n as u8);
    } else if n < 256 {
        out.extend([0x58, n as u8]);
    } else {
        out.push(0x59);
        out.extend((n as u16).to_be_bytes());
    }
    out.extend(bytes);
}

/// A CBOR text string (short ones only).
fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    out.push(0x60 | s.len() as u8);
    out.extend(s.as_bytes());
}

impl Default for SoftPasskey {
    fn default() -> SoftPasskey {
        SoftPasskey::new()
    }
}

impl SoftPasskey {
    pub fn new() -> SoftPasskey {
        let key = loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(k) = SigningKey::from_slice(&bytes) {
                break k;
            }
        };
        SoftPasskey {
            key,
            credential_id: rand::random::<[u8; 16]>().to_vec(),
            user_handle: Vec::new(),
            counter: 0,
        }
    }

    /// The COSE (EC2, ES256, P-256) form of the public key.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, point.x().expect("x"));
        out.push(0x22);
        cbor_bytes(&mut out, point.y().expect("y"));
        out
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// Answers `navigator.credentials.create(options)` (the server's `{"publicKey": …}`) as a
    /// `RegisterPublicKeyCredential` JSON.
    pub fn register(&mut self, options: &Value, origin: &str) -> Value {
        let pk = &options["publicKey"];
        let challenge = pk["challenge"].as_str().expect("challenge");
        let rp_id = pk["rp"]["id"].as_str().expect("rp id");
        self.user_handle = unb64(pk["user"]["id"].as_str().expect("user id"));
        let client_data = Self::client_data("webauthn.create", challenge, origin);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        // user present, user verified, attested credential data
        auth_data.push(0x01 | 0x04 | 0x40);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut att = vec![0xa3];
        cbor_text(&mut att, "fmt");
        cbor_text(&mut att, "none");
        cbor_text(&mut att, "attStmt");
        att.push(0xa0);
        cbor_text(&mut att, "authData");
        cbor_bytes(&mut att, &auth_data);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&att),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get(options)` as a `PublicKeyCredential` JSON.
    pub fn assert(&mut self, options: &Value, origin: &str) -> Value {
        self.assert_spoiled(options, origin, &Spoil::default())
    }

    pub fn assert_spoiled(&mut self, options: &Value, origin: &str, spoil: &Spoil) -> Value {
        let pk = &options["publicKey"];
        let challenge = pk["challenge"].as_str().expect("challenge");
        let rp_id = pk["rpId"].as_str().expect("rpId");
        let origin = spoil.origin.as_deref().unwrap_or(origin);
        let client_data = Self::client_data("webauthn.get", challenge, origin);
        let counter = match spoil.counter {
            Some(c) => c,
            None => {
                self.counter += 1;
                self.counter
            }
        };
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x01 | 0x04);
        auth_data.extend(counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let mut der = signature.to_der().as_bytes().to_vec();
        if spoil.bad_signature {
            let last = der.len() - 1;
            der[last] ^= 0x01;
        }
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&der),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        })
    }
}
