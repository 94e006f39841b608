//! The copy engines under comparison.

use std::io::{self, ErrorKind, Read, Write};

/// One way of copying a reader into a writer.
///
/// The order of the variants is the order of the table rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// `fdcopy::copy`, the engine under test.
    Fdcopy,
    /// `std::io::copy`, the baseline every ratio refers to.
    Std,
    /// A plain read/write loop with an 8 KiB heap buffer.
    Buf8k,
    /// A plain read/write loop with a 64 KiB heap buffer.
    Buf64k,
    /// A plain read/write loop with a 1 MiB heap buffer.
    Buf1m,
    /// The table's kernel strategy for the pair, called directly at every size (`kernel.rs`):
    /// not in the default set of the bench, in that of the sweep.
    Kernel,
}

impl Engine {
    /// Every engine, in table order.
    pub const ALL: [Engine; 6] = [
        Engine::Fdcopy,
        Engine::Std,
        Engine::Buf8k,
        Engine::Buf64k,
        Engine::Buf1m,
        Engine::Kernel,
    ];

    /// The engines of `cargo xtask bench` when none are named.
    pub const BENCH: [Engine; 5] = [
        Engine::Fdcopy,
        Engine::Std,
        Engine::Buf8k,
        Engine::Buf64k,
        Engine::Buf1m,
    ];

    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Fdcopy => "fdcopy",
            Engine::Std => "std",
            Engine::Buf8k => "buf8k",
            Engine::Buf64k => "buf64k",
            Engine::Buf1m => "buf1m",
            Engine::Kernel => "kernel",
        }
    }

    /// Whether this is one of the plain read/write loops.
    pub fn is_loop(self) -> bool {
        self.buffer_len() > 0
    }

    /// Buffer size of the plain loops, 0 for the library engines.
    fn buffer_len(self) -> usize {
        match self {
            Engine::Fdcopy | Engine::Std | Engine::Kernel => 0,
            Engine::Buf8k => 8 << 10,
            Engine::Buf64k => 64 << 10,
            Engine::Buf1m => 1 << 20,
        }
    }

    /// Allocates the loop buffer for one run, before the timed region.
    ///
    /// The buffer is filled (not just `calloc`ed) so that its page faults happen here and not
    /// inside the measurement, and starts on a 4 KiB boundary, as fdcopy's default buffer does:
    /// where the allocator puts a block otherwise decides how fast the kernel copies into it
    /// (16 bytes past a page boundary, a 4 KiB read + write costs half as much again), which
    /// would make the loops' figures a matter of luck. The same rules hold for all three loop
    /// engines; the buffer is reused by every copy of a run (the 10 000 small copies share it).
    pub fn buffer(self) -> LoopBuffer {
        let len = self.buffer_len();
        let mut store = vec![0xA5; len + PAGE];
        let start = match store.as_mut_ptr().align_offset(PAGE) {
            n if n < PAGE => n,
            _ => 0,
        };
        LoopBuffer { store, start, len }
    }

    /// Copies `r` into `w` until `r` reports EOF.
    ///
    /// Generic on purpose: `R` and `W` stay the caller's concrete std types (`File`,
    /// `TcpStream`, `Take<&mut TcpStream>`, ...), which is what lets `fdcopy` and `std`
    /// pick their kernel fast paths. The `kernel` engine works on descriptors and is run by
    /// `scenario::run_pair` itself; here it is an error.
    pub fn copy<R, W>(self, r: &mut R, w: &mut W, buf: &mut [u8]) -> io::Result<u64>
    where
        R: Read + ?Sized,
        W: Write + ?Sized,
    {
        match self {
            Engine::Fdcopy => fdcopy::copy(r, w),
            Engine::Std => io::copy(r, w),
            Engine::Buf8k | Engine::Buf64k | Engine::Buf1m => loop_copy(r, w, buf),
            Engine::Kernel => Err(io::Error::new(
                ErrorKind::Unsupported,
                "the kernel engine copies between descriptors only (not in this scenario)",
            )),
        }
    }
}

/// The alignment of the loop buffers.
const PAGE: usize = 4096;

/// A loop engine's buffer: `len` bytes from a 4 KiB boundary.
pub struct LoopBuffer {
    store: Vec<u8>,
    start: usize,
    len: usize,
}

impl std::ops::Deref for LoopBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.store[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for LoopBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.store[self.start..self.start + self.len]
    }
}

/// The plain read/write loop of the `buf*` engines.
fn loop_copy<R, W>(r: &mut R, w: &mut W, buf: &mut [u8]) -> io::Result<u64>
where
    R: Read + ?Sized,
    W: Write + ?Sized,
{
    let mut total = 0u64;
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::Engine;

    #[test]
    fn loop_buffers_start_on_a_page_boundary() {
        for e in Engine::ALL {
            let b = e.buffer();
            assert_eq!(b.len(), e.buffer_len());
            if e.is_loop() {
                assert_eq!(b.as_ptr() as usize % 4096, 0, "{}", e.name());
            }
        }
    }
}
