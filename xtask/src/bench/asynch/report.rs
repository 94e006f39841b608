//! Medians, fdcopy's goal checks, and the table / JSON output of `bench --async`.
//!
//! Results are rows of (scenario, engine, figures, ratio to the row's reference engine, goal
//! verdict), the shape of the blocking bench's report rows, so that a chart of one can draw
//! the other.

use std::fmt::Write as _;

use super::cli::Options;
use super::engine::Engine;
use super::rows::{Goal, Row};
use super::run::Sample;
use crate::bench::meter::median;
use crate::bench::verdict::Verdict;
use crate::json::Json;

/// The idle-pipe cap of fdcopy's pool (`pipe_pool::MAX_IDLE`): pipes the process may keep for
/// reuse that no connection holds.
const POOL_IDLE_CAP: f64 = 8.0;

/// Everything one engine gave in one row.
pub struct EngineResult {
    pub engine: Engine,
    pub samples: Vec<Sample>,
    /// Set once the engine failed (it then runs no more rounds of the row).
    pub failure: Option<String>,
}

/// All engines of one row.
pub struct RowResult {
    pub row: Row,
    pub engines: Vec<EngineResult>,
}

/// Medians of one engine in one row.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub runs: usize,
    pub cpu_ms: f64,
    pub user_ms: f64,
    pub sys_ms: f64,
    pub wall_ms: f64,
    /// (max - min) / 2 / median of the CPU samples, in percent.
    pub spread: f64,
    /// CPU seconds per GiB moved (both directions counted).
    pub cpu_per_gib: f64,
    /// Peak resident memory above the baseline, bytes.
    pub rss_delta: f64,
    /// Most descriptors above the baseline.
    pub fds_delta: f64,
    pub pipes: f64,
    pub pipe_bytes: f64,
    pub pipe_sizes: String,
    /// (peak RSS above the baseline + pipe capacity) / connections, bytes.
    pub mem_per_conn: f64,
    /// Its two parts, and the bytes queued in the pipes, per connection.
    pub rss_per_conn: f64,
    pub pipe_per_conn: f64,
    pub queued_per_conn: f64,
    pub idle: Option<IdleStats>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
}

/// The idle row's figures, per connection.
#[derive(Debug, Clone, Default)]
pub struct IdleStats {
    pub rss_per_conn: f64,
    /// Descriptors above the baseline per connection.
    pub fds_per_conn: f64,
    /// The same without the descriptors of the pipes a pool may keep idle (up to its cap):
    /// what the connections themselves hold.
    pub conn_fds_per_conn: f64,
    pub pipes: f64,
    pub pipe_sizes: String,
}

impl Stats {
    fn of(samples: &[Sample], row: &Row) -> Stats {
        let med = |f: &dyn Fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
        let cpu: Vec<f64> = samples.iter().map(|s| ms(s.cpu)).collect();
        let cpu_ms = median(&cpu);
        let (lo, hi) = cpu.iter().fold((f64::MAX, f64::MIN), |(l, h), &c| (l.min(c), h.max(c)));
        // Per connection: over the connections the engine held (all of them unless it failed
        // on some, then the figures are those of the others).
        let conns = |s: &Sample| if s.held > 0 { s.held } else { row.job.conns }.max(1) as f64;
        let gib = row.job.bytes() as f64 / (1u64 << 30) as f64;
        let idle = samples.first().and_then(|s| s.idle.as_ref()).map(|_| IdleStats {
            rss_per_conn: med(&|s| s.idle.as_ref().map_or(0.0, |i| i.rss as f64 - s.rss_base as f64) / conns(s)),
            fds_per_conn: med(&|s| {
                s.idle
                    .as_ref()
                    .map_or(0.0, |i| (i.fds as f64 - s.fds_base as f64) / conns(s))
            }),
            conn_fds_per_conn: med(&|s| {
                s.idle.as_ref().map_or(0.0, |i| {
                    let pooled = (i.pipes as f64).min(POOL_IDLE_CAP);
                    (i.fds as f64 - s.fds_base as f64 - 2.0 * pooled) / conns(s)
                })
            }),
            pipes: med(&|s| s.idle.as_ref().map_or(0.0, |i| i.pipes as f64)),
            pipe_sizes: samples
                .last()
                .and_then(|s| s.idle.as_ref())
                .map(|i| i.pipe_sizes.clone())
                .unwrap_or_default(),
        });
        let us = |f: &dyn Fn(&Sample) -> Option<std::time::Duration>| {
            let v: Vec<f64> = samples.iter().filter_map(f).map(|d| d.as_secs_f64() * 1e6).collect();
            (!v.is_empty()).then(|| median(&v))
        };
        Stats {
            runs: samples.len(),
            cpu_ms,
            user_ms: med(&|s| ms(s.user)),
            sys_ms: med(&|s| ms(s.sys)),
            wall_ms: med(&|s| ms(s.wall)),
            spread: if cpu_ms > 0.0 {
                (hi - lo) / 2.0 / cpu_ms * 100.0
            } else {
                0.0
            },
            cpu_per_gib: if gib > 0.0 { cpu_ms / 1e3 / gib } else { 0.0 },
            rss_delta: med(&|s| s.rss_peak.saturating_sub(s.rss_base) as f64),
            fds_delta: med(&|s| s.fds_max.saturating_sub(s.fds_base) as f64),
            pipes: med(&|s| s.pipes as f64),
            pipe_bytes: med(&|s| s.pipe_bytes as f64),
            pipe_sizes: samples.last().map(|s| s.pipe_sizes.clone()).unwrap_or_default(),
            mem_per_conn: med(&|s| (s.rss_peak.saturating_sub(s.rss_base) + s.pipe_bytes) as f64 / conns(s)),
            rss_per_conn: med(&|s| s.rss_peak.saturating_sub(s.rss_base) as f64 / conns(s)),
            pipe_per_conn: med(&|s| s.pipe_bytes as f64 / conns(s)),
            queued_per_conn: med(&|s| s.pipe_queued as f64 / conns(s)),
            idle,
            p50_us: us(&|s| s.p50),
            p99_us: us(&|s| s.p99),
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One goal check: `value <= limit`; `value` unknown when an engine it needs is missing.
#[derive(Debug, Clone)]
pub struct Check {
    pub what: String,
    pub value: Option<f64>,
    pub limit: f64,
}

impl Check {
    pub fn pass(&self) -> Option<bool> {
        self.value.map(|v| v <= self.limit)
    }
}

/// A row with everything derived from its samples.
pub struct Derived<'a> {
    pub r: &'a RowResult,
    /// Stats of the engines with samples (a failed engine's too: they are shown, not judged).
    pub stats: Vec<(Engine, Stats)>,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
}

impl<'a> Derived<'a> {
    pub fn new(r: &'a RowResult) -> Derived<'a> {
        let stats: Vec<(Engine, Stats)> = r
            .engines
            .iter()
            .filter(|e| !e.samples.is_empty())
            .map(|e| (e.engine, Stats::of(&e.samples, &r.row)))
            .collect();
        let mut d = Derived {
            r,
            stats,
            checks: Vec::new(),
            verdict: Verdict::NotApplicable,
        };
        d.checks = d.goal_checks();
        d.verdict = Verdict::of(d.checks.iter().map(Check::pass));
        d
    }

    /// The stats of an engine that did not fail.
    fn ok(&self, e: Engine) -> Option<&Stats> {
        let failed = self.r.engines.iter().any(|x| x.engine == e && x.failure.is_some());
        (!failed).then(|| self.stats.iter().find(|(x, _)| *x == e).map(|(_, s)| s))?
    }

    /// CPU and wall of `e` relative to the row's reference engine.
    fn vs_ref(&self, e: Engine) -> (Option<f64>, Option<f64>) {
        let get = |e| self.stats.iter().find(|(x, _)| *x == e).map(|(_, s)| s);
        match (get(e), self.ok(self.r.row.reference)) {
            (Some(a), Some(b)) => (ratio(a.cpu_ms, b.cpu_ms), ratio(a.wall_ms, b.wall_ms)),
            _ => (None, None),
        }
    }

    fn goal_checks(&self) -> Vec<Check> {
        if !self.r.row.engines.contains(&Engine::Fdcopy) {
            return Vec::new();
        }
        let fd = self.ok(Engine::Fdcopy);
        let vs = |what: String, a: Option<f64>, b: Option<f64>, limit: f64| Check {
            what,
            value: a.zip(b).and_then(|(a, b)| ratio(a, b)),
            limit,
        };
        let t8 = self.ok(Engine::Tokio8k);
        match self.r.row.goal {
            Goal::Cpu { vs: others, limit } => {
                let best = others
                    .iter()
                    .filter_map(|e| self.ok(*e))
                    .map(|s| s.cpu_ms)
                    .min_by(f64::total_cmp);
                let names: Vec<&str> = others.iter().map(|e| e.name()).collect();
                vec![vs(
                    format!("cpu/min({})", names.join(",")),
                    fd.map(|s| s.cpu_ms),
                    best,
                    limit,
                )]
            }
            Goal::Conns => vec![
                vs(
                    "cpu-per-GiB/tokio-64k".into(),
                    fd.map(|s| s.cpu_per_gib),
                    self.ok(Engine::Tokio64k).map(|s| s.cpu_per_gib),
                    1.0,
                ),
                vs(
                    "mem-per-conn/tokio-8k".into(),
                    fd.map(|s| s.mem_per_conn),
                    t8.map(|s| s.mem_per_conn),
                    1.0,
                ),
            ],
            Goal::Idle => {
                let idle = fd.and_then(|s| s.idle.as_ref());
                vec![
                    Check {
                        what: format!("pipes-beyond-pool-cap-{POOL_IDLE_CAP}"),
                        value: idle.map(|i| (i.pipes - POOL_IDLE_CAP).max(0.0)),
                        limit: 0.0,
                    },
                    Check {
                        what: "conn-fds-per-conn".into(),
                        value: idle.map(|i| i.conn_fds_per_conn),
                        limit: 2.0,
                    },
                    vs(
                        "rss-per-conn/tokio-8k".into(),
                        idle.map(|i| i.rss_per_conn),
                        t8.and_then(|s| s.idle.as_ref()).map(|i| i.rss_per_conn),
                        1.0,
                    ),
                ]
            }
            Goal::Latency => vec![
                vs(
                    "p50/tokio-8k".into(),
                    fd.and_then(|s| s.p50_us),
                    t8.and_then(|s| s.p50_us),
                    1.1,
                ),
                vs(
                    "p99/tokio-8k".into(),
                    fd.and_then(|s| s.p99_us),
                    t8.and_then(|s| s.p99_us),
                    1.1,
                ),
            ],
        }
    }
}

/// `a / b`, or `None` when `b` is not positive.
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// `PASS: cpu/min(..) 0.97 <= 1.0; ...`.
fn goal_text(d: &Derived<'_>) -> String {
    let parts: Vec<String> = d
        .checks
        .iter()
        .map(|c| match c.value {
            Some(v) if v <= c.limit => format!("{} {v:.2} <= {:.1}", c.what, c.limit),
            Some(v) => format!("{} {v:.2} > {:.1}", c.what, c.limit),
            None => format!("{} n/a (goal {:.1})", c.what, c.limit),
        })
        .collect();
    format!("{}: {}", d.verdict.label(), parts.join("; "))
}

/// `12.3K` for a byte count.
fn kib(b: f64) -> String {
    if b.abs() >= 10.0 * 1024.0 * 1024.0 {
        format!("{:.1}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1}K", b / 1024.0)
    }
}

/// The row-specific per-connection or latency figures of one engine.
fn per_conn(goal: Goal, s: &Stats) -> String {
    match goal {
        Goal::Conns => format!(
            "mem {} = rss {} + pipes {} (queued {})",
            kib(s.mem_per_conn),
            kib(s.rss_per_conn),
            kib(s.pipe_per_conn),
            kib(s.queued_per_conn)
        ),
        Goal::Idle => s.idle.as_ref().map_or_else(
            || "-".into(),
            |i| {
                format!(
                    "rss {} fds {:.2} pipes {}",
                    kib(i.rss_per_conn),
                    i.fds_per_conn,
                    if i.pipe_sizes.is_empty() { "0" } else { &i.pipe_sizes }
                )
            },
        ),
        Goal::Latency => match (s.p50_us, s.p99_us) {
            (Some(a), Some(b)) => format!("p50 {a:.0}us p99 {b:.0}us"),
            _ => "-".into(),
        },
        Goal::Cpu { .. } => "-".into(),
    }
}

fn opt(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
}

/// Prints the table, the goals beside fdcopy's figures, the failures and the notes.
pub fn print_table(results: &[RowResult], opts: &Options, preamble: &[String]) {
    let rows: Vec<Derived<'_>> = results.iter().map(Derived::new).collect();
    let rounds = if opts.single {
        "one single run".to_string()
    } else {
        format!(
            "{} rounds; engines interleaved per round; medians over rounds",
            opts.rounds()
        )
    };
    println!(
        "fdcopy bench --async: {rounds}{}",
        if opts.quick {
            " (--quick: smaller sizes and fewer connections, see the notes)"
        } else {
            ""
        }
    );
    println!(
        "CPU = user+sys of the measured process (getrusage RUSAGE_SELF, every thread, the sampler taken out); \
         RSS+/fds+ = above its baseline before any connection; pipes = its pipes at their peak (F_GETPIPE_SZ)"
    );
    for line in preamble {
        println!("{line}");
    }
    println!();
    println!(
        "{:<16} {:<10} {:>9} {:>4} {:>9} {:>7} {:>7} {:>8} {:>6} {:<12} {:<44} goal (fdcopy)",
        "scenario", "engine", "CPU ms", "+-%", "wall ms", "s/GiB", "CPU/ref", "RSS+ MiB", "fds+", "pipes", "per conn"
    );
    for d in &rows {
        let row = &d.r.row;
        println!(
            "-- {}: {} | ref {} | goal: {}",
            row.name,
            row.title,
            row.reference.name(),
            row.goal.text()
        );
        for e in &d.r.engines {
            let goal = if e.engine == Engine::Fdcopy {
                goal_text(d)
            } else {
                String::new()
            };
            let failed = e.failure.as_ref().map(|_| "FAILED (see below)".to_string());
            let Some((_, s)) = d.stats.iter().find(|(x, _)| *x == e.engine) else {
                println!(
                    "{:<16} {:<10} {:>9}  {}",
                    row.name,
                    e.engine.name(),
                    "-",
                    failed.unwrap_or_default()
                );
                continue;
            };
            let (c, _) = d.vs_ref(e.engine);
            let per_gib = if s.cpu_per_gib > 0.0 {
                format!("{:.3}", s.cpu_per_gib)
            } else {
                "-".into()
            };
            let line = format!(
                "{:<16} {:<10} {:>9.1} {:>4.0} {:>9.1} {:>7} {:>7} {:>8.1} {:>6.0} {:<12} {:<44} {}",
                row.name,
                e.engine.name(),
                s.cpu_ms,
                s.spread,
                s.wall_ms,
                per_gib,
                opt(c),
                s.rss_delta / 1024.0 / 1024.0,
                s.fds_delta,
                if s.pipe_sizes.is_empty() { "0" } else { &s.pipe_sizes },
                per_conn(row.goal, s),
                failed.unwrap_or(goal)
            );
            println!("{}", line.trim_end());
        }
        for e in d.r.engines.iter().filter(|e| e.failure.is_some()) {
            println!(
                "   ! {} failed: {}",
                e.engine.name(),
                e.failure.as_deref().unwrap_or_default()
            );
        }
        for n in &row.notes {
            println!("   note: {n}");
        }
    }
    println!();
    println!("{}", summary(&rows));
    println!(
        "goals are reported only (exit code unaffected). The 2 cores are shared by the measured process, \
         its two peers and anything else running: compare ratios within this run, and read differences \
         under ~15 % (see +-%) as noise"
    );
}

/// `goals: fdcopy passes 3 of 11 (...); failing: a, b; engines failing verification: ...`.
fn summary(rows: &[Derived<'_>]) -> String {
    let count = |v: Verdict| rows.iter().filter(|d| d.verdict == v).count();
    let mut s = format!(
        "goals: fdcopy passes {} of {} rows ({} fail, {} n/a)",
        count(Verdict::Pass),
        rows.len(),
        count(Verdict::Fail),
        count(Verdict::NotApplicable)
    );
    let failing: Vec<&str> = rows
        .iter()
        .filter(|d| d.verdict == Verdict::Fail)
        .map(|d| d.r.row.name.as_str())
        .collect();
    if !failing.is_empty() {
        let _ = write!(s, "; failing: {}", failing.join(", "));
    }
    let broken: Vec<String> = rows
        .iter()
        .flat_map(|d| {
            d.r.engines
                .iter()
                .filter(|e| e.failure.is_some())
                .map(|e| format!("{} in {}", e.engine.name(), d.r.row.name))
        })
        .collect();
    if !broken.is_empty() {
        let _ = write!(s, "; engines that failed: {}", broken.join(", "));
    }
    s
}

/// Prints everything the table shows, and every run, as one JSON object.
pub fn print_json(results: &[RowResult], opts: &Options, preamble: &[String]) {
    let rows: Vec<Derived<'_>> = results.iter().map(Derived::new).collect();
    let mut j = Json::default();
    j.open('{');
    j.field_bool("async", true);
    j.field_bool("quick", opts.quick);
    j.field_int("rounds", opts.rounds());
    j.key("notes");
    j.open('[');
    for p in preamble {
        j.item_str(p);
    }
    j.close(']');
    j.key("scenarios");
    j.open('[');
    for d in &rows {
        json_row(&mut j, d);
    }
    j.close(']');
    j.key("goals");
    j.open('{');
    let count = |v: Verdict| rows.iter().filter(|d| d.verdict == v).count() as u64;
    j.field_int("pass", count(Verdict::Pass));
    j.field_int("fail", count(Verdict::Fail));
    j.field_int("na", count(Verdict::NotApplicable));
    j.key("failing");
    j.open('[');
    for d in rows.iter().filter(|d| d.verdict == Verdict::Fail) {
        j.item_str(&d.r.row.name);
    }
    j.close(']');
    j.close('}');
    j.close('}');
    println!("{}", j.finish());
}

fn json_row(j: &mut Json, d: &Derived<'_>) {
    let row = &d.r.row;
    j.open('{');
    j.field_str("name", &row.name);
    j.field_str("title", &row.title);
    j.field_int("connections", row.job.conns);
    j.field_int("bytes", row.job.bytes());
    j.field_bool("multi_thread", row.job.multi_thread);
    j.field_bool("unprivileged", row.job.unprivileged);
    j.field_str("reference", row.reference.name());
    j.key("notes");
    j.open('[');
    for n in &row.notes {
        j.item_str(n);
    }
    j.close(']');
    j.key("engines");
    j.open('[');
    for e in &d.r.engines {
        j.open('{');
        j.field_str("engine", e.engine.name());
        j.field_opt_str("failed", e.failure.as_deref());
        if let Some((_, s)) = d.stats.iter().find(|(x, _)| *x == e.engine) {
            json_stats(j, d, e.engine, s);
        }
        j.key("runs");
        j.open('[');
        for s in &e.samples {
            json_sample(j, s);
        }
        j.close(']');
        j.close('}');
    }
    j.close(']');
    j.key("goal");
    j.open('{');
    j.field_str("text", &row.goal.text());
    j.field_str("verdict", &d.verdict.label().to_ascii_lowercase());
    j.key("checks");
    j.open('[');
    for c in &d.checks {
        j.open('{');
        j.field_str("what", &c.what);
        j.field_opt("value", c.value);
        j.field_num("limit", c.limit);
        j.field_raw(
            "pass",
            match c.pass() {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            },
        );
        j.close('}');
    }
    j.close(']');
    j.close('}');
    j.close('}');
}

fn json_stats(j: &mut Json, d: &Derived<'_>, e: Engine, s: &Stats) {
    let (c, w) = d.vs_ref(e);
    j.field_int("runs_ok", s.runs as u64);
    j.field_num("cpu_ms", s.cpu_ms);
    j.field_num("user_ms", s.user_ms);
    j.field_num("sys_ms", s.sys_ms);
    j.field_num("wall_ms", s.wall_ms);
    j.field_num("cpu_spread_pct", s.spread);
    j.field_num("cpu_s_per_gib", s.cpu_per_gib);
    j.field_opt("cpu_vs_ref", c);
    j.field_opt("wall_vs_ref", w);
    j.field_num("rss_delta_bytes", s.rss_delta);
    j.field_num("fds_delta", s.fds_delta);
    j.field_num("pipes", s.pipes);
    j.field_num("pipe_bytes", s.pipe_bytes);
    j.field_str("pipe_sizes", &s.pipe_sizes);
    j.field_num("mem_per_conn_bytes", s.mem_per_conn);
    j.field_num("rss_per_conn_bytes", s.rss_per_conn);
    j.field_num("pipe_per_conn_bytes", s.pipe_per_conn);
    j.field_num("queued_per_conn_bytes", s.queued_per_conn);
    j.field_opt("p50_us", s.p50_us);
    j.field_opt("p99_us", s.p99_us);
    if let Some(i) = &s.idle {
        j.key("idle");
        j.open('{');
        j.field_num("rss_per_conn_bytes", i.rss_per_conn);
        j.field_num("fds_per_conn", i.fds_per_conn);
        j.field_num("conn_fds_per_conn", i.conn_fds_per_conn);
        j.field_num("pipes", i.pipes);
        j.field_str("pipe_sizes", &i.pipe_sizes);
        j.close('}');
    }
}

fn json_sample(j: &mut Json, s: &Sample) {
    j.open('{');
    j.field_num("cpu_ms", ms(s.cpu));
    j.field_num("user_ms", ms(s.user));
    j.field_num("sys_ms", ms(s.sys));
    j.field_num("wall_ms", ms(s.wall));
    j.field_int("rss_base", s.rss_base);
    j.field_int("rss_peak", s.rss_peak);
    j.field_int("rss_max_sampled", s.rss_max);
    j.field_int("fds_base", s.fds_base);
    j.field_int("fds_max", s.fds_max);
    j.field_int("pipes", s.pipes);
    j.field_int("pipe_bytes", s.pipe_bytes);
    j.field_str("pipe_sizes", &s.pipe_sizes);
    j.field_int("pipe_queued", s.pipe_queued);
    j.field_int("samples", s.samples);
    j.field_num("sampler_ms", ms(s.sampler));
    j.field_int("uid", s.uid);
    if let Some(i) = &s.idle {
        j.key("idle");
        j.open('{');
        j.field_int("fds", i.fds);
        j.field_int("pipes", i.pipes);
        j.field_int("pipe_bytes", i.pipe_bytes);
        j.field_str("pipe_sizes", &i.pipe_sizes);
        j.field_int("rss", i.rss);
        j.close('}');
    }
    j.field_opt("p50_us", s.p50.map(|d| d.as_secs_f64() * 1e6));
    j.field_opt("p99_us", s.p99.map(|d| d.as_secs_f64() * 1e6));
    j.close('}');
}

/// The bar chart of a run: per row, every engine's CPU relative to the row's reference engine,
/// with fdcopy first and the CPU goal marked where the row has one. Rows measured against tokio's
/// 8 KiB copy form one panel, the file rows (other references) the second; engines that failed
/// verification have no bar and are named in the caption.
pub fn bars(results: &[RowResult], preamble: &[String]) -> crate::bench::chart::Bars {
    use crate::bench::chart::{BarPanel, Bars, Group};
    let main_ref = Engine::Tokio8k;
    let (mut sockets, mut files) = (Vec::new(), Vec::new());
    let mut failed = Vec::new();
    for d in results.iter().map(Derived::new) {
        let reference = d.r.row.reference;
        let ref_cpu = d.ok(reference).map(|s| s.cpu_ms);
        let mut engines: Vec<Engine> = d.stats.iter().map(|(e, _)| *e).collect();
        engines.sort_by_key(|e| *e != Engine::Fdcopy);
        let bars: Vec<(String, f64)> = engines
            .iter()
            .filter_map(|&e| {
                let cpu = d.ok(e)?.cpu_ms;
                Some((e.name().to_string(), ratio(cpu, ref_cpu?)?))
            })
            .collect();
        // A CPU goal `fdcopy / other <= limit`, moved onto the reference's scale.
        let goal = match (&d.r.row.goal, d.checks.first(), d.ok(Engine::Fdcopy), ref_cpu) {
            (Goal::Cpu { .. }, Some(c), Some(fd), Some(r)) => {
                c.value.filter(|v| *v > 0.0).map(|v| c.limit * (fd.cpu_ms / v) / r)
            }
            _ => None,
        };
        failed.extend(
            d.r.engines
                .iter()
                .filter(|e| e.failure.is_some())
                .map(|e| format!("{} in {}", e.engine.name(), d.r.row.name)),
        );
        let note = bars.is_empty().then(|| "no engine finished".to_string());
        let group = Group {
            name: if reference == main_ref {
                d.r.row.name.clone()
            } else {
                format!("{} (vs {})", d.r.row.name, reference.name())
            },
            bars,
            goal,
            met: d.verdict.met(),
            note,
        };
        if reference == main_ref {
            sockets.push(group);
        } else {
            files.push(group);
        }
    }
    let mut caption: Vec<String> = preamble.to_vec();
    caption.push(
        "median CPU (user+sys of the proxy or copier process) relative to each row's reference engine \
         (log scale); every byte verified by the peers; the mark is fdcopy's CPU goal, the colour its row's verdict"
            .into(),
    );
    if !failed.is_empty() {
        caption.push(format!(
            "no bar: failed verification (short count or bytes lost): {}",
            failed.join(", ")
        ));
    }
    let panels = [
        (format!("sockets: CPU relative to {}", main_ref.name()), sockets),
        ("files: CPU relative to the row's reference".to_string(), files),
    ]
    .into_iter()
    .filter(|(_, groups)| !groups.is_empty())
    .map(|(title, groups)| BarPanel { title, groups })
    .collect();
    Bars {
        title: "cargo xtask bench --async: fdcopy::tokio against tokio and tokio-splice2".into(),
        caption,
        baseline: "the row's reference engine".into(),
        panels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::asynch::rows::{rows, Limits};
    use std::time::Duration;

    fn sample(cpu_ms: u64, rss: u64) -> Sample {
        Sample {
            cpu: Duration::from_millis(cpu_ms),
            wall: Duration::from_millis(2 * cpu_ms),
            rss_base: 1000,
            rss_peak: 1000 + rss,
            ..Sample::default()
        }
    }

    fn row(name: &str) -> Row {
        let opts = Options {
            scenarios: Some(vec![name.into()]),
            ..Options::default()
        };
        rows(
            &opts,
            Limits {
                nofile: 1 << 20,
                root: true,
            },
        )
        .remove(0)
    }

    fn result(row: Row, engines: Vec<(Engine, Vec<Sample>, Option<&str>)>) -> RowResult {
        RowResult {
            row,
            engines: engines
                .into_iter()
                .map(|(engine, samples, f)| EngineResult {
                    engine,
                    samples,
                    failure: f.map(str::to_string),
                })
                .collect(),
        }
    }

    #[test]
    fn cpu_goal_takes_the_cheapest_engine_that_did_not_fail() {
        let r = result(
            row("bulk"),
            vec![
                (Engine::Tokio8k, vec![sample(600, 0)], None),
                (
                    Engine::Tokio1m,
                    vec![sample(220, 0), sample(240, 0), sample(230, 0)],
                    None,
                ),
                (Engine::Splice2, vec![sample(100, 0)], Some("broken")),
                (Engine::Fdcopy, vec![sample(200, 0)], None),
            ],
        );
        let d = Derived::new(&r);
        assert_eq!(d.verdict, Verdict::Pass);
        let v = d.checks[0].value.unwrap();
        assert!((v - 200.0 / 230.0).abs() < 1e-9, "{v}");
        assert_eq!(d.vs_ref(Engine::Fdcopy).0.map(|r| (r * 1000.0).round()), Some(333.0));
        assert!(goal_text(&d).starts_with("PASS: cpu/min(tokio-1m,splice2) 0.87 <= 1.0"));
        assert!(summary(&[d]).contains("splice2 in bulk"));
    }

    #[test]
    fn missing_engines_make_a_goal_not_applicable() {
        let r = result(row("conns-64"), vec![(Engine::Fdcopy, vec![sample(10, 4096)], None)]);
        let d = Derived::new(&r);
        assert_eq!(d.verdict, Verdict::NotApplicable);
        // 4096 bytes over 64 connections.
        assert_eq!(d.stats[0].1.mem_per_conn, 64.0);
    }

    /// The `--svg` picture of a run of every row and engine (made-up figures, splice2 failing
    /// one row): it parses and rasterizes, every row is in it, every engine in the legend, and
    /// the failure in the caption.
    #[test]
    fn the_async_bar_chart_renders_with_every_row_and_engine() {
        let all = rows(
            &Options::default(),
            Limits {
                nofile: 1 << 20,
                root: true,
            },
        );
        let names: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
        let results: Vec<RowResult> = all
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let engines = row
                    .engines
                    .iter()
                    .enumerate()
                    .map(|(j, &e)| {
                        let failed = (e == Engine::Splice2 && i == 1).then_some("short count");
                        let ms = 100 + 37 * j as u64 + 5 * i as u64;
                        (e, vec![sample(ms, 4096), sample(ms + 3, 4096)], failed)
                    })
                    .collect();
                result(row, engines)
            })
            .collect();
        let preamble = vec!["machine: test, 2 CPUs".to_string()];
        let bars = bars(&results, &preamble);
        assert_eq!(bars.panels.len(), 2, "socket rows and file rows");
        let svg = crate::bench::chart::bars_svg(&bars).expect("drawn");
        let (texts, pixmap) = crate::bench::render_test::render(&svg);
        for name in &names {
            assert!(
                texts
                    .iter()
                    .any(|t| t == name || t.starts_with(&format!("{name} (vs "))),
                "{name} is not in the picture: {texts:?}"
            );
        }
        for e in Engine::ALL {
            if results.iter().any(|r| r.row.engines.contains(&e)) {
                assert!(texts.iter().any(|t| t == e.name()), "{} not in the legend", e.name());
            }
        }
        let failed = format!("splice2 in {}", names[1]);
        assert!(
            texts.iter().any(|t| t.contains(&failed)),
            "the failure is in the caption: {texts:?}"
        );
        assert!(texts.iter().any(|t| t.contains("machine: test")));
        assert!(crate::bench::render_test::colours(&pixmap) > 20, "bars in colour");
    }
}
