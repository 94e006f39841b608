//! The two sides of an async copy: an `AsyncRead` or `AsyncWrite` plus what the kernel paths
//! need (the same [`AsDescriptor`] as the blocking API, the reactor's readiness, limits, bytes
//! held in user space), implemented for tokio's types and by you for your own.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, BufReader, BufWriter, Interest, ReadBuf, Take};

use crate::descriptor::{AsDescriptor, Descriptor};

/// The reactor's view of a descriptor: wait until it is ready, and run an I/O on it that
/// clears the readiness when it would block (tokio's `poll_*_ready` and `try_io`).
///
/// Implemented for tokio's sockets, their halves and its pipes. A side whose descriptor the
/// reactor does not watch (a regular file) has none: its calls never return `EAGAIN`.
///
/// ```
/// # #[cfg(unix)] {
/// use std::io;
/// use std::task::{Context, Poll};
/// use tokio::io::Interest;
///
/// /// A connection type of a framework, holding a tokio `TcpStream`.
/// struct Conn(tokio::net::TcpStream);
/// impl fdcopy::tokio::Readiness for Conn {
///     fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<()>> {
///         self.0.poll_ready(cx, interest)
///     }
///     fn try_io(&self, interest: Interest, f: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
///         fdcopy::tokio::Readiness::try_io(&self.0, interest, f)
///     }
/// }
/// # }
/// ```
pub trait Readiness {
    /// Ready when the descriptor may be read (`Interest::READABLE`) or written
    /// (`Interest::WRITABLE`) without blocking, or has an error to report.
    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<()>>;

    /// Runs `f`, an I/O on this descriptor; when `f` fails with `WouldBlock`, the readiness for
    /// `interest` is cleared. `f` returns `WouldBlock` only for an `EAGAIN` of this descriptor.
    fn try_io(&self, interest: Interest, f: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>;
}

/// A reader that [`Copier::copy_sides`](super::Copier::copy_sides) can copy from: tokio's
/// readers, and yours. Every hook has a default meaning "nothing special".
pub trait AsyncCopySource: AsyncRead + Unpin + AsDescriptor {
    /// The reactor's readiness of the descriptor; `None` (the default) for a descriptor the
    /// reactor does not watch, which only a regular file may be on a kernel path.
    fn readiness(&self) -> Option<&dyn Readiness> {
        None
    }

    /// The smallest remaining limit over every `Take` layer, `None` if unlimited.
    fn limit(&self) -> Option<u64> {
        None
    }

    /// `n` bytes were taken from the descriptor without `poll_read`: every limit shrinks by `n`.
    fn consume_limit(&mut self, n: u64) {
        let _ = n;
    }

    /// Bytes held in user space above the descriptor (a `BufReader`'s buffer), which go out
    /// before any descriptor-level copy; limited by the layers above them.
    fn buffered(&self) -> &[u8] {
        &[]
    }

    /// `n` of the [`buffered`](Self::buffered) bytes were written out.
    fn consume_buffered(&mut self, n: usize) {
        let _ = n;
    }

    /// Makes the descriptor's position the reader's logical position before a kernel path
    /// reads it (a `tokio::fs::File` may have read ahead, or have an operation in flight).
    /// Polled until ready; `begun` is `false` at the first poll of a copy and is set by an
    /// implementation that started a step it must not start again (a seek in flight).
    fn poll_settle(&mut self, cx: &mut Context<'_>, begun: &mut bool) -> Poll<io::Result<()>> {
        let _ = (cx, begun);
        Poll::Ready(Ok(()))
    }
}

/// A writer that [`Copier::copy_sides`](super::Copier::copy_sides) can copy into.
pub trait AsyncCopySink: AsyncWrite + Unpin + AsDescriptor {
    /// The reactor's readiness of the descriptor; `None` for a descriptor the reactor does not
    /// watch (a regular file).
    fn readiness(&self) -> Option<&dyn Readiness> {
        None
    }

    /// Pushes out what is held above the descriptor (a `BufWriter`'s buffer, a
    /// `tokio::fs::File`'s write in flight) before a descriptor-level copy.
    fn poll_prepare(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = cx;
        Poll::Ready(Ok(()))
    }
}

/// `&mut T` and `Box<T>` are what they point to.
macro_rules! through_pointer {
    ($($ptr:ty),+) => {$(
        impl<T: AsyncCopySource + ?Sized> AsyncCopySource for $ptr {
            fn readiness(&self) -> Option<&dyn Readiness> {
                (**self).readiness()
            }
            fn limit(&self) -> Option<u64> {
                (**self).limit()
            }
            fn consume_limit(&mut self, n: u64) {
                (**self).consume_limit(n)
            }
            fn buffered(&self) -> &[u8] {
                (**self).buffered()
            }
            fn consume_buffered(&mut self, n: usize) {
                (**self).consume_buffered(n)
            }
            fn poll_settle(&mut self, cx: &mut Context<'_>, begun: &mut bool) -> Poll<io::Result<()>> {
                (**self).poll_settle(cx, begun)
            }
        }

        impl<T: AsyncCopySink + ?Sized> AsyncCopySink for $ptr {
            fn readiness(&self) -> Option<&dyn Readiness> {
                (**self).readiness()
            }
            fn poll_prepare(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                (**self).poll_prepare(cx)
            }
        }
    )+};
}
through_pointer!(&mut T, Box<T>);

impl<T: AsyncRead + AsDescriptor> AsDescriptor for Take<T> {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        self.get_ref().descriptor()
    }
}

impl<T: AsyncCopySource> AsyncCopySource for Take<T> {
    fn readiness(&self) -> Option<&dyn Readiness> {
        self.get_ref().readiness()
    }
    fn limit(&self) -> Option<u64> {
        let mine = Take::limit(self);
        Some(self.get_ref().limit().map_or(mine, |l| l.min(mine)))
    }
    fn consume_limit(&mut self, n: u64) {
        let left = Take::limit(self).saturating_sub(n);
        self.set_limit(left);
        self.get_mut().consume_limit(n);
    }
    fn buffered(&self) -> &[u8] {
        let inner = self.get_ref().buffered();
        &inner[..inner
            .len()
            .min(usize::try_from(Take::limit(self)).unwrap_or(usize::MAX))]
    }
    fn consume_buffered(&mut self, n: usize) {
        let left = Take::limit(self) - n as u64;
        self.set_limit(left);
        self.get_mut().consume_buffered(n);
    }
    fn poll_settle(&mut self, cx: &mut Context<'_>, begun: &mut bool) -> Poll<io::Result<()>> {
        self.get_mut().poll_settle(cx, begun)
    }
}

impl<T: AsyncRead + AsDescriptor> AsDescriptor for BufReader<T> {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        self.get_ref().descriptor()
    }
}

impl<T: AsyncCopySource> AsyncCopySource for BufReader<T> {
    fn readiness(&self) -> Option<&dyn Readiness> {
        self.get_ref().readiness()
    }
    fn limit(&self) -> Option<u64> {
        self.get_ref().limit()
    }
    fn consume_limit(&mut self, n: u64) {
        self.get_mut().consume_limit(n)
    }
    /// Its own buffer first; once that is empty, whatever the layer below it holds.
    fn buffered(&self) -> &[u8] {
        match self.buffer() {
            [] => self.get_ref().buffered(),
            mine => mine,
        }
    }
    fn consume_buffered(&mut self, n: usize) {
        if self.buffer().is_empty() {
            self.get_mut().consume_buffered(n)
        } else {
            Pin::new(self).consume(n)
        }
    }
    fn poll_settle(&mut self, cx: &mut Context<'_>, begun: &mut bool) -> Poll<io::Result<()>> {
        self.get_mut().poll_settle(cx, begun)
    }
}

impl<T: AsyncWrite + AsDescriptor> AsDescriptor for BufWriter<T> {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        self.get_ref().descriptor()
    }
}

impl<T: AsyncCopySink> AsyncCopySink for BufWriter<T> {
    fn readiness(&self) -> Option<&dyn Readiness> {
        self.get_ref().readiness()
    }
    /// Flushes its buffer (and the writer below).
    fn poll_prepare(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self).poll_flush(cx)
    }
}

/// A `tokio::fs::File` is a regular file to the kernel paths (never registered with the
/// reactor). Its operations run on the blocking pool: one may be in flight, and reads run
/// ahead of the caller, so its descriptor's offset is not its logical position until it is
/// settled (tokio's `seek` to the current position discards the read-ahead).
impl AsDescriptor for tokio::fs::File {
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                Some(Descriptor::new(std::os::fd::AsFd::as_fd(self)))
            } else {
                None
            }
        }
    }
}

impl AsyncCopySource for tokio::fs::File {
    fn poll_settle(&mut self, cx: &mut Context<'_>, begun: &mut bool) -> Poll<io::Result<()>> {
        settle_file(self, cx, begun)
    }
}

impl AsyncCopySink for tokio::fs::File {
    fn poll_prepare(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self).poll_flush(cx)
    }
}

/// Waits for a `tokio::fs::File`'s operation in flight, then seeks it, once, to its logical
/// position, which discards what it read ahead.
fn settle_file(f: &mut tokio::fs::File, cx: &mut Context<'_>, begun: &mut bool) -> Poll<io::Result<()>> {
    if !*begun {
        // `start_seek` refuses while an operation is in flight: finish it first.
        std::task::ready!(Pin::new(&mut *f).poll_complete(cx))?;
        // Seeking by 0 from the logical position discards the buffered read-ahead and moves
        // the descriptor's offset back to it.
        Pin::new(&mut *f).start_seek(io::SeekFrom::Current(0))?;
        *begun = true;
    }
    // Our seek: a later poll only waits for it.
    Poll::Ready(std::task::ready!(Pin::new(&mut *f).poll_complete(cx)).map(drop))
}

cfg_if::cfg_if! {
    if #[cfg(unix)] {
        use std::os::fd::AsFd;
        use tokio::net::{tcp, unix, TcpStream, UnixStream};
        use tokio::net::unix::pipe;

        use crate::descriptor::{FdKind, SocketFamily};

        /// Readiness, descriptor and default hooks for a tokio socket type or one of its halves;
        /// `$stream` turns a value into the `TcpStream`/`UnixStream` it is part of.
        macro_rules! socket {
            ($kind:expr; $($t:ty => |$s:ident| $stream:expr),+ $(,)?) => {$(
                impl Readiness for $t {
                    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<()>> {
                        let $s = self;
                        if interest.is_readable() {
                            $stream.poll_read_ready(cx)
                        } else {
                            $stream.poll_write_ready(cx)
                        }
                    }
                    fn try_io(&self, interest: Interest, f: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                        let $s = self;
                        $stream.try_io(interest, f)
                    }
                }
                impl AsDescriptor for $t {
                    fn descriptor(&self) -> Option<Descriptor<'_>> {
                        let $s = self;
                        Some(Descriptor::with_kind($stream.as_fd(), $kind))
                    }
                }
            )+};
        }

        socket!(FdKind::StreamSocket(SocketFamily::Ip);
            TcpStream => |s| s,
            tcp::OwnedReadHalf => |s| AsRef::<TcpStream>::as_ref(s),
            tcp::OwnedWriteHalf => |s| AsRef::<TcpStream>::as_ref(s),
            tcp::ReadHalf<'_> => |s| AsRef::<TcpStream>::as_ref(s),
            tcp::WriteHalf<'_> => |s| AsRef::<TcpStream>::as_ref(s),
        );
        socket!(FdKind::StreamSocket(SocketFamily::Unix);
            UnixStream => |s| s,
            unix::OwnedReadHalf => |s| AsRef::<UnixStream>::as_ref(s),
            unix::OwnedWriteHalf => |s| AsRef::<UnixStream>::as_ref(s),
            unix::ReadHalf<'_> => |s| AsRef::<UnixStream>::as_ref(s),
            unix::WriteHalf<'_> => |s| AsRef::<UnixStream>::as_ref(s),
        );

        /// A reader (`r`) or writer (`w`) with the reactor's readiness.
        macro_rules! registered {
            (r $($t:ty),+) => {$(
                impl AsyncCopySource for $t {
                    fn readiness(&self) -> Option<&dyn Readiness> {
                        Some(self)
                    }
                }
            )+};
            (w $($t:ty),+) => {$(
                impl AsyncCopySink for $t {
                    fn readiness(&self) -> Option<&dyn Readiness> {
                        Some(self)
                    }
                }
            )+};
        }
        registered!(r TcpStream, tcp::OwnedReadHalf, tcp::ReadHalf<'_>, UnixStream, unix::OwnedReadHalf, unix::ReadHalf<'_>, pipe::Receiver);
        registered!(w TcpStream, tcp::OwnedWriteHalf, tcp::WriteHalf<'_>, UnixStream, unix::OwnedWriteHalf, unix::WriteHalf<'_>, pipe::Sender);

        impl Readiness for pipe::Receiver {
            fn poll_ready(&self, cx: &mut Context<'_>, _: Interest) -> Poll<io::Result<()>> {
                self.poll_read_ready(cx)
            }
            fn try_io(&self, _: Interest, f: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                pipe::Receiver::try_io(self, f)
            }
        }
        impl Readiness for pipe::Sender {
            fn poll_ready(&self, cx: &mut Context<'_>, _: Interest) -> Poll<io::Result<()>> {
                self.poll_write_ready(cx)
            }
            fn try_io(&self, _: Interest, f: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                pipe::Sender::try_io(self, f)
            }
        }
        impl AsDescriptor for pipe::Receiver {
            fn descriptor(&self) -> Option<Descriptor<'_>> {
                Some(Descriptor::with_kind(self.as_fd(), FdKind::Pipe))
            }
        }
        impl AsDescriptor for pipe::Sender {
            fn descriptor(&self) -> Option<Descriptor<'_>> {
                Some(Descriptor::with_kind(self.as_fd(), FdKind::Pipe))
            }
        }
    }
}

/// Any `AsyncRead`/`AsyncWrite` not in the list: no descriptor, copied by the loop.
pub(crate) struct Opaque<'a, T: ?Sized>(pub(crate) &'a mut T);

impl<T: AsyncRead + Unpin + ?Sized> AsyncRead for Opaque<'_, T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin + ?Sized> AsyncWrite for Opaque<'_, T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl<T: ?Sized> AsDescriptor for Opaque<'_, T> {}
impl<T: AsyncRead + Unpin + ?Sized> AsyncCopySource for Opaque<'_, T> {}
impl<T: AsyncWrite + Unpin + ?Sized> AsyncCopySink for Opaque<'_, T> {}
