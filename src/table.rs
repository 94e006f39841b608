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

/// Whether a copy of a sparse regular file into a regular file keeps its holes.
///
/// With [`Auto`](Sparse::Auto), fdcopy's default, a source whose `st_blocks` say it holds
/// fewer bytes than its size is copied extent by extent (`SEEK_DATA`/`SEEK_HOLE`): holes are
/// skipped where the destination already reads zeros and punched where it held old bytes, so
/// the bytes read back are identical and the destination takes the space of the data only, as
/// `cp --sparse=auto` does ([`Strategy::Hole`] counts the bytes covered that way). Dense files
/// pay nothing for it: the `fstat` that says so is the one the copy makes anyway.
///
/// [`Never`](Sparse::Never) copies the way `std::io::copy` does, every zero written. (Where
/// `copy_file_range` or `FICLONE` reflink, on XFS and btrfs, std's copy keeps the holes too; a
/// copy into fresh, fully allocated blocks is [`Reflink::Never`] with `Sparse::Never`.) Use it on
/// filesystems whose `SEEK_DATA` is known to lie (OpenZFS #11900, #15526, #15933): a sparse copy
/// trusts it.
///
/// ```
/// use fdcopy::{Copier, Sparse};
/// assert_eq!(Sparse::default(), Sparse::Auto);
/// let _like_std = Copier::new().sparse(Sparse::Never);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sparse {
    /// Keep the holes of a source that looks sparse (`st_blocks * 512 < st_size`).
    #[default]
    Auto,
    /// Write every byte, zeros included (std's allocation).
    Never,
}

/// Whether a file → file copy may share the source's blocks (a reflink) instead of copying
/// them.
///
/// | policy | what runs |
/// |---|---|
/// | [`Auto`](Reflink::Auto) (default) | `FICLONE` for a whole file into an empty destination where the filesystem can (XFS, btrfs); otherwise `copy_file_range`, which may reflink on its own |
/// | [`Never`](Reflink::Never) | neither `FICLONE` nor `copy_file_range`: `sendfile` or the loop, so the destination gets blocks of its own (uutils #13064, coreutils bug 48164) |
/// | [`Always`](Reflink::Always) | `FICLONE` only: the copy clones, or fails with the destination untouched (`FICLONE`'s errno, or `Unsupported` for a copy that is not a whole regular file into an empty one) |
///
/// ```
/// use fdcopy::{Copier, Reflink};
/// assert_eq!(Reflink::default(), Reflink::Auto);
/// let _fresh_blocks = Copier::new().reflink(Reflink::Never);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reflink {
    /// Clone whole files where the filesystem can, else copy.
    #[default]
    Auto,
    /// Never share blocks: no `FICLONE`, no `copy_file_range`.
    Never,
    /// Clone or fail.
    Always,
}

/// Up to this many bytes (known from a limit or the source file's size), the read/write loop
/// is cheaper than a kernel path into a regular file (measured with `cargo xtask bench
/// --sweep`); [`small_copy`] gives the bound of every pair.
///
/// ```
/// assert_eq!(fdcopy::table::SMALL_COPY, 16 * 1024);
/// ```
pub const SMALL_COPY: u64 = 16 * 1024;

/// Up to this many bytes a socket → socket copy is as cheap in the loop as through a pipe.
const SMALL_VIA_PIPE: u64 = 4 * 1024;

/// The largest copy for which the pair takes the loop rather than its kernel path: where, in
/// `cargo xtask bench --sweep`, the kernel call alone stopped costing more CPU than the
/// cheapest plain loop, consistently from run to run (`docs/benchmarks.md`; the 2-core VM,
/// 2026-12-01).
///
/// * File → socket (`sendfile`): none, the call is cheaper from the smallest size measured
///   (three sweeps: 0.67–0.79 × the cheapest loop at 4 KiB, 0.57–0.72 at 16 KiB; fdcopy with
///   its `fstat` 0.89–0.93 and 0.64–0.70).
/// * Socket → socket, two `splice`s through a pipe: 4 KiB (at 4 KiB the loop and the pipe
///   cost the same, at 16 KiB the pipe 0.6–0.8 × the loop).
/// * Every other pair: [`SMALL_COPY`]. Into a regular file the crossover moved between 4 and
///   256 KiB from run to run; file → pipe `splice` measured 1.05–1.11 × the loop at 4 KiB and
///   0.99–1.14 × at 16 KiB in three sweeps, below it only from 64 KiB.
///
/// ```
/// use fdcopy::table::{small_copy, FdKind, SocketFamily, SMALL_COPY};
/// let tcp = FdKind::StreamSocket(SocketFamily::Ip);
/// assert_eq!(small_copy(FdKind::File, tcp), 0);
/// assert_eq!(small_copy(tcp, tcp), 4096);
/// assert_eq!(small_copy(tcp, FdKind::File), SMALL_COPY);
/// assert_eq!(small_copy(FdKind::File, FdKind::Pipe), SMALL_COPY);
/// ```
pub fn small_copy(src: FdKind, dst: FdKind) -> u64 {
    use FdKind::*;
    match (src, dst) {
        (StreamSocket(_) | CharDevice, StreamSocket(_) | CharDevice) => SMALL_VIA_PIPE,
        (File | BlockDevice, StreamSocket(_)) => 0,
        _ => SMALL_COPY,
    }
}

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
    /// The source is a regular file that looks sparse: `st_blocks * 512 < st_size` (the
    /// heuristic of coreutils, uutils and xcp), from the `fstat` the copy makes anyway.
    pub src_sparse: bool,
    /// A whole-file copy into an empty destination: both descriptors at offset 0, the
    /// destination's size 0, no limit. Only such a copy may be a `FICLONE`.
    pub whole_file: bool,
    /// The hole policy.
    pub sparse: Sparse,
    /// The reflink policy.
    pub reflink: Reflink,
}

impl Facts {
    /// A copy from `src` to `dst` with nothing else known: no `O_APPEND`, not the same file,
    /// no size, [`PageCache::Share`], every syscall available, a dense source, not a whole-file
    /// copy, [`Sparse::Auto`], [`Reflink::Auto`].
    pub fn new(src: FdKind, dst: FdKind) -> Self {
        Facts {
            src,
            dst,
            dst_append: false,
            same_file: false,
            size_hint: None,
            page_cache: PageCache::Share,
            unavailable: SyscallSet::default(),
            src_sparse: false,
            whole_file: false,
            sparse: Sparse::Auto,
            reflink: Reflink::Auto,
        }
    }
}

/// The most steps a plan holds, the loop included: clone, holes, copy_file_range, sendfile,
/// the loop.
const MAX_STEPS: usize = 5;

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
/// | regular file | clone², holes³, copy_file_range⁴, sendfile | splice¹ | sendfile¹ | sendfile |
/// | block device | sendfile | splice¹ | sendfile¹ | sendfile |
/// | pipe | splice | splice | splice | splice |
/// | stream socket | splice via pipe | splice | splice via pipe | splice via pipe |
/// | char device | splice via pipe | splice | splice via pipe | splice via pipe |
///
/// Every list ends with the buffered loop. ¹ only under [`PageCache::Share`]. ² `FICLONE`, for a
/// [whole-file](Facts::whole_file) copy unless [`Reflink::Never`]. ³ [`Strategy::Hole`], for a
/// [sparse-looking](Facts::src_sparse) source under [`Sparse::Auto`]: its extents go by the
/// steps after it (copy_file_range, sendfile, the loop), and those steps are also the dense copy
/// should it decline before touching anything. ⁴ not under [`Reflink::Never`].
///
/// Datagram sockets and other kinds use the loop only; so do an `O_APPEND` regular-file
/// destination (every kernel call rejects it), a file copied onto itself, a copy known to be
/// no larger than the pair's [`small_copy`] bound, and syscalls proven unavailable (holes need `SEEK_DATA` and
/// `ftruncate`). Character-device sources never use `sendfile`, which keeps reading until its
/// whole count is met and would hang on a tty.
///
/// Under [`Reflink::Always`] the plan is `[Clone, Buffered]` for a whole-file copy between two
/// regular files (of any size) and `[Buffered]` otherwise, and the engine runs `Clone` alone: a
/// copy it cannot clone fails instead of reaching the loop.
///
/// ```
/// use fdcopy::table::{plan, Facts, FdKind, SocketFamily};
/// use fdcopy::Strategy;
/// let facts = Facts::new(FdKind::StreamSocket(SocketFamily::Ip), FdKind::File);
/// assert_eq!(plan(&facts).steps(), &[Strategy::SpliceViaPipe, Strategy::Buffered]);
///
/// let mut sparse = Facts::new(FdKind::File, FdKind::File);
/// sparse.src_sparse = true;
/// sparse.whole_file = true;
/// assert_eq!(
///     plan(&sparse).steps(),
///     &[Strategy::Clone, Strategy::Hole, Strategy::CopyFileRange, Strategy::Sendfile, Strategy::Buffered]
/// );
/// ```
pub fn plan(f: &Facts) -> Plan {
    use FdKind::*;
    use Strategy::*;
    let share = f.page_cache == PageCache::Share;
    let to_file = !f.dst_append; // the only file destination the kernel calls accept
    let files = f.src == File && f.dst == File && to_file && !f.same_file;
    if f.reflink == Reflink::Always {
        let clone: &[Strategy] = if files && f.whole_file { &[Clone] } else { &[] };
        return Plan::of(clone, f.unavailable);
    }
    let mut file_file = [Buffered; MAX_STEPS - 1];
    let kernel: &[Strategy] = if f.same_file || f.size_hint.is_some_and(|n| n <= small_copy(f.src, f.dst)) {
        &[]
    } else {
        match (f.src, f.dst) {
            (File, File) if to_file => {
                let reflink = f.reflink != Reflink::Never;
                let holes = f.sparse == Sparse::Auto && f.src_sparse && !f.unavailable.contains(Syscall::Ftruncate);
                let mut n = 0;
                for (wanted, s) in [
                    (reflink && f.whole_file, Clone),
                    (holes, Hole),
                    (reflink, CopyFileRange),
                    (true, Sendfile),
                ] {
                    if wanted {
                        file_file[n] = s;
                        n += 1;
                    }
                }
                &file_file[..n]
            }
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

/// The plan, when what the types tell and the size bound settle it before any `fstat`: a copy
/// no larger than the pair's [`small_copy`] bound, or a source kind no kernel call takes
/// (datagram sockets and other kinds, whatever the destination), is the loop.
///
/// A side whose kind is not known (`None`: a std `File`, which could be anything until it is
/// stat'ed) counts as a regular file here, the common case: a small copy between `File`s costs
/// no syscall, and one from a `File` into a socket (bound 0) learns the source's kind.
/// A `File` that is really a pipe or socket then gets the loop for a small copy, which is
/// correct for every kind; [`plan`] gives the same answer for the kinds assumed (a unit test
/// checks the two against each other) under [`Reflink::Auto`] and [`Reflink::Never`]; under
/// [`Reflink::Always`], where a small file is cloned too, the engine does not ask.
///
/// ```
/// use fdcopy::table::{early_plan, FdKind, SocketFamily, SMALL_COPY};
/// use fdcopy::Strategy;
/// let tcp = Some(FdKind::StreamSocket(SocketFamily::Ip));
/// assert_eq!(early_plan(None, None, Some(SMALL_COPY)).unwrap().steps(), &[Strategy::Buffered]);
/// assert!(early_plan(None, tcp, Some(4096)).is_none()); // sendfile, if the source is a file
/// assert!(early_plan(Some(FdKind::File), None, None).is_none()); // the destination decides
/// assert!(early_plan(Some(FdKind::DatagramSocket(SocketFamily::Ip)), None, None).is_some());
/// ```
pub fn early_plan(src: Option<FdKind>, dst: Option<FdKind>, size_hint: Option<u64>) -> Option<Plan> {
    let bound = small_copy(src.unwrap_or(FdKind::File), dst.unwrap_or(FdKind::File));
    let small = size_hint.is_some_and(|n| n <= bound);
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
        // FICLONE moves nothing unless it succeeds: coreutils' "not supported here" set
        // (is_CLONENOTSUP: ENOTTY from filesystems without the ioctl, ETXTBSY, EACCES, and the
        // ones above) goes on with a copy; its terminal errors (EIO, ENOMEM, ENOSPC, EDQUOT:
        // a clone that was supported and failed, coreutils 9.2 NEWS) fail with the rest.
        libc::ENOTTY | libc::ETXTBSY | libc::EACCES if call == Syscall::Ficlone => Verdict::Decline,
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

    /// Every combination of the flags the table reads, for one pair of kinds: `O_APPEND`, same
    /// file, page cache and every set of the first three syscalls unavailable (0.2's facts), times
    /// every combination of a sparse source, a whole-file copy and both policies, and the sparse
    /// and clone syscalls unavailable (one at a time, or together) for a sparse whole-file copy
    /// under `Reflink::Auto` and `Reflink::Always`, where they matter.
    fn every_fact(src: FdKind, dst: FdKind) -> impl Iterator<Item = Facts> {
        let hints = [
            None,
            Some(0),
            Some(SMALL_VIA_PIPE),
            Some(SMALL_COPY),
            Some(SMALL_COPY + 1),
            Some(u64::MAX),
        ];
        let reflinks = [Reflink::Auto, Reflink::Never, Reflink::Always];
        let mut new: Vec<(bool, bool, Sparse, Reflink, &'static [Syscall])> = Vec::new();
        for more in 0..24u32 {
            let sparse = if more & 4 != 0 { Sparse::Never } else { Sparse::Auto };
            new.push((
                more & 1 != 0,
                more & 2 != 0,
                sparse,
                reflinks[(more >> 3) as usize],
                &[],
            ));
        }
        let gone: [&'static [Syscall]; 5] = [
            &[Syscall::Ficlone],
            &[Syscall::SeekData],
            &[Syscall::Fallocate],
            &[Syscall::Ftruncate],
            &[
                Syscall::Ficlone,
                Syscall::SeekData,
                Syscall::Fallocate,
                Syscall::Ftruncate,
            ],
        ];
        for reflink in [Reflink::Auto, Reflink::Always] {
            for g in gone {
                new.push((true, true, Sparse::Auto, reflink, g));
            }
        }
        (0..64u32).flat_map(move |bits| {
            let new = new.clone();
            new.into_iter()
                .flat_map(move |(src_sparse, whole_file, sparse, reflink, extra)| {
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
                            .chain(extra.iter().copied())
                            .collect(),
                        size_hint,
                        src_sparse,
                        whole_file,
                        sparse,
                        reflink,
                        ..Facts::new(src, dst)
                    })
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

    /// The engine trusts `early_plan` to skip the facts it has not learnt: whenever it answers,
    /// `plan` must give that answer for every other fact and a bound at or below the one given,
    /// for a known side's kind and for the kind an unknown side is taken to be (a regular
    /// file); for a source no kernel call takes, for every destination.
    #[test]
    fn early_plan_agrees_with_the_table() {
        let hints = [
            None,
            Some(0),
            Some(1),
            Some(SMALL_VIA_PIPE),
            Some(SMALL_VIA_PIPE + 1),
            Some(SMALL_COPY),
            Some(SMALL_COPY + 1),
            Some(u64::MAX),
        ];
        let sides = || std::iter::once(None).chain(KINDS.into_iter().map(Some));
        let mut answered = 0;
        for hint in hints {
            for src in sides() {
                for dst in sides() {
                    let Some(early) = early_plan(src, dst, hint) else {
                        continue;
                    };
                    answered += 1;
                    let loop_only = matches!(src, Some(DatagramSocket(_) | Other));
                    let srcs = src.map_or(vec![File], |k| vec![k]);
                    let dsts = match dst {
                        Some(k) => vec![k],
                        None if loop_only => KINDS.to_vec(),
                        None => vec![File],
                    };
                    for (&s, &d) in srcs.iter().flat_map(|s| dsts.iter().map(move |d| (s, d))) {
                        // Under Reflink::Always the engine does not ask early_plan (a small
                        // file is cloned too); `reflink_always_only_clones` covers it.
                        for f in every_fact(s, d).filter(|f| f.reflink != Reflink::Always) {
                            let f = Facts {
                                size_hint: match (f.size_hint, hint) {
                                    (Some(a), Some(b)) => Some(a.min(b)),
                                    (a, b) => b.or(a),
                                },
                                ..f
                            };
                            assert_eq!(plan(&f), early, "{src:?} -> {dst:?}, {hint:?}: {f:?}");
                        }
                    }
                }
            }
        }
        assert!(answered > 0);
        // Small copies between files (or `File`s not yet stat'ed) need no syscall; into a
        // socket the source's kind is learnt first; socket → socket loops up to 4 KiB.
        let tcp = Some(StreamSocket(Ip));
        assert!(early_plan(None, None, Some(SMALL_COPY)).is_some());
        assert!(early_plan(Some(File), None, Some(1)).is_some());
        assert!(early_plan(None, tcp, Some(1)).is_none());
        assert!(early_plan(None, Some(Pipe), Some(SMALL_COPY)).is_some());
        assert!(early_plan(tcp, tcp, Some(SMALL_VIA_PIPE)).is_some());
        assert!(early_plan(tcp, tcp, Some(SMALL_VIA_PIPE + 1)).is_none());
        assert!(early_plan(tcp, None, Some(SMALL_COPY)).is_some());
        // And it leaves to the destination what only the destination can decide.
        for src in [File, Pipe, StreamSocket(Ip), CharDevice, BlockDevice] {
            assert_eq!(early_plan(Some(src), None, None), None);
            assert_eq!(early_plan(Some(src), None, Some(SMALL_COPY + 1)), None);
        }
        assert_eq!(early_plan(None, None, None), None);
    }

    /// Each pair's bound, in the plan: a copy of the bound is the loop, one byte more is not.
    #[test]
    fn small_copies_take_the_loop_up_to_the_pair_bound() {
        for src in KINDS {
            for dst in KINDS {
                let kernel = plan(&Facts::new(src, dst)).first();
                if kernel == Buffered {
                    continue;
                }
                let bound = small_copy(src, dst);
                let at = |n| {
                    plan(&Facts {
                        size_hint: Some(n),
                        ..Facts::new(src, dst)
                    })
                    .first()
                };
                assert_eq!(at(bound + 1), kernel, "{src:?} -> {dst:?}");
                if bound > 0 {
                    assert_eq!(at(bound), Buffered, "{src:?} -> {dst:?}");
                }
            }
        }
        // The measured pairs.
        for (src, dst, bound) in [
            (File, StreamSocket(Ip), 0),
            (BlockDevice, StreamSocket(Unix), 0),
            (File, Pipe, SMALL_COPY),
            (Pipe, StreamSocket(Ip), SMALL_COPY),
            (StreamSocket(Ip), Pipe, SMALL_COPY),
            (StreamSocket(Ip), StreamSocket(Ip), SMALL_VIA_PIPE),
            (StreamSocket(Unix), StreamSocket(Ip), SMALL_VIA_PIPE),
            (File, File, SMALL_COPY),
            (StreamSocket(Ip), File, SMALL_COPY),
            (StreamSocket(Unix), File, SMALL_COPY),
            (Pipe, File, SMALL_COPY),
        ] {
            assert_eq!(small_copy(src, dst), bound, "{src:?} -> {dst:?}");
        }
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

    /// A regular file into a regular file, for every combination of the new facts.
    #[test]
    fn file_to_file_plans_with_holes_and_clones() {
        let files = |src_sparse, whole_file, sparse, reflink| Facts {
            src_sparse,
            whole_file,
            sparse,
            reflink,
            ..Facts::new(File, File)
        };
        use Reflink::{Always, Auto as RAuto, Never as RNever};
        use Sparse::{Auto as SAuto, Never as SNever};
        let cases: &[(bool, bool, Sparse, Reflink, &[Strategy])] = &[
            // Dense files keep 0.2's plan; a whole-file copy tries FICLONE first.
            (false, false, SAuto, RAuto, &[CopyFileRange, Sendfile, Buffered]),
            (false, true, SAuto, RAuto, &[Clone, CopyFileRange, Sendfile, Buffered]),
            (true, false, SAuto, RAuto, &[Hole, CopyFileRange, Sendfile, Buffered]),
            (
                true,
                true,
                SAuto,
                RAuto,
                &[Clone, Hole, CopyFileRange, Sendfile, Buffered],
            ),
            // Sparse::Never: std's plan (reflinks stay the reflink policy's business).
            (true, false, SNever, RAuto, &[CopyFileRange, Sendfile, Buffered]),
            (true, true, SNever, RAuto, &[Clone, CopyFileRange, Sendfile, Buffered]),
            // Reflink::Never: no FICLONE, no copy_file_range; holes still skipped, by sendfile.
            (false, true, SAuto, RNever, &[Sendfile, Buffered]),
            (true, true, SAuto, RNever, &[Hole, Sendfile, Buffered]),
            (true, true, SNever, RNever, &[Sendfile, Buffered]),
            // Reflink::Always: the clone or nothing.
            (true, true, SAuto, Always, &[Clone, Buffered]),
            (false, true, SNever, Always, &[Clone, Buffered]),
            (true, false, SAuto, Always, &[Buffered]),
        ];
        for &(src_sparse, whole_file, sparse, reflink, want) in cases {
            let f = files(src_sparse, whole_file, sparse, reflink);
            assert_eq!(plan(&f).steps(), want, "{f:?}");
        }
        // Holes need SEEK_DATA and ftruncate; punching (fallocate) is optional.
        for (gone, want) in [
            (Syscall::SeekData, &[CopyFileRange, Sendfile, Buffered][..]),
            (Syscall::Ftruncate, &[CopyFileRange, Sendfile, Buffered]),
            (Syscall::Fallocate, &[Hole, CopyFileRange, Sendfile, Buffered]),
            (Syscall::CopyFileRange, &[Hole, Sendfile, Buffered]),
        ] {
            let f = Facts {
                unavailable: [gone].into_iter().collect(),
                ..files(true, false, SAuto, RAuto)
            };
            assert_eq!(plan(&f).steps(), want, "{gone:?} unavailable");
        }
        let f = Facts {
            unavailable: [Syscall::Ficlone].into_iter().collect(),
            ..files(false, true, SAuto, RAuto)
        };
        assert_eq!(plan(&f).steps(), &[CopyFileRange, Sendfile, Buffered]);
        // Small copies, O_APPEND and the same file keep the loop, sparse or not; under
        // Always a small whole file is still cloned.
        for change in [
            |f: &mut Facts| f.size_hint = Some(SMALL_COPY),
            |f: &mut Facts| f.dst_append = true,
            |f: &mut Facts| f.same_file = true,
        ] {
            let mut f = files(true, true, SAuto, RAuto);
            change(&mut f);
            assert_eq!(plan(&f).steps(), &[Buffered], "{f:?}");
        }
        let small = Facts {
            size_hint: Some(1),
            ..files(false, true, SAuto, Always)
        };
        assert_eq!(plan(&small).steps(), &[Clone, Buffered]);
    }

    /// Over every fact: holes and clones appear exactly where their rules say, `Reflink::Never`
    /// never shares blocks, `Reflink::Always` never copies, and a dense copy that is not a whole
    /// file plans what 0.2 planned.
    #[test]
    fn holes_and_clones_only_where_their_rules_allow() {
        for src in KINDS {
            for dst in KINDS {
                for f in every_fact(src, dst) {
                    let steps = plan(&f).steps().to_vec();
                    let files = src == File && dst == File && !f.dst_append && !f.same_file;
                    let small = f.size_hint.is_some_and(|n| n <= small_copy(src, dst));
                    let available = |c| !f.unavailable.contains(c);
                    let clone = files
                        && f.whole_file
                        && available(Syscall::Ficlone)
                        && match f.reflink {
                            Reflink::Always => true,
                            Reflink::Auto => !small,
                            _ => false,
                        };
                    assert_eq!(steps.contains(&Clone), clone, "{f:?}: {steps:?}");
                    let hole = files
                        && !small
                        && f.src_sparse
                        && f.sparse == Sparse::Auto
                        && f.reflink != Reflink::Always
                        && available(Syscall::SeekData)
                        && available(Syscall::Ftruncate);
                    assert_eq!(steps.contains(&Hole), hole, "{f:?}: {steps:?}");
                    if let Some(i) = steps.iter().position(|&s| s == Hole) {
                        // The clone (a whole file) precedes; after it come the extents'
                        // strategies, which are the dense plan's.
                        assert!(steps[..i].iter().all(|&s| s == Clone), "{f:?}: {steps:?}");
                        let dense = Facts {
                            src_sparse: false,
                            whole_file: false,
                            ..f
                        };
                        assert_eq!(&steps[i + 1..], plan(&dense).steps(), "{f:?}");
                    }
                    match f.reflink {
                        Reflink::Never => {
                            assert!(!steps.contains(&CopyFileRange), "{f:?}: {steps:?}");
                        }
                        Reflink::Always => {
                            assert!(steps.iter().all(|&s| s == Clone || s == Buffered), "{f:?}: {steps:?}");
                        }
                        _ => {}
                    }
                    // A dense source does not care about the hole policy.
                    if !f.src_sparse {
                        let other = Facts {
                            sparse: match f.sparse {
                                Sparse::Never => Sparse::Auto,
                                _ => Sparse::Never,
                            },
                            ..f
                        };
                        assert_eq!(plan(&other).steps(), &steps[..], "{f:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_fallback_rule_of_the_new_calls() {
        use Syscall::*;
        // FICLONE: coreutils' terminal errors fail, "not supported here" declines.
        for e in [libc::EIO, libc::ENOMEM, libc::ENOSPC, libc::EDQUOT] {
            assert_eq!(verdict(Ficlone, e, 0), Verdict::Fail, "{e}");
        }
        for e in [
            libc::EOPNOTSUPP,
            libc::EINVAL,
            libc::EXDEV,
            libc::ENOTTY,
            libc::ETXTBSY,
            libc::EACCES,
            libc::EBADF,
        ] {
            assert_eq!(verdict(Ficlone, e, 0), Verdict::Decline, "{e}");
        }
        assert_eq!(verdict(Ficlone, libc::EPERM, 0), Verdict::MaybeDenied);
        // ENOTTY/ETXTBSY/EACCES decline only from FICLONE.
        for call in [CopyFileRange, Sendfile, Splice, SeekData, Fallocate, Ftruncate] {
            for e in [libc::ENOTTY, libc::ETXTBSY, libc::EACCES] {
                assert_eq!(verdict(call, e, 0), Verdict::Fail, "{call:?} {e}");
            }
        }
        // lseek, fallocate, ftruncate refused: the walk falls back (dense), also mid-copy;
        // a real error (a full disk, a file too large, an I/O error) fails.
        for call in [SeekData, Fallocate, Ftruncate] {
            for e in [libc::EINVAL, libc::EOPNOTSUPP] {
                assert_eq!(verdict(call, e, 0), Verdict::Decline, "{call:?} {e}");
                assert_eq!(verdict(call, e, 1 << 30), Verdict::Decline, "{call:?} {e}");
            }
            for e in [libc::EIO, libc::ENOSPC, libc::EFBIG, libc::EDQUOT] {
                assert_eq!(verdict(call, e, 0), Verdict::Fail, "{call:?} {e}");
            }
            assert_eq!(verdict(call, libc::EPERM, 0), Verdict::MaybeDenied);
            assert_eq!(verdict(call, libc::ENOSYS, 0), Verdict::Unavailable);
        }
    }
}
