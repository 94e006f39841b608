//! Go's `io.Copy` contract, destination first: `go::copy(dst, src)` at every call site says
//! which order it takes.
//!
//! These functions take [`CopySource`]/[`CopySink`], the traits any type can implement to
//! reach the kernel paths, and return a [`CopyError`] that always carries the exact number of
//! bytes written. The source's [`WriteTo`] runs first, then the destination's [`ReadFrom`],
//! then the kernel strategies of the [table](crate::table::plan), then the buffered loop; a fast
//! path that cannot serve a pair falls back through [`NoWriteTo`]/[`NoReadFrom`], as in Go.
//!
//! ```
//! let mut src: &[u8] = b"hello";
//! let mut dst = Vec::new();
//! assert_eq!(fdcopy::go::copy(&mut dst, &mut src).unwrap(), 5);
//! ```

use std::io::{self, Write};

pub use crate::side::{ReadFrom, WriteTo};
pub use crate::wrap::{limit_reader, LimitedReader, NoReadFrom, NoWriteTo};

use crate::error::CopyError;
use crate::side::{CopySink, CopySource};
use crate::Copier;

/// Copies `src` to its end (or limit) into `dst`: Go's `io.Copy`. The error carries the bytes
/// written.
///
/// ```
/// let mut src: &[u8] = b"hello";
/// let mut dst = Vec::new();
/// assert_eq!(fdcopy::go::copy(&mut dst, &mut src).unwrap(), 5);
/// ```
pub fn copy<W, R>(dst: &mut W, src: &mut R) -> Result<u64, CopyError>
where
    W: CopySink + ?Sized,
    R: CopySource + ?Sized,
{
    Copier::new().go_copy(dst, src).map(|r| r.written())
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
/// assert_eq!(fdcopy::go::copy_n(&mut dst, &mut src, 2).unwrap(), 2);
/// let err = fdcopy::go::copy_n(&mut dst, &mut src, 5).unwrap_err();
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
    match Copier::new().go_copy(dst, &mut limit_reader(src, n)) {
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

/// Like [`copy`], with the caller's buffer for the buffered loop: Go's `io.CopyBuffer`. As in
/// Go the buffer is used at its full length and ignored when a fast path moves the bytes.
///
/// # Panics
/// If `buf` is empty (as Go does), even when the buffer would not be used.
///
/// ```
/// let mut buf = [0u8; 7];
/// let mut dst = Vec::new();
/// fdcopy::go::copy_buffer(&mut dst, &mut &b"0123456789"[..], &mut buf).unwrap();
/// assert_eq!(dst, b"0123456789");
/// ```
pub fn copy_buffer<W, R>(dst: &mut W, src: &mut R, buf: &mut [u8]) -> Result<u64, CopyError>
where
    W: CopySink + ?Sized,
    R: CopySource + ?Sized,
{
    Copier::new().buffer(buf).go_copy(dst, src).map(|r| r.written())
}

/// Writes all of `buf` into `dst` with the contract's rules (`Interrupted` retried, `Ok(0)` is
/// `WriteZero`, a count larger than the slice is an error), adding every accepted byte to
/// `written`. For [`WriteTo`] implementations. (Not `Write::write_all`: it keeps the count.)
///
/// ```
/// let mut dst = Vec::new();
/// let mut written = 0;
/// fdcopy::go::write_all_counted(&mut dst, b"abc", &mut written).unwrap();
/// assert_eq!(written, 3);
/// ```
pub fn write_all_counted<W: Write + ?Sized>(dst: &mut W, buf: &[u8], written: &mut u64) -> Result<(), CopyError> {
    crate::side::write_all_counted(dst, buf, written).map_err(|e| CopyError::new(*written, e))
}
