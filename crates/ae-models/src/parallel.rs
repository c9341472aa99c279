//! Running training on a worker of a compute thread pool, so that the CPU backend's parallel
//! kernels share the cores with the thread that drives them instead of waking the pool for each.
//!
//! Burn's CPU backends split large matrix products and convolutions over rayon's pool. Called
//! from a thread outside the pool (a program's main thread), every such call hands its work to
//! the pool's workers and puts the caller to sleep until they finish: two context switches per
//! kernel, thousands per second for a small model, while the caller's core sits idle. Called
//! from one of the pool's own workers, the caller does its share and only the other workers are
//! woken. Measured on 2 cores (burn-flex, `ae-train bench`): dense 784-256-32 steps/s +20-30 %,
//! VAE +25-35 %, conv +14 %; the results are bit-identical either way.

/// Runs `work` on a worker of a new rayon pool of `threads` threads (0: rayon's default, the
/// `RAYON_NUM_THREADS` variable or else one per logical CPU) with `stack` bytes of stack per
/// thread (0: 8 MiB, a main thread's usual), and returns its result once every thread of the
/// pool has ended; a panic in `work` is resumed in the caller. Falls back to running `work` on the
/// calling thread if no pool can be created.
///
/// The threads are joined, not just told to stop, so that a program returning from `main`
/// right after does not run its libraries' exit handlers while a worker still runs its
/// thread-local destructors: libEGL (loaded when wgpu looks at OpenGL) frees a worker's state
/// in both, and glibc aborted such runs with "double free or corruption".
///
/// # Examples
///
/// ```
/// let sum = ae_models::parallel::on_compute_pool(0, 0, || (1..=10).sum::<u32>());
/// assert_eq!(sum, 55);
/// ```
pub fn on_compute_pool<R: Send>(threads: usize, stack: usize, work: impl FnOnce() -> R + Send) -> R {
    let stack = if stack == 0 { 8 << 20 } else { stack };
    let mut workers = Vec::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(stack)
        .spawn_handler(|thread| {
            let mut builder = std::thread::Builder::new();
            if let Some(name) = thread.name() {
                builder = builder.name(name.to_owned());
            }
            if let Some(size) = thread.stack_size() {
                builder = builder.stack_size(size);
            }
            workers.push(builder.spawn(|| thread.run())?);
            Ok(())
        })
        .build();
    let Ok(pool) = pool else {
        // Threads that did start end when the pool's registry is dropped; wait for them too.
        workers.into_iter().for_each(|w| drop(w.join()));
        return work();
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.install(work)));
    drop(pool);
    for worker in workers {
        // A worker's own panic was already reported by rayon; only its end matters here.
        let _ = worker.join();
    }
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_pool_worker_and_parallel_calls_stay_in_that_pool() {
        assert!(rayon::current_thread_index().is_none());
        let (index, threads) = on_compute_pool(3, 0, || (rayon::current_thread_index(), rayon::current_num_threads()));
        assert!(index.is_some());
        assert_eq!(threads, 3);
    }

    #[test]
    fn every_worker_has_ended_when_it_returns() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static ENDED: AtomicUsize = AtomicUsize::new(0);
        /// Counts its thread's end, late: after a pause, as a slow thread-local destructor would.
        struct CountsEnd;
        impl Drop for CountsEnd {
            fn drop(&mut self) {
                std::thread::sleep(std::time::Duration::from_millis(50));
                ENDED.fetch_add(1, Ordering::SeqCst);
            }
        }
        thread_local!(static MARK: CountsEnd = const { CountsEnd });
        on_compute_pool(3, 0, || rayon::broadcast(|_| MARK.with(|_| ())));
        assert_eq!(ENDED.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn panics_reach_the_caller() {
        let caught = std::panic::catch_unwind(|| on_compute_pool(1, 0, || panic!("inside")));
        assert!(caught.is_err());
    }
}
