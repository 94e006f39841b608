//! `fd_pairs`: copies between real descriptors (files on the temporary directory's filesystem
//! and on /dev/shm, pipes, loopback TCP, unix stream sockets) through the drop-in and the Go
//! API, with limits (`Take`, `LimitedReader`, `copy_n`), `BufReader`s holding pre-read bytes,
//! `BufWriter`s holding unflushed bytes, source and destination offsets, `O_APPEND` set after
//! open, and both page-cache policies. Checked: the count, the destination's bytes and offset,
//! the source's offset and unread remainder (bytes past a limit must stay in the pipe or
//! socket), the limits left, and that a pair the strategy table sends to the kernel is not
//! silently copied by the loop.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, ErrorKind, PipeReader, PipeWriter, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use fdcopy::table::{Facts, FdKind, SocketFamily};
use fdcopy::{Copier, CopyError, CopySink, CopySource, PageCache, Report, Strategy};
use fdcopy_testkit::{drain_keep, feed, tcp_pair_on, Peer};
use libfuzzer_sys::arbitrary::{self, Arbitrary};

/// Largest payload.
pub const MAX_DATA: u32 = 256 * 1024;
/// Socket timeouts: a stuck copy fails instead of hanging (libFuzzer's -timeout is the bound
/// for pipes).
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file in `std::env::temp_dir()`.
    File,
    /// A regular file on /dev/shm (tmpfs; another filesystem than the temp dir, usually).
    Shm,
    Pipe,
    Tcp,
    Unix,
}

impl Kind {
    fn fd_kind(self) -> FdKind {
        match self {
            Kind::File | Kind::Shm => FdKind::File,
            Kind::Pipe => FdKind::Pipe,
            Kind::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
            Kind::Unix => FdKind::StreamSocket(SocketFamily::Unix),
        }
    }
    fn is_file(self) -> bool {
        matches!(self, Kind::File | Kind::Shm)
    }
}

/// How the source is wrapped, and which API copies it.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Stack {
    /// `Copier::copy(&mut src, ..)`.
    Plain,
    /// `Copier::copy(&mut src.take(n), ..)`.
    Take(u32),
    /// `Copier::copy(&mut BufReader(src), ..)` after a pre-read.
    Buf,
    /// `Copier::copy(&mut BufReader(src).take(n), ..)`, pre-read before the limit.
    TakeBuf(u32),
    /// `Copier::copy(&mut BufReader(src.take(n)), ..)`, pre-read inside the limit.
    BufTake(u32),
    /// `Copier::copy(dst, &mut limit_reader(src, n))`.
    Limited(u32),
    /// `Copier::copy(dst, &mut limit_reader(BufReader(src), n))`.
    LimitedBuf(u32),
    /// `copy_n(dst, src, n)`.
    CopyN(u32),
    /// `Copier::copy(dst, src)`.
    Go,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Input {
    pub src: Kind,
    pub dst: Kind,
    pub len: u32,
    pub seed: u8,
    pub stack: Stack,
    /// File sources: bytes before the data (the copy starts at this offset).
    pub src_offset: u16,
    /// BufReader capacity and bytes consumed from it before the copy.
    pub buf_cap: u16,
    pub pre_read: u16,
    /// File destinations: existing content, the offset to write at, `O_APPEND` (set with
    /// `fcntl` after open).
    pub dst_pre: u16,
    pub dst_offset: u16,
    pub append: bool,
    /// A `BufWriter` of this capacity around the destination, holding this many bytes.
    pub bufwriter: Option<(u16, u16)>,
    pub isolate: bool,
}

// ------------------------------------------------------------------------------------------
// Fixtures.

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A new, already unlinked file in `dir` holding `data`, at offset `pos`.
fn file_in(dir: &Path, data: &[u8], pos: u64) -> File {
    let path = dir.join(format!(
        ".fdcopy-fuzz-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::remove_file(&path).unwrap();
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    f
}

fn dir_of(kind: Kind) -> &'static Path {
    static TMP: OnceLock<std::path::PathBuf> = OnceLock::new();
    match kind {
        Kind::Shm if Path::new("/dev/shm").is_dir() => Path::new("/dev/shm"),
        _ => TMP.get_or_init(std::env::temp_dir),
    }
}

/// One loopback listener per process.
fn listener() -> &'static TcpListener {
    static L: OnceLock<TcpListener> = OnceLock::new();
    L.get_or_init(|| TcpListener::bind("127.0.0.1:0").expect("loopback listener"))
}

fn tcp_pair() -> (TcpStream, TcpStream) {
    tcp_pair_on(listener(), IO_TIMEOUT).unwrap()
}

fn unix_pair() -> (UnixStream, UnixStream) {
    fdcopy_testkit::unix_pair(IO_TIMEOUT).unwrap()
}

/// Closes a TCP socket without TIME_WAIT (every byte has been read by then), so that
/// thousands of runs do not pile up sockets.
fn close_tcp(s: TcpStream) {
    let _ = rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO));
}

/// `feed` for TCP: shuts the sending side down and hands the socket back, to be closed
/// without TIME_WAIT once the reader has read everything.
fn feed_tcp(mut w: TcpStream, data: Vec<u8>) -> Peer<TcpStream> {
    Peer::spawn(move || {
        w.write_all(&data)?;
        w.shutdown(std::net::Shutdown::Write)?;
        Ok(w)
    })
}

// ------------------------------------------------------------------------------------------
// The copy, generic over the descriptor types so that the drop-in sees std's own types.

struct Params {
    stack: Stack,
    cap: usize,
    pre: usize,
    page_cache: PageCache,
    /// The limit, reduced to a useful range.
    n: u64,
}

/// What a run did on the source side.
struct Ran<S> {
    /// Ok(count) or Err((count, kind)); the drop-in paths have a count from the report.
    result: Result<u64, (u64, ErrorKind)>,
    report: Option<Report>,
    /// Bytes the pre-read took.
    pre_read: usize,
    /// Bytes a BufReader still held after the copy.
    leftover: Vec<u8>,
    /// Bytes a BufReader held when the copy started.
    buffered_at_start: usize,
    /// The limit left afterwards (for `BufTake`: the inner `Take`'s).
    limit_left: Option<u64>,
    /// Whether a `BufReader` wraps the source (its buffered bytes go out by the loop).
    buffered_reader: bool,
    src: S,
}

/// Consumes up to `pre` bytes of what one `fill_buf` brings; returns (consumed, still held).
fn pre_read<R: Read>(b: &mut BufReader<R>, pre: usize) -> (usize, usize) {
    let avail = loop {
        match b.fill_buf() {
            Ok(x) => break x.len(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("pre-read: {e}"),
        }
    };
    let k = avail.min(pre);
    b.consume(k);
    (k, avail - k)
}

fn copier_result(r: Result<Report, CopyError>) -> (Result<u64, (u64, ErrorKind)>, Option<Report>) {
    match r {
        Ok(rep) => (Ok(rep.written()), Some(rep)),
        Err(e) => {
            let rep = e.report().clone();
            (Err((e.written(), e.kind())), Some(rep))
        }
    }
}

fn exercise<S, W>(src: S, dst: &mut W, p: &Params) -> Ran<S>
where
    S: Read + CopySource,
    W: Write + CopySink,
{
    let copier = || Copier::new().page_cache(p.page_cache);
    let ran = |result: (Result<u64, (u64, ErrorKind)>, Option<Report>), src: S| Ran {
        result: result.0,
        report: result.1,
        pre_read: 0,
        leftover: Vec::new(),
        buffered_at_start: 0,
        limit_left: None,
        buffered_reader: false,
        src,
    };
    match p.stack {
        Stack::Plain => {
            let mut s = src;
            let r = copier_result(copier().copy(&mut s, dst));
            ran(r, s)
        }
        Stack::Take(_) => {
            let mut t = src.take(p.n);
            let r = copier_result(copier().copy(&mut t, dst));
            let left = t.limit();
            Ran {
                limit_left: Some(left),
                ..ran(r, t.into_inner())
            }
        }
        Stack::Buf => {
            let mut b = BufReader::with_capacity(p.cap, src);
            let (k, held) = pre_read(&mut b, p.pre);
            let r = copier_result(copier().copy(&mut b, dst));
            let leftover = b.buffer().to_vec();
            Ran {
                pre_read: k,
                buffered_at_start: held,
                leftover,
                buffered_reader: true,
                ..ran(r, b.into_inner())
            }
        }
        Stack::TakeBuf(_) => {
            let mut b = BufReader::with_capacity(p.cap, src);
            let (k, held) = pre_read(&mut b, p.pre);
            let mut t = b.take(p.n);
            let r = copier_result(copier().copy(&mut t, dst));
            let left = t.limit();
            let b = t.into_inner();
            let leftover = b.buffer().to_vec();
            Ran {
                pre_read: k,
                buffered_at_start: held,
                leftover,
                limit_left: Some(left),
                buffered_reader: true,
                ..ran(r, b.into_inner())
            }
        }
        Stack::BufTake(_) => {
            let mut b = BufReader::with_capacity(p.cap, src.take(p.n));
            let (k, held) = pre_read(&mut b, p.pre);
            let r = copier_result(copier().copy(&mut b, dst));
            let leftover = b.buffer().to_vec();
            let t = b.into_inner();
            let left = t.limit();
            Ran {
                pre_read: k,
                buffered_at_start: held,
                leftover,
                limit_left: Some(left),
                buffered_reader: true,
                ..ran(r, t.into_inner())
            }
        }
        Stack::Limited(_) => {
            let mut l = fdcopy::go::limit_reader(src, p.n);
            let r = copier_result(copier().go_copy(dst, &mut l));
            Ran {
                limit_left: Some(l.remaining),
                ..ran(r, l.inner)
            }
        }
        Stack::LimitedBuf(_) => {
            let mut b = BufReader::with_capacity(p.cap, src);
            let (k, held) = pre_read(&mut b, p.pre);
            let mut l = fdcopy::go::limit_reader(b, p.n);
            let r = copier_result(copier().go_copy(dst, &mut l));
            let leftover = l.inner.buffer().to_vec();
            Ran {
                pre_read: k,
                buffered_at_start: held,
                leftover,
                limit_left: Some(l.remaining),
                buffered_reader: true,
                ..ran(r, l.inner.into_inner())
            }
        }
        Stack::CopyN(_) => {
            let mut s = src;
            let r = match fdcopy::go::copy_n(dst, &mut s, p.n) {
                Ok(n) => Ok(n),
                Err(e) => Err((e.written(), e.kind())),
            };
            ran((r, None), s)
        }
        Stack::Go => {
            let mut s = src;
            let r = copier_result(copier().go_copy(dst, &mut s));
            ran(r, s)
        }
    }
}

/// Runs `exercise` with or without a `BufWriter` (holding `bw_pre` unflushed bytes) around
/// the destination; returns the run and the destination.
fn with_writer<S, D>(src: S, mut dst: D, p: &Params, bufwriter: Option<(usize, &[u8])>) -> (Ran<S>, D)
where
    S: Read + CopySource,
    D: Write + CopySink,
{
    match bufwriter {
        None => {
            let ran = exercise(src, &mut dst, p);
            (ran, dst)
        }
        Some((cap, pre)) => {
            let mut bw = BufWriter::with_capacity(cap, &mut dst);
            bw.write_all(pre).unwrap();
            let ran = exercise(src, &mut bw, p);
            bw.flush().unwrap();
            drop(bw);
            (ran, dst)
        }
    }
}

enum Src {
    File(File),
    Pipe(PipeReader, Peer<()>),
    Tcp(TcpStream, Peer<TcpStream>),
    Unix(UnixStream, Peer<()>),
}

enum Dst {
    File(File),
    Pipe(PipeWriter, Peer<(Vec<u8>, PipeReader)>),
    Tcp(TcpStream, Peer<(Vec<u8>, TcpStream)>),
    Unix(UnixStream, Peer<(Vec<u8>, UnixStream)>),
}

pub fn run(input: Input) {
    // Half the runs up to 64 KiB (speed), half up to 256 KiB.
    let len = if input.len & 1 == 0 {
        (input.len >> 1) as usize % (64 * 1024 + 1)
    } else {
        (input.len >> 1) as usize % (MAX_DATA as usize + 1)
    };
    let data = crate::payload(len, input.seed as u64);
    let limit_range = 2 * len as u64 + 2;
    let n = match input.stack {
        Stack::Take(n)
        | Stack::TakeBuf(n)
        | Stack::BufTake(n)
        | Stack::Limited(n)
        | Stack::LimitedBuf(n)
        | Stack::CopyN(n) => n as u64 % limit_range,
        _ => 0,
    };
    let p = Params {
        stack: input.stack,
        cap: (input.buf_cap as usize).max(1),
        pre: input.pre_read as usize,
        page_cache: if input.isolate {
            PageCache::Isolate
        } else {
            PageCache::Share
        },
        n,
    };
    let bw_pre: Vec<u8> = match input.bufwriter {
        Some((_, k)) => crate::payload(k as usize % 8193, 3),
        None => Vec::new(),
    };
    let bufwriter = input
        .bufwriter
        .map(|(cap, _)| ((cap as usize).max(1), bw_pre.as_slice()));

    // The source.
    let src_prefix = if input.src.is_file() {
        crate::payload(input.src_offset as usize, 4)
    } else {
        Vec::new()
    };
    let src = match input.src {
        Kind::File | Kind::Shm => {
            let mut content = src_prefix.clone();
            content.extend_from_slice(&data);
            Src::File(file_in(dir_of(input.src), &content, src_prefix.len() as u64))
        }
        Kind::Pipe => {
            let (r, w) = io::pipe().unwrap();
            Src::Pipe(r, feed(w, data.clone()))
        }
        Kind::Tcp => {
            let (c, s) = tcp_pair();
            Src::Tcp(s, feed_tcp(c, data.clone()))
        }
        Kind::Unix => {
            let (a, b) = unix_pair();
            Src::Unix(b, feed(a, data.clone()))
        }
    };

    // The destination.
    let dst_pre = if input.dst.is_file() {
        crate::payload(input.dst_pre as usize, 5)
    } else {
        Vec::new()
    };
    let dst_off = input.dst_offset as usize % (dst_pre.len() + 1);
    let append = input.append && input.dst.is_file();
    let dst = match input.dst {
        Kind::File | Kind::Shm => {
            let f = file_in(dir_of(input.dst), &dst_pre, dst_off as u64);
            if append {
                let fl = rustix::fs::fcntl_getfl(&f).unwrap();
                rustix::fs::fcntl_setfl(&f, fl | rustix::fs::OFlags::APPEND).unwrap();
            }
            Dst::File(f)
        }
        Kind::Pipe => {
            let (r, w) = io::pipe().unwrap();
            Dst::Pipe(w, drain_keep(r))
        }
        Kind::Tcp => {
            let (c, s) = tcp_pair();
            Dst::Tcp(c, drain_keep(s))
        }
        Kind::Unix => {
            let (a, b) = unix_pair();
            Dst::Unix(a, drain_keep(b))
        }
    };

    let outcome = run_pair(src, dst, &p, bufwriter);
    check(
        &input,
        &p,
        &data,
        &src_prefix,
        &dst_pre,
        dst_off,
        append,
        &bw_pre,
        outcome,
    );
}

/// What the destination holds after the copy.
enum Received {
    /// The whole file and its offset.
    File(Vec<u8>, u64),
    /// What the peer read.
    Stream(Vec<u8>),
}

/// Everything `check` needs, with the descriptor types erased.
struct Outcome {
    result: Result<u64, (u64, ErrorKind)>,
    report: Option<Report>,
    pre_read: usize,
    leftover: Vec<u8>,
    buffered_at_start: usize,
    limit_left: Option<u64>,
    buffered_reader: bool,
    src_rest: Vec<u8>,
    /// File sources: the offset right after the copy.
    src_offset: Option<u64>,
    received: Received,
}

fn erase<S>(ran: Ran<S>) -> (Outcome, S) {
    (
        Outcome {
            result: ran.result,
            report: ran.report,
            pre_read: ran.pre_read,
            leftover: ran.leftover,
            buffered_at_start: ran.buffered_at_start,
            limit_left: ran.limit_left,
            buffered_reader: ran.buffered_reader,
            src_rest: Vec::new(),
            src_offset: None,
            received: Received::Stream(Vec::new()),
        },
        ran.src,
    )
}

fn run_pair(src: Src, dst: Dst, p: &Params, bufwriter: Option<(usize, &[u8])>) -> Outcome {
    // Copies with `dst`, returning the erased outcome, the source, and the destination.
    macro_rules! into_dst {
        ($s:expr) => {{
            let s = $s;
            match dst {
                Dst::File(d) => {
                    let (ran, mut d) = with_writer(s, d, p, bufwriter);
                    let pos = d.stream_position().unwrap();
                    let mut all = Vec::new();
                    d.seek(SeekFrom::Start(0)).unwrap();
                    d.read_to_end(&mut all).unwrap();
                    let (mut o, s) = erase(ran);
                    o.received = Received::File(all, pos);
                    (o, s)
                }
                Dst::Pipe(d, h) => {
                    let (ran, d) = with_writer(s, d, p, bufwriter);
                    drop(d);
                    let (got, _r) = h.join().expect("draining the pipe");
                    let (mut o, s) = erase(ran);
                    o.received = Received::Stream(got);
                    (o, s)
                }
                Dst::Tcp(d, h) => {
                    let (ran, d) = with_writer(s, d, p, bufwriter);
                    d.shutdown(std::net::Shutdown::Write).unwrap();
                    let (got, r) = h.join().expect("draining the socket");
                    close_tcp(d);
                    close_tcp(r);
                    let (mut o, s) = erase(ran);
                    o.received = Received::Stream(got);
                    (o, s)
                }
                Dst::Unix(d, h) => {
                    let (ran, d) = with_writer(s, d, p, bufwriter);
                    d.shutdown(std::net::Shutdown::Write).unwrap();
                    drop(d);
                    let (got, _r) = h.join().expect("draining the socket");
                    let (mut o, s) = erase(ran);
                    o.received = Received::Stream(got);
                    (o, s)
                }
            }
        }};
    }
    match src {
        Src::File(f) => {
            let (mut o, mut f) = into_dst!(f);
            o.src_offset = Some(f.stream_position().unwrap());
            f.read_to_end(&mut o.src_rest).unwrap();
            o
        }
        Src::Pipe(r, h) => {
            let (mut o, mut r) = into_dst!(r);
            r.read_to_end(&mut o.src_rest).expect("pipe remainder");
            h.join().expect("feeding the pipe");
            o
        }
        Src::Tcp(r, h) => {
            let (mut o, mut r) = into_dst!(r);
            r.read_to_end(&mut o.src_rest).expect("socket remainder");
            let c = h.join().expect("feeding the socket");
            close_tcp(c);
            close_tcp(r);
            o
        }
        Src::Unix(r, h) => {
            let (mut o, mut r) = into_dst!(r);
            r.read_to_end(&mut o.src_rest).expect("socket remainder");
            h.join().expect("feeding the socket");
            o
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check(
    input: &Input,
    p: &Params,
    data: &[u8],
    src_prefix: &[u8],
    dst_pre: &[u8],
    dst_off: usize,
    append: bool,
    bw_pre: &[u8],
    o: Outcome,
) {
    let ctx = || format!("input {input:?}\nlen {} n {}", data.len(), p.n);
    let a = data.len() as u64;
    let k = o.pre_read as u64;
    let n = p.n;
    // The expected count and limit left.
    let (count, limit_left, short) = match p.stack {
        Stack::Plain | Stack::Go => (a, None, false),
        Stack::Buf => (a - k, None, false),
        Stack::Take(_) | Stack::Limited(_) => (n.min(a), Some(n - n.min(a)), false),
        Stack::TakeBuf(_) | Stack::LimitedBuf(_) => {
            let c = n.min(a - k);
            (c, Some(n - c), false)
        }
        // The BufReader read min(n, a) bytes from the descriptor, all within the limit.
        Stack::BufTake(_) => (n.min(a) - k, Some(n - n.min(a)), false),
        Stack::CopyN(_) => (n.min(a), None, n > a),
    };
    match (&o.result, short) {
        (Ok(c), false) => assert_eq!(*c, count, "count\n{}", ctx()),
        (Err((w, kind)), true) => {
            assert_eq!(*kind, ErrorKind::UnexpectedEof, "{}", ctx());
            assert_eq!(*w, count, "count with UnexpectedEof\n{}", ctx());
        }
        (r, _) => panic!("result {r:?}, expected count {count} (short: {short})\n{}", ctx()),
    }
    if let Some(rep) = &o.report {
        assert_eq!(rep.written(), count, "report count\n{}", ctx());
    }
    assert_eq!(o.limit_left, limit_left, "limit left\n{}", ctx());

    // The source: the logical remainder is the BufReader's leftover, then the descriptor's.
    let consumed = k + count;
    let mut rest = o.leftover.clone();
    rest.extend_from_slice(&o.src_rest);
    assert!(
        rest == data[consumed as usize..],
        "source remainder: {} bytes, expected {}\n{}",
        rest.len(),
        data.len() as u64 - consumed,
        ctx()
    );
    if let Some(off) = o.src_offset {
        let want = src_prefix.len() as u64 + consumed + o.leftover.len() as u64;
        assert_eq!(off, want, "source offset\n{}", ctx());
    }

    // The destination.
    let mut stream = bw_pre.to_vec();
    stream.extend_from_slice(&data[k as usize..consumed as usize]);
    match &o.received {
        Received::File(all, pos) => {
            let mut want;
            let want_pos;
            if append {
                want = dst_pre.to_vec();
                want.extend_from_slice(&stream);
                // Nothing written: the offset stays where it was.
                want_pos = if stream.is_empty() {
                    dst_off as u64
                } else {
                    want.len() as u64
                };
            } else {
                want = dst_pre[..dst_off].to_vec();
                want.extend_from_slice(&stream);
                if want.len() < dst_pre.len() {
                    want.extend_from_slice(&dst_pre[want.len()..]);
                }
                want_pos = (dst_off + stream.len()) as u64;
            }
            assert!(
                *all == want,
                "destination file: {} bytes, expected {}\n{}",
                all.len(),
                want.len(),
                ctx()
            );
            assert_eq!(*pos, want_pos, "destination offset\n{}", ctx());
        }
        Received::Stream(got) => {
            assert!(
                *got == stream,
                "destination stream: {} bytes, expected {}\n{}",
                got.len(),
                stream.len(),
                ctx()
            );
        }
    }

    // The strategy: a pair the table sends to the kernel is not moved by the loop, apart
    // from a BufReader's buffered bytes (they go out first, through user space).
    if let Some(rep) = &o.report {
        let src_size = input.src.is_file().then(|| (src_prefix.len() + data.len()) as u64);
        let limit = match p.stack {
            Stack::Plain | Stack::Go | Stack::Buf => None,
            // What the engine sees: BufReader<Take> has read part of its limit already.
            Stack::BufTake(_) => Some(n - (k + o.buffered_at_start as u64)),
            _ => Some(n),
        };
        let size_hint = match (src_size, limit) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        let mut facts = Facts::new(input.src.fd_kind(), input.dst.fd_kind());
        facts.dst_append = append;
        facts.size_hint = size_hint;
        facts.page_cache = p.page_cache;
        let plan = fdcopy::table::plan(&facts);
        let kernel_first = plan.first() != Strategy::Buffered;
        let allowance = if o.buffered_reader { p.cap as u64 } else { 0 };
        if kernel_first {
            assert!(
                rep.bytes_by(Strategy::Buffered) <= allowance,
                "plan {:?} but the loop moved {} bytes ({rep:?})\n{}",
                plan.steps(),
                rep.bytes_by(Strategy::Buffered),
                ctx()
            );
        } else {
            for (s, _) in rep.strategies() {
                assert_eq!(s, Strategy::Buffered, "plan {:?} but {rep:?}\n{}", plan.steps(), ctx());
            }
        }
    }
}
