//! The two sides of a copy as the engine sees them: a `Read` or `Write` plus what the kernel
//! paths need to know about it (descriptor, limits, bytes held in user space) and the Go-style
//! fast paths it offers.
//!
//! These play the part of std's private `CopyRead`/`CopyWrite` specialization traits, made
//! public so that types outside std can opt in. Every hook has a default that means "nothing
//! special", so `impl CopySource for MyReader {}` is a complete implementation.

use std::io::{self, BufRead, Read, Write};

use crate::contract::{ReadFrom, WriteTo};
use crate::kind::AsRawFdKind;

/// A reader that [`io_copy`](crate::io_copy) can copy from.
///
/// Implemented for the std readers (files, sockets, pipes, child and standard streams, `Take`,
/// `BufReader`, `&mut T`, `Box<T>` and the in-memory readers), for fdcopy's wrappers
/// ([`LimitedReader`](crate::LimitedReader), [`NoWriteTo`](crate::NoWriteTo),
/// [`Plain`](crate::Plain), [`Fd`](crate::Fd)), and by you for your own types.
///
/// ```
/// use std::io::{self, Read};
/// /// An in-memory reader of yours: no descriptor, so the buffered loop copies it.
/// struct Zeros(usize);
/// impl Read for Zeros {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         let n = buf.len().min(self.0);
///         buf[..n].fill(0);
///         self.0 -= n;
///         Ok(n)
///     }
/// }
/// impl fdcopy::AsRawFdKind for Zeros {
///     fn as_raw_fd_kind(&self) -> Option<fdcopy::RawFdKind> { None }
/// }
/// impl fdcopy::CopySource for Zeros {}
///
/// let mut out = Vec::new();
/// assert_eq!(fdcopy::io_copy(&mut out, &mut Zeros(10)).unwrap(), 10);
/// ```
pub trait CopySource: Read + AsRawFdKind {
    /// Go's `WriterTo`: a fast path this source offers. It runs first, before the destination's
    /// [`ReadFrom`] and before the engine.
    fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
        None
    }

    /// The smallest remaining limit over every `Take`/`LimitedReader` layer, `None` if
    /// unlimited. Kernel paths never move more than this from the descriptor.
    fn limit(&self) -> Option<u64> {
        None
    }

    /// Records that `n` bytes were taken from the descriptor without `read` (every limit layer
    /// shrinks by `n`).
    fn consume_limit(&mut self, n: u64) {
        let _ = n;
    }

    /// Writes out the bytes held in user space above the descriptor (a `BufReader`'s buffer),
    /// outermost layer first, at most `limit` of them, adding each byte `dst` accepted to
    /// `written`. Runs before any descriptor-level copy, so that order is kept.
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        let _ = (dst, limit, written);
        Ok(())
    }

    /// A `BufRead` view, so the buffered loop can write from this reader's own buffer instead
    /// of copying through a second one.
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        None
    }
}

/// A writer that [`io_copy`](crate::io_copy) can copy into.
///
/// See [`CopySource`] for the reader side; the same rules apply.
///
/// ```
/// use std::io::{self, Write};
/// struct Counter(u64);
/// impl Write for Counter {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> { self.0 += buf.len() as u64; Ok(buf.len()) }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
/// impl fdcopy::AsRawFdKind for Counter {
///     fn as_raw_fd_kind(&self) -> Option<fdcopy::RawFdKind> { None }
/// }
/// impl fdcopy::CopySink for Counter {}
///
/// let mut c = Counter(0);
/// fdcopy::io_copy(&mut c, &mut &b"four"[..]).unwrap();
/// assert_eq!(c.0, 4);
/// ```
pub trait CopySink: Write + AsRawFdKind {
    /// Go's `ReaderFrom`: a fast path this destination offers. It runs when the source has no
    /// [`WriteTo`].
    fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
        None
    }

    /// Pushes out bytes held in user space above the descriptor (a `BufWriter`'s buffer) before
    /// a descriptor-level copy, so that order is kept.
    fn flush_buffered(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// A growable in-memory destination: the buffered loop reads straight into its spare
    /// capacity.
    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        None
    }
}

/// `&mut T` and `Box<T>` are what they point to.
macro_rules! through_pointer {
    ($($ptr:ty),+) => {$(
        impl<T: CopySource + ?Sized> CopySource for $ptr {
            fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
                (**self).as_write_to()
            }
            fn limit(&self) -> Option<u64> {
                (**self).limit()
            }
            fn consume_limit(&mut self, n: u64) {
                (**self).consume_limit(n)
            }
            fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
                (**self).drain_buffered(dst, limit, written)
            }
            fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
                (**self).as_buf_read()
            }
        }

        impl<T: CopySink + ?Sized> CopySink for $ptr {
            fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
                (**self).as_read_from()
            }
            fn flush_buffered(&mut self) -> io::Result<()> {
                (**self).flush_buffered()
            }
            fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
                (**self).as_vec()
            }
        }

        impl<T: AsRawFdKind + ?Sized> AsRawFdKind for $ptr {
            fn as_raw_fd_kind(&self) -> Option<crate::RawFdKind> {
                (**self).as_raw_fd_kind()
            }
        }
    )+};
}
through_pointer!(&mut T, Box<T>);

/// Writes all of `buf` with the contract's rules, adding every accepted byte to `written`:
/// `Interrupted` is retried, `Ok(0)` is `WriteZero`, a count above the slice is an error.
pub(crate) fn write_all_counted(dst: &mut (impl Write + ?Sized), mut buf: &[u8], written: &mut u64) -> io::Result<()> {
    while !buf.is_empty() {
        match dst.write(buf) {
            Ok(0) => return Err(crate::error::write_zero()),
            Ok(n) if n > buf.len() => return Err(crate::error::invalid_write()),
            Ok(n) => {
                *written += n as u64;
                buf = &buf[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Lets a `?Sized` writer be used as `&mut dyn Write`.
#[cfg(target_os = "linux")]
pub(crate) struct WriteRef<'a, W: ?Sized>(pub &'a mut W);

#[cfg(target_os = "linux")]
impl<W: Write + ?Sized> Write for WriteRef<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
