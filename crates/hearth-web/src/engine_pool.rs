//! The threads engine calls run on: [`Limits::engine_calls`] of them, fed
//! in arrival order from one queue. A request waiting for one holds no
//! thread; the pool never grows (each thread keeps its own allocator heap,
//! and more threads than the database serves at once would only wait on
//! it — or, on a busy machine, on a core).
//!
//! [`Limits::engine_calls`]: crate::Limits::engine_calls

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of named threads taking jobs from one queue. Dropping it
/// closes the queue: each thread finishes the job it runs and ends.
#[derive(Debug)]
pub(crate) struct EnginePool {
    queue: Sender<Job>,
}

impl EnginePool {
    /// Starts `threads` threads (at least 1).
    pub fn new(threads: usize) -> Result<EnginePool> {
        let threads = threads.max(1);
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("hearth-engine-{i}"))
                .spawn(move || work(&jobs))
                .map_err(|e| Error::Internal(format!("could not start an engine thread: {e}")))?;
        }
        Ok(EnginePool { queue })
    }

    /// Runs `f` on one of the pool's threads once one is free, and waits
    /// for its answer without blocking the async worker. A panic in `f`
    /// is an `Internal` error; the thread goes on to the next job.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(std::panic::catch_unwind(AssertUnwindSafe(f)));
        });
        self.queue
            .send(job)
            .map_err(|_| Error::Internal("the engine threads have stopped".into()))?;
        match answered.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(Error::Internal(format!("engine call panicked: {message}")))
            }
            Err(_) => Err(Error::Internal("an engine thread stopped".into())),
        }
    }
}

/// One thread's life: the next job, in arrival order, until the queue is
/// closed.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // One idle thread waits in `recv`, the others for the lock.
        let next = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_its_threads_at_once_and_a_panic_is_an_error() {
        let pool = Arc::new(EnginePool::new(3).unwrap_or_else(|e| panic!("{e}")));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..24)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        std::thread::current().name().map(str::to_string)
                    })
                    .await
                })
            })
            .collect();
        for call in calls {
            let name = call.await.ok().and_then(Result::ok).flatten();
            assert!(name.is_some_and(|n| n.starts_with("hearth-engine-")));
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            3,
            "all three threads, and no more"
        );
        let e = pool.run(|| -> u8 { panic!("on purpose") }).await;
        assert!(
            matches!(&e, Err(Error::Internal(m)) if m.contains("on purpose")),
            "{e:?}"
        );
        // The pool goes on after a panic.
        assert_eq!(pool.run(|| 7).await.ok(), Some(7));
    }
}
