//! Copy bytes between file descriptors as cheaply as the kernel allows, without giving up any
//! guarantee of `std::io::copy`, and keeping Go's `io.Copy` contract.
//!
//! * [`copy`] is a drop-in for `std::io::copy`: same argument order, bounds and return type.
//!   It recognises std's descriptor types (and `Take`, `BufReader`, `BufWriter`, `&mut`, `Box`
//!   around them) and moves their bytes with `copy_file_range`, `sendfile` or `splice`.
//! * [`Copier`] is the same copy with options (page-cache policy, progress callback, buffer,
//!   strategies to avoid); it returns a [`Report`] of which [`Strategy`] moved the bytes, and
//!   its error, [`CopyError`], always carries the exact number of bytes written before it.
//! * [`go`] holds Go's destination-first API (`go::copy(dst, src)`, `copy_n`, `copy_buffer`,
//!   `LimitedReader`, the `WriteTo`/`ReadFrom` fast paths and the `NoWriteTo`/`NoReadFrom`
//!   fallback). It takes [`CopySource`]/[`CopySink`], through which a type of your own reaches
//!   the kernel paths by handing over its [`Descriptor`] ([`AsDescriptor`]); [`Plain`] and
//!   [`Fd`] adapt any `Read`/`Write`.
//! * [`table`] is the strategy table and the fallback rule: pure, public functions.
//! * [`copy_file`] is a drop-in for `std::fs::copy`: std's permission rule and result, the
//!   holes of a sparse file kept ([`Sparse`]), whole files cloned where the filesystem can
//!   ([`Reflink`]), and a file copied onto itself refused instead of emptied.
//!
//! ```
//! # #[cfg(target_os = "linux")] {
//! use std::io::{Seek, Write};
//! let mut src = tempfile::tempfile().unwrap();
//! src.write_all(&vec![7u8; 1 << 20]).unwrap();
//! src.rewind().unwrap();
//! let mut dst = tempfile::tempfile().unwrap();
//!
//! let report = fdcopy::Copier::new().copy(&mut src, &mut dst).unwrap();
//! assert_eq!(report.written(), 1 << 20);
//! assert_eq!(report.strategy(), fdcopy::Strategy::CopyFileRange);
//! # }
//! ```

#![warn(missing_docs)]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod bidi;
mod buffered;
mod descriptor;
#[allow(unsafe_code)] // type recognition: one pointer cast, argued where it is made
mod dropin;
mod engine;
mod error;
pub mod go;
mod path;
mod recorder;
mod report;
mod side;
mod std_types;
mod strategy;
pub mod table;
mod wrap;

#[cfg(feature = "tokio")]
pub mod tokio;

cfg_if::cfg_if! {
    if #[cfg(target_os = "linux")] {
        mod facts;
        mod kernel;
        mod sparse;
        mod sys;
    }
}

use std::io::{self, Read, Write};
use std::path::Path;

pub use bidi::copy_bidirectional;
pub use descriptor::{AsDescriptor, Descriptor};
pub use error::CopyError;
pub use report::{Progress, Report};
pub use side::{CopySink, CopySource};
pub use strategy::Strategy;
pub use table::PageCache;
pub use table::{Reflink, Sparse};
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
///   `&mut BufWriter<B>`, and the same with `LineWriter` (flushed before any
///   descriptor-level copy).
///
/// std's in-memory types (`&[u8]`, `Cursor`, `Vec<u8>`, `VecDeque<u8>`, `Empty`, `Sink`,
/// `Repeat`) are recognised too and copied without an extra buffer. Any other type is copied
/// by the buffered loop; to give a type of your own the kernel paths, implement
/// [`CopySource`]/[`CopySink`] and use [`go::copy`].
///
/// As in std, the count of bytes written before an error is lost; [`Copier::copy`] keeps it.
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
        .copy(reader, writer)
        .map(|r| r.written())
        .map_err(CopyError::into_error)
}

/// Copies the file at `from` to `to`, like `std::fs::copy`, keeping holes and cloning where the
/// filesystem can.
///
/// std's rule and result: `from` must be a regular file (else `InvalidInput`); `to` is created
/// with `from`'s permission bits, or truncated and given them if it exists (a FIFO or device
/// keeps its own); the result is the number of bytes copied, which is `from`'s length. Like
/// std, no timestamps, owner, extended attributes or ACLs are copied.
///
/// Beyond std:
/// * a sparse source keeps its holes, like `cp --sparse=auto` ([`Sparse::Auto`]);
/// * on XFS and btrfs the destination shares the source's blocks (`FICLONE`,
///   [`Reflink::Auto`]) and takes no space;
/// * copying a file onto itself (the same path, a hard link, a symlink) is an `InvalidInput`
///   error and the file stays intact, where std empties it.
///
/// [`Copier::copy_file`] is the same copy with options, a [`Report`], and a progress callback
/// that knows the total ([`Progress::total`]).
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// let dir = tempfile::tempdir().unwrap();
/// let (from, to) = (dir.path().join("from"), dir.path().join("to"));
/// std::fs::write(&from, b"contents").unwrap();
/// assert_eq!(fdcopy::copy_file(&from, &to).unwrap(), 8);
/// assert_eq!(std::fs::read(&to).unwrap(), b"contents");
/// let same = fdcopy::copy_file(&from, &from).unwrap_err();
/// assert_eq!(same.kind(), std::io::ErrorKind::InvalidInput);
/// assert_eq!(std::fs::read(&from).unwrap(), b"contents"); // intact
/// # }
/// ```
pub fn copy_file<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    Copier::new()
        .copy_file(from, to)
        .map(|r| r.written())
        .map_err(CopyError::into_error)
}

/// A copy with options: page-cache policy, progress callback, buffer, strategies to avoid.
/// [`copy`](Copier::copy) takes std's order, [`go_copy`](Copier::go_copy) Go's; both return a
/// [`Report`] of the strategies that moved the bytes, or a [`CopyError`] with the exact count.
///
/// ```
/// let mut seen = 0;
/// let mut on_progress = |p: fdcopy::Progress| seen = p.written;
/// let report = fdcopy::Copier::new()
///     .page_cache(fdcopy::PageCache::Isolate)
///     .progress(&mut on_progress)
///     .copy(&mut &b"abc"[..], &mut Vec::new())
///     .unwrap();
/// assert_eq!(report.written(), 3);
/// assert_eq!(seen, 3);
/// ```
#[derive(Default)]
pub struct Copier<'a> {
    opts: engine::Options<'a>,
}

impl<'a> Copier<'a> {
    /// The buffered loop's buffer when none is given: 128 KiB, allocated once per thread (the
    /// measurement behind the size is in `docs/architecture.md`).
    ///
    /// ```
    /// assert_eq!(fdcopy::Copier::DEFAULT_BUFFER, 128 * 1024);
    /// ```
    pub const DEFAULT_BUFFER: usize = buffered::DEFAULT_BUFFER;

    /// Default options: [`PageCache::Share`], [`Sparse::Auto`], [`Reflink::Auto`], no callback,
    /// fdcopy's buffer, every strategy.
    ///
    /// ```
    /// let report = fdcopy::Copier::new().copy(&mut &b"x"[..], &mut Vec::new()).unwrap();
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
    ///     .copy(&mut (&mut file).take(60000), &mut w)
    ///     .unwrap();
    /// assert_eq!(report.strategy(), fdcopy::Strategy::Buffered); // no page shared with the pipe
    /// let mut got = vec![0u8; 60000];
    /// r.read_exact(&mut got).unwrap();
    /// # }
    /// ```
    pub fn page_cache(mut self, policy: PageCache) -> Self {
        self.opts.policy.page_cache = policy;
        self
    }

    /// Whether a sparse regular file copied into a regular file keeps its holes:
    /// [`Sparse::Auto`] (the default) or [`Sparse::Never`] (std's allocation; use it where
    /// `SEEK_DATA` is not to be trusted, e.g. OpenZFS #11900, #15526, #15933).
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::io::{Seek, SeekFrom, Write};
    /// let mut src = tempfile::tempfile().unwrap();
    /// src.seek(SeekFrom::Start(64 << 20)).unwrap();
    /// src.write_all(b"end").unwrap(); // 64 MiB of hole, then 3 bytes
    /// src.rewind().unwrap();
    /// let mut dst = tempfile::tempfile().unwrap();
    /// let report = fdcopy::Copier::new().copy(&mut src, &mut dst).unwrap();
    /// assert_eq!(report.written(), (64 << 20) + 3); // what std returns
    /// assert_eq!(report.bytes_by(fdcopy::Strategy::Hole), 64 << 20); // not written
    /// # }
    /// ```
    pub fn sparse(mut self, policy: Sparse) -> Self {
        self.opts.policy.sparse = policy;
        self
    }

    /// Whether a file → file copy may share the source's blocks: [`Reflink::Auto`] (the
    /// default: `FICLONE` for a whole file where the filesystem can, else `copy_file_range`),
    /// [`Reflink::Never`] (fresh blocks: neither), [`Reflink::Always`] (clone or fail, the
    /// destination untouched).
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::io::{Seek, Write};
    /// let mut src = tempfile::tempfile().unwrap();
    /// src.write_all(&[1u8; 1 << 20]).unwrap();
    /// src.rewind().unwrap();
    /// let mut dst = tempfile::tempfile().unwrap();
    /// let report = fdcopy::Copier::new().reflink(fdcopy::Reflink::Never).copy(&mut src, &mut dst).unwrap();
    /// assert_eq!(report.strategy(), fdcopy::Strategy::Sendfile); // no copy_file_range
    /// # }
    /// ```
    pub fn reflink(mut self, policy: Reflink) -> Self {
        self.opts.policy.reflink = policy;
        self
    }

    /// Called after every chunk any strategy moved (every kernel call, every buffered write,
    /// every hole skipped). With a callback, `copy_file_range` and `sendfile` move at most
    /// 16 MiB per call (1 GiB otherwise), so that it fires on large files; that costs nothing
    /// measurable.
    ///
    /// ```
    /// let mut total = 0;
    /// let mut count = |p: fdcopy::Progress| total += p.chunk;
    /// fdcopy::Copier::new().progress(&mut count).copy(&mut &b"abc"[..], &mut Vec::new()).unwrap();
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
    /// fdcopy::Copier::new().buffer(&mut buf).copy(&mut fdcopy::Plain(&b"0123456789"[..]), &mut out).unwrap();
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
    ///     .copy(&mut &b"in memory"[..], &mut Vec::new());
    /// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    /// ```
    pub fn deny(mut self, strategy: Strategy) -> Self {
        self.opts.policy.denied.insert(strategy);
        self
    }

    /// [`copy`] with these options: std's argument order and bounds, and the
    /// report.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// std::thread::spawn(move || a.write_all(&vec![9u8; 1 << 20]));
    /// let mut file = tempfile::tempfile().unwrap();
    /// let report = fdcopy::Copier::new().copy(&mut (&mut b).take(1 << 20), &mut file).unwrap();
    /// assert_eq!(report.written(), 1 << 20);
    /// assert_eq!(report.strategy(), fdcopy::Strategy::SpliceViaPipe);
    /// # }
    /// ```
    pub fn copy<R, W>(&mut self, reader: &mut R, writer: &mut W) -> Result<Report, CopyError>
    where
        R: Read + ?Sized,
        W: Write + ?Sized,
    {
        let opts = &mut self.opts;
        dropin::with_source(reader, |src| {
            dropin::with_sink(writer, |dst| engine::copy(dst, src, opts))
        })
    }

    /// [`copy_file`] with these options: the `Report`, and progress events
    /// that carry the source's size as [`Progress::total`].
    ///
    /// Under [`Reflink::Always`] an existing destination is neither truncated nor given new
    /// permissions before the clone (which needs it empty): a copy that cannot be cloned leaves
    /// it as it was, and removes a destination the call created.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let dir = tempfile::tempdir().unwrap();
    /// let (from, to) = (dir.path().join("from"), dir.path().join("to"));
    /// std::fs::write(&from, vec![5u8; 40 << 20]).unwrap();
    /// let mut events = Vec::new();
    /// let mut on_progress = |p: fdcopy::Progress| events.push((p.written, p.total));
    /// let report = fdcopy::Copier::new().progress(&mut on_progress).copy_file(&from, &to).unwrap();
    /// assert_eq!(report.written(), 40 << 20);
    /// assert!(events.len() >= 3); // 16 MiB kernel chunks at most, with a callback
    /// assert_eq!(events.last(), Some(&(40 << 20, Some(40 << 20))));
    /// # }
    /// ```
    pub fn copy_file<P: AsRef<Path>, Q: AsRef<Path>>(&mut self, from: P, to: Q) -> Result<Report, CopyError> {
        path::copy_file(self, from.as_ref(), to.as_ref())
    }

    /// [`go::copy`] with these options: Go's order, destination first, for any
    /// [`CopySource`]/[`CopySink`].
    ///
    /// ```
    /// let mut limited = fdcopy::go::limit_reader(&b"abcdef"[..], 4);
    /// let report = fdcopy::Copier::new().go_copy(&mut Vec::new(), &mut limited).unwrap();
    /// assert_eq!((report.written(), limited.remaining), (4, 0));
    /// ```
    pub fn go_copy<W, R>(&mut self, dst: &mut W, src: &mut R) -> Result<Report, CopyError>
    where
        W: CopySink + ?Sized,
        R: CopySource + ?Sized,
    {
        let mut dst: &mut W = dst;
        let mut src: &mut R = src;
        engine::copy(&mut dst, &mut src, &mut self.opts)
    }
}

/// Hooks for fdcopy's own tests and tools: not part of the API.
#[doc(hidden)]
pub mod __test {
    /// The number of idle pipes in the intermediate-pipe pool (never more than its bound).
    #[cfg(target_os = "linux")]
    pub fn pipe_pool_idle() -> usize {
        crate::sys::pipe_pool::idle()
    }

    /// Bytes held by the idle pipes of the pool: 0, since a pipe that may hold bytes is closed,
    /// never pooled.
    #[cfg(target_os = "linux")]
    pub fn pipe_pool_bytes() -> u64 {
        crate::sys::pipe_pool::idle_bytes()
    }

    /// The bound of the intermediate-pipe pool.
    #[cfg(target_os = "linux")]
    pub const PIPE_POOL_MAX_IDLE: usize = crate::sys::pipe_pool::MAX_IDLE;

    /// Forgets which syscalls were found unavailable in this process. For tests that inject
    /// faults with a seccomp filter on one thread only.
    #[cfg(target_os = "linux")]
    pub fn reset_syscall_availability() {
        crate::sys::avail::reset()
    }

    /// The syscalls found unavailable in this process so far (what the next plan leaves out).
    #[cfg(target_os = "linux")]
    pub fn unavailable_syscalls() -> crate::table::SyscallSet {
        crate::sys::avail::unavailable()
    }
}
