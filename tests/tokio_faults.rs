//! The async engine under faults, each case in a process of its own (re-exec'd, so nothing is
//! shared with other tests: a seccomp filter over the whole process, the pipe pool, the
//! descriptor table, the user id): syscalls refused → the loop with the count; descriptors
//! and pipes never leaked, no dirty pipe pooled, no pipe held by an idle connection; an
//! unprivileged user whose pipe budget is spent; no busy loop on a stalled peer (strace); a
//! bulk copy never starves the other tasks of a current_thread runtime.
#![cfg(all(feature = "tokio", target_os = "linux"))]

mod common;
mod support;
mod tokio_support;

use std::io::{Read, Write};
use std::time::Duration;

use fdcopy::tokio::Copier;
use fdcopy::Strategy;
use support::seccomp::{install, Rule};
use support::{child_case, expect_child_ok};
use tokio_support::*;

const CHILD: &str = "child";
const LIMIT: Duration = Duration::from_secs(120);

/// The fault cases and what each must give: the syscall refused, its errno, the pair, and the
/// strategy that then moves the bytes (`None`: the copy fails with that errno).
const SECCOMP: &[(&str, i64, i32, Pair, Option<Strategy>)] = &[
    (
        "splice-EINVAL",
        libc::SYS_splice,
        libc::EINVAL,
        Pair::TcpFile,
        Some(Strategy::Buffered),
    ),
    (
        "splice-ENOSYS",
        libc::SYS_splice,
        libc::ENOSYS,
        Pair::TcpFile,
        Some(Strategy::Buffered),
    ),
    (
        "splice-EPERM",
        libc::SYS_splice,
        libc::EPERM,
        Pair::TcpTcp,
        Some(Strategy::Buffered),
    ),
    (
        "splice-EOPNOTSUPP",
        libc::SYS_splice,
        libc::EOPNOTSUPP,
        Pair::PipeTcp,
        Some(Strategy::Buffered),
    ),
    ("splice-EIO", libc::SYS_splice, libc::EIO, Pair::TcpFile, None),
    (
        "sendfile-EINVAL",
        libc::SYS_sendfile,
        libc::EINVAL,
        Pair::FileTcp,
        Some(Strategy::Buffered),
    ),
    (
        "sendfile-EPERM",
        libc::SYS_sendfile,
        libc::EPERM,
        Pair::FileTcp,
        Some(Strategy::Buffered),
    ),
    (
        "cfr-ENOSYS",
        libc::SYS_copy_file_range,
        libc::ENOSYS,
        Pair::FileFile,
        Some(Strategy::Sendfile),
    ),
    (
        "cfr-EXDEV",
        libc::SYS_copy_file_range,
        libc::EXDEV,
        Pair::FileFile,
        Some(Strategy::Sendfile),
    ),
    (
        "pipe2-EMFILE",
        libc::SYS_pipe2,
        libc::EMFILE,
        Pair::TcpFile,
        Some(Strategy::Buffered),
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pair {
    TcpFile,
    TcpTcp,
    PipeTcp,
    FileTcp,
    FileFile,
}

/// Copies 3 MiB + 5 across `pair` with the `Copier`, checks the bytes, returns the report.
async fn copy_pair(pair: Pair, seed: u64) -> Result<fdcopy::Report, fdcopy::CopyError> {
    let len = (3 << 20) + 5;
    match pair {
        Pair::TcpFile => {
            let (mut s, peer) = tcp();
            let feeder = feed(peer, len, seed);
            let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let r = Copier::new().copy(&mut s, &mut f).await;
            drop(s);
            let _ = feeder.join();
            if r.is_ok() {
                let mut std = f.into_std().await;
                check_file(&mut std, len, seed, "tcp -> file");
            }
            r
        }
        Pair::TcpTcp | Pair::PipeTcp | Pair::FileTcp => {
            let (mut t, far) = tcp();
            let checker = verify(far, seed);
            let r = match pair {
                Pair::TcpTcp => {
                    let (mut s, peer) = tcp();
                    let feeder = feed(peer, len, seed);
                    let r = Copier::new().copy(&mut s, &mut t).await;
                    drop(s);
                    let _ = feeder.join();
                    r
                }
                Pair::PipeTcp => {
                    let (mut rx, w) = pipe_to_tokio();
                    let feeder = feed(w, len, seed);
                    let r = Copier::new().copy(&mut rx, &mut t).await;
                    drop(rx);
                    let _ = feeder.join();
                    r
                }
                _ => {
                    let mut f = tokio::fs::File::from_std(file_with_payload(len, seed, true));
                    Copier::new().copy(&mut f, &mut t).await
                }
            };
            drop(t);
            let got = checker.join().unwrap();
            if r.is_ok() {
                assert_eq!(got, len);
            }
            r
        }
        Pair::FileFile => {
            let mut src = tokio::fs::File::from_std(file_with_payload(len, seed, true));
            let mut dst = tokio::fs::File::from_std(tempfile::tempfile().unwrap());
            let r = Copier::new().copy(&mut src, &mut dst).await;
            let mut std = dst.into_std().await;
            check_file(&mut std, len, seed, "file -> file");
            r
        }
    }
}

/// Every refused syscall: in a process whose every thread (the runtimes' workers and blocking
/// threads included) has the filter, both runtimes copy every byte with the next strategy,
/// the count exact; a real error fails with the count.
#[test]
fn refused_syscalls_fall_back_on_both_runtimes() {
    for &(name, ..) in SECCOMP {
        expect_child_ok(CHILD, &format!("seccomp {name}"), LIMIT);
    }
}

fn seccomp_child(name: &str) {
    let &(_, nr, errno, pair, want) = SECCOMP.iter().find(|c| c.0 == name).unwrap();
    // The peers' threads are filtered too: they use only read/write.
    install(&[Rule::all(nr, errno)], true).unwrap();
    for (rt_name, rt) in runtimes() {
        rt.block_on(async {
            let r = copy_pair(pair, 30).await;
            match want {
                Some(s) => {
                    let rep = r.unwrap_or_else(|e| panic!("{name} {rt_name}: {e:?}"));
                    assert_eq!(rep.written(), (3 << 20) + 5, "{name} {rt_name}");
                    assert_eq!(rep.strategy(), s, "{name} {rt_name}: {rep:?}");
                }
                None => {
                    let e = r.unwrap_err();
                    assert_eq!(e.raw_os_error(), Some(errno), "{name} {rt_name}: {e:?}");
                    assert_eq!(e.written(), 0, "{name} {rt_name}");
                }
            }
        });
        fdcopy::__test::reset_syscall_availability();
    }
}

/// Hundreds of copies dropped half-way, finished, or failing: afterwards the process holds
/// the descriptors it held before plus the pool's idle pipes, and no pooled pipe holds a byte.
#[test]
fn no_descriptor_leaks_and_no_dirty_pipe_pooled() {
    expect_child_ok(CHILD, "hygiene", LIMIT);
}

fn hygiene_child() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut dropped = 0;
    rt.block_on(async {
        // Measured inside the runtime: its own descriptors (and tokio's process-wide signal
        // socket pair) stay open throughout.
        let (base, base_pipes) = fds();
        assert_eq!(fdcopy::__test::pipe_pool_idle(), 0);
        for i in 0..150u64 {
            let (mut s, peer) = tcp();
            let feeder = fdcopy_testkit::Peer::spawn(move || {
                let mut peer = peer;
                let _ = fdcopy_testkit::write_payload(&mut peer, i, 0, 8 << 20);
                Ok(())
            });
            let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            match i % 3 {
                // Dropped while bytes may be in the pipe.
                0 => {
                    let cut = Duration::from_micros(50 + 37 * (i % 11));
                    if tokio::time::timeout(cut, fdcopy::tokio::copy(&mut s, &mut f))
                        .await
                        .is_err()
                    {
                        dropped += 1;
                    }
                }
                // Finished.
                1 => {
                    fdcopy::tokio::copy(&mut s, &mut f).await.unwrap();
                }
                // Failing: the destination refuses the bytes (read-only file).
                _ => {
                    let ro = tempfile::NamedTempFile::new_in("/dev/shm").unwrap();
                    let mut ro = tokio::fs::File::from_std(std::fs::File::open(ro.path()).unwrap());
                    assert!(fdcopy::tokio::copy(&mut s, &mut ro).await.is_err());
                }
            }
            drop((s, f));
            let _ = feeder.join();
            assert_eq!(
                fdcopy::__test::pipe_pool_bytes(),
                0,
                "copy {i}: a pooled pipe holds bytes"
            );
        }
        let idle = fdcopy::__test::pipe_pool_idle();
        assert!(idle <= fdcopy::__test::PIPE_POOL_MAX_IDLE);
        let (now, pipes) = fds();
        assert_eq!(
            (now, pipes),
            (base + 2 * idle, base_pipes + 2 * idle),
            "descriptors after the copies"
        );
        println!(
            "INFO 150 copies ({dropped} dropped half-way, 50 failing): descriptors back to {base} + {idle} idle pipes"
        );
    });
}

/// A hundred idle proxied connections hold no pipe: every pipe of the process is an idle one
/// of the pool, also after each connection moved a burst and went quiet again.
#[test]
fn idle_connections_hold_no_pipe() {
    expect_child_ok(CHILD, "idle", LIMIT);
}

fn idle_child() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_, base_pipes) = fds();
        let mut peers = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (mut a, pa) = tcp();
            let (mut b, pb) = tcp();
            tasks.push(tokio::spawn(async move {
                fdcopy::tokio::copy_bidirectional(&mut a, &mut b).await
            }));
            peers.push((pa, pb));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, pipes) = fds();
        let idle = fdcopy::__test::pipe_pool_idle();
        assert_eq!(pipes, base_pipes + 2 * idle, "pipes held while 100 connections idle");
        // One burst each way on every connection, then quiet again.
        for (pa, pb) in &mut peers {
            pa.write_all(&[1u8; 50_000]).unwrap();
            let mut buf = vec![0u8; 50_000];
            pb.read_exact(&mut buf).unwrap();
            pb.write_all(&buf[..1000]).unwrap();
            pa.read_exact(&mut buf[..1000]).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, pipes) = fds();
        let idle = fdcopy::__test::pipe_pool_idle();
        assert_eq!(pipes, base_pipes + 2 * idle, "pipes held after the bursts, idle again");
        println!("INFO 100 idle connections: {idle} pooled pipes, none leased");
        for (pa, pb) in peers {
            pa.shutdown(std::net::Shutdown::Both).unwrap();
            pb.shutdown(std::net::Shutdown::Both).unwrap();
        }
        for t in tasks {
            let _ = t.await.unwrap();
        }
    });
}

/// As an unprivileged user whose pipe budget is spent (`pipe-user-pages-soft`: new pipes get
/// two pages and cannot grow), the copies still deliver every byte.
#[test]
fn an_unprivileged_user_with_the_pipe_budget_spent() {
    expect_child_ok(CHILD, "unprivileged", LIMIT);
}

fn unprivileged_child() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        println!("CHILD-SKIP unprivileged: not root, cannot switch to an unprivileged user");
        return;
    }
    // SAFETY: setgid/setuid of this (child) process; glibc applies them to every thread.
    unsafe {
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0, "{}", std::io::Error::last_os_error());
    }
    // Spend the budget: 1 MiB pipes until the kernel refuses to grow one more.
    let mut hoard = Vec::new();
    loop {
        let (r, w) = std::io::pipe().unwrap();
        let grown = rustix::pipe::fcntl_setpipe_size(&w, 1 << 20).is_ok();
        hoard.push((r, w));
        if !grown || hoard.len() > 4096 {
            break;
        }
    }
    let (r, w) = std::io::pipe().unwrap();
    let left = rustix::pipe::fcntl_getpipe_size(&w).unwrap();
    drop((r, w));
    println!(
        "INFO unprivileged: {} pipes hoarded; a new pipe now holds {left} bytes",
        hoard.len()
    );
    for (name, rt) in runtimes() {
        rt.block_on(async {
            let len = (4 << 20) + 3;
            let (mut s, peer) = tcp();
            let feeder = feed(peer, len, 40);
            let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let rep = Copier::new().copy(&mut s, &mut f).await.unwrap();
            assert_eq!(rep.written(), len, "{name}");
            feeder.join().unwrap();
            let mut std = f.into_std().await;
            check_file(&mut std, len, 40, "unprivileged tcp -> file");
            println!("INFO unprivileged {name}: {rep:?}");
        });
    }
    // The blocking API too.
    let (s, peer) = fdcopy_testkit::tcp_pair(HANG).unwrap();
    let feeder = feed(peer, 2 << 20, 41);
    let mut f = tempfile::tempfile_in("/dev/shm").unwrap();
    assert_eq!(fdcopy::copy(&mut &s, &mut f).unwrap(), 2 << 20);
    feeder.join().unwrap();
    check_file(&mut f, 2 << 20, 41, "unprivileged blocking");
}

/// No busy loop, no repeated work: with the destination's reader stalled for a second (its
/// socket buffer full), and then with the source's writer stalled for a second, the copy makes a
/// bounded number of syscalls (counted by `strace -c`): it waits on the reactor, it does not spin
/// on `EAGAIN`; tokio file sources are settled with one seek each.
#[test]
fn no_busy_loop_while_a_peer_stalls() {
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        eprintln!("SKIP no_busy_loop_while_a_peer_stalls: strace is not installed");
        return;
    }
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(out.path())
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", CHILD, "--nocapture", "--test-threads=1"])
        .env(support::CHILD_ENV, "stall")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && stdout.contains("CHILD-OK stall"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let summary = std::fs::read_to_string(out.path()).unwrap();
    // strace -c: "% time seconds usecs/call calls errors syscall".
    let row = |name: &str| -> (u64, u64) {
        summary
            .lines()
            .find(|l| l.split_whitespace().last() == Some(name))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let calls = f[3].parse().unwrap_or(0);
                let errors = if f.len() == 6 { f[4].parse().unwrap_or(0) } else { 0 };
                (calls, errors)
            })
            .unwrap_or((0, 0))
    };
    // Sixty-four tokio files settled once each: one seek to the logical position per copy (not
    // one per poll while the seek is in flight on the blocking pool), plus the fixture's rewind
    // of each file after writing it.
    let (seeks, _) = row("lseek");
    assert!(
        seeks <= 2 * 64 + 8,
        "lseek called {seeks} times for 64 file copies:\n{summary}"
    );
    let (calls, errors) = row("splice");
    eprintln!(
        "INFO stalled peers, 2 s: splice {calls} calls, {errors} errors; epoll_wait {:?}; \
         lseek {seeks} for 64 tokio file sources",
        row("epoll_wait")
    );
    // 2 × 4 MiB through 1 MiB pipes is a few dozen splices; a spin would be ~10^5 per second.
    assert!(calls < 2000, "splice called {calls} times:\n{summary}");
    assert!(
        errors < 200,
        "splice failed {errors} times (EAGAIN spinning?):\n{summary}"
    );
}

fn stall_child() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let len = 4u64 << 20;
        // The destination's reader sleeps first.
        let (mut s, peer) = tcp();
        let feeder = feed(peer, len, 50);
        let (mut t, far) = tcp();
        let checker = fdcopy_testkit::Peer::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            let mut far = far;
            let mut v = fdcopy_testkit::Verifier::new(fdcopy_testkit::Pattern::shared(), 50, 0);
            fdcopy_testkit::verify_reader(&mut far, &mut v, len).map_err(std::io::Error::other)
        });
        let n = fdcopy::tokio::copy(&mut s, &mut t).await.unwrap();
        drop(t);
        assert_eq!((n, checker.join().unwrap()), (len, len));
        feeder.join().unwrap();
        // The source's writer stalls half-way.
        let (mut s, peer) = tcp();
        let feeder = fdcopy_testkit::Peer::spawn(move || {
            let mut peer = peer;
            fdcopy_testkit::write_payload(&mut peer, 51, 0, len / 2)?;
            std::thread::sleep(Duration::from_secs(1));
            fdcopy_testkit::write_payload(&mut peer, 51, len / 2, len / 2)
        });
        let mut f = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
        assert_eq!(fdcopy::tokio::copy(&mut s, &mut f).await.unwrap(), len);
        feeder.join().unwrap();
        // Tokio files as sources: each settled once.
        for i in 0..64 {
            let mut src = tokio::fs::File::from_std(file_with_payload(1 << 20, 52 + i, true));
            let (mut t, far) = tcp();
            let checker = verify(far, 52 + i);
            assert_eq!(fdcopy::tokio::copy(&mut src, &mut t).await.unwrap(), 1 << 20);
            drop(t);
            assert_eq!(checker.join().unwrap(), 1 << 20);
        }
    });
}

/// tokio's cooperative budget is consumed: on a current_thread runtime, a task that only
/// counts and yields keeps running while a bulk copy runs (socket → file, and file → file,
/// which never waits on the reactor at all).
#[test]
fn a_bulk_copy_leaves_room_for_other_tasks() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c2 = counter.clone();
        let ticker = tokio::spawn(async move {
            loop {
                c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        for what in ["file -> file", "tcp -> file"] {
            let len = 256u64 << 20;
            let mut seen = Vec::new();
            let mut on_progress = |_: fdcopy::Progress| seen.push(counter.load(std::sync::atomic::Ordering::Relaxed));
            let mut dst = tokio::fs::File::from_std(tempfile::tempfile_in("/dev/shm").unwrap());
            let rep = if what == "file -> file" {
                let mut src = tokio::fs::File::from_std(file_with_payload(len, 60, true));
                Copier::new()
                    .progress(&mut on_progress)
                    .copy(&mut src, &mut dst)
                    .await
                    .unwrap()
            } else {
                let (mut s, peer) = tcp();
                let feeder = feed(peer, len, 61);
                let r = Copier::new()
                    .progress(&mut on_progress)
                    .copy(&mut s, &mut dst)
                    .await
                    .unwrap();
                feeder.join().unwrap();
                r
            };
            assert_eq!(rep.written(), len);
            let ran = seen.last().unwrap() - seen.first().unwrap();
            let gaps = seen.windows(2).filter(|w| w[1] == w[0]).count();
            eprintln!(
                "INFO {what}: {} chunks, the other task ran {ran} times in between",
                seen.len()
            );
            assert!(ran > 0, "{what}: the other task never ran during the copy");
            if what == "file -> file" {
                // Every chunk of a copy that never waits is followed by a yield.
                assert_eq!(gaps, 0, "{what}: chunks back to back without a yield: {seen:?}");
            }
        }
        ticker.abort();
    });
}

/// The entry point of every child process (a no-op in a normal run).
#[test]
fn child() {
    let Some(case) = child_case() else { return };
    match case.as_str() {
        "hygiene" => hygiene_child(),
        "idle" => idle_child(),
        "unprivileged" => unprivileged_child(),
        "stall" => stall_child(),
        c if c.starts_with("seccomp ") => seccomp_child(&c["seccomp ".len()..]),
        other => panic!("unknown child case {other}"),
    }
    println!("CHILD-OK {case}");
}
