//! The pool of intermediate pipes for socket→file and socket→socket splices.
//!
//! Pipes are `O_CLOEXEC`, blocking (fdcopy drains every pipe before refilling it, so a blocking
//! pipe never waits on itself), sized up to 1 MiB (or `/proc/sys/fs/pipe-max-size` if lower)
//! with `F_SETPIPE_SZ`, keeping the default where the kernel refuses (no CAP_SYS_RESOURCE, the
//! per-user pipe budget spent). At most [`MAX_IDLE`] idle pipes are kept: 64 pooled 1 MiB pipes
//! would use a user's whole default pipe budget. A pipe that may hold bytes is closed, never
//! pooled.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Mutex, OnceLock};

/// Idle pipes kept for reuse.
pub(crate) const MAX_IDLE: usize = 8;

/// Largest capacity asked for (Go's choice: golang/go#40222 found 4 MiB chunks slower).
const TARGET: usize = 1 << 20;

static POOL: Mutex<Vec<Pipe>> = Mutex::new(Vec::new());

/// A pipe of the pool, empty when handed out.
pub(crate) struct Pipe {
    pub(crate) read: OwnedFd,
    pub(crate) write: OwnedFd,
    /// The pipe's capacity in bytes.
    pub(crate) capacity: usize,
}

/// An empty pipe: from the pool, or a new one.
pub(crate) fn take() -> io::Result<Pipe> {
    if let Some(p) = lock().pop() {
        return Ok(p);
    }
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let capacity = match rustix::pipe::fcntl_setpipe_size(&write, target_size()) {
        Ok(c) => c,
        Err(_) => rustix::pipe::fcntl_getpipe_size(&write).unwrap_or(1 << 16),
    };
    Ok(Pipe { read, write, capacity })
}

/// Returns a pipe the caller knows to be empty; it is closed when the pool is full.
pub(crate) fn give(pipe: Pipe) {
    let mut pool = lock();
    if pool.len() < MAX_IDLE {
        pool.push(pipe);
    }
}

/// How many idle pipes the pool holds.
pub(crate) fn idle() -> usize {
    lock().len()
}

/// Bytes held by the idle pipes (0 unless a dirty pipe was pooled): for the tests' hygiene
/// checks.
pub(crate) fn idle_bytes() -> u64 {
    lock()
        .iter()
        .map(|p| rustix::io::ioctl_fionread(&p.read).unwrap_or(u64::MAX))
        .sum()
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Pipe>> {
    // A panic while holding the lock cannot leave the Vec inconsistent.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

fn target_size() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .map_or(TARGET, |max| max.min(TARGET))
    })
}
