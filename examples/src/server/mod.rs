//! `grantry-server`, the example authorization server, as library code: the binary is a thin
//! `main` over [`cli::run`], and tests start the same server in-process with [`start`] or
//! [`start_on`].
//!
//! | module | what |
//! |---|---|
//! | [`config`] | the JSON configuration file: parsed and checked whole, errors name the field |
//! | [`app`] | the [`AuthorizationServer`](grantry_core::AuthorizationServer), every part enabled by name |
//! | [`store`] | the store `store` names (memory, SQLite, PostgreSQL), its background sweep and health |
//! | [`routes`] | the axum routes of the contract (`/authorize`, `/token`, `/revoke`, `/introspect`, metadata, `/api/me`, `/jwks.json`, the grants' own endpoints) |
//! | [`consent`] | the login-and-consent form's CSRF token and cookie |
//! | [`device`] | the device verification page of the device grant (`/device`, RFC 8628 §3.3) |
//! | [`pages`] | the HTML pages (maud templates): the login-and-consent page, the error page |
//! | [`logging`] | one log line per request, to stderr, without secrets |
//! | [`metrics`] | Prometheus metrics on a listener of their own (`metrics_listen`) |
//! | [`limits`] | the timeouts and the connection cap that keep slow clients from holding the server |
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
pub mod device;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod pages;
pub mod routes;
pub mod store;

pub use app::{AppState, build_server};
pub use config::{ConfigFileError, ServerConfigFile};
pub use limits::ServerLimits;
pub use store::ServerStore;

// The built-in grants announce themselves as plugins; linking the crate makes them findable.
use grantry_grants as _;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};

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
    let state = prepare(&config).await?;
    let listener = TcpListener::bind(listen).await.map_err(|source| StartError::Bind { addr: listen, source })?;
    serve(state, listener, config.limits)
}

/// [`start`] on a socket already bound: a test can learn its port first, and set the
/// configuration's `issuer` to it.
pub async fn start_on(config: ServerConfigFile, listener: TcpListener) -> Result<RunningServer, StartError> {
    let state = prepare(&config).await?;
    serve(state, listener, config.limits)
}

/// Opens the store, builds the server on it and settles the consent form key.
async fn prepare(config: &ServerConfigFile) -> Result<AppState, StartError> {
    if let Some(addr) = config.metrics_listen {
        metrics::install(addr)
            .map_err(|err| ConfigFileError::new("metrics_listen", format!("cannot serve metrics: {err}")))?;
    }
    let store = ServerStore::open(&config.store).await?;
    let server = build_server(config, &store)?;
    let csrf = app::csrf_key(config, &store).await?;
    let state = AppState::new(server, store, csrf);
    Ok(match app::jwt_access_tokens(config)? {
        Some(tokens) => state.with_jwks(tokens.jwks()),
        None => state,
    })
}

fn serve(state: AppState, listener: TcpListener, limits: ServerLimits) -> Result<RunningServer, StartError> {
    let addr = listener.local_addr().map_err(StartError::Io)?;
    let (shutdown, signal) = oneshot::channel::<()>();
    let sweeper = tokio::spawn(state.store.clone().sweep_forever());
    let app = routes::router(Arc::new(state), &limits);
    let task = tokio::spawn(async move {
        let served = accept_loop(listener, app, limits, signal).await;
        sweeper.abort();
        served
    });
    Ok(RunningServer { addr, shutdown: Some(shutdown), task })
}

/// How long to wait before accepting again after `accept` failed for want of resources
/// (out of file descriptors, say), rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections until `signal` (a send, or a drop of the sender), at most
/// `limits.max_connections` at once, and serves each with hyper's HTTP/1 connection, its
/// head read within `limits.header_read_timeout`. On the signal: stops accepting, closes the
/// listener, asks every connection to finish its request in flight and close, and returns
/// once all have. Aborting this task drops every connection at once.
async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    limits: ServerLimits,
    mut signal: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        // Forget the connections that have closed.
        while connections.try_join_next().is_some() {}
        // A free slot first: past the cap, new connections wait in the listen backlog.
        let permit = tokio::select! {
            biased;
            _ = &mut signal => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // A connection reset before it was accepted concerns that connection
                    // only; anything else (out of descriptors, say) is waited out.
                    if !is_connection_error(&err) {
                        tracing::warn!("accept failed: {err}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
        };
        // Small responses go out at once.
        let _ = stream.set_nodelay(true);
        // Each request knows the address it came from (what the /device page throttles by).
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            // A client that goes away or times out ends its connection; nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Whether an `accept` error concerns only the connection being accepted.
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(err.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset)
}
