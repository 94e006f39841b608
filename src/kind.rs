//! What kind of descriptor a side wraps: the input of the strategy table.

/// A raw descriptor number (an alias of `std::os::fd::RawFd` on Unix).
///
/// ```
/// let fd: fdcopy::RawFd = 0;
/// assert_eq!(fdcopy::RawFdKind::new(fd).kind, None);
/// ```
#[cfg(unix)]
pub type RawFd = std::os::fd::RawFd;
/// A raw descriptor number (never produced on this target: only the buffered loop runs here).
#[cfg(not(unix))]
pub type RawFd = i32;

/// The address family of a socket, as far as the strategy table cares.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::os::fd::AsFd;
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// assert_eq!(fdcopy::classify(a.as_fd()).unwrap(),
///            fdcopy::FdKind::StreamSocket(fdcopy::SocketFamily::Unix));
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
/// ```
/// use fdcopy::{FdKind, SocketFamily};
/// let kind = FdKind::StreamSocket(SocketFamily::Ip);
/// assert!(kind.is_stream_socket());
/// assert!(!FdKind::File.is_stream_socket());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

impl FdKind {
    /// True for stream sockets of any family.
    pub fn is_stream_socket(self) -> bool {
        matches!(self, FdKind::StreamSocket(_))
    }

    /// A short lower-case name (`file`, `pipe`, `tcp`, `unix`, ...), for tables and logs.
    pub fn name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Pipe => "pipe",
            FdKind::StreamSocket(SocketFamily::Ip) => "tcp",
            FdKind::StreamSocket(SocketFamily::Unix) => "unix",
            FdKind::StreamSocket(SocketFamily::Other) => "stream",
            FdKind::DatagramSocket(_) => "dgram",
            FdKind::CharDevice => "chr",
            FdKind::BlockDevice => "blk",
            FdKind::Other => "other",
        }
    }
}

/// A descriptor a copy side wraps, and its kind when known without a syscall.
///
/// ```
/// # #[cfg(unix)] {
/// use fdcopy::AsRawFdKind;
/// let (r, _w) = std::io::pipe().unwrap();
/// let k = r.as_raw_fd_kind().unwrap();
/// assert_eq!(k.kind, Some(fdcopy::FdKind::Pipe)); // known from the type: no syscall
/// let f = tempfile::tempfile().unwrap();
/// assert_eq!(f.as_raw_fd_kind().unwrap().kind, None); // a File could be anything: fstat tells
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawFdKind {
    /// The descriptor. It must stay open for the duration of the copy.
    pub fd: RawFd,
    /// The kind, when the type alone tells it (a `TcpStream` is always a stream socket);
    /// `None` makes the engine ask the kernel (`fstat`, plus `SO_TYPE`/`SO_DOMAIN`).
    pub kind: Option<FdKind>,
}

impl RawFdKind {
    /// A descriptor whose kind the engine finds out itself.
    pub fn new(fd: RawFd) -> Self {
        RawFdKind { fd, kind: None }
    }

    /// A descriptor whose kind is known.
    pub fn with_kind(fd: RawFd, kind: FdKind) -> Self {
        RawFdKind { fd, kind: Some(kind) }
    }
}

/// How a copy side tells the engine which descriptor it wraps.
///
/// Implemented for every std type that wraps a descriptor (returning it) and for the in-memory
/// ones (returning `None`). A type of your own opts in to the kernel paths by implementing it
/// together with [`CopySource`](crate::CopySource) or [`CopySink`](crate::CopySink):
///
/// ```
/// # #[cfg(unix)] {
/// use std::io::{self, Read};
/// use std::os::fd::AsRawFd;
/// use fdcopy::{AsRawFdKind, RawFdKind};
///
/// /// A socket wrapper from some framework.
/// struct Conn(std::net::TcpStream);
/// impl Read for Conn {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> { self.0.read(buf) }
/// }
/// impl AsRawFdKind for Conn {
///     fn as_raw_fd_kind(&self) -> Option<RawFdKind> {
///         Some(RawFdKind::with_kind(self.0.as_raw_fd(), fdcopy::FdKind::StreamSocket(fdcopy::SocketFamily::Ip)))
///     }
/// }
/// impl fdcopy::CopySource for Conn {}
/// # }
/// ```
///
/// # Contract
/// The descriptor must be the one that the type's `Read`/`Write` use, with no bytes held in
/// user space in between (or the type must report them through the `CopySource` hooks): the
/// kernel paths bypass `read` and `write`.
pub trait AsRawFdKind {
    /// The descriptor, or `None` when this side has none (an in-memory buffer).
    fn as_raw_fd_kind(&self) -> Option<RawFdKind>;
}

/// Finds the kind of a descriptor: one `fstat`, plus `SO_TYPE` and `SO_DOMAIN` for sockets.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::os::fd::AsFd;
/// let f = tempfile::tempfile().unwrap();
/// assert_eq!(fdcopy::classify(f.as_fd()).unwrap(), fdcopy::FdKind::File);
/// let (r, _w) = std::io::pipe().unwrap();
/// assert_eq!(fdcopy::classify(r.as_fd()).unwrap(), fdcopy::FdKind::Pipe);
/// # }
/// ```
#[cfg(target_os = "linux")]
pub fn classify(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<FdKind> {
    Ok(stat_kind(fd)?.0)
}

/// The kind and the size (`st_size`, for regular files and block devices only a hint), and the
/// (device, inode) identity used to notice a file copied onto itself.
#[cfg(target_os = "linux")]
pub(crate) fn stat_kind(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<(FdKind, u64, (u64, u64))> {
    use rustix::fs::FileType;
    let st = rustix::fs::fstat(fd)?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => FdKind::File,
        FileType::Fifo => FdKind::Pipe,
        FileType::CharacterDevice => FdKind::CharDevice,
        FileType::BlockDevice => FdKind::BlockDevice,
        FileType::Socket => socket_kind(fd)?,
        _ => FdKind::Other,
    };
    Ok((kind, st.st_size as u64, (st.st_dev as u64, st.st_ino as u64)))
}

#[cfg(target_os = "linux")]
fn socket_kind(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<FdKind> {
    use rustix::net::{sockopt, AddressFamily, SocketType};
    let family = match sockopt::socket_domain(fd)? {
        AddressFamily::UNIX => SocketFamily::Unix,
        AddressFamily::INET | AddressFamily::INET6 => SocketFamily::Ip,
        _ => SocketFamily::Other,
    };
    Ok(match sockopt::socket_type(fd)? {
        SocketType::STREAM => FdKind::StreamSocket(family),
        SocketType::DGRAM | SocketType::SEQPACKET => FdKind::DatagramSocket(family),
        _ => FdKind::Other,
    })
}
