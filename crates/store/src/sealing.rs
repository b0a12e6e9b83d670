//! Connection secrets sealed with the server key (ChaCha20-Poly1305), so that an admin can see
//! a connection's secret again while a copy of the database alone reveals nothing. Verification
//! never decrypts: it compares hashes (see `tokens`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the server key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("the sealed secret cannot be opened with this server key")]
    Open,
}

/// The server key and what it seals.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| SealError::Random(e.to_string()))?;
    Ok(b)
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// A key as stored in the server key file.
    pub fn from_base64(s: &str) -> Result<Self, SealError> {
        let bytes = STANDARD.decode(s.trim()).map_err(|_| SealError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self::new(key))
    }

    /// A fresh key, base64-encoded.
    pub fn generate_key() -> Result<String, SealError> {
        Ok(STANDARD.encode(random::<32>()?))
    }

    /// Seals `secret`, bound to `context` (the token's id): base64(nonce ‖ ciphertext).
    pub fn seal(&self, secret: &str, context: &[u8]) -> Result<String, SealError> {
        let nonce = random::<12>()?;
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: context,
                },
            )
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<String, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        if bytes.len() < 12 {
            return Err(SealError::Open);
        }
        let (nonce, ct) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Open)?;
        let pt = self
            .cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: context })
            .map_err(|_| SealError::Open)?;
        String::from_utf8(pt).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let key = SecretBox::generate_key().unwrap();
        let b = SecretBox::from_base64(&key).unwrap();
        let sealed = b.seal("dsy_secret", b"token-1").unwrap();
        assert!(!sealed.contains("dsy_secret"));
        assert_eq!(b.open(&sealed, b"token-1").unwrap(), "dsy_secret");
        assert!(b.open(&sealed, b"token-2").is_err(), "bound to its row");
        let other = SecretBox::from_base64(&SecretBox::generate_key().unwrap()).unwrap();
        assert!(other.open(&sealed, b"token-1").is_err());
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert_ne!(
            b.seal("x", b"").unwrap(),
            b.seal("x", b"").unwrap(),
            "fresh nonce each time"
        );
    }
}
