//! Fixtures on real descriptors shared by the integration tests: files, and loopback socket
//! pairs that panic instead of returning errors. Payloads and the peer threads on the far end
//! of a descriptor (`payload`, `feed`, `drain`) are `fdcopy_testkit`'s.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Read and write timeouts of every socket pair.
const PAIR_TIMEOUT: Duration = Duration::from_secs(60);

/// Print why a test is skipped and return from it.
#[macro_export]
macro_rules! skip {
    ($($why:tt)*) => {{
        eprintln!("SKIP {}: {}", std::thread::current().name().unwrap_or("?"), format!($($why)*));
        return;
    }};
}

/// A temporary file in `$TMPDIR` holding `data`, positioned at `pos`.
pub fn file_with(data: &[u8], pos: u64) -> File {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    f
}

/// A temporary file on tmpfs (`/dev/shm`) holding `data`, positioned at `pos`.
pub fn shm_file_with(data: &[u8], pos: u64) -> File {
    let mut f = tempfile::tempfile_in("/dev/shm").unwrap();
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    f
}

/// The whole content of a file, and its current offset (restored afterwards).
pub fn contents(f: &mut File) -> (Vec<u8>, u64) {
    let pos = f.stream_position().unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    (v, pos)
}

/// A connected loopback TCP pair (client, server side).
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    fdcopy_testkit::tcp_pair(PAIR_TIMEOUT).unwrap()
}

/// A connected unix stream pair.
pub fn unix_pair() -> (UnixStream, UnixStream) {
    fdcopy_testkit::unix_pair(PAIR_TIMEOUT).unwrap()
}

/// The `O_APPEND`/`O_NONBLOCK`/access-mode flags of a descriptor, to check that a copy left
/// them as they were.
pub fn fd_flags(fd: &impl std::os::fd::AsFd) -> rustix::fs::OFlags {
    rustix::fs::fcntl_getfl(fd).unwrap()
}
