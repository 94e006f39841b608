//! The four traits of a copy side: [`CopySource`] and [`CopySink`], a `Read` or `Write` plus
//! what the kernel paths need to know about it (descriptor, limits, bytes held in user space),
//! and Go's fast paths a side may offer, [`WriteTo`] and [`ReadFrom`].
//!
//! `CopySource`/`CopySink` play the part of std's private `CopyRead`/`CopyWrite`
//! specialization traits, made public so that types outside std can opt in. Every hook has a
//! default that means "nothing special", so `impl CopySource for MyReader {}` is complete.

use std::io::{self, BufRead, Read, Write};

use crate::descriptor::{AsDescriptor, Descriptor};
use crate::error::CopyError;

/// A reader that [`go::copy`](crate::go::copy) and [`Copier::go_copy`](crate::Copier::go_copy)
/// can copy from.
///
/// Implemented for the std readers (files, sockets, pipes, child and standard streams, `Take`,
/// `BufReader`, `&mut T`, `Box<T>` and the in-memory readers), for fdcopy's wrappers
/// ([`LimitedReader`](crate::go::LimitedReader), [`NoWriteTo`](crate::go::NoWriteTo),
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
/// impl fdcopy::AsDescriptor for Zeros {}
/// impl fdcopy::CopySource for Zeros {}
///
/// let mut out = Vec::new();
/// assert_eq!(fdcopy::go::copy(&mut out, &mut Zeros(10)).unwrap(), 10);
/// ```
pub trait CopySource: Read + AsDescriptor {
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

/// A writer that [`go::copy`](crate::go::copy) and [`Copier::go_copy`](crate::Copier::go_copy)
/// can copy into.
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
/// impl fdcopy::AsDescriptor for Counter {}
/// impl fdcopy::CopySink for Counter {}
///
/// let mut c = Counter(0);
/// fdcopy::go::copy(&mut c, &mut &b"four"[..]).unwrap();
/// assert_eq!(c.0, 4);
/// ```
pub trait CopySink: Write + AsDescriptor {
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

/// Go's `io.WriterTo`: a source that can write itself into a destination faster than the
/// engine could pull from it.
///
/// Return it from [`CopySource::as_write_to`]. It runs before anything else in a copy. If it
/// cannot take its fast path for this destination, it must not run its own loop: it calls
/// `fdcopy::go::copy(dst, &mut NoWriteTo(self))`, so that the destination's [`ReadFrom`] and
/// the kernel strategies still get their chance (Go's fallback rule). That fallback is a new
/// copy with default options; to keep a caller's options (progress, policy), run it through a
/// [`Copier`](crate::Copier) of your own.
///
/// ```
/// use std::io::{self, Read};
/// use fdcopy::go::WriteTo;
/// use fdcopy::{CopyError, CopySink};
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
///         fdcopy::go::write_all_counted(dst, rest, &mut written)?;
///         self.pos += rest.len();
///         Ok(written)
///     }
/// }
/// impl fdcopy::AsDescriptor for Message {}
/// impl fdcopy::CopySource for Message {
///     fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> { Some(self) }
/// }
///
/// let mut out = Vec::new();
/// let mut msg = Message { bytes: b"hello".to_vec(), pos: 0 };
/// let report = fdcopy::Copier::new().go_copy(&mut out, &mut msg).unwrap();
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
/// `fdcopy::go::copy(&mut NoReadFrom(self), src)`.
///
/// ```
/// use std::io::{self, Write};
/// use fdcopy::go::{NoReadFrom, ReadFrom};
/// use fdcopy::{CopyError, CopySource};
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
///         fdcopy::go::copy(&mut NoReadFrom(self), src)
///     }
/// }
/// impl fdcopy::AsDescriptor for Tally {}
/// impl fdcopy::CopySink for Tally {
///     fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> { Some(self) }
/// }
///
/// let mut t = Tally(0);
/// assert_eq!(fdcopy::go::copy(&mut t, &mut &b"12345"[..]).unwrap(), 5);
/// assert_eq!(t.0, 5);
/// ```
pub trait ReadFrom {
    /// Reads `src` to its end (or limit) into this destination; returns the count, or the
    /// error with the count this destination accepted before it.
    fn read_from(&mut self, src: &mut dyn CopySource) -> Result<u64, CopyError>;
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

        impl<T: AsDescriptor + ?Sized> AsDescriptor for $ptr {
            fn descriptor(&self) -> Option<Descriptor<'_>> {
                (**self).descriptor()
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
