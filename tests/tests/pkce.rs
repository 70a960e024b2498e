//! PKCE (RFC 7636) through the `CodeChallenge` extension attached to the authorization code
//! grant, driven through the server API.

mod engine_http;

use engine_http::ResponseExt;
use grantry_core::http;
use grantry_core::request::FormBody;
use grantry_core::{
    AuthorizationServer, ClientRecord, Consent, GrantType, MemoryStore, Params, ResponseType, ServerConfig, encode_form,
};
use grantry_extensions::pkce::{CodeChallenge, s256_challenge};
use grantry_grants::AuthorizationCodeGrant;

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const SPA_CB: &str = "https://spa.example/cb";
const WEB_CB: &str = "https://web.example/cb";
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ="; // web:web-secret

fn server(pkce: CodeChallenge) -> AuthorizationServer {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::public("spa")
                .with_redirect_uri(SPA_CB)
                .with_grant_types([GrantType::AUTHORIZATION_CODE])
                .with_response_types([ResponseType::CODE])
                .with_scope("read"),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::confidential("web", "web-secret")
                .with_redirect_uri(WEB_CB)
                .with_grant_types([GrantType::AUTHORIZATION_CODE])
                .with_scope("read"),
        )
        .unwrap();
    let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example").unwrap());
    server.register_grant(AuthorizationCodeGrant::new(), pkce).unwrap();
    server
}

fn authorize_uri(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![("response_type", "code"), ("client_id", client_id), ("state", "st")];
    pairs.extend_from_slice(extra);
    format!("/authorize?{}", encode_form(&pairs))
}

fn location_params(location: &str) -> Params<'_> {
    Params::parse(location.split_once('?').unwrap().1.as_bytes()).unwrap()
}

/// Runs the authorization request; returns the code, or the redirected error code.
async fn authorize(server: &AuthorizationServer, client_id: &str, extra: &[(&str, &str)]) -> Result<String, String> {
    match server
        .validate_authorization_request(&http::Request::get(authorize_uri(client_id, extra)).body(Vec::new()).unwrap())
        .await
    {
        Ok(validated) => {
            let response = server.create_authorization_response(&validated, Consent::allow("alice")).await;
            let params = location_params(response.header("Location").unwrap());
            Ok(params.get("code").unwrap().to_owned())
        }
        Err(err) => {
            assert!(err.is_redirect(), "PKCE errors are redirected to the client: {:?}", err.error());
            let response = err.to_response();
            let params = location_params(response.header("Location").unwrap());
            assert_eq!(params.get("state"), Some("st"), "state comes back with the error");
            Err(params.get("error").unwrap().to_owned())
        }
    }
}

async fn exchange(
    server: &AuthorizationServer,
    client_id: &str,
    code: &str,
    verifier: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
    let mut request = http::Request::post("/token");
    if client_id == "web" {
        request = request.header("Authorization", WEB_BASIC);
    } else {
        form.push(("client_id", client_id));
    }
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let response = server.token_endpoint(&request.form(&form).unwrap()).await;
    (response.status().as_u16(), response.json().unwrap())
}

#[tokio::test]
async fn s256_flow_with_the_rfc7636_appendix_b_vector() {
    assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
    let server = server(CodeChallenge::required());
    let code =
        authorize(&server, "spa", &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await.unwrap();
    let (status, body) = exchange(&server, "spa", &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant_and_leaves_the_code_to_its_owner() {
    let server = server(CodeChallenge::required());
    let code =
        authorize(&server, "spa", &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await.unwrap();
    let other_verifier = "x".repeat(43);
    let (status, body) = exchange(&server, "spa", &code, Some(&other_verifier)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // Whoever sent the wrong verifier (a public client proves nothing) could not burn the code.
    let (status, body) = exchange(&server, "spa", &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    // And once redeemed, it is single-use.
    let (_, body) = exchange(&server, "spa", &code, Some(VERIFIER)).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn missing_or_malformed_verifier_is_invalid_request() {
    let server = server(CodeChallenge::required());
    let code =
        authorize(&server, "spa", &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await.unwrap();
    let (_, body) = exchange(&server, "spa", &code, None).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "missing parameter: code_verifier");

    let code =
        authorize(&server, "spa", &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await.unwrap();
    let (_, body) = exchange(&server, "spa", &code, Some(&"a".repeat(42))).await;
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn verifier_for_a_code_without_challenge_is_a_downgrade() {
    let server = server(CodeChallenge::optional());
    let code = authorize(&server, "spa", &[]).await.unwrap();
    let (status, body) = exchange(&server, "spa", &code, Some(VERIFIER)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    let code = authorize(&server, "spa", &[]).await.unwrap();
    let (status, _) = exchange(&server, "spa", &code, None).await;
    assert_eq!(status, 200, "optional PKCE: no challenge, no verifier is fine");
}

#[tokio::test]
async fn required_policies() {
    let all = server(CodeChallenge::required());
    assert_eq!(authorize(&all, "spa", &[]).await.unwrap_err(), "invalid_request");
    assert_eq!(authorize(&all, "web", &[]).await.unwrap_err(), "invalid_request");

    let public_only = server(CodeChallenge::for_public_clients());
    assert_eq!(authorize(&public_only, "spa", &[]).await.unwrap_err(), "invalid_request");
    let code = authorize(&public_only, "web", &[]).await.unwrap();
    assert_eq!(exchange(&public_only, "web", &code, None).await.0, 200, "confidential clients may skip PKCE");
}

#[tokio::test]
async fn challenge_length_bounds() {
    let server = server(CodeChallenge::required());
    for (len, ok) in [(42, false), (43, true), (128, true), (129, false)] {
        let challenge = "a".repeat(len);
        let outcome =
            authorize(&server, "spa", &[("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
        assert_eq!(outcome.is_ok(), ok, "challenge of {len} characters");
        if !ok {
            assert_eq!(outcome.unwrap_err(), "invalid_request");
        }
    }
    let bad_chars = format!("{}+/", "a".repeat(43));
    let outcome = authorize(&server, "spa", &[("code_challenge", &bad_chars), ("code_challenge_method", "S256")]).await;
    assert_eq!(outcome.unwrap_err(), "invalid_request");
}

#[tokio::test]
async fn method_rules() {
    let s256_only = server(CodeChallenge::required());
    let plain = [("code_challenge", VERIFIER), ("code_challenge_method", "plain")];
    assert_eq!(authorize(&s256_only, "spa", &plain).await.unwrap_err(), "invalid_request", "plain is off by default");
    let unknown = [("code_challenge", CHALLENGE), ("code_challenge_method", "S512")];
    assert_eq!(authorize(&s256_only, "spa", &unknown).await.unwrap_err(), "invalid_request");
    let no_method = [("code_challenge", CHALLENGE)];
    assert_eq!(
        authorize(&s256_only, "spa", &no_method).await.unwrap_err(),
        "invalid_request",
        "absent method means plain"
    );
    let method_only = [("code_challenge_method", "S256")];
    assert_eq!(authorize(&s256_only, "spa", &method_only).await.unwrap_err(), "invalid_request");

    let with_plain = server(CodeChallenge::required().allow_plain(true));
    let code = authorize(&with_plain, "spa", &plain).await.unwrap();
    assert_eq!(exchange(&with_plain, "spa", &code, Some(VERIFIER)).await.0, 200);
    // RFC 7636 §4.3: an absent method is plain.
    let code = authorize(&with_plain, "spa", &[("code_challenge", VERIFIER)]).await.unwrap();
    assert_eq!(exchange(&with_plain, "spa", &code, Some(VERIFIER)).await.0, 200);
    let code = authorize(&with_plain, "spa", &plain).await.unwrap();
    let (_, body) = exchange(&with_plain, "spa", &code, Some(&"b".repeat(43))).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn duplicated_pkce_parameter_is_redirected_invalid_request() {
    let server = server(CodeChallenge::required());
    let uri = format!(
        "{}&code_challenge={CHALLENGE}",
        authorize_uri("spa", &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")])
    );
    let err =
        server.validate_authorization_request(&http::Request::get(uri).body(Vec::new()).unwrap()).await.unwrap_err();
    assert!(err.is_redirect());
    let location = err.to_response().header("Location").unwrap().to_owned();
    let params = location_params(&location);
    assert_eq!(params.get("error"), Some("invalid_request"));
    assert_eq!(params.get("error_description"), Some("parameter code_challenge given more than once"));
    assert_eq!(params.get("state"), Some("st"));
}

#[tokio::test]
async fn pkce_enabled_by_plugin_name_enforces_its_config() {
    let store = MemoryStore::new();
    store
        .add_client(ClientRecord::confidential("web", "web-secret").with_redirect_uri(WEB_CB).with_scope("read"))
        .unwrap();
    let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example").unwrap());
    let pkce_config = serde_json::json!({"required": "all_clients", "methods": ["S256"]});
    server.enable_grant("authorization_code", &serde_json::Value::Null, &[("pkce", &pkce_config)]).unwrap();
    assert_eq!(authorize(&server, "web", &[]).await.unwrap_err(), "invalid_request");
    let code =
        authorize(&server, "web", &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]).await.unwrap();
    assert_eq!(exchange(&server, "web", &code, Some(VERIFIER)).await.0, 200);
    let registration = server.registry().registrations().next().unwrap();
    let metadata: Vec<_> = registration.extensions().map(|e| e.metadata()).collect();
    assert_eq!(metadata[0]["code_challenge_methods_supported"], serde_json::json!(["S256"]));
}
