//! A small benchmark harness: medians of batch means, reported with a ratio to a floor.
//!
//! An operation is measured in turns with the primitives of its floor (see
//! [`medians_in_turns`]), and a run measures everything in a few rounds (`GRANTRY_BENCH_ROUNDS`,
//! default 3); a row's ratio to its floor is the median of its rounds' ratios, printed with
//! their range. Measured apart, up to a minute between them, an operation and its floor met
//! different spells of a shared machine, and a ratio moved by a third between runs.
//!
//! Under callgrind, with `GRANTRY_BENCH_COUNT` set, a run counts instructions instead (see
//! [`count_file`]): a figure the machine's load does not move.
//!
//! The engine's futures complete without waiting on the in-memory store, so they are polled
//! to completion here without an async runtime: what is measured is the engine, not a
//! scheduler. Shared by the benchmarks of `grantry-grants` and `grantry-extensions`.
#![allow(dead_code)]

use grantry_core::{
    ClientRecord, Clock, CredentialKind, GrantType, MemoryStore, Params, RandomTokenGenerator, ServerConfig, Storage,
    Timestamp, TokenDigest, TokenGenerator, constant_time_eq,
};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Polls a future to completion on this thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Samples per benchmark of the divan benchmarks (`each_operation.rs`).
pub(crate) const DIVAN_SAMPLES: u32 = 100;
/// Calls per sample of the divan benchmarks: each times 6,400 operations on a fresh server,
/// so its store stays small.
pub(crate) const DIVAN_SAMPLE_SIZE: u32 = 64;

/// How many rounds a run measures everything in: `GRANTRY_BENCH_ROUNDS`, default 3; one when
/// counting instructions, which do not vary.
pub(crate) fn rounds() -> usize {
    if count_file().is_some() {
        return 1;
    }
    std::env::var("GRANTRY_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1)
}

/// The file callgrind writes its counts to (its `--callgrind-out-file`), from
/// `GRANTRY_BENCH_COUNT`: set, the run counts instructions instead of timing. It must run
/// under callgrind collecting only inside [`timed_batch`] and dumping after each call, as
/// `grants/benches/count-instructions.sh` runs it:
///
/// ```text
/// GRANTRY_BENCH_COUNT=/tmp/grantry.cg valgrind --tool=callgrind --callgrind-out-file=/tmp/grantry.cg \
///     --toggle-collect=operations::support::timed_batch \
///     --dump-after=operations::support::timed_batch <benchmark binary> --bench
/// ```
///
/// (`--dump-after` wants the full name: the pattern `*timed_batch*` dumped nothing.) Each
/// measurement then runs one batch of [`COUNTED_CALLS`], callgrind writes its count to the
/// next numbered dump, and [`Report::print`] reads them back. Setup, warming and the store's
/// sweeps fall outside [`timed_batch`] and are not counted.
pub(crate) fn count_file() -> Option<String> {
    std::env::var("GRANTRY_BENCH_COUNT").ok().filter(|file| !file.is_empty())
}

/// The calls a measurement makes when counting instructions: one batch.
pub(crate) const COUNTED_CALLS: usize = SMALL_STORE_BATCH;

/// The name of the SHA-256 digest primitive.
pub(crate) const DIGEST: &str = "primitive: SHA-256 digest of a token";

/// The name of the PKCE S256 primitive (a SHA-256 and a base64url encoding).
pub(crate) const S256: &str = "primitive: PKCE S256 of a verifier";

/// The primitives the instruction counts also report left out: valgrind does not run the
/// CPU's SHA instructions, so under it SHA-256 runs in software, at many times their count.
const SHA256_PRIMITIVES: [&str; 2] = [DIGEST, S256];

/// How long each measurement runs in one round: `GRANTRY_BENCH_SECONDS` (default 1 s per
/// operation in all) shared among the [`rounds`].
pub(crate) fn budget() -> Duration {
    let seconds = std::env::var("GRANTRY_BENCH_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(1.0);
    Duration::from_secs_f64((seconds / rounds() as f64).max(0.05))
}

/// The median of `values` (the mean of the middle two when their count is even); NaN when
/// there are none.
pub(crate) fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `numerators[i] / denominators[i]` for each round `i` both have.
pub(crate) fn per_round(numerators: &[f64], denominators: &[f64]) -> Vec<f64> {
    numerators.iter().zip(denominators).map(|(n, d)| n / d).collect()
}

/// The smallest and largest of `values`.
pub(crate) fn range_of(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// Something to time, a batch at a time, in turns with others (see [`medians_in_turns`]).
pub(crate) struct Measurement<'a> {
    /// Times a batch of `n` calls, inputs made and dropped outside the timed region.
    run: Box<dyn FnMut(usize) -> Duration + 'a>,
    max_batch: usize,
}

impl<'a> Measurement<'a> {
    /// Calls of `op` on inputs that `setup` makes before each batch, in batches of at most
    /// `max_batch`.
    pub(crate) fn batched<T: 'a>(
        max_batch: usize,
        mut setup: impl FnMut(usize) -> Vec<T> + 'a,
        mut op: impl FnMut(&T) + 'a,
    ) -> Self {
        let run = move |n: usize| {
            // The first calls of a batch, untimed, warm what the measurement taking its turn
            // before this one evicted.
            let warm = (n / 8).max(4);
            let inputs = setup(n + warm);
            let (warming, timed) = inputs.split_at(warm.min(inputs.len()));
            for input in warming {
                op(black_box(input));
            }
            let elapsed = timed_batch(timed, &mut op);
            drop(inputs);
            elapsed
        };
        Measurement { run: Box::new(run), max_batch }
    }

    /// Calls of `op`, which takes no input, in batches of at most [`SMALL_STORE_BATCH`]: as
    /// long as an operation's on the small store. A batch of a primitive a millisecond long
    /// evicted so much of what the operation taking its turn next had in cache that the
    /// operation measured 10–40 % slower in turns than alone; at this length the two agree.
    pub(crate) fn of(op: impl FnMut() + 'a) -> Self {
        let mut op = op;
        Measurement::batched(SMALL_STORE_BATCH, |n| vec![(); n], move |_| op())
    }

    /// The batch size at which a batch takes a millisecond, or `max_batch`.
    fn calibrate(&mut self) -> usize {
        let mut batch = 16usize.min(self.max_batch);
        while batch < self.max_batch && (self.run)(batch) < Duration::from_micros(1000) {
            batch = (batch * 2).min(self.max_batch);
        }
        batch
    }
}

/// Times `op` on each of `inputs`: the timed region of every batch, a function of its own so
/// that callgrind can count exactly it (see [`count_file`]).
#[inline(never)]
pub(crate) fn timed_batch<T>(inputs: &[T], op: &mut impl FnMut(&T)) -> Duration {
    let start = Instant::now();
    for input in inputs {
        op(black_box(input));
    }
    start.elapsed()
}

/// The median, over batches, of each measurement's mean time per call, in nanoseconds. The
/// measurements take turns, a batch of each per turn, so a slow spell of the machine lands on
/// all of them, not on one: an operation and the primitives of its floor, measured together,
/// give a ratio that holds from run to run. One measurement runs for its
/// [`budget`], several for two (the operation's and its floor's), and each for 11 batches at
/// least.
pub(crate) fn medians_in_turns(measurements: &mut [Measurement<'_>]) -> Vec<f64> {
    let batches: Vec<usize> = measurements.iter_mut().map(Measurement::calibrate).collect();
    let mut means = vec![Vec::new(); measurements.len()];
    let shares = if measurements.len() > 1 { 2 } else { 1 };
    let deadline = Instant::now() + budget() * shares;
    while Instant::now() < deadline || means.iter().any(|m| m.len() < 11) {
        for ((measurement, &batch), means) in measurements.iter_mut().zip(&batches).zip(&mut means) {
            means.push((measurement.run)(batch).as_nanos() as f64 / batch as f64);
        }
    }
    means.iter().map(|m| median_of(m)).collect()
}

/// A primitive of an operation's floor: its row name, how many times the operation pays it,
/// and how to measure it.
pub(crate) struct FloorPart<'a> {
    pub(crate) name: &'static str,
    pub(crate) times: f64,
    pub(crate) measurement: Measurement<'a>,
}

/// Measures `op` in turns with the primitives of its floor, and adds this round's rows: each
/// primitive, and the operation beside its floor (the primitives' sum, each as many times as
/// the operation pays it). `note` is asked for after the measurement.
pub(crate) fn measure_against_floor(
    report: &mut Report,
    name: &str,
    op: Measurement<'_>,
    floor: Vec<FloorPart<'_>>,
    note: impl FnOnce() -> String,
) {
    if count_file().is_some() {
        report.count(name, op, floor);
        return;
    }
    let (names, times): (Vec<_>, Vec<_>) = floor.iter().map(|part| (part.name, part.times)).unzip();
    let mut measurements = vec![op];
    measurements.extend(floor.into_iter().map(|part| part.measurement));
    let medians = medians_in_turns(&mut measurements);
    let mut floor_ns = 0.0;
    for ((name, times), &median) in names.iter().zip(&times).zip(&medians[1..]) {
        report.add(name, median, None, "");
        floor_ns += times * median;
    }
    report.add(name, medians[0], Some(floor_ns), note());
}

/// The parse of `form`, a request's form or query built beforehand: only its parse is the
/// floor's.
pub(crate) fn parse_measurement(form: &[u8]) -> Measurement<'_> {
    Measurement::of(move || drop(black_box(Params::parse(black_box(form)))))
}

/// A new token: 32 random bytes, base64url-encoded.
pub(crate) fn random_token_measurement() -> Measurement<'static> {
    Measurement::of(|| drop(black_box(RandomTokenGenerator.generate(CredentialKind::AccessToken))))
}

/// The SHA-256 digest of `token`, as stores key it.
pub(crate) fn digest_measurement(token: &str) -> Measurement<'_> {
    Measurement::of(move || {
        black_box(TokenDigest::of(black_box(token)));
    })
}

/// A token response with the fields every measured response carries, serialised the ordinary
/// way (serde derive): the JSON floor. It leaves out `scope`, which only the refresh response
/// states (it asks for no scope, RFC 6749 §5.1), so that floor is a little low.
#[derive(serde::Serialize)]
struct TokenJson<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

/// The JSON of a token response carrying `token` (and `refresh_token`, if any).
pub(crate) fn token_json_measurement<'a>(token: &'a str, refresh_token: Option<&'a str>) -> Measurement<'a> {
    Measurement::of(move || {
        let body = TokenJson { access_token: black_box(token), token_type: "Bearer", expires_in: 3600, refresh_token };
        black_box(serde_json::to_vec(&body).unwrap_or_default());
    })
}

/// A client-authentication primitive every Basic-authenticated token request pays: decoding
/// `credentials` (the base64 of an `Authorization: Basic` header) into text.
pub(crate) fn basic_decode_measurement(credentials: &str) -> Measurement<'_> {
    use base64::Engine as _;
    Measurement::of(move || {
        let raw = base64::engine::general_purpose::STANDARD.decode(black_box(credentials)).unwrap_or_default();
        black_box(String::from_utf8(raw).ok());
    })
}

/// The other: comparing `secret` with itself in constant time.
pub(crate) fn secret_compare_measurement(secret: &str) -> Measurement<'_> {
    Measurement::of(move || {
        black_box(constant_time_eq(black_box(secret.as_bytes()), black_box(secret.as_bytes())));
    })
}

/// The redirect URI of [`web_client`].
pub(crate) const REDIRECT: &str = "https://web.example/cb";

/// The confidential client the code-flow benchmarks use: `web`, secret `web-secret`
/// (`Authorization: Basic d2ViOndlYi1zZWNyZXQ=`), redirecting to [`REDIRECT`].
pub(crate) fn web_client() -> ClientRecord {
    ClientRecord::confidential("web", "web-secret")
        .with_redirect_uri(REDIRECT)
        .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
        .with_scope("read write")
}

/// A clock the benchmark sets, forward or back.
pub(crate) struct BenchClock(AtomicU64);

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
pub(crate) const SMALL_STORE_BATCH: usize = 256;

/// An in-memory store on a clock the benchmark controls, so that everything a measurement
/// issues can be swept between batches: each batch then meets the same store (empty, or the
/// fill of [`fill_ahead`](Self::fill_ahead) and at most 1 % more) however long the run, and
/// its tables have their steady-state size instead of growing through resizes. Without it, a
/// longer run would measure a bigger store.
pub(crate) struct SteadyStore {
    pub(crate) store: Arc<MemoryStore>,
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
    pub(crate) fn new(now: Timestamp) -> Self {
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
    pub(crate) fn storage(&self) -> Storage {
        Storage::single(self.store.clone())
    }

    /// `config` on this store's clock.
    pub(crate) fn config(&self, config: ServerConfig) -> ServerConfig {
        config.with_clock(self.clock.clone())
    }

    /// Runs `fill` with the clock ten years ahead: what it issues outlives every sweep of
    /// [`clear`](Self::clear), so it stays as the store's standing population.
    pub(crate) fn fill_ahead(&self, fill: impl FnOnce()) {
        let now = self.clock.now();
        self.clock.0.store(now + AHEAD, Ordering::Relaxed);
        fill();
        self.clock.0.store(now, Ordering::Relaxed);
        let (codes, tokens) = self.store.len();
        self.standing.store(codes + tokens, Ordering::Relaxed);
    }

    /// Sweeps everything issued at the current time (it all expires within
    /// [`LONGEST_LIFETIME`]), keeping what [`fill_ahead`](Self::fill_ahead) issued.
    pub(crate) fn clear(&self) {
        let (codes, tokens) = self.store.len();
        self.peak.fetch_max(codes + tokens, Ordering::Relaxed);
        self.sweep();
    }

    /// [`clear`](Self::clear) without noting the store's size (which locks every shard once
    /// more), for clearing inside a measurement.
    pub(crate) fn sweep(&self) {
        self.store.sweep(self.clock.now() + LONGEST_LIFETIME);
    }

    /// The most codes and tokens the store held at once, so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// A [`Measurement`] of `op` on this store, cleared before each batch when it is due.
    pub(crate) fn measurement<'a>(&'a self, mut op: impl FnMut(usize) + 'a) -> Measurement<'a> {
        self.measurement_batched(|n| (0..n).collect(), move |&i| op(i))
    }

    /// A [`Measurement`] of `op` on inputs `setup` makes, the store cleared before each batch's
    /// setup when it is due (see [`clear_if_due`](Self::clear_if_due)). A batch is at most
    /// [`SMALL_STORE_BATCH`] operations, so what it meets is a store of about a thousand codes
    /// and tokens (plus any standing population), not one that grows with the machine's speed.
    pub(crate) fn measurement_batched<'a, T: 'a>(
        &'a self,
        mut setup: impl FnMut(usize) -> Vec<T> + 'a,
        op: impl FnMut(&T) + 'a,
    ) -> Measurement<'a> {
        let setup = move |n| {
            self.clear_if_due(n);
            setup(n)
        };
        Measurement::batched(SMALL_STORE_BATCH, setup, op)
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
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) medians: Vec<f64>,
    pub(crate) floors: Vec<f64>,
    pub(crate) note: String,
}

impl Row {
    /// The median over the rounds.
    pub(crate) fn median(&self) -> f64 {
        median_of(&self.medians)
    }

    /// The floor's median over the rounds, if the row has a floor.
    pub(crate) fn floor(&self) -> Option<f64> {
        (!self.floors.is_empty()).then(|| median_of(&self.floors))
    }

    /// The ratio to the floor in each round: the operation and its floor measured in the
    /// same round.
    pub(crate) fn ratios(&self) -> Vec<f64> {
        per_round(&self.medians, &self.floors)
    }
}

/// Collects rows, a measurement per round each, and prints them as a table; and comparisons,
/// a ratio per round each.
#[derive(Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    comparisons: Vec<(String, Vec<f64>)>,
    /// When counting instructions: each counted operation, with its floor's parts (name, and
    /// times the operation pays it), in the order their batches ran.
    counted: Vec<(String, Vec<(&'static str, f64)>)>,
}

impl Report {
    /// Adds this round's `median_ns` (and floor) to the row `name`, and prints it.
    pub(crate) fn add(&mut self, name: &str, median_ns: f64, floor_ns: Option<f64>, note: impl Into<String>) {
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
    pub(crate) fn median(&self, name: &str) -> f64 {
        self.row(name).map(Row::median).unwrap_or(f64::NAN)
    }

    /// Round by round, row `numerator`'s median over row `denominator`'s.
    pub(crate) fn ratios(&self, numerator: &str, denominator: &str) -> Vec<f64> {
        let (Some(n), Some(d)) = (self.row(numerator), self.row(denominator)) else { return Vec::new() };
        per_round(&n.medians, &d.medians)
    }

    /// Adds this round's `ratio` to the comparison `label` (two measurements taken in turns).
    pub(crate) fn compare(&mut self, label: &str, ratio: f64) {
        match self.comparisons.iter_mut().find(|(l, _)| l == label) {
            Some((_, ratios)) => ratios.push(ratio),
            None => self.comparisons.push((label.into(), vec![ratio])),
        }
    }

    /// Each comparison: the median of its rounds' ratios, and their range.
    pub(crate) fn print_comparisons(&self) {
        for (label, ratios) in &self.comparisons {
            println!("{label}: {:.2}× ({} over the rounds)", median_of(ratios), fmt_range(ratios));
        }
    }

    /// Runs one batch of `op` and one of each part of its `floor`, for callgrind to count (see
    /// [`count_file`]).
    pub(crate) fn count(&mut self, name: &str, mut op: Measurement<'_>, floor: Vec<FloorPart<'_>>) {
        (op.run)(COUNTED_CALLS);
        let mut parts = Vec::with_capacity(floor.len());
        for mut part in floor {
            (part.measurement.run)(COUNTED_CALLS);
            parts.push((part.name, part.times));
        }
        self.counted.push((name.into(), parts));
    }

    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// Prints the table: the rows measured, or, when counting instructions, the counts.
    pub(crate) fn print(&self, title: &str) {
        if let Some(file) = count_file() {
            return self.print_counts(title, &file);
        }
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

impl Report {
    /// The counted operations' instructions per call next to their floors', read from
    /// callgrind's numbered dumps of `file`, one per batch in the order the batches ran.
    fn print_counts(&self, title: &str, file: &str) {
        let mut dump = 0;
        let mut next_count = || {
            dump += 1;
            let path = format!("{file}.{dump}");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
                panic!("GRANTRY_BENCH_COUNT: no callgrind dump {path} ({err}); run under callgrind as support::count_file says")
            });
            let total = text
                .lines()
                .find_map(|line| line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:")))
                .and_then(|count| count.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{path}: no instruction total"));
            total / COUNTED_CALLS as f64
        };
        // The title's parenthesis describes the timed table.
        let title = title.split(" (").next().unwrap_or(title);
        println!("\n## {title}: instructions per call (callgrind)\n");
        println!("| operation | instructions | floor | ratio to floor | SHA-256 left out: operation | floor | ratio |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let mut primitives: Vec<(&str, f64)> = Vec::new();
        for (name, parts) in &self.counted {
            let op = next_count();
            let (mut floor, mut sha256) = (0.0, 0.0);
            for &(part, times) in parts {
                let count = next_count();
                floor += times * count;
                if SHA256_PRIMITIVES.contains(&part) {
                    sha256 += times * count;
                }
                if !primitives.iter().any(|&(seen, _)| seen == part) {
                    primitives.push((part, count));
                }
            }
            // A floor of SHA-256 alone leaves nothing to compare with.
            let rest = match (op - sha256, floor - sha256) {
                (op_rest, floor_rest) if floor_rest > 0.0 => {
                    format!("{op_rest:.0} | {floor_rest:.0} | {:.2}×", op_rest / floor_rest)
                }
                (op_rest, _) => format!("{op_rest:.0} | — | —"),
            };
            println!("| {name} | {op:.0} | {floor:.0} | {:.2}× | {rest} |", op / floor);
        }
        for (name, count) in primitives {
            println!("| {name} | {count:.0} | — | — | — | — | — |");
        }
    }
}

/// A ratio's range over the rounds, as `1.62–1.80×`.
pub(crate) fn fmt_range(ratios: &[f64]) -> String {
    let (lo, hi) = range_of(ratios);
    format!("{lo:.2}–{hi:.2}×")
}

fn format_line(name: &str, median_ns: f64, floor_ns: Option<f64>) -> String {
    match floor_ns {
        Some(f) => format!("{:<52} {:>10}   floor {:>10}   {:.2}×", name, fmt_ns(median_ns), fmt_ns(f), median_ns / f),
        None => format!("{:<52} {:>10}", name, fmt_ns(median_ns)),
    }
}

pub(crate) fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 { format!("{:.2} µs", ns / 1000.0) } else { format!("{ns:.0} ns") }
}

/// Resident memory of this process in bytes (Linux), for memory-per-token figures.
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
