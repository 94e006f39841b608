//! What machine a run was on, and when: for the captions of the pictures and for
//! `docs/benchmarks.md`.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::json::Json;

/// Where and when a run was made, and how long it took.
#[derive(Debug, Clone)]
pub struct Meta {
    pub machine: String,
    pub date: String,
    pub command: String,
    pub seconds: f64,
}

impl Meta {
    /// This machine, today, this process's command line.
    pub fn now(seconds: f64) -> Meta {
        Meta {
            machine: describe(),
            date: today(),
            command: command(),
            seconds,
        }
    }

    /// The caption lines of a picture: what it shows, then machine, date and command.
    pub fn caption(&self, what: &str) -> Vec<String> {
        vec![
            what.to_string(),
            format!("{}, {}", self.date, self.machine),
            format!("`{}` ({:.0} s)", self.command, self.seconds),
        ]
    }

    /// `machine`, `date`, `command`, `seconds` as JSON fields.
    pub fn json_fields(&self, j: &mut Json) {
        j.field_str("machine", &self.machine);
        j.field_str("date", &self.date);
        j.field_str("command", &self.command);
        j.field_num("seconds", (self.seconds * 10.0).round() / 10.0);
    }
}

/// `Linux 6.18.44 x86_64, 2 CPUs (AMD EPYC ...), 24 GiB, rustc 1.95.0`: what is known.
pub fn describe() -> String {
    let u = rustix::system::uname();
    let mut parts = vec![format!(
        "{} {} {}",
        u.sysname().to_string_lossy(),
        u.release().to_string_lossy(),
        u.machine().to_string_lossy()
    )];
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = proc_field("/proc/cpuinfo", "model name");
    parts.push(match model {
        Some(m) => format!("{cpus} CPUs ({m})"),
        None => format!("{cpus} CPUs"),
    });
    if let Some(kb) =
        proc_field("/proc/meminfo", "MemTotal").and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    {
        parts.push(format!("{} GiB", (kb as f64 / (1u64 << 20) as f64).round()));
    }
    if let Some(v) = rustc() {
        parts.push(v);
    }
    parts.join(", ")
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil(secs / 86_400);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The command line this process was started with, as `cargo xtask ...`.
pub fn command() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

/// (year, month, day) of day `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

/// The value of the first `key: value` line of a /proc file.
fn proc_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// `rustc 1.95.0`, from the toolchain `cargo xtask` runs with.
fn rustc() -> Option<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-V").output().ok()?;
    let v = String::from_utf8(out.stdout).ok()?;
    let mut words = v.split_whitespace();
    Some(format!("{} {}", words.next()?, words.next()?))
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_788), (2026, 12, 1));
    }
}
