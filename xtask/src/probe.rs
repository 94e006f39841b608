//! `cargo xtask probe`: what this kernel lets fdcopy do, and which strategy each pair of
//! descriptors gets, measured live.
//!
//! 1. The syscalls, called with invalid descriptors (-1) through `libc::syscall` (rustix's
//!    `BorrowedFd` cannot hold -1): seccomp runs before the kernel looks at the descriptors, so
//!    `EBADF` means the call is available, `ENOSYS` that it is not implemented (or filtered with
//!    ENOSYS), `EPERM` that a filter denies it (kernel.md §3.4).
//! 2. Pipe sizing, `copy_file_range` within the temporary directory's filesystem and across
//!    to `/dev/shm`, reflinks (`FICLONE`), io_uring.
//! 3. The live matrix: a few MiB through `fdcopy::Copier::copy_std` with std's own types (so the
//!    drop-in recognition is exercised) for every pair of {file, pipe, tcp, unix, /dev/zero} →
//!    {file, pipe, tcp, unix, /dev/null}, with the peers in threads; the bytes are compared.
//!
//! Every wait is bounded: sockets have timeouts, and a watchdog ends the process (exit code 3)
//! naming the pair if anything hangs. Temporary files are unlinked as soon as they are open.

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read, Seek, Take, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fdcopy::{Copier, CopyError, Facts, FdKind, PageCache, Report, SocketFamily, Strategy};

use crate::errno::errno_name;
use crate::json::Json;

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
that filesystem reflinks; whether io_uring is enabled. Then copies 4 MiB between every pair of
{file, pipe, tcp, unix, /dev/zero} -> {file, pipe, tcp, unix, /dev/null} with fdcopy and prints
the strategy that moved the bytes, the throughput and whether the bytes arrived intact.
Exit status 1 if any pair's bytes did not match.

  --json   one JSON object: kernel, syscalls, pipes, filesystems, io_uring, matrix
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

    let uname = rustix::system::uname();
    let kernel = Kernel {
        release: uname.release().to_string_lossy().into_owned(),
        machine: uname.machine().to_string_lossy().into_owned(),
    };
    let syscalls = syscalls();
    let pipes = pipes();
    let fs = filesystems();
    let uring = io_uring();
    let matrix = matrix(&current)?;

    if json {
        println!("{}", to_json(&kernel, &syscalls, &pipes, &fs, &uring, &matrix));
    } else {
        print_human(&kernel, &syscalls, &pipes, &fs, &uring, &matrix);
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

// ------------------------------------------------------------------------------------------
// Kernel and syscalls.

struct Kernel {
    release: String,
    machine: String,
}

/// One row of the syscall table.
struct Syscall {
    name: &'static str,
    /// "available", "not implemented", "denied", "refused above pipe-max-size", or
    /// "unexpected (ERRNO)".
    status: String,
    /// The errno the probe got (None: the call succeeded).
    errno: Option<i32>,
    /// A word of explanation for the human table.
    note: String,
}

/// What an invalid-descriptor call answered.
fn status_of(errno: Option<i32>) -> String {
    match errno {
        Some(libc::EBADF) => "available".into(),
        Some(libc::ENOSYS) => "not implemented".into(),
        Some(libc::EPERM) => "denied".into(),
        Some(e) => format!("unexpected ({})", errno_name(e)),
        None => "unexpected (succeeded)".into(),
    }
}

/// `syscall(nr, args...)` with invalid descriptors: the errno, or None if it succeeded.
fn invalid_fd_call(name: &str) -> Option<i32> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: every call passes invalid descriptors (-1) and NULL offset pointers: the kernel
    // (or a seccomp filter) rejects it before touching memory or any descriptor of ours.
    let r = unsafe {
        match name {
            "copy_file_range" => libc::syscall(libc::SYS_copy_file_range, -1, null, -1, null, 1usize, 0u32),
            "sendfile" => libc::syscall(libc::SYS_sendfile, -1, -1, null, 1usize),
            "splice" => libc::syscall(libc::SYS_splice, -1, null, -1, null, 1usize, 0u32),
            "tee" => libc::syscall(libc::SYS_tee, -1, -1, 1usize, 0u32),
            _ => unreachable!("no probe for {name}"),
        }
    };
    (r == -1).then(|| io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

fn syscalls() -> Vec<Syscall> {
    let mut out = Vec::new();
    for name in ["copy_file_range", "sendfile", "splice", "tee"] {
        let errno = invalid_fd_call(name);
        let note = match errno {
            Some(libc::EBADF) => "EBADF on fd -1: the kernel looked at the descriptor".to_string(),
            Some(libc::ENOSYS) => "ENOSYS: missing, or filtered with ENOSYS; fdcopy skips it".to_string(),
            Some(libc::EPERM) => "EPERM on fd -1: a seccomp filter; fdcopy skips it".to_string(),
            _ => String::new(),
        };
        out.push(Syscall {
            name,
            status: status_of(errno),
            errno,
            note,
        });
    }
    out.push(setpipe_status());
    out
}

/// `F_SETPIPE_SZ` asking 1 MiB on a fresh pipe. `EPERM` means either "above pipe-max-size
/// without CAP_SYS_RESOURCE" or "this user's pipe budget is spent / a filter": a second
/// request within pipe-max-size tells which.
fn setpipe_status() -> Syscall {
    let mut row = Syscall {
        name: "F_SETPIPE_SZ",
        status: String::new(),
        errno: None,
        note: String::new(),
    };
    let Ok((_r, w)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
        row.status = "unexpected (pipe2 failed)".into();
        return row;
    };
    match rustix::pipe::fcntl_setpipe_size(&w, 1 << 20) {
        Ok(n) => {
            row.status = "available".into();
            row.note = format!("asked 1 MiB, got {n}");
        }
        Err(e) => {
            let errno = e.raw_os_error();
            row.errno = Some(errno);
            match errno {
                libc::EPERM => {
                    // Does a smaller enlargement (128 KiB, or pipe-max-size if lower) work?
                    let max = pipe_max_size();
                    let within = max.unwrap_or(1 << 17).clamp(8192, 1 << 17);
                    match rustix::pipe::fcntl_setpipe_size(&w, within) {
                        Ok(n) if max.is_some_and(|m| m < 1 << 20) => {
                            row.status = "refused above pipe-max-size".into();
                            row.note = format!(
                                "1 MiB: EPERM (pipe-max-size {}, no CAP_SYS_RESOURCE); {within} B: got {n}",
                                max.unwrap_or(0)
                            );
                        }
                        Ok(n) => {
                            row.status = "limited".into();
                            row.note =
                                format!("1 MiB: EPERM (pipe-user-pages budget nearly spent); {within} B: got {n}");
                        }
                        Err(_) => {
                            row.status = "denied".into();
                            row.note =
                                "EPERM for any enlargement: pipe-user-pages budget spent, or a filter".to_string();
                        }
                    }
                }
                // Kernels before 2.6.35 do not know the command.
                libc::EINVAL => {
                    row.status = "not implemented".into();
                    row.note = "EINVAL: fcntl command unknown to this kernel".into();
                }
                other => row.status = format!("unexpected ({})", errno_name(other)),
            }
        }
    }
    row
}

fn pipe_max_size() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

struct Pipes {
    max_size: Option<usize>,
    default_capacity: Option<usize>,
    /// What `F_SETPIPE_SZ` 1 MiB gave: the capacity, or the errno.
    one_mib: Result<usize, i32>,
    /// `F_SETPIPE_SZ` at twice pipe-max-size: allowed only with CAP_SYS_RESOURCE.
    above_max: Option<Result<usize, i32>>,
}

fn pipes() -> Pipes {
    let fresh = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ok();
    let max_size = pipe_max_size();
    let default_capacity = fresh().and_then(|(_r, w)| rustix::pipe::fcntl_getpipe_size(&w).ok());
    let one_mib = match fresh() {
        Some((_r, w)) => rustix::pipe::fcntl_setpipe_size(&w, 1 << 20).map_err(|e| e.raw_os_error()),
        None => Err(0),
    };
    let above_max = max_size.filter(|&m| m < 1 << 30).and_then(|m| {
        let (_r, w) = fresh()?;
        Some(rustix::pipe::fcntl_setpipe_size(&w, 2 * m).map_err(|e| e.raw_os_error()))
    });
    Pipes {
        max_size,
        default_capacity,
        one_mib,
        above_max,
    }
}

// ------------------------------------------------------------------------------------------
// Filesystems.

static TEMP_SEQ: AtomicU32 = AtomicU32::new(0);

/// A new empty file in `dir`, already unlinked (nothing to clean up, even after a crash
/// between the two calls only a zero-byte `.fdcopy-probe-*` file could remain).
fn temp_file_in(dir: &Path) -> io::Result<File> {
    let name = format!(
        ".fdcopy-probe-{}-{}",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let f = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

fn temp_file_with(dir: &Path, data: &[u8]) -> io::Result<File> {
    let mut f = temp_file_in(dir)?;
    f.write_all(data)?;
    f.rewind()?;
    Ok(f)
}

fn fs_type_name(path: &Path) -> String {
    let Ok(st) = rustix::fs::statfs(path) else {
        return "unknown".into();
    };
    let name = match st.f_type as u64 {
        0xEF53 => "ext4",
        0x0102_1994 => "tmpfs",
        0x9123_683E => "btrfs",
        0x5846_5342 => "xfs",
        0x794C_7630 => "overlay",
        0x6969 => "nfs",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x6573_5546 => "fuse",
        0x0102_1997 => "9p",
        0xFF53_4D42 => "cifs",
        0x4D44 => "vfat",
        0x5346_544E => "ntfs",
        other => return format!("0x{other:x}"),
    };
    name.into()
}

struct Filesystems {
    temp_dir: PathBuf,
    temp_fs: String,
    shm_fs: Option<String>,
    /// copy_file_range between two files of the temp dir: bytes copied, or the errno.
    cfr_same: Result<u64, String>,
    /// copy_file_range from the temp dir to /dev/shm.
    cfr_cross: Result<u64, String>,
    /// FICLONE within the temp dir.
    reflink: Result<(), String>,
}

/// `copy_file_range` of `data.len()` bytes from a new file in `from` to one in `to`, checking
/// the bytes that arrived.
fn cfr_between(from: &Path, to: &Path, data: &[u8]) -> Result<u64, String> {
    let src = temp_file_with(from, data).map_err(|e| format!("setup: {e}"))?;
    let mut dst = temp_file_in(to).map_err(|e| format!("setup: {e}"))?;
    let mut done = 0u64;
    while (done as usize) < data.len() {
        match rustix::fs::copy_file_range(&src, None, &dst, None, data.len() - done as usize) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(errno_name(e.raw_os_error())),
        }
    }
    let mut back = Vec::new();
    dst.rewind()
        .and_then(|_| dst.read_to_end(&mut back))
        .map_err(|e| e.to_string())?;
    if back != data {
        return Err(format!("bytes differ after {done} bytes copied"));
    }
    Ok(done)
}

fn filesystems() -> Filesystems {
    let temp_dir = std::env::temp_dir();
    let shm = Path::new("/dev/shm");
    let data = payload(256 << 10, 7);
    let shm_ok = shm.is_dir();
    let same_dev = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev(),
        _ => false,
    };
    let cfr_cross = if !shm_ok {
        Err("n/a (no /dev/shm)".into())
    } else if same_dev(&temp_dir, shm) {
        Err("n/a (same filesystem)".into())
    } else {
        cfr_between(&temp_dir, shm, &data)
    };
    let reflink = (|| {
        let src = temp_file_with(&temp_dir, &data).map_err(|e| format!("setup: {e}"))?;
        let dst = temp_file_in(&temp_dir).map_err(|e| format!("setup: {e}"))?;
        rustix::fs::ioctl_ficlone(&dst, &src).map_err(|e| errno_name(e.raw_os_error()))
    })();
    Filesystems {
        temp_fs: fs_type_name(&temp_dir),
        shm_fs: shm_ok.then(|| fs_type_name(shm)),
        cfr_same: cfr_between(&temp_dir, &temp_dir, &data),
        cfr_cross,
        reflink,
        temp_dir,
    }
}

// ------------------------------------------------------------------------------------------
// io_uring (fdcopy does not use it; reported because sandboxes that deny it often deny more).

struct IoUring {
    /// `/proc/sys/kernel/io_uring_disabled` (kernels ≥ 6.6): 0 enabled, 1 restricted to
    /// `io_uring_group`, 2 disabled.
    sysctl: Option<u32>,
    /// `io_uring_setup(0, NULL)`: EFAULT/EINVAL = present, ENOSYS = absent, EPERM = disabled.
    setup_errno: Option<i32>,
}

impl IoUring {
    fn status(&self) -> String {
        match self.setup_errno {
            Some(libc::EFAULT) | Some(libc::EINVAL) => match self.sysctl {
                Some(1) => "enabled for io_uring_group only".into(),
                _ => "enabled".into(),
            },
            Some(libc::ENOSYS) => "absent".into(),
            Some(libc::EPERM) => "disabled".into(),
            Some(e) => format!("unexpected ({})", errno_name(e)),
            None => "enabled".into(),
        }
    }
}

fn io_uring() -> IoUring {
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    // SAFETY: a NULL params pointer: the kernel fails with EFAULT (or EPERM/ENOSYS) before
    // creating anything. Should a kernel succeed anyway, the descriptor is closed below.
    let r = unsafe { libc::syscall(libc::SYS_io_uring_setup, 0u32, std::ptr::null_mut::<libc::c_void>()) };
    let setup_errno = if r == -1 {
        Some(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        // SAFETY: `r` is a descriptor the kernel just returned to us and nothing else owns.
        unsafe { libc::close(r as libc::c_int) };
        None
    };
    IoUring { sysctl, setup_errno }
}

// ------------------------------------------------------------------------------------------
// The live matrix.

#[derive(Clone, Copy, PartialEq, Eq)]
enum SrcKind {
    File,
    Pipe,
    Tcp,
    Unix,
    Zero,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DstKind {
    File,
    Pipe,
    Tcp,
    Unix,
    Null,
}

const SOURCES: [SrcKind; 5] = [SrcKind::File, SrcKind::Pipe, SrcKind::Tcp, SrcKind::Unix, SrcKind::Zero];
const DESTINATIONS: [DstKind; 5] = [DstKind::File, DstKind::Pipe, DstKind::Tcp, DstKind::Unix, DstKind::Null];

impl SrcKind {
    fn name(self) -> &'static str {
        match self {
            SrcKind::File => "file",
            SrcKind::Pipe => "pipe",
            SrcKind::Tcp => "tcp",
            SrcKind::Unix => "unix",
            SrcKind::Zero => "/dev/zero",
        }
    }
    fn fd_kind(self) -> FdKind {
        match self {
            SrcKind::File => FdKind::File,
            SrcKind::Pipe => FdKind::Pipe,
            SrcKind::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
            SrcKind::Unix => FdKind::StreamSocket(SocketFamily::Unix),
            SrcKind::Zero => FdKind::CharDevice,
        }
    }
}

impl DstKind {
    fn name(self) -> &'static str {
        match self {
            DstKind::File => "file",
            DstKind::Pipe => "pipe",
            DstKind::Tcp => "tcp",
            DstKind::Unix => "unix",
            DstKind::Null => "/dev/null",
        }
    }
    fn fd_kind(self) -> FdKind {
        match self {
            DstKind::File => FdKind::File,
            DstKind::Pipe => FdKind::Pipe,
            DstKind::Tcp => FdKind::StreamSocket(SocketFamily::Ip),
            DstKind::Unix => FdKind::StreamSocket(SocketFamily::Unix),
            DstKind::Null => FdKind::CharDevice,
        }
    }
}

struct Row {
    src: &'static str,
    dst: &'static str,
    /// What `fdcopy::plan` says for this pair (before any errno).
    planned: Vec<Strategy>,
    /// The strategy that moved most bytes (`Report::strategy`).
    strategy: Option<Strategy>,
    /// Every strategy that moved bytes, with its count.
    strategies: Vec<(Strategy, u64)>,
    bytes: u64,
    seconds: f64,
    ok: bool,
    /// Why `ok` is false (or an error the copy returned).
    error: Option<String>,
}

impl Row {
    fn mib_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 / (1 << 20) as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// A deterministic, non-repeating payload (xorshift).
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn timeouts<T>(
    s: &T,
    read: impl Fn(&T, Option<Duration>) -> io::Result<()>,
    write: impl Fn(&T, Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    read(s, Some(IO_TIMEOUT))?;
    write(s, Some(IO_TIMEOUT))
}

/// A connected loopback TCP pair (client, accepted side), from the probe's one listener.
fn tcp_pair(listener: &TcpListener) -> io::Result<(TcpStream, TcpStream)> {
    let c = TcpStream::connect(listener.local_addr()?)?;
    let (s, _) = listener.accept()?;
    for x in [&c, &s] {
        timeouts(x, TcpStream::set_read_timeout, TcpStream::set_write_timeout)?;
    }
    Ok((c, s))
}

fn unix_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    for x in [&a, &b] {
        timeouts(x, UnixStream::set_read_timeout, UnixStream::set_write_timeout)?;
    }
    Ok((a, b))
}

/// A thread writing `data` into `w`, then closing it (end of file for the reader).
fn feed<W: Write + Send + 'static>(mut w: W, data: Arc<Vec<u8>>) -> JoinHandle<io::Result<()>> {
    std::thread::spawn(move || w.write_all(&data))
}

/// A thread reading `r` to its end.
fn drain<R: Read + Send + 'static>(mut r: R) -> JoinHandle<io::Result<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut v = Vec::with_capacity(SAMPLE);
        r.read_to_end(&mut v).map(|_| v)
    })
}

enum Src {
    File(File),
    Pipe(PipeReader, JoinHandle<io::Result<()>>),
    Tcp(TcpStream, JoinHandle<io::Result<()>>),
    Unix(UnixStream, JoinHandle<io::Result<()>>),
    Zero(Take<File>),
}

enum Dst {
    File(File),
    Pipe(PipeWriter, JoinHandle<io::Result<Vec<u8>>>),
    Tcp(TcpStream, JoinHandle<io::Result<Vec<u8>>>),
    Unix(UnixStream, JoinHandle<io::Result<Vec<u8>>>),
    Null(File),
}

fn make_src(kind: SrcKind, data: &Arc<Vec<u8>>, listener: &TcpListener, dir: &Path) -> io::Result<Src> {
    Ok(match kind {
        SrcKind::File => Src::File(temp_file_with(dir, data)?),
        SrcKind::Pipe => {
            let (r, w) = io::pipe()?;
            Src::Pipe(r, feed(w, Arc::clone(data)))
        }
        SrcKind::Tcp => {
            let (c, s) = tcp_pair(listener)?;
            Src::Tcp(s, feed(c, Arc::clone(data)))
        }
        SrcKind::Unix => {
            let (a, b) = unix_pair()?;
            Src::Unix(b, feed(a, Arc::clone(data)))
        }
        SrcKind::Zero => Src::Zero(File::open("/dev/zero")?.take(SAMPLE as u64)),
    })
}

fn make_dst(kind: DstKind, listener: &TcpListener, dir: &Path) -> io::Result<Dst> {
    Ok(match kind {
        DstKind::File => Dst::File(temp_file_in(dir)?),
        DstKind::Pipe => {
            let (r, w) = io::pipe()?;
            Dst::Pipe(w, drain(r))
        }
        DstKind::Tcp => {
            let (c, s) = tcp_pair(listener)?;
            Dst::Tcp(c, drain(s))
        }
        DstKind::Unix => {
            let (a, b) = unix_pair()?;
            Dst::Unix(a, drain(b))
        }
        DstKind::Null => Dst::Null(OpenOptions::new().write(true).open("/dev/null")?),
    })
}

/// The copy itself, with std's own types on both sides.
fn timed<R: Read, W: Write>(r: &mut R, w: &mut W) -> (Result<Report, CopyError>, f64) {
    let t = Instant::now();
    let res = Copier::new().copy_std(r, w);
    (res, t.elapsed().as_secs_f64())
}

fn copy_any(src: &mut Src, dst: &mut Dst) -> (Result<Report, CopyError>, f64) {
    macro_rules! into_dst {
        ($r:expr) => {
            match dst {
                Dst::File(w) | Dst::Null(w) => timed($r, w),
                Dst::Pipe(w, _) => timed($r, w),
                Dst::Tcp(w, _) => timed($r, w),
                Dst::Unix(w, _) => timed($r, w),
            }
        };
    }
    match src {
        Src::File(r) => into_dst!(r),
        Src::Pipe(r, _) => into_dst!(r),
        Src::Tcp(r, _) => into_dst!(r),
        Src::Unix(r, _) => into_dst!(r),
        Src::Zero(r) => into_dst!(r),
    }
}

/// Runs one pair and checks everything it can: the count, the bytes that arrived, the file
/// offsets, the peers' results.
fn run_pair(s: SrcKind, d: DstKind, ctx: &MatrixCtx) -> Row {
    let facts = Facts {
        src: s.fd_kind(),
        dst: d.fd_kind(),
        dst_append: false,
        same_file: false,
        size_hint: Some(SAMPLE as u64),
        page_cache: PageCache::Share,
        unavailable: 0,
    };
    let mut row = Row {
        src: s.name(),
        dst: d.name(),
        planned: fdcopy::plan(&facts).steps().to_vec(),
        strategy: None,
        strategies: Vec::new(),
        bytes: 0,
        seconds: 0.0,
        ok: false,
        error: None,
    };
    let expected: &[u8] = if s == SrcKind::Zero { &ctx.zeros } else { &ctx.data };
    let (mut dst, mut src) = match make_dst(d, &ctx.listener, &ctx.dir)
        .and_then(|dst| make_src(s, &ctx.data, &ctx.listener, &ctx.dir).map(|src| (dst, src)))
    {
        Ok(x) => x,
        Err(e) => {
            row.error = Some(format!("setup: {e}"));
            return row;
        }
    };
    let (res, secs) = copy_any(&mut src, &mut dst);
    row.seconds = secs;
    let mut problems = Vec::new();
    let report = match res {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("copy failed: {e}"));
            e.report().clone()
        }
    };
    row.bytes = report.written();
    row.strategy = (report.written() > 0).then(|| report.strategy());
    row.strategies = report.strategies().collect();
    if row.bytes != SAMPLE as u64 {
        problems.push(format!("count {} instead of {SAMPLE}", row.bytes));
    }

    // The source: its offset, its feeder (closing the reader first, so a feeder blocked on a
    // copy that stopped early gets EPIPE instead of waiting).
    let feeder = match src {
        Src::File(mut f) => {
            match f.stream_position() {
                Ok(p) if p == row.bytes => {}
                Ok(p) => problems.push(format!("source offset {p} after {} bytes", row.bytes)),
                Err(e) => problems.push(format!("source offset: {e}")),
            }
            None
        }
        Src::Pipe(r, h) => {
            drop(r);
            Some(h)
        }
        Src::Tcp(r, h) => {
            drop(r);
            Some(h)
        }
        Src::Unix(r, h) => {
            drop(r);
            Some(h)
        }
        Src::Zero(t) => {
            if t.limit() != SAMPLE as u64 - row.bytes {
                problems.push(format!("Take limit {} left after {} bytes", t.limit(), row.bytes));
            }
            None
        }
    };
    if let Some(h) = feeder {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) if problems.is_empty() => problems.push(format!("feeder: {e}")),
            Ok(Err(_)) => {}
            Err(_) => problems.push("feeder panicked".into()),
        }
    }

    // The destination: what arrived.
    let received: Option<io::Result<Vec<u8>>> = match dst {
        Dst::File(mut f) => {
            match f.stream_position() {
                Ok(p) if p == row.bytes => {}
                Ok(p) => problems.push(format!("destination offset {p} after {} bytes", row.bytes)),
                Err(e) => problems.push(format!("destination offset: {e}")),
            }
            let mut v = Vec::with_capacity(SAMPLE);
            Some(f.rewind().and_then(|_| f.read_to_end(&mut v)).map(|_| v))
        }
        Dst::Pipe(w, h) => {
            drop(w);
            Some(join_drain(h))
        }
        Dst::Tcp(w, h) => {
            let _ = w.shutdown(Shutdown::Write);
            drop(w);
            Some(join_drain(h))
        }
        Dst::Unix(w, h) => {
            let _ = w.shutdown(Shutdown::Write);
            drop(w);
            Some(join_drain(h))
        }
        // /dev/null keeps nothing: the count is all there is to check.
        Dst::Null(_) => None,
    };
    match received {
        Some(Ok(v)) if v.as_slice() == expected => {}
        Some(Ok(v)) => {
            let first = v.iter().zip(expected).position(|(a, b)| a != b);
            problems.push(match first {
                Some(i) => format!("{} bytes arrived, first difference at byte {i}", v.len()),
                None => format!("{} bytes arrived, {} expected", v.len(), expected.len()),
            });
        }
        Some(Err(e)) => problems.push(format!("reading the destination: {e}")),
        None => {}
    }
    row.ok = problems.is_empty();
    if !problems.is_empty() {
        row.error = Some(problems.join("; "));
    }
    row
}

fn join_drain(h: JoinHandle<io::Result<Vec<u8>>>) -> io::Result<Vec<u8>> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other("drain thread panicked")))
}

struct MatrixCtx {
    data: Arc<Vec<u8>>,
    zeros: Vec<u8>,
    listener: TcpListener,
    dir: PathBuf,
}

fn matrix(current: &Mutex<String>) -> Result<Vec<Row>, String> {
    let ctx = MatrixCtx {
        data: Arc::new(payload(SAMPLE, 1)),
        zeros: vec![0u8; SAMPLE],
        listener: TcpListener::bind("127.0.0.1:0").map_err(|e| format!("loopback listener: {e}"))?,
        dir: std::env::temp_dir(),
    };
    let mut rows = Vec::new();
    for s in SOURCES {
        for d in DESTINATIONS {
            if let Ok(mut c) = current.lock() {
                *c = format!("the copy {} -> {}", s.name(), d.name());
            }
            rows.push(run_pair(s, d, &ctx));
        }
    }
    Ok(rows)
}

// ------------------------------------------------------------------------------------------
// Output.

fn cfr_text(r: &Result<u64, String>) -> String {
    match r {
        Ok(n) => format!("works ({n} bytes, checked)"),
        Err(e) if e.starts_with("n/a") => e.clone(),
        Err(e) if e == "EXDEV" => "EXDEV (fdcopy falls back to sendfile)".into(),
        Err(e) => format!("fails: {e} (fdcopy falls back)"),
    }
}

fn reflink_text(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "yes (FICLONE works; copy_file_range shares extents)".into(),
        Err(e) => format!("no ({e})"),
    }
}

fn steps_text(steps: &[Strategy]) -> String {
    steps.iter().map(|s| s.name()).collect::<Vec<_>>().join(" > ")
}

fn setpipe_text(r: &Result<usize, i32>) -> String {
    match r {
        Ok(n) => format!("{n}"),
        Err(e) => errno_name(*e),
    }
}

fn print_human(kernel: &Kernel, syscalls: &[Syscall], pipes: &Pipes, fs: &Filesystems, uring: &IoUring, rows: &[Row]) {
    println!("fdcopy probe: Linux {} ({})", kernel.release, kernel.machine);
    println!();
    println!("syscalls (called with fd -1: EBADF = available, ENOSYS = not implemented, EPERM = denied)");
    for s in syscalls {
        println!("  {:<16} {:<28} {}", s.name, s.status, s.note);
    }
    println!();
    println!("pipes");
    let opt = |v: Option<usize>| v.map_or("unknown".to_string(), |n| n.to_string());
    println!("  {:<34} {}", "pipe-max-size", opt(pipes.max_size));
    println!("  {:<34} {}", "default capacity", opt(pipes.default_capacity));
    println!(
        "  {:<34} {}",
        "F_SETPIPE_SZ 1 MiB obtained",
        setpipe_text(&pipes.one_mib)
    );
    let above = match &pipes.above_max {
        Some(Ok(n)) => format!("{n} (CAP_SYS_RESOURCE)"),
        Some(Err(libc::EPERM)) => "EPERM (no CAP_SYS_RESOURCE)".to_string(),
        Some(Err(e)) => errno_name(*e),
        None => "not tried".to_string(),
    };
    println!("  {:<34} {}", "F_SETPIPE_SZ 2 x pipe-max-size", above);
    println!();
    let t = fs.temp_dir.display().to_string();
    println!("filesystems");
    println!("  {:<34} {} ({})", "temp dir", t, fs.temp_fs);
    println!("  {:<34} {}", "/dev/shm", fs.shm_fs.as_deref().unwrap_or("missing"));
    println!(
        "  {:<34} {}",
        format!("copy_file_range within {t}"),
        cfr_text(&fs.cfr_same)
    );
    println!(
        "  {:<34} {}",
        format!("copy_file_range {t} -> /dev/shm"),
        cfr_text(&fs.cfr_cross)
    );
    println!("  {:<34} {}", format!("reflink in {t}"), reflink_text(&fs.reflink));
    println!();
    println!("io_uring (informational: fdcopy does not use it)");
    let sysctl = match uring.sysctl {
        Some(0) => "0 (enabled)".to_string(),
        Some(1) => "1 (io_uring_group only)".to_string(),
        Some(2) => "2 (disabled)".to_string(),
        Some(n) => n.to_string(),
        None => "absent (kernel < 6.6)".to_string(),
    };
    println!("  {:<34} {}", "kernel.io_uring_disabled", sysctl);
    let setup = match uring.setup_errno {
        Some(e) => errno_name(e),
        None => "succeeded".to_string(),
    };
    println!("  {:<34} {} -> {}", "io_uring_setup(0, NULL)", setup, uring.status());
    println!();
    println!(
        "live matrix: {} MiB per pair through fdcopy::Copier::copy_std with std types",
        SAMPLE >> 20
    );
    println!("  (planned: fdcopy::plan for the pair before any errno; strategy: what moved the most bytes)");
    let header = ["src", "dst", "planned", "strategy", "MiB/s", "bytes", "ok"];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let mut strategy = r.strategy.map_or("-".to_string(), |s| s.name().to_string());
            if r.strategies.len() > 1 {
                let others: Vec<String> = r
                    .strategies
                    .iter()
                    .filter(|(s, _)| Some(*s) != r.strategy)
                    .map(|(s, n)| format!("{} {n}", s.name()))
                    .collect();
                strategy = format!("{strategy} (+{})", others.join(", "));
            }
            [
                r.src.to_string(),
                r.dst.to_string(),
                steps_text(&r.planned),
                strategy,
                format!("{:.0}", r.mib_per_s()),
                r.bytes.to_string(),
                if r.ok { "yes".to_string() } else { "NO".to_string() },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut s = String::from(" ");
        for (i, (cell, w)) in c.iter().zip(width).enumerate() {
            // Numbers right-aligned.
            if i == 4 || i == 5 {
                s.push_str(&format!(" {cell:>w$}"));
            } else {
                s.push_str(&format!(" {cell:<w$}"));
            }
        }
        s.trim_end().to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for c in &cells {
        println!("{}", line(c));
    }
    for r in rows.iter().filter(|r| r.error.is_some()) {
        println!("  {} -> {}: {}", r.src, r.dst, r.error.as_deref().unwrap_or(""));
    }
    let good = rows.iter().filter(|r| r.ok).count();
    println!("  {good}/{} pairs delivered every byte intact", rows.len());
}

/// Everything `print_human` shows, as one JSON object.
fn to_json(
    kernel: &Kernel,
    syscalls: &[Syscall],
    pipes: &Pipes,
    fs: &Filesystems,
    uring: &IoUring,
    rows: &[Row],
) -> String {
    let mut j = Json::default();
    j.open('{');
    j.field_str("kernel", &kernel.release);
    j.field_str("machine", &kernel.machine);
    j.key("syscalls");
    j.open('{');
    for s in syscalls {
        j.field_str(s.name, &s.status);
    }
    j.close('}');
    j.key("syscall_errnos");
    j.open('{');
    for s in syscalls {
        j.field_opt_str(s.name, s.errno.map(errno_name).as_deref());
    }
    j.close('}');
    j.key("pipes");
    j.open('{');
    j.field_opt_int("pipe_max_size", pipes.max_size.map(|n| n as u64));
    j.field_opt_int("default_capacity", pipes.default_capacity.map(|n| n as u64));
    setpipe_field(&mut j, "setpipe_1mib", &pipes.one_mib);
    match &pipes.above_max {
        Some(r) => setpipe_field(&mut j, "setpipe_above_max", r),
        None => j.field_raw("setpipe_above_max", "null"),
    }
    j.close('}');
    j.key("filesystems");
    j.open('{');
    j.field_str("temp_dir", &fs.temp_dir.display().to_string());
    j.field_str("temp_fs", &fs.temp_fs);
    j.field_opt_str("shm_fs", fs.shm_fs.as_deref());
    result_field(&mut j, "cfr_same_fs", fs.cfr_same.as_ref().map(|&n| Some(n)));
    result_field(&mut j, "cfr_temp_to_shm", fs.cfr_cross.as_ref().map(|&n| Some(n)));
    result_field(&mut j, "reflink", fs.reflink.as_ref().map(|()| None));
    j.close('}');
    j.key("io_uring");
    j.open('{');
    j.field_str("status", &uring.status());
    j.field_opt_int("io_uring_disabled", uring.sysctl);
    j.field_opt_str("setup_errno", uring.setup_errno.map(errno_name).as_deref());
    j.close('}');
    j.field_int("sample_bytes", SAMPLE as u64);
    j.key("matrix");
    j.open('[');
    for r in rows {
        j.open('{');
        j.field_str("src", r.src);
        j.field_str("dst", r.dst);
        j.field_opt_str("strategy", r.strategy.map(Strategy::name));
        j.field_int("bytes", r.bytes);
        j.field_bool("ok", r.ok);
        j.field_raw("mib_per_s", &format!("{:.1}", r.mib_per_s()));
        j.field_raw("seconds", &format!("{:.6}", r.seconds));
        j.key("planned");
        j.open('[');
        for s in &r.planned {
            j.item_str(s.name());
        }
        j.close(']');
        j.key("strategies");
        j.open('{');
        for (s, n) in &r.strategies {
            j.field_int(s.name(), *n);
        }
        j.close('}');
        j.field_opt_str("error", r.error.as_deref());
        j.close('}');
    }
    j.close(']');
    j.close('}');
    j.finish()
}

/// An `F_SETPIPE_SZ` result: the capacity obtained, or the errno's name.
fn setpipe_field(j: &mut Json, name: &str, r: &Result<usize, i32>) {
    match r {
        Ok(n) => j.field_int(name, *n as u64),
        Err(e) => j.field_str(name, &errno_name(*e)),
    }
}

/// `{"ok":true,"bytes":N}` (no `bytes` for `None`) or `{"ok":false,"error":"..."}`.
fn result_field(j: &mut Json, name: &str, r: Result<Option<u64>, &String>) {
    j.key(name);
    j.open('{');
    match r {
        Ok(bytes) => {
            j.field_bool("ok", true);
            if let Some(n) = bytes {
                j.field_int("bytes", n);
            }
        }
        Err(e) => {
            j.field_bool("ok", false);
            j.field_str("error", e);
        }
    }
    j.close('}');
}
