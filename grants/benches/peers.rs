// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! grantry beside oxide-auth 0.6 in one run: the same operations, from the raw request to the
//! serialised response, measured in turns (a batch of one library, then a batch of the other),
//! so a slow spell of a shared machine lands on both. Each row prints both medians and the
//! ratio oxide-auth / grantry of each round.
//!
//! Run: `cargo bench -p grantry-grants --bench peers` (`GRANTRY_BENCH_SECONDS`, default 1, is
//! the time per operation and library; `GRANTRY_BENCH_ROUNDS`, default 3, the rounds it is
//! shared among).
//!
//! How oxide-auth is set up, so that both do the same work:
//! - its `simple` frontend, whose requests hold already-parsed maps: the timed call parses the
//!   raw form (or query) into them first, as any frontend of it does;
//! - `ClientMap` with a password policy that keeps a SHA-256 digest of the secret and compares
//!   digests in constant time (its default, Argon2, is a deliberately slow password hash; grantry keeps
//!   the secret and compares digests in constant time too);
//! - `AuthMap` and `TokenMap` with its `RandomGenerator` of 16 bytes (what its examples use; it
//!   reads the operating system's generator for each token, grantry a user-space CSPRNG);
//! - both libraries keep their codes and tokens in memory; oxide-auth's maps start empty each
//!   batch (they have no sweep), grantry's store is swept before each batch.

mod fixtures;
mod support;

use fixtures::{AUTHORIZE, WEB_BASIC, client_credentials_request, code, exchange_request, refresh_requests, server};
use grantry_core::{AuthorizationServer, Consent, Request, Scope, http};
use oxide_auth::endpoint::{OwnerConsent, Solicitation};
use oxide_auth::frontends::simple::endpoint::{
    FnSolicitor, access_token_flow, authorization_flow, client_credentials_flow, refresh_flow, resource_flow,
};
use oxide_auth::frontends::simple::request::{Request as OxideRequest, Response as OxideResponse, Status};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{Client, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError};
use oxide_auth::primitives::scope::Scope as OxideScope;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use support::{Measurement, REDIRECT, SteadyStore, block_on, fmt_ns, fmt_range, median_of, medians_in_turns, rounds};

/// Secrets kept as SHA-256 digests and compared in constant time: what grantry does, in place
/// of oxide-auth's default Argon2 (a deliberately slow password hash).
struct DigestPolicy;

impl PasswordPolicy for DigestPolicy {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        Sha256::digest(passphrase).to_vec()
    }

    fn check(&self, _client_id: &str, passphrase: &[u8], stored: &[u8]) -> Result<(), RegistrarError> {
        if grantry_core::constant_time_eq(&Sha256::digest(passphrase), stored) {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

/// oxide-auth's in-memory server with the clients of grantry's benchmarks: `svc` and `web`,
/// with the same secrets, scopes and redirect URI.
struct Oxide {
    registrar: ClientMap,
    authorizer: AuthMap<RandomGenerator>,
    issuer: TokenMap<RandomGenerator>,
}

impl Oxide {
    fn new() -> Self {
        let mut registrar = ClientMap::new();
        registrar.set_password_policy(DigestPolicy);
        let scope: OxideScope = "read write".parse().expect("scope");
        let redirect = RegisteredUrl::Semantic(REDIRECT.parse().expect("url"));
        registrar.register_client(Client::confidential("svc", redirect.clone(), scope.clone(), b"svc-secret"));
        registrar.register_client(Client::confidential("web", redirect, scope, b"web-secret"));
        Oxide {
            registrar,
            authorizer: AuthMap::new(RandomGenerator::new(16)),
            issuer: TokenMap::new(RandomGenerator::new(16)),
        }
    }

    /// Empties the code and token maps (they have no sweep): what a batch starts from.
    fn clear(&mut self) {
        self.authorizer = AuthMap::new(RandomGenerator::new(16));
        self.issuer = TokenMap::new(RandomGenerator::new(16));
    }

    /// The authorization request of [`AUTHORIZE`], approved for `alice`: a redirect with a code.
    fn authorize(&mut self, query: &str) -> OxideResponse {
        let mut solicitor =
            FnSolicitor(|_: &mut OxideRequest, _: Solicitation| OwnerConsent::Authorized("alice".into()));
        authorization_flow(&self.registrar, &mut self.authorizer, &mut solicitor)
            .execute(request(query.as_bytes(), None, true))
            .expect("a response")
    }

    /// A fresh code, from an approved authorization request.
    fn code(&mut self) -> String {
        let response = self.authorize(authorize_query());
        let location = response.location.expect("a redirect");
        location.query_pairs().find(|(name, _)| name == "code").expect("a code").1.into_owned()
    }

    /// The token endpoint for a token request of grant type `grant_type`, form `body`.
    fn token(&mut self, body: &[u8], authorization: &str) -> OxideResponse {
        let request = request(body, Some(authorization), false);
        let response = if body.starts_with(b"grant_type=client_credentials") {
            let mut solicitor = FnSolicitor(|_: &mut OxideRequest, solicitation: Solicitation| {
                OwnerConsent::Authorized(solicitation.pre_grant().client_id.clone())
            });
            client_credentials_flow(&self.registrar, &mut self.issuer, &mut solicitor).execute(request)
        } else if body.starts_with(b"grant_type=refresh_token") {
            refresh_flow(&self.registrar, &mut self.issuer).execute(request)
        } else {
            access_token_flow(&self.registrar, &mut self.authorizer, &mut self.issuer).execute(request)
        };
        response.expect("a response")
    }

    /// A refresh token, from exchanging a fresh code.
    fn refresh_token(&mut self) -> String {
        let code = self.code();
        let response = self.token(&exchange_form(&code), WEB_BASIC);
        let body = response.body.expect("a body");
        fixtures::token_field(body.as_str().as_bytes(), "refresh_token")
    }
}

/// An oxide-auth request from the raw form or query `raw`, parsed as its frontends do.
fn request(raw: &[u8], authorization: Option<&str>, is_query: bool) -> OxideRequest {
    let pairs: HashMap<String, String> = form_urlencoded::parse(raw).into_owned().collect();
    let (query, urlbody) = if is_query { (pairs, HashMap::new()) } else { (HashMap::new(), pairs) };
    OxideRequest { query, urlbody, auth: authorization.map(str::to_owned) }
}

/// The query of [`AUTHORIZE`].
fn authorize_query() -> &'static str {
    AUTHORIZE.split_once('?').expect("a query").1
}

/// The body of grantry's request exchanging `code`: what both libraries are sent.
fn exchange_form(code: &str) -> Vec<u8> {
    exchange_request(code).into_body()
}

/// A token response of either library that issued a token.
fn assert_issued(body: &[u8]) {
    assert!(body.starts_with(b"{\"access_token\":\""), "a token was issued: {}", String::from_utf8_lossy(body));
}

/// One operation of both libraries.
struct Pair<'a> {
    name: &'static str,
    grantry: Measurement<'a>,
    oxide: Measurement<'a>,
}

/// The operations, each with its grantry and oxide-auth measurements.
fn pairs<'a>(grantry: &'a (AuthorizationServer, SteadyStore), oxide: &'a RefCell<Oxide>) -> Vec<Pair<'a>> {
    let (server, steady) = grantry;
    let mut pairs = Vec::new();

    let request = client_credentials_request();
    let (body, authorization) = (request.body().to_vec(), header(&request));
    pairs.push(Pair {
        name: "client_credentials, Basic auth",
        grantry: steady.measurement(move |_| drop(black_box(block_on(server.token_endpoint(&request)).into_body()))),
        oxide: fresh_oxide_measurement(oxide, move |o| drop(black_box(o.token(&body, &authorization)))),
    });

    let authorize = http::Request::get(AUTHORIZE).body(Vec::new()).expect("a valid request");
    pairs.push(Pair {
        name: "authorization request alone (validate + code)",
        grantry: steady.measurement(move |_| {
            let request = block_on(server.validate_authorization_request(&authorize)).expect("valid");
            black_box(block_on(server.create_authorization_response(&request, Consent::allow("alice"))));
        }),
        oxide: fresh_oxide_measurement(oxide, |o| drop(black_box(o.authorize(authorize_query())))),
    });

    pairs.push(Pair {
        name: "authorization_code, token exchange only",
        grantry: steady.measurement_batched(
            move |n| (0..n).map(|_| exchange_request(&code(server))).collect(),
            move |req: &Request| drop(black_box(block_on(server.token_endpoint(req)).into_body())),
        ),
        oxide: oxide_measurement(
            oxide,
            |o| exchange_form(&o.code()),
            |o, form| drop(black_box(o.token(form, WEB_BASIC))),
        ),
    });

    pairs.push(Pair {
        name: "authorize request + exchange",
        grantry: steady.measurement(move |_| {
            let code = code(server);
            black_box(block_on(server.token_endpoint(&exchange_request(&code))).into_body());
        }),
        oxide: fresh_oxide_measurement(oxide, |o| {
            let code = o.code();
            drop(black_box(o.token(&exchange_form(&code), WEB_BASIC)));
        }),
    });

    pairs.push(Pair {
        name: "refresh_token with rotation",
        grantry: steady.measurement_batched(
            move |n| refresh_requests(server, n),
            move |req: &Request| drop(black_box(block_on(server.token_endpoint(req)).into_body())),
        ),
        oxide: oxide_measurement(
            oxide,
            |o| {
                let token = o.refresh_token();
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", &token)
                    .finish()
                    .into_bytes()
            },
            |o, form| drop(black_box(o.token(form, WEB_BASIC))),
        ),
    });

    pairs
}

/// The `Authorization` header of `request`.
fn header(request: &Request) -> String {
    request.headers()["authorization"].to_str().expect("ascii").to_owned()
}

/// A measurement of `op` on oxide-auth's server, its maps emptied before each batch.
fn fresh_oxide_measurement<'a>(oxide: &'a RefCell<Oxide>, mut op: impl FnMut(&mut Oxide) + 'a) -> Measurement<'a> {
    oxide_measurement(oxide, |_| (), move |o, ()| op(o))
}

/// A measurement of `op` on inputs `setup` makes before each batch (untimed), on oxide-auth's
/// server, its maps emptied first.
fn oxide_measurement<'a, T: 'a>(
    oxide: &'a RefCell<Oxide>,
    mut setup: impl FnMut(&mut Oxide) -> T + 'a,
    mut op: impl FnMut(&mut Oxide, &T) + 'a,
) -> Measurement<'a> {
    Measurement::batched(
        support::SMALL_STORE_BATCH,
        move |n| {
            let mut o = oxide.borrow_mut();
            o.clear();
            (0..n).map(|_| setup(&mut o)).collect()
        },
        move |input| op(&mut oxide.borrow_mut(), input),
    )
}

/// The resource check of both: a bearer token with scope `read` for `/api/me`, 1,024 tokens
/// read in turn.
fn resource_pair<'a>(
    server: &'a AuthorizationServer,
    oxide: &'a RefCell<Oxide>,
    grantry_api: &'a [Request],
    oxide_tokens: &'a [String],
) -> Pair<'a> {
    let guard = server.resource_guard();
    let read = Scope::parse("read").expect("scope");
    let oxide_read: [OxideScope; 1] = ["read".parse().expect("scope")];
    let (mut next_grantry, mut next_oxide) = (0usize, 0usize);
    Pair {
        name: "protected resource token check",
        grantry: Measurement::of(move || {
            next_grantry = (next_grantry + 1) % grantry_api.len();
            drop(black_box(block_on(guard.authorize(&grantry_api[next_grantry], &read))));
        }),
        oxide: Measurement::of(move || {
            next_oxide = (next_oxide + 1) % oxide_tokens.len();
            let request = OxideRequest {
                query: HashMap::new(),
                urlbody: HashMap::new(),
                auth: Some(format!("Bearer {}", oxide_tokens[next_oxide])),
            };
            let mut o = oxide.borrow_mut();
            drop(black_box(resource_flow(&mut o.issuer, &oxide_read).execute(request)));
        }),
    }
}

/// Checks that each library's operations do what the rows say, once, before timing them.
fn check_both_work(grantry: &AuthorizationServer, oxide: &mut Oxide) {
    let body = block_on(grantry.token_endpoint(&client_credentials_request())).into_body();
    assert_issued(&body);
    let request = client_credentials_request();
    let response = oxide.token(request.body(), &header(&request));
    assert_eq!(response.status, Status::Ok);
    assert_issued(response.body.expect("a body").as_str().as_bytes());
    let code = oxide.code();
    let response = oxide.token(&exchange_form(&code), WEB_BASIC);
    assert_issued(response.body.expect("a body").as_str().as_bytes());
    let response = oxide.token(&exchange_form(&code), WEB_BASIC);
    assert_eq!(response.status, Status::BadRequest, "a code is single use in oxide-auth too");
    let token = oxide.refresh_token();
    let refresh = format!("grant_type=refresh_token&refresh_token={}", urlencode(&token));
    let response = oxide.token(refresh.as_bytes(), WEB_BASIC);
    assert_issued(response.body.expect("a body").as_str().as_bytes());
    let response = oxide.token(b"grant_type=client_credentials", "Basic c3ZjOndyb25n");
    assert_eq!(response.status, Status::Unauthorized, "a wrong secret is refused");
    oxide.clear();
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return; // `cargo test` runs benchmarks without `--bench`: nothing to time then.
    }
    let grantry = server();
    let oxide = RefCell::new(Oxide::new());
    check_both_work(&grantry.0, &mut oxide.borrow_mut());

    // The resource check reads tokens each library issued for `svc`, 1,024 of each.
    let api: Vec<Request> = (0..1024)
        .map(|_| {
            let body = block_on(grantry.0.token_endpoint(&client_credentials_request())).into_body();
            let token = fixtures::token_field(&body, "access_token");
            http::Request::get("/api/me")
                .header("Authorization", format!("Bearer {token}"))
                .body(Vec::new())
                .expect("valid")
        })
        .collect();
    let oxide_tokens: Vec<String> = {
        let mut o = oxide.borrow_mut();
        let request = client_credentials_request();
        (0..1024)
            .map(|_| {
                let body = o.token(request.body(), &header(&request)).body.expect("a body");
                fixtures::token_field(body.as_str().as_bytes(), "access_token")
            })
            .collect()
    };
    // The resource pair reads the tokens issued above, so it gets a server of its own.
    let resource_oxide = oxide;
    let oxide = RefCell::new(Oxide::new());

    let rounds = rounds();
    let mut rows: Vec<(&'static str, Vec<f64>, Vec<f64>)> = Vec::new();
    for _ in 0..rounds {
        let mut all = pairs(&grantry, &oxide);
        all.push(resource_pair(&grantry.0, &resource_oxide, &api, &oxide_tokens));
        for (i, pair) in all.into_iter().enumerate() {
            let medians = medians_in_turns(&mut [pair.grantry, pair.oxide]);
            if rows.len() <= i {
                rows.push((pair.name, Vec::new(), Vec::new()));
            }
            rows[i].1.push(medians[0]);
            rows[i].2.push(medians[1]);
        }
    }

    println!("grantry and oxide-auth 0.6, one run, {rounds} rounds, in turns (medians of batch means)");
    println!("{:<48} {:>12} {:>12} {:>10}  ratio by round", "operation", "grantry", "oxide-auth", "ratio");
    for (name, grantry, oxide) in &rows {
        let ratios: Vec<f64> = oxide.iter().zip(grantry).map(|(o, g)| o / g).collect();
        println!(
            "{:<48} {:>12} {:>12} {:>9.2}×  {}",
            name,
            fmt_ns(median_of(grantry)),
            fmt_ns(median_of(oxide)),
            median_of(&ratios),
            fmt_range(&ratios)
        );
    }
}
