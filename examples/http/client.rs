//! The client: a GET over one `TcpStream`, the head parsed through a `BufReader`, the body
//! copied into a file. [`read_body`], first below, is where fdcopy does the work.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;

use fdcopy::{Copier, Progress, Report, Strategy};

/// Progress of a body: fdcopy's [`Progress`] for a `Content-Length` body, the decoder's own
/// count for a chunked one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Body bytes written to the file so far.
    pub written: u64,
    /// Bytes of this step.
    pub chunk: u64,
    /// What moved them.
    pub strategy: Strategy,
}

impl From<Progress> for Received {
    fn from(p: Progress) -> Self {
        Received {
            written: p.written,
            chunk: p.chunk,
            strategy: p.strategy,
        }
    }
}

use super::line::{is_tchar, read_line_capped, trim_ows, Line};
use super::{BodyEnd, GetError, Url, CHUNK_LINE_LIMIT, CONNECT_TIMEOUT, HEAD_BUFFER, HEAD_LIMIT, IO_TIMEOUT};

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
    progress: &mut dyn FnMut(Received),
) -> Result<Body, GetError> {
    match framing {
        Framing::Length(len) => {
            let mut body = (&mut *reader).take(len);
            let mut on_progress = |p: Progress| progress(p.into());
            match Copier::new().progress(&mut on_progress).copy(&mut body, dst) {
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

/// Decodes a chunked body (RFC 9112 §7.1) into `dst`: chunk extensions and trailer fields
/// are read and ignored.
fn read_chunked<R: BufRead + ?Sized>(
    reader: &mut R,
    dst: &mut File,
    progress: &mut dyn FnMut(Received),
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
            progress(Received {
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
    progress: &mut dyn FnMut(Received),
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
pub fn get(url: &str, dst: &Path, progress: &mut dyn FnMut(Received)) -> Result<Fetched, GetError> {
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
