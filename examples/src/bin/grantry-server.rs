//! `grantry-server`: the example authorization server.
//!
//! ```text
//! cargo run --release -p grantry-examples --bin grantry-server -- [--config PATH] [--listen ADDR:PORT]
//! ```
//!
//! Everything is in the library (`grantry_examples::server`), so tests start the same server
//! in-process.

fn main() -> std::process::ExitCode {
    grantry_examples::server::cli::run(std::env::args().skip(1))
}
