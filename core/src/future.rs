//! The future every async trait method in grantry returns (grants, stores, authenticators).
//!
//! The core depends on no async runtime: a [`MaybeReady`] is an ordinary [`Future`] any
//! executor can drive. It is either a value computed already, which costs no allocation (what
//! an in-memory store or a grant without I/O returns), or a boxed future for real async work.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A heap-allocated, `Send` future: what [`MaybeReady::boxed`] holds.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A value that is ready now, or a boxed future that produces it: the return type of every
/// async trait method in grantry.
///
/// Return [`MaybeReady::ready`] when the answer needs no waiting, and
/// [`MaybeReady::boxed`]`(async move { ... })` otherwise.
///
/// ```
/// use grantry_core::MaybeReady;
/// # async fn demo() {
/// assert_eq!(MaybeReady::ready(7).await, 7);
/// assert_eq!(MaybeReady::boxed(async { 6 * 7 }).await, 42);
/// # }
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct MaybeReady<'a, T>(State<'a, T>);

enum State<'a, T> {
    /// The value, until the first poll takes it.
    Ready(Option<T>),
    Pending(BoxFuture<'a, T>),
}

impl<'a, T> MaybeReady<'a, T> {
    /// A value that is ready: awaiting it returns at once, and nothing is allocated.
    pub fn ready(value: T) -> Self {
        MaybeReady(State::Ready(Some(value)))
    }

    /// Async work, boxed.
    pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
        MaybeReady(State::Pending(Box::pin(future)))
    }

    /// The value, if it is ready now; otherwise the future itself, to await (or drop). Lets a
    /// caller finish without a future of its own when the callee answered at once.
    ///
    /// ```
    /// use grantry_core::MaybeReady;
    /// assert_eq!(MaybeReady::ready(7).into_ready().ok(), Some(7));
    /// assert!(MaybeReady::boxed(async { 7 }).into_ready().is_err());
    /// ```
    pub fn into_ready(self) -> Result<T, Self> {
        match self.0 {
            State::Ready(Some(value)) => Ok(value),
            state => Err(MaybeReady(state)),
        }
    }

    /// The value passed through `f`: ready at once when this one is, without a future of its
    /// own; otherwise a boxed future that awaits this one first.
    ///
    /// ```
    /// use grantry_core::MaybeReady;
    /// assert_eq!(MaybeReady::ready(6).map(|n| n * 7).into_ready().ok(), Some(42));
    /// assert!(MaybeReady::boxed(async { 6 }).map(|n| n * 7).into_ready().is_err());
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U + Send + 'a) -> MaybeReady<'a, U>
    where
        T: Send + 'a,
    {
        match self.into_ready() {
            Ok(value) => MaybeReady::ready(f(value)),
            Err(pending) => MaybeReady::boxed(async move { f(pending.await) }),
        }
    }

    /// The next step, `f`, run on the value: at once when this one is ready (and ready itself
    /// when `f`'s answer is), otherwise in a boxed future that awaits this one first. A pending
    /// answer is awaited, never dropped, so a write behind it happens exactly once.
    ///
    /// ```
    /// use grantry_core::MaybeReady;
    /// let next = MaybeReady::ready(6).then(|n| MaybeReady::ready(n * 7));
    /// assert_eq!(next.into_ready().ok(), Some(42));
    /// let later = MaybeReady::boxed(async { 6 }).then(|n| MaybeReady::ready(n * 7));
    /// assert!(later.into_ready().is_err(), "waits for the first step");
    /// ```
    pub fn then<U>(self, f: impl FnOnce(T) -> MaybeReady<'a, U> + Send + 'a) -> MaybeReady<'a, U>
    where
        T: Send + 'a,
        U: Send + 'a,
    {
        match self.into_ready() {
            Ok(value) => f(value),
            Err(pending) => MaybeReady::boxed(async move { f(pending.await).await }),
        }
    }
}

impl<'a, T> From<BoxFuture<'a, T>> for MaybeReady<'a, T> {
    fn from(future: BoxFuture<'a, T>) -> Self {
        MaybeReady(State::Pending(future))
    }
}

/// Never pinned structurally: the ready value is moved out, and the boxed future is pinned
/// by its box.
impl<T> Unpin for MaybeReady<'_, T> {}

impl<T> Future for MaybeReady<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.get_mut().0 {
            State::Ready(value) => match value.take() {
                Some(value) => Poll::Ready(value),
                None => panic!("MaybeReady polled after completion"),
            },
            State::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> std::fmt::Debug for MaybeReady<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            State::Ready(_) => f.write_str("MaybeReady::Ready"),
            State::Pending(_) => f.write_str("MaybeReady::Pending"),
        }
    }
}
