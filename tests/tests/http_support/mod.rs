//! Helpers for the HTTP end-to-end tests: the example server started in-process on
//! `127.0.0.1:0` with the demo configuration (its issuer set to the bound address, so the
//! metadata's URLs are the real ones), an HTTP client that never follows redirects, the
//! consent form read and submitted like a browser does (with its consent cookie), and JWTs
//! signed with the demo key.

#![allow(dead_code)]

use grantry_examples::server::config::StoreConfig;
use grantry_examples::server::{RunningServer, ServerConfigFile, start_on};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, IntrospectionUrl,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RevocationUrl, Scope, TokenUrl,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Every request of a test is bounded by this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The demo's RSA key for the `signer` client (kid `k1`): published on purpose, demo only.
pub const SIGNER_KEY_PEM: &[u8] = include_bytes!("../../../examples/keys/signer-demo-key.pem");

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The name of the cookie that binds a consent form to the browser it was shown to.
pub const CONSENT_COOKIE: &str = "__Host-grantry-consent";

/// The demo's redirect URIs.
pub const WEB_REDIRECT: &str = "http://127.0.0.1:9000/callback";
pub const SPA_REDIRECT: &str = "http://127.0.0.1:9000/spa";

/// An oauth2 client with authorization, token, revocation and introspection URLs set.
pub type OAuthClient = BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// A server started for one test.
pub struct TestServer {
    running: Option<RunningServer>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The metadata document, as served.
    pub metadata: Value,
    /// A client that never follows redirects and times out.
    pub http: reqwest::Client,
    /// The test's browser: the consent cookie (`name=value`) the server last set for it.
    cookie: Mutex<Option<String>>,
}

/// The HTTP client of the tests: no redirects followed (as the oauth2 crate requires), a
/// timeout on every request.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(REQUEST_TIMEOUT).build().unwrap()
}

/// The demo server.
pub async fn start_demo() -> TestServer {
    start_with(|_| {}).await
}

/// The demo server, with `change` applied to its configuration first.
pub async fn start_with(change: impl FnOnce(&mut ServerConfigFile)) -> TestServer {
    start_at("127.0.0.1:0", change).await
}

/// [`start_with`] listening on `addr` (a server started again where another stopped).
pub async fn start_at(addr: &str, change: impl FnOnce(&mut ServerConfigFile)) -> TestServer {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = ServerConfigFile::demo().unwrap();
    config.issuer = format!("http://{addr}");
    // Each test on a store of its own (a test of a persistent store sets one in `change`).
    config.store = StoreConfig::Memory;
    change(&mut config);
    let running = start_on(config, listener).await.unwrap();
    let base = running.url();
    let http = http_client();
    let metadata = get_json(&http, &format!("{base}/.well-known/oauth-authorization-server")).await;
    TestServer { running: Some(running), base, metadata, http, cookie: Mutex::new(None) }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

impl TestServer {
    /// A metadata URL.
    pub fn endpoint(&self, name: &str) -> String {
        self.metadata[name].as_str().unwrap_or_else(|| panic!("metadata has no {name}")).to_owned()
    }

    /// The address it listens on.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// The issuer.
    pub fn issuer(&self) -> String {
        self.endpoint("issuer")
    }

    /// An oauth2 client for `client_id` (with its secret, if any), every endpoint from the
    /// metadata, authenticating with HTTP Basic unless told otherwise.
    pub fn oauth_client(&self, client_id: &str, secret: Option<&str>, redirect_uri: Option<&str>) -> OAuthClient {
        let mut client = BasicClient::new(ClientId::new(client_id.to_owned()))
            .set_auth_uri(AuthUrl::new(self.endpoint("authorization_endpoint")).unwrap())
            .set_token_uri(TokenUrl::new(self.endpoint("token_endpoint")).unwrap())
            .set_revocation_url(RevocationUrl::new(self.endpoint("revocation_endpoint")).unwrap())
            .set_introspection_url(IntrospectionUrl::new(self.endpoint("introspection_endpoint")).unwrap());
        if let Some(secret) = secret {
            client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
        }
        if let Some(uri) = redirect_uri {
            client = client.set_redirect_uri(RedirectUrl::new(uri.to_owned()).unwrap());
        }
        client
    }

    /// An authorization URL of the public client `spa` for scope `read`, with a fresh PKCE
    /// S256 challenge, and its verifier.
    pub fn spa_authorization(&self) -> (String, PkceCodeVerifier) {
        let spa = self.oauth_client("spa", None, Some(SPA_REDIRECT));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _) = spa
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("read".into()))
            .set_pkce_challenge(challenge)
            .url();
        (url.to_string(), verifier)
    }

    /// [`oauth_client`](Self::oauth_client) authenticating in the request body
    /// (`client_secret_post`).
    pub fn oauth_client_post(&self, client_id: &str, secret: &str) -> OAuthClient {
        self.oauth_client(client_id, Some(secret), None).set_auth_type(AuthType::RequestBody)
    }

    /// A GET by the test's browser, redirects not followed: it sends the consent cookie it
    /// holds, and keeps the one the server sets.
    pub async fn get(&self, url: &str) -> Reply {
        let reply = self.get_with_cookie(url, self.browser_cookie().as_deref()).await;
        if let Some(cookie) = reply.consent_cookie() {
            *self.cookie.lock().unwrap() = Some(cookie);
        }
        reply
    }

    /// A GET with `cookie` (`name=value`) or none, as another browser would send it.
    pub async fn get_with_cookie(&self, url: &str, cookie: Option<&str>) -> Reply {
        let mut request = self.http.get(url);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        Reply::of(request.send().await.unwrap()).await
    }

    /// The consent cookie the test's browser holds (`name=value`).
    pub fn browser_cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    /// A form POST to a path of the server.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        Reply::of(self.http.post(format!("{}{path}", self.base)).form(form).send().await.unwrap()).await
    }

    /// `GET /api/me` with a bearer token.
    pub async fn me(&self, access_token: &str) -> Reply {
        let request = self.http.get(format!("{}/api/me", self.base)).bearer_auth(access_token);
        Reply::of(request.send().await.unwrap()).await
    }

    /// GETs an authorization URL and reads the consent form: its hidden inputs.
    pub async fn consent_form(&self, authorization_url: &str) -> Vec<(String, String)> {
        let page = self.get(authorization_url).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.header("content-type").unwrap_or_default().starts_with("text/html"));
        hidden_inputs(&page.text)
    }

    /// Submits the consent form as the test's browser does: every hidden input, plus the
    /// user's answers, with the browser's consent cookie.
    pub async fn submit_consent(
        &self,
        hidden: &[(String, String)],
        username: &str,
        password: &str,
        consent: &str,
    ) -> Reply {
        self.submit_consent_with_cookie(hidden, self.browser_cookie().as_deref(), username, password, consent).await
    }

    /// [`submit_consent`](Self::submit_consent) with `cookie` (`name=value`) or none.
    pub async fn submit_consent_with_cookie(
        &self,
        hidden: &[(String, String)],
        cookie: Option<&str>,
        username: &str,
        password: &str,
        consent: &str,
    ) -> Reply {
        let mut form: Vec<(&str, &str)> = hidden.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        form.extend([("username", username), ("password", password), ("consent", consent)]);
        let mut request = self.http.post(format!("{}/authorize", self.base)).form(&form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        Reply::of(request.send().await.unwrap()).await
    }

    /// A whole browser round: the form, then `allow` as alice; the 303's `Location` params.
    pub async fn authorize_as_alice(&self, authorization_url: &str) -> HashMap<String, String> {
        let hidden = self.consent_form(authorization_url).await;
        let reply = self.submit_consent(&hidden, "alice", "wonderland", "allow").await;
        assert_eq!(reply.status, 303, "{}", reply.text);
        redirect_params(reply.header("location").unwrap())
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown_within(Duration::from_secs(5)).await.unwrap();
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub async fn of(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply { status, headers, text }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| panic!("{err}: {}", self.text))
    }

    /// The `Set-Cookie` headers of the consent cookie, whole.
    pub fn consent_set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .filter(|v| v.starts_with(&format!("{CONSENT_COOKIE}=")))
            .collect()
    }

    /// The consent cookie as a browser sends it back: `name=value`.
    pub fn consent_cookie(&self) -> Option<String> {
        self.consent_set_cookies().first().map(|v| v.split(';').next().unwrap().trim().to_owned())
    }
}

/// The hidden inputs of an HTML page, `(name, value)`, entities decoded.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        if attribute(tag, "type").as_deref() == Some("hidden") {
            found.push((attribute(tag, "name").unwrap(), attribute(tag, "value").unwrap_or_default()));
        }
    }
    found
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The parameters of a redirect `Location`, from its query and its fragment.
pub fn redirect_params(location: &str) -> HashMap<String, String> {
    let url = reqwest::Url::parse(location).unwrap();
    let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        params.extend(reqwest::Url::parse(&format!("http://x/?{fragment}")).unwrap().query_pairs().into_owned());
    }
    params
}

/// The URL without query or fragment.
pub fn without_query(location: &str) -> String {
    let mut url = reqwest::Url::parse(location).unwrap();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A `jti` not used before in this process.
pub fn unique_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("http-test-{}-{}", now(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Claims from `iss` about `sub` for audience `aud`, valid for 5 minutes.
pub fn claims(iss: &str, sub: &str, aud: &str) -> Value {
    serde_json::json!({"iss": iss, "sub": sub, "aud": aud, "iat": now(), "exp": now() + 300, "jti": unique_jti()})
}

/// A JWT signed RS256 with the demo key, kid `k1`.
pub fn sign_with_demo_key(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(SIGNER_KEY_PEM).unwrap()).unwrap()
}
