//! The claims of an assertion: read from the payload, judged against the server's identity
//! and clock before the signature is checked (a cheap refusal), and judged again once it is.

use super::assertion::AssertionError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::Timestamp;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// The claims of an assertion whose signature has been verified and whose `iss`, `sub`, `aud`
/// and `exp` are present and acceptable.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertionClaims {
    issuer: String,
    subject: String,
    audience: Vec<String>,
    expires_at: Timestamp,
    not_before: Option<Timestamp>,
    issued_at: Option<Timestamp>,
    jti: Option<String>,
    /// Without `jti`, the key the assertion is spent under (see [`Self::replay_key`]); empty
    /// with one.
    digest_key: String,
    all: Payload,
}

impl AssertionClaims {
    /// `iss`: who issued (and signed) the assertion.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `sub`: whom the assertion is about.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `aud`, as a list (a single string audience is a list of one).
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// `exp`.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// `nbf`, if present.
    pub fn not_before(&self) -> Option<Timestamp> {
        self.not_before
    }

    /// `iat`, if present.
    pub fn issued_at(&self) -> Option<Timestamp> {
        self.issued_at
    }

    /// `jti`, if present.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// What the assertion is spent under in the server's single-use store, with its issuer:
    /// its `jti`, or without one [`NO_JTI_PREFIX`](super::NO_JTI_PREFIX) and the base64url
    /// SHA-256 of its signed part (`header.payload`).
    pub fn replay_key(&self) -> &str {
        self.jti.as_deref().unwrap_or(&self.digest_key)
    }

    /// Any claim by name, as JSON (for claims this module does not interpret).
    pub fn claim(&self, name: &str) -> Option<&Value> {
        let all = &self.all;
        match name {
            "iss" => all.iss.as_ref(),
            "sub" => all.sub.as_ref(),
            "aud" => all.aud.as_ref(),
            "exp" => all.exp.as_ref(),
            "nbf" => all.nbf.as_ref(),
            "iat" => all.iat.as_ref(),
            "jti" => all.jti.as_ref(),
            _ => all.other.get(name),
        }
    }
}

/// The payload as read by serde (through `jsonwebtoken::insecure_decode`): the registered
/// claims as raw JSON, so that a claim of the wrong type is named in the error rather than
/// failing the whole parse, and the other claims kept for [`AssertionClaims::claim`]. A
/// repeated registered claim is refused (RFC 7519 §4 lets a parser refuse duplicates).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub(crate) struct Payload {
    iss: Option<Value>,
    sub: Option<Value>,
    aud: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    jti: Option<Value>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// The claims as read from the payload, before the signature is checked: typed, but nothing
/// about them is trusted or required yet.
#[derive(Debug, Clone)]
pub(crate) struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Vec<String>>,
    exp: Option<Timestamp>,
    nbf: Option<Timestamp>,
    iat: Option<Timestamp>,
    jti: Option<String>,
    all: Payload,
}

/// How much clock skew to forgive, and how long an assertion may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeRules {
    /// Seconds of clock skew forgiven on `exp`, `nbf` and `iat`.
    pub(crate) leeway: u64,
    /// The largest `exp - now` accepted, in seconds.
    pub(crate) max_lifetime: u64,
}

/// A string claim; an empty string counts as absent.
fn string_claim(value: &Option<Value>, name: &'static str) -> Result<Option<String>, AssertionError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AssertionError::MalformedClaim(name)),
    }
}

/// A NumericDate claim (RFC 7519 §2): seconds since the epoch, fractions allowed and dropped.
fn date_claim(value: &Option<Value>, name: &'static str) -> Result<Option<Timestamp>, AssertionError> {
    let Some(value) = value else { return Ok(None) };
    match (value.as_u64(), value.as_f64()) {
        (Some(seconds), _) => Ok(Some(seconds)),
        (None, Some(f)) if f.is_finite() && f >= 0.0 => Ok(Some(f as Timestamp)),
        _ => Err(AssertionError::MalformedClaim(name)),
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3).
fn audience_claim(value: &Option<Value>) -> Result<Option<Vec<String>>, AssertionError> {
    match value {
        None => Ok(None),
        Some(Value::String(aud)) => Ok(Some(vec![aud.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or(AssertionError::MalformedClaim("aud")))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(AssertionError::MalformedClaim("aud")),
    }
}

impl RawClaims {
    /// Types the registered claims of a payload, refusing ones of the wrong JSON type.
    pub(crate) fn parse(payload: Payload) -> Result<Self, AssertionError> {
        let (iss, sub, aud) =
            (string_claim(&payload.iss, "iss")?, string_claim(&payload.sub, "sub")?, audience_claim(&payload.aud)?);
        let (exp, nbf, iat) =
            (date_claim(&payload.exp, "exp")?, date_claim(&payload.nbf, "nbf")?, date_claim(&payload.iat, "iat")?);
        let jti = string_claim(&payload.jti, "jti")?;
        Ok(RawClaims { iss, sub, aud, exp, nbf, iat, jti, all: payload })
    }

    /// `iss`, which names the keys to verify with.
    pub(crate) fn issuer(&self) -> Result<&str, AssertionError> {
        self.iss.as_deref().ok_or(AssertionError::MissingClaim("iss"))
    }

    /// Judges the claims: `iss`, `sub`, `aud` and `exp` present, `aud` naming one of
    /// `audiences`, and the times acceptable at `now`. Cheap, so it runs before the signature
    /// is checked to refuse junk early, and again after, on the claims the signature covers.
    pub(crate) fn judge(&self, audiences: &[&str], rules: TimeRules, now: Timestamp) -> Result<(), AssertionError> {
        self.iss.as_ref().ok_or(AssertionError::MissingClaim("iss"))?;
        self.sub.as_ref().ok_or(AssertionError::MissingClaim("sub"))?;
        let audience = self.aud.as_ref().ok_or(AssertionError::MissingClaim("aud"))?;
        let expires_at = self.exp.ok_or(AssertionError::MissingClaim("exp"))?;
        if !audience.iter().any(|aud| audiences.contains(&aud.as_str())) {
            return Err(AssertionError::WrongAudience);
        }
        if now > expires_at.saturating_add(rules.leeway) {
            return Err(AssertionError::Expired);
        }
        if expires_at.saturating_sub(now) > rules.max_lifetime {
            return Err(AssertionError::LifetimeTooLong);
        }
        if self.nbf.is_some_and(|nbf| nbf > now.saturating_add(rules.leeway)) {
            return Err(AssertionError::NotYetValid);
        }
        if self.iat.is_some_and(|iat| iat > now.saturating_add(rules.leeway)) {
            return Err(AssertionError::IssuedInFuture);
        }
        Ok(())
    }

    /// The claims of an assertion whose signature over `signed_part` (`header.payload`, which
    /// these claims were read from) is verified, judged as by [`judge`](Self::judge).
    pub(crate) fn into_verified(
        self,
        signed_part: &str,
        audiences: &[&str],
        rules: TimeRules,
        now: Timestamp,
    ) -> Result<AssertionClaims, AssertionError> {
        self.judge(audiences, rules, now)?;
        let issuer = self.iss.ok_or(AssertionError::MissingClaim("iss"))?;
        let subject = self.sub.ok_or(AssertionError::MissingClaim("sub"))?;
        let audience = self.aud.ok_or(AssertionError::MissingClaim("aud"))?;
        let expires_at = self.exp.ok_or(AssertionError::MissingClaim("exp"))?;
        let digest_key = match self.jti {
            Some(_) => String::new(),
            None => {
                let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(signed_part.as_bytes()));
                format!("{}{digest}", super::NO_JTI_PREFIX)
            }
        };
        Ok(AssertionClaims {
            issuer,
            subject,
            audience,
            expires_at,
            not_before: self.nbf,
            issued_at: self.iat,
            jti: self.jti,
            digest_key,
            all: self.all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Timestamp = 1_000_000;
    const RULES: TimeRules = TimeRules { leeway: 60, max_lifetime: 3600 };
    const AUD: &[&str] = &["https://as.example", "https://as.example/token"];

    /// Reads a payload as `insecure_decode` does, then types it.
    fn parse(json: &[u8]) -> Result<RawClaims, AssertionError> {
        let payload = serde_json::from_slice(json).map_err(|_| AssertionError::Malformed("payload"))?;
        RawClaims::parse(payload)
    }

    fn claims(value: Value) -> Result<AssertionClaims, AssertionError> {
        parse(&serde_json::to_vec(&value).unwrap())?.into_verified("h.p", AUD, RULES, NOW)
    }

    fn valid() -> Value {
        json!({"iss": "c", "sub": "c", "aud": "https://as.example", "exp": NOW + 300})
    }

    fn with(name: &str, value: Value) -> Value {
        let mut v = valid();
        v[name] = value;
        v
    }

    fn without(name: &str) -> Value {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(name);
        v
    }

    #[test]
    fn accepts_valid_claims() {
        let c = claims(with("aud", json!(["other", "https://as.example/token"]))).unwrap();
        assert_eq!((c.issuer(), c.subject(), c.expires_at()), ("c", "c", NOW + 300));
        assert_eq!(c.audience().len(), 2);
        let c = claims(with("exp", json!((NOW + 10) as f64 + 0.5))).unwrap();
        assert_eq!(c.expires_at(), NOW + 10);
    }

    #[test]
    fn requires_the_registered_claims() {
        for name in ["iss", "sub", "aud", "exp"] {
            assert!(matches!(claims(without(name)), Err(AssertionError::MissingClaim(n)) if n == name));
        }
        assert!(matches!(claims(with("sub", json!(""))), Err(AssertionError::MissingClaim("sub"))));
    }

    #[test]
    fn refuses_malformed_claims() {
        assert!(matches!(claims(with("exp", json!("soon"))), Err(AssertionError::MalformedClaim("exp"))));
        assert!(matches!(claims(with("exp", json!(-5))), Err(AssertionError::MalformedClaim("exp"))));
        assert!(matches!(claims(with("aud", json!(["a", 1]))), Err(AssertionError::MalformedClaim("aud"))));
        assert!(matches!(claims(with("iss", json!(7))), Err(AssertionError::MalformedClaim("iss"))));
    }

    #[test]
    fn checks_times_with_leeway() {
        assert!(claims(with("exp", json!(NOW - 60))).is_ok());
        assert!(matches!(claims(with("exp", json!(NOW - 61))), Err(AssertionError::Expired)));
        assert!(claims(with("exp", json!(NOW + 3600))).is_ok());
        assert!(matches!(claims(with("exp", json!(NOW + 3601))), Err(AssertionError::LifetimeTooLong)));
        assert!(claims(with("nbf", json!(NOW + 60))).is_ok());
        assert!(matches!(claims(with("nbf", json!(NOW + 61))), Err(AssertionError::NotYetValid)));
        assert!(matches!(claims(with("iat", json!(NOW + 61))), Err(AssertionError::IssuedInFuture)));
        assert!(matches!(claims(with("exp", json!(u64::MAX))), Err(AssertionError::LifetimeTooLong)));
    }

    #[test]
    fn other_claims_are_read_on_demand() {
        let c = claims(with("scope", json!(["read", {"deep": 1}]))).unwrap();
        assert_eq!(c.claim("scope"), Some(&json!(["read", {"deep": 1}])));
        assert_eq!(c.claim("iss"), Some(&json!("c")));
        assert_eq!(c.claim("absent"), None);
    }

    #[test]
    fn deeply_nested_claims_are_refused_not_followed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for claim in ["aud", "other"] {
            let payload = format!(r#"{{"iss":"c","{claim}":{deep}}}"#);
            let parsed = parse(payload.as_bytes());
            assert!(matches!(parsed, Err(AssertionError::Malformed(_))), "{claim}: {:?}", parsed.map(|c| c.iss));
        }
    }

    #[test]
    fn refuses_payloads_that_are_not_one_object() {
        for bad in [&br#"{"iss":"a","iss":"b"}"#[..], br#"["c","c"]"#, b"", br#"{"iss":"#] {
            assert!(matches!(parse(bad), Err(AssertionError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn replay_key_is_the_jti_or_a_digest_of_the_signed_part() {
        assert_eq!(claims(with("jti", json!("j-1"))).unwrap().replay_key(), "j-1");
        let no_jti = || parse(&serde_json::to_vec(&valid()).unwrap()).unwrap();
        let key = |signed: &str| no_jti().into_verified(signed, AUD, RULES, NOW).unwrap().replay_key().to_owned();
        // SHA-256("h.p"), base64url (as `openssl dgst -sha256` gives it).
        assert_eq!(key("h.p"), "#sha256:UdhWXW5eePHQyomltCDjD1sca7dfVFOr5C9sRI-smZs");
        assert_ne!(key("h.p"), key("h.q"));
    }

    #[test]
    fn checks_the_audience() {
        assert!(matches!(claims(with("aud", json!("https://other.example"))), Err(AssertionError::WrongAudience)));
        assert!(matches!(claims(with("aud", json!([]))), Err(AssertionError::WrongAudience)));
    }
}
