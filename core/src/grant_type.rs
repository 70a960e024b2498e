//! Grant type, response type and client authentication method names.
//!
//! Each is a validated newtype: once constructed it is known to be well-formed, so the registry
//! and the endpoints never handle an unchecked string.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A validated name: a constant, or one read from configuration and shared, so cloning a
/// name (into every token record, say) never copies it.
#[derive(Clone)]
enum Name {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    fn owned(name: &str) -> Self {
        Name::Shared(Arc::from(name))
    }

    fn as_str(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Shared(s) => s,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes as the `str` it holds, as `Borrow<str>` on the newtypes requires.
impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a grant type, response type or method name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// A grant type must be a standard RFC 6749 name or an absolute URI (RFC 6749 §4.5).
    #[error("grant type {0:?} is neither a standard name nor an absolute URI")]
    GrantType(String),
    /// A response type is one or more space-separated names of `[A-Za-z0-9_]`.
    #[error("response type {0:?} is not a space-separated list of names")]
    ResponseType(String),
    /// A client authentication method name is non-empty and has no white space.
    #[error("client authentication method {0:?} is empty or contains white space")]
    AuthMethod(String),
}

/// A `grant_type` value: `authorization_code`, `password`, `client_credentials`,
/// `refresh_token`, or an absolute URI such as `urn:ietf:params:oauth:grant-type:jwt-bearer`.
///
/// ```
/// use grantry_core::GrantType;
/// assert!(GrantType::parse("urn:ietf:params:oauth:grant-type:jwt-bearer").is_ok());
/// assert!(GrantType::parse("api_key").is_err());
/// assert_eq!(GrantType::parse("password").unwrap(), GrantType::PASSWORD);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct GrantType(Name);

impl GrantType {
    /// `authorization_code` (RFC 6749 §4.1).
    pub const AUTHORIZATION_CODE: GrantType = GrantType(Name::Static("authorization_code"));
    /// `password` (RFC 6749 §4.3).
    pub const PASSWORD: GrantType = GrantType(Name::Static("password"));
    /// `client_credentials` (RFC 6749 §4.4).
    pub const CLIENT_CREDENTIALS: GrantType = GrantType(Name::Static("client_credentials"));
    /// `refresh_token` (RFC 6749 §6).
    pub const REFRESH_TOKEN: GrantType = GrantType(Name::Static("refresh_token"));
    /// `implicit`: not a token endpoint grant type, but the name RFC 7591 uses in a client's
    /// `grant_types` for a client allowed the implicit flow.
    pub const IMPLICIT: GrantType = GrantType(Name::Static("implicit"));

    const STANDARD: [&'static str; 4] = ["authorization_code", "password", "client_credentials", "refresh_token"];

    /// A grant type from a constant, checked when the program is compiled: use it in a `const`
    /// (or a `static`), and a name that is neither a standard grant type nor an absolute URI
    /// fails the build. (Called at run time, it panics on such a name instead; use
    /// [`GrantType::parse`] for names that are not constants.)
    ///
    /// ```
    /// use grantry_core::GrantType;
    /// const API_KEY: GrantType = GrantType::from_static("urn:example:params:oauth:grant-type:api-key");
    /// assert_eq!(API_KEY, GrantType::parse("urn:example:params:oauth:grant-type:api-key").unwrap());
    /// ```
    ///
    /// ```compile_fail,E0080
    /// use grantry_core::GrantType;
    /// // A typo (no scheme): rejected at compile time.
    /// const API_KEY: GrantType = GrantType::from_static("urn_example:api-key");
    /// ```
    pub const fn from_static(name: &'static str) -> GrantType {
        assert!(is_const_grant_type(name.as_bytes()), "not a standard grant type or an absolute URI");
        GrantType(Name::Static(name))
    }

    /// Validates a grant type a grant serves at the token endpoint.
    pub fn parse(name: &str) -> Result<GrantType, NameError> {
        if let Some(std) = Self::STANDARD.iter().find(|s| **s == name) {
            return Ok(GrantType(Name::Static(std)));
        }
        if is_absolute_uri(name) {
            return Ok(GrantType(Name::owned(name)));
        }
        Err(NameError::GrantType(name.to_owned()))
    }

    /// Validates a grant type as listed in a client's registration: like [`GrantType::parse`],
    /// and also `implicit`.
    pub fn parse_for_client(name: &str) -> Result<GrantType, NameError> {
        if name == "implicit" { Ok(GrantType::IMPLICIT) } else { Self::parse(name) }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// [`is_absolute_uri`] as a `const fn`, for [`GrantType::from_static`]: a standard name, or a
/// scheme (a letter, then letters, digits, `+`, `-`, `.`), a colon and a non-empty rest of
/// printable ASCII without `#`. Stricter than the run-time check (which also accepts non-ASCII
/// that `url` accepts), never looser.
const fn is_const_grant_type(name: &[u8]) -> bool {
    let mut s = 0;
    while s < GrantType::STANDARD.len() {
        if bytes_eq(GrantType::STANDARD[s].as_bytes(), name) {
            return true;
        }
        s += 1;
    }
    let mut i = 0;
    while i < name.len() && name[i] != b':' {
        let c = name[i];
        let ok = c.is_ascii_alphabetic() || (i > 0 && (c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')));
        if !ok {
            return false;
        }
        i += 1;
    }
    if i == 0 || i + 1 >= name.len() {
        return false;
    }
    i += 1;
    while i < name.len() {
        let c = name[i];
        if !(c.is_ascii_graphic()) || c == b'#' {
            return false;
        }
        i += 1;
    }
    true
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// An absolute URI (RFC 3986 §4.3): a scheme, a colon and the rest, no fragment, no white space.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok
        && !rest.is_empty()
        && !s.contains('#')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(s).is_ok()
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl Borrow<str> for GrantType {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

/// A `response_type` value: one or more names, order-insensitive (RFC 6749 §3.1.1).
///
/// The names are kept sorted, so `"id_token code"` and `"code id_token"` are the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ResponseType(Name);

impl ResponseType {
    /// `code` (RFC 6749 §4.1).
    pub const CODE: ResponseType = ResponseType(Name::Static("code"));
    /// `token` (RFC 6749 §4.2).
    pub const TOKEN: ResponseType = ResponseType(Name::Static("token"));

    /// Validates and normalises a response type.
    pub fn parse(value: &str) -> Result<ResponseType, NameError> {
        match value {
            "code" => return Ok(ResponseType::CODE),
            "token" => return Ok(ResponseType::TOKEN),
            _ => {}
        }
        let valid_name = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut names: Vec<&str> = value.split(' ').collect();
        if !names.iter().all(|n| valid_name(n)) {
            return Err(NameError::ResponseType(value.to_owned()));
        }
        match names.as_slice() {
            ["code"] => return Ok(ResponseType::CODE),
            ["token"] => return Ok(ResponseType::TOKEN),
            _ => {}
        }
        names.sort_unstable();
        names.dedup();
        Ok(ResponseType(Name::owned(&names.join(" "))))
    }

    /// The normalised value.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether one of the names is `name`.
    pub fn includes(&self, name: &str) -> bool {
        self.0.as_str().split(' ').any(|n| n == name)
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl Borrow<str> for ResponseType {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

/// A token endpoint client authentication method (RFC 7591 §2, `token_endpoint_auth_method`).
///
/// The five methods of the RFCs are constants; a plugin can define any other name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ClientAuthMethod(Name);

impl ClientAuthMethod {
    /// Client id and secret in the `Authorization: Basic` header (RFC 6749 §2.3.1).
    pub const CLIENT_SECRET_BASIC: ClientAuthMethod = ClientAuthMethod(Name::Static("client_secret_basic"));
    /// Client id and secret in the form body (RFC 6749 §2.3.1).
    pub const CLIENT_SECRET_POST: ClientAuthMethod = ClientAuthMethod(Name::Static("client_secret_post"));
    /// A public client: `client_id` only.
    pub const NONE: ClientAuthMethod = ClientAuthMethod(Name::Static("none"));
    /// A JWT signed with the client secret (RFC 7523 §2.2).
    pub const CLIENT_SECRET_JWT: ClientAuthMethod = ClientAuthMethod(Name::Static("client_secret_jwt"));
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    pub const PRIVATE_KEY_JWT: ClientAuthMethod = ClientAuthMethod(Name::Static("private_key_jwt"));

    /// A method name: non-empty, without white space.
    pub fn parse(name: &str) -> Result<ClientAuthMethod, NameError> {
        let known = [
            ClientAuthMethod::CLIENT_SECRET_BASIC,
            ClientAuthMethod::CLIENT_SECRET_POST,
            ClientAuthMethod::NONE,
            ClientAuthMethod::CLIENT_SECRET_JWT,
            ClientAuthMethod::PRIVATE_KEY_JWT,
        ];
        if let Some(m) = known.into_iter().find(|m| m.as_str() == name) {
            return Ok(m);
        }
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(NameError::AuthMethod(name.to_owned()));
        }
        Ok(ClientAuthMethod(Name::owned(name)))
    }

    /// A method name known at compile time (for plugins defining a constant).
    ///
    /// The name is not checked here; [`ClientAuthMethod::parse`] checks names from configuration.
    pub const fn from_static(name: &'static str) -> ClientAuthMethod {
        ClientAuthMethod(Name::Static(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl Borrow<str> for ClientAuthMethod {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

macro_rules! deserialize_via_parse {
    ($($ty:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$ty>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    )*};
}
deserialize_via_parse!(ResponseType, ClientAuthMethod);

impl<'de> serde::Deserialize<'de> for GrantType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GrantType::parse_for_client(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types() {
        for ok in [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "https://example.com/g",
        ] {
            assert!(GrantType::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "implicit", "api_key", "urn:", "1urn:x", "urn:x#frag", "urn:a b", ":x"] {
            assert!(GrantType::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(GrantType::parse_for_client("implicit").unwrap(), GrantType::IMPLICIT);
    }

    #[test]
    fn response_types_are_order_insensitive() {
        assert_eq!(ResponseType::parse("id_token code").unwrap(), ResponseType::parse("code id_token").unwrap());
        assert_eq!(ResponseType::parse("code").unwrap(), ResponseType::CODE);
        for bad in ["", "code  token", "co-de", " code"] {
            assert!(ResponseType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn auth_methods() {
        assert_eq!(ClientAuthMethod::parse("none").unwrap(), ClientAuthMethod::NONE);
        assert_eq!(ClientAuthMethod::parse("tls_client_auth").unwrap().as_str(), "tls_client_auth");
        assert!(ClientAuthMethod::parse("a b").is_err());
        assert!(ClientAuthMethod::parse("").is_err());
    }
}
