//! `FS_IOC_FIEMAP`: a file's extents with their flags, to see what a copy shared (reflinked)
//! and what a filesystem preallocated (unwritten extents after the data: XFS's speculative
//! preallocation).
#![allow(dead_code)]

use std::io;
use std::os::fd::AsRawFd;

/// `_IOWR('f', 11, struct fiemap)`.
const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
const FIEMAP_FLAG_SYNC: u32 = 0x1;
pub const FIEMAP_EXTENT_LAST: u32 = 0x1;
pub const FIEMAP_EXTENT_UNWRITTEN: u32 = 0x800;
pub const FIEMAP_EXTENT_SHARED: u32 = 0x2000;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Extent {
    logical: u64,
    physical: u64,
    length: u64,
    reserved64: [u64; 2],
    flags: u32,
    reserved: [u32; 3],
}

#[repr(C)]
struct Map {
    start: u64,
    length: u64,
    flags: u32,
    mapped: u32,
    count: u32,
    reserved: u32,
    extents: [Extent; 512],
}

/// One extent: logical offset, length, `FIEMAP_EXTENT_*` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ext {
    pub logical: u64,
    pub length: u64,
    pub flags: u32,
}

/// The extents of `f` (after syncing it), up to 512 of them.
pub fn extents(f: &impl AsRawFd) -> io::Result<Vec<Ext>> {
    let mut map = Box::new(Map {
        start: 0,
        length: u64::MAX,
        flags: FIEMAP_FLAG_SYNC,
        mapped: 0,
        count: 512,
        reserved: 0,
        extents: [Extent::default(); 512],
    });
    // SAFETY: `map` is a `struct fiemap` with room for `count` extents, as the ioctl expects;
    // it lives until the call returns.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FIEMAP as _, &mut *map as *mut Map) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(map.extents[..map.mapped as usize]
        .iter()
        .map(|e| Ext {
            logical: e.logical,
            length: e.length,
            flags: e.flags,
        })
        .collect())
}

/// Bytes in extents with `flag`.
pub fn bytes_with(exts: &[Ext], flag: u32) -> u64 {
    exts.iter().filter(|e| e.flags & flag != 0).map(|e| e.length).sum()
}
