//! The JWT plugins' announcements: enable them by name from configuration.
//!
//! | name | kind | configuration (all optional) |
//! |---|---|---|
//! | `urn:ietf:params:oauth:grant-type:jwt-bearer` | grant | `algorithms`, `leeway`, `max_lifetime`, `refresh_token`, `require_jti` |
//! | `client_secret_jwt` | client authentication | `algorithms`, `leeway`, `max_lifetime` |
//! | `private_key_jwt` | client authentication | `algorithms`, `leeway`, `max_lifetime` |
//!
//! Every assertion is single-use, whatever the configuration: the bearer grant's by `(iss, jti)`
//! or, without `jti`, by the digest of the assertion; a client assertion's by `(iss, jti)`
//! (it must have one), in the server's single-use store, so an assertion used for client
//! authentication cannot be replayed at the bearer grant, nor the other way round.
//!
//! `require_jti` (bearer grant only, default `false`) refuses bearer assertions without `jti`
//! (`invalid_grant`); it no longer turns replay protection on, which is always on.

use super::{ClientSecretJwt, JWT_BEARER_GRANT_TYPE, JwtBearerGrant, PrivateKeyJwt};
use grantry_core::plugin::{Plugin, PluginError, parse_config};
use jsonwebtoken::Algorithm;
use std::str::FromStr;

/// What every JWT plugin accepts.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VerifierConfig {
    algorithms: Option<Vec<String>>,
    leeway: Option<u64>,
    max_lifetime: Option<u64>,
    #[serde(default)]
    refresh_token: bool,
    #[serde(default)]
    require_jti: bool,
}

impl VerifierConfig {
    fn parse(plugin: &str, config: &serde_json::Value, grant: bool) -> Result<Self, PluginError> {
        let parsed: VerifierConfig = parse_config(plugin, config)?;
        if !grant && (parsed.refresh_token || parsed.require_jti) {
            return Err(PluginError::Config {
                name: plugin.into(),
                message: "refresh_token and require_jti apply to the bearer grant only".into(),
            });
        }
        Ok(parsed)
    }

    fn algorithms(&self, plugin: &str) -> Result<Option<Vec<Algorithm>>, PluginError> {
        let Some(names) = &self.algorithms else { return Ok(None) };
        names
            .iter()
            .map(|name| {
                Algorithm::from_str(name).map_err(|_| PluginError::Config {
                    name: plugin.into(),
                    message: format!("algorithms: unknown JWS algorithm {name:?}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// Applies the shared settings to any of the three builders.
macro_rules! configure {
    ($builder:expr, $config:expr, $plugin:expr) => {{
        let mut built = $builder;
        if let Some(algorithms) = $config.algorithms($plugin)? {
            built = built.with_algorithms(algorithms);
        }
        if let Some(leeway) = $config.leeway {
            built = built.with_leeway(leeway);
        }
        if let Some(max_lifetime) = $config.max_lifetime {
            built = built.with_max_lifetime(max_lifetime);
        }
        built
    }};
}

fn bearer_grant(config: &serde_json::Value) -> Result<JwtBearerGrant, PluginError> {
    let parsed = VerifierConfig::parse(JWT_BEARER_GRANT_TYPE, config, true)?;
    Ok(configure!(JwtBearerGrant::new(), parsed, JWT_BEARER_GRANT_TYPE)
        .with_refresh_token(parsed.refresh_token)
        .with_require_jti(parsed.require_jti))
}

fn client_secret_jwt(config: &serde_json::Value) -> Result<ClientSecretJwt, PluginError> {
    let parsed = VerifierConfig::parse("client_secret_jwt", config, false)?;
    Ok(configure!(ClientSecretJwt::new(), parsed, "client_secret_jwt"))
}

fn private_key_jwt(config: &serde_json::Value) -> Result<PrivateKeyJwt, PluginError> {
    let parsed = VerifierConfig::parse("private_key_jwt", config, false)?;
    Ok(configure!(PrivateKeyJwt::new(), parsed, "private_key_jwt"))
}

grantry_core::inventory::submit! {
    Plugin::grant(JWT_BEARER_GRANT_TYPE, "The JWT bearer grant (RFC 7523 section 2.1).", |config| {
        Ok(grantry_core::BoxedGrant::new(bearer_grant(config)?))
    })
}

grantry_core::inventory::submit! {
    Plugin::client_authenticator("client_secret_jwt", "Client authentication with an HMAC-signed JWT (RFC 7523 section 2.2).", |config| {
        Ok(Box::new(client_secret_jwt(config)?))
    })
}

grantry_core::inventory::submit! {
    Plugin::client_authenticator("private_key_jwt", "Client authentication with a JWT signed by the client's key (RFC 7523 section 2.2).", |config| {
        Ok(Box::new(private_key_jwt(config)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configurations_are_checked() {
        assert!(bearer_grant(&serde_json::Value::Null).is_ok());
        assert!(bearer_grant(&json!({"algorithms": ["RS256", "ES256"], "leeway": 30, "require_jti": true})).is_ok());
        let err = bearer_grant(&json!({"algorithms": ["RS257"]})).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("RS257"), "{err}");
        assert!(bearer_grant(&json!({"lee_way": 30})).is_err());
        assert!(private_key_jwt(&json!({"refresh_token": true})).is_err());
        assert!(private_key_jwt(&json!({"require_jti": true})).is_err());
        assert!(!format!("{:?}", bearer_grant(&serde_json::Value::Null).unwrap()).contains("require_jti: true"));
        assert!(format!("{:?}", bearer_grant(&json!({"require_jti": true})).unwrap()).contains("require_jti: true"));
        assert!(client_secret_jwt(&json!({"max_lifetime": 300})).is_ok());
    }
}
