//! Plain `read(2)` and `write(2)` on a descriptor (`recv`/`send` on a socket), for the loop on
//! two descriptors, and `pread(2)`/`pwrite(2)` for the same loop at explicit offsets (the
//! extents of a sparse copy).

use std::os::fd::BorrowedFd;

/// `read(2)`, or `recv(2)` from a socket: the same bytes, without the file layer's work that
/// `read` does on every call (std's socket reads use `recv` too).
pub(crate) fn read(src: BorrowedFd<'_>, buf: &mut [u8], socket: bool) -> rustix::io::Result<usize> {
    if socket {
        rustix::net::recv(src, buf, rustix::net::RecvFlags::empty()).map(|(n, _)| n)
    } else {
        rustix::io::read(src, buf)
    }
}

/// `write(2)`, or `send(2)` with `MSG_NOSIGNAL` into a socket, so that a closed peer is an
/// `EPIPE` error and never a `SIGPIPE` (std's socket writes do the same).
pub(crate) fn write(dst: BorrowedFd<'_>, buf: &[u8], socket: bool) -> rustix::io::Result<usize> {
    if socket {
        rustix::net::send(dst, buf, rustix::net::SendFlags::NOSIGNAL)
    } else {
        rustix::io::write(dst, buf)
    }
}

/// A second descriptor for the same open file (sharing its offset), for a call run on
/// another thread.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn dup(fd: BorrowedFd<'_>) -> std::io::Result<std::os::fd::OwnedFd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, 0)?)
}

/// `shutdown(2)` of a socket.
pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: std::net::Shutdown) -> std::io::Result<()> {
    let how = match how {
        std::net::Shutdown::Read => rustix::net::Shutdown::Read,
        std::net::Shutdown::Write => rustix::net::Shutdown::Write,
        std::net::Shutdown::Both => rustix::net::Shutdown::Both,
    };
    Ok(rustix::net::shutdown(fd, how)?)
}

/// `pread(2)`: reads at `offset`, leaving the file position alone.
pub(crate) fn pread(src: BorrowedFd<'_>, buf: &mut [u8], offset: u64) -> rustix::io::Result<usize> {
    rustix::io::pread(src, buf, offset)
}

/// `pwrite(2)`: writes at `offset`, leaving the file position alone.
pub(crate) fn pwrite(dst: BorrowedFd<'_>, buf: &[u8], offset: u64) -> rustix::io::Result<usize> {
    rustix::io::pwrite(dst, buf, offset)
}
