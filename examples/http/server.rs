//! The server: one request per connection, `GET /name` answered with the file `DIR/name`.
//! [`send_file`], first below, is where fdcopy does the work.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fdcopy::{Copier, Report};
use fdcopy_testkit::{fill, write_payload};

use super::line::{is_tchar, read_line_capped, Line};
use super::{GARBAGE_OFFSET, HEAD_BUFFER, HEAD_LIMIT, IO_TIMEOUT, REQUEST_TIMEOUT};

/// Answers `GET target` (`HEAD` with `head_only`) with the file it names under `config.dir`:
/// the head, then the body with fdcopy, `File` → `TcpStream`, which is `sendfile`.
pub fn send_file(stream: &TcpStream, target: &str, config: &ServeConfig, head_only: bool) -> io::Result<Served> {
    let Some(rel) = safe_relative_path(target) else {
        if target == "/" || target.starts_with("/?") {
            return respond_error(stream, 404, "Not Found", "no directory listing", "");
        }
        return respond_error(
            stream,
            400,
            "Bad Request",
            "path must be relative, without '.', '..' or '//'",
            "",
        );
    };
    let path = config.dir.join(rel);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            return match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
                    respond_error(stream, 404, "Not Found", target, "")
                }
                io::ErrorKind::PermissionDenied => respond_error(stream, 403, "Forbidden", target, ""),
                _ => respond_error(stream, 500, "Internal Server Error", &e.to_string(), ""),
            }
        }
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return respond_error(stream, 404, "Not Found", "not a regular file", "");
    }
    let len = meta.len();
    let head = response_head(
        200,
        "OK",
        &format!("Content-Type: application/octet-stream\r\nContent-Length: {len}\r\n"),
    );
    // With a body to follow, the head goes out with MSG_MORE: the kernel holds it back and
    // sends it in one segment with the first bytes `sendfile` moves (nginx's TCP_NOPUSH), so
    // a client's first read gets the head and the start of the body.
    send_all(stream, head.as_bytes(), !head_only && len > 0)?;
    if head_only {
        return Ok(served(200, 0, None));
    }
    let mut w = stream;
    // File → TcpStream: `sendfile`, bounded by the length announced.
    let mut body = (&mut file).take(len);
    match Copier::new().copy(&mut body, &mut w) {
        Ok(report) if report.written() == len => Ok(served(200, len, Some(report))),
        Ok(report) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file shrank: sent {} of {len} bytes", report.written()),
        )),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("sending the body: {} after {} of {len} bytes", e.error(), e.written()),
        )),
    }
}

/// What the server serves.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// `GET /name` answers the file `dir/name`.
    pub dir: PathBuf,
    /// Answer the generated [`Special`] paths (for tests and the bench).
    pub test_paths: bool,
    /// Log one line per request on stderr.
    pub log: bool,
}

/// The generated responses of the `/__…` paths (only with [`ServeConfig::test_paths`]). Every
/// body is the [`pattern`] from offset 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `/__gen/<n>`: `Content-Length: n` and `n` bytes, the head and the start of the body in
    /// one write (as servers that buffer do).
    Gen(u64),
    /// `/__short/<n>/<m>`: `Content-Length: n`, then only `m <= n` bytes, then a clean close.
    Short(u64, u64),
    /// `/__chunked/<n>` or `/__chunked/<n>/<size>`: `n` bytes chunked in chunks of `size`
    /// (default 4093), with a chunk extension on the first chunk, hex sizes in alternating
    /// case, and a trailer field.
    Chunked(u64, u64),
    /// `/__extra/<n>/<m>`: `Content-Length: n`, `n` bytes, then `m` more bytes (the pattern at
    /// [`GARBAGE_OFFSET`]) without closing; the connection stays open until the client closes.
    Extra(u64, u64),
    /// `/__reset/<n>/<m>`: `Content-Length: n`, `m <= n` bytes, then a reset (`SO_LINGER` 0).
    Reset(u64, u64),
    /// `/__stall/<n>/<m>`: `Content-Length: n`, `m <= n` bytes, then nothing until the client
    /// closes (or [`REQUEST_TIMEOUT`]): for client timeouts.
    Stall(u64, u64),
}

impl Special {
    /// The special path `path` names, if any; `Err` for a malformed one.
    pub fn parse(path: &str) -> Option<Result<Special, String>> {
        let rest = path.strip_prefix("/__")?;
        let mut parts = rest.split('/');
        let kind = parts.next().unwrap_or("");
        let nums: Result<Vec<u64>, _> = parts.map(|p| p.parse::<u64>()).collect();
        let Ok(nums) = nums else {
            return Some(Err(format!("{path}: the numbers do not parse")));
        };
        let s = match (kind, nums.as_slice()) {
            ("gen", &[n]) => Special::Gen(n),
            ("short", &[n, m]) if m <= n => Special::Short(n, m),
            ("chunked", &[n]) => Special::Chunked(n, 4093),
            ("chunked", &[n, size]) if size > 0 => Special::Chunked(n, size),
            ("extra", &[n, m]) => Special::Extra(n, m),
            ("reset", &[n, m]) if m <= n => Special::Reset(n, m),
            ("stall", &[n, m]) if m <= n => Special::Stall(n, m),
            _ => return Some(Err(format!("{path}: unknown special path or bad numbers"))),
        };
        Some(Ok(s))
    }
}

/// Seed of the generated bodies in `fdcopy_testkit`'s payload streams.
pub const PATTERN_SEED: u64 = 0x6874_7470; // "http"

/// `len` bytes of the generated bodies' stream, from `offset` (what the special paths send, and
/// what tests put in files).
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fill(PATTERN_SEED, offset, &mut v);
    v
}

/// One answered request.
#[derive(Clone, Debug)]
pub struct Served {
    /// The request line (or what could be read of it).
    pub request: String,
    /// The status sent.
    pub status: u16,
    /// Body bytes sent.
    pub sent: u64,
    /// How a file body was sent.
    pub report: Option<Report>,
}

/// Binds `127.0.0.1:0` and serves on a background thread; returns the address.
pub fn spawn(config: ServeConfig) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::Builder::new()
        .name("http-serve".into())
        .spawn(move || serve(listener, config))?;
    Ok(addr)
}

/// Accepts connections forever, one thread each, one request per connection. Returns only
/// if the listener itself fails.
pub fn serve(listener: TcpListener, config: ServeConfig) -> io::Result<()> {
    let config = Arc::new(config);
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK)) => return Err(e),
            Err(e) => {
                // EMFILE and friends, aborted handshakes: keep serving.
                if config.log {
                    eprintln!("accept: {e}");
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let log = config.log;
        let config = Arc::clone(&config);
        let spawned = std::thread::Builder::new().name("http-conn".into()).spawn(move || {
            let r = handle(stream, &config);
            if config.log {
                match r {
                    Ok(s) => {
                        let how = s.report.map(|r| format!(" via {}", r.strategy())).unwrap_or_default();
                        eprintln!("{peer} \"{}\" {} {} bytes{how}", s.request, s.status, s.sent)
                    }
                    Err(e) => eprintln!("{peer}: {e}"),
                }
            }
        });
        if let Err(e) = spawned {
            if log {
                eprintln!("{peer}: cannot start a thread: {e}");
            }
        }
    }
}

/// A parsed request line.
struct Request {
    method: String,
    target: String,
}

enum BadRequest {
    Malformed(String),
    TooLarge,
    Closed,
    Io(io::Error),
}

fn read_request<R: BufRead + ?Sized>(r: &mut R, line: &mut Vec<u8>) -> Result<Request, BadRequest> {
    let mut budget = HEAD_LIMIT;
    let mut next = |line: &mut Vec<u8>, budget: &mut usize| match read_line_capped(r, line, budget) {
        Ok(Line::Complete) => Ok(()),
        Ok(Line::TooLong) => Err(BadRequest::TooLarge),
        Ok(Line::Eof) if *budget == HEAD_LIMIT => Err(BadRequest::Closed),
        Ok(Line::Eof) => Err(BadRequest::Malformed(
            "connection closed inside the request head".into(),
        )),
        Err(e) => Err(BadRequest::Io(e)),
    };
    // A server should ignore at least one empty line before the request line (RFC 9112 §2.2).
    next(line, &mut budget)?;
    if line.is_empty() {
        next(line, &mut budget)?;
    }
    let text = String::from_utf8_lossy(line).into_owned();
    let parts: Vec<&str> = text.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(BadRequest::Malformed(format!("request line {text:?}")));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(BadRequest::Malformed(format!("method in {text:?}")));
    }
    if *version != "HTTP/1.1" && *version != "HTTP/1.0" {
        return Err(BadRequest::Malformed(format!("version in {text:?}")));
    }
    if target.is_empty() || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(BadRequest::Malformed(format!("target in {text:?}")));
    }
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
    };
    loop {
        next(line, &mut budget)?;
        if line.is_empty() {
            return Ok(request);
        }
        let text = String::from_utf8_lossy(line);
        // No obs-fold and no whitespace before the colon in requests (RFC 9112 §5).
        match text.split_once(':') {
            Some((name, _)) if !name.is_empty() && name.bytes().all(is_tchar) => {}
            _ => return Err(BadRequest::Malformed(format!("header line {text:?}"))),
        }
    }
}

/// The file a target names under the served directory: `None` for a target that could escape
/// it (`..`, `.`, empty segments such as `//abs`, backslashes); the query is ignored. Percent
/// sequences are not decoded, so `%2e%2e` is a plain file name.
pub fn safe_relative_path(target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let rest = path.strip_prefix('/')?;
    for seg in rest.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\') {
            return None;
        }
    }
    Some(PathBuf::from(rest))
}

fn response_head(status: u16, reason: &str, headers: &str) -> String {
    format!("HTTP/1.1 {status} {reason}\r\n{headers}Connection: close\r\n\r\n")
}

/// Sends a small text error response.
fn respond_error(stream: &TcpStream, status: u16, reason: &str, msg: &str, extra: &str) -> io::Result<Served> {
    let body = format!("{status} {reason}: {msg}\n");
    let head = response_head(
        status,
        reason,
        &format!(
            "{extra}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        ),
    );
    let mut w = stream;
    w.write_all(format!("{head}{body}").as_bytes())?;
    Ok(Served {
        request: String::new(),
        status,
        sent: body.len() as u64,
        report: None,
    })
}

/// Shuts the sending side, then reads what the client may still send (bounded in time and
/// size) so that the close is not a reset that could destroy the response in flight.
fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4096];
    let mut total = 0;
    let mut r = stream;
    while total < (1 << 20) {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Keeps the connection open until the client closes it (or [`REQUEST_TIMEOUT`] passes).
fn wait_for_close(stream: &TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut buf = [0u8; 4096];
    let mut r = stream;
    while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
    Ok(())
}

/// Answers one request on `stream` and closes it.
pub fn handle(stream: TcpStream, config: &ServeConfig) -> io::Result<Served> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    // Responses are written in large pieces (or corked with MSG_MORE): Nagle's algorithm
    // would only hold back the last small segment until the client's delayed ACK.
    stream.set_nodelay(true)?;
    let mut line = Vec::new();
    let request = read_request(&mut BufReader::with_capacity(HEAD_BUFFER, &stream), &mut line);
    let served = match request {
        Err(BadRequest::Closed) => Ok(served(0, 0, None)),
        Err(BadRequest::Io(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            let secs = REQUEST_TIMEOUT.as_secs();
            respond_error(
                &stream,
                408,
                "Request Timeout",
                &format!("no request head within {secs} s"),
                "",
            )
        }
        Err(BadRequest::Io(e)) => Err(e),
        Err(BadRequest::TooLarge) => respond_error(
            &stream,
            431,
            "Request Header Fields Too Large",
            &format!("the request head exceeds {} KiB", HEAD_LIMIT / 1024),
            "",
        ),
        Err(BadRequest::Malformed(why)) => respond_error(&stream, 400, "Bad Request", &why, ""),
        Ok(req) => {
            let line = format!("{} {}", req.method, req.target);
            // `route` closes the connection its own way.
            return route(&stream, &req, config).map(|s| Served { request: line, ..s });
        }
    };
    linger_close(&stream);
    served
}

fn route(stream: &TcpStream, req: &Request, config: &ServeConfig) -> io::Result<Served> {
    let head_only = match req.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let r = respond_error(
                stream,
                405,
                "Method Not Allowed",
                "only GET and HEAD",
                "Allow: GET, HEAD\r\n",
            );
            linger_close(stream);
            return r;
        }
    };
    if config.test_paths {
        let path = req.target.split('?').next().unwrap_or("");
        match Special::parse(path) {
            Some(Ok(special)) => return send_special(stream, special, head_only),
            Some(Err(why)) => {
                let r = respond_error(stream, 400, "Bad Request", &why, "");
                linger_close(stream);
                return r;
            }
            None => {}
        }
    }
    let r = send_file(stream, &req.target, config, head_only);
    linger_close(stream);
    r
}

/// Sends all of `buf`, with `MSG_MORE` if `more`.
fn send_all(stream: &TcpStream, mut buf: &[u8], more: bool) -> io::Result<()> {
    use rustix::net::SendFlags;
    let flags = if more { SendFlags::MORE } else { SendFlags::empty() };
    while !buf.is_empty() {
        match rustix::net::send(stream, buf, flags) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn served(status: u16, sent: u64, report: Option<Report>) -> Served {
    Served {
        request: String::new(),
        status,
        sent,
        report,
    }
}

fn send_special(stream: &TcpStream, special: Special, head_only: bool) -> io::Result<Served> {
    let mut w = stream;
    let length_head = |n: u64| {
        response_head(
            200,
            "OK",
            &format!("Content-Type: application/octet-stream\r\nContent-Length: {n}\r\n"),
        )
    };
    match special {
        Special::Gen(n) | Special::Short(n, _) | Special::Extra(n, _) | Special::Reset(n, _) | Special::Stall(n, _)
            if head_only =>
        {
            w.write_all(length_head(n).as_bytes())?;
            linger_close(stream);
            Ok(served(200, 0, None))
        }
        Special::Gen(n) => {
            // Head and the start of the body in one write.
            let first = n.min(64 * 1024) as usize;
            let mut buf = length_head(n).into_bytes();
            let at = buf.len();
            buf.resize(at + first, 0);
            fill(PATTERN_SEED, 0, &mut buf[at..]);
            w.write_all(&buf)?;
            write_payload(&mut w, PATTERN_SEED, first as u64, n - first as u64)?;
            linger_close(stream);
            Ok(served(200, n, None))
        }
        Special::Short(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_payload(&mut w, PATTERN_SEED, 0, m)?;
            linger_close(stream);
            Ok(served(200, m, None))
        }
        Special::Extra(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_payload(&mut w, PATTERN_SEED, 0, n)?;
            write_payload(&mut w, PATTERN_SEED, GARBAGE_OFFSET, m)?;
            wait_for_close(stream)?;
            Ok(served(200, n + m, None))
        }
        Special::Stall(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_payload(&mut w, PATTERN_SEED, 0, m)?;
            wait_for_close(stream)?;
            Ok(served(200, m, None))
        }
        Special::Reset(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_payload(&mut w, PATTERN_SEED, 0, m)?;
            rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO))?;
            // Dropping the stream now sends a reset.
            Ok(served(200, m, None))
        }
        Special::Chunked(n, size) => {
            w.write_all(
                response_head(
                    200,
                    "OK",
                    "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n",
                )
                .as_bytes(),
            )?;
            if head_only {
                linger_close(stream);
                return Ok(served(200, 0, None));
            }
            let mut out = io::BufWriter::with_capacity(256 * 1024, w);
            let mut buf = vec![0u8; size.min(1 << 20) as usize];
            let mut done = 0u64;
            let mut i = 0u64;
            while done < n {
                let k = (n - done).min(buf.len() as u64) as usize;
                fill(PATTERN_SEED, done, &mut buf[..k]);
                match i {
                    0 => write!(out, "{k:X};name=\"first chunk\"\r\n")?,
                    _ if i.is_multiple_of(2) => write!(out, "{k:X}\r\n")?,
                    _ => write!(out, "{k:x}\r\n")?,
                }
                out.write_all(&buf[..k])?;
                out.write_all(b"\r\n")?;
                done += k as u64;
                i += 1;
            }
            out.write_all(b"0\r\nX-Checksum: none\r\n\r\n")?;
            out.flush()?;
            drop(out);
            linger_close(stream);
            Ok(served(200, n, None))
        }
    }
}
