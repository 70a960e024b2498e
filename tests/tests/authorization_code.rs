//! The authorization code grant (RFC 6749 §4.1), end to end: the authorization request and
//! response, its errors (direct or redirected), and the access token request.

mod common;

use common::late_store::LateStore;
use common::*;
use grantry_core::storage::TokenKind;
use grantry_core::{Approval, ClientRecord, Consent, GrantType, ResponseType, Scope, Storage};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Authorization request and response (§4.1.1, §4.1.2)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authorization_response_carries_code_in_query_and_state_verbatim() {
    let h = Harness::new();
    // A state full of characters that must survive encoding round trips (all VSCHAR, RFC 6749
    // Appendix A.5: anything else is refused).
    let state = "s t&a=t/e?+%~#\"<>";
    let response = h
        .authorize(
            &[
                ("response_type", "code"),
                ("client_id", WEB.0),
                ("redirect_uri", WEB_REDIRECT),
                ("scope", "read"),
                ("state", state),
            ],
            Consent::allow(USERNAME),
        )
        .await;

    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, WEB_REDIRECT);
    assert!(redirect.fragment.is_none(), "code flow uses the query");
    assert_eq!(redirect.query_param("state"), Some(state));
    assert!(redirect.query_param("error").is_none());
    let code = redirect.query_param("code").expect("a code");
    assert!(code.len() >= 32, "codes are unguessable: {code:?}");
}

#[tokio::test]
async fn authorization_request_by_post_form_is_accepted_and_other_methods_are_not() {
    let h = Harness::new();
    let form = [("response_type", "code"), ("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("state", "xyz")];

    let request = http::Request::post("/authorize").form(&form).unwrap();
    let validated = h.server.validate_authorization_request(&request).await.expect("valid POST request");
    let response = h.server.create_authorization_response(&validated, Consent::allow(USERNAME)).await;
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.query_param("state"), Some("xyz"));
    let code = redirect.query_param("code").expect("a code").to_owned();
    token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);

    let request = http::Request::put("/authorize").form(&form).unwrap();
    let error = h.server.validate_authorization_request(&request).await.expect_err("PUT");
    assert!(!error.is_redirect());
    assert_error(&error.to_response(), 400, "invalid_request");
}

#[tokio::test]
async fn access_token_request_exchanges_code_for_access_and_refresh_tokens() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), Some(FULL_SCOPE)).await;

    let response = h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await;

    // token_json checks 200, Content-Type, Cache-Control: no-store, Pragma: no-cache.
    let json = token_json(&response);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(response.header("Pragma"), Some("no-cache"));
    assert_eq!(json["expires_in"], 3600);
    assert!(json.get("scope").is_none(), "scope equals the requested one, so it is omitted: {json}");
    let access = field(&json, "access_token");
    let refresh = field(&json, "refresh_token");
    assert_ne!(access, refresh);

    let record = h.find_token(&access).await.expect("access token stored");
    assert_eq!(record.kind, TokenKind::Access);
    assert_eq!(&*record.client_id, WEB.0);
    assert_eq!(record.subject.as_deref(), Some(USERNAME));
    assert_eq!(record.grant_type, GrantType::AUTHORIZATION_CODE);
    assert_eq!(record.scope.to_string(), FULL_SCOPE);
    assert_eq!(record.expires_at, Some(START + 3600));
    let record = h.find_token(&refresh).await.expect("refresh token stored");
    assert_eq!(record.kind, TokenKind::Refresh);

    // The refresh token is usable.
    token_json(&h.refresh(WEB, &refresh, None).await);
}

#[tokio::test]
async fn access_token_response_has_no_refresh_token_when_client_is_not_allowed_refresh_token() {
    let h = Harness::new();
    let code = h.obtain_code(NO_REFRESH.0, Some(NO_REFRESH_REDIRECT), None).await;

    let json = token_json(&h.exchange_code(NO_REFRESH, &code, Some(NO_REFRESH_REDIRECT)).await);

    assert!(json.get("refresh_token").is_none(), "{json}");
    // No scope was requested: the response says what was granted.
    assert_eq!(json["scope"], FULL_SCOPE);
}

#[tokio::test]
async fn default_redirect_uri_is_used_when_exactly_one_is_registered() {
    let h = Harness::new();
    let response = h.authorize(&[("response_type", "code"), ("client_id", WEB.0)], Consent::allow(USERNAME)).await;

    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, WEB_REDIRECT);
    let code = redirect.query_param("code").expect("a code").to_owned();

    // The authorization request did not name redirect_uri, so the token request need not.
    token_json(&h.exchange_code(WEB, &code, None).await);
}

#[tokio::test]
async fn missing_redirect_uri_with_several_registered_is_a_direct_error() {
    let h = Harness::new();
    let result = h.validate(&[("response_type", "code"), ("client_id", MULTI.0), ("state", "xyz")]).await;

    let error = result.expect_err("no redirect URI can be chosen");
    assert!(!error.is_redirect());
    assert_error(&error.to_response(), 400, "invalid_request");

    // Naming either registered URI works.
    for uri in MULTI_REDIRECTS {
        let code = h.obtain_code(MULTI.0, Some(uri), None).await;
        token_json(&h.exchange_code(MULTI, &code, Some(uri)).await);
    }
}

#[tokio::test]
async fn mismatched_redirect_uri_is_a_direct_error_without_location() {
    let h = Harness::new();
    for uri in [
        "https://evil.example/callback",
        "https://web.example/callback/evil",
        "https://web.example/callback?x=1",
        "https://web.example/Callback",
        "http://web.example/callback",
        OTHER_REDIRECT,
    ] {
        let response = h
            .authorize(
                &[("response_type", "code"), ("client_id", WEB.0), ("redirect_uri", uri), ("state", "xyz")],
                Consent::allow(USERNAME),
            )
            .await;
        // assert_error also checks that there is no Location header.
        let json = assert_error(&response, 400, "invalid_request");
        assert!(!body_text(&response).contains(uri), "the error does not echo the URI: {json}");
    }
}

#[tokio::test]
async fn unknown_client_id_is_a_direct_error() {
    let h = Harness::new();
    let error = h
        .validate(&[
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", WEB_REDIRECT),
            ("state", "xyz"),
        ])
        .await
        .expect_err("unknown client");
    assert!(!error.is_redirect());
    assert_error(&error.to_response(), 400, "invalid_client");

    let error =
        h.validate(&[("response_type", "code"), ("redirect_uri", WEB_REDIRECT)]).await.expect_err("no client_id");
    assert!(!error.is_redirect());
    assert_error(&error.to_response(), 400, "invalid_request");
}

#[tokio::test]
async fn missing_response_type_redirects_invalid_request_with_state() {
    let h = Harness::new();
    let response = h
        .authorize(&[("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("state", "xyz")], Consent::allow(USERNAME))
        .await;

    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, WEB_REDIRECT);
    assert_eq!(redirect.query_param("error"), Some("invalid_request"));
    assert_eq!(redirect.query_param("state"), Some("xyz"));
    assert!(redirect.query_param("code").is_none());
}

#[tokio::test]
async fn unsupported_response_type_redirects_unsupported_response_type() {
    let h = Harness::new();

    // A well-formed response type no grant serves: the error goes in the query (RFC 6749
    // §4.1.2.1), as a code client reads it, not in the fragment its name might suggest.
    let response = h
        .authorize(&[("response_type", "id_token"), ("client_id", WEB.0), ("state", "xyz")], Consent::allow(USERNAME))
        .await;
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, WEB_REDIRECT);
    assert_eq!(redirect.query_param("error"), Some("unsupported_response_type"), "{}", redirect.location);
    assert_eq!(redirect.query_param("state"), Some("xyz"));
    assert!(!redirect.location.contains('#'));

    // A malformed response type: reported in the query.
    let response = h
        .authorize(&[("response_type", "co-de"), ("client_id", WEB.0), ("state", "xyz")], Consent::allow(USERNAME))
        .await;
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.query_param("error"), Some("unsupported_response_type"));
    assert_eq!(redirect.query_param("state"), Some("xyz"));
}

#[tokio::test]
async fn state_outside_vschar_is_invalid_request_and_not_echoed() {
    let h = Harness::new();
    for state in ["caf\u{e9}", "tab\there", "nul\u{0}", "line\nbreak"] {
        let response = h
            .authorize(&[("response_type", "code"), ("client_id", WEB.0), ("state", state)], Consent::allow(USERNAME))
            .await;
        let redirect = Redirect::of(&response);
        assert_eq!(redirect.query_param("error"), Some("invalid_request"), "{state:?}: {}", redirect.location);
        assert_eq!(redirect.query_param("state"), None, "{state:?}");
        assert!(redirect.query_param("code").is_none());
    }
    // Every printable ASCII character is a valid state, returned verbatim.
    let printable: String = (0x20u8..=0x7e).map(char::from).collect();
    let code = h
        .authorize(&[("response_type", "code"), ("client_id", WEB.0), ("state", &printable)], Consent::allow(USERNAME))
        .await;
    assert_eq!(Redirect::of(&code).query_param("state"), Some(printable.as_str()));
}

#[tokio::test]
async fn client_not_allowed_response_type_redirects_unauthorized_client() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::public("token-only")
            .with_redirect_uri("https://token-only.example/cb")
            .with_grant_types([GrantType::IMPLICIT])
            .with_response_types([ResponseType::TOKEN]),
    );

    let response = h
        .authorize(
            &[("response_type", "code"), ("client_id", "token-only"), ("state", "xyz")],
            Consent::allow(USERNAME),
        )
        .await;

    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, "https://token-only.example/cb");
    assert_eq!(redirect.query_param("error"), Some("unauthorized_client"));
    assert_eq!(redirect.query_param("state"), Some("xyz"));
    assert!(redirect.query_param("code").is_none());
}

#[tokio::test]
async fn invalid_scope_redirects_invalid_scope() {
    let h = Harness::new();
    for scope in ["read admin", "read \"x\""] {
        let response = h
            .authorize(
                &[("response_type", "code"), ("client_id", WEB.0), ("scope", scope), ("state", "xyz")],
                Consent::allow(USERNAME),
            )
            .await;
        let redirect = Redirect::of(&response);
        assert_eq!(redirect.target, WEB_REDIRECT);
        assert_eq!(redirect.query_param("error"), Some("invalid_scope"), "{scope}");
        assert_eq!(redirect.query_param("state"), Some("xyz"));
        assert!(redirect.query_param("code").is_none());
    }
}

#[tokio::test]
async fn resource_owner_denial_redirects_access_denied_with_state() {
    let h = Harness::new();
    let response =
        h.authorize(&[("response_type", "code"), ("client_id", WEB.0), ("state", "xyz")], Consent::Deny).await;

    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, WEB_REDIRECT);
    assert_eq!(redirect.query_param("error"), Some("access_denied"));
    assert_eq!(redirect.query_param("state"), Some("xyz"));
    assert!(redirect.query_param("code").is_none());
}

// ---------------------------------------------------------------------------------------------
// Access token request (§4.1.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn access_token_request_without_code_is_invalid_request() {
    let h = Harness::new();
    let response = h
        .token(&basic_token_request(WEB, &[("grant_type", "authorization_code"), ("redirect_uri", WEB_REDIRECT)]))
        .await;
    let json = assert_error(&response, 400, "invalid_request");
    assert_eq!(json["error_description"], "missing parameter: code");
}

#[tokio::test]
async fn unknown_code_is_invalid_grant() {
    let h = Harness::new();
    let response = h.exchange_code(WEB, "no-such-code", Some(WEB_REDIRECT)).await;
    assert_error(&response, 400, "invalid_grant");
}

#[tokio::test]
async fn code_issued_to_another_client_is_invalid_grant() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;

    // The other client authenticates correctly but presents web's code; so does a public
    // client, which needs no credentials at all.
    for redirect_uri in [WEB_REDIRECT, OTHER_REDIRECT] {
        let response = h.exchange_code(OTHER, &code, Some(redirect_uri)).await;
        assert_error(&response, 400, "invalid_grant");
    }
    let as_spa = token_request(&[("grant_type", "authorization_code"), ("code", &code), ("client_id", SPA)]);
    assert_error(&h.token(&as_spa).await, 400, "invalid_grant");
    assert_eq!(h.store.len().1, 0, "nothing issued");

    // The code is exactly as it was for its owner.
    token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);
}

#[tokio::test]
async fn a_replayed_code_from_another_client_revokes_nothing() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let tokens = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);

    let as_spa = token_request(&[("grant_type", "authorization_code"), ("code", &code), ("client_id", SPA)]);
    assert_error(&h.token(&as_spa).await, 400, "invalid_grant");
    assert_error(&h.exchange_code(OTHER, &code, Some(OTHER_REDIRECT)).await, 400, "invalid_grant");
    assert!(h.is_stored(&field(&tokens, "access_token")).await, "web's tokens live on");
    assert!(h.is_stored(&field(&tokens, "refresh_token")).await);
}

#[tokio::test]
async fn a_failed_check_by_the_owner_leaves_the_code_redeemable() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    assert_error(&h.exchange_code(WEB, &code, Some("https://evil.example/cb")).await, 400, "invalid_grant");
    assert_error(&h.exchange_code(WEB, &code, None).await, 400, "invalid_request");
    token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let h = Harness::new();
    let fresh = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let stale = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;

    // Just within the 600 s code lifetime, a code still works.
    h.clock.advance(599);
    token_json(&h.exchange_code(WEB, &fresh, Some(WEB_REDIRECT)).await);

    // Past it, it does not.
    h.clock.advance(2);
    let response = h.exchange_code(WEB, &stale, Some(WEB_REDIRECT)).await;
    let json = assert_error(&response, 400, "invalid_grant");
    assert_eq!(json["error_description"], "authorization code has expired");
}

#[tokio::test]
async fn redirect_uri_mismatch_at_token_endpoint_is_invalid_grant() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::confidential("two-uris", "two-uris-secret")
            .with_redirect_uri("https://two.example/a")
            .with_redirect_uri("https://two.example/b"),
    );
    let code = h.obtain_code("two-uris", Some("https://two.example/a"), None).await;

    // Another registered URI of the same client is still a mismatch.
    let response = h.exchange_code(("two-uris", "two-uris-secret"), &code, Some("https://two.example/b")).await;
    assert_error(&response, 400, "invalid_grant");

    let code = h.obtain_code(WEB.0, None, None).await;
    // Given at the token endpoint though omitted at authorization: it must still match.
    let response = h.exchange_code(WEB, &code, Some("https://evil.example/cb")).await;
    assert_error(&response, 400, "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_missing_at_token_endpoint_when_given_at_authorization_is_invalid_request() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;

    let response = h.exchange_code(WEB, &code, None).await;

    let json = assert_error(&response, 400, "invalid_request");
    assert_eq!(json["error_description"], "missing parameter: redirect_uri");
}

#[tokio::test]
async fn reused_code_is_invalid_grant_and_revokes_tokens_issued_from_it() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let json = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);
    let access = field(&json, "access_token");
    let refresh = field(&json, "refresh_token");
    assert!(h.is_stored(&access).await);
    assert!(h.is_stored(&refresh).await);

    let replay = h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await;

    assert_error(&replay, 400, "invalid_grant");
    assert!(!h.is_stored(&access).await, "access token survived the replay");
    assert!(!h.is_stored(&refresh).await, "refresh token survived the replay");
    assert_error(&h.refresh(WEB, &refresh, None).await, 400, "invalid_grant");
    // A third presentation is still refused.
    assert_error(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await, 400, "invalid_grant");
}

#[tokio::test]
async fn public_client_authenticates_with_client_id_only() {
    let h = Harness::new();
    let code = h.obtain_code(SPA, Some(SPA_REDIRECT), None).await;

    let response = h
        .token(&token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SPA_REDIRECT),
            ("client_id", SPA),
        ]))
        .await;

    let json = token_json(&response);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(&*record.client_id, SPA);
}

#[tokio::test]
async fn public_client_must_identify_itself() {
    let h = Harness::new();
    let code = h.obtain_code(SPA, Some(SPA_REDIRECT), None).await;

    let response = h
        .token(&token_request(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_REDIRECT)]))
        .await;

    assert_error(&response, 400, "invalid_client");
}

#[tokio::test]
async fn confidential_client_cannot_authenticate_with_client_id_only() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;

    let response = h
        .token(&token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", WEB.0),
        ]))
        .await;

    assert_error(&response, 400, "invalid_client");
}

#[tokio::test]
async fn narrowed_approval_makes_token_response_include_scope() {
    let h = Harness::new();
    let consent = Consent::Allow(Approval::new(USERNAME).with_scope(Scope::parse("read").expect("scope")));
    let code = h.obtain_code_with(WEB.0, Some(WEB_REDIRECT), Some(FULL_SCOPE), consent).await;

    let json = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);

    assert_eq!(json["scope"], "read");
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.scope.to_string(), "read");
}

#[tokio::test]
async fn approval_wider_than_requested_is_cut_back() {
    let h = Harness::new();
    let consent = Consent::Allow(Approval::new(USERNAME).with_scope(Scope::parse("read write admin").expect("scope")));
    let code = h.obtain_code_with(WEB.0, Some(WEB_REDIRECT), Some("read"), consent).await;

    let json = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);

    assert!(json.get("scope").is_none(), "granted = requested: {json}");
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.scope.to_string(), "read");
}

#[tokio::test]
async fn a_code_store_that_answers_late_gets_the_same_answers() {
    let h = Harness::custom_storage(
        |config| config,
        register_all_grants,
        |store| {
            let late = Arc::new(LateStore(store.clone()));
            Storage::new(store.clone(), late, store.clone(), store.clone(), store.clone(), store)
        },
    );
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let json = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);
    let (access, refresh) = (field(&json, "access_token"), field(&json, "refresh_token"));
    assert!(h.is_stored(&access).await && h.is_stored(&refresh).await);

    // The code again: a replay, which revokes what it produced.
    assert_error(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await, 400, "invalid_grant");
    assert!(!h.is_stored(&access).await && !h.is_stored(&refresh).await, "a token survived the replay");

    let other = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    assert_error(&h.exchange_code(WEB, &other, Some("https://evil.example/cb")).await, 400, "invalid_grant");
    assert_error(&h.exchange_code(WEB, "never-issued", Some(WEB_REDIRECT)).await, 400, "invalid_grant");
}
