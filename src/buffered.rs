//! The buffered loop on the traits: `read` then `write` through a user-space buffer, with
//! Go's rules, and the per-thread buffer it (and the loop on descriptors) uses by default.

use std::cell::Cell;
use std::io::{self, ErrorKind};

use crate::recorder::Recorder;
use crate::side::{CopySink, CopySource};
use crate::strategy::Strategy;

/// The loop's buffer when the caller gives none, kept per thread (allocated once). Why
/// 128 KiB: `docs/architecture.md`, "Numbers behind the constants".
pub(crate) const DEFAULT_BUFFER: usize = 128 * 1024;

/// The default buffer starts on a 4 KiB boundary. Where an allocator puts a 128 KiB block
/// varies (glibc: often 16 bytes past a page boundary), and the kernel's copies between a page
/// and a user buffer just past a page boundary run far slower: a 4 KiB `read` + `write` costs
/// half as much again, 16 KiB almost twice as much (`docs/architecture.md`).
const ALIGN: usize = 4096;

thread_local! {
    static BUFFER: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// Copies until end of file (or the source's limit) through `buf`, or a default buffer.
/// Every byte the destination accepted is in `rec`'s report, also when it fails.
pub(crate) fn copy(
    dst: &mut dyn CopySink,
    src: &mut dyn CopySource,
    buf: Option<&mut [u8]>,
    rec: &mut Recorder<'_>,
) -> io::Result<()> {
    rec.ran(Strategy::Buffered);
    if let Some(buf) = buf {
        return with_buffer(dst, src, buf, rec);
    }
    if let Some(from) = src.as_buf_read() {
        // Write straight out of the source's own buffer: no second copy.
        loop {
            let chunk = match from.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(());
            }
            let n = write_some(dst, chunk)?;
            from.consume(n);
            rec.moved(Strategy::Buffered, n as u64);
        }
    }
    if let Some(vec) = dst.as_vec() {
        return into_vec(vec, src, rec);
    }
    default_buffer(src.limit(), |buf| with_buffer(dst, src, buf, rec))
}

/// Reads straight into a vector's spare room with `read_to_end`, as std's specialization does
/// (same reads, same read-ahead into a `BufReader`). The adapter in between turns a reader's
/// claim of more bytes than it was given into an error (std would panic) and reports progress.
fn into_vec(vec: &mut Vec<u8>, src: &mut dyn CopySource, rec: &mut Recorder<'_>) -> io::Result<()> {
    struct Checked<'a, 'c, 'p> {
        src: &'a mut dyn CopySource,
        rec: &'c mut Recorder<'p>,
    }
    impl io::Read for Checked<'_, '_, '_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.src.read(buf)?;
            if n > buf.len() {
                return Err(crate::error::invalid_read());
            }
            if n > 0 {
                self.rec.moved(Strategy::Buffered, n as u64);
            }
            Ok(n)
        }
    }
    io::Read::read_to_end(&mut Checked { src, rec }, vec).map(drop)
}

/// Runs `f` with this thread's default buffer, cut to `limit` when that is smaller (Go's rule:
/// a source limited to N gets a buffer of N).
pub(crate) fn default_buffer<T>(limit: Option<u64>, f: impl FnOnce(&mut [u8]) -> T) -> T {
    let size = limit.map_or(DEFAULT_BUFFER, |l| l.clamp(1, DEFAULT_BUFFER as u64) as usize);
    let mut owned = BUFFER
        .with(|b| b.take())
        .unwrap_or_else(|| vec![0u8; DEFAULT_BUFFER + ALIGN].into_boxed_slice());
    let start = page_start(&owned);
    let r = f(&mut owned[start..start + size]);
    BUFFER.with(|b| b.set(Some(owned)));
    r
}

/// The offset of the first 4 KiB boundary in `buf` (0 if the platform cannot tell).
fn page_start(buf: &[u8]) -> usize {
    match buf.as_ptr().align_offset(ALIGN) {
        n if n < ALIGN => n,
        _ => 0,
    }
}

fn with_buffer(
    dst: &mut dyn CopySink,
    src: &mut dyn CopySource,
    buf: &mut [u8],
    rec: &mut Recorder<'_>,
) -> io::Result<()> {
    loop {
        let n = match src.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) if n > buf.len() => return Err(crate::error::invalid_read()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            let k = write_some(dst, chunk)?;
            chunk = &chunk[k..];
            rec.moved(Strategy::Buffered, k as u64);
        }
    }
}

/// One successful `write` of part of `chunk`, with the contract's checks.
fn write_some(dst: &mut dyn CopySink, chunk: &[u8]) -> io::Result<usize> {
    loop {
        match dst.write(chunk) {
            Ok(0) => return Err(crate::error::write_zero()),
            Ok(k) if k > chunk.len() => return Err(crate::error::invalid_write()),
            Ok(k) => return Ok(k),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_buffer_starts_on_a_page_boundary() {
        for limit in [None, Some(1), Some(4096), Some(u64::MAX)] {
            default_buffer(limit, |buf| {
                assert_eq!(buf.as_ptr() as usize % ALIGN, 0, "{limit:?}");
                let want = limit.map_or(DEFAULT_BUFFER, |l| l.min(DEFAULT_BUFFER as u64) as usize);
                assert_eq!(buf.len(), want);
            });
        }
    }
}
