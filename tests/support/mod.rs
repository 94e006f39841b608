//! Helpers of the fault-injection suite (`faults_*.rs`, `no_userspace.rs`): re-exec'd children
//! (Pattern B), bounded runs, private tmpfs mounts, lenient peers for copies that fail on
//! purpose, descriptor counting, and a copy matrix over files, pipes, TCP and unix sockets that
//! dispatches on concrete std types (so `Copier::copy` recognises them).
#![allow(dead_code)]

pub mod seccomp;

use std::ffi::CString;
use std::fs::File;
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fdcopy::table::{Facts, FdKind};
use fdcopy::{Copier, CopyError, PageCache, Report};

// ---------------------------------------------------------------------------------------------
// Pattern B: re-exec this test binary to run one test in a process of its own.

/// The environment variable that tells a re-exec'd child which case to run.
pub const CHILD_ENV: &str = "FDCOPY_FAULT_CHILD";

/// The case this process was re-exec'd for, if it is a child (in a normal run: `None`, and the
/// child entry test returns at once).
pub fn child_case() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// What a child process did.
pub struct ChildRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ChildRun {
    /// The signal that killed the child, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

/// Runs test `test` of this binary alone in a child process with `CHILD_ENV=case`, killing it
/// after `limit`.
pub fn run_child(test: &str, case: &str, limit: Duration) -> ChildRun {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, case)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let ho = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let he = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let st = child.wait().unwrap();
            let (o, e) = (ho.join().unwrap(), he.join().unwrap());
            panic!("child {case}: no end within {limit:?} (hang), killed ({st:?})\n--- stdout\n{o}\n--- stderr\n{e}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    ChildRun {
        status,
        stdout: ho.join().unwrap(),
        stderr: he.join().unwrap(),
    }
}

/// Runs a child that must print `CHILD-OK <case>` (or `CHILD-SKIP <case>: why`) and exit 0;
/// echoes its output (SKIP lines, measurements) to stderr.
pub fn expect_child_ok(test: &str, case: &str, limit: Duration) -> ChildRun {
    let run = run_child(test, case, limit);
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        // libtest prints `test child ... ` without a newline before the child's first line.
        if let Some(i) = ["SKIP", "INFO", "CHILD-SKIP"].iter().filter_map(|m| line.find(m)).min() {
            eprintln!("[{case}] {}", &line[i..]);
        }
    }
    let ok = run.stdout.contains(&format!("CHILD-OK {case}\n")) || run.stdout.contains(&format!("CHILD-SKIP {case}:"));
    assert!(
        run.status.success() && ok,
        "child {case} failed: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
    run
}

// ---------------------------------------------------------------------------------------------
// Bounded runs.

/// Runs `f` on a thread named `what` and returns its result; a panic in `f` is re-raised, and
/// no answer within `limit` fails the test as a hang (the thread is left behind).
pub fn bounded<T: Send + 'static>(what: &str, limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let h = thread::Builder::new()
        .name(what.to_string())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .unwrap();
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => {
            h.join().unwrap();
            v
        }
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("{what}: no answer within {limit:?} (hang)"),
    }
}

// ---------------------------------------------------------------------------------------------
// Descriptors.

/// The number of entries of `/proc/self/fd` (the directory's own descriptor included, the
/// same way every time).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// What `/proc/self/fd/<fd>` points to.
pub fn fd_target(fd: i32) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// The file offset of a descriptor.
pub fn offset(fd: BorrowedFd<'_>) -> u64 {
    rustix::fs::seek(fd, rustix::fs::SeekFrom::Current(0)).unwrap()
}

/// The facts the engine will see for this pair (kinds by `classify`, the size hint for a file
/// source, `O_APPEND` of a file destination), with the default page-cache policy and every
/// syscall available.
pub fn facts(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Facts {
    let s = fdcopy::table::classify(src).unwrap();
    let d = fdcopy::table::classify(dst).unwrap();
    let size_hint = (s == FdKind::File).then(|| rustix::fs::fstat(src).unwrap().st_size as u64);
    let dst_append = d == FdKind::File
        && rustix::fs::fcntl_getfl(dst)
            .unwrap()
            .contains(rustix::fs::OFlags::APPEND);
    let mut f = Facts::new(s, d);
    f.dst_append = dst_append;
    f.size_hint = size_hint;
    assert_eq!(f.page_cache, PageCache::Share);
    f
}

/// A short errno name for messages.
pub fn errno_name(e: i32) -> &'static str {
    match e {
        libc::ENOSYS => "ENOSYS",
        libc::EPERM => "EPERM",
        libc::EINVAL => "EINVAL",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EXDEV => "EXDEV",
        libc::EBADF => "EBADF",
        libc::EIO => "EIO",
        libc::ENOSPC => "ENOSPC",
        libc::EFBIG => "EFBIG",
        libc::EPIPE => "EPIPE",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOTCONN => "ENOTCONN",
        libc::EISDIR => "EISDIR",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EMFILE => "EMFILE",
        _ => "E?",
    }
}

// ---------------------------------------------------------------------------------------------
// Mount namespaces and private tmpfs.

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

/// Gives the calling thread a private mount namespace (once per thread): the kit's, shared
/// with `cargo xtask`.
pub use fdcopy_testkit::fs::private_mount_ns;

/// A mount point in the thread's private namespace, lazily unmounted on drop (before its
/// temporary directory is removed).
pub struct Mount {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Mount {
    fn drop(&mut self) {
        let c = cstr(&self.path);
        // SAFETY: a valid C string; detaching a mount of this thread's private namespace.
        unsafe {
            libc::umount2(c.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// A tmpfs of `size` (mount option syntax: `1m`, `64k`) mounted privately for this thread.
pub fn private_tmpfs(size: &str) -> Result<Mount, String> {
    private_mount_ns()?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let target = cstr(&path);
    let opts = CString::new(format!("size={size}")).unwrap();
    // SAFETY: valid C strings; the mount lives in this thread's private namespace.
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            opts.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(format!("mount tmpfs: {}", io::Error::last_os_error()));
    }
    Ok(Mount { path, _dir: dir })
}

/// A mount point made by `mount_cmd` (run from this thread, so inside its private namespace).
pub fn private_mount(mount_cmd: &mut Command) -> Result<Mount, String> {
    private_mount_ns()?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    sh(mount_cmd.arg(&path))?;
    Ok(Mount { path, _dir: dir })
}

/// A loop-mounted filesystem made by `mkfs`, in this thread's private mount namespace; the
/// image file lives in a temporary directory that goes with it (after the mount).
pub struct LoopFs {
    pub mount: Mount,
    _img: tempfile::TempDir,
}

/// A filesystem of `size` bytes made by `mkfs` (`mkfs.xfs`, `mkfs.btrfs`, `mkfs.ext4`), its
/// image in `$TMPDIR`. An `Err` is the reason to skip (tool missing, no loop device, no
/// CAP_SYS_ADMIN).
pub fn loop_fs(mkfs: &str, size: u64) -> Result<LoopFs, String> {
    loop_fs_in(mkfs, size, &std::env::temp_dir())
}

/// The same with the image in `dir` (on tmpfs, `/dev/shm`: no disk I/O at all; the image is
/// sparse, so it takes only what the filesystem writes).
pub fn loop_fs_in(mkfs: &str, size: u64, dir: &Path) -> Result<LoopFs, String> {
    if Command::new(mkfs).arg("-V").output().is_err() {
        return Err(format!("{mkfs} not installed (run .ci/fs-setup.sh)"));
    }
    if !Path::new("/dev/loop-control").exists() {
        return Err("no /dev/loop-control".into());
    }
    private_mount_ns()?;
    let img_dir = tempfile::tempdir_in(dir).map_err(|e| format!("image dir in {}: {e}", dir.display()))?;
    let img = img_dir.path().join("fs.img");
    File::create(&img).unwrap().set_len(size).unwrap();
    let force = if mkfs == "mkfs.ext4" { "-F" } else { "-f" };
    sh(Command::new(mkfs).args(["-q", force]).arg(&img))?;
    let mount = private_mount(Command::new("mount").args(["-o", "loop"]).arg(&img))?;
    Ok(LoopFs { mount, _img: img_dir })
}

/// Runs a command with no terminal I/O (daemons such as bindfs keep their stdio open), its
/// stderr in a temporary file; an error carries the exit status and that stderr.
pub fn sh(cmd: &mut Command) -> Result<(), String> {
    let log = tempfile::tempfile().unwrap();
    let st = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.try_clone().unwrap())
        .status()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if st.success() {
        return Ok(());
    }
    let mut msg = String::new();
    let mut log = log;
    use std::io::Seek;
    log.rewind().unwrap();
    let _ = log.read_to_string(&mut msg);
    Err(format!("{cmd:?}: {st}: {}", msg.trim()))
}

/// The filesystem type (`f_type`) of a path, as statfs reports it.
pub fn fs_type(p: &Path) -> i64 {
    let c = cstr(p);
    // SAFETY: `st` is a plain C struct the kernel fills; `c` is a valid C string.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        assert_eq!(libc::statfs(c.as_ptr(), &mut st), 0, "statfs {}", p.display());
        st.f_type as i64
    }
}

/// Free bytes for unprivileged writers on the filesystem of a path.
pub fn fs_avail(p: &Path) -> u64 {
    let c = cstr(p);
    // SAFETY: as in `fs_type`.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr(), &mut st), 0);
        st.f_bavail as u64 * st.f_frsize as u64
    }
}

// ---------------------------------------------------------------------------------------------
// Peers that tolerate a copy failing on purpose.

/// Writes `data` into `w` until done or an error (the reader went away), then drops `w`.
/// Returns the bytes `w` accepted.
pub fn feed_lenient<W: Write + Send + 'static>(mut w: W, data: Arc<Vec<u8>>) -> JoinHandle<u64> {
    thread::spawn(move || {
        let mut done = 0usize;
        while done < data.len() {
            let end = (done + (256 << 10)).min(data.len());
            match w.write(&data[done..end]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        done as u64
    })
}

/// Reads `r` until end of file or an error (a reset), returning what arrived.
pub fn drain_lenient<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut v = Vec::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => v.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        v
    })
}

/// Asserts `got == want` without printing megabytes: sizes and the first differing offset.
pub fn same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let i = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: got {} bytes, want {}; first difference at offset {i}",
            got.len(),
            want.len()
        );
    }
}

/// Asserts that `got` is exactly the first `got.len()` bytes of `want`.
pub fn is_prefix(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got.len() <= want.len(),
        "{what}: {} bytes, more than the {} sent",
        got.len(),
        want.len()
    );
    same_bytes(got, &want[..got.len()], what);
}

/// The whole content of a file, read through a new descriptor (opened on `/proc/self/fd/N`):
/// the file's own offset stays where the copy left it, and a seccomp filter matching the
/// number `N` does not apply.
pub fn file_bytes(f: &File) -> Vec<u8> {
    std::fs::read(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The copy matrix: every kind of end, with a peer thread where one is needed.

/// A kind of descriptor at one end of a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// A temporary file in `$TMPDIR` (ext4 here).
    File,
    /// A temporary file in `/dev/shm` (tmpfs): another filesystem than `File`.
    ShmFile,
    /// An anonymous pipe.
    Pipe,
    /// A loopback TCP connection.
    Tcp,
    /// A unix stream socket pair.
    Unix,
}

/// Every kind of end.
pub const ENDS: [End; 4] = [End::File, End::Pipe, End::Tcp, End::Unix];

/// The descriptor a copy reads.
pub enum Src {
    File(File),
    Pipe(PipeReader),
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// The descriptor a copy writes.
pub enum Dst {
    File(File),
    Pipe(PipeWriter),
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A source end: the descriptor and the thread feeding its other end.
pub struct Source {
    pub side: Src,
    feeder: Option<JoinHandle<u64>>,
}

/// A destination end: the descriptor and the thread draining its other end.
pub struct Sink {
    pub side: Dst,
    drainer: Option<JoinHandle<Vec<u8>>>,
}

impl Src {
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Src::File(x) => x.as_fd(),
            Src::Pipe(x) => x.as_fd(),
            Src::Tcp(x) => x.as_fd(),
            Src::Unix(x) => x.as_fd(),
        }
    }
}

impl Dst {
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Dst::File(x) => x.as_fd(),
            Dst::Pipe(x) => x.as_fd(),
            Dst::Tcp(x) => x.as_fd(),
            Dst::Unix(x) => x.as_fd(),
        }
    }
}

/// A source of kind `end` that yields `data` (a file positioned at 0, or a peer thread writing).
pub fn source(end: End, data: &Arc<Vec<u8>>) -> Source {
    match end {
        End::File => Source {
            side: Src::File(crate::common::file_with(data, 0)),
            feeder: None,
        },
        End::ShmFile => Source {
            side: Src::File(crate::common::shm_file_with(data, 0)),
            feeder: None,
        },
        End::Pipe => {
            let (r, w) = io::pipe().unwrap();
            Source {
                side: Src::Pipe(r),
                feeder: Some(feed_lenient(w, data.clone())),
            }
        }
        End::Tcp => {
            let (c, s) = crate::common::tcp_pair();
            Source {
                side: Src::Tcp(s),
                feeder: Some(feed_lenient(c, data.clone())),
            }
        }
        End::Unix => {
            let (a, b) = crate::common::unix_pair();
            Source {
                side: Src::Unix(b),
                feeder: Some(feed_lenient(a, data.clone())),
            }
        }
    }
}

/// A source reading an existing file from its current offset.
pub fn file_source(f: File) -> Source {
    Source {
        side: Src::File(f),
        feeder: None,
    }
}

/// A destination of kind `end` (an empty file, or a peer thread reading to the end).
pub fn sink(end: End) -> Sink {
    match end {
        End::File => Sink {
            side: Dst::File(tempfile::tempfile().unwrap()),
            drainer: None,
        },
        End::ShmFile => Sink {
            side: Dst::File(tempfile::tempfile_in("/dev/shm").unwrap()),
            drainer: None,
        },
        End::Pipe => {
            let (r, w) = io::pipe().unwrap();
            Sink {
                side: Dst::Pipe(w),
                drainer: Some(drain_lenient(r)),
            }
        }
        End::Tcp => {
            let (c, s) = crate::common::tcp_pair();
            Sink {
                side: Dst::Tcp(c),
                drainer: Some(drain_lenient(s)),
            }
        }
        End::Unix => {
            let (a, b) = crate::common::unix_pair();
            Sink {
                side: Dst::Unix(a),
                drainer: Some(drain_lenient(b)),
            }
        }
    }
}

impl Source {
    /// Closes the source (a feeder still writing gets an error and stops), waits for the
    /// feeder, and returns the file offset for a file source.
    pub fn finish(self) -> Option<u64> {
        let pos = match &self.side {
            Src::File(f) => Some(offset(f.as_fd())),
            _ => None,
        };
        drop(self.side);
        if let Some(h) = self.feeder {
            h.join().unwrap();
        }
        pos
    }
}

impl Sink {
    /// Closes the destination and returns what reached its other end, and the file offset for a
    /// file destination.
    pub fn finish(self) -> (Vec<u8>, Option<u64>) {
        match self.side {
            Dst::File(f) => (file_bytes(&f), Some(offset(f.as_fd()))),
            side => {
                drop(side);
                (self.drainer.unwrap().join().unwrap(), None)
            }
        }
    }
}

/// `copier.copy(src, dst)` on the concrete std types (the drop-in recognises them).
pub fn run_copy(c: &mut Copier<'_>, src: &mut Src, dst: &mut Dst) -> Result<Report, CopyError> {
    fn to<R: Read>(c: &mut Copier<'_>, r: &mut R, dst: &mut Dst) -> Result<Report, CopyError> {
        match dst {
            Dst::File(w) => c.copy(r, w),
            Dst::Pipe(w) => c.copy(r, w),
            Dst::Tcp(w) => c.copy(r, w),
            Dst::Unix(w) => c.copy(r, w),
        }
    }
    match src {
        Src::File(r) => to(c, r, dst),
        Src::Pipe(r) => to(c, r, dst),
        Src::Tcp(r) => to(c, r, dst),
        Src::Unix(r) => to(c, r, dst),
    }
}

/// `fdcopy::go::copy_n(dst, src, n)` on the concrete types.
pub fn run_copy_n(src: &mut Src, dst: &mut Dst, n: u64) -> Result<u64, CopyError> {
    fn to<R: fdcopy::CopySource>(r: &mut R, dst: &mut Dst, n: u64) -> Result<u64, CopyError> {
        match dst {
            Dst::File(w) => fdcopy::go::copy_n(w, r, n),
            Dst::Pipe(w) => fdcopy::go::copy_n(w, r, n),
            Dst::Tcp(w) => fdcopy::go::copy_n(w, r, n),
            Dst::Unix(w) => fdcopy::go::copy_n(w, r, n),
        }
    }
    match src {
        Src::File(r) => to(r, dst, n),
        Src::Pipe(r) => to(r, dst, n),
        Src::Tcp(r) => to(r, dst, n),
        Src::Unix(r) => to(r, dst, n),
    }
}

/// One whole copy of `data` from an `s` end to a `d` end with default options, checked: exact
/// bytes, count, both file offsets. Returns the report.
pub fn checked_copy(s: End, d: End, data: &Arc<Vec<u8>>) -> Report {
    let mut src = source(s, data);
    let mut dst = sink(d);
    let r = run_copy(&mut Copier::new(), &mut src.side, &mut dst.side);
    let spos = src.finish();
    let (got, dpos) = dst.finish();
    let r = r.unwrap_or_else(|e| panic!("{s:?} -> {d:?}: {e:?}"));
    let what = format!("{s:?} -> {d:?} ({r:?})");
    assert_eq!(r.written(), data.len() as u64, "{what}");
    same_bytes(&got, data, &what);
    if let Some(p) = spos {
        assert_eq!(p, data.len() as u64, "{what}: source offset");
    }
    if let Some(p) = dpos {
        assert_eq!(p, data.len() as u64, "{what}: destination offset");
    }
    r
}
