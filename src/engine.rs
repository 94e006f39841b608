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
use crate::table::PageCache;

/// The choices of one copy that every layer may read: page-cache policy, strategies ruled out.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Policy {
    pub(crate) page_cache: PageCache,
    pub(crate) denied: StrategySet,
}

/// Options of one copy, set through [`Copier`](crate::Copier).
#[derive(Default)]
pub(crate) struct Options<'a> {
    pub(crate) policy: Policy,
    pub(crate) progress: Option<&'a mut dyn FnMut(Progress)>,
    pub(crate) buffer: Option<&'a mut [u8]>,
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
    let fast_paths = DEPTH.with(|d| d.get()) < MAX_FAST_PATH_DEPTH;
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
    if policy.denied.contains(Strategy::Buffered) {
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

    use super::Policy;
    use crate::kernel::{End, Job};
    use crate::recorder::Recorder;
    use crate::side::{CopySink, CopySource};
    use crate::strategy::Strategy;
    use crate::table::plan;

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
        buffer: Option<&mut [u8]>,
        rec: &mut Recorder<'_>,
    ) -> io::Result<bool> {
        let mut limit = src.limit();
        let learned = match (src.descriptor(), dst.descriptor()) {
            (Some(s), Some(d)) => crate::facts::learn(s, d, limit, policy.page_cache)?,
            _ => return Ok(false),
        };
        let plan = learned.facts.map(|f| plan(&f));
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
        let mut job = Job {
            rec,
            wait: Default::default(),
            dst_socket: learned.dst_socket,
        };
        // No plan: the table answered early (a small copy), the loop alone.
        let steps = plan.as_ref().map_or(&[][..], |p| p.steps());
        for &strategy in steps
            .iter()
            .filter(|&&s| s != Strategy::Buffered && !policy.denied.contains(s))
        {
            if limit == Some(0) {
                return Ok(true);
            }
            job.rec.ran(strategy);
            let Some((s, d)) = fds(src, dst) else { return Ok(false) };
            let out = job.run(strategy, s, d, limit);
            src.consume_limit(out.consumed);
            limit = src.limit();
            match out.end {
                End::Done => return Ok(true),
                End::Decline => {}
                End::Fail(e) => return Err(e),
            }
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
