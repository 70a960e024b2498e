//! `grantry-server`, the example authorization server, as library code: the binary is a thin
//! `main` over [`cli::run`], and tests start the same server in-process with [`start`] or
//! [`start_on`].
//!
//! | module | what |
//! |---|---|
//! | [`config`] | the JSON configuration file: parsed and checked whole, errors name the field |
//! | [`app`] | the [`AuthorizationServer`](grantry_core::AuthorizationServer), every part enabled by name |
//! | [`routes`] | the axum routes of the contract (`/authorize`, `/token`, `/revoke`, `/introspect`, metadata, `/api/me`) |
//! | [`consent`] | the login-and-consent page, its CSRF token, the error page |
//! | [`logging`] | one log line per request, to stderr, without secrets |
//! | [`cli`] | the command line: `--config PATH`, `--listen ADDR:PORT`, signals |
//!
//! ```no_run
//! use grantry_examples::server::{ServerConfigFile, start};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ServerConfigFile::demo()?;
//! let running = start(config, "127.0.0.1:0".parse()?).await?;
//! println!("serving {}", running.url());
//! running.shutdown().await?;
//! # Ok(())
//! # }
//! ```

pub mod app;
pub mod cli;
pub mod config;
pub mod consent;
pub mod logging;
pub mod routes;

pub use app::{AppState, build_server};
pub use config::{ConfigFileError, ServerConfigFile};

// The built-in grants announce themselves as plugins; linking the crate makes them findable.
use grantry_grants as _;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`RunningServer::shutdown`] lets in-flight requests finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the server did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is refused (checked before anything listens).
    Config(ConfigFileError),
    /// The listening socket could not be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The bound socket has no local address.
    Io(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(err) => write!(f, "invalid configuration: {err}"),
            StartError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            StartError::Io(err) => write!(f, "cannot start: {err}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(err) => Some(err),
            StartError::Bind { source, .. } => Some(source),
            StartError::Io(err) => Some(err),
        }
    }
}

impl From<ConfigFileError> for StartError {
    fn from(err: ConfigFileError) -> Self {
        StartError::Config(err)
    }
}

/// Why a shutdown was not clean.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShutdownError {
    /// In-flight requests did not finish within the grace period; they were dropped.
    TimedOut(Duration),
    /// The server task failed.
    Failed(String),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownError::TimedOut(grace) => {
                write!(f, "in-flight requests did not finish within {}s and were dropped", grace.as_secs())
            }
            ShutdownError::Failed(why) => write!(f, "the server failed: {why}"),
        }
    }
}

impl std::error::Error for ShutdownError {}

/// A server accepting connections. Dropping it starts a graceful shutdown too, without
/// waiting for it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on (the real port when `0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish (within
    /// [`SHUTDOWN_GRACE`]), and returns once the server is stopped.
    pub async fn shutdown(self) -> Result<(), ShutdownError> {
        self.shutdown_within(SHUTDOWN_GRACE).await
    }

    /// [`shutdown`](Self::shutdown) with another grace period.
    pub async fn shutdown_within(mut self, grace: Duration) -> Result<(), ShutdownError> {
        if let Some(signal) = self.shutdown.take() {
            let _ = signal.send(());
        }
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(err))) => Err(ShutdownError::Failed(err.to_string())),
            Ok(Err(err)) => Err(ShutdownError::Failed(err.to_string())),
            Err(_) => {
                self.task.abort();
                Err(ShutdownError::TimedOut(grace))
            }
        }
    }
}

/// Builds the server from `config` (every check done before anything listens), binds
/// `listen` (port `0`: a free port) and serves in the background on the current tokio runtime.
pub async fn start(config: ServerConfigFile, listen: SocketAddr) -> Result<RunningServer, StartError> {
    let state = AppState::new(build_server(&config)?);
    let listener = TcpListener::bind(listen).await.map_err(|source| StartError::Bind { addr: listen, source })?;
    serve(state, listener)
}

/// [`start`] on a socket already bound: a test can learn its port first, and set the
/// configuration's `issuer` to it.
pub async fn start_on(config: ServerConfigFile, listener: TcpListener) -> Result<RunningServer, StartError> {
    let state = AppState::new(build_server(&config)?);
    serve(state, listener)
}

fn serve(state: AppState, listener: TcpListener) -> Result<RunningServer, StartError> {
    let addr = listener.local_addr().map_err(StartError::Io)?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let app = routes::router(Arc::new(state));
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // A send or a drop of the sender: either way, stop.
                let _ = signal.await;
            })
            .await
    });
    Ok(RunningServer { addr, shutdown: Some(shutdown), task })
}
