//! `sendfile(2)`: from a file or block device to any writable descriptor.

use std::os::fd::BorrowedFd;

/// The kernel's per-call cap (`MAX_RW_COUNT`).
pub(crate) const MAX_CHUNK: u64 = 0x7fff_f000;

/// One call with a NULL offset: reads and advances the source's file position.
pub(crate) fn call(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, len: usize) -> rustix::io::Result<usize> {
    rustix::fs::sendfile(dst, src, None, len)
}

/// One call reading at `src_off` (which the kernel advances, the source's position staying
/// put) and writing at the destination's file position.
pub(crate) fn call_at(
    src: BorrowedFd<'_>,
    src_off: &mut u64,
    dst: BorrowedFd<'_>,
    len: usize,
) -> rustix::io::Result<usize> {
    rustix::fs::sendfile(dst, src, Some(src_off), len)
}
