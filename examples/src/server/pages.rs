//! The HTML pages of the server, as [maud](https://maud.lambda.xyz/) templates: the shared
//! layout, the login-and-consent page of `GET /authorize` and the page of an error that is
//! shown rather than redirected.
//!
//! maud checks the markup when the crate compiles and escapes every value spliced into it
//! (`&`, `<`, `>`, `"`), in element content and attribute values alike; only the constant
//! style sheet is spliced unescaped. The pages need no JavaScript.

use super::consent::CSRF_FIELD;
use grantry_core::{AuthorizationRequest, OAuthError};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The pages' style sheet, inline: a page needs no other request. A visible focus outline for
/// keyboard users; long values (URIs, ids) wrap rather than widen the page on a phone.
const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d1d1f;margin:0;padding:2rem 1rem;line-height:1.4}\
main{max-width:28rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.3rem;margin-top:0}h2{font-size:1rem;margin-bottom:.25rem}\
code{background:#eef;padding:0 .25rem;border-radius:3px;overflow-wrap:anywhere}\
.scopes{padding-left:1.25rem}.scopes li{margin:.25rem 0}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box;border:1px solid #888;border-radius:4px}\
.buttons{display:flex;gap:.75rem;margin-top:1.25rem}\
button{flex:1;padding:.6rem;font-size:1rem;cursor:pointer;border-radius:4px;border:1px solid #888;background:#f4f5f7;color:#1d1d1f}\
button.allow{background:#1a5fb4;border-color:#1a5fb4;color:#fff}\
:focus-visible{outline:3px solid #e66100;outline-offset:2px}\
.error{color:#a00;background:#fee;padding:.5rem;border-radius:4px}.small{color:#555;font-size:.85rem}\
@media (max-width:30rem){body{padding:.5rem}main{padding:1rem;border-radius:0;box-shadow:none}}";

/// The layout every page shares: `title`, the style sheet, and `body` in a `<main>`.
fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main { (body) } }
        }
    }
    .into_string()
}

/// What the login-and-consent page shows: plain values, so that the page can be rendered
/// with any of them.
struct ConsentView<'a> {
    client_id: &'a str,
    /// The client's `client_name` (RFC 7591 §2), when it has one.
    client_name: Option<&'a str>,
    scopes: Vec<&'a str>,
    redirect_uri: &'a str,
    hidden: &'a [(String, String)],
    csrf_token: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// What a scope of the demo lets the client do, in words; a scope the page does not know is
/// shown by its name alone. (A fixed list rather than a configuration key: the demo has two
/// scopes, and a deployment with its own scopes has its own pages.)
fn scope_description(scope: &str) -> Option<&'static str> {
    match scope {
        "read" => Some("Read your data"),
        "write" => Some("Change your data"),
        _ => None,
    }
}

/// The host (and port) of a redirect URI, `127.0.0.1:9000` of `http://127.0.0.1:9000/cb`:
/// what the user can check at a glance. The whole URI, when it has no `scheme://`.
fn return_host(redirect_uri: &str) -> &str {
    let Some((_, rest)) = redirect_uri.split_once("://") else { return redirect_uri };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    // Userinfo is not part of where the browser goes to.
    authority.rsplit('@').next().unwrap_or(authority)
}

/// The login-and-consent page (RFC 6749 §4.1.1, the user's decision): who asks (the client's
/// `client_name`, else its id), for what (each scope with its description), where the user
/// returns to, the credentials fields, Allow and Deny (`consent` = `allow` / `deny`), every
/// parameter in `hidden` as a hidden input, and the CSRF token. `error` is shown above the
/// form (a failed login); `username` is pre-filled.
pub fn consent_page(
    request: &AuthorizationRequest,
    hidden: &[(String, String)],
    csrf_token: &str,
    username: Option<&str>,
    error: Option<&str>,
) -> String {
    let client = request.client();
    render_consent(&ConsentView {
        client_id: client.client_id(),
        client_name: client.metadata("client_name").and_then(|name| name.as_str()).filter(|name| !name.is_empty()),
        scopes: request.scope().iter().collect(),
        redirect_uri: request.redirect_uri(),
        hidden,
        csrf_token,
        username: username.unwrap_or_default(),
        error,
    })
}

fn render_consent(view: &ConsentView<'_>) -> String {
    let name = view.client_name.unwrap_or(view.client_id);
    let host = return_host(view.redirect_uri);
    let body = html! {
        h1 { (name) " asks to access your account" }
        @if view.client_name.is_some() { p.small { "Client ID: " code { (view.client_id) } } }
        @if view.scopes.is_empty() {
            p { "The application asks to act for you (no particular scope)." }
        } @else {
            h2 #scopes-heading { "It will be able to:" }
            ul.scopes aria-labelledby="scopes-heading" {
                @for scope in &view.scopes {
                    li {
                        @if let Some(description) = scope_description(scope) { (description) " " }
                        code { (scope) }
                    }
                }
            }
        }
        p { "Afterwards you return to " strong #return-host { (host) } "." }
        @if let Some(error) = view.error { p.error #form-error role="alert" { (error) } }
        // A relative action: the form goes back to this endpoint, behind a proxy too.
        form method="post" action="authorize" {
            @for (name, value) in view.hidden { input type="hidden" name=(name) value=(value); }
            input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
            label for="username" { "Username" }
            // Focus on the first field left to fill: the password, once the username is known.
            input #username type="text" name="username" value=(view.username) autocomplete="username" required
                autofocus[view.username.is_empty()];
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required
                autofocus[!view.username.is_empty()];
            div.buttons {
                button.allow type="submit" name="consent" value="allow" { "Allow" }
                button.deny type="submit" name="consent" value="deny" formnovalidate { "Deny" }
            }
        }
        p.small { "Either way, you are sent back to " code { (view.redirect_uri) } "." }
    };
    layout(&format!("Authorize {name}"), body)
}

/// What the device verification page (RFC 8628 §3.3) shows about the request a user code
/// names, once the code is known.
pub struct DeviceRequest<'a> {
    /// The client's `client_name`, else its id.
    pub client_name: &'a str,
    /// The scopes asked for.
    pub scopes: Vec<&'a str>,
}

/// The device verification page (`GET /device`): one form, as the contract says: the user
/// code (pre-filled when given), username, password, Allow and Deny, and the CSRF token. Once
/// the code names a pending request, which client asks for which scopes.
pub fn device_page(
    user_code: &str,
    request: Option<&DeviceRequest<'_>>,
    csrf_token: &str,
    username: &str,
    error: Option<&str>,
) -> String {
    let body = html! {
        h1 { "Connect a device" }
        @if let Some(request) = request {
            p { strong { (request.client_name) } " asks to access your account." }
            @if !request.scopes.is_empty() {
                h2 #scopes-heading { "It will be able to:" }
                ul.scopes aria-labelledby="scopes-heading" {
                    @for scope in &request.scopes {
                        li {
                            @if let Some(description) = scope_description(scope) { (description) " " }
                            code { (scope) }
                        }
                    }
                }
            }
        } @else {
            p { "Enter the code your device shows, then sign in to allow it." }
        }
        @if let Some(error) = error { p.error #form-error role="alert" { (error) } }
        form method="post" action="device" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
            label for="user_code" { "Code shown on the device" }
            input #user_code type="text" name="user_code" value=(user_code) autocomplete="off"
                autocapitalize="characters" spellcheck="false" required autofocus[user_code.is_empty()];
            label for="username" { "Username" }
            input #username type="text" name="username" value=(username) autocomplete="username" required
                autofocus[!user_code.is_empty() && username.is_empty()];
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required
                autofocus[!user_code.is_empty() && !username.is_empty()];
            div.buttons {
                button.allow type="submit" name="consent" value="allow" { "Allow" }
                button.deny type="submit" name="consent" value="deny" formnovalidate { "Deny" }
            }
        }
    };
    layout("Connect a device", body)
}

/// The page after a decision on the device page: `message` in `#outcome`.
pub fn device_done_page(message: &str) -> String {
    let body = html! {
        h1 { "Connect a device" }
        p #outcome role="status" { (message) }
        p.small { "You can close this page." }
    };
    layout("Connect a device", body)
}

/// The page of an error that must be shown rather than redirected (RFC 6749 §4.1.2.1): its
/// code in `#error`, its description, if any, in `#error_description`.
pub fn error_page(error: &OAuthError) -> String {
    let body = html! {
        h1 { "This authorization request cannot be completed" }
        p.error { "Error: " code #error { (error.code().as_str()) } }
        @if let Some(description) = error.description() { p #error_description { (description) } }
        p.small { "Go back to the application and try again." }
    };
    layout("Authorization error", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{ServerConfigFile, build_server, consent};
    use grantry_core::http;

    const HOSTILE: &str = "\"><script>alert(1)</script><x y='";

    /// Every `<input type="hidden">` of a page, `(name, value)`, as a browser decodes them.
    fn hidden_inputs(page: &str) -> Vec<(String, String)> {
        let attribute = |tag: &str, name: &str| {
            let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            let end = start + tag[start..].find('"')?;
            Some(
                tag[start..end].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
            )
        };
        page.split("<input")
            .skip(1)
            .map(|tag| &tag[..tag.find('>').unwrap()])
            .filter(|tag| attribute(tag, "type").as_deref() == Some("hidden"))
            .map(|tag| (attribute(tag, "name").unwrap(), attribute(tag, "value").unwrap_or_default()))
            .collect()
    }

    /// No markup of a hostile value survives: a `<script` or `<x y` would be the value's own.
    fn assert_escaped(page: &str) {
        for raw in ["<script", "<x y"] {
            assert!(!page.contains(raw), "{raw:?} unescaped in {page}");
        }
    }

    #[test]
    fn the_consent_page_escapes_every_value() {
        let hidden = vec![
            ("state".to_owned(), HOSTILE.to_owned()),
            (HOSTILE.to_owned(), "x&amp;y".to_owned()),
            ("redirect_uri".to_owned(), "http://127.0.0.1:9000/callback?a=1&b=2".to_owned()),
        ];
        let page = render_consent(&ConsentView {
            client_id: HOSTILE,
            client_name: Some(HOSTILE),
            scopes: vec![HOSTILE, "read"],
            redirect_uri: HOSTILE,
            hidden: &hidden,
            csrf_token: HOSTILE,
            username: HOSTILE,
            error: Some(HOSTILE),
        });
        assert_escaped(&page);
        // Each value comes back whole, as it went in.
        let mut expected = hidden.clone();
        expected.push((CSRF_FIELD.to_owned(), HOSTILE.to_owned()));
        assert_eq!(hidden_inputs(&page), expected);
        assert!(page.contains("<title>Authorize &quot;&gt;&lt;script&gt;"), "{page}");
        assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;x y='\" autocomplete"));
        assert!(page.contains("<li><code>&quot;&gt;&lt;script&gt;"), "{page}");
        assert!(page.contains("<h1>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;x y=' asks"), "{page}");
    }

    #[test]
    fn the_consent_page_has_every_field() {
        let hidden = vec![("client_id".to_owned(), "web".to_owned())];
        let view = ConsentView {
            client_id: "web",
            client_name: None,
            scopes: Vec::new(),
            redirect_uri: "http://127.0.0.1:9000/callback",
            hidden: &hidden,
            csrf_token: "t",
            username: "",
            error: None,
        };
        let page = render_consent(&view);
        for element in [
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<title>Authorize web</title>",
            "<h1>web asks to access your account</h1>",
            "<p>The application asks to act for you (no particular scope).</p>",
            "<p>Afterwards you return to <strong id=\"return-host\">127.0.0.1:9000</strong>.</p>",
            "<form method=\"post\" action=\"authorize\">",
            "<input type=\"hidden\" name=\"client_id\" value=\"web\">",
            "<input type=\"hidden\" name=\"csrf_token\" value=\"t\">",
            "<label for=\"username\">Username</label><input id=\"username\" type=\"text\" name=\"username\" \
             value=\"\" autocomplete=\"username\" required autofocus>",
            "<label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\" \
             autocomplete=\"current-password\" required>",
            "<div class=\"buttons\"><button class=\"allow\" type=\"submit\" name=\"consent\" value=\"allow\">Allow</button>\
             <button class=\"deny\" type=\"submit\" name=\"consent\" value=\"deny\" formnovalidate>Deny</button></div></form>",
            "<p class=\"small\">Either way, you are sent back to <code>http://127.0.0.1:9000/callback</code>.</p>",
        ] {
            assert!(page.contains(element), "{element} missing from {page}");
        }
        assert!(!page.contains("role=\"alert\"") && !page.contains("<script") && !page.contains("Client ID"));
        assert!(page.contains(":focus-visible{outline:") && page.contains("@media (max-width:30rem)"));
        let page = render_consent(&ConsentView {
            client_name: Some("Demo web app"),
            scopes: vec!["read", "write", "admin"],
            username: "alice",
            error: Some("Wrong"),
            ..view
        });
        assert!(page.contains("<title>Authorize Demo web app</title>"), "{page}");
        assert!(page.contains(
            "<h1>Demo web app asks to access your account</h1><p class=\"small\">Client ID: <code>web</code></p>"
        ));
        assert!(
            page.contains(
                "<ul class=\"scopes\" aria-labelledby=\"scopes-heading\"><li>Read your data <code>read</code></li>\
             <li>Change your data <code>write</code></li><li><code>admin</code></li></ul>"
            ),
            "{page}"
        );
        assert!(page.contains("<p class=\"error\" id=\"form-error\" role=\"alert\">Wrong</p>"), "{page}");
        // The username known, the focus goes to the password.
        assert!(page.contains("value=\"alice\" autocomplete=\"username\" required>"), "{page}");
        assert!(page.contains("autocomplete=\"current-password\" required autofocus>"), "{page}");
    }

    #[test]
    fn the_return_host_is_the_redirect_uris_authority() {
        for (uri, host) in [
            ("http://127.0.0.1:9000/callback", "127.0.0.1:9000"),
            ("https://app.example.com?x=1", "app.example.com"),
            ("https://user@evil.example#frag", "evil.example"),
            ("com.example.app:/cb", "com.example.app:/cb"),
            ("https://[::1]:8443/cb", "[::1]:8443"),
        ] {
            assert_eq!(return_host(uri), host, "{uri}");
        }
    }

    /// The page of a real request, through the server: a hostile client id, scope, state and
    /// extra parameter are all escaped, and all come back whole in the hidden inputs.
    #[tokio::test]
    async fn a_validated_hostile_request_is_escaped() {
        let mut config: serde_json::Value = serde_json::from_str(crate::server::config::DEMO_JSON).unwrap();
        config["clients"][1]["client_id"] = "\"><script>alert(1)</script>".into();
        config["clients"][1]["scope"] = "read <script>alert(2)</script>'".into();
        let store = crate::server::ServerStore::memory();
        let server = build_server(&ServerConfigFile::from_json(&config.to_string()).unwrap(), &store).unwrap();
        let query = grantry_core::encode_form(&[
            ("response_type", "code"),
            ("client_id", "\"><script>alert(1)</script>"),
            ("redirect_uri", "http://127.0.0.1:9000/spa"),
            ("scope", "<script>alert(2)</script>'"),
            ("state", HOSTILE),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
            ("x\"><script>", HOSTILE),
        ]);
        let request = server
            .validate_authorization_request(
                &http::Request::get(format!("/authorize?{query}")).body(Vec::new()).unwrap(),
            )
            .await;
        let request = request.unwrap_or_else(|err| panic!("{:?}", err.error()));
        let hidden = consent::hidden_params(&request);
        let page = consent_page(&request, &hidden, "token", Some(HOSTILE), Some(HOSTILE));
        assert_escaped(&page);
        let inputs = hidden_inputs(&page);
        for (name, value) in [
            ("client_id", "\"><script>alert(1)</script>"),
            ("scope", "<script>alert(2)</script>'"),
            ("state", HOSTILE),
            ("x\"><script>", HOSTILE),
        ] {
            assert!(inputs.iter().any(|(n, v)| n == name && v == value), "{name} in {inputs:?}");
        }
    }

    #[test]
    fn the_error_page_escapes_the_description() {
        let page = error_page(&OAuthError::invalid_request(HOSTILE));
        assert_escaped(&page);
        assert!(page.contains("<code id=\"error\">invalid_request</code>"), "{page}");
        // (OAuthError keeps the description to RFC 6749's characters: `"` becomes `?`.)
        assert!(page.contains("<p id=\"error_description\">?&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;x y='</p>"));
        assert!(page.contains("<title>Authorization error</title>"));
    }
}
