//! Plain writes to a descriptor, for the loop and for rescuing bytes from an intermediate pipe.

use std::os::fd::BorrowedFd;

/// `write(2)`, or `send(2)` with `MSG_NOSIGNAL` into a socket, so that a closed peer is an
/// `EPIPE` error and never a `SIGPIPE` (std's socket writes do the same).
pub(crate) fn write(dst: BorrowedFd<'_>, buf: &[u8], socket: bool) -> rustix::io::Result<usize> {
    if socket {
        rustix::net::send(dst, buf, rustix::net::SendFlags::NOSIGNAL)
    } else {
        rustix::io::write(dst, buf)
    }
}

/// Whether `fd` is a socket (one `fstat`), for paths that did not classify the destination.
pub(crate) fn is_socket(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fstat(fd)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket)
}
