//! Plain `read(2)` and `write(2)` on a descriptor, for the loop on two descriptors.

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
