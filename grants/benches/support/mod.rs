//! A small benchmark harness: medians of batch means, reported with a ratio to a floor.
//!
//! A run measures everything in a few rounds (`GRANTRY_BENCH_ROUNDS`, default 3), and a row's
//! ratio to its floor is the median of its rounds' ratios, printed with their range. A machine
//! that is slow for a few seconds then skews one round of a few rows, not the figure: in one
//! pass, an operation and the primitives of its floor are measured up to a minute apart, and a
//! slow spell over either moved a ratio by a third between runs.
//!
//! The engine's futures complete without waiting on the in-memory store, so they are polled
//! to completion here without an async runtime: what is measured is the engine, not a
//! scheduler. Shared by the benchmarks of `grantry-grants` and `grantry-extensions`.
#![allow(dead_code)]

use grantry_core::{ClientRecord, Clock, GrantType, MemoryStore, ServerConfig, Storage, Timestamp, constant_time_eq};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Polls a future to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// How many rounds a run measures everything in: `GRANTRY_BENCH_ROUNDS`, default 3.
pub fn rounds() -> usize {
    std::env::var("GRANTRY_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1)
}

/// How long each measurement runs in one round: `GRANTRY_BENCH_SECONDS` (default 1 s per
/// operation in all) shared among the [`rounds`].
pub fn budget() -> Duration {
    let seconds = std::env::var("GRANTRY_BENCH_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(1.0);
    Duration::from_secs_f64((seconds / rounds() as f64).max(0.05))
}

/// The median of `values` (the mean of the middle two when their count is even); NaN when
/// there are none.
pub fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `numerators[i] / denominators[i]` for each round `i` both have.
pub fn per_round(numerators: &[f64], denominators: &[f64]) -> Vec<f64> {
    numerators.iter().zip(denominators).map(|(n, d)| n / d).collect()
}

/// The smallest and largest of `values`.
pub fn range_of(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// The median, over batches, of the mean time of one call of `op`, in nanoseconds.
/// `op` gets the index of the call within its batch.
pub fn median_ns(mut op: impl FnMut(usize)) -> f64 {
    median_ns_batched(|n| (0..n).collect(), |&i| op(i))
}

/// Like [`median_ns`], for operations that consume their input (a code, a refresh token):
/// each batch's inputs are made by `setup` outside the timed region, and dropped outside it
/// too (the server API borrows a request: freeing it is the caller's cost, not the engine's).
pub fn median_ns_batched<T>(setup: impl FnMut(usize) -> Vec<T>, op: impl FnMut(&T)) -> f64 {
    median_ns_batched_up_to(1 << 16, setup, op)
}

/// [`median_ns_batched`] with batches of at most `max_batch` calls.
pub fn median_ns_batched_up_to<T>(
    max_batch: usize,
    mut setup: impl FnMut(usize) -> Vec<T>,
    mut op: impl FnMut(&T),
) -> f64 {
    let mut batch = 16usize.min(max_batch);
    loop {
        let inputs = setup(batch);
        let start = Instant::now();
        for input in &inputs {
            op(black_box(input));
        }
        let elapsed = start.elapsed();
        drop(inputs);
        if elapsed >= Duration::from_micros(1000) || batch >= max_batch {
            break;
        }
        batch = (batch * 2).min(max_batch);
    }
    let deadline = Instant::now() + budget();
    let mut means = Vec::new();
    while Instant::now() < deadline || means.len() < 11 {
        let inputs = setup(batch);
        let start = Instant::now();
        for input in &inputs {
            op(black_box(input));
        }
        means.push(start.elapsed().as_nanos() as f64 / batch as f64);
        drop(inputs);
    }
    means.sort_by(f64::total_cmp);
    means[means.len() / 2]
}

/// The client-authentication primitives every Basic-authenticated token request pays:
/// decoding `credentials` (the base64 of an `Authorization: Basic` header) into text, and
/// comparing `secret` with itself in constant time. Returns (decode, compare) in nanoseconds.
pub fn basic_auth_primitives_ns(credentials: &str, secret: &str) -> (f64, f64) {
    use base64::Engine as _;
    let decode = median_ns(|_| {
        let raw = base64::engine::general_purpose::STANDARD.decode(black_box(credentials)).unwrap_or_default();
        black_box(String::from_utf8(raw).ok());
    });
    let compare = median_ns(|_| {
        black_box(constant_time_eq(black_box(secret.as_bytes()), black_box(secret.as_bytes())));
    });
    (decode, compare)
}

/// The redirect URI of [`web_client`].
pub const REDIRECT: &str = "https://web.example/cb";

/// The confidential client the code-flow benchmarks use: `web`, secret `web-secret`
/// (`Authorization: Basic d2ViOndlYi1zZWNyZXQ=`), redirecting to [`REDIRECT`].
pub fn web_client() -> ClientRecord {
    ClientRecord::confidential("web", "web-secret")
        .with_redirect_uri(REDIRECT)
        .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
        .with_scope("read write")
}

/// A clock the benchmark sets, forward or back.
pub struct BenchClock(AtomicU64);

impl Clock for BenchClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::Relaxed)
    }
}

/// How far ahead [`SteadyStore::fill_ahead`] issues: far past every lifetime the servers use.
const AHEAD: u64 = 10 * 365 * 24 * 3600;
/// Longer than every lifetime the servers use (refresh tokens live 14 days).
const LONGEST_LIFETIME: u64 = 30 * 24 * 3600;

/// The most operations between two sweeps of a [`SteadyStore`]: a refresh batch of this size
/// leaves about 1,300 codes and tokens behind it (each refresh token came with a code and an
/// access token, and its refresh issues two more), a client credentials batch 256.
pub const SMALL_STORE_BATCH: usize = 256;

/// An in-memory store on a clock the benchmark controls, so that everything a measurement
/// issues can be swept between batches: each batch then meets the same store (empty, or the
/// fill of [`fill_ahead`](Self::fill_ahead) and at most 1 % more) however long the run, and
/// its tables have their steady-state size instead of growing through resizes. Without it, a
/// longer run would measure a bigger store.
pub struct SteadyStore {
    pub store: Arc<MemoryStore>,
    clock: Arc<BenchClock>,
    /// The most codes plus tokens seen in the store just before a sweep.
    peak: AtomicUsize,
    /// How many codes and tokens [`fill_ahead`](Self::fill_ahead) left standing.
    standing: AtomicUsize,
    /// Operations measured since the last sweep.
    since_sweep: AtomicUsize,
}

impl SteadyStore {
    /// An empty store whose clock shows `now` (and stays there).
    pub fn new(now: Timestamp) -> Self {
        let clock = Arc::new(BenchClock(AtomicU64::new(now)));
        let store = Arc::new(MemoryStore::with_clock(clock.clone()));
        SteadyStore {
            store,
            clock,
            peak: AtomicUsize::new(0),
            standing: AtomicUsize::new(0),
            since_sweep: AtomicUsize::new(0),
        }
    }

    /// The storage to build a server on.
    pub fn storage(&self) -> Storage {
        Storage::single(self.store.clone())
    }

    /// `config` on this store's clock.
    pub fn config(&self, config: ServerConfig) -> ServerConfig {
        config.with_clock(self.clock.clone())
    }

    /// Runs `fill` with the clock ten years ahead: what it issues outlives every sweep of
    /// [`clear`](Self::clear), so it stays as the store's standing population.
    pub fn fill_ahead(&self, fill: impl FnOnce()) {
        let now = self.clock.now();
        self.clock.0.store(now + AHEAD, Ordering::Relaxed);
        fill();
        self.clock.0.store(now, Ordering::Relaxed);
        let (codes, tokens) = self.store.len();
        self.standing.store(codes + tokens, Ordering::Relaxed);
    }

    /// Sweeps everything issued at the current time (it all expires within
    /// [`LONGEST_LIFETIME`]), keeping what [`fill_ahead`](Self::fill_ahead) issued.
    pub fn clear(&self) {
        let (codes, tokens) = self.store.len();
        self.peak.fetch_max(codes + tokens, Ordering::Relaxed);
        self.sweep();
    }

    /// [`clear`](Self::clear) without noting the store's size (which locks every shard once
    /// more), for clearing inside a measurement.
    pub fn sweep(&self) {
        self.store.sweep(self.clock.now() + LONGEST_LIFETIME);
    }

    /// The most codes and tokens the store held at once, so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// [`median_ns`], clearing the store before each batch.
    pub fn median_ns(&self, mut op: impl FnMut(usize)) -> f64 {
        self.median_ns_batched(|n| (0..n).collect(), |&i| op(i))
    }

    /// [`median_ns_batched`], clearing the store before each batch's setup when it is due (see
    /// [`clear_if_due`](Self::clear_if_due)). A batch is at most [`SMALL_STORE_BATCH`]
    /// operations, so what it meets is a store of about a thousand codes and tokens (plus any
    /// standing population), not one that grows with the machine's speed.
    pub fn median_ns_batched<T>(&self, mut setup: impl FnMut(usize) -> Vec<T>, op: impl FnMut(&T)) -> f64 {
        median_ns_batched_up_to(
            SMALL_STORE_BATCH,
            |n| {
                self.clear_if_due(n);
                setup(n)
            },
            op,
        )
    }

    /// Clears the store before a batch of `n` operations unless what the batches since the
    /// last sweep issued is still under 1 % of the standing population (an operation leaves at
    /// most five codes and tokens). A store without one is cleared before every batch. A store
    /// with one is not: sweeping it reads every entry (a hundred megabytes at a million
    /// tokens), which evicts the caches and the TLB, and after a sweep before every batch each
    /// batch would pay for refilling them, which a server, whose shards each drop their expired
    /// entries only when they fill, never does. The batch after a sweep still pays; the median
    /// passes over it.
    fn clear_if_due(&self, n: usize) {
        let standing = self.standing.load(Ordering::Relaxed);
        let since = self.since_sweep.load(Ordering::Relaxed) + n;
        if standing == 0 || since * 5 > standing / 100 {
            self.clear();
            self.since_sweep.store(n, Ordering::Relaxed);
        } else {
            self.since_sweep.store(since, Ordering::Relaxed);
        }
    }
}

/// One row of the report: an operation's median in each round, and its floor in each round
/// when it has one.
pub struct Row {
    pub name: String,
    pub medians: Vec<f64>,
    pub floors: Vec<f64>,
    pub note: String,
}

impl Row {
    /// The median over the rounds.
    pub fn median(&self) -> f64 {
        median_of(&self.medians)
    }

    /// The floor's median over the rounds, if the row has a floor.
    pub fn floor(&self) -> Option<f64> {
        (!self.floors.is_empty()).then(|| median_of(&self.floors))
    }

    /// The ratio to the floor in each round: the operation and its floor measured in the
    /// same round.
    pub fn ratios(&self) -> Vec<f64> {
        per_round(&self.medians, &self.floors)
    }
}

/// Collects rows, a measurement per round each, and prints them as a table.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// Adds this round's `median_ns` (and floor) to the row `name`, and prints it.
    pub fn add(&mut self, name: &str, median_ns: f64, floor_ns: Option<f64>, note: impl Into<String>) {
        println!("{}", format_line(name, median_ns, floor_ns));
        let index = match self.rows.iter().position(|r| r.name == name) {
            Some(index) => index,
            None => {
                let row = Row { name: name.into(), medians: Vec::new(), floors: Vec::new(), note: note.into() };
                self.rows.push(row);
                self.rows.len() - 1
            }
        };
        let row = &mut self.rows[index];
        row.medians.push(median_ns);
        row.floors.extend(floor_ns);
    }

    /// The row `name`'s median over the rounds; NaN when there is no such row.
    pub fn median(&self, name: &str) -> f64 {
        self.row(name).map(Row::median).unwrap_or(f64::NAN)
    }

    /// Round by round, row `numerator`'s median over row `denominator`'s.
    pub fn ratios(&self, numerator: &str, denominator: &str) -> Vec<f64> {
        let (Some(n), Some(d)) = (self.row(numerator), self.row(denominator)) else { return Vec::new() };
        per_round(&n.medians, &d.medians)
    }

    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    pub fn print(&self, title: &str) {
        println!("\n## {title}\n");
        println!("| operation | median | floor | ratio to floor | ratio range over rounds | note |");
        println!("|---|---:|---:|---:|---:|---|");
        for row in &self.rows {
            let floor = row.floor().map(fmt_ns).unwrap_or_else(|| "—".into());
            let ratios = row.ratios();
            let (ratio, range) = if ratios.is_empty() {
                ("—".into(), "—".into())
            } else {
                (format!("{:.2}×", median_of(&ratios)), fmt_range(&ratios))
            };
            println!("| {} | {} | {floor} | {ratio} | {range} | {} |", row.name, fmt_ns(row.median()), row.note);
        }
    }
}

/// A ratio's range over the rounds, as `1.62–1.80×`.
pub fn fmt_range(ratios: &[f64]) -> String {
    let (lo, hi) = range_of(ratios);
    format!("{lo:.2}–{hi:.2}×")
}

fn format_line(name: &str, median_ns: f64, floor_ns: Option<f64>) -> String {
    match floor_ns {
        Some(f) => format!("{:<52} {:>10}   floor {:>10}   {:.2}×", name, fmt_ns(median_ns), fmt_ns(f), median_ns / f),
        None => format!("{:<52} {:>10}", name, fmt_ns(median_ns)),
    }
}

pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 { format!("{:.2} µs", ns / 1000.0) } else { format!("{ns:.0} ns") }
}

/// Resident memory of this process in bytes (Linux), for memory-per-token figures.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
