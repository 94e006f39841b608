//! The one-field wrappers: [`Plain`] and [`Fd`] let any `Read`/`Write` into the trait-based
//! API, Go's [`NoWriteTo`]/[`NoReadFrom`] hide one fast path, and [`LimitedReader`] bounds a
//! source. All of them forward through the same macro.

use std::io::{self, BufRead, Read, Write};

use crate::descriptor::{AsDescriptor, Descriptor};
use crate::side::{CopySink, CopySource, ReadFrom, WriteTo};

/// Any `Read` or `Write`, copied by the buffered loop (no descriptor, no fast path).
///
/// ```
/// use std::io::Read;
/// let mut src = fdcopy::Plain(std::io::repeat(b'x').take(3));
/// let mut dst = fdcopy::Plain(Vec::new());
/// fdcopy::go::copy(&mut dst, &mut src).unwrap();
/// assert_eq!(dst.0, b"xxx");
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Plain<T>(pub T);

/// Any `Read`/`Write` that also implements `AsFd`: the kernel paths see its descriptor and find
/// its kind with `fstat`.
///
/// The type must read and write that descriptor directly, holding no bytes in user space.
///
/// ```
/// # #[cfg(unix)] {
/// use std::io::{Seek, Write};
/// let mut src = tempfile::tempfile().unwrap();
/// src.write_all(b"data").unwrap();
/// src.rewind().unwrap();
/// let mut dst = tempfile::tempfile().unwrap();
/// let n = fdcopy::go::copy(&mut fdcopy::Fd(&mut dst), &mut fdcopy::Fd(&mut src)).unwrap();
/// assert_eq!(n, 4);
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fd<T>(pub T);

/// Hides a source's [`WriteTo`] and keeps everything else, its descriptor included (Go's
/// `fileWithoutWriteTo`). Wrapping twice, or together with [`NoReadFrom`], is fine.
///
/// ```
/// let mut src = fdcopy::go::NoWriteTo(&b"abc"[..]);
/// let mut dst = Vec::new();
/// assert_eq!(fdcopy::go::copy(&mut dst, &mut src).unwrap(), 3);
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoWriteTo<T>(pub T);

/// Hides a destination's [`ReadFrom`] and keeps everything else, its descriptor included (Go's
/// `fileWithoutReadFrom`).
///
/// ```
/// let mut dst = fdcopy::go::NoReadFrom(Vec::new());
/// assert_eq!(fdcopy::go::copy(&mut dst, &mut &b"abc"[..]).unwrap(), 3);
/// assert_eq!(dst.0, b"abc");
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoReadFrom<T>(pub T);

/// Go's `io.LimitedReader`: reads from `inner` until `remaining` reaches 0.
///
/// Every path honours the limit: the kernel strategies never move more than `remaining` bytes
/// from the descriptor, so the rest stays unread in the socket or pipe, and `remaining` is
/// brought up to date after the copy, on errors too. Limits nest, with each other and with
/// std's `Take`.
///
/// ```
/// let mut src: &[u8] = b"hello world";
/// let mut limited = fdcopy::go::limit_reader(&mut src, 5);
/// let mut out = Vec::new();
/// assert_eq!(fdcopy::go::copy(&mut out, &mut limited).unwrap(), 5);
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
/// let mut l = fdcopy::go::limit_reader(&b"abc"[..], 2);
/// let mut out = Vec::new();
/// fdcopy::go::copy(&mut out, &mut l).unwrap();
/// assert_eq!(out, b"ab");
/// ```
pub fn limit_reader<R>(inner: R, n: u64) -> LimitedReader<R> {
    LimitedReader { inner, remaining: n }
}

/// Forwards to the wrapped value, field `$f` of `$w<T>`: `io` the `Read` and `Write` impls,
/// `descriptor` the descriptor, `source`/`sink` the copy hooks, each fast path kept or hidden.
macro_rules! forward {
    (io $w:ident) => {
        impl<T: Read> Read for $w<T> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl<T: Write> Write for $w<T> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
    };
    (descriptor $w:ident . $f:tt) => {
        impl<T: AsDescriptor> AsDescriptor for $w<T> {
            fn descriptor(&self) -> Option<Descriptor<'_>> {
                self.$f.descriptor()
            }
        }
    };
    (source $w:ident, write_to: $keep:literal) => {
        impl<T: CopySource> CopySource for $w<T> {
            fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
                if $keep {
                    self.0.as_write_to()
                } else {
                    None
                }
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
    };
    (sink $w:ident, read_from: $keep:literal) => {
        impl<T: CopySink> CopySink for $w<T> {
            fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
                if $keep {
                    self.0.as_read_from()
                } else {
                    None
                }
            }
            fn flush_buffered(&mut self) -> io::Result<()> {
                self.0.flush_buffered()
            }
            fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
                self.0.as_vec()
            }
        }
    };
}

forward!(io Plain);
impl<T> AsDescriptor for Plain<T> {}
impl<T: Read> CopySource for Plain<T> {}
impl<T: Write> CopySink for Plain<T> {}

forward!(io Fd);
#[cfg(unix)]
impl<T: std::os::fd::AsFd> AsDescriptor for Fd<T> {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        Some(Descriptor::new(self.0.as_fd()))
    }
}
#[cfg(unix)]
impl<T: Read + std::os::fd::AsFd> CopySource for Fd<T> {}
#[cfg(unix)]
impl<T: Write + std::os::fd::AsFd> CopySink for Fd<T> {}

forward!(io NoWriteTo);
forward!(descriptor NoWriteTo.0);
forward!(source NoWriteTo, write_to: false);
forward!(sink NoWriteTo, read_from: true);

forward!(io NoReadFrom);
forward!(descriptor NoReadFrom.0);
forward!(source NoReadFrom, write_to: true);
forward!(sink NoReadFrom, read_from: false);

forward!(descriptor LimitedReader.inner);

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
