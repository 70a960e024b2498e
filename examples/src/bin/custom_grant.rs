//! Write your own grant: a new URN grant type, in one file.
//!
//! `urn:example:params:oauth:grant-type:api-key` exchanges a long-lived API key for a
//! short-lived access token. The grant declares its own allowed client authentication
//! methods, gets an extension attached, announces itself as a plugin, and is served by the
//! engine with no change to it.
//!
//! Run it with `cargo run -p grantry-examples --bin custom_grant`.

use grantry_core::plugin::{self, Plugin, PluginKind};
use grantry_core::request::FormBody;
use grantry_core::{
    AuthorizationServer, BoxedGrant, ClientAuthMethod, ClientAuthMethods, ClientRecord, Grant, GrantExtension,
    GrantType, Issuance, MemoryStore, OAuthError, ResponseMembers, ServerConfig, Serves, TokenDecision, TokenGrant,
    TokenRequest, encode_form, http,
};
use std::collections::HashMap;
// Links the built-in grants, so their plugins are listed beside this one.
use grantry_grants as _;

/// The grant type's name, which the plugin is enabled by.
const API_KEY_NAME: &str = "urn:example:params:oauth:grant-type:api-key";
/// The grant type, checked when this program is compiled: a typo fails the build.
const API_KEY: GrantType = GrantType::from_static(API_KEY_NAME);

/// Step 1: the grant. It owns only what is its own: checking the key and saying whom the
/// tokens are for.
struct ApiKeyGrant {
    /// API key → the user it belongs to. A real grant would look keys up in a database, and
    /// compare them in constant time.
    keys: HashMap<String, String>,
}

/// Step 2: its metadata, stated up front: the grant type it serves and the client
/// authentication methods it allows (a registration can narrow them, never widen them).
impl Grant for ApiKeyGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(API_KEY).with_auth_methods(ClientAuthMethods::only([
            ClientAuthMethod::CLIENT_SECRET_BASIC,
            ClientAuthMethod::CLIENT_SECRET_POST,
        ]))
    }
}

impl TokenGrant for ApiKeyGrant {
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        // The engine has parsed the request and authenticated the client already; after this
        // it resolves the scope within the client's, and makes and stores the tokens.
        let key = request.params().require("api_key")?;
        let owner = self.keys.get(key).ok_or_else(|| OAuthError::invalid_grant("unknown API key"))?;
        Ok(TokenDecision::for_user(owner.as_str()))
    }
}

/// Step 3: an extension for it: tells the client which key owner the token acts for.
struct KeyOwnerClaim;

impl GrantExtension for KeyOwnerClaim {
    fn name(&self) -> &str {
        "key-owner"
    }

    fn before_token_issued(&self, issuance: &Issuance, members: &mut ResponseMembers) -> Result<(), OAuthError> {
        if let Some(owner) = issuance.subject() {
            members.insert("key_owner", owner)?;
        }
        Ok(())
    }
}

// Step 4: announce it, so a configuration file can enable it by name.
grantry_core::inventory::submit! {
    Plugin::grant(API_KEY_NAME, "Exchanges an API key for an access token.", |config| {
        let keys: HashMap<String, String> = plugin::parse_config(API_KEY_NAME, config)?;
        Ok(BoxedGrant::new(ApiKeyGrant { keys }))
    })
}

grantry_core::inventory::submit! {
    Plugin::extension("key-owner", "Adds key_owner to api-key token responses.", |_| Ok(Box::new(KeyOwnerClaim)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("Linked-in grant plugins:");
    for p in plugin::plugins().into_iter().filter(|p| p.kind() == PluginKind::Grant) {
        println!("  {:<48} {}", p.name(), p.summary());
    }

    let store = MemoryStore::new();
    store.add_client(
        ClientRecord::confidential("reporting", "reporting-secret")
            .with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST)
            .with_grant_types([API_KEY])
            .with_scope("reports:read"),
    )?;
    let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);

    // Step 5: enable it by name, with its configuration, and the extension attached —
    // exactly as a built-in grant is enabled.
    let config = serde_json::json!({ "k-123": "alice" });
    server.enable_grant(API_KEY_NAME, &config, &[("key-owner", &serde_json::Value::Null)])?;
    println!(
        "\nRegistered grant types: {:?}",
        server.registry().grant_types().iter().map(|g| g.as_str()).collect::<Vec<_>>()
    );

    let form = [
        ("grant_type", API_KEY_NAME),
        ("api_key", "k-123"),
        ("client_id", "reporting"),
        ("client_secret", "reporting-secret"),
    ];
    println!("\n-> POST /token {}", encode_form(&[("grant_type", API_KEY_NAME), ("api_key", "k-123")]));
    let response = server.token_endpoint(&http::Request::post("/token").form(&form)?).await;
    println!("<- HTTP {} {}", response.status().as_u16(), String::from_utf8_lossy(response.body()));

    let bad_form = [form[0], ("api_key", "k-999"), form[2], form[3]];
    let response = server.token_endpoint(&http::Request::post("/token").form(&bad_form)?).await;
    println!(
        "\n-> POST /token with an unknown key\n<- HTTP {} {}",
        response.status().as_u16(),
        String::from_utf8_lossy(response.body())
    );
    Ok(())
}
