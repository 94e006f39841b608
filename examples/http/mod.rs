//! A small, honest HTTP/1.1 client and server over `TcpStream`, shared by the `http_get` and
//! `http_serve` examples, `tests/http.rs` and the `http-download` bench scenario. Include it
//! with `#[path = "<repo>/examples/http/mod.rs"] mod http;`.
//!
//! Where fdcopy does the work:
//!
//! * [`read_body`](client::read_body) (top of `client.rs`), the client's body copy. The response
//!   head is parsed through a `BufReader<TcpStream>`, which has usually read the first bytes of
//!   the body as well, and the body is bounded by `Content-Length`: the shape golang/go#48530
//!   measured. `read_body` hands fdcopy exactly that, `Take<&mut BufReader<TcpStream>>` →
//!   `File`: fdcopy writes the buffered bytes first ([`Strategy::Buffered`]), then splices the
//!   rest from the socket through a pipe ([`Strategy::SpliceViaPipe`]), never reading past the
//!   limit.
//! * [`send_file`](server::send_file) (top of `server.rs`), the server's answer to `GET /name`:
//!   the file `DIR/name`, `File` → `TcpStream`, which is `sendfile`. The head goes out with
//!   `MSG_MORE`, so it shares its first segment with the start of the body, as nginx's
//!   `TCP_NOPUSH` does.
//!
//! The rest is plain HTTP: `url.rs` (parsing `http://` URLs), `error.rs` (the client's errors,
//! with byte counts), `line.rs` (bounded line reads shared by both sides), the head parsing and
//! the chunked decoding in `client.rs`, request parsing, error responses and the generated
//! test bodies ([`ServeConfig::test_paths`], [`Special`]) in `server.rs`.
//!
//! [`Strategy::Buffered`]: fdcopy::Strategy::Buffered
//! [`Strategy::SpliceViaPipe`]: fdcopy::Strategy::SpliceViaPipe

// Each includer uses a part (an example one side, the bench a few pieces of both, the tests
// most): what one of them leaves unused, in any of the files, is not dead.
#![allow(dead_code)]

mod client;
mod error;
mod line;
mod server;
mod url;

use std::time::Duration;

#[allow(unused_imports)] // unused by the server-only includers, as `server::*` by the client-only ones
pub use client::*;
pub use error::*;
#[allow(unused_imports)]
pub use server::*;
pub use url::*;

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
