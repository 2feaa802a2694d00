//! The reports, one module each. Every report reads the folded journal
//! (`Ledger`); `requests` and `reconcile` also read the spool's files.
//! The column names are a published interface: see COLUMNS.md.

pub mod arrivals;
pub mod chart;
pub mod contested;
pub mod latency;
pub mod reconcile;
pub mod registrars;
pub mod requests;
pub mod stages;
pub mod summary;
pub mod verify;

use spool::Spool;

use crate::output::Dest;

/// What every report is given besides the ledger.
#[derive(Clone, Debug)]
pub struct Context {
    pub spool: Spool,
    /// The report's "now" (lease expiry, ages), from `spool::clock`.
    pub now_us: i64,
    pub dest: Dest,
}

/// The `p`th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 99), Some(10));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
