//! The async engines under comparison, as the measured process runs them.

use std::io;

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One way of moving the bytes of a row.
///
/// The order of the variants is the order of the table rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// `tokio::io::copy_bidirectional`: two 8 KiB buffers.
    Tokio8k,
    /// `tokio::io::copy_bidirectional_with_sizes`, 64 KiB each way.
    Tokio64k,
    /// `tokio::io::copy_bidirectional_with_sizes`, 1 MiB each way.
    Tokio1m,
    /// 64 KiB reads of a `tokio::fs::File`, each written with `write_all`: tower-http's
    /// `ServeFile` (a `ReaderStream` of 64 KiB chunks; it also allocates each chunk, which this
    /// loop does not, so it is a lower bound of that cost).
    Stream64k,
    /// `tokio::io::copy` (8 KiB) from the socket into a `tokio::fs::File`.
    TokioCopy,
    /// tokio-splice2 0.3.2: `copy_bidirectional` (two 1 MiB pipes per connection) for the
    /// proxy rows, `sendfile` for file -> socket, a `prepare_writing_file` context for socket
    /// -> file. Known to truncate a target length above 2 MiB (file rows).
    Splice2,
    /// fdcopy's drop-ins: `fdcopy::tokio::copy_bidirectional` (proxy rows), `fdcopy::tokio::copy`
    /// (file rows).
    Fdcopy,
    /// `fdcopy::tokio::Copier` with `FileIo::Blocking`: the file side's calls on tokio's
    /// blocking pool (file rows).
    FdcopyBlocking,
}

impl Engine {
    /// Every engine, in table order.
    pub const ALL: [Engine; 8] = [
        Engine::Tokio8k,
        Engine::Tokio64k,
        Engine::Tokio1m,
        Engine::Stream64k,
        Engine::TokioCopy,
        Engine::Splice2,
        Engine::Fdcopy,
        Engine::FdcopyBlocking,
    ];

    /// The engines of the proxy rows.
    pub const PROXY: [Engine; 5] = [
        Engine::Tokio8k,
        Engine::Tokio64k,
        Engine::Tokio1m,
        Engine::Splice2,
        Engine::Fdcopy,
    ];
    /// The engines of the file -> socket rows.
    pub const FILE_TO_SOCKET: [Engine; 4] = [
        Engine::Stream64k,
        Engine::Splice2,
        Engine::Fdcopy,
        Engine::FdcopyBlocking,
    ];
    /// The engines of the socket -> file rows.
    pub const SOCKET_TO_FILE: [Engine; 4] = [
        Engine::TokioCopy,
        Engine::Splice2,
        Engine::Fdcopy,
        Engine::FdcopyBlocking,
    ];

    /// The name on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Tokio8k => "tokio-8k",
            Engine::Tokio64k => "tokio-64k",
            Engine::Tokio1m => "tokio-1m",
            Engine::Stream64k => "stream-64k",
            Engine::TokioCopy => "tokio-copy",
            Engine::Splice2 => "splice2",
            Engine::Fdcopy => "fdcopy",
            Engine::FdcopyBlocking => "fdcopy-blk",
        }
    }

    pub fn parse(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == s)
    }

    /// Why a short count of this engine is no surprise, for the failure message.
    pub fn known_short_count(self) -> Option<&'static str> {
        (self == Engine::Splice2).then_some(
            "tokio-splice2 0.3.2 silently truncates a target length above 2 MiB (it subtracts what it \
             drained twice, src/context.rs), returning the short count with no error",
        )
    }

    /// Proxies `a` (the client's connection) and `b` (the upstream one) until both directions
    /// end; returns the bytes `a` -> `b` and `b` -> `a` the engine reports.
    pub async fn proxy(self, a: &mut TcpStream, b: &mut TcpStream) -> io::Result<(u64, u64)> {
        match self {
            Engine::Tokio8k => tokio::io::copy_bidirectional(a, b).await,
            Engine::Tokio64k => tokio::io::copy_bidirectional_with_sizes(a, b, 64 << 10, 64 << 10).await,
            Engine::Tokio1m => tokio::io::copy_bidirectional_with_sizes(a, b, 1 << 20, 1 << 20).await,
            Engine::Splice2 => {
                let t = tokio_splice2::copy_bidirectional(a, b).await?;
                match t.error {
                    Some(e) => Err(e),
                    None => Ok((t.tx as u64, t.rx as u64)),
                }
            }
            Engine::Fdcopy => fdcopy::tokio::copy_bidirectional(a, b).await,
            Engine::Stream64k | Engine::TokioCopy | Engine::FdcopyBlocking => Err(not_here(self)),
        }
    }

    /// Copies the `len` bytes of `file` into `sock`; returns the count the engine reports.
    pub async fn send_file(self, file: &mut File, len: u64, sock: &mut TcpStream) -> io::Result<u64> {
        match self {
            Engine::Stream64k => {
                let mut buf = vec![0u8; 64 << 10];
                let mut total = 0u64;
                loop {
                    let n = file.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    sock.write_all(&buf[..n]).await?;
                    total += n as u64;
                }
                sock.flush().await?;
                Ok(total)
            }
            Engine::Splice2 => {
                let t = tokio_splice2::sendfile(file, sock, len, None, None).await?;
                t.error.map_or(Ok(t.tx as u64), Err)
            }
            Engine::Fdcopy => fdcopy::tokio::copy(file, sock).await,
            Engine::FdcopyBlocking => blocking_copy(file, sock).await,
            _ => Err(not_here(self)),
        }
    }

    /// Copies `sock` to its end into `file` (`len` bytes are expected); returns the count the
    /// engine reports.
    pub async fn receive_file(self, sock: &mut TcpStream, file: &mut File, len: u64) -> io::Result<u64> {
        let n = match self {
            Engine::TokioCopy => tokio::io::copy(sock, file).await?,
            Engine::Splice2 => {
                let ctx = tokio_splice2::SpliceIoCtx::prepare_writing_file(len, None, None)?;
                let t = ctx.into_io().execute(sock, file).await;
                t.error.map_or(Ok(t.tx as u64), Err)?
            }
            Engine::Fdcopy => fdcopy::tokio::copy(sock, file).await?,
            Engine::FdcopyBlocking => blocking_copy(sock, file).await?,
            _ => return Err(not_here(self)),
        };
        // Every engine alike: whatever tokio's File still has in flight lands before the clock
        // stops (tokio's copy flushed already; this is then a no-op).
        file.flush().await?;
        Ok(n)
    }
}

/// `fdcopy::tokio::Copier` with the file side's calls on the blocking pool.
async fn blocking_copy<R, W>(r: &mut R, w: &mut W) -> io::Result<u64>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut copier = fdcopy::tokio::Copier::new().file_io(fdcopy::tokio::FileIo::Blocking);
    Ok(copier.copy(r, w).await?.written())
}

fn not_here(e: Engine) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("engine {} does not run in this row", e.name()),
    )
}
