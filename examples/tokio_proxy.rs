//! `tokio_proxy`: a TCP proxy on tokio whose connections are copied by `fdcopy::tokio::proxy`:
//! both directions spliced through pipes leased per burst (an idle connection holds none),
//! and a report per connection.
//!
//! ```text
//! cargo run --release --features tokio --example tokio_proxy -- \
//!     --listen 127.0.0.1:0 --upstream 127.0.0.1:8080 [--half-close propagate|close-both|linger:MS] \
//!     [--idle SECS] [--max N]
//! ```
//!
//! It prints `listening on ADDR`, then one line per connection when it ends: the bytes and the
//! strategy each way, the bytes still in flight if it failed, and how it ended. `--max N`
//! stops after N connections (for scripts and tests).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use fdcopy::tokio::{proxy, HalfClose, Outcome, ProxyOptions};

const USAGE: &str = "usage: tokio_proxy --listen ADDR --upstream ADDR \
                     [--half-close propagate|close-both|linger:MS] [--idle SECS] [--max N]";

struct Args {
    listen: SocketAddr,
    upstream: SocketAddr,
    options: ProxyOptions,
    max: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut listen = None;
    let mut upstream = None;
    let mut options = ProxyOptions::new();
    let mut max = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?.parse().map_err(|e| format!("--listen: {e}"))?),
            "--upstream" => upstream = Some(value()?.parse().map_err(|e| format!("--upstream: {e}"))?),
            "--half-close" => {
                let v = value()?;
                let policy = match v.as_str() {
                    "propagate" => HalfClose::Propagate,
                    "close-both" => HalfClose::CloseBoth,
                    other => match other.strip_prefix("linger:").and_then(|ms| ms.parse().ok()) {
                        Some(ms) => HalfClose::Linger(Duration::from_millis(ms)),
                        None => {
                            return Err(format!(
                                "--half-close {other}: expected propagate, close-both or linger:MS"
                            ))
                        }
                    },
                };
                options = options.half_close(policy);
            }
            "--idle" => {
                let secs: u64 = value()?.parse().map_err(|e| format!("--idle: {e}"))?;
                options = options.idle_timeout(Duration::from_secs(secs));
            }
            "--max" => max = Some(value()?.parse().map_err(|e| format!("--max: {e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        listen: listen.ok_or("--listen is required")?,
        upstream: upstream.ok_or("--upstream is required")?,
        options,
        max,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tokio_proxy: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    let mut tasks = tokio::task::JoinSet::new();
    let mut accepted = 0u64;
    while args.max.is_none_or(|m| accepted < m) {
        let (mut inbound, peer) = listener.accept().await?;
        accepted += 1;
        let (upstream, options, n) = (args.upstream, args.options.clone(), accepted);
        tasks.spawn(async move {
            let mut outbound = match tokio::net::TcpStream::connect(upstream).await {
                Ok(s) => s,
                Err(e) => {
                    println!("#{n} {peer}: cannot connect to {upstream}: {e}");
                    return;
                }
            };
            let r = proxy(&mut inbound, &mut outbound, &options).await;
            let how = match &r.outcome {
                Outcome::Complete => "complete".to_string(),
                Outcome::ClosedBoth => "closed both at the first end of file".to_string(),
                Outcome::LingerExpired => "linger time expired".to_string(),
                Outcome::IdleTimeout => "idle timeout".to_string(),
                Outcome::Failed { direction, error } => format!("failed {direction:?}: {error}"),
                other => format!("{other:?}"),
            };
            println!(
                "#{n} {peer}: client->upstream {} bytes ({}), upstream->client {} bytes ({}){}; {how}",
                r.a_to_b.written,
                r.a_to_b.report.strategy(),
                r.b_to_a.written,
                r.b_to_a.report.strategy(),
                match r.a_to_b.in_flight + r.b_to_a.in_flight {
                    0 => String::new(),
                    n => format!(", {n} bytes in flight lost"),
                },
            );
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}
