//! The measured process (`bench-async-child proxy`): a proxy between the client and the server
//! peers, or a copier between a file and a peer, running one engine on a tokio runtime.
//!
//! Everything is set up before GO (runtime, listener, accepted and upstream connections, open
//! files, the sampler thread) and the baseline of descriptors and memory is taken before any
//! connection exists, so what the figures add to it is the connections' and the engine's.
//! The clock runs from GO to the end of the last copy.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::child::{say, wait_for};
use super::engine::Engine;
use super::job::{Job, Shape};
use super::peer;
use super::usage::{self, Cpu, Sampler, Snapshot};

/// The uid and gid of `nobody`, for the unprivileged rows.
const NOBODY: u32 = 65534;

/// Entry point: runs `engine` on `job`; `upstream` is the server peer, `file` the file of the
/// file rows.
pub fn main(job: Job, engine: Engine, upstream: Option<SocketAddr>, file: Option<&Path>) -> Result<(), String> {
    let uid = if job.unprivileged {
        drop_privileges()?
    } else {
        current_uid()
    };
    let mut rt = if job.multi_thread {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = rt.enable_all().build().map_err(|e| format!("runtime: {e}"))?;
    let skip = usage::baseline_pipes();
    let sampler = Sampler::spawn(skip.clone());
    let m = Measure {
        skip,
        sampler: Some(sampler),
        base: Snapshot::default(),
        start: None,
        idle: None,
        uid,
    };
    let upstream = || upstream.ok_or("no --upstream");
    let file = || file.ok_or("no --file");
    rt.block_on(async move {
        match job.shape {
            Shape::Proxy => proxy(job, engine, upstream()?, m).await,
            Shape::FileToSocket => send_file(job, engine, upstream()?, file()?, m).await,
            Shape::SocketToFile => receive_file(job, engine, file()?, m).await,
        }
    })
}

/// The proxy rows: accept `conns` client connections, each with its upstream connection, then
/// proxy them all at once.
async fn proxy(job: Job, engine: Engine, upstream: SocketAddr, mut m: Measure) -> Result<(), String> {
    let listener = peer::listen()?;
    say(&format!("LISTEN {}", listener.local_addr().map_err(|e| e.to_string())?));
    m.baseline();
    let mut pairs = Vec::new();
    for _ in 0..job.conns {
        let (a, _) = listener.accept().await.map_err(|e| format!("accept: {e}"))?;
        let b = TcpStream::connect(upstream)
            .await
            .map_err(|e| format!("connect upstream: {e}"))?;
        pairs.push((a, b));
    }
    say("READY");
    wait_for("GO")?;
    m.start();
    let polled = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|(mut a, mut b)| {
            let polled = polled.clone();
            tokio::spawn(async move {
                polled.fetch_add(1, Ordering::Relaxed);
                engine.proxy(&mut a, &mut b).await
            })
        })
        .collect();
    if job.idle {
        // Every task has been polled once (and is waiting on its sockets) once the counter
        // is full; a little more time lets a multi-step start settle.
        while polled.load(Ordering::Relaxed) < job.conns {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        m.idle = Some(usage::snapshot(&m.skip));
        say("SAMPLED");
    }
    let mut failed = 0u64;
    let mut first: Option<String> = None;
    let want = job.per_conn();
    for (i, t) in tasks.into_iter().enumerate() {
        let r = match t.await {
            Ok(Ok(got)) if got == want => continue,
            Ok(Ok(got)) => format!("connection {i}: the engine reports {got:?} bytes (a->b, b->a), expected {want:?}"),
            Ok(Err(e)) => format!("connection {i}: {e}"),
            Err(e) => format!("connection {i}: task: {e}"),
        };
        failed += 1;
        first.get_or_insert(r);
    }
    let figures = m.stop(job.conns - failed);
    if let Some(first) = first {
        // The figures of the connections that did not fail are still worth having (how many
        // descriptors and pipes an engine held when it ran out of them, say).
        say(&format!(
            "FAILED {failed} of {} connections failed; first: {first}",
            job.conns
        ));
    }
    say(&figures);
    Ok(())
}

/// file -> socket: `conns` copies of the file, each into a connection of its own (closed after
/// its copy), one after the other.
async fn send_file(job: Job, engine: Engine, upstream: SocketAddr, path: &Path, mut m: Measure) -> Result<(), String> {
    m.baseline();
    let mut copies = Vec::new();
    for _ in 0..job.conns {
        let f = tokio::fs::File::open(path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let s = TcpStream::connect(upstream)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        copies.push((f, s));
    }
    say("READY");
    wait_for("GO")?;
    m.start();
    for (i, (mut f, mut s)) in copies.into_iter().enumerate() {
        let n = engine
            .send_file(&mut f, job.a_to_b, &mut s)
            .await
            .map_err(|e| format!("copy {i}: {e}"))?;
        expect_count(engine, i, n, job.a_to_b)?;
    }
    say(&m.stop(job.conns));
    Ok(())
}

/// socket -> file: one connection copied into the (pre-allocated) file.
async fn receive_file(job: Job, engine: Engine, path: &Path, mut m: Measure) -> Result<(), String> {
    let listener = peer::listen()?;
    say(&format!("LISTEN {}", listener.local_addr().map_err(|e| e.to_string())?));
    m.baseline();
    let (mut s, _) = listener.accept().await.map_err(|e| format!("accept: {e}"))?;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut f = tokio::fs::File::from_std(f);
    say("READY");
    wait_for("GO")?;
    m.start();
    let n = engine
        .receive_file(&mut s, &mut f, job.a_to_b)
        .await
        .map_err(|e| format!("copy: {e}"))?;
    let figures = m.stop(1);
    expect_count(engine, 0, n, job.a_to_b)?;
    say(&figures);
    Ok(())
}

fn expect_count(engine: Engine, i: usize, got: u64, want: u64) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let why = engine.known_short_count().filter(|_| got < want);
    Err(format!(
        "copy {i}: the engine reports {got} bytes, expected {want}{}",
        why.map(|w| format!(" ({w})")).unwrap_or_default()
    ))
}

/// The measurement of one run, from the baseline to the figures.
struct Measure {
    skip: HashSet<u64>,
    sampler: Option<Sampler>,
    base: Snapshot,
    /// CPU and wall clock at GO.
    start: Option<(Cpu, Instant)>,
    /// Idle rows: the snapshot of the idle connections.
    idle: Option<Snapshot>,
    uid: u32,
}

impl Measure {
    fn baseline(&mut self) {
        self.base = usage::snapshot(&self.skip);
    }

    fn start(&mut self) {
        if let Some(s) = &self.sampler {
            s.start();
        }
        self.start = Some((Cpu::process(), Instant::now()));
    }

    /// Stops the clock and the sampler; returns the `DONE ...` line. `held`: the connections
    /// the engine did not fail on (the per-connection figures divide by it).
    fn stop(&mut self, held: u64) -> String {
        let (cpu0, t0) = self.start.expect("started");
        let wall = t0.elapsed();
        let cpu = Cpu::process().since(cpu0);
        let peaks = self.sampler.take().map(Sampler::stop).unwrap_or_default();
        let cpu = cpu.minus(peaks.cost);
        let mut line = format!(
            "DONE held={held} cpu_ns={} user_ns={} sys_ns={} wall_ns={} sampler_ns={} samples={} uid={} \
             rss_base={} rss_peak={} rss_max={} fds_base={} fds_max={} pipes={} pipe_bytes={} pipe_sizes={} \
             pipe_queued={}",
            cpu.total.as_nanos(),
            cpu.user.as_nanos(),
            cpu.sys.as_nanos(),
            wall.as_nanos(),
            peaks.cost.total.as_nanos(),
            peaks.samples,
            self.uid,
            self.base.rss,
            usage::peak_rss(),
            peaks.rss,
            self.base.fds,
            peaks.fds,
            peaks.pipes.pipes,
            peaks.pipes.pipe_bytes,
            peaks.pipes.sizes_text(),
            peaks.queued,
        );
        if let Some(idle) = &self.idle {
            let _ = write!(
                line,
                " idle_fds={} idle_pipes={} idle_pipe_bytes={} idle_rss={} idle_pipe_sizes={}",
                idle.fds,
                idle.pipes,
                idle.pipe_bytes,
                idle.rss,
                idle.sizes_text()
            );
        }
        line
    }
}

fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Becomes `nobody` (uid and gid 65534, no supplementary groups) when running as root, so that
/// the kernel's per-user pipe budget (`pipe-user-pages-soft`) applies to the proxy as it does
/// to any unprivileged server: root has CAP_SYS_ADMIN/CAP_SYS_RESOURCE, which lift it. Not root:
/// nothing to switch (the current user is subject to the budget already, unless it holds one
/// of those capabilities). Returns the uid now in effect.
fn drop_privileges() -> Result<u32, String> {
    if current_uid() != 0 {
        return Ok(current_uid());
    }
    // SAFETY: plain syscalls (through glibc, which applies them to every thread) with no
    // pointers but the null group list; PR_SET_DUMPABLE makes /proc/self readable to the new
    // uid again (a credential change makes the process non-dumpable, /proc/self/fd root's).
    let rc = unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            -1
        } else if libc::setgid(NOBODY) != 0 {
            -2
        } else if libc::setuid(NOBODY) != 0 {
            -3
        } else {
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0)
        }
    };
    if rc != 0 {
        return Err(format!(
            "switching to uid {NOBODY} failed (step {rc}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(current_uid())
}
