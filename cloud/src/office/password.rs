//! Passwords: Argon2id with the crate's defaults (19 MiB, 2 passes, OWASP's minimum), in
//! the PHC string format so the parameters travel with each hash.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shorter passwords fall to a guessing attack on a stolen store in hours.
pub const MIN_CHARS: usize = 10;
/// Longer ones only cost the server time to hash.
pub const MAX_CHARS: usize = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("A password needs at least {MIN_CHARS} characters.")]
    TooShort,
    #[error("A password has at most {MAX_CHARS} characters.")]
    TooLong,
    #[error("could not hash the password: {0}")]
    Hash(String),
}

pub fn hash(password: &str) -> Result<String, PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Does `password` match `stored`? A stored value that is not a hash matches nothing.
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the time of a real check, for an address with no account: otherwise how long a
/// refusal takes would tell which addresses have one.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("no account has this password").unwrap_or_default());
    let _ = verify(stored, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_kept_as_argon2id_and_checked() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
        assert!(verify(&stored, "correct horse battery"));
        assert!(!verify(&stored, "correct horse battery "));
        assert!(!verify("not a hash", "correct horse battery"));
        assert_ne!(stored, hash("correct horse battery").unwrap(), "each hash has its own salt");
        assert_eq!(hash("short"), Err(PasswordError::TooShort));
        assert_eq!(hash(&"x".repeat(MAX_CHARS + 1)), Err(PasswordError::TooLong));
    }
}
