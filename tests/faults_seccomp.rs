//! Syscall fault injection with seccomp (testing.md §2): every errno of kernel.md §2 injected
//! into `copy_file_range`, `sendfile` and `splice` on every pair whose strategy uses the call.
//! The expected outcome is computed from `fdcopy::table::plan` and `fdcopy::table::verdict` and checked
//! against a hand-written table (kernel.md §2); the copy must then end exactly so: the next
//! strategy moves every byte, or the error comes back with the exact count.
//!
//! Errnos that never touch the process-wide availability cache run with per-thread filters
//! (Pattern A, a fresh thread per case). ENOSYS and EPERM (which a probe confirms) mark the call
//! unavailable for the whole process, so they run in re-exec'd children (Pattern B).
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use fdcopy::table::{plan, verdict, Facts, Plan, Syscall, Verdict};
use fdcopy::{Copier, Strategy};
use fdcopy_testkit::payload;
use support::seccomp::{self, Rule};
use support::*;

const ERRNOS_THREAD: [i32; 6] = [
    libc::EINVAL,
    libc::EOPNOTSUPP,
    libc::EXDEV,
    libc::EBADF,
    libc::EIO,
    libc::EOVERFLOW,
];
const ERRNOS_PROCESS: [i32; 2] = [libc::ENOSYS, libc::EPERM];
const CASE_LIMIT: Duration = Duration::from_secs(60);

/// A pair whose strategy uses the syscall under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pair {
    /// file → file: `copy_file_range`.
    FileFile,
    /// tmpfs file → ext4 file: `copy_file_range` declines with a real EXDEV, then `sendfile`.
    FileFileSendfile,
    /// file → TCP: `sendfile`.
    FileTcp,
    /// pipe → file: `splice`.
    PipeFile,
    /// TCP → file: `splice` through the pooled pipe (the fault on every splice: the fill).
    TcpFile,
    /// TCP → file through the pooled pipe, the fault only on the drain into the file (matched
    /// by `fd_out`): the pipe's bytes are rescued through user space, then the loop goes on.
    TcpFileDrain,
    /// TCP → pipe: `splice`.
    TcpPipe,
    /// file → pipe: `splice`.
    FilePipe,
}

const PAIRS: [Pair; 8] = [
    Pair::FileFile,
    Pair::FileFileSendfile,
    Pair::FileTcp,
    Pair::PipeFile,
    Pair::TcpFile,
    Pair::TcpFileDrain,
    Pair::TcpPipe,
    Pair::FilePipe,
];

impl Pair {
    fn ends(self) -> (End, End) {
        match self {
            Pair::FileFile => (End::File, End::File),
            Pair::FileFileSendfile => (End::ShmFile, End::File),
            Pair::FileTcp => (End::File, End::Tcp),
            Pair::PipeFile => (End::Pipe, End::File),
            Pair::TcpFile | Pair::TcpFileDrain => (End::Tcp, End::File),
            Pair::TcpPipe => (End::Tcp, End::Pipe),
            Pair::FilePipe => (End::File, End::Pipe),
        }
    }

    /// The syscall whose faults this pair exercises.
    fn call(self) -> Syscall {
        match self {
            Pair::FileFile => Syscall::CopyFileRange,
            Pair::FileFileSendfile | Pair::FileTcp => Syscall::Sendfile,
            _ => Syscall::Splice,
        }
    }

    /// The strategy that moves the bytes when nothing is injected.
    fn normal(self) -> Strategy {
        match self {
            Pair::FileFile => Strategy::CopyFileRange,
            Pair::FileFileSendfile | Pair::FileTcp => Strategy::Sendfile,
            Pair::TcpFile | Pair::TcpFileDrain => Strategy::SpliceViaPipe,
            _ => Strategy::Splice,
        }
    }

    /// The filter for `errno` on this pair, given the payload descriptors.
    fn rules(self, errno: i32, dst_fd: i32) -> Vec<Rule> {
        match self {
            // splice(fd_in, off_in, fd_out, ...): only the calls writing the file.
            Pair::TcpFileDrain => vec![Rule::when(libc::SYS_splice, errno, 2, dst_fd as u32)],
            _ => vec![Rule::all(seccomp::nr(self.call()), errno)],
        }
    }

    /// Whether the engine's probe (the call with fd -1) meets the filter, so that EPERM is
    /// remembered for the whole process: not when the filter matches one descriptor only.
    fn probe_sees_filter(self) -> bool {
        self != Pair::TcpFileDrain
    }

    /// Faults the kernel itself adds for this pair (the real EXDEV between tmpfs and ext4).
    fn real_faults(self) -> &'static [(Syscall, i32)] {
        match self {
            Pair::FileFileSendfile => &[(Syscall::CopyFileRange, libc::EXDEV)],
            _ => &[],
        }
    }
}

/// How a copy must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Every byte, moved by this strategy.
    Done(Strategy),
    /// This errno, with 0 bytes written (the fault hits the first call).
    Fail(i32),
}

/// The expectation the library's own rule gives: walk the plan; a step whose syscall fails with
/// an errno is skipped when the verdict declines, and ends the copy when it fails.
fn by_rule(plan: &Plan, faults: &[(Syscall, i32)]) -> Expect {
    for &s in plan.steps() {
        let Some(call) = s.syscall() else {
            return Expect::Done(s);
        };
        let Some(&(_, e)) = faults.iter().find(|f| f.0 == call) else {
            return Expect::Done(s);
        };
        match verdict(call, e, 0) {
            Verdict::Decline | Verdict::Unavailable | Verdict::MaybeDenied => continue,
            Verdict::Fail => return Expect::Fail(e),
            v => panic!("{call:?} {}: unexpected verdict {v:?}", errno_name(e)),
        }
    }
    unreachable!("a plan ends with the loop")
}

/// The same expectation written by hand from kernel.md §2: at the first call every errno of the
/// set means "not here" (copy_file_range's EIO included: CIFS), except EIO from sendfile and
/// splice, which is a real I/O error.
fn by_hand(pair: Pair, errno: i32) -> Expect {
    match (pair, errno) {
        (Pair::FileFile, _) => Expect::Done(Strategy::Sendfile),
        (_, libc::EIO) => Expect::Fail(libc::EIO),
        // TcpFileDrain included: a declined drain hands the pipe's bytes to read/write (counted
        // as the loop's), and the loop goes on.
        _ => Expect::Done(Strategy::Buffered),
    }
}

/// What one case did.
struct Ran {
    result: Result<fdcopy::Report, fdcopy::CopyError>,
    got: Vec<u8>,
    src_pos: Option<u64>,
    dst_pos: Option<u64>,
    plan: Plan,
}

/// Runs `pair` on a fresh thread whose seccomp filter fails its call with `errno` (installed
/// after the peers exist, right before the copy).
fn run_case(pair: Pair, errno: i32, data: Arc<Vec<u8>>) -> Ran {
    let name = format!("{pair:?}");
    bounded(&name, CASE_LIMIT, move || {
        let (s, d) = pair.ends();
        let mut src = source(s, &data);
        let mut dst = sink(d);
        let plan = plan(&facts(src.side.fd(), dst.side.fd()));
        let rules = pair.rules(errno, dst.side.fd().as_raw_fd());
        seccomp::install(&rules, false).expect("seccomp filter");
        let result = run_copy(&mut Copier::new(), &mut src.side, &mut dst.side);
        let src_pos = src.finish();
        let (got, dst_pos) = dst.finish();
        Ran {
            result,
            got,
            src_pos,
            dst_pos,
            plan,
        }
    })
}

/// Checks one case against the expectation; returns it.
fn check_case(pair: Pair, errno: i32, ran: &Ran, data: &[u8]) -> Expect {
    let call = pair.call();
    let mut faults = pair.real_faults().to_vec();
    faults.push((call, errno));
    let expect = by_rule(&ran.plan, &faults);
    let what = format!("{pair:?}: {} -> {}", call.name(), errno_name(errno));
    assert_eq!(
        expect,
        by_hand(pair, errno),
        "{what}: fdcopy::table::verdict disagrees with kernel.md §2"
    );
    match (expect, &ran.result) {
        (Expect::Done(s), Ok(r)) => {
            assert_eq!(r.written(), data.len() as u64, "{what}: {r:?}");
            assert_eq!(r.strategy(), s, "{what}: {r:?}");
            assert_eq!(r.bytes_by(s), data.len() as u64, "{what}: {r:?}");
            same_bytes(&ran.got, data, &what);
            if let Some(p) = ran.src_pos {
                assert_eq!(p, data.len() as u64, "{what}: source offset");
            }
            if let Some(p) = ran.dst_pos {
                assert_eq!(p, data.len() as u64, "{what}: destination offset");
            }
        }
        (Expect::Fail(e), Err(err)) => {
            assert_eq!(err.raw_os_error(), Some(e), "{what}: {err:?}");
            assert_eq!(err.written(), 0, "{what}: {err:?}");
            assert_eq!(err.report().written(), 0, "{what}: {err:?}");
            assert!(
                ran.got.is_empty(),
                "{what}: {} bytes reached the destination",
                ran.got.len()
            );
            if let Some(p) = ran.src_pos {
                assert_eq!(p, 0, "{what}: source offset after a failed first call");
            }
        }
        (want, got) => panic!("{what}: want {want:?}, got {got:?}"),
    }
    expect
}

/// The normal copy of `pair`, on an unfiltered thread: the strategy proves the fault of the
/// previous case was not remembered.
fn check_normal(pair: Pair, data: &Arc<Vec<u8>>, want: Strategy, why: &str) {
    let (s, d) = pair.ends();
    let r = checked_copy(s, d, data);
    assert_eq!(r.strategy(), want, "{pair:?} {why}: {r:?}");
}

fn cross_fs_available() -> bool {
    use std::os::unix::fs::MetadataExt;
    let a = std::fs::metadata("/dev/shm").map(|m| m.dev());
    let b = std::fs::metadata(std::env::temp_dir()).map(|m| m.dev());
    matches!((a, b), (Ok(a), Ok(b)) if a != b)
}

fn seccomp_works() -> Result<(), String> {
    bounded("probe", CASE_LIMIT, || {
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

// ---------------------------------------------------------------------------------------------
// Pattern A: per-thread filters, errnos that are never cached.

#[test]
fn errno_matrix_per_thread() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    let data = Arc::new(payload(1 << 20, 11));
    let mut ran = 0;
    for pair in PAIRS {
        if pair == Pair::FileFileSendfile && !cross_fs_available() {
            eprintln!("SKIP errno_matrix_per_thread/{pair:?}: /dev/shm and $TMPDIR share a filesystem");
            continue;
        }
        for errno in ERRNOS_THREAD {
            let out = run_case(pair, errno, data.clone());
            let expect = check_case(pair, errno, &out, &data);
            // One file's errno says nothing about the next copy.
            check_normal(pair, &data, pair.normal(), &format!("after {}", errno_name(errno)));
            eprintln!(
                "INFO {pair:?} {} {} -> {expect:?}",
                pair.call().name(),
                errno_name(errno)
            );
            ran += 1;
        }
    }
    eprintln!("INFO errno_matrix_per_thread: {ran} injected cases");
}

/// A fault after progress, matched by the length argument of the N-th call: the verdict with
/// the real count decides; a decline carries the count into the next strategy.
#[test]
fn splice_fault_after_progress() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    for errno in [libc::EIO, libc::EBADF, libc::EINVAL, libc::EOPNOTSUPP] {
        bounded("splice-mid", CASE_LIMIT, move || {
            let (mut r, mut w) = std::io::pipe().unwrap();
            let cap = rustix::pipe::fcntl_getpipe_size(&w).unwrap();
            let data = Arc::new(payload(cap + 300_000, 12));
            let limit = (cap + 150_000) as u64;
            // The pipe is full: the first splice moves exactly `cap` bytes, the second asks for
            // `limit - cap`.
            w.write_all(&data[..cap]).unwrap();
            let rest = Arc::new(data[cap..].to_vec());
            let feeder = feed_lenient(w, rest);
            let mut f = tempfile::tempfile().unwrap();
            let second = (limit - cap as u64) as u32;
            seccomp::install(&[Rule::when(libc::SYS_splice, errno, 4, second)], false).unwrap();
            let res = Copier::new().copy(&mut (&r).take(limit), &mut f);
            let got = file_bytes(&f);
            let pos = offset(f.as_fd());
            let what = format!("pipe -> file, splice {} after {cap} bytes", errno_name(errno));
            match verdict(Syscall::Splice, errno, cap as u64) {
                Verdict::Fail => {
                    let e = res.expect_err(&what);
                    assert_eq!(e.raw_os_error(), Some(errno), "{what}");
                    assert_eq!(e.written(), cap as u64, "{what}: {e:?}");
                    assert_eq!(e.report().bytes_by(Strategy::Splice), cap as u64, "{what}");
                    same_bytes(&got, &data[..cap], &what);
                    assert_eq!(pos, cap as u64, "{what}");
                    drop(r);
                }
                Verdict::Decline => {
                    let rep = res.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    assert_eq!(rep.written(), limit, "{what}");
                    assert_eq!(rep.bytes_by(Strategy::Splice), cap as u64, "{what}: {rep:?}");
                    assert_eq!(rep.bytes_by(Strategy::Buffered), limit - cap as u64, "{what}: {rep:?}");
                    same_bytes(&got, &data[..limit as usize], &what);
                    assert_eq!(pos, limit, "{what}");
                    // Nothing past the limit was consumed.
                    let mut after = Vec::new();
                    r.read_to_end(&mut after).unwrap();
                    same_bytes(&after, &data[limit as usize..], &format!("{what}: rest of the pipe"));
                }
                v => panic!("{what}: verdict {v:?}"),
            }
            feeder.join().unwrap();
        });
        eprintln!("INFO splice_fault_after_progress {} ok", errno_name(errno));
    }
}

/// copy_file_range and sendfile faulted on their second call (the one that would see end of
/// file, matched by its length): a real error keeps the count of the first call, a decline
/// hands the rest (here: nothing) to the next strategy.
#[test]
fn cfr_and_sendfile_fault_after_progress() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    let cross = cross_fs_available();
    for call in [Syscall::CopyFileRange, Syscall::Sendfile] {
        if call == Syscall::Sendfile && !cross {
            eprintln!("SKIP cfr_and_sendfile_fault_after_progress/sendfile: no cross-filesystem pair");
            continue;
        }
        for errno in [libc::EIO, libc::EBADF, libc::EXDEV, libc::EINVAL] {
            bounded("cfr-mid", CASE_LIMIT, move || {
                let data = payload(300_000, 13);
                // sendfile: the source on tmpfs, so copy_file_range declines with a real EXDEV.
                let mut src = if call == Syscall::Sendfile {
                    common::shm_file_with(&data, 0)
                } else {
                    common::file_with(&data, 0)
                };
                let mut dst = tempfile::tempfile().unwrap();
                let limit = 400_000u64;
                let second = (limit - data.len() as u64) as u32;
                seccomp::install(
                    &[Rule::when(seccomp::nr(call), errno, seccomp::len_arg(call), second)],
                    false,
                )
                .unwrap();
                let res = Copier::new().copy(&mut (&mut src).take(limit), &mut dst);
                let what = format!(
                    "file -> file, {} {} after {} bytes",
                    call.name(),
                    errno_name(errno),
                    data.len()
                );
                let strategy = if call == Syscall::CopyFileRange {
                    Strategy::CopyFileRange
                } else {
                    Strategy::Sendfile
                };
                let n = data.len() as u64;
                match verdict(call, errno, n) {
                    Verdict::Fail => {
                        let e = res.expect_err(&what);
                        assert_eq!(e.raw_os_error(), Some(errno), "{what}");
                        assert_eq!(e.written(), n, "{what}: {e:?}");
                        assert_eq!(e.report().bytes_by(strategy), n, "{what}: {e:?}");
                    }
                    Verdict::Decline => {
                        let r = res.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                        assert_eq!(r.written(), n, "{what}");
                        assert_eq!(r.strategy(), strategy, "{what}: {r:?}");
                    }
                    v => panic!("{what}: verdict {v:?}"),
                }
                same_bytes(&file_bytes(&dst), &data, &what);
                assert_eq!(offset(src.as_fd()), n, "{what}: source offset");
                assert_eq!(offset(dst.as_fd()), n, "{what}: destination offset");
            });
            eprintln!(
                "INFO cfr_and_sendfile_fault_after_progress {} {} ok",
                call.name(),
                errno_name(errno)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pattern B: ENOSYS and EPERM, which the engine remembers for the whole process.

#[test]
fn errno_matrix_cached_errnos() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "cached", Duration::from_secs(120));
}

#[test]
fn locked_down_container_eperm() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "locked:EPERM", Duration::from_secs(120));
}

#[test]
fn locked_down_container_enosys() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "locked:ENOSYS", Duration::from_secs(120));
}

/// `pipe2` failing (EMFILE: no descriptor left for the pool's pipe): socket → file declines to
/// the loop, and nothing is remembered. Pattern B: the pool must be empty.
#[test]
fn pool_pipe_creation_fails() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "pipe2-emfile", Duration::from_secs(60));
}

/// `F_SETPIPE_SZ` refused (EPERM: no CAP_SYS_RESOURCE, or the user's pipe budget spent): the
/// pool's pipe keeps its default size and splices in chunks of at most 64 KiB.
#[test]
fn pool_pipe_cannot_grow() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "setpipe-eperm", Duration::from_secs(60));
}

#[test]
fn eperm_on_one_descriptor_is_not_cached() {
    if let Err(why) = seccomp_works() {
        skip!("seccomp: {why}");
    }
    expect_child_ok("child", "eperm-one-fd", Duration::from_secs(60));
}

/// The re-exec'd child's entry point; a no-op in a normal run.
#[test]
fn child() {
    let Some(case) = child_case() else { return };
    match case.as_str() {
        "cached" => child_cached(),
        "locked:EPERM" => child_locked(libc::EPERM),
        "locked:ENOSYS" => child_locked(libc::ENOSYS),
        "eperm-one-fd" => child_eperm_one_fd(),
        "pipe2-emfile" => child_pool_pipe(Rule::all(libc::SYS_pipe2, libc::EMFILE), Strategy::Buffered),
        "setpipe-eperm" => child_pool_pipe(
            Rule::when(libc::SYS_fcntl, libc::EPERM, 1, libc::F_SETPIPE_SZ as u32),
            Strategy::SpliceViaPipe,
        ),
        other => panic!("unknown child case {other}"),
    }
    println!("CHILD-OK {case}");
}

/// ENOSYS and EPERM (whole-syscall filter) on every pair, one case at a time with the cache
/// reset between them: the copy falls back, the syscall is then skipped by copies on other
/// (unfiltered) threads, and after a reset it is used again.
fn child_cached() {
    let data = Arc::new(payload(1 << 20, 14));
    let mut ran = 0;
    for pair in PAIRS {
        if pair == Pair::FileFileSendfile && !cross_fs_available() {
            println!("SKIP child_cached/{pair:?}: /dev/shm and $TMPDIR share a filesystem");
            continue;
        }
        for errno in ERRNOS_PROCESS {
            fdcopy::__test::reset_syscall_availability();
            let call = pair.call();
            let out = run_case(pair, errno, data.clone());
            let expect = check_case(pair, errno, &out, &data);
            // Remembered for the whole process (ENOSYS, or EPERM that the probe confirms): the
            // primary pair of the call, on this (unfiltered) thread, skips it as the plan with
            // the call unavailable says. Otherwise it is used as usual.
            let remembered = errno == libc::ENOSYS || pair.probe_sees_filter();
            let primary = match call {
                Syscall::CopyFileRange => Pair::FileFile,
                Syscall::Sendfile => Pair::FileTcp,
                Syscall::Splice => Pair::PipeFile,
                other => panic!("no primary pair for {other:?}"),
            };
            let (s, d) = primary.ends();
            let (src, dst) = (source(s, &data), sink(d));
            let mut f: Facts = facts(src.side.fd(), dst.side.fd());
            if remembered {
                f.unavailable.insert(call);
            }
            drop((src.finish(), dst.finish()));
            let cached = plan(&f).first();
            check_normal(
                primary,
                &data,
                cached,
                &format!("after {} (remembered: {remembered})", errno_name(errno)),
            );
            fdcopy::__test::reset_syscall_availability();
            check_normal(primary, &data, primary.normal(), "after a reset");
            println!(
                "INFO {pair:?} {} {} -> {expect:?}; cached: {cached:?}",
                call.name(),
                errno_name(errno)
            );
            ran += 1;
        }
    }
    println!("INFO child_cached: {ran} injected cases");
}

/// A locked-down container: all three calls that move bytes fail with `errno` on every thread
/// (TSYNC). Every pair of the matrix still copies exactly, through the loop.
fn child_locked(errno: i32) {
    let moving = [Syscall::CopyFileRange, Syscall::Sendfile, Syscall::Splice];
    let rules: Vec<Rule> = moving.iter().map(|&c| Rule::all(seccomp::nr(c), errno)).collect();
    seccomp::install(&rules, true).expect("TSYNC filter");
    let data = Arc::new(payload(1 << 20, 15));
    let mut n = 0;
    for s in ENDS {
        for d in ENDS {
            let r = checked_copy(s, d, &data);
            assert_eq!(r.strategy(), Strategy::Buffered, "{s:?} -> {d:?} {r:?}");
            assert_eq!(
                r.bytes_by(Strategy::Buffered),
                data.len() as u64,
                "{s:?} -> {d:?} {r:?}"
            );
            n += 1;
        }
    }
    println!("INFO locked-down ({}): {n} pairs through the loop", errno_name(errno));
}

/// EPERM from copy_file_range for one descriptor number only (an immutable file, say): the probe
/// with fd -1 is answered by the kernel (EBADF), so nothing is cached, and a copy between other
/// descriptors on the same filtered thread still uses copy_file_range.
fn child_eperm_one_fd() {
    const FD: i32 = 900;
    let data = Arc::new(payload(1 << 20, 16));
    let src = common::file_with(&data, 0);
    // SAFETY: dup2 onto a number this process does not use; the new descriptor is owned below.
    let mut at900 = unsafe {
        assert_eq!(libc::dup2(src.as_raw_fd(), FD), FD);
        std::fs::File::from(OwnedFd::from_raw_fd(FD))
    };
    drop(src);
    seccomp::install(
        &[Rule::when(libc::SYS_copy_file_range, libc::EPERM, 0, FD as u32)],
        false,
    )
    .unwrap();
    let mut dst = tempfile::tempfile().unwrap();
    let r = Copier::new().copy(&mut at900, &mut dst).unwrap();
    assert_eq!(r.strategy(), Strategy::Sendfile, "{r:?}");
    assert_eq!(r.written(), data.len() as u64);
    same_bytes(&file_bytes(&dst), &data, "fd 900 -> file");
    // Not cached: another pair on this same thread uses copy_file_range.
    let r = checked_copy(End::File, End::File, &data);
    assert_eq!(r.strategy(), Strategy::CopyFileRange, "{r:?}");
    println!("INFO EPERM for fd {FD} only: sendfile took over, the next copy used copy_file_range");
}

/// TCP → file with the pool's pipe creation or growth faulted by `rule`, on a fresh thread of a
/// fresh process (the pool is empty): the copy is exact through `want`; then, unfiltered, the
/// next copy splices through the pool as usual.
fn child_pool_pipe(rule: Rule, want: Strategy) {
    assert_eq!(fdcopy::__test::pipe_pool_idle(), 0, "a fresh process has an empty pool");
    let data = Arc::new(payload(4 << 20, 17));
    let (chunk, r) = bounded("pool-pipe", CASE_LIMIT, {
        let data = data.clone();
        move || {
            let mut src = source(End::Tcp, &data);
            let mut dst = sink(End::File);
            seccomp::install(&[rule], false).unwrap();
            let mut max_chunk = 0;
            let mut on_progress = |p: fdcopy::Progress| max_chunk = max_chunk.max(p.chunk);
            let r = run_copy(
                &mut Copier::new().progress(&mut on_progress),
                &mut src.side,
                &mut dst.side,
            );
            src.finish();
            let (got, pos) = dst.finish();
            let r = r.unwrap();
            same_bytes(&got, &data, "tcp -> file");
            assert_eq!(pos, Some(data.len() as u64));
            (max_chunk, r)
        }
    });
    assert_eq!(r.strategy(), want, "{r:?}");
    assert_eq!(r.bytes_by(want), data.len() as u64, "{r:?}");
    if want == Strategy::SpliceViaPipe {
        assert!(
            chunk <= 1 << 16,
            "a pipe of the default size moves at most 64 KiB per splice, saw {chunk}"
        );
    }
    let again = checked_copy(End::Tcp, End::File, &data);
    assert_eq!(
        again.strategy(),
        Strategy::SpliceViaPipe,
        "nothing remembered: {again:?}"
    );
    println!("INFO {rule:?}: copied through {want} (largest chunk {chunk}); the next copy spliced");
}
