//! std's types as copy sides, from one list: [`std_types!`] names every std reader and writer
//! fdcopy knows, with the descriptor kind its type implies and its hooks. This file expands the
//! list into the `AsDescriptor`/`CopySource`/`CopySink` impls; `dropin.rs` expands the same
//! list into the shapes `fdcopy::copy` recognises. Below the list: the impls that need code
//! (standard input's private buffer) and std's generic wrappers (`Take`, `BufReader`,
//! `BufWriter`, `LineWriter`, `Cursor`).

use std::io::{self, BufRead, BufReader, BufWriter, Cursor, LineWriter, Take, Write};
use std::io::{Stdin, StdinLock};

use crate::descriptor::{AsDescriptor, Descriptor, FdKind, SocketFamily};
use crate::side::{write_all_counted, CopySink, CopySource};

/// Every std type fdcopy knows, handed to `$then!` after `$args`. Each entry is a type, what
/// it holds, and how it reads and writes:
/// * `fd(kind)`: a descriptor, and the kind its type implies (`None`: `fstat` tells);
///   `memory`: none; `generic`: none, and its impls are generic ones written by hand.
/// * `read:`/`write:` `plain` (every hook at its default), `buf` (the loop reads from its own
///   buffer), `vec` (the loop reads into its spare capacity), `flush` (user-space bytes
///   flushed before a descriptor-level copy), `hooks` (impl written by hand below), `generic`
///   (a generic impl covers it), `no` (not a reader, or not a writer).
macro_rules! std_types {
    ($then:ident!($($args:tt)*)) => {
        $then! { ($($args)*)
            std::fs::File => fd(None), read: plain, write: plain;
            &std::fs::File => fd(None), read: plain, write: plain;
            std::net::TcpStream => fd(Some(FdKind::StreamSocket(SocketFamily::Ip))), read: plain, write: plain;
            &std::net::TcpStream => fd(Some(FdKind::StreamSocket(SocketFamily::Ip))), read: plain, write: plain;
            #[cfg(unix)]
            std::os::unix::net::UnixStream => fd(Some(FdKind::StreamSocket(SocketFamily::Unix))), read: plain, write: plain;
            #[cfg(unix)]
            &std::os::unix::net::UnixStream => fd(Some(FdKind::StreamSocket(SocketFamily::Unix))), read: plain, write: plain;
            std::io::PipeReader => fd(Some(FdKind::Pipe)), read: plain, write: no;
            &std::io::PipeReader => fd(Some(FdKind::Pipe)), read: plain, write: no;
            std::io::PipeWriter => fd(Some(FdKind::Pipe)), read: no, write: plain;
            &std::io::PipeWriter => fd(Some(FdKind::Pipe)), read: no, write: plain;
            std::process::ChildStdin => fd(Some(FdKind::Pipe)), read: no, write: plain;
            std::process::ChildStdout => fd(Some(FdKind::Pipe)), read: plain, write: no;
            std::process::ChildStderr => fd(Some(FdKind::Pipe)), read: plain, write: no;
            std::io::Stdin => fd(None), read: hooks, write: no;
            std::io::StdinLock<'_> => fd(None), read: hooks, write: no;
            std::io::Stdout => fd(None), read: no, write: flush;
            std::io::StdoutLock<'_> => fd(None), read: no, write: flush;
            std::io::Stderr => fd(None), read: no, write: plain;
            std::io::StderrLock<'_> => fd(None), read: no, write: plain;
            &[u8] => memory, read: buf, write: no;
            &mut [u8] => memory, read: no, write: plain;
            Vec<u8> => memory, read: no, write: vec;
            std::collections::VecDeque<u8> => memory, read: buf, write: plain;
            std::io::Cursor<Vec<u8>> => generic, read: generic, write: plain;
            std::io::Cursor<&Vec<u8>> => generic, read: generic, write: no;
            std::io::Cursor<&[u8]> => generic, read: generic, write: no;
            std::io::Cursor<Box<[u8]>> => generic, read: generic, write: plain;
            std::io::Cursor<&mut Vec<u8>> => generic, read: generic, write: plain;
            std::io::Cursor<&mut [u8]> => generic, read: generic, write: plain;
            std::io::Empty => memory, read: buf, write: plain;
            std::io::Repeat => memory, read: plain, write: no;
            std::io::Sink => memory, read: no, write: plain;
        }
    };
}
pub(crate) use std_types;

/// The impls one entry of the list stands for.
macro_rules! impls {
    (() $($(#[$m:meta])* $t:ty => $has:ident $(($kind:expr))?, read: $r:ident, write: $w:ident;)*) => {$(
        $(#[$m])* impls!(@descriptor $t, $has $(($kind))?);
        $(#[$m])* impls!(@read $t, $r);
        $(#[$m])* impls!(@write $t, $w);
    )*};
    (@descriptor $t:ty, fd($kind:expr)) => {
        impl AsDescriptor for $t {
            fn descriptor(&self) -> Option<Descriptor<'_>> {
                cfg_if::cfg_if! {
                    if #[cfg(unix)] {
                        let fd = std::os::fd::AsFd::as_fd(self);
                        Some(match $kind {
                            Some(kind) => Descriptor::with_kind(fd, kind),
                            None => Descriptor::new(fd),
                        })
                    } else {
                        let _: Option<FdKind> = $kind;
                        None
                    }
                }
            }
        }
    };
    (@descriptor $t:ty, memory) => { impl AsDescriptor for $t {} };
    (@descriptor $t:ty, generic) => {};
    (@read $t:ty, plain) => { impl CopySource for $t {} };
    (@read $t:ty, buf) => {
        impl CopySource for $t {
            fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
                Some(self)
            }
        }
    };
    (@read $t:ty, hooks) => {};
    (@read $t:ty, generic) => {};
    (@read $t:ty, no) => {};
    (@write $t:ty, plain) => { impl CopySink for $t {} };
    (@write $t:ty, vec) => {
        impl CopySink for $t {
            fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
                Some(self)
            }
        }
    };
    (@write $t:ty, flush) => {
        impl CopySink for $t {
            fn flush_buffered(&mut self) -> io::Result<()> {
                self.flush()
            }
        }
    };
    (@write $t:ty, no) => {};
}
std_types!(impls!());

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

/// A cursor holds no descriptor and reads from its own buffer.
impl<T> AsDescriptor for Cursor<T> {}

impl<T: AsRef<[u8]>> CopySource for Cursor<T> {
    fn as_buf_read(&mut self) -> Option<&mut dyn BufRead> {
        Some(self)
    }
}

// std's wrappers forward to what they wrap.
impl<T: AsDescriptor> AsDescriptor for Take<T> {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        self.get_ref().descriptor()
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

impl<T: AsDescriptor> AsDescriptor for BufReader<T> {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        self.get_ref().descriptor()
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

/// `BufWriter` and `LineWriter` hold bytes in user space: flushed before any descriptor-level
/// copy.
macro_rules! buffered_writer {
    ($($w:ident),+) => {$(
        impl<T: Write + AsDescriptor> AsDescriptor for $w<T> {
            fn descriptor(&self) -> Option<Descriptor<'_>> {
                self.get_ref().descriptor()
            }
        }

        impl<T: CopySink> CopySink for $w<T> {
            fn flush_buffered(&mut self) -> io::Result<()> {
                self.flush()
            }
        }
    )+};
}
buffered_writer!(BufWriter, LineWriter);
