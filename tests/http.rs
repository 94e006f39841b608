//! The HTTP download example end to end: the server of `examples/http/` in process on a
//! loopback listener, its client against it, every body checked byte for byte.
//!
//! The client parses the head through a `BufReader<TcpStream>` and hands fdcopy
//! `Take<&mut BufReader<TcpStream>>` → `File`: the buffered bytes must go out first
//! (`Buffered`), the rest by `SpliceViaPipe`, and never a byte past `Content-Length`.
//! Where a test asserts how many body bytes the `BufReader` holds, it first waits (peeking,
//! bounded) until enough of the response is queued on the socket, so that the first fill is
//! deterministic.

mod common;
#[path = "../examples/http/mod.rs"]
mod http;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::contents;
use fdcopy::Strategy;
use http::{Body, BodyEnd, Fetched, Framing, GetError, Received, ServeConfig, Url, HEAD_BUFFER};

const WAIT: Duration = Duration::from_secs(10);

/// A temporary directory on tmpfs when there is one.
fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap()
}

/// The in-process server, with the `/__` test paths, serving its own temporary directory.
struct Server {
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempdir();
        let addr = http::spawn(ServeConfig {
            dir: dir.path().to_path_buf(),
            test_paths: true,
            log: false,
        })
        .unwrap();
        Server { addr, dir }
    }

    /// A file of `len` pattern bytes in the served directory; returns its content.
    fn file(&self, name: &str, len: usize) -> Vec<u8> {
        let data = http::pattern(0, len);
        std::fs::write(self.dir.path().join(name), &data).unwrap();
        data
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A fresh output file.
fn out_file() -> File {
    tempfile::tempfile_in("/dev/shm")
        .or_else(|_| tempfile::tempfile())
        .unwrap()
}

/// Waits (bounded) until what is queued on `stream` satisfies `ready`.
fn wait_queued(stream: &TcpStream, ready: impl Fn(&[u8]) -> bool) {
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + WAIT;
    loop {
        let n = stream.peek(&mut buf).unwrap();
        if ready(&buf[..n]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "response not queued after {WAIT:?} ({n} bytes)"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// At least `n` bytes queued.
fn bytes(n: usize) -> impl Fn(&[u8]) -> bool {
    move |q| q.len() >= n
}

/// The whole head and `n` body bytes queued.
fn head_and(n: usize) -> impl Fn(&[u8]) -> bool {
    move |q| {
        q.windows(4)
            .position(|w| w == b"\r\n\r\n")
            .is_some_and(|end| q.len() >= end + 4 + n)
    }
}

/// A condition on the bytes queued on the client's socket.
type Ready<'a> = Option<&'a dyn Fn(&[u8]) -> bool>;

/// One download with the client's pieces: connect, request, (wait until `ready`), receive
/// into a fresh file. Returns the result, the file, the reader (positioned after the body)
/// and the progress events.
fn fetch(
    addr: SocketAddr,
    path: &str,
    ready: Ready<'_>,
) -> (Result<Fetched, GetError>, File, BufReader<TcpStream>, Vec<Received>) {
    let url = Url::parse(&format!("http://{addr}{path}")).unwrap();
    let stream = http::connect(&url).unwrap();
    http::send_request(&stream, &url).unwrap();
    if let Some(ready) = ready {
        wait_queued(&stream, ready);
    }
    let mut reader = BufReader::with_capacity(HEAD_BUFFER, stream);
    let mut file = out_file();
    let mut events = Vec::new();
    let r = http::receive(&mut reader, &mut file, &mut |p| events.push(p));
    (r, file, reader, events)
}

/// Progress events must add up: increasing totals, each the previous plus its chunk.
fn check_progress(events: &[Received], total: u64) {
    let mut sum = 0;
    for p in events {
        assert!(p.chunk > 0, "{p:?}");
        sum += p.chunk;
        assert_eq!(p.written, sum, "{p:?}");
    }
    assert_eq!(sum, total);
}

#[test]
fn small_body_arrives_with_the_head_and_is_buffered() {
    let srv = Server::start();
    let data = srv.file("small", 100);
    let (r, mut file, reader, events) = fetch(srv.addr, "/small", Some(&head_and(100)));
    let f = r.unwrap();
    assert_eq!(f.head.status, 200);
    assert_eq!(f.framing, Framing::Length(100));
    assert_eq!(f.written, 100);
    let Body::Length(report) = &f.body else {
        panic!("{:?}", f.body)
    };
    assert_eq!(report.strategies().collect::<Vec<_>>(), [(Strategy::Buffered, 100)]);
    assert_eq!(report.strategy(), Strategy::Buffered);
    assert_eq!(contents(&mut file), (data, 100));
    assert!(reader.buffer().is_empty());
    check_progress(&events, 100);
}

#[test]
fn body_straddling_the_header_buffer_is_buffered_then_spliced() {
    let srv = Server::start();
    let len = 3 * HEAD_BUFFER + 300; // above fdcopy::table::SMALL_COPY, so the kernel path runs
    assert!(len as u64 > fdcopy::table::SMALL_COPY);
    let data = srv.file("straddle", len);
    // The first fill of the 8 KiB BufReader takes exactly 8 KiB: the head and the body's start.
    let (r, mut file, reader, events) = fetch(srv.addr, "/straddle", Some(&bytes(HEAD_BUFFER)));
    let f = r.unwrap();
    let Body::Length(report) = &f.body else {
        panic!("{:?}", f.body)
    };
    let buffered = (HEAD_BUFFER - f.head.len) as u64;
    assert!(buffered > 0 && buffered < len as u64, "head of {} bytes", f.head.len);
    assert_eq!(
        report.strategies().collect::<Vec<_>>(),
        [
            (Strategy::SpliceViaPipe, len as u64 - buffered),
            (Strategy::Buffered, buffered)
        ]
    );
    assert_eq!(
        report.bytes_by(Strategy::Buffered) + report.bytes_by(Strategy::SpliceViaPipe),
        len as u64
    );
    assert_eq!(report.strategy(), Strategy::SpliceViaPipe);
    assert_eq!(f.written, len as u64);
    assert_eq!(contents(&mut file), (data, len as u64));
    assert!(reader.buffer().is_empty());
    check_progress(&events, len as u64);
    assert_eq!(
        events[0].strategy,
        Strategy::Buffered,
        "the buffered bytes go out first"
    );
    assert_eq!(events[0].chunk, buffered);
}

#[test]
fn body_straddling_the_header_buffer_below_small_copy_is_all_buffered() {
    // 8 KiB + 300 bytes: part arrives with the head, part is still in the socket, but the
    // whole body is at most fdcopy::table::SMALL_COPY, where the read/write loop is cheaper.
    let srv = Server::start();
    let len = HEAD_BUFFER + 300;
    assert!(len as u64 <= fdcopy::table::SMALL_COPY);
    let data = srv.file("straddle", len);
    let (r, mut file, reader, events) = fetch(srv.addr, "/straddle", Some(&bytes(HEAD_BUFFER)));
    let f = r.unwrap();
    let Body::Length(report) = &f.body else {
        panic!("{:?}", f.body)
    };
    assert_eq!(
        report.strategies().collect::<Vec<_>>(),
        [(Strategy::Buffered, len as u64)]
    );
    assert_eq!(contents(&mut file), (data, len as u64));
    assert!(reader.buffer().is_empty());
    check_progress(&events, len as u64);
}

#[test]
fn large_body_is_spliced() {
    let srv = Server::start();
    let len = 64 << 20;
    let data = srv.file("big", len);
    let out_dir = tempdir();
    let out = out_dir.path().join("big.out");
    let mut events = Vec::new();
    let f = http::get(&srv.url("/big"), &out, &mut |p| events.push(p)).unwrap();
    let Body::Length(report) = &f.body else {
        panic!("{:?}", f.body)
    };
    assert_eq!(f.written, len as u64);
    assert_eq!(report.strategy(), Strategy::SpliceViaPipe);
    assert!(report.bytes_by(Strategy::Buffered) < HEAD_BUFFER as u64, "{report:?}");
    assert_eq!(
        report.bytes_by(Strategy::Buffered) + report.bytes_by(Strategy::SpliceViaPipe),
        len as u64,
        "{report:?}"
    );
    check_progress(&events, len as u64);
    assert!(std::fs::read(&out).unwrap() == data, "content differs");
}

#[test]
fn server_sends_files_with_sendfile() {
    // `handle` on one accepted connection, to see the server side's report.
    let dir = tempdir();
    let data = http::pattern(0, 1 << 20);
    std::fs::write(dir.path().join("f"), &data).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServeConfig {
        dir: dir.path().to_path_buf(),
        test_paths: false,
        log: false,
    };
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        http::handle(s, &config)
    });
    let (r, mut file, _reader, _) = fetch(addr, "/f?query=ignored", None);
    assert_eq!(r.unwrap().written, 1 << 20);
    assert_eq!(contents(&mut file), (data, 1 << 20));
    let served = server.join().unwrap().unwrap();
    assert_eq!((served.status, served.sent), (200, 1 << 20));
    let report = served.report.unwrap();
    assert_eq!(report.strategies().collect::<Vec<_>>(), [(Strategy::Sendfile, 1 << 20)]);
}

#[test]
fn short_body_is_an_error_with_the_exact_count() {
    let srv = Server::start();
    for (n, m) in [(100_000u64, 40_000u64), (1000, 10), (100_000, 0), (50_000, 49_999)] {
        let (r, mut file, _, events) = fetch(srv.addr, &format!("/__short/{n}/{m}"), None);
        let e = r.unwrap_err();
        assert!(
            matches!(&e, GetError::Body { got, want: Some(w), end: BodyEnd::Eof, .. } if *got == m && *w == n),
            "{e:?}"
        );
        assert_eq!(e.written(), m);
        assert!(
            e.to_string().contains(&format!("short body: got {m} of {n} bytes")),
            "{e}"
        );
        let GetError::Body {
            report: Some(report), ..
        } = &e
        else {
            unreachable!()
        };
        assert_eq!(report.written(), m);
        assert_eq!(contents(&mut file), (http::pattern(0, m as usize), m));
        check_progress(&events, m);
    }
}

#[test]
fn empty_body_gives_an_empty_file() {
    let srv = Server::start();
    srv.file("empty", 0);
    for path in ["/empty", "/__gen/0"] {
        let (r, mut file, _, events) = fetch(srv.addr, path, None);
        let f = r.unwrap();
        assert_eq!(f.framing, Framing::Length(0));
        assert_eq!(f.written, 0);
        let Body::Length(report) = &f.body else {
            panic!("{:?}", f.body)
        };
        assert_eq!(report.strategies().count(), 0);
        assert_eq!(contents(&mut file), (Vec::new(), 0));
        assert!(events.is_empty());
    }
}

#[test]
fn generated_bodies_arrive_whole() {
    // Head and body start in one write: the BufReader holds some of the body.
    let srv = Server::start();
    for n in [1usize, 5000, 20_000, 1 << 20] {
        let (r, mut file, _, events) = fetch(srv.addr, &format!("/__gen/{n}"), None);
        let f = r.unwrap();
        assert_eq!(f.written, n as u64);
        assert_eq!(contents(&mut file), (http::pattern(0, n), n as u64));
        check_progress(&events, n as u64);
        if n as u64 > fdcopy::table::SMALL_COPY {
            let Body::Length(report) = &f.body else { panic!() };
            assert_eq!(report.strategy(), Strategy::SpliceViaPipe, "{report:?}");
        }
    }
}

#[test]
fn chunked_body_is_decoded() {
    let srv = Server::start();
    let out_dir = tempdir();
    for (n, size, chunks) in [
        (300_000u64, 4093u64, 74u64),
        (100_000, 100_000, 1),
        (70_000, 1, 70_000),
        (0, 7, 0),
    ] {
        let out = out_dir.path().join("chunked");
        let mut events = Vec::new();
        let f = http::get(&srv.url(&format!("/__chunked/{n}/{size}")), &out, &mut |p| {
            events.push(p)
        })
        .unwrap();
        assert_eq!(f.framing, Framing::Chunked);
        assert!(
            matches!(f.body, Body::Chunked { chunks: c, written } if c == chunks && written == n),
            "{:?}",
            f.body
        );
        assert_eq!(f.written, n);
        assert!(events.iter().all(|p| p.strategy == Strategy::Buffered));
        check_progress(&events, n);
        assert!(std::fs::read(&out).unwrap() == http::pattern(0, n as usize));
    }
}

/// A one-shot server that reads the request head, answers `response`, and closes cleanly.
fn canned(response: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        let s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => return,
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        let mut r = BufReader::new(&s);
        let mut line = String::new();
        while matches!(r.read_line(&mut line), Ok(n) if n > 0) && line != "\r\n" {
            line.clear();
        }
        let _ = (&s).write_all(&response);
        let _ = s.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        while matches!((&s).read(&mut sink), Ok(n) if n > 0) {}
    });
    addr
}

/// `receive` of a canned response: the result and what the file holds.
fn fetch_canned(response: &[u8]) -> (Result<Fetched, GetError>, Vec<u8>) {
    let addr = canned(response.to_vec());
    let (r, mut file, _, events) = fetch(addr, "/x", None);
    let (bytes, pos) = contents(&mut file);
    assert_eq!(pos, bytes.len() as u64);
    check_progress(&events, bytes.len() as u64);
    (r, bytes)
}

#[test]
fn chunked_syntax_variants_are_decoded_exactly() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n";
    let cases: [(&str, &[u8]); 5] = [
        ("5\r\nhello\r\n0\r\n\r\n", b"hello"),
        // extensions (with whitespace before the ';'), upper-case hex, leading zeros
        (
            "0005 ;a=b;c\r\nhello\r\n00000A\r\n0123456789\r\n0;last\r\n\r\n",
            b"hello0123456789",
        ),
        // bare LF line ends, trailer fields
        ("3\nabc\n2\r\nde\r\n0\r\nX-Sum: 1\r\nX-More: 2\r\n\r\n", b"abcde"),
        // CRLF inside chunk data is data
        ("4\r\n\r\n\r\n\r\n0\r\n\r\n", b"\r\n\r\n"),
        ("0\r\n\r\n", b""),
    ];
    for (body, want) in cases {
        let (r, got) = fetch_canned(format!("{head}{body}").as_bytes());
        let f = r.unwrap_or_else(|e| panic!("{body:?}: {e}"));
        assert_eq!(f.framing, Framing::Chunked);
        assert_eq!(got, want, "{body:?}");
        assert_eq!(f.written, want.len() as u64);
    }
    // Transfer-Encoding wins over Content-Length.
    let (r, got) = fetch_canned(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n",
    );
    assert_eq!(r.unwrap().framing, Framing::Chunked);
    assert_eq!(got, b"xyz");
}

#[test]
fn chunked_syntax_errors_are_reported_with_the_count() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (body, got_want) in [
        ("5\r\nhello\r\nzz\r\n", 5u64),
        ("5\r\nhelloXX\r\n0\r\n\r\n", 5),
        ("\r\n", 0),
        ("10000000000000000\r\n", 0),
        ("-1\r\n", 0),
        ("5\r\nhello\r\n0\r\nX-Trailer: but no end", 5),
    ] {
        let (r, got) = fetch_canned(format!("{head}{body}").as_bytes());
        let e = r.unwrap_err();
        assert!(
            matches!(&e, GetError::BadChunk { got, .. } if *got == got_want),
            "{body:?}: {e:?}"
        );
        assert_eq!(got, &b"hello"[..got_want as usize]);
        assert!(e.to_string().starts_with("bad chunked body"), "{e}");
    }
    // The connection closes inside a chunk: a short body with the count.
    let (r, got) = fetch_canned(format!("{head}5\r\nhello\r\n10\r\nabc").as_bytes());
    let e = r.unwrap_err();
    assert!(
        matches!(
            &e,
            GetError::Body {
                got: 8,
                want: None,
                end: BodyEnd::Eof,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(got, b"helloabc");
    assert!(
        e.to_string().contains("short body: got 8 bytes of a chunked body"),
        "{e}"
    );
}

#[test]
fn response_heads_are_parsed_leniently_where_safe() {
    // Folded lines, odd whitespace, any case, whitespace before the colon, bare LF.
    let (r, got) = fetch_canned(
        b"HTTP/1.1  200   Fine  \r\nX-Folded: a\r\n   b\r\n\tc  \r\ncontent-LENGTH :\t 5 \t\r\nX-Empty:\r\n\n hello",
    );
    let f = r.unwrap();
    assert_eq!((f.head.status, f.head.reason.as_str()), (200, "Fine"));
    assert_eq!(f.head.header("x-folded"), Some("a b c"));
    assert_eq!(f.head.header("X-EMPTY"), Some(""));
    assert_eq!(f.framing, Framing::Length(5));
    assert_eq!(got, b" hell");
    // Interim responses are skipped; HTTP/1.0; repeated equal lengths; no reason phrase.
    let (r, got) = fetch_canned(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n\
          HTTP/1.0 200\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabcdef",
    );
    let f = r.unwrap();
    assert_eq!(
        (f.head.version.as_str(), f.head.status, f.head.reason.as_str()),
        ("HTTP/1.0", 200, "")
    );
    assert_eq!(got, b"abc");
}

#[test]
fn bad_response_heads_are_clear_errors() {
    let big = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 1\r\n\r\nx",
        "b".repeat(70_000)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"HTTP/1.1 200 OK\r\n\r\nbody".to_vec(), "neither Content-Length nor"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n".to_vec(),
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".to_vec(),
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n".to_vec(),
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello".to_vec(),
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
            "too large",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
            "conflicting",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            "unsupported Transfer-Encoding",
        ),
        (big.into_bytes(), "response head larger than 64 KiB"),
        (b"HTTP/1.1 200 OK\r\nContent-Len".to_vec(), "inside the response head"),
        (b"".to_vec(), "without a response"),
        (b"SSH-2.0-OpenSSH\r\n\r\n".to_vec(), "not HTTP/1.x"),
        (b"HTTP/1.1 2000 OK\r\n\r\n".to_vec(), "no status code"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n".to_vec(), "without a colon"),
        (
            b"HTTP/1.1 200 OK\r\n folded first\r\n\r\n".to_vec(),
            "continuation line",
        ),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n".to_vec(), "bad header name"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".to_vec(), "500 Oops"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec(), "101"),
    ];
    for (response, want) in cases {
        let (r, got) = fetch_canned(&response);
        let e = r.unwrap_err();
        let shown = String::from_utf8_lossy(&response[..response.len().min(60)]).into_owned();
        assert!(e.to_string().contains(want), "{shown:?}: {e}");
        assert_eq!(e.written(), 0);
        assert!(got.is_empty(), "{shown:?}");
    }
}

#[test]
fn not_found_is_a_clear_error_and_no_file_is_created() {
    let srv = Server::start();
    let out_dir = tempdir();
    let out = out_dir.path().join("never");
    let e = http::get(&srv.url("/missing"), &out, &mut |_| {}).unwrap_err();
    assert!(matches!(&e, GetError::Status { code: 404, .. }), "{e:?}");
    assert_eq!(e.to_string(), "server answered 404 Not Found (expected 200 OK)");
    assert!(!out.exists());
    // A directory is not a file either; a traversal attempt is refused.
    std::fs::create_dir(srv.dir.path().join("sub")).unwrap();
    for (path, code) in [("/sub", 404), ("/../etc/passwd", 400), ("/sub/../x", 400)] {
        let e = http::get(&srv.url(path), &out, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&e, GetError::Status { code: c, .. } if *c == code),
            "{path}: {e:?}"
        );
        assert!(!out.exists());
    }
}

#[test]
fn bytes_past_content_length_are_never_consumed() {
    let srv = Server::start();
    // Large body: spliced with the limit; the 1000 bytes after it stay in the socket.
    let n = 65_536;
    let (r, mut file, mut reader, events) = fetch(srv.addr, &format!("/__extra/{n}/1000"), Some(&bytes(HEAD_BUFFER)));
    let f = r.unwrap();
    let Body::Length(report) = &f.body else { panic!() };
    assert_eq!(report.strategy(), Strategy::SpliceViaPipe);
    assert!(report.bytes_by(Strategy::Buffered) > 0, "{report:?}");
    assert_eq!(contents(&mut file), (http::pattern(0, n), n as u64));
    check_progress(&events, n as u64);
    assert!(reader.buffer().is_empty());
    let mut rest = vec![0u8; 1000];
    reader.get_mut().read_exact(&mut rest).unwrap();
    assert!(
        rest == http::pattern(http::GARBAGE_OFFSET, 1000),
        "the bytes after the body"
    );
    // Small body: the extra bytes arrived with the head, and stay in the BufReader.
    let (r, mut file, mut reader, _) = fetch(srv.addr, "/__extra/100/50", Some(&head_and(150)));
    assert_eq!(r.unwrap().written, 100);
    assert_eq!(contents(&mut file), (http::pattern(0, 100), 100));
    assert_eq!(reader.buffer(), http::pattern(http::GARBAGE_OFFSET, 50));
    let mut rest = vec![0u8; 50];
    reader.read_exact(&mut rest).unwrap();
    assert_eq!(rest, http::pattern(http::GARBAGE_OFFSET, 50));
}

#[test]
fn connection_reset_is_reported_with_the_count() {
    let srv = Server::start();
    let (r, mut file, _, _) = fetch(srv.addr, "/__reset/100000/30000", None);
    let e = r.unwrap_err();
    let GetError::Body {
        got,
        want: Some(100_000),
        end: BodyEnd::Reset,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    // The bytes queued before the reset are normally still delivered; never more.
    assert!(*got <= 30_000);
    assert!(e.to_string().starts_with("connection reset by the server: got"), "{e}");
    assert_eq!(contents(&mut file), (http::pattern(0, *got as usize), *got));
}

#[test]
fn stalled_body_times_out_with_the_count() {
    let srv = Server::start();
    let url = Url::parse(&srv.url("/__stall/100000/30000")).unwrap();
    let stream = http::connect(&url).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    http::send_request(&stream, &url).unwrap();
    let mut reader = BufReader::with_capacity(HEAD_BUFFER, stream);
    let mut file = out_file();
    let e = http::receive(&mut reader, &mut file, &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            &e,
            GetError::Body {
                got: 30_000,
                want: Some(100_000),
                end: BodyEnd::Timeout,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(contents(&mut file), (http::pattern(0, 30_000), 30_000));
}

/// A raw request to the server: the status code and the whole response.
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s.write_all(request).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut v = Vec::new();
    let _ = s.read_to_end(&mut v); // a reset after a rejected oversized request is fine
    let text = String::from_utf8_lossy(&v).into_owned();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

#[test]
fn server_rejects_bad_requests() {
    let srv = Server::start();
    let data = srv.file("f", 20);
    std::fs::create_dir(srv.dir.path().join("d")).unwrap();
    std::fs::write(srv.dir.path().join("d").join("g"), b"nested").unwrap();
    let huge = format!("GET /f HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 200),
        (b"\r\nGET /f HTTP/1.0\r\n\r\n".to_vec(), 200),
        (b"GET /d/g HTTP/1.1\r\n\r\n".to_vec(), 200),
        (b"GET /../f HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET /d/../f HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET //etc/passwd HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET /./f HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET /d\\g HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET f HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET http://x/f HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET /f HTTP/2.0\r\n\r\n".to_vec(), 400),
        (b"GET  /f HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (b"GET /f HTTP/1.1\r\nno colon\r\n\r\n".to_vec(), 400),
        (b"GET /f HTTP/1.1\r\nHost : x\r\n\r\n".to_vec(), 400),
        (b"GET /f HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n".to_vec(), 400),
        (b"GET /f HTTP/1.1\r\n".to_vec(), 400),
        (huge.into_bytes(), 431),
        (b"POST /f HTTP/1.1\r\n\r\n".to_vec(), 405),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), 404),
        (b"GET /d HTTP/1.1\r\n\r\n".to_vec(), 404),
        (b"GET /f/x HTTP/1.1\r\n\r\n".to_vec(), 404),
        (b"GET /nope HTTP/1.1\r\n\r\n".to_vec(), 404),
        (b"GET /__gen/5 HTTP/1.1\r\n\r\n".to_vec(), 200),
        (b"GET /__short/1/2 HTTP/1.1\r\n\r\n".to_vec(), 400),
        (b"GET /__what/1 HTTP/1.1\r\n\r\n".to_vec(), 400),
    ];
    for (request, want) in cases {
        let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
        let (code, text) = raw(srv.addr, &request);
        assert_eq!(code, want, "{shown:?}: {text:?}");
        assert!(text.contains("Connection: close\r\n"), "{shown:?}: {text:?}");
    }
    let (_, text) = raw(srv.addr, b"GET /f HTTP/1.1\r\n\r\n");
    assert!(text.ends_with(&format!("\r\n\r\n{}", String::from_utf8_lossy(&data))));
    assert!(text.contains("Content-Length: 20\r\n"));
    // HEAD: the head only.
    let (code, text) = raw(srv.addr, b"HEAD /f HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    assert!(
        text.contains("Content-Length: 20\r\n") && text.ends_with("\r\n\r\n"),
        "{text:?}"
    );
    // Without the test paths, `/__gen` is just a missing file.
    let plain = http::spawn(ServeConfig {
        dir: srv.dir.path().to_path_buf(),
        test_paths: false,
        log: false,
    })
    .unwrap();
    assert_eq!(raw(plain, b"GET /__gen/5 HTTP/1.1\r\n\r\n").0, 404);
}

#[test]
fn urls_are_parsed_strictly() {
    let u = Url::parse("http://127.0.0.1:8080/a/b?c=d#frag").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.path.as_str()),
        ("127.0.0.1", 8080, "/a/b?c=d")
    );
    assert_eq!(u.authority(), "127.0.0.1:8080");
    let u = Url::parse("HTTP://Example.com").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("Example.com", 80, "/"));
    assert_eq!(u.authority(), "Example.com");
    let u = Url::parse("http://[::1]:81?x").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("[::1]", 81, "/?x"));
    assert_eq!(u.to_string(), "http://[::1]:81/?x");
    for bad in [
        "https://x/",
        "ftp://x/",
        "127.0.0.1/x",
        "http:///x",
        "http://x:/",
        "http://x:0/",
        "http://x:65536/",
        "http://x:12a/",
        "http://u@x/",
        "http://x/a b",
        "http://x/a\r\nInjected: 1",
        "http://[::1/",
        "http://x y/",
    ] {
        assert!(matches!(Url::parse(bad), Err(GetError::Url(_))), "{bad}");
    }
}

#[test]
fn output_file_that_cannot_be_created_is_an_error() {
    let srv = Server::start();
    srv.file("f", 10);
    let e = http::get(&srv.url("/f"), Path::new("/nonexistent-dir/out"), &mut |_| {}).unwrap_err();
    assert!(matches!(&e, GetError::Output { .. }), "{e:?}");
    assert!(e.to_string().starts_with("cannot create /nonexistent-dir/out"), "{e}");
    let e = http::get("http://127.0.0.1:1/f", Path::new("/nonexistent-dir/out"), &mut |_| {}).unwrap_err();
    assert!(matches!(&e, GetError::Connect(_)), "{e:?}");
}

/// Engine defect: with a blocking socket and `SO_SNDTIMEO`, `sendfile`'s `EAGAIN` means the
/// timeout expired (std's `io::copy` returns `WouldBlock` then), but the engine polls the
/// socket with no timeout and blocks until the peer reads or goes away. A server thread that
/// sends a file to a stalled client is pinned forever despite its write timeout.
#[test]
fn sendfile_honours_the_socket_send_timeout() {
    let mut src = tempfile::tempfile_in("/dev/shm")
        .or_else(|_| tempfile::tempfile())
        .unwrap();
    src.write_all(&http::pattern(0, 64 << 20)).unwrap();
    src.rewind().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap(); // never reads
    let (mut sock, _) = listener.accept().unwrap();
    sock.set_write_timeout(Some(Duration::from_millis(300))).unwrap();
    let copy = std::thread::spawn(move || fdcopy::Copier::new().copy(&mut src, &mut sock));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !copy.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let finished_in_time = copy.is_finished();
    drop(peer); // unblocks the copy either way
    let r = copy.join().unwrap();
    assert!(finished_in_time, "still blocked 5 s after a 300 ms send timeout: {r:?}");
    let e = r.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e:?}");
    assert!(e.written() > 0);
}
