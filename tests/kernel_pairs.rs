//! Every pair of real descriptor kinds, through the drop-in path (`Copier::copy`, std types)
//! and the Go path (`Copier::copy`, `go::copy`), unlimited and limited (`Take`, `LimitedReader`):
//! content, count, both offsets, limits afterwards, bytes past a limit left unread, and the
//! strategy of the table in `src/strategy.rs` (`plan()`) that moved the bytes.
//!
//! The matrix is a table: `Src` and `Dst` name the endpoint kinds, `Source::new`/`Sink::new`
//! build the std value plus the peer thread that feeds or drains it, and `pairs!` generates one
//! `#[test]` per pair, so every failing pair is reported on its own (each message names the
//! pair and the mode).
mod common;
use common::*;

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read, Seek, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;

use fdcopy::go::limit_reader;
use fdcopy::{Copier, CopyError, CopySink, CopySource, PageCache, Report, Strategy};
use fdcopy_testkit::{drain, feed, payload, Peer};

/// Stream payloads: a few MiB, so that the kernel paths really run (copies known to be at most
/// `SMALL_COPY` take the loop), and not a multiple of any page or pipe size.
const LEN: usize = (2 << 20) + 4321;
/// Where a source file is positioned before the copy.
const SRC_START: u64 = 12_345;
/// A destination file holds `DST_PRE` bytes and is positioned at `DST_START` before the copy.
const DST_PRE: usize = 777;
const DST_START: u64 = 500;
/// Bytes left past the limit of a limited copy that does not reach the end.
const SHORT_BY: u64 = 300_007;
/// Bytes a limit exceeds the source by, in the `Over` modes.
const OVER_BY: u64 = 5_003;
/// How much of `/dev/zero` a (necessarily limited) copy takes.
const ZERO_LEN: u64 = (1 << 20) + 17;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    /// A regular file in `$TMPDIR` (ext4 here).
    File,
    /// A regular file on tmpfs (`/dev/shm`).
    Shm,
    Pipe,
    Tcp,
    Unix,
    /// `/dev/zero`: endless, so only limited copies.
    Zero,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dst {
    File,
    Shm,
    Pipe,
    Tcp,
    Unix,
    /// `/dev/null`.
    Null,
}

/// Where a limit sits relative to what the source holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fit {
    /// `SHORT_BY` bytes before the end: the rest must stay unread.
    Under,
    /// `OVER_BY` bytes past the end: the copy ends at end of file, the limit keeps the excess.
    Over,
}

/// The API and the limit layer a copy goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `Copier::copy(&mut r, &mut w)`.
    Std,
    /// `Copier::copy(&mut (&mut r).take(n), &mut w)`.
    StdTake(Fit),
    /// `Copier::copy(&mut w, &mut r)`.
    Go,
    /// `Copier::copy(&mut w, &mut (&mut r).take(n))`.
    GoTake(Fit),
    /// `Copier::copy(&mut w, &mut limit_reader(&mut r, n))`.
    GoLimited(Fit),
    /// `fdcopy::go::copy(&mut w, &mut r)` (count only, no report).
    IoCopy,
}

impl Mode {
    fn fit(self) -> Option<Fit> {
        match self {
            Mode::StdTake(f) | Mode::GoTake(f) | Mode::GoLimited(f) => Some(f),
            _ => None,
        }
    }
}

/// The matrix's modes for a source: `/dev/zero` never ends, so it only takes limited copies.
fn modes(src: Src) -> &'static [Mode] {
    use Fit::Under;
    if src == Src::Zero {
        &[Mode::StdTake(Under), Mode::GoTake(Under), Mode::GoLimited(Under)]
    } else {
        &[
            Mode::Std,
            Mode::StdTake(Under),
            Mode::Go,
            Mode::GoTake(Under),
            Mode::GoLimited(Under),
            Mode::IoCopy,
        ]
    }
}

enum SrcFd {
    File(File),
    Pipe(PipeReader),
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A source endpoint: the std value, what it will yield, and the peer thread feeding it.
struct Source {
    kind: Src,
    fd: SrcFd,
    /// Every byte the source yields from its position to its end (`None`: `/dev/zero`).
    stream: Option<Vec<u8>>,
    feeder: Option<Peer<()>>,
}

impl Source {
    fn new(kind: Src, data: &[u8]) -> Source {
        let (fd, stream, feeder) = match kind {
            Src::File => (
                SrcFd::File(file_with(data, SRC_START)),
                Some(data[SRC_START as usize..].to_vec()),
                None,
            ),
            Src::Shm => (
                SrcFd::File(shm_file_with(data, SRC_START)),
                Some(data[SRC_START as usize..].to_vec()),
                None,
            ),
            Src::Pipe => {
                let (r, w) = io::pipe().unwrap();
                (SrcFd::Pipe(r), Some(data.to_vec()), Some(feed(w, data.to_vec())))
            }
            Src::Tcp => {
                let (c, s) = tcp_pair();
                (SrcFd::Tcp(s), Some(data.to_vec()), Some(feed(c, data.to_vec())))
            }
            Src::Unix => {
                let (a, b) = unix_pair();
                (SrcFd::Unix(b), Some(data.to_vec()), Some(feed(a, data.to_vec())))
            }
            Src::Zero => (SrcFd::File(File::open("/dev/zero").unwrap()), None, None),
        };
        Source {
            kind,
            fd,
            stream,
            feeder,
        }
    }

    /// What the source holds from its position on (for `/dev/zero`: what the copies take).
    fn len(&self) -> u64 {
        self.stream.as_ref().map_or(ZERO_LEN, |s| s.len() as u64)
    }

    /// The first `n` bytes the source yields.
    fn expected(&self, n: u64) -> Vec<u8> {
        match &self.stream {
            Some(s) => s[..n as usize].to_vec(),
            None => vec![0; n as usize],
        }
    }

    fn dev(&self) -> Option<u64> {
        match (&self.fd, self.kind) {
            (SrcFd::File(f), Src::File | Src::Shm) => Some(f.metadata().unwrap().dev()),
            _ => None,
        }
    }

    /// After a copy of `copied` bytes: a file's offset moved by exactly that much, and a
    /// stream still yields every byte past it (nothing past a limit was consumed).
    fn verify(self, copied: u64, ctx: &str) {
        let stream = self.stream.as_deref();
        match self.fd {
            SrcFd::File(mut f) if self.kind != Src::Zero => {
                let pos = f.stream_position().unwrap();
                assert_eq!(pos, SRC_START + copied, "{ctx}: source file offset afterwards");
            }
            SrcFd::File(_) => {}
            SrcFd::Pipe(mut r) => check_rest(&mut r, stream.unwrap(), copied, ctx),
            SrcFd::Tcp(mut s) => check_rest(&mut s, stream.unwrap(), copied, ctx),
            SrcFd::Unix(mut s) => check_rest(&mut s, stream.unwrap(), copied, ctx),
        }
        if let Some(h) = self.feeder {
            h.join().unwrap();
        }
    }
}

/// A limited copy consumed nothing past its limit: the stream still yields the rest.
fn check_rest(r: &mut impl Read, stream: &[u8], copied: u64, ctx: &str) {
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert_eq!(
        rest.len(),
        stream.len() - copied as usize,
        "{ctx}: bytes left in the source"
    );
    assert!(
        rest == stream[copied as usize..],
        "{ctx}: the bytes left in the source differ"
    );
}

enum DstFd {
    File(File),
    Pipe(PipeWriter),
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A destination endpoint: the std value, and the peer thread draining it.
struct Sink {
    kind: Dst,
    fd: DstFd,
    /// A destination file's content before the copy (it is positioned at `DST_START`).
    pre: Vec<u8>,
    drain: Option<Peer<Vec<u8>>>,
}

impl Sink {
    fn new(kind: Dst) -> Sink {
        let pre = payload(DST_PRE, 99);
        let (fd, drain) = match kind {
            Dst::File => (DstFd::File(file_with(&pre, DST_START)), None),
            Dst::Shm => (DstFd::File(shm_file_with(&pre, DST_START)), None),
            Dst::Pipe => {
                let (r, w) = io::pipe().unwrap();
                (DstFd::Pipe(w), Some(drain(r)))
            }
            Dst::Tcp => {
                let (c, s) = tcp_pair();
                (DstFd::Tcp(c), Some(drain(s)))
            }
            Dst::Unix => {
                let (a, b) = unix_pair();
                (DstFd::Unix(a), Some(drain(b)))
            }
            Dst::Null => (
                DstFd::File(OpenOptions::new().write(true).open("/dev/null").unwrap()),
                None,
            ),
        };
        Sink { kind, fd, pre, drain }
    }

    fn dev(&self) -> Option<u64> {
        match (&self.fd, self.kind) {
            (DstFd::File(f), Dst::File | Dst::Shm) => Some(f.metadata().unwrap().dev()),
            _ => None,
        }
    }

    /// After the copy: the destination received exactly `want`; a file kept its bytes before
    /// its start offset and is positioned right after the copied bytes.
    fn verify(self, want: &[u8], ctx: &str) {
        let n = want.len() as u64;
        match self.fd {
            DstFd::File(mut f) if matches!(self.kind, Dst::File | Dst::Shm) => {
                let (got, pos) = contents(&mut f);
                assert_eq!(pos, DST_START + n, "{ctx}: destination file offset afterwards");
                assert_eq!(got.len() as u64, DST_START + n, "{ctx}: destination file length");
                assert!(
                    got[..DST_START as usize] == self.pre[..DST_START as usize],
                    "{ctx}: the destination's bytes before its start offset were changed"
                );
                assert!(got[DST_START as usize..] == *want, "{ctx}: destination content differs");
            }
            DstFd::File(_) => {} // /dev/null keeps nothing
            fd => {
                drop(fd); // end of file for the drain thread
                let got = self.drain.unwrap().join().unwrap();
                assert_eq!(got.len(), want.len(), "{ctx}: bytes received by the peer");
                assert!(got == want, "{ctx}: bytes received by the peer differ");
            }
        }
    }
}

/// What one copy returned.
struct Outcome {
    /// The count, and the report (none from `go::copy`).
    result: Result<(u64, Option<Report>), CopyError>,
    /// The limit layer's value afterwards (`Take::limit()` or `LimitedReader::remaining`).
    limit_after: Option<u64>,
}

fn with_count(r: Report) -> (u64, Option<Report>) {
    (r.written(), Some(r))
}

fn copier(policy: PageCache) -> Copier<'static> {
    Copier::new().page_cache(policy)
}

/// Runs one copy from `r` to `w` in `mode`, with the limit `n` for limited modes.
fn run<R, W>(mode: Mode, n: u64, policy: PageCache, r: &mut R, w: &mut W) -> Outcome
where
    R: Read + CopySource,
    W: Write + CopySink,
{
    let (result, limit_after) = match mode {
        Mode::Std => (copier(policy).copy(r, w).map(with_count), None),
        Mode::StdTake(_) => {
            let mut take = (&mut *r).take(n);
            let res = copier(policy).copy(&mut take, w);
            (res.map(with_count), Some(take.limit()))
        }
        Mode::Go => (copier(policy).go_copy(w, r).map(with_count), None),
        Mode::GoTake(_) => {
            let mut take = (&mut *r).take(n);
            let res = copier(policy).go_copy(w, &mut take);
            (res.map(with_count), Some(take.limit()))
        }
        Mode::GoLimited(_) => {
            let mut lim = limit_reader(&mut *r, n);
            let res = copier(policy).go_copy(w, &mut lim);
            (res.map(with_count), Some(lim.remaining))
        }
        Mode::IoCopy => {
            assert_eq!(policy, PageCache::Share, "go::copy has the default policy");
            // A count only: no report to check.
            (fdcopy::go::copy(w, r).map(|n| (n, None)), None)
        }
    };
    Outcome { result, limit_after }
}

/// `run` with the concrete std types of both endpoints (the drop-in path recognises them by
/// type, so they must not be erased).
fn run_any(mode: Mode, n: u64, policy: PageCache, src: &mut SrcFd, dst: &mut DstFd) -> Outcome {
    fn to<R: Read + CopySource>(mode: Mode, n: u64, policy: PageCache, r: &mut R, dst: &mut DstFd) -> Outcome {
        match dst {
            DstFd::File(w) => run(mode, n, policy, r, w),
            DstFd::Pipe(w) => run(mode, n, policy, r, w),
            DstFd::Tcp(w) => run(mode, n, policy, r, w),
            DstFd::Unix(w) => run(mode, n, policy, r, w),
        }
    }
    match src {
        SrcFd::File(r) => to(mode, n, policy, r, dst),
        SrcFd::Pipe(r) => to(mode, n, policy, r, dst),
        SrcFd::Tcp(r) => to(mode, n, policy, r, dst),
        SrcFd::Unix(r) => to(mode, n, policy, r, dst),
    }
}

/// The strategy the table (`plan()` in src/strategy.rs) picks for a pair under `Share`.
fn expected_strategy(src: Src, dst: Dst) -> Strategy {
    use Strategy::*;
    match (src, dst) {
        (Src::File | Src::Shm, Dst::File | Dst::Shm) => CopyFileRange,
        (Src::File | Src::Shm, Dst::Pipe) => Splice,
        (Src::File | Src::Shm, Dst::Tcp | Dst::Unix | Dst::Null) => Sendfile,
        (Src::Pipe, _) => Splice,
        (Src::Tcp | Src::Unix | Src::Zero, Dst::Pipe) => Splice,
        (Src::Tcp | Src::Unix | Src::Zero, _) => SpliceViaPipe,
    }
}

/// One copy of the matrix, fully checked. `want` overrides the expected strategy.
fn check(src_kind: Src, dst_kind: Dst, mode: Mode, policy: PageCache, want: Option<Strategy>) {
    let seed = 1 + src_kind as u64 * 10 + dst_kind as u64;
    let data = payload(LEN, seed);
    let mut src = Source::new(src_kind, &data);
    let mut dst = Sink::new(dst_kind);
    let ctx = format!("{src_kind:?} -> {dst_kind:?}, {mode:?}, {policy:?}");

    let len = src.len();
    let (n, copied, limit_left) = match mode.fit() {
        None => (u64::MAX, len, None),
        Some(Fit::Under) => (len - SHORT_BY, len - SHORT_BY, Some(0)),
        Some(Fit::Over) => (len + OVER_BY, len, Some(OVER_BY)),
    };
    let n = if src_kind == Src::Zero { ZERO_LEN } else { n };
    let copied = if src_kind == Src::Zero { ZERO_LEN } else { copied };

    // What the table decides, including the cross-filesystem fallback of copy_file_range.
    let mut want = want.or(Some(expected_strategy(src_kind, dst_kind)));
    if want == Some(Strategy::CopyFileRange) && src.dev() != dst.dev() {
        want = Some(Strategy::Sendfile); // EXDEV, then sendfile file -> file
    }
    if matches!((src_kind, dst_kind), (Src::File, Dst::Shm) | (Src::Shm, Dst::File)) && src.dev() == dst.dev() {
        eprintln!("SKIP strategy assertion of {ctx}: $TMPDIR and /dev/shm are the same filesystem (no EXDEV)");
        want = None;
    }

    let out = run_any(mode, n, policy, &mut src.fd, &mut dst.fd);
    let (count, report) = match out.result {
        Ok(r) => r,
        Err(e) => panic!("{ctx}: copy failed: {e:?}"),
    };
    assert_eq!(count, copied, "{ctx}: count");
    if let Some(report) = &report {
        if let Some(want) = want {
            assert_eq!(report.strategy(), want, "{ctx}: strategy, {report:?}");
            assert_eq!(
                report.bytes_by(want),
                copied,
                "{ctx}: every byte moved by {want}, {report:?}"
            );
        }
    }
    assert_eq!(out.limit_after, limit_left, "{ctx}: the limit afterwards");
    let expected = src.expected(copied);
    src.verify(copied, &ctx);
    dst.verify(&expected, &ctx);
}

fn check_pair(src: Src, dst: Dst) {
    for &mode in modes(src) {
        check(src, dst, mode, PageCache::Share, None);
    }
}

macro_rules! pairs {
    ($($name:ident: $src:ident -> $dst:ident,)*) => {$(
        #[test]
        fn $name() {
            check_pair(Src::$src, Dst::$dst);
        }
    )*};
}

pairs! {
    file_to_file: File -> File,
    file_to_shm: File -> Shm,
    file_to_pipe: File -> Pipe,
    file_to_tcp: File -> Tcp,
    file_to_unix: File -> Unix,
    file_to_null: File -> Null,
    shm_to_file: Shm -> File,
    shm_to_shm: Shm -> Shm,
    shm_to_pipe: Shm -> Pipe,
    shm_to_tcp: Shm -> Tcp,
    shm_to_unix: Shm -> Unix,
    shm_to_null: Shm -> Null,
    pipe_to_file: Pipe -> File,
    pipe_to_shm: Pipe -> Shm,
    pipe_to_pipe: Pipe -> Pipe,
    pipe_to_tcp: Pipe -> Tcp,
    pipe_to_unix: Pipe -> Unix,
    pipe_to_null: Pipe -> Null,
    tcp_to_file: Tcp -> File,
    tcp_to_shm: Tcp -> Shm,
    tcp_to_pipe: Tcp -> Pipe,
    tcp_to_tcp: Tcp -> Tcp,
    tcp_to_unix: Tcp -> Unix,
    tcp_to_null: Tcp -> Null,
    unix_to_file: Unix -> File,
    unix_to_shm: Unix -> Shm,
    unix_to_pipe: Unix -> Pipe,
    unix_to_tcp: Unix -> Tcp,
    unix_to_unix: Unix -> Unix,
    unix_to_null: Unix -> Null,
    zero_to_file: Zero -> File,
    zero_to_shm: Zero -> Shm,
    zero_to_pipe: Zero -> Pipe,
    zero_to_tcp: Zero -> Tcp,
    zero_to_unix: Zero -> Unix,
    zero_to_null: Zero -> Null,
}

/// One small copy of exactly `n` bytes: through a `Take` of `n` (from a source holding 1000
/// bytes more, which must stay unread) or, for `Mode::Std`, from a file holding exactly `n`
/// bytes past its offset (`SRC_START`); bytes, offsets, the limit and the strategy checked.
fn check_small(src_kind: Src, dst_kind: Dst, mode: Mode, n: u64, want: Strategy) {
    let extra = if mode == Mode::Std { 0 } else { 1000 };
    let start = if matches!(src_kind, Src::File | Src::Shm) {
        SRC_START
    } else {
        0
    };
    let data = payload((start + n + extra) as usize, 7 + n);
    let mut src = Source::new(src_kind, &data);
    let mut dst = Sink::new(dst_kind);
    let ctx = format!("{src_kind:?} -> {dst_kind:?}, {n} bytes, {mode:?}");
    let out = run_any(mode, n, PageCache::Share, &mut src.fd, &mut dst.fd);
    let (count, report) = out.result.unwrap_or_else(|e| panic!("{ctx}: {e:?}"));
    assert_eq!(count, n, "{ctx}: count");
    let report = report.unwrap();
    assert_eq!(report.strategy(), want, "{ctx}: {report:?}");
    assert_eq!(report.bytes_by(want), n, "{ctx}: {report:?}");
    assert_eq!(
        out.limit_after,
        (mode != Mode::Std).then_some(0),
        "{ctx}: the limit afterwards"
    );
    let expected = src.expected(n);
    src.verify(n, &ctx);
    dst.verify(&expected, &ctx);
}

/// Each pair's small-copy bound (`fdcopy::table::small_copy`, measured by `cargo xtask bench
/// --sweep`): file → socket takes `sendfile` at any size, socket → socket the loop up to
/// 4 KiB, every other pair the loop up to 16 KiB.
#[test]
fn small_copies_follow_the_pair_bound() {
    use Strategy::*;
    let small = fdcopy::table::SMALL_COPY;
    let take = Mode::StdTake(Fit::Under);
    for (src, dst, mode, n, want) in [
        (Src::Shm, Dst::Tcp, take, 1, Sendfile),
        (Src::Shm, Dst::Tcp, take, 4096, Sendfile),
        (Src::File, Dst::Unix, take, small, Sendfile),
        (Src::Shm, Dst::Tcp, Mode::Std, 4096, Sendfile),
        (Src::Shm, Dst::Pipe, take, small, Buffered),
        (Src::Shm, Dst::Pipe, take, small + 1, Splice),
        (Src::Pipe, Dst::Tcp, take, small, Buffered),
        (Src::Tcp, Dst::Pipe, take, small, Buffered),
        (Src::Tcp, Dst::Tcp, take, 4096, Buffered),
        (Src::Tcp, Dst::Unix, take, 4097, SpliceViaPipe),
        (Src::Unix, Dst::Tcp, Mode::GoTake(Fit::Under), 4097, SpliceViaPipe),
        (Src::Tcp, Dst::Shm, take, small, Buffered),
        (Src::Tcp, Dst::Shm, take, small + 1, SpliceViaPipe),
        (Src::Shm, Dst::Shm, take, small, Buffered),
        // Without a limit the bound applies to the file's size (its offset is not asked).
        (Src::Shm, Dst::Shm, Mode::Std, small - SRC_START, Buffered),
        (Src::Shm, Dst::Shm, Mode::Std, small - SRC_START + 1, CopyFileRange),
        (Src::Pipe, Dst::Shm, take, small, Buffered),
    ] {
        check_small(src, dst, mode, n, want);
    }
}

/// A limit larger than the source: the copy ends at end of file and the limit keeps exactly
/// the excess, on both APIs and both limit types.
#[test]
fn limits_beyond_the_end() {
    let pairs = [
        (Src::File, Dst::File),
        (Src::File, Dst::Tcp),
        (Src::Shm, Dst::Pipe),
        (Src::Pipe, Dst::File),
        (Src::Pipe, Dst::Pipe),
        (Src::Tcp, Dst::File),
        (Src::Unix, Dst::Tcp),
        (Src::Tcp, Dst::Pipe),
    ];
    for (s, d) in pairs {
        for mode in [
            Mode::StdTake(Fit::Over),
            Mode::GoTake(Fit::Over),
            Mode::GoLimited(Fit::Over),
        ] {
            check(s, d, mode, PageCache::Share, None);
        }
    }
}

/// `PageCache::Isolate` never lets a file's page-cache pages reach a pipe or a socket: those
/// pairs take the buffered loop (and copies into files keep their kernel paths).
#[test]
fn isolate_policy_uses_the_loop_for_file_to_pipe_and_socket() {
    for s in [Src::File, Src::Shm] {
        for d in [Dst::Pipe, Dst::Tcp, Dst::Unix] {
            for mode in [Mode::Std, Mode::GoLimited(Fit::Under), Mode::StdTake(Fit::Under)] {
                check(s, d, mode, PageCache::Isolate, Some(Strategy::Buffered));
            }
        }
    }
    check(
        Src::File,
        Dst::File,
        Mode::Std,
        PageCache::Isolate,
        Some(Strategy::CopyFileRange),
    );
    check(
        Src::Tcp,
        Dst::Pipe,
        Mode::Std,
        PageCache::Isolate,
        Some(Strategy::Splice),
    );
}

/// std's `dont_splice_pipes_from_files`: `PIPE_BUF` bytes of 0x01 in a file, copied into a
/// pipe; the file is then overwritten with 0x02 before the pipe is read. Under `Isolate` the
/// pipe holds copies of the bytes, so it still yields 0x01.
#[test]
fn isolate_policy_does_not_alias_the_page_cache() {
    // PIPE_BUF bytes (std's test) take the loop under any policy (at most SMALL_COPY); 32 KiB
    // would be spliced under `Share`, so the policy itself is what keeps the bytes apart.
    for len in [4096usize, 32 << 10] {
        let mut f = file_with(&vec![1u8; len], 0);
        let (mut r, mut w) = io::pipe().unwrap();
        let report = Copier::new()
            .page_cache(PageCache::Isolate)
            .copy(&mut f, &mut w)
            .unwrap();
        assert_eq!(report.written(), len as u64, "{len}");
        assert_eq!(report.strategy(), Strategy::Buffered, "{len}: {report:?}");
        assert_eq!(f.stream_position().unwrap(), len as u64);
        f.rewind().unwrap();
        f.write_all(&vec![2u8; len]).unwrap();
        f.sync_data().unwrap();
        drop(w);
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), len);
        assert!(
            got.iter().all(|&b| b == 1),
            "{len}: the pipe saw the file's later write"
        );
    }
}

/// Under the default `Share` policy the same copy is a direct splice. The pipe then holds
/// references to the file's page-cache pages, not copies: a write to the file before the pipe
/// is read can change what the reader gets (rust-lang/rust#108283, #116451). That is the
/// documented hazard of `Share` (Go takes it too), so only the strategy and the length are
/// asserted here, never which bytes the reader sees.
#[test]
fn share_policy_splices_file_to_pipe() {
    let len = 32 << 10; // fits in a default pipe with no reader, above SMALL_COPY
    let mut f = file_with(&vec![1u8; len], 0);
    let (mut r, mut w) = io::pipe().unwrap();
    let report = Copier::new().copy(&mut f, &mut w).unwrap();
    assert_eq!(report.written(), len as u64);
    assert_eq!(report.strategy(), Strategy::Splice, "{report:?}");
    assert_eq!(report.bytes_by(Strategy::Splice), len as u64, "{report:?}");
    assert_eq!(f.stream_position().unwrap(), len as u64);
    f.rewind().unwrap();
    f.write_all(&vec![2u8; len]).unwrap(); // may or may not show through the pipe
    drop(w);
    let mut got = Vec::new();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), len);
    assert!(got.iter().all(|&b| b == 1 || b == 2));
}

/// Nested limits use the smallest one, and every layer shrinks by exactly the bytes copied.
#[test]
fn nested_limits_use_the_smallest() {
    let data = payload(LEN, 77);
    let big = (LEN as u64) - 1000;
    let small = (1 << 20) + 3;

    // Take<LimitedReader<&mut TcpStream>> through the Go path, either layer the smaller.
    for (outer, inner) in [(small, big), (big, small)] {
        let ctx = format!("Take({outer})<LimitedReader({inner})<tcp>> -> file");
        let (c, mut s) = tcp_pair();
        let h = feed(c, data.clone());
        let mut f = file_with(&[], 0);
        let mut take = limit_reader(&mut s, inner).take(outer);
        let r = Copier::new().go_copy(&mut f, &mut take).unwrap();
        assert_eq!(r.written(), small, "{ctx}");
        assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{ctx}: {r:?}");
        assert_eq!(take.limit(), outer - small, "{ctx}: outer");
        assert_eq!(take.get_ref().remaining, inner - small, "{ctx}: inner");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        h.join().unwrap();
        assert!(rest == data[small as usize..], "{ctx}: rest of the stream");
        let (got, pos) = contents(&mut f);
        assert_eq!(pos, small, "{ctx}");
        assert!(got == data[..small as usize], "{ctx}: content");
    }

    // LimitedReader<Take<&mut PipeReader>> through the Go path.
    {
        let (mut r, w) = io::pipe().unwrap();
        let h = feed(w, data.clone());
        let mut f = file_with(&[], 0);
        let mut lim = limit_reader((&mut r).take(small), big);
        let rep = Copier::new().go_copy(&mut f, &mut lim).unwrap();
        assert_eq!(rep.written(), small);
        assert_eq!(rep.strategy(), Strategy::Splice, "{rep:?}");
        assert_eq!(lim.remaining, big - small);
        assert_eq!(lim.inner.limit(), 0);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        h.join().unwrap();
        assert!(rest == data[small as usize..]);
        assert!(contents(&mut f).0 == data[..small as usize]);
    }

    // Take<Take<File>> through the drop-in path (a shape it recognises), file -> tcp.
    for (outer, inner) in [(small, big), (big, small)] {
        let ctx = format!("Take({outer})<Take({inner})<file>> -> tcp");
        let f = file_with(&data, SRC_START);
        let (mut c, s) = tcp_pair();
        let h = drain(s);
        let mut tt = f.take(inner).take(outer);
        let r = Copier::new().copy(&mut tt, &mut c).unwrap();
        drop(c);
        assert_eq!(r.written(), small, "{ctx}");
        assert_eq!(r.strategy(), Strategy::Sendfile, "{ctx}: {r:?}");
        assert_eq!(tt.limit(), outer - small, "{ctx}: outer");
        assert_eq!(tt.get_ref().limit(), inner - small, "{ctx}: inner");
        let mut f = tt.into_inner().into_inner();
        assert_eq!(f.stream_position().unwrap(), SRC_START + small, "{ctx}: source offset");
        let got = h.join().unwrap();
        assert!(
            got == data[SRC_START as usize..(SRC_START + small) as usize],
            "{ctx}: content"
        );
    }

    // Take<Take<PipeReader>> through the drop-in path, pipe -> pipe.
    {
        let (r, w) = io::pipe().unwrap();
        let h = feed(w, data.clone());
        let (dr, mut dw) = io::pipe().unwrap();
        let hd = drain(dr);
        let mut tt = r.take(big).take(small);
        let rep = Copier::new().copy(&mut tt, &mut dw).unwrap();
        drop(dw);
        assert_eq!(rep.written(), small);
        assert_eq!(rep.strategy(), Strategy::Splice, "{rep:?}");
        assert_eq!(tt.limit(), 0);
        assert_eq!(tt.get_ref().limit(), big - small);
        let mut r = tt.into_inner().into_inner();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        h.join().unwrap();
        assert!(rest == data[small as usize..]);
        assert!(hd.join().unwrap() == data[..small as usize]);
    }
}

/// Go's `TestCopyFileToFile` offsets: a limited file -> file copy (copy_file_range) leaves
/// both offsets at start + copied and the destination's bytes before its start untouched.
#[test]
fn file_to_file_offsets_both_sides() {
    let data = payload(LEN, 5);
    for (s, d) in [(0u64, 0u64), (100, 200), (SRC_START, DST_START)] {
        let mut src = file_with(&data, s);
        let mut dst = file_with(&vec![9u8; d as usize], d);
        let mut take = (&mut src).take(1 << 20);
        let r = Copier::new().copy(&mut take, &mut dst).unwrap();
        assert_eq!(r.written(), 1 << 20);
        assert_eq!(r.strategy(), Strategy::CopyFileRange, "{r:?}");
        assert_eq!(src.stream_position().unwrap(), s + (1 << 20));
        let (got, pos) = contents(&mut dst);
        assert_eq!(pos, d + (1 << 20));
        assert!(got[..d as usize].iter().all(|&b| b == 9));
        assert!(got[d as usize..] == data[s as usize..(s + (1 << 20)) as usize]);
    }
}
