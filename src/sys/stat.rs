//! What a descriptor is: `fstat(2)`, plus `SO_TYPE`/`SO_DOMAIN` for sockets, and the file
//! status flags and position the engine needs to rule out copies that could never end.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::fs::{FileType, OFlags};

use crate::descriptor::{FdKind, SocketFamily};

/// One `fstat`: the kind, the size (`st_size`; for regular files only a hint), the space
/// allocated (`st_blocks`, in 512-byte units: fewer than the size needs means holes), and the
/// (device, inode) identity that tells a file copied onto itself.
pub(crate) struct Stat {
    pub(crate) kind: FdKind,
    pub(crate) size: u64,
    pub(crate) blocks: u64,
    pub(crate) id: (u64, u64),
}

impl Stat {
    /// A regular file that holds fewer bytes than its size: `st_blocks * 512 < st_size`, the
    /// heuristic of coreutils, uutils and xcp.
    pub(crate) fn looks_sparse(&self) -> bool {
        self.kind == FdKind::File && self.blocks.saturating_mul(512) < self.size
    }
}

/// Finds the kind of a descriptor: one `fstat`, plus `SO_TYPE` and `SO_DOMAIN` for sockets.
///
/// ```
/// use std::os::fd::AsFd;
/// use fdcopy::table::{classify, FdKind};
/// let f = tempfile::tempfile().unwrap();
/// assert_eq!(classify(f.as_fd()).unwrap(), FdKind::File);
/// let (r, _w) = std::io::pipe().unwrap();
/// assert_eq!(classify(r.as_fd()).unwrap(), FdKind::Pipe);
/// ```
pub fn classify(fd: BorrowedFd<'_>) -> io::Result<FdKind> {
    Ok(stat(fd)?.kind)
}

pub(crate) fn stat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    let st = rustix::fs::fstat(fd)?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => FdKind::File,
        FileType::Fifo => FdKind::Pipe,
        FileType::CharacterDevice => FdKind::CharDevice,
        FileType::BlockDevice => FdKind::BlockDevice,
        FileType::Socket => socket_kind(fd)?,
        _ => FdKind::Other,
    };
    Ok(Stat {
        kind,
        size: st.st_size as u64,
        blocks: st.st_blocks as u64,
        id: (st.st_dev as u64, st.st_ino as u64),
    })
}

fn socket_kind(fd: BorrowedFd<'_>) -> io::Result<FdKind> {
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

/// Whether `fd` has `O_APPEND` now (it can be set after open: golang/go#79660). A descriptor
/// whose flags cannot be read counts as not appending; its copy fails for real later.
pub(crate) fn appends(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fcntl_getfl(fd).is_ok_and(|fl| fl.contains(OFlags::APPEND))
}

/// Whether `fd` has `O_NONBLOCK`.
pub(crate) fn nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(rustix::fs::fcntl_getfl(fd)?.contains(OFlags::NONBLOCK))
}

/// The file position, if the descriptor has one.
pub(crate) fn position(fd: BorrowedFd<'_>) -> Option<u64> {
    rustix::fs::seek(fd, rustix::fs::SeekFrom::Current(0)).ok()
}
