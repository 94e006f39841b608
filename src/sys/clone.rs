//! `ioctl(FICLONE)`: a whole file shared with another (a reflink), on the filesystems that can
//! (XFS, btrfs; `EOPNOTSUPP` on ext4 and tmpfs, `EXDEV` across filesystems, `EINVAL` into a btrfs
//! `NOCOW` file, `EBADF` into an `O_APPEND` one).

use std::os::fd::BorrowedFd;

use rustix::io::Errno;

/// Makes `dst` share every block of `src`, whose size it takes. Moves neither file position.
pub(crate) fn ficlone(dst: BorrowedFd<'_>, src: BorrowedFd<'_>) -> Result<(), Errno> {
    rustix::fs::ioctl_ficlone(dst, src)
}
