//! Waiting on a side that would block, with `poll(2)`: never spinning on `EAGAIN`
//! (golang/go#75304), never changing the caller's descriptor flags (golang/go#28330).
//!
//! A destination without `O_NONBLOCK` that still says `EAGAIN` is a socket whose send timeout
//! (`SO_SNDTIMEO`) expired: that is reported as `WouldBlock` with the count, as `write` would,
//! rather than waited on.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// Who made a call return `EAGAIN`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// The destination had no room and now has some (or an error to report): call again.
    Retry,
    /// The source has nothing to read, or the destination's send timeout expired: the caller
    /// gets `WouldBlock` with the count.
    Stop,
}

/// The waiting state of one copy: the destination's `O_NONBLOCK`, read with one `F_GETFL` at
/// the first `EAGAIN` and kept for the rest of the copy.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    dst_nonblocking: Option<bool>,
}

impl Waiter {
    /// After `EAGAIN` from a call from `src` to `dst`: wait until the destination can take
    /// bytes, or tell that the source is the one with nothing to give.
    pub(crate) fn after_eagain(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<Blocked> {
        let now = Timespec { tv_sec: 0, tv_nsec: 0 };
        if !ready(dst, PollFlags::OUT, Some(&now))? {
            return Ok(match self.writable(dst) {
                Ok(()) => Blocked::Retry,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Blocked::Stop,
                Err(e) => return Err(e),
            });
        }
        if !ready(src, PollFlags::IN, Some(&now))? {
            return Ok(Blocked::Stop);
        }
        Ok(Blocked::Retry)
    }

    /// After `EAGAIN` from writing to `dst`: blocks until `dst` can take bytes (or has an error
    /// to report), or says `WouldBlock` if `dst` is a blocking socket whose send timeout expired.
    pub(crate) fn writable(&mut self, dst: BorrowedFd<'_>) -> io::Result<()> {
        let nonblocking = match self.dst_nonblocking {
            Some(b) => b,
            None => *self.dst_nonblocking.insert(super::stat::nonblocking(dst)?),
        };
        if !nonblocking {
            return Err(crate::error::would_block());
        }
        ready(dst, PollFlags::OUT, None).map(drop)
    }
}

/// Whether `fd` shows `events` (or an error or hang-up) within `timeout` (`None`: forever).
fn ready(fd: BorrowedFd<'_>, events: PollFlags, timeout: Option<&Timespec>) -> io::Result<bool> {
    let mut fds = [PollFd::from_borrowed_fd(fd, events)];
    loop {
        match poll(&mut fds, timeout) {
            Ok(n) => return Ok(n > 0),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether `fd` can be read (`readable`) or written right now, without waiting: for telling
/// which side of a call between two watched descriptors made it return `EAGAIN`.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn ready_now(fd: BorrowedFd<'_>, readable: bool) -> bool {
    let events = if readable { PollFlags::IN } else { PollFlags::OUT };
    let now = Timespec { tv_sec: 0, tv_nsec: 0 };
    ready(fd, events, Some(&now)).unwrap_or(true)
}
