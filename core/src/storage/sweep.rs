//! Sweeping expired rows, for the stores that sweep on request: which tables, with which
//! cutoff, in which order, how often, and what a sweep reports. Each store deletes one table's
//! batch its own way.

use super::{FAILURE_RETENTION, StorageError};
use crate::clock::Timestamp;
use std::future::Future;

/// A table a sweep deletes from.
#[derive(Clone, Copy, Debug)]
pub(super) enum SweptTable {
    Codes,
    Tokens,
    Families,
    Replays,
    Failures,
    Pending,
}

/// What one sweep of a store deleted (`SqliteStore::sweep`, `PostgresStore::sweep`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepCounts {
    /// Expired codes, live or redeemed.
    pub codes: usize,
    /// Expired tokens, retired refresh tokens included.
    pub tokens: usize,
    /// Families past their retention.
    pub families: usize,
    /// Single-use records past their expiry.
    pub replays: usize,
    /// Failure counts of windows opened over [`FAILURE_RETENTION`](super::FAILURE_RETENTION) ago.
    pub failures: usize,
    /// Expired pending authorizations (device codes), decided or not.
    pub pending: usize,
}

impl SweepCounts {
    /// Rows deleted in all.
    pub fn total(&self) -> usize {
        self.codes + self.tokens + self.families + self.replays + self.failures + self.pending
    }
}

/// One sweep: a batch of each table, deleted by `table(table, cutoff)`: codes, tokens,
/// single-use records and pending authorizations expired at `now`, families `family_retention` seconds past their last
/// expiry, failure counts [`FAILURE_RETENTION`] past their window's start.
pub(super) async fn sweep_tables<F, Fut>(
    now: Timestamp,
    family_retention: u64,
    mut table: F,
) -> Result<SweepCounts, StorageError>
where
    F: FnMut(SweptTable, Timestamp) -> Fut,
    Fut: Future<Output = Result<usize, StorageError>>,
{
    Ok(SweepCounts {
        codes: table(SweptTable::Codes, now).await?,
        tokens: table(SweptTable::Tokens, now).await?,
        families: table(SweptTable::Families, now.saturating_sub(family_retention)).await?,
        replays: table(SweptTable::Replays, now).await?,
        failures: table(SweptTable::Failures, now.saturating_sub(FAILURE_RETENTION)).await?,
        pending: table(SweptTable::Pending, now).await?,
    })
}

/// Sweeps (`sweep(batch)`) until a sweep deletes less than a whole `batch` of every table;
/// what was deleted in all.
pub(super) async fn sweep_until_done<F, Fut>(batch: usize, mut sweep: F) -> Result<SweepCounts, StorageError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<SweepCounts, StorageError>>,
{
    let batch = batch.max(1);
    let mut all = SweepCounts::default();
    loop {
        let counts = sweep(batch).await?;
        all.codes += counts.codes;
        all.tokens += counts.tokens;
        all.families += counts.families;
        all.replays += counts.replays;
        all.failures += counts.failures;
        all.pending += counts.pending;
        let tables = [counts.codes, counts.tokens, counts.families, counts.replays, counts.failures, counts.pending];
        if tables.iter().all(|&n| n < batch) {
            return Ok(all);
        }
    }
}
