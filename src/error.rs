//! The error of a copy: the `io::Error` plus the exact number of bytes the destination accepted.

use std::fmt;
use std::io;

use crate::report::Report;

/// A failed copy: what went wrong, and how many bytes the destination had accepted before.
///
/// Unlike `std::io::copy`, fdcopy never hides progress: [`written`](CopyError::written) is the
/// exact count of bytes the destination accepted before the error, on every path (buffered loop,
/// `copy_file_range`, `sendfile`, `splice`). It converts into `io::Error` with `?`.
///
/// ```
/// use std::io;
/// struct Full;
/// impl io::Write for Full {
///     fn write(&mut self, _: &[u8]) -> io::Result<usize> { Err(io::ErrorKind::StorageFull.into()) }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
/// let err = fdcopy::go::copy(&mut fdcopy::Plain(Full), &mut fdcopy::Plain(&b"abc"[..])).unwrap_err();
/// assert_eq!(err.written(), 0);
/// assert_eq!(err.kind(), io::ErrorKind::StorageFull);
/// let as_io: io::Error = err.into();
/// assert_eq!(as_io.kind(), io::ErrorKind::StorageFull);
/// ```
pub struct CopyError {
    written: u64,
    error: io::Error,
    report: Report,
}

impl CopyError {
    /// An error after `written` bytes: for [`WriteTo`](crate::go::WriteTo) and
    /// [`ReadFrom`](crate::go::ReadFrom) implementations that fail on their own.
    ///
    /// ```
    /// let e = fdcopy::CopyError::new(42, std::io::ErrorKind::ConnectionReset.into());
    /// assert_eq!((e.written(), e.kind()), (42, std::io::ErrorKind::ConnectionReset));
    /// ```
    pub fn new(written: u64, error: io::Error) -> Self {
        CopyError {
            written,
            error,
            report: Report::default(),
        }
    }

    pub(crate) fn with_report(mut self, report: Report) -> Self {
        self.written = report.written();
        self.report = report;
        self
    }

    /// Bytes the destination accepted before the error.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The underlying error.
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// The error's kind (a shortcut for `error().kind()`).
    pub fn kind(&self) -> io::ErrorKind {
        self.error.kind()
    }

    /// The raw OS error, when the error came from a syscall.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.error.raw_os_error()
    }

    /// Which strategies moved the bytes that were written before the error.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Splits into the count and the error.
    pub fn into_parts(self) -> (u64, io::Error) {
        (self.written, self.error)
    }

    /// The `io::Error`, dropping the count.
    pub fn into_error(self) -> io::Error {
        self.error
    }
}

impl From<CopyError> for io::Error {
    fn from(e: CopyError) -> io::Error {
        e.error
    }
}

impl fmt::Debug for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyError")
            .field("written", &self.written)
            .field("error", &self.error)
            .field("report", &self.report)
            .finish()
    }
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (after {} bytes written)", self.error, self.written)
    }
}

impl std::error::Error for CopyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The error for a writer that claimed to accept more bytes than it was given (Go's
/// `errInvalidWrite`).
pub(crate) fn invalid_write() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "writer reported more bytes written than it was given",
    )
}

/// The error for a reader that claimed to return more bytes than its buffer holds.
pub(crate) fn invalid_read() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "reader reported more bytes read than its buffer holds",
    )
}

/// The error for a writer that accepted nothing (std's `write_all` semantics).
pub(crate) fn write_zero() -> io::Error {
    io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer")
}

/// `EAGAIN` as an error: a side would block and the copy reports it with the count.
#[cfg(target_os = "linux")]
pub(crate) fn would_block() -> io::Error {
    io::Error::from_raw_os_error(libc::EAGAIN)
}
