//! The form parser on arbitrary bytes: never panics, and what it accepts survives a round
//! trip through `encode_form`.
#![no_main]

use grantry_core::{Params, encode_form};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let strict = Params::parse(data);
    let lenient = Params::parse_keeping_duplicates(data);
    match (&strict, &lenient) {
        // Strict parsing accepts exactly what lenient parsing accepts without a duplicate.
        (Ok(strict), Ok((lenient, None))) => assert_eq!(strict, lenient),
        (Err(_), Ok((_, Some(_)))) | (Err(_), Err(_)) => {}
        (strict, lenient) => panic!("strict {strict:?} and lenient {lenient:?} disagree"),
    }
    if let Ok(params) = strict {
        let pairs: Vec<(&str, &str)> = params.iter().collect();
        let again = Params::parse(encode_form(&pairs).as_bytes()).expect("an encoded form parses");
        assert!(again.iter().eq(params.iter()), "the round trip changed the parameters");
    }
});
