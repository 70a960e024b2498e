//! A bounded soak of the `grantry-server` binary over loopback: every flow of the demo, mixed,
//! from several concurrent clients, for `GRANTRY_SOAK_SECONDS` (default 600), while the server's
//! resident memory is sampled. It passes when no request failed other than the ones the flows
//! expect to fail, and memory after the warm-up (6 minutes: longer than anything the server
//! keeps in the soak's configuration, its lifetimes shortened for that) stays flat. Ignored in the normal suite (it runs
//! for minutes); run it with
//!
//! ```sh
//! cargo build --release -p grantry-examples --bin grantry-server
//! cargo test --release -p grantry-tests --test soak -- --ignored --nocapture
//! ```
//!
//! Only 127.0.0.1 is contacted; the request loops stop at the deadline.

mod http_support;

use http_support::{claims, hidden_inputs, redirect_params, sign_with_demo_key};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WORKERS: usize = 8;
/// Longer than anything the server keeps in this configuration (the records of spent JWT
/// assertions, 330 s), so that after it everything it holds is at its steady state, and any
/// growth is a leak.
const WARM_UP: Duration = Duration::from_secs(360);

/// The server process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Outcomes by flow step: `(step, outcome)` → count.
type Tally = Arc<Mutex<BTreeMap<(&'static str, String), u64>>>;

fn count(tally: &Tally, step: &'static str, outcome: impl Into<String>) {
    *tally.lock().unwrap().entry((step, outcome.into())).or_default() += 1;
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

struct Client {
    http: reqwest::Client,
    base: String,
    tally: Tally,
}

impl Client {
    async fn post(&self, step: &'static str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
        let path = step.split(':').next().unwrap_or(step);
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
            Err(err) => {
                count(&self.tally, step, format!("transport error: {err}"));
                (0, Value::Null)
            }
        }
    }

    /// Records `status` for `step`: `expected` is what the flow wants.
    fn check(&self, step: &'static str, status: u16, expected: u16) -> bool {
        count(
            &self.tally,
            step,
            if status == expected { format!("{status} as expected") } else { format!("UNEXPECTED {status}") },
        );
        status == expected
    }

    async fn client_credentials(&self) {
        let svc = [("client_id", "svc"), ("client_secret", "svc-secret")];
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(svc);
        let (status, json) = self.post("/token:cc", &form, None).await;
        if !self.check("/token:cc", status, 200) {
            return;
        }
        let token = json["access_token"].as_str().unwrap_or_default().to_owned();
        let mut introspect = vec![("token", token.as_str())];
        introspect.extend(svc);
        let (status, json) = self.post("/introspect", &introspect, None).await;
        self.check("/introspect", status, 200);
        count(&self.tally, "/introspect", format!("active={}", json["active"]));
        let me = self.http.get(format!("{}/api/me", self.base)).bearer_auth(&token).send().await;
        self.check("/api/me", me.map(|r| r.status().as_u16()).unwrap_or(0), 200);
        let (status, _) = self.post("/revoke", &introspect, None).await;
        self.check("/revoke", status, 200);
        let me = self.http.get(format!("{}/api/me", self.base)).bearer_auth(&token).send().await;
        self.check("/api/me after revoke", me.map(|r| r.status().as_u16()).unwrap_or(0), 401);
    }

    async fn password_and_refresh(&self) {
        let web = Some(("web", "web-secret"));
        let form = [("grant_type", "password"), ("username", "alice"), ("password", "wonderland")];
        let (status, json) = self.post("/token:password", &form, web).await;
        if !self.check("/token:password", status, 200) {
            return;
        }
        let first = json["refresh_token"].as_str().unwrap_or_default().to_owned();
        let (status, _) =
            self.post("/token:refresh", &[("grant_type", "refresh_token"), ("refresh_token", &first)], web).await;
        self.check("/token:refresh", status, 200);
        // The rotated-out token again: a replay, refused, and the family revoked.
        let (status, json) = self
            .post("/token:refresh replay", &[("grant_type", "refresh_token"), ("refresh_token", &first)], web)
            .await;
        self.check("/token:refresh replay", status, 400);
        count(&self.tally, "/token:refresh replay", format!("error={}", json["error"]));
    }

    async fn authorization_code(&self) {
        let url = format!(
            "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=read&state=soak",
            self.base
        );
        let page = match self.http.get(&url).send().await {
            Ok(page) => page,
            Err(err) => return count(&self.tally, "/authorize GET", format!("transport error: {err}")),
        };
        if !self.check("/authorize GET", page.status().as_u16(), 200) {
            return;
        }
        let cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("__Host-"))
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let hidden = hidden_inputs(&page.text().await.unwrap_or_default());
        let mut form: Vec<(&str, &str)> = hidden.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        form.extend([("username", "alice"), ("password", "wonderland"), ("consent", "allow")]);
        let reply =
            self.http.post(format!("{}/authorize", self.base)).header("cookie", &cookie).form(&form).send().await;
        let Ok(reply) = reply else { return count(&self.tally, "/authorize POST", "transport error") };
        if !self.check("/authorize POST", reply.status().as_u16(), 303) {
            return;
        }
        let location = reply.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let code = redirect_params(&location).remove("code").unwrap_or_default();
        let exchange = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9000/callback"),
        ];
        let (status, json) = self.post("/token:code", &exchange, Some(("web", "web-secret"))).await;
        if self.check("/token:code", status, 200) {
            let refresh = json["refresh_token"].as_str().unwrap_or_default().to_owned();
            let (status, _) =
                self.post("/revoke:code family", &[("token", &refresh)], Some(("web", "web-secret"))).await;
            self.check("/revoke:code family", status, 200);
        }
    }

    async fn jwt_bearer(&self) {
        let mut claims = claims("signer", "alice", &format!("{}/token", self.base));
        // Spent assertions are remembered until `exp` plus the largest leeway (300 s): 330 s.
        claims["exp"] = (http_support::now() + 30).into();
        let assertion = sign_with_demo_key(&claims);
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
        let (status, _) = self.post("/token:jwt-bearer", &form, None).await;
        self.check("/token:jwt-bearer", status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak of several minutes: run it on purpose (see the module docs)"]
async fn the_server_stays_correct_and_its_memory_flat_under_a_mixed_load() {
    let seconds: u64 = std::env::var("GRANTRY_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let binary = root.join("target/release/grantry-server");
    assert!(binary.exists(), "build it first: cargo build --release -p grantry-examples --bin grantry-server");

    // Short lifetimes, so what expires is swept within the run; the issuer is fixed below.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut config: Value = serde_json::from_str(include_str!("../../examples/demo.json")).unwrap();
    config["issuer"] = format!("http://{addr}").into();
    config["access_token_ttl"] = 30.into();
    config["authorization_code_ttl"] = 30.into();
    config["refresh_token_ttl"] = 60.into();
    config["store"] = serde_json::json!({"kind": "memory"});
    // Consent forms (and below, JWT assertions) live a minute: their single-use records are
    // kept as long, so they too reach their steady state within the warm-up.
    config["consent_form_ttl"] = 60.into();
    let path = std::env::temp_dir().join(format!("grantry-soak-{}.json", std::process::id()));
    std::fs::write(&path, config.to_string()).unwrap();

    let mut child = Command::new(&binary)
        .args(["--config", path.to_str().unwrap(), "--listen", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let pid = server.0.id();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("the server printed its address").unwrap();
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let tally: Tally = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let client = Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.clone(),
            tally: tally.clone(),
        };
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                client.client_credentials().await;
                client.password_and_refresh().await;
                client.authorization_code().await;
                client.jwt_bearer().await;
            }
        }));
    }

    let started = Instant::now();
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
        samples.push((started.elapsed().as_secs(), resident_kib(pid)));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let _ = std::fs::remove_file(&path);

    let tally = tally.lock().unwrap();
    let requests: u64 =
        tally.iter().filter(|((_, o), _)| !o.starts_with("active=") && !o.starts_with("error=")).map(|(_, n)| n).sum();
    println!(
        "{requests} requests in {seconds} s ({} per second), {WORKERS} concurrent clients",
        requests / seconds.max(1)
    );
    for ((step, outcome), n) in tally.iter() {
        println!("{step:<28} {outcome:<40} {n}");
    }
    println!("resident memory (s, KiB): {samples:?}");

    let unexpected: Vec<_> =
        tally.iter().filter(|((_, o), _)| o.starts_with("UNEXPECTED") || o.starts_with("transport")).collect();
    assert!(unexpected.is_empty(), "unexpected outcomes: {unexpected:?}");
    let after_warm_up: Vec<u64> =
        samples.iter().filter(|(s, _)| *s >= WARM_UP.as_secs()).map(|(_, kib)| *kib).collect();
    if let (Some(first), Some(max)) = (after_warm_up.first(), after_warm_up.iter().max()) {
        println!("after the warm-up: first {first} KiB, highest {max} KiB");
        assert!(*max <= first + first / 5, "resident memory grew after the warm-up: {first} -> {max} KiB");
    }
}
