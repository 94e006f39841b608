//! `http_get`: downloads one URL into a file with a small HTTP/1.1 client (no HTTP crate), the
//! body moved by fdcopy.
//!
//! ```text
//! cargo run --release --example http_get -- http://127.0.0.1:PORT/path OUTFILE
//! ```
//!
//! The response head is parsed through a `BufReader<TcpStream>` (8 KiB, std's default), whose
//! first fill usually holds the start of the body as well. The body is then copied with
//! `fdcopy::Copier::copy(&mut (&mut reader).take(content_length), &mut file)`: the bytes
//! already buffered go out first (strategy `buffered`), the rest moves from the socket to the
//! file with `splice` through a pipe (strategy `splice-via-pipe`), never past
//! `Content-Length` (golang/go#48530 measured this download shape). The output lists every
//! strategy with its byte count; a progress line (every 10 % or 64 MiB) goes to stderr.
//!
//! A `Transfer-Encoding: chunked` body has no length to hand to a kernel copy: it is decoded
//! chunk by chunk with a plain read/write loop, and the output says so.
//!
//! Errors (exit status 1, message on stderr): a status other than 200, a missing or invalid
//! `Content-Length`, a short body (the server closed early: "short body: got X of Y bytes",
//! and OUTFILE holds exactly the X bytes received), a reset connection, a response head over
//! 64 KiB, a timeout (30 s without data). Usage errors exit with status 2.
//!
//! The code lives in `examples/http/` (the client in `client.rs`, the fdcopy call in its
//! `read_body`), shared with `http_serve`, `tests/http.rs` and the bench.

mod http;

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use http::{Body, Framing, GetError, Received, Url};

const USAGE: &str = "usage: http_get http://HOST[:PORT]/PATH OUTFILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, out] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if url.starts_with('-') {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    match run(url, Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_get: error: {e}");
            if e.written() > 0 {
                eprintln!("http_get: {out} holds the {} bytes received", e.written());
            }
            ExitCode::FAILURE
        }
    }
}

fn run(url: &str, out: &Path) -> Result<(), GetError> {
    let url = Url::parse(url)?;
    let start = Instant::now();
    let stream = http::connect(&url)?;
    http::send_request(&stream, &url)?;
    let mut reader = BufReader::with_capacity(http::HEAD_BUFFER, stream);
    let head = http::read_head(&mut reader)?;
    println!("GET {url}: {} {} {}", head.version, head.status, head.reason);
    let framing = http::check(&head)?;
    let total = match framing {
        Framing::Length(n) => {
            println!(
                "Content-Length: {n}; {} body bytes already in the {} KiB header buffer",
                (reader.buffer().len() as u64).min(n),
                http::HEAD_BUFFER / 1024
            );
            Some(n)
        }
        Framing::Chunked => {
            println!(
                "Transfer-Encoding: chunked (no Content-Length): decoding the chunks with a plain \
                 read/write loop, the buffered path (no splice)"
            );
            None
        }
    };
    let mut file = http::create(out)?;
    let mut meter = Meter::new(total);
    let result = {
        let mut on_progress = |p: Received| meter.update(p);
        http::read_body(&mut reader, framing, &mut file, &mut on_progress)
    };
    meter.finish();
    let body = result?;
    let secs = start.elapsed().as_secs_f64();
    let written = body.written();
    println!(
        "wrote {written} bytes to {} in {secs:.3} s ({:.2} MiB/s)",
        out.display(),
        written as f64 / (1 << 20) as f64 / secs.max(1e-9)
    );
    match &body {
        Body::Length(_) if written == 0 => println!("strategy: none (empty body)"),
        Body::Length(report) => {
            println!("strategy: {} (moved the most bytes)", report.strategy());
            for (s, n) in report.strategies() {
                println!("  {:<16} {n:>12} bytes", s.name());
            }
        }
        Body::Chunked { chunks, .. } => {
            println!("strategy: buffered (chunked decoding loop, {chunks} chunks)");
        }
    }
    Ok(())
}

/// The progress line: every 10 % of the length (at most every 64 MiB), on stderr.
struct Meter {
    total: Option<u64>,
    step: u64,
    next: u64,
    last: Option<Received>,
    shown: u64,
}

impl Meter {
    fn new(total: Option<u64>) -> Meter {
        let step = match total {
            Some(t) => (t / 10).clamp(1, 64 << 20),
            None => 64 << 20,
        };
        Meter {
            total,
            step,
            next: step,
            last: None,
            shown: 0,
        }
    }

    fn update(&mut self, p: Received) {
        self.last = Some(p);
        if p.written >= self.next {
            self.show(p);
            self.next = (p.written / self.step + 1) * self.step;
        }
    }

    fn show(&mut self, p: Received) {
        self.shown = p.written;
        let line = match self.total {
            Some(t) if t > 0 => format!(
                "progress: {} / {t} bytes ({:.0} %), last chunk {} bytes by {}\n",
                p.written,
                p.written as f64 * 100.0 / t as f64,
                p.chunk,
                p.strategy
            ),
            _ => format!(
                "progress: {} bytes, last chunk {} bytes by {}\n",
                p.written, p.chunk, p.strategy
            ),
        };
        // One write per line (stderr is unbuffered).
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn finish(&mut self) {
        if let Some(p) = self.last {
            if p.written != self.shown {
                self.show(p);
            }
        }
    }
}
