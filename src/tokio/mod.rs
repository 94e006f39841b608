//! fdcopy's engine on tokio's reactor (cargo feature `tokio`): drop-ins for `tokio::io::copy`,
//! `copy_bidirectional` and `copy_bidirectional_with_sizes` that splice and sendfile where the
//! kernel can, a resumable [`Copier`] that keeps the count on error and loses nothing when a
//! `select!` drops it, and a [`proxy`] that reports both directions whatever happens.
//!
//! The decisions are the blocking API's: the same strategy table, fallback rule, pipe pool and
//! syscalls. What tokio adds is waiting: tokio's sockets and pipes are waited on through the
//! reactor (a socket is spliced only into an empty pipe, so its `EAGAIN` is its own; the
//! intermediate pipe is never registered), regular files are never registered, and every call
//! consumes tokio's cooperative budget.
//!
//! ```
//! # #[cfg(target_os = "linux")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tokio::io::AsyncWriteExt;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
//! let (mut server, _) = listener.accept().await.unwrap();
//! tokio::spawn(async move {
//!     client.write_all(&vec![7u8; 1 << 20]).await.unwrap();
//! });
//! let mut file = tokio::fs::File::from_std(tempfile::tempfile().unwrap());
//! let n = fdcopy::tokio::copy(&mut server, &mut file).await.unwrap(); // spliced, no user-space copy
//! assert_eq!(n, 1 << 20);
//! # });
//! ```

mod bidi;
#[allow(unsafe_code)] // type recognition: one pointer cast, argued where it is made
mod recognise;
mod side;
mod transfer;

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

pub use bidi::{proxy, Direction, DirectionReport, HalfClose, Outcome, ProxyOptions, ProxyReport};
pub use side::{AsyncCopySink, AsyncCopySource, Readiness};
pub use transfer::{FileIo, PipeSize};

use crate::engine::Policy;
use crate::error::CopyError;
use crate::report::{Progress, Report};
use crate::strategy::Strategy;
use crate::table::PageCache;
use transfer::{Settings, Transfer};

/// tokio's loop buffer (`tokio::io::copy` uses 8 KiB): the drop-ins keep it for the pairs no
/// kernel call takes, so their memory is tokio's.
const TOKIO_BUFFER: usize = 8 * 1024;

fn drop_in_settings(buffer: usize) -> Settings {
    Settings {
        policy: Policy::default(),
        pipe_size: PipeSize::Auto,
        file_io: FileIo::Inline,
        buffer,
    }
}

/// Copies `reader` to its end into `writer`: a drop-in for `tokio::io::copy`, same bounds and
/// result, moving the bytes with `splice`/`sendfile`/`copy_file_range` where the kernel can.
///
/// tokio's sockets, their halves, its pipes and `tokio::fs::File` are recognised with no
/// wrapper, also inside `&mut`, `Box`, `Take` (the limit holds inside the kernel: bytes past
/// it stay in the socket), `BufReader` (its buffered bytes go out first) and `BufWriter`
/// (flushed first). Any other type is copied by tokio's algorithm. As in tokio, the writer is
/// flushed at the end and never shut down, and the count is lost on error (the [`Copier`]
/// keeps it). A dropped future loses at most the bytes of one burst (in the intermediate pipe,
/// which is then closed, never pooled), as tokio's loses its buffer.
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut t = Transfer::new(drop_in_settings(TOKIO_BUFFER));
    poll_fn(|cx| poll_recognised(&mut t, cx, reader, writer, None)).await?;
    Ok(t.report().written())
}

/// Copies both ways between `a` and `b` until both directions reach end of file: a drop-in for
/// `tokio::io::copy_bidirectional`. End of file one way shuts the other side's write half down
/// (and the other way goes on); any error ends the copy at once. Returns the bytes `a` → `b`
/// and `b` → `a`.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(a, b, TOKIO_BUFFER, TOKIO_BUFFER).await
}

/// [`copy_bidirectional`] with the loop's buffer sizes for the pairs no kernel call takes: a
/// drop-in for `tokio::io::copy_bidirectional_with_sizes`.
///
/// # Panics
/// If either size is 0, as tokio does.
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    assert!(a_to_b_buf_size > 0, "`a_to_b_buf_size` must be greater than 0");
    assert!(b_to_a_buf_size > 0, "`b_to_a_buf_size` must be greater than 0");
    let options = ProxyOptions::new();
    let report = bidi::run(
        a,
        b,
        &options,
        drop_in_settings(a_to_b_buf_size),
        drop_in_settings(b_to_a_buf_size),
    )
    .await;
    match report.outcome {
        Outcome::Failed { error, .. } => Err(error),
        _ => Ok((report.a_to_b.written, report.b_to_a.written)),
    }
}

/// Polls one direction with the drop-in's recognition of both sides.
fn poll_recognised<R, W>(
    t: &mut Transfer,
    cx: &mut Context<'_>,
    reader: &mut R,
    writer: &mut W,
    progress: Option<&mut dyn FnMut(Progress)>,
) -> Poll<io::Result<()>>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    recognise::with_source(reader, |src| {
        recognise::with_sink(writer, |dst| t.poll(cx, src, dst, progress))
    })
}

/// A resumable async copy with options, returning the blocking API's [`Report`] and
/// [`CopyError`] (exact count on error, which strategy moved the bytes).
///
/// Its state (the stage, the pipe leased for the burst in flight and the bytes in it, the
/// counts) lives here, not in the future: a `select!` loop that drops the future of
/// [`copy`](Copier::copy) and calls it again loses nothing and counts everything once. Give it
/// the same reader and writer until the copy ends; a copy after an ended one starts anew,
/// delivering first any bytes an error left in the pipe ([`in_flight`](Copier::in_flight)).
///
/// ```
/// # #[cfg(target_os = "linux")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tokio::io::AsyncWriteExt;
/// let (mut tx, mut rx) = tokio::net::UnixStream::pair().unwrap();
/// tokio::spawn(async move { tx.write_all(&[1u8; 300_000]).await.unwrap() });
/// let mut file = tokio::fs::File::from_std(tempfile::tempfile().unwrap());
/// let mut copier = fdcopy::tokio::Copier::new();
/// let report = copier.copy(&mut rx, &mut file).await.unwrap();
/// assert_eq!(report.written(), 300_000);
/// assert_eq!(report.strategy(), fdcopy::Strategy::SpliceViaPipe);
/// # });
/// ```
pub struct Copier<'p> {
    transfer: Transfer,
    started: bool,
    progress: Option<&'p mut (dyn FnMut(Progress) + Send)>,
}

impl Default for Copier<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'p> Copier<'p> {
    /// The loop's buffer when no kernel call takes the pair.
    pub const DEFAULT_BUFFER: usize = 64 * 1024;

    /// Default options: [`PageCache::Share`], [`PipeSize::Auto`], [`FileIo::Inline`], every
    /// strategy, a 64 KiB loop buffer, no callback.
    pub fn new() -> Self {
        Copier {
            transfer: Transfer::new(Settings {
                policy: Policy::default(),
                pipe_size: PipeSize::Auto,
                file_io: FileIo::Inline,
                buffer: Self::DEFAULT_BUFFER,
            }),
            started: false,
            progress: None,
        }
    }

    fn settings(&mut self) -> &mut Settings {
        self.transfer.settings_mut()
    }

    /// Whether `sendfile`/`splice` may share a file's page-cache pages with a pipe or socket.
    pub fn page_cache(mut self, policy: PageCache) -> Self {
        self.settings().policy.page_cache = policy;
        self
    }

    /// How big the intermediate pipe may be (memory in flight per burst).
    pub fn pipe_size(mut self, size: PipeSize) -> Self {
        self.settings().pipe_size = size;
        self
    }

    /// Where calls that touch a regular file run.
    pub fn file_io(mut self, file_io: FileIo) -> Self {
        self.settings().file_io = file_io;
        self
    }

    /// The loop's buffer size, for the pairs no kernel call takes.
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn buffer_size(mut self, size: usize) -> Self {
        assert!(size > 0, "a loop buffer of 0 bytes");
        self.settings().buffer = size;
        self
    }

    /// Never use `strategy` for this copy; denying [`Strategy::Buffered`] makes a copy no
    /// kernel strategy can finish fail with `Unsupported` (with the count).
    pub fn deny(mut self, strategy: Strategy) -> Self {
        self.settings().policy.denied.insert(strategy);
        self
    }

    /// Bytes the caller already read from the source, written before anything of it in the
    /// next copy (the `read_buf` of an upgraded hyper connection, a sniffed protocol header):
    /// they count as [`Strategy::Buffered`] bytes of that copy.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut out = Vec::new();
    /// let report = fdcopy::tokio::Copier::new()
    ///     .prefix(b"GET / HTTP/1.1\r\n")
    ///     .copy(&mut &b"Host: x\r\n\r\n"[..], &mut out)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(out, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    /// assert_eq!(report.written(), out.len() as u64);
    /// # });
    /// ```
    pub fn prefix(mut self, bytes: &[u8]) -> Self {
        self.transfer.set_lead(bytes.to_vec());
        self
    }

    /// Called after every chunk any strategy moved.
    pub fn progress(mut self, f: &'p mut (dyn FnMut(Progress) + Send)) -> Self {
        self.progress = Some(f);
        self
    }

    /// Copies `reader` to its end into `writer` (std's and tokio's order), with tokio's types
    /// recognised as in [`copy`]. Cancel-safe: see the type's documentation.
    pub async fn copy<R, W>(&mut self, reader: &mut R, writer: &mut W) -> Result<Report, CopyError>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        poll_fn(|cx| self.poll_copy(cx, reader, writer)).await
    }

    /// The poll form of [`copy`](Copier::copy), for hand-written futures.
    pub fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut R,
        writer: &mut W,
    ) -> Poll<Result<Report, CopyError>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        self.begin();
        let progress = self.progress.as_mut().map(|p| &mut **p as &mut dyn FnMut(Progress));
        let r = poll_recognised(&mut self.transfer, cx, reader, writer, progress);
        self.end(r)
    }

    /// Like [`copy`](Copier::copy), for sides of your own that implement
    /// [`AsyncCopySource`]/[`AsyncCopySink`] (their descriptor and readiness).
    pub async fn copy_sides(
        &mut self,
        reader: &mut dyn AsyncCopySource,
        writer: &mut dyn AsyncCopySink,
    ) -> Result<Report, CopyError> {
        poll_fn(|cx| {
            self.begin();
            let progress = self.progress.as_mut().map(|p| &mut **p as &mut dyn FnMut(Progress));
            let r = self.transfer.poll(cx, &mut *reader, &mut *writer, progress);
            self.end(r)
        })
        .await
    }

    fn begin(&mut self) {
        if !self.started {
            self.transfer.restart();
            self.started = true;
        }
    }

    fn end(&mut self, r: Poll<io::Result<()>>) -> Poll<Result<Report, CopyError>> {
        let r = match r {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(())) => Ok(self.transfer.report().clone()),
            Poll::Ready(Err(e)) => Err(CopyError::new(0, e).with_report(self.transfer.report().clone())),
        };
        self.started = false;
        Poll::Ready(r)
    }

    /// Bytes the destination accepted in the current (or last) copy.
    pub fn written(&self) -> u64 {
        self.transfer.report().written()
    }

    /// Bytes taken from the source that sit in the intermediate pipe, not yet delivered: what
    /// dropping this `Copier` now would lose.
    pub fn in_flight(&self) -> u64 {
        self.transfer.in_flight()
    }

    /// The strategies of the current (or last) copy and their bytes.
    pub fn report(&self) -> &Report {
        self.transfer.report()
    }
}
