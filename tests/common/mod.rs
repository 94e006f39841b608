//! Fixtures on real descriptors shared by the integration tests: payloads, files, pipes and
//! loopback sockets with a peer thread on the other end.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::Duration;

/// Print why a test is skipped and return from it.
#[macro_export]
macro_rules! skip {
    ($($why:tt)*) => {{
        eprintln!("SKIP {}: {}", std::thread::current().name().unwrap_or("?"), format!($($why)*));
        return;
    }};
}

/// A deterministic, non-repeating payload of `len` bytes (xorshift), different per `seed`.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
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
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    for x in [&c, &s] {
        x.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        x.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    }
    (c, s)
}

/// A connected unix stream pair.
pub fn unix_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    for x in [&a, &b] {
        x.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        x.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    }
    (a, b)
}

/// A thread that writes `data` into `w`, then drops it (end of file for the reader).
pub fn feed<W: Write + Send + 'static>(mut w: W, data: Vec<u8>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        w.write_all(&data).unwrap();
    })
}

/// A thread that reads `r` to its end and returns what it read.
pub fn drain<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    })
}

/// The `O_APPEND`/`O_NONBLOCK`/access-mode flags of a descriptor, to check that a copy left
/// them as they were.
pub fn fd_flags(fd: &impl std::os::fd::AsFd) -> rustix::fs::OFlags {
    rustix::fs::fcntl_getfl(fd).unwrap()
}
