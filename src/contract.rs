//! Go's copy contract types: `WriterTo`/`ReaderFrom` fast paths, the `noWriteTo`/`noReadFrom`
//! fallback wrappers, and `LimitedReader`.

use std::io::{self, BufRead, Read, Write};

use crate::error::CopyError;
use crate::kind::{AsRawFdKind, RawFdKind};
use crate::side::{CopySink, CopySource};

/// Go's `io.WriterTo`: a source that can write itself into a destination faster than the
/// engine could pull from it.
///
/// Return it from [`CopySource::as_write_to`]. It runs before anything else in a copy. If it
/// cannot take its fast path for this destination, it must not run its own loop: it calls
/// `fdcopy::io_copy(dst, &mut NoWriteTo(self))`, so that the destination's [`ReadFrom`] and the
/// kernel strategies still get their chance (Go's fallback rule). That fallback is a new copy
/// with default options; to keep a caller's options (progress, policy), run it through a
/// [`Copier`](crate::Copier) of your own.
///
/// ```
/// use std::io::{self, Read};
/// use fdcopy::{CopyError, CopySink, WriteTo};
///
/// /// An in-memory message that writes itself out with one `write_all`.
/// struct Message { bytes: Vec<u8>, pos: usize }
/// impl Read for Message {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         let n = (&self.bytes[self.pos..]).read(buf)?;
///         self.pos += n;
///         Ok(n)
///     }
/// }
/// impl WriteTo for Message {
///     fn write_to(&mut self, dst: &mut dyn CopySink) -> Result<u64, CopyError> {
///         let rest = &self.bytes[self.pos..];
///         let mut written = 0;
///         fdcopy::write_all(dst, rest, &mut written)?;
///         self.pos += rest.len();
///         Ok(written)
///     }
/// }
/// impl fdcopy::AsRawFdKind for Message {
///     fn as_raw_fd_kind(&self) -> Option<fdcopy::RawFdKind> { None }
/// }
/// impl fdcopy::CopySource for Message {
///     fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> { Some(self) }
/// }
///
/// let mut out = Vec::new();
/// let mut msg = Message { bytes: b"hello".to_vec(), pos: 0 };
/// let report = fdcopy::Copier::new().copy(&mut out, &mut msg).unwrap();
/// assert_eq!(out, b"hello");
/// assert_eq!(report.strategy(), fdcopy::Strategy::WriteTo);
/// ```
pub trait WriteTo {
    /// Writes everything this source holds into `dst`; returns the count, or the error with the
    /// count the destination accepted before it.
    fn write_to(&mut self, dst: &mut dyn CopySink) -> Result<u64, CopyError>;
}

/// Go's `io.ReaderFrom`: a destination that can pull from a source faster than the engine.
///
/// Return it from [`CopySink::as_read_from`]. It runs when the source offers no [`WriteTo`].
/// If it cannot take its fast path for this source, it calls
/// `fdcopy::io_copy(&mut NoReadFrom(self), src)`.
///
/// ```
/// use std::io::{self, Write};
/// use fdcopy::{CopyError, CopySource, ReadFrom};
///
/// /// A sink that only counts, reading in large gulps.
/// struct Tally(u64);
/// impl Write for Tally {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> { self.0 += buf.len() as u64; Ok(buf.len()) }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
/// impl ReadFrom for Tally {
///     fn read_from(&mut self, src: &mut dyn CopySource) -> Result<u64, CopyError> {
///         // No fast path of its own here: fall back without recursion.
///         fdcopy::io_copy(&mut fdcopy::NoReadFrom(self), src)
///     }
/// }
/// impl fdcopy::AsRawFdKind for Tally {
///     fn as_raw_fd_kind(&self) -> Option<fdcopy::RawFdKind> { None }
/// }
/// impl fdcopy::CopySink for Tally {
///     fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> { Some(self) }
/// }
///
/// let mut t = Tally(0);
/// assert_eq!(fdcopy::io_copy(&mut t, &mut &b"12345"[..]).unwrap(), 5);
/// assert_eq!(t.0, 5);
/// ```
pub trait ReadFrom {
    /// Reads `src` to its end (or limit) into this destination; returns the count, or the
    /// error with the count this destination accepted before it.
    fn read_from(&mut self, src: &mut dyn CopySource) -> Result<u64, CopyError>;
}

/// Hides a source's [`WriteTo`] and keeps everything else, its descriptor included (Go's
/// `fileWithoutWriteTo`). Wrapping twice, or together with [`NoReadFrom`], is fine.
///
/// ```
/// let mut src = fdcopy::NoWriteTo(&b"abc"[..]);
/// let mut dst = Vec::new();
/// assert_eq!(fdcopy::io_copy(&mut dst, &mut src).unwrap(), 3);
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoWriteTo<T>(pub T);

/// Hides a destination's [`ReadFrom`] and keeps everything else, its descriptor included (Go's
/// `fileWithoutReadFrom`).
///
/// ```
/// let mut dst = fdcopy::NoReadFrom(Vec::new());
/// assert_eq!(fdcopy::io_copy(&mut dst, &mut &b"abc"[..]).unwrap(), 3);
/// assert_eq!(dst.0, b"abc");
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoReadFrom<T>(pub T);

macro_rules! forward_io {
    ($wrapper:ident) => {
        impl<T: Read> Read for $wrapper<T> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl<T: Write> Write for $wrapper<T> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
        impl<T: AsRawFdKind> AsRawFdKind for $wrapper<T> {
            fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
                self.0.as_raw_fd_kind()
            }
        }
    };
}
forward_io!(NoWriteTo);
forward_io!(NoReadFrom);

impl<T: CopySource> CopySource for NoWriteTo<T> {
    // as_write_to: hidden (the default, None).
    fn limit(&self) -> Option<u64> {
        self.0.limit()
    }
    fn consume_limit(&mut self, n: u64) {
        self.0.consume_limit(n)
    }
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        self.0.drain_buffered(dst, limit, written)
    }
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        self.0.as_buf_read()
    }
}

impl<T: CopySink> CopySink for NoWriteTo<T> {
    fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
        self.0.as_read_from()
    }
    fn flush_buffered(&mut self) -> io::Result<()> {
        self.0.flush_buffered()
    }
    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        self.0.as_vec()
    }
}

impl<T: CopySource> CopySource for NoReadFrom<T> {
    fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
        self.0.as_write_to()
    }
    fn limit(&self) -> Option<u64> {
        self.0.limit()
    }
    fn consume_limit(&mut self, n: u64) {
        self.0.consume_limit(n)
    }
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        self.0.drain_buffered(dst, limit, written)
    }
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        self.0.as_buf_read()
    }
}

impl<T: CopySink> CopySink for NoReadFrom<T> {
    // as_read_from: hidden (the default, None).
    fn flush_buffered(&mut self) -> io::Result<()> {
        self.0.flush_buffered()
    }
    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        self.0.as_vec()
    }
}

/// Go's `io.LimitedReader`: reads from `inner` until `remaining` reaches 0.
///
/// Every path honours the limit: the kernel strategies never move more than `remaining` bytes
/// from the descriptor, so the rest stays unread in the socket or pipe, and `remaining` is
/// brought up to date after the copy, on errors too. Limits nest, with each other and with
/// std's `Take`.
///
/// ```
/// let mut src: &[u8] = b"hello world";
/// let mut limited = fdcopy::limit_reader(&mut src, 5);
/// let mut out = Vec::new();
/// assert_eq!(fdcopy::io_copy(&mut out, &mut limited).unwrap(), 5);
/// assert_eq!(limited.remaining, 0);
/// assert_eq!(out, b"hello");
/// assert_eq!(src, b" world");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitedReader<R> {
    /// The reader bytes come from.
    pub inner: R,
    /// Bytes that may still be read.
    pub remaining: u64,
}

/// `LimitedReader { inner, remaining: n }` (Go's `io.LimitReader`).
///
/// ```
/// let mut l = fdcopy::limit_reader(&b"abc"[..], 2);
/// let mut out = Vec::new();
/// fdcopy::io_copy(&mut out, &mut l).unwrap();
/// assert_eq!(out, b"ab");
/// ```
pub fn limit_reader<R>(inner: R, n: u64) -> LimitedReader<R> {
    LimitedReader { inner, remaining: n }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n > max {
            return Err(crate::error::invalid_read());
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl<R: AsRawFdKind> AsRawFdKind for LimitedReader<R> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        self.inner.as_raw_fd_kind()
    }
}

impl<R: CopySource> CopySource for LimitedReader<R> {
    // as_write_to: none, as in Go (a LimitedReader has no WriteTo).
    fn limit(&self) -> Option<u64> {
        Some(self.inner.limit().map_or(self.remaining, |l| l.min(self.remaining)))
    }
    fn consume_limit(&mut self, n: u64) {
        self.remaining = self.remaining.saturating_sub(n);
        self.inner.consume_limit(n);
    }
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        let before = *written;
        let r = self.inner.drain_buffered(dst, limit.min(self.remaining), written);
        self.remaining -= *written - before;
        r
    }
}
