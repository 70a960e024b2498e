//! PKCE: the `CodeChallenge` extension for the authorization code grant (RFC 7636,
//! RFC 9700 §2.1.1).

use base64::Engine as _;
use grantry_core::storage::Attributes;
use grantry_core::{AuthorizationRequest, Client, GrantExtension, Issuance, OAuthError, Params, constant_time_eq};
use sha2::{Digest as _, Sha256};

/// Which clients must send a `code_challenge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PkceRequirement {
    /// Every client.
    AllClients,
    /// Public clients only (RFC 9700 §2.1.1's minimum); confidential clients may.
    PublicClients,
    /// No client must; any may.
    None,
}

/// A `code_challenge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeMethod {
    /// `S256`: the challenge is BASE64URL(SHA256(verifier)).
    S256,
    /// `plain`: the challenge is the verifier. Off unless enabled.
    Plain,
}

impl ChallengeMethod {
    /// The method's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "S256" => Some(ChallengeMethod::S256),
            "plain" => Some(ChallengeMethod::Plain),
            _ => None,
        }
    }
}

/// The challenge S256 derives from a verifier: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
///
/// ```
/// // RFC 7636 Appendix B.
/// assert_eq!(
///     grantry_extensions::pkce::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `value` has the syntax of a code verifier or challenge: `[A-Za-z0-9-._~]{43,128}`.
pub fn is_valid_syntax(value: &str) -> bool {
    // Every byte is checked (no early exit): the loop has no branch to mispredict.
    (43..=128).contains(&value.len())
        && value.bytes().fold(true, |ok, b| ok & (b.is_ascii_alphanumeric() | matches!(b, b'-' | b'.' | b'_' | b'~')))
}

const CHALLENGE: &str = "code_challenge";
const METHOD: &str = "code_challenge_method";

/// The PKCE extension, attached to the authorization code grant:
///
/// ```
/// use grantry_core::{AuthorizationServer, MemoryStore, ServerConfig};
/// use grantry_extensions::pkce::CodeChallenge;
/// use grantry_grants::AuthorizationCodeGrant;
///
/// let mut server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example").unwrap());
/// server.register_grant(AuthorizationCodeGrant::new(), CodeChallenge::required()).unwrap();
/// ```
///
/// At the authorization request it checks `code_challenge` and `code_challenge_method` and
/// stores them with the code; at the token request it checks `code_verifier` against them in
/// constant time. A `code_verifier` sent for a code issued without a challenge is refused, so a
/// PKCE downgrade cannot pass.
#[derive(Debug, Clone)]
pub struct CodeChallenge {
    requirement: PkceRequirement,
    allow_plain: bool,
}

impl CodeChallenge {
    /// PKCE with S256 only, under `requirement`.
    pub fn new(requirement: PkceRequirement) -> Self {
        CodeChallenge { requirement, allow_plain: false }
    }

    /// PKCE required of every client (Authlib's `CodeChallenge(required=True)`).
    pub fn required() -> Self {
        Self::new(PkceRequirement::AllClients)
    }

    /// PKCE required of public clients.
    pub fn for_public_clients() -> Self {
        Self::new(PkceRequirement::PublicClients)
    }

    /// PKCE optional for every client.
    pub fn optional() -> Self {
        Self::new(PkceRequirement::None)
    }

    /// Whether to accept the `plain` method (off by default; RFC 7636 §4.2 allows it only when
    /// S256 is impossible).
    pub fn allow_plain(mut self, allow: bool) -> Self {
        self.allow_plain = allow;
        self
    }

    /// The methods accepted.
    pub fn methods(&self) -> Vec<ChallengeMethod> {
        let mut methods = vec![ChallengeMethod::S256];
        if self.allow_plain {
            methods.push(ChallengeMethod::Plain);
        }
        methods
    }

    fn is_required_for(&self, client: &dyn Client) -> bool {
        match self.requirement {
            PkceRequirement::AllClients => true,
            PkceRequirement::PublicClients => client.is_public(),
            PkceRequirement::None => false,
        }
    }
}

impl GrantExtension for CodeChallenge {
    fn name(&self) -> &str {
        "pkce"
    }

    fn after_authorization_request_validated(
        &self,
        request: &AuthorizationRequest,
        attach: &mut Attributes,
    ) -> Result<(), OAuthError> {
        if !request.response_type().includes("code") {
            return Ok(());
        }
        let challenge = request.params().get(CHALLENGE);
        let method = request.params().get(METHOD);
        let Some(challenge) = challenge else {
            if method.is_some() {
                return Err(OAuthError::invalid_request("code_challenge_method given without code_challenge"));
            }
            if self.is_required_for(&**request.client()) {
                return Err(OAuthError::invalid_request("code_challenge is required"));
            }
            return Ok(());
        };
        // RFC 7636 §4.3: an absent method means plain.
        let method = match method.map(ChallengeMethod::parse) {
            None if self.allow_plain => ChallengeMethod::Plain,
            None => {
                return Err(OAuthError::invalid_request("code_challenge_method is required; this server accepts S256"));
            }
            Some(Some(m)) if m == ChallengeMethod::S256 || self.allow_plain => m,
            Some(_) => return Err(OAuthError::invalid_request("unsupported code_challenge_method")),
        };
        if !is_valid_syntax(challenge) {
            return Err(OAuthError::invalid_request("code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]"));
        }
        let challenge = challenge.to_owned();
        attach.insert(CHALLENGE.into(), challenge.into());
        attach.insert(METHOD.into(), method.as_str().into());
        Ok(())
    }

    fn after_token_request_validated(&self, params: &Params, issuance: &mut Issuance) -> Result<(), OAuthError> {
        if !issuance.is_from_code() {
            return Ok(());
        }
        // Taken out of the attributes: the challenge has no business in the token records.
        let challenge = issuance.attributes_mut().remove(CHALLENGE);
        let method = issuance.attributes_mut().remove(METHOD);
        let verifier = params.get("code_verifier");
        match (challenge, verifier) {
            // However the code was minted, a client PKCE is required of never redeems one
            // without a challenge (RFC 9700 §2.1.1).
            (None, None) if self.is_required_for(&**issuance.client()) => Err(OAuthError::invalid_grant(
                "the authorization code was issued without code_challenge, which this client must use",
            )),
            (None, None) => Ok(()),
            (None, Some(_)) => Err(OAuthError::invalid_grant(
                "code_verifier sent for an authorization code issued without code_challenge",
            )),
            (Some(_), None) => Err(OAuthError::invalid_request("missing parameter: code_verifier")),
            (Some(challenge), Some(verifier)) => {
                if !is_valid_syntax(verifier) {
                    return Err(OAuthError::invalid_request(
                        "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
                    ));
                }
                let derived = match method.as_deref().and_then(ChallengeMethod::parse) {
                    Some(ChallengeMethod::S256) => s256_challenge(verifier),
                    Some(ChallengeMethod::Plain) => verifier.to_owned(),
                    None => return Err(OAuthError::server_error("stored code_challenge_method is unreadable")),
                };
                if constant_time_eq(derived.as_bytes(), challenge.as_bytes()) {
                    Ok(())
                } else {
                    Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"))
                }
            }
        }
    }

    fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        let methods: Vec<serde_json::Value> = self.methods().iter().map(|m| m.as_str().into()).collect();
        let mut map = serde_json::Map::new();
        map.insert("code_challenge_methods_supported".into(), methods.into());
        map
    }
}

/// Configuration of the `pkce` plugin, as in the example server's `pkce` section:
/// `{"required": "public_clients", "methods": ["S256"]}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PkceConfig {
    #[serde(default = "default_requirement")]
    required: PkceRequirement,
    #[serde(default = "default_methods")]
    methods: Vec<String>,
}

fn default_requirement() -> PkceRequirement {
    PkceRequirement::PublicClients
}

fn default_methods() -> Vec<String> {
    vec!["S256".into()]
}

fn from_config(config: &serde_json::Value) -> Result<CodeChallenge, grantry_core::plugin::PluginError> {
    let config: PkceConfig = grantry_core::plugin::parse_config("pkce", config)?;
    let mut allow_plain = false;
    for method in &config.methods {
        match ChallengeMethod::parse(method) {
            Some(ChallengeMethod::S256) => {}
            Some(ChallengeMethod::Plain) => allow_plain = true,
            None => {
                return Err(grantry_core::plugin::PluginError::Config {
                    name: "pkce".into(),
                    message: format!("methods: unknown code_challenge_method {method:?} (S256, plain)"),
                });
            }
        }
    }
    Ok(CodeChallenge::new(config.required).allow_plain(allow_plain))
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::extension("pkce", "PKCE code challenges for the authorization code grant (RFC 7636).", |config| {
        Ok(Box::new(from_config(config)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn syntax_bounds() {
        assert!(!is_valid_syntax(&"a".repeat(42)));
        assert!(is_valid_syntax(&"a".repeat(43)));
        assert!(is_valid_syntax(&"a".repeat(128)));
        assert!(!is_valid_syntax(&"a".repeat(129)));
        assert!(!is_valid_syntax(&format!("{}+", "a".repeat(43))));
        assert!(is_valid_syntax(&format!("{}-._~", "A9".repeat(20))));
    }

    #[test]
    fn config_parses_the_server_contract_shape() {
        let pkce = from_config(&serde_json::json!({"required": "all_clients", "methods": ["S256", "plain"]})).unwrap();
        assert_eq!(pkce.requirement, PkceRequirement::AllClients);
        assert_eq!(pkce.methods(), [ChallengeMethod::S256, ChallengeMethod::Plain]);
        let default = from_config(&serde_json::Value::Null).unwrap();
        assert_eq!(default.requirement, PkceRequirement::PublicClients);
        assert_eq!(default.methods(), [ChallengeMethod::S256]);
        assert!(from_config(&serde_json::json!({"methods": ["S512"]})).is_err());
        assert!(from_config(&serde_json::json!({"required": "sometimes"})).is_err());
    }
}
