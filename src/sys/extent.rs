//! The extents of a sparse file and the size of a destination: `lseek(2)` with `SEEK_DATA` and
//! `SEEK_HOLE`, `fallocate(2)` punching a hole, `ftruncate(2)`, and `lseek(SEEK_SET)` for the file
//! positions a copy with explicit offsets leaves behind.

use std::os::fd::BorrowedFd;

use rustix::fs::{FallocateFlags, SeekFrom};
use rustix::io::Errno;

/// The first offset at or after `from` that holds data; `None` when there is none (`ENXIO`:
/// `from` is in a hole that runs to the end of the file, or past the end).
///
/// Filesystems without extent tracking report the whole file as one extent of data
/// (`SEEK_DATA` returns `from`, `SEEK_HOLE` the size), which makes a sparse copy a dense one.
pub(crate) fn data(fd: BorrowedFd<'_>, from: u64) -> Result<Option<u64>, Errno> {
    none_on_enxio(rustix::fs::seek(fd, SeekFrom::Data(from)))
}

/// The first hole at or after `from` (every file ends in one, at its size); `None` when `from`
/// is past the end of the file (`ENXIO`: it shrank).
pub(crate) fn hole(fd: BorrowedFd<'_>, from: u64) -> Result<Option<u64>, Errno> {
    none_on_enxio(rustix::fs::seek(fd, SeekFrom::Hole(from)))
}

fn none_on_enxio(r: Result<u64, Errno>) -> Result<Option<u64>, Errno> {
    match r {
        Ok(at) => Ok(Some(at)),
        Err(Errno::NXIO) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deallocates `[offset, offset + len)`, which then reads as zeros, keeping the file's size
/// (`FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`).
pub(crate) fn punch(fd: BorrowedFd<'_>, offset: u64, len: u64) -> Result<(), Errno> {
    rustix::fs::fallocate(fd, FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE, offset, len)
}

/// `ftruncate(2)`: the file's size becomes `len` (bytes added read as zeros and take no space).
pub(crate) fn set_len(fd: BorrowedFd<'_>, len: u64) -> Result<(), Errno> {
    rustix::fs::ftruncate(fd, len)
}

/// Moves the file position to `offset`.
pub(crate) fn seek_to(fd: BorrowedFd<'_>, offset: u64) -> Result<(), Errno> {
    rustix::fs::seek(fd, SeekFrom::Start(offset)).map(drop)
}
