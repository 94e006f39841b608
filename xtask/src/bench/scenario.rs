//! The scenario table and the one measured run every scenario shares.

use std::io::Read;
use std::os::fd::AsFd;
use std::time::Duration;

use super::download;
use super::endpoints::{FileSink, FileSource, PipeSink, PipeSource, Sink, Source, TcpSink, TcpSource, UnixSource};
use super::engine::Engine;
use super::env::Env;
use super::kernel::{self, KernelPath};
use super::meter::{Meter, Sample};

/// Runs one measured iteration of a scenario: set up, copy (timed), verify.
pub type RunFn = fn(&mut Env, &Job, Engine) -> Result<Sample, String>;

/// One row of the scenario table.
pub struct Scenario {
    /// Name on the command line and in the output (`NAME/4k` is the small variant).
    pub name: &'static str,
    /// Goal for the bulk variant: fdcopy CPU / std CPU must not exceed this.
    pub goal_vs_std: f64,
    /// Copies stop at half the stream through `take`; the rest must stay readable.
    pub limited: bool,
    /// `Some(why)`: the scenario has no small (`/4k`) variant; its row shows `n/a: why`.
    pub no_small: Option<&'static str>,
    /// Set-up, copy and verification: `run_pair::<Source, Sink>`.
    pub run: RunFn,
}

/// Every scenario. Adding one is one row here plus a `Source` or `Sink` implementation in
/// `endpoints.rs` (and a peer `--role`, if it needs a new kind of peer), or, when the timed
/// region is more than the engine call, a run function of its own (`http-download`).
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "file-file",
        goal_vs_std: 1.0,
        limited: false,
        no_small: None,
        run: run_pair::<FileSource, FileSink>,
    },
    Scenario {
        name: "file-tcp",
        goal_vs_std: 0.5,
        limited: false,
        no_small: None,
        run: run_pair::<FileSource, TcpSink>,
    },
    Scenario {
        name: "tcp-file",
        goal_vs_std: 0.35,
        limited: false,
        no_small: None,
        run: run_pair::<TcpSource, FileSink>,
    },
    Scenario {
        name: "tcp-tcp",
        goal_vs_std: 0.5,
        limited: false,
        no_small: None,
        run: run_pair::<TcpSource, TcpSink>,
    },
    Scenario {
        name: "pipe-file",
        goal_vs_std: 1.0,
        limited: false,
        no_small: None,
        run: run_pair::<PipeSource, FileSink>,
    },
    Scenario {
        name: "file-pipe",
        goal_vs_std: 0.8,
        limited: false,
        no_small: None,
        run: run_pair::<FileSource, PipeSink>,
    },
    Scenario {
        name: "unix-file",
        goal_vs_std: 0.6,
        limited: false,
        no_small: None,
        run: run_pair::<UnixSource, FileSink>,
    },
    Scenario {
        name: "tcp-file-limited",
        goal_vs_std: 0.35,
        limited: true,
        no_small: None,
        run: run_pair::<TcpSource, FileSink>,
    },
    // golang/go#48530: `http.Get` of 1 GiB from a local server, `io.Copy(file, resp.Body)`.
    Scenario {
        name: "http-download",
        goal_vs_std: 0.75,
        limited: false,
        no_small: Some(download::NO_SMALL),
        run: download::run,
    },
];

/// Number of copies in a small variant.
pub const SMALL_COPIES: u64 = 10_000;
/// Bytes per copy in a small variant.
pub const SMALL_LEN: u64 = 4096;

/// Bulk (one copy of the whole size) or small (10 000 copies of 4 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Bulk,
    Small,
}

/// A scenario in one variant: one block of table rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Index into `SCENARIOS`.
    pub scenario: usize,
    pub variant: Variant,
}

impl Workload {
    /// The scenario row.
    pub fn scenario(&self) -> &'static Scenario {
        &SCENARIOS[self.scenario]
    }

    /// `file-file` or `file-file/4k`.
    pub fn name(&self) -> String {
        match self.variant {
            Variant::Bulk => self.scenario().name.to_string(),
            Variant::Small => format!("{}/4k", self.scenario().name),
        }
    }

    /// What run number `run` moves for a bulk size of `size` bytes.
    ///
    /// Small variants: the source is ONE stream of 10 000 × 4 KiB (one file, one connection,
    /// one pipe), and each of the 10 000 copies is `copy(&mut (&mut src).take(4096), &mut
    /// dst)` into one destination. That is the only design that works alike for files,
    /// sockets and pipes, measures the per-call overhead that small copies are about, and
    /// leaves no per-copy set-up (connects, opens) in the timed region. For
    /// `tcp-file-limited/4k` the stream is twice as long, so the copies again cover half of
    /// it and the untouched second half is read and verified afterwards, as in bulk.
    pub fn job(&self, size: u64, run: u64) -> Job {
        let limited = self.scenario().limited;
        match self.variant {
            Variant::Bulk => Job {
                run,
                stream_bytes: size,
                copies: 1,
                limit: limited.then_some(size / 2),
            },
            Variant::Small => Job::copies_of(SMALL_COPIES, SMALL_LEN, limited, run),
        }
    }
}

/// What one measured run moves.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// Run number, unique within the process (selects the pattern seed).
    pub run: u64,
    /// Length of the source stream.
    pub stream_bytes: u64,
    /// Number of engine calls.
    pub copies: u64,
    /// `Some(n)`: every call copies through `take(n)`; `None`: one call copies to EOF.
    pub limit: Option<u64>,
}

impl Job {
    /// `copies` copies of `len` bytes each, `copy(&mut (&mut src).take(len), &mut dst)`, from
    /// one stream (twice as long for a limited scenario, whose second half stays unread): the
    /// small variant, and every size of the sweep.
    pub fn copies_of(copies: u64, len: u64, limited: bool, run: u64) -> Job {
        Job {
            run,
            stream_bytes: copies * len * if limited { 2 } else { 1 },
            copies,
            limit: Some(len),
        }
    }

    /// Bytes the copies move in total.
    pub fn copied(&self) -> u64 {
        self.limit.map_or(self.stream_bytes, |n| n * self.copies)
    }

    /// How long a peer may live: generous, but bounded (60 s + 16 MiB/s).
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(60 + self.stream_bytes / (16 << 20))
    }
}

/// One measured run of `engine`: the source `S` copied into the sink `D`.
///
/// Only the engine calls are timed. Set-up (files, peers, connections, the loop buffer)
/// happens before, verification of every byte after.
pub fn run_pair<S: Source, D: Sink>(env: &mut Env, job: &Job, engine: Engine) -> Result<Sample, String> {
    let seed = S::seed(job.run);
    let mut src = S::open(env, job, seed)?;
    let mut dst = D::open(env, job, seed)?;
    let mut buf = engine.buffer();
    let mut kernel = match engine {
        Engine::Kernel => Some(kernel::prepare(src.reader(), dst.writer())?),
        _ => None,
    };
    // Release the peers (receiver first), then start the clock: their wake-up latency
    // falls into every engine's wall time alike and into nobody's CPU time.
    dst.go()?;
    src.go()?;
    let meter = Meter::start();
    let copied = match &mut kernel {
        Some(k) => copy_job_kernel(k, src.reader(), dst.writer(), job),
        None => copy_job(engine, src.reader(), dst.writer(), job, &mut buf),
    };
    let sample = meter.stop();
    let copied = copied.map_err(|e| {
        let reasons = [src.failure(), dst.failure()];
        std::iter::once(e)
            .chain(reasons.into_iter().flatten())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    // EOF to a receiving peer first, then drain the source (unblocking a sending peer that
    // still holds the rest of a limited stream), and only then the slow check of a file.
    dst.close()?;
    src.finish(env, job, seed, copied)?;
    dst.finish(env, job, seed, copied)?;
    Ok(sample)
}

/// The timed region: `job.copies` engine calls, each checked for its exact count.
fn copy_job<R: Read, W: std::io::Write>(
    engine: Engine,
    r: &mut R,
    w: &mut W,
    job: &Job,
    buf: &mut [u8],
) -> Result<u64, String> {
    let Some(limit) = job.limit else {
        let n = engine.copy(r, w, buf).map_err(|e| format!("copy: {e}"))?;
        return expect_count(n, job.stream_bytes, 0).map(|()| n);
    };
    for i in 0..job.copies {
        // `Take<&mut R>`: the engine sees the std type (e.g. `Take<&mut TcpStream>`).
        let mut limited = r.by_ref().take(limit);
        let n = engine
            .copy(&mut limited, w, buf)
            .map_err(|e| format!("copy {}: {e}", i + 1))?;
        expect_count(n, limit, i)?;
    }
    Ok(limit * job.copies)
}

/// The timed region of the `kernel` engine: the same calls on the descriptors.
fn copy_job_kernel<R: AsFd, W: AsFd>(k: &mut KernelPath, r: &mut R, w: &mut W, job: &Job) -> Result<u64, String> {
    let (r, w) = (r.as_fd(), w.as_fd());
    let Some(limit) = job.limit else {
        let n = k.copy(r, w, None).map_err(|e| format!("copy: {e}"))?;
        return expect_count(n, job.stream_bytes, 0).map(|()| n);
    };
    for i in 0..job.copies {
        let n = k.copy(r, w, Some(limit)).map_err(|e| format!("copy {}: {e}", i + 1))?;
        expect_count(n, limit, i)?;
    }
    Ok(limit * job.copies)
}

/// Fails when copy number `i` (0-based) returned `got` instead of `want` bytes.
fn expect_count(got: u64, want: u64, i: u64) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("copy {} returned {got} bytes, expected {want}", i + 1))
    }
}
