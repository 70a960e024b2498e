//! The engine's requests and responses (`http::Request<Vec<u8>>`, `http::Response<Vec<u8>>`)
//! as the tests build and read them.
#![allow(dead_code)]

use grantry_core::http::HeaderValue;
use grantry_core::{Request, Response};
use serde_json::Value;

/// Adding a header to a request already built.
pub trait RequestExt {
    /// The request with `value` appended under `name` (a repeated name is kept, so that
    /// repetition can be tested). An `Authorization` value is marked sensitive, kept out of
    /// `Debug` output.
    fn with_header(self, name: &'static str, value: impl AsRef<str>) -> Self;
}

impl RequestExt for Request {
    fn with_header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        let mut value = HeaderValue::from_str(value.as_ref()).expect("a test header value is valid");
        value.set_sensitive(name.eq_ignore_ascii_case("authorization"));
        self.headers_mut().append(name, value);
        self
    }
}

/// What the assertions read of a response.
pub trait ResponseExt {
    /// The body parsed as JSON.
    fn json(&self) -> Option<Value>;
    /// The first value of header `name`, as text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl ResponseExt for Response {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(self.body()).ok()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|value| value.to_str().ok())
    }
}
