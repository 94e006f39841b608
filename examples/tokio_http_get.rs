//! `tokio_http_get`: `http_get` on tokio. Downloads one URL into a file; the response head is
//! read through a `tokio::io::BufReader<TcpStream>`, the body moved by `fdcopy::tokio`.
//!
//! ```text
//! cargo run --release --features tokio --example tokio_http_get -- http://127.0.0.1:PORT/path OUTFILE
//! ```
//!
//! A `Content-Length` body is one call,
//! `fdcopy::tokio::Copier::copy(&mut (&mut reader).take(len), &mut file)`: the bytes the
//! `BufReader` already holds go out first (`buffered`), the rest is spliced from the socket
//! through a pipe (`splice-via-pipe`), never past the length. A chunked body is decoded chunk
//! by chunk, each chunk's data copied the same way. The head parsing and the URL are the
//! blocking example's (`examples/http/`).

mod http;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fdcopy::tokio::Copier;
use std::collections::BTreeMap;

use fdcopy::{Progress, Strategy};
use http::{Framing, Url, HEAD_LIMIT};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const USAGE: &str = "usage: tokio_http_get http://HOST[:PORT]/PATH OUTFILE";

/// Time allowed without progress.
const STALL: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, out] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(get(url, Path::new(out))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_http_get: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn get(url: &str, out: &Path) -> Result<(), String> {
    let url = Url::parse(url).map_err(|e| e.to_string())?;
    let host = url.host.trim_start_matches('[').trim_end_matches(']').to_string();
    let stream = tokio::time::timeout(STALL, TcpStream::connect((host.as_str(), url.port)))
        .await
        .map_err(|_| format!("connecting to {url}: timed out"))?
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    let mut reader = BufReader::new(stream);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: fdcopy-tokio_http_get/0.2\r\nAccept: */*\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        url.path,
        url.authority()
    );
    reader
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    // The head: lines up to the empty one (and past interim 1xx heads), parsed by the blocking
    // example's parser.
    let raw = read_head(&mut reader).await?;
    let head = http::read_head(&mut &raw[..]).map_err(|e| e.to_string())?;
    let framing = http::check(&head).map_err(|e| e.to_string())?;
    println!("GET {url}: {} {} {}", head.version, head.status, head.reason);
    let mut file = tokio::fs::File::create(out)
        .await
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let start = Instant::now();
    let mut last_shown = 0u64;
    let mut on_progress = |p: Progress| {
        if p.written - last_shown >= 64 << 20 {
            last_shown = p.written;
            eprintln!("tokio_http_get: {} MiB", p.written >> 20);
        }
    };
    // Bytes per strategy, over the body's copies (one, or one per chunk).
    let mut total: BTreeMap<Strategy, u64> = BTreeMap::new();
    let written = match framing {
        Framing::Length(len) => {
            println!(
                "Content-Length: {len}; {} body bytes already in the head buffer",
                reader.buffer().len()
            );
            let mut copier = Copier::new().progress(&mut on_progress);
            let r = copier.copy(&mut (&mut reader).take(len), &mut file).await;
            match r {
                Ok(report) if report.written() == len => {
                    total.extend(report.strategies());
                    len
                }
                Ok(report) => return Err(format!("short body: got {} of {len} bytes", report.written())),
                Err(e) => return Err(format!("body: {e} (after {} of {len} bytes)", e.written())),
            }
        }
        Framing::Chunked => {
            let mut got = 0u64;
            let mut line = Vec::new();
            loop {
                line.clear();
                reader
                    .read_until(b'\n', &mut line)
                    .await
                    .map_err(|e| format!("chunk size: {e}"))?;
                let text = String::from_utf8_lossy(&line);
                let size_text = text.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {text:?}"))?;
                if size == 0 {
                    break;
                }
                let report = Copier::new()
                    .copy(&mut (&mut reader).take(size), &mut file)
                    .await
                    .map_err(|e| format!("chunk: {e} (after {} bytes)", got + e.written()))?;
                if report.written() != size {
                    return Err(format!("short chunk: {} of {size} bytes", report.written()));
                }
                got += size;
                for (s, n) in report.strategies() {
                    *total.entry(s).or_default() += n;
                }
                line.clear();
                reader
                    .read_until(b'\n', &mut line)
                    .await
                    .map_err(|e| format!("chunk end: {e}"))?;
                if line != b"\r\n" {
                    return Err("chunk data not followed by CRLF".into());
                }
            }
            got
        }
    };
    file.flush().await.map_err(|e| format!("{}: {e}", out.display()))?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "wrote {written} bytes to {} in {secs:.3} s ({:.2} MiB/s)",
        out.display(),
        written as f64 / (1 << 20) as f64 / secs.max(1e-9)
    );
    if let Some((s, _)) = total.iter().max_by_key(|(_, n)| **n) {
        println!("strategy: {s} (moved the most bytes)");
    }
    for (s, n) in &total {
        println!("  {s:<18} {n:>12} bytes");
    }
    Ok(())
}

/// Reads the response head (and any interim `1xx` heads before it) up to its empty line;
/// nothing past it is consumed from the `BufReader`.
async fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    let mut head_start = 0;
    loop {
        let before = raw.len();
        let n = tokio::time::timeout(STALL, reader.read_until(b'\n', &mut raw))
            .await
            .map_err(|_| "reading the head: timed out".to_string())?
            .map_err(|e| format!("reading the head: {e}"))?;
        if n == 0 {
            return Err("connection closed inside the response head".into());
        }
        if raw.len() > HEAD_LIMIT {
            return Err(format!("response head over {HEAD_LIMIT} bytes"));
        }
        if &raw[before..] == b"\r\n" || &raw[before..] == b"\n" {
            // The end of a head: an interim one (1xx but 101) is followed by another.
            let status = raw[head_start..].split(|&b| b == b' ').nth(1).unwrap_or(b"");
            if status.starts_with(b"1") && status != b"101" {
                head_start = raw.len();
                continue;
            }
            return Ok(raw);
        }
    }
}
