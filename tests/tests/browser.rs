//! The login-and-consent page in a real browser: headless Chromium, driven over the W3C
//! WebDriver protocol by `chromedriver`, runs the authorization-code flow of the demo's `spa`
//! (PKCE S256) and `web` clients against the example server started in-process, and the
//! Deny, wrong-password and throttling paths (RFC 6749 §4.1, RFC 7636, RFC 9207's `iss`).
//! Each client's redirect URI is pointed at a small listener of the test, so the browser
//! really lands on it. Screenshots of the pages at desktop and phone width are written to
//! `$CARGO_TARGET_TMPDIR/browser-screenshots/` for a reviewer to look at.
//!
//! Without `chromedriver` on the machine the tests say so and pass, unless `CI` is set: in CI
//! they fail (`.ci/run` installs `chromium` and `chromium-driver`).
//!
//! The WebDriver protocol is JSON over HTTP; the few commands the tests need are sent with
//! `reqwest` (already a dependency of the tests) rather than through a WebDriver crate.

mod http_support;

use base64::Engine as _;
use http_support::*;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, TokenResponse};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// One browser at a time: the machines the tests run on are small.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The WebDriver key code of Tab.
const TAB: &str = "\u{E004}";

/// The viewports of the screenshots: a desktop and a phone.
const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

/// Where `chromedriver` and `chromium` are, or `None` (after saying why) when the tests are
/// to be skipped. In CI a missing browser fails the test.
fn browser_paths() -> Option<(PathBuf, PathBuf)> {
    let find = |name: &str, env: &str| {
        std::env::var_os(env).map(PathBuf::from).or_else(|| {
            std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
        })
    };
    let driver = find("chromedriver", "CHROMEDRIVER");
    let chromium = find("chromium", "CHROMIUM").or_else(|| find("chromium-browser", "CHROMIUM"));
    match (driver, chromium) {
        (Some(driver), Some(chromium)) => Some((driver, chromium)),
        _ => {
            let why = "chromedriver or chromium is not installed (apt-get install chromium chromium-driver)";
            assert!(std::env::var_os("CI").is_none(), "the browser tests cannot run in CI: {why}");
            println!("browser tests skipped: {why}");
            None
        }
    }
}

/// A running `chromedriver` and one browser session with a fresh profile; both end on drop.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    /// Whether the session was closed (by [`Browser::quit`]).
    ended: bool,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed before `quit`: end the session, and with it the browser, first;
        // killing the driver alone would leave the browser running.
        if !self.ended {
            end_session_blocking(&self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE` of a WebDriver session over a plain socket: `Drop` cannot wait for `reqwest`.
fn end_session_blocking(session: &str) {
    use std::io::{Read, Write};
    let Some((host, path)) = session.strip_prefix("http://").and_then(|rest| rest.split_once('/')) else { return };
    let Ok(mut stream) = std::net::TcpStream::connect(host) else { return };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!("DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // The answer's head comes once the session is gone (chromedriver may keep the
    // connection open, so reading to the end would wait for the timeout).
    let (mut head, mut buffer) = (Vec::new(), [0; 1024]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
}

impl Browser {
    /// Starts `chromedriver` on a free port and a headless Chromium that uses no network
    /// but the loopback one.
    async fn start(driver: &Path, chromium: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver: child,
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
            session: format!("http://127.0.0.1:{port}"),
            ended: false,
            _profile: profile,
        };
        let base = browser.session.clone();
        let started = Instant::now();
        loop {
            let ready = browser.http.get(format!("{base}/status")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile_arg = format!("--user-data-dir={}", browser._profile.path().display());
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--disable-dev-shm-usage",
            profile_arg.as_str(),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let created = browser.call("POST", &format!("{base}/session"), Some(capabilities)).await;
        let id = created["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}"));
        browser.session = format!("{base}/session/{id}");
        browser
    }

    /// A WebDriver command; its `value`.
    async fn call(&self, method: &str, url: &str, body: Option<Value>) -> Value {
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body.unwrap_or_else(|| json!({}))).unwrap()),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let reply: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert!(status.is_success(), "{method} {url}: {status} {reply}");
        reply["value"].clone()
    }

    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("{}{path}", self.session), body).await
    }

    async fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({"url": url}))).await;
    }

    async fn url(&self) -> String {
        self.command("GET", "/url", None).await.as_str().unwrap().to_owned()
    }

    /// The WebDriver id of the element `css` selects (it must exist).
    async fn find(&self, css: &str) -> String {
        let found = self.command("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await;
        element_id(&found)
    }

    async fn exists(&self, css: &str) -> bool {
        let found = self.command("POST", "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        !found.as_array().unwrap().is_empty()
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.command("GET", &format!("/element/{id}/text"), None).await.as_str().unwrap().to_owned()
    }

    /// The current value of the input `css` selects.
    async fn value(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.command("GET", &format!("/element/{id}/property/value"), None).await.as_str().unwrap().to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command("POST", &format!("/element/{id}/clear"), None).await;
        self.command("POST", &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    /// Clicks a submit button and waits for the page it leads to: the click may return
    /// before the new page replaces the old one (a busy machine), so wait until the old
    /// page's root is gone.
    async fn click(&self, css: &str) {
        let old_page = self.find("html").await;
        let id = self.find(css).await;
        self.command("POST", &format!("/element/{id}/click"), None).await;
        let started = Instant::now();
        loop {
            // `elements`, not `element`: between two pages there may be no root at all.
            let roots =
                self.command("POST", "/elements", Some(json!({"using": "css selector", "value": "html"}))).await;
            let new_page = roots.as_array().unwrap().first().is_some_and(|root| element_id(root) != old_page);
            if new_page && self.execute("return document.readyState === 'complete';").await == json!(true) {
                return;
            }
            assert!(started.elapsed() < REQUEST_TIMEOUT, "clicking {css} led nowhere");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the page, for the test (the page itself has none).
    async fn execute(&self, script: &str) -> Value {
        self.command("POST", "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// The id of the element that has the keyboard focus.
    async fn focused(&self) -> String {
        element_id(&self.command("GET", "/element/active", None).await)
    }

    async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key},
        ]}]});
        self.command("POST", "/actions", Some(actions)).await;
    }

    /// Whether the page is wider than the window (it would scroll sideways). Asked of the
    /// browser by the test, not the page: the page itself runs no script.
    async fn overflows_sideways(&self) -> bool {
        self.execute("return document.documentElement.scrollWidth > window.innerWidth;").await.as_bool().unwrap()
    }

    async fn source(&self) -> String {
        self.command("GET", "/source", None).await.as_str().unwrap().to_owned()
    }

    /// Resizes the window to `(width, height)` and saves a screenshot of the page as
    /// `name.png`; returns the picture's width and height.
    async fn screenshot(&self, (width, height): (u32, u32), name: &str) -> (u32, u32) {
        self.command("POST", "/window/rect", Some(json!({"width": width, "height": height}))).await;
        let png = self.command("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        // A PNG's IHDR: the width and height, big-endian, at bytes 16..24.
        assert_eq!(&png[1..4], b"PNG");
        let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        (be(16), be(20))
    }

    /// Waits until the browser is at a URL that starts with `prefix`; returns it.
    async fn wait_for_url(&self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) {
                return url;
            }
            assert!(started.elapsed() < REQUEST_TIMEOUT, "the browser is at {url}, not {prefix}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn quit(mut self) {
        self.command("DELETE", "", None).await;
        self.ended = true;
    }
}

fn element_id(found: &Value) -> String {
    found["element-6066-11e4-a52e-4f735466cecf"]
        .as_str()
        .unwrap_or_else(|| panic!("not an element: {found}"))
        .to_owned()
}

/// A listener standing for the client's redirect endpoint: it answers every request with a
/// small page and sends on the request's target (path and query).
async fn redirect_listener() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                if let Some(target) = head.split(' ').nth(1) {
                    let _ = sender.send(target.to_owned());
                }
                let page = "<!DOCTYPE html><title>Client</title><p>Back at the client.</p>";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (base, receiver)
}

/// The demo server with the `web` and `spa` clients redirecting to a listener of the test:
/// the server, the `web` and `spa` redirect URIs, and what the listener receives.
async fn start_server(
    change: impl FnOnce(&mut grantry_examples::server::ServerConfigFile),
) -> (TestServer, String, String, mpsc::UnboundedReceiver<String>) {
    let (client_base, received) = redirect_listener().await;
    let (web, spa) = (format!("{client_base}/callback"), format!("{client_base}/spa"));
    let (web_uri, spa_uri) = (web.clone(), spa.clone());
    let server = start_with(move |config| {
        for client in &mut config.clients {
            match &*client.client_id {
                "web" => client.redirect_uris = vec![web_uri.clone()],
                "spa" => client.redirect_uris = vec![spa_uri.clone()],
                _ => {}
            }
        }
        change(config);
    })
    .await;
    (server, web, spa, received)
}

/// The query of `url` as a map.
fn query(url: &str) -> HashMap<String, String> {
    redirect_params(url)
}

/// An authorization URL of the `web` client for scopes `read write`, and its state.
fn web_authorization(server: &TestServer, redirect: &str) -> (String, String) {
    let web = server.oauth_client("web", Some("web-secret"), Some(redirect));
    let (url, state) = web
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .url();
    (url.to_string(), state.secret().clone())
}

/// A browser on the consent page of `web`'s authorization request (scopes `read write`) on a
/// demo server changed by `change`, holding the one-browser lock. `None` where Chromium is
/// missing outside CI (see [`browser_paths`]).
struct WebConsentPage {
    browser: Browser,
    server: TestServer,
    /// Where the server sends `web`'s browser back to.
    web_redirect: String,
    /// The request's `state`.
    state: String,
    /// What the client's listener receives: kept open for the test's length.
    _received: mpsc::UnboundedReceiver<String>,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

async fn open_web_consent_page(
    change: impl FnOnce(&mut grantry_examples::server::ServerConfigFile),
) -> Option<WebConsentPage> {
    let (driver, chromium) = browser_paths()?;
    let one = ONE_BROWSER.lock().await;
    let (server, web_redirect, _, received) = start_server(change).await;
    let (url, state) = web_authorization(&server, &web_redirect);
    let browser = Browser::start(&driver, &chromium).await;
    browser.goto(&url).await;
    Some(WebConsentPage { browser, server, web_redirect, state, _received: received, _one: one })
}

/// The public client's whole flow (RFC 6749 §4.1 with RFC 7636 S256): the page names the
/// client, its scope and the host it returns to; the focus starts on the username and Tab
/// goes username, password, Allow, Deny; Allow lands the browser on the redirect URI with
/// `code`, `state` and `iss`, and the code (with the verifier) buys a token.
#[tokio::test]
async fn the_spa_flow_runs_in_a_real_browser() {
    let Some((driver, chromium)) = browser_paths() else { return };
    let _one = ONE_BROWSER.lock().await;
    let (server, _, spa_redirect, mut received) = start_server(|_| {}).await;
    let spa = server.oauth_client("spa", None, Some(&spa_redirect));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = spa
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::start(&driver, &chromium).await;
    browser.goto(url.as_str()).await;

    assert_eq!(browser.text("h1").await, "Demo single-page app asks to access your account");
    assert_eq!(browser.text(".scopes").await, "Read your data read");
    let client_host = spa_redirect.trim_start_matches("http://").trim_end_matches("/spa");
    assert_eq!(browser.text("#return-host").await, client_host);
    assert!(!browser.source().await.contains("<script"), "the page needs no JavaScript");
    // Keyboard order: the username first, then the password, Allow, Deny.
    let order = [browser.find("#username").await, browser.find("#password").await];
    let buttons = [browser.find("button.allow").await, browser.find("button.deny").await];
    assert_eq!(browser.focused().await, order[0], "autofocus on the username");
    for expected in [&order[1], &buttons[0], &buttons[1]] {
        browser.press(TAB).await;
        assert_eq!(&browser.focused().await, expected);
    }
    // Every field has a label that names it (`<label for>`).
    for (field, label) in [("username", "Username"), ("password", "Password")] {
        assert_eq!(browser.text(&format!("label[for={field}]")).await, label);
    }
    assert_eq!(browser.screenshot(PHONE, "consent-phone").await.0, PHONE.0);
    assert!(!browser.overflows_sideways().await, "a phone-width page does not scroll sideways");
    assert_eq!(browser.screenshot(DESKTOP, "consent-desktop").await.0, DESKTOP.0);

    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "wonderland").await;
    browser.click("button.allow").await;
    let landed = browser.wait_for_url(&spa_redirect).await;
    let params = query(&landed);
    assert_eq!(params["state"], *state.secret());
    assert_eq!(params["iss"], server.issuer());
    assert_eq!(received.recv().await.unwrap(), landed.trim_start_matches(spa_redirect.trim_end_matches("/spa")));
    browser.quit().await;

    let code = AuthorizationCode::new(params["code"].clone());
    let tokens = spa.exchange_code(code).set_pkce_verifier(verifier).request_async(&server.http).await.unwrap();
    assert_eq!(server.me(tokens.access_token().secret()).await.json()["client_id"], "spa");
    server.stop().await;
}

/// The confidential client's flow, both scopes described; the code is redeemed with the
/// client's secret.
#[tokio::test]
async fn the_web_flow_runs_in_a_real_browser() {
    let Some(WebConsentPage { browser, server, web_redirect, state, _received, _one }) =
        open_web_consent_page(|_| {}).await
    else {
        return;
    };
    assert_eq!(browser.text("h1").await, "Demo web app asks to access your account");
    assert_eq!(browser.text(".scopes").await, "Read your data read\nChange your data write");
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "wonderland").await;
    browser.click("button.allow").await;
    let params = query(&browser.wait_for_url(&web_redirect).await);
    assert_eq!((params["state"].as_str(), params["iss"].as_str()), (state.as_str(), server.issuer().as_str()));
    browser.quit().await;

    let web = server.oauth_client("web", Some("web-secret"), Some(&web_redirect));
    let tokens = web.exchange_code(AuthorizationCode::new(params["code"].clone())).request_async(&server.http).await;
    assert_eq!(server.me(tokens.unwrap().access_token().secret()).await.json()["scope"], "read write");
    server.stop().await;
}

/// Deny, with nothing typed in (RFC 6749 §4.1.2.1): back at the client with `access_denied`,
/// the state and the issuer, and no code.
#[tokio::test]
async fn deny_sends_the_browser_back_with_access_denied() {
    let Some(WebConsentPage { browser, server, web_redirect, state, _received, _one }) =
        open_web_consent_page(|_| {}).await
    else {
        return;
    };
    browser.click("button.deny").await;
    let params = query(&browser.wait_for_url(&web_redirect).await);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], state);
    assert_eq!(params["iss"], server.issuer());
    assert!(!params.contains_key("code"), "{params:?}");
    browser.quit().await;
    server.stop().await;
}

/// A wrong password shows the same page with the error, the username kept, the password
/// empty and focused; the right password then goes through.
#[tokio::test]
async fn a_wrong_password_is_shown_on_the_same_page() {
    let Some(WebConsentPage { browser, server, web_redirect, state, _received, _one }) =
        open_web_consent_page(|_| {}).await
    else {
        return;
    };
    assert!(!browser.exists("#form-error").await);
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "not-the-password").await;
    browser.click("button.allow").await;

    assert!(browser.url().await.starts_with(&server.base), "still on the server");
    assert_eq!(browser.text("#form-error").await, "Wrong username or password.");
    assert_eq!(browser.text("h1").await, "Demo web app asks to access your account");
    assert_eq!(browser.value("#username").await, "alice");
    assert_eq!(browser.value("#password").await, "");
    assert_eq!(browser.focused().await, browser.find("#password").await);
    browser.screenshot(PHONE, "wrong-password-phone").await;
    assert!(!browser.overflows_sideways().await);
    browser.screenshot(DESKTOP, "wrong-password-desktop").await;

    browser.type_into("#password", "wonderland").await;
    browser.click("button.allow").await;
    let params = query(&browser.wait_for_url(&web_redirect).await);
    assert_eq!(params["state"], state);
    assert!(params.contains_key("code"), "{params:?}");
    browser.quit().await;
    server.stop().await;
}

/// After `login_max_failures` (5, the demo's) wrong passwords the page says to wait, even
/// for the right password, and the browser stays on the server.
#[tokio::test]
async fn the_throttling_message_is_shown_after_five_failures() {
    let Some(WebConsentPage { browser, server, _received, _one, .. }) =
        open_web_consent_page(|config| assert_eq!(config.login_max_failures, 5)).await
    else {
        return;
    };
    for _ in 0..5 {
        browser.type_into("#username", "alice").await;
        browser.type_into("#password", "wrong").await;
        browser.click("button.allow").await;
        assert_eq!(browser.text("#form-error").await, "Wrong username or password.");
    }
    browser.type_into("#password", "wonderland").await;
    browser.click("button.allow").await;
    let message = browser.text("#form-error").await;
    assert!(message.starts_with("Too many failed attempts for this username. Try again in"), "{message}");
    assert!(browser.url().await.starts_with(&server.base), "no redirect, no code");
    assert_eq!(browser.value("#username").await, "alice");
    browser.screenshot(PHONE, "throttled-phone").await;
    browser.screenshot(DESKTOP, "throttled-desktop").await;
    browser.quit().await;
    server.stop().await;
}

/// An error that is shown, not redirected (RFC 6749 §4.1.2.1: a redirect URI that is not the
/// client's): the page says what went wrong, the browser stays on the server.
#[tokio::test]
async fn a_bad_redirect_uri_shows_the_error_page() {
    let Some((driver, chromium)) = browser_paths() else { return };
    let _one = ONE_BROWSER.lock().await;
    let (server, _, _, mut received) = start_server(|_| {}).await;
    let (url, _) = web_authorization(&server, "http://attacker.example/callback");
    let browser = Browser::start(&driver, &chromium).await;
    browser.goto(&url).await;
    assert!(browser.url().await.starts_with(&server.base), "not redirected");
    assert_eq!(browser.text("h1").await, "This authorization request cannot be completed");
    assert_eq!(browser.text("#error").await, "invalid_request");
    assert!(!browser.exists("form").await);
    browser.screenshot(PHONE, "error-phone").await;
    assert!(!browser.overflows_sideways().await);
    browser.screenshot(DESKTOP, "error-desktop").await;
    browser.quit().await;
    assert!(received.try_recv().is_err(), "nothing reached the client");
    server.stop().await;
}

/// The device verification page (RFC 8628 §3.3): opened from `verification_uri_complete`, it
/// shows the code pre-filled, the client and its scopes; the user signs in and allows, and the
/// device's next poll gets the tokens. A code typed by hand in lower case works the same.
#[tokio::test]
async fn the_device_page_runs_in_a_real_browser() {
    let Some((driver, chromium)) = browser_paths() else { return };
    let _one = ONE_BROWSER.lock().await;
    let (server, _, _, _received) = start_server(|config| config.device_poll_interval = 1).await;
    let start = server.post_form("/device_authorization", &[("client_id", "tv"), ("scope", "read")]).await;
    assert_eq!(start.status, 200, "{}", start.text);
    let codes = start.json();
    let browser = Browser::start(&driver, &chromium).await;
    browser.goto(codes["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(browser.value("#user_code").await, codes["user_code"].as_str().unwrap());
    assert!(browser.text("main").await.contains("Demo TV app asks to access your account."));
    assert_eq!(browser.text(".scopes").await, "Read your data read");
    assert_eq!(browser.focused().await, browser.find("#username").await, "the code is there: the username next");
    for (field, label) in
        [("user_code", "Code shown on the device"), ("username", "Username"), ("password", "Password")]
    {
        assert_eq!(browser.text(&format!("label[for={field}]")).await, label);
    }
    browser.screenshot(PHONE, "device-phone").await;
    assert!(!browser.overflows_sideways().await);
    browser.screenshot(DESKTOP, "device-desktop").await;
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "wonderland").await;
    browser.click("button.allow").await;
    assert_eq!(browser.text("#outcome").await, "Done: your device is connected.");

    let poll = server
        .post_form(
            "/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", codes["device_code"].as_str().unwrap()),
                ("client_id", "tv"),
            ],
        )
        .await;
    assert_eq!(poll.status, 200, "{}", poll.text);
    assert_eq!(server.me(poll.json()["access_token"].as_str().unwrap()).await.json()["sub"], "alice");

    // A second device; its code typed by hand, in lower case, on the bare page.
    let second = server.post_form("/device_authorization", &[("client_id", "tv")]).await.json();
    browser.goto(&format!("{}/device", server.base)).await;
    assert_eq!(browser.focused().await, browser.find("#user_code").await, "the code first");
    browser.type_into("#user_code", &second["user_code"].as_str().unwrap().to_lowercase()).await;
    browser.type_into("#username", "alice").await;
    browser.type_into("#password", "wonderland").await;
    browser.click("button.deny").await;
    assert_eq!(browser.text("#outcome").await, "Denied: the device was not given access.");
    browser.quit().await;
    server.stop().await;
}
