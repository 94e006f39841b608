//! Sources and sinks: how each end of a scenario is set up, handed to the engine as a plain
//! std type, and verified afterwards.
//!
//! Everything here happens outside the timed region except the `reader()`/`writer()` use.

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Stdio;

use fdcopy_testkit::{verify_reader, Verifier};

use super::env::Env;
use super::peer::{Peer, PeerSpec, Role, Transport};
use super::scenario::Job;

/// Where the copied bytes come from.
pub trait Source: Sized {
    /// The std type the engine reads from (a descriptor: the `kernel` engine uses it).
    type R: Read + AsFd;

    /// Pattern seed of the stream in run number `run`.
    ///
    /// Peers generate a fresh stream per run, so each run gets its own seed and a stale
    /// destination can never pass verification.
    fn seed(run: u64) -> u64 {
        run + 2
    }

    /// Sets the source up for `job`: the stream `seed` of `job.stream_bytes` bytes.
    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String>;

    /// Releases the peer, if any (called right before the timed region).
    fn go(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// What the engine reads from.
    fn reader(&mut self) -> &mut Self::R;

    /// After a failed copy: the peer's own error report, if it has one.
    fn failure(&mut self) -> Option<String> {
        None
    }

    /// After the copies took `consumed` bytes: reads and verifies the rest of the stream
    /// (there is some only for limited scenarios), checks EOF and reaps the peer.
    fn finish(self, env: &Env, job: &Job, seed: u64, consumed: u64) -> Result<(), String>;
}

/// Where the copied bytes go.
pub trait Sink: Sized {
    /// The std type the engine writes to (a descriptor: the `kernel` engine uses it).
    type W: io::Write + AsFd;

    /// Sets the sink up to receive `job.copied()` bytes of stream `seed`.
    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String>;

    /// Releases the peer, if any (called right before the timed region).
    fn go(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// What the engine writes to.
    fn writer(&mut self) -> &mut Self::W;

    /// After a failed copy: the peer's own error report, if it has one.
    fn failure(&mut self) -> Option<String> {
        None
    }

    /// Signals EOF to the far end right after the copies (no-op for files), so a receiving
    /// peer can finish on its own while the source is being drained.
    fn close(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// Verifies that exactly `copied` bytes of stream `seed` arrived intact (after `close`).
    fn finish(self, env: &Env, job: &Job, seed: u64, copied: u64) -> Result<(), String>;
}

/// Reads what is left in a source after the copies and checks it is the rest of the stream.
fn drain_rest<R: Read + ?Sized>(r: &mut R, env: &Env, job: &Job, seed: u64, consumed: u64) -> Result<(), String> {
    let left = job.stream_bytes - consumed;
    let mut v = Verifier::new(&env.pattern, seed, consumed);
    let n = verify_reader(r, &mut v, left).map_err(|e| format!("source after the copies: {e}"))?;
    if n != left {
        return Err(format!(
            "source after the copies: {n} bytes left, expected {left} (consumed {consumed} of {})",
            job.stream_bytes
        ));
    }
    Ok(())
}

/// Checks that a peer moved exactly `want` bytes.
pub fn peer_bytes(peer: Peer, want: u64) -> Result<(), String> {
    let got = peer.finish()?;
    if got != want {
        return Err(format!("peer moved {got} bytes, expected {want}"));
    }
    Ok(())
}

/// Spawns a peer that connects to a fresh loopback TCP listener; returns both ends.
fn tcp_peer(env: &mut Env, role: Role, seed: u64, bytes: u64, job: &Job) -> Result<(TcpStream, Peer), String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    let spec = PeerSpec {
        role,
        transport: Transport::Tcp(addr),
        seed,
        bytes,
        deadline: job.deadline(),
        dir: None,
    };
    let mut peer = Peer::spawn(&mut env.control, &spec, Stdio::null(), Stdio::null())?;
    let stream = peer.accept_tcp(&l)?;
    peer.ready()?;
    Ok((stream, peer))
}

// ---------------------------------------------------------------------------------------

/// A tmpfs file, created once per (length, seed) and reopened for every run.
///
/// Runs alternate between two seeds (two files) so that consecutive runs into the shared
/// destination file always write different bytes.
pub struct FileSource {
    file: File,
}

impl Source for FileSource {
    type R = File;

    fn seed(run: u64) -> u64 {
        run % 2
    }

    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String> {
        let path = env.source_file(job.stream_bytes, seed)?;
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(FileSource { file })
    }

    fn reader(&mut self) -> &mut File {
        &mut self.file
    }

    fn finish(mut self, env: &Env, job: &Job, seed: u64, consumed: u64) -> Result<(), String> {
        drain_rest(&mut self.file, env, job, seed, consumed)
    }
}

/// A loopback TCP connection accepted from a peer that sends the stream.
pub struct TcpSource {
    stream: TcpStream,
    peer: Peer,
}

impl Source for TcpSource {
    type R = TcpStream;

    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String> {
        let (stream, peer) = tcp_peer(env, Role::Send, seed, job.stream_bytes, job)?;
        Ok(TcpSource { stream, peer })
    }

    fn go(&mut self) -> Result<(), String> {
        self.peer.go()
    }

    fn failure(&mut self) -> Option<String> {
        self.peer.failure()
    }

    fn reader(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    fn finish(mut self, env: &Env, job: &Job, seed: u64, consumed: u64) -> Result<(), String> {
        drain_rest(&mut self.stream, env, job, seed, consumed)?;
        peer_bytes(self.peer, job.stream_bytes)
    }
}

/// A unix stream connection accepted (on a listener under the temp dir) from a sending peer.
pub struct UnixSource {
    stream: UnixStream,
    peer: Peer,
}

impl Source for UnixSource {
    type R = UnixStream;

    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String> {
        let path = env.unix_socket_path();
        let l = UnixListener::bind(&path).map_err(|e| format!("bind {}: {e}", path.display()))?;
        let spec = PeerSpec {
            role: Role::Send,
            transport: Transport::Unix(path.clone()),
            seed,
            bytes: job.stream_bytes,
            deadline: job.deadline(),
            dir: None,
        };
        let peer = Peer::spawn(&mut env.control, &spec, Stdio::null(), Stdio::null());
        let accepted = peer.and_then(|mut p| Ok((p.accept_unix(&l)?, p)));
        let _ = std::fs::remove_file(&path);
        let (stream, mut peer) = accepted?;
        peer.ready()?;
        Ok(UnixSource { stream, peer })
    }

    fn go(&mut self) -> Result<(), String> {
        self.peer.go()
    }

    fn failure(&mut self) -> Option<String> {
        self.peer.failure()
    }

    fn reader(&mut self) -> &mut UnixStream {
        &mut self.stream
    }

    fn finish(mut self, env: &Env, job: &Job, seed: u64, consumed: u64) -> Result<(), String> {
        drain_rest(&mut self.stream, env, job, seed, consumed)?;
        peer_bytes(self.peer, job.stream_bytes)
    }
}

/// The read end of an `std::io::pipe()` whose write end is a sending peer's stdout.
pub struct PipeSource {
    pipe: PipeReader,
    peer: Peer,
}

impl Source for PipeSource {
    type R = PipeReader;

    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String> {
        let (pipe, w) = io::pipe().map_err(|e| format!("pipe: {e}"))?;
        let spec = PeerSpec {
            role: Role::Send,
            transport: Transport::Stdio,
            seed,
            bytes: job.stream_bytes,
            deadline: job.deadline(),
            dir: None,
        };
        // The `Stdio` owns our copy of the write end and is dropped inside `spawn`, so the
        // peer holds the only writer and its exit is our EOF.
        let mut peer = Peer::spawn(&mut env.control, &spec, Stdio::null(), Stdio::from(w))?;
        peer.ready()?;
        Ok(PipeSource { pipe, peer })
    }

    fn go(&mut self) -> Result<(), String> {
        self.peer.go()
    }

    fn failure(&mut self) -> Option<String> {
        self.peer.failure()
    }

    fn reader(&mut self) -> &mut PipeReader {
        &mut self.pipe
    }

    fn finish(mut self, env: &Env, job: &Job, seed: u64, consumed: u64) -> Result<(), String> {
        drain_rest(&mut self.pipe, env, job, seed, consumed)?;
        peer_bytes(self.peer, job.stream_bytes)
    }
}

// ---------------------------------------------------------------------------------------

/// The shared, pre-allocated tmpfs destination file, opened without truncation at offset 0.
pub struct FileSink {
    file: File,
    path: std::path::PathBuf,
}

impl Sink for FileSink {
    type W = File;

    fn open(env: &mut Env, job: &Job, _seed: u64) -> Result<Self, String> {
        let path = env.dest_file(job.copied())?;
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(FileSink { file, path })
    }

    fn writer(&mut self) -> &mut File {
        &mut self.file
    }

    fn finish(self, env: &Env, _job: &Job, seed: u64, copied: u64) -> Result<(), String> {
        drop(self.file);
        let f = File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut v = Verifier::new(&env.pattern, seed, 0);
        let n = verify_reader(&mut f.take(copied), &mut v, copied).map_err(|e| format!("destination file: {e}"))?;
        if n != copied {
            return Err(format!("destination file holds {n} bytes, expected {copied}"));
        }
        Ok(())
    }
}

/// A loopback TCP connection accepted from a peer that receives and verifies.
pub struct TcpSink {
    stream: TcpStream,
    peer: Peer,
}

impl Sink for TcpSink {
    type W = TcpStream;

    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String> {
        let (stream, peer) = tcp_peer(env, Role::Recv, seed, job.copied(), job)?;
        Ok(TcpSink { stream, peer })
    }

    fn go(&mut self) -> Result<(), String> {
        self.peer.go()
    }

    fn failure(&mut self) -> Option<String> {
        self.peer.failure()
    }

    fn writer(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    fn close(&mut self) -> Result<(), String> {
        self.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("shutdown: {e}"))
    }

    fn finish(self, _env: &Env, _job: &Job, _seed: u64, copied: u64) -> Result<(), String> {
        peer_bytes(self.peer, copied)
    }
}

/// The write end of an `std::io::pipe()` whose read end is a receiving peer's stdin.
pub struct PipeSink {
    /// `None` after `close`.
    pipe: Option<PipeWriter>,
    peer: Peer,
}

impl Sink for PipeSink {
    type W = PipeWriter;

    fn open(env: &mut Env, job: &Job, seed: u64) -> Result<Self, String> {
        let (r, pipe) = io::pipe().map_err(|e| format!("pipe: {e}"))?;
        let spec = PeerSpec {
            role: Role::Recv,
            transport: Transport::Stdio,
            seed,
            bytes: job.copied(),
            deadline: job.deadline(),
            dir: None,
        };
        let mut peer = Peer::spawn(&mut env.control, &spec, Stdio::from(r), Stdio::null())?;
        peer.ready()?;
        Ok(PipeSink { pipe: Some(pipe), peer })
    }

    fn go(&mut self) -> Result<(), String> {
        self.peer.go()
    }

    fn failure(&mut self) -> Option<String> {
        self.peer.failure()
    }

    fn writer(&mut self) -> &mut PipeWriter {
        self.pipe.as_mut().expect("writer() after close()")
    }

    fn close(&mut self) -> Result<(), String> {
        self.pipe = None; // our only write end: the peer's EOF
        Ok(())
    }

    fn finish(self, _env: &Env, _job: &Job, _seed: u64, copied: u64) -> Result<(), String> {
        peer_bytes(self.peer, copied)
    }
}
