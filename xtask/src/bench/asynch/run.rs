//! One measured run, seen from the driver: spawn the peers and the measured process, wire
//! them, release them, collect the figures, verify what is left to verify.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::time::Duration;

use fdcopy_testkit::{verify_reader, Pattern, Verifier};

use super::child::Child;
use super::engine::Engine;
use super::job::{Job, Shape};
use super::rows::Row;
use crate::bench::env::Env;

/// The idle row's snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Idle {
    pub fds: u64,
    pub pipes: u64,
    pub pipe_bytes: u64,
    pub pipe_sizes: String,
    pub rss: u64,
}

/// The figures of one run, from the measured process (and the client's latencies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub cpu: Duration,
    pub user: Duration,
    pub sys: Duration,
    pub wall: Duration,
    /// `VmRSS` before any connection, `VmHWM` at the end, highest `VmRSS` sampled (bytes).
    pub rss_base: u64,
    pub rss_peak: u64,
    pub rss_max: u64,
    pub fds_base: u64,
    pub fds_max: u64,
    /// The sample with the most pipe capacity: its pipes, their capacity, `2x1M+...`.
    pub pipes: u64,
    pub pipe_bytes: u64,
    pub pipe_sizes: String,
    /// Most bytes queued in pipes in any sample.
    pub pipe_queued: u64,
    pub idle: Option<Idle>,
    /// Round-trip times (ping-pong rows).
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// Samples the sampler took and its CPU time (taken out of `cpu`).
    pub samples: u64,
    pub sampler: Duration,
    /// The measured process's uid.
    pub uid: u64,
    /// Connections the engine did not fail on.
    pub held: u64,
}

impl Sample {
    /// Reads the `DONE` figures of the measured process.
    pub fn parse(f: &BTreeMap<String, String>) -> Result<Sample, String> {
        let num = |k: &str| -> Result<u64, String> {
            f.get(k)
                .ok_or_else(|| format!("the measured process reported no {k}"))?
                .parse()
                .map_err(|_| format!("bad {k} from the measured process: {:?}", f[k]))
        };
        let ns = |k: &str| num(k).map(Duration::from_nanos);
        let idle = match f.contains_key("idle_fds") {
            true => Some(Idle {
                fds: num("idle_fds")?,
                pipes: num("idle_pipes")?,
                pipe_bytes: num("idle_pipe_bytes")?,
                pipe_sizes: f["idle_pipe_sizes"].clone(),
                rss: num("idle_rss")?,
            }),
            false => None,
        };
        Ok(Sample {
            cpu: ns("cpu_ns")?,
            user: ns("user_ns")?,
            sys: ns("sys_ns")?,
            wall: ns("wall_ns")?,
            rss_base: num("rss_base")?,
            rss_peak: num("rss_peak")?,
            rss_max: num("rss_max")?,
            fds_base: num("fds_base")?,
            fds_max: num("fds_max")?,
            pipes: num("pipes")?,
            pipe_bytes: num("pipe_bytes")?,
            pipe_sizes: f.get("pipe_sizes").cloned().unwrap_or_default(),
            pipe_queued: num("pipe_queued")?,
            idle,
            p50: None,
            p99: None,
            samples: num("samples")?,
            sampler: ns("sampler_ns")?,
            uid: num("uid")?,
            held: num("held")?,
        })
    }
}

/// What one run gave: its figures, and the engine's failure if it failed but still reported
/// them (connections an engine could not proxy, say).
pub struct Run {
    pub sample: Sample,
    pub failure: Option<String>,
}

/// One run of `engine` in `row`; `Err` when the engine (or the verification) failed without
/// figures.
pub fn run(env: &mut Env, row: &Row, engine: Engine, wrap: &[String]) -> Result<Run, String> {
    let run = env.next_run();
    let mut job = row.job;
    job.seed = match job.shape {
        // One source file per size, made once: its stream is fixed.
        Shape::FileToSocket => 1000 + job.a_to_b.trailing_zeros() as u64,
        Shape::Proxy | Shape::SocketToFile => run,
    };
    let setup = Duration::from_secs(30) + Duration::from_millis(10 * job.conns);
    let end = job.deadline() + Duration::from_secs(10);
    let args = |role: &str| vec![role.to_string(), "--job".into(), job.encode()];
    let measured = |extra: Vec<String>| {
        let mut a = args("proxy");
        a.extend(["--engine".to_string(), engine.name().to_string()]);
        a.extend(extra);
        Child::spawn("measured process", &a, wrap)
    };
    match job.shape {
        Shape::Proxy => {
            let mut server = Child::spawn("server peer", &args("server"), &[])?;
            let upstream = server.expect("LISTEN", setup)?;
            let mut proxy = measured(vec!["--upstream".into(), upstream])?;
            let listen = proxy.expect("LISTEN", setup)?;
            let mut client = Child::spawn(
                "client peer",
                &[args("client"), vec!["--connect".into(), listen]].concat(),
                &[],
            )?;
            for c in [&mut client, &mut proxy, &mut server] {
                c.expect("READY", setup)?;
            }
            for c in [&mut server, &mut proxy, &mut client] {
                c.send("GO")?;
            }
            if job.idle {
                proxy.expect("SAMPLED", setup)?;
                client.send("END")?;
            }
            collect(proxy, vec![client, server], end)
        }
        Shape::FileToSocket => {
            let path = env.source_file(job.a_to_b, job.seed)?;
            let mut server = Child::spawn("server peer", &args("server"), &[])?;
            let upstream = server.expect("LISTEN", setup)?;
            let mut copier = measured(vec![
                "--upstream".into(),
                upstream,
                "--file".into(),
                path.display().to_string(),
            ])?;
            copier.expect("READY", setup)?;
            server.expect("READY", setup)?;
            server.send("GO")?;
            copier.send("GO")?;
            collect(copier, vec![server], end)
        }
        Shape::SocketToFile => {
            let path = env.dest_file(job.a_to_b)?;
            let mut copier = measured(vec!["--file".into(), path.display().to_string()])?;
            let listen = copier.expect("LISTEN", setup)?;
            let mut client = Child::spawn(
                "client peer",
                &[args("client"), vec!["--connect".into(), listen]].concat(),
                &[],
            )?;
            client.expect("READY", setup)?;
            copier.expect("READY", setup)?;
            copier.send("GO")?;
            client.send("GO")?;
            let r = collect(copier, vec![client], end)?;
            verify_file(&path, &job).map_err(|e| format!("{e} ({})", engine.name()))?;
            Ok(r)
        }
    }
}

/// Waits for the measured process's figures and the peers' `DONE`s; on any failure, every
/// child's own reason joined.
fn collect(measured: Child, mut peers: Vec<Child>, end: Duration) -> Result<Run, String> {
    let (figures, failure) = match measured.finish(end) {
        Ok(r) => r,
        Err(e) => {
            let reasons: Vec<String> = peers.iter_mut().filter_map(Child::failure).collect();
            return Err(std::iter::once(e).chain(reasons).collect::<Vec<_>>().join("; "));
        }
    };
    let mut sample = Sample::parse(&figures)?;
    let mut errors = Vec::new();
    for p in peers {
        match p.finish(end) {
            Ok((f, _)) => {
                let ns = |k: &str| f.get(k).and_then(|v| v.parse().ok()).map(Duration::from_nanos);
                sample.p50 = sample.p50.or(ns("p50_ns"));
                sample.p99 = sample.p99.or(ns("p99_ns"));
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(failure.into_iter().chain(errors).collect::<Vec<_>>().join("; "));
    }
    Ok(Run { sample, failure })
}

/// Checks the first `job.a_to_b` bytes of the destination file against the run's stream
/// (earlier runs left other streams in it, so a short copy shows).
fn verify_file(path: &std::path::Path, job: &Job) -> Result<(), String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let pattern = Pattern::new();
    let mut v = Verifier::new(&pattern, job.seed_ab(0), 0);
    let n =
        verify_reader(&mut f.take(job.a_to_b), &mut v, job.a_to_b).map_err(|e| format!("the destination file: {e}"))?;
    if n != job.a_to_b {
        return Err(format!("the destination file holds {n} bytes, expected {}", job.a_to_b));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::asynch::child::parse_figures;

    #[test]
    fn figures_parse() {
        let f = parse_figures(
            "held=3 cpu_ns=2000000 user_ns=500000 sys_ns=1500000 wall_ns=3000000 sampler_ns=10 samples=4 uid=65534 \
             rss_base=100 rss_peak=300 rss_max=250 fds_base=9 fds_max=13 pipes=2 pipe_bytes=2097152 \
             pipe_sizes=2x1M pipe_queued=5 idle_fds=11 idle_pipes=0 idle_pipe_bytes=0 idle_rss=200 idle_pipe_sizes=0",
        );
        let s = Sample::parse(&f).unwrap();
        assert_eq!(s.cpu, Duration::from_millis(2));
        assert_eq!((s.pipes, s.pipe_sizes.as_str(), s.uid), (2, "2x1M", 65534));
        assert_eq!(s.idle.unwrap().rss, 200);
        let mut f = f;
        f.remove("wall_ns");
        assert!(Sample::parse(&f).unwrap_err().contains("wall_ns"));
    }
}
