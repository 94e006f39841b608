//! Every syscall the library makes, one family per module, and the process-wide record of
//! which of them this process may use. Nothing above this module calls the kernel.

#[allow(unsafe_code)] // the fd -1 probe: the one raw syscall
pub(crate) mod avail;
pub(crate) mod clone;
pub(crate) mod copy_file_range;
pub(crate) mod extent;
pub(crate) mod io;
pub(crate) mod pipe_pool;
pub(crate) mod sendfile;
pub(crate) mod splice;
pub(crate) mod stat;
pub(crate) mod wait;

use std::os::fd::BorrowedFd;

/// The errno type every call here returns.
pub(crate) use rustix::io::Errno;

use crate::strategy::Syscall;

/// One call of `call` moving at most `len` bytes from `src` to `dst` at their file offsets.
/// Only the three calls that move bytes; the others have their own modules.
pub(crate) fn call_once(call: Syscall, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, len: usize) -> Result<usize, Errno> {
    match call {
        Syscall::CopyFileRange => copy_file_range::call(src, dst, len),
        Syscall::Sendfile => sendfile::call(src, dst, len),
        Syscall::Splice => splice::call(src, dst, len),
        _ => Err(Errno::INVAL),
    }
}

/// One call of `call` at explicit offsets, each advanced by the bytes moved: `copy_file_range`
/// reads and writes there; `sendfile` reads at `src_off` and writes at the destination's file
/// position, which the caller has put at `dst_off`. Other calls: `EINVAL` (not this way).
pub(crate) fn call_at(
    call: Syscall,
    src: BorrowedFd<'_>,
    src_off: &mut u64,
    dst: BorrowedFd<'_>,
    dst_off: &mut u64,
    len: usize,
) -> Result<usize, Errno> {
    match call {
        Syscall::CopyFileRange => copy_file_range::call_at(src, src_off, dst, dst_off, len),
        Syscall::Sendfile => {
            let n = sendfile::call_at(src, src_off, dst, len)?;
            *dst_off += n as u64;
            Ok(n)
        }
        _ => Err(Errno::INVAL),
    }
}

/// The largest count one call of `call` should be asked for.
pub(crate) fn chunk_cap(call: Syscall) -> u64 {
    match call {
        Syscall::CopyFileRange => copy_file_range::MAX_CHUNK,
        Syscall::Sendfile => sendfile::MAX_CHUNK,
        Syscall::Splice => splice::MAX_CHUNK,
        _ => 0,
    }
}
