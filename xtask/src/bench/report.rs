//! Medians, ratios, goals, and the table / JSON output.

use std::fmt::Write as _;

use super::chart::{BarPanel, Bars, Group};
use super::cli::Options;
use super::engine::Engine;
use super::host::Meta;
use super::meter::{median, ms, Sample};
use super::scenario::{Job, Variant, Workload, SMALL_COPIES, SMALL_LEN};
use super::verdict::Verdict;
use crate::json::Json;

/// Goal for bulk scenarios: fdcopy CPU / cheapest plain loop.
const BULK_VS_LOOP: f64 = 1.05;
/// Goal for small scenarios: fdcopy CPU / cheapest other engine.
const SMALL_VS_BEST: f64 = 1.1;

/// All samples of one workload.
pub struct Measured {
    pub workload: Workload,
    /// The job shape (its `run` is that of one of the runs).
    pub job: Job,
    /// Samples per engine, in engine order (none when `skipped`).
    pub engines: Vec<(Engine, Vec<Sample>)>,
    /// `Some(why)`: the workload does not exist (a scenario without a small variant) and
    /// was not run; its row says `n/a: why`.
    pub skipped: Option<&'static str>,
}

/// Medians of one engine in one workload.
#[derive(Debug, Clone, Copy)]
struct Stats {
    cpu: f64,
    user: f64,
    sys: f64,
    wall: f64,
    /// (max - min) / 2 / median of the CPU samples, in percent.
    spread: f64,
}

impl Stats {
    fn of(samples: &[Sample]) -> Stats {
        let cpu: Vec<f64> = samples.iter().map(|s| ms(s.cpu())).collect();
        let pick = |f: fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
        let med = median(&cpu);
        let (lo, hi) = cpu
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &c| (lo.min(c), hi.max(c)));
        Stats {
            cpu: med,
            user: pick(|s| ms(s.user)),
            sys: pick(|s| ms(s.sys)),
            wall: pick(|s| ms(s.wall)),
            spread: if med > 0.0 { (hi - lo) / 2.0 / med * 100.0 } else { 0.0 },
        }
    }
}

/// One goal check of fdcopy: `ratio <= limit`, `ratio` unknown if an engine is missing.
struct Check {
    what: &'static str,
    ratio: Option<f64>,
    limit: f64,
    /// CPU of the engine the ratio is taken against.
    reference: Option<f64>,
}

impl Check {
    fn pass(&self) -> Option<bool> {
        self.ratio.map(|r| r <= self.limit)
    }
}

/// A workload with everything derived from its samples.
struct Row<'a> {
    m: &'a Measured,
    stats: Vec<(Engine, Stats)>,
    checks: Vec<Check>,
    verdict: Verdict,
}

impl<'a> Row<'a> {
    fn new(m: &'a Measured) -> Row<'a> {
        let stats: Vec<(Engine, Stats)> = m.engines.iter().map(|(e, s)| (*e, Stats::of(s))).collect();
        let checks = goal_checks(m.workload, &stats);
        let verdict = Verdict::of(checks.iter().map(Check::pass));
        Row {
            m,
            stats,
            checks,
            verdict,
        }
    }

    fn get(&self, e: Engine) -> Option<&Stats> {
        self.stats.iter().find(|(x, _)| *x == e).map(|(_, s)| s)
    }

    /// `(cpu, wall)` of `e` relative to std.
    fn vs_std(&self, e: Engine) -> (Option<f64>, Option<f64>) {
        match (self.get(e), self.get(Engine::Std)) {
            (Some(a), Some(s)) => (ratio(a.cpu, s.cpu), ratio(a.wall, s.wall)),
            _ => (None, None),
        }
    }
}

/// `a / b`, or `None` when `b` is 0.
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// The goals of fdcopy in this workload (empty when fdcopy was not run).
fn goal_checks(w: Workload, stats: &[(Engine, Stats)]) -> Vec<Check> {
    let Some(fd) = stats.iter().find(|(e, _)| *e == Engine::Fdcopy).map(|(_, s)| s.cpu) else {
        return Vec::new();
    };
    let cheapest = |keep: fn(Engine) -> bool| {
        stats
            .iter()
            .filter(|(e, _)| keep(*e))
            .map(|(_, s)| s.cpu)
            .min_by(f64::total_cmp)
    };
    let check = |what, reference: Option<f64>, limit| Check {
        what,
        ratio: reference.and_then(|b| ratio(fd, b)),
        limit,
        reference,
    };
    match w.variant {
        Variant::Bulk => vec![
            check("cpu/std", cheapest(|e| e == Engine::Std), w.scenario().goal_vs_std),
            check("cpu/best-loop", cheapest(Engine::is_loop), BULK_VS_LOOP),
        ],
        // The kernel engine is a reference line for the sweep, not a way to copy safely.
        Variant::Small => vec![check(
            "cpu/best-other",
            cheapest(|e| e != Engine::Fdcopy && e != Engine::Kernel),
            SMALL_VS_BEST,
        )],
    }
}

/// `PASS: cpu/std 0.30 <= 0.35; cpu/best-loop 0.98 <= 1.05`.
fn goal_text(row: &Row<'_>) -> String {
    let parts: Vec<String> = row
        .checks
        .iter()
        .map(|c| match c.ratio {
            Some(r) if r <= c.limit => format!("{} {r:.3} <= {:.2}", c.what, c.limit),
            Some(r) => format!("{} {r:.3} > {:.2}", c.what, c.limit),
            None => format!("{} n/a (goal {:.2})", c.what, c.limit),
        })
        .collect();
    format!("{}: {}", row.verdict.label(), parts.join("; "))
}

/// "64 MiB" for whole binary multiples, plain bytes otherwise.
pub fn human(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

/// An optional ratio for the table.
fn opt(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{r:.2}"))
}

/// The human-readable table and goal summary; `seconds` is how long the run took.
pub fn table(results: &[Measured], opts: &Options, seconds: f64) -> String {
    let rows: Vec<Row<'_>> = results.iter().map(Row::new).collect();
    let mut out = String::new();
    macro_rules! println {
        () => { out.push('\n') };
        ($($t:tt)*) => {{ let _ = writeln!(out, $($t)*); }};
    }
    println!(
        "fdcopy bench: bulk size {} ({} bytes), small = {SMALL_COPIES} x {} on one stream, rounds: {}{}",
        human(opts.size),
        opts.size,
        human(SMALL_LEN),
        opts.rounds,
        if opts.quick { " (--quick)" } else { "" }
    );
    println!(
        "engines interleaved per round; medians over rounds; CPU = user+sys of the copying thread; \
         ratios vs std of this run"
    );
    println!();
    println!(
        "{:<22} {:<7} {:>10} {:>5} {:>10} {:>8} {:>8}  goal (fdcopy)",
        "scenario", "engine", "CPU ms", "+-%", "wall ms", "CPU/std", "wall/std"
    );
    for row in &rows {
        if let Some(why) = row.m.skipped {
            println!("{:<22} {:<7} {:>10}  n/a: {why}", row.m.workload.name(), "-", "-");
            continue;
        }
        for (e, s) in &row.stats {
            let (c, w) = row.vs_std(*e);
            let goal = if *e == Engine::Fdcopy {
                goal_text(row)
            } else {
                String::new()
            };
            let line = format!(
                "{:<22} {:<7} {:>10.2} {:>5.0} {:>10.2} {:>8} {:>8}  {goal}",
                row.m.workload.name(),
                e.name(),
                s.cpu,
                s.spread,
                s.wall,
                opt(c),
                opt(w)
            );
            println!("{}", line.trim_end());
        }
    }
    println!();
    println!("{}", summary(&rows));
    println!(
        "goals are reported only (exit code unaffected); on 2 cores, differences under ~15 % are \
         noise unless they hold across rounds (see +-%)"
    );
    println!(
        "every byte of every run verified: {} in {:.1} s",
        human_approx(verified_bytes(results)),
        seconds
    );
    out
}

/// Bytes moved and checked over every run of `results`.
pub fn verified_bytes(results: &[Measured]) -> u64 {
    results
        .iter()
        .map(|m| m.job.copied() * m.engines.iter().map(|(_, s)| s.len() as u64).sum::<u64>())
        .sum()
}

/// `312.5 GiB`, `40.0 MiB`: a byte count to one decimal.
pub fn human_approx(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift {
            return format!("{:.1} {unit}", bytes as f64 / (1u64 << shift) as f64);
        }
    }
    format!("{bytes} B")
}

/// The bar chart of a run: one panel per variant (bulk, 4 KiB), one group per scenario, one bar
/// per engine, CPU relative to std, fdcopy's tightest goal as the mark.
pub fn bars(results: &[Measured], opts: &Options, caption: Vec<String>) -> Bars {
    let rows: Vec<Row<'_>> = results.iter().map(Row::new).collect();
    let mut panels: Vec<(Variant, BarPanel)> = Vec::new();
    for row in &rows {
        let variant = row.m.workload.variant;
        let i = match panels.iter().position(|(v, _)| *v == variant) {
            Some(i) => i,
            None => {
                let title = match variant {
                    Variant::Bulk => format!("one copy of {}", human(opts.size)),
                    Variant::Small => format!("{SMALL_COPIES} copies of {} on one stream", human(SMALL_LEN)),
                };
                panels.push((
                    variant,
                    BarPanel {
                        title,
                        groups: Vec::new(),
                    },
                ));
                panels.len() - 1
            }
        };
        let panel = &mut panels[i].1;
        let std = row.get(Engine::Std).map(|s| s.cpu);
        let bars = row
            .stats
            .iter()
            .filter_map(|(e, s)| Some((e.name().to_string(), ratio(s.cpu, std?)?)))
            .collect();
        // The tightest of fdcopy's goals, in units of std's CPU.
        let goal = row
            .checks
            .iter()
            .filter_map(|c| Some(c.limit * c.reference? / std?))
            .min_by(f64::total_cmp);
        panel.groups.push(Group {
            name: row.m.workload.scenario().name.to_string(),
            bars,
            goal,
            met: row.verdict.met(),
            note: row
                .m
                .skipped
                .map(str::to_string)
                .or_else(|| std.is_none().then(|| "std was not run: no baseline".to_string())),
        });
    }
    for (variant, p) in &mut panels {
        let mine: Vec<&Measured> = results.iter().filter(|m| m.workload.variant == *variant).collect();
        let verified: u64 = mine.iter().map(|m| verified_bytes(std::slice::from_ref(*m))).sum();
        p.title = format!("{}: {} verified", p.title, human_approx(verified));
    }
    Bars {
        title: "fdcopy bench: CPU time per scenario, relative to std::io::copy".to_string(),
        caption,
        baseline: "std".to_string(),
        panels: panels.into_iter().map(|(_, p)| p).collect(),
    }
}

/// `goals: fdcopy passes 3 of 16 (12 fail, 1 n/a); failing: a, b`.
fn summary(rows: &[Row<'_>]) -> String {
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.m.workload.name())
        .collect();
    let mut s = format!(
        "goals: fdcopy passes {} of {} ({} fail, {} n/a)",
        count(Verdict::Pass),
        rows.len(),
        count(Verdict::Fail),
        count(Verdict::NotApplicable)
    );
    if !failing.is_empty() {
        let _ = write!(s, "; failing: {}", failing.join(", "));
    }
    s
}

/// Prints the figures of a single copy (`--scenario S --engine E`).
pub fn print_single(m: &Measured, json: bool) {
    if let Some(why) = m.skipped {
        if json {
            let mut j = Json::default();
            j.open('{');
            j.field_str("scenario", &m.workload.name());
            j.field_str("skipped", why);
            j.close('}');
            println!("{}", j.finish());
        } else {
            println!("{}: n/a: {why}", m.workload.name());
        }
        return;
    }
    let (engine, samples) = &m.engines[0];
    let s = samples[0];
    let bytes = m.job.copied();
    if json {
        let mut j = Json::default();
        j.open('{');
        j.field_str("scenario", &m.workload.name());
        j.field_str("engine", engine.name());
        j.field_num("copied_bytes", bytes as f64);
        j.field_num("stream_bytes", m.job.stream_bytes as f64);
        j.field_num("copies", m.job.copies as f64);
        sample_fields(&mut j, &s);
        j.close('}');
        println!("{}", j.finish());
        return;
    }
    println!(
        "{} with {}: {} bytes ({}) in {} cop{}, stream {} bytes",
        m.workload.name(),
        engine.name(),
        bytes,
        human(bytes),
        m.job.copies,
        if m.job.copies == 1 { "y" } else { "ies" },
        m.job.stream_bytes
    );
    println!(
        "cpu {:.2} ms (user {:.2} ms, sys {:.2} ms), wall {:.2} ms, {:.2} GB/s wall; bytes verified",
        ms(s.cpu()),
        ms(s.user),
        ms(s.sys),
        ms(s.wall),
        bytes as f64 / s.wall.as_secs_f64().max(1e-9) / 1e9
    );
}

/// cpu/user/sys/wall of one sample as JSON fields.
fn sample_fields(j: &mut Json, s: &Sample) {
    j.field_num("cpu_ms", ms(s.cpu()));
    j.field_num("user_ms", ms(s.user));
    j.field_num("sys_ms", ms(s.sys));
    j.field_num("wall_ms", ms(s.wall));
}

/// Prints everything `print_table` shows (and every sample) as one JSON object.
pub fn print_json(results: &[Measured], opts: &Options, meta: &Meta) {
    let rows: Vec<Row<'_>> = results.iter().map(Row::new).collect();
    let mut j = Json::default();
    j.open('{');
    meta.json_fields(&mut j);
    j.field_num("size_bytes", opts.size as f64);
    j.field_num("small_copies", SMALL_COPIES as f64);
    j.field_num("small_bytes_per_copy", SMALL_LEN as f64);
    j.field_num("rounds", opts.rounds as f64);
    j.field_raw("quick", if opts.quick { "true" } else { "false" });
    j.key("scenarios");
    j.open('[');
    for row in &rows {
        json_row(&mut j, row);
    }
    j.close(']');
    j.key("goals");
    j.open('{');
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count() as f64;
    j.field_num("pass", count(Verdict::Pass));
    j.field_num("fail", count(Verdict::Fail));
    j.field_num("na", count(Verdict::NotApplicable));
    j.key("failing");
    j.open('[');
    for r in rows.iter().filter(|r| r.verdict == Verdict::Fail) {
        j.item_str(&r.m.workload.name());
    }
    j.close(']');
    j.close('}');
    j.close('}');
    println!("{}", j.finish());
}

/// One workload as a JSON object.
fn json_row(j: &mut Json, row: &Row<'_>) {
    let m = row.m;
    j.open('{');
    j.field_str("name", &m.workload.name());
    j.field_str("scenario", m.workload.scenario().name);
    j.field_str(
        "variant",
        match m.workload.variant {
            Variant::Bulk => "bulk",
            Variant::Small => "4k",
        },
    );
    j.field_num("copied_bytes", m.job.copied() as f64);
    j.field_num("stream_bytes", m.job.stream_bytes as f64);
    j.field_num("copies", m.job.copies as f64);
    if let Some(why) = m.skipped {
        j.field_str("skipped", why);
    }
    j.key("engines");
    j.open('[');
    for ((e, st), (_, samples)) in row.stats.iter().zip(&m.engines) {
        let (c, w) = row.vs_std(*e);
        j.open('{');
        j.field_str("engine", e.name());
        j.field_num("cpu_ms", st.cpu);
        j.field_num("user_ms", st.user);
        j.field_num("sys_ms", st.sys);
        j.field_num("wall_ms", st.wall);
        j.field_num("cpu_spread_pct", st.spread);
        j.field_opt("cpu_vs_std", c);
        j.field_opt("wall_vs_std", w);
        j.key("runs");
        j.open('[');
        for s in samples {
            j.open('{');
            sample_fields(j, s);
            j.close('}');
        }
        j.close(']');
        j.close('}');
    }
    j.close(']');
    json_goal(j, row);
    j.close('}');
}

/// The goal of one workload as a JSON object.
fn json_goal(j: &mut Json, row: &Row<'_>) {
    j.key("goal");
    j.open('{');
    j.field_str("verdict", &row.verdict.label().to_ascii_lowercase());
    j.key("checks");
    j.open('[');
    for c in &row.checks {
        j.open('{');
        j.field_str("what", c.what);
        j.field_opt("ratio", c.ratio);
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
}
