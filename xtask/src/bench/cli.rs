//! Command-line options of `cargo xtask bench`.

use std::path::PathBuf;

use super::engine::Engine;
use super::scenario::{Variant, Workload, SCENARIOS};
use super::sweep;

/// Bulk size without `--quick` or `--size`: 1 GiB.
const DEFAULT_SIZE: u64 = 1 << 30;
/// Bulk size with `--quick`: 64 MiB keeps the whole matrix well under two minutes on 2 cores.
const QUICK_SIZE: u64 = 64 << 20;
/// Interleaved rounds without `--quick` or `--rounds`.
const DEFAULT_ROUNDS: u32 = 7;
/// Interleaved rounds with `--quick`.
const QUICK_ROUNDS: u32 = 5;

pub const USAGE: &str = "usage: cargo xtask bench [--quick] [--json] [--svg FILE] [--size N] [--rounds N]
                         [--scenario S[,S...]] [--engine E[,E...]]
       cargo xtask bench --sweep [--quick] [--json] [--svg FILE] [--sizes N[,N...]] [--rounds N]
                         [--scenario S[,S...]] [--engine E[,E...]]
       cargo xtask bench --docs

Copies a deterministic payload with every engine, interleaved over rounds, from tmpfs files,
loopback sockets and pipes whose other end lives in a separate peer process, and prints the
median CPU time (user + sys of the copying thread) and wall time per scenario and engine.

  --quick          64 MiB bulk size and 5 rounds (finishes in well under two minutes)
  --json           print one JSON object instead of the table (and no progress line)
  --svg FILE       also draw the results: a bar chart (CPU relative to std, fdcopy's goals),
                   or with --sweep the CPU per MiB against the copy size, one panel per scenario
  --size N         bulk size in bytes, K/M/G suffixes allowed (binary: 1K = 1024); default 1G
  --rounds N       interleaved rounds per scenario; default 7 (5 with --quick)
  --scenario S     only these scenarios (comma-separated); see the list below
  --engine E       only these engines (comma-separated)
  With exactly one --scenario and one --engine (and no --rounds): run one single copy (no
  rounds, no interleaving) and print its figures, e.g. for `strace -f -c` or `perf stat`.

  --sweep          copies of 4K 16K 64K 256K 1M 16M 256M bytes per copy for every scenario
                   (about 16 MiB of copies per run and size, 5 rounds, under five minutes;
                   --quick: 4K to 16M, 8 MiB per run and size, 3 rounds, under a minute), with
                   the kernel engine too; prints per scenario the size from which the kernel path
                   beats the cheapest plain loop, and whether fdcopy stays within 1.05 x the
                   cheapest of std and the loops at every size
  --sizes N,...    the sweep's sizes instead (K/M/G suffixes)
  --docs           regenerate docs/bench.svg, docs/sweep.svg and docs/benchmarks.md: the full
                   bench, then the full sweep (about ten minutes; use a quiet machine)

On a terminal a progress line shows the scenario, engine, round and the time left; it stays
quiet with --json or when stderr is not a terminal.

scenarios: file-file file-tcp tcp-file tcp-tcp pipe-file file-pipe unix-file tcp-file-limited,
           each also as NAME/4k (10 000 copies of 4 KiB on one stream);
           http-download (one HTTP GET of the bulk size from a local server in a peer
           process, timed from connect to the end of the body; its /4k row is n/a: the
           server closes every connection after one response)
engines:   fdcopy std buf8k buf64k buf1m, and kernel (the table's kernel strategy called
           directly at every size, no fallback: a reference line, in the sweep by default)
";

/// Parsed options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bulk payload size in bytes.
    pub size: u64,
    /// Interleaved rounds per scenario.
    pub rounds: u32,
    /// Emit JSON instead of the table.
    pub json: bool,
    /// Whether `--quick` was given (only reported).
    pub quick: bool,
    /// Selected workloads, in table order.
    pub workloads: Vec<Workload>,
    /// Selected engines, in canonical order.
    pub engines: Vec<Engine>,
    /// One copy only: exactly one scenario and one engine were named, and no `--rounds`.
    pub single: bool,
    /// `--svg FILE`: draw the results there too.
    pub svg: Option<PathBuf>,
    /// `--sweep`: the size sweep instead of the matrix.
    pub sweep: bool,
    /// The sweep's sizes.
    pub sizes: Vec<u64>,
    /// `--docs`: regenerate the pictures and `docs/benchmarks.md`.
    pub docs: bool,
}

/// What `parse` found: options to run with, or a request for help.
pub enum Parsed {
    Run(Options),
    Help,
}

/// Parses `args` (everything after `bench`).
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut quick = false;
    let mut json = false;
    let mut size = None;
    let mut rounds = None;
    let mut scenarios: Option<Vec<Workload>> = None;
    let mut engines: Option<Vec<Engine>> = None;
    let mut svg = None;
    let mut sweep = false;
    let mut sizes = None;
    let mut docs = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("bench: {name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--quick" => quick = true,
            "--json" => json = true,
            "--size" => size = Some(parse_size(&value("--size")?)?),
            "--rounds" => rounds = Some(parse_rounds(&value("--rounds")?)?),
            "--scenario" => scenarios = Some(parse_list(&value("--scenario")?, parse_workload)?),
            "--engine" => engines = Some(parse_list(&value("--engine")?, parse_engine)?),
            "--svg" => svg = Some(PathBuf::from(value("--svg")?)),
            "--sweep" => sweep = true,
            "--sizes" => sizes = Some(parse_list(&value("--sizes")?, parse_size)?),
            "--docs" => docs = true,
            other => return Err(format!("bench: unknown argument {other:?}\n{USAGE}")),
        }
    }
    if docs && (sweep || svg.is_some() || quick || json) {
        return Err(format!("bench: --docs takes no other option\n{USAGE}"));
    }
    if sizes.is_some() && !sweep {
        return Err(format!("bench: --sizes is for --sweep\n{USAGE}"));
    }
    let one_each = matches!((&scenarios, &engines), (Some(s), Some(e)) if s.len() == 1 && e.len() == 1);
    let single = one_each && rounds.is_none() && !sweep && !docs;
    let default_rounds = match (sweep, quick) {
        (true, q) => sweep::rounds(q),
        (false, true) => QUICK_ROUNDS,
        (false, false) => DEFAULT_ROUNDS,
    };
    let default_engines = if sweep {
        Engine::ALL.to_vec()
    } else {
        Engine::BENCH.to_vec()
    };
    Ok(Parsed::Run(Options {
        size: size.unwrap_or(if quick { QUICK_SIZE } else { DEFAULT_SIZE }),
        rounds: rounds.unwrap_or(default_rounds),
        json,
        quick,
        workloads: in_table_order(scenarios.unwrap_or_else(all_workloads)),
        engines: in_canonical_order(engines.unwrap_or(default_engines)),
        single,
        svg,
        sweep,
        sizes: sizes.unwrap_or_else(|| sweep::sizes(quick)),
        docs,
    }))
}

/// Parses `1073741824`, `64K`, `64M`, `1G` (also `64MiB`, `64m`): binary multiples.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (num, suffix) = lower.split_at(digits_end);
    let shift = match suffix {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("bench: bad size {s:?} (use bytes or a K/M/G suffix)")),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bench: bad size {s:?} (use bytes or a K/M/G suffix)"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("bench: size {s:?} overflows"))?;
    if bytes < 2 {
        return Err(format!("bench: size {s:?} must be at least 2 bytes"));
    }
    Ok(bytes)
}

/// Parses a positive round count.
fn parse_rounds(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("bench: --rounds needs a positive integer, got {s:?}")),
    }
}

/// Parses a comma-separated list with `item`.
fn parse_list<T>(s: &str, item: fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    s.split(',').filter(|p| !p.is_empty()).map(item).collect()
}

/// Parses `NAME` (bulk) or `NAME/4k` (small copies).
fn parse_workload(s: &str) -> Result<Workload, String> {
    let (name, variant) = match s.strip_suffix("/4k") {
        Some(base) => (base, Variant::Small),
        None => (s, Variant::Bulk),
    };
    SCENARIOS
        .iter()
        .position(|sc| sc.name == name)
        .map(|scenario| Workload { scenario, variant })
        .ok_or_else(|| format!("bench: unknown scenario {s:?}\n{USAGE}"))
}

/// Parses an engine name.
fn parse_engine(s: &str) -> Result<Engine, String> {
    Engine::ALL
        .iter()
        .copied()
        .find(|e| e.name() == s)
        .ok_or_else(|| format!("bench: unknown engine {s:?}\n{USAGE}"))
}

/// Every workload: each scenario in bulk, then as small copies.
fn all_workloads() -> Vec<Workload> {
    (0..SCENARIOS.len())
        .flat_map(|scenario| [Variant::Bulk, Variant::Small].map(|variant| Workload { scenario, variant }))
        .collect()
}

/// Sorts and deduplicates workloads into table order.
fn in_table_order(mut w: Vec<Workload>) -> Vec<Workload> {
    w.sort_by_key(|w| (w.scenario, w.variant));
    w.dedup();
    w
}

/// Sorts and deduplicates engines into `Engine::ALL` order.
fn in_canonical_order(mut e: Vec<Engine>) -> Vec<Engine> {
    e.sort();
    e.dedup();
    e
}

#[cfg(test)]
mod tests {
    use super::{parse, parse_size, Parsed};
    use crate::bench::engine::Engine;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1234").unwrap(), 1234);
        assert_eq!(parse_size("64K").unwrap(), 64 << 10);
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert!(parse_size("1T").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("1").is_err());
    }

    fn opts(args: &[&str]) -> super::Options {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn the_kernel_engine_is_the_sweeps_by_default_not_the_benchs() {
        assert!(!opts(&[]).engines.contains(&Engine::Kernel));
        assert!(opts(&["--sweep"]).engines.contains(&Engine::Kernel));
        assert!(opts(&["--engine", "kernel,fdcopy"]).engines == [Engine::Fdcopy, Engine::Kernel]);
        let s = opts(&["--sweep", "--sizes", "4K,1M"]);
        assert_eq!(s.sizes, [4096, 1 << 20]);
        assert!(!s.single);
        let args: Vec<String> = ["--sizes", "4K"].iter().map(|s| s.to_string()).collect();
        assert!(parse(&args).is_err());
    }
}
