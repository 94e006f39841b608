//! `cargo xtask probe`: what this kernel lets fdcopy do, and which strategy each pair of
//! descriptors gets, measured live.
//!
//! 1. The syscalls, called with invalid descriptors (-1) through `libc::syscall` (rustix's
//!    `BorrowedFd` cannot hold -1): seccomp runs before the kernel looks at the descriptors, so
//!    `EBADF` means the call is available, `ENOSYS` that it is not implemented (or filtered with
//!    ENOSYS), `EPERM` that a filter denies it (kernel.md §3.4).
//! 2. Pipe sizing, `copy_file_range` within the temporary directory's filesystem and across
//!    to `/dev/shm`, reflinks (`FICLONE`), io_uring.
//! 3. Sparse files and reflinks per filesystem (`sparse`): tmpfs, the temporary directory's
//!    filesystem, ext4, xfs and btrfs on loop images when this process may mount: `SEEK_DATA`
//!    real or trivial, `FICLONE`, whether `copy_file_range` reflinks, what `copy_file` does.
//! 4. The live matrix: a few MiB through `fdcopy::Copier::copy` with std's own types (so the
//!    drop-in recognition is exercised) for every pair of {file, pipe, tcp, unix, /dev/zero} →
//!    {file, pipe, tcp, unix, /dev/null}, with the peers in threads; the bytes are compared.
//!
//! Every wait is bounded: sockets have timeouts, and a watchdog ends the process (exit code 3)
//! naming the pair if anything hangs. Temporary files are unlinked as soon as they are open.

mod env;
mod matrix;
mod output;
mod sparse;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bytes copied per pair of the live matrix.
const SAMPLE: usize = 4 << 20;
/// Socket timeouts: no read or write waits longer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole probe is stopped after this long (it takes a few seconds).
const WATCHDOG: Duration = Duration::from_secs(60);

const USAGE: &str = "usage: cargo xtask probe [--json]

Reports the kernel release; whether copy_file_range, sendfile, splice, tee and F_SETPIPE_SZ are
available, not implemented (ENOSYS) or denied (EPERM, a seccomp filter); pipe sizes; whether
copy_file_range works within the temporary directory's filesystem and across to /dev/shm; whether
that filesystem reflinks; whether io_uring is enabled; per filesystem it can test (tmpfs, the
temporary directory's, xfs and btrfs on loop images when it may mount), whether SEEK_DATA sees
holes, whether FICLONE works, whether copy_file_range reflinks, and what fdcopy::copy_file does
with a sparse file. Then copies 4 MiB between every pair of
{file, pipe, tcp, unix, /dev/zero} -> {file, pipe, tcp, unix, /dev/null} with fdcopy and prints
the strategy that moved the bytes, the throughput and whether the bytes arrived intact.
Exit status 1 if any pair's bytes did not match.

  --json   one JSON object: kernel, syscalls, pipes, filesystems, io_uring, sparse, matrix
";

pub fn main(args: &[String]) -> Result<ExitCode, String> {
    let mut json = false;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("probe: unknown argument `{other}`\n{USAGE}")),
        }
    }
    let current = Arc::new(Mutex::new(String::from("the syscall probes")));
    watchdog(Arc::clone(&current));

    let env = env::probe();
    *current.lock().unwrap_or_else(|e| e.into_inner()) = "the sparse and reflink probes".into();
    let sparse = sparse::probe();
    let matrix = matrix::run(&current)?;

    if json {
        println!("{}", output::json(&env, &sparse, &matrix));
    } else {
        output::print_human(&env, &sparse, &matrix);
    }
    let bad = matrix.iter().filter(|r| !r.ok).count();
    if bad > 0 {
        eprintln!("probe: {bad} pair(s) did not deliver the expected bytes");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Ends the process if the probe takes far longer than it should (a hung copy).
fn watchdog(current: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        std::thread::sleep(WATCHDOG);
        let what = current.lock().map(|s| s.clone()).unwrap_or_default();
        eprintln!("probe: still running after {} s, stuck in {what}", WATCHDOG.as_secs());
        std::process::exit(3);
    });
}
