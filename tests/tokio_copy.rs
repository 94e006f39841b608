//! `fdcopy::tokio::copy` and the resumable `Copier` on real descriptors, on both runtimes:
//! every pair of tokio's sockets, pipes and files at sizes across the pipe's capacity, the
//! bytes, the file positions afterwards and the strategy that moved them; limits exact inside
//! the kernel paths; buffered bytes first; tokio's files settled; the writer never shut down;
//! counts kept on error and across cancellation.
#![cfg(all(feature = "tokio", target_os = "linux"))]

mod tokio_support;

use std::io::Read;
use std::time::Duration;

use fdcopy::table::{FdKind, SocketFamily};
use fdcopy::tokio::{Copier, PipeSize};
use fdcopy::{Report, Strategy};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio_support::*;

const SMALL: u64 = fdcopy::table::SMALL_COPY;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Tcp,
    Unix,
    File,
    Pipe,
}

const ENDS: [End; 4] = [End::Tcp, End::Unix, End::File, End::Pipe];

/// The strategy the table gives the pair, when the copy is not known to be small.
fn fd_kind(end: End) -> FdKind {
    match end {
        End::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
        End::Unix => FdKind::StreamSocket(SocketFamily::Unix),
        End::File => FdKind::File,
        End::Pipe => FdKind::Pipe,
    }
}

fn kernel_strategy(src: End, dst: End) -> Strategy {
    use End::*;
    match (src, dst) {
        (Tcp | Unix, File | Tcp | Unix) => Strategy::SpliceViaPipe,
        (File, Tcp | Unix) => Strategy::Sendfile,
        (File, File) => Strategy::CopyFileRange,
        (File, Pipe) | (Pipe, _) | (Tcp | Unix, Pipe) => Strategy::Splice,
    }
}

/// A source holding stream `seed`'s first `len` bytes, with its feeding peer.
enum Source {
    Tcp(tokio::net::TcpStream, fdcopy_testkit::Peer<()>),
    Unix(tokio::net::UnixStream, fdcopy_testkit::Peer<()>),
    File(tokio::fs::File),
    Pipe(tokio::net::unix::pipe::Receiver, fdcopy_testkit::Peer<()>),
}

fn source(end: End, len: u64, seed: u64) -> Source {
    match end {
        End::Tcp => {
            let (t, s) = tcp();
            Source::Tcp(t, feed(s, len, seed))
        }
        End::Unix => {
            let (t, s) = unix();
            Source::Unix(t, feed(s, len, seed))
        }
        End::File => Source::File(tokio::fs::File::from_std(file_with_payload(len, seed, true))),
        End::Pipe => {
            let (r, w) = pipe_to_tokio();
            Source::Pipe(r, feed(w, len, seed))
        }
    }
}

/// A destination, with its verifying peer for the descriptors that have one.
enum Sink {
    Tcp(tokio::net::TcpStream, fdcopy_testkit::Peer<u64>),
    Unix(tokio::net::UnixStream, fdcopy_testkit::Peer<u64>),
    File(tokio::fs::File),
    Pipe(tokio::net::unix::pipe::Sender, fdcopy_testkit::Peer<u64>),
}

fn sink(end: End, seed: u64) -> Sink {
    match end {
        End::Tcp => {
            let (t, s) = tcp();
            Sink::Tcp(t, verify(s, seed))
        }
        End::Unix => {
            let (t, s) = unix();
            Sink::Unix(t, verify(s, seed))
        }
        End::File => Sink::File(tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap())),
        End::Pipe => {
            let (w, r) = pipe_from_tokio();
            Sink::Pipe(w, verify(r, seed))
        }
    }
}

/// Runs `$body` with `$r` and `$w` bound to the concrete tokio types of the two ends.
macro_rules! with_ends {
    ($src:expr, $dst:expr, |$r:ident, $w:ident| $body:expr) => {
        match ($src, $dst) {
            (Source::Tcp($r, _), Sink::Tcp($w, _)) => $body,
            (Source::Tcp($r, _), Sink::Unix($w, _)) => $body,
            (Source::Tcp($r, _), Sink::File($w)) => $body,
            (Source::Tcp($r, _), Sink::Pipe($w, _)) => $body,
            (Source::Unix($r, _), Sink::Tcp($w, _)) => $body,
            (Source::Unix($r, _), Sink::Unix($w, _)) => $body,
            (Source::Unix($r, _), Sink::File($w)) => $body,
            (Source::Unix($r, _), Sink::Pipe($w, _)) => $body,
            (Source::File($r), Sink::Tcp($w, _)) => $body,
            (Source::File($r), Sink::Unix($w, _)) => $body,
            (Source::File($r), Sink::File($w)) => $body,
            (Source::File($r), Sink::Pipe($w, _)) => $body,
            (Source::Pipe($r, _), Sink::Tcp($w, _)) => $body,
            (Source::Pipe($r, _), Sink::Unix($w, _)) => $body,
            (Source::Pipe($r, _), Sink::File($w)) => $body,
            (Source::Pipe($r, _), Sink::Pipe($w, _)) => $body,
        }
    };
}

/// Copies `len` bytes from `src` to `dst` (with the `Copier`, or the drop-in), then checks
/// everything: the bytes at the far end, the count, the file positions, and the peers.
async fn pair(src_end: End, dst_end: End, len: u64, seed: u64, drop_in: bool, rt: &str) -> Option<Report> {
    let what = format!("{rt}: {src_end:?} -> {dst_end:?}, {len} bytes, drop-in {drop_in}");
    let mut src = source(src_end, len, seed);
    let mut dst = sink(dst_end, seed);
    let result = with_ends!(&mut src, &mut dst, |r, w| {
        if drop_in {
            fdcopy::tokio::copy(r, w).await.map(|n| (n, None))
        } else {
            Copier::new()
                .copy(r, w)
                .await
                .map(|rep| (rep.written(), Some(rep)))
                .map_err(Into::into)
        }
    });
    let (n, report) = result.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(n, len, "{what}: count");
    // The source is at its end.
    match src {
        Source::Tcp(_, p) | Source::Unix(_, p) | Source::Pipe(_, p) => p.join().unwrap(),
        Source::File(mut f) => assert_eq!(position(&mut f).await, len, "{what}: source position"),
    }
    // The destination holds exactly the stream.
    match dst {
        Sink::Tcp(w, p) => {
            drop(w);
            assert_eq!(p.join().unwrap(), len, "{what}: bytes at the peer");
        }
        Sink::Unix(w, p) => {
            drop(w);
            assert_eq!(p.join().unwrap(), len, "{what}: bytes at the peer");
        }
        Sink::Pipe(w, p) => {
            drop(w);
            assert_eq!(p.join().unwrap(), len, "{what}: bytes at the peer");
        }
        Sink::File(mut f) => {
            assert_eq!(position(&mut f).await, len, "{what}: destination position");
            let mut std = f.into_std().await;
            check_file(&mut std, len, seed, &what);
        }
    }
    if let Some(rep) = &report {
        // Only a file source has a size: within the pair's small-copy bound it takes the loop.
        let want = if src_end == End::File && len <= fdcopy::table::small_copy(FdKind::File, fd_kind(dst_end)) {
            Strategy::Buffered
        } else {
            kernel_strategy(src_end, dst_end)
        };
        assert_eq!(rep.strategy(), want, "{what}: {rep:?}");
        if len > 0 && want != Strategy::Buffered {
            assert_eq!(rep.bytes_by(want), len, "{what}: all by the kernel path: {rep:?}");
        }
    }
    report
}

/// Every pair, sizes on both sides of the small-copy bound and of the 1 MiB pipe (4 MiB + 3
/// arrived as 2 MiB with tokio-splice2: the truncation regression), through the `Copier`.
#[test]
fn every_pair_at_every_size() {
    both(|rt| async move {
        let mut seed = 0;
        for src in ENDS {
            for dst in ENDS {
                for len in [0, 1, 64 << 10, (4 << 20) + 3, 16 << 20] {
                    seed += 1;
                    pair(src, dst, len, seed, false, rt).await;
                }
            }
        }
    });
}

/// The drop-in, for every pair: same bytes and counts.
#[test]
fn the_drop_in_for_every_pair() {
    both(|rt| async move {
        let mut seed = 100;
        for src in ENDS {
            for dst in ENDS {
                seed += 1;
                pair(src, dst, (1 << 20) + 17, seed, true, rt).await;
            }
        }
    });
}

/// 1 GiB socket → file and file → socket: far more than any pipe holds.
#[test]
fn one_gib_each_way() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rep = pair(End::Tcp, End::File, 1 << 30, 7, false, "multi_thread")
            .await
            .unwrap();
        assert_eq!(rep.bytes_by(Strategy::SpliceViaPipe), 1 << 30);
        let rep = pair(End::File, End::Tcp, 1 << 30, 8, false, "multi_thread")
            .await
            .unwrap();
        assert_eq!(rep.bytes_by(Strategy::Sendfile), 1 << 30);
    });
}

/// A `Take` limit holds inside the kernel paths: the copy moves exactly the limit, and the
/// bytes past it stay in the socket (or pipe, or file) for the next reader. Limits straddle
/// the pipe's capacity, so the last burst is cut.
#[test]
fn limits_are_exact_and_the_rest_stays_unread() {
    both(|rt| async move {
        for limit in [SMALL + 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (3 << 20) + 5] {
            let total = limit + 100_000;
            // Socket → file.
            let (mut s, peer) = tcp();
            let feeder = feed(peer, total, 9);
            let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let rep = Copier::new().copy(&mut (&mut s).take(limit), &mut f).await.unwrap();
            assert_eq!(rep.written(), limit, "{rt} limit {limit}");
            assert_eq!(rep.strategy(), Strategy::SpliceViaPipe);
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            assert_eq!(
                rest.len() as u64,
                total - limit,
                "{rt} limit {limit}: left in the socket"
            );
            let mut want = vec![0u8; rest.len()];
            fdcopy_testkit::fill(9, limit, &mut want);
            assert!(rest == want, "{rt} limit {limit}: the bytes after the limit");
            feeder.join().unwrap();
            let mut std = f.into_std().await;
            check_file(&mut std, limit, 9, "limited socket -> file");
            // File → socket (sendfile): the file position stops at the limit.
            let mut src = tokio::fs::File::from_std(file_with_payload(total, 10, true));
            let (mut t, peer) = tcp();
            let checker = verify(peer, 10);
            let n = fdcopy::tokio::copy(&mut (&mut src).take(limit), &mut t).await.unwrap();
            assert_eq!(n, limit);
            assert_eq!(position(&mut src).await, limit, "{rt} limit {limit}: file position");
            drop(t);
            assert_eq!(checker.join().unwrap(), limit);
            // Pipe → socket (direct splice between two watched descriptors).
            let (mut r, w) = pipe_to_tokio();
            let feeder = feed(w, total, 11);
            let (mut t, peer) = tcp();
            let checker = verify(peer, 11);
            let rep = Copier::new().copy(&mut (&mut r).take(limit), &mut t).await.unwrap();
            assert_eq!((rep.written(), rep.strategy()), (limit, Strategy::Splice), "{rt}");
            drop(t);
            assert_eq!(checker.join().unwrap(), limit);
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest.len() as u64, total - limit, "{rt} limit {limit}: left in the pipe");
            feeder.join().unwrap();
        }
    });
}

/// A `BufReader`'s bytes go out first (through user space), then the socket is spliced; the
/// order is kept and the limit above the `BufReader` counts both.
#[test]
fn buffered_bytes_go_out_first() {
    both(|rt| async move {
        let total = (2 << 20) + 333;
        let (s, peer) = tcp();
        let feeder = feed(peer, total, 12);
        let mut r = tokio::io::BufReader::with_capacity(64 << 10, s);
        let held = r.fill_buf().await.unwrap().len() as u64;
        assert!(held > 0);
        let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
        let rep = Copier::new().copy(&mut r, &mut f).await.unwrap();
        assert_eq!(rep.written(), total, "{rt}");
        assert_eq!(rep.bytes_by(Strategy::Buffered), held, "{rt}: {rep:?}");
        assert_eq!(rep.bytes_by(Strategy::SpliceViaPipe), total - held, "{rt}: {rep:?}");
        feeder.join().unwrap();
        let mut std = f.into_std().await;
        check_file(&mut std, total, 12, "BufReader<TcpStream> -> file");
        // Take above BufReader: the buffered bytes count against the limit.
        let (s, peer) = tcp();
        let feeder = feed(peer, total, 13);
        let mut r = tokio::io::BufReader::with_capacity(64 << 10, s);
        let held = r.fill_buf().await.unwrap().len() as u64;
        let limit = held + (1 << 20);
        let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
        let rep = Copier::new().copy(&mut (&mut r).take(limit), &mut f).await.unwrap();
        assert_eq!(rep.written(), limit, "{rt}");
        assert_eq!(rep.bytes_by(Strategy::Buffered), held, "{rt}: {rep:?}");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest.len() as u64, total - limit);
        feeder.join().unwrap();
        let mut std = f.into_std().await;
        check_file(&mut std, limit, 13, "Take<BufReader<TcpStream>> -> file");
    });
}

/// A `BufWriter` destination is flushed before the kernel path writes past it.
#[test]
fn a_buf_writer_is_flushed_first() {
    both(|rt| async move {
        let (t, peer) = tcp();
        let reader = fdcopy_testkit::drain(peer);
        let mut w = tokio::io::BufWriter::new(t);
        w.write_all(b"head:").await.unwrap();
        let mut src = tokio::fs::File::from_std(file_with_payload(1 << 20, 14, true));
        let rep = Copier::new().copy(&mut src, &mut w).await.unwrap();
        assert_eq!(rep.strategy(), Strategy::Sendfile, "{rt}");
        w.write_all(b":tail").await.unwrap();
        w.shutdown().await.unwrap();
        drop(w);
        let got = reader.join().unwrap();
        let mut want = b"head:".to_vec();
        want.extend(fdcopy_testkit::payload(1 << 20, 14));
        want.extend(b":tail");
        assert!(got == want, "{rt}: {} bytes", got.len());
    });
}

/// `tokio::fs::File`s are settled before the kernel path: a source that read ahead continues
/// at its logical position, a destination's write in flight lands first, and both positions
/// are right afterwards.
#[test]
fn tokio_files_are_settled() {
    both(|rt| async move {
        let len = 3 << 20;
        let mut src = tokio::fs::File::from_std(file_with_payload(len, 15, true));
        let mut first = vec![0u8; 1000];
        src.read_exact(&mut first).await.unwrap(); // tokio reads ahead (up to 2 MiB)
        let mut dst = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
        dst.write_all(&first).await.unwrap(); // in flight on the blocking pool
        let rep = Copier::new().copy(&mut src, &mut dst).await.unwrap();
        assert_eq!(rep.written(), len - 1000, "{rt}: {rep:?}");
        assert_eq!(rep.strategy(), Strategy::CopyFileRange, "{rt}");
        assert_eq!(position(&mut src).await, len, "{rt}: source position");
        assert_eq!(position(&mut dst).await, len, "{rt}: destination position");
        dst.write_all(b"!").await.unwrap();
        dst.flush().await.unwrap();
        let mut std = dst.into_std().await;
        std.set_len(len).unwrap();
        check_file(&mut std, len, 15, "settled tokio files");
    });
}

/// The resumable `Copier` dropped at its first await points, the first of which is the seek
/// that settles a `tokio::fs::File` source (it runs on the blocking pool): polled again, it
/// waits for that seek instead of starting another, and every byte from the logical position
/// arrives once, by `sendfile`, with the exact count and the source at its end.
#[test]
fn a_copier_dropped_while_its_file_source_settles_resumes() {
    both(|rt| async move {
        let len = 3u64 << 20;
        let mut src = tokio::fs::File::from_std(file_with_payload(len, 21, true));
        let mut first = vec![0u8; 1000];
        src.read_exact(&mut first).await.unwrap(); // tokio reads ahead
        let (mut dst, far) = tcp();
        let checker = fdcopy_testkit::Peer::spawn(move || {
            let mut far = far;
            let mut v = fdcopy_testkit::Verifier::new(fdcopy_testkit::Pattern::shared(), 21, 1000);
            fdcopy_testkit::verify_reader(&mut far, &mut v, u64::MAX).map_err(std::io::Error::other)
        });
        let mut copier = Copier::new();
        let mut done = None;
        let mut interrupted = 0;
        for _ in 0..3 {
            tokio::select! {
                biased;
                r = copier.copy(&mut src, &mut dst) => {
                    done = Some(r);
                    break;
                }
                _ = std::future::ready(()) => interrupted += 1,
            }
            tokio::task::yield_now().await;
        }
        let rep = match done {
            Some(r) => r,
            None => copier.copy(&mut src, &mut dst).await,
        }
        .unwrap();
        assert!(interrupted > 0, "{rt}: the first poll finished the copy");
        assert_eq!(rep.written(), len - 1000, "{rt}: {rep:?}");
        assert_eq!(rep.strategy(), Strategy::Sendfile, "{rt}: {rep:?}");
        assert_eq!(rep.bytes_by(Strategy::Sendfile), len - 1000, "{rt}: {rep:?}");
        assert_eq!(copier.in_flight(), 0);
        assert_eq!(position(&mut src).await, len, "{rt}: source position");
        drop(dst);
        assert_eq!(checker.join().unwrap(), len - 1000, "{rt}: bytes at the peer");
    });
}

/// Like tokio's `copy`, fdcopy's never shuts the writer down: the destination stays usable.
#[test]
fn copy_never_shuts_the_writer_down() {
    both(|rt| async move {
        let (mut src, peer) = tcp();
        let feeder = feed(peer, 100_000, 16);
        let (mut dst, far) = tcp();
        let reader = fdcopy_testkit::drain(far);
        let n = fdcopy::tokio::copy(&mut src, &mut dst).await.unwrap();
        assert_eq!(n, 100_000);
        dst.write_all(b"after").await.unwrap();
        drop(dst);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), 100_005, "{rt}");
        assert_eq!(&got[100_000..], b"after");
        feeder.join().unwrap();
    });
}

/// An error keeps the exact count: a destination peer that stops reading and closes. What
/// the report says was written is what the progress callback heard, and the peer never got
/// more than that.
#[test]
fn an_error_keeps_the_count() {
    both(|rt| async move {
        let (mut src, peer) = tcp();
        let feeder = fdcopy_testkit::Peer::spawn(move || {
            let mut peer = peer;
            let _ = fdcopy_testkit::write_payload(&mut peer, 17, 0, 64 << 20);
            Ok(())
        });
        let (mut dst, far) = tcp();
        let closer = fdcopy_testkit::Peer::spawn(move || {
            let mut far = far;
            let mut buf = vec![0u8; 1 << 20];
            let mut got = 0u64;
            while got < 3 << 20 {
                got += far.read(&mut buf)? as u64;
            }
            // Reset: unread bytes make close(2) send RST.
            Ok(got)
        });
        let mut heard = 0u64;
        let mut on_progress = |p: fdcopy::Progress| heard += p.chunk;
        let mut copier = Copier::new().progress(&mut on_progress);
        let e = copier.copy(&mut src, &mut dst).await.unwrap_err();
        let got = closer.join().unwrap();
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{rt}: {e:?}"
        );
        drop(copier);
        assert_eq!(e.written(), heard, "{rt}: the count is what moved");
        assert!(
            e.written() >= got,
            "{rt}: the peer read {got}, more than the {} written",
            e.written()
        );
        assert_eq!(e.report().strategy(), Strategy::SpliceViaPipe, "{rt}");
        drop(src);
        let _ = feeder.join();
    });
}

/// A `select!` loop that drops the copy's future again and again, while the sender trickles:
/// the `Copier` resumes where it was, every byte arrives once, and the count is exact.
#[test]
fn a_dropped_copy_future_resumes_losing_nothing() {
    both(|rt| async move {
        let total = 6u64 << 20;
        let (mut src, peer) = tcp();
        let feeder = fdcopy_testkit::Peer::spawn(move || {
            let mut peer = peer;
            let mut off = 0;
            while off < total {
                let n = (256u64 << 10).min(total - off);
                fdcopy_testkit::write_payload(&mut peer, 18, off, n)?;
                off += n;
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(())
        });
        let (mut dst, far) = unix();
        let checker = verify(far, 18);
        let mut copier = Copier::new().pipe_size(PipeSize::Max(64 << 10));
        let mut interrupted = 0;
        let mut seen_in_flight = false;
        let rep = loop {
            tokio::select! {
                r = copier.copy(&mut src, &mut dst) => break r.unwrap(),
                _ = tokio::time::sleep(Duration::from_micros(300)) => {
                    interrupted += 1;
                    seen_in_flight |= copier.in_flight() > 0;
                }
            }
        };
        assert_eq!(rep.written(), total, "{rt}: after {interrupted} interruptions");
        assert_eq!(copier.in_flight(), 0);
        assert!(interrupted > 0, "{rt}: the loop never interrupted the copy");
        drop(dst);
        assert_eq!(checker.join().unwrap(), total, "{rt}");
        feeder.join().unwrap();
        eprintln!("INFO {rt}: {interrupted} interruptions, bytes in flight at one: {seen_in_flight}");
    });
}

/// Types the drop-in does not know take tokio's loop, with tokio's result.
#[test]
fn unknown_types_take_tokio_s_loop() {
    both(|rt| async move {
        let data = fdcopy_testkit::payload(300_000, 19);
        let mut src: &[u8] = &data;
        let mut out = Vec::new();
        assert_eq!(fdcopy::tokio::copy(&mut src, &mut out).await.unwrap(), 300_000);
        assert!(out == data, "{rt}");
        let rep = Copier::new().copy(&mut &data[..], &mut Vec::new()).await.unwrap();
        assert_eq!(rep.strategy(), Strategy::Buffered);
        // A duplex stream (tokio's in-memory pipe) into a socket: end of file when the writer
        // half is dropped.
        let (mut a, mut b) = tokio::io::duplex(4096);
        let d2 = data.clone();
        let writer = tokio::spawn(async move {
            a.write_all(&d2).await.unwrap();
        });
        let (mut t, far) = tcp();
        let reader = fdcopy_testkit::drain(far);
        let n = fdcopy::tokio::copy(&mut b, &mut t).await.unwrap();
        assert_eq!(n, data.len() as u64, "{rt}");
        writer.await.unwrap();
        drop(t);
        assert!(reader.join().unwrap() == data, "{rt}");
    });
}

/// Denying the loop on a pair no kernel call takes fails with `Unsupported`, nothing copied.
#[test]
fn denying_the_loop_fails_where_no_kernel_path_exists() {
    both(|rt| async move {
        let r = Copier::new()
            .deny(Strategy::Buffered)
            .copy(&mut &b"in memory"[..], &mut Vec::new())
            .await;
        let e = r.unwrap_err();
        assert_eq!((e.kind(), e.written()), (std::io::ErrorKind::Unsupported, 0), "{rt}");
        // And a pair with one still copies with it.
        let (mut s, peer) = tcp();
        let feeder = feed(peer, 1 << 20, 20);
        let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
        let rep = Copier::new()
            .deny(Strategy::Buffered)
            .copy(&mut s, &mut f)
            .await
            .unwrap();
        assert_eq!((rep.written(), rep.strategy()), (1 << 20, Strategy::SpliceViaPipe));
        feeder.join().unwrap();
    });
}

/// Progress events add up to the count, and a blocking-pool `FileIo` copies the same bytes.
#[test]
fn progress_adds_up_and_file_io_blocking_copies_the_same() {
    both(|rt| async move {
        for file_io in [fdcopy::tokio::FileIo::Inline, fdcopy::tokio::FileIo::Blocking] {
            let len = (40 << 20) + 9;
            let mut src = tokio::fs::File::from_std(file_with_payload(len, 21, true));
            let mut dst = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let mut events = Vec::new();
            let mut on_progress = |p: fdcopy::Progress| events.push(p);
            let rep = Copier::new()
                .file_io(file_io)
                .progress(&mut on_progress)
                .copy(&mut src, &mut dst)
                .await
                .unwrap();
            assert_eq!(
                (rep.written(), rep.strategy()),
                (len, Strategy::CopyFileRange),
                "{rt} {file_io:?}"
            );
            let mut sum = 0;
            for p in &events {
                sum += p.chunk;
                assert_eq!(p.written, sum);
                assert!(p.chunk <= 16 << 20, "a file chunk is bounded: {p:?}");
            }
            assert_eq!(sum, len);
            let mut std = dst.into_std().await;
            check_file(&mut std, len, 21, "file -> file");
            // Socket → file, the pump on the blocking pool.
            let (mut s, peer) = tcp();
            let feeder = feed(peer, len, 22);
            let mut dst = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let rep = Copier::new().file_io(file_io).copy(&mut s, &mut dst).await.unwrap();
            assert_eq!(
                (rep.written(), rep.strategy()),
                (len, Strategy::SpliceViaPipe),
                "{rt} {file_io:?}"
            );
            feeder.join().unwrap();
            let mut std = dst.into_std().await;
            check_file(&mut std, len, 22, "socket -> file");
        }
    });
}

/// A prefix (bytes the caller read already, as hyper's upgraded `read_buf`) goes out first,
/// before a tokio `BufReader`'s bytes and the spliced rest.
#[test]
fn a_prefix_goes_out_before_everything() {
    both(|rt| async move {
        let total = (1 << 20) + 7;
        let (s, peer) = tcp();
        let feeder = feed(peer, total, 24);
        let mut r = tokio::io::BufReader::with_capacity(4096, s);
        let held = r.fill_buf().await.unwrap().len() as u64;
        let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
        let rep = Copier::new().prefix(b"<<head>>").copy(&mut r, &mut f).await.unwrap();
        assert_eq!(rep.written(), total + 8, "{rt}");
        assert_eq!(rep.bytes_by(Strategy::Buffered), held + 8, "{rt}: {rep:?}");
        assert_eq!(rep.bytes_by(Strategy::SpliceViaPipe), total - held, "{rt}: {rep:?}");
        feeder.join().unwrap();
        let mut std = f.into_std().await;
        let mut got = Vec::new();
        std::io::Seek::rewind(&mut std).unwrap();
        std.read_to_end(&mut got).unwrap();
        assert_eq!(&got[..8], b"<<head>>");
        assert!(got[8..] == fdcopy_testkit::payload(total as usize, 24)[..], "{rt}");
    });
}

/// One `Copier` for several copies in a row, on the loop and on a kernel path: each copy
/// starts afresh and reports its own bytes.
#[test]
fn a_copier_runs_copy_after_copy() {
    both(|rt| async move {
        let mut copier = Copier::new();
        for round in 0..3u64 {
            let data = fdcopy_testkit::payload(50_000 + round as usize, round);
            let mut out = Vec::new();
            let rep = copier.copy(&mut &data[..], &mut out).await.unwrap();
            assert_eq!(
                (rep.written(), rep.strategy()),
                (data.len() as u64, Strategy::Buffered),
                "{rt} {round}"
            );
            assert!(out == data, "{rt} round {round}");
            let (mut s, peer) = tcp();
            let feeder = feed(peer, 200_000, round);
            let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let rep = copier.copy(&mut s, &mut f).await.unwrap();
            assert_eq!(
                (rep.written(), rep.strategy()),
                (200_000, Strategy::SpliceViaPipe),
                "{rt} {round}"
            );
            feeder.join().unwrap();
        }
    });
}
