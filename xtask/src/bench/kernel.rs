//! The `kernel` engine: the kernel path alone, at every size.
//!
//! fdcopy takes the read/write loop for copies it knows to be small, so its own figures cannot
//! show what the kernel path would have cost there. This engine can: it asks the public
//! strategy table (`fdcopy::table::plan`) which kernel strategy the pair gets and calls it
//! directly, with no type recognition, no facts learnt per copy and no fallback (an error from
//! the call is the run's error). Its pipe for `splice` through a pipe is made before the timed
//! region, as the loops' buffers are, and sized like fdcopy's pooled pipes (1 MiB).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use fdcopy::table::{classify, plan, Facts};
use fdcopy::Strategy;
use rustix::io::Errno;
use rustix::pipe::SpliceFlags;

/// fdcopy's pipe size.
const PIPE_SIZE: usize = 1 << 20;
/// The most bytes one call is asked for.
const MAX_CHUNK: usize = 1 << 30;

/// The kernel strategy of one pair, ready to copy.
pub struct KernelPath {
    strategy: Strategy,
    /// `(read end, write end, capacity)` for `splice` through a pipe.
    pipe: Option<(OwnedFd, OwnedFd, usize)>,
}

impl KernelPath {
    /// The table's first strategy for `src` → `dst` (both classified with `fstat`).
    pub fn new(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<KernelPath, String> {
        let kinds = classify(src).and_then(|s| Ok((s, classify(dst)?)));
        let (s, d) = kinds.map_err(|e| format!("kernel engine: classify: {e}"))?;
        let strategy = plan(&Facts::new(s, d)).first();
        let pipe = match strategy {
            Strategy::SpliceViaPipe => {
                let (r, w) = rustix::pipe::pipe().map_err(|e| format!("kernel engine: pipe: {e}"))?;
                let cap = rustix::pipe::fcntl_setpipe_size(&w, PIPE_SIZE)
                    .or_else(|_| rustix::pipe::fcntl_getpipe_size(&w))
                    .map_err(|e| format!("kernel engine: pipe size: {e}"))?;
                Some((r, w, cap))
            }
            Strategy::CopyFileRange | Strategy::Sendfile | Strategy::Splice => None,
            other => {
                return Err(format!(
                    "kernel engine: {s} -> {d} has no kernel strategy (plan: {other})"
                ))
            }
        };
        Ok(KernelPath { strategy, pipe })
    }

    /// Copies from `src` to `dst` until end of file or `limit` bytes.
    pub fn copy(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, limit: Option<u64>) -> std::io::Result<u64> {
        let mut done = 0u64;
        loop {
            let want = limit.map_or(MAX_CHUNK as u64, |l| (l - done).min(MAX_CHUNK as u64)) as usize;
            if want == 0 {
                return Ok(done);
            }
            let n = match &self.pipe {
                None => retry(|| self.call(src, dst, want))?,
                Some((r, w, cap)) => {
                    let n = retry(|| rustix::pipe::splice(src, None, w, None, want.min(*cap), SpliceFlags::empty()))?;
                    let mut left = n;
                    while left > 0 {
                        let k = retry(|| rustix::pipe::splice(r, None, dst, None, left, SpliceFlags::empty()))?;
                        if k == 0 {
                            return Err(std::io::ErrorKind::WriteZero.into());
                        }
                        left -= k;
                    }
                    n
                }
            };
            if n == 0 {
                return Ok(done);
            }
            done += n as u64;
        }
    }

    fn call(&self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, len: usize) -> rustix::io::Result<usize> {
        match self.strategy {
            Strategy::CopyFileRange => rustix::fs::copy_file_range(src, None, dst, None, len),
            Strategy::Sendfile => rustix::fs::sendfile(dst, src, None, len),
            _ => rustix::pipe::splice(src, None, dst, None, len, SpliceFlags::empty()),
        }
    }
}

/// Calls `f` again on `EINTR`.
fn retry(mut f: impl FnMut() -> rustix::io::Result<usize>) -> std::io::Result<usize> {
    loop {
        match f() {
            Err(Errno::INTR) => {}
            r => return r.map_err(Into::into),
        }
    }
}

/// Sets the kernel engine up for a pair of std types.
pub fn prepare(src: &impl AsFd, dst: &impl AsFd) -> Result<KernelPath, String> {
    KernelPath::new(src.as_fd(), dst.as_fd())
}
