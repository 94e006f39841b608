//! The dispatcher: Go's order (the source's `WriteTo`, the destination's `ReadFrom`), then the
//! strategy table's kernel strategies with std's wrapper rules (drain the reader's buffer,
//! flush the writer's, keep the limits up to date), then the buffered loop.

use std::cell::Cell;
use std::io;

use crate::error::CopyError;
use crate::recorder::Recorder;
use crate::report::{Progress, Report};
use crate::side::{CopySink, CopySource};
use crate::strategy::{Strategy, StrategySet};
use crate::table::{PageCache, Reflink, Sparse};

/// The choices of one copy that every layer may read: page-cache, hole and reflink policies,
/// strategies ruled out.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Policy {
    pub(crate) page_cache: PageCache,
    pub(crate) sparse: Sparse,
    pub(crate) reflink: Reflink,
    pub(crate) denied: StrategySet,
}

/// Options of one copy, set through [`Copier`](crate::Copier).
#[derive(Default)]
pub(crate) struct Options<'a> {
    pub(crate) policy: Policy,
    pub(crate) progress: Option<&'a mut dyn FnMut(Progress)>,
    pub(crate) buffer: Option<&'a mut [u8]>,
    /// The bytes the copy is known to move (`copy_file`: the source's size), for progress.
    pub(crate) total: Option<u64>,
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

/// The whole copy: Go's dispatch order, the descriptors, then the loop on the traits.
pub(crate) fn copy(
    dst: &mut dyn CopySink,
    src: &mut dyn CopySource,
    opts: &mut Options<'_>,
) -> Result<Report, CopyError> {
    let policy = opts.policy;
    // Reflink::Always clones or fails: no fast path of a user's copies its bytes instead.
    let fast_paths = DEPTH.with(|d| d.get()) < MAX_FAST_PATH_DEPTH && policy.reflink != Reflink::Always;
    if fast_paths && !policy.denied.contains(Strategy::WriteTo) {
        if let Some(w) = src.as_write_to() {
            return fast_path(Strategy::WriteTo, opts, || w.write_to(dst));
        }
    }
    if fast_paths && !policy.denied.contains(Strategy::ReadFrom) {
        if let Some(r) = dst.as_read_from() {
            return fast_path(Strategy::ReadFrom, opts, || r.read_from(src));
        }
    }
    let mut rec = Recorder::new(progress(&mut opts.progress));
    rec.set_total(opts.total);
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut buffer = opts.buffer.as_deref_mut();
    // No early return for a limit of 0: a `BufReader` above an exhausted `Take` still holds
    // bytes that passed that limit. The loop and the kernel paths both read nothing past it.
    #[cfg(target_os = "linux")]
    match linux::descriptors(dst, src, policy, buffer.as_deref_mut(), &mut rec) {
        Ok(false) => {}
        done => return rec.finish(done.map(drop)),
    }
    let r = loop_allowed(policy).and_then(|()| crate::buffered::copy(dst, src, buffer, &mut rec));
    rec.finish(r)
}

/// Runs a user's `WriteTo`/`ReadFrom`. Its chunks are its own business: the progress callback
/// hears of its bytes once, when it returns.
fn fast_path(
    strategy: Strategy,
    opts: &mut Options<'_>,
    f: impl FnOnce() -> Result<u64, CopyError>,
) -> Result<Report, CopyError> {
    let r = nested(f);
    let mut rec = Recorder::new(progress(&mut opts.progress));
    rec.set_total(opts.total);
    rec.ran(strategy);
    let n = match &r {
        Ok(n) => *n,
        Err(e) => e.written(),
    };
    if n > 0 {
        rec.moved(strategy, n);
    }
    match r {
        Ok(_) => Ok(rec.into_report()),
        Err(e) => Err(e.with_report(rec.into_report())),
    }
}

/// The caller's progress callback, reborrowed for one copy.
fn progress<'o>(progress: &'o mut Option<&mut dyn FnMut(Progress)>) -> Option<&'o mut dyn FnMut(Progress)> {
    match progress {
        Some(p) => Some(&mut **p),
        None => None,
    }
}

fn loop_allowed(policy: Policy) -> io::Result<()> {
    if policy.reflink == Reflink::Always {
        return Err(not_a_clone());
    }
    if policy.denied.contains(Strategy::Buffered) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no kernel strategy could finish the copy and the buffered loop is denied",
        ));
    }
    Ok(())
}

/// `Reflink::Always` on a copy that cannot be a `FICLONE` at all.
fn not_a_clone() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "Reflink::Always: only a whole regular file into an empty regular file, both at offset 0, can be cloned",
    )
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::BorrowedFd;

    use super::Policy;
    use crate::facts::Policies;
    use crate::kernel::{End, Job};
    use crate::recorder::Recorder;
    use crate::side::{CopySink, CopySource};
    use crate::strategy::Strategy;
    use crate::table::{plan, Reflink};

    /// Both descriptors, borrowed for one step of the copy; `None` if a side has none.
    fn fds<'a>(src: &'a dyn CopySource, dst: &'a dyn CopySink) -> Option<(BorrowedFd<'a>, BorrowedFd<'a>)> {
        Some((src.descriptor()?.fd(), dst.descriptor()?.fd()))
    }

    /// Copies between two descriptors: the reader's user-space bytes first, then the writer's,
    /// then the table's kernel strategies, then the buffered loop on the descriptors themselves
    /// (not through the wrappers, which would read ahead past a limit into a `BufReader`, as
    /// std's kernel copy never does). `Ok(false)`: a side has no descriptor.
    pub(super) fn descriptors(
        dst: &mut dyn CopySink,
        src: &mut dyn CopySource,
        policy: Policy,
        mut buffer: Option<&mut [u8]>,
        rec: &mut Recorder<'_>,
    ) -> io::Result<bool> {
        let always = policy.reflink == Reflink::Always;
        let policies = Policies {
            page_cache: policy.page_cache,
            sparse: policy.sparse,
            reflink: policy.reflink,
        };
        let mut limit = src.limit();
        let mut learned = match (src.descriptor(), dst.descriptor()) {
            (Some(s), Some(d)) => crate::facts::learn(s, d, limit, policies)?,
            _ => return Ok(false),
        };
        // Reflink::Always: refuse before the wrappers' bytes reach the destination.
        if always {
            let whole = match (&learned.facts, src.descriptor(), dst.descriptor()) {
                (Some(f), Some(s), Some(d)) => crate::facts::whole_file(s, d, src.limit(), f),
                _ => false,
            };
            if !whole {
                return Err(super::not_a_clone());
            }
        }
        let mut drained = 0;
        // Unbounded here: each limit layer caps what it drains from below it, and a limit below
        // a `BufReader` does not apply to the bytes it already holds.
        let r = src.drain_buffered(&mut *dst, u64::MAX, &mut drained);
        if drained > 0 {
            rec.moved(Strategy::Buffered, drained);
            // The limits shrank by what was drained; otherwise they are as read above.
            limit = src.limit();
        }
        r?;
        dst.flush_buffered()?;
        if let (Some(f), Some(s), Some(d)) = (learned.facts.as_mut(), src.descriptor(), dst.descriptor()) {
            f.whole_file = crate::facts::whole_file(s, d, src.limit(), f);
        }
        let plan = learned.facts.map(|f| plan(&f));
        let mut job = Job {
            rec,
            wait: Default::default(),
            dst_socket: learned.dst_socket,
            clone_refused: None,
        };
        let runs = |s: Strategy| !policy.denied.contains(s) && (!always || s == Strategy::Clone);
        // No plan: the table answered early (a small copy), the loop alone.
        let steps: &[Strategy] = plan.as_ref().map_or(&[], |p| p.steps());
        for (i, &strategy) in steps.iter().enumerate() {
            if strategy == Strategy::Buffered || !runs(strategy) {
                continue;
            }
            if limit == Some(0) {
                return Ok(true);
            }
            job.rec.ran(strategy);
            let Some((s, d)) = fds(src, dst) else { return Ok(false) };
            let out = match strategy {
                Strategy::Hole => {
                    // The extents go by the steps after this one (the loop if it may run).
                    let chain: Vec<Strategy> = steps[i + 1..]
                        .iter()
                        .copied()
                        .filter(|&c| runs(c) && (c != Strategy::Buffered || super::loop_allowed(policy).is_ok()))
                        .collect();
                    crate::sparse::walk(&mut job, s, d, limit, &chain, buffer.as_deref_mut())
                }
                _ => job.run(strategy, s, d, limit),
            };
            src.consume_limit(out.consumed);
            limit = src.limit();
            match out.end {
                End::Done => return Ok(true),
                End::Decline => {}
                End::Fail(e) => return Err(e),
            }
        }
        if always {
            // The clone declined (or could not be planned): its errno, the destination untouched.
            return Err(match job.clone_refused {
                Some(errno) => io::Error::from_raw_os_error(errno),
                None => super::not_a_clone(),
            });
        }
        super::loop_allowed(policy)?;
        if limit == Some(0) {
            return Ok(true);
        }
        job.rec.ran(Strategy::Buffered);
        let Some((s, d)) = fds(src, dst) else { return Ok(false) };
        let (consumed, r) = job.fd_loop(s, learned.src_socket, d, limit, buffer);
        src.consume_limit(consumed);
        r.map(|()| true)
    }
}
