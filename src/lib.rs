//! Copy bytes between file descriptors as cheaply as the kernel allows, without giving up any
//! guarantee of `std::io::copy`, and keeping Go's `io.Copy` contract.
//!
//! * [`copy`] is a drop-in for `std::io::copy`: same argument order, bounds and return type.
//!   It recognises std's descriptor types (and `Take`, `BufReader`, `BufWriter`, `&mut`, `Box`
//!   around them) and moves their bytes with `copy_file_range`, `sendfile` or `splice`.
//! * [`io_copy`], [`copy_n`] and [`copy_buffer`] follow Go (destination first). Their error,
//!   [`CopyError`], always carries the exact number of bytes written before it. Any type opts in
//!   to the kernel paths by implementing [`AsRawFdKind`] with [`CopySource`]/[`CopySink`];
//!   Go's [`WriteTo`]/[`ReadFrom`] fast paths and [`NoWriteTo`]/[`NoReadFrom`] fallbacks work as
//!   in Go.
//! * [`Copier`] sets options (page-cache policy, progress callback, buffer, strategies to avoid)
//!   and returns a [`Report`] of which [`Strategy`] moved the bytes.
//!
//! The [strategy table](plan) and the [fallback rule](verdict) are public, pure functions.
//!
//! ```
//! # #[cfg(target_os = "linux")] {
//! use std::io::{Seek, Write};
//! let mut src = tempfile::tempfile().unwrap();
//! src.write_all(&vec![7u8; 1 << 20]).unwrap();
//! src.rewind().unwrap();
//! let mut dst = tempfile::tempfile().unwrap();
//!
//! let report = fdcopy::Copier::new().copy_std(&mut src, &mut dst).unwrap();
//! assert_eq!(report.written(), 1 << 20);
//! assert_eq!(report.strategy(), fdcopy::Strategy::CopyFileRange);
//! # }
//! ```

#![warn(missing_docs)]

mod buffered;
mod contract;
mod dropin;
mod engine;
mod error;
mod kind;
mod report;
mod side;
mod std_impls;
mod strategy;
mod wrap;

cfg_if::cfg_if! {
    if #[cfg(target_os = "linux")] {
        mod kernel;
        mod sys;
        pub use kind::classify;
    }
}

use std::io::{self, Read, Write};

pub use buffered::DEFAULT_BUFFER;
pub use contract::{limit_reader, LimitedReader, NoReadFrom, NoWriteTo, ReadFrom, WriteTo};
pub use error::CopyError;
pub use kind::{AsRawFdKind, FdKind, RawFd, RawFdKind, SocketFamily};
pub use report::{Progress, Report};
pub use side::{CopySink, CopySource};
pub use strategy::{plan, verdict, zero_is_decline, Facts, PageCache, Plan, Strategy, Syscall, Verdict, SMALL_COPY};
pub use wrap::{Fd, Plain};

/// Copies `reader` to its end into `writer`, like `std::io::copy`, moving the bytes with the
/// kernel where it can.
///
/// Same bounds, argument order and result as `std::io::copy`, so replacing `std::io::copy(`
/// with `fdcopy::copy(` always compiles. std's descriptor types reach the kernel paths with no
/// wrapper. For each descriptor type `B` — `File`, `&File`, `TcpStream`, `&TcpStream`,
/// `UnixStream`, `&UnixStream`, `PipeReader`, `&PipeReader`, `ChildStdout`, `ChildStderr`,
/// `Stdin`, `StdinLock` as readers; `File`, `&File`, `TcpStream`, `&TcpStream`, `UnixStream`,
/// `&UnixStream`, `PipeWriter`, `&PipeWriter`, `ChildStdin`, `Stdout`, `StdoutLock`, `Stderr`,
/// `StderrLock` as writers — these shapes are recognised:
///
/// * readers: `B`, `&mut B`, `Box<B>`, `Take<B>`, `Take<&mut B>`, `&mut Take<B>`,
///   `Take<Take<B>>`, `BufReader<B>`, `BufReader<&mut B>`, `&mut BufReader<B>`,
///   `Take<BufReader<B>>`, `Take<&mut BufReader<B>>`, `BufReader<Take<B>>`,
///   `Take<BufReader<Take<B>>>` (a `BufReader`'s buffered bytes go out first);
/// * writers: `B`, `&mut B`, `Box<B>`, `BufWriter<B>`, `BufWriter<&mut B>`,
///   `&mut BufWriter<B>` (flushed before any descriptor-level copy).
///
/// std's in-memory types (`&[u8]`, `Cursor`, `Vec<u8>`, `VecDeque<u8>`, `Empty`, `Sink`,
/// `Repeat`) are recognised too and copied without an extra buffer. Any other type is copied
/// by the buffered loop; to give a type of your own the kernel paths, use [`io_copy`].
///
/// As in std, the count of bytes written before an error is lost; [`io_copy`] keeps it.
///
/// ```
/// let mut src: &[u8] = b"drop-in";
/// let mut dst: Vec<u8> = Vec::new();
/// assert_eq!(fdcopy::copy(&mut src, &mut dst).unwrap(), 7);
/// assert_eq!(dst, b"drop-in");
/// ```
pub fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: Read + ?Sized,
    W: Write + ?Sized,
{
    Copier::new()
        .copy_std(reader, writer)
        .map(|r| r.written())
        .map_err(CopyError::into_error)
}

/// Copies `src` to its end (or limit) into `dst`: Go's `io.Copy`, destination first.
///
/// The source's [`WriteTo`] runs first, then the destination's [`ReadFrom`], then the kernel
/// strategies of the [table](plan), then the buffered loop. The error carries the bytes written.
///
/// ```
/// let mut src: &[u8] = b"hello";
/// let mut dst = Vec::new();
/// assert_eq!(fdcopy::io_copy(&mut dst, &mut src).unwrap(), 5);
/// ```
pub fn io_copy<W, R>(dst: &mut W, src: &mut R) -> Result<u64, CopyError>
where
    W: CopySink + ?Sized,
    R: CopySource + ?Sized,
{
    Copier::new().copy(dst, src).map(|r| r.written())
}

/// Copies exactly `n` bytes: Go's `io.CopyN`.
///
/// Returns `n`, or an error carrying the count: `UnexpectedEof` when the source ended first.
/// With `n == 0` nothing is touched. Bytes past `n` are never consumed from the source. (std's
/// `copy(&mut r.take(n), w)` instead returns a short count without an error.)
///
/// ```
/// let mut src: &[u8] = b"abc";
/// let mut dst = Vec::new();
/// assert_eq!(fdcopy::copy_n(&mut dst, &mut src, 2).unwrap(), 2);
/// let err = fdcopy::copy_n(&mut dst, &mut src, 5).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
/// assert_eq!(err.written(), 1);
/// ```
pub fn copy_n<W, R>(dst: &mut W, src: &mut R, n: u64) -> Result<u64, CopyError>
where
    W: CopySink + ?Sized,
    R: CopySource + ?Sized,
{
    if n == 0 {
        return Ok(0);
    }
    match Copier::new().copy(dst, &mut limit_reader(src, n)) {
        Ok(r) if r.written() == n => Ok(n),
        Ok(r) => Err(CopyError::new(
            r.written(),
            io::Error::new(io::ErrorKind::UnexpectedEof, "source ended before n bytes"),
        )
        .with_report(r)),
        // Go: once n bytes are written, an error from the source is dropped.
        Err(e) if e.written() == n => Ok(n),
        Err(e) => Err(e),
    }
}

/// Like [`io_copy`], with the caller's buffer for the buffered loop: Go's `io.CopyBuffer`. As in
/// Go the buffer is used at its full length and ignored when a fast path moves the bytes.
///
/// # Panics
/// If `buf` is empty (as Go does), even when the buffer would not be used.
///
/// ```
/// let mut buf = [0u8; 7];
/// let mut dst = Vec::new();
/// fdcopy::copy_buffer(&mut dst, &mut &b"0123456789"[..], &mut buf).unwrap();
/// assert_eq!(dst, b"0123456789");
/// ```
pub fn copy_buffer<W, R>(dst: &mut W, src: &mut R, buf: &mut [u8]) -> Result<u64, CopyError>
where
    W: CopySink + ?Sized,
    R: CopySource + ?Sized,
{
    Copier::new().buffer(buf).copy(dst, src).map(|r| r.written())
}

/// Writes all of `buf` into `dst` with the contract's rules (`Interrupted` retried, `Ok(0)` is
/// `WriteZero`, a count larger than the slice is an error), adding every accepted byte to
/// `written`. For [`WriteTo`] implementations.
///
/// ```
/// let mut dst = Vec::new();
/// let mut written = 0;
/// fdcopy::write_all(&mut dst, b"abc", &mut written).unwrap();
/// assert_eq!(written, 3);
/// ```
pub fn write_all<W: Write + ?Sized>(dst: &mut W, buf: &[u8], written: &mut u64) -> Result<(), CopyError> {
    side::write_all_counted(dst, buf, written).map_err(|e| CopyError::new(*written, e))
}

/// A copy with options: page-cache policy, progress callback, buffer, strategies to avoid; it
/// returns a [`Report`] of the strategies that moved the bytes.
///
/// ```
/// let mut seen = 0;
/// let mut on_progress = |p: fdcopy::Progress| seen = p.written;
/// let report = fdcopy::Copier::new()
///     .page_cache(fdcopy::PageCache::Isolate)
///     .progress(&mut on_progress)
///     .copy(&mut Vec::new(), &mut &b"abc"[..])
///     .unwrap();
/// assert_eq!(report.written(), 3);
/// assert_eq!(seen, 3);
/// ```
#[derive(Default)]
pub struct Copier<'a> {
    opts: engine::Options<'a>,
}

impl<'a> Copier<'a> {
    /// Default options: [`PageCache::Share`], no callback, fdcopy's buffer, every strategy.
    ///
    /// ```
    /// let report = fdcopy::Copier::new().copy(&mut Vec::new(), &mut &b"x"[..]).unwrap();
    /// assert_eq!(report.written(), 1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `sendfile`/`splice` may share a file's page-cache pages with a pipe or socket.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::io::{Read, Seek, Write};
    /// let mut file = tempfile::tempfile().unwrap();
    /// file.write_all(&[1u8; 65536]).unwrap();
    /// file.rewind().unwrap();
    /// let (mut r, mut w) = std::io::pipe().unwrap();
    /// let report = fdcopy::Copier::new()
    ///     .page_cache(fdcopy::PageCache::Isolate)
    ///     .copy_std(&mut (&mut file).take(60000), &mut w)
    ///     .unwrap();
    /// assert_eq!(report.strategy(), fdcopy::Strategy::Buffered); // no page shared with the pipe
    /// let mut got = vec![0u8; 60000];
    /// r.read_exact(&mut got).unwrap();
    /// # }
    /// ```
    pub fn page_cache(mut self, policy: PageCache) -> Self {
        self.opts.page_cache = policy;
        self
    }

    /// Called after every chunk any strategy moved (every kernel call, every buffered write).
    ///
    /// ```
    /// let mut total = 0;
    /// let mut count = |p: fdcopy::Progress| total += p.chunk;
    /// fdcopy::Copier::new().progress(&mut count).copy(&mut Vec::new(), &mut &b"abc"[..]).unwrap();
    /// assert_eq!(total, 3);
    /// ```
    pub fn progress(mut self, f: &'a mut dyn FnMut(Progress)) -> Self {
        self.opts.progress = Some(f);
        self
    }

    /// The buffered loop's buffer, used at its full length (Go's `CopyBuffer`).
    ///
    /// # Panics
    /// If `buf` is empty.
    ///
    /// ```
    /// let mut buf = [0u8; 4];
    /// let mut out = Vec::new();
    /// fdcopy::Copier::new().buffer(&mut buf).copy(&mut fdcopy::Plain(&mut out), &mut fdcopy::Plain(&b"0123456789"[..])).unwrap();
    /// assert_eq!(out, b"0123456789");
    /// ```
    pub fn buffer(mut self, buf: &'a mut [u8]) -> Self {
        assert!(!buf.is_empty(), "empty buffer in copy_buffer");
        self.opts.buffer = Some(buf);
        self
    }

    /// Never use `strategy` for this copy. Denying [`Strategy::Buffered`] makes a copy that no
    /// kernel strategy can finish fail with `ErrorKind::Unsupported` (with the count) instead of
    /// falling back to user space.
    ///
    /// ```
    /// let r = fdcopy::Copier::new().deny(fdcopy::Strategy::Buffered)
    ///     .copy(&mut Vec::new(), &mut &b"in memory"[..]);
    /// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    /// ```
    pub fn deny(mut self, strategy: Strategy) -> Self {
        self.opts.denied |= 1 << strategy as u8;
        self
    }

    /// [`io_copy`] with these options.
    ///
    /// ```
    /// let mut limited = fdcopy::limit_reader(&b"abcdef"[..], 4);
    /// let report = fdcopy::Copier::new().copy(&mut Vec::new(), &mut limited).unwrap();
    /// assert_eq!((report.written(), limited.remaining), (4, 0));
    /// ```
    pub fn copy<W, R>(&mut self, dst: &mut W, src: &mut R) -> Result<Report, CopyError>
    where
        W: CopySink + ?Sized,
        R: CopySource + ?Sized,
    {
        let mut dst: &mut W = dst;
        let mut src: &mut R = src;
        engine::copy(&mut dst, &mut src, &mut self.opts)
    }

    /// [`copy`] (std's argument order and bounds) with these options, and the report.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// std::thread::spawn(move || a.write_all(&vec![9u8; 1 << 20]));
    /// let mut file = tempfile::tempfile().unwrap();
    /// let report = fdcopy::Copier::new().copy_std(&mut (&mut b).take(1 << 20), &mut file).unwrap();
    /// assert_eq!(report.written(), 1 << 20);
    /// assert_eq!(report.strategy(), fdcopy::Strategy::SpliceViaPipe);
    /// # }
    /// ```
    pub fn copy_std<R, W>(&mut self, reader: &mut R, writer: &mut W) -> Result<Report, CopyError>
    where
        R: Read + ?Sized,
        W: Write + ?Sized,
    {
        let opts = &mut self.opts;
        dropin::with_source(reader, |src| {
            dropin::with_sink(writer, |dst| engine::copy(dst, src, opts))
        })
    }
}

/// The number of idle pipes in the intermediate-pipe pool (never more than its bound).
///
/// ```
/// assert!(fdcopy::pipe_pool_idle() <= fdcopy::PIPE_POOL_MAX_IDLE);
/// ```
#[cfg(target_os = "linux")]
pub fn pipe_pool_idle() -> usize {
    sys::pipe_pool::idle()
}

/// The bound of the intermediate-pipe pool.
///
/// ```
/// assert!(fdcopy::PIPE_POOL_MAX_IDLE >= 1);
/// ```
#[cfg(target_os = "linux")]
pub const PIPE_POOL_MAX_IDLE: usize = sys::pipe_pool::MAX_IDLE;

/// Forgets which syscalls were found unavailable in this process. For tests that inject
/// faults with a seccomp filter on one thread only.
#[doc(hidden)]
#[cfg(target_os = "linux")]
pub fn __reset_syscall_availability() {
    sys::avail::reset()
}
