//! The floor of the HTTP benchmark (`examples/benches/http.sh`): a bare axum server on the
//! same runtime settings as `grantry-server`, doing only what any token server's HTTP layer
//! cannot avoid for each endpoint: read the body, parse the same form with the same parser,
//! and write a JSON body of the same size. No client lookup, no token, no store.
//!
//! `cargo run --release -p grantry-examples --bin http_floor -- --listen 127.0.0.1:0`

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use grantry_core::Params;

/// A token response's size with a 43-character token, `Bearer`, `expires_in` and a scope.
const TOKEN_BODY: &str = r#"{"access_token":"0123456789012345678901234567890123456789012","token_type":"Bearer","expires_in":3600,"scope":"read write"}"#;
/// An active token's introspection response, as grantry-server writes one for `svc`.
const INTROSPECTION_BODY: &str = r#"{"active":true,"scope":"read write","client_id":"svc","sub":"svc","token_type":"Bearer","iat":1796360341,"exp":1796363941,"iss":"http://127.0.0.1:8080"}"#;
/// `/api/me`'s answer for `svc`.
const ME_BODY: &str = r#"{"client_id":"svc","scope":"read write","sub":"svc"}"#;

fn json(body: &'static str) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn form_endpoint(body: Bytes, answer: &'static str) -> axum::response::Response {
    match Params::parse(&body) {
        Ok(params) if params.contains("client_id") => json(answer),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn me(headers: HeaderMap) -> axum::response::Response {
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) if value.starts_with("Bearer ") => json(ME_BODY),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut listen = String::from("127.0.0.1:0");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs ADDR:PORT")?,
            _ => return Err("usage: http_floor [--listen ADDR:PORT]".into()),
        }
    }
    // The runtime grantry-server builds: tokio's multi-threaded default.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = Router::new()
            .route("/token", post(|body: Bytes| form_endpoint(body, TOKEN_BODY)))
            .route("/introspect", post(|body: Bytes| form_endpoint(body, INTROSPECTION_BODY)))
            .route("/api/me", get(me));
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
