//! `cargo xtask fuzz`: runs the cargo-fuzz targets of `fuzz/` for a bounded time.
//!
//! Installs cargo-fuzz when it is missing, uses the nightly toolchain with AddressSanitizer
//! when `rustup toolchain list` shows one (else stable with `--sanitizer none`), builds every
//! target once, runs each for N seconds on its corpus (`fuzz/corpus/<target>`, whose
//! `seed-*` files are kept in the repository), and prints a summary: runs, exec/s, corpus
//! size. A crash, a timeout or an out-of-memory makes it exit non-zero and print the
//! reproducer (`fuzz/artifacts/<target>/crash-*`) and the command that replays it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The targets, with what each checks.
const TARGETS: [(&str, &str); 4] = [
    (
        "async_pairs",
        "fdcopy::tokio between tokio's sockets, pipes and files on both runtimes, through the \
         drop-in and a Copier whose future select! drops again and again, with limits, \
         BufReaders, small pipes and file I/O on the blocking pool: bytes, counts, the unread \
         remainder, nothing left in flight",
    ),
    (
        "contract",
        "go::copy/copy_n/copy_buffer/Copier/drop-in on scripted in-memory readers and writers \
         (chunking, short reads and writes, Interrupted, errors and impossible counts at chosen \
         offsets, limits) against a reference model and std::io::copy",
    ),
    (
        "fd_pairs",
        "copies between real files (temp dir, /dev/shm), pipes, loopback TCP and unix sockets \
         with limits, BufReader/BufWriter, offsets and O_APPEND: bytes, counts, offsets, the \
         unread remainder, and the strategy",
    ),
    (
        "strategy_table",
        "plan() against the README's table and verdict() under simulated errno sequences: \
         termination, no retry of unavailable syscalls, fallback only as the rule allows",
    ),
];

const USAGE: &str = "usage: cargo xtask fuzz (TARGET | --all) [--seconds N] [--sanitizer address|none] [--stable]
                       [--verbose] [-- LIBFUZZER_ARGS]
       cargo xtask fuzz --list

Runs the cargo-fuzz targets in fuzz/ for N seconds each (default 60). Uses nightly with
AddressSanitizer when a nightly toolchain is installed, else stable with --sanitizer none;
installs cargo-fuzz (cargo install cargo-fuzz --locked) if it is missing. Exits non-zero on a
crash, printing the reproducer under fuzz/artifacts/<target>/.

  --all          every target, one after the other
  --seconds N    fuzzing time per target (default 60)
  --sanitizer S  address (the default on nightly) or none (faster to build and run)
  --stable       the stable toolchain even when a nightly is installed (implies --sanitizer none)
  --verbose      libFuzzer's progress lines too
  --list         the targets and what each checks
";

/// Seconds a single input may run before libFuzzer reports it as a hang.
const UNIT_TIMEOUT: u64 = 30;

struct Options {
    targets: Vec<&'static str>,
    seconds: u64,
    sanitizer: Option<String>,
    stable: bool,
    verbose: bool,
    extra: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut o = Options {
        targets: Vec::new(),
        seconds: 60,
        sanitizer: None,
        stable: false,
        verbose: false,
        extra: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--list" => {
                for (name, what) in TARGETS {
                    println!("{name:<16} {what}");
                }
                return Ok(None);
            }
            "--all" => o.targets = TARGETS.iter().map(|t| t.0).collect(),
            "--seconds" => {
                let v = it.next().ok_or("--seconds needs a value")?;
                o.seconds = v.parse().map_err(|_| format!("--seconds: not a number: {v}"))?;
                if o.seconds == 0 {
                    return Err("--seconds must be at least 1".into());
                }
            }
            "--sanitizer" => {
                let v = it.next().ok_or("--sanitizer needs a value")?;
                o.sanitizer = Some(v.clone());
            }
            "--stable" => o.stable = true,
            "--verbose" | "-v" => o.verbose = true,
            "--" => o.extra.extend(it.by_ref().cloned()),
            t if !t.starts_with('-') => match TARGETS.iter().find(|x| x.0 == t) {
                Some(x) => {
                    if !o.targets.contains(&x.0) {
                        o.targets.push(x.0)
                    }
                }
                None => return Err(format!("unknown fuzz target `{t}` (cargo xtask fuzz --list)")),
            },
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    if o.targets.is_empty() {
        return Err(format!("name a target or --all\n{USAGE}"));
    }
    Ok(Some(o))
}

pub fn main(args: &[String]) -> Result<ExitCode, String> {
    let Some(opts) = parse(args)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    if !root.join("fuzz/Cargo.toml").is_file() {
        return Err(format!("no fuzz/Cargo.toml under {}", root.display()));
    }
    ensure_cargo_fuzz()?;
    let nightly = !opts.stable && nightly_available();
    let sanitizer = opts
        .sanitizer
        .clone()
        .unwrap_or_else(|| if nightly { "address" } else { "none" }.to_string());
    let toolchain: Vec<String> = if nightly { vec!["+nightly".into()] } else { Vec::new() };
    if sanitizer != "none" && !nightly {
        return Err(format!(
            "--sanitizer {sanitizer} needs a nightly toolchain (rustup toolchain install nightly)"
        ));
    }
    println!(
        "fuzz: {} toolchain, sanitizer {sanitizer}, {} s per target: {}",
        if nightly { "nightly" } else { "stable" },
        opts.seconds,
        opts.targets.join(", ")
    );

    // One build of every target first, so the run time is fuzzing time.
    let t = Instant::now();
    let mut build = Command::new("cargo");
    build
        .args(&toolchain)
        .args(["fuzz", "build", "--sanitizer", &sanitizer])
        .current_dir(&root);
    let st = build.status().map_err(|e| format!("cargo fuzz build: {e}"))?;
    if !st.success() {
        return Err(format!("cargo fuzz build failed ({st})"));
    }
    println!("fuzz: built in {:.0} s", t.elapsed().as_secs_f64());

    let mut results = Vec::new();
    for &target in &opts.targets {
        results.push(run_target(&root, &toolchain, &sanitizer, target, &opts)?);
    }

    println!();
    println!(
        "{:<16} {:>8} {:>12} {:>9} {:>7}  result",
        "target", "seconds", "runs", "exec/s", "corpus"
    );
    for r in &results {
        println!(
            "{:<16} {:>8.0} {:>12} {:>9} {:>7}  {}",
            r.target,
            r.seconds,
            r.runs.map_or("?".to_string(), |n| n.to_string()),
            r.exec_per_s.map_or("?".to_string(), |n| n.to_string()),
            r.corpus,
            if r.ok { "ok".to_string() } else { r.finding.clone() }
        );
    }
    let failed: Vec<&RunResult> = results.iter().filter(|r| !r.ok).collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for r in failed {
        for a in &r.artifacts {
            let rel = a.strip_prefix(&root).unwrap_or(a);
            eprintln!("fuzz: {}: reproducer {}", r.target, rel.display());
            eprintln!(
                "      replay: cargo {}fuzz run --sanitizer {sanitizer} {} {}",
                toolchain.first().map_or(String::new(), |t| format!("{t} ")),
                r.target,
                rel.display()
            );
        }
        if r.artifacts.is_empty() {
            eprintln!("fuzz: {}: failed without a new artifact ({})", r.target, r.finding);
        }
    }
    Ok(ExitCode::FAILURE)
}

struct RunResult {
    target: &'static str,
    seconds: f64,
    runs: Option<u64>,
    exec_per_s: Option<u64>,
    corpus: usize,
    ok: bool,
    finding: String,
    artifacts: Vec<PathBuf>,
}

fn run_target(
    root: &Path,
    toolchain: &[String],
    sanitizer: &str,
    target: &'static str,
    opts: &Options,
) -> Result<RunResult, String> {
    let corpus = root.join("fuzz/corpus").join(target);
    let artifacts = root.join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    std::fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
    println!();
    println!("fuzz: {target}: {} s, corpus {}", opts.seconds, count_files(&corpus));
    let started = SystemTime::now();
    let t = Instant::now();
    let mut cmd = Command::new("cargo");
    cmd.args(toolchain)
        .args(["fuzz", "run", "--sanitizer", sanitizer, target])
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={}", opts.seconds))
        .arg(format!("-timeout={UNIT_TIMEOUT}"))
        .arg("-print_final_stats=1")
        .args(&opts.extra)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cargo fuzz run: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut log: Vec<String> = Vec::new();
    let mut failing = false;
    let mut in_dictionary = false;
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("reading cargo fuzz's output: {e}")),
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_string();
        if is_failure_line(&line) {
            failing = true;
        }
        if line.starts_with("###### Recommended dictionary") {
            in_dictionary = true;
        }
        // libFuzzer's progress lines ("#1234 NEW cov: ..."), newly covered functions and its
        // recommended dictionary are noise in CI logs; everything after a failure shows up.
        let noise = in_dictionary
            || is_progress_line(&line)
            || line.trim_start().starts_with("NEW_FUNC[")
            // Without a sanitizer libFuzzer misses its hooks, harmlessly.
            || line.starts_with("WARNING: Failed to find function \"__sanitizer");
        if opts.verbose || failing || !noise {
            eprintln!("{line}");
        }
        if line.starts_with("###### End of recommended dictionary") {
            in_dictionary = false;
        }
        log.push(line);
    }
    let status = child.wait().map_err(|e| format!("cargo fuzz run: {e}"))?;
    let seconds = t.elapsed().as_secs_f64();
    let stat = |key: &str| -> Option<u64> {
        log.iter()
            .rev()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().parse().ok()))
            .flatten()
    };
    let runs = stat("stat::number_of_executed_units:").or_else(|| {
        // "Done 1234 runs in 20 second(s)"
        log.iter().rev().find_map(|l| {
            l.strip_prefix("Done ")
                .and_then(|r| r.split_whitespace().next()?.parse().ok())
        })
    });
    let new_artifacts = artifacts_since(&artifacts, started);
    let finding = if status.success() {
        String::new()
    } else if let Some(a) = new_artifacts.first() {
        let name = a
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.split('-').next().unwrap_or("failure").to_string()
    } else {
        format!("exit {status}")
    };
    Ok(RunResult {
        target,
        seconds,
        runs,
        exec_per_s: stat("stat::average_exec_per_sec:"),
        corpus: count_files(&corpus),
        ok: status.success(),
        finding,
        artifacts: new_artifacts,
    })
}

fn is_progress_line(l: &str) -> bool {
    // "#4096	pulse  cov: ...", "#12	NEW    cov: ...", "#30	REDUCE cov: ..."
    l.starts_with('#') && l[1..].chars().next().is_some_and(|c| c.is_ascii_digit()) && !l.contains("DONE")
}

fn is_failure_line(l: &str) -> bool {
    l.contains("panicked at")
        || l.starts_with("==")
        || l.contains("ERROR: libFuzzer")
        || l.starts_with("ALARM:")
        || l.contains("Failing input")
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter(|e| e.is_ok()).count())
}

/// crash-*, timeout-*, oom-*, leak-*, slow-unit-* files written since `since`.
fn artifacts_since(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            ["crash-", "timeout-", "oom-", "leak-"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m + Duration::from_secs(1) >= since)
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// `cargo fuzz` is there, or gets installed.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    println!("fuzz: cargo-fuzz is missing: cargo install cargo-fuzz --locked");
    let st = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("cargo install cargo-fuzz: {e}"))?;
    if !st.success() {
        return Err(format!("cargo install cargo-fuzz --locked failed ({st})"));
    }
    Ok(())
}

/// Whether `rustup toolchain list` shows a nightly.
fn nightly_available() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim_start().starts_with("nightly"))
        })
}
