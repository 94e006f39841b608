//! Adversarial in-memory readers and writers, and a reference model of Go's `io.Copy` contract
//! as fdcopy translates it to Rust (contract.md §1–§4, §8), shared by `contract_model.rs` and
//! `contract_cases.rs`.
//!
//! The scripted types are built so that the *outcome* of a copy (bytes, count, error) does not
//! depend on how the engine chunks its reads and writes: a reader error sits at a byte offset
//! (the reader never returns bytes past it), a writer failure sits at a byte offset (the writer
//! never accepts bytes past it). Short reads, short writes and `Interrupted` come from a script
//! indexed by call and only change the chunking. That is what lets [`source_outcome`] and
//! [`plain_sink`] be small pure functions.
#![allow(dead_code)]

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::rc::Rc;

use fdcopy::{AsDescriptor, CopySink, CopySource};

// ------------------------------------------------------------------------------------------
// Scripted reader
// ------------------------------------------------------------------------------------------

/// What one read call does (apart from the error offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RStep {
    /// As many bytes as asked for (and available).
    Full,
    /// At most this many bytes (>= 1).
    Short(usize),
    /// `Err(Interrupted)`: the engine must retry.
    Interrupted,
}

/// What a read call returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ROut {
    Data(usize),
    Interrupted,
    Failed,
}

/// One read call as the reader saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadCall {
    /// Reader position before the call.
    pub pos: usize,
    /// Length of the buffer it was given.
    pub req: usize,
    pub out: ROut,
}

/// A reader over `data` that follows a script of short reads and `Interrupted`, and fails with
/// `fail.1` once its position reaches `fail.0` (it never returns bytes past that offset).
/// While `armed` is false it reads plainly and logs nothing (used to pre-fill a `BufReader`).
#[derive(Clone, Debug)]
pub struct ScriptReader {
    pub data: Vec<u8>,
    pub pos: usize,
    pub fail: Option<(usize, ErrorKind)>,
    pub script: Vec<RStep>,
    pub step: usize,
    pub armed: bool,
    pub log: Vec<ReadCall>,
}

impl ScriptReader {
    pub fn new(data: Vec<u8>, fail: Option<(usize, ErrorKind)>, script: Vec<RStep>) -> Self {
        assert!(
            script.is_empty() || script.iter().any(|s| *s != RStep::Interrupted),
            "a script of only Interrupted never ends"
        );
        ScriptReader {
            data,
            pos: 0,
            fail,
            script,
            step: 0,
            armed: true,
            log: Vec::new(),
        }
    }

    /// A reader that always returns as much as asked.
    pub fn plain(data: &[u8]) -> Self {
        Self::new(data.to_vec(), None, Vec::new())
    }

    fn next_step(&mut self) -> RStep {
        if self.script.is_empty() {
            return RStep::Full;
        }
        let s = self.script[self.step % self.script.len()];
        self.step += 1;
        s
    }

    /// Successful non-empty reads, in order.
    pub fn chunks(&self) -> Vec<usize> {
        self.log
            .iter()
            .filter_map(|c| match c.out {
                ROut::Data(n) if n > 0 => Some(n),
                _ => None,
            })
            .collect()
    }
}

impl Read for ScriptReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.pos;
        let req = buf.len();
        let mut n = req.min(self.data.len() - pos);
        if self.armed {
            match self.next_step() {
                RStep::Interrupted => {
                    self.log.push(ReadCall {
                        pos,
                        req,
                        out: ROut::Interrupted,
                    });
                    return Err(io::Error::new(ErrorKind::Interrupted, "scripted interrupt"));
                }
                RStep::Short(k) => n = n.min(k),
                RStep::Full => {}
            }
            if let Some((at, kind)) = self.fail {
                if pos >= at {
                    self.log.push(ReadCall {
                        pos,
                        req,
                        out: ROut::Failed,
                    });
                    return Err(io::Error::new(kind, "scripted read error"));
                }
                n = n.min(at - pos);
            }
        }
        buf[..n].copy_from_slice(&self.data[pos..pos + n]);
        self.pos += n;
        if self.armed {
            self.log.push(ReadCall {
                pos,
                req,
                out: ROut::Data(n),
            });
        }
        Ok(n)
    }
}

impl AsDescriptor for ScriptReader {}
impl CopySource for ScriptReader {}

// ------------------------------------------------------------------------------------------
// Scripted writer
// ------------------------------------------------------------------------------------------

/// What one write call does (apart from the failure offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WStep {
    Full,
    /// Accept at most this many bytes (>= 1): `Ok(n < len)`, legal in Rust.
    Short(usize),
    Interrupted,
}

/// How the writer fails once it has accepted its quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    /// `Err(kind)`.
    Err(ErrorKind),
    /// `Ok(0)`: the copy must end with `WriteZero`.
    Zero,
    /// `Ok(len + 1)`: an impossible count (Go's `errInvalidWrite`); accepts nothing.
    TooMany,
}

impl Fail {
    /// The error kind fdcopy reports for this failure.
    pub fn kind(self) -> ErrorKind {
        match self {
            Fail::Err(k) => k,
            Fail::Zero => ErrorKind::WriteZero,
            Fail::TooMany => ErrorKind::InvalidData,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WOut {
    Accepted(usize),
    Interrupted,
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteCall {
    pub req: usize,
    pub out: WOut,
}

/// A writer that follows a script of short writes and `Interrupted`, accepts at most `fail.0`
/// bytes in total, and then fails every call as `fail.1` says.
#[derive(Clone, Debug)]
pub struct ScriptWriter {
    pub out: Vec<u8>,
    pub fail: Option<(usize, Fail)>,
    pub script: Vec<WStep>,
    pub step: usize,
    pub armed: bool,
    pub log: Vec<WriteCall>,
    pub flushes: usize,
}

impl ScriptWriter {
    pub fn new(fail: Option<(usize, Fail)>, script: Vec<WStep>) -> Self {
        assert!(
            script.is_empty() || script.iter().any(|s| *s != WStep::Interrupted),
            "a script of only Interrupted never ends"
        );
        ScriptWriter {
            out: Vec::new(),
            fail,
            script,
            step: 0,
            armed: true,
            log: Vec::new(),
            flushes: 0,
        }
    }

    fn next_step(&mut self) -> WStep {
        if self.script.is_empty() {
            return WStep::Full;
        }
        let s = self.script[self.step % self.script.len()];
        self.step += 1;
        s
    }
}

/// A writer that accepts everything (and logs it).
impl Default for ScriptWriter {
    fn default() -> Self {
        Self::new(None, Vec::new())
    }
}

impl Write for ScriptWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let req = buf.len();
        let mut n = req;
        if self.armed {
            match self.next_step() {
                WStep::Interrupted => {
                    self.log.push(WriteCall {
                        req,
                        out: WOut::Interrupted,
                    });
                    return Err(io::Error::new(ErrorKind::Interrupted, "scripted interrupt"));
                }
                WStep::Short(k) => n = n.min(k),
                WStep::Full => {}
            }
            if let Some((at, mode)) = self.fail {
                if self.out.len() >= at {
                    self.log.push(WriteCall { req, out: WOut::Failed });
                    return match mode {
                        Fail::Err(k) => Err(io::Error::new(k, "scripted write error")),
                        Fail::Zero => Ok(0),
                        Fail::TooMany => Ok(req + 1),
                    };
                }
                n = n.min(at - self.out.len());
            }
        }
        self.out.extend_from_slice(&buf[..n]);
        if self.armed {
            self.log.push(WriteCall {
                req,
                out: WOut::Accepted(n),
            });
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        Ok(())
    }
}

impl AsDescriptor for ScriptWriter {}
impl CopySink for ScriptWriter {}

// ------------------------------------------------------------------------------------------
// Small adversaries for the behavioural cases
// ------------------------------------------------------------------------------------------

/// A reader that must never be called.
pub struct PanicReader;

impl Read for PanicReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        panic!("PanicReader::read was called");
    }
}
impl AsDescriptor for PanicReader {}
impl CopySource for PanicReader {}

/// A writer that must never be called.
pub struct PanicWriter;

impl Write for PanicWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        panic!("PanicWriter::write was called");
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl AsDescriptor for PanicWriter {}
impl CopySink for PanicWriter {}

/// A reader that claims `len + extra` bytes on every call (an impossible count).
pub struct LyingReader {
    pub extra: usize,
    pub calls: usize,
}

impl Read for LyingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        buf.fill(b'L');
        Ok(buf.len() + self.extra)
    }
}
impl AsDescriptor for LyingReader {}
impl CopySource for LyingReader {}

/// A shared flag, for fast paths that record they ran.
pub type Flag = Rc<Cell<u32>>;

pub fn flag() -> Flag {
    Rc::new(Cell::new(0))
}

// ------------------------------------------------------------------------------------------
// The reference model
// ------------------------------------------------------------------------------------------

/// One limit layer (`LimitedReader` or `Take`) over the scripted reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub limit: u64,
    /// The layer sits above a pre-filled `BufReader`, so it counts from the first byte the copy
    /// sees (the consumed offset `c`), not from the start of the data.
    pub above_buffer: bool,
}

impl Layer {
    /// The absolute data offset at which this layer stops handing out bytes.
    pub fn end(&self, c: usize) -> u64 {
        let base = if self.above_buffer { c as u64 } else { 0 };
        base.saturating_add(self.limit)
    }
}

/// The source side of a copy.
#[derive(Clone, Debug)]
pub struct Setup {
    pub data_len: usize,
    /// Bytes a `BufReader` pre-read from the scripted reader (0 without one).
    pub prefilled: usize,
    /// Of those, bytes consumed before the copy: the copy starts at this data offset.
    pub consumed: usize,
    /// Outermost first.
    pub layers: Vec<Layer>,
    pub read_fail: Option<(usize, ErrorKind)>,
}

/// What the source hands the copy: `data[start..end]`, then EOF or `read_err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceOutcome {
    pub start: usize,
    pub end: usize,
    pub read_err: Option<ErrorKind>,
}

impl SourceOutcome {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Go's rules for the source: a limit layer at 0 returns EOF without calling what it wraps
/// (so a reader error beyond a limit is never seen); the reader errors at its first call at or
/// past its error offset (after a `BufReader` pre-read, that is the pre-read position).
pub fn source_outcome(s: &Setup) -> SourceOutcome {
    let limit_end = s.layers.iter().map(|l| l.end(s.consumed)).min().unwrap_or(u64::MAX);
    let data_end = s.data_len as u64;
    if let Some((at, kind)) = s.read_fail {
        let at = at.max(s.prefilled) as u64;
        if at < limit_end && at <= data_end {
            return SourceOutcome {
                start: s.consumed,
                end: at as usize,
                read_err: Some(kind),
            };
        }
    }
    SourceOutcome {
        start: s.consumed,
        end: limit_end.min(data_end) as usize,
        read_err: None,
    }
}

/// Result of a copy: the count, or the count and the error kind.
pub type Outcome = Result<u64, (u64, ErrorKind)>;

/// The outcome of a copy from `src` into a writer that accepts at most `x` bytes and then
/// fails (the scripted writer), with `accepted` = the bytes the writer ends up holding:
/// * a write fails before the source ends → `(x, writer's error)`; the read error of the same
///   or a later call is never seen (`TestCopyReadErrWriteErr`);
/// * otherwise the source's end: `Ok(len)` or `(len, read error)`.
pub fn plain_sink(src: &SourceOutcome, write_fail: Option<(usize, Fail)>) -> (Outcome, usize) {
    let s = src.len();
    match write_fail {
        Some((x, mode)) if x < s => (Err((x as u64, mode.kind())), x),
        _ => match src.read_err {
            Some(k) => (Err((s as u64, k)), s),
            None => (Ok(s as u64), s),
        },
    }
}

/// Go's `CopyN` on top of the inner copy through `LimitedReader(src, n)`: exactly `n`, or the
/// short count with `UnexpectedEof`; once `n` bytes are written any error is dropped; `n == 0`
/// copies nothing.
pub fn copy_n_rule(inner: Outcome, n: u64) -> Outcome {
    if n == 0 {
        return Ok(0);
    }
    match inner {
        Ok(w) if w == n => Ok(n),
        Ok(w) => Err((w, ErrorKind::UnexpectedEof)),
        Err((w, _)) if w == n => Ok(n),
        Err(e) => Err(e),
    }
}

/// The remaining limit of each layer, given where the scripted reader ended (`reader_pos`)
/// and how many bytes the `BufReader` still holds: a layer below the buffer has passed on every
/// byte the reader returned; a layer above it every byte the buffer handed up.
pub fn remaining_limits(layers: &[Layer], consumed: usize, reader_pos: usize, buffered: usize) -> Vec<u64> {
    layers
        .iter()
        .map(|l| {
            let passed = if l.above_buffer {
                reader_pos - buffered - consumed
            } else {
                reader_pos
            } as u64;
            assert!(
                passed <= l.limit,
                "a layer passed on {passed} bytes with limit {}",
                l.limit
            );
            l.limit - passed
        })
        .collect()
}

/// The buffer fdcopy's loop uses when the caller gives none: the default size, or the smallest
/// limit when that is smaller (Go's `LimitedReader` rule, extended to every limit layer).
pub fn default_buffer_for(layers: &[Layer]) -> usize {
    layers
        .iter()
        .map(|l| l.limit)
        .min()
        .map_or(fdcopy::Copier::DEFAULT_BUFFER, |m| {
            m.clamp(1, fdcopy::Copier::DEFAULT_BUFFER as u64) as usize
        })
}

/// Go's loop: each successful read of `n` is followed by writes of that chunk only, the first
/// of `n` bytes and each next one of what is left (write_all), `Interrupted` retried with the
/// same bytes; after a failed write nothing more is read or written. Panics on a mismatch.
pub fn check_one_write_per_read(reads: &[ReadCall], writes: &[WriteCall]) {
    let mut w = writes.iter();
    let mut failed = false;
    for (i, r) in reads.iter().enumerate() {
        assert!(!failed, "read #{i} after a failed write: {reads:?}");
        if r.out == ROut::Failed {
            assert_eq!(i + 1, reads.len(), "a read after a read error: {reads:?}");
        }
        let ROut::Data(n) = r.out else { continue };
        let mut pending = n;
        while pending > 0 {
            let call = w
                .next()
                .unwrap_or_else(|| panic!("chunk of read #{i} not written: {writes:?}"));
            assert_eq!(
                call.req, pending,
                "write does not continue the chunk of read #{i}: {writes:?}"
            );
            match call.out {
                WOut::Accepted(a) => pending -= a,
                WOut::Interrupted => {}
                WOut::Failed => {
                    failed = true;
                    break;
                }
            }
        }
    }
    let rest: Vec<_> = w.collect();
    assert!(rest.is_empty(), "writes without a read: {rest:?}");
}
