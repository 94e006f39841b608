//! `cargo xtask bench --sweep`: the cost of a copy against its size, for every scenario.
//!
//! For each size, a run is `copies_of(n, size)`: n copies of `size` bytes each through
//! `take(size)` from one stream (as the `/4k` rows do), with n chosen so that a run moves about
//! the same bytes at every size (at least one copy). The engines run interleaved over rounds, as
//! in the bench; the figure is the median CPU time of the copying thread per MiB copied. Besides
//! fdcopy, std and the plain loops, the `kernel` engine shows what the kernel path costs at
//! sizes where fdcopy takes the loop, so the sweep can tell from which size the kernel path
//! wins: the smallest size from which it is cheaper than the cheapest plain loop at every larger
//! size. fdcopy's goal is to be within `GOAL` of the cheapest of std and the loops at every size
//! (the kernel engine is a reference line, not a competitor: it learns nothing about a copy, so
//! it is not a safe way to copy).

use std::fmt::Write as _;

use super::chart::{size_label, Sweep, SweepPanel};
use super::cli::Options;
use super::engine::Engine;
use super::host::Meta;
use super::meter::{median, ms, Sample};
use super::progress::{self, Progress};
use super::report::{human, human_approx};
use super::scenario::{Job, SCENARIOS};
use crate::json::Json;

/// The sizes per copy of a full sweep.
const SIZES: [u64; 7] = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 16 << 20, 256 << 20];
/// The largest size of a quick sweep.
const QUICK_MAX: u64 = 16 << 20;
/// Bytes a run moves at each size (at least one copy).
const BUDGET: u64 = 16 << 20;
const QUICK_BUDGET: u64 = 8 << 20;
const ROUNDS: u32 = 5;
const QUICK_ROUNDS: u32 = 3;
/// fdcopy's CPU at every size: at most this times the cheapest of std and the plain loops.
pub const GOAL: f64 = 1.05;

/// The default sizes.
pub fn sizes(quick: bool) -> Vec<u64> {
    SIZES.into_iter().filter(|&s| !quick || s <= QUICK_MAX).collect()
}

/// The default rounds.
pub fn rounds(quick: bool) -> u32 {
    if quick {
        QUICK_ROUNDS
    } else {
        ROUNDS
    }
}

/// Copies per run for `len` bytes per copy.
fn copies(len: u64, quick: bool) -> u64 {
    (if quick { QUICK_BUDGET } else { BUDGET } / len).max(1)
}

/// Every run of one engine at one size of one scenario.
pub struct Point {
    pub len: u64,
    pub job: Job,
    pub engines: Vec<(Engine, Vec<Sample>)>,
}

/// One scenario of the sweep.
pub struct Row {
    pub scenario: usize,
    pub points: Vec<Point>,
    /// `Some(why)`: the scenario has no copies-of-a-stream shape (`http-download`).
    pub skipped: Option<&'static str>,
}

/// The scenarios of the selected workloads, each once, in table order.
pub fn scenarios(opts: &Options) -> Vec<usize> {
    let mut v: Vec<usize> = opts.workloads.iter().map(|w| w.scenario).collect();
    v.dedup();
    v
}

/// Runs the sweep.
pub fn run(env: &mut super::Env, opts: &Options) -> Result<Vec<Row>, String> {
    let chosen = scenarios(opts);
    let per_point = |len: u64, limited: bool| {
        let job = Job::copies_of(copies(len, opts.quick), len, limited, 0);
        opts.rounds as u64 * opts.engines.len() as u64 * progress::work(job.stream_bytes)
    };
    let total = chosen
        .iter()
        .filter(|&&s| SCENARIOS[s].no_small.is_none())
        .flat_map(|&s| opts.sizes.iter().map(move |&len| per_point(len, SCENARIOS[s].limited)))
        .sum();
    let bar = Progress::new(total, !opts.json);
    bar.println(format!(
        "sweep: {} per copy, {} rounds x {} engines, {} scenarios, in {}",
        opts.sizes.iter().map(|&s| size_label(s)).collect::<Vec<_>>().join(" "),
        opts.rounds,
        opts.engines.len(),
        chosen.len(),
        env.dir.display()
    ));
    let mut rows = Vec::new();
    for (k, &s) in chosen.iter().enumerate() {
        let sc = &SCENARIOS[s];
        if let Some(why) = sc.no_small {
            rows.push(Row {
                scenario: s,
                points: Vec::new(),
                skipped: Some(why),
            });
            continue;
        }
        let t = std::time::Instant::now();
        let mut points = Vec::new();
        for &len in &opts.sizes {
            let n = copies(len, opts.quick);
            let label = format!("{} {}", sc.name, size_label(len));
            let (job, engines) = super::interleaved(
                env,
                sc,
                &label,
                |run| Job::copies_of(n, len, sc.limited, run),
                &opts.engines,
                opts.rounds,
                &bar,
            )?;
            points.push(Point { len, job, engines });
        }
        bar.println(format!(
            "sweep: [{}/{}] {:<22} {:6.1} s",
            k + 1,
            chosen.len(),
            sc.name,
            t.elapsed().as_secs_f64()
        ));
        rows.push(Row {
            scenario: s,
            points,
            skipped: None,
        });
    }
    bar.finish();
    Ok(rows)
}

/// Medians of one point: CPU per MiB (µs) of each engine.
fn per_mib(p: &Point) -> Vec<(Engine, f64)> {
    let mib = p.job.copied() as f64 / (1u64 << 20) as f64;
    p.engines
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(e, s)| {
            let cpu = median(&s.iter().map(|s| ms(s.cpu())).collect::<Vec<_>>());
            (*e, cpu * 1e3 / mib)
        })
        .collect()
}

fn get(v: &[(Engine, f64)], e: Engine) -> Option<f64> {
    v.iter().find(|(x, _)| *x == e).map(|(_, c)| *c)
}

fn cheapest(v: &[(Engine, f64)], keep: impl Fn(Engine) -> bool) -> Option<f64> {
    v.iter()
        .filter(|(e, _)| keep(*e))
        .map(|(_, c)| *c)
        .min_by(f64::total_cmp)
}

/// From which size on the kernel path wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossover {
    /// The kernel path is cheaper than the cheapest loop at this size and every larger one.
    From(u64),
    /// The loop is at least as cheap at the largest size.
    Never,
    /// The kernel engine or every loop was not run.
    Unknown,
}

/// The crossover of `(size, kernel, cheapest loop)` medians, in size order.
pub fn crossover(points: &[(u64, Option<f64>, Option<f64>)]) -> Crossover {
    let mut from = Crossover::Never;
    for &(len, kernel, best_loop) in points.iter().rev() {
        match (kernel, best_loop) {
            (Some(k), Some(l)) if k < l => from = Crossover::From(len),
            (Some(_), Some(_)) => return from,
            _ => return Crossover::Unknown,
        }
    }
    if points.is_empty() {
        Crossover::Unknown
    } else {
        from
    }
}

/// Everything derived from one row.
struct Analysis {
    medians: Vec<(u64, Vec<(Engine, f64)>)>,
    crossover: Crossover,
    /// fdcopy / cheapest of std and the loops, per size.
    fd_ratio: Vec<(u64, Option<f64>)>,
}

impl Analysis {
    fn of(row: &Row) -> Analysis {
        let medians: Vec<(u64, Vec<(Engine, f64)>)> = row.points.iter().map(|p| (p.len, per_mib(p))).collect();
        let kernel_vs_loop: Vec<(u64, Option<f64>, Option<f64>)> = medians
            .iter()
            .map(|(len, v)| (*len, get(v, Engine::Kernel), cheapest(v, Engine::is_loop)))
            .collect();
        let fd_ratio = medians
            .iter()
            .map(|(len, v)| {
                let best = cheapest(v, |e| e == Engine::Std || e.is_loop());
                let r = get(v, Engine::Fdcopy).zip(best).map(|(f, b)| f / b);
                (*len, r)
            })
            .collect();
        Analysis {
            crossover: crossover(&kernel_vs_loop),
            medians,
            fd_ratio,
        }
    }

    /// Sizes where fdcopy is over its goal.
    fn over(&self) -> Vec<(u64, f64)> {
        self.fd_ratio
            .iter()
            .filter_map(|&(len, r)| r.filter(|r| *r > GOAL).map(|r| (len, r)))
            .collect()
    }

    fn crossover_text(&self) -> String {
        match self.crossover {
            Crossover::From(len) => format!("kernel path wins from {}", human(len)),
            Crossover::Never => "the loop wins at every size".to_string(),
            Crossover::Unknown => "crossover unknown (kernel engine or loops not run)".to_string(),
        }
    }

    fn goal_text(&self) -> String {
        let over = self.over();
        if self.fd_ratio.iter().all(|(_, r)| r.is_none()) {
            return "fdcopy not compared".to_string();
        }
        if over.is_empty() {
            let worst = self.fd_ratio.iter().filter_map(|r| r.1).fold(0.0, f64::max);
            format!("fdcopy <= {GOAL} x cheapest at every size (worst {worst:.2})")
        } else {
            let list: Vec<String> = over.iter().map(|(l, r)| format!("{} {r:.2}", size_label(*l))).collect();
            format!("fdcopy over {GOAL} x cheapest at {}", list.join(", "))
        }
    }
}

/// The text report.
pub fn table(rows: &[Row], opts: &Options, seconds: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fdcopy sweep: {} per copy, about {} of copies per run and size (at least one copy), \
         rounds: {}{}",
        opts.sizes.iter().map(|&s| size_label(s)).collect::<Vec<_>>().join(" "),
        human(if opts.quick { QUICK_BUDGET } else { BUDGET }),
        opts.rounds,
        if opts.quick { " (--quick)" } else { "" }
    );
    let _ = writeln!(
        out,
        "median CPU (user+sys of the copying thread) in microseconds per MiB copied; engines \
         interleaved per round"
    );
    let mut summary = Vec::new();
    for row in rows {
        let name = SCENARIOS[row.scenario].name;
        let _ = writeln!(out);
        if let Some(why) = row.skipped {
            let _ = writeln!(out, "{name}: n/a: {why}");
            summary.push(format!("  {name:<22} n/a"));
            continue;
        }
        let a = Analysis::of(row);
        let _ = write!(out, "{:<22}", name);
        for (len, _) in &a.medians {
            let _ = write!(out, " {:>8}", size_label(*len));
        }
        let _ = writeln!(out);
        let copies: Vec<String> = row.points.iter().map(|p| format!("{:>8}", p.job.copies)).collect();
        let _ = writeln!(out, "  {:<20} {}", "(copies per run)", copies.join(" "));
        for &e in &opts.engines {
            let _ = write!(out, "  {:<20}", e.name());
            for (_, v) in &a.medians {
                match get(v, e) {
                    Some(c) => write!(out, " {c:>8.1}"),
                    None => write!(out, " {:>8}", "-"),
                }
                .expect("writing to a String");
            }
            let _ = writeln!(out);
        }
        let _ = write!(out, "  {:<20}", "fdcopy/cheapest");
        for (_, r) in &a.fd_ratio {
            match r {
                Some(r) => write!(out, " {r:>8.3}"),
                None => write!(out, " {:>8}", "-"),
            }
            .expect("writing to a String");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "  {}; {}", a.crossover_text(), a.goal_text());
        summary.push(format!("  {name:<22} {}; {}", a.crossover_text(), a.goal_text()));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "per scenario (kernel path: the kernel engine against the cheapest plain loop; \
         cheapest: of std and the plain loops):"
    );
    for s in summary {
        let _ = writeln!(out, "{s}");
    }
    let _ = writeln!(
        out,
        "every byte of every run verified: {} in {seconds:.1} s",
        human_approx(verified(rows))
    );
    out
}

/// Bytes moved and checked over every run.
fn verified(rows: &[Row]) -> u64 {
    rows.iter()
        .flat_map(|r| &r.points)
        .map(|p| p.job.copied() * p.engines.iter().map(|(_, s)| s.len() as u64).sum::<u64>())
        .sum()
}

/// The picture of a sweep.
pub fn chart(rows: &[Row], opts: &Options, meta: &Meta) -> Sweep {
    let panels = rows
        .iter()
        .map(|row| {
            let name = SCENARIOS[row.scenario].name.to_string();
            if let Some(why) = row.skipped {
                return SweepPanel {
                    name,
                    skipped: Some(why.to_string()),
                    ..SweepPanel::default()
                };
            }
            let a = Analysis::of(row);
            let lines = opts
                .engines
                .iter()
                .map(|&e| {
                    let pts = a
                        .medians
                        .iter()
                        .filter_map(|(len, v)| Some((*len, get(v, e)?)))
                        .collect();
                    (e.name().to_string(), pts)
                })
                .collect();
            SweepPanel {
                name,
                lines,
                crossover: match a.crossover {
                    Crossover::From(len) => Some(len),
                    _ => None,
                },
                note: a.crossover_text(),
                skipped: None,
            }
        })
        .collect();
    Sweep {
        title: "fdcopy sweep: CPU per MiB against bytes per copy".to_string(),
        caption: meta.caption(&format!(
            "median CPU (user+sys of the copying thread) of {} interleaved rounds per size, \
             log scales; every byte verified ({}); kernel: the table's kernel call alone",
            opts.rounds,
            human_approx(verified(rows))
        )),
        unit: "CPU µs per MiB".to_string(),
        panels,
    }
}

/// The sweep as one JSON object.
pub fn json(rows: &[Row], opts: &Options, meta: &Meta) -> String {
    let mut j = Json::default();
    j.open('{');
    meta.json_fields(&mut j);
    j.field_num("rounds", opts.rounds as f64);
    j.field_raw("quick", if opts.quick { "true" } else { "false" });
    j.field_num("goal_vs_cheapest", GOAL);
    j.key("sizes");
    j.open('[');
    for &s in &opts.sizes {
        j.item_num(s as f64);
    }
    j.close(']');
    j.key("scenarios");
    j.open('[');
    for row in rows {
        j.open('{');
        j.field_str("scenario", SCENARIOS[row.scenario].name);
        if let Some(why) = row.skipped {
            j.field_str("skipped", why);
            j.close('}');
            continue;
        }
        let a = Analysis::of(row);
        match a.crossover {
            Crossover::From(len) => j.field_num("kernel_wins_from", len as f64),
            Crossover::Never => j.field_raw("kernel_wins_from", "null"),
            Crossover::Unknown => j.field_str("kernel_wins_from", "unknown"),
        }
        j.key("points");
        j.open('[');
        for ((p, (_, med)), (_, r)) in row.points.iter().zip(&a.medians).zip(&a.fd_ratio) {
            j.open('{');
            j.field_num("bytes_per_copy", p.len as f64);
            j.field_num("copies", p.job.copies as f64);
            j.field_num("stream_bytes", p.job.stream_bytes as f64);
            j.field_opt("fdcopy_vs_cheapest", *r);
            j.key("engines");
            j.open('[');
            for (e, samples) in &p.engines {
                j.open('{');
                j.field_str("engine", e.name());
                j.field_opt("cpu_us_per_mib", get(med, *e));
                j.key("cpu_ms");
                j.open('[');
                for s in samples {
                    j.item_num(ms(s.cpu()));
                }
                j.close(']');
                j.close('}');
            }
            j.close(']');
            j.close('}');
        }
        j.close(']');
        j.close('}');
    }
    j.close(']');
    j.close('}');
    j.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossovers() {
        let k = 1u64 << 10;
        let pts = |v: &[(u64, f64, f64)]| v.iter().map(|&(s, a, b)| (s, Some(a), Some(b))).collect::<Vec<_>>();
        assert_eq!(
            crossover(&pts(&[(4 * k, 2.0, 1.0), (16 * k, 0.9, 1.0), (64 * k, 0.5, 1.0)])),
            Crossover::From(16 * k)
        );
        // A win below a loss does not count: from the last loss on.
        assert_eq!(
            crossover(&pts(&[(4 * k, 0.5, 1.0), (16 * k, 2.0, 1.0), (64 * k, 0.5, 1.0)])),
            Crossover::From(64 * k)
        );
        assert_eq!(
            crossover(&pts(&[(4 * k, 0.5, 1.0), (16 * k, 0.5, 1.0)])),
            Crossover::From(4 * k)
        );
        assert_eq!(
            crossover(&pts(&[(4 * k, 2.0, 1.0), (16 * k, 1.0, 1.0)])),
            Crossover::Never
        );
        assert_eq!(crossover(&[(4 * k, None, Some(1.0))]), Crossover::Unknown);
        assert_eq!(crossover(&[]), Crossover::Unknown);
    }

    #[test]
    fn sizes_and_copies() {
        assert_eq!(sizes(false).len(), 7);
        assert_eq!(*sizes(true).last().unwrap(), 16 << 20);
        assert_eq!(copies(4096, false), 4096);
        assert_eq!(copies(256 << 20, false), 1);
        assert_eq!(copies(16 << 20, true), 1);
    }
}
