// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Benchmarks of the RFC 6749 grants through the public server API, from raw request to
//! serialised response, each next to its floor: the sum of the primitives the operation
//! cannot avoid (parse, random token, digests, JSON).
//!
//! Run: `cargo bench -p grantry-grants --bench operations` (one core is enough; set
//! `GRANTRY_BENCH_SECONDS` to change the time per operation, default 1 in all, and
//! `GRANTRY_BENCH_ROUNDS` the rounds it is shared among, default 3).

mod fixtures;
mod support;

use fixtures::{
    AUTHORIZE, START, SVC_BASIC, WEB_BASIC, client_credentials_request, code, exchange_request, refresh_requests,
    server, token_field,
};
use grantry_core::http;
use grantry_core::request::FormBody;
use grantry_core::{
    AuthorizationServer, Consent, CredentialKind, RandomTokenGenerator, Request, Scope, TokenDigest, TokenGenerator,
};
use std::hash::BuildHasherDefault;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};
use support::{
    FloorPart, Measurement, Report, SMALL_STORE_BATCH, SteadyStore, basic_decode_measurement, block_on,
    digest_measurement, measure_against_floor, medians_in_turns, parse_measurement, random_token_measurement,
    resident_bytes, secret_compare_measurement, token_json_measurement,
};

/// The smallest active introspection response, serialised the ordinary way.
#[derive(serde::Serialize)]
struct IntrospectionJson<'a> {
    active: bool,
    scope: &'a str,
    client_id: &'a str,
    sub: &'a str,
    token_type: &'a str,
    iat: u64,
    exp: u64,
    iss: &'a str,
}

/// A primitive of the floors, measured beside each operation whose floor it is part of.
#[derive(Clone, Copy)]
enum Primitive {
    /// The parse of each operation's own request form: the body it parses.
    ParseClientCredentialsForm,
    ParseExchangeForm,
    ParseRefreshForm,
    ParseIntrospectionForm,
    ParseAuthorizeQuery,
    BasicDecode,
    SecretCompare,
    RandomToken,
    Digest,
    TokenJson,
    TokenJsonWithRefresh,
    IntrospectionJson,
}

impl Primitive {
    fn name(self) -> &'static str {
        match self {
            Primitive::ParseClientCredentialsForm => "primitive: parse client_credentials form",
            Primitive::ParseExchangeForm => "primitive: parse code exchange form",
            Primitive::ParseRefreshForm => "primitive: parse refresh form",
            Primitive::ParseIntrospectionForm => "primitive: parse introspection form",
            Primitive::ParseAuthorizeQuery => "primitive: parse authorize query (5 params)",
            Primitive::BasicDecode => "primitive: Basic credentials decode",
            Primitive::SecretCompare => "primitive: constant-time secret compare",
            Primitive::RandomToken => "primitive: 32 random bytes + base64url",
            Primitive::Digest => support::DIGEST,
            Primitive::TokenJson => "primitive: token response JSON",
            Primitive::TokenJsonWithRefresh => "primitive: token response JSON, with refresh token",
            Primitive::IntrospectionJson => "primitive: introspection JSON",
        }
    }
}

/// What the primitives run on, made once, outside every timed region.
struct PrimitiveInputs {
    client_credentials_form: Vec<u8>,
    exchange_form: Vec<u8>,
    refresh_form: Vec<u8>,
    introspection_form: Vec<u8>,
    authorize_query: Vec<u8>,
    token: String,
}

impl PrimitiveInputs {
    fn new() -> Self {
        let token = RandomTokenGenerator.generate(CredentialKind::AccessToken);
        let body = |request: Request| request.body().to_vec();
        let introspection = http::Request::post("/introspect")
            .header("Authorization", SVC_BASIC)
            .form(&[("token", &token)])
            .expect("a valid request");
        let refresh = http::Request::post("/token")
            .header("Authorization", WEB_BASIC)
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
            .expect("a valid request");
        PrimitiveInputs {
            client_credentials_form: body(client_credentials_request()),
            exchange_form: body(exchange_request(&token)),
            refresh_form: body(refresh),
            introspection_form: body(introspection),
            authorize_query: AUTHORIZE.split_once('?').expect("query").1.as_bytes().to_vec(),
            token,
        }
    }

    /// A measurement of `primitive`.
    fn measurement(&self, primitive: Primitive) -> Measurement<'_> {
        let token = self.token.as_str();
        match primitive {
            Primitive::ParseClientCredentialsForm => parse_measurement(&self.client_credentials_form),
            Primitive::ParseExchangeForm => parse_measurement(&self.exchange_form),
            Primitive::ParseRefreshForm => parse_measurement(&self.refresh_form),
            Primitive::ParseIntrospectionForm => parse_measurement(&self.introspection_form),
            Primitive::ParseAuthorizeQuery => parse_measurement(&self.authorize_query),
            Primitive::BasicDecode => basic_decode_measurement("c3ZjOnN2Yy1zZWNyZXQ="),
            Primitive::SecretCompare => secret_compare_measurement("svc-secret"),
            Primitive::RandomToken => random_token_measurement(),
            Primitive::Digest => digest_measurement(token),
            Primitive::TokenJson => token_json_measurement(token, None),
            Primitive::TokenJsonWithRefresh => token_json_measurement(token, Some(token)),
            Primitive::IntrospectionJson => Measurement::of(|| {
                let body = IntrospectionJson {
                    active: true,
                    scope: black_box("read"),
                    client_id: "svc",
                    sub: "svc",
                    token_type: "Bearer",
                    iat: 1_700_000_000,
                    exp: 1_700_003_600,
                    iss: "https://auth.example",
                };
                black_box(serde_json::to_vec(&body).unwrap_or_default());
            }),
        }
    }
}

/// Measures `op` in turns with the primitives of its floor (each primitive and how many times
/// the operation pays it): see [`support::measure_against_floor`].
fn measure_against(
    report: &mut Report,
    name: &str,
    op: Measurement<'_>,
    floor: &[(Primitive, f64)],
    inputs: &PrimitiveInputs,
    note: impl FnOnce() -> String,
) {
    let parts = floor
        .iter()
        .map(|&(primitive, times)| FloorPart {
            name: primitive.name(),
            times,
            measurement: inputs.measurement(primitive),
        })
        .collect();
    measure_against_floor(report, name, op, parts, note);
}

/// client_credentials with Basic auth, on `server` swept between batches by `steady`.
fn client_credentials_measurement<'a>(server: &'a AuthorizationServer, steady: &'a SteadyStore) -> Measurement<'a> {
    let request = client_credentials_request();
    steady.measurement(move |_| drop(black_box(block_on(server.token_endpoint(&request)).into_body())))
}

/// The code exchange alone: each batch's codes are made beforehand, untimed.
fn exchange_measurement<'a>(server: &'a AuthorizationServer, steady: &'a SteadyStore) -> Measurement<'a> {
    steady.measurement_batched(
        move |n| (0..n).map(|_| exchange_request(&code(server))).collect(),
        move |req| drop(black_box(block_on(server.token_endpoint(req)).into_body())),
    )
}

/// A refresh with rotation: each batch's refresh tokens are issued beforehand, untimed.
fn refresh_measurement<'a>(server: &'a AuthorizationServer, steady: &'a SteadyStore) -> Measurement<'a> {
    steady.measurement_batched(
        move |n| refresh_requests(server, n),
        move |req| drop(black_box(block_on(server.token_endpoint(req)).into_body())),
    )
}

/// The store's size during a steady measurement, for the report's note column.
fn store_note(reference: &str, steady: &SteadyStore) -> String {
    let size = format!("store ≤ {} codes and tokens", steady.peak());
    if reference.is_empty() { size } else { format!("{reference}; {size}") }
}

/// Each operation on a small store, cleared before every batch (see [`SteadyStore`]), measured
/// in turns with the primitives of its floor.
fn operations(report: &mut Report, inputs: &PrimitiveInputs) {
    use Primitive::*;
    // Basic authentication of the client, after parsing `form`.
    let auth = |form: Primitive| [(form, 1.0), (BasicDecode, 1.0), (SecretCompare, 1.0)];

    let (server, steady) = server();
    let floor =
        [&auth(ParseClientCredentialsForm)[..], &[(RandomToken, 1.0), (Digest, 1.0), (TokenJson, 1.0)]].concat();
    let op = client_credentials_measurement(&server, &steady);
    measure_against(report, "client_credentials, Basic auth", op, &floor, inputs, || {
        store_note("oxide-auth 3.0 µs", &steady)
    });

    let (server, steady) = self::server();
    let exchange_floor =
        [&auth(ParseExchangeForm)[..], &[(Digest, 3.0), (RandomToken, 2.0), (TokenJsonWithRefresh, 1.0)]].concat();
    let op = exchange_measurement(&server, &steady);
    measure_against(report, "authorization_code, token exchange only", op, &exchange_floor, inputs, || {
        store_note("oxide-auth 4.8 µs (with PKCE)", &steady)
    });

    let (server, steady) = self::server();
    let authorize_request = http::Request::get(AUTHORIZE).body(Vec::new()).expect("a valid request");
    let op = steady.measurement(|_| {
        let request = block_on(server.validate_authorization_request(&authorize_request)).expect("valid");
        black_box(block_on(server.create_authorization_response(&request, Consent::allow("alice"))));
    });
    let authorize_floor = [(ParseAuthorizeQuery, 1.0), (RandomToken, 1.0), (Digest, 1.0)];
    measure_against(report, "authorization request alone (validate + code)", op, &authorize_floor, inputs, || {
        store_note("", &steady)
    });

    let (server, steady) = self::server();
    let op = steady.measurement(|_| {
        let code = code(&server);
        black_box(block_on(server.token_endpoint(&exchange_request(&code))).into_body());
    });
    let both_floor = [&authorize_floor[..], &exchange_floor].concat();
    measure_against(report, "authorize request + exchange", op, &both_floor, inputs, || {
        store_note("oxide-auth 8.9 µs", &steady)
    });

    let (server, steady) = self::server();
    let floor =
        [&auth(ParseRefreshForm)[..], &[(Digest, 3.0), (RandomToken, 2.0), (TokenJsonWithRefresh, 1.0)]].concat();
    let op = refresh_measurement(&server, &steady);
    measure_against(report, "refresh_token with rotation", op, &floor, inputs, || {
        store_note("oxide-auth 3.3 µs", &steady)
    });

    // Introspection and the resource check add nothing to the store: it holds the tokens they
    // read, and a lookup never meets the same token twice in a row.
    let (server, _steady) = self::server();
    let tokens: Vec<String> = (0..LOOKED_UP)
        .map(|_| {
            token_field(&block_on(server.token_endpoint(&client_credentials_request())).into_body(), "access_token")
        })
        .collect();
    let lookups = Lookups::new(&server, &tokens);
    let note = format!("store: {LOOKED_UP} tokens, each read in turn");
    let floor = [&auth(ParseIntrospectionForm)[..], &[(Digest, 1.0), (IntrospectionJson, 1.0)]].concat();
    measure_against(report, "introspection of an active token", lookups.introspection(), &floor, inputs, || {
        format!("Authlib 12 µs; {note}")
    });
    measure_against(report, "protected resource token check", lookups.check(), &[(Digest, 1.0)], inputs, || {
        note.clone()
    });
}

/// How many different tokens the lookup benchmarks read in turn.
const LOOKED_UP: usize = 1024;

/// Introspection and protected-resource requests for a set of tokens, read in turn.
struct Lookups<'a> {
    server: &'a AuthorizationServer,
    introspect: Vec<Request>,
    api: Vec<Request>,
    read: Scope,
}

impl<'a> Lookups<'a> {
    fn new(server: &'a AuthorizationServer, tokens: &[String]) -> Self {
        let introspect: Vec<Request> = tokens
            .iter()
            .map(|token| {
                http::Request::post("/introspect")
                    .header("Authorization", SVC_BASIC)
                    .form(&[("token", token)])
                    .expect("a valid request")
            })
            .collect();
        for request in &introspect {
            let body = block_on(server.introspection_endpoint(request)).into_body();
            assert!(body.starts_with(br#"{"active":true"#), "every looked-up token is active");
        }
        let api = tokens
            .iter()
            .map(|token| {
                http::Request::get("/api/me")
                    .header("Authorization", format!("Bearer {token}"))
                    .body(Vec::new())
                    .expect("a valid request")
            })
            .collect();
        Lookups { server, introspect, api, read: Scope::parse("read").expect("scope") }
    }

    fn introspection(&self) -> Measurement<'_> {
        let mut next = 0usize;
        Measurement::of(move || {
            next = (next + 1) % self.introspect.len();
            drop(black_box(block_on(self.server.introspection_endpoint(&self.introspect[next])).into_body()));
        })
    }

    fn check(&self) -> Measurement<'_> {
        let guard = self.server.resource_guard();
        let mut next = 0usize;
        Measurement::of(move || {
            next = (next + 1) % self.api.len();
            drop(black_box(block_on(guard.authorize(&self.api[next], &self.read))));
        })
    }
}

/// The operations growth is reported for, by their row names in the main table.
const GROWTH_OPERATIONS: [&str; 5] = [
    "client_credentials, Basic auth",
    "authorization_code, token exchange only",
    "refresh_token with rotation",
    "introspection of an active token",
    "protected resource token check",
];

/// Fills a server with `live` client-credentials tokens (measuring resident memory per token
/// when `measure_memory`: first thing in the process, so the growth is the store's), then
/// `live / 20` code exchanges (their codes, families, access and refresh tokens), all issued
/// ahead (see [`SteadyStore::fill_ahead`]); then measures the operations of
/// [`GROWTH_OPERATIONS`] on it, each in turns with the same operation on a small store, and
/// reports the large store's figures and, round by round, their ratio to the small store's.
fn growth(report: &mut Report, live: usize, measure_memory: bool) {
    let before = resident_bytes().filter(|_| measure_memory);
    let (server, steady) = server();
    let request = client_credentials_request();
    let mut sampled = Vec::with_capacity(LOOKED_UP);
    steady.fill_ahead(|| {
        let every = (live / LOOKED_UP).max(1);
        for i in 0..live {
            let body = block_on(server.token_endpoint(&request)).into_body();
            if i % every == 0 && sampled.len() < LOOKED_UP {
                sampled.push(body);
            }
        }
        if let (Some(before), Some(after)) = (before, resident_bytes()) {
            let per_token = after.saturating_sub(before) as f64 / live as f64;
            println!("memory per live token ({live} tokens): {per_token:.0} bytes (resident memory growth / tokens)");
        }
        for _ in 0..live / 20 {
            block_on(server.token_endpoint(&exchange_request(&code(&server))));
        }
    });
    let sampled: Vec<String> = sampled.iter().map(|body| token_field(body, "access_token")).collect();
    let (codes, tokens) = steady.store.len();
    println!("growth store: {codes} codes and {tokens} tokens, before each batch's own");

    let (small_server, small_steady) = self::server();
    let small_tokens: Vec<String> = (0..LOOKED_UP)
        .map(|_| token_field(&block_on(small_server.token_endpoint(&request)).into_body(), "access_token"))
        .collect();
    let (lookups, small_lookups) = (Lookups::new(&server, &sampled), Lookups::new(&small_server, &small_tokens));
    let pairs = [
        (
            client_credentials_measurement(&server, &steady),
            client_credentials_measurement(&small_server, &small_steady),
        ),
        (exchange_measurement(&server, &steady), exchange_measurement(&small_server, &small_steady)),
        (refresh_measurement(&server, &steady), refresh_measurement(&small_server, &small_steady)),
        (lookups.introspection(), small_lookups.introspection()),
        (lookups.check(), small_lookups.check()),
    ];
    for (name, (large, small)) in GROWTH_OPERATIONS.iter().zip(pairs) {
        let medians = medians_in_turns(&mut [large, small]);
        report.add(&format!("{name}, {live}+ live tokens"), medians[0], None, "");
        report
            .compare(&format!("growth: {name} with {live}+ live tokens, to the small store"), medians[0] / medians[1]);
    }
}

/// How many live tokens the growth measurements fill the store with: `GRANTRY_BENCH_LIVE`,
/// a million by default.
fn growth_live() -> usize {
    std::env::var("GRANTRY_BENCH_LIVE").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000)
}

/// Digest-sized keys are already random: the bare table's hasher takes their first word, as
/// the memory store's does.
#[derive(Default)]
struct FirstWord(u64);

impl std::hash::Hasher for FirstWord {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }
}

/// The memory system's share of growth, with no grantry code around it: one insert of a fresh
/// digest with a boxed 104-byte slot (what the memory store keeps per token) into a locked
/// hash table, of 1,000 entries and of `entries`, measured in turns. What a batch inserts is
/// removed before the next, and a batch is at most [`SMALL_STORE_BATCH`] inserts, as in the
/// store's own measurements: a bigger one would grow the small table many times over inside
/// the timed region. Reports both and, round by round, their ratio.
///
/// A lower bound: in this tight loop the processor overlaps one insert's cache misses with the
/// next one's work, which a request's microsecond of other work between inserts does not allow.
fn bare_table_inserts(report: &mut Report, entries: usize) {
    let (small, large) = (BareTable::new(1_000), BareTable::new(entries));
    let medians = medians_in_turns(&mut [small.measurement(), large.measurement()]);
    report.add("primitive: bare hash table insert, 1000 entries", medians[0], None, "");
    report.add(&format!("primitive: bare hash table insert, {entries} entries"), medians[1], None, "");
    report.compare(
        &format!("growth: a bare hash table insert (no grantry code) at {entries} entries, to 1000"),
        medians[1] / medians[0],
    );
}

type BareMap = std::collections::HashMap<[u8; 32], (u64, Box<[u64; 13]>), BuildHasherDefault<FirstWord>>;

/// A locked table of random digests, and the keys the last batch inserted.
struct BareTable {
    table: Mutex<BareMap>,
    pending: Mutex<Vec<[u8; 32]>>,
}

fn random_digest() -> [u8; 32] {
    *TokenDigest::of(&RandomTokenGenerator.generate(CredentialKind::AccessToken)).as_bytes()
}

impl BareTable {
    fn new(entries: usize) -> Self {
        let mut table = BareMap::default();
        for _ in 0..entries {
            table.insert(random_digest(), (0, Box::new([0; 13])));
        }
        BareTable { table: Mutex::new(table), pending: Mutex::new(Vec::new()) }
    }

    fn measurement(&self) -> Measurement<'_> {
        let setup = |n| {
            let mut table = self.table.lock().unwrap();
            let mut pending = self.pending.lock().unwrap();
            for key in pending.drain(..) {
                table.remove(&key);
            }
            *pending = (0..n).map(|_| random_digest()).collect();
            pending.clone()
        };
        Measurement::batched(SMALL_STORE_BATCH, setup, |key| {
            self.table.lock().unwrap().insert(*key, (START, Box::new([0; 13])));
        })
    }
}

/// Operations per second completed by `threads` threads each running `op`, over phases of
/// `phase` operations per thread (long enough, a millisecond or more, that waking the workers
/// is a small part of it) for about `duration` in all. Between phases, with
/// the workers waiting and the clock stopped, the coordinating thread runs `between` (a sweep
/// of what the phase issued), as the single-thread measurements sweep between batches: one
/// thread's sweep then never runs beside the other's requests, freeing its tokens, whose
/// memory and reference counts belong to that other thread.
fn throughput(threads: usize, phase: usize, duration: Duration, op: &(impl Fn() + Sync), between: &impl Fn()) -> f64 {
    let start = Barrier::new(threads + 1);
    let end = Barrier::new(threads + 1);
    let stop = AtomicBool::new(false);
    let mut busy = Duration::ZERO;
    let mut phases = 0usize;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    start.wait();
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    for _ in 0..phase {
                        op();
                    }
                    end.wait();
                }
            });
        }
        while busy < duration {
            // Timed from before the release: the workers are already waiting (they went
            // straight from the last phase to `start`), and on a machine with as many cores
            // as workers this thread might be scheduled again only late into the phase.
            let started = Instant::now();
            start.wait();
            end.wait();
            busy += started.elapsed();
            phases += 1;
            between();
        }
        stop.store(true, Ordering::Relaxed);
        start.wait();
    });
    (phases * threads * phase) as f64 / busy.as_secs_f64()
}

/// One-thread and two-thread throughput of `op`, in alternating rounds (1-2, 2-1, ...) within
/// `window`, each after `reset`; alternating evens out what the machine does meanwhile.
/// Returns the medians of each.
fn scaling(window: Duration, phase: usize, reset: impl Fn(), op: impl Fn() + Sync, between: impl Fn()) -> (f64, f64) {
    const ROUNDS: usize = 8;
    let round = window / 4;
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let mut measure = |threads: usize| {
        reset();
        let rate = throughput(threads, phase, round, &op, &between);
        if threads == 1 { one.push(rate) } else { two.push(rate) }
    };
    for i in 0..ROUNDS {
        if i % 2 == 0 {
            measure(1);
            measure(2);
        } else {
            measure(2);
            measure(1);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median(one), median(two))
}

/// Client credentials scaling on a steady store: what each phase of 2,048 requests per thread
/// issued is swept before the next, so one thread and two meet a store of the same small size
/// (without it, a round filled the store with hundreds of thousands of tokens, twice as many
/// with two threads, and the comparison measured the bigger store as much as the second
/// thread). Then, as the machine's own reference, the same rounds of a SHA-256 loop that
/// shares nothing. Returns (one thread, two threads) for both.
fn client_credentials_scaling(window: Duration) -> ((f64, f64), (f64, f64)) {
    let (server, steady) = server();
    let request = client_credentials_request();
    let requests = scaling(
        window,
        2048,
        || steady.clear(),
        || drop(black_box(block_on(server.token_endpoint(&request)).into_body())),
        || steady.sweep(),
    );
    let token = RandomTokenGenerator.generate(CredentialKind::AccessToken);
    let reference = scaling(window / 2, 32 * 1024, || {}, || _ = black_box(TokenDigest::of(black_box(&token))), || {});
    (requests, reference)
}

fn print_scaling(((one, two), (sha_one, sha_two)): ((f64, f64), (f64, f64))) {
    println!("\nclient_credentials throughput: 1 thread {one:.0}/s, 2 threads {two:.0}/s, scaling {:.2}×", two / one);
    println!("machine reference, a SHA-256 loop sharing nothing: scaling {:.2}×", sha_two / sha_one);
}

fn main() {
    // `cargo test --benches` runs benchmarks with `--bench` absent: skip the long work then.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let mut report = Report::default();
    // GRANTRY_BENCH_PROFILE=client_credentials: run only that operation, for a profiler
    // (or `scaling`: only the 2-thread comparison; `growth`: only the large store's rows).
    if let Ok(op) = std::env::var("GRANTRY_BENCH_PROFILE") {
        if op == "scaling" {
            print_scaling(client_credentials_scaling(support::budget().max(Duration::from_secs(1))));
            return;
        }
        if op == "growth" {
            growth(&mut report, growth_live(), true);
            return;
        }
        let (server, steady) = server();
        let ns = match op.as_str() {
            "client_credentials" => client_credentials_measurement(&server, &steady),
            "refresh_token" => refresh_measurement(&server, &steady),
            "authorization_code" => exchange_measurement(&server, &steady),
            other => panic!("GRANTRY_BENCH_PROFILE: no operation {other:?}"),
        };
        let ns = medians_in_turns(&mut [ns])[0];
        println!("{op} {}", support::fmt_ns(ns));
        return;
    }
    // Under callgrind (see `support::count_file`): the operations' instructions, once.
    if support::count_file().is_some() {
        operations(&mut report, &PrimitiveInputs::new());
        report.print("grantry-grants operations");
        return;
    }
    let growth_live = growth_live();
    let inputs = PrimitiveInputs::new();
    let rounds = support::rounds();
    for round in 1..=rounds {
        println!("\nround {round} of {rounds}");
        // Growth first: in the first round the process is still fresh, so resident memory
        // growth is the store's.
        growth(&mut report, growth_live, round == 1);
        bare_table_inserts(&mut report, growth_live);
        operations(&mut report, &inputs);
    }
    let scaled = client_credentials_scaling(support::budget().max(Duration::from_secs(1)));
    print_scaling(scaled);
    let ((one, two), (sha_one, sha_two)) = scaled;
    report.print("grantry-grants operations (median per operation, one thread)");
    println!();
    report.print_comparisons();
    println!(
        "2-thread scaling of client_credentials: {:.2}× (a SHA-256 loop sharing nothing: {:.2}×)",
        two / one,
        sha_two / sha_one
    );
}
