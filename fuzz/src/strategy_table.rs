//! `strategy_table`: the pure strategy table (`fdcopy::table::plan`) and fallback rule
//! (`fdcopy::table::verdict`, `fdcopy::table::zero_is_decline`) under arbitrary facts and simulated syscall
//! results.
//!
//! 1. Every plan is checked against a reference table written out here from the README (kinds,
//!    `O_APPEND`, same file, small copies, page-cache policy, unavailable syscalls, a sparse
//!    source, a whole-file copy, the hole and reflink policies), and for its shape: it ends
//!    with the loop, has no duplicates, no two steps share a syscall, no syscall marked
//!    unavailable appears.
//! 2. A sequence of copies is simulated the way the engine drives the table: each strategy's
//!    calls return an arbitrary sequence of (bytes moved | 0 | errno); the verdict decides
//!    (retry, wait, decline carrying the count, mark unavailable, fail with the count). The
//!    simulation must terminate within a bound, never run a syscall already known to be
//!    unavailable, keep the count exact across fallbacks, and carry the availability learned
//!    (ENOSYS; EPERM only when the invalid-descriptor probe says "filtered") into the next
//!    copy's plan.
//!    `Clone` (FICLONE) is all or nothing; `Hole` either declines at its first call (before
//!    anything changed: the dense steps after it copy) or finishes the copy; under
//!    `Reflink::Always` only `Clone` runs, and a copy it does not finish fails.
//! 3. The verdict itself: fixed errnos map to fixed verdicts, only "offsets are exact" errnos
//!    decline after progress, a verdict never becomes more lenient with progress.

use fdcopy::table::{plan, verdict, zero_is_decline, Facts, FdKind, SocketFamily, Syscall, SyscallSet, Verdict};
use fdcopy::{PageCache, Reflink, Sparse, Strategy};
use libfuzzer_sys::arbitrary::{self, Arbitrary};

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum K {
    File,
    Pipe,
    Tcp,
    Unix,
    StreamOther,
    Udp,
    UnixDgram,
    DgramOther,
    Char,
    Block,
    Other,
}

impl K {
    fn kind(self) -> FdKind {
        match self {
            K::File => FdKind::File,
            K::Pipe => FdKind::Pipe,
            K::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
            K::Unix => FdKind::StreamSocket(SocketFamily::Unix),
            K::StreamOther => FdKind::StreamSocket(SocketFamily::Other),
            K::Udp => FdKind::DatagramSocket(SocketFamily::Ip),
            K::UnixDgram => FdKind::DatagramSocket(SocketFamily::Unix),
            K::DgramOther => FdKind::DatagramSocket(SocketFamily::Other),
            K::Char => FdKind::CharDevice,
            K::Block => FdKind::BlockDevice,
            K::Other => FdKind::Other,
        }
    }
}

/// The errnos that matter, and any other.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Errno {
    Intr,
    Again,
    Nosys,
    Perm,
    Inval,
    Opnotsupp,
    Xdev,
    Overflow,
    Badf,
    Io,
    Nospc,
    Fbig,
    Pipe,
    Connreset,
    Isdir,
    Nomem,
    Txtbsy,
    Spipe,
    Notty,
    Acces,
    Dquot,
    Raw(i32),
}

impl Errno {
    fn raw(self) -> i32 {
        match self {
            Errno::Intr => libc::EINTR,
            Errno::Again => libc::EAGAIN,
            Errno::Nosys => libc::ENOSYS,
            Errno::Perm => libc::EPERM,
            Errno::Inval => libc::EINVAL,
            Errno::Opnotsupp => libc::EOPNOTSUPP,
            Errno::Xdev => libc::EXDEV,
            Errno::Overflow => libc::EOVERFLOW,
            Errno::Badf => libc::EBADF,
            Errno::Io => libc::EIO,
            Errno::Nospc => libc::ENOSPC,
            Errno::Fbig => libc::EFBIG,
            Errno::Pipe => libc::EPIPE,
            Errno::Connreset => libc::ECONNRESET,
            Errno::Isdir => libc::EISDIR,
            Errno::Nomem => libc::ENOMEM,
            Errno::Txtbsy => libc::ETXTBSY,
            Errno::Spipe => libc::ESPIPE,
            Errno::Notty => libc::ENOTTY,
            Errno::Acces => libc::EACCES,
            Errno::Dquot => libc::EDQUOT,
            Errno::Raw(e) => e,
        }
    }
}

/// One simulated syscall result.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Call {
    /// Moved this many bytes (capped by what is left; 0 after the cap means end of file).
    Moved(u32),
    /// Returned 0.
    Zero,
    Errno(Errno),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Input {
    pub src: K,
    pub dst: K,
    pub dst_append: bool,
    pub same_file: bool,
    pub size_hint: Option<u32>,
    pub isolate: bool,
    pub src_sparse: bool,
    pub whole_file: bool,
    pub sparse_never: bool,
    /// 0 Auto, 1 Never, 2 Always (mod 3).
    pub reflink: u8,
    /// Syscalls already known unavailable before the first copy.
    pub unavailable: u8,
    /// Bytes the source holds, and the limit.
    pub data: u32,
    pub limit: Option<u32>,
    /// Per strategy (copy_file_range, sendfile, splice, splice via pipe, clone, hole): the
    /// results of its calls, in order; when they run out, the call moves everything left, then
    /// returns 0.
    pub calls: [Vec<Call>; 6],
    /// What the invalid-descriptor probe answers after EPERM, per syscall: filtered or not.
    pub filtered: [bool; 7],
    /// Copies run in a row in one process (availability carries over).
    pub copies: u8,
    /// Verdict spot checks: (syscall, errno, moved).
    pub spot: Vec<(u8, Errno, u32)>,
}

fn syscall_index(c: Syscall) -> usize {
    match c {
        Syscall::CopyFileRange => 0,
        Syscall::Sendfile => 1,
        Syscall::Splice => 2,
        Syscall::Ficlone => 3,
        Syscall::SeekData => 4,
        Syscall::Fallocate => 5,
        Syscall::Ftruncate => 6,
        other => panic!("the oracle does not know {other:?}"),
    }
}

fn bit(c: Syscall) -> u8 {
    1 << syscall_index(c)
}

/// The oracle's bitmask as the table's set.
fn set(bits: u8) -> SyscallSet {
    Syscall::ALL.into_iter().filter(|&c| bits & bit(c) != 0).collect()
}

fn strategy_index(s: Strategy) -> usize {
    match s {
        Strategy::CopyFileRange => 0,
        Strategy::Sendfile => 1,
        Strategy::Splice => 2,
        Strategy::SpliceViaPipe => 3,
        Strategy::Clone => 4,
        Strategy::Hole => 5,
        other => panic!("{other:?} has no calls"),
    }
}

/// The strategy table as the README states it: kernel steps before the loop, before the
/// availability filter.
pub fn reference(f: &Facts) -> Vec<Strategy> {
    use FdKind::*;
    use Strategy::*;
    let files = f.src == File && f.dst == File && !f.dst_append && !f.same_file;
    if f.reflink == Reflink::Always {
        // FICLONE of a whole file, whatever its size, or nothing.
        return if files && f.whole_file { vec![Clone] } else { vec![] };
    }
    // Small copies take the loop: never file → socket, up to 4 KiB socket → socket, up to
    // 16 KiB otherwise.
    let small = match (f.src, f.dst) {
        (File | BlockDevice, StreamSocket(_)) => 0,
        (StreamSocket(_) | CharDevice, StreamSocket(_) | CharDevice) => 4 << 10,
        _ => 16 << 10,
    };
    if f.same_file || f.size_hint.is_some_and(|n| n <= small) {
        return vec![];
    }
    let share = f.page_cache == PageCache::Share;
    let file_dst_ok = !f.dst_append;
    match (f.src, f.dst) {
        (File, File) if file_dst_ok => {
            let mut v = Vec::new();
            if f.reflink == Reflink::Auto && f.whole_file {
                v.push(Clone);
            }
            if f.sparse == Sparse::Auto && f.src_sparse && !f.unavailable.contains(Syscall::Ftruncate) {
                v.push(Hole);
            }
            if f.reflink == Reflink::Auto {
                v.push(CopyFileRange);
            }
            v.push(Sendfile);
            v
        }
        (BlockDevice, File) if file_dst_ok => vec![Sendfile],
        (File | BlockDevice, Pipe) if share => vec![Splice],
        (File | BlockDevice, StreamSocket(_)) if share => vec![Sendfile],
        (File | BlockDevice, CharDevice) => vec![Sendfile],
        (Pipe, File) if file_dst_ok => vec![Splice],
        (Pipe, Pipe | StreamSocket(_) | CharDevice) => vec![Splice],
        (StreamSocket(_) | CharDevice, Pipe) => vec![Splice],
        (StreamSocket(_) | CharDevice, File) if file_dst_ok => vec![SpliceViaPipe],
        (StreamSocket(_) | CharDevice, StreamSocket(_) | CharDevice) => vec![SpliceViaPipe],
        _ => vec![],
    }
}

fn check_plan(f: &Facts) -> Vec<Strategy> {
    let p = plan(f);
    let steps = p.steps().to_vec();
    assert_eq!(plan(f).steps(), &steps[..], "plan is not deterministic: {f:?}");
    assert!(!steps.is_empty() && steps.len() <= 5, "{f:?}: {steps:?}");
    assert_eq!(*steps.last().unwrap(), Strategy::Buffered, "{f:?}: {steps:?}");
    assert_eq!(p.first(), steps[0]);
    let kernel = &steps[..steps.len() - 1];
    let mut seen_calls = 0u8;
    for (i, s) in kernel.iter().enumerate() {
        assert!(!kernel[i + 1..].contains(s), "duplicate {s:?}: {f:?}: {steps:?}");
        let c = s
            .syscall()
            .unwrap_or_else(|| panic!("{s:?} before the loop: {f:?}: {steps:?}"));
        assert!(
            !f.unavailable.contains(c),
            "unavailable {c:?} planned: {f:?}: {steps:?}"
        );
        assert_eq!(seen_calls & bit(c), 0, "two steps share {c:?}: {f:?}: {steps:?}");
        seen_calls |= bit(c);
    }
    // Against the README's table, filtered by availability.
    let want: Vec<Strategy> = reference(f)
        .into_iter()
        .filter(|s| s.syscall().is_some_and(|c| !f.unavailable.contains(c)))
        .collect();
    assert_eq!(kernel, &want[..], "table differs from the README: {f:?}");
    // More unavailable syscalls only remove steps (holes also need ftruncate).
    let mut all = *f;
    all.unavailable = SyscallSet::default();
    let full = plan(&all).steps().to_vec();
    let needs = |s: Strategy| {
        let extra = (s == Strategy::Hole).then_some(Syscall::Ftruncate);
        s.syscall().into_iter().chain(extra).collect::<Vec<_>>()
    };
    let filtered: Vec<Strategy> = full
        .iter()
        .copied()
        .filter(|&s| needs(s).iter().all(|&c| !f.unavailable.contains(c)))
        .collect();
    assert_eq!(filtered, steps, "availability does more than remove steps: {f:?}");
    steps
}

/// The fallback rule's fixed points.
fn check_verdict(call: Syscall, errno: i32, moved: u64) -> Verdict {
    let v = verdict(call, errno, moved);
    assert_eq!(v, verdict(call, errno, moved), "verdict is not deterministic");
    let exact_offsets = [libc::EINVAL, libc::EOPNOTSUPP, libc::EXDEV, libc::EOVERFLOW];
    let real = [
        libc::ENOSPC,
        libc::EFBIG,
        libc::EPIPE,
        libc::ECONNRESET,
        libc::EISDIR,
        libc::ENOMEM,
        libc::ETXTBSY,
        libc::ESPIPE,
        libc::EDQUOT,
    ];
    // FICLONE: coreutils' "not supported here" errnos decline; its terminal ones fail.
    let clone_not_here = [libc::ENOTTY, libc::ETXTBSY, libc::EACCES];
    let ctx = || format!("verdict({call:?}, {errno}, {moved}) = {v:?}");
    match errno {
        e if call == Syscall::Ficlone && clone_not_here.contains(&e) => {
            assert_eq!(v, Verdict::Decline, "{}", ctx())
        }
        libc::EINTR => assert_eq!(v, Verdict::Retry, "{}", ctx()),
        libc::EAGAIN => assert_eq!(v, Verdict::WouldBlock, "{}", ctx()),
        libc::ENOSYS => assert_eq!(v, Verdict::Unavailable, "{}", ctx()),
        libc::EPERM => assert_eq!(v, Verdict::MaybeDenied, "{}", ctx()),
        e if exact_offsets.contains(&e) => assert_eq!(v, Verdict::Decline, "{}", ctx()),
        e if real.contains(&e) => assert_eq!(v, Verdict::Fail, "{}", ctx()),
        libc::EBADF => assert_eq!(
            v,
            if moved == 0 { Verdict::Decline } else { Verdict::Fail },
            "{}",
            ctx()
        ),
        libc::EIO => {
            let decline = call == Syscall::CopyFileRange && moved == 0;
            assert_eq!(v, if decline { Verdict::Decline } else { Verdict::Fail }, "{}", ctx());
        }
        _ => assert_eq!(v, Verdict::Fail, "unknown errnos are real errors: {}", ctx()),
    }
    match v {
        Verdict::Retry => assert_eq!(errno, libc::EINTR, "{}", ctx()),
        Verdict::WouldBlock => assert_eq!(errno, libc::EAGAIN, "{}", ctx()),
        Verdict::Unavailable => assert_eq!(errno, libc::ENOSYS, "{}", ctx()),
        Verdict::MaybeDenied => assert_eq!(errno, libc::EPERM, "{}", ctx()),
        // After progress only a call whose offsets are exact may hand over to the next one.
        Verdict::Decline if moved > 0 => assert!(
            exact_offsets.contains(&errno) || (call == Syscall::Ficlone && clone_not_here.contains(&errno)),
            "{}",
            ctx()
        ),
        _ => {}
    }
    // Progress never makes the rule more lenient.
    if moved > 0 {
        let before = verdict(call, errno, 0);
        if before == Verdict::Fail {
            assert_eq!(v, Verdict::Fail, "{} but Fail before progress", ctx());
        }
    }
    v
}

/// How a simulated copy ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Done,
    Failed,
}

pub fn run(input: Input) {
    // Spot checks of the rule, then zero_is_decline.
    for &(c, e, m) in input.spot.iter().take(32) {
        let call = Syscall::ALL[c as usize % Syscall::ALL.len()];
        check_verdict(call, e.raw(), m as u64);
    }
    for call in Syscall::ALL {
        assert_eq!(zero_is_decline(call, 0), call == Syscall::CopyFileRange);
        assert!(!zero_is_decline(call, 1 + input.data as u64));
    }

    let mut unavailable = input.unavailable & 0x7f;
    for copy in 0..(input.copies % 4 + 1) {
        let mut facts = Facts::new(input.src.kind(), input.dst.kind());
        facts.dst_append = input.dst_append;
        facts.same_file = input.same_file;
        facts.size_hint = input.size_hint.map(u64::from);
        facts.page_cache = if input.isolate {
            PageCache::Isolate
        } else {
            PageCache::Share
        };
        facts.unavailable = set(unavailable);
        facts.src_sparse = input.src_sparse;
        facts.whole_file = input.whole_file;
        facts.sparse = if input.sparse_never { Sparse::Never } else { Sparse::Auto };
        let always = input.reflink % 3 == 2;
        facts.reflink = [Reflink::Auto, Reflink::Never, Reflink::Always][(input.reflink % 3) as usize];
        let steps = check_plan(&facts);
        let want = input.limit.map_or(input.data, |l| l.min(input.data)) as u64;
        let mut total = 0u64;
        let mut budget = 4 * (input.calls.iter().map(Vec::len).sum::<usize>() + 4) + 64;
        let mut end = None;
        'steps: for &s in &steps {
            if always && s != Strategy::Clone {
                // Reflink::Always: only the clone runs; a copy it did not finish fails.
                end = Some(End::Failed);
                break;
            }
            if s == Strategy::Buffered {
                // The loop moves the rest (from where the kernel stopped).
                total = want;
                end = Some(End::Done);
                break;
            }
            let call = s.syscall().unwrap();
            assert_eq!(
                unavailable & bit(call),
                0,
                "copy {copy}: {s:?} runs although {call:?} was found unavailable: {facts:?} {steps:?}"
            );
            let script = &input.calls[strategy_index(s)];
            let mut next = 0;
            let mut moved = 0u64;
            let mut spurious = 0;
            loop {
                budget = budget.checked_sub(1).expect("the simulated copy does not terminate");
                let result = match script.get(next) {
                    Some(&c) => {
                        next += 1;
                        c
                    }
                    None if total < want => Call::Moved((want - total).min(u32::MAX as u64) as u32),
                    None => Call::Zero,
                };
                // FICLONE is all or nothing, and the sparse walk, once past its first call,
                // finishes the copy (its extents go by the steps after it).
                if matches!(s, Strategy::Clone | Strategy::Hole) && !matches!(result, Call::Errno(_)) {
                    total = want;
                    end = Some(End::Done);
                    break 'steps;
                }
                match result {
                    Call::Moved(n) if (n as u64).min(want - total) > 0 => {
                        let n = (n as u64).min(want - total);
                        moved += n;
                        total += n;
                    }
                    Call::Moved(_) | Call::Zero => {
                        if zero_is_decline(call, moved) {
                            continue 'steps;
                        }
                        // End of file (or the limit): the copy is complete.
                        end = Some(End::Done);
                        break 'steps;
                    }
                    Call::Errno(e) => match check_verdict(call, e.raw(), moved) {
                        Verdict::Retry => {}
                        // The engine waits with poll, a bounded number of times.
                        Verdict::WouldBlock if spurious < 3 => spurious += 1,
                        Verdict::WouldBlock | Verdict::Fail => {
                            end = Some(End::Failed);
                            break 'steps;
                        }
                        Verdict::Decline => continue 'steps,
                        Verdict::Unavailable => {
                            unavailable |= bit(call);
                            continue 'steps;
                        }
                        Verdict::MaybeDenied => {
                            if input.filtered[syscall_index(call)] {
                                unavailable |= bit(call);
                            }
                            continue 'steps;
                        }
                        other => panic!("the oracle does not know verdict {other:?}"),
                    },
                }
            }
        }
        let end = end.expect("every plan ends with the loop, which finishes the copy");
        assert!(total <= want, "moved {total} of {want}");
        if end == End::Done && total < want {
            // Only a kernel call reporting end of file stops a copy short.
            assert!(steps.len() > 1, "the loop alone stopped short");
        }
    }
}
