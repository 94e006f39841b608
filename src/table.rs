//! The strategy table and the fallback rule: which syscall moves the bytes between two kinds of
//! descriptor, and what an errno from it means.
//!
//! Both are pure functions, tested here without a syscall; the engine and the syscall wrappers
//! only follow them. They are public so that a caller (or a test, or `cargo xtask probe`) can
//! see the decision the engine will take for a pair before any byte moves:
//!
//! ```
//! use fdcopy::table::{plan, Facts, FdKind, SocketFamily};
//! use fdcopy::Strategy;
//! let facts = Facts::new(FdKind::StreamSocket(SocketFamily::Ip), FdKind::File);
//! assert_eq!(plan(&facts).steps(), &[Strategy::SpliceViaPipe, Strategy::Buffered]);
//! ```

pub use crate::descriptor::{FdKind, SocketFamily};
#[cfg(target_os = "linux")]
pub use crate::sys::stat::classify;

pub use crate::strategy::{Syscall, SyscallSet};

use crate::strategy::Strategy;

/// Whether `sendfile`/`splice` may pass page-cache pages of a *regular file* (or block device)
/// to a pipe or socket.
///
/// Those calls hand the receiver references to the file's cached pages, not copies: the bytes
/// are materialized only when the pipe is read or TCP transmits. A write to the file after the
/// copy returned can therefore change what the peer receives (rust-lang/rust#108283, #116451).
/// Go takes that risk ([`Share`](PageCache::Share), fdcopy's default, the fast path); std does
/// not ([`Isolate`](PageCache::Isolate): such pairs use the buffered loop). Copies into regular
/// files, and copies whose source is a pipe or a socket, are unaffected.
///
/// ```
/// use fdcopy::{Copier, PageCache};
/// assert_eq!(PageCache::default(), PageCache::Share);
/// let _conservative = Copier::new().page_cache(PageCache::Isolate);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageCache {
    /// Share pages (sendfile file→socket, splice file→pipe). Safe when the file is not modified
    /// while the receiver may still be reading.
    #[default]
    Share,
    /// Never share pages with a pipe or socket: std's conservative choice.
    Isolate,
}

/// Below this many bytes (known from a limit or the source file's size), the read/write loop
/// is cheaper than setting up a kernel path (measured with `cargo xtask bench`, `*/4k` rows).
///
/// ```
/// assert_eq!(fdcopy::table::SMALL_COPY, 16 * 1024);
/// ```
pub const SMALL_COPY: u64 = 16 * 1024;

/// What the engine knows about a copy when it consults the table.
///
/// Built with [`Facts::new`]; the other fields are then set by name.
///
/// ```
/// use fdcopy::table::{plan, Facts, FdKind};
/// use fdcopy::Strategy;
/// let mut f = Facts::new(FdKind::File, FdKind::File);
/// f.dst_append = true;
/// assert_eq!(plan(&f).steps(), &[Strategy::Buffered]); // O_APPEND: every kernel call refuses it
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Facts {
    /// The source descriptor's kind.
    pub src: FdKind,
    /// The destination descriptor's kind.
    pub dst: FdKind,
    /// The destination has `O_APPEND` (read with `F_GETFL` at copy time).
    pub dst_append: bool,
    /// Source and destination are the same file (same device and inode).
    pub same_file: bool,
    /// An upper bound of the bytes to move, when known: the smallest limit, or a regular
    /// source file's `st_size` (a hint: procfs says 0, and the loop then reads the truth).
    pub size_hint: Option<u64>,
    /// The page-cache sharing policy.
    pub page_cache: PageCache,
    /// Syscalls proven unavailable in this process.
    pub unavailable: SyscallSet,
}

impl Facts {
    /// A copy from `src` to `dst` with nothing else known: no `O_APPEND`, not the same file,
    /// no size, [`PageCache::Share`], every syscall available.
    pub fn new(src: FdKind, dst: FdKind) -> Self {
        Facts {
            src,
            dst,
            dst_append: false,
            same_file: false,
            size_hint: None,
            page_cache: PageCache::Share,
            unavailable: SyscallSet::default(),
        }
    }
}

/// The most steps a plan holds, the loop included.
const MAX_STEPS: usize = 4;

/// An ordered list of strategies; the last is always [`Strategy::Buffered`].
///
/// ```
/// use fdcopy::table::{plan, Facts, FdKind};
/// use fdcopy::Strategy;
/// let p = plan(&Facts::new(FdKind::File, FdKind::File));
/// assert_eq!(p.first(), Strategy::CopyFileRange);
/// assert_eq!(p.steps(), &[Strategy::CopyFileRange, Strategy::Sendfile, Strategy::Buffered]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    steps: [Strategy; MAX_STEPS],
    len: u8,
}

impl Plan {
    /// The plan of kernel strategies `kernel`, minus the unavailable ones, then the loop.
    fn of(kernel: &[Strategy], unavailable: SyscallSet) -> Plan {
        let mut p = Plan {
            steps: [Strategy::Buffered; MAX_STEPS],
            len: 0,
        };
        for &s in kernel {
            if s.syscall().is_some_and(|c| !unavailable.contains(c)) {
                p.steps[p.len as usize] = s;
                p.len += 1;
            }
        }
        p.steps[p.len as usize] = Strategy::Buffered;
        p.len += 1;
        p
    }

    /// The loop alone.
    fn buffered() -> Plan {
        Plan::of(&[], SyscallSet::default())
    }

    /// The strategies, in the order they are tried.
    pub fn steps(&self) -> &[Strategy] {
        &self.steps[..self.len as usize]
    }

    /// The first strategy.
    pub fn first(&self) -> Strategy {
        self.steps[0]
    }
}

/// The strategy table: which strategies to try, in order, for a copy with these facts.
///
/// | source \ destination | regular file | pipe | stream socket | char device |
/// |---|---|---|---|---|
/// | regular file | copy_file_range, sendfile | splice¹ | sendfile¹ | sendfile |
/// | block device | sendfile | splice¹ | sendfile¹ | sendfile |
/// | pipe | splice | splice | splice | splice |
/// | stream socket | splice via pipe | splice | splice via pipe | splice via pipe |
/// | char device | splice via pipe | splice | splice via pipe | splice via pipe |
///
/// Every list ends with the buffered loop. ¹ only under [`PageCache::Share`]. Datagram
/// sockets and other kinds use the loop only; so do an `O_APPEND` regular-file destination
/// (all three calls reject it), a file copied onto itself, a copy known to be smaller than
/// [`SMALL_COPY`], and syscalls proven unavailable. Character-device sources never use
/// `sendfile`, which keeps reading until its whole count is met and would hang on a tty.
///
/// ```
/// use fdcopy::table::{plan, Facts, FdKind, SocketFamily};
/// use fdcopy::Strategy;
/// let facts = Facts::new(FdKind::StreamSocket(SocketFamily::Ip), FdKind::File);
/// assert_eq!(plan(&facts).steps(), &[Strategy::SpliceViaPipe, Strategy::Buffered]);
/// ```
pub fn plan(f: &Facts) -> Plan {
    use FdKind::*;
    use Strategy::*;
    let share = f.page_cache == PageCache::Share;
    let to_file = !f.dst_append; // the only file destination the kernel calls accept
    let kernel: &[Strategy] = if f.same_file || f.size_hint.is_some_and(|n| n <= SMALL_COPY) {
        &[]
    } else {
        match (f.src, f.dst) {
            (File, File) if to_file => &[CopyFileRange, Sendfile],
            (BlockDevice, File) if to_file => &[Sendfile],
            (File | BlockDevice, Pipe) if share => &[Splice],
            (File | BlockDevice, StreamSocket(_)) if share => &[Sendfile],
            (File | BlockDevice, CharDevice) => &[Sendfile],
            (Pipe, File) if to_file => &[Splice],
            (Pipe, Pipe | StreamSocket(_) | CharDevice) => &[Splice],
            (StreamSocket(_) | CharDevice, Pipe) => &[Splice],
            (StreamSocket(_) | CharDevice, File) if to_file => &[SpliceViaPipe],
            (StreamSocket(_) | CharDevice, StreamSocket(_) | CharDevice) => &[SpliceViaPipe],
            _ => &[],
        }
    };
    Plan::of(kernel, f.unavailable)
}

/// The plan, when the source's kind (if known) and the size bound settle it before anything is
/// asked about the destination: a copy of at most [`SMALL_COPY`] bytes, or a source kind no
/// kernel call takes (datagram sockets and other kinds), is the loop whatever the destination.
///
/// The engine asks this first, so that such copies cost no syscall (a small limit) or only the
/// source's `fstat`. [`plan`] gives the same answer for every destination (a unit test checks
/// the two against each other).
///
/// ```
/// use fdcopy::table::{early_plan, FdKind, SocketFamily, SMALL_COPY};
/// use fdcopy::Strategy;
/// assert_eq!(early_plan(None, Some(SMALL_COPY)).unwrap().steps(), &[Strategy::Buffered]);
/// assert!(early_plan(Some(FdKind::File), None).is_none()); // the destination decides
/// assert!(early_plan(Some(FdKind::DatagramSocket(SocketFamily::Ip)), None).is_some());
/// ```
pub fn early_plan(src: Option<FdKind>, size_hint: Option<u64>) -> Option<Plan> {
    let small = size_hint.is_some_and(|n| n <= SMALL_COPY);
    let loop_only_source = matches!(src, Some(FdKind::DatagramSocket(_) | FdKind::Other));
    (small || loop_only_source).then(Plan::buffered)
}

/// What an errno from a kernel strategy means: the fallback rule, in one place.
///
/// ```
/// use fdcopy::table::{verdict, Syscall, Verdict};
/// assert_eq!(verdict(Syscall::Sendfile, libc::EINTR, 0), Verdict::Retry);
/// assert_eq!(verdict(Syscall::CopyFileRange, libc::ENOSYS, 0), Verdict::Unavailable);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// `EINTR`: call again.
    Retry,
    /// `EAGAIN`: a side would block; wait for it with `poll`, or report `WouldBlock` with the
    /// count when it is the source that has nothing.
    WouldBlock,
    /// "Not supported here": go on with the next strategy from where this one stopped. Nothing
    /// is lost: the calls use the file offsets (NULL offsets), so they are exact, and bytes in
    /// an intermediate pipe are delivered first.
    Decline,
    /// `ENOSYS`: the syscall itself is missing; decline, and skip it in this process from now on.
    Unavailable,
    /// `EPERM`: decline; a seccomp filter may deny the syscall (probe with an invalid fd to
    /// learn whether to skip it from now on), or it is one file's property (an immutable file)
    /// and says nothing about the next copy (rust-lang/rust#79274).
    MaybeDenied,
    /// A real error: return it with the exact count.
    Fail,
}

/// The fallback rule: what `errno` from `call`, after the strategy already moved `moved` bytes,
/// means.
///
/// ```
/// use fdcopy::table::{verdict, Syscall, Verdict};
/// assert_eq!(verdict(Syscall::CopyFileRange, libc::EXDEV, 0), Verdict::Decline);
/// assert_eq!(verdict(Syscall::CopyFileRange, libc::EBADF, 4096), Verdict::Fail);
/// assert_eq!(verdict(Syscall::Splice, libc::EPIPE, 0), Verdict::Fail);
/// ```
pub fn verdict(call: Syscall, errno: i32, moved: u64) -> Verdict {
    match errno {
        libc::EINTR => Verdict::Retry,
        libc::EAGAIN => Verdict::WouldBlock,
        libc::ENOSYS => Verdict::Unavailable,
        libc::EPERM => Verdict::MaybeDenied,
        // Not this pair: not regular files, no pipe, O_APPEND, overlap, cross-filesystem,
        // a filesystem without support, an offset out of range. The offsets are exact, so a
        // fallback after progress continues where the call stopped, carrying the count.
        libc::EINVAL | libc::EOPNOTSUPP | libc::EXDEV | libc::EOVERFLOW => Verdict::Decline,
        // EBADF: O_APPEND or a FUSE mount refusing the call; a descriptor that is really bad
        // fails again, for real, in the loop.
        libc::EBADF if moved == 0 => Verdict::Decline,
        // CIFS returns EIO from copy_file_range (golang/go#42334).
        libc::EIO if call == Syscall::CopyFileRange && moved == 0 => Verdict::Decline,
        _ => Verdict::Fail,
    }
}

/// Whether a call that returned 0 bytes on its first try declined (procfs, sysfs and overlayfs
/// give `copy_file_range` 0 where `read` finds data: the loop must look) or reached the end.
///
/// ```
/// use fdcopy::table::{zero_is_decline, Syscall};
/// assert!(zero_is_decline(Syscall::CopyFileRange, 0));
/// assert!(!zero_is_decline(Syscall::Splice, 0)); // end of file
/// ```
pub fn zero_is_decline(call: Syscall, moved: u64) -> bool {
    call == Syscall::CopyFileRange && moved == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use FdKind::*;
    use SocketFamily::{Ip, Unix};
    use Strategy::*;

    const KINDS: [FdKind; 9] = [
        File,
        Pipe,
        StreamSocket(Ip),
        StreamSocket(Unix),
        DatagramSocket(Ip),
        DatagramSocket(Unix),
        CharDevice,
        BlockDevice,
        Other,
    ];

    /// Every combination of the flags the table reads, for one pair of kinds.
    fn every_fact(src: FdKind, dst: FdKind) -> impl Iterator<Item = Facts> {
        let hints = [None, Some(0), Some(SMALL_COPY), Some(SMALL_COPY + 1), Some(u64::MAX)];
        (0..64u32).flat_map(move |bits| {
            hints.into_iter().map(move |size_hint| Facts {
                dst_append: bits & 1 != 0,
                same_file: bits & 2 != 0,
                page_cache: if bits & 4 != 0 {
                    PageCache::Isolate
                } else {
                    PageCache::Share
                },
                unavailable: Syscall::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| bits >> 3 & (1 << i) != 0)
                    .map(|(_, c)| c)
                    .collect(),
                size_hint,
                ..Facts::new(src, dst)
            })
        })
    }

    #[test]
    fn the_table() {
        let tcp = StreamSocket(Ip);
        let unix = StreamSocket(Unix);
        let cases: &[(FdKind, FdKind, &[Strategy])] = &[
            (File, File, &[CopyFileRange, Sendfile, Buffered]),
            (File, Pipe, &[Splice, Buffered]),
            (File, tcp, &[Sendfile, Buffered]),
            (File, unix, &[Sendfile, Buffered]),
            (File, CharDevice, &[Sendfile, Buffered]),
            (BlockDevice, File, &[Sendfile, Buffered]),
            (Pipe, File, &[Splice, Buffered]),
            (Pipe, Pipe, &[Splice, Buffered]),
            (Pipe, tcp, &[Splice, Buffered]),
            (tcp, File, &[SpliceViaPipe, Buffered]),
            (unix, File, &[SpliceViaPipe, Buffered]),
            (tcp, Pipe, &[Splice, Buffered]),
            (tcp, tcp, &[SpliceViaPipe, Buffered]),
            (unix, tcp, &[SpliceViaPipe, Buffered]),
            (CharDevice, Pipe, &[Splice, Buffered]),
            (CharDevice, File, &[SpliceViaPipe, Buffered]),
            (DatagramSocket(Ip), File, &[Buffered]),
            (File, DatagramSocket(Unix), &[Buffered]),
            (Other, File, &[Buffered]),
            (File, Other, &[Buffered]),
        ];
        for &(s, d, want) in cases {
            assert_eq!(plan(&Facts::new(s, d)).steps(), want, "{s:?} -> {d:?}");
        }
    }

    #[test]
    fn append_destination_takes_the_loop() {
        for src in KINDS {
            let f = Facts {
                dst_append: true,
                ..Facts::new(src, File)
            };
            assert_eq!(plan(&f).steps(), &[Buffered], "{src:?}");
        }
    }

    #[test]
    fn isolate_policy_never_shares_file_pages() {
        for src in [File, BlockDevice] {
            for dst in [Pipe, StreamSocket(Ip), StreamSocket(Unix)] {
                let f = Facts {
                    page_cache: PageCache::Isolate,
                    ..Facts::new(src, dst)
                };
                assert_eq!(plan(&f).steps(), &[Buffered], "{src:?} -> {dst:?}");
            }
        }
        // Copies into files keep their kernel paths.
        let f = Facts {
            page_cache: PageCache::Isolate,
            ..Facts::new(File, File)
        };
        assert_eq!(plan(&f).first(), CopyFileRange);
    }

    #[test]
    fn small_and_self_copies_take_the_loop() {
        let small = Facts {
            size_hint: Some(SMALL_COPY),
            ..Facts::new(File, File)
        };
        assert_eq!(plan(&small).steps(), &[Buffered]);
        let big = Facts {
            size_hint: Some(SMALL_COPY + 1),
            ..Facts::new(File, File)
        };
        assert_eq!(plan(&big).first(), CopyFileRange);
        let same = Facts {
            same_file: true,
            ..Facts::new(File, File)
        };
        assert_eq!(plan(&same).steps(), &[Buffered]);
    }

    #[test]
    fn unavailable_syscalls_are_skipped() {
        let f = Facts {
            unavailable: [Syscall::CopyFileRange].into_iter().collect(),
            ..Facts::new(File, File)
        };
        assert_eq!(plan(&f).steps(), &[Sendfile, Buffered]);
        let f = Facts {
            unavailable: [Syscall::Splice].into_iter().collect(),
            ..Facts::new(StreamSocket(Ip), File)
        };
        assert_eq!(plan(&f).steps(), &[Buffered]);
    }

    #[test]
    fn every_plan_ends_with_the_loop_and_never_repeats() {
        for src in KINDS {
            for dst in KINDS {
                for f in every_fact(src, dst) {
                    let p = plan(&f);
                    let steps = p.steps();
                    assert_eq!(*steps.last().unwrap(), Buffered);
                    for (i, a) in steps.iter().enumerate() {
                        assert!(!steps[i + 1..].contains(a), "{f:?}: {steps:?}");
                        if let Some(c) = a.syscall() {
                            assert!(!f.unavailable.contains(c), "{f:?}: {steps:?}");
                        }
                    }
                }
            }
        }
    }

    /// The engine trusts `early_plan` to skip the destination's facts: whenever it answers, for a
    /// known source kind or for none, `plan` must give that answer for every destination and
    /// every other fact, and a bound at or below the one given.
    #[test]
    fn early_plan_agrees_with_the_table() {
        let hints = [
            None,
            Some(0),
            Some(1),
            Some(SMALL_COPY),
            Some(SMALL_COPY + 1),
            Some(u64::MAX),
        ];
        let mut answered = 0;
        for hint in hints {
            for known in [false, true] {
                for src in KINDS {
                    let Some(early) = early_plan(known.then_some(src), hint) else {
                        continue;
                    };
                    answered += 1;
                    for dst in KINDS {
                        for f in every_fact(src, dst) {
                            let f = Facts {
                                size_hint: match (f.size_hint, hint) {
                                    (Some(a), Some(b)) => Some(a.min(b)),
                                    (a, b) => b.or(a),
                                },
                                ..f
                            };
                            assert_eq!(plan(&f), early, "{f:?}");
                        }
                    }
                }
            }
        }
        // Small bounds with or without a kind, datagram and other sources for every bound.
        assert_eq!(answered, 3 * 18 + 3 * 3);
        // And it leaves to the destination what only the destination can decide.
        for src in [File, Pipe, StreamSocket(Ip), CharDevice, BlockDevice] {
            assert_eq!(early_plan(Some(src), None), None);
            assert_eq!(early_plan(Some(src), Some(SMALL_COPY + 1)), None);
        }
        assert_eq!(early_plan(None, None), None);
    }

    #[test]
    fn the_fallback_rule() {
        use Syscall::*;
        for call in Syscall::ALL {
            assert_eq!(verdict(call, libc::EINTR, 5), Verdict::Retry);
            assert_eq!(verdict(call, libc::EAGAIN, 0), Verdict::WouldBlock);
            assert_eq!(verdict(call, libc::ENOSYS, 0), Verdict::Unavailable);
            assert_eq!(verdict(call, libc::EPERM, 0), Verdict::MaybeDenied);
            for e in [libc::EINVAL, libc::EOPNOTSUPP, libc::EXDEV, libc::EOVERFLOW] {
                assert_eq!(verdict(call, e, 0), Verdict::Decline);
                assert_eq!(verdict(call, e, 1 << 20), Verdict::Decline, "carries the count");
            }
            assert_eq!(verdict(call, libc::EBADF, 0), Verdict::Decline);
            assert_eq!(verdict(call, libc::EBADF, 1), Verdict::Fail);
            for e in [
                libc::ENOSPC,
                libc::EFBIG,
                libc::EPIPE,
                libc::ECONNRESET,
                libc::EISDIR,
                libc::ENOMEM,
            ] {
                assert_eq!(verdict(call, e, 0), Verdict::Fail);
            }
        }
        assert_eq!(verdict(CopyFileRange, libc::EIO, 0), Verdict::Decline);
        assert_eq!(verdict(CopyFileRange, libc::EIO, 1), Verdict::Fail);
        assert_eq!(verdict(Sendfile, libc::EIO, 0), Verdict::Fail);
        assert!(zero_is_decline(CopyFileRange, 0));
        assert!(!zero_is_decline(CopyFileRange, 1));
        assert!(!zero_is_decline(Sendfile, 0));
        assert!(!zero_is_decline(Splice, 0));
    }
}
