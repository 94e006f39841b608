//! Moving bytes between two descriptors: one kernel strategy at a time, following the fallback
//! rule of the table (every syscall retried on EINTR, bounded by the limit, `EAGAIN` waited on
//! with `poll`, nothing left behind in the intermediate pipe unreported), and the read/write
//! loop on the descriptors themselves.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use crate::recorder::Recorder;
use crate::strategy::Strategy;
use crate::sys::wait::{Blocked, Waiter};
use crate::sys::{self, avail, pipe_pool, splice};
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

/// What the kernel paths of one copy share across its strategies: the recorder, the waiting
/// state of the destination, and whether it is a socket (loop writes then use `send` with
/// `MSG_NOSIGNAL`).
pub(crate) struct Job<'r, 'p> {
    pub(crate) rec: &'r mut Recorder<'p>,
    pub(crate) wait: Waiter,
    pub(crate) dst_socket: bool,
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
    pub(crate) fn run(
        &mut self,
        strategy: Strategy,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        limit: Option<u64>,
    ) -> Outcome {
        match strategy {
            Strategy::SpliceViaPipe => self.via_pipe(src, dst, limit),
            _ => self.direct(strategy, src, dst, limit),
        }
    }

    /// `copy_file_range`, `sendfile` or a direct `splice`: one call repeated.
    fn direct(&mut self, strategy: Strategy, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, limit: Option<u64>) -> Outcome {
        let call = strategy.syscall().expect("a kernel strategy");
        let mut moved = 0u64;
        let mut spurious = 0;
        let end = loop {
            let want = left(limit, moved).min(sys::chunk_cap(call));
            if want == 0 {
                break End::Done;
            }
            match sys::call_once(call, src, dst, want as usize) {
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
        use sys::Errno;
        let mut run = |buf: &mut [u8]| {
            let mut consumed = 0u64;
            loop {
                let want = left(limit, consumed).min(buf.len() as u64) as usize;
                if want == 0 {
                    return (consumed, Ok(()));
                }
                let n = match sys::io::read(src, &mut buf[..want], src_socket) {
                    Ok(0) => return (consumed, Ok(())),
                    Ok(n) => n,
                    Err(Errno::INTR) => continue,
                    Err(e) => return (consumed, Err(e.into())),
                };
                consumed += n as u64;
                let mut chunk = &buf[..n];
                while !chunk.is_empty() {
                    match sys::io::write(dst, chunk, self.dst_socket) {
                        Ok(0) => return (consumed, Err(crate::error::write_zero())),
                        Ok(k) => {
                            chunk = &chunk[k..];
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
