//! The README's shell blocks, run as a reader runs them: against the demo server (started here
//! on a free port, so every `http://127.0.0.1:8080` of the README points at it), from the
//! repository's root, with bash, curl and openssl. The first block, the two commands, is the
//! one CI runs itself (`cargo test --workspace`) and `examples/tests/server_binary.rs` starts.

mod http_support;

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../README.md");

/// The bodies of the README's ```sh blocks, in order.
fn shell_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in README.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(block), "```") => {
                blocks.push(block.join("\n"));
                current = None;
            }
            (Some(block), _) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

fn run(script: &str, base: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = format!("set -euo pipefail\n{}", script.replace("http://127.0.0.1:8080", base));
    let output = Command::new("bash").arg("-c").arg(&script).current_dir(root).output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_first_block_is_the_two_commands() {
    let blocks = shell_blocks();
    let first: Vec<&str> = blocks[0].lines().map(|l| l.split('#').next().unwrap_or_default().trim()).collect();
    assert_eq!(first, ["cargo run --release -p grantry-examples --bin grantry-server", "cargo test --workspace"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_runs_against_the_demo_server() {
    let server = http_support::start_demo().await;
    let base = server.base.clone();
    let blocks = shell_blocks();
    assert_eq!(blocks.len(), 3, "the two commands, the token tour, the JWT bearer assertion");
    let (tour, jwt) = (blocks[1].clone(), blocks[2].clone());
    let (tour, jwt) = tokio::task::spawn_blocking(move || (run(&tour, &base), run(&jwt, &base))).await.unwrap();

    // curl prints bodies without a newline: the outputs follow one another.
    assert!(tour.starts_with("{\"active\":true"), "introspection first: {tour}");
    assert!(tour.contains("}{\"client_id\":\"svc\",\"scope\":\"read write\",\"sub\":\"svc\"}"), "/api/me: {tour}");
    assert!(tour.contains("}401\n{"), "/api/me after the revocation: {tour}");
    assert!(tour.contains("\"token_endpoint\""), "metadata: {tour}");
    assert!(jwt.contains("\"access_token\""), "JWT bearer grant: {jwt}");
}
