//! `Authorization: Basic` decoding on arbitrary header values: never panics, and what it
//! decodes is encoded back to the same credentials.
#![no_main]

use base64::Engine as _;
use grantry_core::client_auth::decode_basic_authorization;
use grantry_core::encode_component;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Header values are text by the time they reach the engine; also try each input as the
    // base64 part, so the fuzzer needs not find the scheme first.
    let Ok(value) = std::str::from_utf8(data) else { return };
    for candidate in [value.to_owned(), format!("Basic {value}")] {
        if let Some((id, secret)) = decode_basic_authorization(&candidate) {
            assert!(!id.is_empty(), "an empty client id was accepted");
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode_component(&id),
                encode_component(&secret)
            ));
            let again = decode_basic_authorization(&format!("Basic {encoded}"));
            assert_eq!(again, Some((id, secret)), "the round trip changed the credentials");
        }
    }
});
