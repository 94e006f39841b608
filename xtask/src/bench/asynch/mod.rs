//! `cargo xtask bench --async`: `fdcopy::tokio` against tokio's own copies and tokio-splice2,
//! the benchmark of issue 10.
//!
//! Each run is three processes, all this binary (`xtask bench-async-child ROLE`): the
//! **measured process**, a proxy (or a file copier) running one engine on a tokio runtime,
//! and its **peers**, a client and a server that send the payload and verify every byte they
//! receive. The driver (this process) starts them, releases them together and collects the
//! figures the measured process takes of itself: CPU time over the transfer
//! (`getrusage(RUSAGE_SELF)`, every thread), resident memory, descriptors and pipes. Engines
//! are interleaved round by round (round `r` starts with engine `r mod n`), so drift on the
//! shared 2-core machine hits them alike, and the table shows medians.
//!
//! Module map: `rows` (the table of rows and fdcopy's goals), `job` (what one run moves, as it
//! travels on the children's command lines), `run` (one run, driver side), `child` (the
//! children and their line protocol), `proxy` (the measured process), `peer` (client and
//! server), `engine` (the engines), `usage` (CPU, memory, descriptors and pipes from
//! /proc/self), `report` (medians, goals, table, JSON), `cli`.

mod child;
mod cli;
mod engine;
mod job;
mod peer;
mod proxy;
mod report;
mod rows;
mod run;
mod usage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::bench::env::Env;
use cli::{Options, Parsed};
use engine::Engine;
use job::Job;
use report::{EngineResult, RowResult};
use rows::{Limits, Row};

pub use cli::SUMMARY;

/// Entry point of `cargo xtask bench --async ...`.
pub fn main(args: &[String]) -> Result<ExitCode, String> {
    let opts = match cli::parse(args)? {
        Parsed::Help => {
            print!("{}", cli::USAGE);
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(o) => o,
    };
    let (limits, nofile_note) = raise_nofile();
    let rows = rows::rows(&opts, limits);
    if rows.is_empty() {
        return Err("bench --async: no row runs any of the engines asked for".into());
    }
    let mut env = Env::new()?;
    let mut preamble = machine(&limits);
    preamble.push(nofile_note);
    if opts.single {
        if rows.len() != 1 || rows[0].engines.len() != 1 {
            return Err(format!(
                "bench --async: a single run needs one row and one engine; --scenario selects {}",
                rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let row = &rows[0];
        let engine = row.engines[0];
        let (samples, failure) = match run::run(&mut env, row, engine, &opts.wrap) {
            Ok(r) => (vec![r.sample], r.failure),
            Err(e) => (Vec::new(), Some(e)),
        };
        let failed = failure.is_some();
        let result = RowResult {
            row: row.clone(),
            engines: vec![EngineResult {
                engine,
                samples,
                failure,
            }],
        };
        print(&[result], &opts, &preamble);
        return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let results = run_rows(&mut env, &rows, &opts);
    preamble.push(format!("load average at the end: {}", load_average()));
    print(&results, &opts, &preamble);
    if let Some(path) = &opts.svg {
        let svg = crate::bench::chart::bars_svg(&report::bars(&results, &preamble))?;
        std::fs::write(path, svg).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("bench --async: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print(results: &[RowResult], opts: &Options, preamble: &[String]) {
    if opts.json {
        report::print_json(results, opts, preamble);
    } else {
        report::print_table(results, opts, preamble);
    }
}

/// Every row, its engines interleaved over the rounds; progress goes to stderr. An engine that
/// fails (its bytes, its counts, its process) runs no more rounds of that row.
fn run_rows(env: &mut Env, rows: &[Row], opts: &Options) -> Vec<RowResult> {
    let start = Instant::now();
    let rounds = opts.rounds();
    eprintln!(
        "bench --async: {} rows, {rounds} rounds, in {}",
        rows.len(),
        env.dir.display()
    );
    let mut results = Vec::new();
    for (ri, row) in rows.iter().enumerate() {
        let t = Instant::now();
        let mut engines: Vec<EngineResult> = row
            .engines
            .iter()
            .map(|&engine| EngineResult {
                engine,
                samples: Vec::new(),
                failure: None,
            })
            .collect();
        let n = engines.len();
        for round in 0..rounds as usize {
            for k in 0..n {
                let e = &mut engines[(k + round) % n];
                if e.failure.is_some() {
                    continue;
                }
                match run::run(env, row, e.engine, &opts.wrap) {
                    Ok(r) => {
                        e.samples.push(r.sample);
                        e.failure = r.failure;
                    }
                    Err(msg) => e.failure = Some(msg),
                }
            }
        }
        eprintln!(
            "bench --async: [{}/{}] {:<16} {:6.1} s",
            ri + 1,
            rows.len(),
            row.name,
            t.elapsed().as_secs_f64()
        );
        results.push(RowResult {
            row: row.clone(),
            engines,
        });
    }
    eprintln!("bench --async: total {:.1} s", start.elapsed().as_secs_f64());
    results
}

/// Entry point of the hidden `xtask bench-async-child ROLE --job J [--engine E]
/// [--upstream ADDR] [--connect ADDR] [--file PATH]`.
pub fn child(args: &[String]) -> Result<ExitCode, String> {
    let _ = raise_nofile();
    let get = |key: &str| {
        args.iter()
            .position(|a| a == key)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let addr = |key: &str| -> Result<Option<SocketAddr>, String> {
        get(key)
            .map(|a| a.parse().map_err(|_| format!("bad {key} {a:?}")))
            .transpose()
    };
    let r = (|| {
        let job = Job::decode(get("--job").ok_or("no --job")?)?;
        child::start_watchdog(job.deadline());
        match args.first().map(String::as_str) {
            Some("proxy") => {
                let engine = get("--engine").and_then(Engine::parse).ok_or("no or bad --engine")?;
                let file = get("--file").map(PathBuf::from);
                proxy::main(job, engine, addr("--upstream")?, file.as_deref())
            }
            Some("client") => peer::client(job, addr("--connect")?.ok_or("no --connect")?),
            Some("server") => peer::server(job),
            other => Err(format!("bad role {other:?}")),
        }
    })();
    match r {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            // The driver reports it (with the other children's reasons); stderr stays quiet.
            child::say(&format!("ERR {}", e.replace('\n', " ")));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Raises `RLIMIT_NOFILE` as far as allowed: the hard limit to `fs.nr_open` (needs
/// CAP_SYS_RESOURCE), else the soft limit to the hard one. Returns the limits and a note.
fn raise_nofile() -> (Limits, String) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let root = rustix::process::geteuid().is_root();
    let before = getrlimit(Resource::Nofile);
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let hard_raised = nr_open.is_some_and(|n| {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(n),
                maximum: Some(n),
            },
        )
        .is_ok()
    });
    if !hard_raised {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: before.maximum,
                maximum: before.maximum,
            },
        );
    }
    let nofile = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let note = if hard_raised {
        format!("RLIMIT_NOFILE raised to {nofile} (fs.nr_open) in every process of the bench")
    } else {
        format!(
            "RLIMIT_NOFILE raised to its hard limit, {nofile}, in every process of the bench (the hard \
             limit stays: raising it needs CAP_SYS_RESOURCE)"
        )
    };
    (Limits { nofile, root }, note)
}

/// What the figures depend on, for the preamble.
fn machine(limits: &Limits) -> Vec<String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into())
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![
        format!(
            "machine: Linux {}, {cpus} CPUs, load average at the start: {}; driver uid {}",
            read("/proc/sys/kernel/osrelease"),
            load_average(),
            if limits.root {
                "0 (root)".to_string()
            } else {
                rustix::process::geteuid().as_raw().to_string()
            }
        ),
        format!(
            "pipes: pipe-max-size {} bytes, pipe-user-pages-soft {} pages per user",
            read("/proc/sys/fs/pipe-max-size"),
            read("/proc/sys/fs/pipe-user-pages-soft")
        ),
    ]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
