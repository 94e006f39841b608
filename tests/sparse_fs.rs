//! Sparse and reflink copies on real filesystems (file-copy.md §5.4): tmpfs, ext4, xfs and btrfs
//! (loop images on tmpfs, so no disk I/O), and the pairs tmpfs → ext4 and ext4 → xfs, all in a
//! private mount namespace of the test's thread. Content is compared byte for byte; allocation
//! is `st_blocks` after the destination is closed (XFS keeps speculative preallocation past
//! close, trap 2), and must not exceed the source's plus one block; what is shared (reflinked)
//! or preallocated is read with FIEMAP.
//!
//! A missing facility (mkfs tool, loop device, CAP_SYS_ADMIN) is a printed SKIP;
//! `.ci/fs-setup.sh` installs the tools.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::{self, File};
use std::io::{Read, Seek};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use fdcopy::{Copier, Reflink, Report, Strategy};
use fdcopy_testkit::fs::{self as fiemap, FIEMAP_EXTENT_SHARED, FIEMAP_EXTENT_UNWRITTEN};
use fdcopy_testkit::payload;
use support::*;

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;
/// The study's layout (1 GiB with 8 × 1 MiB of data at 1 MiB + k · 128 MiB) scaled to 64 MiB:
/// 8 × 1 MiB at 1 MiB + k · 7 MiB, a 1 MiB leading hole, a 6 MiB trailing one.
const SIZE: u64 = 64 * MIB;
const DATA: u64 = 8 * MIB;

fn extents() -> Vec<(u64, u64)> {
    (0..8).map(|k| (MIB + k * 7 * MIB, MIB)).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fs {
    Tmpfs,
    Ext4,
    Xfs,
    Btrfs,
}

impl Fs {
    fn reflinks(self) -> bool {
        matches!(self, Fs::Xfs | Fs::Btrfs)
    }
}

/// A mounted filesystem of this kind, private to the thread.
enum Mounted {
    Tmpfs(Mount),
    Loop(LoopFs),
}

impl Mounted {
    fn path(&self) -> &Path {
        match self {
            Mounted::Tmpfs(m) => &m.path,
            Mounted::Loop(l) => &l.mount.path,
        }
    }
}

fn mount(fs: Fs) -> Result<Mounted, String> {
    let images = Path::new("/dev/shm");
    let images = if images.is_dir() {
        images.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    match fs {
        Fs::Tmpfs => private_tmpfs("512m").map(Mounted::Tmpfs),
        Fs::Ext4 => loop_fs_in("mkfs.ext4", 512 * MIB, &images).map(Mounted::Loop),
        Fs::Xfs => loop_fs_in("mkfs.xfs", 512 * MIB, &images).map(Mounted::Loop),
        Fs::Btrfs => loop_fs_in("mkfs.btrfs", 512 * MIB, &images).map(Mounted::Loop),
    }
}

/// The sparse source at `path`, synced; its content.
fn source(path: &Path, seed: u64) -> Vec<u8> {
    let f = File::create(path).unwrap();
    f.set_len(SIZE).unwrap();
    let mut want = vec![0u8; SIZE as usize];
    for (i, (at, len)) in extents().into_iter().enumerate() {
        let bytes = payload(len as usize, seed * 10 + i as u64);
        f.write_all_at(&bytes, at).unwrap();
        want[at as usize..(at + len) as usize].copy_from_slice(&bytes);
    }
    f.sync_all().unwrap();
    want
}

fn open_rw(path: &Path) -> File {
    File::options().read(true).write(true).open(path).unwrap()
}

fn create(path: &Path) -> File {
    File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap()
}

/// `st_blocks` after the destination was synced and closed.
fn blocks_after_close(path: &Path) -> u64 {
    File::open(path).unwrap().sync_all().unwrap();
    fs::metadata(path).unwrap().blocks()
}

/// The allocation rule: the destination's blocks at most the source's plus one block.
fn check_blocks(src: &Path, dst: &Path, what: &str) -> u64 {
    let (s, d) = (blocks_after_close(src), blocks_after_close(dst));
    let block = fs::metadata(dst).unwrap().blksize() / 512;
    assert!(
        d <= s + block,
        "{what}: {} KiB allocated for a source of {} KiB",
        d / 2,
        s / 2
    );
    d
}

fn shared_bytes(path: &Path) -> Option<u64> {
    fiemap::extents(&File::open(path).unwrap())
        .ok()
        .map(|e| fiemap::bytes_with(&e, FIEMAP_EXTENT_SHARED))
}

/// One copy with `copier` from `from` into the new file `to`, checked: count, the report's
/// accounting (`data_by` moved the data, the rest holes, unless cloned), bytes, offsets, blocks.
fn checked(copier: &mut Copier<'_>, from: &Path, to: &Path, want: &[u8], data_by: Strategy, what: &str) -> Report {
    let mut src = File::open(from).unwrap();
    let mut dst = create(to);
    let r = copier
        .copy(&mut src, &mut dst)
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(r.written(), SIZE, "{what}: {r:?}");
    assert_eq!(r.strategy(), data_by, "{what}: {r:?}");
    if data_by == Strategy::Clone {
        assert_eq!(r.bytes_by(Strategy::Clone), SIZE, "{what}: {r:?}");
    } else {
        assert_eq!(r.bytes_by(data_by), DATA, "{what}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Hole), SIZE - DATA, "{what}: {r:?}");
    }
    assert_eq!(src.stream_position().unwrap(), SIZE, "{what}");
    assert_eq!(dst.stream_position().unwrap(), SIZE, "{what}");
    drop((src, dst));
    same_bytes(&fs::read(to).unwrap(), want, what);
    let d = check_blocks(from, to, what);
    eprintln!(
        "INFO {what}: {} KiB allocated for {} KiB of data, {} shared; {r:?}",
        d / 2,
        DATA / KIB,
        shared_bytes(to).map_or("FIEMAP n/a".into(), |n| format!("{} KiB", n / KIB))
    );
    r
}

/// Within one filesystem: the default whole-file copy (FICLONE where it can), a copy that is not
/// whole-file (`Take`: holes, extents by copy_file_range, which reflinks them on xfs/btrfs),
/// `Reflink::Never` (holes, sendfile, nothing shared), `copy_file`, a fallocated source.
fn within(fs: Fs) {
    let m = match mount(fs) {
        Ok(m) => m,
        Err(why) => skip!("{fs:?}: {why}"),
    };
    let dir = m.path();
    let name = format!("{fs:?}");
    let src = dir.join("src");
    let want = source(&src, 1);

    // The default, a whole file into a new one.
    let data_by = if fs.reflinks() {
        Strategy::Clone
    } else {
        Strategy::CopyFileRange
    };
    checked(
        &mut Copier::new(),
        &src,
        &dir.join("a"),
        &want,
        data_by,
        &format!("{name} whole file"),
    );
    if fs.reflinks() {
        assert_eq!(
            shared_bytes(&dir.join("a")),
            Some(DATA),
            "{name}: the clone shares every extent"
        );
    }

    // Not a whole file (a limit): the walk, each extent by copy_file_range.
    {
        let mut s = File::open(&src).unwrap();
        let mut d = create(&dir.join("b"));
        let mut take = (&mut s).take(SIZE);
        let r = Copier::new().copy(&mut take, &mut d).unwrap();
        assert_eq!(r.written(), SIZE);
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), DATA, "{name}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Hole), SIZE - DATA, "{name}: {r:?}");
        drop((s, d));
        same_bytes(&fs::read(dir.join("b")).unwrap(), &want, &name);
        check_blocks(&src, &dir.join("b"), &format!("{name} extents by copy_file_range"));
        if fs.reflinks() {
            assert_eq!(
                shared_bytes(&dir.join("b")),
                Some(DATA),
                "{name}: copy_file_range reflinked the extents"
            );
        }
    }

    // Reflink::Never: fresh blocks, holes still holes.
    checked(
        &mut Copier::new().reflink(Reflink::Never),
        &src,
        &dir.join("c"),
        &want,
        Strategy::Sendfile,
        &format!("{name} Reflink::Never"),
    );
    if let Some(shared) = shared_bytes(&dir.join("c")) {
        assert_eq!(shared, 0, "{name}: Reflink::Never shared extents");
    }

    // The path level.
    let n = fdcopy::copy_file(&src, dir.join("d")).unwrap();
    assert_eq!(n, SIZE);
    same_bytes(&fs::read(dir.join("d")).unwrap(), &want, &name);
    check_blocks(&src, &dir.join("d"), &format!("{name} copy_file"));

    // A fallocated source: preallocated (unwritten) ranges read as zeros and are holes to
    // SEEK_DATA; the copy keeps the content, not the preallocation (as cp).
    let pre = dir.join("prealloc");
    let want_pre = source(&pre, 2);
    let f = open_rw(&pre);
    rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::KEEP_SIZE, 30 * MIB, 4 * MIB).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let mut s = File::open(&pre).unwrap();
    let mut d = create(&dir.join("e"));
    let r = Copier::new().reflink(Reflink::Never).copy(&mut s, &mut d).unwrap();
    assert_eq!(r.written(), SIZE, "{name}: {r:?}");
    drop((s, d));
    same_bytes(
        &fs::read(dir.join("e")).unwrap(),
        &want_pre,
        &format!("{name} fallocated source"),
    );
    let (sb, db) = (blocks_after_close(&pre), blocks_after_close(&dir.join("e")));
    assert!(
        db + 4 * MIB / 512 <= sb + 8,
        "{name}: the preallocation was copied ({db} vs {sb} blocks)"
    );
    eprintln!(
        "INFO {name} fallocated source: {} KiB allocated, copy {} KiB",
        sb / 2,
        db / 2
    );
}

#[test]
fn tmpfs() {
    within(Fs::Tmpfs);
}

#[test]
fn ext4() {
    within(Fs::Ext4);
}

#[test]
fn xfs() {
    within(Fs::Xfs);
}

#[test]
fn btrfs() {
    within(Fs::Btrfs);
}

/// Across filesystems (EXDEV): FICLONE and copy_file_range decline, each extent goes by
/// sendfile. ext4 → xfs is the preallocation trap: per-extent writes into XFS left 15.5 MiB for
/// 8 MiB of data with cp 9.1; sizing the file first leaves the data's blocks only, and no
/// unwritten extent after them.
fn across(from: Fs, to: Fs) {
    let (a, b) = match (mount(from), mount(to)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => skip!("{from:?} -> {to:?}: {why}"),
    };
    let what = format!("{from:?} -> {to:?}");
    let src = a.path().join("src");
    let want = source(&src, 3);
    checked(
        &mut Copier::new(),
        &src,
        &b.path().join("copy"),
        &want,
        Strategy::Sendfile,
        &what,
    );
    if let Ok(exts) = fiemap::extents(&File::open(b.path().join("copy")).unwrap()) {
        assert_eq!(
            fiemap::bytes_with(&exts, FIEMAP_EXTENT_UNWRITTEN),
            0,
            "{what}: preallocated extents {exts:?}"
        );
    }
    // For the record: std's copy, and cp's (9.1 writes each extent, with no ftruncate first).
    let n = fs::copy(&src, b.path().join("std")).unwrap();
    eprintln!(
        "INFO {what}: std::fs::copy wrote {} MiB, {} KiB allocated",
        n / MIB,
        blocks_after_close(&b.path().join("std")) / 2
    );
    let cp = b.path().join("cp");
    if sh(Command::new("cp")
        .args(["--sparse=auto", "--reflink=never"])
        .arg(&src)
        .arg(&cp))
    .is_ok()
    {
        same_bytes(&fs::read(&cp).unwrap(), &want, "cp");
        let unwritten =
            fiemap::extents(&File::open(&cp).unwrap()).map_or(0, |e| fiemap::bytes_with(&e, FIEMAP_EXTENT_UNWRITTEN));
        eprintln!(
            "INFO {what}: cp --sparse=auto: {} KiB allocated ({} KiB unwritten)",
            blocks_after_close(&cp) / 2,
            unwritten / KIB
        );
    }
}

#[test]
fn tmpfs_to_ext4() {
    across(Fs::Tmpfs, Fs::Ext4);
}

#[test]
fn ext4_to_xfs() {
    across(Fs::Ext4, Fs::Xfs);
}

/// `Reflink::Always`: on ext4 an error (EOPNOTSUPP) with the destination untouched; on xfs a
/// clone.
#[test]
fn reflink_always() {
    for fs in [Fs::Ext4, Fs::Xfs] {
        let m = match mount(fs) {
            Ok(m) => m,
            Err(why) => {
                eprintln!("SKIP reflink_always/{fs:?}: {why}");
                continue;
            }
        };
        let src = m.path().join("src");
        let want = source(&src, 4);
        let dst = m.path().join("dst");
        let mut s = File::open(&src).unwrap();
        let mut d = create(&dst);
        let r = Copier::new().reflink(Reflink::Always).copy(&mut s, &mut d);
        match fs {
            Fs::Ext4 => {
                let e = r.unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP), "{e:?}");
                assert_eq!(e.written(), 0);
                assert_eq!(fs::metadata(&dst).unwrap().len(), 0, "untouched");
                assert_eq!((s.stream_position().unwrap(), d.stream_position().unwrap()), (0, 0));
                eprintln!("INFO Reflink::Always on ext4: {e}");
            }
            _ => {
                let r = r.unwrap();
                assert_eq!(r.strategy(), Strategy::Clone, "{r:?}");
                assert_eq!(r.bytes_by(Strategy::Clone), SIZE);
                drop((s, d));
                same_bytes(&fs::read(&dst).unwrap(), &want, "xfs Always");
                assert_eq!(shared_bytes(&dst), Some(DATA));
            }
        }
    }
}

/// A btrfs NOCOW destination (`chattr +C`): FICLONE refuses it (EINVAL) and copy_file_range
/// would copy the whole file in the kernel, holes filled (measured 1024 MiB for 8 MiB of data);
/// the walk copies the data only.
#[test]
fn btrfs_nocow_destination() {
    let m = match mount(Fs::Btrfs) {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    let src = m.path().join("src");
    let want = source(&src, 5);
    let dst = m.path().join("nocow");
    drop(create(&dst));
    if let Err(why) = sh(Command::new("chattr").arg("+C").arg(&dst)) {
        skip!("chattr +C: {why}");
    }
    let mut s = File::open(&src).unwrap();
    let mut d = open_rw(&dst);
    let r = Copier::new().copy(&mut s, &mut d).unwrap();
    assert_eq!(r.written(), SIZE, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::Clone), 0, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::CopyFileRange), DATA, "data only: {r:?}");
    assert_eq!(r.bytes_by(Strategy::Hole), SIZE - DATA, "{r:?}");
    drop((s, d));
    same_bytes(&fs::read(&dst).unwrap(), &want, "btrfs NOCOW");
    let b = check_blocks(&src, &dst, "btrfs NOCOW destination");
    eprintln!("INFO btrfs NOCOW destination: {} KiB allocated; {r:?}", b / 2);
}

/// The destination and the source of one loop image seen through two bind mounts: still one
/// filesystem, FICLONE works (6.18), the holes stay.
#[test]
fn xfs_through_two_bind_mounts() {
    let m = match mount(Fs::Xfs) {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    let sub = m.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let bind = match private_mount(Command::new("mount").arg("--bind").arg(&sub)) {
        Ok(b) => b,
        Err(why) => skip!("bind mount: {why}"),
    };
    let src = m.path().join("src");
    let want = source(&src, 6);
    let to: PathBuf = bind.path.join("copy");
    let mut s = File::open(&src).unwrap();
    let mut d = create(&to);
    let r = Copier::new().copy(&mut s, &mut d).unwrap();
    assert_eq!(r.written(), SIZE);
    assert!(
        matches!(r.strategy(), Strategy::Clone | Strategy::CopyFileRange),
        "{r:?}"
    );
    drop((s, d));
    same_bytes(&fs::read(sub.join("copy")).unwrap(), &want, "xfs bind mounts");
    check_blocks(&src, &to, "xfs bind mounts");
    eprintln!("INFO xfs across two bind mounts: {r:?}");
}
