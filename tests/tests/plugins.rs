//! Plugin discovery: grants, extensions and client authentication methods linked into the
//! program are listed in one call and enabled by name with their configuration.

mod engine_http;

use engine_http::ResponseExt;
use grantry_core::http;
use grantry_core::plugin::{self, PluginError, PluginKind};
use grantry_core::request::FormBody;
use grantry_core::{AuthorizationServer, ClientRecord, GrantType, MemoryStore, ServerConfig};
// Link the plugin crates: their announcements are what is being tested.
use grantry_extensions as _;
use grantry_grants as _;
use serde_json::{Value, json};

fn names(kind: PluginKind) -> Vec<&'static str> {
    plugin::plugins().into_iter().filter(|p| p.kind() == kind).map(|p| p.name()).collect()
}

fn server() -> AuthorizationServer {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::confidential("web", "web-secret")
                .with_redirect_uri("https://web.example/cb")
                .with_grant_types([GrantType::PASSWORD, GrantType::REFRESH_TOKEN])
                .with_scope("read"),
        )
        .unwrap();
    store.add_user("alice", "wonderland");
    AuthorizationServer::new(store, ServerConfig::new("https://auth.example").unwrap())
}

#[test]
fn built_in_grants_and_pkce_announce_themselves() {
    let grants = names(PluginKind::Grant);
    for name in ["authorization_code", "implicit", "password", "client_credentials", "refresh_token"] {
        assert!(grants.contains(&name), "{name} missing from {grants:?}");
    }
    assert!(names(PluginKind::Extension).contains(&"pkce"));
    assert!(grants.contains(&"urn:ietf:params:oauth:grant-type:jwt-bearer"));
    assert_eq!(names(PluginKind::ClientAuthenticator), ["client_secret_jwt", "private_key_jwt"]);
    let mut sorted = grants.clone();
    sorted.sort_unstable();
    assert_eq!(grants, sorted, "the listing is sorted");
}

#[test]
fn unknown_name_lists_what_is_available() {
    let mut server = server();
    let err = server.enable("urn:example:nope", &Value::Null).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, PluginError::Unknown { .. }));
    assert!(message.contains("urn:example:nope"), "{message}");
    assert!(message.contains("authorization_code") && message.contains("refresh_token"), "{message}");
}

#[test]
fn bad_configuration_names_the_plugin() {
    let mut server = server();
    let err = server.enable("refresh_token", &json!({"rotate": "sometimes"})).unwrap_err();
    assert!(matches!(err, PluginError::Config { ref name, .. } if name == "refresh_token"), "{err}");
    let err = server.enable("password", &json!({"unexpected": 1})).unwrap_err();
    assert!(matches!(err, PluginError::Config { .. }), "{err}");
    assert!(server.registry().grant_types().is_empty(), "nothing half-registered");
}

#[test]
fn enabling_twice_is_a_registry_error() {
    let mut server = server();
    server.enable("password", &Value::Null).unwrap();
    let err = server.enable("password", &Value::Null).unwrap_err();
    assert!(matches!(err, PluginError::Registry(_)), "{err}");
}

#[tokio::test]
async fn enabled_grants_serve_with_their_configuration() {
    let mut server = server();
    server.enable("password", &Value::Null).unwrap();
    server.enable("refresh_token", &json!({"rotate": false})).unwrap();
    let basic = "Basic d2ViOndlYi1zZWNyZXQ=";
    let login = http::Request::post("/token")
        .header("Authorization", basic)
        .form(&[("grant_type", "password"), ("username", "alice"), ("password", "wonderland")])
        .unwrap();
    let body = server.token_endpoint(&login).await.json().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();

    let refresh = http::Request::post("/token")
        .header("Authorization", basic)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)])
        .unwrap();
    for _ in 0..2 {
        let response = server.token_endpoint(&refresh).await;
        assert_eq!(response.status().as_u16(), 200, "rotate: false keeps the refresh token usable");
        assert!(response.json().unwrap().get("refresh_token").is_none());
    }
}

#[test]
fn jwt_plugins_enable_by_name() {
    let mut server = server();
    server.enable("private_key_jwt", &Value::Null).unwrap();
    server.enable("client_secret_jwt", &json!({"algorithms": ["HS256"]})).unwrap();
    server.enable("urn:ietf:params:oauth:grant-type:jwt-bearer", &json!({"require_jti": true})).unwrap();
    assert!(server.auth_methods().contains(&grantry_core::ClientAuthMethod::PRIVATE_KEY_JWT));
    let doc = server.metadata();
    assert_eq!(doc["grant_types_supported"], json!(["urn:ietf:params:oauth:grant-type:jwt-bearer"]));
    let err = server.enable("private_key_jwt", &Value::Null).unwrap_err();
    assert!(matches!(err, PluginError::DuplicateAuthMethod(_)), "{err}");
}
