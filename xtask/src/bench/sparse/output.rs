//! Medians, issue 11's goals, and the table / JSON of the file-file-sparse rows.

use std::time::Duration;

use fdcopy::Strategy;

use super::rows::{human, Goal, Measured};
use super::run::{Engine, Sample};
use super::Args;
use crate::bench::verdict::Verdict;
use crate::json::Json;

/// Medians of one engine in one row.
#[derive(Clone, Copy, Debug)]
struct Stats {
    wall_ms: f64,
    cpu_ms: f64,
    allocated: u64,
    dirtied: u64,
    unwritten: Option<u64>,
    sync_ms: f64,
    preempted: u64,
    strategy: Option<Strategy>,
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn median_u(mut v: Vec<u64>) -> u64 {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn stats(samples: &[Sample]) -> Stats {
    Stats {
        wall_ms: median_f(samples.iter().map(|s| ms(s.wall)).collect()),
        cpu_ms: median_f(samples.iter().map(|s| ms(s.cpu)).collect()),
        allocated: median_u(samples.iter().map(|s| s.allocated).collect()),
        dirtied: median_u(samples.iter().map(|s| s.dirtied).collect()),
        unwritten: samples.iter().filter_map(|s| s.unwritten).max(),
        sync_ms: median_f(samples.iter().map(|s| ms(s.sync)).collect()),
        preempted: median_u(samples.iter().map(|s| s.preempted).collect()),
        strategy: samples.last().and_then(|s| s.strategy),
    }
}

/// One goal check: `value <= limit` (or the boolean), with its text.
struct Check {
    text: String,
    pass: Option<bool>,
}

fn ratio_check(what: &str, a: Option<f64>, b: Option<f64>, limit: f64) -> Check {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => {
            let r = a / b;
            Check {
                text: format!("{what} {r:.3} {} {limit}", if r <= limit { "<=" } else { ">" }),
                pass: Some(r <= limit),
            }
        }
        _ => Check {
            text: format!("{what} n/a (goal {limit})"),
            pass: None,
        },
    }
}

fn goal_checks(m: &Measured, st: &[(Engine, Stats)]) -> Vec<Check> {
    let get = |e: Engine| st.iter().find(|x| x.0 == e).map(|x| x.1);
    let Some(fd) = get(Engine::Fdcopy) else {
        return Vec::new();
    };
    let std = get(Engine::StdFsCopy);
    let blocks = || {
        let limit = m.src_allocated + m.block;
        Check {
            text: format!(
                "blocks {} {} src {} + {}",
                human_size(fd.allocated),
                if fd.allocated <= limit { "<=" } else { ">" },
                human_size(m.src_allocated),
                human_size(m.block)
            ),
            pass: Some(fd.allocated <= limit),
        }
    };
    match m.def.goal {
        Goal::Sparse => {
            let mut v = vec![
                ratio_check("cpu/std", Some(fd.cpu_ms), std.map(|s| s.cpu_ms), 0.02),
                blocks(),
            ];
            if m.def.to == crate::loopfs::Kind::Xfs {
                if let Some(cp) = get(Engine::Cp) {
                    v.push(Check {
                        text: format!("(cp: {})", human_size(cp.allocated)),
                        pass: Some(true),
                    });
                }
            }
            v
        }
        Goal::Clone => vec![
            Check {
                text: format!(
                    "wall {:.3} ms {} 1 ms",
                    fd.wall_ms,
                    if fd.wall_ms <= 1.0 { "<=" } else { ">" }
                ),
                pass: Some(fd.wall_ms <= 1.0),
            },
            Check {
                text: format!("dirtied {}", human_size(fd.dirtied)),
                pass: Some(fd.dirtied == 0),
            },
            Check {
                text: format!("strategy {}", fd.strategy.map_or("?", Strategy::name)),
                pass: Some(fd.strategy == Some(Strategy::Clone)),
            },
        ],
        Goal::VsCp => vec![ratio_check(
            "wall/cp",
            Some(fd.wall_ms),
            get(Engine::Cp).map(|s| s.wall_ms),
            0.85,
        )],
        Goal::Dense => vec![ratio_check("cpu/std", Some(fd.cpu_ms), std.map(|s| s.cpu_ms), 1.02)],
        Goal::Fragmented => vec![ratio_check("cpu/std", Some(fd.cpu_ms), std.map(|s| s.cpu_ms), 3.0)],
    }
}

fn verdict(checks: &[Check]) -> &'static str {
    Verdict::of(checks.iter().map(|c| c.pass)).label()
}

/// Bytes as MiB with one decimal, or KiB below 1 MiB.
fn human_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{} KiB", n >> 10)
    }
}

/// A row with its medians per engine and its goal checks.
type Row<'a> = (&'a Measured, Vec<(Engine, Stats)>, Vec<Check>);

fn rows(measured: &[Measured]) -> Vec<Row<'_>> {
    measured
        .iter()
        .map(|m| {
            let st: Vec<(Engine, Stats)> = m.samples.iter().map(|(e, s)| (*e, stats(s))).collect();
            let checks = goal_checks(m, &st);
            (m, st, checks)
        })
        .collect()
}

fn cp_version() -> String {
    std::process::Command::new("cp")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "cp: unknown version".into())
}

pub fn print_table(measured: &[Measured], args: &Args) {
    println!();
    println!(
        "file-file-sparse: bulk size {}, {} rounds{}; {}; filesystems on tmpfs in a private mount namespace",
        human(args.size),
        args.rounds,
        if args.quick { " (--quick)" } else { "" },
        cp_version()
    );
    println!(
        "medians; CPU = the copying thread (cp: the child, exec included, as its wall); dst = st_blocks \
         after close and syncfs; dirtied = ru_oublock (tmpfs: -); sync = syncfs right after; \
         ivcsw = involuntary context switches (other jobs taking the CPU: wall above CPU is then noise)"
    );
    println!();
    println!(
        "{:<40} {:<12} {:<13} {:>9} {:>9} {:>10} {:>10} {:>8} {:>6}  goal (fdcopy)",
        "row", "pair", "engine", "wall ms", "CPU ms", "dst", "dirtied", "sync ms", "ivcsw"
    );
    let mut tally = (0, 0, 0);
    for (m, st, checks) in rows(measured) {
        if let Some(why) = &m.skipped {
            println!("{:<40} {:<12} skipped: {why}", m.def.what, m.def.pair());
            tally.2 += 1;
            continue;
        }
        let v = verdict(&checks);
        match v {
            "PASS" => tally.0 += 1,
            "FAIL" => tally.1 += 1,
            _ => tally.2 += 1,
        }
        let to_tmpfs = m.def.to == crate::loopfs::Kind::Tmpfs;
        for (e, s) in &st {
            let goal = if *e == Engine::Fdcopy {
                let parts: Vec<&str> = checks.iter().map(|c| c.text.as_str()).collect();
                let named = checks.iter().any(|c| c.text.starts_with("strategy"));
                let strategy = match (named, s.strategy) {
                    (false, Some(st)) => format!("; strategy {st}"),
                    _ => String::new(),
                };
                format!("{v}: {}{strategy}", parts.join("; "))
            } else {
                String::new()
            };
            let dirtied = if to_tmpfs {
                "-".to_string()
            } else {
                human_size(s.dirtied)
            };
            let line = format!(
                "{:<40} {:<12} {:<13} {:>9.3} {:>9.3} {:>10} {:>10} {:>8.1} {:>6}  {goal}",
                m.def.what,
                m.def.pair(),
                e.name(),
                s.wall_ms,
                s.cpu_ms,
                human_size(s.allocated),
                dirtied,
                s.sync_ms,
                s.preempted
            );
            println!("{}", line.trim_end());
        }
    }
    println!();
    println!(
        "file-file-sparse goals: fdcopy passes {} of {} rows ({} fail, {} n/a or skipped); reported only",
        tally.0,
        measured.len(),
        tally.1,
        tally.2
    );
}

pub fn json(measured: &[Measured], args: &Args) -> String {
    let mut j = Json::default();
    j.open('{');
    j.key("file_file_sparse");
    j.open('{');
    j.field_int("size_bytes", args.size);
    j.field_int("rounds", args.rounds);
    j.field_bool("quick", args.quick);
    j.field_str("cp", &cp_version());
    j.key("rows");
    j.open('[');
    for (m, st, checks) in rows(measured) {
        j.open('{');
        j.field_str("row", &m.def.what);
        j.field_str("pair", &m.def.pair());
        j.field_int("size_bytes", m.def.layout.size);
        j.field_int("data_bytes", m.def.layout.data());
        j.field_int("extents", m.def.layout.extents.len() as u64);
        j.field_opt_str("skipped", m.skipped.as_deref());
        j.field_int("src_allocated_bytes", m.src_allocated);
        j.key("engines");
        j.open('[');
        for (e, s) in &st {
            j.open('{');
            j.field_str("engine", e.name());
            j.field_num("wall_ms", s.wall_ms);
            j.field_num("cpu_ms", s.cpu_ms);
            j.field_int("dst_allocated_bytes", s.allocated);
            j.field_int("dirtied_bytes", s.dirtied);
            j.field_opt_int("dst_unwritten_bytes", s.unwritten);
            j.field_num("sync_ms", s.sync_ms);
            j.field_int("involuntary_switches", s.preempted);
            j.field_opt_str("strategy", s.strategy.map(Strategy::name));
            j.close('}');
        }
        j.close(']');
        j.key("goal");
        j.open('{');
        j.field_str("verdict", &verdict(&checks).to_ascii_lowercase());
        j.key("checks");
        j.open('[');
        for c in &checks {
            j.item_str(&c.text);
        }
        j.close(']');
        j.close('}');
        j.close('}');
    }
    j.close(']');
    j.close('}');
    j.close('}');
    j.finish()
}
