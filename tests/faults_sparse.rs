//! Faults injected into the calls of sparse and reflink copies with seccomp (testing.md §2):
//! `lseek(SEEK_DATA / SEEK_HOLE)` → EINVAL, `FICLONE` → EPERM, `fallocate` → EOPNOTSUPP,
//! `ftruncate` → EPERM. Each must end in a correct copy (the dense steps of the plan take over)
//! with exact counts and offsets, as `table::verdict` says. Filters that match one descriptor
//! number (or one `lseek` whence) run on the test's own thread (Pattern A: the probe with fd -1
//! does not match them, so nothing is remembered for the process); whole-syscall ENOSYS/EPERM,
//! which the engine remembers, run in re-exec'd children (Pattern B).
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use fdcopy::table::{plan, verdict, Facts, FdKind, Syscall, Verdict};
use fdcopy::{Copier, Report, Strategy};
use fdcopy_testkit::payload;
use support::seccomp::{self, Rule};
use support::*;

const MIB: u64 = 1 << 20;
const SIZE: u64 = 32 * MIB;
const EXTENTS: [(u64, u64); 3] = [(MIB, MIB), (10 * MIB, MIB), (20 * MIB, 2 * MIB)];
const DATA: u64 = 4 * MIB;

fn seccomp_works() -> Result<(), String> {
    bounded("probe", Duration::from_secs(30), || {
        seccomp::install(&[Rule::all(libc::SYS_getppid, libc::EPERM)], false).map_err(|e| e.to_string())?;
        // SAFETY: getppid has no arguments and no side effects.
        let r = unsafe { libc::syscall(libc::SYS_getppid) };
        if r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
            Ok(())
        } else {
            Err("the filter did not apply".into())
        }
    })
}

/// A sparse source in `dir` (positioned at 0) and its content.
fn sparse_source(dir: &Path, seed: u64) -> (File, Vec<u8>) {
    let path = dir.join(format!("src-{seed}"));
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap();
    f.set_len(SIZE).unwrap();
    let mut want = vec![0u8; SIZE as usize];
    for (i, &(at, len)) in EXTENTS.iter().enumerate() {
        let bytes = payload(len as usize, seed * 10 + i as u64);
        f.write_all_at(&bytes, at).unwrap();
        want[at as usize..(at + len) as usize].copy_from_slice(&bytes);
    }
    f.sync_all().unwrap();
    (f, want)
}

/// `f` moved to descriptor number `fd` (so that a filter can match it alone).
fn at_fd(f: File, fd: i32) -> File {
    // SAFETY: dup2 onto a number this process does not use; the new descriptor is owned below.
    unsafe {
        assert_eq!(libc::dup2(f.as_raw_fd(), fd), fd);
        File::from(OwnedFd::from_raw_fd(fd))
    }
}

fn pos(f: &File) -> u64 {
    rustix::fs::seek(f, rustix::fs::SeekFrom::Current(0)).unwrap()
}

/// The copy must be exact: count, bytes, both offsets.
fn exact(r: &Report, src: &File, dst: &File, want: &[u8], what: &str) {
    assert_eq!(r.written(), want.len() as u64, "{what}: {r:?}");
    same_bytes(&file_bytes(dst), want, what);
    assert_eq!(
        (pos(src), pos(dst)),
        (want.len() as u64, want.len() as u64),
        "{what}: offsets"
    );
}

fn places() -> Vec<tempfile::TempDir> {
    let mut v = vec![tempfile::tempdir().unwrap()];
    if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
        v.push(shm);
    }
    v
}

/// The table's word on the new calls' injected errnos: a decline, so the next step copies.
#[test]
fn the_rule_declines_these_faults() {
    assert_eq!(verdict(Syscall::SeekData, libc::EINVAL, 0), Verdict::Decline);
    assert_eq!(verdict(Syscall::SeekData, libc::EINVAL, MIB), Verdict::Decline);
    assert_eq!(verdict(Syscall::Ficlone, libc::EPERM, 0), Verdict::MaybeDenied);
    assert_eq!(verdict(Syscall::Fallocate, libc::EOPNOTSUPP, MIB), Verdict::Decline);
    assert_eq!(verdict(Syscall::Ftruncate, libc::EPERM, 0), Verdict::MaybeDenied);
}

/// `SEEK_DATA` refused at the first call: the walk declines before touching anything and the
/// copy is dense (copy_file_range), as std's.
#[test]
fn seek_data_refused_gives_a_dense_copy() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    for d in places() {
        let (mut src, want) = sparse_source(d.path(), 1);
        let mut dst = tempfile::tempfile_in(d.path()).unwrap();
        seccomp::install(
            &[Rule::when(libc::SYS_lseek, libc::EINVAL, 2, libc::SEEK_DATA as u32)],
            false,
        )
        .unwrap();
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        exact(&r, &src, &dst, &want, "SEEK_DATA EINVAL");
        assert_eq!(r.bytes_by(Strategy::Hole), 0, "{r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), SIZE, "{r:?}");
        assert!(!fdcopy::__test::unavailable_syscalls().contains(Syscall::SeekData));
    }
}

/// `SEEK_HOLE` refused after the first `SEEK_DATA` worked: the leading hole is skipped, the
/// rest copied densely.
#[test]
fn seek_hole_refused_mid_walk_copies_the_rest_densely() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    let d = tempfile::tempdir().unwrap();
    let (mut src, want) = sparse_source(d.path(), 2);
    let mut dst = tempfile::tempfile_in(d.path()).unwrap();
    seccomp::install(
        &[Rule::when(libc::SYS_lseek, libc::EOPNOTSUPP, 2, libc::SEEK_HOLE as u32)],
        false,
    )
    .unwrap();
    let r = Copier::new().copy(&mut src, &mut dst).unwrap();
    exact(&r, &src, &dst, &want, "SEEK_HOLE EOPNOTSUPP");
    assert_eq!(r.bytes_by(Strategy::Hole), MIB, "the leading hole: {r:?}");
    assert_eq!(r.bytes_by(Strategy::CopyFileRange), SIZE - MIB, "{r:?}");
}

/// `fallocate` refused: holes over a destination's old bytes are copied densely instead of
/// punched; the bytes are std's result.
#[test]
fn fallocate_refused_copies_over_old_bytes_densely() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    for d in places() {
        let (mut src, want) = sparse_source(d.path(), 3);
        let old = payload((12 * MIB) as usize, 33);
        let mut dst = tempfile::tempfile_in(d.path()).unwrap();
        dst.write_all(&old).unwrap();
        dst.rewind().unwrap();
        seccomp::install(&[Rule::all(libc::SYS_fallocate, libc::EOPNOTSUPP)], false).unwrap();
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        exact(&r, &src, &dst, &want, "fallocate EOPNOTSUPP");
        // Holes below the old size (12 MiB) went through copy_file_range, past it skipped.
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), 12 * MIB + 2 * MIB, "{r:?}");
        assert_eq!(r.bytes_by(Strategy::Hole), SIZE - 14 * MIB, "{r:?}");
    }
}

/// `ftruncate` refused (a FUSE filesystem that will not extend a file): the walk declines
/// before any data, the copy is dense.
#[test]
fn ftruncate_refused_gives_a_dense_copy() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    let d = tempfile::tempdir().unwrap();
    let (mut src, want) = sparse_source(d.path(), 4);
    let mut dst = at_fd(tempfile::tempfile_in(d.path()).unwrap(), 902);
    seccomp::install(&[Rule::when(libc::SYS_ftruncate, libc::EPERM, 0, 902)], false).unwrap();
    let r = Copier::new().copy(&mut src, &mut dst).unwrap();
    exact(&r, &src, &dst, &want, "ftruncate EPERM");
    assert_eq!(r.bytes_by(Strategy::Hole), 0, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::CopyFileRange), SIZE, "{r:?}");
    // One descriptor's EPERM (the probe with fd -1 sees EBADF): not remembered.
    assert!(!fdcopy::__test::unavailable_syscalls().contains(Syscall::Ftruncate));
    let (mut src2, want2) = sparse_source(d.path(), 5);
    let mut dst2 = tempfile::tempfile_in(d.path()).unwrap();
    let r = Copier::new().copy(&mut src2, &mut dst2).unwrap();
    exact(&r, &src2, &dst2, &want2, "the next copy");
    assert_eq!(r.bytes_by(Strategy::Hole), SIZE - DATA, "holes again: {r:?}");
}

/// A dense file never asks for `SEEK_DATA`, `fallocate` or `ftruncate`: with all three failing
/// with EIO (a real error, were they called), its copies succeed.
#[test]
fn dense_files_never_call_the_sparse_syscalls() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    for d in places() {
        let data = payload((8 * MIB) as usize, 6);
        let mut src = tempfile::tempfile_in(d.path()).unwrap();
        src.write_all(&data).unwrap();
        src.rewind().unwrap();
        let mut dst = tempfile::tempfile_in(d.path()).unwrap();
        seccomp::install(
            &[
                Rule::when(libc::SYS_lseek, libc::EIO, 2, libc::SEEK_DATA as u32),
                Rule::when(libc::SYS_lseek, libc::EIO, 2, libc::SEEK_HOLE as u32),
                Rule::all(libc::SYS_fallocate, libc::EIO),
                Rule::all(libc::SYS_ftruncate, libc::EIO),
            ],
            false,
        )
        .unwrap();
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        exact(&r, &src, &dst, &data, "dense whole file");
        let mut dst = tempfile::tempfile_in(d.path()).unwrap();
        src.rewind().unwrap();
        let r = Copier::new().copy(&mut (&mut src).take(5 * MIB), &mut dst).unwrap();
        assert_eq!(r.written(), 5 * MIB);
        same_bytes(&file_bytes(&dst), &data[..5 * MIB as usize], "dense, limited");
    }
}

/// `FICLONE` refused for one destination (EPERM on fd 901) where it works (xfs): the copy falls
/// back (the walk, extents by copy_file_range), and nothing is remembered: the next copy clones.
/// Where the filesystem has no FICLONE (tmpfs) the fallback is checked the same way.
#[test]
fn ficlone_refused_falls_back_and_is_not_remembered() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    let images = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let fs = loop_fs_in("mkfs.xfs", 512 * MIB, images.path());
    let (dir, clones) = match &fs {
        Ok(fs) => (fs.mount.path.clone(), true),
        Err(why) => {
            eprintln!("SKIP ficlone_refused_falls_back_and_is_not_remembered/xfs: {why}; on tmpfs instead");
            (images.path().to_path_buf(), false)
        }
    };
    let (mut src, want) = sparse_source(&dir, 7);
    let dst_path = dir.join("dst");
    let dst = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&dst_path)
        .unwrap();
    let mut dst = at_fd(dst, 901);
    seccomp::install(&[Rule::when(libc::SYS_ioctl, libc::EPERM, 0, 901)], false).unwrap();
    let r = Copier::new().copy(&mut src, &mut dst).unwrap();
    exact(&r, &src, &dst, &want, "FICLONE EPERM");
    assert_eq!(r.bytes_by(Strategy::Clone), 0, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::CopyFileRange), DATA, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::Hole), SIZE - DATA, "{r:?}");
    assert!(!fdcopy::__test::unavailable_syscalls().contains(Syscall::Ficlone));
    src.rewind().unwrap();
    let mut other = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.join("other"))
        .unwrap();
    let r = Copier::new().copy(&mut src, &mut other).unwrap();
    exact(&r, &src, &other, &want, "the next copy");
    if clones {
        assert_eq!(r.strategy(), Strategy::Clone, "not remembered: {r:?}");
    }
    eprintln!("INFO FICLONE EPERM on one descriptor: fell back; the next copy: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Pattern B: errnos the engine remembers for the whole process.

#[test]
fn seek_data_enosys_is_remembered() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "seek-data-enosys", Duration::from_secs(60));
}

#[test]
fn ftruncate_denied_everywhere_is_remembered() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "ftruncate-eperm", Duration::from_secs(60));
}

/// The re-exec'd child's entry point; a no-op in a normal run.
#[test]
fn child() {
    let Some(case) = child_case() else { return };
    let d = tempfile::tempdir().unwrap();
    // Sources made before the filter (ftruncate builds them).
    let sources: Vec<(File, Vec<u8>)> = (10..13).map(|s| sparse_source(d.path(), s)).collect();
    let (rule, call) = match case.as_str() {
        "seek-data-enosys" => (
            Rule::when(libc::SYS_lseek, libc::ENOSYS, 2, libc::SEEK_DATA as u32),
            Syscall::SeekData,
        ),
        "ftruncate-eperm" => (Rule::all(libc::SYS_ftruncate, libc::EPERM), Syscall::Ftruncate),
        other => panic!("unknown child case {other}"),
    };
    seccomp::install(&[rule], true).expect("TSYNC filter");
    let mut sparse_facts = Facts::new(FdKind::File, FdKind::File);
    sparse_facts.src_sparse = true;
    for (i, (mut src, want)) in sources.into_iter().enumerate() {
        let mut dst = tempfile::tempfile_in(d.path()).unwrap();
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        exact(&r, &src, &dst, &want, &format!("{case} copy {i}"));
        assert_eq!(r.bytes_by(Strategy::Hole), 0, "{case} copy {i}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), SIZE, "{case} copy {i}: {r:?}");
        // Remembered after the first: the plan has no hole step any more.
        let unavailable = fdcopy::__test::unavailable_syscalls();
        assert!(unavailable.contains(call), "{case}: {unavailable:?}");
        sparse_facts.unavailable = unavailable;
        assert!(!plan(&sparse_facts).steps().contains(&Strategy::Hole));
    }
    fdcopy::__test::reset_syscall_availability();
    sparse_facts.unavailable = Default::default();
    assert_eq!(plan(&sparse_facts).first(), Strategy::Hole);
    println!("INFO {case}: declined, remembered, three dense copies exact");
    println!("CHILD-OK {case}");
}
