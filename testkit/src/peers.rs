//! Connected loopback socket pairs, and the threads on the far end of a descriptor: a
//! [`feed`] that writes a payload then closes, a [`drain`] that reads to the end.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A connected loopback TCP pair (client, accepted side) through a listener of its own, both
/// ends with read and write timeouts of `timeout`.
pub fn tcp_pair(timeout: Duration) -> io::Result<(TcpStream, TcpStream)> {
    tcp_pair_on(&TcpListener::bind("127.0.0.1:0")?, timeout)
}

/// [`tcp_pair`] through `listener`, which nothing else may be connecting to meanwhile (the
/// connection accepted must be ours).
pub fn tcp_pair_on(listener: &TcpListener, timeout: Duration) -> io::Result<(TcpStream, TcpStream)> {
    let c = TcpStream::connect(listener.local_addr()?)?;
    let (s, _) = listener.accept()?;
    for x in [&c, &s] {
        x.set_read_timeout(Some(timeout))?;
        x.set_write_timeout(Some(timeout))?;
    }
    Ok((c, s))
}

/// A connected unix stream pair, both ends with read and write timeouts of `timeout`.
pub fn unix_pair(timeout: Duration) -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    for x in [&a, &b] {
        x.set_read_timeout(Some(timeout))?;
        x.set_write_timeout(Some(timeout))?;
    }
    Ok((a, b))
}

/// A thread on the far end of a descriptor.
#[must_use = "a peer's error shows only when it is joined"]
pub struct Peer<T>(JoinHandle<io::Result<T>>);

impl<T: Send + 'static> Peer<T> {
    /// Runs `f` on a new thread.
    pub fn spawn(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> Peer<T> {
        Peer(thread::spawn(f))
    }
}

impl<T> Peer<T> {
    /// Waits for the peer: what it returned, or an error if it panicked.
    pub fn join(self) -> io::Result<T> {
        self.0
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the peer thread panicked")))
    }
}

/// A thread that writes `data` into `w`, then drops it (end of file for the reader).
pub fn feed<W, D>(mut w: W, data: D) -> Peer<()>
where
    W: Write + Send + 'static,
    D: AsRef<[u8]> + Send + 'static,
{
    Peer::spawn(move || w.write_all(data.as_ref()))
}

/// A thread that reads `r` to its end, then drops it; returns what it read.
pub fn drain<R: Read + Send + 'static>(r: R) -> Peer<Vec<u8>> {
    Peer::spawn(move || read_all(r).map(|(v, _)| v))
}

/// [`drain`], handing `r` back instead of dropping it (to close it in a way of one's own).
pub fn drain_keep<R: Read + Send + 'static>(r: R) -> Peer<(Vec<u8>, R)> {
    Peer::spawn(move || read_all(r))
}

fn read_all<R: Read>(mut r: R) -> io::Result<(Vec<u8>, R)> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok((v, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_carry_bytes_both_ways() {
        let t = Duration::from_secs(10);
        let data = crate::payload(300_000, 1);
        let (c, s) = tcp_pair(t).unwrap();
        let (a, b) = unix_pair(t).unwrap();
        let (f1, d1) = (feed(c, data.clone()), drain(s));
        let (f2, d2) = (feed(b, data.clone()), drain_keep(a));
        f1.join().unwrap();
        f2.join().unwrap();
        assert_eq!(d1.join().unwrap(), data);
        assert_eq!(d2.join().unwrap().0, data);
    }

    #[test]
    fn a_failed_or_panicked_peer_is_an_error() {
        let (r, w) = io::pipe().unwrap();
        drop(r);
        // A write into a pipe without readers: EPIPE (Rust ignores SIGPIPE).
        assert!(feed(w, vec![1u8; 10]).join().is_err());
        assert!(Peer::<()>::spawn(|| panic!("on purpose")).join().is_err());
    }
}
