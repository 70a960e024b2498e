//! The CSRF token and consent cookie of the login-and-consent form of `GET /authorize` (the
//! page itself is in [`pages`](super::pages)).
//!
//! The form carries every authorization parameter as a hidden input, plus `csrf_token`:
//! `FORM_ID.EXPIRY.MAC`, where `FORM_ID` is random, and `MAC` an HMAC-SHA256, under a key drawn
//! at random when the process starts, over the form id, the expiry, the browser's consent
//! cookie and those parameters (sorted, form-encoded).
//!
//! The consent cookie ([`CONSENT_COOKIE`]: `__Host-` prefixed, `HttpOnly`, `SameSite=Lax`,
//! `Path=/`, `Secure` when the issuer is `https`; see [`set_cookie_headers`] for an `http`
//! issuer) holds a random value given to a browser with its first form and kept for the next
//! ones. `POST /authorize` recomputes the MAC, with the
//! cookie the submission came with, before anything else: a submission is accepted only with
//! parameters this server rendered, recently, for the browser that submits them. A form posted
//! from another site comes without the cookie (`SameSite=Lax`), and a form and cookie an
//! attacker obtained for their own browser do not match the victim's cookie (no login CSRF).
//! Each form is then accepted once: its id goes into the server's single-use store
//! ([`ReplayStore`](grantry_core::storage::ReplayStore)), shared by every server on the store.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::http::HeaderMap;
use grantry_core::http::header::COOKIE;
use grantry_core::storage::ReplayKey;
use grantry_core::{AuthorizationRequest, encode_form};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The form fields that are the form's own, never authorization parameters.
pub const FORM_FIELDS: [&str; 4] = [CSRF_FIELD, "username", "password", "consent"];

/// The name of the CSRF token field.
pub const CSRF_FIELD: &str = "csrf_token";

/// How long a rendered form may be submitted, in seconds.
pub const CSRF_TTL: u64 = 600;

/// Separates this MAC's inputs from any other use of the key.
const MAC_CONTEXT: &[u8] = b"grantry-server consent form v2\n";

/// The name of the cookie that binds consent forms to a browser. `__Host-`: browsers accept it
/// only without `Domain` and with `Path=/`, so no other host (a sibling subdomain) can set it.
pub const CONSENT_COOKIE: &str = "__Host-grantry-consent";

/// Random bytes in a consent cookie value.
const COOKIE_BYTES: usize = 32;

/// Random bytes in a form id.
const FORM_ID_BYTES: usize = 16;

/// Why a consent form submission was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfError {
    /// No token was submitted.
    Missing,
    /// The submission came without the consent cookie (from another site, or from a browser
    /// that refuses cookies).
    NoCookie,
    /// The token is not one of ours, or not for these parameters, or not for this browser.
    Invalid,
    /// The token is ours but too old.
    Expired,
    /// The form was submitted before.
    AlreadyUsed,
}

impl CsrfError {
    /// The HTTP status of the refusal page: `400` for an expired form, `403` otherwise.
    pub fn status(&self) -> u16 {
        match self {
            CsrfError::Expired => 400,
            _ => 403,
        }
    }
}

impl fmt::Display for CsrfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CsrfError::Missing => "the form's csrf_token is missing",
            CsrfError::NoCookie => {
                "the consent cookie is missing: the form must be submitted from the browser it was shown in, \
                 with cookies allowed for this site"
            }
            CsrfError::Invalid => "the form's csrf_token is invalid for this browser",
            CsrfError::Expired => "the form has expired; start the authorization again",
            CsrfError::AlreadyUsed => "this form was already submitted; start the authorization again",
        })
    }
}

/// A form whose token checked out: its id, to be recorded as used, and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedForm {
    /// The form's random id.
    pub id: String,
    /// When the form expires (Unix seconds).
    pub expires_at: u64,
}

impl VerifiedForm {
    /// The key the form is recorded under in the server's single-use store, until it expires.
    pub fn replay_key(&self) -> ReplayKey {
        ReplayKey::new("consent-form", &[&self.id])
    }
}

/// A new consent cookie value: 32 random bytes from the operating system's CSPRNG, base64url.
pub fn new_cookie_value() -> String {
    random_base64(COOKIE_BYTES)
}

fn random_base64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The consent cookie a request carries, if it carries one that is well formed (one this
/// server could have made: 32 bytes, base64url). The first cookie of that name counts.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CONSENT_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))?;
    let well_formed = URL_SAFE_NO_PAD.decode(value).is_ok_and(|bytes| bytes.len() == COOKIE_BYTES);
    well_formed.then_some(value)
}

/// The `Set-Cookie` header values giving a browser its consent cookie: a session cookie,
/// `__Host-` (so `Path=/` and no `Domain`), `HttpOnly`, `SameSite=Lax`.
///
/// With an `https` issuer, one header, `Secure`. With an `http` issuer (a loopback host: the
/// issuer may be `http` nowhere else), the same cookie twice, `Secure` first, then without:
/// - user agents that follow RFC 6265bis (Chromium, Firefox, curl) ignore a `__Host-` cookie
///   without `Secure`, and accept a `Secure` one from `http://localhost` or `127.0.0.1`: they
///   keep the first;
/// - cookie jars without prefix rules that never send a `Secure` cookie over `http` (Python's
///   `http.cookiejar`, used by `requests`) store both, the second replacing the first: they
///   keep and send the second.
///
/// Either way the browser holds one cookie of that name, with the same value.
pub fn set_cookie_headers(value: &str, https_issuer: bool) -> Vec<String> {
    let cookie = format!("{CONSENT_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax");
    if https_issuer { vec![format!("{cookie}; Secure")] } else { vec![format!("{cookie}; Secure"), cookie] }
}

/// The key of the consent forms' CSRF tokens: random per process, or one that servers sharing
/// a store share (`secret_key`, or the one a persistent store keeps).
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

    /// A key derived from `secret` (at least 32 bytes, checked by the configuration), with
    /// tokens valid for [`CSRF_TTL`]: every server given the same secret accepts the others'
    /// forms.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        mac.update(b"grantry-server consent form key");
        CsrfKey { key: mac.finalize().into_bytes().into(), ttl: CSRF_TTL }
    }

    /// Sets how long tokens stay valid, in seconds.
    pub fn with_ttl(mut self, seconds: u64) -> Self {
        self.ttl = seconds;
        self
    }

    /// The MAC of a form. Every input but the last has a fixed alphabet without `\n` (the
    /// form id and cookie are base64url, the expiry digits), so the input is unambiguous.
    fn mac(&self, form_id: &str, expires_at: u64, cookie: &str, params: &[(String, String)]) -> Hmac<Sha256> {
        // The key is 32 bytes; HMAC takes a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(MAC_CONTEXT);
        for part in [form_id.as_bytes(), expires_at.to_string().as_bytes(), cookie.as_bytes()] {
            mac.update(part);
            mac.update(b"\n");
        }
        mac.update(canonical(params).as_bytes());
        mac
    }

    /// A token for a new form carrying `params`, shown at `now` to the browser whose consent
    /// cookie is `cookie`: `FORM_ID.EXPIRY.MAC`, with a fresh random form id.
    pub fn issue(&self, cookie: &str, params: &[(String, String)], now: u64) -> String {
        let form_id = random_base64(FORM_ID_BYTES);
        let expires_at = now.saturating_add(self.ttl);
        let tag = self.mac(&form_id, expires_at, cookie, params).finalize().into_bytes();
        format!("{form_id}.{expires_at}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks a submitted token against the submitted `params` and the consent `cookie` the
    /// submission came with, at `now`; the form it names. The MAC is compared in constant
    /// time. Whether the form was submitted before is the single-use store's to say
    /// ([`VerifiedForm::replay_key`]).
    pub fn verify(
        &self,
        token: Option<&str>,
        cookie: Option<&str>,
        params: &[(String, String)],
        now: u64,
    ) -> Result<VerifiedForm, CsrfError> {
        let token = token.ok_or(CsrfError::Missing)?;
        let cookie = cookie.ok_or(CsrfError::NoCookie)?;
        let mut parts = token.split('.');
        let (Some(form_id), Some(expiry), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CsrfError::Invalid);
        };
        let expires_at: u64 = expiry.parse().map_err(|_| CsrfError::Invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CsrfError::Invalid)?;
        self.mac(form_id, expires_at, cookie, params).verify_slice(&tag).map_err(|_| CsrfError::Invalid)?;
        if now > expires_at {
            return Err(CsrfError::Expired);
        }
        Ok(VerifiedForm { id: form_id.to_owned(), expires_at })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn csrf_tokens_bind_the_parameters_the_browser_and_expire() {
        let key = CsrfKey::random();
        let cookie = new_cookie_value();
        let c = Some(cookie.as_str());
        let p = params(&[("client_id", "web"), ("state", "a&b=c")]);
        let token = key.issue(&cookie, &p, 1000);
        let form = key.verify(Some(&token), c, &p, 1000).unwrap();
        assert_eq!(form.expires_at, 1000 + CSRF_TTL);
        assert!(token.starts_with(&format!("{}.", form.id)));
        // Each form has its own id.
        assert_ne!(key.verify(Some(&key.issue(&cookie, &p, 1000)), c, &p, 1000).unwrap().id, form.id);
        // Order does not matter; content does.
        let reordered = params(&[("state", "a&b=c"), ("client_id", "web")]);
        assert_eq!(key.verify(Some(&token), c, &reordered, 1000 + CSRF_TTL), Ok(form));
        assert_eq!(key.verify(Some(&token), c, &p, 1001 + CSRF_TTL), Err(CsrfError::Expired));
        let changed = params(&[("client_id", "web"), ("state", "a&b=d")]);
        assert_eq!(key.verify(Some(&token), c, &changed, 1000), Err(CsrfError::Invalid));
        // An ambiguous split of the same characters is another input.
        let shifted = params(&[("client_id", "web&state=a"), ("b", "c")]);
        assert_eq!(key.verify(Some(&token), c, &shifted, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(None, c, &p, 1000), Err(CsrfError::Missing));
        assert_eq!(key.verify(Some("garbage"), c, &p, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(Some("AAAA.99999999999.AAAA"), c, &p, 1000), Err(CsrfError::Invalid));
        // Another browser's cookie, or none.
        assert_eq!(key.verify(Some(&token), Some(&new_cookie_value()), &p, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(Some(&token), None, &p, 1000), Err(CsrfError::NoCookie));
        // Neither a later expiry nor another form id can be grafted onto a MAC.
        let (id, rest) = token.split_once('.').unwrap();
        let (_, tag) = rest.split_once('.').unwrap();
        assert_eq!(key.verify(Some(&format!("{id}.999999.{tag}")), c, &p, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(Some(&format!("AAAA.{rest}")), c, &p, 1000), Err(CsrfError::Invalid));
        assert_eq!(key.verify(Some(&format!("{token}.x")), c, &p, 1000), Err(CsrfError::Invalid));
        // Another process's key does not verify.
        assert_eq!(CsrfKey::random().verify(Some(&token), c, &p, 1000), Err(CsrfError::Invalid));
    }

    #[test]
    fn the_consent_cookie() {
        let value = new_cookie_value();
        assert_eq!(value.len(), 43);
        assert_ne!(value, new_cookie_value());
        let cookie = |text: String| {
            let mut headers = HeaderMap::new();
            headers.append(COOKIE, text.parse().unwrap());
            headers
        };
        assert_eq!(cookie_value(&cookie(format!("other=1; {CONSENT_COOKIE}={value}; x=y"))), Some(value.as_str()));
        // Only well-formed values count: nothing this server did not make is echoed into a MAC.
        for bad in ["", "AAAA", "not base64!", &format!("{value}A")] {
            assert_eq!(cookie_value(&cookie(format!("{CONSENT_COOKIE}={bad}"))), None, "{bad:?}");
        }
        assert_eq!(cookie_value(&cookie(format!("grantry-consent={value}"))), None);
        let plain = format!("{CONSENT_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax");
        assert_eq!(set_cookie_headers(&value, true), [format!("{plain}; Secure")]);
        assert_eq!(set_cookie_headers(&value, false), [format!("{plain}; Secure"), plain]);
    }
}
