//! `fdcopy::copy_file`, the drop-in for `std::fs::copy`, against std itself: the same result,
//! bytes and permissions for every case std handles, the one deliberate difference (a file
//! copied onto itself is an error and stays intact), holes kept, progress with a total, and
//! `Reflink::Always` leaving the destination as it was when it cannot clone.
#![cfg(target_os = "linux")]

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use fdcopy::{Copier, Progress, Reflink, Strategy};
use fdcopy_testkit::payload;

/// A directory on `$TMPDIR` and one on tmpfs (`/dev/shm`), to run every case on both.
fn dirs() -> Vec<tempfile::TempDir> {
    let mut v = vec![tempfile::tempdir().unwrap()];
    if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
        v.push(shm);
    }
    v
}

fn write_mode(p: &Path, data: &[u8], mode: u32) {
    fs::write(p, data).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn the_same_result_bytes_and_permissions_as_std() {
    for d in dirs() {
        let d = d.path();
        for (len, src_mode, existing) in [
            (0usize, 0o644, None),
            (100, 0o600, None),
            (1 << 20, 0o640, None),
            // An existing destination: truncated, and given the source's permissions.
            (70_000, 0o640, Some((vec![9u8; 200_000], 0o666))),
            (3 << 20, 0o755, Some((vec![1u8; 10], 0o600))),
        ] {
            let data = payload(len, len as u64);
            let from = d.join(format!("from-{len}"));
            write_mode(&from, &data, src_mode);
            let (ours, theirs) = (d.join(format!("ours-{len}")), d.join(format!("std-{len}")));
            if let Some((old, m)) = &existing {
                write_mode(&ours, old, *m);
                write_mode(&theirs, old, *m);
            }
            let n = fdcopy::copy_file(&from, &ours).unwrap();
            let want = fs::copy(&from, &theirs).unwrap();
            assert_eq!(n, want, "{len}: result");
            assert!(fs::read(&ours).unwrap() == fs::read(&theirs).unwrap(), "{len}: bytes");
            assert!(fs::read(&ours).unwrap() == data, "{len}: bytes");
            assert_eq!(mode(&ours), mode(&theirs), "{len}: permissions");
            assert_eq!(mode(&ours), src_mode, "{len}: permissions");
        }
    }
}

#[test]
fn errors_like_std() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let missing = d.join("missing");
    let to = d.join("to");
    let ours = fdcopy::copy_file(&missing, &to).unwrap_err();
    let theirs = fs::copy(&missing, &to).unwrap_err();
    assert_eq!(ours.kind(), theirs.kind());
    assert_eq!(ours.kind(), io::ErrorKind::NotFound);
    // A directory is not a regular file.
    let ours = fdcopy::copy_file(d, &to).unwrap_err();
    let theirs = fs::copy(d, &to).unwrap_err();
    assert_eq!(
        (ours.kind(), theirs.kind()),
        (io::ErrorKind::InvalidInput, io::ErrorKind::InvalidInput)
    );
    assert!(!to.exists(), "nothing created for a bad source");
    // A destination in a missing directory.
    let from = d.join("from");
    fs::write(&from, b"x").unwrap();
    let bad = d.join("no-such-dir").join("to");
    assert_eq!(
        fdcopy::copy_file(&from, &bad).unwrap_err().kind(),
        fs::copy(&from, &bad).unwrap_err().kind()
    );
}

/// A device destination keeps what it is (no truncation, no chmod), as in std.
#[test]
fn into_a_device() {
    let d = tempfile::tempdir().unwrap();
    let from = d.path().join("from");
    fs::write(&from, payload(1 << 20, 3)).unwrap();
    let before = fs::metadata("/dev/null").unwrap().permissions().mode();
    assert_eq!(fdcopy::copy_file(&from, "/dev/null").unwrap(), 1 << 20);
    assert_eq!(fs::copy(&from, "/dev/null").unwrap(), 1 << 20);
    assert_eq!(fs::metadata("/dev/null").unwrap().permissions().mode(), before);
}

/// The deliberate difference: std empties a file copied onto itself; fdcopy refuses, by the
/// same path, a hard link or a symlink, and the file stays as it was.
#[test]
fn a_file_copied_onto_itself_is_an_error_and_stays_intact() {
    for d in dirs() {
        let d = d.path();
        let data = payload(300_000, 4);
        let file = d.join("file");
        write_mode(&file, &data, 0o640);
        let link = d.join("hard");
        fs::hard_link(&file, &link).unwrap();
        let sym = d.join("sym");
        std::os::unix::fs::symlink(&file, &sym).unwrap();
        let mtime = fs::metadata(&file).unwrap().mtime_nsec();
        for (from, to) in [
            (&file, &file),
            (&file, &link),
            (&link, &file),
            (&sym, &file),
            (&file, &sym),
        ] {
            let e = fdcopy::copy_file(from, to).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{from:?} -> {to:?}");
            assert!(fs::read(&file).unwrap() == data, "{from:?} -> {to:?}: changed");
            assert_eq!(mode(&file), 0o640);
        }
        assert_eq!(
            fs::metadata(&file).unwrap().mtime_nsec(),
            mtime,
            "not even opened for truncation"
        );
        // What std does with the same call (the reason for the difference).
        let victim = d.join("victim");
        fs::write(&victim, &data).unwrap();
        let n = fs::copy(&victim, &victim).unwrap_or(0);
        eprintln!(
            "INFO std::fs::copy(f, f) returned {n} and left {} of {} bytes",
            fs::metadata(&victim).unwrap().len(),
            data.len()
        );
    }
}

/// Holes kept: a 64 MiB file with 3 × 64 KiB of data becomes a file of the same size, the
/// same bytes, and about the same allocation; std's copy allocates it all.
#[test]
fn a_sparse_file_keeps_its_holes() {
    for d in dirs() {
        let d = d.path();
        let from = d.join("sparse");
        let f = fs::File::create(&from).unwrap();
        f.set_len(64 << 20).unwrap();
        for (i, at) in [1u64 << 20, 30 << 20, (64 << 20) - (64 << 10)].into_iter().enumerate() {
            f.write_all_at(&payload(64 << 10, i as u64), at).unwrap();
        }
        f.sync_all().unwrap();
        drop(f);
        let src = fs::metadata(&from).unwrap();
        let to = d.join("copy");
        let mut events = Vec::new();
        let mut on_progress = |p: Progress| events.push(p);
        let r = Copier::new().progress(&mut on_progress).copy_file(&from, &to).unwrap();
        assert_eq!(r.written(), 64 << 20, "{r:?}");
        assert_eq!(r.bytes_by(Strategy::Hole), (64 << 20) - 3 * (64 << 10), "{r:?}");
        assert!(fs::read(&to).unwrap() == fs::read(&from).unwrap());
        let dst = fs::metadata(&to).unwrap();
        assert_eq!(dst.len(), src.len());
        assert!(
            dst.blocks() <= src.blocks() + 8,
            "{} blocks for {}",
            dst.blocks(),
            src.blocks()
        );
        // Progress covers the holes too and knows the total.
        assert_eq!(
            events.last().map(|p| (p.written, p.total)),
            Some((64 << 20, Some(64 << 20)))
        );
        assert!(events.iter().any(|p| p.strategy == Strategy::Hole));
        eprintln!(
            "INFO copy_file of a 64 MiB sparse file in {}: {} KiB allocated (source {} KiB)",
            d.display(),
            dst.blocks() / 2,
            src.blocks() / 2
        );
    }
}

/// With a callback, no kernel call moves more than 16 MiB, and every event knows the total.
#[test]
fn progress_moves_on_a_large_file() {
    for d in dirs() {
        let from = d.path().join("dense");
        let data = payload(50 << 20, 5);
        fs::File::create(&from).unwrap().write_all(&data).unwrap();
        let mut events = Vec::new();
        let mut on_progress = |p: Progress| events.push(p);
        let to = d.path().join("to");
        let r = Copier::new().progress(&mut on_progress).copy_file(&from, &to).unwrap();
        assert_eq!(r.written(), data.len() as u64);
        assert!(events.len() >= 4, "{} events", events.len());
        for p in &events {
            assert!(p.chunk <= 16 << 20, "{p:?}");
            assert_eq!(p.total, Some(data.len() as u64));
        }
        // Without a callback the chunks are 1 GiB (one call here).
        let to2 = d.path().join("to2");
        let r = Copier::new().copy_file(&from, &to2).unwrap();
        assert_eq!(r.written(), data.len() as u64);
        assert!(fs::read(&to).unwrap() == data && fs::read(&to2).unwrap() == data);
    }
}

/// Reflink::Always where FICLONE cannot work (ext4, tmpfs): the error, a destination that
/// existed as it was (bytes, length, permissions), one that did not exist still absent.
#[test]
fn reflink_always_without_a_clone_leaves_the_destination_as_it_was() {
    for d in dirs() {
        let d = d.path();
        let from = d.join("from");
        write_mode(&from, &payload(100_000, 6), 0o600);
        let new = d.join("new");
        let e = Copier::new()
            .reflink(Reflink::Always)
            .copy_file(&from, &new)
            .unwrap_err();
        eprintln!("INFO Reflink::Always in {}: {e}", d.display());
        assert_eq!(e.written(), 0);
        assert!(
            matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP) | Some(libc::EXDEV) | Some(libc::EINVAL)
            ),
            "{e:?}"
        );
        assert!(!new.exists(), "the destination it created was removed");
        for old in [&b""[..], &b"old contents"[..]] {
            let existing = d.join("existing");
            write_mode(&existing, old, 0o644);
            let e = Copier::new()
                .reflink(Reflink::Always)
                .copy_file(&from, &existing)
                .unwrap_err();
            assert_eq!(e.written(), 0, "{e:?}");
            assert_eq!(fs::read(&existing).unwrap(), old);
            assert_eq!(mode(&existing), 0o644, "permissions untouched");
        }
    }
}

/// Paths of every kind `AsRef<Path>` takes, as std's.
#[test]
fn takes_what_std_takes() {
    let d = tempfile::tempdir().unwrap();
    let from: PathBuf = d.path().join("a");
    fs::write(&from, b"abc").unwrap();
    let to = d.path().join("b");
    assert_eq!(fdcopy::copy_file(from.as_path(), to.to_str().unwrap()).unwrap(), 3);
    assert_eq!(fdcopy::copy_file(&from, to.clone().into_os_string()).unwrap(), 3);
    assert_eq!(fs::read(&to).unwrap(), b"abc");
}
