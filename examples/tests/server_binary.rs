//! The `grantry-server` binary itself: started on `127.0.0.1:0`, waited for (with a timeout)
//! until it prints `listening on`, asked for its metadata over HTTP, stopped with SIGTERM or
//! SIGINT (exit status 0); and refused bad configuration files (non-zero exit, the field named
//! on stderr, nothing listening). Only 127.0.0.1 is ever contacted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_grantry-server");
const DEMO: &str = include_str!("../demo.json");
const START_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// A config file in the temp directory, removed on drop.
struct TempConfig(PathBuf);

impl TempConfig {
    fn new(name: &str, json: &str) -> Self {
        let path = std::env::temp_dir().join(format!("grantry-server-test-{}-{name}.json", std::process::id()));
        std::fs::write(&path, json).unwrap();
        TempConfig(path)
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A running server process, killed on drop if still alive.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    /// The folder it runs in, when the test made one for it alone (removed after the server).
    folder: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the binary in a folder of its own, so that the demo's relative store path
/// (`target/grantry-demo/store.db`) is a new file, never one another run left behind.
fn spawn(args: &[&str]) -> Server {
    let folder = tempfile::tempdir().unwrap();
    let mut server = spawn_in(folder.path(), args);
    server.folder = Some(folder);
    server
}

/// [`spawn`] in the folder `dir` (where the demo's relative store path is taken from).
fn spawn_in(dir: &std::path::Path, args: &[&str]) -> Server {
    let mut command = Command::new(BIN);
    command.args(args).env("RUST_LOG", "info").current_dir(dir);
    spawn_command(command)
}

/// Starts the binary with its file descriptors limited to `fd_limit` (as `ulimit -n` does).
fn spawn_with_fd_limit(fd_limit: u32, args: &[&str]) -> Server {
    let mut command = Command::new("sh");
    command.args(["-c", "ulimit -n \"$0\" && exec \"$@\"", &fd_limit.to_string(), BIN]).args(args);
    command.env("RUST_LOG", "warn");
    let folder = tempfile::tempdir().unwrap();
    command.current_dir(folder.path());
    let mut server = spawn_command(command);
    server.folder = Some(folder);
    server
}

fn spawn_command(mut command: Command) -> Server {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    Server { child, lines, stdout: Vec::new(), folder: None }
}

impl Server {
    /// Waits for `listening on http://ADDR:PORT`; the address.
    fn wait_listening(&mut self) -> String {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if let Some(url) = line.strip_prefix("listening on http://") {
                        return url.to_owned();
                    }
                }
                Err(err) => {
                    panic!("no `listening on` line within {START_TIMEOUT:?} ({err}); stdout: {:?}", self.stdout)
                }
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self) -> ExitStatus {
        wait_exit(&mut self.child)
    }
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {EXIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A form POST over a plain TCP connection to 127.0.0.1: the status and the body.
fn http_post(addr: &str, path: &str, form: &str) -> (u16, String) {
    http_post_as(addr, path, form, None)
}

/// [`http_post`] with HTTP Basic credentials (`id:secret`, already base64), if any.
fn http_post_as(addr: &str, path: &str, form: &str, basic: Option<&str>) -> (u16, String) {
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let authorization = basic.map(|b| format!("Authorization: Basic {b}\r\n")).unwrap_or_default();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{authorization}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_owned())
}

/// A GET over a plain TCP connection to 127.0.0.1: the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[test]
fn serves_metadata_and_stops_cleanly_on_sigterm() {
    // The demo, with an issuer behind a "proxy": the metadata's URLs follow the issuer.
    let json = DEMO.replace("\"http://127.0.0.1:8080\"", "\"https://auth.example.com\"");
    let config = TempConfig::new("sigterm", &json);
    let mut server = spawn(&["--config", config.0.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let addr = server.wait_listening();
    assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");

    let (status, body) = http_get(&addr, "/.well-known/oauth-authorization-server");
    assert_eq!(status, 200);
    let metadata: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metadata["issuer"], "https://auth.example.com");
    assert_eq!(metadata["token_endpoint"], "https://auth.example.com/token");

    // What it printed names the clients and users, never a secret or a password.
    let printed = server.stdout.join("\n");
    for expected in ["web", "spa", "svc", "signer", "alice", &format!("http://{addr}")] {
        assert!(printed.contains(expected), "{expected} missing from {printed}");
    }
    for secret in ["web-secret", "svc-secret", "wonderland"] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
    assert_eq!(server.stdout.iter().filter(|l| l.starts_with("listening on")).count(), 1);

    server.signal("TERM");
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn the_embedded_demo_starts_and_stops_on_sigint() {
    // The demo keeps its store in a SQLite file under the current folder.
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_in(dir.path(), &["--listen", "127.0.0.1:0"]);
    let addr = server.wait_listening();
    let (status, body) = http_get(&addr, "/api/me");
    assert_eq!((status, body.as_str()), (401, ""));
    let (status, body) = http_get(&addr, "/healthz");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert!(server.stdout.iter().any(|line| line.contains("store:") && line.contains("SQLite")), "{:?}", server.stdout);
    server.signal("INT");
    assert_eq!(server.wait_exit().code(), Some(0));
    assert!(dir.path().join("target/grantry-demo/store.db").is_file(), "the demo's store file was created");
}

/// Runs the binary on a bad configuration: it must exit non-zero before listening and name
/// `field` on stderr.
fn assert_refused(name: &str, json: &str, field: &str) {
    let config = TempConfig::new(name, json);
    let mut child = Command::new(BIN)
        .args(["--config", config.0.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child);
    let mut stdout = String::new();
    let mut stderr = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success(), "{name}: started anyway");
    assert!(!stdout.contains("listening on"), "{name}: listened: {stdout}");
    assert!(stderr.contains(field), "{name}: {field:?} not named in {stderr:?}");
}

fn demo_with(change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(DEMO).unwrap();
    change(&mut value);
    value.to_string()
}

#[test]
fn bad_configurations_stop_it_before_it_listens() {
    assert_refused("unknown-grant", &demo_with(|v| v["grants"][1] = "teleportation".into()), "grants[1]");
    assert_refused(
        "duplicate-client",
        &demo_with(|v| v["clients"][2]["client_id"] = "web".into()),
        "clients[2].client_id",
    );
    assert_refused(
        "relative-redirect",
        &demo_with(|v| v["clients"][1]["redirect_uris"][0] = "/spa".into()),
        "clients[1].redirect_uris",
    );
    assert_refused(
        "malformed-key",
        &demo_with(|v| v["clients"][3]["jwks"]["keys"][0]["n"] = "not base64url!".into()),
        "clients[3].jwks.keys[0]",
    );
    assert_refused("unknown-field", &demo_with(|v| v["listen_on"] = "127.0.0.1:1".into()), "listen_on");
    assert_refused("bad-issuer", &demo_with(|v| v["issuer"] = "http://auth.example.com".into()), "issuer");
    assert_refused("not-json", "{\"issuer\": ", "invalid JSON");
}

/// Runs the binary on a bad configuration holding `secret` in the wrong place: it must name
/// `field` on stderr and print the secret nowhere.
fn assert_refused_without_echo(name: &str, json: &str, field: &str, secret: &str) {
    let config = TempConfig::new(name, json);
    let output = Command::new(BIN)
        .args(["--config", config.0.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
    assert!(stderr.contains(field), "{name}: {field:?} not named in {stderr:?}");
    assert!(!stderr.contains(secret) && !stdout.contains(secret), "{name}: the secret was printed: {stderr:?}");
}

#[test]
fn a_secret_in_the_wrong_place_is_never_printed() {
    let secret = "wrong-place-s3cret-4f9a";
    // Where an array belongs (serde would say: invalid type: string "…", expected a sequence).
    let json = demo_with(|v| v["clients"][0]["redirect_uris"] = secret.into());
    assert_refused_without_echo("secret-as-redirect-uris", &json, "clients[0].redirect_uris", secret);
    // As the authentication method, as a grant name, as the listen address, as a JWK member.
    let json = demo_with(|v| v["clients"][0]["token_endpoint_auth_method"] = secret.into());
    assert_refused_without_echo("secret-as-method", &json, "clients[0].token_endpoint_auth_method", secret);
    let json = demo_with(|v| v["grants"][0] = secret.into());
    assert_refused_without_echo("secret-as-grant", &json, "grants[0]", secret);
    let json = demo_with(|v| v["listen"] = secret.into());
    assert_refused_without_echo("secret-as-listen", &json, "listen", secret);
    let json = demo_with(|v| v["clients"][3]["jwks"]["keys"][0]["kty"] = secret.into());
    assert_refused_without_echo("secret-as-kty", &json, "clients[3].jwks.keys[0]", secret);
}

#[test]
fn bad_arguments_are_refused() {
    let output = Command::new(BIN).arg("--port").arg("1").stdin(Stdio::null()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--port"));
    let missing = Command::new(BIN).args(["--config", "/nonexistent/grantry.json"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/grantry.json"));
}

#[test]
fn slow_clients_cannot_exhaust_the_file_descriptors() {
    // The probe's attack, scaled down: more slow connections than the process has file
    // descriptors. Each sends half a request head and then nothing.
    const FD_LIMIT: u32 = 64;
    const SLOW_CLIENTS: usize = 100;
    let json = demo_with(|v| {
        v["header_read_timeout"] = 1.into();
        v["max_connections"] = 32.into();
    });
    let config = TempConfig::new("slow-clients", &json);
    let mut server =
        spawn_with_fd_limit(FD_LIMIT, &["--config", config.0.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let addr = server.wait_listening();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
        slow.push(stream);
    }
    // The slow clients are cut off a second after they are accepted, 32 at a time, so a
    // normal request is answered within a few seconds, not never.
    let started = Instant::now();
    let (status, body) = http_get(&addr, "/.well-known/oauth-authorization-server");
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered after {:?}", started.elapsed());
    drop(slow);
    server.signal("TERM");
    assert_eq!(server.wait_exit().code(), Some(0));
}

/// The contract's "nothing is lost": a token whose response was sent is in the SQLite file
/// before the response goes out, so it survives the process being killed (SIGKILL) right
/// after, as does a revocation.
#[test]
fn a_token_sent_out_survives_kill_9_on_the_demo_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_in(dir.path(), &["--listen", "127.0.0.1:0"]);
    let addr = server.wait_listening();
    let issue = "grant_type=client_credentials&client_id=svc&client_secret=svc-secret";
    let access_token = |body: &str| {
        let json: Value = serde_json::from_str(body).unwrap();
        json["access_token"].as_str().unwrap().to_owned()
    };
    let (status, body) = http_post(&addr, "/token", issue);
    assert_eq!(status, 200, "{body}");
    let kept = access_token(&body);
    let (_, body) = http_post(&addr, "/token", issue);
    let revoked = access_token(&body);
    let (status, _) = http_post(&addr, "/revoke", &format!("token={revoked}&client_id=svc&client_secret=svc-secret"));
    assert_eq!(status, 200);
    server.signal("KILL");
    assert_eq!(server.wait_exit().code(), None, "killed by a signal");

    let mut server = spawn_in(dir.path(), &["--listen", "127.0.0.1:0"]);
    let addr = server.wait_listening();
    let introspect = |token: &str| {
        let (status, body) =
            http_post(&addr, "/introspect", &format!("token={token}&client_id=svc&client_secret=svc-secret"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["active"].clone()
    };
    assert_eq!(introspect(&kept), true, "the token sent out before the kill is still there");
    assert_eq!(introspect(&revoked), false, "the revocation answered before the kill still holds");
    server.signal("TERM");
    assert_eq!(server.wait_exit().code(), Some(0));
}

/// One HTTP/1.1 exchange over a plain TCP connection to 127.0.0.1: `head_lines` (each ending in
/// CRLF) after the request line, then `body`. The status, the response head and its body.
fn http_exchange(addr: &str, request_line: &str, head_lines: &str, body: &str) -> (u16, String, String) {
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{request_line}\r\nHost: {addr}\r\nConnection: close\r\n{head_lines}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), head.to_owned(), body.to_owned())
}

/// The value of response header `name` (lowercase) in `head`.
fn header_of<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The hidden inputs of a page as maud writes them, unescaped, percent-encoded into a form.
fn hidden_form(html: &str) -> String {
    let unescape = |v: &str| v.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    let encode = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    html.split(r#"<input type="hidden" name=""#)
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest.split_once(r#"value=""#).unwrap().1.split_once('"').unwrap().0;
            format!("{}={}", encode(&unescape(name)), encode(&unescape(value)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A database of its own on the server at `GRANTRY_TEST_POSTGRES_URL`, dropped on drop. `None`
/// (the test skips, saying so) when the variable is unset outside CI; under `CI` a missing URL
/// fails the test.
struct TestDatabase {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    fn create() -> Option<TestDatabase> {
        let admin_url = match std::env::var("GRANTRY_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("GRANTRY_TEST_POSTGRES_URL is not set, and CI is: `bash .ci/postgres.sh` prints one")
            }
            _ => {
                eprintln!("skipped: GRANTRY_TEST_POSTGRES_URL is not set (`bash .ci/postgres.sh` starts a server)");
                return None;
            }
        };
        let name = format!("grantry_processes_{:016x}", std::process::id() as u64 * 7919 + now_nanos());
        run_sql(&admin_url, &format!("CREATE DATABASE {name}"));
        Some(TestDatabase { admin_url, name })
    }

    fn url(&self) -> String {
        let (base, _) = self.admin_url.rsplit_once('/').unwrap();
        format!("{base}/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        run_sql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

fn run_sql(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    });
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

/// The contract's "single use, everywhere ... across all servers sharing one store", with two
/// `grantry-server` processes on one PostgreSQL database: a token from one introspects on the
/// other and a revocation on one is seen by the other; a refresh token raced on both rotates
/// once, its replays revoking the family on both; a consent form rendered by one is accepted by
/// the other, once, and its code raced on both is redeemed once; failed logins count on both.
#[test]
fn two_server_processes_share_one_postgres_database() {
    let Some(database) = TestDatabase::create() else { return };
    let json = demo_with(|v| {
        v["store"] = serde_json::json!({"kind": "postgres", "url": database.url()});
        v["secret_key"] = "c2hhcmVkLWJ5LWJvdGgtc2VydmVycy0zMi1ieXRlcy0hIQ".into();
    });
    let config = TempConfig::new("two-processes", &json);
    let mut one = spawn(&["--config", config.0.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let mut two = spawn(&["--config", config.0.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    let (a, b) = (one.wait_listening(), two.wait_listening());
    let web = Some("d2ViOndlYi1zZWNyZXQ="); // web:web-secret
    let svc = "client_id=svc&client_secret=svc-secret";

    // Issued by one, seen by the other; revoked by the other, gone on the first.
    let (status, body) = http_post(&a, "/token", &format!("grant_type=client_credentials&{svc}"));
    assert_eq!(status, 200, "{body}");
    let token = json_of(&body)["access_token"].as_str().unwrap().to_owned();
    let introspect = |addr: &str, token: &str| {
        json_of(&http_post(addr, "/introspect", &format!("token={token}&{svc}")).1)["active"].clone()
    };
    assert_eq!(introspect(&b, &token), true);
    assert_eq!(http_post(&b, "/revoke", &format!("token={token}&{svc}")).0, 200);
    assert_eq!(introspect(&a, &token), false);

    // One refresh token raced on both servers: exactly one rotation.
    let password = "grant_type=password&username=alice&password=wonderland";
    let (status, body) = http_post_as(&a, "/token", password, web);
    assert_eq!(status, 200, "{body}");
    let refresh = json_of(&body)["refresh_token"].as_str().unwrap().to_owned();
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let racers: Vec<_> = (0..12)
        .map(|i| {
            let (addr, form) = (if i % 2 == 0 { a.clone() } else { b.clone() }, form.clone());
            std::thread::spawn(move || http_post_as(&addr, "/token", &form, web))
        })
        .collect();
    let answers: Vec<(u16, String)> = racers.into_iter().map(|racer| racer.join().unwrap()).collect();
    let winners: Vec<&(u16, String)> = answers.iter().filter(|(status, _)| *status == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert!(answers.iter().filter(|(s, _)| *s != 200).all(|(_, body)| json_of(body)["error"] == "invalid_grant"));
    // The losers were replays by the owner: the family, the winner's tokens included, is revoked
    // on both servers.
    let rotated = json_of(&winners[0].1);
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    let (status, body) =
        http_post_as(&b, "/token", &format!("grant_type=refresh_token&refresh_token={new_refresh}"), web);
    assert_eq!((status, json_of(&body)["error"].clone()), (400, Value::from("invalid_grant")));
    assert_eq!(introspect(&a, rotated["access_token"].as_str().unwrap()), false);

    // A consent form rendered by one server is submitted to the other (one secret_key), and the
    // code it gives is raced on both: one token response.
    let query =
        "response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=read&state=s1";
    let (status, head, page) = http_exchange(&a, &format!("GET /authorize?{query} HTTP/1.1"), "", "");
    assert_eq!(status, 200, "{page}");
    let cookie = header_of(&head, "set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let form = format!("{}&username=alice&password=wonderland&consent=allow", hidden_form(&page));
    let lines = format!("Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    let (status, head, body) = http_exchange(&b, "POST /authorize HTTP/1.1", &lines, &form);
    assert_eq!(status, 303, "{body}");
    let location = header_of(&head, "location").unwrap();
    let code = location.split(['?', '&']).find_map(|p| p.strip_prefix("code=")).unwrap().to_owned();
    let (again, _, _) = http_exchange(&a, "POST /authorize HTTP/1.1", &lines, &form);
    assert_ne!(again, 303, "the form was used on the other server");
    let exchange =
        format!("grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback");
    let racers: Vec<_> = (0..12)
        .map(|i| {
            let (addr, form) = (if i % 2 == 0 { a.clone() } else { b.clone() }, exchange.clone());
            std::thread::spawn(move || http_post_as(&addr, "/token", &form, web))
        })
        .collect();
    let statuses: Vec<u16> = racers.into_iter().map(|racer| racer.join().unwrap().0).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");

    // Failed logins count on both servers: five wrong passwords spread over them lock alice out
    // of both, the right password included (the contract's "throttled logins").
    for i in 0..5 {
        let addr = if i % 2 == 0 { &a } else { &b };
        let (status, body) = http_post_as(addr, "/token", "grant_type=password&username=alice&password=guess", web);
        assert_eq!((status, json_of(&body)["error"].clone()), (400, Value::from("invalid_grant")));
    }
    for addr in [&a, &b] {
        let (status, body) = http_post_as(addr, "/token", password, web);
        assert_eq!(status, 400, "{body}");
        assert!(json_of(&body)["error_description"].as_str().unwrap().contains("too many failed attempts"), "{body}");
    }

    for server in [&mut one, &mut two] {
        server.signal("TERM");
        assert_eq!(server.wait_exit().code(), Some(0));
    }
}
