//! Filesystems (testing.md §3): file → file copies on ext4, tmpfs, xfs, btrfs, overlayfs and
//! FUSE (bindfs), within one mount (copy_file_range) and across mounts (EXDEV → sendfile),
//! with exact bytes and offsets every time; and btrfs's reflink, where copy_file_range finishes a
//! copy that the read/write loop cannot.
//!
//! Every mount is made from the test's own thread inside a private mount namespace
//! (`unshare(CLONE_NEWNS)`); commands spawned from that thread (mkfs, mount, bindfs) inherit
//! it, so nothing shows in the host's mount table and everything vanishes with the test. A
//! missing facility (no CAP_SYS_ADMIN, no loop device, no mkfs.xfs, no /dev/fuse) is a SKIP.
//! `.ci/fs-setup.sh` installs the Debian packages.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use fdcopy::{Copier, Strategy};
use fdcopy_testkit::payload;
use support::*;

const EXT4: i64 = 0xEF53;
const TMPFS: i64 = 0x0102_1994;
const XFS: i64 = 0x5846_5342;
const BTRFS: i64 = 0x9123_683E;
const OVERLAY: i64 = 0x794C_7630;
const FUSE: i64 = 0x6573_5546;

/// A file at `path` holding `data`, positioned at 0, synced.
fn file_at(path: &Path, data: &[u8]) -> File {
    let mut f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
    f.rewind().unwrap();
    f
}

fn new_file(path: &Path) -> File {
    File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap()
}

/// Copies `data` from a new file at `from` to a new file at `to` and checks bytes, count,
/// offsets and the strategy.
fn copy_between(from: &Path, to: &Path, data: &[u8], want: Strategy, what: &str) {
    let mut src = file_at(from, data);
    let mut dst = new_file(to);
    let r = Copier::new()
        .copy(&mut src, &mut dst)
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(r.written(), data.len() as u64, "{what}");
    assert_eq!(r.strategy(), want, "{what}: {r:?}");
    assert_eq!(r.bytes_by(want), data.len() as u64, "{what}: {r:?}");
    same_bytes(&std::fs::read(to).unwrap(), data, what);
    assert_eq!(offset(src.as_fd()), data.len() as u64, "{what}: source offset");
    assert_eq!(offset(dst.as_fd()), data.len() as u64, "{what}: destination offset");
    eprintln!("INFO {what}: {} bytes by {want}", data.len());
}

/// Within the filesystem mounted at `m` (`within`: copy_file_range, or FICLONE where the
/// filesystem reflinks), then out of it to `$TMPDIR` and, with `back`, in from it (EXDEV between
/// superblocks: sendfile).
fn within_and_across(m: &Path, name: &str, data: &[u8], back: bool, within: Strategy) {
    copy_between(&m.join("a"), &m.join("b"), data, within, &format!("{name} -> {name}"));
    let tmp = tempfile::tempdir().unwrap();
    let out = format!("{name} -> $TMPDIR (EXDEV)");
    copy_between(&m.join("c"), &tmp.path().join("c"), data, Strategy::Sendfile, &out);
    if back {
        let into = format!("$TMPDIR -> {name} (EXDEV)");
        copy_between(&tmp.path().join("d"), &m.join("d"), data, Strategy::Sendfile, &into);
    }
}

fn dir_in(base: &Path, name: &str) -> PathBuf {
    let p = base.join(name);
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn ext4_and_tmpfs() {
    let data = payload(8 << 20, 71);
    let tmp = tempfile::tempdir().unwrap();
    let t = fs_type(tmp.path());
    if t == EXT4 {
        copy_between(
            &tmp.path().join("a"),
            &tmp.path().join("b"),
            &data,
            Strategy::CopyFileRange,
            "ext4 -> ext4",
        );
    } else {
        eprintln!("SKIP ext4_and_tmpfs/ext4: $TMPDIR is not ext4 (f_type {t:#x})");
    }
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_eq!(fs_type(shm.path()), TMPFS);
    copy_between(
        &shm.path().join("a"),
        &shm.path().join("b"),
        &data,
        Strategy::CopyFileRange,
        "tmpfs -> tmpfs",
    );
    if fs_type(tmp.path()) != TMPFS {
        copy_between(
            &shm.path().join("c"),
            &tmp.path().join("c"),
            &data,
            Strategy::Sendfile,
            "tmpfs -> $TMPDIR (EXDEV)",
        );
        copy_between(
            &tmp.path().join("d"),
            &shm.path().join("d"),
            &data,
            Strategy::Sendfile,
            "$TMPDIR -> tmpfs (EXDEV)",
        );
    }
}

#[test]
fn xfs() {
    let fs = match loop_fs("mkfs.xfs", 300 << 20) {
        Ok(fs) => fs,
        Err(why) => skip!("{why}"),
    };
    let m = &fs.mount.path;
    assert_eq!(fs_type(m), XFS, "the mount is visible from this thread");
    let data = payload(8 << 20, 72);
    within_and_across(m, "xfs", &data, true, Strategy::Clone);
    // Two xfs filesystems: the same type, different superblocks.
    match loop_fs("mkfs.xfs", 300 << 20) {
        Ok(other) => copy_between(
            &m.join("e"),
            &other.mount.path.join("e"),
            &data,
            Strategy::Sendfile,
            "xfs -> another xfs (EXDEV)",
        ),
        Err(why) => eprintln!("SKIP xfs/two filesystems: {why}"),
    }
}

#[test]
fn btrfs() {
    let fs = match loop_fs("mkfs.btrfs", 128 << 20) {
        Ok(fs) => fs,
        Err(why) => skip!("{why}"),
    };
    let m = &fs.mount.path;
    assert_eq!(fs_type(m), BTRFS);
    let data = payload(8 << 20, 73);
    within_and_across(m, "btrfs", &data, false, Strategy::Clone);
    for f in ["a", "b", "c"] {
        std::fs::remove_file(m.join(f)).unwrap();
    }
}

/// btrfs reflinks: on a filesystem with less free space than the file, copy_file_range
/// completes (the copy shares extents) where the read/write loop runs out of space.
#[test]
fn btrfs_reflink_succeeds_where_the_loop_cannot() {
    let fs = match loop_fs("mkfs.btrfs", 128 << 20) {
        Ok(fs) => fs,
        Err(why) => skip!("{why}"),
    };
    let m = &fs.mount.path;
    let data = payload(30 << 20, 74);
    let mut src = file_at(&m.join("src"), &data);
    sh(Command::new("sync").arg("-f").arg(m)).unwrap();
    let avail = fs_avail(m);
    eprintln!("INFO btrfs: {} MB free with the 30 MB source on it", avail >> 20);
    if avail >= data.len() as u64 {
        skip!("{avail} bytes free: not a space-starved filesystem");
    }
    let mut dst = new_file(&m.join("reflink"));
    // copy_file_range (the FICLONE a whole-file copy tries first denied): it shares extents.
    let r = Copier::new().deny(Strategy::Clone).copy(&mut src, &mut dst).unwrap();
    assert_eq!(r.strategy(), Strategy::CopyFileRange, "{r:?}");
    assert_eq!(r.written(), data.len() as u64);
    same_bytes(&std::fs::read(m.join("reflink")).unwrap(), &data, "btrfs reflink");
    assert_eq!(offset(dst.as_fd()), data.len() as u64);
    // And FICLONE, what a whole-file copy does by default.
    src.rewind().unwrap();
    let mut cloned = new_file(&m.join("ficlone"));
    let r = Copier::new().copy(&mut src, &mut cloned).unwrap();
    assert_eq!(r.strategy(), Strategy::Clone, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::Clone), data.len() as u64);
    same_bytes(&std::fs::read(m.join("ficlone")).unwrap(), &data, "btrfs FICLONE");
    assert_eq!(offset(cloned.as_fd()), data.len() as u64);
    assert_eq!(offset(src.as_fd()), data.len() as u64);

    // The control: the same copy through the loop needs the space and fails.
    src.rewind().unwrap();
    let mut dst2 = new_file(&m.join("loop"));
    let e = Copier::new()
        .deny(Strategy::Clone)
        .deny(Strategy::CopyFileRange)
        .deny(Strategy::Sendfile)
        .copy(&mut src, &mut dst2)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e:?}");
    assert!(e.written() < data.len() as u64);
    is_prefix(&std::fs::read(m.join("loop")).unwrap(), &data, "btrfs loop copy");
    eprintln!(
        "INFO btrfs: copy_file_range copied 30 MB, the loop hit ENOSPC after {} MB",
        e.written() >> 20
    );
}

#[test]
fn overlayfs() {
    if let Err(why) = private_mount_ns() {
        skip!("{why}");
    }
    let base = tempfile::tempdir().unwrap();
    let (lower, upper, work) = (
        dir_in(base.path(), "lower"),
        dir_in(base.path(), "upper"),
        dir_in(base.path(), "work"),
    );
    let data = payload(8 << 20, 75);
    file_at(&lower.join("from-lower"), &data);
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let mount = match private_mount(Command::new("mount").args(["-t", "overlay", "overlay", "-o", &opts])) {
        Ok(m) => m,
        Err(why) => skip!("overlay mount: {why}"),
    };
    let m = &mount.path;
    assert_eq!(fs_type(m), OVERLAY);
    copy_between(
        &m.join("a"),
        &m.join("b"),
        &data,
        Strategy::CopyFileRange,
        "overlay -> overlay",
    );
    // A file of the lower layer, read through the overlay into a new file of the upper layer.
    let mut low = File::open(m.join("from-lower")).unwrap();
    let mut dst = new_file(&m.join("copy-of-lower"));
    let r = Copier::new().copy(&mut low, &mut dst).unwrap();
    assert_eq!(r.strategy(), Strategy::CopyFileRange, "{r:?}");
    same_bytes(
        &std::fs::read(m.join("copy-of-lower")).unwrap(),
        &data,
        "overlay lower -> upper",
    );
    let tmp = tempfile::tempdir().unwrap();
    let t = fs_type(tmp.path());
    copy_between(
        &m.join("c"),
        &tmp.path().join("c"),
        &data,
        Strategy::Sendfile,
        "overlay -> $TMPDIR (EXDEV)",
    );
    eprintln!("INFO overlay upper dir on f_type {t:#x}");
}

#[test]
fn fuse_bindfs() {
    if !Path::new("/dev/fuse").exists() {
        skip!("no /dev/fuse");
    }
    if Command::new("bindfs").arg("--version").output().is_err() {
        skip!("bindfs not installed (run .ci/fs-setup.sh)");
    }
    if let Err(why) = private_mount_ns() {
        skip!("{why}");
    }
    let back = tempfile::tempdir().unwrap();
    let mount = match private_mount(Command::new("bindfs").arg(back.path())) {
        Ok(m) => m,
        Err(why) => skip!("bindfs: {why}"),
    };
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // Ends the bindfs daemon (the Mount guard's lazy unmount would too).
            let _ = sh(Command::new("fusermount").arg("-u").arg(&self.0));
        }
    }
    let _unmount = Unmount(mount.path.clone());
    let m = &mount.path;
    assert_eq!(fs_type(m), FUSE);
    let data = payload(8 << 20, 76);
    within_and_across(m, "bindfs", &data, true, Strategy::CopyFileRange);
    // The bytes really went through FUSE to the backing directory.
    same_bytes(
        &std::fs::read(back.path().join("b")).unwrap(),
        &data,
        "bindfs backing file",
    );
}
