//! How a copy side hands its descriptor to the engine: borrowed, so that it is open for as long
//! as the engine holds it, with the kind of descriptor when the type alone tells it.

use std::fmt;
use std::marker::PhantomData;

#[cfg(unix)]
use std::os::fd::BorrowedFd;

/// The address family of a socket, as far as the strategy table cares.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::os::fd::AsFd;
/// use fdcopy::table::{classify, FdKind, SocketFamily};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// assert_eq!(classify(a.as_fd()).unwrap(), FdKind::StreamSocket(SocketFamily::Unix));
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketFamily {
    /// `AF_UNIX`.
    Unix,
    /// `AF_INET` or `AF_INET6`.
    Ip,
    /// Any other family (vsock, netlink, ...).
    Other,
}

/// The kind of a descriptor: what the strategy table dispatches on.
///
/// Its `Display` is a short lower-case name (`file`, `pipe`, `tcp`, `unix`, ...).
///
/// ```
/// use fdcopy::table::{FdKind, SocketFamily};
/// assert_eq!(FdKind::StreamSocket(SocketFamily::Ip).to_string(), "tcp");
/// assert_eq!(format!("{:<5}|", FdKind::Pipe), "pipe |");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FdKind {
    /// A regular file.
    File,
    /// A pipe or FIFO.
    Pipe,
    /// A stream socket (TCP, MPTCP, unix stream).
    StreamSocket(SocketFamily),
    /// A datagram or sequenced-packet socket (UDP, unixgram, unixpacket): copied by the loop.
    DatagramSocket(SocketFamily),
    /// A character device (tty, `/dev/null`, `/dev/zero`, `/dev/full`).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A directory, an `O_PATH` descriptor, an epoll or event fd, or anything else.
    Other,
}

impl fmt::Display for FdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            FdKind::File => "file",
            FdKind::Pipe => "pipe",
            FdKind::StreamSocket(SocketFamily::Ip) => "tcp",
            FdKind::StreamSocket(SocketFamily::Unix) => "unix",
            FdKind::StreamSocket(SocketFamily::Other) => "stream",
            FdKind::DatagramSocket(_) => "dgram",
            FdKind::CharDevice => "chr",
            FdKind::BlockDevice => "blk",
            FdKind::Other => "other",
        })
    }
}

/// The descriptor a copy side reads or writes, borrowed from it, and its kind when the type
/// alone tells it (a `TcpStream` is always a stream socket; a `File` could be anything).
///
/// Because it borrows, the descriptor is open for as long as the engine holds it: the handoff
/// needs no `unsafe`, on either side.
///
/// ```
/// # #[cfg(unix)] {
/// use fdcopy::AsDescriptor;
/// let (r, _w) = std::io::pipe().unwrap();
/// assert_eq!(r.descriptor().unwrap().kind(), Some(fdcopy::table::FdKind::Pipe)); // from the type
/// let f = tempfile::tempfile().unwrap();
/// assert_eq!(f.descriptor().unwrap().kind(), None); // fstat tells
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct Descriptor<'fd> {
    #[cfg(unix)]
    fd: BorrowedFd<'fd>,
    kind: Option<FdKind>,
    _fd: PhantomData<&'fd ()>,
}

#[cfg(unix)]
impl<'fd> Descriptor<'fd> {
    /// A descriptor whose kind the engine finds out itself (`fstat`, plus `SO_TYPE` and
    /// `SO_DOMAIN` for sockets).
    pub fn new(fd: BorrowedFd<'fd>) -> Self {
        Descriptor {
            fd,
            kind: None,
            _fd: PhantomData,
        }
    }

    /// A descriptor whose kind the type implies, which saves the engine an `fstat`.
    pub fn with_kind(fd: BorrowedFd<'fd>, kind: FdKind) -> Self {
        Descriptor {
            fd,
            kind: Some(kind),
            _fd: PhantomData,
        }
    }

    /// The borrowed descriptor.
    pub fn fd(&self) -> BorrowedFd<'fd> {
        self.fd
    }
}

impl Descriptor<'_> {
    /// The kind, when the type told it.
    pub fn kind(&self) -> Option<FdKind> {
        self.kind
    }
}

impl fmt::Debug for Descriptor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Descriptor");
        #[cfg(unix)]
        d.field("fd", &self.fd);
        d.field("kind", &self.kind).finish()
    }
}

/// How a copy side tells the engine which descriptor it wraps, if any.
///
/// Implemented for every std type that wraps a descriptor and for fdcopy's wrappers. The
/// default says "no descriptor" (an in-memory buffer), so `impl AsDescriptor for MyType {}` is
/// complete for a type without one. A type of your own opts in to the kernel paths by returning
/// its descriptor here, together with [`CopySource`](crate::CopySource) or
/// [`CopySink`](crate::CopySink):
///
/// ```
/// # #[cfg(unix)] {
/// use std::io::{self, Read};
/// use std::os::fd::AsFd;
/// use fdcopy::table::{FdKind, SocketFamily};
/// use fdcopy::{AsDescriptor, Descriptor};
///
/// /// A socket wrapper from some framework.
/// struct Conn(std::net::TcpStream);
/// impl Read for Conn {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> { self.0.read(buf) }
/// }
/// impl AsDescriptor for Conn {
///     fn descriptor(&self) -> Option<Descriptor<'_>> {
///         Some(Descriptor::with_kind(self.0.as_fd(), FdKind::StreamSocket(SocketFamily::Ip)))
///     }
/// }
/// impl fdcopy::CopySource for Conn {}
/// # }
/// ```
///
/// # Contract
/// The descriptor must be the one the type's `Read`/`Write` use, with no bytes held in user
/// space in between (or the type reports them through the `CopySource`/`CopySink` hooks): the
/// kernel paths bypass `read` and `write`. Breaking this gives wrong bytes, never undefined
/// behaviour. A kind given with [`Descriptor::with_kind`] must be the descriptor's real kind.
pub trait AsDescriptor {
    /// The descriptor, or `None` when this side has none.
    fn descriptor(&self) -> Option<Descriptor<'_>> {
        None
    }
}
