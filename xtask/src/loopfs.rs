//! Filesystems for the probe and the bench: a private tmpfs, and ext4, xfs and btrfs on loop
//! images that live on tmpfs (`/dev/shm`), so no byte reaches a disk. Every mount is made in a
//! private mount namespace of the calling thread (`unshare(CLONE_NEWNS)`, then `/` made
//! private): nothing shows in the host's mount table, and commands spawned from that thread
//! (mkfs, mount, cp) see the same mounts. Dropping a [`Mounted`] unmounts it and deletes its
//! image. Without root (CAP_SYS_ADMIN), a loop device or the mkfs tool, the functions return
//! the reason instead (`.ci/fs-setup.sh` installs xfsprogs and btrfs-progs).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fdcopy_testkit::fs;

/// The kinds of filesystem `mount` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tmpfs,
    Ext4,
    Xfs,
    Btrfs,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tmpfs => "tmpfs",
            Kind::Ext4 => "ext4",
            Kind::Xfs => "xfs",
            Kind::Btrfs => "btrfs",
        }
    }

    fn mkfs(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::Tmpfs => None,
            Kind::Ext4 => Some(("mkfs.ext4", "-F")),
            Kind::Xfs => Some(("mkfs.xfs", "-f")),
            Kind::Btrfs => Some(("mkfs.btrfs", "-f")),
        }
    }
}

/// A mounted filesystem, private to the thread that made it.
pub struct Mounted {
    pub path: PathBuf,
    image: Option<PathBuf>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Ok(c) = cstr(&self.path) {
            // SAFETY: a valid C string; detaching a mount of this thread's namespace.
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
        let _ = std::fs::remove_dir(&self.path);
        if let Some(img) = &self.image {
            let _ = std::fs::remove_file(img);
        }
    }
}

fn cstr(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())
}

/// Gives the calling thread a private mount namespace (once per thread; the test kit's).
pub fn private_namespace() -> Result<(), String> {
    fs::private_mount_ns().map_err(|e| format!("cannot make a private mount namespace ({e}; needs root)"))
}

/// Runs `cmd` quietly; an error carries its status and stderr.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?}: {}: {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn fresh_dir(base: &Path, what: &str) -> io::Result<PathBuf> {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = base.join(format!(".fdcopy-{what}-{}-{n}", std::process::id()));
    std::fs::create_dir(&p)?;
    Ok(p)
}

/// Where images go: tmpfs if there is one.
fn image_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A filesystem of `kind` and `size` bytes (a tmpfs, or a sparse image on tmpfs made by
/// `mkfs.*` and loop-mounted), in this thread's private namespace.
pub fn mount(kind: Kind, size: u64) -> Result<Mounted, String> {
    if let Some((mkfs, _)) = kind.mkfs() {
        if Command::new(mkfs).arg("-V").output().is_err() {
            return Err(format!("{mkfs} not installed (.ci/fs-setup.sh installs it)"));
        }
        if !Path::new("/dev/loop-control").exists() {
            return Err("no /dev/loop-control (no loop devices)".into());
        }
    }
    private_namespace()?;
    let base = image_dir();
    let path = fresh_dir(&base, kind.name()).map_err(|e| format!("mount point: {e}"))?;
    let mut m = Mounted {
        path: path.clone(),
        image: None,
    };
    match kind.mkfs() {
        None => {
            run(Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(&path))?;
        }
        Some((mkfs, force)) => {
            let img = path.with_extension("img");
            File::create(&img)
                .and_then(|f| f.set_len(size))
                .map_err(|e| format!("image: {e}"))?;
            m.image = Some(img.clone());
            run(Command::new(mkfs).args(["-q", force]).arg(&img))?;
            // discard: space freed in the filesystem is freed in the image on tmpfs too.
            let opts = if kind == Kind::Btrfs { "loop" } else { "loop,discard" };
            run(Command::new("mount").args(["-o", opts]).arg(&img).arg(&path))?;
        }
    }
    Ok(m)
}

/// The filesystem type of a path, by name.
pub fn fs_name(path: &Path) -> String {
    let Ok(st) = rustix::fs::statfs(path) else {
        return "unknown".into();
    };
    match st.f_type as u64 {
        0xEF53 => "ext4".into(),
        0x0102_1994 => "tmpfs".into(),
        0x9123_683E => "btrfs".into(),
        0x5846_5342 => "xfs".into(),
        0x794C_7630 => "overlay".into(),
        0x2FC1_2FC1 => "zfs".into(),
        0x6573_5546 => "fuse".into(),
        0x6969 => "nfs".into(),
        other => format!("0x{other:x}"),
    }
}

/// Bytes of `f` in extents FIEMAP flags as shared (reflinked); `None` where FIEMAP is not
/// supported (tmpfs).
pub fn shared_bytes(f: &File) -> Option<u64> {
    fiemap_bytes(f, fs::FIEMAP_EXTENT_SHARED)
}

/// Bytes of `f` in unwritten (preallocated) extents, where FIEMAP works.
pub fn unwritten_bytes(f: &File) -> Option<u64> {
    fiemap_bytes(f, fs::FIEMAP_EXTENT_UNWRITTEN)
}

fn fiemap_bytes(f: &File, flag: u32) -> Option<u64> {
    fs::extents(f).ok().map(|e| fs::bytes_with(&e, flag))
}
