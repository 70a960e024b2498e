//! Prometheus metrics over HTTP (`metrics_listen`): after a few requests, the exporter's
//! `/metrics` shows them, labelled only with fixed names. Its own test binary: the recorder is
//! one per process.

mod http_support;

use http_support::*;

#[tokio::test]
async fn metrics_count_requests_tokens_errors_and_throttled_logins() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = start_with(|config| config.metrics_listen = Some(port)).await;
    let svc = [("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "svc-secret")];
    for _ in 0..3 {
        assert_eq!(server.post_form("/token", &svc).await.status, 200);
    }
    let wrong = [("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "a-guess")];
    assert_eq!(server.post_form("/token", &wrong).await.status, 400);
    // A path a caller chose is not a label.
    assert_eq!(server.get(&format!("{}/secret-looking-path-abc123", server.base)).await.status, 404);
    // Six wrong passwords for alice: the sixth is refused by the throttle.
    // web authenticates with HTTP Basic (client_secret_basic).
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "nope")];
    for _ in 0..6 {
        let request = server.http.post(format!("{}/token", server.base)).basic_auth("web", Some("web-secret"));
        let reply = Reply::of(request.form(&form).send().await.unwrap()).await;
        assert_eq!(reply.json()["error"], "invalid_grant", "{}", reply.text);
    }

    let text = server.http.get(format!("http://{port}/metrics")).send().await.unwrap().text().await.unwrap();
    let line = |prefix: &str| {
        text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{text}")).to_owned()
    };
    assert!(line(r#"grantry_tokens_issued_total{grant_type="client_credentials"}"#).ends_with(" 3"), "{text}");
    assert!(
        line(r#"grantry_http_requests_total{endpoint="/token",method="POST",status="200"}"#).ends_with(" 3"),
        "{text}"
    );
    assert!(line(r#"grantry_oauth_errors_total{endpoint="/token",error="invalid_client"}"#).ends_with(" 1"), "{text}");
    assert!(line(r#"grantry_http_requests_total{endpoint="other",method="GET",status="404"}"#).ends_with(" 1"));
    assert!(line(r#"grantry_logins_throttled_total{check="user_password"}"#).ends_with(" 1"), "{text}");
    assert!(text.contains("grantry_http_request_duration_seconds_bucket"));
    for secret in ["svc-secret", "a-guess", "nope", "secret-looking-path", "alice"] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    server.stop().await;
}
