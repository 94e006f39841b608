//! Behavioural cases of the copy contract, ported from Go's `io` tests and std's `io::copy`
//! tests (contract.md §2–§4, §6, §10, §11): dispatch priority, the fallback rule and its
//! recursion guard, `CopyN`, impossible counts, `CopyBuffer`, the drop-in against std on
//! std's in-memory types, and `CopyError`/`Report`/`Progress`.

mod common;
mod model;

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, BufWriter, Cursor, ErrorKind, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use fdcopy::go::{limit_reader, LimitedReader, NoReadFrom, NoWriteTo, ReadFrom, WriteTo};
use fdcopy::{go, AsDescriptor, Copier, CopyError, CopySink, CopySource, Plain, Progress, Strategy};
use model::*;

// ------------------------------------------------------------------------------------------
// Fast-path types
// ------------------------------------------------------------------------------------------

/// A `CopyError` with a count of our choosing. fdcopy has no public constructor, so a user
/// `ReadFrom` that hits a read error of its own has to go through `write_all`, whose counter
/// is in/out: a writer that fails at once leaves it at `written`.
fn copy_error(written: u64, e: io::Error) -> CopyError {
    struct FailOnce(Option<io::Error>);
    impl Write for FailOnce {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(self.0.take().expect("called once"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut n = written;
    let err = fdcopy::go::write_all_counted(&mut FailOnce(Some(e)), b"!", &mut n).unwrap_err();
    assert_eq!(err.written(), written);
    err
}

/// A source with Go's `WriterTo`: writes all it holds with one `write_all`, or, when it
/// `declines`, falls back with `go::copy(dst, NoWriteTo(self))` as the contract says.
struct FastSrc {
    data: Vec<u8>,
    pos: usize,
    decline: bool,
    write_to_calls: u32,
    reads: u32,
}

impl FastSrc {
    fn new(data: &[u8]) -> Self {
        FastSrc {
            data: data.to_vec(),
            pos: 0,
            decline: false,
            write_to_calls: 0,
            reads: 0,
        }
    }
    fn declining(data: &[u8]) -> Self {
        FastSrc {
            decline: true,
            ..Self::new(data)
        }
    }
}

impl Read for FastSrc {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let n = (&self.data[self.pos..]).read(buf)?;
        self.pos += n;
        Ok(n)
    }
}

impl WriteTo for FastSrc {
    fn write_to(&mut self, dst: &mut dyn CopySink) -> Result<u64, CopyError> {
        self.write_to_calls += 1;
        if self.decline {
            return go::copy(dst, &mut NoWriteTo(self));
        }
        let rest = self.data[self.pos..].to_vec();
        let mut written = 0;
        let r = fdcopy::go::write_all_counted(dst, &rest, &mut written);
        self.pos += written as usize;
        r.map(|()| written)
    }
}

impl AsDescriptor for FastSrc {}

impl CopySource for FastSrc {
    fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
        Some(self)
    }
}

/// A destination with Go's `ReaderFrom` (like `bytes.Buffer`: reads straight into itself in
/// 5-byte gulps), or, when it `declines`, falls back with `go::copy(NoReadFrom(self), src)`.
#[derive(Default)]
struct FastDst {
    out: Vec<u8>,
    decline: bool,
    read_from_calls: u32,
    own_bytes: u64,
    writes: u32,
}

impl FastDst {
    fn declining() -> Self {
        FastDst {
            decline: true,
            ..Default::default()
        }
    }
}

impl Write for FastDst {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ReadFrom for FastDst {
    fn read_from(&mut self, src: &mut dyn CopySource) -> Result<u64, CopyError> {
        self.read_from_calls += 1;
        if self.decline {
            return go::copy(&mut NoReadFrom(self), src);
        }
        let mut buf = [0u8; 5];
        let mut n = 0;
        loop {
            match src.read(&mut buf) {
                Ok(0) => return Ok(n),
                Ok(k) => {
                    self.out.extend_from_slice(&buf[..k]);
                    self.own_bytes += k as u64;
                    n += k as u64;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(copy_error(n, e)),
            }
        }
    }
}

impl AsDescriptor for FastDst {}

impl CopySink for FastDst {
    fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
        Some(self)
    }
}

/// How a [`Duplex`]'s fast paths fall back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manners {
    /// The contract: re-enter `go::copy` with the fast path stripped.
    Polite,
    /// Malicious: re-enter `go::copy` with itself, not stripped.
    SelfRecursive,
}

/// A type with both fast paths (like Go's `*os.File` or `*net.TCPConn`), neither of which can
/// ever do the work itself.
struct Duplex {
    data: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
    manners: Manners,
    write_to_calls: u32,
    read_from_calls: u32,
}

impl Duplex {
    fn new(data: &[u8], manners: Manners) -> Self {
        Duplex {
            data: data.to_vec(),
            pos: 0,
            out: Vec::new(),
            manners,
            write_to_calls: 0,
            read_from_calls: 0,
        }
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&self.data[self.pos..]).read(buf)?;
        self.pos += n;
        Ok(n)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteTo for Duplex {
    fn write_to(&mut self, dst: &mut dyn CopySink) -> Result<u64, CopyError> {
        self.write_to_calls += 1;
        match self.manners {
            Manners::Polite => go::copy(dst, &mut NoWriteTo(self)),
            Manners::SelfRecursive => go::copy(dst, self),
        }
    }
}

impl ReadFrom for Duplex {
    fn read_from(&mut self, src: &mut dyn CopySource) -> Result<u64, CopyError> {
        self.read_from_calls += 1;
        match self.manners {
            Manners::Polite => go::copy(&mut NoReadFrom(self), src),
            Manners::SelfRecursive => go::copy(self, src),
        }
    }
}

impl AsDescriptor for Duplex {}

impl CopySource for Duplex {
    fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
        Some(self)
    }
}

impl CopySink for Duplex {
    fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
        Some(self)
    }
}

/// A writer that claims `len + 1` bytes (Go's `largeWriter`), or fails with `err`.
struct LargeWriter {
    err: Option<&'static str>,
    calls: u32,
}

impl Write for LargeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        match self.err {
            Some(msg) => Err(io::Error::other(msg)),
            None => Ok(buf.len() + 1),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsDescriptor for LargeWriter {}
impl CopySink for LargeWriter {}

fn large_writer() -> LargeWriter {
    LargeWriter { err: None, calls: 0 }
}

// ------------------------------------------------------------------------------------------
// Dispatch order (contract.md §2)
// ------------------------------------------------------------------------------------------

/// Go `TestCopyPriority`: both fast paths present, the source's `WriteTo` runs.
#[test]
fn copy_priority_source_write_to_wins() {
    let mut src = FastSrc::new(b"hello, world.");
    let mut dst = FastDst::default();
    let report = Copier::new().go_copy(&mut dst, &mut src).unwrap();
    assert_eq!(dst.out, b"hello, world.");
    assert_eq!(report.written(), 13);
    assert_eq!(report.strategy(), Strategy::WriteTo, "{report:?}");
    assert_eq!(report.bytes_by(Strategy::WriteTo), 13);
    assert_eq!(src.write_to_calls, 1);
    assert_eq!(src.reads, 0, "WriteTo did the work, nothing read through Read");
    assert_eq!(
        dst.read_from_calls, 0,
        "ReadFrom must not run when the source has WriteTo"
    );
    assert_eq!(dst.writes, 1, "one write_all");
}

/// The same through `go::copy` and `copy_buffer` (whose buffer a fast path ignores).
#[test]
fn write_to_preferred_over_read_from_in_every_entry_point() {
    let mut src = FastSrc::new(b"abcdef");
    let mut dst = FastDst::default();
    assert_eq!(go::copy(&mut dst, &mut src).unwrap(), 6);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (1, 0));
    assert_eq!(dst.out, b"abcdef");

    let mut src = FastSrc::new(b"abcdef");
    let mut dst = FastDst::default();
    let mut buf = [0u8; 1];
    assert_eq!(go::copy_buffer(&mut dst, &mut src, &mut buf).unwrap(), 6);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (1, 0));
    assert_eq!(dst.writes, 1, "the 1-byte buffer was not used");
    assert_eq!(dst.out, b"abcdef");
}

/// Without a source `WriteTo`, the destination's `ReadFrom` runs.
#[test]
fn read_from_used_when_source_has_no_write_to() {
    let mut src = ScriptReader::new(
        b"read from me".to_vec(),
        None,
        vec![RStep::Short(3), RStep::Interrupted],
    );
    let mut dst = FastDst::default();
    let report = Copier::new().go_copy(&mut dst, &mut src).unwrap();
    assert_eq!(dst.out, b"read from me");
    assert_eq!(report.written(), 12);
    assert_eq!(report.strategy(), Strategy::ReadFrom, "{report:?}");
    assert_eq!(dst.read_from_calls, 1);
    assert_eq!(dst.own_bytes, 12, "ReadFrom moved the bytes itself");
    assert_eq!(dst.writes, 0);
}

/// A hidden `WriteTo` (`NoWriteTo`) lets the destination's `ReadFrom` run; a hidden
/// `ReadFrom` with no `WriteTo` leaves the loop.
#[test]
fn wrappers_hide_exactly_one_fast_path() {
    let mut src = FastSrc::new(b"xyz");
    let mut dst = FastDst::default();
    let report = Copier::new().go_copy(&mut dst, &mut NoWriteTo(&mut src)).unwrap();
    assert_eq!(report.strategy(), Strategy::ReadFrom);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (0, 1));
    assert_eq!(dst.out, b"xyz");

    let mut src = FastSrc::new(b"xyz");
    let mut dst = FastDst::default();
    let report = Copier::new()
        .go_copy(&mut NoReadFrom(&mut dst), &mut NoWriteTo(&mut src))
        .unwrap();
    assert_eq!(report.strategy(), Strategy::Buffered);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (0, 0));
    assert_eq!(dst.out, b"xyz");

    // NoReadFrom on the source side keeps its WriteTo.
    let mut src = FastSrc::new(b"xyz");
    let mut dst = FastDst::default();
    let report = Copier::new().go_copy(&mut dst, &mut NoReadFrom(&mut src)).unwrap();
    assert_eq!(report.strategy(), Strategy::WriteTo);
    assert_eq!(dst.out, b"xyz");
}

/// `Copier::deny` turns a fast path off like a wrapper would.
#[test]
fn denied_fast_paths_are_skipped() {
    let mut src = FastSrc::new(b"denied");
    let mut dst = FastDst::default();
    let report = Copier::new()
        .deny(Strategy::WriteTo)
        .go_copy(&mut dst, &mut src)
        .unwrap();
    assert_eq!(report.strategy(), Strategy::ReadFrom);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (0, 1));
    assert_eq!(dst.out, b"denied");

    let mut src = FastSrc::new(b"denied");
    let mut dst = FastDst::default();
    let report = Copier::new()
        .deny(Strategy::WriteTo)
        .deny(Strategy::ReadFrom)
        .go_copy(&mut dst, &mut src)
        .unwrap();
    assert_eq!(report.strategy(), Strategy::Buffered);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (0, 0));
    assert_eq!(dst.out, b"denied");
}

/// The drop-in only recognises std types: a user type's `WriteTo` is invisible behind
/// `Read` (std's invisibility rule), and the bytes are the same.
#[test]
fn drop_in_does_not_see_user_fast_paths() {
    let mut src = FastSrc::new(b"std order");
    let mut dst = FastDst::default();
    assert_eq!(fdcopy::copy(&mut src, &mut dst).unwrap(), 9);
    assert_eq!(dst.out, b"std order");
    assert_eq!((src.write_to_calls, dst.read_from_calls), (0, 0));
}

// ------------------------------------------------------------------------------------------
// The buffered loop's outcomes (contract.md §1, §3)
// ------------------------------------------------------------------------------------------

/// Go `TestCopyReadErrWriteErr`: `(1, readErr)` then `(0, writeErr)` → `(0, writeErr)`. In
/// Rust the byte and the read error come from two calls; the write error still wins and the
/// read error is never even reached.
#[test]
fn copy_read_err_write_err() {
    let mut src = ScriptReader::new(b"x".to_vec(), Some((1, ErrorKind::ConnectionReset)), vec![]);
    let mut dst = ScriptWriter::new(Some((0, Fail::Err(ErrorKind::BrokenPipe))), vec![]);
    let err = go::copy(&mut dst, &mut src).unwrap_err();
    assert_eq!(err.written(), 0);
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    assert_eq!(src.log.len(), 1, "no read after the failed write: {:?}", src.log);
    assert!(dst.out.is_empty());

    // With a writer that works, the read error is returned with the count.
    let mut src = ScriptReader::new(b"x".to_vec(), Some((1, ErrorKind::ConnectionReset)), vec![]);
    let mut dst = ScriptWriter::default();
    let err = go::copy(&mut dst, &mut src).unwrap_err();
    assert_eq!((err.written(), err.kind()), (1, ErrorKind::ConnectionReset));
    assert_eq!(dst.out, b"x");
}

/// Go `TestCopyLargeWriter` (#39978): a writer that reports `len + 1` gives an error, never a
/// panic, on every path of the loop; a writer with an error gives that error.
#[test]
fn copy_large_writer() {
    let data = b"hello, world.";
    let check = |r: Result<u64, CopyError>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::InvalidData, "{what}: {e}");
        assert_eq!(e.written(), 0, "{what}: the impossible chunk is not counted");
    };
    // Writing out of the source's own buffer (`&[u8]` is BufRead).
    let mut w = large_writer();
    check(go::copy(&mut w, &mut &data[..]), "BufRead source");
    assert_eq!(w.calls, 1);
    // Through the engine's buffer.
    check(go::copy(&mut large_writer(), &mut Plain(&data[..])), "Plain source");
    check(
        go::copy(&mut large_writer(), &mut limit_reader(&data[..], 5)),
        "limited source",
    );
    check(
        go::copy_buffer(&mut large_writer(), &mut Plain(&data[..]), &mut [0u8; 4]),
        "copy_buffer",
    );
    check(
        go::copy_n(&mut large_writer(), &mut Plain(&data[..]), 3),
        "copy_n (below the data)",
    );
    check(
        Copier::new()
            .go_copy(&mut Plain(large_writer()), &mut Plain(&data[..]))
            .map(|r| r.written()),
        "Copier",
    );
    // The WriteTo helper for user fast paths.
    let mut written = 0;
    let e = fdcopy::go::write_all_counted(&mut large_writer(), data, &mut written).unwrap_err();
    assert_eq!((e.kind(), e.written(), written), (ErrorKind::InvalidData, 0, 0));
    // The drop-in (std's own `io::copy` panics here).
    let e = fdcopy::copy(&mut &data[..], &mut large_writer()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);

    // With an error: that error (Rust cannot return both; the error wins).
    let mut w = LargeWriter {
        err: Some("largeWriterError"),
        calls: 0,
    };
    let e = go::copy(&mut w, &mut &data[..]).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::Other, 0));
    assert_eq!(e.error().to_string(), "largeWriterError");
}

/// An impossible count after some bytes were accepted: the count keeps what was accepted
/// before and leaves out the impossible chunk.
#[test]
fn large_writer_after_progress_keeps_the_count() {
    let mut dst = ScriptWriter::new(Some((4, Fail::TooMany)), vec![WStep::Short(3)]);
    let e = go::copy(&mut dst, &mut Plain(&b"0123456789"[..])).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::InvalidData, 4));
    assert_eq!(dst.out, b"0123");
}

/// `Ok(0)` from a writer is `WriteZero` with the count (std's `write_all`).
#[test]
fn write_zero_keeps_the_count() {
    let mut dst = ScriptWriter::new(Some((6, Fail::Zero)), vec![WStep::Short(4)]);
    let e = go::copy(&mut dst, &mut &b"0123456789"[..]).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::WriteZero, 6));
    assert_eq!(dst.out, b"012345");
}

/// `Interrupted` is retried on both sides, short writes are completed.
#[test]
fn interrupted_and_short_writes_are_finished() {
    let data: Vec<u8> = (0..=255).collect();
    let mut src = ScriptReader::new(
        data.clone(),
        None,
        vec![RStep::Interrupted, RStep::Short(7), RStep::Interrupted, RStep::Full],
    );
    let mut dst = ScriptWriter::new(None, vec![WStep::Short(2), WStep::Interrupted, WStep::Short(5)]);
    assert_eq!(go::copy_buffer(&mut dst, &mut src, &mut [0u8; 10]).unwrap(), 256);
    assert_eq!(dst.out, data);
    check_one_write_per_read(&src.log, &dst.log);
}

/// A reader that reports more bytes than its buffer holds gets an error, never a panic
/// (contract.md §1 FDC).
#[test]
fn lying_reader_is_an_error_through_the_engine_buffer() {
    let mut src = LyingReader { extra: 1, calls: 0 };
    let mut dst = ScriptWriter::default();
    let e = go::copy(&mut dst, &mut src).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::InvalidData, 0));
    assert!(dst.out.is_empty());

    let mut src = limit_reader(LyingReader { extra: 3, calls: 0 }, 10);
    let e = go::copy(&mut ScriptWriter::default(), &mut src).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::InvalidData, 0));
    assert_eq!(src.remaining, 10, "the impossible read is not taken from the limit");

    let e = go::copy_buffer(&mut ScriptWriter::default(), &mut src, &mut [0u8; 3]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
}

/// The same reader into a `Vec<u8>` (fdcopy reads straight into the vector's spare capacity
/// there, with std's `read_to_end`).
#[test]
fn lying_reader_is_an_error_into_a_vec() {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut v = Vec::new();
        go::copy(&mut v, &mut LyingReader { extra: 1, calls: 0 }).map(|_| ())
    }));
    let e = r.expect("go::copy into a Vec panicked on a lying reader").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut v = Vec::new();
        fdcopy::copy(&mut LyingReader { extra: 1, calls: 0 }, &mut v).map(|_| ())
    }));
    let e = r
        .expect("the drop-in into a Vec panicked on a lying reader")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
}

// ------------------------------------------------------------------------------------------
// CopyN, LimitedReader, CopyBuffer (contract.md §4)
// ------------------------------------------------------------------------------------------

/// Go `TestCopyNEOF`: n=3 → (3, nil), n=4 → (3, EOF), with and without a destination
/// `ReadFrom`. Rust's EOF error is `UnexpectedEof` carrying the count.
#[test]
fn copy_n_eof() {
    // Without ReadFrom.
    let mut b = NoReadFrom(FastDst::default());
    assert_eq!(go::copy_n(&mut b, &mut &b"foo"[..], 3).unwrap(), 3);
    let e = go::copy_n(&mut b, &mut &b"foo"[..], 4).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::UnexpectedEof, 3));
    assert_eq!(b.0.out, b"foofoo");
    assert_eq!(b.0.read_from_calls, 0);

    // With ReadFrom (it receives the LimitedReader).
    let mut b = FastDst::default();
    assert_eq!(go::copy_n(&mut b, &mut &b"foo"[..], 3).unwrap(), 3);
    let e = go::copy_n(&mut b, &mut &b"foo"[..], 4).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::UnexpectedEof, 3));
    assert_eq!(b.out, b"foofoo");
    assert_eq!(b.read_from_calls, 2);
    assert_eq!(b.own_bytes, 6);
}

/// Go `TestCopyNEOF`'s `wantedAndErrReader`: once n bytes are written, any error is dropped.
/// Rust cannot return bytes and an error from one call, so: a reader whose error sits right
/// after n bytes is never asked past them, and a `ReadFrom` that returns an error with
/// exactly n written gives `Ok(n)`.
#[test]
fn copy_n_drops_errors_after_n_bytes() {
    for dst_has_read_from in [false, true] {
        let mut src = ScriptReader::new(b"01234".to_vec(), Some((5, ErrorKind::Other)), vec![]);
        let mut dst = FastDst::default();
        let n = if dst_has_read_from {
            go::copy_n(&mut dst, &mut src, 5).unwrap()
        } else {
            go::copy_n(&mut NoReadFrom(&mut dst), &mut src, 5).unwrap()
        };
        assert_eq!(n, 5);
        assert_eq!(dst.out, b"01234");
        assert!(src.log.iter().all(|c| c.out != ROut::Failed), "{:?}", src.log);
    }

    /// Reads everything, then reports an error with the full count.
    struct ErrAfterAll(Vec<u8>);
    impl Write for ErrAfterAll {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl ReadFrom for ErrAfterAll {
        fn read_from(&mut self, src: &mut dyn CopySource) -> Result<u64, CopyError> {
            let n = go::copy(&mut NoReadFrom(&mut *self), src)?;
            Err(copy_error(n, io::Error::other("closing failed")))
        }
    }
    impl AsDescriptor for ErrAfterAll {}
    impl CopySink for ErrAfterAll {
        fn as_read_from(&mut self) -> Option<&mut dyn ReadFrom> {
            Some(self)
        }
    }
    let mut dst = ErrAfterAll(Vec::new());
    assert_eq!(go::copy_n(&mut dst, &mut &b"0123456789"[..], 5).unwrap(), 5);
    assert_eq!(dst.0, b"01234");
    // Short of n, the error stays.
    let mut dst = ErrAfterAll(Vec::new());
    let e = go::copy_n(&mut dst, &mut &b"012"[..], 5).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::Other, 3));
}

/// An endless reader: `copy_n` asks it for exactly n bytes in total.
#[test]
fn copy_n_never_reads_past_n() {
    let mut src = Plain(io::repeat(b'r'));
    let mut dst = Vec::new();
    assert_eq!(go::copy_n(&mut dst, &mut src, 100_000).unwrap(), 100_000);
    assert_eq!(dst, vec![b'r'; 100_000]);

    let mut src = ScriptReader::new(vec![7; 50], None, vec![RStep::Short(7)]);
    let mut dst = ScriptWriter::default();
    assert_eq!(go::copy_n(&mut dst, &mut src, 20).unwrap(), 20);
    assert_eq!(src.pos, 20);
    assert_eq!(
        src.log.iter().map(|c| c.req).sum::<usize>(),
        20 + 13 + 6,
        "{:?}",
        src.log
    );
}

/// `CopyN` wraps the source in a `LimitedReader`, which has no `WriteTo`: the source's fast
/// path never runs, the destination's still can.
#[test]
fn copy_n_never_uses_the_source_write_to() {
    let mut src = FastSrc::new(b"abcdef");
    let mut dst = Vec::new();
    assert_eq!(go::copy_n(&mut dst, &mut src, 4).unwrap(), 4);
    assert_eq!(dst, b"abcd");
    assert_eq!((src.write_to_calls, src.pos), (0, 4));

    let mut src = FastSrc::new(b"abcdef");
    let mut dst = FastDst::default();
    assert_eq!(go::copy_n(&mut dst, &mut src, 4).unwrap(), 4);
    assert_eq!((src.write_to_calls, dst.read_from_calls), (0, 1));
    assert_eq!(dst.out, b"abcd");

    // The same for `Take` and an explicit `LimitedReader`.
    let mut src = FastSrc::new(b"abcdef");
    let mut dst = FastDst::default();
    assert_eq!(go::copy(&mut dst, &mut (&mut src).take(2)).unwrap(), 2);
    assert_eq!(go::copy(&mut dst, &mut limit_reader(&mut src, 3)).unwrap(), 3);
    assert_eq!(src.write_to_calls, 0);
    assert_eq!(dst.out, b"abcde");
}

/// Go `TestCopyNegative`: a zero limit (Go: negative) copies nothing, without an error, and
/// never calls the source or the destination.
#[test]
fn copy_negative_touches_nothing() {
    let mut lr = LimitedReader {
        inner: PanicReader,
        remaining: 0,
    };
    assert_eq!(go::copy(&mut PanicWriter, &mut lr).unwrap(), 0);
    assert_eq!(go::copy_n(&mut PanicWriter, &mut PanicReader, 0).unwrap(), 0);
    assert_eq!(go::copy(&mut PanicWriter, &mut PanicReader.take(0)).unwrap(), 0);
    assert_eq!(go::copy_buffer(&mut PanicWriter, &mut lr, &mut [0u8; 8]).unwrap(), 0);
    assert_eq!(fdcopy::copy(&mut PanicReader.take(0), &mut PanicWriter).unwrap(), 0);
    // A ReadFrom destination is still asked, and sees end of file at once.
    let mut dst = FastDst::default();
    assert_eq!(go::copy(&mut dst, &mut lr).unwrap(), 0);
    assert_eq!(go::copy_n(&mut dst, &mut PanicReader, 0).unwrap(), 0);
    assert!(dst.out.is_empty());
    // Nested limits where only the inner one is zero.
    let mut nested = limit_reader(PanicReader.take(0), 100);
    assert_eq!(go::copy(&mut PanicWriter, &mut nested).unwrap(), 0);
    assert_eq!(nested.remaining, 100);
    let report = Copier::new().go_copy(&mut PanicWriter, &mut lr).unwrap();
    assert_eq!((report.written(), report.strategy()), (0, Strategy::Buffered));
}

/// A reader that returns one byte, then end of file, forever after.
struct ByteThenEof(Option<u8>);

impl Read for ByteThenEof {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(b) if !buf.is_empty() => {
                buf[0] = b;
                Ok(1)
            }
            Some(b) => {
                self.0 = Some(b);
                Ok(0)
            }
            None => Ok(0),
        }
    }
}

/// Go `TestMultiReaderSingleByteWithEOF` (#16795): a limit of 10 over a chain of readers
/// that each return one byte then end of file gives "ab" and terminates.
#[test]
fn multi_reader_single_byte_with_eof() {
    let chain = || ByteThenEof(Some(b'a')).chain(ByteThenEof(Some(b'b')));
    let mut out = Vec::new();
    let mut src = limit_reader(Plain(chain()), 10);
    assert_eq!(go::copy(&mut out, &mut src).unwrap(), 2);
    assert_eq!(out, b"ab");
    assert_eq!(src.remaining, 8);

    let mut out = ScriptWriter::default();
    assert_eq!(go::copy(&mut out, &mut Plain(chain()).take(10)).unwrap(), 2);
    assert_eq!(out.out, b"ab");
    let e = go::copy_n(&mut out, &mut Plain(chain()), 10).unwrap_err();
    assert_eq!((e.kind(), e.written()), (ErrorKind::UnexpectedEof, 2));
    let mut out = Vec::new();
    assert_eq!(fdcopy::copy(&mut chain().take(10), &mut out).unwrap(), 2);
    assert_eq!(out, b"ab");
}

/// Go: `CopyBuffer(w, LimitReader(r, 50), buf[7])` writes 7,7,7,7,7,7,7,1.
#[test]
fn copy_buffer_uses_the_buffer_at_its_length() {
    let data: Vec<u8> = (0..100).collect();
    let mut src = limit_reader(ScriptReader::plain(&data), 50);
    let mut dst = ScriptWriter::default();
    assert_eq!(go::copy_buffer(&mut dst, &mut src, &mut [0u8; 7]).unwrap(), 50);
    let sizes: Vec<usize> = dst.log.iter().map(|c| c.req).collect();
    assert_eq!(sizes, [7, 7, 7, 7, 7, 7, 7, 1]);
    assert_eq!(dst.out, data[..50]);
    assert_eq!(src.remaining, 0);
    assert_eq!(src.inner.pos, 50);

    // Even with a source that has its own buffer (BufRead) and a Vec destination.
    let mut dst = Vec::new();
    let mut src = BufReader::with_capacity(64, &data[..]);
    assert_eq!(go::copy_buffer(&mut dst, &mut src, &mut [0u8; 7]).unwrap(), 100);
    assert_eq!(dst, data);
}

/// Go: no caller buffer and a `LimitedReader` of N below the default size: one read of N.
#[test]
fn limited_reader_gets_a_buffer_of_n() {
    let data = vec![9u8; 1000];
    let mut src = limit_reader(ScriptReader::plain(&data), 100);
    let mut dst = ScriptWriter::default();
    assert_eq!(go::copy(&mut dst, &mut src).unwrap(), 100);
    assert_eq!(src.inner.log[0].req, 100);
    assert_eq!(dst.log.iter().map(|c| c.req).collect::<Vec<_>>(), [100]);
}

/// Go `CopyBuffer` with a non-nil empty buffer panics, before anything else.
#[test]
#[should_panic(expected = "empty buffer in copy_buffer")]
fn copy_buffer_empty_buffer_panics() {
    let _ = go::copy_buffer(&mut Vec::new(), &mut Plain(&b"abc"[..]), &mut []);
}

/// ... even when the buffer would not be used (a source `WriteTo`).
#[test]
#[should_panic(expected = "empty buffer in copy_buffer")]
fn copy_buffer_empty_buffer_panics_before_the_fast_path() {
    let _ = go::copy_buffer(&mut FastDst::default(), &mut FastSrc::new(b"abc"), &mut []);
}

/// `Copier::buffer` has the same rule.
#[test]
#[should_panic(expected = "empty buffer in copy_buffer")]
fn copier_empty_buffer_panics() {
    let mut empty: [u8; 0] = [];
    let _ = Copier::new().buffer(&mut empty);
}

// ------------------------------------------------------------------------------------------
// The fallback rule and its recursion guard (contract.md §6)
// ------------------------------------------------------------------------------------------

/// A `WriteTo` that cannot take its fast path re-enters with `NoWriteTo(self)`: the
/// destination's `ReadFrom` then runs.
#[test]
fn write_to_fallback_lets_read_from_run() {
    let mut src = FastSrc::declining(b"fallback bytes");
    let mut dst = FastDst::default();
    let report = Copier::new().go_copy(&mut dst, &mut src).unwrap();
    assert_eq!(dst.out, b"fallback bytes");
    assert_eq!(report.written(), 14);
    assert_eq!(
        report.strategy(),
        Strategy::WriteTo,
        "the outer fast path reports: {report:?}"
    );
    assert_eq!((src.write_to_calls, dst.read_from_calls), (1, 1));
    assert_eq!(dst.own_bytes, 14, "the destination's ReadFrom moved the bytes");
}

/// A `ReadFrom` that cannot take its fast path re-enters with `NoReadFrom(self)`: the loop.
#[test]
fn read_from_fallback_ends_in_the_loop() {
    let mut src = ScriptReader::new(b"loop bytes".to_vec(), None, vec![RStep::Short(3)]);
    let mut dst = FastDst::declining();
    let report = Copier::new().go_copy(&mut dst, &mut src).unwrap();
    assert_eq!(dst.out, b"loop bytes");
    assert_eq!(report.strategy(), Strategy::ReadFrom);
    assert_eq!(dst.read_from_calls, 1);
    assert_eq!(dst.own_bytes, 0);
    assert_eq!(dst.writes, 4, "one write per read: {:?}", src.chunks());

    // Both decline: WriteTo → ReadFrom (source still stripped) → loop, each once.
    let mut src = FastSrc::declining(b"both decline");
    let mut dst = FastDst::declining();
    assert_eq!(go::copy(&mut dst, &mut src).unwrap(), 12);
    assert_eq!(dst.out, b"both decline");
    assert_eq!((src.write_to_calls, dst.read_from_calls), (1, 1));
}

/// Runs `Duplex → Duplex` through every wrapper combination; each must end with the right
/// bytes and count, and (for the polite fallbacks) try each fast path at most once.
fn all_wrapper_combinations(src_manners: Manners, dst_manners: Manners) {
    let data: Vec<u8> = (0..200u8).collect();
    for si in 0..7 {
        for di in 0..7 {
            let mut s = Duplex::new(&data, src_manners);
            let mut d = Duplex::new(&[], dst_manners);
            let r = {
                let mut src: Box<dyn CopySource + '_> = match si {
                    0 => Box::new(&mut s),
                    1 => Box::new(NoWriteTo(&mut s)),
                    2 => Box::new(NoReadFrom(&mut s)),
                    3 => Box::new(NoWriteTo(NoReadFrom(&mut s))),
                    4 => Box::new(NoReadFrom(NoWriteTo(&mut s))),
                    5 => Box::new(NoReadFrom(NoReadFrom(NoWriteTo(NoWriteTo(&mut s))))),
                    _ => Box::new(NoWriteTo(NoReadFrom(NoWriteTo(NoReadFrom(NoWriteTo(&mut s)))))),
                };
                let mut dst: Box<dyn CopySink + '_> = match di {
                    0 => Box::new(&mut d),
                    1 => Box::new(NoReadFrom(&mut d)),
                    2 => Box::new(NoWriteTo(&mut d)),
                    3 => Box::new(NoReadFrom(NoWriteTo(&mut d))),
                    4 => Box::new(NoWriteTo(NoReadFrom(&mut d))),
                    5 => Box::new(NoWriteTo(NoWriteTo(NoReadFrom(NoReadFrom(&mut d))))),
                    _ => Box::new(NoReadFrom(NoWriteTo(NoReadFrom(NoWriteTo(NoReadFrom(&mut d)))))),
                };
                Copier::new().go_copy(&mut dst, &mut src)
            };
            let what = format!("src #{si} ({src_manners:?}) → dst #{di} ({dst_manners:?})");
            let report = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(report.written(), 200, "{what}");
            assert_eq!(d.out, data, "{what}");
            assert_eq!(s.pos, 200, "{what}");
            assert!(s.out.is_empty() && d.pos == 0, "{what}: roles mixed up");
            let src_visible = matches!(si, 0 | 2);
            let dst_visible = matches!(di, 0 | 2);
            if src_manners == Manners::Polite {
                assert_eq!(s.write_to_calls, src_visible as u32, "{what}");
            } else {
                assert!(
                    s.write_to_calls <= 16,
                    "{what}: {} nested WriteTo calls",
                    s.write_to_calls
                );
            }
            if dst_manners == Manners::Polite && src_manners == Manners::Polite {
                assert_eq!(d.read_from_calls, dst_visible as u32, "{what}");
            } else {
                assert!(
                    d.read_from_calls <= 16,
                    "{what}: {} nested ReadFrom calls",
                    d.read_from_calls
                );
            }
            let want = match (src_visible, dst_visible) {
                (true, _) => Strategy::WriteTo,
                (false, true) => Strategy::ReadFrom,
                (false, false) => Strategy::Buffered,
            };
            assert_eq!(report.strategy(), want, "{what}: {report:?}");
        }
    }
}

/// No combination of `NoWriteTo`/`NoReadFrom` (nested any way, any depth) recurses forever.
#[test]
fn no_wrapper_combination_recurses() {
    all_wrapper_combinations(Manners::Polite, Manners::Polite);
}

/// A malicious `WriteTo` that calls `go::copy(dst, self)` on itself (not stripped), and a
/// `ReadFrom` that does the same: the engine's depth guard ends the recursion in the loop,
/// with the right bytes.
#[test]
fn self_recursive_fast_paths_terminate() {
    all_wrapper_combinations(Manners::SelfRecursive, Manners::Polite);
    all_wrapper_combinations(Manners::Polite, Manners::SelfRecursive);
    all_wrapper_combinations(Manners::SelfRecursive, Manners::SelfRecursive);

    let mut s = Duplex::new(b"recursion", Manners::SelfRecursive);
    let mut d = Vec::new();
    assert_eq!(go::copy(&mut d, &mut s).unwrap(), 9);
    assert_eq!(d, b"recursion");
    assert!(s.write_to_calls > 1, "the malicious WriteTo did recurse");
    // The guard is per copy: a fresh fast path right after still runs.
    let mut src = FastSrc::new(b"fresh");
    let report = Copier::new().go_copy(&mut Vec::new(), &mut src).unwrap();
    assert_eq!(report.strategy(), Strategy::WriteTo);
    assert_eq!(src.write_to_calls, 1);
}

/// A fast path that panics must not leave the depth guard raised for the thread.
#[test]
fn panicking_fast_path_does_not_disable_later_fast_paths() {
    struct Boom;
    impl Read for Boom {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }
    impl WriteTo for Boom {
        fn write_to(&mut self, _: &mut dyn CopySink) -> Result<u64, CopyError> {
            panic!("boom in write_to");
        }
    }
    impl AsDescriptor for Boom {}
    impl CopySource for Boom {
        fn as_write_to(&mut self) -> Option<&mut dyn WriteTo> {
            Some(self)
        }
    }
    for _ in 0..20 {
        let r = catch_unwind(AssertUnwindSafe(|| go::copy(&mut Vec::new(), &mut Boom)));
        assert!(r.is_err());
    }
    let mut src = FastSrc::new(b"still fast");
    let report = Copier::new().go_copy(&mut Vec::new(), &mut src).unwrap();
    assert_eq!(report.strategy(), Strategy::WriteTo);
    assert_eq!(src.write_to_calls, 1);
}

// ------------------------------------------------------------------------------------------
// The drop-in on std's in-memory types, against std::io::copy
// ------------------------------------------------------------------------------------------

/// Runs `fdcopy::copy` and `std::io::copy` on two fresh copies of the same pair, and compares
/// the result (count, or error kind) and what `observe` sees of both sides afterwards.
fn same_as_std<R, W, O>(make: impl Fn() -> (R, W), observe: impl Fn(R, W) -> O)
where
    R: Read,
    W: Write,
    O: PartialEq + std::fmt::Debug,
{
    let (mut r1, mut w1) = make();
    let ours = fdcopy::copy(&mut r1, &mut w1);
    let (mut r2, mut w2) = make();
    let theirs = io::copy(&mut r2, &mut w2);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
        _ => panic!("fdcopy {ours:?} vs std {theirs:?}"),
    }
    assert_eq!(observe(r1, w1), observe(r2, w2));
}

#[test]
fn drop_in_matches_std_on_in_memory_types() {
    const DATA: &[u8] = b"The quick brown fox jumps over the lazy dog";

    // &[u8] → Vec<u8> with bytes already in it.
    same_as_std(|| (DATA, b"old:".to_vec()), |r, w| (r.to_vec(), w));
    // &mut &[u8] → &mut Vec<u8>.
    let mut v = Vec::new();
    let mut s = DATA;
    assert_eq!(fdcopy::copy(&mut &mut s, &mut &mut v).unwrap(), DATA.len() as u64);
    assert_eq!((v.as_slice(), s), (DATA, &b""[..]));
    // Cursor (mid-way) → Cursor (mid-way: overwrites, then extends).
    same_as_std(
        || {
            let mut r = Cursor::new(DATA.to_vec());
            r.set_position(4);
            let mut w = Cursor::new(b"0123456789".to_vec());
            w.set_position(2);
            (r, w)
        },
        |r, w| (r.position(), w.position(), w.into_inner()),
    );
    // Cursor past the end.
    same_as_std(
        || {
            let mut r = Cursor::new(DATA.to_vec());
            r.set_position(1000);
            (r, Vec::new())
        },
        |r, w| (r.position(), w),
    );
    // VecDeque → VecDeque.
    same_as_std(
        || {
            let mut r: VecDeque<u8> = DATA.iter().copied().collect();
            r.rotate_left(5);
            (r, VecDeque::from(b"x".to_vec()))
        },
        |r, w| (r, w),
    );
    // Empty → Sink, Repeat.take → Vec, Repeat.take(0).
    same_as_std(|| (io::empty(), io::sink()), |_, _| ());
    same_as_std(|| (io::repeat(7).take(100_000), Vec::new()), |r, w| (r.limit(), w));
    same_as_std(|| (io::repeat(7).take(0), Vec::new()), |r, w| (r.limit(), w));
    // Take<&[u8]> → Cursor<&mut [u8]> that is too small: WriteZero in both.
    same_as_std(
        || ((DATA).take(30), Cursor::new(vec![0u8; 10].into_boxed_slice())),
        |r, w| (r.limit(), r.into_inner().to_vec(), w.position(), w.into_inner()),
    );
    // &mut [u8] too small → WriteZero; big enough → Ok.
    for len in [5usize, 43, 60] {
        let mut a = vec![0u8; len];
        let mut b = vec![0u8; len];
        let (mut r1, mut r2) = (DATA, DATA);
        let ours = fdcopy::copy(&mut r1, &mut &mut a[..]);
        let theirs = io::copy(&mut r2, &mut &mut b[..]);
        assert_eq!(
            ours.as_ref().map_err(|e| e.kind()),
            theirs.as_ref().map_err(|e| e.kind())
        );
        assert_eq!(a, b);
        if ours.is_ok() {
            assert_eq!(r1, r2);
        } else {
            // std's `&[u8]` specialization does one `write_all` and leaves the slice untouched
            // on error; fdcopy's loop consumes exactly what the destination accepted.
            assert_eq!(r1, &DATA[len..]);
            assert_eq!(r2, DATA);
        }
    }
    // BufReader (pre-filled, partly consumed) → BufWriter (pre-written).
    same_as_std(
        || {
            let mut r = BufReader::with_capacity(16, DATA);
            r.fill_buf().unwrap();
            r.consume(5);
            let mut w = BufWriter::with_capacity(8, Vec::new());
            w.write_all(b"pre").unwrap();
            (r, w)
        },
        |r, w| (r.buffer().to_vec(), *r.get_ref(), w.into_inner().unwrap()),
    );
    // Take<BufReader<Take<&[u8]>>> (std's copy_specialization shape) → Vec.
    same_as_std(
        || {
            let mut r = BufReader::with_capacity(4, DATA.take(20));
            r.fill_buf().unwrap();
            r.consume(1);
            (r.take(10), Vec::new())
        },
        |r, w| {
            let lim = r.limit();
            let b = r.into_inner();
            (lim, b.buffer().to_vec(), b.get_ref().limit(), w)
        },
    );
    // Chain → VecDeque.
    same_as_std(|| (DATA[..10].chain(&DATA[10..]), VecDeque::new()), |_, w| w);
    // &mut Cursor → &mut Vec (recognised shapes) — compared by hand.
    let mut c1 = Cursor::new(DATA.to_vec());
    let mut c2 = c1.clone();
    let (mut v1, mut v2) = (Vec::new(), Vec::new());
    assert_eq!(
        fdcopy::copy(&mut &mut c1, &mut &mut v1).unwrap(),
        io::copy(&mut &mut c2, &mut &mut v2).unwrap()
    );
    assert_eq!((c1.position(), v1), (c2.position(), v2));
}

#[test]
fn drop_in_matches_std_on_boxed_and_dyn_types() {
    const DATA: &[u8] = b"boxed and dynamic";
    let (mut a, mut b) = (Vec::new(), Vec::new());
    {
        let mut r: Box<dyn Read> = Box::new(DATA);
        let mut w: Box<dyn Write + '_> = Box::new(&mut a);
        assert_eq!(fdcopy::copy(&mut r, &mut w).unwrap(), 17);
        let mut r: Box<dyn Read> = Box::new(DATA);
        let mut w: Box<dyn Write + '_> = Box::new(&mut b);
        assert_eq!(io::copy(&mut r, &mut w).unwrap(), 17);
    }
    assert_eq!(a, b);
    assert_eq!(a, DATA);

    let mut s1 = DATA;
    let mut s2 = DATA;
    let (mut a, mut b) = (VecDeque::new(), VecDeque::new());
    {
        let r: &mut dyn Read = &mut s1;
        let w: &mut dyn Write = &mut a;
        assert_eq!(fdcopy::copy(r, w).unwrap(), 17);
        let r: &mut dyn Read = &mut s2;
        let w: &mut dyn Write = &mut b;
        assert_eq!(io::copy(r, w).unwrap(), 17);
    }
    assert_eq!((s1, &a), (s2, &b));
}

/// `copy` has std's bounds: `?Sized` readers and writers compile (this test is mostly
/// checked by the compiler), and so do the Go-order functions with trait objects.
#[test]
fn copy_accepts_unsized_types() {
    fn generic<R: Read + ?Sized, W: Write + ?Sized>(r: &mut R, w: &mut W) -> io::Result<u64> {
        fdcopy::copy(r, w)
    }
    fn dynamic(r: &mut dyn Read, w: &mut dyn Write) -> io::Result<u64> {
        fdcopy::copy(r, w)
    }
    fn go_order(dst: &mut dyn CopySink, src: &mut dyn CopySource) -> Result<u64, CopyError> {
        go::copy(dst, src)
    }
    let mut v = Vec::new();
    assert_eq!(generic(&mut &b"abc"[..], &mut v).unwrap(), 3);
    assert_eq!(dynamic(&mut &b"def"[..], &mut v).unwrap(), 3);
    assert_eq!(go_order(&mut v, &mut &b"ghi"[..]).unwrap(), 3);
    let src: &mut dyn Read = &mut &b"jkl"[..];
    let dst: &mut dyn Write = &mut v;
    assert_eq!(generic(src, dst).unwrap(), 3);
    assert_eq!(v, b"abcdefghijkl");
}

// ------------------------------------------------------------------------------------------
// std wrappers: the BufReader's bytes first (contract.md §9)
// ------------------------------------------------------------------------------------------

/// `BufReader<Take<R>>` whose `Take` is used up while the `BufReader` still holds bytes: the
/// held bytes were already taken through the limit and must be copied (std copies them).
#[test]
fn bufreader_over_exhausted_take_in_memory() {
    let data = b"abcdef";
    let mut src = BufReader::with_capacity(4, (&data[..]).take(4));
    src.fill_buf().unwrap();
    src.consume(1); // holds "bcd", the Take is at 0
    let mut out = Vec::new();
    let n = go::copy(&mut out, &mut src).unwrap();
    assert_eq!((n, out.as_slice()), (3, &b"bcd"[..]));
}

/// The same with files through the drop-in (the shape std's specialization covers).
#[test]
fn bufreader_over_exhausted_take_file() {
    let mut src = BufReader::with_capacity(4, common::file_with(b"abcdef", 0).take(4));
    src.fill_buf().unwrap();
    src.consume(1);
    let mut dst = tempfile::tempfile().unwrap();
    let n = fdcopy::copy(&mut src, &mut dst).unwrap();
    assert_eq!(n, 3);
    assert_eq!(common::contents(&mut dst), (b"bcd".to_vec(), 3));
}

/// `BufReader<Take<File>>` whose buffer holds more than the `Take` has left: the buffered
/// bytes (already past the limit) all go out first, then the rest of the limit (std drains the
/// reader with no limit from layers *below* the buffer).
#[test]
fn bufreader_over_take_file_drains_the_whole_buffer() {
    let data = b"abcdefghij";
    let make = || {
        let mut src = BufReader::with_capacity(4, common::file_with(data, 0).take(6));
        src.fill_buf().unwrap(); // "abcd", the Take has 2 left
        src.consume(1); // holds "bcd"
        src
    };
    let mut theirs = Vec::new();
    assert_eq!(io::copy(&mut make(), &mut theirs).unwrap(), 5);
    assert_eq!(theirs, b"bcdef");

    let mut src = make();
    let mut dst = tempfile::tempfile().unwrap();
    let n = fdcopy::copy(&mut src, &mut dst).unwrap();
    assert_eq!(common::contents(&mut dst), (b"bcdef".to_vec(), 5));
    assert_eq!(n, 5);
    assert!(src.buffer().is_empty());
    assert_eq!(src.get_ref().limit(), 0);
}

// ------------------------------------------------------------------------------------------
// CopyError, Report, Progress (contract.md §10)
// ------------------------------------------------------------------------------------------

/// A writer that accepts `ok` bytes, then fails with a raw OS error.
struct OsErrWriter {
    ok: usize,
    errno: i32,
    out: Vec<u8>,
}

impl Write for OsErrWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() >= self.ok {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        let n = buf.len().min(self.ok - self.out.len());
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn copy_error_converts_with_question_mark_and_keeps_the_os_error() {
    fn go(dst: &mut OsErrWriter) -> io::Result<u64> {
        let n = go::copy(&mut Plain(dst), &mut &b"0123456789"[..])?;
        Ok(n)
    }
    let mut dst = OsErrWriter {
        ok: 3,
        errno: libc::ENOSPC,
        out: Vec::new(),
    };
    let e = go::copy(&mut Plain(&mut dst), &mut &b"0123456789"[..]).unwrap_err();
    assert_eq!(e.written(), 3);
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(e.kind(), ErrorKind::StorageFull);
    let shown = e.to_string();
    assert!(shown.contains("after 3 bytes"), "{shown}");
    assert!(std::error::Error::source(&e).is_some());
    let (n, inner) = e.into_parts();
    assert_eq!((n, inner.raw_os_error()), (3, Some(libc::ENOSPC)));

    let mut dst = OsErrWriter {
        ok: 3,
        errno: libc::ENOSPC,
        out: Vec::new(),
    };
    let e = go(&mut dst).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(e.kind(), ErrorKind::StorageFull);
    assert_eq!(dst.out, b"012");
}

/// A real descriptor: writing into a pipe with no reader is EPIPE (the test harness ignores
/// SIGPIPE, as every Rust program does).
#[test]
fn copy_error_from_a_real_pipe_keeps_epipe() {
    let (r, mut w) = io::pipe().unwrap();
    drop(r);
    let e = go::copy(&mut w, &mut Plain(&b"no reader"[..])).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    assert_eq!(e.written(), 0);
    assert!(e.to_string().contains("after 0 bytes"), "{e}");
    let as_io: io::Error = e.into();
    assert_eq!(as_io.raw_os_error(), Some(libc::EPIPE));
    // The drop-in's io::Error keeps it too.
    let (r, mut w) = io::pipe().unwrap();
    drop(r);
    let e = fdcopy::copy(&mut &b"no reader"[..], &mut w).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
}

/// Progress events add up to the count, on success and on error, on every loop path.
#[test]
fn progress_totals_equal_written() {
    fn events_of(f: impl FnOnce(&mut dyn FnMut(Progress)) -> (u64, Option<ErrorKind>)) -> (Vec<Progress>, u64) {
        let mut ev = Vec::new();
        let mut cb = |p: Progress| ev.push(p);
        let (n, _) = f(&mut cb);
        (ev, n)
    }
    fn check(ev: &[Progress], n: u64) {
        let mut sum = 0;
        for p in ev {
            sum += p.chunk;
            assert_eq!(p.written, sum, "{ev:?}");
        }
        assert_eq!(sum, n, "{ev:?}");
        assert_eq!(ev.last().map_or(0, |p| p.written), n, "{ev:?}");
    }
    let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
    let result = |r: Result<fdcopy::Report, CopyError>| match r {
        Ok(rep) => (rep.written(), None),
        Err(e) => (e.written(), Some(e.kind())),
    };
    // BufRead source.
    let (ev, n) = events_of(|cb| {
        result(
            Copier::new()
                .progress(cb)
                .go_copy(&mut ScriptWriter::default(), &mut &data[..]),
        )
    });
    assert_eq!(n, 5000);
    check(&ev, n);
    // Engine buffer, short writes, and a failure at 3000.
    let (ev, n) = events_of(|cb| {
        let mut w = ScriptWriter::new(Some((3000, Fail::Err(ErrorKind::Other))), vec![WStep::Short(700)]);
        result(Copier::new().progress(cb).go_copy(&mut w, &mut Plain(&data[..])))
    });
    assert_eq!(n, 3000);
    check(&ev, n);
    // Caller buffer.
    let (ev, n) = events_of(|cb| {
        let mut buf = [0u8; 333];
        result(
            Copier::new()
                .progress(cb)
                .buffer(&mut buf)
                .go_copy(&mut ScriptWriter::default(), &mut Plain(&data[..])),
        )
    });
    assert_eq!(n, 5000);
    assert_eq!(ev.len(), 16);
    check(&ev, n);
    // Vec destination, read error at 4000.
    let (ev, n) = events_of(|cb| {
        let mut src = ScriptReader::new(data.clone(), Some((4000, ErrorKind::TimedOut)), vec![RStep::Short(999)]);
        result(Copier::new().progress(cb).go_copy(&mut Vec::new(), &mut src))
    });
    assert_eq!(n, 4000);
    check(&ev, n);
    // The drop-in order with the report.
    let mut ev = Vec::new();
    let mut cb = |p: Progress| ev.push(p);
    let report = Copier::new()
        .progress(&mut cb)
        .copy(&mut &data[..], &mut Vec::new())
        .unwrap();
    assert_eq!(report.written(), 5000);
    assert_eq!(report.strategy(), Strategy::Buffered);
    assert_eq!(report.strategies().collect::<Vec<_>>(), [(Strategy::Buffered, 5000)]);
    assert_eq!(report.last(), Some(Strategy::Buffered));
    check(&ev, 5000);
}

/// A fast path's bytes are in the report; the progress callback must see them too
/// ("called after every chunk any strategy moved").
#[test]
fn progress_sees_fast_path_bytes() {
    let mut ev = Vec::new();
    let mut cb = |p: Progress| ev.push(p);
    let mut src = FastSrc::new(b"fast path bytes");
    let report = Copier::new()
        .progress(&mut cb)
        .go_copy(&mut Vec::new(), &mut src)
        .unwrap();
    assert_eq!(report.written(), 15);
    assert_eq!(report.strategy(), Strategy::WriteTo);
    assert_eq!(ev.iter().map(|p| p.chunk).sum::<u64>(), 15, "{ev:?}");
    assert_eq!(ev.last().map(|p| p.written), Some(15), "{ev:?}");
}

/// On error the report says which strategies moved the counted bytes.
#[test]
fn error_report_matches_the_count() {
    let mut dst = ScriptWriter::new(Some((7, Fail::Err(ErrorKind::BrokenPipe))), vec![]);
    let e = Copier::new()
        .go_copy(&mut dst, &mut Plain(&b"0123456789"[..]))
        .unwrap_err();
    assert_eq!(e.written(), 7);
    assert_eq!(e.report().written(), 7);
    assert_eq!(e.report().bytes_by(Strategy::Buffered), 7);
    assert_eq!(e.report().last(), Some(Strategy::Buffered));

    // A fast path that fails: its count, attributed to it.
    let mut src = FastSrc::new(b"0123456789");
    let mut dst = Plain(ScriptWriter::new(Some((4, Fail::Err(ErrorKind::BrokenPipe))), vec![]));
    let e = Copier::new().go_copy(&mut dst, &mut src).unwrap_err();
    assert_eq!((e.written(), e.kind()), (4, ErrorKind::BrokenPipe));
    assert_eq!(e.report().bytes_by(Strategy::WriteTo), 4);
    assert_eq!(e.report().strategy(), Strategy::WriteTo);
    assert_eq!(src.pos, 4);
}
