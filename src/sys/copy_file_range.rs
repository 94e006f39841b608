//! `copy_file_range(2)`: regular file to regular file inside the kernel.

use std::os::fd::BorrowedFd;

/// 1 GiB per call, as std: a huge count at a non-zero offset can hit EOVERFLOW
/// (rust-lang/rust#78979), and the kernel caps a call at 0x7ffff000 bytes anyway.
pub(crate) const MAX_CHUNK: u64 = 1 << 30;

/// One call with NULL offsets: reads and advances both file positions, so a later fallback
/// to `read`/`write` continues exactly where this stopped. rustix issues the raw syscall,
/// never glibc's user-space emulation.
pub(crate) fn call(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, len: usize) -> rustix::io::Result<usize> {
    rustix::fs::copy_file_range(src, None, dst, None, len)
}

/// One call at explicit offsets, which the kernel advances; the file positions stay where they
/// are.
pub(crate) fn call_at(
    src: BorrowedFd<'_>,
    src_off: &mut u64,
    dst: BorrowedFd<'_>,
    dst_off: &mut u64,
    len: usize,
) -> rustix::io::Result<usize> {
    rustix::fs::copy_file_range(src, Some(src_off), dst, Some(dst_off), len)
}
