//! Edge cases of the kernel strategies on real descriptors: empty and exhausted sources, a file
//! copied onto itself, a 5 GiB sparse file, procfs/sysfs sources, `O_APPEND` destinations,
//! non-blocking sources and destinations (no spinning, `WouldBlock` with the exact count),
//! `BufReader`/`BufWriter` holding bytes, caller fd flags, a half-closing proxy, a source
//! closed early, and std's `copy_specialization` and `copies_append_mode_sink` tests.
mod common;
use common::*;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use fdcopy::go::limit_reader;
use fdcopy::{Copier, Progress, Report, Sparse, Strategy};
use fdcopy_testkit::{drain, feed, payload};
use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};

/// Waits (bounded) until `fd` has at least `n` bytes queued for reading (`FIONREAD`), so that a
/// non-blocking copy sees all of them.
fn wait_queued(fd: &impl AsFd, n: u64) {
    for _ in 0..10_000 {
        if rustix::io::ioctl_fionread(fd).unwrap() >= n {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("{n} bytes never arrived");
}

/// Waits (bounded) until the peer's end of file has reached `fd` (`POLLRDHUP`).
fn wait_peer_shutdown(fd: &impl AsFd) {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 10_000_000,
    };
    for _ in 0..1000 {
        let mut fds = [PollFd::new(fd, PollFlags::RDHUP)];
        poll(&mut fds, Some(&tick)).unwrap();
        if fds[0].revents().contains(PollFlags::RDHUP) {
            return;
        }
    }
    panic!("the peer's shutdown never arrived");
}

/// Small socket buffers on both ends of a connection (no autotuning), so that a few MiB
/// cannot sit in the kernel and the writer really waits for the reader.
fn small_buffers(writer: &impl AsFd, reader: &impl AsFd) {
    rustix::net::sockopt::set_socket_send_buffer_size(writer, 64 << 10).unwrap();
    rustix::net::sockopt::set_socket_recv_buffer_size(reader, 64 << 10).unwrap();
}

fn set_nonblocking(fd: &impl AsFd) {
    fcntl_setfl(fd, fcntl_getfl(fd).unwrap() | OFlags::NONBLOCK).unwrap();
}

/// A reader that sleeps first, then reads in 64 KiB pieces with a pause after each one.
fn slow_drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        let mut v = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return v;
            }
            v.extend_from_slice(&buf[..n]);
            thread::sleep(Duration::from_millis(2));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Empty and exhausted sources
// ---------------------------------------------------------------------------------------------

/// Checks a copy that moved nothing: count 0, no strategy moved bytes, and the strategy that
/// saw end of file is the one the table tried (the report's rule for an empty source).
fn assert_nothing_moved(r: &Report, last: Strategy, ctx: &str) {
    assert_eq!(r.written(), 0, "{ctx}: {r:?}");
    assert_eq!(r.strategies().count(), 0, "{ctx}: {r:?}");
    assert_eq!(r.strategy(), last, "{ctx}: {r:?}");
}

#[test]
fn empty_sources() {
    let pre = b"keep me";
    // An empty file: its size (0) is known, so the loop runs and sees end of file at once.
    {
        let mut src = file_with(&[], 0);
        let mut dst = file_with(pre, 3);
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        assert_nothing_moved(&r, Strategy::Buffered, "empty file");
        assert_eq!(src.stream_position().unwrap(), 0);
        assert_eq!(contents(&mut dst), (pre.to_vec(), 3));
        let r = Copier::new().go_copy(&mut dst, &mut src).unwrap();
        assert_nothing_moved(&r, Strategy::Buffered, "empty file, Go path");
    }
    // An empty pipe (writer closed): splice sees end of file.
    {
        let (mut rd, w) = io::pipe().unwrap();
        drop(w);
        let mut dst = file_with(pre, 3);
        let r = Copier::new().copy(&mut rd, &mut dst).unwrap();
        assert_nothing_moved(&r, Strategy::Splice, "empty pipe");
        assert_eq!(contents(&mut dst), (pre.to_vec(), 3));
    }
    // Empty sockets (peer shut down its write side): splice through the pool's pipe sees EOF.
    {
        let (c, mut s) = tcp_pair();
        c.shutdown(Shutdown::Write).unwrap();
        let mut dst = file_with(pre, 3);
        let r = Copier::new().copy(&mut s, &mut dst).unwrap();
        assert_nothing_moved(&r, Strategy::SpliceViaPipe, "empty tcp");
        assert_eq!(contents(&mut dst), (pre.to_vec(), 3));

        let (a, mut b) = unix_pair();
        a.shutdown(Shutdown::Write).unwrap();
        let (mut out, peer) = unix_pair();
        let h = drain(peer);
        let r = Copier::new().go_copy(&mut out, &mut b).unwrap();
        assert_nothing_moved(&r, Strategy::SpliceViaPipe, "empty unix -> unix");
        drop(out);
        assert!(h.join().unwrap().is_empty());
    }
}

/// A source file positioned at or past its end: nothing copied, both offsets unchanged, a
/// limit untouched.
#[test]
fn source_offset_at_or_past_eof() {
    let len = 100 << 10;
    let data = payload(len, 3);
    for pos in [len as u64, 2 * len as u64] {
        let ctx = format!("source at {pos} of {len}");
        let mut src = file_with(&data, pos);
        let mut dst = file_with(b"abc", 3);
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        assert_eq!(r.written(), 0, "{ctx}: {r:?}");
        assert_eq!(r.strategies().count(), 0, "{ctx}: {r:?}");
        assert_eq!(src.stream_position().unwrap(), pos, "{ctx}");
        assert_eq!(contents(&mut dst), (b"abc".to_vec(), 3), "{ctx}");

        let mut take = (&mut src).take(50_000);
        let r = Copier::new().copy(&mut take, &mut dst).unwrap();
        assert_eq!(r.written(), 0, "{ctx}, Take: {r:?}");
        assert_eq!(take.limit(), 50_000, "{ctx}, Take");
        assert_eq!(src.stream_position().unwrap(), pos, "{ctx}");

        let (mut c, s) = tcp_pair();
        let h = drain(s);
        let r = Copier::new().go_copy(&mut c, &mut src).unwrap();
        assert_eq!(r.written(), 0, "{ctx}, to tcp: {r:?}");
        drop(c);
        assert!(h.join().unwrap().is_empty(), "{ctx}");
        assert_eq!(src.stream_position().unwrap(), pos, "{ctx}");
    }
}

// ---------------------------------------------------------------------------------------------
// A file copied onto itself
// ---------------------------------------------------------------------------------------------

/// Go's `TestCopyFile/CopyFileItself`: one file, one shared offset, read and written by the
/// same copy. The table sends a file copied onto itself to the loop (copy_file_range would
/// refuse the overlap). Reads and writes share the offset: a read of `k` bytes at `p` is
/// followed by a write of them at `p + k`, and the next read starts after that write. With a
/// file smaller than the loop's buffer that duplicates the data once.
#[test]
fn file_copied_onto_itself() {
    let len = 100 << 10; // above SMALL_COPY, below Copier::DEFAULT_BUFFER
    let data = payload(len, 4);
    let twice = [data.clone(), data.clone()].concat();

    // Two `&File` to one descriptor, drop-in path.
    let f = file_with(&data, 0);
    let r = Copier::new().copy(&mut &f, &mut &f).unwrap();
    assert_eq!(r.written(), len as u64);
    assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::Buffered), len as u64, "{r:?}");
    let mut f = f;
    assert_eq!(contents(&mut f), (twice.clone(), 2 * len as u64));

    // A dup (`try_clone`: same open file description, same offset), Go path.
    let mut f = file_with(&data, 0);
    let mut g = f.try_clone().unwrap();
    let r = Copier::new().go_copy(&mut g, &mut f).unwrap();
    assert_eq!(r.written(), len as u64);
    assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");
    assert_eq!(contents(&mut f), (twice, 2 * len as u64));

    // Larger than the loop's buffer B (Copier::DEFAULT_BUFFER): read [0,B) → write it at B; read the
    // original [2B,len) → write it at len; read at len + (len - 2B) → end of file.
    let b = Copier::DEFAULT_BUFFER;
    let len = 2 * b + 44 * 1024;
    let data = payload(len, 5);
    let f = file_with(&data, 0);
    let r = Copier::new().copy(&mut &f, &mut &f).unwrap();
    let tail = &data[2 * b..];
    assert_eq!(r.written(), (b + tail.len()) as u64, "{r:?}");
    assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");
    let want = [&data[..b], &data[..b], tail, tail].concat();
    let mut f = f;
    let (got, pos) = contents(&mut f);
    assert_eq!(pos, want.len() as u64);
    assert!(got == want, "self-copy larger than the buffer");
}

// ---------------------------------------------------------------------------------------------
// A 5 GiB sparse file
// ---------------------------------------------------------------------------------------------

/// A 5 GiB sparse file on `$TMPDIR` (ext4) with data at 0, 4 GiB − 3 (across the 32-bit
/// boundary) and 5 GiB − 4096, copied file → file with copy_file_range.
///
/// The whole file is not copied: ext4 has no reflink, so same-filesystem copy_file_range falls
/// back to the kernel's generic splice copy, which reads the holes as zeros and writes them:
/// measured 37 s and a dense 5 GiB destination. Instead three limited copies at the interesting
/// offsets (the last one to end of file) go into a destination of the same length, which must
/// end up 5 GiB long with the copied regions equal and the rest holes.
#[test]
fn sparse_5gib_file() {
    const GIB: u64 = 1 << 30;
    let size = 5 * GIB;
    let mut src = tempfile::tempfile().unwrap();
    if let Err(e) = src.set_len(size) {
        skip!("cannot make a 5 GiB sparse file in $TMPDIR: {e}");
    }
    let chunks = [
        (0u64, payload(4096, 10)),
        (4 * GIB - 3, payload(4096, 11)),
        (size - 4096, payload(4096, 12)),
    ];
    for (at, bytes) in &chunks {
        if let Err(e) = src.write_all_at(bytes, *at) {
            skip!("cannot write at {at} in a sparse file: {e}");
        }
    }
    // (source and destination offset, limit): the first 1 MiB, 1 MiB around 4 GiB, the last
    // 1 MiB to end of file. With std's allocation (`Sparse::Never`, every byte by
    // copy_file_range), then with the holes kept (the default: data by copy_file_range, the
    // rest counted as holes).
    let mib = 1u64 << 20;
    let copies = [(0, Some(mib)), (4 * GIB - mib / 2, Some(mib)), (size - mib, None)];
    for sparse in [Sparse::Never, Sparse::Auto] {
        let mut dst = tempfile::tempfile().unwrap();
        for (at, limit) in copies {
            src.seek(SeekFrom::Start(at)).unwrap();
            dst.seek(SeekFrom::Start(at)).unwrap();
            let mut copier = Copier::new().sparse(sparse);
            let r = match limit {
                Some(n) => {
                    let mut take = (&mut src).take(n);
                    let r = copier.copy(&mut take, &mut dst).unwrap();
                    assert_eq!(take.limit(), 0, "at {at}");
                    r
                }
                None => copier.copy(&mut src, &mut dst).unwrap(),
            };
            assert_eq!(r.written(), mib, "at {at}: {r:?}");
            assert_eq!(r.strategy(), Strategy::CopyFileRange, "at {at}: {r:?}");
            if sparse == Sparse::Never {
                assert_eq!(r.bytes_by(Strategy::CopyFileRange), mib, "at {at}: {r:?}");
            } else {
                let data = r.bytes_by(Strategy::CopyFileRange);
                assert!(data > 0 && data < mib, "at {at}: {r:?}");
                assert_eq!(data + r.bytes_by(Strategy::Hole), mib, "at {at}: {r:?}");
            }
            assert_eq!(src.stream_position().unwrap(), at + mib, "at {at}");
            assert_eq!(dst.stream_position().unwrap(), at + mib, "at {at}");
        }
        assert_eq!(dst.metadata().unwrap().len(), size);
        // The copied regions equal the source's, data and zeros alike.
        for (at, _) in copies {
            let mut a = vec![0u8; mib as usize];
            let mut b = vec![1u8; mib as usize];
            src.read_exact_at(&mut a, at).unwrap();
            dst.read_exact_at(&mut b, at).unwrap();
            assert!(a == b, "region at {at}");
        }
        for (at, bytes) in &chunks {
            let mut b = vec![0u8; bytes.len()];
            dst.read_exact_at(&mut b, *at).unwrap();
            assert!(b == *bytes, "data at {at}");
        }
        // Never-copied ranges are holes (zeros), and the destination stayed sparse.
        for at in [mib, 2 * GIB, 4 * GIB + mib, size - mib - 4096] {
            let mut b = vec![1u8; 4096];
            dst.read_exact_at(&mut b, at).unwrap();
            assert!(b.iter().all(|&x| x == 0), "hole at {at}");
        }
        let allocated = dst.metadata().unwrap().blocks() * 512;
        assert!(
            allocated < 64 * mib,
            "destination not sparse: {allocated} bytes allocated"
        );
        if sparse == Sparse::Auto {
            // Only the three 4 KiB chunks' blocks (the 4 GiB one straddles two).
            assert!(
                allocated <= 4 * 4096 + 4 * 4096,
                "{sparse:?}: {allocated} bytes allocated"
            );
        }
        eprintln!("INFO sparse_5gib_file {sparse:?}: {allocated} bytes allocated");
    }
}

// ---------------------------------------------------------------------------------------------
// procfs and sysfs sources
// ---------------------------------------------------------------------------------------------

/// Copies `path` into a fresh file; returns the bytes and the report.
fn copy_path(path: &str) -> io::Result<(Vec<u8>, Report)> {
    let mut src = File::open(path)?;
    let mut dst = file_with(&[], 0);
    let r = Copier::new().copy(&mut src, &mut dst).map_err(io::Error::from)?;
    let (got, pos) = contents(&mut dst);
    assert_eq!(pos, got.len() as u64, "{path}: destination offset");
    assert_eq!(r.written(), got.len() as u64, "{path}: count");
    Ok((got, r))
}

/// Size-lying sources (`st_size` 0 for procfs, 4096 for sysfs): the copy reads the real bytes,
/// identical to a plain read. Their size is known to be small, so the loop copies them.
#[test]
fn procfs_and_sysfs_sources() {
    // Stable content: exact.
    let (got, r) = copy_path("/proc/self/cmdline").unwrap();
    assert!(!got.is_empty());
    assert_eq!(got, std::fs::read("/proc/self/cmdline").unwrap());
    assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");

    // /proc/self/status changes as the process runs (memory, context switches): it must equal
    // a plain read made just before or just after, on one of a few attempts.
    let mut same = false;
    for _ in 0..50 {
        let before = std::fs::read("/proc/self/status").unwrap();
        let (got, r) = copy_path("/proc/self/status").unwrap();
        let after = std::fs::read("/proc/self/status").unwrap();
        assert!(got.starts_with(b"Name:"), "{:?}", String::from_utf8_lossy(&got));
        assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");
        if got == before || got == after {
            same = true;
            break;
        }
    }
    assert!(same, "/proc/self/status copy never matched a plain read");

    let candidates = [
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/mm/transparent_hugepage/defrag",
        "/sys/devices/system/cpu/online",
        "/sys/kernel/osrelease",
    ];
    let Some(path) = candidates
        .into_iter()
        .find(|p| std::fs::read(p).is_ok_and(|v| !v.is_empty()))
    else {
        skip!("no readable sysfs file among {candidates:?}");
    };
    let plain = std::fs::read(path).unwrap();
    let (got, r) = copy_path(path).unwrap();
    assert_eq!(got, plain, "{path}");
    assert_eq!(r.strategy(), Strategy::Buffered, "{path}: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// O_APPEND destinations
// ---------------------------------------------------------------------------------------------

/// Every kernel call rejects an O_APPEND destination, so the loop appends, whether O_APPEND
/// was set at open or later with `F_SETFL` (golang/go#79660); the position the file had is
/// ignored by the kernel, and the caller's flags are left as they were.
#[test]
fn append_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let existing = b"existing content\n";
    let data = payload(1 << 20, 6);

    // Build the three destinations afresh for each source.
    let dests = |tag: &str| -> Vec<(String, File)> {
        let path = dir.path().join(format!("append-open-{tag}"));
        std::fs::write(&path, existing).unwrap();
        let at_open = OpenOptions::new().read(true).append(true).open(&path).unwrap();
        let mut later = file_with(existing, 0);
        fcntl_setfl(&later, fcntl_getfl(&later).unwrap() | OFlags::APPEND).unwrap();
        later.seek(SeekFrom::Start(3)).unwrap(); // ignored: appends go to the end
        vec![("at open".into(), at_open), ("F_SETFL".into(), later)]
    };

    for (tag, mut dst) in dests("file") {
        let flags = fd_flags(&dst);
        let mut src = file_with(&data, 0);
        let r = Copier::new().copy(&mut src, &mut dst).unwrap();
        assert_eq!(r.written(), data.len() as u64, "{tag}");
        assert_eq!(r.strategy(), Strategy::Buffered, "{tag}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Buffered), data.len() as u64, "{tag}: {r:?}");
        assert_eq!(fd_flags(&dst), flags, "{tag}");
        assert!(flags.contains(OFlags::APPEND));
        let (got, pos) = contents(&mut dst);
        assert_eq!(pos, (existing.len() + data.len()) as u64, "{tag}");
        assert!(got == [&existing[..], &data].concat(), "{tag}: appended content");
        assert_eq!(src.stream_position().unwrap(), data.len() as u64, "{tag}");
    }

    for (tag, mut dst) in dests("tcp") {
        let (c, mut s) = tcp_pair();
        let h = feed(c, data.clone());
        let r = Copier::new().go_copy(&mut dst, &mut s).unwrap();
        h.join().unwrap();
        assert_eq!(r.written(), data.len() as u64, "tcp, {tag}");
        assert_eq!(r.strategy(), Strategy::Buffered, "tcp, {tag}: {r:?}");
        assert!(contents(&mut dst).0 == [&existing[..], &data].concat(), "tcp, {tag}");
    }

    for (tag, mut dst) in dests("pipe") {
        let (mut rd, w) = io::pipe().unwrap();
        let h = feed(w, data.clone());
        let mut take = (&mut rd).take(700_000);
        let r = Copier::new().copy(&mut take, &mut dst).unwrap();
        assert_eq!(r.written(), 700_000, "pipe, {tag}");
        assert_eq!(take.limit(), 0);
        assert_eq!(r.strategy(), Strategy::Buffered, "pipe, {tag}: {r:?}");
        let mut rest = Vec::new();
        rd.read_to_end(&mut rest).unwrap();
        h.join().unwrap();
        assert!(rest == data[700_000..], "pipe, {tag}: rest");
        assert!(
            contents(&mut dst).0 == [&existing[..], &data[..700_000]].concat(),
            "pipe, {tag}"
        );
    }
}

/// std's `copies_append_mode_sink`: an O_APPEND sink makes the specialization fall back, and
/// the 9 bytes are copied.
#[test]
fn copies_append_mode_sink() {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("copies_append_mode.source");
    let sink_path = dir.path().join("copies_append_mode.sink");
    let mut source = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(&source_path)
        .unwrap();
    write!(source, "not empty").unwrap();
    source.seek(SeekFrom::Start(0)).unwrap();
    let mut sink = OpenOptions::new().create(true).append(true).open(&sink_path).unwrap();

    let copied = fdcopy::copy(&mut source, &mut sink).unwrap();
    assert_eq!(copied, 9);
    assert_eq!(std::fs::read(&sink_path).unwrap(), b"not empty");

    source.seek(SeekFrom::Start(0)).unwrap();
    let r = Copier::new().copy(&mut source, &mut sink).unwrap();
    assert_eq!(r.written(), 9);
    assert_eq!(r.strategy(), Strategy::Buffered, "{r:?}");
    assert_eq!(std::fs::read(&sink_path).unwrap(), b"not emptynot empty");
}

// ---------------------------------------------------------------------------------------------
// Non-blocking descriptors
// ---------------------------------------------------------------------------------------------

/// A non-blocking destination whose reader is slow: every byte arrives, the caller's flags stay
/// as they were, and the copy waits with `poll` instead of spinning. Each progress callback is
/// one chunk (one kernel call that moved bytes): a spinning copy would make thousands of tiny
/// ones, so their number is bounded by bytes/4096 + 100.
#[test]
fn nonblocking_destination_with_a_slow_reader_does_not_spin() {
    let len = 4 << 20;
    let data = payload(len, 7);
    let bound = len as u64 / 4096 + 100;
    let progress_of = |ctx: &str, chunks: u64, r: &Report, want: Strategy| {
        assert_eq!(r.written(), len as u64, "{ctx}: {r:?}");
        assert_eq!(r.strategy(), want, "{ctx}: {r:?}");
        assert_eq!(r.bytes_by(want), len as u64, "{ctx}: {r:?}");
        assert!(
            chunks <= bound,
            "{ctx}: {chunks} chunks for {len} bytes (bound {bound})"
        );
        eprintln!("{ctx}: {chunks} chunks");
    };

    // file -> non-blocking TCP (sendfile)
    {
        let mut src = file_with(&data, 0);
        let (mut c, s) = tcp_pair();
        small_buffers(&c, &s);
        c.set_nonblocking(true).unwrap();
        let flags = fd_flags(&c);
        let h = slow_drain(s);
        let mut chunks = 0u64;
        let mut count = |_: Progress| chunks += 1;
        let r = Copier::new().progress(&mut count).copy(&mut src, &mut c).unwrap();
        assert_eq!(fd_flags(&c), flags);
        drop(c);
        assert!(h.join().unwrap() == data, "file -> tcp: content");
        progress_of("file -> nonblocking tcp", chunks, &r, Strategy::Sendfile);
    }
    // TCP -> non-blocking TCP (splice through the pool's pipe)
    {
        let (c1, mut s1) = tcp_pair();
        let hf = feed(c1, data.clone());
        let (mut c2, s2) = tcp_pair();
        small_buffers(&c2, &s2);
        c2.set_nonblocking(true).unwrap();
        let flags = (fd_flags(&s1), fd_flags(&c2));
        let h = slow_drain(s2);
        let mut chunks = 0u64;
        let mut count = |_: Progress| chunks += 1;
        let r = Copier::new().progress(&mut count).go_copy(&mut c2, &mut s1).unwrap();
        assert_eq!((fd_flags(&s1), fd_flags(&c2)), flags);
        drop(c2);
        hf.join().unwrap();
        assert!(h.join().unwrap() == data, "tcp -> tcp: content");
        progress_of("tcp -> nonblocking tcp", chunks, &r, Strategy::SpliceViaPipe);
    }
    // file -> non-blocking pipe (splice)
    {
        let mut src = file_with(&data, 0);
        let (rd, mut w) = io::pipe().unwrap();
        set_nonblocking(&w);
        let flags = fd_flags(&w);
        let h = slow_drain(rd);
        let mut chunks = 0u64;
        let mut count = |_: Progress| chunks += 1;
        let r = Copier::new().progress(&mut count).copy(&mut src, &mut w).unwrap();
        assert_eq!(fd_flags(&w), flags);
        drop(w);
        assert!(h.join().unwrap() == data, "file -> pipe: content");
        progress_of("file -> nonblocking pipe", chunks, &r, Strategy::Splice);
    }
}

/// A non-blocking source with nothing to read: `WouldBlock` with count 0 (limits untouched,
/// flags unchanged); once the peer has sent, a limited copy gets exactly the bytes.
#[test]
fn nonblocking_empty_source_would_block_then_resumes() {
    // 48 KiB: above SMALL_COPY, and within the initial TCP receive window, so all of it is
    // queued at the receiver without anyone reading.
    let data = payload(48 << 10, 8);

    // TCP -> file
    {
        let (mut c, s) = tcp_pair();
        s.set_nonblocking(true).unwrap();
        let flags = fd_flags(&s);
        let mut dst = file_with(&[], 0);
        let e = Copier::new().copy(&mut &s, &mut dst).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e:?}");
        assert_eq!(e.written(), 0, "{e:?}");
        assert_eq!(contents(&mut dst), (vec![], 0));

        let mut lim = limit_reader(&s, data.len() as u64);
        let e = Copier::new().go_copy(&mut dst, &mut lim).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e:?}");
        assert_eq!((e.written(), lim.remaining), (0, data.len() as u64));

        let data_len = data.len() as u64;
        let h = thread::spawn(move || {
            c.write_all(&data).unwrap();
            (c, data)
        });
        wait_queued(&s, data_len);
        let r = Copier::new().go_copy(&mut dst, &mut lim).unwrap();
        let (c, data) = h.join().unwrap();
        assert_eq!(r.written(), data.len() as u64);
        assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
        assert_eq!(lim.remaining, 0);
        assert_eq!(contents(&mut dst), (data.clone(), data.len() as u64));
        assert_eq!(fd_flags(&s), flags);
        drop(c);
    }

    // pipe -> file
    {
        let data = payload(32 << 10, 9); // fits in the pipe with no reader
        let (mut rd, mut w) = io::pipe().unwrap();
        set_nonblocking(&rd);
        let flags = fd_flags(&rd);
        let mut dst = file_with(&[], 0);
        let mut take = (&mut rd).take(data.len() as u64);
        let e = Copier::new().copy(&mut take, &mut dst).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e:?}");
        assert_eq!(e.written(), 0);
        assert_eq!(take.limit(), data.len() as u64);

        w.write_all(&data).unwrap();
        let r = Copier::new().copy(&mut take, &mut dst).unwrap();
        assert_eq!(r.written(), data.len() as u64);
        assert_eq!(r.strategy(), Strategy::Splice, "{r:?}");
        assert_eq!(take.limit(), 0);
        assert_eq!(contents(&mut dst), (data.clone(), data.len() as u64));
        assert_eq!(fd_flags(&rd), flags);
    }
}

/// A non-blocking source that has some bytes, then none: `WouldBlock` carrying exactly the
/// bytes delivered, all of them in the destination, and a limit reduced by exactly that much.
#[test]
fn nonblocking_source_with_some_data_then_none() {
    // TCP -> file, through the pool's pipe: nothing may stay in the intermediate pipe.
    {
        let data = payload(300 << 10, 10);
        let first = 48 << 10; // fits in the receive buffer at once
        let (mut c, s) = tcp_pair();
        s.set_nonblocking(true).unwrap();
        let flags = fd_flags(&s);
        c.write_all(&data[..first]).unwrap();
        wait_queued(&s, first as u64);
        let mut dst = file_with(&[], 0);
        let mut take = (&s).take(data.len() as u64);
        let e = Copier::new().copy(&mut take, &mut dst).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e:?}");
        assert_eq!(e.written(), first as u64, "{e:?}");
        assert_eq!(e.report().bytes_by(Strategy::SpliceViaPipe), first as u64, "{e:?}");
        assert_eq!(take.limit(), (data.len() - first) as u64);
        assert_eq!(contents(&mut dst), (data[..first].to_vec(), first as u64));
        assert_eq!(fd_flags(&s), flags);

        // The rest, then end of file: copy again (waiting while the source is empty).
        let rest = data[first..].to_vec();
        let h = thread::spawn(move || {
            c.write_all(&rest).unwrap();
        });
        let mut total = first as u64;
        for attempt in 0.. {
            assert!(attempt < 10_000, "the rest never arrived");
            match Copier::new().copy(&mut take, &mut dst) {
                Ok(r) => {
                    total += r.written();
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    total += e.written();
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        h.join().unwrap();
        assert_eq!(total, data.len() as u64);
        assert_eq!(take.limit(), 0);
        assert!(contents(&mut dst) == (data.clone(), data.len() as u64));
    }

    // pipe -> file, direct splice, unlimited.
    {
        let data = payload(40 << 10, 11);
        let (mut rd, mut w) = io::pipe().unwrap();
        set_nonblocking(&rd);
        w.write_all(&data).unwrap();
        let mut dst = file_with(&[], 0);
        let e = Copier::new().copy(&mut rd, &mut dst).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e:?}");
        assert_eq!(e.written(), data.len() as u64, "{e:?}");
        assert_eq!(e.report().bytes_by(Strategy::Splice), data.len() as u64, "{e:?}");
        assert_eq!(contents(&mut dst), (data.clone(), data.len() as u64));
        drop(w);
        let r = Copier::new().copy(&mut rd, &mut dst).unwrap();
        assert_eq!(r.written(), 0);
        assert_eq!(contents(&mut dst), (data.clone(), data.len() as u64));
    }
}

/// The caller's O_NONBLOCK/O_APPEND flags are the same after a copy as before, on both sides.
#[test]
fn caller_fd_flags_unchanged() {
    let data = payload(60 << 10, 12);

    // non-blocking pipe (filled, writer closed) -> non-blocking pipe with a slow reader
    let (mut r1, mut w1) = io::pipe().unwrap();
    w1.write_all(&data).unwrap();
    drop(w1);
    let (r2, mut w2) = io::pipe().unwrap();
    set_nonblocking(&r1);
    set_nonblocking(&w2);
    let before = (fd_flags(&r1), fd_flags(&w2));
    let h = slow_drain(r2);
    let r = Copier::new().copy(&mut r1, &mut w2).unwrap();
    assert_eq!((fd_flags(&r1), fd_flags(&w2)), before);
    assert!(before.0.contains(OFlags::NONBLOCK) && before.1.contains(OFlags::NONBLOCK));
    assert_eq!(r.written(), data.len() as u64);
    assert_eq!(r.strategy(), Strategy::Splice, "{r:?}");
    drop(w2);
    assert!(h.join().unwrap() == data);

    // blocking file -> non-blocking unix socket
    let mut f = file_with(&data, 0);
    let (mut a, b) = unix_pair();
    a.set_nonblocking(true).unwrap();
    let before = (fd_flags(&f), fd_flags(&a));
    let h = slow_drain(b);
    let r = Copier::new().go_copy(&mut a, &mut f).unwrap();
    assert_eq!((fd_flags(&f), fd_flags(&a)), before);
    assert_eq!(r.strategy(), Strategy::Sendfile, "{r:?}");
    drop(a);
    assert!(h.join().unwrap() == data);

    // non-blocking TCP (with all data and end of file queued) -> blocking TCP; 40 KiB fit in
    // the initial receive window.
    let data = &data[..40 << 10];
    let (mut c, s) = tcp_pair();
    c.write_all(data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    wait_queued(&s, data.len() as u64);
    wait_peer_shutdown(&s);
    s.set_nonblocking(true).unwrap();
    let (mut c2, s2) = tcp_pair();
    let before = (fd_flags(&s), fd_flags(&c2));
    let h = drain(s2);
    let r = Copier::new().copy(&mut &s, &mut c2).unwrap();
    assert_eq!((fd_flags(&s), fd_flags(&c2)), before);
    assert_eq!(r.written(), data.len() as u64);
    assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
    drop(c2);
    assert!(h.join().unwrap() == data);
}

// ---------------------------------------------------------------------------------------------
// std wrappers holding bytes
// ---------------------------------------------------------------------------------------------

/// A `BufReader` holding bytes: they go out first (through user space, counted as Buffered),
/// the rest by the kernel, in order.
#[test]
fn bufreader_holding_bytes_goes_first() {
    let data = payload(1 << 20, 13);

    // BufReader<TcpStream> after fill_buf, and after a partial read.
    for skip in [0usize, 100] {
        let ctx = format!("BufReader<TcpStream>, {skip} bytes read first");
        let (c, s) = tcp_pair();
        let h = feed(c, data.clone());
        let mut br = BufReader::new(s);
        if skip > 0 {
            let mut head = vec![0u8; skip];
            br.read_exact(&mut head).unwrap();
            assert!(head == data[..skip]);
        }
        let held = br.fill_buf().unwrap().len() as u64;
        assert!(held > 0);
        let mut dst = file_with(&[], 0);
        let r = Copier::new().copy(&mut br, &mut dst).unwrap();
        h.join().unwrap();
        let total = (data.len() - skip) as u64;
        assert_eq!(r.written(), total, "{ctx}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Buffered), held, "{ctx}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::SpliceViaPipe), total - held, "{ctx}: {r:?}");
        assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{ctx}: {r:?}");
        assert!(br.buffer().is_empty());
        let (got, pos) = contents(&mut dst);
        assert_eq!(pos, total, "{ctx}");
        assert!(got == data[skip..], "{ctx}: content");
    }

    // BufReader<File> (8 KiB buffer) after fill_buf and after a partial read, both APIs.
    for (skip, go) in [(0usize, false), (100, false), (100, true)] {
        let ctx = format!("BufReader<File>, {skip} bytes read first, Go path {go}");
        let mut br = BufReader::new(file_with(&data, 0));
        if skip > 0 {
            let mut head = vec![0u8; skip];
            br.read_exact(&mut head).unwrap();
        }
        let held = br.fill_buf().unwrap().len() as u64;
        assert_eq!(held, (8192 - skip) as u64);
        let mut dst = file_with(b"0123", 4);
        let r = if go {
            Copier::new().go_copy(&mut dst, &mut br).unwrap()
        } else {
            Copier::new().copy(&mut br, &mut dst).unwrap()
        };
        let total = (data.len() - skip) as u64;
        assert_eq!(r.written(), total, "{ctx}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::Buffered), held, "{ctx}: {r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), total - held, "{ctx}: {r:?}");
        assert_eq!(r.strategy(), Strategy::CopyFileRange, "{ctx}: {r:?}");
        assert_eq!(br.get_mut().stream_position().unwrap(), data.len() as u64, "{ctx}");
        let (got, pos) = contents(&mut dst);
        assert_eq!(pos, 4 + total, "{ctx}");
        assert!(got == [&b"0123"[..], &data[skip..]].concat(), "{ctx}: content");
    }

    // Take<BufReader<File>>: a limit inside the buffer drains only that much and leaves the
    // rest buffered; a larger one drains the buffer, then the kernel moves the rest.
    {
        let mut br = BufReader::new(file_with(&data, 0));
        br.fill_buf().unwrap();
        let mut dst = file_with(&[], 0);
        let mut take = (&mut br).take(50);
        let r = Copier::new().copy(&mut take, &mut dst).unwrap();
        assert_eq!(r.written(), 50);
        assert_eq!(take.limit(), 0);
        assert_eq!(br.buffer().len(), 8192 - 50);
        assert!(br.buffer() == &data[50..8192]);
        assert!(contents(&mut dst).0 == data[..50]);

        let n = 600_000u64;
        let mut take = (&mut br).take(n);
        let r = Copier::new().copy(&mut take, &mut dst).unwrap();
        assert_eq!(r.written(), n, "{r:?}");
        assert_eq!(take.limit(), 0);
        assert_eq!(r.bytes_by(Strategy::Buffered), 8192 - 50, "{r:?}");
        assert_eq!(r.bytes_by(Strategy::CopyFileRange), n - (8192 - 50), "{r:?}");
        assert!(br.buffer().is_empty());
        assert_eq!(br.get_mut().stream_position().unwrap(), 50 + n);
        assert!(contents(&mut dst) == (data[..50 + n as usize].to_vec(), 50 + n));
    }
}

/// A `BufWriter` holding bytes is flushed before the kernel writes to its descriptor, so the
/// order is kept; the held bytes are not counted again.
#[test]
fn bufwriter_holding_bytes_is_flushed_first() {
    let data = payload(1 << 20, 14);
    let header = b"header bytes written before the copy\n";

    // file -> BufWriter<File>: copy_file_range after the flush.
    let mut src = file_with(&data, 0);
    let mut bw = BufWriter::new(file_with(&[], 0));
    bw.write_all(header).unwrap();
    assert_eq!(bw.buffer(), header);
    let r = Copier::new().copy(&mut src, &mut bw).unwrap();
    assert_eq!(r.written(), data.len() as u64);
    assert_eq!(r.strategy(), Strategy::CopyFileRange, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::CopyFileRange), data.len() as u64, "{r:?}");
    assert!(bw.buffer().is_empty());
    let mut f = bw.into_inner().unwrap();
    let (got, pos) = contents(&mut f);
    assert_eq!(pos, (header.len() + data.len()) as u64);
    assert!(got == [&header[..], &data].concat());

    // unix -> BufWriter<TcpStream>, Go path: splice through the pool's pipe after the flush.
    let (a, mut b) = unix_pair();
    let hf = feed(a, data.clone());
    let (c, s) = tcp_pair();
    let hd = drain(s);
    let mut bw = BufWriter::new(c);
    bw.write_all(header).unwrap();
    let r = Copier::new().go_copy(&mut bw, &mut b).unwrap();
    hf.join().unwrap();
    assert_eq!(r.written(), data.len() as u64);
    assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
    assert!(bw.buffer().is_empty());
    drop(bw);
    assert!(hd.join().unwrap() == [&header[..], &data].concat());
}

/// std's `copy_specialization` test, ported: `Take<BufReader<Take<File>>>` into a
/// `BufWriter<File>` that already holds bytes, with the inner file re-seeked behind the
/// BufReader's back.
///
/// Engine defect (reported): the copy is known to be small (limit 6 <= SMALL_COPY), so the
/// plan has no kernel step and `engine::linux::kernel` returns before `drain_buffered`; the
/// loop then reads through the BufReader, which refills from the inner `Take` and reads ahead.
/// Bytes and count are right, but the BufReader is left holding "g", the inner Take at 0
/// (std: 1) and the file at offset 7 (std: 6).
#[test]
fn copy_specialization() {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("copy-spec.source");
    let sink_path = dir.path().join("copy-spec.sink");

    let mut source = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&source_path)
        .unwrap();
    source.write_all(b"abcdefghiklmnopqr").unwrap();
    source.seek(SeekFrom::Start(8)).unwrap();
    let mut source = BufReader::with_capacity(8, source.take(5));
    source.fill_buf().unwrap();
    assert_eq!(source.buffer(), b"iklmn");
    source.get_mut().set_limit(6);
    source.get_mut().get_mut().seek(SeekFrom::Start(1)).unwrap(); // "bcdefg"
    let mut source = source.take(10); // "iklmn" buffered + "bcdef" from the file

    let mut sink = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&sink_path)
        .unwrap();
    sink.write_all(b"000000").unwrap();
    let mut sink = BufWriter::with_capacity(5, sink);
    sink.write_all(b"wxyz").unwrap();
    assert_eq!(sink.buffer(), b"wxyz");

    let copied = fdcopy::copy(&mut source, &mut sink).unwrap();
    assert_eq!(copied, 10, "copy obeyed limit imposed by Take");
    assert_eq!(sink.buffer().len(), 0, "sink buffer was flushed");
    assert_eq!(source.limit(), 0, "outer Take was exhausted");
    assert_eq!(source.get_ref().buffer().len(), 0, "BufReader buffer has been drained");
    assert_eq!(
        source.get_ref().get_ref().limit(),
        1,
        "inner Take allowed reading beyond end of file, some bytes should be left"
    );

    let mut sink = sink.into_inner().unwrap();
    sink.seek(SeekFrom::Start(0)).unwrap();
    let mut copied = Vec::new();
    sink.read_to_end(&mut copied).unwrap();
    assert_eq!(&copied, b"000000wxyziklmnbcdef");
}

/// The minimal form of the `copy_specialization` defect: a copy known to be small (a `Take` of
/// 100 bytes) from a `BufReader<File>` with an empty buffer. std drains the (empty) buffer and
/// moves the 100 bytes with copy_file_range: the file ends at offset 100 and the BufReader
/// holds nothing. fdcopy's small-copy rule sends it to the loop, which reads through the
/// BufReader: it refills 8 KiB from the file (file at 8192, 8092 bytes buffered).
#[test]
fn small_limited_copy_from_bufreader_does_not_read_ahead() {
    let data = payload(100_000, 16);
    let mut br = BufReader::new(file_with(&data, 0));
    let mut dst = file_with(&[], 0);
    let r = Copier::new().copy(&mut (&mut br).take(100), &mut dst).unwrap();
    assert_eq!(r.written(), 100);
    assert!(contents(&mut dst).0 == data[..100]);
    assert_eq!(br.buffer().len(), 0, "the BufReader read ahead");
    assert_eq!(
        br.get_mut().stream_position().unwrap(),
        100,
        "the file was read past the limit"
    );
}

/// The same shape at a size where the kernel runs (copy_file_range behind three wrappers):
/// the BufReader's bytes first, then the file from its re-seeked offset, every limit exact.
#[test]
fn copy_specialization_at_kernel_size() {
    let data = payload(1 << 20, 15);
    let file = file_with(&data, 8);
    let mut source = BufReader::with_capacity(8, file.take(5));
    source.fill_buf().unwrap();
    assert!(source.buffer() == &data[8..13]);
    source.get_mut().set_limit(600_000);
    source.get_mut().get_mut().seek(SeekFrom::Start(1)).unwrap();
    let outer = 500_000u64;
    let mut source = source.take(outer);

    let mut sink = BufWriter::with_capacity(5, file_with(b"000000", 6));
    sink.write_all(b"wxyz").unwrap();

    let r = Copier::new().copy(&mut source, &mut sink).unwrap();
    assert_eq!(r.written(), outer, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::Buffered), 5, "{r:?}");
    assert_eq!(r.bytes_by(Strategy::CopyFileRange), outer - 5, "{r:?}");
    assert_eq!(sink.buffer().len(), 0);
    assert_eq!(source.limit(), 0);
    assert_eq!(source.get_ref().buffer().len(), 0);
    assert_eq!(source.get_ref().get_ref().limit(), 600_000 - (outer - 5));
    let mut inner = source.into_inner().into_inner().into_inner();
    assert_eq!(inner.stream_position().unwrap(), 1 + outer - 5);

    let mut sink = sink.into_inner().unwrap();
    let (got, pos) = contents(&mut sink);
    let want = [&b"000000wxyz"[..], &data[8..13], &data[1..1 + (outer - 5) as usize]].concat();
    assert_eq!(pos, want.len() as u64);
    assert!(got == want);
}

// ---------------------------------------------------------------------------------------------
// Connections: half-close proxy, source closed early
// ---------------------------------------------------------------------------------------------

trait HalfClose: Send + 'static {
    fn close_write(&self);
    fn clone_it(&self) -> Self;
}
impl HalfClose for TcpStream {
    fn close_write(&self) {
        self.shutdown(Shutdown::Write).unwrap();
    }
    fn clone_it(&self) -> Self {
        self.try_clone().unwrap()
    }
}
impl HalfClose for UnixStream {
    fn close_write(&self) {
        self.shutdown(Shutdown::Write).unwrap();
    }
    fn clone_it(&self) -> Self {
        self.try_clone().unwrap()
    }
}

/// Go's `issue25985`: a two-way proxy, one copy per direction on its own thread; when a side
/// shuts down its writing half, the copy reading it ends and passes the half-close on. The
/// client writes "foo" and shuts down; the server reads "foo" to end of file, answers "bar" and
/// closes; both copies end.
fn half_close_proxy<B>(front: (TcpStream, TcpStream), back: (B, B))
where
    B: HalfClose + Read + Write,
    for<'a> &'a B: Read + Write,
{
    let (mut client, proxy_front) = front;
    let (proxy_back, mut server) = back;
    for s in [&client, &proxy_front] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    let (f1, b1) = (proxy_front.clone_it(), proxy_back.clone_it());
    let up = tx.clone();
    thread::spawn(move || {
        let r = Copier::new().copy(&mut &f1, &mut &b1);
        b1.close_write();
        up.send(("up", r.map_err(|e| e.to_string()))).unwrap();
    });
    let (f2, b2) = (proxy_front, proxy_back);
    thread::spawn(move || {
        let r = Copier::new().copy(&mut &b2, &mut &f2);
        f2.close_write();
        tx.send(("down", r.map_err(|e| e.to_string()))).unwrap();
    });

    client.write_all(b"foo").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"foo");
    server.write_all(b"bar").unwrap();
    drop(server);
    let mut back_msg = Vec::new();
    client.read_to_end(&mut back_msg).unwrap();
    assert_eq!(back_msg, b"bar");

    for _ in 0..2 {
        let (dir, r) = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a proxy copy never ended");
        let r = r.unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(r.written(), 3, "{dir}: {r:?}");
        assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{dir}: {r:?}");
    }
}

#[test]
fn half_close_proxy_tcp_to_tcp() {
    half_close_proxy(tcp_pair(), tcp_pair());
}

#[test]
fn half_close_proxy_tcp_to_unix() {
    half_close_proxy(tcp_pair(), unix_pair());
}

/// Go's `readerAtEOF`: the source's peer closed before the copy: it returns at once with 0,
/// and the destination is still usable.
#[test]
fn source_closed_before_the_copy() {
    // TCP -> TCP
    let (c, mut s) = tcp_pair();
    drop(c);
    let (mut out, peer) = tcp_pair();
    let h = drain(peer);
    let r = Copier::new().copy(&mut s, &mut out).unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
    assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
    out.write_all(b"still usable").unwrap();
    drop(out);
    assert_eq!(h.join().unwrap(), b"still usable");

    // unix -> file, pipe -> file
    let (a, mut b) = unix_pair();
    drop(a);
    let mut f = file_with(b"abc", 3);
    let r = Copier::new().go_copy(&mut f, &mut b).unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
    let (mut rd, w) = io::pipe().unwrap();
    drop(w);
    let r = Copier::new().copy(&mut rd, &mut f).unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
    f.write_all(b"def").unwrap();
    assert_eq!(contents(&mut f), (b"abcdef".to_vec(), 6));

    // A limited copy from a closed source keeps its limit.
    let (c, s) = tcp_pair();
    drop(c);
    let mut take = (&s).take(1 << 20);
    let r = Copier::new().copy(&mut take, &mut f).unwrap();
    assert_eq!(r.written(), 0);
    assert_eq!(take.limit(), 1 << 20);
}
