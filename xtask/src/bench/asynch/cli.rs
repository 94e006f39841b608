//! Command-line options of `cargo xtask bench --async`.

use super::engine::Engine;
use super::rows::SCENARIOS;
use crate::bench::cli::parse_size;

/// Interleaved rounds without `--quick` or `--rounds`.
pub const DEFAULT_ROUNDS: u32 = 7;
/// Interleaved rounds with `--quick`.
pub const QUICK_ROUNDS: u32 = 3;

/// The lines `cargo xtask bench --help` adds about `--async`.
pub const SUMMARY: &str = "
  --async          the tokio benchmark instead: fdcopy::tokio against tokio's copy_bidirectional
                   (8 KiB, 64 KiB, 1 MiB), tokio-splice2 0.3.2 and tokio file streams, with the
                   proxy or copier in a process of its own; see `cargo xtask bench --async --help`
";

pub const USAGE: &str = "usage: cargo xtask bench --async [--quick] [--json] [--svg FILE] [--rounds N] [--size N]
                                 [--conn-bytes N] [--scenario S[,S...]] [--engine E[,E...]]
                                 [--wrap CMD]

Runs a proxy (client peer -> proxy -> server peer, loopback TCP) or a copier (file -> socket,
socket -> file) with each engine on a tokio runtime in a process of its own, the peers in two
other processes verifying every byte, the engines interleaved round by round. For each row it
prints the medians of the measured process's CPU time (getrusage(RUSAGE_SELF) user+sys, all its
threads, the sampler thread taken out) and wall time, its resident memory above the baseline
taken before any connection existed, the descriptors and pipes it held (sampled from /proc/self
while the transfer ran, with their F_GETPIPE_SZ sizes), per-connection figures and latencies,
and fdcopy's goals from issue 10 beside the figures.

  --quick          smaller sizes, fewer connections, 3 rounds (under a minute); said in the output
  --json           print one JSON object instead of the table
  --svg FILE       also draw the CPU of every engine relative to each row's reference engine
  --rounds N       interleaved rounds per row; default 7 (3 with --quick)
  --size N         the bulk and file rows' size (K/M/G suffixes); default 1G (64M with --quick)
  --conn-bytes N   bytes per connection of conns-64 and conns-1000; default 16M and 1M (the
                   issue's 16 MiB x 1 000 is 16 GiB per run: minutes per engine and round)
  --scenario S     only these rows (comma-separated; `file-socket` selects all its sizes)
  --engine E       only these engines (comma-separated)
  --wrap CMD       run the measured process under CMD (split at spaces), e.g.
                   --wrap 'strace -f -c -o /tmp/proxy.strace' or --wrap 'perf stat -o /tmp/p'
  With exactly one --scenario naming one row and one --engine (and no --rounds): one single
  run, its figures printed (e.g. under --wrap).

rows:    bulk bulk-mt bulk-both conns-64 conns-1000 idle pingpong
         file-socket/1M file-socket/32M file-socket/1G socket-file
engines: tokio-8k tokio-64k tokio-1m splice2 fdcopy (proxy rows);
         stream-64k splice2 fdcopy fdcopy-blk (file -> socket);
         tokio-copy splice2 fdcopy fdcopy-blk (socket -> file)
";

/// Parsed options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub quick: bool,
    pub json: bool,
    /// Draw the results into this SVG file.
    pub svg: Option<std::path::PathBuf>,
    /// Rounds per row (`None`: the default for the mode).
    pub rounds: Option<u32>,
    /// The bulk rows' size (`None`: the default for the mode).
    pub size: Option<u64>,
    /// Bytes per connection of the concurrent-connection rows (`None`: the default).
    pub conn_bytes: Option<u64>,
    /// Row names or prefixes (`None`: every row).
    pub scenarios: Option<Vec<String>>,
    pub engines: Option<Vec<Engine>>,
    /// The measured process runs under this command.
    pub wrap: Vec<String>,
    /// One run of one row with one engine.
    pub single: bool,
}

impl Options {
    pub fn rounds(&self) -> u32 {
        self.rounds
            .unwrap_or(if self.quick { QUICK_ROUNDS } else { DEFAULT_ROUNDS })
    }
}

/// What `parse` found.
pub enum Parsed {
    Run(Options),
    Help,
}

/// Parses the arguments after `bench` (`--async` among them).
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("bench --async: {name} needs a value"))
        };
        match arg.as_str() {
            "--async" => {}
            "-h" | "--help" => return Ok(Parsed::Help),
            "--quick" => o.quick = true,
            "--json" => o.json = true,
            "--svg" => o.svg = Some(value("--svg")?.into()),
            "--rounds" => {
                let v = value("--rounds")?;
                match v.parse::<u32>() {
                    Ok(n) if n > 0 => o.rounds = Some(n),
                    _ => return Err(format!("bench --async: --rounds needs a positive integer, got {v:?}")),
                }
            }
            "--size" => o.size = Some(parse_size(&value("--size")?)?),
            "--conn-bytes" => o.conn_bytes = Some(parse_size(&value("--conn-bytes")?)?),
            "--scenario" => {
                let names: Vec<String> = value("--scenario")?.split(',').map(str::to_string).collect();
                for n in &names {
                    let base = n.split('/').next().unwrap_or_default();
                    if !SCENARIOS.contains(&base) {
                        return Err(format!("bench --async: unknown scenario {n:?}\n{USAGE}"));
                    }
                }
                o.scenarios = Some(names);
            }
            "--engine" => {
                let list = value("--engine")?;
                let engines: Result<Vec<Engine>, String> = list
                    .split(',')
                    .map(|e| Engine::parse(e).ok_or_else(|| format!("bench --async: unknown engine {e:?}\n{USAGE}")))
                    .collect();
                o.engines = Some(engines?);
            }
            "--wrap" => o.wrap = value("--wrap")?.split_whitespace().map(str::to_string).collect(),
            other => return Err(format!("bench --async: unknown argument {other:?}\n{USAGE}")),
        }
    }
    // Whether the one scenario names exactly one row is known once the rows are built.
    let one_row = o.scenarios.as_ref().is_some_and(|s| s.len() == 1);
    let one_engine = o.engines.as_ref().is_some_and(|e| e.len() == 1);
    o.single = one_row && one_engine && o.rounds.is_none();
    Ok(Parsed::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn run(s: &str) -> Options {
        match parse(&args(s)).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn options() {
        let o = run("--async --quick --json");
        assert!(o.quick && o.json && !o.single);
        assert_eq!(o.rounds(), QUICK_ROUNDS);
        assert_eq!(run("--async").rounds(), DEFAULT_ROUNDS);
        let o = run("--async --scenario bulk --engine fdcopy --size 64M");
        assert!(o.single);
        assert_eq!(o.size, Some(64 << 20));
        assert!(!run("--async --scenario bulk --engine fdcopy --rounds 2").single);
        assert!(run("--async --scenario file-socket/1M --engine fdcopy").single);
        let wrapped = ["--async", "--wrap", "strace -c"].map(str::to_string);
        let Ok(Parsed::Run(o)) = parse(&wrapped) else {
            panic!("--wrap")
        };
        assert_eq!(o.wrap, ["strace", "-c"]);
        assert!(matches!(parse(&args("--async --help")), Ok(Parsed::Help)));
        assert!(parse(&args("--async --scenario nope")).is_err());
        assert!(parse(&args("--async --engine nope")).is_err());
        assert!(parse(&args("--async --rounds 0")).is_err());
    }
}
