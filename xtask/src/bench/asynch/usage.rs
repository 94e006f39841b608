//! What the measured process uses, read from inside it: CPU time (the whole process, every
//! thread), resident memory, open descriptors, and the pipes it holds with their sizes.
//!
//! A sampler thread reads `/proc/self/fd` and `/proc/self/status` while the transfer runs. Its
//! own CPU time is measured and taken out of the process's, so sampling more often does not
//! make an engine look slower; it still competes for the 2 cores, so it backs off to 4 x the
//! time a sample takes (at least 10 ms).

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// CPU time of the process or of one thread: the exact total from `clock_gettime`, split into
/// user and system time in the proportions of `getrusage` (whose sum lags by up to a tick).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub total: Duration,
    pub user: Duration,
    pub sys: Duration,
}

impl Cpu {
    /// The whole process so far (`CLOCK_PROCESS_CPUTIME_ID`, `RUSAGE_SELF`): all threads,
    /// tokio's blocking pool included, exited threads included.
    pub fn process() -> Cpu {
        read(libc::CLOCK_PROCESS_CPUTIME_ID, libc::RUSAGE_SELF)
    }

    /// The calling thread so far.
    pub fn thread() -> Cpu {
        read(libc::CLOCK_THREAD_CPUTIME_ID, libc::RUSAGE_THREAD)
    }

    /// `self - earlier`, with the user/system split scaled to the exact total.
    pub fn since(self, earlier: Cpu) -> Cpu {
        let total = self.total.saturating_sub(earlier.total);
        let user = self.user.saturating_sub(earlier.user).as_secs_f64();
        let sys = self.sys.saturating_sub(earlier.sys).as_secs_f64();
        let share = if user + sys > 0.0 { user / (user + sys) } else { 0.0 };
        let user = total.mul_f64(share);
        Cpu {
            total,
            user,
            sys: total - user,
        }
    }

    /// `self - other` (the sampler's time out of the process's), split per component.
    pub fn minus(self, other: Cpu) -> Cpu {
        Cpu {
            total: self.total.saturating_sub(other.total),
            user: self.user.saturating_sub(other.user),
            sys: self.sys.saturating_sub(other.sys),
        }
    }
}

fn read(clock: libc::clockid_t, who: libc::c_int) -> Cpu {
    // SAFETY: `timespec` and `rusage` are plain old data, so all-zero values are valid; both
    // calls only write into the structs passed, which live for the duration of the calls.
    let (ts, ru) = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::clock_gettime(clock, &mut ts), 0, "clock_gettime failed");
        assert_eq!(libc::getrusage(who, &mut ru), 0, "getrusage failed");
        (ts, ru)
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Cpu {
        total: Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
    }
}

/// Descriptors, pipes and memory at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Open descriptors (the listing's own directory descriptor not counted).
    pub fds: u64,
    /// Distinct pipes with at least one end open here, those of the baseline left out (the
    /// control pipes on stdin and stdout).
    pub pipes: u64,
    /// Their capacities added up (`F_GETPIPE_SZ`): what the kernel charges to the user's pipe
    /// budget, an upper bound of the pages they can hold.
    pub pipe_bytes: u64,
    /// Capacity -> number of pipes.
    pub pipe_sizes: BTreeMap<u64, u64>,
    /// Bytes queued in those pipes (`FIONREAD`): what they hold, not what they may.
    pub pipe_queued: u64,
    /// `VmRSS` in bytes.
    pub rss: u64,
}

impl Snapshot {
    /// `3x1M+2x64K`, or `0`.
    pub fn sizes_text(&self) -> String {
        if self.pipe_sizes.is_empty() {
            return "0".to_string();
        }
        let parts: Vec<String> = self
            .pipe_sizes
            .iter()
            .rev()
            .map(|(size, n)| format!("{n}x{}", short_size(*size)))
            .collect();
        parts.join("+")
    }
}

/// `1G`, `1M`, `64K`, `4096`.
pub fn short_size(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{}G", bytes >> 30)
    } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{}M", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{}K", bytes >> 10)
    } else {
        bytes.to_string()
    }
}

/// The pipe inodes open now: what a later [`snapshot`] leaves out.
pub fn baseline_pipes() -> HashSet<u64> {
    let mut set = HashSet::new();
    for_each_fd(|_, target| {
        if let Some(ino) = pipe_inode(target) {
            set.insert(ino);
        }
    });
    set
}

/// Reads the process's descriptors, its pipes (those in `skip` left out) and `VmRSS`.
pub fn snapshot(skip: &HashSet<u64>) -> Snapshot {
    let mut s = Snapshot::default();
    let mut seen = HashSet::new();
    for_each_fd(|fd, target| {
        s.fds += 1;
        let Some(ino) = pipe_inode(target) else { return };
        if skip.contains(&ino) || !seen.insert(ino) {
            return;
        }
        // The descriptor may have been closed (and reused) since the listing: then this fails
        // or names another pipe, and the sample is off by one pipe, never wrong in kind.
        // SAFETY: fcntl(F_GETPIPE_SZ) only reads the descriptor's pipe capacity; an invalid or
        // reused descriptor makes it fail with EBADF/EINVAL, it touches no memory of ours.
        let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
        if size > 0 {
            s.pipes += 1;
            s.pipe_bytes += size as u64;
            *s.pipe_sizes.entry(size as u64).or_default() += 1;
            let mut queued: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int into `queued`, which outlives the call; a bad
            // descriptor makes it fail without writing.
            if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut queued) } == 0 {
                s.pipe_queued += queued.max(0) as u64;
            }
        }
    });
    s.rss = status_kib("VmRSS:") * 1024;
    s
}

/// `VmHWM` (the resident high-water mark of the process's life) in bytes.
pub fn peak_rss() -> u64 {
    status_kib("VmHWM:") * 1024
}

/// Calls `f(fd, link target)` for every open descriptor but those of `/proc/self/fd`
/// listings (this one's, and the sampler thread's if it is listing at the same time).
fn for_each_fd(mut f: impl FnMut(i32, &str)) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let mut buf = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(fd) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        buf.clear();
        match std::fs::read_link(entry.path()) {
            Ok(t) => buf.extend_from_slice(t.as_os_str().as_encoded_bytes()),
            // Closed meanwhile.
            Err(_) => continue,
        }
        let target = std::str::from_utf8(&buf).unwrap_or("");
        if target.starts_with("/proc/") && target.ends_with("/fd") {
            continue;
        }
        f(fd, target);
    }
}

/// The inode of a `pipe:[123]` link target.
fn pipe_inode(target: &str) -> Option<u64> {
    target.strip_prefix("pipe:[")?.strip_suffix(']')?.parse().ok()
}

/// A `kB` field of `/proc/self/status`, 0 if absent.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The maxima the sampler saw, and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Peaks {
    /// The sample with the most pipe capacity (the first such one).
    pub pipes: Snapshot,
    /// Most descriptors in any sample.
    pub fds: u64,
    /// Highest `VmRSS` in any sample.
    pub rss: u64,
    /// Most bytes queued in pipes in any sample.
    pub queued: u64,
    /// Samples taken.
    pub samples: u64,
    /// The sampler thread's CPU time while it sampled.
    pub cost: Cpu,
}

impl Peaks {
    fn add(&mut self, s: Snapshot) {
        self.samples += 1;
        self.fds = self.fds.max(s.fds);
        self.rss = self.rss.max(s.rss);
        self.queued = self.queued.max(s.pipe_queued);
        if s.pipe_bytes > self.pipes.pipe_bytes || self.samples == 1 {
            self.pipes = s;
        }
    }
}

/// A thread that samples between [`start`](Sampler::start) and [`stop`](Sampler::stop).
pub struct Sampler {
    tx: Sender<bool>,
    thread: JoinHandle<Peaks>,
}

impl Sampler {
    /// Spawns the thread (before the baseline, so that its stack is part of it); it waits.
    pub fn spawn(skip: HashSet<u64>) -> Sampler {
        let (tx, rx) = channel::<bool>();
        let thread = std::thread::spawn(move || {
            let mut peaks = Peaks::default();
            if rx.recv() != Ok(true) {
                return peaks;
            }
            let start = Cpu::thread();
            loop {
                let t = Instant::now();
                peaks.add(snapshot(&skip));
                let pause = (t.elapsed() * 4).max(Duration::from_millis(10));
                match rx.recv_timeout(pause) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            }
            peaks.cost = Cpu::thread().since(start);
            peaks
        });
        Sampler { tx, thread }
    }

    pub fn start(&self) {
        let _ = self.tx.send(true);
    }

    /// Stops sampling and returns what it saw.
    pub fn stop(self) -> Peaks {
        let _ = self.tx.send(false);
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_are_counted_with_their_sizes() {
        let skip = baseline_pipes();
        let before = snapshot(&skip);
        let (r, w) = rustix::pipe::pipe().unwrap();
        let size = rustix::pipe::fcntl_getpipe_size(&w).unwrap() as u64;
        let after = snapshot(&skip);
        // Other tests of this binary may open descriptors meanwhile: only lower bounds.
        assert!(after.pipes > before.pipes || after.pipe_sizes.contains_key(&size));
        assert!(after.pipe_bytes >= size);
        assert!(after.rss > 0);
        drop((r, w));
        assert_eq!(pipe_inode("pipe:[42]"), Some(42));
        assert_eq!(pipe_inode("socket:[42]"), None);
    }

    #[test]
    fn listings_are_not_counted() {
        // An open listing of /proc/self/fd (ours, while the walk runs one of its own) is not
        // among the descriptors walked. (Counts are not compared: other tests of this binary
        // open and close descriptors meanwhile.)
        let dir = std::fs::read_dir("/proc/self/fd").unwrap();
        let mut seen = 0;
        for_each_fd(|_, t| seen += u64::from(t.ends_with("/fd") && t.starts_with("/proc/")));
        drop(dir);
        assert_eq!(seen, 0);
    }

    #[test]
    fn sizes_read_short() {
        let mut s = Snapshot::default();
        assert_eq!(s.sizes_text(), "0");
        s.pipe_sizes.insert(1 << 20, 3);
        s.pipe_sizes.insert(8192, 2);
        assert_eq!(s.sizes_text(), "3x1M+2x8K");
        assert_eq!(short_size(4097), "4097");
        assert_eq!(short_size(2 << 30), "2G");
    }
}
