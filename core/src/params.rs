//! `application/x-www-form-urlencoded` parameters, parsed once and strictly: a thin layer of
//! RFC rules over the `form_urlencoded` and `percent-encoding` crates.

use crate::error::OAuthError;
use std::borrow::Cow;

/// Request parameters from a query string or a form body.
///
/// Parsing enforces RFC 6749 §3.1: a parameter given more than once is `invalid_request`,
/// and a parameter sent without a value is treated as omitted. Invalid percent-encoding and
/// invalid UTF-8 are `invalid_request` too, never a panic or a silent replacement (which is
/// why this does not use `form_urlencoded::parse`, whose decoding is lossy).
///
/// ```
/// use grantry_core::Params;
/// let p = Params::parse(b"grant_type=password&scope=read+write&state=").unwrap();
/// assert_eq!(p.get("scope"), Some("read write"));
/// assert_eq!(p.get("state"), None); // empty means omitted
/// assert!(Params::parse(b"scope=a&scope=b").is_err());
/// ```
///
/// A parameter with nothing to decode borrows from the input; [`into_owned`](Self::into_owned)
/// makes parameters that outlive it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Values are not shown: parameters carry secrets (client secrets, passwords, codes).
impl std::fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Params").field("names", &self.pairs.iter().map(|(n, _)| n).collect::<Vec<_>>()).finish()
    }
}

/// Requests with more parameters than this are refused rather than parsed.
const MAX_PARAMS: usize = 256;

/// The parameters of an authorization request, for [`Params::into_owned`].
const AUTHORIZATION_NAMES: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
];

impl<'a> Params<'a> {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a form-encoded string, refusing repeated parameters.
    pub fn parse(input: &'a [u8]) -> Result<Self, OAuthError> {
        let (params, duplicate) = Self::parse_keeping_duplicates(input)?;
        match duplicate {
            Some(name) => Err(duplicate_error(&name)),
            None => Ok(params),
        }
    }

    /// Parses a form-encoded string, reporting the first repeated parameter instead of failing,
    /// for the authorization endpoint: there, a repeated parameter is redirected to the client
    /// once the client and redirect URI are known to be sound. Lookups of a repeated name see
    /// its first value, so the caller must act on the report before trusting the parameters.
    pub fn parse_keeping_duplicates(input: &'a [u8]) -> Result<(Self, Option<String>), OAuthError> {
        let mut pairs = Vec::new();
        for segment in input.split(|&b| b == b'&').filter(|segment| !segment.is_empty()) {
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &[][..]),
            };
            let name = decode_component(name)?;
            if name.is_empty() {
                continue;
            }
            if pairs.len() == MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            pairs.push((name, decode_component(value)?));
        }
        let params = Params { pairs };
        let duplicate = params.first_duplicate().map(str::to_owned);
        Ok((params, duplicate))
    }

    /// The value of `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_ref()).filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `invalid_request` naming the missing parameter.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("missing parameter: {name}")))
    }

    /// Whether `name` is present with a non-empty value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Iterates over the non-empty parameters.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).filter(|(_, v)| !v.is_empty())
    }

    /// Sets a parameter (for building requests in code; parsing never produces duplicates).
    pub fn insert(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        let (name, value) = (name.into(), value.into());
        match self.pairs.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.pairs.push((name, value)),
        }
    }

    /// The same parameters, owning their values. Names of an authorization request (RFC 6749
    /// §4.1.1, RFC 7636 §4.3) are kept as `'static` strings, not copied: an authorization
    /// request keeps its parameters, and copying seven names cost it a tenth of its time.
    pub fn into_owned(self) -> Params<'static> {
        let name = |name: Cow<'_, str>| match AUTHORIZATION_NAMES.iter().find(|known| **known == name) {
            Some(known) => Cow::Borrowed(*known),
            None => Cow::Owned(name.into_owned()),
        };
        Params { pairs: self.pairs.into_iter().map(|(n, v)| (name(n), Cow::Owned(v.into_owned()))).collect() }
    }

    /// The repeated name that sorts first, if any: the authorization endpoint must see a
    /// repeated `client_id` or `redirect_uri` whatever else is repeated. A request of a few
    /// parameters, as OAuth requests are, is checked pair by pair without allocating.
    fn first_duplicate(&self) -> Option<&str> {
        let names = self.pairs.iter().map(|(n, _)| n.as_ref());
        if self.pairs.len() <= 16 {
            let repeated = |(i, name): &(usize, &str)| names.clone().take(*i).any(|earlier| earlier == *name);
            return names.clone().enumerate().filter(repeated).map(|(_, name)| name).min();
        }
        let mut sorted: Vec<&str> = names.collect();
        sorted.sort_unstable();
        sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }
}

/// The `invalid_request` for a parameter given more than once (RFC 6749 §3.1).
pub(crate) fn duplicate_error(name: &str) -> OAuthError {
    OAuthError::invalid_request(format!("parameter {name} given more than once"))
}

fn not_utf8() -> OAuthError {
    OAuthError::invalid_request("request parameters are not valid UTF-8")
}

/// Whether form decoding would change `raw`.
pub(crate) fn has_escape(raw: &[u8]) -> bool {
    raw.iter().any(|&b| b == b'%' || b == b'+')
}

/// Decodes one form component: `+` is a space, `%XX` a byte, and the result must be UTF-8.
/// Unlike `percent_encoding`'s lenient decoding, a `%` not followed by two hex digits is
/// refused. A component with nothing to decode is borrowed, not copied.
pub(crate) fn decode_component(raw: &[u8]) -> Result<Cow<'_, str>, OAuthError> {
    if !has_escape(raw) {
        return std::str::from_utf8(raw).map(Cow::Borrowed).map_err(|_| not_utf8());
    }
    let malformed = |i: usize| {
        !(raw.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && raw.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    };
    if raw.iter().enumerate().any(|(i, &b)| b == b'%' && malformed(i)) {
        return Err(OAuthError::invalid_request("malformed percent-encoding in request parameters"));
    }
    // Every escape is whole (checked above), so none spans a `+`: decode the runs between them.
    let mut decoded = Vec::with_capacity(raw.len());
    for (i, run) in raw.split(|&b| b == b'+').enumerate() {
        if i > 0 {
            decoded.push(b' ');
        }
        decoded.extend(percent_encoding::percent_decode(run));
    }
    String::from_utf8(decoded).map(Cow::Owned).map_err(|_| not_utf8())
}

/// Encodes one form component (`application/x-www-form-urlencoded`, space as `+`).
pub fn encode_component(raw: &str) -> Cow<'_, str> {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>().into()
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn encode_form<'a>(pairs: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.into_iter().map(|(n, v)| (n, v))).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse(b"a=x%20y+z&b=%E2%9C%93").unwrap();
        assert_eq!(p.get("a"), Some("x y z"));
        assert_eq!(p.get("b"), Some("\u{2713}"));
        // Plain runs, escapes and plus signs mixed, and an escape cut short at the very end.
        let p = Params::parse(b"u=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1+2&t=plain+%41%42c+").unwrap();
        assert_eq!((p.get("u"), p.get("t")), (Some("https://a.example/cb?x=1 2"), Some("plain ABc ")));
        assert!(Params::parse(b"a=abc%2").is_err());
        assert!(Params::parse(b"a=x+%").is_err());
    }

    #[test]
    fn rejects_malformed_input() {
        assert!(Params::parse(b"a=%zz").is_err());
        assert!(Params::parse(b"a=%4").is_err());
        assert!(Params::parse(b"a=%FF").is_err(), "invalid UTF-8");
        assert!(Params::parse(b"a=1&b=2&a=3").is_err());
    }

    #[test]
    fn detects_duplicates_among_many_params() {
        let mut body = (0..40).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join("&");
        assert!(Params::parse(body.as_bytes()).is_ok());
        body.push_str("&p7=again");
        let err = Params::parse(body.as_bytes()).unwrap_err();
        assert_eq!(err.description(), Some("parameter p7 given more than once"));
        // Few or many, the repeated name reported is the one that sorts first.
        let few = b"state=1&redirect_uri=x&state=2&client_id=a&redirect_uri=y";
        assert_eq!(Params::parse_keeping_duplicates(few).unwrap().1.as_deref(), Some("redirect_uri"));
        body.push_str("&p30=again&p12=again");
        assert_eq!(Params::parse_keeping_duplicates(body.as_bytes()).unwrap().1.as_deref(), Some("p12"));
    }

    #[test]
    fn caps_parameter_count() {
        let body = (0..300).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join("&");
        assert!(Params::parse(body.as_bytes()).is_err());
    }

    #[test]
    fn empty_values_and_segments_are_omitted() {
        let p = Params::parse(b"&&a=&b&c=1").unwrap();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("1"));
        assert_eq!(p.require("a").unwrap_err().description(), Some("missing parameter: a"));
    }

    #[test]
    fn inputs_with_and_without_escapes_parse_alike() {
        // Without '%' or '+' the input is taken verbatim; with one, every component is decoded.
        for (input, extra) in [(&b"a=b=c&&d&=e&f=&"[..], None), (b"a=b=c&&d&=e&f=&g=x+y", Some("x y"))] {
            let p = Params::parse(input).unwrap();
            assert_eq!(p.get("a"), Some("b=c"));
            assert_eq!((p.get("d"), p.get("f"), p.get("")), (None, None, None));
            assert_eq!(p.get("g"), extra);
            assert_eq!(p.iter().count(), 1 + usize::from(extra.is_some()));
        }
        assert!(Params::parse(b"a=1&a=2").is_err(), "a repeat is found on the verbatim path too");
        assert!(Params::parse(b"a=\xff").is_err(), "and so is invalid UTF-8");
        assert_eq!(Params::parse(b"").unwrap().iter().count(), 0);
    }

    /// The parser's contract spelled out as plainly as possible, to check the fast paths against.
    fn reference_parse(input: &[u8]) -> Option<Vec<(String, String)>> {
        let decode = |raw: &[u8]| -> Option<String> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < raw.len() {
                match raw[i] {
                    b'+' => out.push(b' '),
                    b'%' => {
                        let hex = raw.get(i + 1..i + 3)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                        i += 2;
                    }
                    b => out.push(b),
                }
                i += 1;
            }
            String::from_utf8(out).ok()
        };
        let segments = input.iter().filter(|&&b| b == b'&').count() + 1;
        let mut pairs = Vec::with_capacity(segments.min(MAX_PARAMS));
        for segment in input.split(|&b| b == b'&').filter(|s| !s.is_empty()) {
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &[][..]),
            };
            let name = decode(name)?;
            if !name.is_empty() {
                pairs.push((name, decode(value)?));
            }
        }
        Some(pairs)
    }

    #[test]
    fn agrees_with_a_plain_reading_on_random_input() {
        const ALPHABET: &[u8] = b"ab=&%+2E9C3f\xc3\xa9";
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let len = (seed >> 59) as usize;
            let input: Vec<u8> =
                (0..len).map(|i| ALPHABET[((seed >> (i * 3 % 48)) as usize + i) % ALPHABET.len()]).collect();
            let expected = reference_parse(&input);
            let parsed = Params::parse_keeping_duplicates(&input).ok().map(|(p, _)| p);
            // Empty values are kept by the parser but hidden by `iter`, so compare non-empty ones.
            let got = parsed.map(|p| p.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect::<Vec<_>>());
            let expected = expected.map(|pairs| pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>());
            assert_eq!(got, expected, "input {:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn insert_sets_and_debug_hides_values() {
        let mut p = Params::parse(b"a=1&b=2").unwrap();
        p.insert("a", "one");
        p.insert("c", "three");
        assert_eq!(p.iter().collect::<Vec<_>>(), [("a", "one"), ("b", "2"), ("c", "three")]);
        let secret = Params::parse(b"client_secret=hunter2").unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn into_owned_keeps_every_name_and_value() {
        let body = b"client_id=a&state=x+y&custom=%41&scope=read".to_vec();
        let owned = Params::parse(&body).unwrap().into_owned();
        drop(body);
        let pairs = [("client_id", "a"), ("state", "x y"), ("custom", "A"), ("scope", "read")];
        assert_eq!(owned.iter().collect::<Vec<_>>(), pairs);
    }

    #[test]
    fn utf8_is_checked_per_component() {
        // A multi-byte character split across name and value is not valid in either.
        assert!(Params::parse(b"a%E2=%9C%93").is_err());
        // Nor across a value and the next name.
        assert!(Params::parse(b"a=%E2&%9C%93=b").is_err());
        assert_eq!(Params::parse(b"%E2%9C%93=%E2%9C%93").unwrap().get("\u{2713}"), Some("\u{2713}"));
    }

    #[test]
    fn encode_round_trips() {
        let encoded = encode_form(&[("redirect_uri", "https://a.example/cb?x=1&y=2"), ("s", "a b")]);
        let p = Params::parse(encoded.as_bytes()).unwrap();
        assert_eq!(p.get("redirect_uri"), Some("https://a.example/cb?x=1&y=2"));
        assert_eq!(p.get("s"), Some("a b"));
    }
    /// Properties over generated inputs (proptest: structured generation and shrinking, on
    /// stable, in the normal test run).
    mod properties {
        use super::*;
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        /// Bytes that make the parser work: separators, escapes (good and bad), multi-byte
        /// UTF-8 and invalid UTF-8.
        fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
            let byte = prop_oneof![
                4 => prop::sample::select(&b"ab=&%+2E9C3f"[..]),
                1 => prop::sample::select(&[0xc3u8, 0xa9, 0xe2, 0x9c, 0x93, 0xff, 0x00][..]),
                1 => any::<u8>(),
            ];
            vec(byte, 0..300)
        }

        proptest! {
            #[test]
            fn encode_form_then_parse_round_trips(pairs in btree_map(".+", ".*", 0..24)) {
                let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let body = encode_form(&borrowed);
                let parsed = Params::parse(body.as_bytes()).unwrap();
                // Empty values count as omitted.
                let expected: Vec<(&str, &str)> = borrowed.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
                prop_assert_eq!(parsed.iter().collect::<Vec<_>>(), expected);
                for (name, value) in &pairs {
                    prop_assert_eq!(parsed.get(name), Some(value.as_str()).filter(|v| !v.is_empty()));
                }
            }

            #[test]
            fn a_repeated_parameter_is_refused(
                pairs in btree_map("[a-z_]{1,12}", ".*", 1..16),
                pick in any::<prop::sample::Index>(),
                again in ".*",
            ) {
                let mut borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let name = borrowed[pick.index(borrowed.len())].0;
                borrowed.push((name, &again));
                let body = encode_form(&borrowed);
                let err = Params::parse(body.as_bytes()).unwrap_err();
                let expected = format!("parameter {name} given more than once");
                prop_assert_eq!(err.description(), Some(expected.as_str()));
                let (_, duplicate) = Params::parse_keeping_duplicates(body.as_bytes()).unwrap();
                prop_assert_eq!(duplicate.as_deref(), Some(name));
            }

            #[test]
            fn arbitrary_bytes_never_panic_and_agree_with_the_plain_reading(input in form_bytes()) {
                let strict = Params::parse(&input);
                let lenient = Params::parse_keeping_duplicates(&input);
                let got = lenient.as_ref().ok().map(|(p, _)| p.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect::<Vec<_>>());
                let expected = reference_parse(&input)
                    .map(|pairs| pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>());
                prop_assert_eq!(got, expected);
                match (&strict, &lenient) {
                    (Ok(strict), Ok((lenient, None))) => prop_assert_eq!(strict, lenient),
                    (Err(_), Ok((_, Some(_))) | Err(_)) => {}
                    _ => prop_assert!(false, "strict and lenient parsing disagree"),
                }
            }

            #[test]
            fn any_bytes_never_panic(input in vec(any::<u8>(), 0..600)) {
                let _ = Params::parse(&input);
                let _ = Params::parse_keeping_duplicates(&input);
            }
        }
    }
}
