//! Password hashing with Argon2id (the argon2 crate's defaults: m=19 MiB, t=2,
//! p=1, the OWASP baseline), bounded. The application holds one [`Hasher`]
//! (`App::hasher`); [`hash`] and [`verify`] go through it.
//!
//! Each hash needs 19 MiB and a core for tens of milliseconds. Run without a
//! bound, 32 registrations at once took the server from 18 MB to 566 MB (and
//! the freed blocks stayed in malloc's arenas). So hashing runs on at most
//! `CRM_HASH_CONCURRENCY` blocking threads at a time (default: the cores),
//! each with a 19 MiB block of memory allocated once and reused for every
//! hash; at most `CRM_HASH_QUEUE` more wait their turn, and beyond that a
//! sign-in, registration or password change answers 503 `busy` with
//! `Retry-After` instead of piling up. Memory for hashing is thus bounded by
//! `concurrency × 19 MiB`, whatever the load.

use std::sync::{Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use http::StatusCode;
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// How many hashes run at once and how many may wait.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrency: usize,
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            concurrency: cores,
            queue: 4 * cores,
        }
    }
}

/// The server's hashing capacity: admission (running + waiting), the
/// running slots, and the memory blocks they reuse.
pub struct Hasher {
    admitted: Semaphore,
    running: Semaphore,
    memory: Mutex<Vec<Vec<Block>>>,
}

impl Hasher {
    pub fn new(limits: Limits) -> Self {
        let concurrency = limits.concurrency.max(1);
        Hasher {
            admitted: Semaphore::new(concurrency + limits.queue),
            running: Semaphore::new(concurrency),
            memory: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` with a memory block, within the limits: 503 `busy` at once
    /// when every slot runs and the queue is full.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut [Block]) -> T + Send + 'static) -> AppResult<T> {
        let Ok(_admitted) = self.admitted.try_acquire() else {
            let mut busy = AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many sign-ins at once; try again in a moment",
            );
            busy.retry_after = Some(1);
            return Err(busy);
        };
        let _running = self.running.acquire().await.map_err(AppError::internal)?;
        let memory = self
            .memory
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash memory poisoned")))?
            .pop();
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let mut memory = memory.unwrap_or_else(|| vec![Block::new(); Params::default().block_count()]);
            let result = work(&mut memory);
            (result, memory)
        })
        .await
        .map_err(AppError::internal)?;
        if let Ok(mut pool) = self.memory.lock() {
            pool.push(memory);
        }
        Ok(result)
    }
}

/// Argon2id with the default parameters into `memory`: the PHC string's hash.
fn argon2_output(params: Params, password: &[u8], salt: &[u8], memory: &mut [Block]) -> anyhow::Result<Output> {
    #[cfg(test)]
    tests::COMPUTED.with(|n| n.set(n.get() + 1));
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(len, |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut *memory)
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`),
/// within the limits (503 `busy` beyond them).
pub async fn hash(hasher: &Hasher, password: String) -> AppResult<String> {
    hasher
        .run(move |memory| hash_with(&password, memory))
        .await?
        .map_err(AppError::internal)
}

fn hash_with(password: &str, memory: &mut [Block]) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let params = Params::default();
    let output = argon2_output(params.clone(), password.as_bytes(), raw_salt, memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Hashes outside the limits, on the calling thread (the CLI and the seed,
/// which run alone).
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let mut memory = vec![Block::new(); Params::default().block_count()];
    hash_with(password, &mut memory)
}

/// Checks `password` against `stored`, within the limits. With no stored hash
/// (unknown user) it verifies against a fixed hash anyway, so both failures
/// take the same time.
pub async fn verify(hasher: &Hasher, password: String, stored: Option<String>) -> AppResult<bool> {
    hasher
        .run(move |memory| verify_or_pretend(&password, stored.as_deref(), memory))
        .await
}

/// Verifies against `stored`, or against a fixed hash when there is none:
/// the hash is computed either way (it once was skipped for unknown users,
/// so an unknown email answered at once and told which emails have accounts).
fn verify_or_pretend(password: &str, stored: Option<&str>, memory: &mut [Block]) -> bool {
    // An account without a usable hash (a restored one whose password is not
    // set yet) costs a hash like any other failure.
    let usable = stored.filter(|s| PasswordHash::new(s).is_ok());
    let matches = verify_with(password, usable.unwrap_or_else(|| dummy_hash()), memory);
    matches && usable.is_some()
}

fn verify_with(password: &str, stored: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    // A stored hash with other parameters than the defaults needs its own memory.
    let mut own;
    let memory: &mut [Block] = if params.block_count() == memory.len() {
        memory
    } else {
        own = vec![Block::new(); params.block_count()];
        &mut own
    };
    // `Output`'s comparison takes constant time.
    argon2_output(params, password.as_bytes(), raw_salt, memory).is_ok_and(|computed| computed == expected)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("no such user, no such password 0").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    thread_local! {
        /// Argon2 computations on this thread.
        pub static COMPUTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn an_unknown_user_costs_a_hash_like_a_wrong_password() {
        let mut memory = vec![argon2::Block::new(); argon2::Params::default().block_count()];
        super::dummy_hash();
        let known = super::hash_with("correct horse 1", &mut memory).unwrap();
        let before = COMPUTED.with(|n| n.get());
        assert!(!super::verify_or_pretend("wrong horse 1", Some(&known), &mut memory));
        let wrong_password = COMPUTED.with(|n| n.get()) - before;
        let before = COMPUTED.with(|n| n.get());
        assert!(!super::verify_or_pretend("correct horse 1", None, &mut memory));
        let unknown_user = COMPUTED.with(|n| n.get()) - before;
        assert_eq!((wrong_password, unknown_user), (1, 1));
        assert!(super::verify_or_pretend("correct horse 1", Some(&known), &mut memory));
    }

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let hasher = super::Hasher::new(super::Limits::default());
        let hasher = &hasher;
        let a = super::hash(hasher, "correct horse 1".into()).await.unwrap();
        let b = super::hash(hasher, "correct horse 1".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "every hash has its own salt");
        assert!(
            super::verify(hasher, "correct horse 1".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !super::verify(hasher, "wrong horse 1".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(!super::verify(hasher, "correct horse 1".into(), None).await.unwrap());
        // The same hashes as the argon2 crate's own API writes and reads.
        let parsed = argon2::PasswordHash::new(&a).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse 1", &parsed)
                .is_ok()
        );
        let theirs = {
            use argon2::PasswordHasher;
            let salt = argon2::password_hash::SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2::Argon2::default()
                .hash_password(b"other horse 2", &salt)
                .unwrap()
                .to_string()
        };
        assert!(
            super::verify(hasher, "other horse 2".into(), Some(theirs))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn beyond_the_queue_hashing_answers_busy() {
        let hasher = super::Hasher::new(super::Limits {
            concurrency: 1,
            queue: 1,
        });
        let hasher: &'static super::Hasher = Box::leak(Box::new(hasher));
        let (started, wait) = tokio::sync::oneshot::channel::<()>();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        // One hash runs (held on its blocking thread until released)…
        let running = tokio::spawn(hasher.run(move |_| {
            started.send(()).unwrap();
            hold.recv().unwrap();
        }));
        wait.await.unwrap();
        // …one waits for its slot…
        let queued = tokio::spawn(hasher.run(|_| ()));
        while hasher.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // …and the next is refused at once.
        let refused = hasher.run(|_| ()).await.unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.code), (503, "busy"));
        assert_eq!(refused.retry_after, Some(1));
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        queued.await.unwrap().unwrap();
        // The one memory block was reused, not allocated again.
        assert_eq!(hasher.memory.lock().unwrap().len(), 1);
    }
}
