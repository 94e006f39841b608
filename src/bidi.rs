//! Both directions between two std streams at once, blocking: the twin of
//! `tokio::io::copy_bidirectional` for threads, each direction through the engine.

use std::io;
use std::net::{Shutdown, TcpStream};

use crate::Copier;

/// A stream [`copy_bidirectional`] can copy both ways: `TcpStream` and (on Unix)
/// `UnixStream`. Sealed: the copy needs std's own types to reach the kernel paths.
pub trait BidiStream: sealed::Stream {}

impl BidiStream for TcpStream {}
#[cfg(unix)]
impl BidiStream for std::os::unix::net::UnixStream {}

mod sealed {
    use std::net::TcpStream;

    /// The stream as one of the types std's copy knows.
    pub enum Ref<'a> {
        Tcp(&'a TcpStream),
        #[cfg(unix)]
        Unix(&'a std::os::unix::net::UnixStream),
    }

    pub trait Stream: Sync {
        fn as_ref(&self) -> Ref<'_>;
    }

    impl Stream for TcpStream {
        fn as_ref(&self) -> Ref<'_> {
            Ref::Tcp(self)
        }
    }

    #[cfg(unix)]
    impl Stream for std::os::unix::net::UnixStream {
        fn as_ref(&self) -> Ref<'_> {
            Ref::Unix(self)
        }
    }
}

use sealed::Ref;

impl Ref<'_> {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        cfg_if::cfg_if! {
            if #[cfg(target_os = "linux")] {
                let fd = match self {
                    Ref::Tcp(s) => std::os::fd::AsFd::as_fd(*s),
                    Ref::Unix(s) => std::os::fd::AsFd::as_fd(*s),
                };
                crate::sys::io::shutdown(fd, how)
            } else {
                match self {
                    Ref::Tcp(s) => s.shutdown(how),
                    #[cfg(unix)]
                    Ref::Unix(s) => s.shutdown(how),
                }
            }
        }
    }
}

/// Copies `from` into `to` until end of file, then shuts `to`'s write half down.
fn one_way(from: &Ref<'_>, to: &Ref<'_>) -> io::Result<u64> {
    macro_rules! copy {
        ($f:expr, $t:expr) => {
            Copier::new().copy(&mut &*$f, &mut &*$t).map(|r| r.written())
        };
    }
    let n = match (from, to) {
        (Ref::Tcp(f), Ref::Tcp(t)) => copy!(*f, *t),
        #[cfg(unix)]
        (Ref::Tcp(f), Ref::Unix(t)) => copy!(*f, *t),
        #[cfg(unix)]
        (Ref::Unix(f), Ref::Tcp(t)) => copy!(*f, *t),
        #[cfg(unix)]
        (Ref::Unix(f), Ref::Unix(t)) => copy!(*f, *t),
    }?;
    match to.shutdown(Shutdown::Write) {
        // The peer may be gone already; end of file was reached all the same.
        Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
        r => r?,
    }
    Ok(n)
}

/// Copies both ways between `a` and `b` until both directions reach end of file, with
/// `tokio::io::copy_bidirectional`'s semantics on threads: end of file one way shuts the other
/// side's write half down and the other way goes on; any error ends the copy at once (both
/// streams are shut down, so the other direction cannot hang). Returns the bytes `a` → `b` and
/// `b` → `a`. Each direction goes through the engine: TCP and Unix streams are spliced.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::{Shutdown, TcpListener, TcpStream};
/// let listen = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut client = TcpStream::connect(listen.local_addr().unwrap()).unwrap();
/// let (mut a, _) = listen.accept().unwrap();
/// let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut b = TcpStream::connect(upstream.local_addr().unwrap()).unwrap();
/// let (mut server, _) = upstream.accept().unwrap();
/// std::thread::spawn(move || {
///     let mut got = Vec::new();
///     server.read_to_end(&mut got).unwrap(); // "ping", then end of file
///     server.write_all(b"pong").unwrap();
/// });
/// client.write_all(b"ping").unwrap();
/// client.shutdown(Shutdown::Write).unwrap();
/// let (ab, ba) = fdcopy::copy_bidirectional(&mut a, &mut b).unwrap();
/// assert_eq!((ab, ba), (4, 4));
/// let mut reply = String::new();
/// client.read_to_string(&mut reply).unwrap();
/// assert_eq!(reply, "pong");
/// ```
pub fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: BidiStream + ?Sized,
    B: BidiStream + ?Sized,
{
    let (a, b) = (a.as_ref(), b.as_ref());
    std::thread::scope(|s| {
        let back = s.spawn(|| {
            let r = one_way(&b, &a);
            if r.is_err() {
                end_both(&a, &b);
            }
            r
        });
        let forth = one_way(&a, &b);
        if forth.is_err() {
            end_both(&a, &b);
        }
        let back = back
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the copy thread panicked")));
        Ok((forth?, back?))
    })
}

/// Ends both directions at once: a thread blocked in the other direction's copy sees end of
/// file or an error and returns.
fn end_both(a: &Ref<'_>, b: &Ref<'_>) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}
