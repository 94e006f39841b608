//! `async_pairs`: `fdcopy::tokio` between real descriptors (tokio's TCP and unix sockets and
//! pipes, `tokio::fs::File`s on /dev/shm), on a current_thread or a multi_thread runtime,
//! through the drop-in `copy` or the resumable `Copier` (whose future a `select!` drops as
//! many times as the input says), with `Take` limits, `BufReader`s holding pre-read bytes, a
//! small pipe budget and file I/O inline or on the blocking pool. Checked: the count, every
//! byte at the destination, the bytes past a limit still in the source, file positions, and
//! that nothing is left in flight.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::time::Duration;

use fdcopy::tokio::{Copier, FileIo, PipeSize};
use fdcopy_testkit::{tcp_pair_on, Peer};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt};

/// Largest payload: several bursts of a small pipe, without making a run slow.
pub const MAX_DATA: u32 = 1 << 20;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Pipe,
    Tcp,
    Unix,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Input {
    pub src: Kind,
    pub dst: Kind,
    pub len: u32,
    pub seed: u8,
    /// A `Take` limit on the source.
    pub limit: Option<u32>,
    /// A `BufReader` of this capacity around the source, and bytes pre-read (filled) into it.
    pub bufreader: Option<u16>,
    /// The drop-in (`false`) or the `Copier` (`true`).
    pub copier: bool,
    /// How many times a `select!` drops the copy's future before letting it finish.
    pub interrupts: u8,
    pub multi_thread: bool,
    /// `PipeSize::Max` of 4 KiB × this (0: `Auto`).
    pub pipe_pages: u8,
    pub blocking_files: bool,
}

fn runtime(multi: bool) -> &'static tokio::runtime::Runtime {
    static CURRENT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    static MULTI: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if multi {
        MULTI.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        })
    } else {
        CURRENT.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        })
    }
}

fn listener() -> &'static TcpListener {
    static L: OnceLock<TcpListener> = OnceLock::new();
    L.get_or_init(|| TcpListener::bind("127.0.0.1:0").expect("loopback listener"))
}

fn tcp() -> (tokio::net::TcpStream, TcpStream) {
    let (a, b) = tcp_pair_on(listener(), IO_TIMEOUT).unwrap();
    // No TIME_WAIT pile-up over thousands of runs.
    let _ = rustix::net::sockopt::set_socket_linger(&b, Some(Duration::ZERO));
    a.set_nonblocking(true).unwrap();
    (tokio::net::TcpStream::from_std(a).unwrap(), b)
}

fn unix() -> (tokio::net::UnixStream, std::os::unix::net::UnixStream) {
    let (a, b) = fdcopy_testkit::unix_pair(IO_TIMEOUT).unwrap();
    a.set_nonblocking(true).unwrap();
    (tokio::net::UnixStream::from_std(a).unwrap(), b)
}

fn shm_file(data: &[u8]) -> File {
    let mut f = tempfile_in_shm();
    f.write_all(data).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

fn tempfile_in_shm() -> File {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm".into()
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!(
        ".fdcopy-afuzz-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f
}

/// The source's far end: a std peer that writes the data, then closes (end of file).
fn feed<W: Write + Send + 'static>(mut w: W, data: Vec<u8>) -> Peer<()> {
    Peer::spawn(move || {
        w.write_all(&data)?;
        Ok(())
    })
}

/// The destination's far end: a std peer that reads to end of file.
fn drain<R: Read + Send + 'static>(mut r: R) -> Peer<Vec<u8>> {
    Peer::spawn(move || {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(v)
    })
}

pub fn run(input: Input) {
    let len = (input.len % (MAX_DATA + 1)) as usize;
    let data = fdcopy_testkit::payload(len, input.seed as u64);
    runtime(input.multi_thread).block_on(async move {
        tokio::time::timeout(Duration::from_secs(30), one(&input, data))
            .await
            .unwrap_or_else(|_| panic!("hang: {input:?}"))
    });
}

async fn one(input: &Input, data: Vec<u8>) {
    let len = data.len() as u64;
    let limit = input.limit.map(|l| l as u64 % (len + 2));
    let want = limit.map_or(len, |l| l.min(len));
    // The destination.
    macro_rules! dst_then {
        ($src:ident) => {
            match input.dst {
                Kind::File => {
                    let mut f = tokio::fs::File::from_std(tempfile_in_shm());
                    let (n, rest) = copy(input, &mut $src, &mut f, limit).await;
                    assert_eq!(n, want, "{input:?}");
                    assert_eq!(f.stream_position().await.unwrap(), want, "destination position");
                    let mut got = Vec::new();
                    f.seek(SeekFrom::Start(0)).await.unwrap();
                    f.read_to_end(&mut got).await.unwrap();
                    check(&got, &data[..want as usize], input);
                    check(&rest, &data[want as usize..], input);
                }
                Kind::Pipe => {
                    let (r, w) = std::io::pipe().unwrap();
                    let mut w = tokio::net::unix::pipe::Sender::from_owned_fd(OwnedFd::from(w)).unwrap();
                    let reader = drain(r);
                    let (n, rest) = copy(input, &mut $src, &mut w, limit).await;
                    drop(w);
                    assert_eq!(n, want, "{input:?}");
                    check(&reader.join().unwrap(), &data[..want as usize], input);
                    check(&rest, &data[want as usize..], input);
                }
                Kind::Tcp => {
                    let (mut t, far) = tcp();
                    let reader = drain(far);
                    let (n, rest) = copy(input, &mut $src, &mut t, limit).await;
                    drop(t);
                    assert_eq!(n, want, "{input:?}");
                    check(&reader.join().unwrap(), &data[..want as usize], input);
                    check(&rest, &data[want as usize..], input);
                }
                Kind::Unix => {
                    let (mut t, far) = unix();
                    let reader = drain(far);
                    let (n, rest) = copy(input, &mut $src, &mut t, limit).await;
                    drop(t);
                    assert_eq!(n, want, "{input:?}");
                    check(&reader.join().unwrap(), &data[..want as usize], input);
                    check(&rest, &data[want as usize..], input);
                }
            }
        };
    }
    match input.src {
        Kind::File => {
            let mut s = tokio::fs::File::from_std(shm_file(&data));
            dst_then!(s);
        }
        Kind::Pipe => {
            let (r, w) = std::io::pipe().unwrap();
            let mut s = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(r)).unwrap();
            let feeder = feed(w, data.clone());
            dst_then!(s);
            feeder.join().unwrap();
        }
        Kind::Tcp => {
            let (mut s, peer) = tcp();
            let sent = data.clone();
            let feeder = Peer::spawn(move || {
                let mut peer = peer;
                peer.write_all(&sent)?;
                peer.shutdown(std::net::Shutdown::Write)?;
                // Keep the socket until the other side has read the rest: then close.
                let mut b = [0u8; 1];
                let _ = peer.read(&mut b);
                Ok(())
            });
            dst_then!(s);
            drop(s);
            feeder.join().unwrap();
        }
        Kind::Unix => {
            let (mut s, peer) = unix();
            let feeder = feed(peer, data.clone());
            dst_then!(s);
            feeder.join().unwrap();
        }
    }
}

fn check(got: &[u8], want: &[u8], input: &Input) {
    assert_eq!(got.len(), want.len(), "{input:?}: bytes at the destination");
    if got != want {
        let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
        panic!("{input:?}: byte {i} differs");
    }
}

/// The copy under the input's shape (a `BufReader` with pre-read bytes, a `Take`, the drop-in
/// or the `Copier` interrupted `interrupts` times); returns the count and what the reader
/// still yields afterwards (the bytes past the limit, wherever they wait: in the socket, the
/// pipe, the file or the `BufReader`).
async fn copy<S, D>(input: &Input, src: &mut S, dst: &mut D, limit: Option<u64>) -> (u64, Vec<u8>)
where
    S: tokio::io::AsyncRead + Unpin,
    D: tokio::io::AsyncWrite + Unpin,
{
    let mut rest = Vec::new();
    let n = match input.bufreader {
        Some(cap) => {
            let mut b = tokio::io::BufReader::with_capacity(cap as usize % 8192 + 1, src);
            // A pre-read above a limit would take bytes the limit does not cover: only without
            // one.
            if limit.is_none() {
                let _ = b.fill_buf().await.unwrap();
            }
            let n = match limit {
                Some(l) => copy_limited(input, &mut b, dst, l).await,
                None => copy_shaped(input, &mut b, dst).await,
            };
            b.read_to_end(&mut rest).await.unwrap();
            n
        }
        None => {
            let n = match limit {
                Some(l) => copy_limited(input, src, dst, l).await,
                None => copy_shaped(input, src, dst).await,
            };
            src.read_to_end(&mut rest).await.unwrap();
            n
        }
    };
    (n, rest)
}

async fn copy_limited<S, D>(input: &Input, src: &mut S, dst: &mut D, limit: u64) -> u64
where
    S: tokio::io::AsyncRead + Unpin,
    D: tokio::io::AsyncWrite + Unpin,
{
    let mut t = src.take(limit);
    copy_shaped(input, &mut t, dst).await
}

async fn copy_shaped<S, D>(input: &Input, src: &mut S, dst: &mut D) -> u64
where
    S: tokio::io::AsyncRead + Unpin + ?Sized,
    D: tokio::io::AsyncWrite + Unpin + ?Sized,
{
    if !input.copier {
        return fdcopy::tokio::copy(src, dst)
            .await
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
    }
    let mut c = Copier::new();
    if input.pipe_pages > 0 {
        c = c.pipe_size(PipeSize::Max(4096 * input.pipe_pages as usize));
    }
    if input.blocking_files {
        c = c.file_io(FileIo::Blocking);
    }
    let mut left = input.interrupts % 16;
    let report = loop {
        if left == 0 {
            break c.copy(src, dst).await;
        }
        tokio::select! {
            r = c.copy(src, dst) => break r,
            _ = tokio::task::yield_now() => left -= 1,
        }
    };
    let report = report.unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
    assert_eq!(c.in_flight(), 0, "{input:?}: bytes left in flight");
    report.written()
}
