//! Moving bytes between two descriptors: one kernel strategy at a time, following the fallback
//! rule of the table (every syscall retried on EINTR, bounded by the limit, `EAGAIN` waited on
//! with `poll`, nothing left behind in the intermediate pipe unreported), the read/write loop
//! on the descriptors themselves, and the whole-file clone. `copy_file_range`, `sendfile` and the
//! loop also run at explicit offsets ([`At`]), for the extents of a sparse copy.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use crate::recorder::Recorder;
use crate::strategy::Strategy;
use crate::sys::wait::{Blocked, Waiter};
use crate::sys::{self, avail, extent, pipe_pool, splice, stat};
use crate::table::{verdict, zero_is_decline, Syscall, Verdict};

/// How a strategy ended.
#[derive(Debug)]
pub(crate) enum End {
    /// End of file, or the limit reached.
    Done,
    /// Not supported for this pair: the next strategy continues from here.
    Decline,
    /// A real error.
    Fail(io::Error),
}

/// What a strategy did: bytes it took from the source (for the limits; the bytes delivered
/// are in the report) and how it ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) consumed: u64,
    pub(crate) end: End,
}

/// Consecutive `EAGAIN`s, with both sides ready by `poll`, before giving up with `WouldBlock`.
const MAX_SPURIOUS_EAGAIN: u32 = 1000;

/// With a progress callback, no `copy_file_range` or `sendfile` call moves more than this, so
/// that the callback fires on large files (1 GiB per call otherwise). 16 MiB chunks cost
/// nothing measurable against 1 GiB ones (`docs/architecture.md`, "Numbers behind the
/// constants").
pub(crate) const PROGRESS_CHUNK: u64 = 16 << 20;

/// Explicit offsets a strategy reads and writes at, each advanced by the bytes it moves (the
/// extents of a sparse copy); the file positions are then the caller's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct At {
    pub(crate) src: u64,
    pub(crate) dst: u64,
}

/// What the kernel paths of one copy share across its strategies: the recorder, the waiting
/// state of the destination, and whether it is a socket (loop writes then use `send` with
/// `MSG_NOSIGNAL`).
pub(crate) struct Job<'r, 'p> {
    pub(crate) rec: &'r mut Recorder<'p>,
    pub(crate) wait: Waiter,
    pub(crate) dst_socket: bool,
    /// The errno with which `FICLONE` declined (what `Reflink::Always` reports).
    pub(crate) clone_refused: Option<i32>,
}

/// The errno's verdict, with the side effect of remembering a syscall that is missing or
/// denied for the whole process: what reaches the strategies is only ever `Retry`,
/// `WouldBlock`, `Decline` or `Fail`.
pub(crate) fn judge(call: Syscall, e: sys::Errno, moved: u64) -> Verdict {
    match verdict(call, e.raw_os_error(), moved) {
        Verdict::Unavailable => {
            avail::mark_unavailable(call);
            Verdict::Decline
        }
        Verdict::MaybeDenied => {
            if avail::denied(call) {
                avail::mark_unavailable(call);
            }
            Verdict::Decline
        }
        v => v,
    }
}

fn left(limit: Option<u64>, done: u64) -> u64 {
    limit.map_or(u64::MAX, |l| l - done)
}

impl Job<'_, '_> {
    /// Moves bytes from `src` to `dst` with `strategy` until end of file, `limit`, or an error.
    /// (Not [`Strategy::Hole`]: the sparse walk, above this module, drives the others.)
    pub(crate) fn run(
        &mut self,
        strategy: Strategy,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        limit: Option<u64>,
    ) -> Outcome {
        match strategy {
            Strategy::SpliceViaPipe => self.via_pipe(src, dst, limit),
            Strategy::Clone => self.clone_file(src, dst),
            _ => self.direct(strategy, src, dst, limit, None),
        }
    }

    /// [`run`](Job::run) at explicit offsets, which it advances: `copy_file_range`, `sendfile`
    /// (the destination's position is put at `at.dst` first), or the loop with `pread`/`pwrite`
    /// (through `buf`, or the default buffer). Any other strategy declines.
    pub(crate) fn run_at(
        &mut self,
        strategy: Strategy,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        limit: Option<u64>,
        at: &mut At,
        buf: Option<&mut [u8]>,
    ) -> Outcome {
        match strategy {
            Strategy::CopyFileRange | Strategy::Sendfile => self.direct(strategy, src, dst, limit, Some(at)),
            Strategy::Buffered => {
                let (consumed, r) = self.fd_loop_at(src, false, dst, limit, buf, Some(at));
                Outcome {
                    consumed,
                    end: r.map_or_else(End::Fail, |()| End::Done),
                }
            }
            _ => Outcome {
                consumed: 0,
                end: End::Decline,
            },
        }
    }

    /// `FICLONE`: the whole source shared into the (empty) destination, then both positions at
    /// the end, as a copy leaves them. Declines with the errno kept in `clone_refused`.
    fn clone_file(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Outcome {
        let declined = Outcome {
            consumed: 0,
            end: End::Decline,
        };
        loop {
            match sys::clone::ficlone(dst, src) {
                Ok(()) => break,
                Err(e) => match judge(Syscall::Ficlone, e, 0) {
                    Verdict::Retry => {}
                    Verdict::Fail => {
                        return Outcome {
                            consumed: 0,
                            end: End::Fail(e.into()),
                        }
                    }
                    _ => {
                        self.clone_refused = Some(e.raw_os_error());
                        return declined;
                    }
                },
            }
        }
        // The clone took the source's size at that moment: that is what it copied.
        let placed = stat::stat(dst).and_then(|st| {
            extent::seek_to(src, st.size)?;
            extent::seek_to(dst, st.size)?;
            Ok(st.size)
        });
        match placed {
            Ok(n) => {
                if n > 0 {
                    self.rec.moved(Strategy::Clone, n);
                }
                Outcome {
                    consumed: n,
                    end: End::Done,
                }
            }
            Err(e) => Outcome {
                consumed: 0,
                end: End::Fail(e),
            },
        }
    }

    /// `copy_file_range`, `sendfile` or a direct `splice`: one call repeated, at the file
    /// positions or, for the first two, at explicit offsets.
    fn direct(
        &mut self,
        strategy: Strategy,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        limit: Option<u64>,
        mut at: Option<&mut At>,
    ) -> Outcome {
        let call = strategy.syscall().expect("a kernel strategy");
        if let (Some(at), Syscall::Sendfile) = (at.as_deref(), call) {
            // sendfile writes at the destination's position.
            if let Err(e) = extent::seek_to(dst, at.dst) {
                return Outcome {
                    consumed: 0,
                    end: End::Fail(e.into()),
                };
            }
        }
        let cap = match self.rec.has_progress() {
            true => sys::chunk_cap(call).min(PROGRESS_CHUNK),
            false => sys::chunk_cap(call),
        };
        let mut moved = 0u64;
        let mut spurious = 0;
        let end = loop {
            let want = left(limit, moved).min(cap);
            if want == 0 {
                break End::Done;
            }
            let r = match at.as_deref_mut() {
                Some(at) => sys::call_at(call, src, &mut at.src, dst, &mut at.dst, want as usize),
                None => sys::call_once(call, src, dst, want as usize),
            };
            match r {
                Ok(0) if zero_is_decline(call, moved) => break End::Decline,
                Ok(0) => break End::Done,
                Ok(n) => {
                    moved += n as u64;
                    spurious = 0;
                    self.rec.moved(strategy, n as u64);
                }
                Err(e) => match judge(call, e, moved) {
                    Verdict::Retry => {}
                    Verdict::WouldBlock => match self.wait.after_eagain(src, dst) {
                        Ok(Blocked::Retry) if spurious < MAX_SPURIOUS_EAGAIN => spurious += 1,
                        Ok(_) => break End::Fail(crate::error::would_block()),
                        Err(e) => break End::Fail(e),
                    },
                    Verdict::Fail => break End::Fail(e.into()),
                    _ => break End::Decline,
                },
            }
        };
        Outcome { consumed: moved, end }
    }

    /// `splice` source → pooled pipe → destination. The pipe is drained completely after every
    /// fill, so it is empty whenever the source is read, and `EAGAIN` from the fill can only
    /// mean the source has nothing.
    fn via_pipe(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, limit: Option<u64>) -> Outcome {
        let Ok(pipe) = pipe_pool::take() else {
            // No pipe to be had (EMFILE, the user's pipe budget spent): not this strategy.
            return Outcome {
                consumed: 0,
                end: End::Decline,
            };
        };
        let (pr, pw) = (pipe.read.as_fd(), pipe.write.as_fd());
        let mut consumed = 0u64;
        let mut delivered = 0u64;
        let mut stranded = 0u64;
        let end = loop {
            let want = left(limit, consumed).min(pipe.capacity as u64);
            if want == 0 {
                break End::Done;
            }
            let n = match splice::call(src, pw, want as usize) {
                Ok(0) => break End::Done,
                Ok(n) => n as u64,
                Err(e) => match judge(Syscall::Splice, e, delivered) {
                    Verdict::Retry => continue,
                    Verdict::WouldBlock => break End::Fail(crate::error::would_block()),
                    Verdict::Fail => break End::Fail(e.into()),
                    _ => break End::Decline,
                },
            };
            consumed += n;
            if let Err((end, left)) = self.drain(pr, dst, n, &mut delivered) {
                stranded = left;
                break end;
            }
        };
        if stranded == 0 {
            pipe_pool::give(pipe);
        }
        Outcome { consumed, end }
    }

    /// Moves all `n` bytes in the pipe to `dst`. On failure returns how the strategy ends and
    /// how many bytes stay stranded in the pipe (which must then never be reused).
    fn drain(
        &mut self,
        pr: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        n: u64,
        delivered: &mut u64,
    ) -> Result<(), (End, u64)> {
        let mut left = n;
        while left > 0 {
            match splice::call(pr, dst, left as usize) {
                Ok(0) => return Err((End::Fail(crate::error::write_zero()), left)),
                Ok(k) => {
                    left -= k as u64;
                    *delivered += k as u64;
                    self.rec.moved(Strategy::SpliceViaPipe, k as u64);
                }
                Err(e) => match judge(Syscall::Splice, e, *delivered) {
                    Verdict::Retry => {}
                    Verdict::WouldBlock => self.wait.writable(dst).map_err(|e| (End::Fail(e), left))?,
                    Verdict::Fail => return Err((End::Fail(e.into()), left)),
                    // The destination refuses splice (a filesystem without it, O_APPEND set
                    // meanwhile): deliver what the pipe holds with the loop, then decline. The
                    // pipe's bytes are exactly `left`, so the loop ends at that limit.
                    _ => {
                        let (taken, r) = self.fd_loop(pr, false, dst, Some(left), None);
                        return Err(match r {
                            Ok(()) => (End::Decline, 0),
                            // Bytes read but not written are lost with the error (the count
                            // says so); the pipe still holds the rest.
                            Err(e) => (End::Fail(e), left - taken),
                        });
                    }
                },
            }
        }
        Ok(())
    }

    /// The read/write loop on two descriptors, after the wrappers' buffers were drained and
    /// flushed: never reads past `limit`, waits with `poll` on a destination that would block;
    /// reads a socket with `recv` (`src_socket`) and writes one with `send`.
    /// Returns the bytes taken from the source, and how it ended.
    pub(crate) fn fd_loop(
        &mut self,
        src: BorrowedFd<'_>,
        src_socket: bool,
        dst: BorrowedFd<'_>,
        limit: Option<u64>,
        buf: Option<&mut [u8]>,
    ) -> (u64, io::Result<()>) {
        self.fd_loop_at(src, src_socket, dst, limit, buf, None)
    }

    /// The loop at the file positions (`read`/`write`) or at explicit offsets
    /// (`pread`/`pwrite`, advancing `at`).
    fn fd_loop_at(
        &mut self,
        src: BorrowedFd<'_>,
        src_socket: bool,
        dst: BorrowedFd<'_>,
        limit: Option<u64>,
        buf: Option<&mut [u8]>,
        mut at: Option<&mut At>,
    ) -> (u64, io::Result<()>) {
        use sys::Errno;
        let mut run = |buf: &mut [u8]| {
            let mut consumed = 0u64;
            loop {
                let want = left(limit, consumed).min(buf.len() as u64) as usize;
                if want == 0 {
                    return (consumed, Ok(()));
                }
                let r = match at.as_deref() {
                    Some(at) => sys::io::pread(src, &mut buf[..want], at.src),
                    None => sys::io::read(src, &mut buf[..want], src_socket),
                };
                let n = match r {
                    Ok(0) => return (consumed, Ok(())),
                    Ok(n) => n,
                    Err(Errno::INTR) => continue,
                    Err(e) => return (consumed, Err(e.into())),
                };
                consumed += n as u64;
                if let Some(at) = at.as_deref_mut() {
                    at.src += n as u64;
                }
                let mut chunk = &buf[..n];
                while !chunk.is_empty() {
                    let r = match at.as_deref() {
                        Some(at) => sys::io::pwrite(dst, chunk, at.dst),
                        None => sys::io::write(dst, chunk, self.dst_socket),
                    };
                    match r {
                        Ok(0) => return (consumed, Err(crate::error::write_zero())),
                        Ok(k) => {
                            chunk = &chunk[k..];
                            if let Some(at) = at.as_deref_mut() {
                                at.dst += k as u64;
                            }
                            self.rec.moved(Strategy::Buffered, k as u64);
                        }
                        Err(Errno::INTR) => {}
                        Err(Errno::AGAIN) => {
                            if let Err(e) = self.wait.writable(dst) {
                                return (consumed, Err(e));
                            }
                        }
                        Err(e) => return (consumed, Err(e.into())),
                    }
                }
            }
        };
        match buf {
            Some(buf) => run(buf),
            None => crate::buffered::default_buffer(limit, run),
        }
    }
}
