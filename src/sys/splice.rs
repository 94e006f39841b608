//! `splice(2)`: between a pipe and anything, with no user-space copy.

use std::os::fd::BorrowedFd;

use rustix::pipe::SpliceFlags;

/// Per call; the pipe bounds what one call really moves.
pub(crate) const MAX_CHUNK: u64 = 1 << 30;

/// One call with NULL offsets. No flags: `SPLICE_F_NONBLOCK` would make the caller's pipe
/// non-blocking for this call only (the caller's blocking choice must hold), and
/// `SPLICE_F_MORE` delays small messages by ~200 ms (golang/go#10948). The pipe's own
/// `O_NONBLOCK` still applies, and `EAGAIN` is then waited on with `poll`.
pub(crate) fn call(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, len: usize) -> rustix::io::Result<usize> {
    rustix::pipe::splice(src, None, dst, None, len, SpliceFlags::empty())
}
