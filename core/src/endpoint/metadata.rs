//! The authorization server metadata document (RFC 8414), derived from what is registered.

use crate::grant_type::{ClientAuthMethod, GrantType, ResponseType};
use crate::request::Request;
use crate::response::{self, Response};
use crate::server::AuthorizationServer;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

impl AuthorizationServer {
    /// The metadata document (RFC 8414 §2), derived from the registry, the client
    /// authenticators, the extensions and the configuration: never written by hand.
    pub fn metadata(&self) -> Value {
        let config = &self.config;
        let mut doc = Map::new();
        doc.insert("issuer".into(), config.issuer().into());

        let response_types = self.registry.response_types();
        if !response_types.is_empty() {
            doc.insert("authorization_endpoint".into(), config.authorization_endpoint().into());
        }
        let mut grant_types: Vec<String> = self.registry.grant_types().iter().map(ToString::to_string).collect();
        if response_types.contains(&ResponseType::TOKEN) {
            grant_types.push(GrantType::IMPLICIT.to_string());
            grant_types.sort();
        }
        if !self.registry.grant_types().is_empty() {
            doc.insert("token_endpoint".into(), config.token_endpoint().into());
        }
        doc.insert("response_types_supported".into(), strings(response_types.iter().map(ResponseType::as_str)));
        doc.insert("response_modes_supported".into(), json!(["query", "fragment"]));
        doc.insert("grant_types_supported".into(), grant_types.into());

        let endpoints = [
            ("token_endpoint", self.registry.token_endpoint_auth_methods()),
            ("revocation_endpoint", self.revocation_auth_methods()),
            ("introspection_endpoint", self.introspection_auth_methods()),
        ];
        for (endpoint, methods) in endpoints {
            if endpoint != "token_endpoint" {
                let url = match endpoint {
                    "revocation_endpoint" => config.revocation_endpoint(),
                    _ => config.introspection_endpoint(),
                };
                doc.insert(endpoint.into(), url.into());
            }
            let algorithms = self.signing_algorithms(methods);
            doc.insert(
                format!("{endpoint}_auth_methods_supported"),
                strings(methods.iter().map(ClientAuthMethod::as_str)),
            );
            if !algorithms.is_empty() {
                doc.insert(
                    format!("{endpoint}_auth_signing_alg_values_supported"),
                    strings(algorithms.iter().map(String::as_str)),
                );
            }
        }
        // Endpoints grants bring (RFC 8628 §4: device_authorization_endpoint).
        let base = config.issuer().trim_end_matches('/');
        for endpoint in self.grant_endpoints() {
            doc.insert(endpoint.metadata_name().into(), format!("{base}{}", endpoint.path()).into());
        }
        if let Some(format) = config.access_token_format() {
            doc.extend(format.metadata());
        }
        doc.insert("authorization_response_iss_parameter_supported".into(), false.into());

        // Extensions describe themselves (PKCE: code_challenge_methods_supported; RFC 9207: iss).
        let extensions =
            self.extensions.iter().map(|e| &**e).chain(self.registry.registrations().flat_map(|r| r.extensions()));
        for extension in extensions {
            doc.extend(extension.metadata());
        }
        Value::Object(doc)
    }

    /// Serves the metadata document at `/.well-known/oauth-authorization-server` (GET).
    pub fn metadata_endpoint(&self, request: &Request) -> Response {
        if request.method() != Method::GET {
            return response::oauth_error(&crate::OAuthError::invalid_request(
                "the metadata endpoint accepts only GET",
            ));
        }
        let mut response = Response::new(self.metadata().to_string().into_bytes());
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }

    /// The JWS algorithms the authenticators of `methods` accept, sorted.
    fn signing_algorithms(&self, methods: &[ClientAuthMethod]) -> BTreeSet<String> {
        methods.iter().filter_map(|m| self.authenticator(m)).flat_map(|a| a.signing_algorithms()).collect()
    }
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(values.map(|v| Value::String(v.to_owned())).collect())
}
