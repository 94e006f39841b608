//! The rows of the async benchmark: what each one moves, with which engines, and fdcopy's goal
//! in it (issue 10's table).

use super::cli::Options;
use super::engine::Engine;
use super::job::{Job, Shape};

/// Row names on the command line (the file -> socket rows carry their size: `file-socket/1M`).
pub const SCENARIOS: &[&str] = &[
    "bulk",
    "bulk-mt",
    "bulk-both",
    "conns-64",
    "conns-1000",
    "idle",
    "pingpong",
    "file-socket",
    "socket-file",
];

/// Idle connections asked for (the row is "10 000 idle proxied connections").
const IDLE_CONNS: u64 = 10_000;
/// Descriptors of the measured process that are not connections (std streams, the listener,
/// the runtime's epoll and eventfd, the sampler's listing, a pool pipe), with room to spare.
const FD_RESERVE: u64 = 64;

/// fdcopy's goal in a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// fdcopy's CPU time at most `limit` x the lowest of `vs`.
    Cpu { vs: &'static [Engine], limit: f64 },
    /// CPU per GiB at most tokio-64k's, and resident memory plus pipe capacity per connection
    /// at most tokio-8k's (its two 8 KiB buffers, 16 KiB, plus what every engine pays).
    Conns,
    /// No pipe held per connection, the sockets' descriptors only, resident memory per
    /// connection at most tokio-8k's.
    Idle,
    /// Round-trip p50 and p99 at most 1.1 x tokio-8k's.
    Latency,
}

impl Goal {
    /// The goal as the issue words it.
    pub fn text(&self) -> String {
        match self {
            Goal::Cpu { vs, limit } => {
                let names: Vec<&str> = vs.iter().map(|e| e.name()).collect();
                if names.len() == 1 {
                    format!("CPU <= {limit:.1} x {}", names[0])
                } else {
                    format!("CPU <= {limit:.1} x min({})", names.join(", "))
                }
            }
            Goal::Conns => {
                "CPU/GiB <= tokio-64k; memory + pipe pages per connection <= tokio-8k (16 KiB of buffers)".into()
            }
            Goal::Idle => "0 pipes per connection; fds = the sockets only; RSS/connection <= tokio-8k".into(),
            Goal::Latency => "p50 and p99 <= 1.1 x tokio-8k".into(),
        }
    }
}

/// One row: a job (its seed set per run), its engines and the goal.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    /// What it moves, for the header line.
    pub title: String,
    pub job: Job,
    pub engines: Vec<Engine>,
    /// The engine the ratios refer to: what fdcopy's drop-in replaces.
    pub reference: Engine,
    pub goal: Goal,
    /// Said in the output: scaled sizes, uid switches, limits.
    pub notes: Vec<String>,
}

/// The machine's limits the rows depend on.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `RLIMIT_NOFILE` (soft, once raised to the hard limit).
    pub nofile: u64,
    /// Whether this process runs as root (the unprivileged rows can switch uid).
    pub root: bool,
}

/// The rows `opts` selects, in table order.
pub fn rows(opts: &Options, limits: Limits) -> Vec<Row> {
    let quick = opts.quick;
    let bulk = opts.size.unwrap_or(if quick { 64 << 20 } else { 1 << 30 });
    let job = |shape| Job::new(shape, 0);
    let proxy = job(Shape::Proxy);
    let tokio_min = &[Engine::Tokio1m, Engine::Splice2][..];
    let mut all = vec![
        proxy_row(
            "bulk",
            format!("{} one way, 1 connection", human(bulk)),
            Job { a_to_b: bulk, ..proxy },
            Goal::Cpu {
                vs: tokio_min,
                limit: 1.0,
            },
        ),
        proxy_row(
            "bulk-mt",
            format!(
                "{} one way, 1 connection, multi_thread runtime (2 workers)",
                human(bulk)
            ),
            Job {
                a_to_b: bulk,
                multi_thread: true,
                ..proxy
            },
            Goal::Cpu {
                vs: tokio_min,
                limit: 1.0,
            },
        ),
        proxy_row(
            "bulk-both",
            format!("{} each way at once, 1 connection", human(bulk)),
            Job {
                a_to_b: bulk,
                b_to_a: bulk,
                ..proxy
            },
            Goal::Cpu {
                vs: tokio_min,
                limit: 1.0,
            },
        ),
    ];
    // (name, connections, bytes each; the same with --quick). The issue asks for 16 MiB each:
    // 1 000 x 16 MiB is 16 GiB per run, over two minutes here for one engine's run, so the
    // full run moves 1 MiB on each of the 1 000 (1 GiB per run, as the 64-connection row);
    // `--conn-bytes 16M` gives the issue's size.
    let conn_rows: [(&str, u64, u64, u64, u64); 2] = [
        ("conns-64", 64, 16 << 20, 16, 4 << 20),
        ("conns-1000", 1000, 1 << 20, 100, 1 << 20),
    ];
    for (name, conns, each, quick_conns, quick_each) in conn_rows {
        let (n, bytes) = match (quick, opts.conn_bytes) {
            (true, b) => (quick_conns, b.unwrap_or(quick_each)),
            (false, b) => (conns, b.unwrap_or(each)),
        };
        let mut row = proxy_row(
            name,
            format!(
                "{n} concurrent connections of {} one way each, unprivileged",
                human(bytes)
            ),
            Job {
                conns: n,
                a_to_b: bytes,
                unprivileged: true,
                ..proxy
            },
            Goal::Conns,
        );
        if quick {
            row.notes.push(format!("--quick: {n} connections instead of {conns}"));
        }
        if bytes != 16 << 20 {
            row.notes.push(format!(
                "{} per connection, not the issue's 16 MiB (to keep the run short; --conn-bytes 16M for that)",
                human(bytes)
            ));
        }
        row.notes.push(uid_note(limits));
        all.push(row);
    }
    all.push(idle_row(quick, limits, proxy));
    let messages = if quick { 1000 } else { 10_000 };
    all.push(proxy_row(
        "pingpong",
        format!("{messages} exchanges of 4 KiB request / 4 KiB response, 1 connection"),
        Job { messages, ..proxy },
        Goal::Latency,
    ));
    let files: [(u64, u64); 3] = if quick {
        [(1 << 20, 16), (8 << 20, 2), (bulk, 1)]
    } else {
        [(1 << 20, 256), (32 << 20, 8), (bulk, 1)]
    };
    for (size, copies) in files {
        all.push(Row {
            name: format!("file-socket/{}", super::usage::short_size(size)),
            title: format!(
                "a {} tmpfs file sent {copies} time{} (a connection each)",
                human(size),
                if copies == 1 { "" } else { "s" }
            ),
            job: Job {
                conns: copies,
                a_to_b: size,
                ..job(Shape::FileToSocket)
            },
            engines: Engine::FILE_TO_SOCKET.to_vec(),
            reference: Engine::Stream64k,
            goal: Goal::Cpu {
                vs: &[Engine::Stream64k],
                limit: 0.6,
            },
            notes: vec!["hot cache only: the source is on tmpfs (a cold-cache row needs a disk)".into()],
        });
    }
    all.push(Row {
        name: "socket-file".into(),
        title: format!("{} from 1 connection into a pre-allocated tmpfs file", human(bulk)),
        job: Job {
            a_to_b: bulk,
            ..job(Shape::SocketToFile)
        },
        engines: Engine::SOCKET_TO_FILE.to_vec(),
        reference: Engine::TokioCopy,
        goal: Goal::Cpu {
            vs: &[Engine::TokioCopy],
            limit: 0.5,
        },
        notes: Vec::new(),
    });
    all.retain(|r| selected(opts, &r.name));
    if let Some(keep) = &opts.engines {
        for r in &mut all {
            r.engines.retain(|e| keep.contains(e));
        }
        all.retain(|r| !r.engines.is_empty());
    }
    all
}

fn proxy_row(name: &str, title: String, job: Job, goal: Goal) -> Row {
    let runtime = if job.multi_thread {
        ""
    } else {
        "; current_thread runtime"
    };
    Row {
        name: name.to_string(),
        title: format!("{title}{runtime}"),
        job,
        engines: Engine::PROXY.to_vec(),
        reference: Engine::Tokio8k,
        goal,
        notes: Vec::new(),
    }
}

/// The idle row: as many of the 10 000 connections as the descriptor limit allows (2 per
/// connection in the proxy).
fn idle_row(quick: bool, limits: Limits, proxy: Job) -> Row {
    let asked = if quick { IDLE_CONNS / 20 } else { IDLE_CONNS };
    let fit = limits.nofile.saturating_sub(FD_RESERVE) / 2;
    let n = asked.min(fit);
    let mut row = proxy_row(
        "idle",
        format!("{n} idle proxied connections"),
        Job {
            conns: n,
            idle: true,
            ..proxy
        },
        Goal::Idle,
    );
    if quick {
        row.notes
            .push(format!("--quick: {asked} connections instead of {IDLE_CONNS}"));
    }
    if n < asked {
        row.notes.push(format!(
            "{n} connections, not {asked}: RLIMIT_NOFILE is {} here and its hard limit cannot be raised \
             (that needs CAP_SYS_RESOURCE); the proxy holds 2 sockets per connection",
            limits.nofile
        ));
    }
    let splice2_fit = limits.nofile.saturating_sub(FD_RESERVE) / 6;
    if n > splice2_fit {
        row.notes.push(format!(
            "splice2 holds 2 pipes (4 descriptors) per connection besides the sockets: it runs out of \
             descriptors after about {splice2_fit} connections, and its figures are those of the \
             connections it held"
        ));
    }
    row
}

fn uid_note(limits: Limits) -> String {
    if limits.root {
        "the proxy switches to uid/gid 65534 before it starts, so that pipe-user-pages-soft applies \
         (root's CAP_SYS_ADMIN lifts it)"
            .into()
    } else {
        "uid switch skipped: not root, so it cannot switch; the proxy runs as this user, to whom \
         pipe-user-pages-soft applies unless it holds CAP_SYS_ADMIN or CAP_SYS_RESOURCE"
            .into()
    }
}

/// Whether `--scenario` selects the row `name` (`file-socket` selects every size).
fn selected(opts: &Options, name: &str) -> bool {
    let Some(list) = &opts.scenarios else { return true };
    list.iter()
        .any(|s| s == name || name.strip_prefix(s.as_str()).is_some_and(|rest| rest.starts_with('/')))
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

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Limits = Limits {
        nofile: 1 << 20,
        root: true,
    };

    #[test]
    fn every_row_exists_and_scenarios_select() {
        let all = rows(&Options::default(), ROOT);
        assert_eq!(all.len(), SCENARIOS.len() + 2, "three file -> socket sizes");
        for r in &all {
            assert!(SCENARIOS.contains(&r.name.split('/').next().unwrap()), "{}", r.name);
            assert!(r.engines.contains(&Engine::Fdcopy) && r.engines.contains(&r.reference));
        }
        let opts = Options {
            scenarios: Some(vec!["file-socket".into(), "bulk".into()]),
            engines: Some(vec![Engine::Fdcopy, Engine::Stream64k]),
            ..Options::default()
        };
        let picked = rows(&opts, ROOT);
        let names: Vec<&str> = picked.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["bulk", "file-socket/1M", "file-socket/32M", "file-socket/1G"]);
        assert_eq!(picked[0].engines, [Engine::Fdcopy]);
        assert_eq!(picked[1].engines, [Engine::Stream64k, Engine::Fdcopy]);
    }

    #[test]
    fn idle_connections_fit_the_descriptor_limit() {
        let idle = |nofile, quick| {
            let opts = Options {
                quick,
                scenarios: Some(vec!["idle".into()]),
                ..Options::default()
            };
            rows(&opts, Limits { nofile, root: true }).remove(0)
        };
        assert_eq!(idle(1 << 20, false).job.conns, IDLE_CONNS);
        let small = idle(20_000, false);
        assert_eq!(small.job.conns, (20_000 - FD_RESERVE) / 2);
        assert!(small.notes.iter().any(|n| n.contains("RLIMIT_NOFILE")));
        assert_eq!(idle(20_000, true).job.conns, IDLE_CONNS / 20);
    }

    #[test]
    fn goals_read_as_the_issue() {
        let g = Goal::Cpu {
            vs: &[Engine::Tokio1m, Engine::Splice2],
            limit: 1.0,
        };
        assert_eq!(g.text(), "CPU <= 1.0 x min(tokio-1m, splice2)");
        assert_eq!(human(3 << 20), "3 MiB");
        assert_eq!(human(1000), "1000 B");
    }
}
