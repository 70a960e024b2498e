//! The command line of `grantry-server`:
//!
//! ```text
//! grantry-server [--config PATH] [--listen ADDR:PORT]
//! ```
//!
//! Without `--config`, the embedded demo configuration (`examples/demo.json`). `--listen`
//! overrides the file's `listen`; port `0` picks a free port. Once the server accepts
//! connections, the last line it prints on stdout is `listening on http://ADDR:PORT`. A wrong
//! configuration exits with status 1 before anything listens; bad arguments with status 2.
//! SIGINT or SIGTERM shut it down gracefully, with status 0.

use super::config::{ConfigFileError, DEMO_JSON, ServerConfigFile, StoreConfig, TokenFormat};
use super::{RunningServer, ShutdownError, logging, start};
use grantry_extensions::jwt::algorithm_name;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: grantry-server [--config PATH] [--listen ADDR:PORT]

  --config PATH        the JSON configuration (default: the embedded examples/demo.json)
  --listen ADDR:PORT   where to listen, overriding the configuration (port 0: a free port)
  -h, --help           this help

Logs go to stderr, one line per request with its request id (also sent back as the
X-Request-Id header): --log-format json writes them as JSON objects; RUST_LOG=debug (or
target=level,...) changes the level.";

/// What the command line asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    /// `--listen ADDR:PORT`.
    pub listen: Option<SocketAddr>,
    /// `--log-format text|json`.
    pub log_format: logging::LogFormat,
    /// `--help`.
    pub help: bool,
}

impl Args {
    /// Parses the arguments (without the program name). Both `--flag value` and
    /// `--flag=value` are accepted. An error names the flag at fault, never a value (a value
    /// pasted into the wrong place could be a secret).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        let mut position = 0;
        while let Some(arg) = args.next() {
            position += 1;
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value =
                |name: &str| inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--config" => parsed.config = Some(PathBuf::from(value("--config")?)),
                "--listen" => {
                    let text = value("--listen")?;
                    let addr = text.parse().map_err(|_| "--listen: not an ADDR:PORT address".to_owned())?;
                    parsed.listen = Some(addr);
                }
                "--log-format" => {
                    parsed.log_format = match value("--log-format")?.as_str() {
                        "text" => logging::LogFormat::Text,
                        "json" => logging::LogFormat::Json,
                        _ => return Err("--log-format: text or json".to_owned()),
                    }
                }
                "-h" | "--help" => parsed.help = true,
                flag if flag.starts_with('-') => return Err(format!("unknown argument {flag:?}")),
                _ => return Err(format!("unexpected argument at position {position}; every value follows its flag")),
            }
        }
        Ok(parsed)
    }
}

/// Runs the server as the command line says; the process's exit code.
pub fn run(args: impl IntoIterator<Item = String>) -> ExitCode {
    let args = match Args::parse(args) {
        Ok(args) if args.help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(args) => args,
        Err(err) => {
            eprintln!("grantry-server: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Held until `run` returns, so every queued log line is written.
    let _log = logging::init(args.log_format);
    let (config, source) = match load(&args) {
        Ok(loaded) => loaded,
        Err((source, err)) => {
            eprintln!("grantry-server: invalid configuration ({source}): {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("grantry-server: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config, source, args.listen))
}

/// The configuration and a description of where it came from.
fn load(args: &Args) -> Result<(ServerConfigFile, String), (String, ConfigFileError)> {
    match &args.config {
        Some(path) => {
            let source = path.display().to_string();
            ServerConfigFile::load(path).map(|c| (c, source.clone())).map_err(|err| (source, err))
        }
        None => {
            let source = "embedded examples/demo.json".to_owned();
            debug_assert!(!DEMO_JSON.is_empty());
            ServerConfigFile::demo().map(|c| (c, source.clone())).map_err(|err| (source, err))
        }
    }
}

async fn serve(config: ServerConfigFile, source: String, listen: Option<SocketAddr>) -> ExitCode {
    // The signal handlers are installed before anything is printed, so a caller that stops
    // the server as soon as it reads the `listening on` line gets a graceful shutdown.
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("grantry-server: cannot install signal handlers: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listen = listen.unwrap_or(config.listen);
    let summary = Summary::of(&config, &source);
    let running = match start(config, listen).await {
        Ok(running) => running,
        Err(err) => {
            eprintln!("grantry-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = summary.print(&running) {
        eprintln!("grantry-server: cannot write to stdout: {err}");
    }
    let signal = signals.wait().await;
    tracing::info!("{signal} received: finishing in-flight requests");
    match running.shutdown().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err @ ShutdownError::TimedOut(_)) => {
            tracing::warn!("{err}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("grantry-server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// What the server prints on start: never a secret or a password.
struct Summary {
    source: String,
    issuer: String,
    store: String,
    grants: Vec<String>,
    clients: Vec<String>,
    users: Vec<String>,
    /// The access token format, with the signing key's `kid` and algorithm (never the key).
    tokens: String,
}

impl Summary {
    fn of(config: &ServerConfigFile, source: &str) -> Self {
        Summary {
            source: source.to_owned(),
            issuer: config.issuer.clone(),
            store: match &config.store {
                StoreConfig::Memory => "memory (gone when the server stops)".to_owned(),
                StoreConfig::Sqlite { path, .. } => format!("SQLite file {}", path.display()),
                // Not the URL: it may hold a password.
                _ => "PostgreSQL".to_owned(),
            },
            grants: config.grants.clone(),
            clients: config
                .clients
                .iter()
                .map(|c| format!("{} ({})", c.client_id, c.token_endpoint_auth_method))
                .collect(),
            users: config.users.iter().map(|u| u.username.clone()).collect(),
            tokens: match (config.access_token_format, &config.signing_key) {
                (TokenFormat::Jwt, Some(key)) => {
                    format!("JWT (RFC 9068), signed {} with kid {}", algorithm_name(key.algorithm()), key.kid())
                }
                _ => "opaque".to_owned(),
            },
        }
    }

    fn print(&self, running: &RunningServer) -> std::io::Result<()> {
        let url = running.url();
        let none = |list: &[String]| if list.is_empty() { "(none)".to_owned() } else { list.join(", ") };
        let mut out = std::io::stdout().lock();
        writeln!(out, "grantry-server: serving {url}")?;
        writeln!(out, "  configuration: {}", self.source)?;
        writeln!(out, "  issuer:        {}", self.issuer)?;
        if self.issuer.trim_end_matches('/') != url {
            writeln!(out, "                 (the metadata's endpoint URLs are built from the issuer, not from {url})")?;
        }
        writeln!(out, "  store:         {}", self.store)?;
        writeln!(out, "  grants:        {}", none(&self.grants))?;
        writeln!(out, "  clients:       {}", none(&self.clients))?;
        writeln!(out, "  users:         {}", none(&self.users))?;
        writeln!(out, "  access tokens: {}", self.tokens)?;
        writeln!(out, "  metadata:      {url}/.well-known/oauth-authorization-server")?;
        writeln!(out, "listening on {url}")?;
        out.flush()
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Signals {})
    }

    /// Waits for a signal; its name.
    #[cfg(unix)]
    async fn wait(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    async fn wait(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn parses_the_log_format() {
        assert_eq!(parse(&["--log-format", "json"]).unwrap().log_format, logging::LogFormat::Json);
        assert_eq!(parse(&[]).unwrap().log_format, logging::LogFormat::Text);
        let err = parse(&["--log-format=xml"]).unwrap_err();
        assert!(!err.contains("xml"), "the value is not echoed: {err}");
    }

    #[test]
    fn parses_the_contract_flags() {
        assert_eq!(parse(&[]), Ok(Args::default()));
        let args = parse(&["--config", "a.json", "--listen", "127.0.0.1:0"]).unwrap();
        assert_eq!(args.config, Some(PathBuf::from("a.json")));
        assert_eq!(args.listen, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(parse(&["--listen=127.0.0.1:9"]).unwrap().listen, Some("127.0.0.1:9".parse().unwrap()));
        assert!(parse(&["--help"]).unwrap().help);
        assert!(parse(&["--listen", "nowhere"]).unwrap_err().contains("--listen"));
        assert!(parse(&["--config"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--verbose"]).unwrap_err().contains("unknown argument"));
        // Errors name the flag, never a value.
        for args in [&["--listen", "s3cret"][..], &["--secret=s3cret"], &["s3cret"], &["--config", "a", "s3cret"]] {
            let err = parse(args).unwrap_err();
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
