//! The JWS header of an assertion: its `alg` and `kid`, read before any key is chosen.
//!
//! Only what selecting a key needs is read. Keys offered by the token itself (`jwk`, `jku`,
//! `x5u`, `x5c`) are ignored: an assertion is verified only with keys the server holds for its
//! issuer.

use super::assertion::AssertionError;
use super::keys::algorithm_name;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::Value;
use std::str::FromStr as _;

/// The parts of a JWS header used to verify an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwsHeader {
    /// The signature algorithm, known to be in the verifier's allow-list.
    pub(crate) alg: Algorithm,
    /// The key id, if the header names one.
    pub(crate) kid: Option<String>,
}

/// Decodes one base64url segment (no padding, as JWS requires) into a JSON object.
pub(crate) fn decode_json_segment(segment: &str) -> Option<serde_json::Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Reads the header segment of a compact JWS and checks its algorithm against `allowed`.
pub(crate) fn parse_header(segment: &str, allowed: &[Algorithm]) -> Result<JwsHeader, AssertionError> {
    let header = decode_json_segment(segment).ok_or(AssertionError::Malformed("the header is not base64url JSON"))?;
    if header.contains_key("enc") {
        return Err(AssertionError::Encrypted);
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        Some(_) => return Err(AssertionError::Malformed("the header alg is not a string")),
        None => return Err(AssertionError::Malformed("the header has no alg")),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(AssertionError::Unsigned);
    }
    let alg = Algorithm::from_str(alg).map_err(|_| AssertionError::UnsupportedAlgorithm)?;
    if !allowed.contains(&alg) {
        return Err(AssertionError::AlgorithmNotAllowed(algorithm_name(alg)));
    }
    // RFC 7515 §4.1.11: a recipient must refuse a JWS whose critical extensions it does not
    // understand; this server understands none.
    if header.contains_key("crit") {
        return Err(AssertionError::CriticalHeader);
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => Some(kid.clone()),
        None => None,
        Some(_) => return Err(AssertionError::Malformed("the header kid is not a string")),
    };
    Ok(JwsHeader { alg, kid })
}

/// The `alg` of a compact JWS's header, if it can be read: a cheap look, for choosing between
/// authentication methods before anything is verified.
pub(crate) fn peek_alg(token: &str) -> Option<String> {
    if token.len() > super::MAX_ASSERTION_LENGTH {
        return None;
    }
    let (segment, _) = token.split_once('.')?;
    match decode_json_segment(segment)?.remove("alg")? {
        Value::String(alg) => Some(alg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::HS256];

    #[test]
    fn reads_alg_and_kid() {
        let header = parse_header(&segment(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#), ALLOWED).unwrap();
        assert_eq!(header, JwsHeader { alg: Algorithm::RS256, kid: Some("k1".into()) });
    }

    #[test]
    fn refuses_none_and_unlisted_algorithms() {
        assert!(matches!(parse_header(&segment(r#"{"alg":"none"}"#), ALLOWED), Err(AssertionError::Unsigned)));
        assert!(matches!(parse_header(&segment(r#"{"alg":"NONE"}"#), ALLOWED), Err(AssertionError::Unsigned)));
        assert!(matches!(
            parse_header(&segment(r#"{"alg":"ES256"}"#), ALLOWED),
            Err(AssertionError::AlgorithmNotAllowed("ES256"))
        ));
        assert!(matches!(
            parse_header(&segment(r#"{"alg":"HS1"}"#), ALLOWED),
            Err(AssertionError::UnsupportedAlgorithm)
        ));
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in ["", "!!", &segment("[]"), &segment(r#"{"alg":1}"#), &segment(r#"{"kid":"x"}"#)] {
            assert!(matches!(parse_header(bad, ALLOWED), Err(AssertionError::Malformed(_))), "{bad}");
        }
        assert!(matches!(
            parse_header(&segment(r#"{"alg":"RS256","crit":["exp"]}"#), ALLOWED),
            Err(AssertionError::CriticalHeader)
        ));
        assert!(matches!(
            parse_header(&segment(r#"{"alg":"RS256","enc":"A128GCM"}"#), ALLOWED),
            Err(AssertionError::Encrypted)
        ));
    }

    #[test]
    fn peeks_at_alg() {
        let token = format!("{}.e30.sig", segment(r#"{"alg":"HS256"}"#));
        assert_eq!(peek_alg(&token).as_deref(), Some("HS256"));
        assert_eq!(peek_alg("garbage"), None);
    }
}
