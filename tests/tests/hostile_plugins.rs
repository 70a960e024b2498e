//! A plugin can decide, never break an engine invariant: one hostile grant or hook per attempt,
//! each refused by the engine with no token or code issued and nothing stored. (The attempts
//! the type system refuses, such as rewriting a validated request's redirect URI or changing an
//! issuance's subject, are `compile_fail` doctests beside the types.)

mod common;

use common::*;
use grantry_core::storage::{AuthorizationCodeRecord, AuthorizationCodeStore, FamilyId};
use grantry_core::{
    Approval, AuthorizationDecision, AuthorizationGrant, AuthorizationRequest, AuthorizationServer, ClientAuthMethod,
    ClientAuthMethods, ClientAuthentication, ClientRecord, Grant, GrantExtension, GrantType, Issuance, OAuthError,
    Params, RedirectParams, RegistryError, ResponseMembers, ResponseType, Scope, Serves, TokenDecision, TokenDigest,
    TokenGrant, TokenRequest,
};
use grantry_extensions::pkce::{CodeChallenge, s256_challenge};
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant};
use std::sync::Arc;

const HOSTILE: GrantType = GrantType::from_static("urn:example:params:oauth:grant-type:hostile");
const HOSTILE_NAME: &str = "urn:example:params:oauth:grant-type:hostile";
/// A confidential client allowed the hostile grant, with scope `read` only.
const APP: (&str, &str) = ("app", "app-secret");

/// A grant whose decision is whatever its function returns.
struct HostileGrant {
    decide: fn() -> TokenDecision,
    authentication: ClientAuthentication,
}

impl Grant for HostileGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(HOSTILE)
            .with_auth_methods(ClientAuthMethods::only([ClientAuthMethod::CLIENT_SECRET_BASIC]))
            .with_client_authentication(self.authentication)
    }
}

impl TokenGrant for HostileGrant {
    async fn exchange(&self, _: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        Ok((self.decide)())
    }
}

/// A hook on the issuance, after the engine checked the grant's decision.
type IssuanceHook = fn(&mut Issuance) -> Result<(), OAuthError>;
/// A hook on the token response's extra members.
type MembersHook = fn(&mut ResponseMembers) -> Result<(), OAuthError>;

/// Hooks that try what they may not.
#[derive(Default)]
struct HostileHook {
    after_token: Option<IssuanceHook>,
    before_issued: Option<MembersHook>,
    before_response: Option<fn(&mut RedirectParams)>,
}

impl GrantExtension for HostileHook {
    fn name(&self) -> &str {
        "hostile"
    }

    fn after_token_request_validated(&self, _: &Params, issuance: &mut Issuance) -> Result<(), OAuthError> {
        self.after_token.map_or(Ok(()), |hook| hook(issuance))
    }

    fn before_token_issued(&self, _: &Issuance, members: &mut ResponseMembers) -> Result<(), OAuthError> {
        self.before_issued.map_or(Ok(()), |hook| hook(members))
    }

    fn before_authorization_response(&self, params: &mut RedirectParams) {
        if let Some(hook) = self.before_response {
            hook(params);
        }
    }
}

fn harness(grant: HostileGrant, hook: HostileHook) -> Harness {
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(grant, hook).expect("register");
            server.register_grant(ClientCredentialsGrant::new(), ()).expect("register");
        },
    );
    h.add_client(ClientRecord::confidential(APP.0, APP.1).with_grant_types([HOSTILE]).with_scope("read"));
    h
}

fn decides(decide: fn() -> TokenDecision) -> HostileGrant {
    HostileGrant { decide, authentication: ClientAuthentication::Required }
}

async fn hostile_request(h: &Harness, extra: &[(&str, &str)]) -> grantry_core::Response {
    let mut form = vec![("grant_type", HOSTILE_NAME)];
    form.extend_from_slice(extra);
    h.token(&basic_token_request(APP, &form)).await
}

/// The hostile grant's request with no client authentication.
async fn anonymous(h: &Harness) -> grantry_core::Response {
    h.token(&token_request(&[("grant_type", HOSTILE_NAME)])).await
}

fn assert_nothing_stored(h: &Harness) {
    assert_eq!(h.store.len(), (0, 0), "no code and no token stored");
}

#[tokio::test]
async fn a_grant_cannot_grant_a_scope_wider_than_the_clients() {
    let h = harness(
        decides(|| TokenDecision::for_user("alice").within(Scope::parse("admin superuser").unwrap())),
        HostileHook::default(),
    );
    let response = hostile_request(&h, &[]).await;
    assert_error(&response, 400, "invalid_scope");
    assert_nothing_stored(&h);

    // Nor can a client ask for more than it may have, whatever the grant says.
    let h = harness(decides(TokenDecision::for_client), HostileHook::default());
    assert_error(&hostile_request(&h, &[("scope", "read admin")]).await, 400, "invalid_scope");
    assert_nothing_stored(&h);

    // A narrowing is honoured.
    let h = harness(decides(|| TokenDecision::for_client().within(Scope::empty())), HostileHook::default());
    let json = token_json(&hostile_request(&h, &[]).await);
    assert_eq!(h.find_token(&field(&json, "access_token")).await.expect("stored").scope, Scope::empty());
}

#[tokio::test]
async fn a_grant_cannot_swap_the_authenticated_client() {
    let h = harness(decides(|| TokenDecision::for_user("alice").identified_client(SVC.0)), HostileHook::default());
    let response = hostile_request(&h, &[]).await;
    let json = assert_error(&response, 400, "invalid_grant");
    assert!(field(&json, "error_description").contains("other than the authenticated one"), "{json}");
    assert_nothing_stored(&h);
}

#[tokio::test]
async fn a_client_a_grant_identifies_is_looked_up_and_checked_by_the_engine() {
    let optional = |decide| HostileGrant { decide, authentication: ClientAuthentication::Optional };

    // Unknown to the store.
    let h = harness(optional(|| TokenDecision::for_client().identified_client("nobody")), HostileHook::default());
    assert_error(&anonymous(&h).await, 400, "invalid_grant");
    assert_nothing_stored(&h);

    // Registered, but not allowed this grant type.
    let h = harness(optional(|| TokenDecision::for_client().identified_client(SVC.0)), HostileHook::default());
    assert_error(&anonymous(&h).await, 400, "unauthorized_client");
    assert_nothing_stored(&h);

    // No client at all.
    let h = harness(optional(TokenDecision::for_client), HostileHook::default());
    assert_error(&anonymous(&h).await, 400, "invalid_client");
    assert_nothing_stored(&h);

    // A grant whose client authentication is required cannot name a client when none
    // authenticated, even with the grant's declaration lying about nothing else.
    let h = harness(decides(|| TokenDecision::for_client().identified_client(APP.0)), HostileHook::default());
    assert_error(&anonymous(&h).await, 400, "invalid_client");
    assert_nothing_stored(&h);

    // The client it names, allowed the grant: its own token, within its own scope.
    let h = harness(optional(|| TokenDecision::for_client().identified_client(APP.0)), HostileHook::default());
    let json = token_json(&anonymous(&h).await);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!((&*record.client_id, record.scope.to_string()), (APP.0, "read".to_owned()));
}

#[tokio::test]
async fn a_hook_cannot_widen_the_scope() {
    let hook = HostileHook {
        after_token: Some(|issuance| issuance.narrow_scope(Scope::parse("read admin").unwrap())),
        ..Default::default()
    };
    let h = harness(decides(|| TokenDecision::for_user("alice")), hook);
    assert_error(&hostile_request(&h, &[]).await, 400, "invalid_scope");
    assert_nothing_stored(&h);

    // A hook that ignores the refusal has changed nothing.
    let hook = HostileHook {
        after_token: Some(|issuance| {
            let _ = issuance.narrow_scope(Scope::parse("read admin").unwrap());
            Ok(())
        }),
        ..Default::default()
    };
    let h = harness(decides(|| TokenDecision::for_user("alice")), hook);
    let json = token_json(&hostile_request(&h, &[]).await);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!((record.scope.to_string(), record.subject.as_deref()), ("read".to_owned(), Some("alice")));
}

#[tokio::test]
async fn a_hook_cannot_set_what_the_engine_owns_in_the_token_response() {
    let attempts: [(&str, MembersHook); 6] = [
        ("access_token", |m| m.insert("access_token", "forged")),
        ("refresh_token", |m| m.insert("refresh_token", "forged")),
        ("expires_in", |m| m.insert("expires_in", 999_999)),
        ("token_type", |m| m.insert("token_type", "mac")),
        ("scope", |m| m.insert("scope", "admin")),
        ("id_token", |m| m.insert("id_token", "forged")),
    ];
    for (member, insert) in attempts {
        let hook = HostileHook { before_issued: Some(insert), ..Default::default() };
        let h = harness(decides(|| TokenDecision::for_user("alice")), hook);
        let response = hostile_request(&h, &[]).await;
        let json = assert_error(&response, 500, "server_error");
        assert!(field(&json, "error_description").contains(member), "{member}: {json}");
        assert_nothing_stored(&h);
    }
}

#[tokio::test]
async fn what_is_sent_is_what_is_stored_whatever_a_hook_tries() {
    // The hook tries to add a refresh token and a longer lifetime, and ignores the refusals.
    let hook = HostileHook {
        before_issued: Some(|members| {
            let _ = members.insert("refresh_token", "forged");
            let _ = members.insert("expires_in", 999_999);
            members.insert("note", "kept")
        }),
        ..Default::default()
    };
    let h = harness(decides(|| TokenDecision::for_user("alice")), hook);
    let json = token_json(&hostile_request(&h, &[]).await);
    assert_eq!(json["note"], "kept");
    assert!(json.get("refresh_token").is_none(), "the engine decided against one: {json}");
    let record = h.find_token(&field(&json, "access_token")).await.expect("the access token sent is stored");
    let stored_lifetime = record.expires_at.expect("expires") - record.issued_at;
    assert_eq!(json["expires_in"], stored_lifetime, "expires_in is the stored expiry");
    assert_eq!(h.store.len(), (0, 1), "one token stored: the access token");
}

#[tokio::test]
async fn a_hook_cannot_replace_the_code_or_state_of_an_authorization_response() {
    let hook = HostileHook {
        before_response: Some(|params| {
            assert!(params.set("code", "forged").is_err());
            assert!(params.set("state", "forged").is_err());
            assert!(params.set("access_token", "forged").is_err());
            params.set("iss_extra", "allowed").expect("an extension's own parameter");
        }),
        ..Default::default()
    };
    let h = Harness::custom(
        |c| c,
        |server| {
            server.register_grant(AuthorizationCodeGrant::new(), hook).expect("register");
        },
    );
    let response = h
        .authorize(
            &[("response_type", "code"), ("client_id", WEB.0), ("state", "s1")],
            grantry_core::Consent::allow(USERNAME),
        )
        .await;
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.query_param("state"), Some("s1"));
    assert_eq!(redirect.query_param("iss_extra"), Some("allowed"));
    let code = redirect.query_param("code").expect("code");
    assert_ne!(code, "forged");
    assert_eq!(h.exchange_code(WEB, code, None).await.status().as_u16(), 200, "the engine's code is the one sent");
}

const CUSTOM_CODE_NAME: &str = "urn:example:params:oauth:grant-type:custom-code";
const CUSTOM_CODE: GrantType = GrantType::from_static(CUSTOM_CODE_NAME);

/// A user-written code grant under its own grant type: it only decides to answer with a code,
/// and asks the engine to redeem one. It never touches the code's data.
struct CustomCodeGrant;

impl Grant for CustomCodeGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(CUSTOM_CODE)
            .and_authorization_endpoint([ResponseType::CODE])
            .with_auth_methods(ClientAuthMethods::any())
    }
}

impl AuthorizationGrant for CustomCodeGrant {
    async fn respond(&self, _: &AuthorizationRequest, _: &Approval) -> Result<AuthorizationDecision, OAuthError> {
        Ok(AuthorizationDecision::code())
    }
}

impl TokenGrant for CustomCodeGrant {
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        Ok(TokenDecision::from_code(request.redeem_code(request.params().require("code")?).await?))
    }
}

#[tokio::test]
async fn a_custom_code_grant_cannot_drop_the_pkce_challenge() {
    let h = Harness::custom(
        |c| c,
        |server| {
            server.register_grant(CustomCodeGrant, CodeChallenge::required()).expect("register");
        },
    );
    h.add_client(
        ClientRecord::public("pub")
            .with_redirect_uri("https://pub.example/cb")
            .with_grant_types([CUSTOM_CODE])
            .with_scope("read"),
    );
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = s256_challenge(verifier);
    let authorize = [
        ("response_type", "code"),
        ("client_id", "pub"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let exchange = |code: &str, verifier: Option<&str>| {
        let mut form = vec![("grant_type", CUSTOM_CODE_NAME), ("code", code), ("client_id", "pub")];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        token_request(&form)
    };

    // The engine stored the challenge with the code although the grant never saw it: without
    // the verifier the code is refused, and only the right verifier redeems one.
    let response = h.authorize(&authorize, grantry_core::Consent::allow(USERNAME)).await;
    let code = Redirect::of(&response).query_param("code").expect("code").to_owned();
    assert_error(&h.token(&exchange(&code, None)).await, 400, "invalid_request");
    assert_eq!(h.store.len().1, 0, "no token issued");

    let response = h.authorize(&authorize, grantry_core::Consent::allow(USERNAME)).await;
    let code = Redirect::of(&response).query_param("code").expect("code").to_owned();
    assert_eq!(h.token(&exchange(&code, Some(verifier))).await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_code_without_a_challenge_is_refused_where_pkce_is_required() {
    let h = Harness::custom(
        |c| c,
        |server| {
            server
                .register_grant(AuthorizationCodeGrant::new(), CodeChallenge::for_public_clients())
                .expect("register");
        },
    );
    // Codes minted some other way, with no challenge: one for the public client, one for a
    // confidential client.
    let mint = |client_id: &str, code: &str| {
        let record = AuthorizationCodeRecord {
            client_id: Arc::from(client_id),
            redirect_uri: format!("https://{client_id}.example/callback"),
            redirect_uri_given: false,
            subject: Arc::from(USERNAME),
            scope: Scope::parse("read").unwrap(),
            requested_scope: None,
            expires_at: START + 600,
            family: FamilyId::random(),
            attributes: Default::default(),
        };
        let store = h.store.clone();
        let code = TokenDigest::of(code);
        async move { store.save_code(code, record).await.expect("saved") }
    };
    mint(SPA, "spa-code").await;
    mint(WEB.0, "web-code").await;

    let spa = token_request(&[("grant_type", "authorization_code"), ("code", "spa-code"), ("client_id", SPA)]);
    let json = assert_error(&h.token(&spa).await, 400, "invalid_grant");
    assert!(field(&json, "error_description").contains("without code_challenge"), "{json}");
    assert_eq!(h.store.len().1, 0, "no token issued");

    // PKCE is not required of the confidential client: its code is redeemed.
    assert_eq!(h.exchange_code(WEB, "web-code", None).await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_registration_can_only_narrow_what_a_grant_declared() {
    let mut server =
        AuthorizationServer::new(grantry_core::MemoryStore::new(), grantry_core::ServerConfig::new(ISSUER).unwrap());
    let registered = server.register_grant(decides(TokenDecision::for_client), ()).expect("register");
    let err = registered.restrict_auth_methods([ClientAuthMethod::CLIENT_SECRET_POST]).map(|_| ()).unwrap_err();
    assert_eq!(err, RegistryError::WidensAuthMethods(ClientAuthMethod::CLIENT_SECRET_POST));
    let registration = server.registry().by_grant_type(HOSTILE_NAME).expect("registered").1;
    assert_eq!(registration.metadata().auth_methods().listed(), Some(&[ClientAuthMethod::CLIENT_SECRET_BASIC][..]));
    assert_eq!(server.revocation_auth_methods(), [ClientAuthMethod::CLIENT_SECRET_BASIC]);
}

/// A user-written grant serving `response_type=token` for any client.
struct CustomTokenResponse;

impl Grant for CustomTokenResponse {
    fn serves(&self) -> Serves<Self> {
        Serves::authorization_endpoint([ResponseType::TOKEN])
    }
}

impl AuthorizationGrant for CustomTokenResponse {
    async fn respond(&self, _: &AuthorizationRequest, _: &Approval) -> Result<AuthorizationDecision, OAuthError> {
        Ok(AuthorizationDecision::access_token())
    }
}

#[tokio::test]
async fn an_access_token_in_the_fragment_needs_a_client_allowed_the_implicit_grant() {
    let h = Harness::custom(
        |c| c,
        |server| {
            server.register_grant(CustomTokenResponse, ()).expect("register");
        },
    );
    // Allowed the `token` response type, but not the implicit grant.
    h.add_client(
        ClientRecord::public("sly")
            .with_redirect_uri("https://sly.example/cb")
            .with_response_types([ResponseType::TOKEN])
            .with_scope("read"),
    );
    let response =
        h.authorize(&[("response_type", "token"), ("client_id", "sly")], grantry_core::Consent::allow(USERNAME)).await;
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.fragment_param("error"), Some("unauthorized_client"), "{}", redirect.location);
    assert!(redirect.fragment_param("access_token").is_none());
    assert_nothing_stored(&h);
}

#[tokio::test]
async fn a_hook_cannot_forge_an_actor_or_an_audience() {
    // `act.sub` and `aud` are the engine's, set from a token exchange's decision only.
    let hook = HostileHook {
        after_token: Some(|issuance| {
            issuance.attributes_mut().insert("act.sub".into(), "admin".into());
            issuance.attributes_mut().insert("aud".into(), "https://bank.example".into());
            Ok(())
        }),
        ..Default::default()
    };
    let h = harness(decides(|| TokenDecision::for_user("alice")), hook);
    let json = token_json(&hostile_request(&h, &[]).await);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.attributes.get("act.sub"), None, "{:?}", record.attributes);
    assert_eq!(record.attributes.get("aud"), None);
    assert!(json.get("issued_token_type").is_none(), "not an exchange");
}

/// A grant with its own endpoint that tries to start two pending authorizations in one
/// request (the second under another user code).
struct GreedyDeviceGrant;

const GREEDY: GrantType = GrantType::from_static("urn:example:params:oauth:grant-type:greedy");

impl Grant for GreedyDeviceGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GREEDY)
            .and_endpoint(grantry_core::GrantEndpoint::new("/greedy", "greedy_endpoint"))
            .with_auth_methods(ClientAuthMethods::any())
    }
}

impl TokenGrant for GreedyDeviceGrant {
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        Ok(TokenDecision::from_pending(request.poll_pending(request.params().require("code")?).await?))
    }
}

impl grantry_core::EndpointGrant for GreedyDeviceGrant {
    async fn serve_endpoint(
        &self,
        request: &grantry_core::EndpointRequest<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
        request.start_pending("FIRSTCODE", 600, 5).await?;
        request.start_pending("SECONDCODE", 600, 5).await?;
        Ok(serde_json::Map::new())
    }
}

#[tokio::test]
async fn a_grant_endpoint_starts_at_most_one_pending_authorization_a_request() {
    use grantry_core::request::FormBody;
    let store = grantry_core::MemoryStore::new();
    store.add_client(ClientRecord::public("tv").with_grant_types([GREEDY]).with_scope("read")).unwrap();
    let config = grantry_core::ServerConfig::new("https://auth.example").unwrap();
    let mut server = AuthorizationServer::new(store, config);
    server.register_grant(GreedyDeviceGrant, ()).unwrap();
    let request = grantry_core::http::Request::post("/greedy").form(&[("client_id", "tv")]).unwrap();
    let response = server.grant_endpoint("/greedy", &request).await.unwrap();
    assert_eq!(response.status(), 500, "the second start is refused, and so the request");
    assert!(server.find_pending("FIRSTCODE", "test").await.unwrap().is_some(), "the first was saved");
    assert!(server.find_pending("SECONDCODE", "test").await.unwrap().is_none(), "the second never was");
}
