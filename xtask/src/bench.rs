//! `cargo xtask bench`: fdcopy against `std::io::copy` and plain read/write loops.
//!
//! Every scenario copies a deterministic pseudo-random stream from a tmpfs file, a loopback
//! TCP or unix socket, or a pipe into a tmpfs file, a socket or a pipe. The far end of every
//! socket and pipe is a peer process (this binary, re-executed as `xtask bench-peer`), so
//! the copying process does nothing but copy. The engines run interleaved (A B C D E, then
//! B C D E A, ...) for several rounds, so machine drift hits all of them alike, and the
//! table shows medians of the copying thread's CPU time and of the wall time.
//!
//! Timing: only the engine calls are inside the measured region; peers are spawned, sockets
//! accepted, loop buffers allocated and the destination file pre-allocated before it, and
//! every byte is verified after it. A verification failure aborts the run with an error.
//! The one exception is `http-download`, which times a whole download (connect, request,
//! response head, body copy), the same steps for every engine; see `download`.
//!
//! Module map: `scenario` (the table and the measured run), `endpoints` (sources and sinks),
//! `download` (the `http-download` scenario), `peer` (peer processes and their control
//! protocol), `engine`, `meter`, `env` (temp dir and files), `report`, `cli`; `http` is
//! `examples/http`'s client and server. The payload and its verification (`Pattern`,
//! `Verifier`) are `fdcopy_testkit`'s.

pub mod asynch;
mod cli;
mod download;
mod endpoints;
mod engine;
mod env;
#[path = "../../examples/http/mod.rs"]
mod http;
mod meter;
mod peer;
mod report;
mod scenario;

use std::process::ExitCode;
use std::time::Instant;

use cli::{Options, Parsed};
use env::Env;
use report::Measured;
use scenario::{Variant, Workload};

/// Entry point of `cargo xtask bench`.
pub fn main(args: &[String]) -> Result<ExitCode, String> {
    if args.iter().any(|a| a == "--async") {
        return asynch::main(args);
    }
    let opts = match cli::parse(args)? {
        Parsed::Help => {
            print!("{}{}", cli::USAGE, asynch::SUMMARY);
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(opts) => opts,
    };
    let mut env = Env::new()?;
    if opts.single {
        let m = run_single(&mut env, &opts)?;
        report::print_single(&m, opts.json);
        return Ok(ExitCode::SUCCESS);
    }
    let results = run_matrix(&mut env, &opts)?;
    if opts.json {
        report::print_json(&results, &opts);
    } else {
        report::print_table(&results, &opts);
    }
    Ok(ExitCode::SUCCESS)
}

/// Entry point of the hidden `xtask bench-peer` (the far end of sockets and pipes).
pub fn peer(args: &[String]) -> Result<ExitCode, String> {
    peer::main(args)
}

/// Exactly one copy of one scenario with one engine: no rounds, no interleaving.
fn run_single(env: &mut Env, opts: &Options) -> Result<Measured, String> {
    let workload = opts.workloads[0];
    let engine = opts.engines[0];
    if let Some(m) = skipped(workload, opts) {
        return Ok(m);
    }
    let job = workload.job(opts.size, env.next_run());
    let sample = (workload.scenario().run)(env, &job, engine)
        .map_err(|e| format!("{} with {}: {e}", workload.name(), engine.name()))?;
    Ok(Measured {
        workload,
        job,
        engines: vec![(engine, vec![sample])],
        skipped: None,
    })
}

/// Every selected workload, one after the other; progress goes to stderr.
fn run_matrix(env: &mut Env, opts: &Options) -> Result<Vec<Measured>, String> {
    let start = Instant::now();
    eprintln!(
        "bench: bulk size {}, {} rounds x {} engines, {} workloads, in {}",
        report::human(opts.size),
        opts.rounds,
        opts.engines.len(),
        opts.workloads.len(),
        env.dir.display()
    );
    let mut results = Vec::new();
    for (i, w) in opts.workloads.iter().enumerate() {
        let t = Instant::now();
        results.push(run_workload(env, opts, *w)?);
        eprintln!(
            "bench: [{}/{}] {:<22} {:6.1} s",
            i + 1,
            opts.workloads.len(),
            w.name(),
            t.elapsed().as_secs_f64()
        );
    }
    eprintln!("bench: total {:.1} s", start.elapsed().as_secs_f64());
    Ok(results)
}

/// All rounds of one workload; round `r` starts with engine `r mod n` so no engine always
/// runs first (right after the set-up of the previous workload).
fn run_workload(env: &mut Env, opts: &Options, w: Workload) -> Result<Measured, String> {
    if let Some(m) = skipped(w, opts) {
        return Ok(m);
    }
    let n = opts.engines.len();
    let mut samples = vec![Vec::new(); n];
    let mut job = w.job(opts.size, 0);
    for round in 0..opts.rounds as usize {
        for k in 0..n {
            let i = (k + round) % n;
            let engine = opts.engines[i];
            job = w.job(opts.size, env.next_run());
            let sample = (w.scenario().run)(env, &job, engine)
                .map_err(|e| format!("{} with {} (round {}): {e}", w.name(), engine.name(), round + 1))?;
            samples[i].push(sample);
        }
    }
    Ok(Measured {
        workload: w,
        job,
        engines: opts.engines.iter().copied().zip(samples).collect(),
        skipped: None,
    })
}

/// The n/a result of a workload that does not exist (the small variant of a scenario that
/// has none), or `None` for one to run.
fn skipped(w: Workload, opts: &Options) -> Option<Measured> {
    let why = w.scenario().no_small.filter(|_| w.variant == Variant::Small)?;
    Some(Measured {
        workload: w,
        job: w.job(opts.size, 0),
        engines: Vec::new(),
        skipped: Some(why),
    })
}
