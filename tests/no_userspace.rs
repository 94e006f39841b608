//! Syscall evidence that the kernel paths move no payload through user space (testing.md §2,
//! Pattern C): the two payload descriptors are renumbered to 777 (source) and 778
//! (destination), and a per-thread seccomp filter fails every read/write-family syscall on
//! those two numbers with EPERM. The copy must still succeed, byte for byte, through the
//! expected strategy; and the same copy with the kernel strategies denied must fail with
//! EPERM, which shows the filter would have caught a user-space copy.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::File;
use std::io::{PipeReader, PipeWriter};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use fdcopy::{Copier, Strategy};
use fdcopy_testkit::payload;
use support::seccomp::{self, Rule};
use support::*;

const SRC_FD: i32 = 777;
const DST_FD: i32 = 778;

/// Every syscall that can carry payload between a descriptor and user memory.
const RW_FAMILY: [i64; 16] = [
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_preadv,
    libc::SYS_pwritev,
    libc::SYS_preadv2,
    libc::SYS_pwritev2,
    libc::SYS_recvfrom,
    libc::SYS_sendto,
    libc::SYS_recvmsg,
    libc::SYS_sendmsg,
    libc::SYS_recvmmsg,
    libc::SYS_sendmmsg,
];

fn rules() -> Vec<Rule> {
    let mut v = Vec::new();
    for nr in RW_FAMILY {
        for fd in [SRC_FD, DST_FD] {
            v.push(Rule::when(nr, libc::EPERM, 0, fd as u32));
        }
    }
    v
}

/// A descriptor moved to number `to` (dup2, then the old number closed).
fn renumber(fd: OwnedFd, to: i32) -> OwnedFd {
    // SAFETY: `to` is a number this test reserves (nothing else opens that many descriptors);
    // the new descriptor is owned by the returned OwnedFd; `fd` is closed when dropped.
    unsafe {
        assert_eq!(libc::fcntl(to, libc::F_GETFD), -1, "fd {to} is in use");
        assert_eq!(libc::dup2(fd.as_raw_fd(), to), to);
        OwnedFd::from_raw_fd(to)
    }
}

fn renumber_src(s: Src) -> Src {
    match s {
        Src::File(x) => Src::File(File::from(renumber(x.into(), SRC_FD))),
        Src::Pipe(x) => Src::Pipe(PipeReader::from(renumber(x.into(), SRC_FD))),
        Src::Tcp(x) => Src::Tcp(TcpStream::from(renumber(x.into(), SRC_FD))),
        Src::Unix(x) => Src::Unix(UnixStream::from(renumber(x.into(), SRC_FD))),
    }
}

fn renumber_dst(d: Dst) -> Dst {
    match d {
        Dst::File(x) => Dst::File(File::from(renumber(x.into(), DST_FD))),
        Dst::Pipe(x) => Dst::Pipe(PipeWriter::from(renumber(x.into(), DST_FD))),
        Dst::Tcp(x) => Dst::Tcp(TcpStream::from(renumber(x.into(), DST_FD))),
        Dst::Unix(x) => Dst::Unix(UnixStream::from(renumber(x.into(), DST_FD))),
    }
}

/// Runs `s → d` with the payload descriptors at 777/778 under the filter, on a fresh thread.
/// `user_space`: deny every kernel strategy (the control that must fail).
fn run(s: End, d: End, want: Strategy, user_space: bool) {
    // The numbers 777/778 are process-wide: one case at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let what = format!(
        "{s:?} -> {d:?}{}",
        if user_space { " (kernel strategies denied)" } else { "" }
    );
    bounded(&what.clone(), Duration::from_secs(60), move || {
        let data = Arc::new(payload(4 << 20, 81));
        let mut src = source(s, &data);
        let mut dst = sink(d);
        src.side = renumber_src(std::mem::replace(
            &mut src.side,
            Src::File(tempfile::tempfile().unwrap()),
        ));
        dst.side = renumber_dst(std::mem::replace(
            &mut dst.side,
            Dst::File(tempfile::tempfile().unwrap()),
        ));
        assert_eq!(src.side.fd().as_raw_fd(), SRC_FD);
        assert_eq!(dst.side.fd().as_raw_fd(), DST_FD);
        seccomp::install(&rules(), false).expect("seccomp filter");
        // The filter is live on this thread: a read of the source, a write to the
        // destination fail before the kernel looks at them.
        let mut b = [0u8; 1];
        assert_eq!(rustix::io::read(src.side.fd(), &mut b), Err(rustix::io::Errno::PERM));
        assert_eq!(rustix::io::write(dst.side.fd(), b"x"), Err(rustix::io::Errno::PERM));

        let mut copier = Copier::new();
        if user_space {
            for k in [
                Strategy::CopyFileRange,
                Strategy::Sendfile,
                Strategy::Splice,
                Strategy::SpliceViaPipe,
            ] {
                copier = copier.deny(k);
            }
        }
        let res = run_copy(&mut copier, &mut src.side, &mut dst.side);
        let spos = src.finish();
        let (got, dpos) = dst.finish();
        if user_space {
            let e = res.expect_err(&what);
            assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{what}: {e:?}");
            assert_eq!(e.written(), 0, "{what}");
            assert!(got.is_empty(), "{what}");
            eprintln!("INFO {what}: the buffered loop was stopped by the filter (EPERM)");
            return;
        }
        let r = res.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(r.written(), data.len() as u64, "{what}");
        assert_eq!(r.strategy(), want, "{what}: {r:?}");
        assert_eq!(r.bytes_by(want), data.len() as u64, "{what}: {r:?}");
        same_bytes(&got, &data, &what);
        for p in [spos, dpos].into_iter().flatten() {
            assert_eq!(p, data.len() as u64, "{what}: file offset");
        }
        eprintln!("INFO {what}: 4 MiB by {want} with read/write denied on fds {SRC_FD} and {DST_FD}");
    });
}

fn seccomp_ok() -> Result<(), String> {
    bounded("probe", Duration::from_secs(10), || {
        seccomp::install(&[], false).map_err(|e| e.to_string())
    })
}

#[test]
fn tcp_to_file_moves_no_payload_through_user_space() {
    if let Err(why) = seccomp_ok() {
        skip!("seccomp: {why}");
    }
    run(End::Tcp, End::File, Strategy::SpliceViaPipe, false);
    run(End::Tcp, End::File, Strategy::SpliceViaPipe, true);
}

#[test]
fn file_to_tcp_moves_no_payload_through_user_space() {
    if let Err(why) = seccomp_ok() {
        skip!("seccomp: {why}");
    }
    run(End::File, End::Tcp, Strategy::Sendfile, false);
    run(End::File, End::Tcp, Strategy::Sendfile, true);
}

#[test]
fn file_to_file_moves_no_payload_through_user_space() {
    if let Err(why) = seccomp_ok() {
        skip!("seccomp: {why}");
    }
    run(End::File, End::File, Strategy::CopyFileRange, false);
    run(End::File, End::File, Strategy::CopyFileRange, true);
}

#[test]
fn other_kernel_paths_move_no_payload_through_user_space() {
    if let Err(why) = seccomp_ok() {
        skip!("seccomp: {why}");
    }
    run(End::Pipe, End::File, Strategy::Splice, false);
    run(End::File, End::Pipe, Strategy::Splice, false);
    run(End::Tcp, End::Tcp, Strategy::SpliceViaPipe, false);
    run(End::Unix, End::File, Strategy::SpliceViaPipe, false);
    run(End::Tcp, End::Pipe, Strategy::Splice, false);
}
