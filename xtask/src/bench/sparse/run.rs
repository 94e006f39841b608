//! The four engines and one measured whole-file copy.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fdcopy::{Report, Strategy};

/// Who copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `fdcopy::Copier::new().copy_file(from, to)` (the report says which strategy).
    Fdcopy,
    /// `std::fs::copy(from, to)`.
    StdFsCopy,
    /// `File::open`, `File::create`, `std::io::copy`.
    IoCopy,
    /// `cp --sparse=auto from to`, a child process (its CPU and wall include exec).
    Cp,
}

impl Engine {
    pub const ALL: [Engine; 4] = [Engine::Fdcopy, Engine::StdFsCopy, Engine::IoCopy, Engine::Cp];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Fdcopy => "fdcopy",
            Engine::StdFsCopy => "std::fs::copy",
            Engine::IoCopy => "io::copy",
            Engine::Cp => "cp",
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
    /// Bytes the copier dirtied (`ru_oublock` × 512).
    pub dirtied: u64,
    /// The destination's allocation after it was closed and its filesystem synced.
    pub allocated: u64,
    /// Bytes of the destination in unwritten (preallocated) extents, where FIEMAP works.
    pub unwritten: Option<u64>,
    /// `syncfs` of the destination's filesystem right after the copy.
    pub sync: Duration,
    /// Involuntary context switches of the copier during the copy: how often another job took
    /// the CPU (wall above CPU with few of them would be waiting instead).
    pub preempted: u64,
    /// What fdcopy reported: the strategy that moved the data.
    pub strategy: Option<Strategy>,
}

/// The calling thread's CPU time (exact), block outputs and involuntary context switches.
fn thread_usage() -> (Duration, u64, u64) {
    // SAFETY: `ts` and `ru` are plain C structs the kernel fills.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
        (
            Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
            ru.ru_oublock as u64,
            ru.ru_nivcsw as u64,
        )
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000)
}

/// `cp --sparse=auto`: (CPU, block outputs, involuntary switches) of the child, from `wait4`.
fn cp(from: &Path, to: &Path) -> Result<(Duration, u64, u64), String> {
    let child = Command::new("cp")
        .arg("--sparse=auto")
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cp: {e}"))?;
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for (and reaps) our own child; `status` and `ru` are plain C data the
    // kernel fills. `child` is not waited on again.
    let (r, status, ru) = unsafe {
        let mut status = 0;
        let mut ru: libc::rusage = std::mem::zeroed();
        let r = libc::wait4(pid, &mut status, 0, &mut ru);
        (r, status, ru)
    };
    drop(child);
    if r != pid {
        return Err(format!("wait4(cp): {}", io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("cp failed (status {status:#x})"));
    }
    Ok((
        tv(ru.ru_utime) + tv(ru.ru_stime),
        ru.ru_oublock as u64,
        ru.ru_nivcsw as u64,
    ))
}

/// `syncfs` of the filesystem holding `dir`.
fn syncfs(dir: &Path) -> io::Result<Duration> {
    let f = File::open(dir)?;
    let t = Instant::now();
    rustix::fs::syncfs(&f)?;
    Ok(t.elapsed())
}

/// One whole-file copy of `from` to the new path `to` by `engine`, measured; the destination is
/// left for the caller to check and delete.
pub fn once(engine: Engine, from: &Path, to: &Path) -> Result<Sample, String> {
    let mut report: Option<Report> = None;
    let (c0, o0, p0) = thread_usage();
    let t0 = Instant::now();
    let child = match engine {
        Engine::Fdcopy => {
            report = Some(
                fdcopy::Copier::new()
                    .copy_file(from, to)
                    .map_err(|e| format!("fdcopy: {e}"))?,
            );
            None
        }
        Engine::StdFsCopy => {
            fs::copy(from, to).map_err(|e| format!("std::fs::copy: {e}"))?;
            None
        }
        Engine::IoCopy => {
            let mut r = File::open(from).map_err(|e| e.to_string())?;
            let mut w = File::create(to).map_err(|e| e.to_string())?;
            io::copy(&mut r, &mut w).map_err(|e| format!("io::copy: {e}"))?;
            None
        }
        Engine::Cp => Some(cp(from, to)?),
    };
    let wall = t0.elapsed();
    let (c1, o1, p1) = thread_usage();
    let (cpu, oublock, preempted) =
        child.unwrap_or((c1.saturating_sub(c0), o1.saturating_sub(o0), p1.saturating_sub(p0)));
    let dir = to.parent().unwrap_or(Path::new("/"));
    let sync = syncfs(dir).map_err(|e| format!("syncfs: {e}"))?;
    let meta = fs::metadata(to).map_err(|e| e.to_string())?;
    let unwritten = File::open(to).ok().and_then(|f| crate::loopfs::unwritten_bytes(&f));
    Ok(Sample {
        wall,
        cpu,
        dirtied: oublock * 512,
        allocated: meta.blocks() * 512,
        unwritten,
        sync,
        preempted,
        strategy: report.map(|r| r.strategy()),
    })
}
