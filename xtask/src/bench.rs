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
//! `--sweep` runs the same scenarios at sizes from 4 KiB to 256 MiB per copy (`sweep`), and
//! `--svg` draws either (`chart`); `--docs` regenerates the README's pictures and
//! `docs/benchmarks.md`.
//! `file-file-sparse` (sparse, dense and fragmented files between tmpfs, ext4, xfs and btrfs,
//! against std and cp) is a module of its own, `sparse`, run after the table.
//!
//! Module map: `scenario` (the table and the measured run), `endpoints` (sources and sinks),
//! `download` (the `http-download` scenario), `peer` (peer processes and their control
//! protocol), `engine`, `kernel` (the kernel-path-only engine), `meter`, `env` (temp dir and
//! files), `report` (table, JSON, the bar chart's data), `sweep`, `chart` (both pictures, from
//! plain data), `progress` (the line on a terminal), `host` (machine and date), `cli`; `http`
//! is `examples/http`'s client and server. The payload and its verification (`Pattern`,
//! `Verifier`) are `fdcopy_testkit`'s.

pub mod asynch;
mod chart;
mod cli;
mod download;
mod endpoints;
mod engine;
mod env;
mod host;
#[path = "../../examples/http/mod.rs"]
mod http;
mod kernel;
mod meter;
mod peer;
mod progress;
mod report;
mod scenario;
mod sparse;
mod sweep;
mod verdict;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use cli::{Options, Parsed};
use engine::Engine;
use env::Env;
use host::Meta;
use meter::Sample;
use progress::Progress;
use report::Measured;
use scenario::{Job, Scenario, Variant, Workload};

/// Entry point of `cargo xtask bench`.
pub fn main(args: &[String]) -> Result<ExitCode, String> {
    if args.iter().any(|a| a == "--async") {
        return asynch::main(args);
    }
    let (args, sparse) = sparse::split(args)?;
    if sparse.only {
        sparse::main(&sparse)?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = match cli::parse(&args)? {
        Parsed::Help => {
            print!("{}{}{}", cli::USAGE, sparse::USAGE, asynch::SUMMARY);
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(opts) => opts,
    };
    let mut env = Env::new()?;
    if opts.docs {
        docs(&mut env)?;
        return Ok(ExitCode::SUCCESS);
    }
    if opts.single {
        let m = run_single(&mut env, &opts)?;
        report::print_single(&m, opts.json);
        return Ok(ExitCode::SUCCESS);
    }
    if opts.sweep {
        let start = Instant::now();
        let rows = sweep::run(&mut env, &opts)?;
        let meta = Meta::now(start.elapsed().as_secs_f64());
        if opts.json {
            println!("{}", sweep::json(&rows, &opts, &meta));
        } else {
            print!("{}", sweep::table(&rows, &opts, meta.seconds));
        }
        if let Some(path) = &opts.svg {
            write_svg(path, chart::sweep_svg(&sweep::chart(&rows, &opts, &meta))?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (results, meta) = run_matrix(&mut env, &opts)?;
    if opts.json {
        report::print_json(&results, &opts, &meta);
    } else {
        print!("{}", report::table(&results, &opts, meta.seconds));
    }
    if let Some(path) = &opts.svg {
        write_svg(path, chart::bars_svg(&bench_chart(&results, &opts, &meta))?)?;
    }
    if sparse.wanted {
        sparse::main(&sparse)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Entry point of the hidden `xtask bench-peer` (the far end of sockets and pipes).
pub fn peer(args: &[String]) -> Result<ExitCode, String> {
    peer::main(args)
}

/// The bar chart of a bench run.
fn bench_chart(results: &[Measured], opts: &Options, meta: &Meta) -> chart::Bars {
    let what = format!(
        "median CPU (user+sys of the copying thread) of {} interleaved rounds, relative to std in the same \
         run (log scale); every byte verified ({})",
        opts.rounds,
        report::human_approx(report::verified_bytes(results))
    );
    report::bars(results, opts, meta.caption(&what))
}

fn write_svg(path: &Path, svg: String) -> Result<(), String> {
    std::fs::write(path, svg).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("bench: wrote {}", path.display());
    Ok(())
}

/// `--docs`: the full bench and the full sweep, drawn into `docs/bench.svg` and
/// `docs/sweep.svg`, with their tables in `docs/benchmarks.md`.
fn docs(env: &mut Env) -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let parse = |args: &[&str]| match cli::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())? {
        Parsed::Run(o) => Ok::<Options, String>(o),
        Parsed::Help => Err("unexpected help".to_string()),
    };
    let bench_svg = dir.join("bench.svg");
    let sweep_svg = dir.join("sweep.svg");
    let bench_opts = Options {
        svg: Some(bench_svg.clone()),
        ..parse(&[])?
    };
    let (results, mut bench_meta) = run_matrix(env, &bench_opts)?;
    bench_meta.command = "cargo xtask bench --svg docs/bench.svg".into();
    let bench_table = report::table(&results, &bench_opts, bench_meta.seconds);
    print!("{bench_table}");
    write_svg(
        &bench_svg,
        chart::bars_svg(&bench_chart(&results, &bench_opts, &bench_meta))?,
    )?;

    let sweep_opts = Options {
        svg: Some(sweep_svg.clone()),
        ..parse(&["--sweep"])?
    };
    let start = Instant::now();
    let rows = sweep::run(env, &sweep_opts)?;
    let mut sweep_meta = Meta::now(start.elapsed().as_secs_f64());
    sweep_meta.command = "cargo xtask bench --sweep --svg docs/sweep.svg".into();
    let sweep_table = sweep::table(&rows, &sweep_opts, sweep_meta.seconds);
    print!("{sweep_table}");
    write_svg(
        &sweep_svg,
        chart::sweep_svg(&sweep::chart(&rows, &sweep_opts, &sweep_meta))?,
    )?;

    let md = dir.join("benchmarks.md");
    let page = benchmarks_page(&bench_meta, &bench_table, &sweep_meta, &sweep_table);
    std::fs::write(&md, page).map_err(|e| format!("writing {}: {e}", md.display()))?;
    eprintln!("bench: wrote {}", md.display());
    Ok(())
}

/// `docs/benchmarks.md`.
fn benchmarks_page(bench: &Meta, bench_table: &str, sweep: &Meta, sweep_table: &str) -> String {
    format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench --docs`, which regenerates this page and both pictures of the \
         README (`docs/bench.svg`, `docs/sweep.svg`) in one go: the full bench, then the full sweep, \
         about ten minutes. Run it on a quiet machine: the engines are interleaved round by round and \
         every figure is a ratio within one run, but two busy cores still move single rows by 10–30 %.\n\n\
         How both measure, what the goals are and what the engines are: the README's Benchmark \
         section and `cargo xtask bench --help`.\n\n\
         ## The bench\n\n\
         `{}` on {}, {}; {:.0} s.\n\n\
         ![bench](bench.svg)\n\n\
         ```text\n{}```\n\n\
         ## The sweep\n\n\
         `{}` on {}, {}; {:.0} s.\n\n\
         ![sweep](sweep.svg)\n\n\
         ```text\n{}```\n",
        bench.command,
        bench.date,
        bench.machine,
        bench.seconds,
        bench_table,
        sweep.command,
        sweep.date,
        sweep.machine,
        sweep.seconds,
        sweep_table
    )
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

/// Every selected workload, one after the other, with a progress line on a terminal.
fn run_matrix(env: &mut Env, opts: &Options) -> Result<(Vec<Measured>, Meta), String> {
    let start = Instant::now();
    let total = opts
        .workloads
        .iter()
        .filter(|w| skipped(**w, opts).is_none())
        .map(|w| opts.rounds as u64 * opts.engines.len() as u64 * progress::work(w.job(opts.size, 0).stream_bytes))
        .sum();
    let bar = Progress::new(total, !opts.json);
    bar.println(format!(
        "bench: bulk size {}, {} rounds x {} engines, {} workloads, in {}",
        report::human(opts.size),
        opts.rounds,
        opts.engines.len(),
        opts.workloads.len(),
        env.dir.display()
    ));
    let mut results = Vec::new();
    for (i, w) in opts.workloads.iter().enumerate() {
        let t = Instant::now();
        results.push(run_workload(env, opts, *w, &bar)?);
        bar.println(format!(
            "bench: [{}/{}] {:<22} {:6.1} s",
            i + 1,
            opts.workloads.len(),
            w.name(),
            t.elapsed().as_secs_f64()
        ));
    }
    bar.finish();
    Ok((results, Meta::now(start.elapsed().as_secs_f64())))
}

/// All rounds of one workload.
fn run_workload(env: &mut Env, opts: &Options, w: Workload, bar: &Progress) -> Result<Measured, String> {
    if let Some(m) = skipped(w, opts) {
        return Ok(m);
    }
    let (job, engines) = interleaved(
        env,
        w.scenario(),
        &w.name(),
        |run| w.job(opts.size, run),
        &opts.engines,
        opts.rounds,
        bar,
    )?;
    Ok(Measured {
        workload: w,
        job,
        engines,
        skipped: None,
    })
}

/// Every sample of every engine of one workload, in engine order.
type Samples = Vec<(Engine, Vec<Sample>)>;

/// `rounds` rounds of every engine on `scenario`, each run with a fresh job from `job(run)`;
/// round `r` starts with engine `r mod n`, so no engine always runs first (right after the
/// set-up of the previous workload). Returns the last job (its shape) and the samples per
/// engine, in `engines` order. The bench and the sweep both measure through here.
fn interleaved(
    env: &mut Env,
    scenario: &Scenario,
    label: &str,
    job: impl Fn(u64) -> Job,
    engines: &[Engine],
    rounds: u32,
    bar: &Progress,
) -> Result<(Job, Samples), String> {
    let n = engines.len();
    let mut samples = vec![Vec::new(); n];
    let mut last = job(0);
    for round in 0..rounds as usize {
        for k in 0..n {
            let i = (k + round) % n;
            let engine = engines[i];
            last = job(env.next_run());
            bar.at(label, engine.name(), round + 1, rounds as usize);
            let sample = (scenario.run)(env, &last, engine)
                .map_err(|e| format!("{label} with {} (round {}): {e}", engine.name(), round + 1))?;
            bar.done(progress::work(last.stream_bytes));
            samples[i].push(sample);
        }
    }
    Ok((last, engines.iter().copied().zip(samples).collect()))
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

#[cfg(test)]
pub(crate) mod render_test;
