//! The JSON of a JWS segment, read straight into the members the verifier needs.
//!
//! Building a `serde_json::Value` for the header and the payload cost more than verifying an
//! HMAC: a map and a string for every member. Here each segment is read once into a struct of
//! [`Member`]s that borrow from the decoded bytes, and other members are skipped unread. A
//! member of the wrong type does not fail the parse; the caller names it in its own error.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// One JSON member, as far as a JWS header or claim set needs to tell its type.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Member<'a> {
    /// Not in the object.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A string.
    Str(Cow<'a, str>),
    /// A non-negative integer.
    Unsigned(u64),
    /// Any other number (negative or fractional).
    Float(f64),
    /// An array whose elements are all strings.
    Strings(Vec<Cow<'a, str>>),
    /// A boolean, an object, or an array holding anything but strings.
    Other,
}

impl Member<'_> {
    /// Whether the object has this member at all (`null` included).
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Member::Absent)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor(PhantomData))
    }
}

struct MemberVisitor<'a>(PhantomData<Member<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for MemberVisitor<'a> {
    type Value = Member<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Member::Other)
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Member::Unsigned(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(value).map_or(Member::Float(value as f64), Member::Unsigned))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Member::Float(value))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Member::Str(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element::<Member<'a>>()? {
            match item {
                Member::Str(s) if all_strings => strings.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings { Member::Strings(strings) } else { Member::Other })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Member::Other)
    }
}

/// Decodes one base64url segment (no padding, as JWS requires).
pub(crate) fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

/// Reads `json` as a JSON object into `T`. `None` when it is not an object (serde would take
/// an array for a struct, field by field), is not JSON, or repeats a member `T` reads: a
/// repeated header parameter or claim is ambiguous, and RFC 7515 §4 lets a parser refuse it.
pub(crate) fn parse_object<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Option<T> {
    let first = json.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' || !nesting_within(json, MAX_NESTING) {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// How deep arrays and objects may nest in a header or payload. The members `T` skips are not
/// followed by serde, so the limit is checked here: below serde_json's own (128), so that the
/// whole payload can always be read as a map later (for `AssertionClaims::claim`).
const MAX_NESTING: usize = 100;

/// Whether arrays and objects in `json` nest at most `limit` deep, brackets inside strings
/// aside.
fn nesting_within(json: &[u8], limit: usize) -> bool {
    // Fewer brackets than the limit cannot nest deeper: a count the compiler vectorises
    // settles nearly every payload without the exact walk below.
    let brackets = json.iter().fold(0usize, |n, &b| n + usize::from((b == b'[') | (b == b'{')));
    if brackets <= limit {
        return true;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        a: Member<'a>,
        #[serde(borrow, default)]
        b: Member<'a>,
    }

    fn probe(json: &str) -> Option<(Member<'_>, Member<'_>)> {
        parse_object::<Probe<'_>>(json.as_bytes()).map(|p| (p.a, p.b))
    }

    #[test]
    fn tells_member_types_apart() {
        let cases: &[(&str, Member<'_>)] = &[
            (r#"{"a":"x"}"#, Member::Str("x".into())),
            (r#"{"a":"\u0078"}"#, Member::Str("x".into())),
            (r#"{"a":7}"#, Member::Unsigned(7)),
            (r#"{"a":-7}"#, Member::Float(-7.0)),
            (r#"{"a":1.5}"#, Member::Float(1.5)),
            (r#"{"a":null}"#, Member::Null),
            (r#"{"a":true}"#, Member::Other),
            (r#"{"a":{"x":[1]}}"#, Member::Other),
            (r#"{"a":["x","y"]}"#, Member::Strings(vec!["x".into(), "y".into()])),
            (r#"{"a":[]}"#, Member::Strings(vec![])),
            (r#"{"a":["x",1]}"#, Member::Other),
            (r#"{"c":"ignored"}"#, Member::Absent),
        ];
        for (json, expected) in cases {
            assert_eq!(probe(json).map(|(a, _)| a).as_ref(), Some(expected), "{json}");
        }
    }

    #[test]
    fn nesting_is_measured_outside_strings() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(nesting_within(nested(100).as_bytes(), 100));
        assert!(!nesting_within(nested(101).as_bytes(), 100));
        // Many brackets side by side, or inside strings (escaped quotes included), are shallow.
        assert!(nesting_within(format!("[{}]", "[],".repeat(300)).as_bytes(), 100));
        assert!(nesting_within(format!(r#"["\"{}"]"#, "[".repeat(300)).as_bytes(), 100));
        let deep = format!(r#"{{"a":"x","b":{}}}"#, nested(200));
        assert!(probe(&deep).is_none(), "a deep member is refused even when it is skipped");
    }

    #[test]
    fn refuses_what_is_not_one_json_object() {
        for bad in [r#"["x","y"]"#, "", "7", r#"{"a":"x""#, r#"{"a":"x","a":"y"}"#, r#"{"a":"x"} {}"#] {
            assert!(probe(bad).is_none(), "{bad}");
        }
        assert_eq!(probe(r#" {"b":"y"}"#), Some((Member::Absent, Member::Str("y".into()))));
    }
}
