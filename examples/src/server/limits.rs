//! How long and how many: the limits that keep slow or idle clients from holding the server.
//!
//! | limit | enforced by | default |
//! |---|---|---|
//! | [`header_read_timeout`](ServerLimits::header_read_timeout) | hyper's HTTP/1 `header_read_timeout` (on hyper-util's tokio timer): a connection that has not sent a whole request head in time is closed. hyper starts the timer whenever a connection waits for a head, so it is also the **idle keep-alive timeout** | 10 s |
//! | [`body_read_timeout`](ServerLimits::body_read_timeout) | tower-http's `RequestBodyTimeoutLayer`: a body that sends nothing for this long is cut off (`408`) | 10 s |
//! | [`request_timeout`](ServerLimits::request_timeout) | tower-http's `TimeoutLayer`: a request not answered this long after its head arrived, its body included, is answered `408` and its connection closed; a body trickled a byte at a time cannot outlast it | 30 s |
//! | [`max_connections`](ServerLimits::max_connections) | a tokio semaphore around `accept`: past it, new connections wait in the listen backlog until one closes, and the server never runs out of file descriptors | 200 |

use std::time::Duration;

/// The default [`ServerLimits::header_read_timeout`] (the contract's `header_read_timeout`).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`ServerLimits::body_read_timeout`].
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`ServerLimits::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default [`ServerLimits::max_connections`]: well under the usual per-process file
/// descriptor limits (1024, or 256 on some systems).
pub const DEFAULT_MAX_CONNECTIONS: usize = 200;

/// The connection and request limits of the server (configuration keys
/// `header_read_timeout`, `body_read_timeout`, `request_timeout`, in seconds, and
/// `max_connections`).
///
/// ```
/// use grantry_examples::server::ServerLimits;
/// let limits = ServerLimits::default();
/// assert_eq!(limits.header_read_timeout.as_secs(), 10);
/// assert_eq!(limits.max_connections, 200);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// How long a connection may take to send a whole request head, counted from when it
    /// opens or from the end of its previous response: a connection idle that long between
    /// requests is closed too.
    pub header_read_timeout: Duration,
    /// The longest pause allowed while a request body is being received.
    pub body_read_timeout: Duration,
    /// The longest a request may take from its head to its response, reading its body included.
    pub request_timeout: Duration,
    /// How many connections are served at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}
