//! Runs one kernel strategy between two descriptors, following the fallback rule of
//! `strategy.rs`: every syscall retried on EINTR, bounded by the limit, `EAGAIN` waited on with
//! `poll`, and nothing left behind in the intermediate pipe unreported.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use crate::engine::Ctx;
use crate::strategy::{verdict, zero_is_decline, Strategy, Syscall, Verdict};
use crate::sys::wait::{self, Blocked};
use crate::sys::{self, avail, pipe_pool, splice};

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

/// Moves bytes from `src` to `dst` with `strategy` until end of file, `limit`, or an error.
pub(crate) fn run(
    strategy: Strategy,
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    limit: Option<u64>,
    ctx: &mut Ctx<'_>,
) -> Outcome {
    match strategy {
        Strategy::SpliceViaPipe => via_pipe(src, dst, limit, ctx),
        _ => direct(strategy, src, dst, limit, ctx),
    }
}

/// The errno's verdict, with the side effect of remembering a syscall that is missing or
/// denied for the whole process.
fn judge(call: Syscall, e: rustix::io::Errno, moved: u64) -> Verdict {
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

fn would_block() -> io::Error {
    io::Error::from_raw_os_error(libc::EAGAIN)
}

/// `copy_file_range`, `sendfile` or a direct `splice`: one call repeated.
fn direct(
    strategy: Strategy,
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    limit: Option<u64>,
    ctx: &mut Ctx<'_>,
) -> Outcome {
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
                ctx.moved(strategy, n as u64);
            }
            Err(e) => match judge(call, e, moved) {
                Verdict::Retry => {}
                Verdict::WouldBlock => match wait::after_eagain(src, dst, &mut ctx.dst_nonblocking) {
                    Ok(Blocked::Retry) if spurious < MAX_SPURIOUS_EAGAIN => spurious += 1,
                    Ok(_) => break End::Fail(would_block()),
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
/// fill, so it is empty whenever the source is read, and `EAGAIN` from the fill can only mean
/// the source has nothing.
fn via_pipe(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, limit: Option<u64>, ctx: &mut Ctx<'_>) -> Outcome {
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
    let mut stranded = 0usize;
    let end = loop {
        let want = left(limit, consumed).min(pipe.capacity as u64);
        if want == 0 {
            break End::Done;
        }
        let n = match splice::call(src, pw, want as usize) {
            Ok(0) => break End::Done,
            Ok(n) => n,
            Err(e) => match judge(Syscall::Splice, e, delivered) {
                Verdict::Retry => continue,
                Verdict::WouldBlock => break End::Fail(would_block()),
                Verdict::Fail => break End::Fail(e.into()),
                _ => break End::Decline,
            },
        };
        consumed += n as u64;
        match drain(pr, dst, n, &mut delivered, ctx) {
            Ok(()) => {}
            Err((end, left)) => {
                stranded = left;
                break end;
            }
        }
    };
    if stranded == 0 {
        pipe_pool::give(pipe);
    }
    Outcome { consumed, end }
}

/// Moves all `n` bytes in the pipe to `dst`. On failure returns how the strategy ends and how
/// many bytes stay stranded in the pipe (which must then never be reused).
fn drain(
    pr: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    n: usize,
    delivered: &mut u64,
    ctx: &mut Ctx<'_>,
) -> Result<(), (End, usize)> {
    let mut left = n;
    while left > 0 {
        match splice::call(pr, dst, left) {
            Ok(0) => return Err((End::Fail(crate::error::write_zero()), left)),
            Ok(k) => {
                left -= k;
                *delivered += k as u64;
                ctx.moved(Strategy::SpliceViaPipe, k as u64);
            }
            Err(e) => match judge(Syscall::Splice, e, *delivered) {
                Verdict::Retry => {}
                Verdict::WouldBlock => {
                    wait::writable(dst, &mut ctx.dst_nonblocking).map_err(|e| (End::Fail(e), left))?
                }
                Verdict::Fail => return Err((End::Fail(e.into()), left)),
                // The destination refuses splice (a filesystem without it, O_APPEND set
                // meanwhile): deliver what the pipe holds through user space, then decline.
                _ => {
                    return match rescue(pr, dst, left, delivered, ctx) {
                        Ok(()) => Err((End::Decline, 0)),
                        Err((e, stranded)) => Err((End::Fail(e), stranded)),
                    }
                }
            },
        }
    }
    Ok(())
}

/// Reads `n` bytes out of the pipe and writes them to `dst` with plain `read`/`write`.
fn rescue(
    pr: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    mut n: usize,
    delivered: &mut u64,
    ctx: &mut Ctx<'_>,
) -> Result<(), (io::Error, usize)> {
    let socket = crate::sys::write::is_socket(dst);
    let mut buf = vec![0u8; n.min(1 << 16)];
    while n > 0 {
        let want = n.min(buf.len());
        let got = match rustix::io::read(pr, &mut buf[..want]) {
            Ok(0) => return Err((crate::error::write_zero(), n)),
            Ok(k) => k,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err((e.into(), n)),
        };
        let mut off = 0;
        while off < got {
            match crate::sys::write::write(dst, &buf[off..got], socket) {
                Ok(0) => return Err((crate::error::write_zero(), n - got)),
                Ok(k) => {
                    off += k;
                    *delivered += k as u64;
                    ctx.moved(Strategy::Buffered, k as u64);
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    wait::writable(dst, &mut ctx.dst_nonblocking).map_err(|e| (e, n - got))?
                }
                // Bytes read but not written are lost with the error (the count says so); the
                // pipe still holds the rest.
                Err(e) => return Err((e.into(), n - got)),
            }
        }
        n -= got;
    }
    Ok(())
}
