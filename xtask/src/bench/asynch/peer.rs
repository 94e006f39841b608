//! The peers: a client that opens the connections and a server that accepts them, each in a
//! process of its own (a 2-worker tokio runtime), each verifying every byte it receives
//! against `fdcopy_testkit`'s pattern.
//!
//! Streams are identified by their content, not by arrival order: the server reads the first
//! 8 bytes of a connection and finds the one stream of the run that starts with them, so bytes
//! of one connection showing up in another are caught too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::child::{say, wait_for};
use super::job::{Job, Shape, MESSAGE};

/// Bytes per write of a sender and per read of a receiver.
const CHUNK: usize = 128 << 10;
/// Listen backlog of the server and of the proxy (the kernel caps it at `somaxconn`).
pub const BACKLOG: u32 = 4096;

/// A 2-worker runtime for a peer.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))
}

/// A listener on an ephemeral loopback port with a deep backlog.
pub fn listen() -> Result<TcpListener, String> {
    let s = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    s.bind("127.0.0.1:0".parse().expect("literal"))
        .map_err(|e| format!("bind: {e}"))?;
    s.listen(BACKLOG).map_err(|e| format!("listen: {e}"))
}

/// `bench-async-child server`: accepts `conns` connections, then serves each after GO.
pub fn server(job: Job) -> Result<(), String> {
    runtime()?.block_on(async {
        let listener = listen()?;
        say(&format!("LISTEN {}", listener.local_addr().map_err(|e| e.to_string())?));
        let mut conns = Vec::new();
        for _ in 0..job.conns {
            let (s, _) = listener.accept().await.map_err(|e| format!("accept: {e}"))?;
            conns.push(s);
        }
        drop(listener);
        say("READY");
        wait_for("GO")?;
        let ids = Streams::of(&job)?;
        let tasks: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, s)| tokio::spawn(serve(job, i as u64, s, ids.clone())))
            .collect();
        let mut received = 0;
        for t in tasks {
            received += t.await.map_err(|e| format!("task: {e}"))??;
        }
        say(&format!("DONE received={received}"));
        Ok(())
    })
}

/// `bench-async-child client`: opens `conns` connections to `addr`, then runs each after GO
/// (and, in idle rows, closes them all after END).
pub fn client(job: Job, addr: SocketAddr) -> Result<(), String> {
    runtime()?.block_on(async {
        let mut conns = Vec::new();
        for _ in 0..job.conns {
            let s = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect {addr}: {e}"))?;
            conns.push(s);
        }
        say("READY");
        wait_for("GO")?;
        if job.idle {
            wait_for("END")?;
        }
        let tasks: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, s)| tokio::spawn(run_client(job, i as u64, s)))
            .collect();
        let (mut received, mut latencies) = (0, Vec::new());
        for t in tasks {
            let (n, lat) = t.await.map_err(|e| format!("task: {e}"))??;
            received += n;
            latencies.extend(lat);
        }
        let mut line = format!("DONE received={received}");
        if !latencies.is_empty() {
            latencies.sort_unstable();
            let pick = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
            line += &format!(" p50_ns={} p99_ns={}", pick(50), pick(99));
        }
        say(&line);
        Ok(())
    })
}

/// One connection of the client: the streams both ways, or the ping-pong; returns the bytes
/// received and the round-trip times.
async fn run_client(job: Job, i: u64, s: TcpStream) -> Result<(u64, Vec<u64>), String> {
    let (ab, ba) = job.per_conn();
    let (mut rd, mut wr) = s.into_split();
    if job.messages > 0 {
        let mut out = vec![0u8; MESSAGE as usize];
        let mut back = vec![0u8; MESSAGE as usize];
        let mut times = Vec::with_capacity(job.messages as usize);
        for m in 0..job.messages {
            fdcopy_testkit::fill(job.seed_ab(i), m * MESSAGE, &mut out);
            let t = Instant::now();
            wr.write_all(&out).await.map_err(|e| format!("request {m}: {e}"))?;
            rd.read_exact(&mut back)
                .await
                .map_err(|e| format!("response {m}: {e}"))?;
            times.push(t.elapsed().as_nanos() as u64);
            Check::new(job.seed_ba(i), m * MESSAGE).check(&back)?;
        }
        wr.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
        expect_eof(&mut rd).await?;
        return Ok((ab, times));
    }
    let send = async {
        send_stream(&mut wr, job.seed_ab(i), ab).await?;
        wr.shutdown().await.map_err(|e| format!("shutdown: {e}"))
    };
    let (sent, received) = tokio::join!(send, recv_stream(&mut rd, job.seed_ba(i), ba, &[]));
    sent?;
    Ok((received?, Vec::new()))
}

/// One connection of the server.
async fn serve(job: Job, accepted: u64, s: TcpStream, ids: Streams) -> Result<u64, String> {
    let (ab, ba) = job.per_conn();
    let (mut rd, mut wr) = s.into_split();
    let mut head = Vec::new();
    let i = if ids.by_head.is_empty() {
        accepted
    } else {
        head.resize(8, 0);
        rd.read_exact(&mut head)
            .await
            .map_err(|e| format!("connection {accepted}: reading its first bytes: {e}"))?;
        ids.find(&head)?
    };
    if job.messages > 0 {
        let mut req = vec![0u8; MESSAGE as usize];
        let mut reply = vec![0u8; MESSAGE as usize];
        for m in 0..job.messages {
            let skip = if m == 0 { head.len() } else { 0 };
            req[..skip].copy_from_slice(&head[..skip]);
            rd.read_exact(&mut req[skip..])
                .await
                .map_err(|e| format!("request {m}: {e}"))?;
            Check::new(job.seed_ab(i), m * MESSAGE).check(&req)?;
            fdcopy_testkit::fill(job.seed_ba(i), m * MESSAGE, &mut reply);
            wr.write_all(&reply).await.map_err(|e| format!("response {m}: {e}"))?;
        }
        expect_eof(&mut rd).await?;
        wr.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
        return Ok(ab);
    }
    if ba == 0 {
        // Nothing to send back: half-close only after the client did, so that an idle
        // connection stays open both ways until the client closes it.
        // (A copier of the file rows has closed the connection by then: no error matters.)
        let received = recv_stream(&mut rd, job.seed_ab(i), ab, &head).await?;
        let _ = wr.shutdown().await;
        return Ok(received);
    }
    let send = async {
        send_stream(&mut wr, job.seed_ba(i), ba).await?;
        wr.shutdown().await.map_err(|e| format!("shutdown: {e}"))
    };
    let (sent, received) = tokio::join!(send, recv_stream(&mut rd, job.seed_ab(i), ab, &head));
    sent?;
    received
}

/// The streams of a run by their first 8 bytes (empty when there is one connection or the
/// connections carry nothing the server could read first).
#[derive(Clone)]
struct Streams {
    by_head: std::sync::Arc<HashMap<[u8; 8], u64>>,
}

impl Streams {
    fn of(job: &Job) -> Result<Streams, String> {
        let mut by_head = HashMap::new();
        if job.conns > 1 && job.per_conn().0 >= 8 && job.shape == Shape::Proxy {
            for i in 0..job.conns {
                let mut head = [0u8; 8];
                fdcopy_testkit::fill(job.seed_ab(i), 0, &mut head);
                if by_head.insert(head, i).is_some() {
                    return Err(format!("two streams of the run start alike (seed {})", job.seed));
                }
            }
        }
        Ok(Streams {
            by_head: std::sync::Arc::new(by_head),
        })
    }

    fn find(&self, head: &[u8]) -> Result<u64, String> {
        let key: [u8; 8] = head.try_into().expect("8 bytes");
        self.by_head
            .get(&key)
            .copied()
            .ok_or_else(|| format!("a connection starts with {key:02x?}, which no stream of the run does"))
    }
}

/// Sends bytes `[0, len)` of stream `seed`.
async fn send_stream<W: AsyncWrite + Unpin>(w: &mut W, seed: u64, len: u64) -> Result<(), String> {
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0;
    while off < len {
        let n = (len - off).min(CHUNK as u64) as usize;
        fdcopy_testkit::fill(seed, off, &mut buf[..n]);
        w.write_all(&buf[..n])
            .await
            .map_err(|e| format!("sending at byte {off} of {len}: {e}"))?;
        off += n as u64;
    }
    Ok(())
}

/// Reads to end of file, checking every byte against stream `seed` (whose first bytes,
/// `head`, were read already); fails unless exactly `len` bytes arrive.
async fn recv_stream<R: AsyncRead + Unpin>(r: &mut R, seed: u64, len: u64, head: &[u8]) -> Result<u64, String> {
    let mut check = Check::new(seed, 0);
    check.check(head)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = r
            .read(&mut buf)
            .await
            .map_err(|e| format!("receiving after byte {} of {len}: {e}", check.offset))?;
        if n == 0 {
            break;
        }
        if check.offset + n as u64 > len {
            return Err(format!("more than the {len} bytes expected arrived"));
        }
        check.check(&buf[..n])?;
    }
    if check.offset != len {
        return Err(format!("received {} bytes, expected {len}", check.offset));
    }
    Ok(len)
}

/// Reads once more, expecting end of file.
async fn expect_eof<R: AsyncRead + Unpin>(r: &mut R) -> Result<(), String> {
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(60), r.read(&mut b)).await {
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(_)) => Err("bytes after the last message".into()),
        Ok(Err(e)) => Err(format!("waiting for end of file: {e}")),
        Err(_) => Err("no end of file within 60 s".into()),
    }
}

/// Checks consecutive chunks of one stream.
struct Check {
    seed: u64,
    offset: u64,
    exp: Vec<u8>,
}

impl Check {
    fn new(seed: u64, offset: u64) -> Check {
        Check {
            seed,
            offset,
            exp: Vec::new(),
        }
    }

    fn check(&mut self, data: &[u8]) -> Result<(), String> {
        self.exp.resize(data.len(), 0);
        fdcopy_testkit::fill(self.seed, self.offset, &mut self.exp);
        if let Some(i) = self.exp.iter().zip(data).position(|(a, b)| a != b) {
            return Err(format!(
                "payload mismatch at stream byte {} (seed {:#x})",
                self.offset + i as u64,
                self.seed
            ));
        }
        self.offset += data.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn checks_catch_a_wrong_byte_at_its_offset() {
        let mut data = vec![0u8; 10_000];
        fdcopy_testkit::fill(5, 100, &mut data);
        assert!(Check::new(5, 100).check(&data).is_ok());
        let mut c = Check::new(5, 100);
        c.check(&data[..10]).unwrap();
        data[20] ^= 1;
        let e = c.check(&data[10..]).unwrap_err();
        assert!(e.contains("stream byte 120"), "{e}");
        assert!(Check::new(6, 100).check(&data[..8]).is_err());
    }
}
