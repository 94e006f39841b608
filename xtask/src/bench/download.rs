//! The `http-download` scenario: golang/go#48530's `http.Get` of a large file from a local
//! server, the body copied into a file.
//!
//! The server is `examples/http`'s (`handle`: head with `MSG_MORE`, then the body with fdcopy,
//! i.e. `sendfile`), running in a peer process (`--role serve`) that answers exactly one
//! request for a source file in the bench's tmpfs directory. The client is `examples/http`'s
//! too, taken apart so that only the body copy differs between engines: every engine gets a
//! `BufReader::with_capacity(HEAD_BUFFER, TcpStream)` that parsed the response head (and so
//! usually holds the first bytes of the body) and copies `(&mut reader).take(Content-Length)`
//! into the shared pre-allocated tmpfs destination file.
//!
//! Timed, identically for every engine: connect, request, head parse, body copy. That is what
//! a download costs the client, and what Go's measurement covered. Not timed: the peer's
//! start, the loop buffer, the destination's pre-allocation, and the checks afterwards (the
//! count, EOF right after the body, the server's byte count, every byte of the file).

use std::io::{self, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::Stdio;

use super::endpoints::{peer_bytes, FileSink, Sink};
use super::engine::Engine;
use super::env::Env;
use super::http::{self, Framing, Url, HEAD_BUFFER};
use super::meter::{Meter, Sample};
use super::peer::{Peer, PeerSpec, Role, Transport};
use super::scenario::Job;

/// Why `http-download` has no `/4k` variant (shown in its table row).
///
/// A small variant would be 10 000 GETs of 4 KiB. The server answers one request per
/// connection (`Connection: close`, no keep-alive), so that would be 10 000 connection
/// set-ups and peer accepts, which would dominate the figures and say nothing about the
/// copy; the per-call overhead of small copies from a socket is what `tcp-file/4k` measures.
pub const NO_SMALL: &str = "one request per connection (Connection: close), no keep-alive; see tcp-file/4k";

/// One measured download of `job.stream_bytes` bytes with `engine`.
pub fn run(env: &mut Env, job: &Job, engine: Engine) -> Result<Sample, String> {
    if job.limit.is_some() || job.copies != 1 {
        return Err(format!("http-download has no small variant: {NO_SMALL}"));
    }
    let len = job.stream_bytes;
    // Two source files, alternating by run (as for `file-file`), so consecutive runs always
    // write different bytes into the shared destination.
    let seed = job.run % 2;
    let src = env.source_file(len, seed)?;
    let name = src
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no file name", src.display()))?
        .to_string();
    let mut dst = FileSink::open(env, job, seed)?;

    // The peer serves on our listener (its stdin): the address is known before it starts,
    // and a dead server means a refused connection, never a hang.
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let url = Url::parse(&format!("http://{addr}/{name}")).map_err(|e| e.to_string())?;
    let spec = PeerSpec {
        role: Role::Serve,
        transport: Transport::Listener,
        seed,
        bytes: len,
        deadline: job.deadline(),
        dir: Some(env.dir.clone()),
    };
    let stdin = Stdio::from(OwnedFd::from(listener));
    let mut peer = Peer::spawn(&mut env.control, &spec, stdin, Stdio::null())?;
    peer.ready()?;
    let mut buf = engine.buffer();

    peer.go()?;
    let meter = Meter::start();
    let got = download(engine, &url, dst.writer(), &mut buf);
    let sample = meter.stop();

    let fail = |e: String, peer: &mut Peer| match peer.failure() {
        Some(why) => format!("{e}; {why}"),
        None => e,
    };
    let (mut reader, announced, copied) = got.map_err(|e| fail(e, &mut peer))?;
    if announced != len {
        return Err(format!("server announced Content-Length {announced}, expected {len}"));
    }
    if copied != len {
        return Err(format!("copy returned {copied} bytes, expected {len}"));
    }
    // The server sends exactly the body and then shuts its side: nothing may follow.
    let extra = io::copy(&mut (&mut reader).take(1 << 20), &mut io::sink())
        .map_err(|e| format!("reading after the body: {e}"))?;
    if extra != 0 {
        return Err(format!("{extra} bytes after the body"));
    }
    drop(reader); // our close ends the server's linger
    peer_bytes(peer, len)?;
    dst.finish(env, job, seed, len)?;
    Ok(sample)
}

/// The timed region: GET `url`, parse the head, copy the body into `file` with `engine`.
///
/// Returns the reader (for the checks after the body), the `Content-Length` and the count
/// the engine returned.
fn download<W: io::Write>(
    engine: Engine,
    url: &Url,
    file: &mut W,
    buf: &mut [u8],
) -> Result<(BufReader<TcpStream>, u64, u64), String> {
    let stream = http::connect(url).map_err(|e| e.to_string())?;
    http::send_request(&stream, url).map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(HEAD_BUFFER, stream);
    let head = http::read_head(&mut reader).map_err(|e| e.to_string())?;
    let len = match http::check(&head).map_err(|e| e.to_string())? {
        Framing::Length(len) => len,
        Framing::Chunked => return Err("server sent a chunked body, expected Content-Length".into()),
    };
    // `Take<&mut BufReader<TcpStream>>`: the buffered start of the body, then the socket.
    let copied = engine
        .copy(&mut (&mut reader).take(len), file, buf)
        .map_err(|e| format!("copying the body: {e}"))?;
    Ok((reader, len, copied))
}
