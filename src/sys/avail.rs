//! Which syscalls this process may use. A syscall is marked unavailable only when the errno
//! proves the call itself is missing or denied (ENOSYS, or EPERM that a probe confirms),
//! never because of one file (rust-lang/rust#79274: one immutable file disabled
//! copy_file_range for a whole process).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::strategy::{Syscall, SyscallSet};

static UNAVAILABLE: AtomicU8 = AtomicU8::new(0);

/// `FICLONE` = `_IOW(0x94, 9, int)`.
const FICLONE: libc::c_ulong = 0x4004_9409;

/// The syscalls proven unavailable.
pub(crate) fn unavailable() -> SyscallSet {
    SyscallSet::from_bits(UNAVAILABLE.load(Ordering::Relaxed))
}

/// Records that `call` does not exist here (ENOSYS) or is denied for every descriptor.
pub(crate) fn mark_unavailable(call: Syscall) {
    let mut set = SyscallSet::default();
    set.insert(call);
    UNAVAILABLE.fetch_or(set.bits(), Ordering::Relaxed);
}

/// Forgets everything learned (for tests that inject faults on one thread only).
pub(crate) fn reset() {
    UNAVAILABLE.store(0, Ordering::Relaxed);
}

/// What `call` answers when given invalid descriptors: `EBADF` if the kernel looked at them
/// (the call is allowed), the filter's errno if seccomp stopped it first.
///
/// Only run after a failure, never up front: valgrind reports the invalid descriptor
/// (rust-lang/rust#122052).
pub(crate) fn probe(call: Syscall) -> Option<i32> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: invalid descriptors (-1), NULL offsets and plain integers: the kernel (or a
    // seccomp filter) rejects the call before touching any memory. rustix's `BorrowedFd` cannot
    // hold -1, hence the raw syscall.
    let r = unsafe {
        match call {
            Syscall::CopyFileRange => libc::syscall(libc::SYS_copy_file_range, -1, null, -1, null, 1usize, 0u32),
            Syscall::Sendfile => libc::syscall(libc::SYS_sendfile, -1, -1, null, 1usize),
            Syscall::Splice => libc::syscall(libc::SYS_splice, -1, null, -1, null, 1usize, 0u32),
            Syscall::Ficlone => libc::syscall(libc::SYS_ioctl, -1, FICLONE, -1),
            Syscall::SeekData => libc::syscall(libc::SYS_lseek, -1, 0i64, libc::SEEK_DATA),
            Syscall::Fallocate => libc::syscall(
                libc::SYS_fallocate,
                -1,
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                0i64,
                1i64,
            ),
            Syscall::Ftruncate => libc::syscall(libc::SYS_ftruncate, -1, 0i64),
        }
    };
    (r == -1).then(|| std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// After `EPERM`: is `call` denied for every descriptor (a seccomp filter), or was it this file?
pub(crate) fn denied(call: Syscall) -> bool {
    matches!(probe(call), Some(libc::EPERM) | Some(libc::ENOSYS))
}
