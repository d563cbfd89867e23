//! The same pure question asked of many rules or pairs, answered on the
//! machine's cores, the answers in the order of the questions: the report
//! must not depend on how many cores there are.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Below this many items a thread costs more than it saves.
const MIN_CHUNK: usize = 16;

/// How many items a worker takes at a time: items differ in cost (an early
/// rule has more tickets to split than a late one), so workers take small
/// runs as they finish rather than one fixed share each.
const RUN: usize = 4;

/// `f` of each item, in order.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(items.len() / MIN_CHUNK).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(RUN, Ordering::Relaxed);
            if start >= items.len() {
                return done;
            }
            let end = (start + RUN).min(items.len());
            done.extend((start..end).map(|i| (i, f(&items[i]))));
        }
    };
    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => done.into_iter().for_each(|(i, r)| slots[i] = Some(r)),
                // A worker that panicked fails the analysis as it would
                // have failed on one thread: nothing is left out.
                Err(cause) => std::panic::resume_unwind(cause),
            }
        }
        // Every index was taken by exactly one worker.
        slots.into_iter().flatten().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_in_the_order_of_the_questions() {
        let items: Vec<u64> = (0..1000).collect();
        let squares = map(&items, |n| n * n);
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(map(&[] as &[u64], |n| *n), Vec::<u64>::new());
    }
}
