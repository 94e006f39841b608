//! The dispatcher: Go's order (the source's `WriteTo`, the destination's `ReadFrom`), then the
//! strategy table's kernel strategies with the std wrapper rules (drain the reader's buffer,
//! flush the writer's, update the limits), then the buffered loop.

use std::cell::Cell;
use std::io;

use crate::error::CopyError;
use crate::report::{Progress, Report};
use crate::side::{CopySink, CopySource};
use crate::strategy::{PageCache, Strategy};

/// Per-copy bookkeeping: the report and the progress callback.
pub(crate) struct Ctx<'p> {
    pub(crate) report: Report,
    progress: Option<&'p mut dyn FnMut(Progress)>,
    /// The destination's `O_NONBLOCK`, learned at the first `EAGAIN` (see `sys::wait`).
    pub(crate) dst_nonblocking: Option<bool>,
}

impl<'p> Ctx<'p> {
    fn new(progress: &'p mut Option<&mut dyn FnMut(Progress)>) -> Self {
        Ctx {
            report: Report::default(),
            dst_nonblocking: None,
            progress: match progress {
                Some(p) => Some(&mut **p),
                None => None,
            },
        }
    }

    /// `n` more bytes reached the destination through `strategy`.
    pub(crate) fn moved(&mut self, strategy: Strategy, n: u64) {
        self.report.add(strategy, n);
        if let Some(p) = self.progress.as_mut() {
            p(Progress {
                written: self.report.written(),
                chunk: n,
                strategy,
            });
        }
    }

    pub(crate) fn ran(&mut self, strategy: Strategy) {
        self.report.ran(strategy);
    }

    fn fail(&self, e: io::Error) -> CopyError {
        CopyError::new(0, e).with_report(self.report.clone())
    }
}

/// Options of one copy, set through [`Copier`](crate::Copier).
#[derive(Default)]
pub(crate) struct Options<'a> {
    pub(crate) page_cache: PageCache,
    pub(crate) progress: Option<&'a mut dyn FnMut(Progress)>,
    pub(crate) buffer: Option<&'a mut [u8]>,
    /// Strategies the caller ruled out, one bit per [`Strategy`].
    pub(crate) denied: u8,
}

impl Options<'_> {
    fn allows(&self, s: Strategy) -> bool {
        self.denied & (1 << s as u8) == 0
    }
}

/// How deep `WriteTo`/`ReadFrom` implementations may nest copies before the fast paths are
/// skipped: with this guard no combination of user fast paths and wrappers can recurse forever.
const MAX_FAST_PATH_DEPTH: u32 = 8;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` one fast-path level deeper.
fn nested<T>(f: impl FnOnce() -> T) -> T {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    let _restore = Restore;
    f()
}

/// The whole copy: Go's dispatch order, then the engine.
pub(crate) fn copy(
    dst: &mut dyn CopySink,
    src: &mut dyn CopySource,
    opts: &mut Options<'_>,
) -> Result<Report, CopyError> {
    let fast_paths = DEPTH.with(|d| d.get()) < MAX_FAST_PATH_DEPTH;
    if fast_paths && opts.allows(Strategy::WriteTo) {
        if let Some(w) = src.as_write_to() {
            return fast_path(Strategy::WriteTo, opts, || w.write_to(dst));
        }
    }
    if fast_paths && opts.allows(Strategy::ReadFrom) {
        if let Some(r) = dst.as_read_from() {
            return fast_path(Strategy::ReadFrom, opts, || r.read_from(src));
        }
    }
    let mut ctx = Ctx::new(&mut opts.progress);
    match engine(
        dst,
        src,
        opts.page_cache,
        opts.buffer.as_deref_mut(),
        opts.denied,
        &mut ctx,
    ) {
        Ok(()) => Ok(ctx.report),
        Err(e) => Err(ctx.fail(e)),
    }
}

/// Runs a user's `WriteTo`/`ReadFrom`. Its chunks are its own business: the progress callback
/// hears of its bytes once, when it returns.
fn fast_path(
    strategy: Strategy,
    opts: &mut Options<'_>,
    f: impl FnOnce() -> Result<u64, CopyError>,
) -> Result<Report, CopyError> {
    let r = nested(f);
    let mut ctx = Ctx::new(&mut opts.progress);
    ctx.ran(strategy);
    let n = match &r {
        Ok(n) => *n,
        Err(e) => e.written(),
    };
    if n > 0 {
        ctx.moved(strategy, n);
    }
    match r {
        Ok(_) => Ok(ctx.report),
        Err(e) => Err(e.with_report(ctx.report)),
    }
}

fn engine(
    dst: &mut dyn CopySink,
    src: &mut dyn CopySource,
    page_cache: PageCache,
    buffer: Option<&mut [u8]>,
    denied: u8,
    ctx: &mut Ctx<'_>,
) -> io::Result<()> {
    // No early return for a limit of 0: a `BufReader` above an exhausted `Take` still holds
    // bytes that passed that limit. The loop and the kernel paths both read nothing past it.
    #[cfg(target_os = "linux")]
    let mut buffer = buffer;
    #[cfg(target_os = "linux")]
    if linux::descriptors(dst, src, page_cache, buffer.as_deref_mut(), denied, ctx)? {
        return Ok(());
    }
    #[cfg(not(target_os = "linux"))]
    let _ = page_cache;
    loop_allowed(denied)?;
    crate::buffered::copy(dst, src, buffer, ctx)
}

fn loop_allowed(denied: u8) -> io::Result<()> {
    if denied & (1 << Strategy::Buffered as u8) != 0 {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no kernel strategy could finish the copy and the buffered loop is denied",
        ));
    }
    Ok(())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::BorrowedFd;

    use super::Ctx;
    use crate::kernel::{self, End};
    use crate::kind::{stat_kind, FdKind, RawFdKind};
    use crate::side::{CopySink, CopySource, WriteRef};
    use crate::strategy::{plan, Facts, PageCache, Plan, Strategy, SMALL_COPY};
    use crate::sys::avail;

    /// Copies between two descriptors: the reader's user-space bytes first, then the writer's,
    /// then the table's kernel strategies, then the buffered loop on the descriptors themselves
    /// (not through the wrappers, which would read ahead past a limit into a `BufReader`, as
    /// std's kernel copy never does). `Ok(false)`: a side has no descriptor.
    pub(super) fn descriptors(
        dst: &mut dyn CopySink,
        src: &mut dyn CopySource,
        page_cache: PageCache,
        buffer: Option<&mut [u8]>,
        denied: u8,
        ctx: &mut Ctx<'_>,
    ) -> io::Result<bool> {
        let (Some(s), Some(d)) = (src.as_raw_fd_kind(), dst.as_raw_fd_kind()) else {
            return Ok(false);
        };
        if s.fd < 0 || d.fd < 0 {
            return Ok(false);
        }
        // SAFETY: `AsRawFdKind` promises the descriptors stay open for the whole copy, and
        // these borrows do not outlive this function.
        let (sfd, dfd) = unsafe { (BorrowedFd::borrow_raw(s.fd), BorrowedFd::borrow_raw(d.fd)) };
        // No facts: a small copy, a source no kernel call takes, or descriptors the kernel
        // could not even describe (a closed one: the loop reports the real error).
        let facts = facts(s, d, src.limit(), page_cache)?;
        let plan = facts.map(|f| plan(&f));
        // Loop writes into a socket use send(MSG_NOSIGNAL). Unknown (a small copy into a
        // `File`, not classified) counts as not a socket.
        let dst_socket = matches!(
            facts.map(|f| f.dst).or(d.kind),
            Some(FdKind::StreamSocket(_) | FdKind::DatagramSocket(_))
        );
        // std's order: the reader's user-space bytes first, then the writer's, then the fds.
        let mut drained = 0;
        // Unbounded here: each limit layer caps what it drains from below it, and a limit below
        // a `BufReader` does not apply to the bytes it already holds.
        let r = src.drain_buffered(&mut WriteRef(&mut *dst), u64::MAX, &mut drained);
        if drained > 0 {
            ctx.moved(Strategy::Buffered, drained);
        }
        r?;
        dst.flush_buffered()?;
        for strategy in plan.iter().flat_map(|p| allowed(p, denied)) {
            let limit = src.limit();
            if limit == Some(0) {
                return Ok(true);
            }
            ctx.ran(strategy);
            let out = kernel::run(strategy, sfd, dfd, limit, ctx);
            src.consume_limit(out.consumed);
            match out.end {
                End::Done => return Ok(true),
                End::Decline => {}
                End::Fail(e) => return Err(e),
            }
        }
        super::loop_allowed(denied)?;
        let limit = src.limit();
        if limit == Some(0) {
            return Ok(true);
        }
        let (consumed, r) = crate::buffered::copy_fds(sfd, dfd, dst_socket, limit, buffer, ctx);
        src.consume_limit(consumed);
        r.map(|()| true)
    }

    /// The plan's kernel strategies the caller did not rule out.
    fn allowed(plan: &Plan, denied: u8) -> impl Iterator<Item = Strategy> + '_ {
        plan.steps()
            .iter()
            .copied()
            .filter(move |&s| s != Strategy::Buffered && denied & (1 << s as u8) == 0)
    }

    /// One `fstat` per side whose kind the type does not tell, `F_GETFL` for a file
    /// destination (O_APPEND may have been set after open: golang/go#79660). A small limit
    /// costs nothing; a source no kernel call takes costs only its own `fstat`.
    /// `Ok(None)`: the loop it is. Refused outright are the copies no strategy could ever
    /// finish: a pipe into itself, and a file into its own growing end.
    fn facts(s: RawFdKind, d: RawFdKind, limit: Option<u64>, page_cache: PageCache) -> io::Result<Option<Facts>> {
        // SAFETY: as in `descriptors`: open for the copy, borrowed only here.
        let (sfd, dfd) = unsafe { (BorrowedFd::borrow_raw(s.fd), BorrowedFd::borrow_raw(d.fd)) };
        if limit.is_some_and(|n| n <= SMALL_COPY) {
            // The limit alone decides: the loop (which the limit ends), and no syscall.
            return Ok(None);
        }
        let Some((src, size, src_id)) = (match s.kind {
            Some(k) => Some((k, None, None)),
            None => stat_kind(sfd)
                .ok()
                .map(|(k, size, id)| (k, (k == FdKind::File).then_some(size), Some(id))),
        }) else {
            return Ok(None);
        };
        if matches!(src, FdKind::DatagramSocket(_) | FdKind::Other) {
            // The table's answer is the loop whatever the destination is.
            return Ok(None);
        }
        let size_hint = match (size, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some((dst, dst_id)) = (match d.kind {
            Some(k) => Some((k, None)),
            None => stat_kind(dfd).ok().map(|(k, _, id)| (k, Some(id))),
        }) else {
            return Ok(None);
        };
        let identity = |fd| stat_kind(fd).ok().map(|(_, _, id)| id);
        let same_file = match (src_id, dst_id) {
            (Some(a), Some(b)) => a == b,
            // Pipes known from their types were not stat'ed: a pipe copied into itself would
            // never end, so spend two `fstat`s on this rare pair to rule that out.
            _ if src == FdKind::Pipe && dst == FdKind::Pipe => {
                let a = src_id.or_else(|| identity(sfd));
                a.is_some() && a == dst_id.or_else(|| identity(dfd))
            }
            _ => false,
        };
        let small = size_hint.is_some_and(|n| n <= SMALL_COPY);
        let dst_append = dst == FdKind::File
            && (same_file || !small)
            && rustix::fs::fcntl_getfl(dfd).is_ok_and(|fl| fl.contains(rustix::fs::OFlags::APPEND));
        if same_file && runaway(src, dst_append, sfd, dfd) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination are the same pipe or file, and the copy would read its own output forever",
            ));
        }
        Ok(Some(Facts {
            src,
            dst,
            dst_append,
            same_file,
            size_hint,
            page_cache,
            unavailable: avail::unavailable(),
        }))
    }

    /// Whether a copy of a file (or pipe) into itself would keep reading its own output: a
    /// pipe always; a file when the writer appends, or writes ahead of the reader (`io.Copy(f,
    /// f)` on one descriptor writes behind its own reads and ends, duplicating the data).
    fn runaway(src: FdKind, dst_append: bool, sfd: BorrowedFd<'_>, dfd: BorrowedFd<'_>) -> bool {
        use rustix::fs::{seek, SeekFrom};
        match src {
            FdKind::Pipe => true,
            FdKind::File => {
                dst_append
                    || matches!(
                        (seek(sfd, SeekFrom::Current(0)), seek(dfd, SeekFrom::Current(0))),
                        (Ok(r), Ok(w)) if w > r
                    )
            }
            _ => false,
        }
    }
}
