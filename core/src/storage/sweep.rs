//! What a store's sweep of expired rows reports, for the stores that sweep on request.

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
}

impl SweepCounts {
    /// Rows deleted in all.
    pub fn total(&self) -> usize {
        self.codes + self.tokens + self.families + self.replays + self.failures
    }
}
