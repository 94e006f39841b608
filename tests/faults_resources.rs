//! Real resource faults on real descriptors (testing.md §3): a full filesystem (a private
//! tmpfs), a file size limit (RLIMIT_FSIZE), `/dev/full`, peers that close or reset mid-copy,
//! SIGPIPE's default disposition, a storm of signals without SA_RESTART; and the resources of
//! the engine itself: descriptor leaks, the intermediate-pipe pool's hygiene, close-on-exec.
//! Each failing copy must report the exact count, and the destination must hold exactly that
//! prefix.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{tcp_pair, unix_pair};
use fdcopy::{Copier, CopyError, PageCache, Report, Strategy};
use fdcopy_testkit::payload;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Checks a copy that failed with `errno` after moving some bytes: the count is the
/// destination's length and offset, the destination holds exactly that prefix, `strategy`
/// moved it, and a file source's offset (`src_pos`, kernel paths) equals it. Returns the count.
fn check_short(
    res: Result<Report, CopyError>,
    errno: i32,
    dst: &File,
    data: &[u8],
    strategy: Strategy,
    src_pos: Option<u64>,
    what: &str,
) -> u64 {
    let e = match res {
        Ok(r) => panic!("{what}: expected {}, copied {r:?}", errno_name(errno)),
        Err(e) => e,
    };
    assert_eq!(e.raw_os_error(), Some(errno), "{what}: {e:?}");
    let got = file_bytes(dst);
    let n = e.written();
    assert!(
        n > 0 && (n as usize) < data.len(),
        "{what}: count {n} of {}",
        data.len()
    );
    assert_eq!(got.len() as u64, n, "{what}: destination length vs count ({e:?})");
    is_prefix(&got, data, what);
    assert_eq!(offset(dst.as_fd()), n, "{what}: destination offset");
    assert_eq!(e.report().written(), n, "{what}");
    assert_eq!(e.report().bytes_by(strategy), n, "{what}: {e:?}");
    if let Some(p) = src_pos {
        assert_eq!(p, n, "{what}: source offset");
    }
    eprintln!("INFO {what}: {} after {n} bytes ({:?})", errno_name(errno), e.report());
    n
}

fn new_file_in(dir: &std::path::Path, name: &str) -> File {
    File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.join(name))
        .unwrap()
}

/// A stream source and the lenient peer thread feeding it.
type Fed<S> = (S, std::thread::JoinHandle<u64>);

/// The receiving end of a loopback TCP connection whose peer sends `data`.
fn fed_tcp(data: &Arc<Vec<u8>>) -> Fed<TcpStream> {
    let (c, s) = tcp_pair();
    (s, feed_lenient(c, data.clone()))
}

/// The reading end of a pipe whose peer writes `data`.
fn fed_pipe(data: &Arc<Vec<u8>>) -> Fed<io::PipeReader> {
    let (r, w) = io::pipe().unwrap();
    (r, feed_lenient(w, data.clone()))
}

// ---------------------------------------------------------------------------------------------
// ENOSPC on a 1 MiB private tmpfs: every kernel path into a file, and the loop.

#[test]
fn enospc_file_to_file_copy_file_range() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    // Source and destination on the same tmpfs: copy_file_range runs, until the space ends.
    let data = payload(600_000, 21);
    let mut src = new_file_in(&m.path, "src");
    src.write_all(&data).unwrap();
    src.rewind().unwrap();
    let mut dst = new_file_in(&m.path, "dst");
    let res = Copier::new().copy(&mut src, &mut dst);
    let pos = offset(src.as_fd());
    check_short(
        res,
        libc::ENOSPC,
        &dst,
        &data,
        Strategy::CopyFileRange,
        Some(pos),
        "cfr into full tmpfs",
    );
    assert_eq!(pos, offset(dst.as_fd()));
}

#[test]
fn enospc_file_to_file_sendfile() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    // ext4 → tmpfs: copy_file_range declines (EXDEV), sendfile runs until the space ends.
    let data = payload(2 << 20, 22);
    let mut src = common::file_with(&data, 0);
    let mut dst = new_file_in(&m.path, "dst");
    let res = Copier::new().copy(&mut src, &mut dst);
    let pos = offset(src.as_fd());
    check_short(
        res,
        libc::ENOSPC,
        &dst,
        &data,
        Strategy::Sendfile,
        Some(pos),
        "sendfile into full tmpfs",
    );
}

#[test]
fn enospc_pipe_to_file_splice() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    let data = Arc::new(payload(2 << 20, 23));
    let (mut r, feeder) = fed_pipe(&data);
    let mut dst = new_file_in(&m.path, "dst");
    let res = Copier::new().copy(&mut r, &mut dst);
    let n = check_short(
        res,
        libc::ENOSPC,
        &dst,
        &data,
        Strategy::Splice,
        None,
        "splice pipe -> full tmpfs",
    );
    // Nothing was lost: what the file did not take is still in the pipe, in order.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    same_bytes(&rest, &data[n as usize..], "the pipe after ENOSPC");
    feeder.join().unwrap();
}

#[test]
fn enospc_tcp_to_file_splice_via_pipe() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    tcp_into_full_tmpfs(&m.path, "dst", 24);
}

/// A 4 MiB TCP stream spliced into a file of the full 1 MiB tmpfs at `dir`: ENOSPC, with the
/// exact count and prefix.
fn tcp_into_full_tmpfs(dir: &std::path::Path, name: &str, seed: u64) {
    let data = Arc::new(payload(4 << 20, seed));
    let (mut s, feeder) = fed_tcp(&data);
    let mut dst = new_file_in(dir, name);
    let res = Copier::new().copy(&mut s, &mut dst);
    check_short(
        res,
        libc::ENOSPC,
        &dst,
        &data,
        Strategy::SpliceViaPipe,
        None,
        "tcp -> full tmpfs",
    );
    drop(s);
    feeder.join().unwrap();
}

#[test]
fn enospc_buffered_loop() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    // An in-memory source: only the loop can copy it. A BufRead source is consumed by exactly
    // what the file accepted.
    let data = payload(2 << 20, 25);
    let mut slice: &[u8] = &data;
    let mut dst = new_file_in(&m.path, "mem");
    let res = Copier::new().copy(&mut slice, &mut dst);
    let n = check_short(
        res,
        libc::ENOSPC,
        &dst,
        &data,
        Strategy::Buffered,
        None,
        "loop memory -> full tmpfs",
    );
    assert_eq!(
        slice.len() as u64,
        data.len() as u64 - n,
        "the slice advanced by the count"
    );

    // A socket source with the kernel path denied: the loop, same count rule.
    let m2 = private_tmpfs("1m").unwrap();
    let data = Arc::new(payload(4 << 20, 26));
    let (mut s, feeder) = fed_tcp(&data);
    let mut dst = new_file_in(&m2.path, "tcp");
    let res = Copier::new().deny(Strategy::SpliceViaPipe).copy(&mut s, &mut dst);
    check_short(
        res,
        libc::ENOSPC,
        &dst,
        &data,
        Strategy::Buffered,
        None,
        "loop tcp -> full tmpfs",
    );
    drop(s);
    feeder.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// EFBIG from RLIMIT_FSIZE (per process: Pattern B).

#[test]
fn efbig_from_rlimit_fsize() {
    expect_child_ok("child", "efbig", LIMIT);
}

fn child_efbig() {
    const CAP: u64 = 1 << 20;
    let data = Arc::new(payload(3 << 20, 27));
    // Sources first: the limit applies to every regular file this process writes.
    let mut f1 = common::file_with(&data, 0);
    let mut f2 = common::file_with(&data, 0);
    // SAFETY: signal disposition and rlimit of this child process only.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let lim = libc::rlimit {
            rlim_cur: CAP,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
    let exact = |n: u64, what: &str| assert_eq!(n, CAP, "{what}: the count is the limit");

    let mut dst = tempfile::tempfile().unwrap();
    let res = Copier::new().copy(&mut f1, &mut dst);
    let pos = offset(f1.as_fd());
    exact(
        check_short(res, libc::EFBIG, &dst, &data, Strategy::CopyFileRange, Some(pos), "cfr"),
        "cfr",
    );

    let mut dst = tempfile::tempfile().unwrap();
    let res = Copier::new().deny(Strategy::CopyFileRange).copy(&mut f2, &mut dst);
    let pos = offset(f2.as_fd());
    exact(
        check_short(res, libc::EFBIG, &dst, &data, Strategy::Sendfile, Some(pos), "sendfile"),
        "sendfile",
    );

    let (mut r, feeder) = fed_pipe(&data);
    let mut dst = tempfile::tempfile().unwrap();
    let res = Copier::new().copy(&mut r, &mut dst);
    exact(
        check_short(res, libc::EFBIG, &dst, &data, Strategy::Splice, None, "splice pipe"),
        "splice",
    );
    drop(r);
    feeder.join().unwrap();

    let (mut s, feeder) = fed_tcp(&data);
    let mut dst = tempfile::tempfile().unwrap();
    let res = Copier::new().copy(&mut s, &mut dst);
    exact(
        check_short(
            res,
            libc::EFBIG,
            &dst,
            &data,
            Strategy::SpliceViaPipe,
            None,
            "tcp via pipe",
        ),
        "tcp",
    );
    drop(s);
    feeder.join().unwrap();

    let mut slice: &[u8] = &data;
    let mut dst = tempfile::tempfile().unwrap();
    let res = Copier::new().copy(&mut slice, &mut dst);
    exact(
        check_short(res, libc::EFBIG, &dst, &data, Strategy::Buffered, None, "loop"),
        "loop",
    );
}

// ---------------------------------------------------------------------------------------------
// /dev/full: the kernel calls decline (EINVAL), then the loop's write fails: ENOSPC, count 0.

#[test]
fn dev_full_declines_then_enospc() {
    if !std::path::Path::new("/dev/full").exists() {
        skip!("no /dev/full");
    }
    let full = || File::options().write(true).open("/dev/full").unwrap();
    let data = Arc::new(payload(1 << 20, 28));
    let check = |res: Result<Report, CopyError>, what: &str| {
        let e = res.expect_err(what);
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{what}: {e:?}");
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{what}");
        assert_eq!(e.written(), 0, "{what}: {e:?}");
        assert_eq!(e.report().written(), 0, "{what}: {e:?}");
        eprintln!(
            "INFO /dev/full {what}: ENOSPC, 0 written, last strategy {:?}",
            e.report().last()
        );
    };
    let mut src = common::file_with(&data, 0);
    check(
        Copier::new().copy(&mut src, &mut full()),
        "file (sendfile EINVAL -> loop)",
    );

    let (mut r, feeder) = fed_pipe(&data);
    check(Copier::new().copy(&mut r, &mut full()), "pipe (splice EINVAL -> loop)");
    drop(r);
    feeder.join().unwrap();

    let (mut s, feeder) = fed_tcp(&data);
    check(
        Copier::new().copy(&mut s, &mut full()),
        "tcp (drain EINVAL -> rescue write)",
    );
    drop(s);
    feeder.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Peers that go away: EPIPE, ECONNRESET.

/// A peer that reads at least `n` bytes, then closes its end (unread data makes TCP reset).
fn reader_that_quits<R: Read + Send + 'static>(mut r: R, n: usize) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 16 << 10];
        while got.len() < n {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
        }
        got
    })
}

fn check_peer_gone(
    res: Result<Report, CopyError>,
    errnos: &[i32],
    got: &[u8],
    data: &[u8],
    strategy: Strategy,
    what: &str,
) {
    let e = match res {
        Ok(r) => panic!("{what}: expected an error, copied {r:?}"),
        Err(e) => e,
    };
    let errno = e.raw_os_error().unwrap_or(0);
    assert!(errnos.contains(&errno), "{what}: {e:?}");
    assert!(
        e.written() >= got.len() as u64,
        "{what}: peer read {} > count {}",
        got.len(),
        e.written()
    );
    assert!(!got.is_empty(), "{what}: the peer read nothing");
    is_prefix(got, data, what);
    assert_eq!(e.report().bytes_by(strategy), e.written(), "{what}: {e:?}");
    eprintln!(
        "INFO {what}: {} after {} bytes (peer read {})",
        errno_name(errno),
        e.written(),
        got.len()
    );
}

#[test]
fn epipe_file_to_unix_sendfile() {
    let data = payload(16 << 20, 31);
    let mut src = common::file_with(&data, 0);
    let (mut a, b) = unix_pair();
    let peer = reader_that_quits(b, 100_000);
    let res = Copier::new().copy(&mut src, &mut a);
    let got = peer.join().unwrap();
    let pos = offset(src.as_fd());
    if let Err(e) = &res {
        assert_eq!(e.written(), pos, "sendfile's count is the source offset");
    }
    check_peer_gone(
        res,
        &[libc::EPIPE, libc::ECONNRESET],
        &got,
        &data,
        Strategy::Sendfile,
        "file -> unix, peer closed",
    );
}

#[test]
fn epipe_file_to_tcp_sendfile() {
    let data = payload(16 << 20, 32);
    let mut src = common::file_with(&data, 0);
    let (mut c, s) = tcp_pair();
    let peer = reader_that_quits(s, 100_000);
    let res = Copier::new().copy(&mut src, &mut c);
    let got = peer.join().unwrap();
    let pos = offset(src.as_fd());
    if let Err(e) = &res {
        assert_eq!(e.written(), pos, "sendfile's count is the source offset");
    }
    let errs = [libc::EPIPE, libc::ECONNRESET];
    check_peer_gone(res, &errs, &got, &data, Strategy::Sendfile, "file -> tcp, peer closed");
}

#[test]
fn epipe_tcp_to_tcp_splice_via_pipe() {
    let data = Arc::new(payload(16 << 20, 33));
    let (mut s1, feeder) = fed_tcp(&data);
    let (mut c2, s2) = tcp_pair();
    let peer = reader_that_quits(s2, 100_000);
    let res = Copier::new().copy(&mut s1, &mut c2);
    let got = peer.join().unwrap();
    let errs = [libc::EPIPE, libc::ECONNRESET];
    check_peer_gone(
        res,
        &errs,
        &got,
        &data,
        Strategy::SpliceViaPipe,
        "tcp -> tcp, peer closed",
    );
    drop(s1);
    feeder.join().unwrap();
}

#[test]
fn epipe_pipe_to_unix_splice_keeps_the_rest() {
    let data = Arc::new(payload(8 << 20, 34));
    let (mut r, feeder) = fed_pipe(&data);
    let (mut a, b) = unix_pair();
    let peer = reader_that_quits(b, 100_000);
    let res = Copier::new().copy(&mut r, &mut a);
    let got = peer.join().unwrap();
    let n = res.as_ref().err().map_or(0, |e| e.written()) as usize;
    check_peer_gone(
        res,
        &[libc::EPIPE, libc::ECONNRESET],
        &got,
        &data,
        Strategy::Splice,
        "pipe -> unix, peer closed",
    );
    // splice consumed exactly what it delivered: the rest is still in the pipe.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    same_bytes(&rest, &data[n..], "the source pipe after EPIPE");
    feeder.join().unwrap();
}

/// A source peer that sends, then resets the connection (SO_LINGER 0, close) once the copy has
/// moved its first chunk.
fn resetting_peer(c: TcpStream, data: Arc<Vec<u8>>, go: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = c;
        let _ = c.write_all(&data);
        let _ = go.recv_timeout(Duration::from_secs(20));
        rustix::net::sockopt::set_socket_linger(&c, Some(Duration::ZERO)).unwrap();
        drop(c);
    })
}

#[test]
fn econnreset_from_the_source() {
    for deny_splice in [false, true] {
        let data = Arc::new(payload(512 << 10, 35));
        let (c, mut s) = tcp_pair();
        let (tx, rx) = mpsc::channel();
        let peer = resetting_peer(c, data.clone(), rx);
        let mut dst = tempfile::tempfile().unwrap();
        let mut on_progress = |_p: fdcopy::Progress| {
            let _ = tx.send(());
        };
        let mut copier = Copier::new().progress(&mut on_progress);
        if deny_splice {
            copier = copier.deny(Strategy::SpliceViaPipe);
        }
        let res = copier.copy(&mut s, &mut dst);
        peer.join().unwrap();
        let what = if deny_splice {
            "tcp -> file (loop), source reset"
        } else {
            "tcp -> file, source reset"
        };
        let e = res.expect_err(what);
        assert_eq!(e.raw_os_error(), Some(libc::ECONNRESET), "{what}: {e:?}");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        let got = file_bytes(&dst);
        assert!(!got.is_empty(), "{what}: nothing copied before the reset");
        assert_eq!(e.written(), got.len() as u64, "{what}");
        is_prefix(&got, &data, what);
        let strategy = if deny_splice {
            Strategy::Buffered
        } else {
            Strategy::SpliceViaPipe
        };
        assert_eq!(e.report().bytes_by(strategy), e.written(), "{what}: {e:?}");
        eprintln!("INFO {what}: ECONNRESET after {} bytes", e.written());
    }
}

// ---------------------------------------------------------------------------------------------
// SIGPIPE with the default disposition (Pattern B): what really happens.

/// What the children must show: `Some(true)` = killed by SIGPIPE, `Some(false)` = survived
/// with EPIPE, `None` = either (recorded, not asserted).
const SIGPIPE_CASES: [(&str, Option<bool>); 6] = [
    // The kernel raises SIGPIPE for sendfile/splice into a closed socket or pipe: no flag can
    // prevent it.
    ("sigpipe:sendfile-unix", Some(true)),
    ("sigpipe:splice-unix", Some(true)),
    ("sigpipe:via-pipe-unix", Some(true)),
    ("sigpipe:splice-pipe", Some(true)),
    // The loop into a socket writes with send(MSG_NOSIGNAL), as std's sockets do: it survives
    // with EPIPE.
    ("sigpipe:loop-unix", Some(false)),
    // write(2) into a pipe without readers: killed, as with std::io::copy.
    ("sigpipe:loop-pipe", Some(true)),
];

#[test]
fn sigpipe_default_disposition() {
    for (case, killed) in SIGPIPE_CASES {
        let run = run_child("child", case, LIMIT);
        assert!(
            run.stdout.contains("INFO reached the copy"),
            "{case}: {}\n{}",
            run.stdout,
            run.stderr
        );
        let outcome = match run.signal() {
            Some(libc::SIGPIPE) => "killed by SIGPIPE".to_string(),
            Some(s) => panic!("{case}: killed by signal {s}"),
            None => {
                assert!(run.status.success(), "{case}: {}\n{}", run.stdout, run.stderr);
                assert!(run.stdout.contains(&format!("CHILD-OK {case}")));
                "survived with EPIPE".to_string()
            }
        };
        eprintln!("INFO {case} (SIGPIPE = SIG_DFL): {outcome}");
        if let Some(killed) = killed {
            assert_eq!(run.signal() == Some(libc::SIGPIPE), killed, "{case}: {outcome}");
        }
    }
}

fn child_sigpipe(case: &str) {
    // SAFETY: restores the default disposition in this child process only.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let data = Arc::new(payload(1 << 20, 36));
    let reached = || {
        println!("INFO reached the copy");
        io::stdout().flush().unwrap();
    };
    let (mut a, b) = unix_pair();
    drop(b);
    let res = match case {
        "sigpipe:sendfile-unix" => {
            let mut f = common::file_with(&data, 0);
            reached();
            Copier::new().copy(&mut f, &mut a)
        }
        "sigpipe:splice-unix" => {
            // The payload fits in the pipe: no feeder thread that a closed pipe could kill.
            let (mut r, mut w) = io::pipe().unwrap();
            w.write_all(&data[..32 << 10]).unwrap();
            drop(w);
            reached();
            Copier::new().copy(&mut r, &mut a)
        }
        "sigpipe:via-pipe-unix" => {
            let (mut s, _feeder) = fed_tcp(&data);
            reached();
            Copier::new().copy(&mut s, &mut a)
        }
        "sigpipe:splice-pipe" => {
            let mut f = common::file_with(&data, 0);
            let (r, mut w) = io::pipe().unwrap();
            drop(r);
            reached();
            Copier::new().copy(&mut f, &mut w)
        }
        "sigpipe:loop-unix" => {
            let mut f = common::file_with(&data, 0);
            reached();
            Copier::new().deny(Strategy::Sendfile).copy(&mut f, &mut a)
        }
        "sigpipe:loop-pipe" => {
            let mut f = common::file_with(&data, 0);
            let (r, mut w) = io::pipe().unwrap();
            drop(r);
            reached();
            Copier::new().page_cache(PageCache::Isolate).copy(&mut f, &mut w)
        }
        other => panic!("unknown case {other}"),
    };
    let e = res.expect_err("a copy into a closed peer");
    assert_eq!(e.raw_os_error(), Some(libc::EPIPE), "{e:?}");
    assert_eq!(e.written(), 0, "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// A storm of signals without SA_RESTART across 256 MiB copies on every kernel path.

static SIGNALS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_alarm(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// A 1 ms interval timer whose SIGALRM goes to the calling thread (SIGEV_THREAD_ID): a
/// process-directed ITIMER_REAL signal would mostly land on libtest's idle main thread.
struct Storm(libc::timer_t);

impl Storm {
    fn on_this_thread() -> Storm {
        // SAFETY: plain C structs initialized field by field; the handler only touches an
        // atomic; the timer is deleted on drop.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = 0; // no SA_RESTART: blocking syscalls return EINTR or short counts
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()), 0);
            let mut sev: libc::sigevent = std::mem::zeroed();
            sev.sigev_notify = libc::SIGEV_THREAD_ID;
            sev.sigev_signo = libc::SIGALRM;
            sev.sigev_notify_thread_id = libc::gettid();
            let mut t: libc::timer_t = std::mem::zeroed();
            assert_eq!(libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut t), 0);
            let ms = libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            };
            let its = libc::itimerspec {
                it_interval: ms,
                it_value: ms,
            };
            assert_eq!(libc::timer_settime(t, 0, &its, std::ptr::null_mut()), 0);
            Storm(t)
        }
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        // SAFETY: the timer created in `on_this_thread`.
        unsafe {
            libc::timer_delete(self.0);
        }
    }
}

/// A large payload built fast in a debug build: 1 MiB blocks, each a different window of one
/// non-repeating sequence, so a lost, repeated or reordered chunk shows.
fn big_payload(len: usize, seed: u64) -> Vec<u8> {
    const BLOCK: usize = 1 << 20;
    let base = payload(BLOCK + 4096, seed);
    let mut v = Vec::with_capacity(len);
    let mut i = 0usize;
    while v.len() < len {
        let shift = (i * 7919) % 4093;
        let n = BLOCK.min(len - v.len());
        v.extend_from_slice(&base[shift..shift + n]);
        i += 1;
    }
    v
}

#[test]
fn signal_storm_on_every_kernel_path() {
    expect_child_ok("child", "storm", Duration::from_secs(180));
}

fn child_storm() {
    let data = Arc::new(big_payload(256 << 20, 37));
    let src_file = common::file_with(&data, 0);
    let pairs = [
        (End::File, End::File, Strategy::CopyFileRange),
        (End::File, End::Tcp, Strategy::Sendfile),
        (End::Tcp, End::File, Strategy::SpliceViaPipe),
        (End::Pipe, End::File, Strategy::Splice),
        (End::Tcp, End::Tcp, Strategy::SpliceViaPipe),
    ];
    for (s, d, strategy) in pairs {
        let mut src = match s {
            End::File => file_source(src_file.try_clone().unwrap()),
            _ => source(s, &data),
        };
        if let Src::File(f) = &mut src.side {
            f.rewind().unwrap();
        }
        let mut dst = sink(d);
        let before = SIGNALS.load(Ordering::Relaxed);
        let start = Instant::now();
        let res = {
            let _storm = Storm::on_this_thread();
            run_copy(&mut Copier::new(), &mut src.side, &mut dst.side)
        };
        let took = start.elapsed();
        let signals = SIGNALS.load(Ordering::Relaxed) - before;
        let spos = src.finish();
        let (got, dpos) = dst.finish();
        let what = format!("{s:?} -> {d:?} under SIGALRM every 1 ms");
        let r = res.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(r.written(), data.len() as u64, "{what}");
        assert_eq!(r.strategy(), strategy, "{what}: {r:?}");
        same_bytes(&got, &data, &what);
        if let Some(p) = spos {
            assert_eq!(p, data.len() as u64, "{what}: source offset");
        }
        if let Some(p) = dpos {
            assert_eq!(p, data.len() as u64, "{what}: destination offset");
        }
        assert!(signals > 0, "{what}: no signal arrived during the copy");
        println!("INFO {what}: 256 MiB exact, {signals} signals, {took:?}, {r:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The engine's own resources.

/// A pipe that held bytes when a copy failed is closed, never pooled: the next copy's bytes are
/// exact, the pool shrank by that pipe, and its descriptors are gone (Pattern B: nobody else
/// touches the pool).
#[test]
fn stranded_pipe_is_never_reused() {
    expect_child_ok("child", "stranded", LIMIT);
}

fn child_stranded() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => {
            println!("CHILD-SKIP stranded: {why}");
            return;
        }
    };
    // Prime the pool with one pipe.
    let warm = Arc::new(payload(1 << 20, 38));
    checked_copy(End::Tcp, End::File, &warm);
    let idle0 = fdcopy::__test::pipe_pool_idle();
    assert!(idle0 >= 1, "a successful tcp -> file copy pools its pipe");
    let fds0 = open_fds();

    tcp_into_full_tmpfs(&m.path, "full", 39);
    assert_eq!(
        fdcopy::__test::pipe_pool_idle(),
        idle0 - 1,
        "the pipe with stranded bytes went back to the pool"
    );
    assert_eq!(open_fds(), fds0 - 2, "the stranded pipe's two descriptors are closed");

    // The next copies take pipes from the pool (or new ones): their bytes are exact.
    for seed in 40..44 {
        let next = Arc::new(payload(3 << 20, seed));
        let r = checked_copy(End::Tcp, End::File, &next);
        assert_eq!(r.strategy(), Strategy::SpliceViaPipe);
    }
    println!(
        "INFO stranded pipe closed; pool {idle0} -> {}",
        fdcopy::__test::pipe_pool_idle()
    );
}

/// The pipe inodes this process has open (`pipe:[ino]` targets of /proc/self/fd).
fn pipe_inodes() -> std::collections::BTreeSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .map(|t| t.to_string_lossy().into_owned())
        .filter(|t| t.starts_with("pipe:"))
        .collect()
}

/// The intermediate pipe is close-on-exec: a process spawned while a copy holds it (from the
/// progress callback) does not inherit it. (The test process may hold inheritable pipes of its
/// own, such as cargo's jobserver: only pipes that appeared with the copy count. Pattern B, so
/// that the pool is empty and the copy's pipe is a new one.)
#[test]
fn internal_pipes_are_close_on_exec() {
    expect_child_ok("child", "cloexec", LIMIT);
}

fn child_cloexec() {
    assert_eq!(fdcopy::__test::pipe_pool_idle(), 0);
    let data = Arc::new(payload(8 << 20, 45));
    let (mut s, feeder) = fed_tcp(&data);
    let mut dst = tempfile::tempfile().unwrap();
    let before = pipe_inodes();
    let mut seen: Option<(String, Vec<String>)> = None;
    let mut on_progress = |p: fdcopy::Progress| {
        if seen.is_none() && p.strategy == Strategy::SpliceViaPipe {
            let during: Vec<String> = pipe_inodes().difference(&before).cloned().collect();
            let out = std::process::Command::new("ls")
                .args(["-l", "/proc/self/fd"])
                .output()
                .unwrap();
            seen = Some((String::from_utf8_lossy(&out.stdout).into_owned(), during));
        }
    };
    let r = Copier::new().progress(&mut on_progress).copy(&mut s, &mut dst).unwrap();
    feeder.join().unwrap();
    assert_eq!(r.strategy(), Strategy::SpliceViaPipe);
    same_bytes(&file_bytes(&dst), &data, "tcp -> file");
    let (ls, new_pipes) = seen.expect("the callback ran during the splice");
    assert!(
        !new_pipes.is_empty(),
        "the copy held a pipe of its own while the child was spawned"
    );
    let mut inherited = Vec::new();
    for line in ls.lines() {
        // lr-x------ 1 root root 64 <date> 3 -> pipe:[1234]
        let Some((left, target)) = line.split_once(" -> ") else {
            continue;
        };
        let fd: i32 = left.rsplit(' ').next().unwrap().parse().unwrap();
        if fd > 2 && target.starts_with("pipe:") {
            inherited.push(target.to_string());
            assert!(
                !new_pipes.contains(&target.to_string()),
                "the child inherited fd {fd} -> {target}\n{ls}"
            );
        }
    }
    println!(
        "INFO child spawned mid-copy: none of the copy's pipes {new_pipes:?} inherited \
         (inheritable pipes of the test process itself: {inherited:?})"
    );
}

/// `n` copies from a stream source (`fed`: a TCP socket or a pipe whose peer sends a new
/// payload of `n * each` bytes) into `dst`, each one made and checked by `copy`; then the source
/// is closed (a feeder still writing gets an error and stops) and its feeder joined. Returns
/// the payload.
fn repeat<S, D>(
    fed: fn(&Arc<Vec<u8>>) -> Fed<S>,
    n: u64,
    each: u64,
    seed: u64,
    dst: &mut D,
    mut copy: impl FnMut(&mut D, &mut S),
) -> Arc<Vec<u8>> {
    let data = Arc::new(payload((n * each) as usize, seed));
    let (mut src, feeder) = fed(&data);
    for _ in 0..n {
        copy(dst, &mut src);
    }
    drop(src);
    feeder.join().unwrap();
    data
}

/// [`repeat`] into a new temporary file, which must then hold the whole payload. Returns `n`.
fn repeat_into_file<S>(
    fed: fn(&Arc<Vec<u8>>) -> Fed<S>,
    n: u64,
    each: u64,
    seed: u64,
    what: &str,
    copy: impl FnMut(&mut File, &mut S),
) -> u64 {
    let mut f = tempfile::tempfile().unwrap();
    let data = repeat(fed, n, each, seed, &mut f, copy);
    same_bytes(&file_bytes(&f), &data, what);
    n
}

/// [`repeat`] of copies of `each` bytes (above `SMALL_COPY`) from TCP into `full`, which has no
/// space left: every one fails with ENOSPC after splicing into the pipe. Returns `n`.
fn enospc_every_time(full: &mut File, n: u64, each: u64, seed: u64) -> u64 {
    repeat(fed_tcp, n, each, seed, full, |full, s| {
        let e = fdcopy::go::copy_n(full, s, each).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e:?}");
        assert_eq!(e.report().last(), Some(Strategy::SpliceViaPipe), "{e:?}");
    });
    n
}

/// No descriptor leaks over many copies on every pair, succeeding and failing (Pattern B: the
/// count of /proc/self/fd is this process's alone).
#[test]
fn no_descriptor_leaks() {
    let run = expect_child_ok("child", "fds", Duration::from_secs(120));
    assert!(run.stdout.contains("INFO copies:"), "{}", run.stdout);
}

fn child_fds() {
    let fds0 = open_fds();
    let idle0 = fdcopy::__test::pipe_pool_idle();
    let mut copies = 0u64;
    let mut failed = 0u64;
    // Copies of SMALL bytes take the loop on the descriptors (a limit of at most
    // fdcopy::table::SMALL_COPY needs no kernel call); copies of KERNEL bytes take the kernel paths.
    const SMALL: u64 = 64;
    const KERNEL: u64 = fdcopy::table::SMALL_COPY + 4096;
    // TCP → file, small copies (the descriptor loop).
    copies += repeat_into_file(fed_tcp, 45_650, SMALL, 50, "tcp -> file small copies", |f, s| {
        assert_eq!(fdcopy::go::copy_n(f, s, SMALL).unwrap(), SMALL);
    });
    // pipe → file, small copies (the descriptor loop).
    copies += repeat_into_file(fed_pipe, 38_000, SMALL, 51, "pipe -> file small copies", |f, r| {
        assert_eq!(fdcopy::go::copy_n(f, r, SMALL).unwrap(), SMALL);
    });
    // TCP → file, copies above SMALL_COPY: splice via the pooled pipe, reused every time.
    copies += repeat_into_file(fed_tcp, 2_000, KERNEL, 56, "tcp -> file kernel copies", |f, s| {
        let r = Copier::new()
            .go_copy(f, &mut fdcopy::go::limit_reader(s, KERNEL))
            .unwrap();
        assert_eq!(r.written(), KERNEL);
        assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
    });
    // TCP → /dev/full, copies above SMALL_COPY: the drain into /dev/full is refused (EINVAL),
    // the pipe's bytes are rescued with write(2), which fails with ENOSPC: the pipe is closed.
    let mut full = File::options().write(true).open("/dev/full").unwrap();
    let n = enospc_every_time(&mut full, 2_000, KERNEL, 52);
    drop(full);
    copies += n;
    failed += n;
    // A write-only source: copy_file_range and sendfile decline (EBADF), the loop fails.
    {
        let n = 10_000;
        let data = payload(1 << 20, 53);
        let path = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(path.path(), &data).unwrap();
        let mut wo = File::options().write(true).open(path.path()).unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        for _ in 0..n {
            let e = Copier::new().copy(&mut wo, &mut dst).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EBADF));
        }
        copies += n as u64;
        failed += n as u64;
    }
    // TCP → a full tmpfs, copies above SMALL_COPY: bytes stranded in the pipe every time, the
    // pipe closed every time.
    match private_tmpfs("64k") {
        Ok(m) => {
            let mut full = new_file_in(&m.path, "full");
            let chunk = vec![0u8; 4096];
            while full.write(&chunk).is_ok() {}
            let n = enospc_every_time(&mut full, 2_000, KERNEL, 54);
            copies += n;
            failed += n;
        }
        Err(why) => println!("SKIP no_descriptor_leaks/stranded part: {why}"),
    }
    // Large copies on every kernel path.
    {
        let data = Arc::new(payload(1 << 20, 55));
        let pairs = [
            (End::File, End::File),
            (End::File, End::Tcp),
            (End::File, End::Pipe),
            (End::Pipe, End::File),
            (End::Tcp, End::File),
            (End::Tcp, End::Tcp),
            (End::Unix, End::Pipe),
        ];
        for _ in 0..50 {
            for (s, d) in pairs {
                checked_copy(s, d, &data);
                copies += 1;
            }
        }
    }
    let fds1 = open_fds();
    let idle1 = fdcopy::__test::pipe_pool_idle();
    assert!(idle1 <= fdcopy::__test::PIPE_POOL_MAX_IDLE);
    assert_eq!(
        fds1,
        fds0 + 2 * (idle1 - idle0),
        "descriptors: {fds0} before, {fds1} after, {idle1} idle pooled pipes"
    );
    println!("INFO copies: {copies} ({failed} failing), descriptors {fds0} -> {fds1} with {idle1} pooled pipes");
}

/// The re-exec'd child's entry point; a no-op in a normal run.
#[test]
fn child() {
    let Some(case) = child_case() else { return };
    match case.as_str() {
        "efbig" => child_efbig(),
        "storm" => child_storm(),
        "stranded" => child_stranded(),
        "fds" => child_fds(),
        "cloexec" => child_cloexec(),
        c if c.starts_with("sigpipe:") => child_sigpipe(c),
        other => panic!("unknown child case {other}"),
    }
    println!("CHILD-OK {case}");
}
