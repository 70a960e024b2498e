//! Authorization server issuer identification (RFC 9207): `iss` in every authorization response.

use grantry_core::{GrantExtension, RedirectParams};

/// A server-level extension adding `iss` to every authorization response the server
/// redirects, success and error alike, so a client talking to several servers can tell which
/// one answered (a mix-up attack defence, RFC 9207 §2).
///
/// ```
/// use grantry_core::{AuthorizationServer, MemoryStore, ServerConfig};
/// use grantry_extensions::issuer::IssuerIdentification;
///
/// let mut server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example").unwrap());
/// server.add_extension(IssuerIdentification::new(server.config().issuer()));
/// assert_eq!(server.metadata()["authorization_response_iss_parameter_supported"], true);
/// ```
#[derive(Debug, Clone)]
pub struct IssuerIdentification {
    issuer: String,
}

impl IssuerIdentification {
    /// Identifies responses as coming from `issuer` (the server's issuer identifier).
    pub fn new(issuer: impl Into<String>) -> Self {
        IssuerIdentification { issuer: issuer.into() }
    }
}

impl GrantExtension for IssuerIdentification {
    fn name(&self) -> &str {
        "issuer-identification"
    }

    fn before_authorization_response(&self, params: &mut RedirectParams) {
        // `iss` is no parameter the engine owns: setting it cannot fail.
        let _ = params.set("iss", self.issuer.clone());
    }

    fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert("authorization_response_iss_parameter_supported".into(), true.into());
        map
    }
}
