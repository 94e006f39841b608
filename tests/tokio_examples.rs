//! The tokio examples, run as the programs they are: `tokio_http_get` downloads from the
//! blocking example's server (a `Content-Length` body and a chunked one) and `tokio_proxy`
//! carries a request and its answer, each checked byte for byte and for what it reports.
#![cfg(all(feature = "tokio", target_os = "linux"))]

#[path = "../examples/http/mod.rs"]
mod http;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The example binary `name`, built by `cargo test` next to the test binaries.
fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("examples").join(name);
    p.exists().then_some(p)
}

macro_rules! need {
    ($name:expr) => {
        match example($name) {
            Some(p) => p,
            None => {
                eprintln!(
                    "SKIP: the example {} is not built (cargo test --features tokio builds it)",
                    $name
                );
                return;
            }
        }
    };
}

#[test]
fn tokio_http_get_downloads_length_and_chunked_bodies() {
    let bin = need!("tokio_http_get");
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let addr = http::spawn(http::ServeConfig {
        dir: dir.path().to_path_buf(),
        test_paths: true,
        log: false,
    })
    .unwrap();
    for (path, len, want) in [
        ("/__gen/5000003", 5_000_003u64, "splice-via-pipe"),
        ("/__chunked/700000/300000", 700_000, "splice-via-pipe"),
        ("/__gen/100", 100, "buffered"),
    ] {
        let out = dir.path().join("out");
        let o = Command::new(&bin)
            .arg(format!("http://{addr}{path}"))
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{path}: {stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.contains(&format!("wrote {len} bytes")), "{path}: {stdout}");
        assert!(stdout.contains(&format!("strategy: {want}")), "{path}: {stdout}");
        let got = std::fs::read(&out).unwrap();
        assert!(got == http::pattern(0, len as usize), "{path}: the body's bytes");
    }
    // A short body is an error that says how much arrived.
    let o = Command::new(&bin)
        .arg(format!("http://{addr}/__short/200000/150000"))
        .arg(dir.path().join("short"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("short body: got 150000 of 200000 bytes"), "{stderr}");
}

#[test]
fn tokio_proxy_carries_both_directions_and_reports_them() {
    let bin = need!("tokio_proxy");
    // The upstream: reads the request to end of file, answers, closes.
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = upstream.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = upstream.accept().unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).unwrap();
        s.write_all(&http::pattern(0, 3_000_000)).unwrap();
        req.len()
    });
    let mut child = Command::new(&bin)
        .args(["--listen", "127.0.0.1:0", "--upstream", &up.to_string(), "--max", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let mut c = TcpStream::connect(&addr).unwrap();
    c.write_all(&http::pattern(7, 2_000_000)).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    c.read_to_end(&mut answer).unwrap();
    assert!(answer == http::pattern(0, 3_000_000), "the answer through the proxy");
    assert_eq!(server.join().unwrap(), 2_000_000);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.contains("client->upstream 2000000 bytes (splice-via-pipe), upstream->client 3000000 bytes (splice-via-pipe); complete"),
        "{rest}"
    );
}
