//! Password hashing: its memory, its threads and its queue.
//!
//! An argon2id hash fills 19 MiB of memory (OWASP's baseline the site
//! uses). Taken from the allocator on whichever thread asked, those 19 MiB
//! stayed resident after every hash, on every thread that ever signed
//! someone in (glibc keeps them in the thread's arena, mimalloc in its
//! own): on the demo at scale, eight sign-ins took the server from 78 to
//! 216 MB with glibc's malloc. So:
//!
//! - the scratch memory of a hash is mapped from the operating system and
//!   unmapped when the hash is done ([`Scratch`]), whatever allocator the
//!   embedder links — the only `unsafe` of this crate is viewing that
//!   fresh mapping as argon2's blocks;
//! - hashes run on [`PasswordHashing::workers`] dedicated threads, so at
//!   most that many × 19 MiB are in use at once, however many sign in;
//! - callers wait for their turn, and past [`PasswordHashing::queue`]
//!   waiting callers a request is refused with [`Error::RateLimited`]
//!   rather than queued without bound;
//! - a stored hash that asks for more than [`MAX_HASH_MEMORY_KIB`] (an
//!   imported PHC string, say) is not computed: it does not match.

#![allow(unsafe_code)]

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::auth::MAX_PASSWORD_BYTES;
use crate::error::{Error, Result};

/// How the process hashes passwords: set it once with
/// [`install`](PasswordHashing::install) before the first sign-in, or
/// leave the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Threads that hash (default 2). Each keeps about 19 MiB once it has
    /// hashed; more threads sign more people in at once (one hash takes
    /// ≈ 20–40 ms of one core).
    pub workers: usize,
    /// Callers that may wait for a thread (default 64); one more is
    /// refused with [`Error::RateLimited`] (HTTP 429, "try again in 1 s").
    pub queue: usize,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        PasswordHashing {
            workers: 2,
            queue: 64,
        }
    }
}

static INSTALLED: OnceLock<Workers> = OnceLock::new();

impl PasswordHashing {
    /// Makes these the process's settings. Fails with [`Error::Config`]
    /// when a hash already ran (or another `install` won) with different
    /// settings, or when `workers` or `queue` is 0.
    pub fn install(self) -> Result<()> {
        if self.workers == 0 || self.queue == 0 {
            return Err(Error::Config(format!(
                "password hashing needs at least one worker and one queue place (got {} and {})",
                self.workers, self.queue
            )));
        }
        let running = INSTALLED.get_or_init(|| Workers::start(self)).settings;
        if running == self {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "password hashing already runs with {running:?}; install {self:?} before the first \
                 sign-in or account"
            )))
        }
    }
}

fn workers() -> &'static Workers {
    INSTALLED.get_or_init(|| Workers::start(PasswordHashing::default()))
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one bounded queue.
struct Workers {
    settings: PasswordHashing,
    jobs: SyncSender<Job>,
}

impl Workers {
    fn start(settings: PasswordHashing) -> Workers {
        let (jobs, queue) = sync_channel::<Job>(settings.queue);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..settings.workers {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("hearth-password-{n}"))
                .spawn(move || work(&queue));
            if let Err(e) = spawned {
                // Fewer threads than asked: the others serve (and with
                // none, every call answers Internal below).
                tracing::error!("password hashing thread {n} could not start: {e}");
            }
        }
        Workers { settings, jobs }
    }

    /// Runs `f` on a worker and waits for its result.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        self.submit(f)?
            .recv()
            .map_err(|_| Error::Internal("password hashing failed (a worker panicked)".into()))
    }

    /// Queues `f` for a worker; its result arrives on the receiver.
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Receiver<T>> {
        let (tx, rx) = sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(Error::RateLimited {
                    retry_after: Duration::from_secs(1),
                });
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::Internal("no password hashing thread runs".into()));
            }
        }
        Ok(rx)
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, so one
        // idle thread waits and the others wait for the lock.
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        // A panicking job drops its reply sender (its caller gets an
        // error); the thread lives on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// The most memory a stored hash may ask for (256 MiB, in KiB): a PHC
/// string asking for more is treated as not matching, so an imported hash
/// cannot make one sign-in map gigabytes.
pub const MAX_HASH_MEMORY_KIB: u32 = 256 * 1024;

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// One hash's scratch memory: an anonymous mapping, returned to the
/// operating system when dropped.
struct Scratch {
    map: memmap2::MmapMut,
    blocks: usize,
}

impl Scratch {
    fn new(blocks: usize) -> Result<Scratch> {
        let len = blocks
            .checked_mul(Block::SIZE)
            .ok_or_else(|| Error::Internal("password hash memory overflows".into()))?;
        let map = memmap2::MmapMut::map_anon(len.max(1))
            .map_err(|e| Error::Internal(format!("password hash memory ({len} bytes): {e}")))?;
        Ok(Scratch { map, blocks })
    }

    fn blocks(&mut self) -> &mut [Block] {
        let ptr = self.map.as_mut_ptr();
        debug_assert_eq!(ptr.align_offset(std::mem::align_of::<Block>()), 0);
        // SAFETY: the mapping is `blocks * Block::SIZE` bytes, page-aligned
        // (more than `Block`'s 64-byte alignment), zero-filled by the
        // kernel, and `Block` is a plain array of `u64` (every bit pattern
        // is valid); the slice borrows `self` mutably, so the mapping
        // outlives it and nothing else aliases it.
        unsafe { std::slice::from_raw_parts_mut(ptr.cast::<Block>(), self.blocks) }
    }
}

/// Computes `out` for these parameters with OS-mapped scratch memory:
/// `Ok(Err(_))` when argon2 refuses the inputs, `Err` when the memory
/// cannot be mapped (the operating system's reason kept).
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    len: usize,
) -> Result<std::result::Result<Output, argon2::password_hash::Error>> {
    let mut scratch = Scratch::new(argon.params().block_count())?;
    Ok(Output::init_with(len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, scratch.blocks())?)
    }))
}

fn hash_now(password: &[u8], salt: &SaltString) -> Result<String> {
    let fail = |e: argon2::password_hash::Error| Error::Internal(format!("hashing: {e}"));
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(fail)?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = compute(&argon, password, salt_bytes, len)?.map_err(fail)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(fail)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// A stored PHC string, read once by the caller (which answers `false`
/// without queueing for one it cannot read) and handed to a hashing thread.
struct Stored {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Output,
}

impl Stored {
    /// `None` for a string that is no argon2 hash, or one asking for more
    /// than `max_kib` of memory (logged: an imported hash, not a password
    /// mistake).
    fn parse(phc: &str, max_kib: u32) -> Option<Stored> {
        let read = || -> std::result::Result<Option<Stored>, argon2::password_hash::Error> {
            let hash = PasswordHash::new(phc)?;
            let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
                return Ok(None);
            };
            let params = Params::try_from(&hash)?;
            if params.m_cost() > max_kib {
                tracing::warn!(
                    m_cost = params.m_cost(),
                    "a stored password hash asks for more memory than MAX_HASH_MEMORY_KIB; not computed"
                );
                return Ok(None);
            }
            let mut salt_bytes = [0u8; 64];
            Ok(Some(Stored {
                algorithm: Algorithm::try_from(hash.algorithm)?,
                version: hash
                    .version
                    .map(Version::try_from)
                    .transpose()?
                    .unwrap_or_default(),
                params,
                salt: salt.decode_b64(&mut salt_bytes)?.to_vec(),
                expected,
            }))
        };
        read().ok().flatten()
    }
}

/// Whether `password` hashes to `stored`; `Err` only when the scratch
/// memory cannot be mapped.
fn verify_now(password: &[u8], stored: &Stored) -> Result<bool> {
    let argon = Argon2::new(stored.algorithm, stored.version, stored.params.clone());
    Ok(
        match compute(&argon, password, &stored.salt, stored.expected.len())? {
            // `Output`'s equality is constant-time.
            Ok(computed) => computed == stored.expected,
            Err(_) => false,
        },
    )
}

/// Hashes a password with argon2id and a random salt (a PHC string), on
/// one of the hashing threads (see [`PasswordHashing`]); waits for it.
/// [`Error::RateLimited`] when too many hashes already wait.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    let password = password.to_owned();
    workers().run(move || hash_now(password.as_bytes(), &salt))?
}

/// Whether `password` matches a stored PHC string (any argon2 parameters
/// it names, up to [`MAX_HASH_MEMORY_KIB`]), checked on a hashing thread.
/// `Ok(false)` for a wrong password, an unreadable hash or a password over
/// [`MAX_PASSWORD_BYTES`]; [`Error::RateLimited`] when too many hashes
/// already wait.
pub fn verify_password(password: &str, phc: &str) -> Result<bool> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    let Some(stored) = Stored::parse(phc, MAX_HASH_MEMORY_KIB) else {
        return Ok(false);
    };
    let password = password.to_owned();
    workers().run(move || verify_now(password.as_bytes(), &stored))?
}

/// A hash to verify against when the account does not exist, so that a
/// missing account takes as long as a wrong password.
pub(crate) fn decoy_hash() -> Result<&'static str> {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DECOY.get() {
        return Ok(h);
    }
    let h = hash_password("decoy password, never valid")?;
    Ok(DECOY.get_or_init(|| h))
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use argon2::PasswordHasher;

    use super::*;

    /// Tests that map scratch memory take turns, so the unmapping test
    /// does not see another test's mapping land on the freed range.
    static MAPPING: Mutex<()> = Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        MAPPING.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A PHC string made by argon2's own hasher (its allocator's memory),
    /// with a fixed salt.
    fn theirs(algorithm: Algorithm, params: Params, password: &[u8]) -> String {
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        Argon2::new(algorithm, Version::V0x13, params)
            .hash_password(password, &salt)
            .expect("hash")
            .to_string()
    }

    fn cheap(m_cost: u32) -> Params {
        Params::new(m_cost, 1, 1, None).expect("params")
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let _turn = turn();
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h).expect("verify"));
        assert!(!verify_password("correct horse battery!", &h).expect("verify"));
        assert!(!verify_password("x", "not a hash").expect("verify"));
        let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(!verify_password(&long, &h).expect("verify"));
        let again = hash_password("correct horse battery").expect("hash");
        assert_ne!(h, again, "salts differ");
        // The same parameters and salt give argon2's own string.
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        assert_eq!(
            hash_now(b"correct horse battery", &salt).expect("ours"),
            theirs(Algorithm::Argon2id, params(), b"correct horse battery")
        );
        // A hash made with other parameters still verifies (its own).
        let older = theirs(Algorithm::Argon2id, cheap(1024), b"older account");
        assert!(verify_password("older account", &older).expect("verify"));
        assert!(decoy_hash().expect("decoy").starts_with("$argon2id$"));
        // Other algorithms of the family verify too; a changed hash does not.
        let argon2i = theirs(Algorithm::Argon2i, cheap(1024), b"older account");
        assert!(verify_password("older account", &argon2i).expect("verify"));
        let tampered = format!("{}A", &older[..older.len() - 1]);
        assert!(!verify_password("older account", &tampered).expect("verify"));
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_not_computed() {
        let _turn = turn();
        let right = theirs(Algorithm::Argon2id, cheap(64), b"right");
        let at = Stored::parse(&right, 64).expect("at the bound: read");
        assert!(verify_now(b"right", &at).expect("computed"));
        assert!(!verify_now(b"wrong", &at).expect("computed"));
        assert!(Stored::parse(&right, 63).is_none(), "over it: not computed");
        // Through the public path, with the real bound.
        let over = right.replace("m=64,", &format!("m={},", MAX_HASH_MEMORY_KIB + 1));
        assert!(PasswordHash::new(&over).is_ok(), "{over}");
        assert!(!verify_password("right", &over).expect("verify"));
    }

    #[test]
    fn scratch_memory_is_returned_to_the_system() {
        let _turn = turn();
        // The mapping is gone once the scratch is dropped: the address
        // range is no longer in the process's maps.
        let mut s = Scratch::new(params().block_count()).expect("map");
        s.blocks()[0] = Block::default();
        let start = s.map.as_ptr() as usize;
        let mapped = |at: usize| {
            std::fs::read_to_string("/proc/self/maps")
                .map(|m| {
                    m.lines().any(|l| {
                        let range = l.split(' ').next().unwrap_or("");
                        let mut ends = range
                            .split('-')
                            .map(|x| usize::from_str_radix(x, 16).unwrap_or(0));
                        let (a, b) = (ends.next().unwrap_or(0), ends.next().unwrap_or(0));
                        a <= at && at < b
                    })
                })
                .unwrap_or(true)
        };
        if !std::path::Path::new("/proc/self/maps").exists() {
            return;
        }
        assert!(mapped(start));
        drop(s);
        assert!(!mapped(start), "unmapped after the hash");
    }

    /// Memory the system will not map is an error with the system's
    /// reason (not "wrong password").
    #[test]
    fn unmappable_scratch_says_why() {
        // 2^40 blocks of 1 KiB: more than any address space.
        match Scratch::new(1 << 40) {
            Err(Error::Internal(why)) => {
                assert!(why.starts_with("password hash memory ("), "{why}");
                assert!(why.contains("): "), "the system's reason: {why}");
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("mapped a petabyte"),
        }
    }

    #[test]
    fn never_more_at_once_than_workers_and_a_full_queue_refuses() {
        let w = Workers::start(PasswordHashing {
            workers: 2,
            queue: 3,
        });
        // Two jobs hold both threads until released.
        let gate = Arc::new(Barrier::new(3));
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let job = |gate: Option<Arc<Barrier>>| {
            let (now, most) = (Arc::clone(&now), Arc::clone(&most));
            move || {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                if let Some(g) = gate {
                    g.wait();
                }
                std::thread::sleep(Duration::from_millis(2));
                now.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let mut waiting = Vec::new();
        for _ in 0..2 {
            waiting.push(w.submit(job(Some(Arc::clone(&gate)))).expect("queued"));
        }
        while now.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        // Both threads busy: three more fill the queue, the next is refused.
        for _ in 0..3 {
            waiting.push(w.submit(job(None)).expect("queued"));
        }
        match w.submit(|| ()) {
            Err(Error::RateLimited { retry_after }) => {
                assert_eq!(retry_after, Duration::from_secs(1))
            }
            Ok(_) => panic!("queued beyond the bound"),
            Err(e) => panic!("{e}"),
        }
        gate.wait();
        for done in waiting {
            done.recv().expect("ran");
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "never more than the workers"
        );
        // Drained: taken again.
        w.run(|| ()).expect("room again");
    }

    #[test]
    fn a_panicking_job_fails_its_caller_only() {
        let w = Workers::start(PasswordHashing {
            workers: 1,
            queue: 4,
        });
        let e = w.run(|| panic!("boom")).expect_err("panicked");
        assert!(matches!(e, Error::Internal(_)), "{e}");
        assert_eq!(w.run(|| 7).expect("the thread lives on"), 7);
    }

    #[test]
    fn settings_are_checked() {
        let none = PasswordHashing {
            workers: 0,
            queue: 1,
        };
        assert!(matches!(none.install(), Err(Error::Config(_))));
        let no_queue = PasswordHashing {
            workers: 1,
            queue: 0,
        };
        assert!(matches!(no_queue.install(), Err(Error::Config(_))));
    }
}
