//! Both directions: `fdcopy::tokio::copy_bidirectional` against tokio's own in the same
//! scenarios (half-close, a reset while the other side idles, bulk both ways), the proxy's
//! half-close policies, idle timeout and report, and the blocking twin on threads.
#![cfg(all(feature = "tokio", target_os = "linux"))]

mod tokio_support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use fdcopy::tokio::{HalfClose, Outcome, ProxyOptions};
use fdcopy::Strategy;
use tokio_support::*;

/// A client and a server, each a std socket on a thread of its own, and the proxy's two tokio
/// ends between them: `a` faces the client, `b` the server.
struct Scene {
    a: tokio::net::TcpStream,
    b: tokio::net::TcpStream,
    client: std::net::TcpStream,
    server: std::net::TcpStream,
}

fn scene() -> Scene {
    let (a, client) = tcp();
    let (b, server) = tcp();
    Scene { a, b, client, server }
}

/// The client sends its request and shuts its write half; the server reads to end of file,
/// answers, closes. Returns what each received.
fn ping_pong(
    client: std::net::TcpStream,
    server: std::net::TcpStream,
    request: u64,
    answer: u64,
) -> (fdcopy_testkit::Peer<u64>, fdcopy_testkit::Peer<u64>) {
    let c = fdcopy_testkit::Peer::spawn(move || {
        let mut client = client;
        fdcopy_testkit::write_payload(&mut client, 1, 0, request)?;
        client.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        client.read_to_end(&mut got)?;
        let mut want = vec![0u8; got.len()];
        fdcopy_testkit::fill(2, 0, &mut want);
        assert!(got == want, "the answer's bytes");
        Ok(got.len() as u64)
    });
    let s = fdcopy_testkit::Peer::spawn(move || {
        let mut server = server;
        let mut got = Vec::new();
        server.read_to_end(&mut got)?;
        let mut want = vec![0u8; got.len()];
        fdcopy_testkit::fill(1, 0, &mut want);
        assert!(got == want, "the request's bytes");
        fdcopy_testkit::write_payload(&mut server, 2, 0, answer)?;
        Ok(got.len() as u64)
    });
    (c, s)
}

/// Half-close: end of file from the client reaches the server as end of file, the answer
/// still comes back, and both copies end: fdcopy's drop-in returns what tokio's returns.
#[test]
fn half_close_travels_and_both_directions_end() {
    both(|rt| async move {
        for (request, answer) in [(0, 0), (5, 3), (300_000, 4 << 20), (3 << 20, 1)] {
            for engine in ["tokio", "fdcopy"] {
                let Scene {
                    mut a,
                    mut b,
                    client,
                    server,
                } = scene();
                let (c, s) = ping_pong(client, server, request, answer);
                let counts = match engine {
                    "tokio" => tokio::io::copy_bidirectional(&mut a, &mut b).await.unwrap(),
                    _ => fdcopy::tokio::copy_bidirectional(&mut a, &mut b).await.unwrap(),
                };
                assert_eq!(counts, (request, answer), "{rt} {engine}");
                assert_eq!(s.join().unwrap(), request, "{rt} {engine}");
                assert_eq!(c.join().unwrap(), answer, "{rt} {engine}");
            }
        }
    });
}

/// The client sends 1000 bytes and resets while the server idles: tokio's
/// `copy_bidirectional` returns `ConnectionReset` at once, and so must fdcopy's (tokio-splice2
/// stays pending).
#[test]
fn a_reset_ends_the_copy_at_once() {
    both(|rt| async move {
        for engine in ["tokio", "fdcopy"] {
            let Scene {
                mut a,
                mut b,
                client,
                server,
            } = scene();
            let mut client = client;
            client.write_all(&[7u8; 1000]).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            socket2_linger_zero(&client);
            drop(client);
            let r = tokio::time::timeout(Duration::from_secs(10), async {
                match engine {
                    "tokio" => tokio::io::copy_bidirectional(&mut a, &mut b).await,
                    _ => fdcopy::tokio::copy_bidirectional(&mut a, &mut b).await,
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{rt} {engine}: still pending 10 s after the reset"));
            let e = r.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{rt} {engine}: {e:?}");
            drop(server);
        }
    });
}

/// `SO_LINGER` 0: closing sends RST.
fn socket2_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket, a pointer to a linger struct of the size passed.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
}

/// 16 MiB both ways at once through the proxy, every byte checked on arrival, both
/// directions spliced.
#[test]
fn bulk_both_ways_at_once() {
    both(|rt| async move {
        let len = 16 << 20;
        let Scene {
            mut a,
            mut b,
            client,
            server,
        } = scene();
        let c = fdcopy_testkit::Peer::spawn(move || {
            let w = client.try_clone()?;
            let feeder = fdcopy_testkit::Peer::spawn(move || {
                let mut w = w;
                fdcopy_testkit::write_payload(&mut w, 3, 0, len)?;
                w.shutdown(Shutdown::Write) // a clone's close alone sends no FIN
            });
            let mut r = client;
            let mut v = fdcopy_testkit::Verifier::new(fdcopy_testkit::Pattern::shared(), 4, 0);
            let n = fdcopy_testkit::verify_reader(&mut r, &mut v, len).map_err(std::io::Error::other)?;
            feeder.join()?;
            Ok(n)
        });
        let s = fdcopy_testkit::Peer::spawn(move || {
            let w = server.try_clone()?;
            let feeder = fdcopy_testkit::Peer::spawn(move || {
                let mut w = w;
                fdcopy_testkit::write_payload(&mut w, 4, 0, len)?;
                w.shutdown(Shutdown::Write) // a clone's close alone sends no FIN
            });
            let mut r = server;
            let mut v = fdcopy_testkit::Verifier::new(fdcopy_testkit::Pattern::shared(), 3, 0);
            let n = fdcopy_testkit::verify_reader(&mut r, &mut v, len).map_err(std::io::Error::other)?;
            feeder.join()?;
            Ok(n)
        });
        let report = fdcopy::tokio::proxy(&mut a, &mut b, &ProxyOptions::new()).await;
        assert!(matches!(report.outcome, Outcome::Complete), "{rt}: {report:?}");
        assert_eq!((report.a_to_b.written, report.b_to_a.written), (len, len), "{rt}");
        assert_eq!(report.a_to_b.report.strategy(), Strategy::SpliceViaPipe);
        assert_eq!(report.b_to_a.report.strategy(), Strategy::SpliceViaPipe);
        assert_eq!((report.a_to_b.in_flight, report.b_to_a.in_flight), (0, 0));
        drop((a, b));
        assert_eq!(c.join().unwrap(), len, "{rt}");
        assert_eq!(s.join().unwrap(), len, "{rt}");
    });
}

/// `CloseBoth` ends the proxy at the first end of file, even though the server never closes:
/// both write halves are shut, and the client sees end of file.
#[test]
fn close_both_ends_at_the_first_end_of_file() {
    both(|rt| async move {
        let Scene {
            mut a,
            mut b,
            client,
            server,
        } = scene();
        let c = fdcopy_testkit::Peer::spawn(move || {
            let mut client = client;
            client.write_all(b"bye")?;
            client.shutdown(Shutdown::Write)?;
            let mut rest = Vec::new();
            client.read_to_end(&mut rest)?; // end of file from the proxy's shutdown
            Ok(rest.len() as u64)
        });
        let s = fdcopy_testkit::Peer::spawn(move || {
            let mut server = server;
            let mut got = Vec::new();
            server.read_to_end(&mut got)?; // "bye", then end of file
                                           // The server stays open and silent.
            std::thread::sleep(Duration::from_millis(300));
            Ok(got.len() as u64)
        });
        let options = ProxyOptions::new().half_close(HalfClose::CloseBoth);
        let report = fdcopy::tokio::proxy(&mut a, &mut b, &options).await;
        assert!(matches!(report.outcome, Outcome::ClosedBoth), "{rt}: {report:?}");
        assert_eq!(report.a_to_b.written, 3);
        assert!(report.a_to_b.finished && !report.b_to_a.finished, "{rt}: {report:?}");
        assert_eq!(c.join().unwrap(), 0, "{rt}");
        assert_eq!(s.join().unwrap(), 3, "{rt}");
    });
}

/// `Linger(d)` keeps the other way going for `d`, then ends both; the idle timeout ends a
/// proxy nobody talks through.
#[test]
fn linger_and_idle_timeouts() {
    both(|rt| async move {
        let Scene {
            mut a,
            mut b,
            client,
            server,
        } = scene();
        let mut client = client;
        client.write_all(b"x").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let options = ProxyOptions::new().half_close(HalfClose::Linger(Duration::from_millis(100)));
        let report = fdcopy::tokio::proxy(&mut a, &mut b, &options).await;
        assert!(matches!(report.outcome, Outcome::LingerExpired), "{rt}: {report:?}");
        assert_eq!(report.a_to_b.written, 1);
        drop((server, client));

        let Scene {
            mut a,
            mut b,
            client,
            server,
        } = scene();
        let options = ProxyOptions::new().idle_timeout(Duration::from_millis(100));
        let report = fdcopy::tokio::proxy(&mut a, &mut b, &options).await;
        assert!(matches!(report.outcome, Outcome::IdleTimeout), "{rt}: {report:?}");
        assert_eq!((report.a_to_b.written, report.b_to_a.written), (0, 0));
        drop((server, client));
    });
}

/// A failure reports which direction failed and with what, and both counts: the server
/// resets while the client is still sending.
#[test]
fn a_failure_reports_its_direction_and_both_counts() {
    both(|rt| async move {
        let Scene {
            mut a,
            mut b,
            client,
            server,
        } = scene();
        let c = fdcopy_testkit::Peer::spawn(move || {
            let mut client = client;
            let _ = fdcopy_testkit::write_payload(&mut client, 5, 0, 64 << 20);
            Ok(())
        });
        let s = fdcopy_testkit::Peer::spawn(move || {
            let mut server = server;
            server.write_all(b"hello")?;
            let mut buf = vec![0u8; 1 << 20];
            let mut got = 0u64;
            while got < 2 << 20 {
                got += server.read(&mut buf)? as u64;
            }
            socket2_linger_zero(&server);
            Ok(got)
        });
        let report = fdcopy::tokio::proxy(&mut a, &mut b, &ProxyOptions::new()).await;
        let Outcome::Failed { direction, error } = &report.outcome else {
            panic!("{rt}: {report:?}")
        };
        // The reset shows on whichever direction touches the socket first.
        assert!(
            matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{rt}: {direction:?} {error:?}"
        );
        let got = s.join().unwrap();
        assert!(report.a_to_b.written >= got, "{rt}: {report:?}");
        assert_eq!(report.b_to_a.written, 5, "{rt}: {report:?}");
        drop((a, b));
        let _ = c.join();
    });
}

/// The blocking twin: half-close through threads, TCP ↔ TCP and TCP ↔ Unix, both spliced.
#[test]
fn the_blocking_twin() {
    for (request, answer) in [(0u64, 0u64), (11, 3), (5 << 20, 300_000)] {
        let (mut a, client) = fdcopy_testkit::tcp_pair(HANG).unwrap();
        let (mut b, server) = fdcopy_testkit::tcp_pair(HANG).unwrap();
        let (c, s) = ping_pong(client, server, request, answer);
        let counts = fdcopy::copy_bidirectional(&mut a, &mut b).unwrap();
        assert_eq!(counts, (request, answer));
        assert_eq!(s.join().unwrap(), request);
        assert_eq!(c.join().unwrap(), answer);
    }
    // TCP on one side, a unix socket on the other.
    let (mut a, client) = fdcopy_testkit::tcp_pair(HANG).unwrap();
    let (mut b, server) = fdcopy_testkit::unix_pair(HANG).unwrap();
    let c = fdcopy_testkit::Peer::spawn(move || {
        let mut client = client;
        fdcopy_testkit::write_payload(&mut client, 6, 0, 2 << 20)?;
        client.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        client.read_to_end(&mut got)?;
        Ok(got)
    });
    let s = fdcopy_testkit::Peer::spawn(move || {
        let mut server = server;
        let mut v = fdcopy_testkit::Verifier::new(fdcopy_testkit::Pattern::shared(), 6, 0);
        let n = fdcopy_testkit::verify_reader(&mut server, &mut v, 2 << 20).map_err(std::io::Error::other)?;
        server.write_all(b"ok")?;
        Ok(n)
    });
    assert_eq!(fdcopy::copy_bidirectional(&mut a, &mut b).unwrap(), (2 << 20, 2));
    assert_eq!(s.join().unwrap(), 2 << 20);
    assert_eq!(c.join().unwrap(), b"ok");
}

/// The blocking twin ends at once when one side resets while the other idles.
#[test]
fn the_blocking_twin_ends_at_once_on_a_reset() {
    let (mut a, client) = fdcopy_testkit::tcp_pair(HANG).unwrap();
    let (mut b, server) = fdcopy_testkit::tcp_pair(HANG).unwrap();
    let mut client = client;
    client.write_all(&[1u8; 1000]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    socket2_linger_zero(&client);
    drop(client);
    let e = fdcopy::copy_bidirectional(&mut a, &mut b).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e:?}");
    drop(server);
}
