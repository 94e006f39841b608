//! Sparse copies at the descriptor level (`Copier::copy` of two `File`s), one test per rule of
//! issue 11 / file-copy.md §5.3, on `$TMPDIR` (ext4 on the project's machines) and tmpfs
//! (`/dev/shm`), and between the two (EXDEV: each extent by `sendfile`). Content is compared byte
//! for byte, counts and both offsets exactly, and allocation by `st_blocks`.
//! Real filesystems on loop images (xfs, btrfs, ext4) are `sparse_fs.rs`; injected faults
//! are `faults_sparse.rs`.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fdcopy::{Copier, CopyError, Progress, Reflink, Report, Sparse, Strategy};
use fdcopy_testkit::payload;
use support::*;

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

/// Where the tests run: `$TMPDIR` and tmpfs (if it is another filesystem).
fn places() -> Vec<(&'static str, tempfile::TempDir)> {
    let mut v = vec![("$TMPDIR", tempfile::tempdir().unwrap())];
    if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
        v.push(("tmpfs", shm));
    }
    v
}

/// A sparse file of `size` bytes in `dir` with data at `extents` (offset, length), synced;
/// returns it positioned at 0, and its content.
fn sparse_file(dir: &Path, name: &str, size: u64, extents: &[(u64, u64)], seed: u64) -> (File, Vec<u8>) {
    let path = dir.join(name);
    let f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.set_len(size).unwrap();
    let mut want = vec![0u8; size as usize];
    for (i, &(at, len)) in extents.iter().enumerate() {
        let bytes = payload(len as usize, seed * 100 + i as u64);
        f.write_all_at(&bytes, at).unwrap();
        want[at as usize..(at + len) as usize].copy_from_slice(&bytes);
    }
    f.sync_all().unwrap();
    (f, want)
}

/// The 64 MiB layout of these tests: a 1 MiB leading hole, four 256 KiB extents, a trailing
/// hole of almost 4 MiB.
const SIZE: u64 = 64 * MIB;
const EXTENTS: [(u64, u64); 4] = [
    (MIB, 256 * KIB),
    (20 * MIB, 256 * KIB),
    (40 * MIB + 4 * KIB, 256 * KIB),
    (60 * MIB, 256 * KIB),
];
const DATA: u64 = 4 * 256 * KIB;

fn new_file(dir: &Path, name: &str) -> File {
    File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.join(name))
        .unwrap()
}

fn blocks(f: &File) -> u64 {
    f.metadata().unwrap().blocks()
}

/// One filesystem block of `f`, in 512-byte units.
fn one_block(f: &File) -> u64 {
    f.metadata().unwrap().blksize() / 512
}

fn pos(f: &File) -> u64 {
    rustix::fs::seek(f, rustix::fs::SeekFrom::Current(0)).unwrap()
}

/// The allocation rule of the issue: the destination takes no more than the source, plus one
/// block.
fn assert_sparse(src: &File, dst: &File, what: &str) {
    let (s, d) = (blocks(src), blocks(dst));
    assert!(d <= s + one_block(dst), "{what}: {d} blocks for a source of {s}");
    eprintln!("INFO {what}: destination {} KiB allocated, source {} KiB", d / 2, s / 2);
}

fn check_sparse_report(r: &Report, data: u64, logical: u64, what: &str) {
    assert_eq!(r.written(), logical, "{what}: {r:?}");
    assert_eq!(r.bytes_by(Strategy::Hole), logical - data, "{what}: {r:?}");
    assert_ne!(r.strategy(), Strategy::Hole, "{what}: {r:?}");
    assert_eq!(r.bytes_by(r.strategy()), data, "{what}: {r:?}");
}

#[test]
fn holes_are_kept_and_the_bytes_are_identical() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 1);
        let mut dst = new_file(d.path(), "dst");
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        check_sparse_report(&r, DATA, SIZE, name);
        assert_eq!(r.strategy(), Strategy::CopyFileRange, "{name}: {r:?}");
        same_bytes(&file_bytes(&dst), &want, name);
        assert_eq!((pos(&src), pos(&dst)), (SIZE, SIZE), "{name}: offsets");
        assert_eq!(dst.metadata().unwrap().len(), SIZE);
        assert_sparse(&src, &dst, name);
    }
}

/// tmpfs → `$TMPDIR`: copy_file_range gives EXDEV at the first extent, then every extent goes
/// by sendfile (copy_file_range is not retried for each).
#[test]
fn across_filesystems_each_extent_goes_by_sendfile() {
    let (Ok(shm), tmp) = (tempfile::tempdir_in("/dev/shm"), tempfile::tempdir().unwrap()) else {
        skip!("no /dev/shm");
    };
    if fs_type(shm.path()) == fs_type(tmp.path()) {
        skip!("/dev/shm and $TMPDIR are the same kind of filesystem");
    }
    for (from, to, what) in [(&shm, &tmp, "tmpfs -> $TMPDIR"), (&tmp, &shm, "$TMPDIR -> tmpfs")] {
        let (mut src, want) = sparse_file(from.path(), "from", SIZE, &EXTENTS, 2);
        let mut dst = new_file(to.path(), "to");
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        check_sparse_report(&r, DATA, SIZE, what);
        assert_eq!(r.strategy(), Strategy::Sendfile, "{what}: {r:?}");
        same_bytes(&file_bytes(&dst), &want, what);
        assert_eq!((pos(&src), pos(&dst)), (SIZE, SIZE));
        assert_sparse(&src, &dst, what);
    }
}

/// A dense file: no hole walk, 0.2's plan and strategy.
#[test]
fn dense_files_are_copied_as_before() {
    for (name, d) in places() {
        let data = payload(8 << 20, 3);
        let mut src = new_file(d.path(), "dense-src");
        src.write_all(&data).unwrap();
        src.rewind().unwrap();
        let mut dst = new_file(d.path(), "dense");
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        assert_eq!(r.bytes_by(Strategy::Hole), 0, "{name}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), data.len() as u64, "{name}: {r:?}");
        same_bytes(&file_bytes(&dst), &data, name);
    }
}

/// Trap 3 of the study: a destination opened without `O_TRUNC` that holds old bytes. A hole
/// over old bytes must read as zeros afterwards (punched), and the bytes past the copy stay.
#[test]
fn old_bytes_in_the_destination_are_never_left_behind() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 4);
        for old_len in [SIZE + 3 * MIB, 30 * MIB, 0] {
            let old = payload(old_len as usize, 77);
            let mut dst = new_file(d.path(), &format!("dst-{old_len}"));
            dst.write_all(&old).unwrap();
            dst.rewind().unwrap();
            src.rewind().unwrap();
            let r = Copier::new().copy(&mut src, &mut dst).unwrap();
            let what = format!("{name}, destination with {old_len} old bytes");
            check_sparse_report(&r, DATA, SIZE, &what);
            let got = file_bytes(&dst);
            // std's result: the copy over the first SIZE bytes, the old tail after it.
            let mut expect = want.clone();
            if old_len > SIZE {
                expect.extend_from_slice(&old[SIZE as usize..]);
            }
            same_bytes(&got, &expect, &what);
            assert_eq!(pos(&dst), SIZE, "{what}");
        }
    }
}

/// Both sides positioned mid-file, the destination holding old bytes around its position.
#[test]
fn both_sides_positioned_mid_file() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 5);
        let old = payload((8 * MIB) as usize, 78);
        let mut dst = new_file(d.path(), "dst");
        dst.write_all(&old).unwrap();
        let (s_at, d_at) = (20 * MIB + 123, 5 * MIB + 7);
        src.seek(SeekFrom::Start(s_at)).unwrap();
        dst.seek(SeekFrom::Start(d_at)).unwrap();
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        let n = SIZE - s_at;
        assert_eq!(r.written(), n, "{name}: {r:?}");
        assert!(r.bytes_by(Strategy::Hole) > 0, "{name}: {r:?}");
        let mut expect = old[..d_at as usize].to_vec();
        expect.extend_from_slice(&want[s_at as usize..]);
        same_bytes(&file_bytes(&dst), &expect, name);
        assert_eq!((pos(&src), pos(&dst)), (SIZE, d_at + n), "{name}: offsets");
    }
}

/// `Take` limits ending inside a hole and inside data: exact counts, offsets and sizes.
#[test]
fn limits_ending_in_a_hole_or_in_data_are_exact() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 6);
        for (start, limit) in [
            (0, 10 * MIB),                    // ends in a hole
            (0, 20 * MIB + 100 * KIB),        // ends in data
            (MIB + 5, 19 * MIB),              // starts in data, ends in a hole
            (20 * MIB + 300 * KIB, 40 * MIB), // starts in a hole, ends past a data extent
            (SIZE - MIB, 10 * MIB),           // the limit past the end of file
        ] {
            src.seek(SeekFrom::Start(start)).unwrap();
            let mut dst = new_file(d.path(), &format!("dst-{start}-{limit}"));
            let mut take = (&mut src).take(limit);
            let r = Copier::new().copy(&mut take, &mut dst).unwrap();
            let n = limit.min(SIZE - start);
            let what = format!("{name}: {start} + {limit}");
            assert_eq!(r.written(), n, "{what}: {r:?}");
            assert_eq!(take.limit(), limit - n, "{what}");
            same_bytes(&file_bytes(&dst), &want[start as usize..(start + n) as usize], &what);
            assert_eq!((pos(&src), pos(&dst)), (start + n, n), "{what}: offsets");
        }
    }
}

/// An `O_APPEND` destination: every kernel call refuses it, so the dense loop appends; no
/// EBADF reaches the caller.
#[test]
fn an_append_destination_is_copied_densely() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", 8 * MIB, &[(MIB, 64 * KIB)], 7);
        let path = d.path().join("log");
        std::fs::write(&path, b"head").unwrap();
        let mut dst = File::options().append(true).open(&path).unwrap();
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        assert_eq!(r.written(), 8 * MIB);
        assert_eq!(r.strategy(), Strategy::Buffered, "{name}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Hole), 0, "{name}: {r:?}");
        let mut expect = b"head".to_vec();
        expect.extend_from_slice(&want);
        same_bytes(&std::fs::read(&path).unwrap(), &expect, name);
    }
}

/// Both offsets right at the end (and the destination positioned past its end): nothing to
/// copy, nothing resized.
#[test]
fn both_offsets_at_the_end() {
    for (name, d) in places() {
        let (mut src, _) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 8);
        let mut dst = new_file(d.path(), "dst");
        dst.write_all(b"0123").unwrap();
        src.seek(SeekFrom::End(0)).unwrap();
        for d_at in [4, 4 * MIB] {
            dst.seek(SeekFrom::Start(d_at)).unwrap();
            let r = Copier::new().copy(&mut src, &mut dst).unwrap();
            assert_eq!(r.written(), 0, "{name}: {r:?}");
            assert_eq!((pos(&src), pos(&dst)), (SIZE, d_at), "{name}");
            assert_eq!(dst.metadata().unwrap().len(), 4, "{name}: the destination was resized");
        }
    }
}

/// A descriptor opened on the same file, to change the source while it is copied.
fn other_handle(f: &File) -> File {
    File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{}", f.as_raw_fd()))
        .unwrap()
}

/// Runs a sparse copy whose first progress event calls `change` on another descriptor of the
/// source; returns the result and the destination's content.
fn copy_while(src: &mut File, dst: &mut File, change: impl FnOnce(&File)) -> (Result<Report, CopyError>, Vec<u8>) {
    let other = other_handle(src);
    let mut change = Some(change);
    let mut on_progress = |_: Progress| {
        if let Some(c) = change.take() {
            c(&other);
        }
    };
    let r = Copier::new().progress(&mut on_progress).copy(src, dst);
    (r, file_bytes(dst))
}

#[test]
fn a_source_that_grows_is_copied_to_its_new_end() {
    for (name, d) in places() {
        let (mut src, mut want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 9);
        let mut dst = new_file(d.path(), "dst");
        let more = payload(300_000, 99);
        let (r, got) = copy_while(&mut src, &mut dst, |f| f.write_all_at(&more, SIZE + 5 * MIB).unwrap());
        want.resize((SIZE + 5 * MIB) as usize, 0);
        want.extend_from_slice(&more);
        let r = r.unwrap();
        assert_eq!(r.written(), want.len() as u64, "{name}: {r:?}");
        same_bytes(&got, &want, name);
        assert_eq!(pos(&src), want.len() as u64);
        assert_eq!(pos(&dst), want.len() as u64);
    }
}

#[test]
fn a_source_truncated_mid_copy_ends_the_copy_exactly() {
    for (name, d) in places() {
        for cut in [30 * MIB, 20 * MIB + 100 * KIB, MIB / 2] {
            let (mut src, want) = sparse_file(d.path(), &format!("src-{cut}"), SIZE, &EXTENTS, 10);
            let mut dst = new_file(d.path(), &format!("dst-{cut}"));
            let (r, got) = copy_while(&mut src, &mut dst, |f| f.set_len(cut).unwrap());
            let r = r.unwrap();
            let n = r.written();
            let what = format!("{name}, cut at {cut}");
            // Exact: the count is what the destination holds, and those bytes are the source's
            // (what it held when they were copied: before the cut, the original).
            assert_eq!(got.len() as u64, n, "{what}: {r:?}");
            assert!(n >= cut.min(MIB) && n <= SIZE, "{what}: {r:?}");
            same_bytes(&got, &want[..n as usize], &what);
            assert_eq!((pos(&src), pos(&dst)), (n, n), "{what}: offsets");
            eprintln!("INFO {what}: {n} bytes copied");
        }
    }
}

/// Extents that flip between data and hole while copies run: every copy ends, its count is the
/// destination's length, and each byte of the flipping range is the data or zero.
#[test]
fn extents_that_flip_during_the_copy_never_make_it_loop() {
    let d = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
    let (src, want) = sparse_file(d.path(), "src", 16 * MIB, &[(MIB, MIB), (8 * MIB, 2 * MIB)], 11);
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (f, data, stop) = (
            other_handle(&src),
            want[8 * MIB as usize..10 * MIB as usize].to_vec(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::fallocate(
                    &f,
                    rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE,
                    8 * MIB,
                    2 * MIB,
                )
                .unwrap();
                f.write_all_at(&data, 8 * MIB).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let path = d.path().to_path_buf();
    let copies = bounded("flipping copies", Duration::from_secs(120), move || {
        for i in 0..20 {
            let mut s = other_handle(&src);
            let mut dst = new_file(&path, &format!("dst-{i}"));
            let r = Copier::new().copy(&mut s, &mut dst).unwrap();
            let got = file_bytes(&dst);
            assert_eq!(r.written(), got.len() as u64, "copy {i}: {r:?}");
            assert_eq!(got.len() as u64, 16 * MIB, "copy {i}");
            same_bytes(&got[..8 * MIB as usize], &want[..8 * MIB as usize], "before the flips");
            for (j, (&g, &w)) in got[8 * MIB as usize..10 * MIB as usize]
                .iter()
                .zip(&want[8 * MIB as usize..])
                .enumerate()
            {
                assert!(
                    g == w || g == 0,
                    "copy {i}: byte {} is {g}, neither {w} nor 0",
                    8 * MIB as usize + j
                );
            }
            same_bytes(&got[10 * MIB as usize..], &want[10 * MIB as usize..], "after the flips");
        }
        20
    });
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    eprintln!("INFO {copies} copies ended while the source flipped {flips} times");
}

/// Progress: holes are events too, so `written` reaches the count.
#[test]
fn progress_counts_the_holes() {
    let d = tempfile::tempdir().unwrap();
    let (mut src, _) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 12);
    let mut dst = new_file(d.path(), "dst");
    let mut events = Vec::new();
    let mut on_progress = |p: Progress| events.push((p.written, p.chunk, p.strategy));
    let r = Copier::new()
        .progress(&mut on_progress)
        .copy(&mut src, &mut dst)
        .unwrap();
    let holes: u64 = events.iter().filter(|e| e.2 == Strategy::Hole).map(|e| e.1).sum();
    assert_eq!(holes, SIZE - DATA);
    assert_eq!(events.last().unwrap().0, r.written());
    assert_eq!(events.iter().map(|e| e.1).sum::<u64>(), SIZE);
    // Ordered: written grows by each chunk.
    let mut w = 0;
    for e in &events {
        w += e.1;
        assert_eq!(e.0, w);
    }
}

/// `Sparse::Never`: std's copy, every zero written.
#[test]
fn sparse_never_writes_the_zeros() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", 16 * MIB, &[(MIB, 256 * KIB)], 13);
        let mut dst = new_file(d.path(), "dst");
        let r = Copier::new().sparse(Sparse::Never).copy(&mut src, &mut dst).unwrap();
        assert_eq!(r.bytes_by(Strategy::Hole), 0, "{name}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), 16 * MIB, "{name}: {r:?}");
        same_bytes(&file_bytes(&dst), &want, name);
        dst.sync_all().unwrap();
        assert!(blocks(&dst) * 512 >= 15 * MIB, "{name}: {} blocks", blocks(&dst));
    }
}

/// `Reflink::Never` on a sparse source: holes skipped, the extents by sendfile, never
/// copy_file_range.
#[test]
fn reflink_never_copies_the_extents_by_sendfile() {
    for (name, d) in places() {
        let (mut src, want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 14);
        let mut dst = new_file(d.path(), "dst");
        let r = Copier::new().reflink(Reflink::Never).copy(&mut src, &mut dst).unwrap();
        check_sparse_report(&r, DATA, SIZE, name);
        assert_eq!(r.strategy(), Strategy::Sendfile, "{name}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), 0);
        same_bytes(&file_bytes(&dst), &want, name);
        assert_sparse(&src, &dst, name);
    }
}

/// The extents by the loop, when both kernel calls are denied: pread/pwrite at the extents.
#[test]
fn the_extents_by_the_loop() {
    let d = tempfile::tempdir().unwrap();
    let (mut src, want) = sparse_file(d.path(), "src", SIZE, &EXTENTS, 15);
    let mut dst = new_file(d.path(), "dst");
    let mut buf = vec![0u8; 100_000];
    let r = Copier::new()
        .deny(Strategy::CopyFileRange)
        .deny(Strategy::Sendfile)
        .buffer(&mut buf)
        .copy(&mut src, &mut dst)
        .unwrap();
    check_sparse_report(&r, DATA, SIZE, "loop");
    assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");
    same_bytes(&file_bytes(&dst), &want, "loop");
    assert_eq!((pos(&src), pos(&dst)), (SIZE, SIZE));
    assert_sparse(&src, &dst, "loop");
    // And with the loop denied too: Unsupported, after the leading hole, with the count.
    src.rewind().unwrap();
    let mut dst = new_file(d.path(), "dst2");
    let e = Copier::new()
        .deny(Strategy::CopyFileRange)
        .deny(Strategy::Sendfile)
        .deny(Strategy::Buffered)
        .copy(&mut src, &mut dst)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e:?}");
    assert_eq!(e.written(), MIB, "{e:?}");
    assert_eq!(dst.metadata().unwrap().len(), MIB, "cut back to start + count");
    assert_eq!((pos(&src), pos(&dst)), (MIB, MIB));
}

/// An error in the middle (a full filesystem): the count is exact, the destination holds
/// exactly that many bytes (its size cut back from the one set before the extents), and they
/// are the source's.
#[test]
fn a_full_disk_mid_copy_leaves_an_exact_prefix() {
    let tmpfs = match private_tmpfs("2m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    let d = tempfile::tempdir().unwrap();
    // 16 MiB logical, 4 × 1 MiB of data: the third extent does not fit.
    let extents = [(MIB, MIB), (4 * MIB, MIB), (8 * MIB, MIB), (12 * MIB, MIB)];
    let (mut src, want) = sparse_file(d.path(), "src", 16 * MIB, &extents, 16);
    let mut dst = new_file(&tmpfs.path, "dst");
    let e = Copier::new().copy(&mut src, &mut dst).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e:?}");
    let n = e.written();
    assert!(n > 5 * MIB && n < 16 * MIB, "{e:?}");
    assert_eq!(dst.metadata().unwrap().len(), n, "the size is cut back to the count");
    same_bytes(&file_bytes(&dst), &want[..n as usize], "prefix");
    assert_eq!((pos(&src), pos(&dst)), (n, n), "offsets at the count");
    eprintln!("INFO ENOSPC after {n} bytes ({:?})", e.report());
}

/// The cut-off for fragmented files: holes shorter than 32 KiB between extents are copied with
/// them (one copy call for a run of small extents), longer ones are skipped, and a long hole
/// after a fragmented region (a disk image's header, then nothing) stays a hole.
#[test]
fn short_holes_go_with_their_extents_long_ones_are_skipped() {
    for (name, d) in places() {
        // 2 MiB of 4 KiB data every 8 KiB; a 30 MiB hole; 64 KiB; a 40 KiB hole; 4 KiB; a 16 KiB
        // hole; 4 KiB; the trailing hole.
        let mut extents: Vec<(u64, u64)> = (0..256).map(|k| (k * 8 * KIB, 4 * KIB)).collect();
        let tail = 32 * MIB;
        extents.extend([
            (tail, 64 * KIB),
            (tail + 104 * KIB, 4 * KIB),
            (tail + 124 * KIB, 4 * KIB),
        ]);
        let (mut src, want) = sparse_file(d.path(), "frag", SIZE, &extents, 17);
        let mut dst = new_file(d.path(), "dst");
        let mut chunks = Vec::new();
        let mut on_progress = |p: Progress| chunks.push((p.strategy, p.chunk));
        let r = Copier::new()
            .progress(&mut on_progress)
            .copy(&mut src, &mut dst)
            .unwrap();
        same_bytes(&file_bytes(&dst), &want, name);
        let copied = (2 * MIB - 4 * KIB) + 64 * KIB + 4 * KIB + (16 * KIB + 4 * KIB);
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), copied, "{name}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Hole), SIZE - copied, "{name}: {r:?}");
        // The fragmented region in one call, not 256.
        let data_chunks: Vec<u64> = chunks.iter().filter(|c| c.0 != Strategy::Hole).map(|c| c.1).collect();
        assert_eq!(data_chunks, [2 * MIB - 4 * KIB, 64 * KIB, 24 * KIB], "{name}");
        assert!(
            blocks(&dst) * 512 <= copied + 4096 * 4,
            "{name}: {} blocks",
            blocks(&dst)
        );
    }
}
