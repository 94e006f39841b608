//! The client's errors: what went wrong, with the byte counts.

use std::fmt;
use std::io;
use std::path::PathBuf;

use fdcopy::Report;

use super::{HEAD_LIMIT, IO_TIMEOUT};

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
    pub(super) fn from_io(e: io::Error) -> BodyEnd {
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
