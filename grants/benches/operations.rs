// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Benchmarks of the RFC 6749 grants through the public server API, from raw request to
//! serialised response, each next to its floor: the sum of the primitives the operation
//! cannot avoid (parse, random token, digests, JSON).
//!
//! Run: `cargo bench -p grantry-grants --bench operations` (one core is enough; set
//! `GRANTRY_BENCH_SECONDS` to change the time per operation, default 1 in all, and
//! `GRANTRY_BENCH_ROUNDS` the rounds it is shared among, default 3).

mod support;

use grantry_core::{
    AuthorizationServer, ClientRecord, Consent, CredentialKind, GrantType, Params, RandomTokenGenerator, Request,
    Scope, ServerConfig, TokenDigest, TokenGenerator,
};
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant};
use std::hash::BuildHasherDefault;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};
use support::{
    REDIRECT, Report, SMALL_STORE_BATCH, SteadyStore, basic_auth_primitives_ns, block_on, median_ns,
    median_ns_batched_up_to, resident_bytes, web_client,
};

const SVC_BASIC: &str = "Basic c3ZjOnN2Yy1zZWNyZXQ="; // svc:svc-secret
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ="; // web:web-secret
const AUTHORIZE: &str = "/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&scope=read&state=af0ifjsldkj";

/// When the benchmark clocks start (any fixed time will do).
const START: u64 = 1_700_000_000;

/// A server with the clients the benchmarks use, on a store of its own whose clock the
/// benchmark moves (see [`SteadyStore`]).
fn server() -> (AuthorizationServer, SteadyStore) {
    let steady = SteadyStore::new(START);
    steady
        .store
        .add_client(
            ClientRecord::confidential("svc", "svc-secret")
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_scope("read write"),
        )
        .expect("valid client");
    steady.store.add_client(web_client()).expect("valid client");
    let config = steady.config(ServerConfig::new("https://auth.example").expect("valid issuer"));
    let mut server = AuthorizationServer::new(steady.storage(), config);
    server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");
    server.register_grant(RefreshTokenGrant::new(), ()).expect("register");
    server.register_grant(ClientCredentialsGrant::new(), ()).expect("register");
    (server, steady)
}

fn client_credentials_request() -> Request {
    Request::post("/token")
        .with_header("Authorization", SVC_BASIC)
        .with_form(&[("grant_type", "client_credentials"), ("scope", "read")])
}

fn code(server: &AuthorizationServer) -> String {
    let request = block_on(server.validate_authorization_request(&Request::get(AUTHORIZE))).expect("valid request");
    let response = block_on(server.create_authorization_response(&request, Consent::allow("alice")));
    let location = response.header("Location").expect("redirect");
    let params = Params::parse(location.split_once('?').expect("query").1.as_bytes()).expect("params");
    params.get("code").expect("code").to_owned()
}

fn exchange_request(code: &str) -> Request {
    Request::post("/token").with_header("Authorization", WEB_BASIC).with_form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ])
}

/// `n` refresh requests, each for a fresh refresh token of its own grant.
fn refresh_requests(server: &AuthorizationServer, n: usize) -> Vec<Request> {
    (0..n)
        .map(|_| {
            let body = block_on(server.token_endpoint(&exchange_request(&code(server)))).body;
            let refresh_token = token_field(&body, "refresh_token");
            Request::post("/token")
                .with_header("Authorization", WEB_BASIC)
                .with_form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)])
        })
        .collect()
}

fn token_field(body: &[u8], field: &str) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).expect("json");
    json[field].as_str().expect("field").to_owned()
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

/// The primitives, measured once each.
struct Primitives {
    /// Each operation's own request form: the body it parses.
    parse_client_credentials_form: f64,
    parse_exchange_form: f64,
    parse_refresh_form: f64,
    parse_introspection_form: f64,
    parse_authorize_query: f64,
    basic_decode: f64,
    secret_compare: f64,
    random_token: f64,
    digest: f64,
    token_json: f64,
    token_json_with_refresh: f64,
    introspection_json: f64,
}

fn primitives(report: &mut Report) -> Primitives {
    let query = AUTHORIZE.split_once('?').expect("query").1.as_bytes().to_vec();
    let generator = RandomTokenGenerator;
    let token = generator.generate(CredentialKind::AccessToken);
    let (basic_decode, secret_compare) = basic_auth_primitives_ns("c3ZjOnN2Yy1zZWNyZXQ=", "svc-secret");
    // Each form is built once, outside the timed region: only its parse is the floor's.
    let parse = |request: Request| {
        let body = request.body().to_vec();
        median_ns(|_| drop(black_box(Params::parse(black_box(&body)))))
    };
    let introspection =
        Request::post("/introspect").with_header("Authorization", SVC_BASIC).with_form(&[("token", &token)]);
    let refresh = Request::post("/token")
        .with_header("Authorization", WEB_BASIC)
        .with_form(&[("grant_type", "refresh_token"), ("refresh_token", &token)]);
    let json = |refresh_token: Option<&str>| {
        median_ns(|_| {
            let body =
                TokenJson { access_token: black_box(&token), token_type: "Bearer", expires_in: 3600, refresh_token };
            black_box(serde_json::to_vec(&body).unwrap_or_default());
        })
    };
    let p = Primitives {
        parse_client_credentials_form: parse(client_credentials_request()),
        parse_exchange_form: parse(exchange_request(&token)),
        parse_refresh_form: parse(refresh),
        parse_introspection_form: parse(introspection),
        parse_authorize_query: median_ns(|_| drop(black_box(Params::parse(black_box(&query))))),
        basic_decode,
        secret_compare,
        random_token: median_ns(|_| drop(black_box(generator.generate(CredentialKind::AccessToken)))),
        digest: median_ns(|_| {
            black_box(TokenDigest::of(black_box(&token)));
        }),
        token_json: json(None),
        token_json_with_refresh: json(Some(&token)),
        introspection_json: median_ns(|_| {
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
    };
    for (name, v) in [
        ("primitive: parse client_credentials form", p.parse_client_credentials_form),
        ("primitive: parse code exchange form", p.parse_exchange_form),
        ("primitive: parse refresh form", p.parse_refresh_form),
        ("primitive: parse introspection form", p.parse_introspection_form),
        ("primitive: parse authorize query (5 params)", p.parse_authorize_query),
        ("primitive: Basic credentials decode", p.basic_decode),
        ("primitive: constant-time secret compare", p.secret_compare),
        ("primitive: 32 random bytes + base64url", p.random_token),
        ("primitive: SHA-256 digest of a token", p.digest),
        ("primitive: token response JSON", p.token_json),
        ("primitive: token response JSON, with refresh token", p.token_json_with_refresh),
        ("primitive: introspection JSON", p.introspection_json),
    ] {
        report.add(name, v, None, "");
    }
    p
}

/// client_credentials with Basic auth, on `server` swept between batches by `steady`.
fn measure_client_credentials(server: &AuthorizationServer, steady: &SteadyStore) -> f64 {
    let request = client_credentials_request();
    steady.median_ns(|_| drop(black_box(block_on(server.token_endpoint(&request)).body)))
}

/// The code exchange alone: each batch's codes are made beforehand, untimed.
fn measure_exchange(server: &AuthorizationServer, steady: &SteadyStore) -> f64 {
    steady.median_ns_batched(
        |n| (0..n).map(|_| exchange_request(&code(server))).collect(),
        |req| drop(black_box(block_on(server.token_endpoint(req)).body)),
    )
}

/// A refresh with rotation: each batch's refresh tokens are issued beforehand, untimed.
fn measure_refresh(server: &AuthorizationServer, steady: &SteadyStore) -> f64 {
    steady.median_ns_batched(
        |n| refresh_requests(server, n),
        |req| drop(black_box(block_on(server.token_endpoint(req)).body)),
    )
}

/// The store's size during a steady measurement, for the report's note column.
fn store_note(reference: &str, steady: &SteadyStore) -> String {
    let size = format!("store ≤ {} codes and tokens", steady.peak());
    if reference.is_empty() { size } else { format!("{reference}; {size}") }
}

/// Each operation on a small store: cleared before every batch (see [`SteadyStore`]).
fn operations(report: &mut Report, p: &Primitives) {
    // Basic authentication of the client, after parsing `form`.
    let auth = |form: f64| form + p.basic_decode + p.secret_compare;

    let (server, steady) = server();
    let cc = measure_client_credentials(&server, &steady);
    report.add(
        "client_credentials, Basic auth",
        cc,
        Some(auth(p.parse_client_credentials_form) + p.random_token + p.digest + p.token_json),
        store_note("oxide-auth 3.0 µs", &steady),
    );

    let (server, steady) = self::server();
    let exchange = measure_exchange(&server, &steady);
    let exchange_floor =
        auth(p.parse_exchange_form) + 3.0 * p.digest + 2.0 * p.random_token + p.token_json_with_refresh;
    report.add(
        "authorization_code, token exchange only",
        exchange,
        Some(exchange_floor),
        store_note("oxide-auth 4.8 µs (with PKCE)", &steady),
    );

    let (server, steady) = self::server();
    let authorize_request = Request::get(AUTHORIZE);
    let authorize = steady.median_ns(|_| {
        let request = block_on(server.validate_authorization_request(&authorize_request)).expect("valid");
        black_box(block_on(server.create_authorization_response(&request, Consent::allow("alice"))));
    });
    let authorize_floor = p.parse_authorize_query + p.random_token + p.digest;
    report.add(
        "authorization request alone (validate + code)",
        authorize,
        Some(authorize_floor),
        store_note("", &steady),
    );

    let (server, steady) = self::server();
    let both = steady.median_ns(|_| {
        let code = code(&server);
        black_box(block_on(server.token_endpoint(&exchange_request(&code))).body);
    });
    report.add(
        "authorize request + exchange",
        both,
        Some(authorize_floor + exchange_floor),
        store_note("oxide-auth 8.9 µs", &steady),
    );

    let (server, steady) = self::server();
    let refresh = measure_refresh(&server, &steady);
    report.add(
        "refresh_token with rotation",
        refresh,
        Some(auth(p.parse_refresh_form) + 3.0 * p.digest + 2.0 * p.random_token + p.token_json_with_refresh),
        store_note("oxide-auth 3.3 µs", &steady),
    );

    // Introspection and the resource check add nothing to the store: it holds the tokens they
    // read, and a lookup never meets the same token twice in a row.
    let (server, _steady) = self::server();
    let tokens: Vec<String> = (0..LOOKED_UP)
        .map(|_| token_field(&block_on(server.token_endpoint(&client_credentials_request())).body, "access_token"))
        .collect();
    let (introspection, check) = lookups(&server, &tokens);
    let note = format!("store: {LOOKED_UP} tokens, each read in turn");
    report.add(
        "introspection of an active token",
        introspection,
        Some(auth(p.parse_introspection_form) + p.digest + p.introspection_json),
        format!("Authlib 12 µs; {note}"),
    );
    report.add("protected resource token check", check, Some(p.digest), note);
}

/// How many different tokens the lookup benchmarks read in turn.
const LOOKED_UP: usize = 1024;

/// Medians of introspection and of the protected-resource check, reading `tokens` in turn.
fn lookups(server: &AuthorizationServer, tokens: &[String]) -> (f64, f64) {
    let introspect: Vec<Request> = tokens
        .iter()
        .map(|token| {
            Request::post("/introspect").with_header("Authorization", SVC_BASIC).with_form(&[("token", token)])
        })
        .collect();
    for request in &introspect {
        let body = block_on(server.introspection_endpoint(request)).body;
        assert!(body.starts_with(br#"{"active":true"#), "every looked-up token is active");
    }
    let mut next = 0usize;
    let introspection = median_ns(|_| {
        next = (next + 1) % introspect.len();
        drop(black_box(block_on(server.introspection_endpoint(&introspect[next])).body));
    });
    let guard = server.resource_guard();
    let api: Vec<Request> = tokens
        .iter()
        .map(|token| Request::get("/api/me").with_header("Authorization", format!("Bearer {token}")))
        .collect();
    let read = Scope::parse("read").expect("scope");
    let check = median_ns(|_| {
        next = (next + 1) % api.len();
        drop(black_box(block_on(guard.authorize(&api[next], &read))));
    });
    (introspection, check)
}

/// The operations growth is reported for, by their row names in the main table.
const GROWTH_OPERATIONS: [&str; 5] = [
    "client_credentials, Basic auth",
    "authorization_code, token exchange only",
    "refresh_token with rotation",
    "introspection of an active token",
    "protected resource token check",
];

/// Fills a server with `live` client-credentials tokens (measuring resident memory per token,
/// first thing in the process so the growth is the store's), then `live / 20` code exchanges
/// (their codes, families, access and refresh tokens), all issued ahead (see
/// [`SteadyStore::fill_ahead`]); then measures the operations of [`GROWTH_OPERATIONS`] on it,
/// sweeping what each batch issues as the small store's measurements do. Resident memory per
/// token is printed when `measure_memory` (in the first round: later fills reuse what the
/// first one freed).
fn growth(report: &mut Report, live: usize, measure_memory: bool) {
    let before = resident_bytes().filter(|_| measure_memory);
    let (server, steady) = server();
    let request = client_credentials_request();
    let mut sampled = Vec::with_capacity(LOOKED_UP);
    steady.fill_ahead(|| {
        let every = (live / LOOKED_UP).max(1);
        for i in 0..live {
            let body = block_on(server.token_endpoint(&request)).body;
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

    let big = |name: &str| format!("{name}, {live}+ live tokens");
    report.add(&big(GROWTH_OPERATIONS[0]), measure_client_credentials(&server, &steady), None, "");
    report.add(&big(GROWTH_OPERATIONS[1]), measure_exchange(&server, &steady), None, "");
    report.add(&big(GROWTH_OPERATIONS[2]), measure_refresh(&server, &steady), None, "");
    let (introspection, check) = lookups(&server, &sampled);
    report.add(&big(GROWTH_OPERATIONS[3]), introspection, None, "");
    report.add(&big(GROWTH_OPERATIONS[4]), check, None, "");
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
/// hash table of `entries` entries. What a batch inserts is removed before the next, and a
/// batch is at most [`SMALL_STORE_BATCH`] inserts, as in the store's own measurements: a bigger
/// one would grow the small table many times over inside the timed region.
///
/// A lower bound: in this tight loop the processor overlaps one insert's cache misses with the
/// next one's work, which a request's microsecond of other work between inserts does not allow.
fn bare_table_insert_ns(entries: usize) -> f64 {
    type Table = std::collections::HashMap<[u8; 32], (u64, Box<[u64; 13]>), BuildHasherDefault<FirstWord>>;
    let generator = RandomTokenGenerator;
    let digest = || *TokenDigest::of(&generator.generate(CredentialKind::AccessToken)).as_bytes();
    let table = Mutex::new(Table::default());
    {
        let mut table = table.lock().unwrap();
        for _ in 0..entries {
            table.insert(digest(), (0, Box::new([0; 13])));
        }
    }
    let mut pending: Vec<[u8; 32]> = Vec::new();
    median_ns_batched_up_to(
        SMALL_STORE_BATCH,
        |n| {
            let mut table = table.lock().unwrap();
            for key in pending.drain(..) {
                table.remove(&key);
            }
            pending = (0..n).map(|_| digest()).collect();
            pending.clone()
        },
        |key| {
            table.lock().unwrap().insert(*key, (START, Box::new([0; 13])));
        },
    )
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
        || drop(black_box(block_on(server.token_endpoint(&request)).body)),
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
            "client_credentials" => measure_client_credentials(&server, &steady),
            "refresh_token" => measure_refresh(&server, &steady),
            "authorization_code" => measure_exchange(&server, &steady),
            other => panic!("GRANTRY_BENCH_PROFILE: no operation {other:?}"),
        };
        println!("{op} {}", support::fmt_ns(ns));
        return;
    }
    let growth_live = growth_live();
    let bare_small_name = "primitive: bare hash table insert, 1000 entries";
    let bare_large_name = format!("primitive: bare hash table insert, {growth_live} entries");
    let rounds = support::rounds();
    for round in 1..=rounds {
        println!("\nround {round} of {rounds}");
        // Growth first: in the first round the process is still fresh, so resident memory
        // growth is the store's.
        growth(&mut report, growth_live, round == 1);
        report.add(bare_small_name, bare_table_insert_ns(1_000), None, "");
        report.add(&bare_large_name, bare_table_insert_ns(growth_live), None, "");
        let p = primitives(&mut report);
        operations(&mut report, &p);
    }
    let scaled = client_credentials_scaling(support::budget().max(Duration::from_secs(1)));
    print_scaling(scaled);
    let ((one, two), (sha_one, sha_two)) = scaled;
    report.print("grantry-grants operations (median per operation, one thread)");
    println!();
    // Each growth ratio is the median of the rounds' ratios, with their range.
    let growth_ratio = |large: &str, small: &str| {
        let ratios = report.ratios(large, small);
        format!("{:.2}× ({} over the rounds)", support::median_of(&ratios), support::fmt_range(&ratios))
    };
    for name in GROWTH_OPERATIONS {
        let ratio = growth_ratio(&format!("{name}, {growth_live}+ live tokens"), name);
        println!("growth: {name} with {growth_live}+ live tokens costs {ratio} its cost on the small store");
    }
    println!(
        "growth: a bare hash table insert (no grantry code) costs {} at {growth_live} entries ({} more)",
        growth_ratio(&bare_large_name, bare_small_name),
        support::fmt_ns(report.median(&bare_large_name) - report.median(bare_small_name))
    );
    println!(
        "2-thread scaling of client_credentials: {:.2}× (a SHA-256 loop sharing nothing: {:.2}×)",
        two / one,
        sha_two / sha_one
    );
}
