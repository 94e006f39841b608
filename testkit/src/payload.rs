//! The payload: deterministic pseudo-random byte streams, and their verification.
//!
//! A stream is a sequence of 1 MiB blocks. Block `b` of the stream with seed `s` is a fixed
//! pseudo-random base block whose every 64-bit word is XORed with `key(s, b)`. So no two
//! blocks of a stream are equal, no two seeds give a byte-identical block, every 8-byte word of
//! a block differs (a shifted, repeated or lost chunk shows), and checking a received chunk is
//! a cheap regenerate-and-`memcmp`. Every process builds the same base block from the same
//! constant, so nothing has to be shipped between a copier and its peer processes (the bench
//! relies on this).
//!
//! [`payload`], [`fill`] and [`write_payload`] use one [`Pattern`] per process
//! ([`Pattern::shared`]); the bench holds its own.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::OnceLock;

/// Length of one pattern block.
pub const BLOCK: usize = 1 << 20;

/// Fixed seed of the base block.
const BASE_SEED: u64 = 0x6664_636f_7079_2121; // "fdcopy!!"

/// SplitMix64: a tiny, well-mixing 64-bit generator step.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The per-block word mask of block `block` in the stream with seed `seed`.
fn key(seed: u64, block: u64) -> u64 {
    let mut s = seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ block;
    splitmix64(&mut s)
}

/// The shared base block (built once per process).
pub struct Pattern {
    base: Vec<u64>,
}

impl Pattern {
    /// Builds the base block.
    pub fn new() -> Pattern {
        let mut s = BASE_SEED;
        Pattern {
            base: (0..BLOCK / 8).map(|_| splitmix64(&mut s)).collect(),
        }
    }

    /// The pattern of this process, built on first use.
    pub fn shared() -> &'static Pattern {
        static SHARED: OnceLock<Pattern> = OnceLock::new();
        SHARED.get_or_init(Pattern::new)
    }

    /// Writes the bytes `[offset, offset + out.len())` of stream `seed` into `out`.
    pub fn fill(&self, seed: u64, offset: u64, mut out: &mut [u8]) {
        let mut pos = offset;
        while !out.is_empty() {
            let k = key(seed, pos / BLOCK as u64);
            let in_block = (pos % BLOCK as u64) as usize;
            let n = (BLOCK - in_block).min(out.len());
            let (part, rest) = std::mem::take(&mut out).split_at_mut(n);
            // A partial first word, then whole words, then a partial last one.
            let mut word = in_block / 8;
            let skip = in_block % 8;
            let head = ((8 - skip) % 8).min(part.len());
            let (first, middle) = part.split_at_mut(head);
            if head > 0 {
                first.copy_from_slice(&(self.base[word] ^ k).to_le_bytes()[skip..skip + head]);
                word += 1;
            }
            let last = word + middle.len() / 8;
            let mut words = middle.chunks_exact_mut(8);
            for (o, w) in (&mut words).zip(&self.base[word..]) {
                o.copy_from_slice(&(w ^ k).to_le_bytes());
            }
            let tail = words.into_remainder();
            if !tail.is_empty() {
                let w = self.base[last] ^ k;
                let len = tail.len();
                tail.copy_from_slice(&w.to_le_bytes()[..len]);
            }
            out = rest;
            pos += n as u64;
        }
    }

    /// Writes block `block` of stream `seed` into `out` (exactly `BLOCK` bytes).
    fn block_into(&self, seed: u64, block: u64, out: &mut [u8]) {
        let k = key(seed, block);
        for (o, w) in out.chunks_exact_mut(8).zip(&self.base) {
            o.copy_from_slice(&(w ^ k).to_le_bytes());
        }
    }

    /// A cursor over stream `seed` that yields the expected bytes at any offset.
    pub fn stream(&self, seed: u64) -> Expected<'_> {
        Expected {
            pattern: self,
            seed,
            block: u64::MAX,
            buf: vec![0; BLOCK],
        }
    }
}

impl Default for Pattern {
    fn default() -> Pattern {
        Pattern::new()
    }
}

/// The expected bytes of one stream, one cached block at a time.
pub struct Expected<'a> {
    pattern: &'a Pattern,
    seed: u64,
    /// Index of the block held in `buf`, `u64::MAX` for none.
    block: u64,
    buf: Vec<u8>,
}

impl Expected<'_> {
    /// The expected bytes from `offset` to the end of its block.
    pub fn at(&mut self, offset: u64) -> &[u8] {
        let block = offset / BLOCK as u64;
        if block != self.block {
            self.pattern.block_into(self.seed, block, &mut self.buf);
            self.block = block;
        }
        &self.buf[(offset % BLOCK as u64) as usize..]
    }
}

/// Writes bytes `[0, len)` of stream `seed` to `w`, in block-sized writes.
pub fn write_stream<W: Write + ?Sized>(pattern: &Pattern, seed: u64, len: u64, w: &mut W) -> io::Result<()> {
    write_range(pattern, seed, 0, len, w)
}

/// Writes bytes `[offset, offset + len)` of stream `seed` to `w`, in writes that end at block
/// boundaries.
fn write_range<W: Write + ?Sized>(pattern: &Pattern, seed: u64, offset: u64, len: u64, w: &mut W) -> io::Result<()> {
    let mut exp = pattern.stream(seed);
    let end = offset + len;
    let mut off = offset;
    while off < end {
        let chunk = exp.at(off);
        let n = chunk.len().min((end - off) as usize);
        w.write_all(&chunk[..n])?;
        off += n as u64;
    }
    Ok(())
}

/// The first `len` bytes of stream `seed`: a payload that differs per seed.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fill(seed, 0, &mut v);
    v
}

/// Writes the bytes `[offset, offset + out.len())` of stream `seed` into `out`.
pub fn fill(seed: u64, offset: u64, out: &mut [u8]) {
    Pattern::shared().fill(seed, offset, out);
}

/// Writes bytes `[offset, offset + len)` of stream `seed` to `w`.
pub fn write_payload<W: Write + ?Sized>(w: &mut W, seed: u64, offset: u64, len: u64) -> io::Result<()> {
    write_range(Pattern::shared(), seed, offset, len, w)
}

/// Checks consecutive chunks of a stream against the pattern.
pub struct Verifier<'a> {
    exp: Expected<'a>,
    /// Stream offset of the next byte to check.
    offset: u64,
}

impl<'a> Verifier<'a> {
    /// A verifier for stream `seed` starting at stream offset `offset`.
    pub fn new(pattern: &'a Pattern, seed: u64, offset: u64) -> Verifier<'a> {
        Verifier {
            exp: pattern.stream(seed),
            offset,
        }
    }

    /// Checks `data` as the next bytes of the stream.
    pub fn check(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            let exp = self.exp.at(self.offset);
            let n = exp.len().min(data.len());
            if exp[..n] != data[..n] {
                let i = exp[..n].iter().zip(&data[..n]).position(|(a, b)| a != b);
                let i = i.unwrap_or(0);
                return Err(format!(
                    "payload mismatch at stream byte {}: expected {:#04x}, got {:#04x}",
                    self.offset + i as u64,
                    exp[i],
                    data[i]
                ));
            }
            self.offset += n as u64;
            data = &data[n..];
        }
        Ok(())
    }
}

/// Reads `r` to EOF, checking every byte; returns how many bytes were read.
///
/// Stops with an error at the first wrong byte or once more than `max` bytes arrived.
pub fn verify_reader<R: Read + ?Sized>(r: &mut R, v: &mut Verifier<'_>, max: u64) -> Result<u64, String> {
    let mut buf = vec![0u8; BLOCK];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading the payload after {total} bytes: {e}")),
        };
        total += n as u64;
        if total > max {
            return Err(format!("payload longer than the expected {max} bytes"));
        }
        v.check(&buf[..n])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_does_not_matter() {
        let p = Pattern::new();
        let len = 3 * BLOCK as u64 + 12345;
        let mut whole = Vec::new();
        write_stream(&p, 7, len, &mut whole).unwrap();
        assert_eq!(whole.len() as u64, len);
        let mut v = Verifier::new(&p, 7, 0);
        for chunk in whole.chunks(4093) {
            v.check(chunk).unwrap();
        }
        assert!(Verifier::new(&p, 8, 0).check(&whole[..64]).is_err());
        let mut late = Verifier::new(&p, 7, BLOCK as u64 - 3);
        late.check(&whole[BLOCK - 3..BLOCK + 5]).unwrap();
        assert!(whole[..BLOCK] != whole[BLOCK..2 * BLOCK]);
    }

    #[test]
    fn fill_matches_the_stream_at_any_offset() {
        let p = Pattern::shared();
        let len = 2 * BLOCK + 100;
        let mut whole = Vec::new();
        write_stream(p, 3, len as u64, &mut whole).unwrap();
        assert_eq!(payload(len, 3), whole);
        for (off, n) in [
            (0, 1),
            (1, 7),
            (5, 3),
            (7, 9),
            (8, 8),
            (13, 4093),
            (BLOCK - 3, 11),
            (BLOCK + 1, BLOCK),
        ] {
            let mut buf = vec![0u8; n];
            fill(3, off as u64, &mut buf);
            assert_eq!(buf, whole[off..off + n], "offset {off}, {n} bytes");
            let mut w = Vec::new();
            write_payload(&mut w, 3, off as u64, n as u64).unwrap();
            assert_eq!(w, buf, "write_payload at {off}");
        }
        assert_ne!(payload(64, 3), payload(64, 4));
        let far = 1u64 << 48;
        let mut a = vec![0u8; 4096];
        fill(3, far + 5, &mut a);
        assert_eq!(a[..], Pattern::shared().stream(3).at(far + 5)[..4096]);
    }
}
