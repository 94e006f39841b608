//! Filesystem facts for tests and tools that mount filesystems of their own: what a file's
//! extents are (`FS_IOC_FIEMAP`: what a copy shared, i.e. reflinked, and what a filesystem
//! preallocated, the unwritten extents XFS leaves after the data), and a private mount
//! namespace for the calling thread.

use std::cell::Cell;
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

thread_local! {
    static UNSHARED: Cell<bool> = const { Cell::new(false) };
}

/// Gives the calling thread a private mount namespace (once per thread): mounts made from this
/// thread, or by commands it spawns, are seen by nobody else and vanish with the thread. The
/// error says why not (it needs root: CAP_SYS_ADMIN).
pub fn private_mount_ns() -> Result<(), String> {
    if UNSHARED.with(Cell::get) {
        return Ok(());
    }
    // SAFETY: plain syscalls with valid C strings; CLONE_NEWNS affects only this thread (and
    // what it spawns from now on).
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(format!("unshare(CLONE_NEWNS): {}", io::Error::last_os_error()));
        }
        // Keep mount events from propagating back to the host namespace.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(format!("mount --make-rprivate /: {}", io::Error::last_os_error()));
        }
    }
    UNSHARED.with(|u| u.set(true));
    Ok(())
}
