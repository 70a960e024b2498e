//! Write your own grant: a new URN grant type, in one file.
//!
//! `urn:example:params:oauth:grant-type:api-key` exchanges a long-lived API key for a
//! short-lived access token. The grant declares its own allowed client authentication
//! methods, gets an extension attached, announces itself as a plugin, and is served by the
//! engine with no change to it.
//!
//! Run it with `cargo run -p grantry-examples --bin custom_grant`.

use grantry_core::plugin::{self, Plugin, PluginKind};
use grantry_core::{
    AccessGrant, AuthorizationServer, ClientAuthMethod, ClientRecord, Grant, GrantExtension, GrantMetadata, GrantType,
    MaybeReady, MemoryStore, OAuthError, Request, Scope, ServerConfig, TokenRequest, TokenResponse, encode_form,
};
use std::collections::HashMap;
// Links the built-in grants, so their plugins are listed beside this one.
use grantry_grants as _;

const API_KEY: &str = "urn:example:params:oauth:grant-type:api-key";

/// Step 1: the grant. It owns only what is its own: checking the key and saying what it grants.
struct ApiKeyGrant {
    /// API key → the user it belongs to. A real grant would look keys up in a database.
    keys: HashMap<String, String>,
}

impl Grant for ApiKeyGrant {
    /// Step 2: its metadata, stated up front: the grant type it serves and the client
    /// authentication methods it allows.
    fn metadata(&self) -> GrantMetadata {
        let grant_type = GrantType::parse(API_KEY).unwrap_or(GrantType::CLIENT_CREDENTIALS);
        GrantMetadata::token_endpoint(grant_type)
            .with_auth_methods([ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::CLIENT_SECRET_POST])
    }

    fn validate_token_request<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        MaybeReady::boxed(async move {
            // The engine has parsed the request and authenticated the client already.
            let client = req.client()?.clone();
            let key = req.params.require("api_key")?;
            let owner = self.keys.get(key).ok_or_else(|| OAuthError::invalid_grant("unknown API key"))?;
            let (scope, requested) = Scope::resolve(req.params.get("scope"), client.allowed_scope())?;
            Ok(AccessGrant::new(client, req.grant_type.clone(), scope, requested).for_subject(owner.clone()))
        })
    }
}

/// Step 3: an extension for it: tells the client which key owner the token acts for.
struct KeyOwnerClaim;

impl GrantExtension for KeyOwnerClaim {
    fn name(&self) -> &str {
        "key-owner"
    }

    fn before_token_issued(&self, grant: &AccessGrant, token: &mut TokenResponse) -> Result<(), OAuthError> {
        if let Some(owner) = &grant.subject {
            token.extra.insert("key_owner".into(), owner[..].into());
        }
        Ok(())
    }
}

// Step 4: announce it, so a configuration file can enable it by name.
grantry_core::inventory::submit! {
    Plugin::grant(API_KEY, "Exchanges an API key for an access token.", |config| {
        let keys: HashMap<String, String> = plugin::parse_config(API_KEY, config)?;
        Ok(Box::new(ApiKeyGrant { keys }))
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
            .with_grant_types([GrantType::parse(API_KEY)?])
            .with_scope("reports:read"),
    )?;
    let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);

    // Step 5: enable it by name, with its configuration, and the extension attached —
    // exactly as a built-in grant is enabled.
    let config = serde_json::json!({ "k-123": "alice" });
    server.enable_grant(API_KEY, &config, &[("key-owner", &serde_json::Value::Null)])?;
    println!(
        "\nRegistered grant types: {:?}",
        server.registry().grant_types().iter().map(|g| g.as_str()).collect::<Vec<_>>()
    );

    let form = [
        ("grant_type", API_KEY),
        ("api_key", "k-123"),
        ("client_id", "reporting"),
        ("client_secret", "reporting-secret"),
    ];
    println!("\n-> POST /token {}", encode_form(&[("grant_type", API_KEY), ("api_key", "k-123")]));
    let response = server.token_endpoint(&Request::post("/token").with_form(&form)).await;
    println!("<- HTTP {} {}", response.status, String::from_utf8_lossy(&response.body));

    let bad_form = [form[0], ("api_key", "k-999"), form[2], form[3]];
    let response = server.token_endpoint(&Request::post("/token").with_form(&bad_form)).await;
    println!(
        "\n-> POST /token with an unknown key\n<- HTTP {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    Ok(())
}
