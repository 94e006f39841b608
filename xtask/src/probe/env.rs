//! What the kernel allows, probed without the engine: the syscalls, pipe sizing, the
//! filesystems of the temporary directory and /dev/shm, io_uring.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use fdcopy_testkit::payload;

use crate::errno::errno_name;

/// Everything the probe learns before the live matrix.
pub struct Findings {
    pub kernel: Kernel,
    pub syscalls: Vec<Syscall>,
    pub pipes: Pipes,
    pub fs: Filesystems,
    pub uring: IoUring,
}

pub fn probe() -> Findings {
    let uname = rustix::system::uname();
    let kernel = Kernel {
        release: uname.release().to_string_lossy().into_owned(),
        machine: uname.machine().to_string_lossy().into_owned(),
    };
    Findings {
        kernel,
        syscalls: syscalls(),
        pipes: pipes(),
        fs: filesystems(),
        uring: io_uring(),
    }
}

// ------------------------------------------------------------------------------------------
// Kernel and syscalls.

pub struct Kernel {
    pub release: String,
    pub machine: String,
}

/// One row of the syscall table.
pub struct Syscall {
    pub name: &'static str,
    /// "available", "not implemented", "denied", "refused above pipe-max-size", or
    /// "unexpected (ERRNO)".
    pub status: String,
    /// The errno the probe got (None: the call succeeded).
    pub errno: Option<i32>,
    /// A word of explanation for the human table.
    pub note: String,
}

/// What an invalid-descriptor call answered.
fn status_of(errno: Option<i32>) -> String {
    match errno {
        Some(libc::EBADF) => "available".into(),
        Some(libc::ENOSYS) => "not implemented".into(),
        Some(libc::EPERM) => "denied".into(),
        Some(e) => format!("unexpected ({})", errno_name(e)),
        None => "unexpected (succeeded)".into(),
    }
}

/// `syscall(nr, args...)` with invalid descriptors: the errno, or None if it succeeded.
fn invalid_fd_call(name: &str) -> Option<i32> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: every call passes invalid descriptors (-1) and NULL offset pointers: the kernel
    // (or a seccomp filter) rejects it before touching memory or any descriptor of ours.
    let r = unsafe {
        match name {
            "copy_file_range" => libc::syscall(libc::SYS_copy_file_range, -1, null, -1, null, 1usize, 0u32),
            "sendfile" => libc::syscall(libc::SYS_sendfile, -1, -1, null, 1usize),
            "splice" => libc::syscall(libc::SYS_splice, -1, null, -1, null, 1usize, 0u32),
            "tee" => libc::syscall(libc::SYS_tee, -1, -1, 1usize, 0u32),
            _ => unreachable!("no probe for {name}"),
        }
    };
    (r == -1).then(|| io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

fn syscalls() -> Vec<Syscall> {
    let mut out = Vec::new();
    for name in ["copy_file_range", "sendfile", "splice", "tee"] {
        let errno = invalid_fd_call(name);
        let note = match errno {
            Some(libc::EBADF) => "EBADF on fd -1: the kernel looked at the descriptor".to_string(),
            Some(libc::ENOSYS) => "ENOSYS: missing, or filtered with ENOSYS; fdcopy skips it".to_string(),
            Some(libc::EPERM) => "EPERM on fd -1: a seccomp filter; fdcopy skips it".to_string(),
            _ => String::new(),
        };
        out.push(Syscall {
            name,
            status: status_of(errno),
            errno,
            note,
        });
    }
    out.push(setpipe_status());
    out
}

/// `F_SETPIPE_SZ` asking 1 MiB on a fresh pipe. `EPERM` means either "above pipe-max-size
/// without CAP_SYS_RESOURCE" or "this user's pipe budget is spent / a filter": a second
/// request within pipe-max-size tells which.
fn setpipe_status() -> Syscall {
    let mut row = Syscall {
        name: "F_SETPIPE_SZ",
        status: String::new(),
        errno: None,
        note: String::new(),
    };
    let Ok((_r, w)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
        row.status = "unexpected (pipe2 failed)".into();
        return row;
    };
    match rustix::pipe::fcntl_setpipe_size(&w, 1 << 20) {
        Ok(n) => {
            row.status = "available".into();
            row.note = format!("asked 1 MiB, got {n}");
        }
        Err(e) => {
            let errno = e.raw_os_error();
            row.errno = Some(errno);
            match errno {
                libc::EPERM => {
                    // Does a smaller enlargement (128 KiB, or pipe-max-size if lower) work?
                    let max = pipe_max_size();
                    let within = max.unwrap_or(1 << 17).clamp(8192, 1 << 17);
                    match rustix::pipe::fcntl_setpipe_size(&w, within) {
                        Ok(n) if max.is_some_and(|m| m < 1 << 20) => {
                            row.status = "refused above pipe-max-size".into();
                            row.note = format!(
                                "1 MiB: EPERM (pipe-max-size {}, no CAP_SYS_RESOURCE); {within} B: got {n}",
                                max.unwrap_or(0)
                            );
                        }
                        Ok(n) => {
                            row.status = "limited".into();
                            row.note =
                                format!("1 MiB: EPERM (pipe-user-pages budget nearly spent); {within} B: got {n}");
                        }
                        Err(_) => {
                            row.status = "denied".into();
                            row.note =
                                "EPERM for any enlargement: pipe-user-pages budget spent, or a filter".to_string();
                        }
                    }
                }
                // Kernels before 2.6.35 do not know the command.
                libc::EINVAL => {
                    row.status = "not implemented".into();
                    row.note = "EINVAL: fcntl command unknown to this kernel".into();
                }
                other => row.status = format!("unexpected ({})", errno_name(other)),
            }
        }
    }
    row
}

fn pipe_max_size() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

pub struct Pipes {
    pub max_size: Option<usize>,
    pub default_capacity: Option<usize>,
    /// What `F_SETPIPE_SZ` 1 MiB gave: the capacity, or the errno.
    pub one_mib: Result<usize, i32>,
    /// `F_SETPIPE_SZ` at twice pipe-max-size: allowed only with CAP_SYS_RESOURCE.
    pub above_max: Option<Result<usize, i32>>,
}

fn pipes() -> Pipes {
    let fresh = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ok();
    let max_size = pipe_max_size();
    let default_capacity = fresh().and_then(|(_r, w)| rustix::pipe::fcntl_getpipe_size(&w).ok());
    let one_mib = match fresh() {
        Some((_r, w)) => rustix::pipe::fcntl_setpipe_size(&w, 1 << 20).map_err(|e| e.raw_os_error()),
        None => Err(0),
    };
    let above_max = max_size.filter(|&m| m < 1 << 30).and_then(|m| {
        let (_r, w) = fresh()?;
        Some(rustix::pipe::fcntl_setpipe_size(&w, 2 * m).map_err(|e| e.raw_os_error()))
    });
    Pipes {
        max_size,
        default_capacity,
        one_mib,
        above_max,
    }
}

// ------------------------------------------------------------------------------------------
// Filesystems.

static TEMP_SEQ: AtomicU32 = AtomicU32::new(0);

/// A new empty file in `dir`, already unlinked (nothing to clean up, even after a crash
/// between the two calls only a zero-byte `.fdcopy-probe-*` file could remain).
pub fn temp_file_in(dir: &Path) -> io::Result<File> {
    let name = format!(
        ".fdcopy-probe-{}-{}",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let f = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

pub fn temp_file_with(dir: &Path, data: &[u8]) -> io::Result<File> {
    let mut f = temp_file_in(dir)?;
    f.write_all(data)?;
    f.rewind()?;
    Ok(f)
}

fn fs_type_name(path: &Path) -> String {
    let Ok(st) = rustix::fs::statfs(path) else {
        return "unknown".into();
    };
    let name = match st.f_type as u64 {
        0xEF53 => "ext4",
        0x0102_1994 => "tmpfs",
        0x9123_683E => "btrfs",
        0x5846_5342 => "xfs",
        0x794C_7630 => "overlay",
        0x6969 => "nfs",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x6573_5546 => "fuse",
        0x0102_1997 => "9p",
        0xFF53_4D42 => "cifs",
        0x4D44 => "vfat",
        0x5346_544E => "ntfs",
        other => return format!("0x{other:x}"),
    };
    name.into()
}

pub struct Filesystems {
    pub temp_dir: PathBuf,
    pub temp_fs: String,
    pub shm_fs: Option<String>,
    /// copy_file_range between two files of the temp dir: bytes copied, or the errno.
    pub cfr_same: Result<u64, String>,
    /// copy_file_range from the temp dir to /dev/shm.
    pub cfr_cross: Result<u64, String>,
    /// FICLONE within the temp dir.
    pub reflink: Result<(), String>,
}

/// `copy_file_range` of `data.len()` bytes from a new file in `from` to one in `to`, checking
/// the bytes that arrived.
fn cfr_between(from: &Path, to: &Path, data: &[u8]) -> Result<u64, String> {
    let src = temp_file_with(from, data).map_err(|e| format!("setup: {e}"))?;
    let mut dst = temp_file_in(to).map_err(|e| format!("setup: {e}"))?;
    let mut done = 0u64;
    while (done as usize) < data.len() {
        match rustix::fs::copy_file_range(&src, None, &dst, None, data.len() - done as usize) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(errno_name(e.raw_os_error())),
        }
    }
    let mut back = Vec::new();
    dst.rewind()
        .and_then(|_| dst.read_to_end(&mut back))
        .map_err(|e| e.to_string())?;
    if back != data {
        return Err(format!("bytes differ after {done} bytes copied"));
    }
    Ok(done)
}

fn filesystems() -> Filesystems {
    let temp_dir = std::env::temp_dir();
    let shm = Path::new("/dev/shm");
    let data = payload(256 << 10, 7);
    let shm_ok = shm.is_dir();
    let same_dev = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev(),
        _ => false,
    };
    let cfr_cross = if !shm_ok {
        Err("n/a (no /dev/shm)".into())
    } else if same_dev(&temp_dir, shm) {
        Err("n/a (same filesystem)".into())
    } else {
        cfr_between(&temp_dir, shm, &data)
    };
    let reflink = (|| {
        let src = temp_file_with(&temp_dir, &data).map_err(|e| format!("setup: {e}"))?;
        let dst = temp_file_in(&temp_dir).map_err(|e| format!("setup: {e}"))?;
        rustix::fs::ioctl_ficlone(&dst, &src).map_err(|e| errno_name(e.raw_os_error()))
    })();
    Filesystems {
        temp_fs: fs_type_name(&temp_dir),
        shm_fs: shm_ok.then(|| fs_type_name(shm)),
        cfr_same: cfr_between(&temp_dir, &temp_dir, &data),
        cfr_cross,
        reflink,
        temp_dir,
    }
}

// ------------------------------------------------------------------------------------------
// io_uring (fdcopy does not use it; reported because sandboxes that deny it often deny more).

pub struct IoUring {
    /// `/proc/sys/kernel/io_uring_disabled` (kernels ≥ 6.6): 0 enabled, 1 restricted to
    /// `io_uring_group`, 2 disabled.
    pub sysctl: Option<u32>,
    /// `io_uring_setup(0, NULL)`: EFAULT/EINVAL = present, ENOSYS = absent, EPERM = disabled.
    pub setup_errno: Option<i32>,
}

impl IoUring {
    pub fn status(&self) -> String {
        match self.setup_errno {
            Some(libc::EFAULT) | Some(libc::EINVAL) => match self.sysctl {
                Some(1) => "enabled for io_uring_group only".into(),
                _ => "enabled".into(),
            },
            Some(libc::ENOSYS) => "absent".into(),
            Some(libc::EPERM) => "disabled".into(),
            Some(e) => format!("unexpected ({})", errno_name(e)),
            None => "enabled".into(),
        }
    }
}

fn io_uring() -> IoUring {
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    // SAFETY: a NULL params pointer: the kernel fails with EFAULT (or EPERM/ENOSYS) before
    // creating anything. Should a kernel succeed anyway, the descriptor is closed below.
    let r = unsafe { libc::syscall(libc::SYS_io_uring_setup, 0u32, std::ptr::null_mut::<libc::c_void>()) };
    let setup_errno = if r == -1 {
        Some(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        // SAFETY: `r` is a descriptor the kernel just returned to us and nothing else owns.
        unsafe { libc::close(r as libc::c_int) };
        None
    };
    IoUring { sysctl, setup_errno }
}
