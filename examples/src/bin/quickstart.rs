//! Quickstart: register the RFC 6749 grants on an in-memory store and walk a full
//! authorization-code flow (with a refresh at the end), printing each step.
//!
//! Run it with `cargo run -p grantry-examples --bin quickstart`.

use grantry_core::http::{HeaderValue, header};
use grantry_core::request::FormBody;
use grantry_core::{AuthorizationServer, ClientRecord, Consent, GrantType, MemoryStore, Response, ServerConfig, http};
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant, PasswordGrant, RefreshTokenGrant};

const REDIRECT_URI: &str = "https://app.example/callback";

fn print_response(label: &str, response: &Response) {
    println!("<- {label}: HTTP {}", response.status().as_u16());
    if let Some(location) = location(response) {
        println!("   Location: {location}");
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(response.body()) {
        println!("   {json}");
    }
}

/// A redirect's `Location`, as text.
fn location(response: &Response) -> Option<&str> {
    response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok())
}

/// Pulls one query parameter out of a redirect's `Location`.
fn query_param(location: &str, name: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    let params = grantry_core::Params::parse(query.as_bytes()).ok()?;
    params.get(name).map(str::to_owned)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("1. An in-memory store with one confidential client and one user.");
    let store = MemoryStore::new();
    store.add_client(
        ClientRecord::confidential("web", "web-secret")
            .with_redirect_uri(REDIRECT_URI)
            .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
            .with_scope("read write"),
    )?;
    store.add_user("alice", "wonderland");

    println!("2. A server with grants registered at runtime.");
    let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);
    server.register_grant(AuthorizationCodeGrant::new(), ())?;
    server.register_grant(RefreshTokenGrant::new().rotate(true), ())?;
    server.register_grant(PasswordGrant::new(), ())?;
    server.register_grant(ClientCredentialsGrant::new(), ())?;
    let grant_types: Vec<String> = server.registry().grant_types().iter().map(ToString::to_string).collect();
    println!("   grant types: {}", grant_types.join(", "));

    println!("3. The browser arrives at the authorization endpoint.");
    let authorize = http::Request::get(format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope=read&state=xyz",
        grantry_core::encode_component(REDIRECT_URI)
    ))
    .body(Vec::new())?;
    println!("-> GET {}", authorize.uri());
    let validated = match server.validate_authorization_request(&authorize).await {
        Ok(validated) => validated,
        Err(err) => {
            print_response("authorization error", &err.to_response());
            return Err(err.error().clone().into());
        }
    };
    println!("   valid: client {} asks for scope '{}'", validated.client().client_id(), validated.scope());

    println!("4. Alice logs in and allows it; the server redirects back with a code.");
    let redirect = server.create_authorization_response(&validated, Consent::allow("alice")).await;
    print_response("authorization response", &redirect);
    let location = location(&redirect).unwrap_or_default();
    let code = query_param(location, "code").ok_or("no code in the redirect")?;
    println!("   state returned: {:?}", query_param(location, "state"));

    println!("5. The client exchanges the code at the token endpoint.");
    // web:web-secret, marked sensitive: a credential never shows in Debug output.
    let mut credentials = HeaderValue::from_static("Basic d2ViOndlYi1zZWNyZXQ=");
    credentials.set_sensitive(true);
    let exchange = http::Request::post("/token").header(header::AUTHORIZATION, credentials.clone()).form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT_URI),
    ])?;
    let tokens = server.token_endpoint(&exchange).await;
    print_response("token response", &tokens);
    let refresh_token = serde_json::from_slice::<serde_json::Value>(tokens.body())?["refresh_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or("no refresh token")?;

    println!("6. Replaying the code fails, and revokes what it produced.");
    print_response("replayed code", &server.token_endpoint(&exchange).await);

    println!("7. The refresh token issued before the replay is dead too.");
    let refresh = http::Request::post("/token")
        .header(header::AUTHORIZATION, credentials)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)])?;
    print_response("refresh", &server.token_endpoint(&refresh).await);
    Ok(())
}
