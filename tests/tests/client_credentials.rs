//! The client credentials grant (RFC 6749 §4.4) and client authentication at the token
//! endpoint (RFC 6749 §2.3.1, §5.2).

mod common;

use common::*;
use grantry_core::storage::TokenKind;
use grantry_core::{
    AuthorizationServer, ClientAuthMethod, ClientRecord, GrantType, MemoryStore, RegistryError, ServerConfig,
};
use grantry_grants::ClientCredentialsGrant;

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials")];

fn cc_with_scope(scope: &str) -> Vec<(&str, &str)> {
    vec![("grant_type", "client_credentials"), ("scope", scope)]
}

/// A server whose client credentials grant also allows `client_secret_post`, with a client
/// registered for it.
const SVC_POST: (&str, &str) = ("svc-post", "svc-post-secret");

fn harness_allowing_client_secret_post() -> Harness {
    let h = Harness::custom(
        |config| config,
        |server| {
            register_allowing(
                server,
                ClientCredentialsGrant::new(),
                [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::CLIENT_SECRET_POST],
            );
        },
    );
    h.add_client(
        ClientRecord::confidential(SVC_POST.0, SVC_POST.1)
            .with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST)
            .with_grant_types([GrantType::CLIENT_CREDENTIALS])
            .with_scope(FULL_SCOPE),
    );
    h
}

#[tokio::test]
async fn client_credentials_grant_with_basic_issues_access_token_without_refresh_token() {
    let h = Harness::new();
    // Even a client allowed the refresh_token grant gets none from client credentials.
    h.add_client(
        ClientRecord::confidential("svc-refresh", "svc-refresh-secret")
            .with_grant_types([GrantType::CLIENT_CREDENTIALS, GrantType::REFRESH_TOKEN])
            .with_scope(FULL_SCOPE),
    );

    for client in [SVC, ("svc-refresh", "svc-refresh-secret")] {
        let json = token_json(&h.token(&basic_token_request(client, &cc_with_scope("read"))).await);
        assert_eq!(json["expires_in"], 3600);
        assert!(json.get("refresh_token").is_none(), "{json}");

        let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
        assert_eq!(record.kind, TokenKind::Access);
        assert_eq!(&*record.client_id, client.0);
        assert_eq!(record.subject, None, "the token acts for no user");
        assert_eq!(record.grant_type, GrantType::CLIENT_CREDENTIALS);
        assert_eq!(record.scope.to_string(), "read");
    }
}

#[tokio::test]
async fn omitted_scope_grants_client_full_scope_and_states_it() {
    let h = Harness::new();

    let json = token_json(&h.token(&basic_token_request(SVC, CC)).await);

    assert_eq!(json["scope"], FULL_SCOPE);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.scope.to_string(), FULL_SCOPE);
}

#[tokio::test]
async fn scope_equal_to_requested_is_omitted_from_response() {
    let h = Harness::new();

    // Same set, different order and spacing.
    for scope in [FULL_SCOPE, "write read", "read  write"] {
        let json = token_json(&h.token(&basic_token_request(SVC, &cc_with_scope(scope))).await);
        assert!(json.get("scope").is_none(), "{scope:?}: {json}");
    }
}

#[tokio::test]
async fn scope_wider_than_allowed_is_invalid_scope() {
    let h = Harness::new();

    let response = h.token(&basic_token_request(SVC, &cc_with_scope("read write admin"))).await;

    assert_error(&response, 400, "invalid_scope");
}

#[tokio::test]
async fn malformed_scope_is_invalid_scope() {
    let h = Harness::new();

    for scope in ["read \"write\"", "read\\", "caf\u{e9}", "read\twrite"] {
        let response = h.token(&basic_token_request(SVC, &cc_with_scope(scope))).await;
        assert_error(&response, 400, "invalid_scope");
    }
}

#[tokio::test]
async fn public_client_cannot_use_client_credentials_grant() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::public("public-cc").with_grant_types([GrantType::CLIENT_CREDENTIALS]).with_scope(FULL_SCOPE),
    );

    // client_id alone (the `none` method) is not allowed for this grant.
    let response = h.token(&token_request(&[("grant_type", "client_credentials"), ("client_id", "public-cc")])).await;
    assert_error(&response, 400, "invalid_client");

    // A public client has no secret, so no Basic credentials can succeed either.
    let response = h.token(&basic_token_request(("public-cc", ""), CC)).await;
    assert_error(&response, 401, "invalid_client");
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials_and_none_cannot_be_allowed_for_it() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::public("public-cc").with_grant_types([GrantType::CLIENT_CREDENTIALS]).with_scope(FULL_SCOPE),
    );

    let response = h.token(&token_request(&[("grant_type", "client_credentials"), ("client_id", "public-cc")])).await;
    // 400: no Authorization header was used (RFC 6749 §5.2).
    assert_error(&response, 400, "invalid_client");
    assert_eq!(h.store.len(), (0, 0), "nothing issued");

    // The grant allows only methods that prove the client: a registration cannot add `none`.
    let mut server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://as.example").unwrap());
    let refused = server
        .register_grant(ClientCredentialsGrant::new(), ())
        .expect("register")
        .restrict_auth_methods([ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::NONE])
        .map(|_| ());
    assert_eq!(refused, Err(RegistryError::WidensAuthMethods(ClientAuthMethod::NONE)));
}

#[tokio::test]
async fn wrong_secret_with_basic_is_401_with_basic_challenge() {
    let h = Harness::new();

    let response = h.token(&basic_token_request((SVC.0, "wrong-secret"), CC)).await;

    let json = assert_error(&response, 401, "invalid_client");
    let challenge = response.header("WWW-Authenticate").expect("a challenge");
    assert!(challenge.starts_with("Basic"), "{challenge}");
    assert!(json.get("access_token").is_none());
}

#[tokio::test]
async fn wrong_secret_with_client_secret_post_is_400_without_challenge() {
    let h = harness_allowing_client_secret_post();

    let response = h
        .token(&token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", SVC_POST.0),
            ("client_secret", "wrong-secret"),
        ]))
        .await;
    assert_error(&response, 400, "invalid_client");
    assert!(response.header("WWW-Authenticate").is_none());

    // The right secret works: the failure above was the secret.
    let response = h
        .token(&token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", SVC_POST.0),
            ("client_secret", SVC_POST.1),
        ]))
        .await;
    token_json(&response);
}

#[tokio::test]
async fn client_registered_for_another_method_is_invalid_client() {
    let h = harness_allowing_client_secret_post();

    // svc registered client_secret_basic: the right secret through the body is refused.
    let response = h
        .token(&token_request(&[("grant_type", "client_credentials"), ("client_id", SVC.0), ("client_secret", SVC.1)]))
        .await;
    assert_error(&response, 400, "invalid_client");

    // svc-post registered client_secret_post: the right secret through Basic is refused.
    let response = h.token(&basic_token_request(SVC_POST, CC)).await;
    assert_error(&response, 401, "invalid_client");
}

#[tokio::test]
async fn unknown_client_is_invalid_client_indistinguishable_from_wrong_secret() {
    let h = Harness::new();

    let unknown = h.token(&basic_token_request(("nobody", SVC.1), CC)).await;
    let wrong = h.token(&basic_token_request((SVC.0, "wrong-secret"), CC)).await;

    let unknown_json = assert_error(&unknown, 401, "invalid_client");
    let wrong_json = assert_error(&wrong, 401, "invalid_client");
    assert_eq!(unknown_json["error_description"], wrong_json["error_description"]);
    assert_eq!(unknown_json, wrong_json);
    assert_eq!(unknown.header("WWW-Authenticate"), wrong.header("WWW-Authenticate"));
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::confidential("my client", "p:ss w/rd")
            .with_grant_types([GrantType::CLIENT_CREDENTIALS])
            .with_scope(FULL_SCOPE),
    );

    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    let header = basic_raw("my+client:p%3Ass+w%2Frd");
    assert_eq!(header, basic("my client", "p:ss w/rd"));
    let response = h.token(&token_request(CC).with_header("Authorization", header)).await;
    let json = token_json(&response);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(&*record.client_id, "my client");

    // Any form encoding of the same characters is accepted.
    let response =
        h.token(&token_request(CC).with_header("Authorization", basic_raw("my%20client:p%3ass%20w/rd"))).await;
    token_json(&response);

    // An encoded plus is a literal plus, not a space: that client does not exist.
    let response =
        h.token(&token_request(CC).with_header("Authorization", basic_raw("my%2Bclient:p%3Ass+w%2Frd"))).await;
    assert_error(&response, 401, "invalid_client");
    // Nor does an encoded space in the secret stand for a plus.
    let response =
        h.token(&token_request(CC).with_header("Authorization", basic_raw("my+client:p%3Ass%2Bw%2Frd"))).await;
    assert_error(&response, 401, "invalid_client");
}

#[tokio::test]
async fn malformed_basic_credentials_are_invalid_client() {
    let h = Harness::new();

    for value in ["Basic !!!not-base64!!!", &basic_raw("no-colon"), &basic_raw(":secret-without-id")] {
        let response = h.token(&token_request(CC).with_header("Authorization", value)).await;
        assert_error(&response, 401, "invalid_client");
        assert!(response.header("WWW-Authenticate").is_some_and(|c| c.starts_with("Basic")));
    }
}

#[tokio::test]
async fn basic_and_client_secret_in_body_together_is_invalid_request() {
    let h = Harness::new();

    let response = h
        .token(&basic_token_request(
            SVC,
            &[("grant_type", "client_credentials"), ("client_id", SVC.0), ("client_secret", SVC.1)],
        ))
        .await;

    assert_error(&response, 400, "invalid_request");
}

#[tokio::test]
async fn confidential_client_sending_only_client_id_is_invalid_client() {
    let h = Harness::new();

    let response = h.token(&token_request(&[("grant_type", "client_credentials"), ("client_id", SVC.0)])).await;

    assert_error(&response, 400, "invalid_client");
    assert!(response.header("WWW-Authenticate").is_none());
}

#[tokio::test]
async fn no_client_authentication_is_invalid_client() {
    let h = Harness::new();

    let response = h.token(&token_request(CC)).await;

    assert_error(&response, 400, "invalid_client");
}

#[tokio::test]
async fn unsupported_grant_type_is_unsupported_grant_type() {
    let h = Harness::new();

    for grant_type in ["urn:example:unknown", "implicit", "token", "client_credential"] {
        let response = h.token(&basic_token_request(SVC, &[("grant_type", grant_type)])).await;
        assert_error(&response, 400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let h = Harness::new();

    for form in [&[][..], &[("grant_type", "")][..], &[("scope", "read")][..]] {
        let response = h.token(&basic_token_request(SVC, form)).await;
        let json = assert_error(&response, 400, "invalid_request");
        assert_eq!(json["error_description"], "missing parameter: grant_type");
    }
}

/// RFC 6749 §5.2: a failed attempt through the Authorization header is 401 with a challenge,
/// whatever the scheme, at every endpoint that authenticates clients.
#[tokio::test]
async fn authorization_header_failures_are_401_with_a_basic_challenge() {
    let h = Harness::new();
    for header in ["Basic", "Basic ", "Basic !!!", "Bearer abc", "Digest username=\"svc\"", "svc:svc-secret"] {
        for (path, form) in [
            ("/token", vec![("grant_type", "client_credentials")]),
            ("/revoke", vec![("token", "x")]),
            ("/introspect", vec![("token", "x")]),
        ] {
            // With a client_id in the body too: the header attempt is not ignored.
            let mut form = form;
            form.push(("client_id", SPA));
            let request = http::Request::post(path).header("Authorization", header).form(&form).unwrap();
            let response = match path {
                "/token" => h.server.token_endpoint(&request).await,
                "/revoke" => h.server.revocation_endpoint(&request).await,
                _ => h.server.introspection_endpoint(&request).await,
            };
            assert_error(&response, 401, "invalid_client");
            let challenge = response.header("WWW-Authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Basic realm="), "{header} at {path}: {challenge:?}");
        }
    }
    assert_eq!(h.store.len(), (0, 0), "nothing issued");
}
