//! SCIM connection secrets: 256 random bits, shown once, stored as SHA-256, compared in
//! constant time.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix that makes a leaked dirsync secret recognisable to secret scanners.
pub const PREFIX: &str = "dsy_";

/// Prefix of service keys for the gRPC API.
pub const SERVICE_KEY_PREFIX: &str = "dsk_";

/// A new SCIM connection secret: the prefix and 32 random bytes, base64url.
pub fn generate() -> Result<String, getrandom::Error> {
    generate_with_prefix(PREFIX)
}

/// 256 random bits, base64url, behind a prefix that says what the secret is for.
pub fn generate_with_prefix(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_unique_and_verify_only_themselves() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        // 32 bytes base64url without padding = 43 characters.
        assert_eq!(a.len(), PREFIX.len() + 43);
        assert!(verify(&a, &hash(&a)));
        assert!(!verify(&b, &hash(&a)));
        assert!(!hash(&a).contains(&a));
    }
}
