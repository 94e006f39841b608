//! The benchmark's environment: its tmpfs directory, files, control socket and pattern.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use fdcopy_testkit::{write_stream, Pattern, BLOCK};

use super::peer::Control;

/// All temporary files live under `/dev/shm/fdcopy-bench-<pid>`.
const SHM: &str = "/dev/shm";
const PREFIX: &str = "fdcopy-bench-";

/// Owns the temporary directory (removed on drop, also on error paths) and what lives in it.
pub struct Env {
    pub dir: PathBuf,
    pub pattern: Pattern,
    pub control: Control,
    /// Source files created so far: (length, seed, path).
    sources: Vec<(u64, u64, PathBuf)>,
    /// The pre-allocated destination file and its length.
    dest: Option<(PathBuf, u64)>,
    /// Counter for unique unix socket paths.
    sockets: u64,
    /// Runs started so far.
    runs: u64,
}

impl Env {
    /// Creates `/dev/shm/fdcopy-bench-<pid>` and the control socket in it.
    pub fn new() -> Result<Env, String> {
        sweep_stale();
        let dir = Path::new(SHM).join(format!("{PREFIX}{}", std::process::id()));
        fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let control = Control::bind(dir.join("control.sock")).inspect_err(|_| {
            let _ = fs::remove_dir_all(&dir);
        })?;
        Ok(Env {
            dir,
            pattern: Pattern::new(),
            control,
            sources: Vec::new(),
            dest: None,
            sockets: 0,
            runs: 0,
        })
    }

    /// A source file holding bytes `[0, len)` of stream `seed`, created on first use.
    pub fn source_file(&mut self, len: u64, seed: u64) -> Result<PathBuf, String> {
        if let Some((_, _, p)) = self.sources.iter().find(|s| s.0 == len && s.1 == seed) {
            return Ok(p.clone());
        }
        let path = self.dir.join(format!("src-{len}-{seed}"));
        let mut f = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        write_stream(&self.pattern, seed, len, &mut f).map_err(|e| format!("writing {}: {e}", path.display()))?;
        self.sources.push((len, seed, path.clone()));
        Ok(path)
    }

    /// The destination file, pre-allocated with at least `len` written bytes.
    ///
    /// Writing into fresh tmpfs pages costs several times more than the copy itself and is
    /// noisy, so every file destination overwrites the pages of this one file, which is
    /// created (and, if needed, extended) by real writes outside the timed region and is
    /// never truncated.
    pub fn dest_file(&mut self, len: u64) -> Result<PathBuf, String> {
        let path = self.dir.join("dst");
        let have = self.dest.as_ref().map_or(0, |d| d.1);
        if have < len {
            extend_with_zeros(&path, have, len)?;
            self.dest = Some((path.clone(), len));
        }
        Ok(path)
    }

    /// Number of the next run; consecutive runs get consecutive numbers.
    pub fn next_run(&mut self) -> u64 {
        self.runs += 1;
        self.runs
    }

    /// A fresh path for a unix stream listener.
    pub fn unix_socket_path(&mut self) -> PathBuf {
        self.sockets += 1;
        self.dir.join(format!("unix-{}.sock", self.sockets))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Appends zeros to `path` from `from` up to `to` bytes (creating it when `from` is 0).
fn extend_with_zeros(path: &Path, from: u64, to: u64) -> Result<(), String> {
    let err = |e: std::io::Error| format!("pre-allocating {}: {e}", path.display());
    let mut f = OpenOptions::new().create(true).append(true).open(path).map_err(err)?;
    let zeros = vec![0u8; BLOCK];
    let mut left = to - from;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        f.write_all(&zeros[..n]).map_err(err)?;
        left -= n as u64;
    }
    Ok(())
}

/// Removes `/dev/shm/fdcopy-bench-<pid>` directories whose process no longer exists
/// (left behind by a run that was killed, e.g. with Ctrl-C). Live ones are left alone,
/// so concurrent runs do not disturb each other.
fn sweep_stale() {
    let Ok(entries) = fs::read_dir(SHM) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
