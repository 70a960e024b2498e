//! The login-and-consent page of `GET /authorize`, its CSRF token, and the error page.
//!
//! The form carries every authorization parameter as a hidden input, plus `csrf_token`: an
//! HMAC-SHA256, under a key drawn at random when the process starts, over those parameters
//! (sorted, form-encoded) and an expiry. `POST /authorize` recomputes it before anything else,
//! so a submission is accepted only with parameters this server rendered, recently. Every
//! piece of text that reaches the page is HTML-escaped.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::{AuthorizationRequest, OAuthError, encode_form};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

/// The form fields that are the form's own, never authorization parameters.
pub const FORM_FIELDS: [&str; 4] = [CSRF_FIELD, "username", "password", "consent"];

/// The name of the CSRF token field.
pub const CSRF_FIELD: &str = "csrf_token";

/// How long a rendered form may be submitted, in seconds.
pub const CSRF_TTL: u64 = 600;

/// Separates this MAC's inputs from any other use of the key.
const MAC_CONTEXT: &[u8] = b"grantry-server consent form v1\n";

/// Why a CSRF token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfError {
    /// No token was submitted.
    Missing,
    /// The token is not one of ours, or not for these parameters.
    Invalid,
    /// The token is ours but too old.
    Expired,
}

impl fmt::Display for CsrfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CsrfError::Missing => "the form's csrf_token is missing",
            CsrfError::Invalid => "the form's csrf_token is invalid",
            CsrfError::Expired => "the form has expired; start the authorization again",
        })
    }
}

/// The per-process key of the consent forms' CSRF tokens.
#[derive(Clone)]
pub struct CsrfKey {
    key: [u8; 32],
    ttl: u64,
}

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfKey").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl CsrfKey {
    /// A key drawn from the operating system's CSPRNG, with tokens valid for [`CSRF_TTL`].
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        CsrfKey { key, ttl: CSRF_TTL }
    }

    /// Sets how long tokens stay valid, in seconds.
    pub fn with_ttl(mut self, seconds: u64) -> Self {
        self.ttl = seconds;
        self
    }

    fn mac(&self, expires_at: u64, params: &[(String, String)]) -> Hmac<Sha256> {
        // The key is 32 bytes; HMAC takes a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(MAC_CONTEXT);
        mac.update(expires_at.to_string().as_bytes());
        mac.update(b"\n");
        mac.update(canonical(params).as_bytes());
        mac
    }

    /// A token for a form carrying `params`, issued at `now`: `EXPIRY.MAC`.
    pub fn issue(&self, params: &[(String, String)], now: u64) -> String {
        let expires_at = now.saturating_add(self.ttl);
        let tag = self.mac(expires_at, params).finalize().into_bytes();
        format!("{expires_at}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks a submitted token against the submitted `params`, at `now`. The MAC is compared
    /// in constant time.
    pub fn verify(&self, token: Option<&str>, params: &[(String, String)], now: u64) -> Result<(), CsrfError> {
        let token = token.ok_or(CsrfError::Missing)?;
        let (expiry, tag) = token.split_once('.').ok_or(CsrfError::Invalid)?;
        let expires_at: u64 = expiry.parse().map_err(|_| CsrfError::Invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CsrfError::Invalid)?;
        self.mac(expires_at, params).verify_slice(&tag).map_err(|_| CsrfError::Invalid)?;
        if now > expires_at { Err(CsrfError::Expired) } else { Ok(()) }
    }
}

/// The parameters in one unambiguous string: sorted, then form-encoded (which escapes `&`
/// and `=` inside names and values).
fn canonical(params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    sorted.sort_unstable();
    encode_form(&sorted)
}

/// The authorization parameters of a validated request that go into the form's hidden inputs:
/// all of them, less any named like one of the form's own fields.
pub fn hidden_params(request: &AuthorizationRequest) -> Vec<(String, String)> {
    request
        .params()
        .iter()
        .filter(|(name, _)| !FORM_FIELDS.contains(name))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:2rem}\
main{max-width:26rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.25rem}code{background:#eef;padding:0 .25rem;border-radius:3px}\
label{display:block;margin:.75rem 0}input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}\
.buttons{display:flex;gap:.75rem;margin-top:1rem}button{flex:1;padding:.5rem;font-size:1rem;cursor:pointer}\
.error{color:#a00;background:#fee;padding:.5rem;border-radius:4px}.small{color:#555;font-size:.85rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// The login-and-consent page: who asks, for what, the credentials fields, Allow and Deny
/// (`consent` = `allow` / `deny`), every parameter in `hidden` as a hidden input, and the
/// CSRF token. `error` is shown above the form (a failed login); `username` is pre-filled.
pub fn consent_page(
    request: &AuthorizationRequest,
    hidden: &[(String, String)],
    csrf_token: &str,
    username: Option<&str>,
    error: Option<&str>,
) -> String {
    let client_id = escape(request.client().client_id());
    let mut body = format!("<h1>Authorize <code>{client_id}</code></h1>\n");
    let scopes: Vec<&str> = request.scope().iter().collect();
    if scopes.is_empty() {
        body.push_str("<p>The application asks to act for you (no particular scope).</p>\n");
    } else {
        body.push_str("<p>The application asks for access to:</p>\n<ul class=\"scopes\">\n");
        for scope in scopes {
            let _ = writeln!(body, "<li><code>{}</code></li>", escape(scope));
        }
        body.push_str("</ul>\n");
    }
    if let Some(error) = error {
        let _ = writeln!(body, "<p class=\"error\" role=\"alert\">{}</p>", escape(error));
    }
    // A relative action: the form goes back to this endpoint, behind a proxy too.
    body.push_str("<form method=\"post\" action=\"authorize\">\n");
    for (name, value) in hidden {
        let _ = writeln!(body, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value));
    }
    let _ = writeln!(body, "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">", escape(csrf_token));
    let _ = writeln!(
        body,
        "<label>Username <input type=\"text\" name=\"username\" value=\"{}\" autocomplete=\"username\" required autofocus></label>",
        escape(username.unwrap_or_default())
    );
    body.push_str(
        "<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n",
    );
    body.push_str(
        "<div class=\"buttons\">\n<button type=\"submit\" name=\"consent\" value=\"allow\">Allow</button>\n\
         <button type=\"submit\" name=\"consent\" value=\"deny\" formnovalidate>Deny</button>\n</div>\n</form>\n",
    );
    let _ = writeln!(
        body,
        "<p class=\"small\">Either way, you are sent back to <code>{}</code>.</p>",
        escape(request.redirect_uri())
    );
    page(&format!("Authorize {}", request.client().client_id()), &body)
}

/// The page of an error that must be shown rather than redirected (RFC 6749 §4.1.2.1).
pub fn error_page(error: &OAuthError) -> String {
    let mut body = String::from("<h1>This authorization request cannot be completed</h1>\n");
    let _ = writeln!(body, "<p class=\"error\">Error: <code id=\"error\">{}</code></p>", escape(error.code().as_str()));
    if let Some(description) = error.description() {
        let _ = writeln!(body, "<p id=\"error_description\">{}</p>", escape(description));
    }
    body.push_str("<p class=\"small\">Go back to the application and try again.</p>\n");
    page("Authorization error", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn csrf_tokens_bind_the_parameters_and_expire() {
        let key = CsrfKey::random();
        let p = params(&[("client_id", "web"), ("state", "a&b=c")]);
        let token = key.issue(&p, 1000);
        assert_eq!(key.verify(Some(&token), &p, 1000), Ok(()));
        // Order does not matter; content does.
        let reordered = params(&[("state", "a&b=c"), ("client_id", "web")]);
        assert_eq!(key.verify(Some(&token), &reordered, 1000 + CSRF_TTL), Ok(()));
        assert_eq!(key.verify(Some(&token), &p, 1001 + CSRF_TTL), Err(CsrfError::Expired));
        let changed = params(&[("client_id", "web"), ("state", "a&b=d")]);
        assert_eq!(key.verify(Some(&token), &changed, 1000), Err(CsrfError::Invalid));
        // An ambiguous split of the same characters is another input.
        let shifted = params(&[("client_id", "web&state=a"), ("b", "c")]);
        assert_eq!(key.verify(Some(&token), &shifted, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(None, &p, 1000), Err(CsrfError::Missing));
        assert_eq!(key.verify(Some("garbage"), &p, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(Some("99999999999.AAAA"), &p, 1000), Err(CsrfError::Invalid));
        // A later expiry cannot be grafted onto a MAC.
        let (_, tag) = token.split_once('.').unwrap();
        assert_eq!(key.verify(Some(&format!("999999.{tag}")), &p, 1000), Err(CsrfError::Invalid));
        // Another process's key does not verify.
        assert_eq!(CsrfKey::random().verify(Some(&token), &p, 1000), Err(CsrfError::Invalid));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let page = error_page(&OAuthError::invalid_request("<script>alert(1)</script>"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
