//! Token endpoint request rules (RFC 6749 §3.1, §3.2) and the grant registry.

mod common;

use common::*;
use grantry_core::{
    Approval, AuthorizationDecision, AuthorizationGrant, AuthorizationRequest, AuthorizationServer, ClientAuthMethod,
    ClientAuthMethods, Grant, GrantType, OAuthError, Request, Response, ResponseType, ServerConfig, Serves,
    TokenDecision, TokenGrant, TokenRequest,
};
use grantry_core::{MemoryStore, RegistryError};
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant, ImplicitGrant, PasswordGrant, RefreshTokenGrant};

const FORM: &str = "application/x-www-form-urlencoded";

/// A client credentials request for svc with a raw body.
fn raw_request(body: impl Into<Vec<u8>>) -> Request {
    http::Request::post("/token")
        .header("Content-Type", FORM)
        .header("Authorization", basic(SVC.0, SVC.1))
        .body(body.into())
        .unwrap()
}

/// Asserts an `invalid_request` that is not a server error, and returns its description.
fn assert_invalid_request(response: &Response) -> String {
    assert!(response.status().as_u16() < 500, "a malformed request is never a server error: {}", body_text(response));
    let json = assert_error(response, 400, "invalid_request");
    field(&json, "error_description")
}

#[tokio::test]
async fn well_formed_request_succeeds() {
    // The control for every malformed variant below.
    let h = Harness::new();
    token_json(&h.token(&raw_request("grant_type=client_credentials&scope=read")).await);
}

#[tokio::test]
async fn token_request_with_get_is_invalid_request() {
    let h = Harness::new();
    let request = http::Request::get("/token")
        .header("Authorization", basic(SVC.0, SVC.1))
        .header("Content-Type", FORM)
        .body(Vec::from("grant_type=client_credentials"))
        .unwrap();

    let description = assert_invalid_request(&h.token(&request).await);
    assert!(description.contains("POST"), "{description}");

    for method in ["PUT", "post", "DELETE"] {
        let request = http::Request::builder()
            .method(method)
            .uri("/token")
            .header("Authorization", basic(SVC.0, SVC.1))
            .form(&[("grant_type", "client_credentials")])
            .unwrap();
        assert_invalid_request(&h.token(&request).await);
    }
}

#[tokio::test]
async fn parameters_in_url_query_are_invalid_request() {
    let h = Harness::new();
    let cases = [
        // Everything in the query.
        http::Request::post("/token?grant_type=client_credentials")
            .header("Authorization", basic(SVC.0, SVC.1))
            .header("Content-Type", FORM)
            .body(Vec::new())
            .unwrap(),
        // A valid body, plus a parameter in the query.
        http::Request::post("/token?scope=read")
            .header("Authorization", basic(SVC.0, SVC.1))
            .form(&[("grant_type", "client_credentials")])
            .unwrap(),
    ];
    for request in cases {
        let description = assert_invalid_request(&h.token(&request).await);
        assert!(description.contains("query"), "{description}");
    }
}

#[tokio::test]
async fn duplicate_parameter_is_invalid_request_naming_it() {
    let h = Harness::new();
    let cases = [
        ("grant_type=client_credentials&scope=read&scope=write", "scope"),
        ("grant_type=client_credentials&grant_type=client_credentials", "grant_type"),
        // Repeated even with an empty value, and written with percent-encoding.
        ("grant_type=client_credentials&sc%6Fpe=read&scope=", "scope"),
    ];
    for (body, name) in cases {
        let description = assert_invalid_request(&h.token(&raw_request(body)).await);
        assert_eq!(description, format!("parameter {name} given more than once"), "{body}");
    }
}

#[tokio::test]
async fn duplicate_parameter_among_many_is_invalid_request() {
    let h = Harness::new();
    let mut body = String::from("grant_type=client_credentials");
    for i in 0..40 {
        body.push_str(&format!("&extra{i}=x"));
    }
    token_json(&h.token(&raw_request(body.clone())).await);

    body.push_str("&extra17=again");
    let description = assert_invalid_request(&h.token(&raw_request(body)).await);
    assert_eq!(description, "parameter extra17 given more than once");
}

#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let h = Harness::new();
    let body = "grant_type=client_credentials";
    let with_type = |content_type: Option<&str>| {
        let request =
            http::Request::post("/token").header("Authorization", basic(SVC.0, SVC.1)).body(Vec::from(body)).unwrap();
        match content_type {
            Some(ct) => request.with_header("Content-Type", ct),
            None => request,
        }
    };
    for content_type in [Some("application/json"), Some("text/plain"), Some("multipart/form-data"), None] {
        assert_invalid_request(&h.token(&with_type(content_type)).await);
    }
    // Two Content-Type headers are refused too, even if both are right.
    let twice = with_type(Some(FORM)).with_header("Content-Type", FORM);
    assert_invalid_request(&h.token(&twice).await);

    // Parameters of the media type and letter case do not matter.
    for content_type in ["application/x-www-form-urlencoded; charset=UTF-8", "Application/X-WWW-Form-URLEncoded"] {
        token_json(&h.token(&with_type(Some(content_type))).await);
    }
}

#[tokio::test]
async fn malformed_percent_encoding_is_invalid_request() {
    let h = Harness::new();
    for body in [
        "grant_type=client_credentials&scope=%zz",
        "grant_type=client_credentials&scope=%4",
        "grant_type=client_credentials&scope=%",
        "grant_type=client_credentials&sc%Gpe=read",
        "grant_type=client_credentials%",
    ] {
        let description = assert_invalid_request(&h.token(&raw_request(body)).await);
        assert!(description.contains("percent-encoding"), "{body}: {description}");
    }
}

#[tokio::test]
async fn non_utf8_body_is_invalid_request() {
    let h = Harness::new();
    let bodies: [&[u8]; 4] = [
        b"grant_type=client_credentials&scope=%FF",
        b"grant_type=client_credentials&scope=\xff\xfe",
        b"grant_type=client_credentials&\xc3=read",
        // An overlong encoding of '/'.
        b"grant_type=client_credentials&scope=%C0%AF",
    ];
    for body in bodies {
        let description = assert_invalid_request(&h.token(&raw_request(body)).await);
        assert!(description.contains("UTF-8"), "{description}");
    }
}

#[tokio::test]
async fn too_many_parameters_are_invalid_request() {
    let h = Harness::new();
    let mut body = String::from("grant_type=client_credentials");
    for i in 0..1000 {
        body.push_str(&format!("&p{i}=v"));
    }
    assert_invalid_request(&h.token(&raw_request(body)).await);
}

#[tokio::test]
async fn hostile_parameter_names_do_not_break_the_error_description() {
    let h = Harness::new();
    // A repeated parameter whose name holds characters error_description may not contain.
    let body = "grant_type=client_credentials&a%22%5C%0A%C3%A9=1&a%22%5C%0A%C3%A9=2";
    let description = assert_invalid_request(&h.token(&raw_request(body)).await);
    assert!(
        description.chars().all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')),
        "{description:?}"
    );
}

#[tokio::test]
async fn malformed_requests_never_give_a_server_error() {
    let h = Harness::new();
    let mut requests = vec![
        http::Request::get("/token").body(Vec::new()).unwrap(),
        http::Request::post("/token").body(Vec::new()).unwrap(),
        http::Request::post("/token?").header("Content-Type", FORM).body(Vec::new()).unwrap(),
        http::Request::post("/token").header("Content-Type", FORM).body(Vec::from(&b"\x00\x01\x02"[..])).unwrap(),
        http::Request::post("/token").header("Content-Type", FORM).body(Vec::from("=&=&&=x&%00=%00")).unwrap(),
        http::Request::post("/token")
            .header("Content-Type", FORM)
            .header("Authorization", "Basic")
            .body(Vec::new())
            .unwrap(),
        http::Request::post("/token")
            .header("Content-Type", FORM)
            .header("Authorization", "Basic ====")
            .body(Vec::new())
            .unwrap(),
        http::Request::post("/token")
            .header("Content-Type", FORM)
            .header("Authorization", basic(SVC.0, SVC.1))
            .header("Authorization", basic(SVC.0, SVC.1))
            .body(Vec::from("grant_type=client_credentials"))
            .unwrap(),
    ];
    for grant_type in ["authorization_code", "password", "refresh_token", "x"] {
        requests.push(raw_request(format!("grant_type={grant_type}")));
    }
    for grant_type in ["authorization_code", "password", "client_credentials", "refresh_token", "x"] {
        requests.push(raw_request(format!("grant_type={grant_type}&code=%FF&refresh_token=%zz")));
    }
    for request in &requests {
        let response = h.token(request).await;
        assert!(
            (400..500).contains(&response.status().as_u16()),
            "{:?} gave {} {}",
            request,
            response.status().as_u16(),
            body_text(&response)
        );
        assert_json_no_store(&response);
        let json = response.json().expect("JSON error");
        assert!(json["error"].is_string(), "{json}");
        assert!(json.get("access_token").is_none());
    }
}

/// A header the engine reads whose value is not text (bytes an HTTP server passes on) is an
/// `invalid_request`, never a panic and never a credential; other headers are not read.
#[tokio::test]
async fn header_values_that_are_not_text_are_invalid_requests() {
    let h = Harness::new();
    let latin1 = |text: &[u8]| http::HeaderValue::from_bytes(text).unwrap();

    let mut request = token_request(&[("grant_type", "client_credentials")]);
    request.headers_mut().insert("authorization", latin1(b"Basic caf\xe9"));
    let description = assert_invalid_request(&h.token(&request).await);
    assert!(description.contains("authorization"), "{description}");
    let mut with_other = basic_token_request(SVC, &[("grant_type", "client_credentials")]);
    with_other.headers_mut().insert("x-other", latin1(b"caf\xe9"));
    token_json(&h.token(&with_other).await);

    let mut request = basic_token_request(SVC, &[("grant_type", "client_credentials")]);
    request.headers_mut().insert("content-type", latin1(b"application/x-www-form-urlencoded; x=caf\xe9"));
    let description = assert_invalid_request(&h.token(&request).await);
    assert!(description.contains("content-type"), "{description}");

    let mut api = http::Request::get("/api").body(Vec::new()).unwrap();
    api.headers_mut().insert("authorization", latin1(b"Bearer caf\xe9"));
    let err = h.server.resource_guard().authorize(&api, &grantry_core::Scope::empty()).await.unwrap_err();
    assert_eq!(err, grantry_core::BearerError::InvalidRequest("the Authorization header is not valid text"));
    assert_eq!(err.to_response("api").status(), 400);
}

// ---------------------------------------------------------------------------------------------
// The grant registry
// ---------------------------------------------------------------------------------------------

fn bare_server() -> AuthorizationServer {
    AuthorizationServer::new(MemoryStore::new(), ServerConfig::new(ISSUER).unwrap())
}

#[tokio::test]
async fn registering_a_grant_type_twice_is_refused_and_the_first_still_serves() {
    let mut h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(ClientCredentialsGrant::new(), ()).expect("register");
        },
    );

    let err = h
        .server
        .register_grant(ClientCredentialsGrant::new(), ())
        .map(|_| ())
        .expect_err("a second client_credentials grant");
    assert_eq!(err, RegistryError::DuplicateGrantType(GrantType::CLIENT_CREDENTIALS));
    assert_eq!(h.server.registry().registrations().count(), 1);

    // The refused registration left the first one in place, with its settings.
    let response = h.token(&basic_token_request(SVC, &[("grant_type", "client_credentials")])).await;
    token_json(&response);
}

#[tokio::test]
async fn registering_a_response_type_twice_is_refused_and_the_first_still_serves() {
    let mut h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(ImplicitGrant::new(), ()).expect("register");
        },
    );

    let err = h.server.register_grant(ImplicitGrant::new(), ()).map(|_| ()).expect_err("a second implicit grant");
    assert_eq!(err, RegistryError::DuplicateResponseType(ResponseType::TOKEN));
    assert_eq!(h.server.registry().registrations().count(), 1);

    let response =
        h.authorize(&[("response_type", "token"), ("client_id", SPA)], grantry_core::Consent::allow(USERNAME)).await;
    let redirect = Redirect::of(&response);
    assert!(redirect.fragment_param("access_token").is_some(), "{}", redirect.location);
}

/// A toy grant serving what its function declares.
struct Toy(fn() -> Serves<Toy>);

impl Grant for Toy {
    fn serves(&self) -> Serves<Self> {
        (self.0)()
    }
}

impl TokenGrant for Toy {
    async fn exchange(&self, _: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        Err(OAuthError::invalid_grant("toy"))
    }
}

impl AuthorizationGrant for Toy {
    async fn respond(&self, _: &AuthorizationRequest, _: &Approval) -> Result<AuthorizationDecision, OAuthError> {
        Ok(AuthorizationDecision::code())
    }
}

fn urn_grant_type() -> GrantType {
    GrantType::parse("urn:example:params:oauth:grant-type:toy").expect("absolute URI")
}

#[tokio::test]
async fn refused_registration_leaves_no_trace() {
    let mut server = bare_server();
    server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");

    // A grant serving a new grant type and an already-served response type: refused whole,
    // so its grant type is not served either.
    let colliding = Toy(|| Serves::token_endpoint(urn_grant_type()).and_authorization_endpoint([ResponseType::CODE]));
    let err = server.register_grant(colliding, ()).map(|_| ()).expect_err("code is taken");
    assert_eq!(err, RegistryError::DuplicateResponseType(ResponseType::CODE));
    assert!(!server.registry().serves_grant_type(&urn_grant_type()));

    // A method the server does not have.
    let unknown_method = Toy(|| {
        Serves::token_endpoint(urn_grant_type())
            .with_auth_methods(ClientAuthMethods::only([ClientAuthMethod::PRIVATE_KEY_JWT]))
    });
    let err = server.register_grant(unknown_method, ()).map(|_| ()).expect_err("no such method");
    assert_eq!(err, RegistryError::UnknownAuthMethod(ClientAuthMethod::PRIVATE_KEY_JWT));
    assert!(!server.registry().serves_grant_type(&urn_grant_type()));

    // Serving nothing, or allowing no method at the token endpoint.
    let nothing = Toy(|| Serves::authorization_endpoint(Vec::new()));
    let err = server.register_grant(nothing, ()).map(|_| ()).expect_err("serves nothing");
    assert_eq!(err, RegistryError::ServesNothing);
    let no_methods = Toy(|| Serves::token_endpoint(urn_grant_type()).with_auth_methods(ClientAuthMethods::only([])));
    let err = server.register_grant(no_methods, ()).map(|_| ()).expect_err("no methods");
    assert_eq!(err, RegistryError::NoAuthMethods(urn_grant_type()));

    assert_eq!(server.registry().registrations().count(), 1);
    assert_eq!(server.registry().grant_types(), [GrantType::AUTHORIZATION_CODE]);
    assert_eq!(server.registry().response_types(), [ResponseType::CODE]);

    // The grant type is still free.
    server.register_grant(Toy(|| Serves::token_endpoint(urn_grant_type())), ()).expect("register");
    assert!(server.registry().serves_grant_type(&urn_grant_type()));

    // A refused change of methods leaves the registration's methods as they were.
    let err = server
        .register_grant(PasswordGrant::new(), ())
        .expect("register")
        .restrict_auth_methods(Vec::new())
        .map(|_| ())
        .expect_err("no methods");
    assert_eq!(err, RegistryError::NoAuthMethods(GrantType::PASSWORD));
    let password = server.registry().by_grant_type("password").expect("registered").1;
    assert_eq!(*password.metadata().auth_methods(), ClientAuthMethods::with_credentials());
}

#[tokio::test]
async fn registry_lists_what_was_registered() {
    let mut server = bare_server();
    assert!(server.registry().grant_types().is_empty());
    assert!(server.registry().response_types().is_empty());
    assert!(server.registry().token_endpoint_auth_methods().is_empty());

    server.register_grant(ClientCredentialsGrant::new(), ()).expect("register");
    assert_eq!(server.registry().grant_types(), [GrantType::CLIENT_CREDENTIALS]);
    assert!(server.registry().response_types().is_empty());
    assert_eq!(
        server.registry().token_endpoint_auth_methods(),
        [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::CLIENT_SECRET_POST],
        "every method that proves the client"
    );

    register_all_but_client_credentials(&mut server);

    // Sorted, without repetition.
    assert_eq!(
        server.registry().grant_types(),
        [GrantType::AUTHORIZATION_CODE, GrantType::CLIENT_CREDENTIALS, GrantType::PASSWORD, GrantType::REFRESH_TOKEN]
    );
    assert_eq!(server.registry().response_types(), [ResponseType::CODE, ResponseType::TOKEN]);
    assert_eq!(
        server.registry().token_endpoint_auth_methods(),
        [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::CLIENT_SECRET_POST, ClientAuthMethod::NONE]
    );
    assert_eq!(server.registry().registrations().count(), 5);
    assert!(server.registry().serves_grant_type(&GrantType::PASSWORD));
    assert!(!server.registry().serves_grant_type(&GrantType::IMPLICIT), "implicit has no token endpoint grant type");
    assert!(server.registry().by_response_type(&ResponseType::TOKEN).is_some());
}

#[tokio::test]
async fn endpoint_auth_methods_follow_the_registrations() {
    let mut server = bare_server();
    assert!(server.revocation_auth_methods().is_empty() && server.introspection_auth_methods().is_empty());
    server
        .register_grant(ClientCredentialsGrant::new(), ())
        .expect("register")
        .restrict_auth_methods([ClientAuthMethod::CLIENT_SECRET_POST])
        .expect("methods");
    assert_eq!(server.revocation_auth_methods(), [ClientAuthMethod::CLIENT_SECRET_POST]);
    assert_eq!(server.introspection_auth_methods(), [ClientAuthMethod::CLIENT_SECRET_POST]);
    // The refresh grant allows public clients too.
    server.register_grant(RefreshTokenGrant::new(), ()).expect("register");
    assert_eq!(
        server.revocation_auth_methods(),
        [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::CLIENT_SECRET_POST, ClientAuthMethod::NONE]
    );
    assert_eq!(
        server.introspection_auth_methods(),
        [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::CLIENT_SECRET_POST],
        "none proves nothing"
    );
}

fn register_all_but_client_credentials(server: &mut AuthorizationServer) {
    server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");
    server.register_grant(ImplicitGrant::new(), ()).expect("register");
    server.register_grant(PasswordGrant::new(), ()).expect("register");
    server.register_grant(RefreshTokenGrant::new(), ()).expect("register");
}

/// A client store that cannot be reached.
struct Unreachable;

#[grantry_core::async_trait]
impl grantry_core::storage::ClientStore for Unreachable {
    async fn find_client(
        &self,
        _: &str,
    ) -> Result<Option<std::sync::Arc<dyn grantry_core::Client>>, grantry_core::storage::StorageError> {
        Err(grantry_core::storage::StorageError::new("connection refused"))
    }
}

#[tokio::test]
async fn health_reports_a_store_the_server_cannot_reach() {
    assert!(bare_server().health().await.is_ok());
    let memory = std::sync::Arc::new(grantry_core::MemoryStore::new());
    let storage = grantry_core::Storage::new(
        std::sync::Arc::new(Unreachable),
        memory.clone(),
        memory.clone(),
        memory.clone(),
        memory.clone(),
        memory,
    );
    let server = AuthorizationServer::new(storage, grantry_core::ServerConfig::new("https://as.example").unwrap());
    assert!(server.health().await.is_err());
}
