//! `http_serve`: a minimal HTTP/1.1 file server whose bodies are sent by fdcopy (`File` →
//! `TcpStream`: `sendfile`).
//!
//! ```text
//! cargo run --release --example http_serve -- [--addr 127.0.0.1:0] [--dir DIR] [--quiet]
//! ```
//!
//! The first line on stdout is `listening on http://ADDR:PORT`. `GET /name` (or `HEAD`)
//! answers the regular file `DIR/name` (default DIR: the current directory) with 200 and
//! `Content-Length`; a missing file is 404, a malformed request 400 (also any target with
//! `..`, `.`, empty segments such as `//abs`, or a backslash: nothing outside DIR is served;
//! percent sequences are not decoded), another method 405, a request head over 64 KiB 431.
//! One thread per connection, one request per connection (`Connection: close`), the request
//! head read with a bound of 64 KiB and a 10 s timeout; every socket has a 30 s timeout.
//! One line per request goes to stderr (`--quiet` silences it).
//!
//! Hidden test and bench option `--test-paths`: generated bodies (a deterministic pattern) on
//! special paths, which then shadow files whose names start with `__`:
//!
//! * `/__gen/<n>`: 200 with `Content-Length: n` and the `n` bytes (head and body start in one
//!   write);
//! * `/__short/<n>/<m>`: `Content-Length: n` but only `m <= n` bytes, then the connection
//!   closes (a short body);
//! * `/__chunked/<n>[/<size>]`: `Transfer-Encoding: chunked`, `n` bytes in chunks of `size`
//!   (default 4093), with a chunk extension and a trailer field;
//! * `/__extra/<n>/<m>`: `Content-Length: n`, then `n + m` bytes without closing (bytes past
//!   the body, for checking that a client does not consume them);
//! * `/__reset/<n>/<m>`: `Content-Length: n`, `m <= n` bytes, then a connection reset;
//! * `/__stall/<n>/<m>`: `Content-Length: n`, `m <= n` bytes, then silence until the client
//!   closes (for client timeouts).
//!
//! The code lives in `examples/http/` (the server in `server.rs`, the fdcopy call in its
//! `send_file`), shared with `http_get`, `tests/http.rs` and the bench.

mod http;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: http_serve [--addr 127.0.0.1:0] [--dir DIR] [--quiet]";

fn main() -> ExitCode {
    let mut addr = "127.0.0.1:0".to_string();
    let mut config = http::ServeConfig {
        dir: PathBuf::from("."),
        test_paths: false,
        log: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        let r = match flag.as_str() {
            "--addr" => value("--addr").map(|v| addr = v),
            "--dir" => value("--dir").map(|v| config.dir = PathBuf::from(v)),
            "--test-paths" => {
                config.test_paths = true;
                Ok(())
            }
            "--quiet" => {
                config.log = false;
                Ok(())
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => Err(format!("unknown argument {arg:?}")),
        };
        if let Err(e) = r {
            eprintln!("http_serve: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    if !config.dir.is_dir() {
        eprintln!("http_serve: {} is not a directory", config.dir.display());
        return ExitCode::from(2);
    }
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http_serve: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http_serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{local}");
    let _ = std::io::stdout().flush();
    if config.log {
        eprintln!(
            "serving {}{}",
            config.dir.display(),
            if config.test_paths {
                " (with the /__ test paths)"
            } else {
                ""
            }
        );
    }
    match http::serve(listener, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_serve: {e}");
            ExitCode::FAILURE
        }
    }
}
