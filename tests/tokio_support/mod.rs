//! Fixtures for the async tests: both tokio runtimes, real descriptors whose tested end is a
//! tokio type and whose far end is a std peer on a thread of its own (the testkit's `feed` and
//! `drain`), and checks of content and file positions.
#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::time::Duration;

use fdcopy_testkit::{Pattern, Peer, Verifier};

/// Generous bound on anything a test waits for: a hang fails the test instead of the run.
pub const HANG: Duration = Duration::from_secs(60);

/// Runs `f` on a current_thread runtime and on a multi_thread one (2 workers), each bounded
/// by [`HANG`].
pub fn both<F, Fut>(f: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for (name, rt) in runtimes() {
        rt.block_on(async {
            tokio::time::timeout(HANG, f(name))
                .await
                .unwrap_or_else(|_| panic!("{name}: still running after {HANG:?}"))
        });
    }
}

pub fn runtimes() -> [(&'static str, tokio::runtime::Runtime); 2] {
    [
        (
            "current_thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        ),
        (
            "multi_thread",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ]
}

/// A loopback TCP pair: the tokio end, and the std peer end (blocking, with timeouts).
pub fn tcp() -> (tokio::net::TcpStream, std::net::TcpStream) {
    let (a, b) = fdcopy_testkit::tcp_pair(HANG).unwrap();
    a.set_nonblocking(true).unwrap();
    (tokio::net::TcpStream::from_std(a).unwrap(), b)
}

/// A unix stream pair: the tokio end, and the std peer end.
pub fn unix() -> (tokio::net::UnixStream, std::os::unix::net::UnixStream) {
    let (a, b) = fdcopy_testkit::unix_pair(HANG).unwrap();
    a.set_nonblocking(true).unwrap();
    (tokio::net::UnixStream::from_std(a).unwrap(), b)
}

/// A pipe whose read end is tokio's and whose write end is a blocking std one.
pub fn pipe_to_tokio() -> (tokio::net::unix::pipe::Receiver, std::io::PipeWriter) {
    let (r, w) = std::io::pipe().unwrap();
    let r = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(r)).unwrap();
    (r, w)
}

/// A pipe whose write end is tokio's and whose read end is a blocking std one.
pub fn pipe_from_tokio() -> (tokio::net::unix::pipe::Sender, std::io::PipeReader) {
    let (r, w) = std::io::pipe().unwrap();
    let w = tokio::net::unix::pipe::Sender::from_owned_fd(OwnedFd::from(w)).unwrap();
    (w, r)
}

/// A temporary file (on `$TMPDIR`, or on tmpfs with `shm`) holding stream `seed`'s first
/// `len` bytes, positioned at 0.
pub fn file_with_payload(len: u64, seed: u64, shm: bool) -> File {
    let mut f = if shm {
        tempfile::tempfile_in("/dev/shm").unwrap()
    } else {
        tempfile::tempfile().unwrap()
    };
    fdcopy_testkit::write_payload(&mut f, seed, 0, len).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// A std peer that writes stream `seed`'s first `len` bytes into `w`, then closes it.
pub fn feed<W: Write + Send + 'static>(mut w: W, len: u64, seed: u64) -> Peer<()> {
    Peer::spawn(move || fdcopy_testkit::write_payload(&mut w, seed, 0, len))
}

/// A std peer that reads `r` to its end, checking every byte against stream `seed`; returns
/// how many bytes arrived.
pub fn verify<R: Read + Send + 'static>(mut r: R, seed: u64) -> Peer<u64> {
    Peer::spawn(move || {
        let mut v = Verifier::new(Pattern::shared(), seed, 0);
        fdcopy_testkit::verify_reader(&mut r, &mut v, u64::MAX).map_err(std::io::Error::other)
    })
}

/// Checks that `f` holds exactly stream `seed`'s first `len` bytes; its position is kept.
pub fn check_file(f: &mut File, len: u64, seed: u64, what: &str) {
    let pos = f.stream_position().unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut v = Verifier::new(Pattern::shared(), seed, 0);
    let n = fdcopy_testkit::verify_reader(f, &mut v, len).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(n, len, "{what}: file length");
    f.seek(SeekFrom::Start(pos)).unwrap();
}

/// The file position of a tokio file as the caller sees it.
pub async fn position(f: &mut tokio::fs::File) -> u64 {
    use tokio::io::AsyncSeekExt;
    f.stream_position().await.unwrap()
}

/// The number of open descriptors of this process, and how many of them are pipes.
pub fn fds() -> (usize, usize) {
    let mut all = 0;
    let mut pipes = 0;
    for e in std::fs::read_dir("/proc/self/fd").unwrap() {
        let e = e.unwrap();
        all += 1;
        if let Ok(t) = std::fs::read_link(e.path()) {
            if t.to_string_lossy().starts_with("pipe:") {
                pipes += 1;
            }
        }
    }
    (all, pipes)
}
