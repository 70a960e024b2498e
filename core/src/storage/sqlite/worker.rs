//! The threads that own the SQLite connections, and the futures that wait on them.
//!
//! SQLite calls block: a write waits for its commit to reach the disk. They run on threads of
//! the store's own, never on the async runtime's: one writer thread owning the one connection
//! that writes (SQLite admits one writer at a time anyway, so writes queue here rather than
//! spin on a busy lock), and a few reader threads, each owning a read-only connection (in WAL
//! mode, reads run beside the writer and never wait for it). A call sends its job down an
//! unbounded channel (sending never blocks) and awaits the answer on a one-shot channel,
//! which needs no particular executor. Dropping the store closes the channels: each thread
//! finishes the jobs already queued, then closes its connection and ends.

use super::Failure;
use super::Synchronous;
use super::schema;
use crate::storage::StorageError;
use rusqlite::{Connection, OpenFlags};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

/// Prepared statements a connection keeps: more than the store has, so each is prepared once.
const STATEMENTS: usize = 32;

/// Work for a connection's thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The writer's and the readers' queues.
pub(super) struct Workers {
    writer: Sender<Job>,
    readers: Sender<Job>,
}

impl Workers {
    /// Starts the writer (which creates the file and its folders, sets WAL mode and migrates
    /// the schema), then `readers` reader threads, and waits until every connection is open.
    pub(super) async fn start(
        path: PathBuf,
        readers: usize,
        busy_timeout: Duration,
        synchronous: Synchronous,
    ) -> Result<Workers, Failure> {
        let (writer, queue) = mpsc::channel::<Job>();
        let (opened, ready) = oneshot::channel();
        let writer_path = path.clone();
        spawn("grantry-sqlite-writer".to_owned(), move || {
            let connection = open_writer(&writer_path, busy_timeout, synchronous);
            serve(connection, opened, || queue.recv().ok());
        })?;
        ready.await.map_err(|_| Failure::Stopped)??;

        let (reader_jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut ready = Vec::with_capacity(readers);
        for index in 0..readers.max(1) {
            let (opened, answer) = oneshot::channel();
            ready.push(answer);
            let (path, queue) = (path.clone(), queue.clone());
            spawn(format!("grantry-sqlite-reader-{index}"), move || {
                let connection = open_reader(&path, busy_timeout);
                serve(connection, opened, || next_shared(&queue));
            })?;
        }
        for answer in ready {
            answer.await.map_err(|_| Failure::Stopped)??;
        }
        Ok(Workers { writer, readers: reader_jobs })
    }

    /// Runs `job` on the writer's connection.
    pub(super) async fn write<T, F>(&self, job: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    {
        call(&self.writer, job).await
    }

    /// Runs `job` on a reader's connection (it sees every write committed before the call).
    pub(super) async fn read<T, F>(&self, job: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    {
        call(&self.readers, job).await
    }
}

async fn call<T, F>(queue: &Sender<Job>, job: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
{
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move |connection| {
        // The caller may have gone (its request was dropped): the work is done all the same.
        let _ = answer.send(job(connection));
    });
    queue.send(job).map_err(|_| StorageError::new(Failure::Stopped))?;
    match answered.await {
        Ok(result) => result.map_err(StorageError::new),
        // The job panicked (the thread survives it) or the thread is gone.
        Err(_) => Err(StorageError::new(Failure::Stopped)),
    }
}

fn spawn(name: String, body: impl FnOnce() + Send + 'static) -> Result<(), Failure> {
    std::thread::Builder::new().name(name).spawn(body).map(drop).map_err(Failure::Io)
}

/// Reports whether the connection opened, then runs jobs until the queue closes.
fn serve(
    connection: Result<Connection, Failure>,
    opened: oneshot::Sender<Result<(), Failure>>,
    next: impl Fn() -> Option<Job>,
) {
    let mut connection = match connection {
        Ok(connection) => {
            let _ = opened.send(Ok(()));
            connection
        }
        Err(failure) => {
            let _ = opened.send(Err(failure));
            return;
        }
    };
    while let Some(job) = next() {
        // A job that panics loses its answer (its caller gets an error), not the thread: an
        // open transaction is rolled back as the panic unwinds through it.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut connection)));
    }
}

/// The next job of a queue the reader threads share.
fn next_shared(queue: &Mutex<Receiver<Job>>) -> Option<Job> {
    // The lock is held while waiting, so one idle reader waits on the channel and the others
    // on the lock; it is released before the job runs.
    let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
    queue.recv().ok()
}

fn open_writer(path: &Path, busy_timeout: Duration, synchronous: Synchronous) -> Result<Connection, Failure> {
    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(Failure::Io)?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(busy_timeout)?;
    connection.set_prepared_statement_cache_capacity(STATEMENTS);
    schema::configure_writer(&connection, synchronous)?;
    schema::migrate(&mut connection)?;
    Ok(connection)
}

fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, Failure> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(busy_timeout)?;
    connection.set_prepared_statement_cache_capacity(STATEMENTS);
    schema::configure_reader(&connection)?;
    Ok(connection)
}
