//! Independent pieces of the report on several threads, their results in
//! the order of the pieces, so that the report is the same whatever the
//! number of threads.

/// Runs `jobs`, the first on this thread and each other one on a thread of
/// its own, and returns their results in order. A job that panics (a bug)
/// panics here too.
pub(super) fn in_parallel<T: Send, F: FnOnce() -> T + Send>(jobs: Vec<F>) -> Vec<T> {
    if jobs.len() <= 1 {
        return jobs.into_iter().map(|job| job()).collect();
    }
    std::thread::scope(|s| {
        let mut jobs = jobs.into_iter();
        let first = jobs.next();
        let handles: Vec<_> = jobs.map(|job| s.spawn(job)).collect();
        let mut results = Vec::with_capacity(handles.len() + 1);
        results.extend(first.map(|job| job()));
        for handle in handles {
            match handle.join() {
                Ok(result) => results.push(result),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}
