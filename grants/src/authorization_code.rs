//! The authorization code grant (RFC 6749 §4.1).

use crate::storage_failure;
use grantry_core::storage::{AuthorizationCodeRecord, CodeRedemption, FamilyId, StorageError};
use grantry_core::{
    AccessGrant, Approval, AuthorizationRequest, ClientAuthMethod, CredentialKind, Grant, GrantContext, GrantMetadata,
    GrantType, MaybeReady, OAuthError, RedirectParams, ResponseType, TokenDigest, TokenRequest,
};
use std::sync::Arc;

/// The authorization code grant: `response_type=code` at the authorization endpoint,
/// `grant_type=authorization_code` at the token endpoint.
///
/// Codes are single-use and live for the server's code lifetime (10 minutes by default). They
/// are bound to the client, the redirect URI and the resource owner. A code presented a second
/// time is `invalid_grant`, and every token issued from it is revoked (RFC 6749 §4.1.2).
///
/// Allowed client authentication methods: `client_secret_basic`, `client_secret_post`, `none`.
#[derive(Debug, Default, Clone)]
pub struct AuthorizationCodeGrant {
    _private: (),
}

impl AuthorizationCodeGrant {
    /// The grant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Grant for AuthorizationCodeGrant {
    fn metadata(&self) -> GrantMetadata {
        GrantMetadata::token_endpoint(GrantType::AUTHORIZATION_CODE)
            .with_response_types([ResponseType::CODE])
            .with_auth_methods([
                ClientAuthMethod::CLIENT_SECRET_BASIC,
                ClientAuthMethod::CLIENT_SECRET_POST,
                ClientAuthMethod::NONE,
            ])
    }

    fn create_authorization_response<'a>(
        &'a self,
        request: &'a AuthorizationRequest,
        approval: &'a Approval,
        ctx: &'a GrantContext<'a>,
    ) -> MaybeReady<'a, Result<RedirectParams, OAuthError>> {
        let attributes = match ctx.code_attributes(request, approval) {
            Ok(attributes) => attributes,
            Err(err) => return MaybeReady::ready(Err(err)),
        };
        let code = ctx.generate(CredentialKind::AuthorizationCode);
        let record = AuthorizationCodeRecord {
            client_id: request.client.shared_client_id(),
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_given: request.redirect_uri_given,
            subject: Arc::from(approval.subject.as_str()),
            scope: approval.granted_scope(request),
            requested_scope: request.requested_scope.clone(),
            expires_at: ctx.now().saturating_add(ctx.config().code_ttl()),
            family: FamilyId::random(),
            attributes,
        };
        let saving = ctx.storage().codes.save_code(TokenDigest::of(&code), record);
        saving.map(|saved| saved.map(|()| vec![("code".to_owned(), code)]).map_err(storage_failure))
    }

    /// Answers at once when the store redeemed the code at once; a store that answers late,
    /// or a replay (which revokes the code's family), costs a boxed future.
    fn validate_token_request<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        let code = match req.client().and_then(|_| req.params.require("code")) {
            Ok(code) => code,
            Err(err) => return MaybeReady::ready(Err(err)),
        };
        req.ctx
            .storage()
            .codes
            .redeem_code(TokenDigest::of(code))
            .then(move |redemption| after_redemption(req, redemption))
    }
}

fn after_redemption<'a>(
    req: &'a TokenRequest<'a>,
    redemption: Result<CodeRedemption, StorageError>,
) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
    match redemption.map_err(storage_failure) {
        Ok(CodeRedemption::Redeemed(record)) => MaybeReady::ready(check(req, record)),
        Ok(CodeRedemption::AlreadyRedeemed { family }) => MaybeReady::boxed(async move {
            req.ctx.revoke_family(family).await?;
            Err(OAuthError::invalid_grant("authorization code was already used; the tokens issued from it are revoked"))
        }),
        Ok(CodeRedemption::NotFound) => MaybeReady::ready(Err(OAuthError::invalid_grant("unknown authorization code"))),
        Err(err) => MaybeReady::ready(Err(err)),
    }
}

/// The redeemed code's checks: its client, its expiry, the redirect URI (RFC 6749 §4.1.3).
fn check(req: &TokenRequest<'_>, record: AuthorizationCodeRecord) -> Result<AccessGrant, OAuthError> {
    let client = req.client()?;
    if *record.client_id != *client.client_id() {
        return Err(OAuthError::invalid_grant("authorization code was issued to another client"));
    }
    if req.ctx.now() >= record.expires_at {
        return Err(OAuthError::invalid_grant("authorization code has expired"));
    }
    match req.params.get("redirect_uri") {
        Some(uri) if uri == record.redirect_uri => {}
        Some(_) => {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
        }
        // RFC 6749 §4.1.3: required when the authorization request included it.
        None if record.redirect_uri_given => {
            return Err(OAuthError::invalid_request("missing parameter: redirect_uri"));
        }
        None => {}
    }
    let mut grant =
        AccessGrant::new(client.clone(), GrantType::AUTHORIZATION_CODE, record.scope, record.requested_scope)
            .for_subject(record.subject)
            .with_refresh_token();
    grant.family = Some(record.family);
    grant.attributes = record.attributes;
    Ok(grant)
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("authorization_code", "The authorization code grant (RFC 6749 section 4.1).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("authorization_code", config)?;
        Ok(Box::new(AuthorizationCodeGrant::new()))
    })
}
