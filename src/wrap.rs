//! One-word wrappers that let any `Read`/`Write` into `io_copy`: `Plain` for types without a
//! descriptor, `Fd` for types that expose one through `AsFd`.

use std::io::{self, Read, Write};

use crate::kind::{AsRawFdKind, RawFdKind};
use crate::side::{CopySink, CopySource};

/// Any `Read` or `Write`, copied by the buffered loop (no descriptor, no fast path).
///
/// ```
/// use std::io::Read;
/// let mut src = fdcopy::Plain(std::io::repeat(b'x').take(3));
/// let mut dst = fdcopy::Plain(Vec::new());
/// fdcopy::io_copy(&mut dst, &mut src).unwrap();
/// assert_eq!(dst.0, b"xxx");
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Plain<T>(pub T);

impl<T: Read> Read for Plain<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<T: Write> Write for Plain<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<T> AsRawFdKind for Plain<T> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        None
    }
}

impl<T: Read> CopySource for Plain<T> {}
impl<T: Write> CopySink for Plain<T> {}

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
/// let n = fdcopy::io_copy(&mut fdcopy::Fd(&mut dst), &mut fdcopy::Fd(&mut src)).unwrap();
/// assert_eq!(n, 4);
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fd<T>(pub T);

impl<T: Read> Read for Fd<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<T: Write> Write for Fd<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

cfg_if::cfg_if! {
    if #[cfg(unix)] {
        impl<T: std::os::fd::AsFd> AsRawFdKind for Fd<T> {
            fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
                use std::os::fd::AsRawFd;
                Some(RawFdKind::new(self.0.as_fd().as_raw_fd()))
            }
        }
        impl<T: Read + std::os::fd::AsFd> CopySource for Fd<T> {}
        impl<T: Write + std::os::fd::AsFd> CopySink for Fd<T> {}
    }
}
