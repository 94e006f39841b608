//! Both directions between two streams: tokio's `copy_bidirectional` semantics, and the
//! [`proxy`] with a half-close policy, an idle timeout and a report of both directions.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::transfer::{FileIo, PipeSize, Settings, Transfer};
use super::{drop_in_settings, poll_recognised, Copier};
use crate::report::Report;
use crate::table::PageCache;

/// What a proxy does when one direction reaches end of file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HalfClose {
    /// tokio's behaviour: shut the other side's write half down and keep copying the other way
    /// until it ends too (a half-closed TCP connection stays useful).
    #[default]
    Propagate,
    /// End the whole proxy at the first end of file: both write halves are shut down (neon's
    /// and rathole's choice: peers that never half-close do not linger in CLOSE-WAIT).
    CloseBoth,
    /// Keep copying the other way for at most this long, then as [`CloseBoth`](Self::CloseBoth)
    /// (shadowsocks' choice).
    Linger(Duration),
}

/// A direction of a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From `a` to `b`.
    AToB,
    /// From `b` to `a`.
    BToA,
}

/// Options of a [`proxy`].
///
/// ```
/// use std::time::Duration;
/// use fdcopy::tokio::{HalfClose, ProxyOptions};
/// let options = ProxyOptions::new()
///     .half_close(HalfClose::Linger(Duration::from_secs(5)))
///     .idle_timeout(Duration::from_secs(300));
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    half_close: HalfClose,
    idle: Option<Duration>,
    settings: Settings,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyOptions {
    /// [`HalfClose::Propagate`], no idle timeout, the [`Copier`]'s defaults.
    pub fn new() -> Self {
        ProxyOptions {
            half_close: HalfClose::Propagate,
            idle: None,
            settings: drop_in_settings(Copier::DEFAULT_BUFFER),
        }
    }

    /// What to do at the first end of file.
    pub fn half_close(mut self, policy: HalfClose) -> Self {
        self.half_close = policy;
        self
    }

    /// End the proxy when no byte has moved either way for this long (needs a runtime with
    /// the time driver enabled).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// See [`Copier::pipe_size`].
    pub fn pipe_size(mut self, size: PipeSize) -> Self {
        self.settings.pipe_size = size;
        self
    }

    /// See [`Copier::file_io`].
    pub fn file_io(mut self, file_io: FileIo) -> Self {
        self.settings.file_io = file_io;
        self
    }

    /// See [`Copier::page_cache`].
    pub fn page_cache(mut self, policy: PageCache) -> Self {
        self.settings.policy.page_cache = policy;
        self
    }

    /// See [`Copier::buffer_size`].
    pub fn buffer_size(mut self, size: usize) -> Self {
        assert!(size > 0, "a loop buffer of 0 bytes");
        self.settings.buffer = size;
        self
    }
}

/// One direction of a proxy, as it ended.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DirectionReport {
    /// Bytes the destination accepted.
    pub written: u64,
    /// Bytes taken from the source that were still in the intermediate pipe when the proxy
    /// ended (not delivered, not in `written`).
    pub in_flight: u64,
    /// Which strategies moved the bytes (`report.strategy()` names the main one).
    pub report: Report,
    /// Whether this direction reached end of file (and shut the other side's write half).
    pub finished: bool,
}

/// How a proxy ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Both directions reached end of file.
    Complete,
    /// One direction reached end of file and [`HalfClose::CloseBoth`] ended the other.
    ClosedBoth,
    /// One direction reached end of file and the [`HalfClose::Linger`] time ran out.
    LingerExpired,
    /// No byte moved either way for the idle timeout.
    IdleTimeout,
    /// A direction failed; the proxy ended at once.
    Failed {
        /// The direction whose copy failed.
        direction: Direction,
        /// What went wrong.
        error: io::Error,
    },
}

/// What a [`proxy`] did: both directions' counts always, also after an error.
#[derive(Debug)]
#[non_exhaustive]
pub struct ProxyReport {
    /// From `a` to `b`.
    pub a_to_b: DirectionReport,
    /// From `b` to `a`.
    pub b_to_a: DirectionReport,
    /// How it ended.
    pub outcome: Outcome,
}

/// Copies both ways between `a` and `b` with fdcopy's engine, as
/// [`copy_bidirectional`](super::copy_bidirectional) does, and reports everything: both counts (also on error), which
/// direction failed and with what, the bytes left in a pipe apart from those delivered, and the
/// strategy of each direction. `options` set the half-close policy and an idle timeout.
///
/// ```
/// # #[cfg(target_os = "linux")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// let (mut a, mut client) = tokio::net::UnixStream::pair().unwrap();
/// let (mut b, mut server) = tokio::net::UnixStream::pair().unwrap();
/// tokio::spawn(async move {
///     client.write_all(b"ping").await.unwrap();
///     client.shutdown().await.unwrap();
///     let mut reply = Vec::new();
///     client.read_to_end(&mut reply).await.unwrap();
///     assert_eq!(reply, b"pong");
/// });
/// tokio::spawn(async move {
///     let mut got = Vec::new();
///     server.read_to_end(&mut got).await.unwrap();
///     server.write_all(b"pong").await.unwrap();
/// });
/// let report = fdcopy::tokio::proxy(&mut a, &mut b, &fdcopy::tokio::ProxyOptions::new()).await;
/// assert_eq!((report.a_to_b.written, report.b_to_a.written), (4, 4));
/// assert!(matches!(report.outcome, fdcopy::tokio::Outcome::Complete));
/// # });
/// ```
pub async fn proxy<A, B>(a: &mut A, b: &mut B, options: &ProxyOptions) -> ProxyReport
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    run(a, b, options, options.settings, options.settings).await
}

/// One direction's progress through copy, shutdown, done.
#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Copying,
    ShuttingDown,
    Done,
}

struct Half {
    transfer: Transfer,
    phase: Phase,
}

impl Half {
    fn new(settings: Settings) -> Self {
        Half {
            transfer: Transfer::new(settings),
            phase: Phase::Copying,
        }
    }

    /// Copies `r` into `w`, then shuts `w` down; `Ready(Ok)` once done.
    fn poll<R, W>(&mut self, cx: &mut Context<'_>, r: &mut R, w: &mut W) -> Poll<io::Result<()>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        loop {
            match self.phase {
                Phase::Copying => {
                    ready!(poll_recognised(&mut self.transfer, cx, r, w, None))?;
                    self.phase = Phase::ShuttingDown;
                }
                Phase::ShuttingDown => {
                    ready!(Pin::new(&mut *w).poll_shutdown(cx))?;
                    self.phase = Phase::Done;
                }
                Phase::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    fn report(&self) -> DirectionReport {
        DirectionReport {
            written: self.transfer.report().written(),
            in_flight: self.transfer.in_flight(),
            report: self.transfer.report().clone(),
            finished: self.phase == Phase::Done,
        }
    }

    fn moved(&self) -> u64 {
        self.transfer.report().written()
    }
}

pub(super) async fn run<A, B>(a: &mut A, b: &mut B, options: &ProxyOptions, ab: Settings, ba: Settings) -> ProxyReport
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut ab = Half::new(ab);
    let mut ba = Half::new(ba);
    let mut idle = options.idle.map(|d| (d, Box::pin(tokio::time::sleep(d)), 0u64));
    let mut linger: Option<Pin<Box<tokio::time::Sleep>>> = None;
    let outcome = poll_fn(|cx| {
        let r1 = ab.poll(cx, a, b);
        if let Poll::Ready(Err(error)) = r1 {
            return Poll::Ready(Outcome::Failed {
                direction: Direction::AToB,
                error,
            });
        }
        let r2 = ba.poll(cx, b, a);
        if let Poll::Ready(Err(error)) = r2 {
            return Poll::Ready(Outcome::Failed {
                direction: Direction::BToA,
                error,
            });
        }
        let (done1, done2) = (r1.is_ready(), r2.is_ready());
        if done1 && done2 {
            return Poll::Ready(Outcome::Complete);
        }
        if done1 || done2 {
            match options.half_close {
                HalfClose::Propagate => {}
                HalfClose::CloseBoth => return Poll::Ready(Outcome::ClosedBoth),
                HalfClose::Linger(d) => {
                    let timer = linger.get_or_insert_with(|| Box::pin(tokio::time::sleep(d)));
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Outcome::LingerExpired);
                    }
                }
            }
        }
        if let Some((d, timer, seen)) = &mut idle {
            let moved = ab.moved() + ba.moved();
            if moved != *seen {
                *seen = moved;
                timer.as_mut().reset(tokio::time::Instant::now() + *d);
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Outcome::IdleTimeout);
            }
        }
        Poll::Pending
    })
    .await;
    if matches!(
        outcome,
        Outcome::ClosedBoth | Outcome::LingerExpired | Outcome::IdleTimeout
    ) {
        // End both directions: shut down the write halves not yet shut (best effort: the
        // proxy's outcome is already decided).
        let _ = poll_fn(|cx| {
            let x = if ab.phase == Phase::Done {
                Poll::Ready(Ok(()))
            } else {
                Pin::new(&mut *b).poll_shutdown(cx)
            };
            let y = if ba.phase == Phase::Done {
                Poll::Ready(Ok(()))
            } else {
                Pin::new(&mut *a).poll_shutdown(cx)
            };
            if x.is_ready() && y.is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
    ProxyReport {
        a_to_b: ab.report(),
        b_to_a: ba.report(),
        outcome,
    }
}
