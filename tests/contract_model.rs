//! Property tests of fdcopy's Go-contract semantics (contract.md §1–§4, §8) against a reference
//! model (tests/model/mod.rs), with adversarial in-memory readers and writers: short reads and
//! writes, `Interrupted` anywhere, read and write errors at chosen offsets, `Ok(0)` and
//! impossible counts from writers, limits below/at/above the data (`LimitedReader`, `Take`,
//! nested both ways), pre-filled `BufReader`s and pre-written `BufWriter`s. Each case checks the
//! bytes, the count (`CopyError::written()` = bytes the destination accepted), the error kind,
//! the limits left, the read sizes the source saw and, for the plain loop, that every read is
//! followed by writes of exactly that chunk. The drop-in `fdcopy::copy` is also compared with
//! `std::io::copy` where std's behaviour is defined.
//!
//! No descriptor is involved: these are the semantics, the kernel paths have their own suites.

mod model;

use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, Read, Take};

use fdcopy::go::LimitedReader;
use fdcopy::{Copier, CopySink, CopySource, Plain, Progress};
use model::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// 256 cases per property unless `PROPTEST_CASES` says otherwise. No regression files are
/// written into the source tree (a failure prints its minimal input instead).
fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    }
}

// ------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------

/// A number relative to the data length, so that limits and offsets land below, at and above
/// it as often as not.
#[derive(Clone, Copy, Debug)]
enum Rel {
    Abs(u64),
    Below(u64),
    At,
    Above(u64),
    Big(u64),
}

impl Rel {
    fn at(self, len: usize) -> u64 {
        let d = len as u64;
        match self {
            Rel::Abs(v) | Rel::Big(v) => v,
            Rel::Below(k) => d.saturating_sub(k),
            Rel::At => d,
            Rel::Above(k) => d + k,
        }
    }
    fn offset(self, len: usize) -> usize {
        usize::try_from(self.at(len)).unwrap_or(usize::MAX)
    }
}

fn rel() -> impl Strategy<Value = Rel> {
    let big = Copier::DEFAULT_BUFFER as u64;
    prop_oneof![
        3 => (0u64..48).prop_map(Rel::Abs),
        2 => (1u64..48).prop_map(Rel::Below),
        2 => Just(Rel::At),
        2 => (1u64..48).prop_map(Rel::Above),
        1 => prop::sample::select(vec![big - 1, big, big + 1, 1 << 20, u64::MAX]).prop_map(Rel::Big),
    ]
}

#[derive(Clone, Copy, Debug)]
struct PreSpec {
    cap: usize,
    consume: usize,
}

fn pre_spec() -> impl Strategy<Value = PreSpec> {
    (prop_oneof![3 => 1usize..64, 1 => 64usize..1024], 0usize..1024).prop_map(|(cap, consume)| PreSpec { cap, consume })
}

/// The source's wrappers around the scripted reader, outermost first.
#[derive(Clone, Copy, Debug)]
enum ShapeSpec {
    Direct,
    Plain,
    Lim(Rel),
    Take(Rel),
    LimTake(Rel, Rel),
    TakeLim(Rel, Rel),
    LimLim(Rel, Rel),
    Buf(PreSpec),
    TakeBuf(Rel, PreSpec),
    LimBuf(Rel, PreSpec),
    BufTake(PreSpec, Rel),
    BufLim(PreSpec, Rel),
}

fn shape_spec() -> impl Strategy<Value = ShapeSpec> {
    prop_oneof![
        Just(ShapeSpec::Direct),
        Just(ShapeSpec::Plain),
        rel().prop_map(ShapeSpec::Lim),
        rel().prop_map(ShapeSpec::Take),
        (rel(), rel()).prop_map(|(a, b)| ShapeSpec::LimTake(a, b)),
        (rel(), rel()).prop_map(|(a, b)| ShapeSpec::TakeLim(a, b)),
        (rel(), rel()).prop_map(|(a, b)| ShapeSpec::LimLim(a, b)),
        pre_spec().prop_map(ShapeSpec::Buf),
        (rel(), pre_spec()).prop_map(|(a, p)| ShapeSpec::TakeBuf(a, p)),
        (rel(), pre_spec()).prop_map(|(a, p)| ShapeSpec::LimBuf(a, p)),
        (pre_spec(), rel()).prop_map(|(p, a)| ShapeSpec::BufTake(p, a)),
        (pre_spec(), rel()).prop_map(|(p, a)| ShapeSpec::BufLim(p, a)),
    ]
}

#[derive(Clone, Copy, Debug)]
enum SinkSpec {
    Script,
    PlainScript,
    BufW { cap: usize, pre: usize },
    Vec { pre: usize },
}

fn sink_spec() -> impl Strategy<Value = SinkSpec> {
    prop_oneof![
        3 => Just(SinkSpec::Script),
        1 => Just(SinkSpec::PlainScript),
        2 => (1usize..64, 0usize..80).prop_map(|(cap, pre)| SinkSpec::BufW { cap, pre }),
        2 => (0usize..20).prop_map(|pre| SinkSpec::Vec { pre }),
    ]
}

fn rsteps() -> impl Strategy<Value = Vec<RStep>> {
    vec(
        prop_oneof![
            3 => Just(RStep::Full),
            3 => (1usize..20).prop_map(RStep::Short),
            2 => Just(RStep::Interrupted),
        ],
        0..6,
    )
    .prop_map(|mut v| {
        if !v.is_empty() && v.iter().all(|s| *s == RStep::Interrupted) {
            v.push(RStep::Full);
        }
        v
    })
}

fn wsteps() -> impl Strategy<Value = Vec<WStep>> {
    vec(
        prop_oneof![
            3 => Just(WStep::Full),
            3 => (1usize..20).prop_map(WStep::Short),
            2 => Just(WStep::Interrupted),
        ],
        0..6,
    )
    .prop_map(|mut v| {
        if !v.is_empty() && v.iter().all(|s| *s == WStep::Interrupted) {
            v.push(WStep::Full);
        }
        v
    })
}

fn read_kind() -> impl Strategy<Value = ErrorKind> {
    prop::sample::select(vec![
        ErrorKind::ConnectionReset,
        ErrorKind::Other,
        ErrorKind::InvalidData,
        ErrorKind::TimedOut,
        // A reader's own UnexpectedEof is a real error, not the end of the data.
        ErrorKind::UnexpectedEof,
    ])
}

fn fail_mode() -> impl Strategy<Value = Fail> {
    prop_oneof![
        3 => prop::sample::select(vec![
            ErrorKind::BrokenPipe,
            ErrorKind::Other,
            ErrorKind::StorageFull,
            ErrorKind::PermissionDenied,
            ErrorKind::WouldBlock,
        ])
        .prop_map(Fail::Err),
        1 => Just(Fail::Zero),
        1 => Just(Fail::TooMany),
    ]
}

#[derive(Clone, Debug)]
struct Scenario {
    data: Vec<u8>,
    rscript: Vec<RStep>,
    rfail: Option<(Rel, ErrorKind)>,
    shape: ShapeSpec,
    sink: SinkSpec,
    wscript: Vec<WStep>,
    wfail: Option<(Rel, Fail)>,
}

prop_compose! {
    fn scenario()(
        data in vec(any::<u8>(), 0..400),
        rscript in rsteps(),
        rfail in proptest::option::weighted(0.3, (rel(), read_kind())),
        shape in shape_spec(),
        sink in sink_spec(),
        wscript in wsteps(),
        wfail in proptest::option::weighted(0.3, (rel(), fail_mode())),
    ) -> Scenario {
        Scenario { data, rscript, rfail, shape, sink, wscript, wfail }
    }
}

// ------------------------------------------------------------------------------------------
// Resolved scenario
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Pre {
    cap: usize,
    /// Bytes the pre-fill reads (checked against the `BufReader`).
    filled: usize,
    consume: usize,
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    Direct,
    Plain,
    Lim(u64),
    Take(u64),
    LimTake(u64, u64),
    TakeLim(u64, u64),
    LimLim(u64, u64),
    Buf(Pre),
    TakeBuf(u64, Pre),
    LimBuf(u64, Pre),
    BufTake(Pre, u64),
    BufLim(Pre, u64),
}

impl Shape {
    fn layers(&self) -> Vec<Layer> {
        let below = |limit| Layer {
            limit,
            above_buffer: false,
        };
        let above = |limit| Layer {
            limit,
            above_buffer: true,
        };
        match *self {
            Shape::Direct | Shape::Plain | Shape::Buf(_) => vec![],
            Shape::Lim(a) | Shape::Take(a) | Shape::BufTake(_, a) | Shape::BufLim(_, a) => vec![below(a)],
            Shape::LimTake(a, b) | Shape::TakeLim(a, b) | Shape::LimLim(a, b) => vec![below(a), below(b)],
            Shape::TakeBuf(a, _) | Shape::LimBuf(a, _) => vec![above(a)],
        }
    }

    fn pre(&self) -> Option<Pre> {
        match *self {
            Shape::Buf(p) | Shape::TakeBuf(_, p) | Shape::LimBuf(_, p) | Shape::BufTake(p, _) | Shape::BufLim(p, _) => {
                Some(p)
            }
            _ => None,
        }
    }

    /// The engine can use the source's own buffer (a `BufReader` outermost).
    fn buf_read_outermost(&self) -> bool {
        matches!(self, Shape::Buf(_) | Shape::BufTake(..) | Shape::BufLim(..))
    }
}

#[derive(Clone, Copy, Debug)]
enum Sink {
    Script,
    PlainScript,
    BufW { cap: usize, pre: usize },
    Vec { pre: usize },
}

#[derive(Clone, Debug)]
struct Resolved {
    data: Vec<u8>,
    rscript: Vec<RStep>,
    rfail: Option<(usize, ErrorKind)>,
    shape: Shape,
    sink: Sink,
    wscript: Vec<WStep>,
    /// Bytes this copy may put into the scripted writer before it fails.
    wfail: Option<(usize, Fail)>,
}

impl Resolved {
    fn new(sc: &Scenario) -> Self {
        let d = sc.data.len();
        let pre = |p: PreSpec, below: Option<u64>| {
            let filled = p.cap.min(d).min(below.map_or(usize::MAX, |l| l as usize));
            Pre {
                cap: p.cap,
                filled,
                consume: p.consume % (filled + 1),
            }
        };
        let shape = match sc.shape {
            ShapeSpec::Direct => Shape::Direct,
            ShapeSpec::Plain => Shape::Plain,
            ShapeSpec::Lim(a) => Shape::Lim(a.at(d)),
            ShapeSpec::Take(a) => Shape::Take(a.at(d)),
            ShapeSpec::LimTake(a, b) => Shape::LimTake(a.at(d), b.at(d)),
            ShapeSpec::TakeLim(a, b) => Shape::TakeLim(a.at(d), b.at(d)),
            ShapeSpec::LimLim(a, b) => Shape::LimLim(a.at(d), b.at(d)),
            ShapeSpec::Buf(p) => Shape::Buf(pre(p, None)),
            ShapeSpec::TakeBuf(a, p) => Shape::TakeBuf(a.at(d), pre(p, None)),
            ShapeSpec::LimBuf(a, p) => Shape::LimBuf(a.at(d), pre(p, None)),
            ShapeSpec::BufTake(p, a) => Shape::BufTake(pre(p, Some(a.at(d))), a.at(d)),
            ShapeSpec::BufLim(p, a) => Shape::BufLim(pre(p, Some(a.at(d))), a.at(d)),
        };
        let sink = match sc.sink {
            SinkSpec::Script => Sink::Script,
            SinkSpec::PlainScript => Sink::PlainScript,
            SinkSpec::BufW { cap, pre } => Sink::BufW { cap, pre },
            SinkSpec::Vec { pre } => Sink::Vec { pre },
        };
        let wfail = match (sink, sc.wfail) {
            (Sink::Vec { .. }, _) | (_, None) => None,
            // std's BufWriter itself panics on an impossible count from its inner writer
            // (slicing in flush_buf): not fdcopy's to handle, so not scripted there.
            (Sink::BufW { .. }, Some((x, Fail::TooMany))) => Some((x.offset(d), Fail::Zero)),
            (_, Some((x, m))) => Some((x.offset(d), m)),
        };
        Resolved {
            data: sc.data.clone(),
            rscript: sc.rscript.clone(),
            rfail: sc.rfail.map(|(r, k)| (r.offset(d), k)),
            shape,
            sink,
            wscript: sc.wscript.clone(),
            wfail,
        }
    }

    fn prefix(&self) -> Vec<u8> {
        let p = match self.sink {
            Sink::BufW { pre, .. } | Sink::Vec { pre } => pre,
            _ => 0,
        };
        (0..p).map(|i| 0xA5 ^ (i as u8)).collect()
    }
}

// ------------------------------------------------------------------------------------------
// Running a scenario
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Op {
    IoCopy,
    /// `Copier` with a progress callback.
    Copier,
    CopyN(u64),
    CopyBuffer(usize),
    DropIn,
    StdCopy,
}

/// Result as observed: the drop-in functions lose the count on error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    Ok(u64),
    Err(Option<u64>, ErrorKind),
}

impl Got {
    fn from_copy(r: Result<u64, fdcopy::CopyError>) -> Got {
        match r {
            Ok(n) => Got::Ok(n),
            Err(e) => Got::Err(Some(e.written()), e.kind()),
        }
    }
    fn from_io(r: io::Result<u64>) -> Got {
        match r {
            Ok(n) => Got::Ok(n),
            Err(e) => Got::Err(None, e.kind()),
        }
    }
    fn matches(self, want: Outcome) -> bool {
        match (self, want) {
            (Got::Ok(a), Ok(b)) => a == b,
            (Got::Err(w, k), Err((bw, bk))) => k == bk && w.is_none_or(|w| w == bw),
            _ => false,
        }
    }
    fn normalized(self) -> Got {
        match self {
            Got::Err(_, k) => Got::Err(None, k),
            ok => ok,
        }
    }
}

struct SrcObs {
    reader: ScriptReader,
    buffered: usize,
    remaining: Vec<u64>,
}

enum SinkObs {
    Writer(ScriptWriter),
    BufW { inner: ScriptWriter, buffered: Vec<u8> },
    Vec(Vec<u8>),
}

struct Run {
    got: Got,
    src: SrcObs,
    sink: SinkObs,
    events: Vec<Progress>,
}

fn apply<W: CopySink>(op: Op, dst: &mut W, src: &mut dyn CopySource, events: &mut Vec<Progress>) -> Got {
    match op {
        Op::IoCopy => Got::from_copy(fdcopy::go::copy(dst, src)),
        Op::Copier => {
            let mut cb = |p: Progress| events.push(p);
            let r = fdcopy::Copier::new().progress(&mut cb).go_copy(dst, src);
            match r {
                Ok(report) => {
                    assert_eq!(report.strategy(), fdcopy::Strategy::Buffered, "{report:?}");
                    assert_eq!(report.bytes_by(fdcopy::Strategy::Buffered), report.written());
                    Got::Ok(report.written())
                }
                Err(e) => {
                    assert_eq!(e.report().written(), e.written(), "{e:?}");
                    Got::Err(Some(e.written()), e.kind())
                }
            }
        }
        Op::CopyN(n) => Got::from_copy(fdcopy::go::copy_n(dst, src, n)),
        Op::CopyBuffer(b) => {
            let mut buf = vec![0u8; b];
            Got::from_copy(fdcopy::go::copy_buffer(dst, src, &mut buf))
        }
        Op::DropIn => Got::from_io(fdcopy::copy(src, dst)),
        Op::StdCopy => Got::from_io(io::copy(src, dst)),
    }
}

/// Builds the source `shape` over `reader` (pre-filling `BufReader`s with the script off),
/// runs `body` on it, and takes it apart again.
fn run_source(
    shape: Shape,
    mut reader: ScriptReader,
    body: &mut dyn FnMut(&mut dyn CopySource) -> Got,
) -> (Got, SrcObs) {
    fn prefill<R: Read>(b: &mut BufReader<R>, p: Pre) {
        let n = b.fill_buf().unwrap().len();
        assert_eq!(n, p.filled, "pre-fill");
        b.consume(p.consume);
    }
    fn obs(reader: ScriptReader, buffered: usize, remaining: Vec<u64>) -> SrcObs {
        SrcObs {
            reader,
            buffered,
            remaining,
        }
    }
    match shape {
        Shape::Direct => {
            let g = body(&mut reader);
            (g, obs(reader, 0, vec![]))
        }
        Shape::Plain => {
            let g = body(&mut Plain(&mut reader));
            (g, obs(reader, 0, vec![]))
        }
        Shape::Lim(a) => {
            let mut s = LimitedReader {
                inner: reader,
                remaining: a,
            };
            let g = body(&mut s);
            (g, obs(s.inner, 0, vec![s.remaining]))
        }
        Shape::Take(a) => {
            let mut s = reader.take(a);
            let g = body(&mut s);
            let rem = vec![Take::limit(&s)];
            (g, obs(s.into_inner(), 0, rem))
        }
        Shape::LimTake(a, b) => {
            let mut s = LimitedReader {
                inner: reader.take(b),
                remaining: a,
            };
            let g = body(&mut s);
            let rem = vec![s.remaining, Take::limit(&s.inner)];
            (g, obs(s.inner.into_inner(), 0, rem))
        }
        Shape::TakeLim(a, b) => {
            let mut s = LimitedReader {
                inner: reader,
                remaining: b,
            }
            .take(a);
            let g = body(&mut s);
            let rem = vec![Take::limit(&s), s.get_ref().remaining];
            (g, obs(s.into_inner().inner, 0, rem))
        }
        Shape::LimLim(a, b) => {
            let mut s = LimitedReader {
                inner: LimitedReader {
                    inner: reader,
                    remaining: b,
                },
                remaining: a,
            };
            let g = body(&mut s);
            let rem = vec![s.remaining, s.inner.remaining];
            (g, obs(s.inner.inner, 0, rem))
        }
        Shape::Buf(p) => {
            reader.armed = false;
            let mut s = BufReader::with_capacity(p.cap, reader);
            prefill(&mut s, p);
            s.get_mut().armed = true;
            let g = body(&mut s);
            let buffered = s.buffer().len();
            (g, obs(s.into_inner(), buffered, vec![]))
        }
        Shape::TakeBuf(a, p) => {
            reader.armed = false;
            let mut b = BufReader::with_capacity(p.cap, reader);
            prefill(&mut b, p);
            b.get_mut().armed = true;
            let mut s = b.take(a);
            let g = body(&mut s);
            let rem = vec![Take::limit(&s)];
            let buffered = s.get_ref().buffer().len();
            (g, obs(s.into_inner().into_inner(), buffered, rem))
        }
        Shape::LimBuf(a, p) => {
            reader.armed = false;
            let mut b = BufReader::with_capacity(p.cap, reader);
            prefill(&mut b, p);
            b.get_mut().armed = true;
            let mut s = LimitedReader { inner: b, remaining: a };
            let g = body(&mut s);
            let buffered = s.inner.buffer().len();
            (g, obs(s.inner.into_inner(), buffered, vec![s.remaining]))
        }
        Shape::BufTake(p, a) => {
            reader.armed = false;
            let mut s = BufReader::with_capacity(p.cap, reader.take(a));
            prefill(&mut s, p);
            s.get_mut().get_mut().armed = true;
            let g = body(&mut s);
            let buffered = s.buffer().len();
            let rem = vec![Take::limit(s.get_ref())];
            (g, obs(s.into_inner().into_inner(), buffered, rem))
        }
        Shape::BufLim(p, a) => {
            reader.armed = false;
            let mut s = BufReader::with_capacity(
                p.cap,
                LimitedReader {
                    inner: reader,
                    remaining: a,
                },
            );
            prefill(&mut s, p);
            s.get_mut().inner.armed = true;
            let g = body(&mut s);
            let buffered = s.buffer().len();
            let rem = vec![s.get_ref().remaining];
            (g, obs(s.into_inner().inner, buffered, rem))
        }
    }
}

fn run(r: &Resolved, op: Op) -> Run {
    let reader = ScriptReader::new(r.data.clone(), r.rfail, r.rscript.clone());
    let writer = || ScriptWriter::new(r.wfail, r.wscript.clone());
    let mut events = Vec::new();
    match r.sink {
        Sink::Script => {
            let mut w = writer();
            let (got, src) = run_source(r.shape, reader, &mut |s: &mut dyn CopySource| {
                apply(op, &mut w, s, &mut events)
            });
            Run {
                got,
                src,
                sink: SinkObs::Writer(w),
                events,
            }
        }
        Sink::PlainScript => {
            let mut w = writer();
            let (got, src) = run_source(r.shape, reader, &mut |s: &mut dyn CopySource| {
                apply(op, &mut Plain(&mut w), s, &mut events)
            });
            Run {
                got,
                src,
                sink: SinkObs::Writer(w),
                events,
            }
        }
        Sink::BufW { cap, .. } => {
            let prefix = r.prefix();
            let mut inner = writer();
            inner.fail = r.wfail.map(|(x, m)| (x.saturating_add(prefix.len()), m));
            inner.armed = false;
            let mut bw = BufWriter::with_capacity(cap, inner);
            io::Write::write_all(&mut bw, &prefix).unwrap();
            bw.get_mut().armed = true;
            let (got, src) = run_source(r.shape, reader, &mut |s: &mut dyn CopySource| {
                apply(op, &mut bw, s, &mut events)
            });
            let (inner, buffered) = bw.into_parts();
            Run {
                got,
                src,
                sink: SinkObs::BufW {
                    inner,
                    buffered: buffered.unwrap(),
                },
                events,
            }
        }
        Sink::Vec { .. } => {
            let mut v = r.prefix();
            let (got, src) = run_source(r.shape, reader, &mut |s: &mut dyn CopySource| {
                apply(op, &mut v, s, &mut events)
            });
            Run {
                got,
                src,
                sink: SinkObs::Vec(v),
                events,
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Checking a run against the model
// ------------------------------------------------------------------------------------------

fn check(r: &Resolved, op: Op, run: &Run) {
    let shape_layers = r.shape.layers();
    let pre = r.shape.pre();
    let (filled, consumed) = pre.map_or((0, 0), |p| (p.filled, p.consume));
    let mut layers = shape_layers.clone();
    if let Op::CopyN(n) = op {
        layers.insert(
            0,
            Layer {
                limit: n,
                above_buffer: true,
            },
        );
    }
    let so = source_outcome(&Setup {
        data_len: r.data.len(),
        prefilled: filled,
        consumed,
        layers: layers.clone(),
        read_fail: r.rfail,
    });
    let stream = &r.data[so.start..so.end];
    let s = so.len();
    let rd = &run.src.reader;
    let ctx = || format!("op {op:?}, model {so:?}, got {:?}, reads {:?}", run.got, rd.log);

    if let Op::CopyN(0) = op {
        assert_eq!(run.got, Got::Ok(0));
        assert!(rd.log.is_empty(), "go::copy_n(0) read: {:?}", rd.log);
        match &run.sink {
            SinkObs::Writer(w) => assert!(w.log.is_empty()),
            SinkObs::BufW { inner, buffered } => {
                assert!(inner.log.is_empty());
                assert_eq!([&inner.out[..], buffered].concat(), r.prefix());
            }
            SinkObs::Vec(v) => assert_eq!(*v, r.prefix()),
        }
        assert_eq!(
            run.src.remaining,
            remaining_limits(&shape_layers, consumed, rd.pos, run.src.buffered)
        );
        return;
    }
    let post = |o: Outcome| match op {
        Op::CopyN(n) => copy_n_rule(o, n),
        _ => o,
    };

    // Bytes, count and error against the model; `count` is what the destination accepted.
    let write_failed;
    let count;
    match &run.sink {
        SinkObs::Writer(w) => {
            let (want, accepted) = plain_sink(&so, r.wfail);
            write_failed = accepted < s;
            let want = post(want);
            assert!(run.got.matches(want), "want {want:?}; {}", ctx());
            assert_eq!(w.out, stream[..accepted], "{}", ctx());
            assert!(w.log.iter().all(|c| c.req > 0), "an empty write: {:?}", w.log);
            count = w.out.len();
        }
        SinkObs::Vec(v) => {
            write_failed = false;
            let (want, _) = plain_sink(&so, None);
            let want = post(want);
            assert!(run.got.matches(want), "want {want:?}; {}", ctx());
            let mut full = r.prefix();
            full.extend_from_slice(stream);
            assert_eq!(*v, full, "{}", ctx());
            count = s;
        }
        SinkObs::BufW { inner, buffered } => {
            let prefix = r.prefix();
            let mut full = prefix.clone();
            full.extend_from_slice(stream);
            let mut total = inner.out.clone();
            total.extend_from_slice(buffered);
            assert!(total.len() >= prefix.len(), "prefix lost");
            assert_eq!(total, full[..total.len()], "{}", ctx());
            assert!(inner.log.iter().all(|c| c.req > 0), "an empty write: {:?}", inner.log);
            count = total.len() - prefix.len();
            let (clean, _) = plain_sink(&so, None);
            let reachable = r.wfail.is_some_and(|(x, _)| x < s);
            let ok = run.got.matches(post(clean))
                || (reachable && count < s && run.got.matches(post(Err((count as u64, r.wfail.unwrap().1.kind())))));
            assert!(ok, "clean {clean:?}, failure {:?}, count {count}; {}", r.wfail, ctx());
            write_failed = count < s;
        }
    }
    match run.got {
        Got::Ok(n) => assert_eq!(n, count as u64, "count vs bytes accepted; {}", ctx()),
        Got::Err(Some(w), _) => assert_eq!(w, count as u64, "written() vs bytes accepted; {}", ctx()),
        Got::Err(None, _) => {}
    }

    // Where the source stopped, and the limits left in every layer.
    let handed_up = rd.pos - run.src.buffered;
    if write_failed {
        assert!(handed_up >= so.start + count, "{}", ctx());
    } else {
        assert_eq!(handed_up, so.end, "source position; {}", ctx());
    }
    assert_eq!(
        run.src.remaining,
        remaining_limits(&shape_layers, consumed, rd.pos, run.src.buffered),
        "limits left; {}",
        ctx()
    );

    // The read sizes the source saw, and Go's one write per read, in the plain loop.
    let vec_path = matches!(r.sink, Sink::Vec { .. }) && !matches!(op, Op::CopyBuffer(_));
    if pre.is_none() && !vec_path && !matches!(op, Op::StdCopy) {
        let size = match op {
            Op::CopyBuffer(b) => b,
            // The drop-in sees an unknown reader: no limit, the default buffer.
            Op::DropIn => Copier::DEFAULT_BUFFER,
            _ => default_buffer_for(&layers),
        };
        for call in &rd.log {
            let left = layers.iter().map(|l| l.limit - call.pos as u64).min();
            let want = left.map_or(size, |l| l.min(size as u64) as usize);
            assert_eq!(call.req, want, "read size at {}; {}", call.pos, ctx());
        }
        if let SinkObs::Writer(w) = &run.sink {
            check_one_write_per_read(&rd.log, &w.log);
        }
    }
    if r.shape.buf_read_outermost() && matches!(op, Op::IoCopy | Op::Copier) && write_failed {
        // Writing out of the source's own buffer: only the bytes accepted are consumed.
        assert_eq!(handed_up, so.start + count, "{}", ctx());
    }

    // Progress events add up to the count.
    if let Op::Copier = op {
        let mut sum = 0;
        for e in &run.events {
            sum += e.chunk;
            assert_eq!(e.written, sum, "{:?}", run.events);
            assert_eq!(e.strategy, fdcopy::Strategy::Buffered);
        }
        assert_eq!(sum, count as u64, "{:?}", run.events);
        if count > 0 {
            assert_eq!(run.events.last().unwrap().written, count as u64);
        }
    }
}

fn sink_bytes(run: &Run) -> Vec<u8> {
    match &run.sink {
        SinkObs::Writer(w) => w.out.clone(),
        SinkObs::BufW { inner, buffered } => [&inner.out[..], buffered].concat(),
        SinkObs::Vec(v) => v.clone(),
    }
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// `go::copy` and `Copier::copy` (with progress) against the model.
    #[test]
    fn go_copy_matches_model(sc in scenario(), with_progress in any::<bool>()) {
        let r = Resolved::new(&sc);
        let op = if with_progress { Op::Copier } else { Op::IoCopy };
        check(&r, op, &run(&r, op));
    }

    /// Go's `CopyN`: exactly n or `UnexpectedEof` with the count, errors after n dropped,
    /// n = 0 touches nothing.
    #[test]
    fn copy_n_matches_model(sc in scenario(), n in rel()) {
        let r = Resolved::new(&sc);
        let op = Op::CopyN(n.at(sc.data.len()));
        check(&r, op, &run(&r, op));
    }

    /// Go's `CopyBuffer`: the caller's buffer at its full length (reads ask for
    /// `min(buffer, limit left)`, one write per read), whatever the sink.
    #[test]
    fn copy_buffer_matches_model(sc in scenario(), size in prop_oneof![3 => 1usize..16, 1 => 16usize..700]) {
        let r = Resolved::new(&sc);
        let op = Op::CopyBuffer(size);
        check(&r, op, &run(&r, op));
    }

    /// The drop-in against the model, and against `std::io::copy` wherever std's behaviour is
    /// defined: no impossible write counts (std's `write_all` panics on them), and no failing
    /// writer behind a `BufWriter` (there std's `write_all` and fdcopy's `write` legitimately
    /// split the bytes between the buffer and the writer differently).
    #[test]
    fn drop_in_matches_model_and_std(sc in scenario()) {
        let r = Resolved::new(&sc);
        let ours = run(&r, Op::DropIn);
        check(&r, Op::DropIn, &ours);
        let too_many = matches!(r.wfail, Some((_, Fail::TooMany)));
        let bufw_fails = matches!(r.sink, Sink::BufW { .. }) && r.wfail.is_some_and(|(x, _)| x < r.data.len());
        if !too_many && !bufw_fails {
            let std = run(&r, Op::StdCopy);
            prop_assert_eq!(ours.got.normalized(), std.got.normalized());
            prop_assert_eq!(sink_bytes(&ours), sink_bytes(&std));
            prop_assert_eq!(ours.src.reader.pos, std.src.reader.pos);
            prop_assert_eq!(ours.src.buffered, std.src.buffered);
            prop_assert_eq!(&ours.src.remaining, &std.src.remaining);
        }
    }

    /// Go: "a source limited to N smaller than the buffer gets a buffer of N": with no caller
    /// buffer the first read asks for exactly N (also through `Take` and nested limits).
    #[test]
    fn limited_source_gets_a_buffer_of_its_limit(
        data in vec(any::<u8>(), 0..600),
        n in prop_oneof![1u64..700, (Copier::DEFAULT_BUFFER as u64 - 2)..(Copier::DEFAULT_BUFFER as u64 + 2)],
        outer in prop_oneof![Just(None), (0u64..800).prop_map(Some)],
        take in any::<bool>(),
    ) {
        let mut reader = ScriptReader::plain(&data);
        let mut w = ScriptWriter::default();
        let min = outer.map_or(n, |o| o.min(n));
        let got = match (take, outer) {
            (false, None) => fdcopy::go::copy(&mut w, &mut fdcopy::go::limit_reader(&mut reader, n)),
            (true, None) => fdcopy::go::copy(&mut w, &mut (&mut reader).take(n)),
            (false, Some(o)) => fdcopy::go::copy(&mut w, &mut fdcopy::go::limit_reader((&mut reader).take(n), o)),
            (true, Some(o)) => fdcopy::go::copy(&mut w, &mut fdcopy::go::limit_reader(&mut reader, n).take(o)),
        }
        .unwrap();
        let want = (data.len() as u64).min(min);
        prop_assert_eq!(got, want);
        prop_assert_eq!(&w.out[..], &data[..want as usize]);
        if min == 0 {
            prop_assert!(reader.log.is_empty());
        } else {
            prop_assert_eq!(reader.log[0].req as u64, min.min(Copier::DEFAULT_BUFFER as u64));
        }
    }
}
