//! Reading many small files (records, raw messages) in a fixed order
//! with every core: worker threads take chunks of the items in turn and
//! the calling thread hands the results on in order while they read the
//! next ones. Workers stay at most `WINDOW` chunks ahead of the caller,
//! so memory is bounded whatever the number of items.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::thread;

/// Items a worker takes at once.
const CHUNK: usize = 256;

/// Chunks the workers may be ahead of the caller.
const WINDOW: usize = 32;

/// The reading threads: twice the cores, at least 8 and at most 16.
/// Opening a file costs more in the kernel than in the program, and a
/// file not in the page cache waits for the disk: threads beyond the
/// cores keep the disk's queue full and the cores busy.
pub fn threads() -> usize {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    (cores * 2).clamp(8, 16)
}

/// Apply `work` to every item on worker threads and hand each result to
/// `each`, on the calling thread, in the order of `items`. Stops at the
/// first error `each` returns.
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
    let chunks: Vec<&[I]> = items.chunks(CHUNK).collect();
    let next = AtomicUsize::new(0);
    // The first chunk not yet handed on; workers wait on it.
    let done = (Mutex::new(0usize), Condvar::new());
    thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<(usize, Vec<T>)>(WINDOW);
        for _ in 0..threads() {
            let tx = tx.clone();
            let (chunks, next, done, work) = (&chunks, &next, &done, &work);
            s.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= chunks.len() || !wait_turn(done, k) {
                    return;
                }
                let out: Vec<T> = chunks[k].iter().map(work).collect();
                if tx.send((k, out)).is_err() {
                    return; // the caller stopped at an error
                }
            });
        }
        drop(tx);
        let result = hand_on(&chunks, rx, &done, &mut each);
        // Release any worker still waiting for its turn.
        let (lock, turn) = &done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = usize::MAX;
        turn.notify_all();
        result
    })
}

/// Block until chunk `k` is within the window; false when told to stop.
fn wait_turn(done: &(Mutex<usize>, Condvar), k: usize) -> bool {
    let (lock, turn) = done;
    let mut first = lock.lock().unwrap_or_else(|e| e.into_inner());
    while k >= first.saturating_add(WINDOW) {
        first = turn.wait(first).unwrap_or_else(|e| e.into_inner());
    }
    *first != usize::MAX
}

fn hand_on<I, T, E, F>(
    chunks: &[&[I]],
    rx: mpsc::Receiver<(usize, Vec<T>)>,
    done: &(Mutex<usize>, Condvar),
    each: &mut F,
) -> Result<(), E>
where
    F: FnMut(&I, T) -> Result<(), E>,
{
    let mut early: BTreeMap<usize, Vec<T>> = BTreeMap::new();
    let mut want = 0;
    for (k, out) in rx {
        early.insert(k, out);
        while let Some(out) = early.remove(&want) {
            for (item, result) in chunks[want].iter().zip(out) {
                each(item, result)?;
            }
            want += 1;
            let (lock, turn) = done;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = want;
            turn.notify_all();
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

    #[test]
    fn an_error_stops_the_walk_and_the_workers() {
        let items: Vec<u64> = (0..100_000).collect();
        let mut n = 0;
        let r = ordered_map(
            &items,
            |&i| i,
            |&i, _| {
                n += 1;
                if i == 1000 {
                    Err(i)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!((r, n), (Err(1000), 1001));
    }

    #[test]
    fn no_items_no_calls() {
        let items: Vec<u64> = Vec::new();
        ordered_map(
            &items,
            |&i| i,
            |_, _| -> Result<(), ()> { panic!("called") },
        )
        .unwrap();
    }
}
