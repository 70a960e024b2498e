//! The device authorization grant (RFC 8628) over HTTP against the example server: driven
//! end to end by the `oauth2` crate's device flow, and each of its answers (§3.2, §3.5), the
//! verification page's single use and throttling, from the outside.

mod http_support;

use http_support::*;
use oauth2::{DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse};
use serde_json::Value;
use std::time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The demo server, polled every second.
async fn start() -> TestServer {
    start_with(|config| config.device_poll_interval = 1).await
}

/// `POST /device_authorization` for the public client `tv`.
async fn device_authorization(server: &TestServer, scope: &str) -> Value {
    let reply = server.post_form("/device_authorization", &[("client_id", "tv"), ("scope", scope)]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json()
}

/// One poll of the token endpoint by `client_id`.
async fn poll(server: &TestServer, device_code: &str, client_id: &str) -> Reply {
    server
        .post_form("/token", &[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client_id)])
        .await
}

/// The user's visit: open `verification_uri_complete`, sign in as alice, answer `consent`.
async fn user_decides(server: &TestServer, verification_uri_complete: &str, consent: &str) -> Reply {
    let page = server.get(verification_uri_complete).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Demo TV app"), "the page names the client");
    assert!(page.text.contains("Read your data"), "the page shows the scopes");
    submit_device_form(server, &page, None, consent).await
}

/// Submits the device form of `page` (its CSRF token and pre-filled code, or `code`).
async fn submit_device_form(server: &TestServer, page: &Reply, code: Option<&str>, consent: &str) -> Reply {
    let csrf = hidden_inputs(&page.text).into_iter().find(|(n, _)| n == "csrf_token").unwrap().1;
    let prefilled = input_value(&page.text, "user_code");
    let code = code.unwrap_or(&prefilled).to_owned();
    let form = [
        ("csrf_token", csrf.as_str()),
        ("user_code", code.as_str()),
        ("username", "alice"),
        ("password", "wonderland"),
        ("consent", consent),
    ];
    let mut request = server.http.post(format!("{}/device", server.base)).form(&form);
    if let Some(cookie) = server.browser_cookie() {
        request = request.header("cookie", cookie);
    }
    Reply::of(request.send().await.unwrap()).await
}

/// The `value` of the input named `name`.
fn input_value(html: &str, name: &str) -> String {
    let tag = html.split("<input").find(|tag| tag.contains(&format!("name=\"{name}\""))).unwrap();
    let start = tag.find(" value=\"").map(|i| i + 8).unwrap_or(0);
    tag[start..start + tag[start..].find('"').unwrap()].to_owned()
}

fn error_of(reply: &Reply) -> String {
    reply.json()["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_oauth2_crate_drives_the_device_flow_end_to_end() {
    let server = start().await;
    assert_eq!(server.endpoint("device_authorization_endpoint"), format!("{}/device_authorization", server.base));
    assert!(server.metadata["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));
    let client = server.oauth_client("tv", None, None).set_device_authorization_url(
        DeviceAuthorizationUrl::new(server.endpoint("device_authorization_endpoint")).unwrap(),
    );
    let details: StandardDeviceAuthorizationResponse =
        client.exchange_device_code().add_scope(Scope::new("read".into())).request_async(&server.http).await.unwrap();
    assert_eq!(details.verification_uri().as_str(), format!("{}/device", server.base));
    let user_code = details.user_code().secret().clone();
    assert!(user_code.len() == 9 && user_code.as_bytes()[4] == b'-', "{user_code}");
    assert_eq!(details.interval(), Duration::from_secs(1));

    // The user approves on another device while the client polls.
    let complete = details.verification_uri_complete().unwrap().secret().clone();
    let approve = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let reply = user_decides(&server, &complete, "allow").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.text.contains("your device is connected"));
    };
    let poll = client.exchange_device_access_token(&details).request_async(
        &server.http,
        tokio::time::sleep,
        Some(Duration::from_secs(30)),
    );
    let ((), token) = tokio::join!(approve, poll);
    let token = token.unwrap();
    let me = server.me(token.access_token().secret()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["sub"], "alice");
    assert_eq!(me.json()["client_id"], "tv");
    assert!(token.refresh_token().is_some(), "tv may refresh");
    server.stop().await;
}

#[tokio::test]
async fn each_answer_of_the_token_endpoint_while_polling() {
    // A 2 s interval: a poll less than a second after another is early whatever second it
    // falls in (the store counts whole seconds).
    let server = start_with(|config| config.device_poll_interval = 2).await;
    let codes = device_authorization(&server, "read").await;
    for member in ["device_code", "user_code", "verification_uri", "verification_uri_complete"] {
        assert!(codes[member].is_string(), "{member}");
    }
    assert_eq!(codes["expires_in"], 600);
    assert_eq!(codes["interval"], 2);
    let device_code = codes["device_code"].as_str().unwrap();

    assert_eq!(error_of(&poll(&server, device_code, "tv").await), "authorization_pending");
    // Polled again at once: too fast (§3.5), and the interval is now 7 s, then 12 s.
    assert_eq!(error_of(&poll(&server, device_code, "tv").await), "slow_down");
    assert_eq!(error_of(&poll(&server, device_code, "tv").await), "slow_down");

    // Another client's poll is refused and changes nothing.
    let other = poll(&server, device_code, "spa").await;
    assert_eq!(error_of(&other), "unauthorized_client", "spa is not allowed the device grant");

    let approved = user_decides(&server, codes["verification_uri_complete"].as_str().unwrap(), "allow").await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    tokio::time::sleep(Duration::from_secs(13)).await; // past the grown interval (2 + 5 + 5)
    let tokens = poll(&server, device_code, "tv").await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.json()["token_type"], "Bearer");

    // Single use: the device code is spent; polling again is invalid_grant and revokes nothing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(error_of(&poll(&server, device_code, "tv").await), "invalid_grant");
    assert_eq!(server.me(tokens.json()["access_token"].as_str().unwrap()).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_denied_request_is_access_denied_and_an_expired_one_expired_token() {
    let server = start_with(|config| {
        config.device_poll_interval = 1;
        config.device_code_ttl = 2;
    })
    .await;
    let denied = device_authorization(&server, "read").await;
    let reply = user_decides(&server, denied["verification_uri_complete"].as_str().unwrap(), "deny").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(error_of(&poll(&server, denied["device_code"].as_str().unwrap(), "tv").await), "access_denied");

    let expiring = device_authorization(&server, "read").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(error_of(&poll(&server, expiring["device_code"].as_str().unwrap(), "tv").await), "expired_token");
    // The page no longer knows an expired code.
    let page = server.get(expiring["verification_uri_complete"].as_str().unwrap()).await;
    assert!(page.text.contains("not valid or has expired"));
    server.stop().await;
}

#[tokio::test]
async fn the_device_authorization_endpoint_checks_the_client_and_the_scope() {
    let server = start().await;
    let wider = server.post_form("/device_authorization", &[("client_id", "tv"), ("scope", "write")]).await;
    assert_eq!((wider.status, error_of(&wider).as_str()), (400, "invalid_scope"));
    let not_allowed = server.post_form("/device_authorization", &[("client_id", "spa")]).await;
    assert_eq!(error_of(&not_allowed), "unauthorized_client");
    let unknown = server.post_form("/device_authorization", &[("client_id", "nobody")]).await;
    // As at the token endpoint: 401 is for an attempt through the Authorization header (§5.2).
    assert_eq!((unknown.status, error_of(&unknown).as_str()), (400, "invalid_client"));
    let get = server.get(&format!("{}/device_authorization", server.base)).await;
    assert_eq!(error_of(&get), "invalid_request");
    server.stop().await;
}

#[tokio::test]
async fn the_verification_form_is_single_use_and_wrong_codes_are_throttled() {
    let server = start().await;
    let codes = device_authorization(&server, "read").await;
    let page = server.get(&format!("{}/device", server.base)).await;
    assert_eq!(page.status, 200);
    let typed = codes["user_code"].as_str().unwrap().to_lowercase();
    let first = submit_device_form(&server, &page, Some(&typed), "allow").await;
    assert_eq!(first.status, 200, "a lower-case code is the same code: {}", first.text);
    let again = submit_device_form(&server, &page, Some(&typed), "allow").await;
    assert_eq!(again.status, 403, "a form is accepted once");

    // Guessing codes: five wrong ones, then even a right one is refused for a while.
    let fresh = device_authorization(&server, "read").await;
    for _ in 0..5 {
        let page = server.get(&format!("{}/device", server.base)).await;
        let wrong = submit_device_form(&server, &page, Some("BCDF-GHJK"), "allow").await;
        assert_eq!(wrong.status, 400, "{}", wrong.text);
    }
    let page = server.get(&format!("{}/device", server.base)).await;
    let right = submit_device_form(&server, &page, fresh["user_code"].as_str(), "allow").await;
    assert_eq!(right.status, 429);
    assert!(right.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
    server.stop().await;
}

#[tokio::test]
async fn hostile_input_to_the_device_page_is_escaped_or_refused() {
    let server = start().await;
    let hostile = "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let page = server.get(&format!("{}/device?user_code={hostile}", server.base)).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("<script"), "the typed code is escaped: {}", page.text);
    assert!(page.text.contains("not valid or has expired"));
    // A submission without the form's token, or with fields the form does not have, changes
    // nothing and is refused with the RFC error.
    let forged = server.post_form("/device", &[("user_code", "BCDF-GHJK"), ("consent", "allow")]).await;
    assert_eq!(forged.status, 403, "no token: refused as a forged form");
    assert!(forged.text.contains("csrf_token is missing"));
    let extra = server.post_form("/device", &[("user_code", "x"), ("redirect_uri", "http://evil.example")]).await;
    assert_eq!(extra.status, 400);
    let not_utf8 = server
        .http
        .post(format!("{}/device", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"user_code=%FF".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(not_utf8.status(), 400);
    server.stop().await;
}
