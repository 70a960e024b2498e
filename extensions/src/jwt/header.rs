//! The JWS header of an assertion: its `alg` and `kid`, read before any key is chosen.
//!
//! Only what selecting a key needs is read. Keys offered by the token itself (`jwk`, `jku`,
//! `x5u`, `x5c`) are ignored: an assertion is verified only with keys the server holds for its
//! issuer.

use super::assertion::AssertionError;
use super::json::{Member, decode_segment, parse_object};
use super::keys::algorithm_name;
use jsonwebtoken::Algorithm;
use std::str::FromStr as _;

/// The parts of a JWS header used to verify an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwsHeader {
    /// The signature algorithm, known to be in the verifier's allow-list.
    pub(crate) alg: Algorithm,
    /// The key id, if the header names one.
    pub(crate) kid: Option<String>,
}

/// The header members that matter, as read; the others are skipped.
#[derive(serde::Deserialize)]
struct HeaderMembers<'a> {
    #[serde(borrow, default)]
    alg: Member<'a>,
    #[serde(borrow, default)]
    kid: Member<'a>,
    #[serde(borrow, default)]
    enc: Member<'a>,
    #[serde(borrow, default)]
    crit: Member<'a>,
}

/// Reads the header segment of a compact JWS and checks its algorithm against `allowed`.
pub(crate) fn parse_header(segment: &str, allowed: &[Algorithm]) -> Result<JwsHeader, AssertionError> {
    let malformed = || AssertionError::Malformed("the header is not base64url JSON");
    let json = decode_segment(segment).ok_or_else(malformed)?;
    let header: HeaderMembers<'_> = parse_object(&json).ok_or_else(malformed)?;
    if header.enc.is_present() {
        return Err(AssertionError::Encrypted);
    }
    let alg = match &header.alg {
        Member::Str(alg) => alg,
        Member::Absent => return Err(AssertionError::Malformed("the header has no alg")),
        _ => return Err(AssertionError::Malformed("the header alg is not a string")),
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
    if header.crit.is_present() {
        return Err(AssertionError::CriticalHeader);
    }
    let kid = match header.kid {
        Member::Str(kid) => Some(kid.into_owned()),
        Member::Absent => None,
        _ => return Err(AssertionError::Malformed("the header kid is not a string")),
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
    let json = decode_segment(segment)?;
    match parse_object::<HeaderMembers<'_>>(&json)?.alg {
        Member::Str(alg) => Some(alg.into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
        let repeated = segment(r#"{"alg":"HS256","alg":"RS256"}"#);
        let array = segment(r#"["RS256"]"#);
        for bad in ["", "!!", &segment("[]"), &array, &segment(r#"{"alg":1}"#), &segment(r#"{"kid":"x"}"#), &repeated] {
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
