//! The live matrix: every source kind against every destination kind through
//! `Copier::copy`, with the peers in threads, and everything checked afterwards.

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read, Seek, Take, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fdcopy::table::{Facts, FdKind, SocketFamily};
use fdcopy::{Copier, CopyError, Report, Strategy};
use fdcopy_testkit::{drain, feed, payload, tcp_pair_on, unix_pair, Peer};

use super::env::{temp_file_in, temp_file_with};
use super::{IO_TIMEOUT, SAMPLE};

#[derive(Clone, Copy, PartialEq, Eq)]
enum SrcKind {
    File,
    Pipe,
    Tcp,
    Unix,
    Zero,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DstKind {
    File,
    Pipe,
    Tcp,
    Unix,
    Null,
}

const SOURCES: [SrcKind; 5] = [SrcKind::File, SrcKind::Pipe, SrcKind::Tcp, SrcKind::Unix, SrcKind::Zero];
const DESTINATIONS: [DstKind; 5] = [DstKind::File, DstKind::Pipe, DstKind::Tcp, DstKind::Unix, DstKind::Null];

impl SrcKind {
    fn name(self) -> &'static str {
        match self {
            SrcKind::File => "file",
            SrcKind::Pipe => "pipe",
            SrcKind::Tcp => "tcp",
            SrcKind::Unix => "unix",
            SrcKind::Zero => "/dev/zero",
        }
    }
    fn fd_kind(self) -> FdKind {
        match self {
            SrcKind::File => FdKind::File,
            SrcKind::Pipe => FdKind::Pipe,
            SrcKind::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
            SrcKind::Unix => FdKind::StreamSocket(SocketFamily::Unix),
            SrcKind::Zero => FdKind::CharDevice,
        }
    }
}

impl DstKind {
    fn name(self) -> &'static str {
        match self {
            DstKind::File => "file",
            DstKind::Pipe => "pipe",
            DstKind::Tcp => "tcp",
            DstKind::Unix => "unix",
            DstKind::Null => "/dev/null",
        }
    }
    fn fd_kind(self) -> FdKind {
        match self {
            DstKind::File => FdKind::File,
            DstKind::Pipe => FdKind::Pipe,
            DstKind::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
            DstKind::Unix => FdKind::StreamSocket(SocketFamily::Unix),
            DstKind::Null => FdKind::CharDevice,
        }
    }
}

pub struct Row {
    pub src: &'static str,
    pub dst: &'static str,
    /// What `fdcopy::table::plan` says for this pair (before any errno).
    pub planned: Vec<Strategy>,
    /// The strategy that moved most bytes (`Report::strategy`).
    pub strategy: Option<Strategy>,
    /// Every strategy that moved bytes, with its count.
    pub strategies: Vec<(Strategy, u64)>,
    pub bytes: u64,
    pub seconds: f64,
    pub ok: bool,
    /// Why `ok` is false (or an error the copy returned).
    pub error: Option<String>,
}

impl Row {
    /// A row with what `fdcopy::table::plan` says for the pair, before anything ran.
    fn planned(s: SrcKind, d: DstKind) -> Row {
        let mut facts = Facts::new(s.fd_kind(), d.fd_kind());
        facts.size_hint = Some(SAMPLE as u64);
        Row {
            src: s.name(),
            dst: d.name(),
            planned: fdcopy::table::plan(&facts).steps().to_vec(),
            strategy: None,
            strategies: Vec::new(),
            bytes: 0,
            seconds: 0.0,
            ok: false,
            error: None,
        }
    }

    pub fn mib_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 / (1 << 20) as f64 / self.seconds
        } else {
            0.0
        }
    }
}

enum Src {
    File(File),
    Pipe(PipeReader, Peer<()>),
    Tcp(TcpStream, Peer<()>),
    Unix(UnixStream, Peer<()>),
    Zero(Take<File>),
}

enum Dst {
    File(File),
    Pipe(PipeWriter, Peer<Vec<u8>>),
    Tcp(TcpStream, Peer<Vec<u8>>),
    Unix(UnixStream, Peer<Vec<u8>>),
    Null(File),
}

fn make_src(kind: SrcKind, data: &Arc<[u8]>, listener: &TcpListener, dir: &Path) -> io::Result<Src> {
    Ok(match kind {
        SrcKind::File => Src::File(temp_file_with(dir, data)?),
        SrcKind::Pipe => {
            let (r, w) = io::pipe()?;
            Src::Pipe(r, feed(w, Arc::clone(data)))
        }
        SrcKind::Tcp => {
            let (c, s) = tcp_pair_on(listener, IO_TIMEOUT)?;
            Src::Tcp(s, feed(c, Arc::clone(data)))
        }
        SrcKind::Unix => {
            let (a, b) = unix_pair(IO_TIMEOUT)?;
            Src::Unix(b, feed(a, Arc::clone(data)))
        }
        SrcKind::Zero => Src::Zero(File::open("/dev/zero")?.take(SAMPLE as u64)),
    })
}

fn make_dst(kind: DstKind, listener: &TcpListener, dir: &Path) -> io::Result<Dst> {
    Ok(match kind {
        DstKind::File => Dst::File(temp_file_in(dir)?),
        DstKind::Pipe => {
            let (r, w) = io::pipe()?;
            Dst::Pipe(w, drain(r))
        }
        DstKind::Tcp => {
            let (c, s) = tcp_pair_on(listener, IO_TIMEOUT)?;
            Dst::Tcp(c, drain(s))
        }
        DstKind::Unix => {
            let (a, b) = unix_pair(IO_TIMEOUT)?;
            Dst::Unix(a, drain(b))
        }
        DstKind::Null => Dst::Null(OpenOptions::new().write(true).open("/dev/null")?),
    })
}

/// The copy itself, with std's own types on both sides.
fn timed<R: Read, W: Write>(r: &mut R, w: &mut W) -> (Result<Report, CopyError>, f64) {
    let t = Instant::now();
    let res = Copier::new().copy(r, w);
    (res, t.elapsed().as_secs_f64())
}

fn copy_any(src: &mut Src, dst: &mut Dst) -> (Result<Report, CopyError>, f64) {
    macro_rules! into_dst {
        ($r:expr) => {
            match dst {
                Dst::File(w) | Dst::Null(w) => timed($r, w),
                Dst::Pipe(w, _) => timed($r, w),
                Dst::Tcp(w, _) => timed($r, w),
                Dst::Unix(w, _) => timed($r, w),
            }
        };
    }
    match src {
        Src::File(r) => into_dst!(r),
        Src::Pipe(r, _) => into_dst!(r),
        Src::Tcp(r, _) => into_dst!(r),
        Src::Unix(r, _) => into_dst!(r),
        Src::Zero(r) => into_dst!(r),
    }
}

/// Runs one pair and checks everything it can: the count, the bytes that arrived, the file
/// offsets, the peers' results.
fn run_pair(s: SrcKind, d: DstKind, ctx: &MatrixCtx) -> Row {
    let mut row = Row::planned(s, d);
    let (mut src, mut dst) = match setup(s, d, ctx) {
        Ok(x) => x,
        Err(e) => {
            row.error = Some(format!("setup: {e}"));
            return row;
        }
    };
    let (res, secs) = copy_any(&mut src, &mut dst);
    row.seconds = secs;
    let mut problems = Vec::new();
    let report = match res {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("copy failed: {e}"));
            e.report().clone()
        }
    };
    row.bytes = report.written();
    row.strategy = (report.written() > 0).then(|| report.strategy());
    row.strategies = report.strategies().collect();
    if row.bytes != SAMPLE as u64 {
        problems.push(format!("count {} instead of {SAMPLE}", row.bytes));
    }
    check_source(src, row.bytes, &mut problems);
    let expected: &[u8] = if s == SrcKind::Zero { &ctx.zeros } else { &ctx.data };
    check_destination(dst, row.bytes, expected, &mut problems);
    row.ok = problems.is_empty();
    if !problems.is_empty() {
        row.error = Some(problems.join("; "));
    }
    row
}

/// Both ends of a pair, their peers running (the destination is made first).
fn setup(s: SrcKind, d: DstKind, ctx: &MatrixCtx) -> io::Result<(Src, Dst)> {
    let dst = make_dst(d, &ctx.listener, &ctx.dir)?;
    let src = make_src(s, &ctx.data, &ctx.listener, &ctx.dir)?;
    Ok((src, dst))
}

/// The source after a copy of `bytes`: its offset, or the limit left, and its feeder (the
/// reader closed first, so a feeder blocked on a copy that stopped early gets EPIPE instead
/// of waiting).
fn check_source(src: Src, bytes: u64, problems: &mut Vec<String>) {
    let feeder = match src {
        Src::File(mut f) => {
            match f.stream_position() {
                Ok(p) if p == bytes => {}
                Ok(p) => problems.push(format!("source offset {p} after {bytes} bytes")),
                Err(e) => problems.push(format!("source offset: {e}")),
            }
            None
        }
        Src::Pipe(r, h) => {
            drop(r);
            Some(h)
        }
        Src::Tcp(r, h) => {
            drop(r);
            Some(h)
        }
        Src::Unix(r, h) => {
            drop(r);
            Some(h)
        }
        Src::Zero(t) => {
            if t.limit() != SAMPLE as u64 - bytes {
                problems.push(format!("Take limit {} left after {bytes} bytes", t.limit()));
            }
            None
        }
    };
    if let Some(h) = feeder {
        match h.join() {
            Ok(()) => {}
            Err(e) if problems.is_empty() => problems.push(format!("feeder: {e}")),
            Err(_) => {}
        }
    }
}

/// The destination after a copy of `bytes`: its offset, and what arrived against `expected`.
fn check_destination(dst: Dst, bytes: u64, expected: &[u8], problems: &mut Vec<String>) {
    let received: Option<io::Result<Vec<u8>>> = match dst {
        Dst::File(mut f) => {
            match f.stream_position() {
                Ok(p) if p == bytes => {}
                Ok(p) => problems.push(format!("destination offset {p} after {bytes} bytes")),
                Err(e) => problems.push(format!("destination offset: {e}")),
            }
            let mut v = Vec::with_capacity(SAMPLE);
            Some(f.rewind().and_then(|_| f.read_to_end(&mut v)).map(|_| v))
        }
        Dst::Pipe(w, h) => {
            drop(w);
            Some(h.join())
        }
        Dst::Tcp(w, h) => {
            let _ = w.shutdown(Shutdown::Write);
            drop(w);
            Some(h.join())
        }
        Dst::Unix(w, h) => {
            let _ = w.shutdown(Shutdown::Write);
            drop(w);
            Some(h.join())
        }
        // /dev/null keeps nothing: the count is all there is to check.
        Dst::Null(_) => None,
    };
    match received {
        Some(Ok(v)) if v.as_slice() == expected => {}
        Some(Ok(v)) => {
            let first = v.iter().zip(expected).position(|(a, b)| a != b);
            problems.push(match first {
                Some(i) => format!("{} bytes arrived, first difference at byte {i}", v.len()),
                None => format!("{} bytes arrived, {} expected", v.len(), expected.len()),
            });
        }
        Some(Err(e)) => problems.push(format!("reading the destination: {e}")),
        None => {}
    }
}

struct MatrixCtx {
    data: Arc<[u8]>,
    zeros: Vec<u8>,
    listener: TcpListener,
    dir: PathBuf,
}

/// Runs every pair, naming the current one in `current` for the watchdog.
pub fn run(current: &Mutex<String>) -> Result<Vec<Row>, String> {
    let ctx = MatrixCtx {
        data: Arc::from(payload(SAMPLE, 1)),
        zeros: vec![0u8; SAMPLE],
        listener: TcpListener::bind("127.0.0.1:0").map_err(|e| format!("loopback listener: {e}"))?,
        dir: std::env::temp_dir(),
    };
    let mut rows = Vec::new();
    for s in SOURCES {
        for d in DESTINATIONS {
            if let Ok(mut c) = current.lock() {
                *c = format!("the copy {} -> {}", s.name(), d.name());
            }
            rows.push(run_pair(s, d, &ctx));
        }
    }
    Ok(rows)
}
