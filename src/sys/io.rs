//! Plain `read(2)` and `write(2)` on a descriptor, for the loop on two descriptors, and
//! `pread(2)`/`pwrite(2)` for the same loop at explicit offsets (the extents of a sparse copy).

use std::os::fd::BorrowedFd;

/// `read(2)`.
pub(crate) fn read(src: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
    rustix::io::read(src, buf)
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

/// `pread(2)`: reads at `offset`, leaving the file position alone.
pub(crate) fn pread(src: BorrowedFd<'_>, buf: &mut [u8], offset: u64) -> rustix::io::Result<usize> {
    rustix::io::pread(src, buf, offset)
}

/// `pwrite(2)`: writes at `offset`, leaving the file position alone.
pub(crate) fn pwrite(dst: BorrowedFd<'_>, buf: &[u8], offset: u64) -> rustix::io::Result<usize> {
    rustix::io::pwrite(dst, buf, offset)
}
