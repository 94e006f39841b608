//! One direction of an async copy, as a resumable state machine: its whole state (the stage,
//! the leased pipe and the bytes in it, the counts) lives in [`Transfer`], outside any future,
//! so that polling can stop at any point and start again without losing a byte.
//!
//! The decisions are the blocking engine's: `facts::learn`, `table::plan` and
//! `kernel::judge` (the one fallback rule), the `sys/` calls and the process-wide pipe pool.
//! What differs is waiting: a watched descriptor (tokio's sockets and pipes) is waited on
//! through the reactor, and a call's `EAGAIN` clears the readiness of the side that caused it
//! and of no other; a regular file is never registered and never waited on.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::ReadBuf;

use super::side::{AsyncCopySink, AsyncCopySource};
use crate::engine::Policy;
use crate::recorder::Recorder;
use crate::report::{Progress, Report};
use crate::strategy::Strategy;

/// How big the intermediate pipe may be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PipeSize {
    /// As big as the pool's pipes are: 1 MiB while the user's pipe budget
    /// (`pipe-user-pages-soft`) allows, else whatever the kernel gives.
    #[default]
    Auto,
    /// At most this many bytes in flight per burst (memory per connection is bounded by it).
    Max(usize),
}

/// Where calls that touch a regular file run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileIo {
    /// On the task's own thread, in bounded chunks (a page-cache miss blocks that worker for
    /// one chunk).
    #[default]
    Inline,
    /// On tokio's blocking pool, one chunk at a time: the worker never waits on the disk. At
    /// most one chunk lands after the copy is dropped.
    Blocking,
}

/// The settings of one direction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) policy: Policy,
    pub(crate) pipe_size: PipeSize,
    pub(crate) file_io: FileIo,
    /// The loop's buffer (tokio's 8 KiB for the drop-ins).
    pub(crate) buffer: usize,
}

/// Bytes asked of one call that touches a file, so that a worker (or a blocking thread) is
/// held for a bounded time and limits, progress and cancellation act between chunks.
#[cfg(target_os = "linux")]
const FILE_CHUNK: u64 = 16 << 20;

#[derive(Debug)]
enum Stage {
    Start,
    /// Bytes an earlier copy of this direction left in the pipe, delivered before anything.
    #[cfg(target_os = "linux")]
    Stranded,
    /// The reader's user-space bytes, written out first.
    #[cfg(target_os = "linux")]
    Prefix,
    /// The source settled to its logical position (`true`: the step is under way).
    #[cfg(target_os = "linux")]
    PrepareSrc(bool),
    #[cfg(target_os = "linux")]
    PrepareDst,
    /// Step `step` of the plan.
    #[cfg(target_os = "linux")]
    Kernel {
        plan: crate::table::Plan,
        step: usize,
    },
    Loop,
    #[cfg(target_os = "linux")]
    Flush,
    Done,
}

/// How a kernel step ended.
#[cfg(target_os = "linux")]
enum StepEnd {
    Done,
    Decline,
}

/// One direction of a copy.
pub(crate) struct Transfer {
    settings: Settings,
    stage: Stage,
    report: Report,
    /// Bytes the current kernel step moved (the fallback rule looks at them).
    step_moved: u64,
    /// The plan learned at the start, until the kernel steps begin.
    #[cfg(target_os = "linux")]
    planned: Option<crate::table::Plan>,
    /// The pipe leased for the burst in flight, and the bytes it holds.
    #[cfg(target_os = "linux")]
    pipe: Option<crate::sys::pipe_pool::Pipe>,
    in_pipe: u64,
    /// Bytes of the pipe on their way through user space (the destination refused `splice`).
    rescuing: bool,
    /// A call running on the blocking pool.
    #[cfg(target_os = "linux")]
    pending: Option<tokio::task::JoinHandle<Result<usize, crate::sys::Errno>>>,
    /// Consecutive spurious `EAGAIN`s (both sides ready by `poll`).
    #[cfg(target_os = "linux")]
    spurious: u32,
    buf: Option<LoopBuf>,
    /// Bytes the caller already read from the source (an upgraded HTTP connection's buffer),
    /// written before anything of the source, and how many went out.
    lead: Vec<u8>,
    lead_sent: usize,
}

/// The loop's state: tokio's `copy` algorithm (read while there is room, write what was read,
/// flush when the reader stalls), counting into the report.
struct LoopBuf {
    buf: Box<[u8]>,
    pos: usize,
    cap: usize,
    read_done: bool,
    need_flush: bool,
}

impl Transfer {
    pub(crate) fn new(settings: Settings) -> Self {
        Transfer {
            settings,
            stage: Stage::Start,
            report: Report::default(),
            step_moved: 0,
            #[cfg(target_os = "linux")]
            planned: None,
            #[cfg(target_os = "linux")]
            pipe: None,
            in_pipe: 0,
            rescuing: false,
            #[cfg(target_os = "linux")]
            pending: None,
            #[cfg(target_os = "linux")]
            spurious: 0,
            buf: None,
            lead: Vec::new(),
            lead_sent: 0,
        }
    }

    /// Bytes to write before the source's, in the next copy.
    pub(crate) fn set_lead(&mut self, bytes: Vec<u8>) {
        self.lead = bytes;
        self.lead_sent = 0;
    }

    pub(crate) fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// Bytes the destination accepted so far, and through which strategies.
    pub(crate) fn report(&self) -> &Report {
        &self.report
    }

    /// Bytes taken from the source and not yet delivered: in the intermediate pipe, or in the
    /// buffer they are rescued through.
    pub(crate) fn in_flight(&self) -> u64 {
        let rescued = match (&self.buf, self.rescuing) {
            (Some(b), true) => (b.cap - b.pos) as u64,
            _ => 0,
        };
        self.in_pipe + rescued
    }

    #[cfg(target_os = "linux")]
    fn holds_bytes(&self) -> bool {
        self.in_pipe > 0 || self.rescuing
    }

    /// Starts a new copy in the same direction. Bytes still in the pipe from an earlier one
    /// are delivered first.
    pub(crate) fn restart(&mut self) {
        if self.lead_sent == self.lead.len() {
            self.lead.clear();
            self.lead_sent = 0;
        }
        if !self.rescuing {
            // The loop of an earlier copy ended (at end of file, or with an error that lost
            // what its buffer held, as tokio's does): this copy reads afresh.
            if let Some(b) = &mut self.buf {
                (b.pos, b.cap, b.read_done, b.need_flush) = (0, 0, false, false);
            }
        }
        self.stage = Stage::Start;
        self.report = Report::default();
        self.step_moved = 0;
    }

    /// Copies until end of file (or the limit), or an error; counts are in
    /// [`report`](Self::report) at every point, also after `Pending` or an error.
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        src: &mut dyn AsyncCopySource,
        dst: &mut dyn AsyncCopySink,
        progress: Option<&mut dyn FnMut(Progress)>,
    ) -> Poll<io::Result<()>> {
        let mut rec = Recorder::resume(std::mem::take(&mut self.report), progress);
        let r = self.run(cx, src, dst, &mut rec);
        self.report = rec.into_report();
        if let Poll::Ready(Err(_)) = &r {
            self.stage = Stage::Done;
        }
        r
    }

    fn run(
        &mut self,
        cx: &mut Context<'_>,
        src: &mut dyn AsyncCopySource,
        dst: &mut dyn AsyncCopySink,
        rec: &mut Recorder<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            match &mut self.stage {
                #[cfg(target_os = "linux")]
                Stage::Start if self.in_pipe > 0 || self.rescuing => self.stage = Stage::Stranded,
                Stage::Start if self.lead_sent < self.lead.len() => {
                    let n = ready!(Pin::new(&mut *dst).poll_write(cx, &self.lead[self.lead_sent..]))?;
                    if n == 0 {
                        return Poll::Ready(Err(crate::error::write_zero()));
                    }
                    self.lead_sent += n;
                    rec.moved(Strategy::Buffered, n as u64);
                }
                Stage::Start => self.stage = self.start(src, dst)?,
                #[cfg(target_os = "linux")]
                Stage::Stranded => {
                    ready!(self.poll_pump(cx, dst, rec))?;
                    self.stage = Stage::Start;
                }
                #[cfg(target_os = "linux")]
                Stage::Prefix => {
                    let buffered = src.buffered();
                    if buffered.is_empty() {
                        self.stage = Stage::PrepareSrc(false);
                        continue;
                    }
                    let n = ready!(Pin::new(&mut *dst).poll_write(cx, buffered))?;
                    if n == 0 {
                        return Poll::Ready(Err(crate::error::write_zero()));
                    }
                    src.consume_buffered(n);
                    rec.moved(Strategy::Buffered, n as u64);
                }
                #[cfg(target_os = "linux")]
                Stage::PrepareSrc(begun) => {
                    ready!(src.poll_settle(cx, begun))?;
                    self.stage = Stage::PrepareDst;
                }
                #[cfg(target_os = "linux")]
                Stage::PrepareDst => {
                    ready!(dst.poll_prepare(cx))?;
                    self.stage = self.first_step();
                }
                #[cfg(target_os = "linux")]
                Stage::Kernel { plan, step } => {
                    let (plan, i) = (*plan, *step);
                    let Some(&strategy) = plan.steps().get(i) else {
                        self.stage = Stage::Loop;
                        continue;
                    };
                    let async_kernel = !matches!(strategy, Strategy::Buffered | Strategy::Clone | Strategy::Hole);
                    if !async_kernel || self.settings.policy.denied.contains(strategy) {
                        self.next_step(plan, i);
                        continue;
                    }
                    rec.ran(strategy);
                    match ready!(self.poll_step(cx, strategy, src, dst, rec))? {
                        StepEnd::Done => self.stage = Stage::Flush,
                        StepEnd::Decline => self.next_step(plan, i),
                    }
                }
                Stage::Loop => {
                    if self.settings.policy.denied.contains(Strategy::Buffered) {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "no kernel strategy could finish the copy and the buffered loop is denied",
                        )));
                    }
                    rec.ran(Strategy::Buffered);
                    ready!(self.poll_loop(cx, src, dst, rec))?;
                    self.stage = Stage::Done;
                }
                #[cfg(target_os = "linux")]
                Stage::Flush => {
                    ready!(Pin::new(&mut *dst).poll_flush(cx))?;
                    self.stage = Stage::Done;
                }
                Stage::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    /// What comes after `Start`: the kernel path when both sides have descriptors it can take,
    /// else the loop (which reads through the wrappers, their buffered bytes included).
    fn start(&mut self, src: &dyn AsyncCopySource, dst: &dyn AsyncCopySink) -> io::Result<Stage> {
        #[cfg(target_os = "linux")]
        {
            if let Some(plan) = self.plan_for(src, dst)? {
                if plan
                    .steps()
                    .iter()
                    .any(|&s| !matches!(s, Strategy::Buffered | Strategy::Clone | Strategy::Hole))
                {
                    return Ok(Stage::Prefix);
                }
            }
        }
        let _ = (src, dst);
        Ok(Stage::Loop)
    }

    #[cfg(target_os = "linux")]
    fn first_step(&mut self) -> Stage {
        if let Some(plan) = self.planned.take() {
            self.step_moved = 0;
            return Stage::Kernel { plan, step: 0 };
        }
        Stage::Loop
    }

    #[cfg(target_os = "linux")]
    fn next_step(&mut self, plan: crate::table::Plan, i: usize) {
        self.step_moved = 0;
        self.stage = Stage::Kernel { plan, step: i + 1 };
    }

    /// The buffered loop, through the sides' `AsyncRead`/`AsyncWrite`: tokio's `copy`
    /// algorithm, with every byte the destination accepted in the report.
    fn poll_loop(
        &mut self,
        cx: &mut Context<'_>,
        src: &mut dyn AsyncCopySource,
        dst: &mut dyn AsyncCopySink,
        rec: &mut Recorder<'_>,
    ) -> Poll<io::Result<()>> {
        let size = self.settings.buffer;
        let b = self.buf.get_or_insert_with(|| LoopBuf {
            buf: vec![0; size].into_boxed_slice(),
            pos: 0,
            cap: 0,
            read_done: false,
            need_flush: false,
        });
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        loop {
            if b.cap < b.buf.len() && !b.read_done {
                match b.poll_fill(cx, src) {
                    Poll::Ready(r) => {
                        coop.made_progress();
                        r?;
                    }
                    // Nothing to read: write what is held, or flush and wait.
                    Poll::Pending if b.pos == b.cap => {
                        if b.need_flush {
                            ready!(Pin::new(&mut *dst).poll_flush(cx))?;
                            coop.made_progress();
                            b.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                    Poll::Pending => {}
                }
            }
            while b.pos < b.cap {
                let n = match Pin::new(&mut *dst).poll_write(cx, &b.buf[b.pos..b.cap]) {
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(r) => r?,
                    Poll::Pending => {
                        // Top the buffer up while the writer is busy.
                        if !b.read_done && b.cap < b.buf.len() {
                            ready!(b.poll_fill(cx, src))?;
                        }
                        return Poll::Pending;
                    }
                };
                coop.made_progress();
                if n == 0 {
                    return Poll::Ready(Err(crate::error::write_zero()));
                }
                if n > b.cap - b.pos {
                    return Poll::Ready(Err(crate::error::invalid_write()));
                }
                b.pos += n;
                b.need_flush = true;
                rec.moved(Strategy::Buffered, n as u64);
            }
            b.pos = 0;
            b.cap = 0;
            if b.read_done {
                ready!(Pin::new(&mut *dst).poll_flush(cx))?;
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl LoopBuf {
    fn poll_fill(&mut self, cx: &mut Context<'_>, src: &mut dyn AsyncCopySource) -> Poll<io::Result<()>> {
        let mut rb = ReadBuf::new(&mut self.buf);
        rb.set_filled(self.cap);
        loop {
            match Pin::new(&mut *src).poll_read(cx, &mut rb) {
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        let filled = rb.filled().len();
        self.read_done = self.cap == filled;
        self.cap = filled;
        Poll::Ready(Ok(()))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::cell::Cell;
    use std::future::Future;
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd};
    use std::task::{ready, Context, Poll};

    use tokio::io::Interest;

    use super::{FileIo, PipeSize, StepEnd, Transfer, FILE_CHUNK};
    use crate::descriptor::FdKind;
    use crate::kernel::judge;
    use crate::recorder::Recorder;
    use crate::strategy::{Strategy, Syscall};
    use crate::sys::{self, pipe_pool, splice, wait, Errno};
    use crate::table::{plan, zero_is_decline, Plan, Verdict};
    use crate::tokio::side::{AsyncCopySink, AsyncCopySource, Readiness};

    /// Consecutive `EAGAIN`s with every watched side ready by `poll` before the task yields.
    const MAX_SPURIOUS_EAGAIN: u32 = 64;

    fn left(limit: Option<u64>) -> u64 {
        limit.unwrap_or(u64::MAX)
    }

    /// `WouldBlock` for `EAGAIN`, and back: what a closure run inside `try_io` returns.
    fn to_io(e: Errno) -> io::Error {
        if e == Errno::AGAIN {
            io::ErrorKind::WouldBlock.into()
        } else {
            e.into()
        }
    }

    fn to_errno(e: &io::Error) -> Errno {
        Errno::from_io_error(e).unwrap_or(Errno::IO)
    }

    /// Whether a side is fit for a kernel path: watched by the reactor, or a regular file (or
    /// block device), which never makes a call return `EAGAIN`. A `tokio::fs::File` opened on
    /// a FIFO or a tty is neither, and takes the loop (through tokio's blocking pool).
    fn fit(kind: FdKind, watched: bool) -> bool {
        watched || matches!(kind, FdKind::File | FdKind::BlockDevice)
    }

    impl Transfer {
        /// The plan for this pair, when both sides have descriptors the kernel paths can take.
        pub(super) fn plan_for(
            &mut self,
            src: &dyn AsyncCopySource,
            dst: &dyn AsyncCopySink,
        ) -> io::Result<Option<Plan>> {
            let (Some(s), Some(d)) = (src.descriptor(), dst.descriptor()) else {
                return Ok(None);
            };
            // The async engine copies files densely: the sparse walk and FICLONE run on the
            // blocking API (copy_file_range still reflinks where the filesystem does).
            let policies = crate::facts::Policies {
                page_cache: self.settings.policy.page_cache,
                sparse: crate::table::Sparse::Never,
                reflink: self.settings.policy.reflink,
            };
            let learned = crate::facts::learn(s, d, src.limit(), policies)?;
            let Some(facts) = learned.facts else { return Ok(None) };
            if !fit(facts.src, src.readiness().is_some()) || !fit(facts.dst, dst.readiness().is_some()) {
                return Ok(None);
            }
            let p = plan(&facts);
            self.planned = Some(p);
            Ok(Some(p))
        }

        /// One kernel step, until end of file, the limit, a decline or an error.
        pub(super) fn poll_step(
            &mut self,
            cx: &mut Context<'_>,
            strategy: Strategy,
            src: &mut dyn AsyncCopySource,
            dst: &mut dyn AsyncCopySink,
            rec: &mut Recorder<'_>,
        ) -> Poll<io::Result<StepEnd>> {
            // Bytes left in the pipe by an earlier step go out first.
            if self.holds_bytes() {
                ready!(self.poll_pump(cx, dst, rec))?;
            }
            match strategy {
                Strategy::SpliceViaPipe => self.poll_via_pipe(cx, src, dst, rec),
                _ => self.poll_direct(cx, strategy, src, dst, rec),
            }
        }

        /// `copy_file_range`, `sendfile` or a direct `splice`, one call at a time.
        fn poll_direct(
            &mut self,
            cx: &mut Context<'_>,
            strategy: Strategy,
            src: &mut dyn AsyncCopySource,
            dst: &mut dyn AsyncCopySink,
            rec: &mut Recorder<'_>,
        ) -> Poll<io::Result<StepEnd>> {
            let call = strategy.syscall().expect("a kernel strategy");
            loop {
                let mut want = left(src.limit()).min(sys::chunk_cap(call));
                let watched = src.readiness().is_some() || dst.readiness().is_some();
                let touches_file = src.readiness().is_none() || dst.readiness().is_none();
                if touches_file {
                    want = want.min(FILE_CHUNK);
                }
                if want == 0 {
                    return Poll::Ready(Ok(StepEnd::Done));
                }
                let coop = ready!(tokio::task::coop::poll_proceed(cx));
                let r = ready!(self.poll_call(cx, src, dst, call, want as usize));
                match r {
                    Ok(0) if zero_is_decline(call, self.step_moved) => return Poll::Ready(Ok(StepEnd::Decline)),
                    Ok(0) => return Poll::Ready(Ok(StepEnd::Done)),
                    Ok(n) => {
                        coop.made_progress();
                        self.step_moved += n as u64;
                        src.consume_limit(n as u64);
                        rec.moved(strategy, n as u64);
                        if !watched && self.settings.file_io == FileIo::Inline {
                            // A file-to-file chunk ran on this worker and never waits on the
                            // reactor: let the other tasks run before the next one.
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                    }
                    Err(e) => match judge(call, e, self.step_moved) {
                        Verdict::Retry => {}
                        Verdict::Fail => return Poll::Ready(Err(e.into())),
                        // EAGAIN on a pair with no watched side: nothing to wait on.
                        Verdict::WouldBlock => return Poll::Ready(Err(crate::error::would_block())),
                        _ => return Poll::Ready(Ok(StepEnd::Decline)),
                    },
                }
            }
        }

        /// `splice` source → pooled pipe → destination. The pipe is filled only when empty, so
        /// an `EAGAIN` of the fill is the source's; it is leased only while it holds bytes, so
        /// an idle connection holds no pipe.
        fn poll_via_pipe(
            &mut self,
            cx: &mut Context<'_>,
            src: &mut dyn AsyncCopySource,
            dst: &mut dyn AsyncCopySink,
            rec: &mut Recorder<'_>,
        ) -> Poll<io::Result<StepEnd>> {
            loop {
                if self.holds_bytes() {
                    if ready!(self.poll_pump(cx, dst, rec))? {
                        continue;
                    }
                    // The destination refused splice: its bytes went through user space.
                    return Poll::Ready(Ok(StepEnd::Decline));
                }
                let limit = left(src.limit());
                if limit == 0 {
                    return Poll::Ready(Ok(StepEnd::Done));
                }
                // Wait for the source before leasing: an idle connection holds no pipe and
                // takes no lock of the pool.
                if let Some(r) = src.readiness() {
                    if let Err(e) = ready!(r.poll_ready(cx, Interest::READABLE)) {
                        return Poll::Ready(Err(e));
                    }
                }
                if self.pipe.is_none() {
                    match pipe_pool::take() {
                        Ok(p) => self.pipe = Some(p),
                        // No pipe to be had (EMFILE, the pipe budget spent): not this strategy.
                        Err(_) => return Poll::Ready(Ok(StepEnd::Decline)),
                    }
                }
                let pipe = self.pipe.as_ref().expect("leased above");
                let cap = match self.settings.pipe_size {
                    PipeSize::Auto => pipe.capacity,
                    PipeSize::Max(n) => pipe.capacity.min(n.max(1)),
                };
                let want = limit.min(cap as u64) as usize;
                let coop = match tokio::task::coop::poll_proceed(cx) {
                    Poll::Ready(c) => c,
                    Poll::Pending => {
                        self.release_pipe();
                        return Poll::Pending;
                    }
                };
                let pw = pipe.write.as_fd();
                let r = {
                    let s = src.descriptor().expect("planned with a descriptor").fd();
                    poll_on(cx, src.readiness(), Interest::READABLE, &mut || {
                        splice::call(s, pw, want)
                    })
                };
                match r {
                    Poll::Pending => {
                        // Nothing to read: the empty pipe goes back to the pool meanwhile.
                        self.release_pipe();
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(0)) => {
                        self.release_pipe();
                        return Poll::Ready(Ok(StepEnd::Done));
                    }
                    Poll::Ready(Ok(n)) => {
                        coop.made_progress();
                        self.in_pipe = n as u64;
                        src.consume_limit(n as u64);
                    }
                    Poll::Ready(Err(e)) => {
                        self.release_pipe();
                        match judge(Syscall::Splice, e, self.step_moved) {
                            Verdict::Retry => {}
                            Verdict::Fail => return Poll::Ready(Err(e.into())),
                            Verdict::WouldBlock => return Poll::Ready(Err(crate::error::would_block())),
                            _ => return Poll::Ready(Ok(StepEnd::Decline)),
                        }
                    }
                }
            }
        }

        /// Puts an empty pipe back in the pool.
        fn release_pipe(&mut self) {
            if self.in_pipe == 0 {
                if let Some(p) = self.pipe.take() {
                    pipe_pool::give(p);
                }
            }
        }

        /// Moves every byte in the pipe to the destination: `true` when `splice` did; `false`
        /// when the destination refused `splice` and they went through user space instead
        /// (the step then declines).
        pub(super) fn poll_pump(
            &mut self,
            cx: &mut Context<'_>,
            dst: &mut dyn AsyncCopySink,
            rec: &mut Recorder<'_>,
        ) -> Poll<io::Result<bool>> {
            if self.rescuing {
                ready!(self.poll_rescue(cx, dst, rec))?;
                self.rescuing = false;
                return Poll::Ready(Ok(false));
            }
            while self.in_pipe > 0 {
                let pr = self.pipe.as_ref().expect("bytes in flight live in a pipe").read.as_fd();
                let want = self.in_pipe as usize;
                let coop = ready!(tokio::task::coop::poll_proceed(cx));
                let r = if dst.readiness().is_none() && self.settings.file_io == FileIo::Blocking {
                    ready!(poll_blocking(
                        &mut self.pending,
                        cx,
                        pr,
                        dst_fd(dst),
                        Syscall::Splice,
                        want
                    ))
                } else {
                    let d = dst_fd(dst);
                    ready!(poll_on(cx, dst.readiness(), Interest::WRITABLE, &mut || splice::call(
                        pr, d, want
                    )))
                };
                match r {
                    Ok(0) => return Poll::Ready(Err(crate::error::write_zero())),
                    Ok(k) => {
                        coop.made_progress();
                        self.in_pipe -= k as u64;
                        self.step_moved += k as u64;
                        rec.moved(Strategy::SpliceViaPipe, k as u64);
                    }
                    Err(e) => match judge(Syscall::Splice, e, self.step_moved) {
                        Verdict::Retry => {}
                        Verdict::Fail => return Poll::Ready(Err(e.into())),
                        Verdict::WouldBlock => return Poll::Ready(Err(crate::error::would_block())),
                        _ => {
                            self.rescuing = true;
                            ready!(self.poll_rescue(cx, dst, rec))?;
                            self.rescuing = false;
                            return Poll::Ready(Ok(false));
                        }
                    },
                }
            }
            self.release_pipe();
            Poll::Ready(Ok(true))
        }

        /// Delivers what the pipe holds through user space, for a destination that refuses
        /// `splice`: read from the pipe (which never blocks: it holds the bytes), written with
        /// the destination's `AsyncWrite`.
        fn poll_rescue(
            &mut self,
            cx: &mut Context<'_>,
            dst: &mut dyn AsyncCopySink,
            rec: &mut Recorder<'_>,
        ) -> Poll<io::Result<()>> {
            let b = self.buf.get_or_insert_with(|| super::LoopBuf {
                buf: vec![0; self.settings.buffer].into_boxed_slice(),
                pos: 0,
                cap: 0,
                read_done: false,
                need_flush: false,
            });
            loop {
                if b.pos == b.cap {
                    if self.in_pipe == 0 {
                        b.pos = 0;
                        b.cap = 0;
                        if let Some(p) = self.pipe.take() {
                            pipe_pool::give(p);
                        }
                        return Poll::Ready(Ok(()));
                    }
                    let pr = self.pipe.as_ref().expect("bytes in flight live in a pipe").read.as_fd();
                    let want = (self.in_pipe as usize).min(b.buf.len());
                    let n = loop {
                        match sys::io::read(pr, &mut b.buf[..want], false) {
                            Err(Errno::INTR) => {}
                            r => break r?,
                        }
                    };
                    if n == 0 {
                        return Poll::Ready(Err(crate::error::write_zero()));
                    }
                    self.in_pipe -= n as u64;
                    (b.pos, b.cap) = (0, n);
                }
                let n = ready!(std::pin::Pin::new(&mut *dst).poll_write(cx, &b.buf[b.pos..b.cap]))?;
                if n == 0 {
                    return Poll::Ready(Err(crate::error::write_zero()));
                }
                b.pos += n;
                rec.moved(Strategy::Buffered, n as u64);
            }
        }

        /// One call of `call` between the two descriptors: on this thread, or on the blocking
        /// pool when asked and a side is a file; waited on through the reactor for each
        /// watched side.
        fn poll_call(
            &mut self,
            cx: &mut Context<'_>,
            src: &dyn AsyncCopySource,
            dst: &dyn AsyncCopySink,
            call: Syscall,
            len: usize,
        ) -> Poll<Result<usize, Errno>> {
            let s = src.descriptor().expect("planned with a descriptor").fd();
            let d = dst_fd(dst);
            let blocking = self.settings.file_io == FileIo::Blocking;
            let mut f = || sys::call_once(call, s, d, len);
            match (src.readiness(), dst.readiness()) {
                (None, None) if blocking => poll_blocking(&mut self.pending, cx, s, d, call, len),
                (None, None) => Poll::Ready(f()),
                (Some(r), None) => poll_on(cx, Some(r), Interest::READABLE, &mut f),
                (None, Some(w)) if blocking => {
                    // The file is read on the blocking pool once the socket can take bytes;
                    // an EAGAIN then clears the socket's readiness (if `poll` agrees).
                    ready!(w.poll_ready(cx, Interest::WRITABLE)).map_err(|e| to_errno(&e))?;
                    let r = ready!(poll_blocking(&mut self.pending, cx, s, d, call, len));
                    if r == Err(Errno::AGAIN) {
                        clear_if_blocked(w, d, false);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Poll::Ready(r)
                }
                (None, Some(w)) => poll_on(cx, Some(w), Interest::WRITABLE, &mut f),
                (Some(r), Some(w)) => self.poll_both(cx, r, w, s, d, &mut f),
            }
        }

        /// A call between two watched descriptors (a socket and one of tokio's pipes): an
        /// `EAGAIN` may be either side's, so `poll` tells which, and only that side's readiness
        /// is cleared.
        fn poll_both(
            &mut self,
            cx: &mut Context<'_>,
            r: &dyn Readiness,
            w: &dyn Readiness,
            s: BorrowedFd<'_>,
            d: BorrowedFd<'_>,
            f: &mut dyn FnMut() -> Result<usize, Errno>,
        ) -> Poll<Result<usize, Errno>> {
            loop {
                ready!(r.poll_ready(cx, Interest::READABLE)).map_err(|e| to_errno(&e))?;
                ready!(w.poll_ready(cx, Interest::WRITABLE)).map_err(|e| to_errno(&e))?;
                let dst_blocked = Cell::new(false);
                let res = r.try_io(Interest::READABLE, &mut || match f() {
                    Err(Errno::AGAIN) if wait::ready_now(s, true) => {
                        // The source has bytes: the destination is the one that is full.
                        dst_blocked.set(true);
                        Ok(0)
                    }
                    other => other.map_err(to_io),
                });
                match res {
                    Ok(_) if dst_blocked.get() => {
                        if !clear_if_blocked(w, d, false) {
                            // Both ready by `poll`: a spurious EAGAIN. Retry, a bounded number
                            // of times before letting other tasks run.
                            self.spurious += 1;
                            if self.spurious > MAX_SPURIOUS_EAGAIN {
                                self.spurious = 0;
                                cx.waker().wake_by_ref();
                                return Poll::Pending;
                            }
                        }
                    }
                    Ok(n) => {
                        self.spurious = 0;
                        return Poll::Ready(Ok(n));
                    }
                    // The source's readiness was cleared: wait for it.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(to_errno(&e))),
                }
            }
        }
    }

    /// Runs one call of `call` on the blocking pool, on duplicates of the descriptors (they
    /// share the file offsets); the call in flight is kept across polls in `pending`, so a
    /// resumed copy waits for it instead of starting another.
    fn poll_blocking(
        pending: &mut Option<tokio::task::JoinHandle<Result<usize, Errno>>>,
        cx: &mut Context<'_>,
        s: BorrowedFd<'_>,
        d: BorrowedFd<'_>,
        call: Syscall,
        len: usize,
    ) -> Poll<Result<usize, Errno>> {
        if pending.is_none() {
            let (Ok(s2), Ok(d2)) = (sys::io::dup(s), sys::io::dup(d)) else {
                // No descriptor to spare: run it here.
                return Poll::Ready(sys::call_once(call, s, d, len));
            };
            *pending = Some(tokio::task::spawn_blocking(move || {
                sys::call_once(call, s2.as_fd(), d2.as_fd(), len)
            }));
        }
        let handle = pending.as_mut().expect("spawned above");
        let r = ready!(std::pin::Pin::new(handle).poll(cx));
        *pending = None;
        Poll::Ready(r.unwrap_or(Err(Errno::IO)))
    }

    fn dst_fd(dst: &dyn AsyncCopySink) -> BorrowedFd<'_> {
        dst.descriptor().expect("planned with a descriptor").fd()
    }

    /// Runs `f` on one side: after the reactor says it is ready and inside its `try_io` for a
    /// watched side (its `EAGAIN` clears that side's readiness, and the wait starts again), or
    /// directly for a file.
    fn poll_on(
        cx: &mut Context<'_>,
        side: Option<&dyn Readiness>,
        interest: Interest,
        f: &mut dyn FnMut() -> Result<usize, Errno>,
    ) -> Poll<Result<usize, Errno>> {
        let Some(side) = side else {
            return Poll::Ready(f());
        };
        loop {
            ready!(side.poll_ready(cx, interest)).map_err(|e| to_errno(&e))?;
            match side.try_io(interest, &mut || f().map_err(to_io)) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(to_errno(&e))),
            }
        }
    }

    /// Clears a watched side's readiness if `poll` confirms it is not ready; returns whether
    /// it did.
    fn clear_if_blocked(side: &dyn Readiness, fd: BorrowedFd<'_>, readable: bool) -> bool {
        let interest = if readable {
            Interest::READABLE
        } else {
            Interest::WRITABLE
        };
        let blocked = Cell::new(false);
        let _ = side.try_io(interest, &mut || {
            if wait::ready_now(fd, readable) {
                Ok(0)
            } else {
                blocked.set(true);
                Err(io::ErrorKind::WouldBlock.into())
            }
        });
        blocked.get()
    }
}
