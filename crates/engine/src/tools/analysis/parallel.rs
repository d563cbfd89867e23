//! The same pure question asked of many rules or pairs, answered on the
//! machine's cores, the answers in the order of the questions: the report
//! must not depend on how many cores there are.

use std::thread;

/// Below this many items a thread costs more than it saves.
const MIN_CHUNK: usize = 16;

/// `f` of each item, in order.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(items.len() / MIN_CHUNK).max(1);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for worker in workers {
            match worker.join() {
                Ok(part) => out.extend(part),
                // A worker that panicked fails the analysis as it would
                // have failed on one thread: nothing is left out.
                Err(cause) => std::panic::resume_unwind(cause),
            }
        }
        out
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
