//! Password hashing (argon2id through `password-auth`), off the async threads and at most one
//! hash per core at a time, and readable generated passwords.

use std::sync::LazyLock;

use crate::web::{AppError, AppResult};

/// Each argon2id hash takes ~19 MiB and tens of milliseconds of one core: more hashes at once
/// than there are cores only adds memory (a burst of 40 logins held 880 MB), so they queue.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::sync::Semaphore::new(cores.max(2))
});

/// Runs `hash` off the async threads, at most one per core at a time.
async fn argon2<T: Send + 'static>(hash: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(hash)
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

pub async fn hash_password(password: String) -> AppResult<String> {
    argon2(move || password_auth::generate_hash(password)).await
}

pub async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    argon2(move || password_auth::verify_password(password, &hash).is_ok()).await
}

/// Compared against when the e-mail is unknown, so both failures take as long.
pub(crate) static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password_auth::generate_hash("not a real password, only for timing"));

/// A readable random password (used when none is given for a new member or owner).
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: String = (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &chars[0..5],
        &chars[5..10],
        &chars[10..15],
        &chars[15..20]
    )
}
