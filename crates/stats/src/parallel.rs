//! Reading many small files (records, raw messages) in a fixed order
//! with every core: the files are read in rounds, each round split
//! between threads, and the results handed on in order. Memory stays
//! bounded by one round.

use std::num::NonZeroUsize;
use std::panic;
use std::thread;

/// Items per thread in one round.
const PER_THREAD: usize = 2048;

/// The threads used: the cores there are, at most eight (the files come
/// from the page cache or one disk; more threads only queue).
pub fn threads() -> usize {
    thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(8)
}

/// Apply `work` to every item, on several threads, and hand each result
/// to `each` in the order of `items`. Stops at the first error `each`
/// returns.
pub fn ordered_map<I, T, E, W, F>(
    items: &[I],
    work: W,
    mut each: F,
) -> Result<(), E>
where
    I: Sync,
    T: Send,
    W: Fn(&I) -> T + Sync,
    F: FnMut(&I, T) -> Result<(), E>,
{
    let threads = threads();
    for round in items.chunks(PER_THREAD * threads) {
        let part = round.len().div_ceil(threads);
        let work = &work;
        let results: Vec<Vec<T>> = thread::scope(|s| {
            let handles: Vec<_> = round
                .chunks(part)
                .map(|c| s.spawn(move || c.iter().map(work).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| panic::resume_unwind(p)))
                .collect()
        });
        for (item, result) in round.iter().zip(results.into_iter().flatten()) {
            each(item, result)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_the_order_of_the_items() {
        let items: Vec<u64> = (0..20_000).rev().collect();
        let mut seen = Vec::new();
        ordered_map(
            &items,
            |&i| i * 2,
            |&i, r| {
                seen.push((i, r));
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), items.len());
        assert!(seen.iter().zip(&items).all(|(s, &i)| *s == (i, i * 2)));
    }
}
