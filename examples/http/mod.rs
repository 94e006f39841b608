//! A small, honest HTTP/1.1 client and server over `TcpStream`, shared by the `http_get` and
//! `http_serve` examples, `tests/http.rs` and the `http-download` bench scenario. Include it
//! with `#[path = "<repo>/examples/http/mod.rs"] mod http;`.
//!
//! The point of the client is the shape golang/go#48530 measured: the response head is parsed
//! through a `BufReader<TcpStream>`, which has usually read the first bytes of the body as
//! well, and the body is bounded by `Content-Length`. [`read_body`] hands fdcopy exactly that,
//! `Take<&mut BufReader<TcpStream>>` → `File`: fdcopy writes the buffered bytes first
//! ([`Strategy::Buffered`]), then splices the rest from the socket through a pipe
//! ([`Strategy::SpliceViaPipe`]), never reading past the limit.
//!
//! The server answers `GET /name` with the file `DIR/name` (sent with fdcopy: `File` →
//! `TcpStream`, which is `sendfile`; the head is sent with `MSG_MORE`, so it shares its first
//! segment with the start of the body, as nginx's `TCP_NOPUSH` does). With [`ServeConfig::test_paths`] it also serves generated
//! bodies on special paths, described at [`Special`].
#![allow(dead_code)]

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fdcopy::{Copier, Progress, Report, Strategy};

/// Largest response (client) or request (server) head accepted, all lines included.
pub const HEAD_LIMIT: usize = 64 * 1024;
/// Capacity of the `BufReader` the head is parsed through (std's default): its first fill
/// usually holds the start of the body too.
pub const HEAD_BUFFER: usize = 8 * 1024;
/// Longest chunk-size line of a chunked body (with its extensions).
pub const CHUNK_LINE_LIMIT: usize = 4096;
/// Bound of `connect`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read and write timeout of every socket: no wait is unbounded.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server waits for a request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Offset of the pattern the `/__extra` path sends after the body (distinct from the body's).
pub const GARBAGE_OFFSET: u64 = 1 << 48;

// ---------------------------------------------------------------------------------------------
// Deterministic payload
// ---------------------------------------------------------------------------------------------

fn mix(mut z: u64) -> u64 {
    // splitmix64's finalizer: every 8-byte word differs, so a shifted or repeated block shows.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `buf` with the payload bytes at `offset..offset + buf.len()` of an endless
/// deterministic stream (what the generated paths send, and what tests put in files).
pub fn pattern_fill(offset: u64, buf: &mut [u8]) {
    let mut pos = offset;
    let mut i = 0;
    while i < buf.len() {
        let word = mix(pos >> 3).to_le_bytes();
        let start = (pos & 7) as usize;
        let n = (8 - start).min(buf.len() - i);
        buf[i..i + n].copy_from_slice(&word[start..start + n]);
        i += n;
        pos += n as u64;
    }
}

/// `len` payload bytes starting at `offset`.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    pattern_fill(offset, &mut v);
    v
}

/// Writes `len` payload bytes starting at `offset` to `w`, 64 KiB at a time.
pub fn write_pattern(w: &mut impl Write, offset: u64, len: u64) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        pattern_fill(offset + done, &mut buf[..n]);
        w.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lines with a bound
// ---------------------------------------------------------------------------------------------

/// How a bounded line read ended.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A whole line is in the buffer, without its `\n` or `\r\n`.
    Complete,
    /// `budget` bytes were read without finding the end of the line.
    TooLong,
    /// End of stream first (the partial line is in the buffer).
    Eof,
}

/// Reads one line of at most `*budget` bytes (terminator included) and takes its length from
/// the budget. The reader never gives more than the budget, so nothing past it is consumed.
fn read_line_capped<R: BufRead + ?Sized>(r: &mut R, buf: &mut Vec<u8>, budget: &mut usize) -> io::Result<Line> {
    buf.clear();
    let n = (&mut *r).take(*budget as u64).read_until(b'\n', buf)?;
    *budget -= n;
    if buf.last() != Some(&b'\n') {
        return Ok(if *budget == 0 { Line::TooLong } else { Line::Eof });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Complete)
}

/// RFC 9110 `tchar`: what a method or a header name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/// An `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The host as written (an IPv6 address keeps its brackets).
    pub host: String,
    /// The port (80 when the URL has none).
    pub port: u16,
    /// The request target: path and query, at least `/`.
    pub path: String,
}

impl Url {
    /// Parses `http://host[:port][/path][?query][#fragment]`. The fragment is dropped; the
    /// target must be plain visible ASCII (percent-encode anything else).
    pub fn parse(s: &str) -> Result<Url, GetError> {
        let bad = |why: &str| GetError::Url(format!("{s:?}: {why}"));
        let rest = match s.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => return Err(bad(&format!("scheme {scheme:?} is not supported (only http)"))),
            None => return Err(bad("expected http://host[:port]/path")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        let target = target.split('#').next().unwrap_or("");
        let path = match target.strip_prefix('?') {
            Some(_) => format!("/{target}"),
            None if target.is_empty() => "/".to_string(),
            None => target.to_string(),
        };
        if let Some(b) = path.bytes().find(|b| !(0x21..=0x7e).contains(b)) {
            return Err(bad(&format!("byte {b:#04x} in the path (percent-encode it)")));
        }
        if authority.contains('@') {
            return Err(bad("user information in URLs is not supported"));
        }
        let (host, port) = if authority.starts_with('[') {
            let close = authority.find(']').ok_or_else(|| bad("unclosed '[' in the host"))?;
            let (h, after) = authority.split_at(close + 1);
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after the IPv6 address"))?),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("no host"));
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]%".contains(&b))
        {
            return Err(bad("invalid character in the host"));
        }
        let port = match port {
            None => 80,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("port out of range"))?,
            Some(_) => return Err(bad("invalid port")),
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The `Host` header's value: the host, with the port unless it is 80.
    pub fn authority(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// A response head (the final one: interim `1xx` responses are skipped).
#[derive(Clone, Debug)]
pub struct Head {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// Header fields in order, names as sent, values trimmed, folded lines joined with a space.
    pub headers: Vec<(String, String)>,
    /// Bytes the head took on the wire, interim responses included.
    pub len: usize,
}

/// How the body's end is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl Head {
    /// Values of the header fields named `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of the header field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's framing: `Transfer-Encoding: chunked` wins over `Content-Length` (RFC 9112
    /// §6.3); several `Content-Length` values must agree.
    pub fn framing(&self) -> Result<Framing, GetError> {
        let codings: Vec<String> = self
            .values("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(|c| trim_ows(c).to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if !codings.is_empty() {
            return if codings.iter().all(|c| c == "chunked") && codings.len() == 1 {
                Ok(Framing::Chunked)
            } else {
                Err(GetError::UnsupportedEncoding(codings.join(", ")))
            };
        }
        let mut len = None;
        for value in self.values("content-length") {
            for part in value.split(',') {
                let part = trim_ows(part);
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(GetError::BadLength(format!("{value:?} is not a number")));
                }
                let n = part
                    .parse::<u64>()
                    .map_err(|_| GetError::BadLength(format!("{value:?} is too large")))?;
                if len.is_some_and(|l| l != n) {
                    return Err(GetError::BadLength(format!(
                        "conflicting values ({} and {n})",
                        len.unwrap()
                    )));
                }
                len = Some(n);
            }
        }
        len.map(Framing::Length).ok_or(GetError::MissingLength)
    }
}

/// What a completed body copy did.
#[derive(Clone, Debug)]
pub enum Body {
    /// A `Content-Length` body, copied by fdcopy: the report says which strategies moved it.
    Length(Report),
    /// A chunked body, decoded with a plain read/write loop.
    Chunked {
        /// Chunks (of non-zero size) decoded.
        chunks: u64,
        /// Body bytes decoded (and written).
        written: u64,
    },
}

impl Body {
    /// Body bytes written to the file.
    pub fn written(&self) -> u64 {
        match self {
            Body::Length(report) => report.written(),
            Body::Chunked { written, .. } => *written,
        }
    }
}

/// A completed download.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The response head.
    pub head: Head,
    /// The body's framing.
    pub framing: Framing,
    /// Body bytes written to the file.
    pub written: u64,
    /// How the body was copied.
    pub body: Body,
}

/// Why a body stopped before its end.
#[derive(Debug)]
pub enum BodyEnd {
    /// The server closed the connection.
    Eof,
    /// The server reset the connection.
    Reset,
    /// No byte arrived within [`IO_TIMEOUT`].
    Timeout,
    /// Another error, of the socket or of the file.
    Io(io::Error),
}

impl BodyEnd {
    fn from_io(e: io::Error) -> BodyEnd {
        match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => BodyEnd::Reset,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => BodyEnd::Timeout,
            _ => BodyEnd::Io(e),
        }
    }
}

/// Everything that can go wrong with a download; the message says what, with the counts.
#[derive(Debug)]
pub enum GetError {
    /// The URL cannot be used.
    Url(String),
    /// No connection to the server.
    Connect(io::Error),
    /// Sending the request failed.
    Request(io::Error),
    /// Reading the response head failed.
    HeadIo(io::Error),
    /// The connection closed before the end of the response head.
    ClosedInHead {
        /// Head bytes received.
        got: usize,
    },
    /// The response head is larger than [`HEAD_LIMIT`].
    HeadTooLarge,
    /// The response is not HTTP/1.x, or a line of it cannot be parsed.
    Malformed(String),
    /// The status is not 200.
    Status {
        /// The status code.
        code: u16,
        /// The reason phrase.
        reason: String,
    },
    /// Neither `Content-Length` nor `Transfer-Encoding: chunked`.
    MissingLength,
    /// A `Content-Length` that is not one non-negative number.
    BadLength(String),
    /// A transfer coding other than `chunked`.
    UnsupportedEncoding(String),
    /// A chunked body that does not follow the chunked syntax.
    BadChunk {
        /// What is wrong.
        what: String,
        /// Body bytes written before.
        got: u64,
    },
    /// The body stopped early: `got` bytes (exactly) are in the file.
    Body {
        /// Body bytes written to the file.
        got: u64,
        /// The `Content-Length` (`None` for a chunked body).
        want: Option<u64>,
        /// Why it stopped.
        end: BodyEnd,
        /// Which strategies moved the `got` bytes (`None` for a chunked body).
        report: Option<Report>,
    },
    /// The output file cannot be created.
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
}

impl GetError {
    /// Body bytes in the file when the error happened (0 before the body).
    pub fn written(&self) -> u64 {
        match self {
            GetError::Body { got, .. } | GetError::BadChunk { got, .. } => *got,
            _ => 0,
        }
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Url(why) => write!(f, "bad URL {why}"),
            GetError::Connect(e) => write!(f, "cannot connect: {e}"),
            GetError::Request(e) => write!(f, "cannot send the request: {e}"),
            GetError::HeadIo(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                write!(f, "timed out waiting for the response head")
            }
            GetError::HeadIo(e) => write!(f, "error reading the response head: {e}"),
            GetError::ClosedInHead { got: 0 } => write!(f, "the server closed the connection without a response"),
            GetError::ClosedInHead { got } => {
                write!(
                    f,
                    "the server closed the connection inside the response head (after {got} bytes)"
                )
            }
            GetError::HeadTooLarge => write!(f, "response head larger than {} KiB", HEAD_LIMIT / 1024),
            GetError::Malformed(why) => write!(f, "malformed response: {why}"),
            GetError::Status { code, reason } => write!(f, "server answered {code} {reason} (expected 200 OK)"),
            GetError::MissingLength => {
                write!(f, "response has neither Content-Length nor Transfer-Encoding: chunked")
            }
            GetError::BadLength(why) => write!(f, "bad Content-Length: {why}"),
            GetError::UnsupportedEncoding(c) => write!(f, "unsupported Transfer-Encoding {c:?} (only chunked)"),
            GetError::BadChunk { what, got } => write!(f, "bad chunked body after {got} bytes: {what}"),
            GetError::Body { got, want, end, .. } => {
                let of = match want {
                    Some(w) => format!("{got} of {w} bytes"),
                    None => format!("{got} bytes of a chunked body"),
                };
                match end {
                    BodyEnd::Eof => write!(f, "short body: got {of} (the server closed the connection)"),
                    BodyEnd::Reset => write!(f, "connection reset by the server: got {of}"),
                    BodyEnd::Timeout => write!(f, "timed out ({} s without data): got {of}", IO_TIMEOUT.as_secs()),
                    BodyEnd::Io(e) => write!(f, "{e}: got {of}"),
                }
            }
            GetError::Output { path, error } => write!(f, "cannot create {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for GetError {}

/// Connects to the URL's host with [`CONNECT_TIMEOUT`], and sets [`IO_TIMEOUT`] both ways.
pub fn connect(url: &Url) -> Result<TcpStream, GetError> {
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let addrs = (host, url.port).to_socket_addrs().map_err(GetError::Connect)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(Some(IO_TIMEOUT)).map_err(GetError::Connect)?;
                s.set_write_timeout(Some(IO_TIMEOUT)).map_err(GetError::Connect)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(GetError::Connect(last))
}

/// Sends `GET` for the URL, with `Connection: close`.
pub fn send_request(stream: &TcpStream, url: &Url) -> Result<(), GetError> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: fdcopy-http_get/0.1\r\nAccept: */*\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        url.path,
        url.authority()
    );
    let mut w = stream;
    w.write_all(request.as_bytes()).map_err(GetError::Request)
}

/// Reads a response head through `r`, skipping interim `1xx` responses (not `101`). At most
/// [`HEAD_LIMIT`] bytes are read for the heads, and nothing past the final head's empty line
/// is consumed (though a `BufReader` may already hold it).
pub fn read_head<R: BufRead + ?Sized>(r: &mut R) -> Result<Head, GetError> {
    let mut budget = HEAD_LIMIT;
    loop {
        let mut head = read_one_head(r, &mut budget)?;
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        head.len = HEAD_LIMIT - budget;
        return Ok(head);
    }
}

fn head_line<R: BufRead + ?Sized>(r: &mut R, line: &mut Vec<u8>, budget: &mut usize) -> Result<(), GetError> {
    match read_line_capped(r, line, budget).map_err(GetError::HeadIo)? {
        Line::Complete => Ok(()),
        Line::TooLong => Err(GetError::HeadTooLarge),
        Line::Eof => Err(GetError::ClosedInHead {
            got: HEAD_LIMIT - *budget,
        }),
    }
}

fn read_one_head<R: BufRead + ?Sized>(r: &mut R, budget: &mut usize) -> Result<Head, GetError> {
    let mut line = Vec::new();
    head_line(r, &mut line, budget)?;
    let status_line = String::from_utf8_lossy(&line).into_owned();
    let (version, rest) = status_line
        .split_once([' ', '\t'])
        .unwrap_or((status_line.as_str(), ""));
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(GetError::Malformed(format!(
            "status line {status_line:?} is not HTTP/1.x"
        )));
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let code = rest.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
    let after = rest.get(3..).unwrap_or("");
    let status = match code {
        Some(c) if after.is_empty() || after.starts_with([' ', '\t']) => c.parse::<u16>().unwrap_or(0),
        _ => return Err(GetError::Malformed(format!("no status code in {status_line:?}"))),
    };
    let mut head = Head {
        version: version.to_string(),
        status,
        reason: trim_ows(after).to_string(),
        headers: Vec::new(),
        len: 0,
    };
    loop {
        head_line(r, &mut line, budget)?;
        if line.is_empty() {
            return Ok(head);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // obs-fold (RFC 9112 §5.2): a continuation of the previous field's value, which a
            // recipient may replace with a single space.
            let Some((_, value)) = head.headers.last_mut() else {
                return Err(GetError::Malformed("continuation line before any header field".into()));
            };
            let more = String::from_utf8_lossy(&line);
            let more = trim_ows(&more);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let Some((name, value)) = text.split_once(':') else {
            return Err(GetError::Malformed(format!("header line without a colon: {text:?}")));
        };
        // Whitespace between the name and the colon is invalid; a client may drop it.
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(GetError::Malformed(format!("bad header name in {text:?}")));
        }
        head.headers.push((name.to_string(), trim_ows(value).to_string()));
    }
}

/// Copies the body that follows the head in `reader` into `dst` (at its current offset),
/// calling `progress` as bytes arrive.
///
/// A `Content-Length` body goes through fdcopy as `Take<&mut BufReader<TcpStream>>` → `File`:
/// the bytes the `BufReader` already holds first, then `splice` from the socket, never past
/// the length. Bytes after the body stay unread (in the socket, or in the `BufReader`). A
/// chunked body is decoded with a plain read/write loop.
pub fn read_body(
    reader: &mut BufReader<TcpStream>,
    framing: Framing,
    dst: &mut File,
    progress: &mut dyn FnMut(Progress),
) -> Result<Body, GetError> {
    match framing {
        Framing::Length(len) => {
            let mut body = (&mut *reader).take(len);
            match Copier::new().progress(progress).copy_std(&mut body, dst) {
                Ok(report) if report.written() == len => Ok(Body::Length(report)),
                Ok(report) => Err(GetError::Body {
                    got: report.written(),
                    want: Some(len),
                    end: BodyEnd::Eof,
                    report: Some(report),
                }),
                Err(e) => {
                    let report = e.report().clone();
                    let (got, error) = e.into_parts();
                    Err(GetError::Body {
                        got,
                        want: Some(len),
                        end: BodyEnd::from_io(error),
                        report: Some(report),
                    })
                }
            }
        }
        Framing::Chunked => read_chunked(reader, dst, progress),
    }
}

/// Decodes a chunked body (RFC 9112 §7.1) into `dst`: chunk extensions and trailer fields
/// are read and ignored.
fn read_chunked<R: BufRead + ?Sized>(
    reader: &mut R,
    dst: &mut File,
    progress: &mut dyn FnMut(Progress),
) -> Result<Body, GetError> {
    let mut got = 0u64;
    let mut chunks = 0u64;
    let mut line = Vec::new();
    let mut buf = vec![0u8; 128 * 1024];
    let bad = |what: String, got: u64| GetError::BadChunk { what, got };
    let cut = |got: u64, end: BodyEnd| GetError::Body {
        got,
        want: None,
        end,
        report: None,
    };
    loop {
        let mut budget = CHUNK_LINE_LIMIT;
        match read_line_capped(reader, &mut line, &mut budget) {
            Ok(Line::Complete) => {}
            Ok(Line::TooLong) => return Err(bad("chunk-size line too long".into(), got)),
            Ok(Line::Eof) => return Err(cut(got, BodyEnd::Eof)),
            Err(e) => return Err(cut(got, BodyEnd::from_io(e))),
        }
        let text = String::from_utf8_lossy(&line);
        let size_text = trim_ows(text.split(';').next().unwrap_or(""));
        if size_text.is_empty() || size_text.len() > 15 || !size_text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("bad chunk size {text:?}"), got));
        }
        let size = u64::from_str_radix(size_text, 16).expect("checked hex digits");
        if size == 0 {
            break;
        }
        chunks += 1;
        let mut left = size;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => return Err(cut(got, BodyEnd::Eof)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(cut(got, BodyEnd::from_io(e))),
            };
            dst.write_all(&buf[..n]).map_err(|e| cut(got, BodyEnd::Io(e)))?;
            got += n as u64;
            left -= n as u64;
            progress(Progress {
                written: got,
                chunk: n as u64,
                strategy: Strategy::Buffered,
            });
        }
        let mut budget = 2;
        match read_line_capped(reader, &mut line, &mut budget) {
            Ok(Line::Complete) if line.is_empty() => {}
            Ok(Line::Eof) => return Err(cut(got, BodyEnd::Eof)),
            Err(e) => return Err(cut(got, BodyEnd::from_io(e))),
            Ok(_) => return Err(bad("chunk data not followed by CRLF".into(), got)),
        }
    }
    // The trailer section: fields until an empty line.
    let mut budget = HEAD_LIMIT;
    loop {
        match read_line_capped(reader, &mut line, &mut budget) {
            Ok(Line::Complete) if line.is_empty() => return Ok(Body::Chunked { chunks, written: got }),
            Ok(Line::Complete) => {}
            Ok(Line::TooLong) => return Err(bad("trailer section too large".into(), got)),
            Ok(Line::Eof) => return Err(bad("connection closed inside the trailer section".into(), got)),
            Err(e) => return Err(cut(got, BodyEnd::from_io(e))),
        }
    }
}

/// The response on `reader`: head, status check (200), framing, then the body into `dst`.
pub fn receive(
    reader: &mut BufReader<TcpStream>,
    dst: &mut File,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, GetError> {
    let head = read_head(reader)?;
    let framing = check(&head)?;
    let body = read_body(reader, framing, dst, progress)?;
    Ok(fetched(head, framing, body))
}

/// The status must be 200 and the framing known.
pub fn check(head: &Head) -> Result<Framing, GetError> {
    if head.status != 200 {
        return Err(GetError::Status {
            code: head.status,
            reason: head.reason.clone(),
        });
    }
    head.framing()
}

fn fetched(head: Head, framing: Framing, body: Body) -> Fetched {
    Fetched {
        written: body.written(),
        head,
        framing,
        body,
    }
}

/// Downloads `url` into the file `dst` (created or truncated once a 200 response with a
/// usable framing arrived: an error page never clobbers it). On a body error the file keeps
/// the bytes received, [`GetError::written`] of them.
pub fn get(url: &str, dst: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Fetched, GetError> {
    let url = Url::parse(url)?;
    let stream = connect(&url)?;
    send_request(&stream, &url)?;
    let mut reader = BufReader::with_capacity(HEAD_BUFFER, stream);
    let head = read_head(&mut reader)?;
    let framing = check(&head)?;
    let mut file = create(dst)?;
    let body = read_body(&mut reader, framing, &mut file, progress)?;
    Ok(fetched(head, framing, body))
}

/// Creates (or truncates) the output file.
pub fn create(path: &Path) -> Result<File, GetError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|error| GetError::Output {
            path: path.to_path_buf(),
            error,
        })
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

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

fn send_file(stream: &TcpStream, target: &str, config: &ServeConfig, head_only: bool) -> io::Result<Served> {
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
    match Copier::new().copy_std(&mut body, &mut w) {
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
            pattern_fill(0, &mut buf[at..]);
            w.write_all(&buf)?;
            write_pattern(&mut w, first as u64, n - first as u64)?;
            linger_close(stream);
            Ok(served(200, n, None))
        }
        Special::Short(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_pattern(&mut w, 0, m)?;
            linger_close(stream);
            Ok(served(200, m, None))
        }
        Special::Extra(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_pattern(&mut w, 0, n)?;
            write_pattern(&mut w, GARBAGE_OFFSET, m)?;
            wait_for_close(stream)?;
            Ok(served(200, n + m, None))
        }
        Special::Stall(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_pattern(&mut w, 0, m)?;
            wait_for_close(stream)?;
            Ok(served(200, m, None))
        }
        Special::Reset(n, m) => {
            w.write_all(length_head(n).as_bytes())?;
            write_pattern(&mut w, 0, m)?;
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
                pattern_fill(done, &mut buf[..k]);
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
