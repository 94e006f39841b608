//! The sparse walk, [`Strategy::Hole`]: a regular file copied extent by extent, its holes
//! skipped where the destination already reads zeros.
//!
//! The rules (file-copy.md §5.3), in the order they apply:
//!
//! 1. The first `SEEK_DATA` comes before anything changes: a filesystem that refuses it (or an
//!    `ftruncate` refused next) declines the step, and the plan's next steps copy densely from
//!    the source's position (put back: `lseek` moves it).
//! 2. The destination is sized once, with one `ftruncate`, before any data: no write ever extends
//!    the file, which keeps XFS's speculative preallocation out of a sparse copy (measured: 8 MiB
//!    allocated for 8 MiB of data, where per-extent writes left 15.5 MiB). A destination already
//!    longer than the copy's end is never shortened, as no copy does.
//! 3. A hole is skipped only where the destination has no old bytes (at or past its size when
//!    the copy started); over old bytes it is punched (`fallocate(PUNCH_HOLE)`), or, where that
//!    is refused, copied densely (the source reads zeros there).
//! 4. Each data extent goes by the plan's steps after [`Strategy::Hole`] (`copy_file_range`,
//!    `sendfile`, the loop) through [`Job::run_at`], at explicit offsets; a step that declines is
//!    not tried again for the later extents. Holes shorter than [`MIN_HOLE`] between extents are
//!    copied with them, in one call (the cut-off to dense copying of a fragmented file). A
//!    `SEEK_DATA`/`SEEK_HOLE` refused in the middle copies the rest densely.
//! 5. Every iteration moves forward: an extent that flipped from data to hole between the two
//!    seeks is copied densely (1 MiB), so a source whose extents keep changing cannot make the
//!    walk loop (coreutils #159). A source that shrinks ends the copy where it ends; one that
//!    grows is copied on densely to its new end, as `io::copy` reads until 0.
//! 6. At the end, and on an error, both positions are put where the copy got (`start + count`),
//!    and the destination's size is cut back to that, undoing step 2.

use std::io;
use std::os::fd::BorrowedFd;

use crate::kernel::{judge, At, End, Job, Outcome};
use crate::strategy::Strategy;
use crate::sys::{self, avail, extent, stat, Errno};
use crate::table::{Syscall, Verdict};

/// How far an extent that turned into a hole between `SEEK_DATA` and `SEEK_HOLE` is copied
/// densely, so that the walk always moves forward.
const FLIP_CHUNK: u64 = 1 << 20;

/// Holes shorter than this between two data extents are copied with them, in one call: each
/// extent costs a copy call (a splice set-up inside `copy_file_range` on ext4), which outweighs
/// writing a short run of zeros. Crossover estimated from the study's 64 MiB with 4 KiB of data
/// every 8 KiB (per-extent 64 ms vs whole-file 22 ms on ext4: ~6.5 µs per extent against
/// 0.34 ms per MiB): about 23 KiB; measured with `cargo xtask bench` (`file-file-sparse`, the
/// fragmented rows; `docs/architecture.md`). Long holes are always skipped, so a file whose
/// first extents are small and whose rest is a long hole stays sparse.
pub(crate) const MIN_HOLE: u64 = 32 << 10;

/// Which `lseek` question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seek {
    Data,
    Hole,
}

/// The answers of `lseek(SEEK_DATA | SEEK_HOLE)`: `None` is `ENXIO`.
type Extents<'e> = &'e dyn Fn(Seek, u64) -> Result<Option<u64>, Errno>;

/// Copies from `src`'s position to its end (or `limit`) into `dst` at its position, holes
/// skipped, each extent by the strategies of `chain` in order (the steps after
/// [`Strategy::Hole`] in the plan, minus denied ones). Declines only before anything changed.
pub(crate) fn walk(
    job: &mut Job<'_, '_>,
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    limit: Option<u64>,
    chain: &[Strategy],
    buf: Option<&mut [u8]>,
) -> Outcome {
    let extents = |seek, from| match seek {
        Seek::Data => extent::data(src, from),
        Seek::Hole => extent::hole(src, from),
    };
    walk_with(job, &extents, src, dst, limit, chain, buf)
}

fn walk_with(
    job: &mut Job<'_, '_>,
    extents: Extents<'_>,
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    limit: Option<u64>,
    chain: &[Strategy],
    buf: Option<&mut [u8]>,
) -> Outcome {
    let decline = Outcome {
        consumed: 0,
        end: End::Decline,
    };
    // Where the copy starts, how long the source is, what the destination held: anything odd
    // here, and the dense steps meet it for real.
    let (Some(src_at), Some(dst_at)) = (stat::position(src), stat::position(dst)) else {
        return decline;
    };
    let (Ok(src_st), Ok(dst_st)) = (stat::stat(src), stat::stat(dst)) else {
        return decline;
    };
    let wanted = limit.map_or(u64::MAX, |l| src_at.saturating_add(l));
    let end = wanted.min(src_st.size).max(src_at);
    let failed = |e: Errno| Outcome {
        consumed: 0,
        end: End::Fail(e.into()),
    };
    // 1. The first extent, before anything changes.
    let first = loop {
        match extents(Seek::Data, src_at) {
            Ok(d) => break d,
            Err(e) => match judge(Syscall::SeekData, e, 0) {
                Verdict::Retry => {}
                Verdict::Fail => return failed(e),
                _ => return decline,
            },
        }
    };
    // 2. The destination sized once. `SEEK_DATA` moved the source's position (lseek does): a
    // decline from here puts it back, so the dense steps start where the copy starts.
    let sized = dst_at + (end - src_at);
    let extended = end > src_at && sized > dst_st.size;
    if extended {
        loop {
            match extent::set_len(dst, sized) {
                Ok(()) => break,
                Err(e) => {
                    let verdict = judge(Syscall::Ftruncate, e, 0);
                    if verdict == Verdict::Retry {
                        continue;
                    }
                    if let Err(back) = extent::seek_to(src, src_at) {
                        return failed(back);
                    }
                    return if verdict == Verdict::Fail { failed(e) } else { decline };
                }
            }
        }
    }
    let start = At {
        src: src_at,
        dst: dst_at,
    };
    let mut w = Walk {
        job,
        extents,
        src,
        dst,
        chain,
        next: 0,
        buf,
        start,
        cur: start,
        old_end: dst_st.size,
        punch: true,
    };
    let r = w
        .extents(end, first)
        .and_then(|whole| if whole && end < wanted { w.tail(wanted) } else { Ok(()) });
    // 6. Positions and size where the copy got.
    let got = w.cur;
    if extended && got.dst < sized {
        // Best effort: the error (or the short source) is what the caller needs to hear.
        let _ = extent::set_len(dst, got.dst.max(dst_st.size));
    }
    let placed = extent::seek_to(src, got.src).and_then(|()| extent::seek_to(dst, got.dst));
    Outcome {
        consumed: got.src - src_at,
        end: match (r, placed) {
            (Err(e), _) => End::Fail(e),
            (Ok(()), Err(e)) => End::Fail(e.into()),
            (Ok(()), Ok(())) => End::Done,
        },
    }
}

/// The state of one walk.
struct Walk<'w, 'j, 'r, 'p> {
    job: &'j mut Job<'r, 'p>,
    extents: Extents<'w>,
    src: BorrowedFd<'w>,
    dst: BorrowedFd<'w>,
    /// The strategies for data, in order; `next` is the first that has not declined.
    chain: &'w [Strategy],
    next: usize,
    buf: Option<&'w mut [u8]>,
    start: At,
    /// How far the copy got: everything before is in the destination.
    cur: At,
    /// The destination's size when the copy started: below it, old bytes.
    old_end: u64,
    /// Whether punching is still worth trying.
    punch: bool,
}

/// What an `lseek` question got.
enum Answer {
    At(Option<u64>),
    /// Refused (`EINVAL`, `EOPNOTSUPP`, seccomp): copy the rest densely.
    Refused,
}

impl Walk<'_, '_, '_, '_> {
    fn progress(&self) -> u64 {
        self.cur.src - self.start.src
    }

    fn ask(&self, seek: Seek, from: u64) -> io::Result<Answer> {
        loop {
            match (self.extents)(seek, from) {
                Ok(at) => return Ok(Answer::At(at)),
                Err(e) => match judge(Syscall::SeekData, e, self.progress()) {
                    Verdict::Retry => {}
                    Verdict::Fail => return Err(e.into()),
                    _ => return Ok(Answer::Refused),
                },
            }
        }
    }

    /// Steps 3 to 5 up to `end`; `first` is the answer of the first `SEEK_DATA`. `Ok(true)`:
    /// `end` reached; `Ok(false)`: the source ended before it.
    fn extents(&mut self, end: u64, first: Option<u64>) -> io::Result<bool> {
        let mut pending = Some(first);
        while self.cur.src < end {
            let pos = self.cur.src;
            let data = match pending.take() {
                Some(d) => d,
                None => match self.ask(Seek::Data, pos)? {
                    Answer::At(d) => d,
                    Answer::Refused => return self.copy(end),
                },
            };
            let Some(data) = data else {
                // No data up to the end of the file: a hole to its current size, which is
                // shorter than `end` if the source shrank.
                let size = stat::stat(self.src)?.size;
                let to = size.clamp(pos, end);
                return Ok(self.skip(to)? && to == end);
            };
            let (hole_to, data_follows) = hole_end(pos, end, data);
            if !self.skip(hole_to)? {
                return Ok(false);
            }
            if !data_follows {
                break;
            }
            let hole = match self.ask(Seek::Hole, hole_to)? {
                Answer::At(Some(h)) => h,
                // Past the end of the file: it shrank.
                Answer::At(None) => return Ok(false),
                Answer::Refused => return self.copy(end),
            };
            let mut stop = data_end(hole_to, end, hole);
            // Short holes after this extent go with it; the first answer that ends the run is
            // the next iteration's.
            while stop < end {
                let next = match self.ask(Seek::Data, stop)? {
                    Answer::At(n) => n,
                    Answer::Refused => return self.copy(end),
                };
                let Some(n) = next.map(|n| n.max(stop)).filter(|&n| n < end && n - stop < MIN_HOLE) else {
                    pending = Some(next);
                    break;
                };
                match self.ask(Seek::Hole, n)? {
                    Answer::At(Some(h)) => stop = data_end(n, end, h),
                    // It shrank: copy what this run found, look again afterwards.
                    Answer::At(None) => break,
                    Answer::Refused => return self.copy(end),
                }
            }
            if !self.copy(stop)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A source that had `end` bytes at the start: one more read there, as `io::copy` reads
    /// until 0; if it grew, the rest is copied densely (up to `wanted`).
    fn tail(&mut self, wanted: u64) -> io::Result<()> {
        let mut one = [0u8; 1];
        loop {
            match sys::io::pread(self.src, &mut one, self.cur.src) {
                Ok(0) => return Ok(()),
                Ok(_) => break,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.copy(wanted).map(drop)
    }

    /// Copies the source densely from `cur` to `to` through the chain. `Ok(false)`: the source
    /// ended first.
    fn copy(&mut self, to: u64) -> io::Result<bool> {
        while self.cur.src < to {
            let Some(&strategy) = self.chain.get(self.next) else {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "no kernel strategy could copy the data and the buffered loop is denied",
                ));
            };
            let want = to - self.cur.src;
            let out = self.job.run_at(
                strategy,
                self.src,
                self.dst,
                Some(want),
                &mut self.cur,
                self.buf.as_deref_mut(),
            );
            match out.end {
                // Short of `to`: end of file.
                End::Done => return Ok(self.cur.src >= to),
                End::Decline => self.next += 1,
                End::Fail(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Covers the hole from `cur` to `to`: punched (or copied densely) where the destination
    /// has old bytes, skipped past them. `Ok(false)`: the source ended inside (it shrank while a
    /// part over old bytes was copied densely).
    fn skip(&mut self, to: u64) -> io::Result<bool> {
        let len = to - self.cur.src;
        let over_old = self.old_end.saturating_sub(self.cur.dst).min(len);
        if over_old > 0 && !self.punched(self.cur.dst, over_old)? && !self.copy(self.cur.src + over_old)? {
            return Ok(false);
        }
        let skipped = to - self.cur.src;
        if skipped > 0 {
            self.cur.src += skipped;
            self.cur.dst += skipped;
            self.job.rec.moved(Strategy::Hole, skipped);
        }
        Ok(true)
    }

    /// Punches `[offset, offset + len)` of the destination; `Ok(false)` if punching is refused
    /// here (then never tried again in this walk) or unavailable.
    fn punched(&mut self, offset: u64, len: u64) -> io::Result<bool> {
        if !self.punch || avail::unavailable().contains(Syscall::Fallocate) {
            return Ok(false);
        }
        loop {
            match extent::punch(self.dst, offset, len) {
                Ok(()) => return Ok(true),
                Err(e) => match judge(Syscall::Fallocate, e, self.progress()) {
                    Verdict::Retry => {}
                    Verdict::Fail => return Err(e.into()),
                    _ => {
                        self.punch = false;
                        return Ok(false);
                    }
                },
            }
        }
    }
}

/// Where the hole at `pos` ends, from `SEEK_DATA`'s answer `data`, and whether data follows
/// before `end`. An answer behind `pos` (a filesystem that lies) counts as data at `pos`.
fn hole_end(pos: u64, end: u64, data: u64) -> (u64, bool) {
    let d = data.clamp(pos, end);
    (d, d < end)
}

/// Where the data at `pos` ends, from `SEEK_HOLE`'s answer `hole`: always past `pos` (when
/// `pos < end`), so that every iteration moves forward. An extent that became a hole since
/// `SEEK_DATA` said data (`hole <= pos`) is copied densely for [`FLIP_CHUNK`] bytes.
fn data_end(pos: u64, end: u64, hole: u64) -> u64 {
    if hole > pos {
        hole.min(end)
    } else {
        pos.saturating_add(FLIP_CHUNK).min(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Recorder;
    use std::cell::Cell;
    use std::io::{Read, Seek as _, SeekFrom, Write};
    use std::os::fd::AsFd;

    #[test]
    fn every_step_moves_forward_whatever_the_filesystem_answers() {
        for pos in 0..6u64 {
            for end in pos + 1..9 {
                for data in 0..12 {
                    let (to, follows) = hole_end(pos, end, data);
                    assert!((pos..=end).contains(&to), "{pos} {end} {data}");
                    assert_eq!(follows, to < end);
                    if !follows {
                        continue;
                    }
                    for hole in 0..12 {
                        let stop = data_end(to, end, hole);
                        assert!(stop > to && stop <= end, "{pos} {end} {data} {hole}: {stop}");
                    }
                }
            }
        }
        assert_eq!(data_end(10, u64::MAX, 10), 10 + FLIP_CHUNK);
        assert_eq!(data_end(u64::MAX - 1, u64::MAX, 0), u64::MAX);
    }

    fn file_with(data: &[u8]) -> std::fs::File {
        let mut f = tempfile::tempfile_in("/dev/shm")
            .or_else(|_| tempfile::tempfile())
            .unwrap();
        f.write_all(data).unwrap();
        f.rewind().unwrap();
        f
    }

    /// A walk over `src` whose `lseek` answers come from `lie` (given the question, the offset,
    /// and how many questions came before): it must end, with exact bytes and count.
    fn walk_lied_to(data: &[u8], lie: &dyn Fn(Seek, u64, u32) -> Result<Option<u64>, Errno>) -> Vec<u8> {
        let src = file_with(data);
        let mut dst = file_with(&[]);
        let mut rec = Recorder::new(None);
        let mut job = Job {
            rec: &mut rec,
            wait: Default::default(),
            dst_socket: false,
            clone_refused: None,
        };
        let asked = Cell::new(0u32);
        let extents = |seek, from| {
            asked.set(asked.get() + 1);
            assert!(asked.get() < 100_000, "the walk does not end");
            lie(seek, from, asked.get())
        };
        let chain = [Strategy::CopyFileRange, Strategy::Sendfile, Strategy::Buffered];
        let out = walk_with(&mut job, &extents, src.as_fd(), dst.as_fd(), None, &chain, None);
        assert!(matches!(out.end, End::Done), "{:?}", out.end);
        assert_eq!(out.consumed, data.len() as u64);
        assert_eq!(rec.into_report().written(), data.len() as u64);
        assert_eq!(stat::position(src.as_fd()), Some(data.len() as u64));
        assert_eq!(stat::position(dst.as_fd()), Some(data.len() as u64));
        let mut got = Vec::new();
        dst.seek(SeekFrom::Start(0)).unwrap();
        dst.read_to_end(&mut got).unwrap();
        got
    }

    #[test]
    fn a_filesystem_whose_extents_flip_forever_cannot_make_the_walk_loop() {
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        // SEEK_DATA says data here, SEEK_HOLE says a hole here: the extent "flips" every time.
        let got = walk_lied_to(&data, &|_, from, _| Ok(Some(from)));
        assert!(got == data, "flip-flop: bytes differ");
        // SEEK_DATA answers behind the offset asked, SEEK_HOLE before it.
        let got = walk_lied_to(&data, &|_, from, _| Ok(Some(from / 2)));
        assert!(got == data, "answers behind: bytes differ");
        // Invented holes (a filesystem that lies, the risk Sparse::Never avoids) read as zeros,
        // but the walk still ends with the exact count and length.
        let got = walk_lied_to(&data, &|seek, from, n| match (seek, n % 3) {
            (Seek::Data, 0) => Ok(Some(from + 4096)),
            (Seek::Hole, _) => Ok(Some(from + 1)),
            _ => Ok(Some(from)),
        });
        assert_eq!(got.len(), data.len(), "mixed");
    }

    #[test]
    fn seek_refused_mid_walk_copies_the_rest_densely() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 13) as u8).collect();
        let got = walk_lied_to(&data, &|seek, from, n| match (seek, n) {
            (Seek::Data, 1) => Ok(Some(from)),
            (Seek::Hole, _) => Ok(Some(from + 1000)),
            _ => Err(Errno::INVAL),
        });
        assert!(got == data);
    }
}
