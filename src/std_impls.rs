//! `AsRawFdKind`, `CopySource` and `CopySink` for std's types: the descriptor types with the
//! kind their type implies, the std wrappers (`Take`, `BufReader`, `BufWriter`, `LineWriter`)
//! that forward to what they wrap, and the in-memory types.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Empty, LineWriter, Repeat, Sink, Take, Write};
use std::io::{PipeReader, PipeWriter, Stderr, StderrLock, Stdin, StdinLock, Stdout, StdoutLock};
use std::net::TcpStream;
use std::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::kind::{AsRawFdKind, FdKind, RawFdKind, SocketFamily};
use crate::side::{write_all_counted, CopySink, CopySource};

/// `AsRawFdKind` for descriptor types: `$kind` is `Some(kind)` when the type implies it.
macro_rules! fd_type {
    ($kind:expr => $($t:ty),+ $(,)?) => {$(
        impl AsRawFdKind for $t {
            fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
                cfg_if::cfg_if! {
                    if #[cfg(unix)] {
                        use std::os::fd::AsRawFd;
                        Some(RawFdKind { fd: self.as_raw_fd(), kind: $kind })
                    } else {
                        let _: Option<FdKind> = $kind;
                        None
                    }
                }
            }
        }
    )+};
}

fd_type!(None => File, &File, Stdin, StdinLock<'_>, Stdout, StdoutLock<'_>, Stderr, StderrLock<'_>);
fd_type!(Some(FdKind::StreamSocket(SocketFamily::Ip)) => TcpStream, &TcpStream);
fd_type!(Some(FdKind::Pipe) => PipeReader, &PipeReader, PipeWriter, &PipeWriter, ChildStdin, ChildStdout, ChildStderr);
#[cfg(unix)]
fd_type!(Some(FdKind::StreamSocket(SocketFamily::Unix)) =>
    std::os::unix::net::UnixStream, &std::os::unix::net::UnixStream);

/// Types that hold no descriptor.
macro_rules! memory_type {
    ($($t:ty),+ $(,)?) => {$(
        impl AsRawFdKind for $t {
            fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
                None
            }
        }
    )+};
}

memory_type!(&[u8], &mut [u8], Vec<u8>, VecDeque<u8>, Empty, Sink, Repeat);

impl<T> AsRawFdKind for Cursor<T> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        None
    }
}

// Plain descriptor readers and writers: the defaults say it all.
impl CopySource for File {}
impl CopySource for &File {}
impl CopySource for TcpStream {}
impl CopySource for &TcpStream {}
impl CopySource for PipeReader {}
impl CopySource for &PipeReader {}
impl CopySource for ChildStdout {}
impl CopySource for ChildStderr {}
#[cfg(unix)]
impl CopySource for std::os::unix::net::UnixStream {}
#[cfg(unix)]
impl CopySource for &std::os::unix::net::UnixStream {}
impl CopySink for File {}
impl CopySink for &File {}
impl CopySink for TcpStream {}
impl CopySink for &TcpStream {}
impl CopySink for PipeWriter {}
impl CopySink for &PipeWriter {}
impl CopySink for ChildStdin {}
impl CopySink for Stderr {}
impl CopySink for StderrLock<'_> {}
#[cfg(unix)]
impl CopySink for std::os::unix::net::UnixStream {}
#[cfg(unix)]
impl CopySink for &std::os::unix::net::UnixStream {}

/// Standard input keeps a private 8 KiB buffer: it goes out first, like a `BufReader`'s.
impl CopySource for StdinLock<'_> {
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        if limit == 0 {
            return Ok(());
        }
        // The buffer is private; `fill_buf` shows it. When it is empty this reads once from
        // the descriptor, which the copy would do next anyway.
        let buf = loop {
            match self.fill_buf() {
                Ok(b) => break b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        let n = buf.len().min(usize::try_from(limit).unwrap_or(usize::MAX));
        let before = *written;
        let r = write_all_counted(dst, &buf[..n], written);
        self.consume((*written - before) as usize);
        r
    }
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}

impl CopySource for Stdin {
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        self.lock().drain_buffered(dst, limit, written)
    }
}

/// Standard output is line-buffered in user space: flushed before any descriptor-level copy.
impl CopySink for Stdout {
    fn flush_buffered(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl CopySink for StdoutLock<'_> {
    fn flush_buffered(&mut self) -> io::Result<()> {
        self.flush()
    }
}

// In-memory readers: their own buffer feeds the loop directly.
impl CopySource for &[u8] {
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}
impl<T: AsRef<[u8]>> CopySource for Cursor<T> {
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}
impl CopySource for VecDeque<u8> {
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}
impl CopySource for Empty {
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}
impl CopySource for Repeat {}

// In-memory writers.
impl CopySink for Vec<u8> {
    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        Some(self)
    }
}
impl CopySink for VecDeque<u8> {}
impl CopySink for &mut [u8] {}
impl CopySink for Cursor<Vec<u8>> {}
impl CopySink for Cursor<&mut Vec<u8>> {}
impl CopySink for Cursor<&mut [u8]> {}
impl CopySink for Cursor<Box<[u8]>> {}
impl CopySink for Empty {}
impl CopySink for Sink {}

// std's wrappers forward to what they wrap.
impl<T: AsRawFdKind> AsRawFdKind for Take<T> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        self.get_ref().as_raw_fd_kind()
    }
}

impl<T: CopySource> CopySource for Take<T> {
    fn limit(&self) -> Option<u64> {
        Some(
            self.get_ref()
                .limit()
                .map_or(Take::limit(self), |l| l.min(Take::limit(self))),
        )
    }
    fn consume_limit(&mut self, n: u64) {
        let left = Take::limit(self).saturating_sub(n);
        self.set_limit(left);
        self.get_mut().consume_limit(n);
    }
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        let before = *written;
        let mine = Take::limit(self);
        let r = self.get_mut().drain_buffered(dst, limit.min(mine), written);
        let left = mine - (*written - before);
        self.set_limit(left);
        r
    }
}

impl<T: AsRawFdKind> AsRawFdKind for BufReader<T> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        self.get_ref().as_raw_fd_kind()
    }
}

impl<T: CopySource> CopySource for BufReader<T> {
    fn limit(&self) -> Option<u64> {
        self.get_ref().limit()
    }
    fn consume_limit(&mut self, n: u64) {
        self.get_mut().consume_limit(n)
    }
    fn drain_buffered(&mut self, dst: &mut dyn Write, limit: u64, written: &mut u64) -> io::Result<()> {
        let buf = self.buffer();
        let n = buf.len().min(usize::try_from(limit).unwrap_or(usize::MAX));
        let before = *written;
        let r = write_all_counted(dst, &buf[..n], written);
        let done = *written - before;
        self.consume(done as usize);
        r?;
        self.get_mut().drain_buffered(dst, limit - done, written)
    }
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}

impl<T: Write + AsRawFdKind> AsRawFdKind for BufWriter<T> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        self.get_ref().as_raw_fd_kind()
    }
}

impl<T: CopySink> CopySink for BufWriter<T> {
    fn flush_buffered(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl<T: Write + AsRawFdKind> AsRawFdKind for LineWriter<T> {
    fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
        self.get_ref().as_raw_fd_kind()
    }
}

impl<T: CopySink> CopySink for LineWriter<T> {
    fn flush_buffered(&mut self) -> io::Result<()> {
        self.flush()
    }
}
