//! CPU and wall time of the timed region.

use std::time::{Duration, Instant};

/// Figures of one timed run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// User CPU time of the copying thread (share of the exact total, see `Meter`).
    pub user: Duration,
    /// System CPU time of the copying thread (share of the exact total, see `Meter`).
    pub sys: Duration,
    /// Elapsed wall time.
    pub wall: Duration,
}

impl Sample {
    /// User + system CPU time.
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

/// A running measurement: started just before the copies, stopped right after them.
///
/// Only the copying (main) thread is measured, which is the thread that makes every syscall
/// of the copy; peers run in other processes and are not counted. The CPU total comes from
/// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, which is exact to the nanosecond.
/// `getrusage(RUSAGE_THREAD)` gives the user/sys split, but its sum lags by up to a
/// scheduler tick (4 ms at HZ=250: 15 % of a 25 ms run), so the split is only used as
/// proportions of the exact total.
pub struct Meter {
    cpu: Duration,
    user: Duration,
    sys: Duration,
    wall: Instant,
}

impl Meter {
    /// Takes the starting readings.
    pub fn start() -> Meter {
        let (user, sys) = thread_rusage();
        let cpu = thread_cpu();
        Meter {
            cpu,
            user,
            sys,
            wall: Instant::now(),
        }
    }

    /// Takes the final readings and returns the difference.
    pub fn stop(self) -> Sample {
        let wall = self.wall.elapsed();
        let cpu = thread_cpu().saturating_sub(self.cpu);
        let (user, sys) = thread_rusage();
        let user = user.saturating_sub(self.user).as_secs_f64();
        let sys = sys.saturating_sub(self.sys).as_secs_f64();
        let user_share = if user + sys > 0.0 { user / (user + sys) } else { 0.0 };
        let user = cpu.mul_f64(user_share);
        Sample {
            user,
            sys: cpu - user,
            wall,
        }
    }
}

/// Exact CPU time consumed so far by the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: `timespec` is plain old data, so all-zero is a valid value; clock_gettime only
    // writes into the struct we pass, which lives for the duration of the call.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        let rc = libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        ts
    };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// User and system CPU time consumed so far by the calling thread (tick-grained sum).
fn thread_rusage() -> (Duration, Duration) {
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value; getrusage only writes
    // into the struct we pass, which lives for the duration of the call.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        let rc = libc::getrusage(libc::RUSAGE_THREAD, &mut ru);
        assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD) failed");
        ru
    };
    (timeval(ru.ru_utime), timeval(ru.ru_stime))
}

/// Converts a `timeval` into a `Duration`.
fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// The median of `values` (mean of the two middle ones for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
