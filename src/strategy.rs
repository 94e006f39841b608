//! The ways bytes can move, the syscalls behind them, and small sets of both.

use std::fmt;

/// How bytes were (or will be) moved.
///
/// ```
/// use fdcopy::Strategy;
/// assert_eq!(Strategy::SpliceViaPipe.name(), "splice-via-pipe");
/// assert_eq!(Strategy::Splice.syscall(), Some(fdcopy::table::Syscall::Splice));
/// assert_eq!(Strategy::Buffered.syscall(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Strategy {
    /// `copy_file_range(2)`: file to file inside the kernel (reflinked on btrfs/XFS).
    CopyFileRange,
    /// `sendfile(2)`: from a file (or block device) to a socket, pipe, file or device.
    Sendfile,
    /// `splice(2)` directly, one side being a pipe.
    Splice,
    /// `splice(2)` twice through an intermediate pipe from fdcopy's pool: socket to file,
    /// socket to socket, character device to anything.
    SpliceViaPipe,
    /// A `read`/`write` loop through a user-space buffer.
    Buffered,
    /// The source's own [`WriteTo`](crate::go::WriteTo) fast path.
    WriteTo,
    /// The destination's own [`ReadFrom`](crate::go::ReadFrom) fast path.
    ReadFrom,
    /// `ioctl(FICLONE)`: the whole file shared with the source (a reflink) on filesystems that
    /// can (XFS, btrfs): no byte is read or written.
    Clone,
    /// Bytes covered without I/O: holes of a sparse source (found with `SEEK_DATA`/`SEEK_HOLE`)
    /// skipped where the destination already reads zeros, or punched where it held old data.
    /// Counted like moved bytes, so [`Report::written`](crate::Report::written) is the logical
    /// count std returns; the data between the holes goes by the strategies after it in the plan.
    Hole,
}

impl Strategy {
    pub(crate) const COUNT: usize = 9;
    /// Every strategy, in the order of the enum.
    pub const ALL: [Strategy; Strategy::COUNT] = [
        Strategy::CopyFileRange,
        Strategy::Sendfile,
        Strategy::Splice,
        Strategy::SpliceViaPipe,
        Strategy::Buffered,
        Strategy::WriteTo,
        Strategy::ReadFrom,
        Strategy::Clone,
        Strategy::Hole,
    ];

    /// The syscall a kernel strategy is made of.
    pub fn syscall(self) -> Option<Syscall> {
        match self {
            Strategy::CopyFileRange => Some(Syscall::CopyFileRange),
            Strategy::Sendfile => Some(Syscall::Sendfile),
            Strategy::Splice | Strategy::SpliceViaPipe => Some(Syscall::Splice),
            Strategy::Clone => Some(Syscall::Ficlone),
            Strategy::Hole => Some(Syscall::SeekData),
            _ => None,
        }
    }

    /// A short name (`copy_file_range`, `sendfile`, `splice`, `splice-via-pipe`, `buffered`,
    /// `write_to`, `read_from`, `clone`, `hole`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::CopyFileRange => "copy_file_range",
            Strategy::Sendfile => "sendfile",
            Strategy::Splice => "splice",
            Strategy::SpliceViaPipe => "splice-via-pipe",
            Strategy::Buffered => "buffered",
            Strategy::WriteTo => "write_to",
            Strategy::ReadFrom => "read_from",
            Strategy::Clone => "clone",
            Strategy::Hole => "hole",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A set of strategies (the ones a caller ruled out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StrategySet(u32);

const _: () = assert!(Strategy::COUNT <= 32, "StrategySet holds one bit per strategy");

impl StrategySet {
    pub(crate) fn insert(&mut self, s: Strategy) {
        self.0 |= 1 << s as u32;
    }

    pub(crate) fn contains(self, s: Strategy) -> bool {
        self.0 & (1 << s as u32) != 0
    }
}

/// The syscalls behind the kernel strategies.
///
/// ```
/// use fdcopy::table::Syscall;
/// let names: Vec<_> = Syscall::ALL.iter().map(|c| c.name()).collect();
/// assert_eq!(
///     names,
///     ["copy_file_range", "sendfile", "splice", "FICLONE", "SEEK_DATA", "fallocate", "ftruncate"]
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Syscall {
    /// `copy_file_range(2)`
    CopyFileRange,
    /// `sendfile(2)`
    Sendfile,
    /// `splice(2)`
    Splice,
    /// `ioctl(dst, FICLONE, src)`: [`Strategy::Clone`].
    Ficlone,
    /// `lseek(2)` with `SEEK_DATA`/`SEEK_HOLE`: the extents of a sparse source
    /// ([`Strategy::Hole`]).
    SeekData,
    /// `fallocate(2)` with `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`: a hole punched where the
    /// destination held old bytes.
    Fallocate,
    /// `ftruncate(2)`: the destination sized once before a sparse copy's extents.
    Ftruncate,
}

impl Syscall {
    /// Every syscall the engine uses.
    pub const ALL: [Syscall; 7] = [
        Syscall::CopyFileRange,
        Syscall::Sendfile,
        Syscall::Splice,
        Syscall::Ficlone,
        Syscall::SeekData,
        Syscall::Fallocate,
        Syscall::Ftruncate,
    ];

    /// The syscall's name.
    pub fn name(self) -> &'static str {
        match self {
            Syscall::CopyFileRange => "copy_file_range",
            Syscall::Sendfile => "sendfile",
            Syscall::Splice => "splice",
            Syscall::Ficlone => "FICLONE",
            Syscall::SeekData => "SEEK_DATA",
            Syscall::Fallocate => "fallocate",
            Syscall::Ftruncate => "ftruncate",
        }
    }
}

/// A set of syscalls (those proven unavailable in this process).
///
/// ```
/// use fdcopy::table::{Syscall, SyscallSet};
/// let set: SyscallSet = [Syscall::Splice].into_iter().collect();
/// assert!(set.contains(Syscall::Splice) && !set.contains(Syscall::Sendfile));
/// assert!(SyscallSet::default().is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SyscallSet(u8);

const _: () = assert!(Syscall::ALL.len() <= 8, "SyscallSet holds one bit per syscall");

impl SyscallSet {
    /// Adds `call`.
    pub fn insert(&mut self, call: Syscall) {
        self.0 |= 1 << call as u8;
    }

    /// Whether `call` is in the set.
    pub fn contains(self, call: Syscall) -> bool {
        self.0 & (1 << call as u8) != 0
    }

    /// Whether the set has no syscall.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn from_bits(bits: u8) -> Self {
        SyscallSet(bits)
    }

    /// Every syscall in the set, in [`Syscall::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Syscall> {
        Syscall::ALL.into_iter().filter(move |&c| self.contains(c))
    }
}

impl FromIterator<Syscall> for SyscallSet {
    fn from_iter<I: IntoIterator<Item = Syscall>>(iter: I) -> Self {
        let mut set = SyscallSet::default();
        for call in iter {
            set.insert(call);
        }
        set
    }
}
