//! Bad inputs: a clear `io::Error` of the right kind, zero bytes written, no panic, no hang.
//! Every copy runs on a thread with a deadline (`support::bounded`), so a hang fails the test
//! instead of stalling the suite.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::fs::File;
use std::io::{self, Read, Write};
use std::io::{Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use fdcopy::{Copier, CopyError, Fd, Report};
use fdcopy_testkit::payload;
use support::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// A side whose descriptor number is closed: `AsFd` hands out a `BorrowedFd` for it.
struct Closed(RawFd);

impl Closed {
    /// A descriptor number that was open, is closed now, and that nobody will be given again
    /// during the test: far above the lowest free number, which is what the kernel hands out.
    fn new() -> Closed {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let null = File::open("/dev/null").unwrap();
        // SAFETY: getrlimit fills the struct; dup2 and close act on numbers this test owns
        // (the target number is unused: nothing in this process opens that many descriptors).
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
            let fd = (lim.rlim_cur.min(1 << 16) as RawFd) - 7;
            assert_eq!(libc::fcntl(fd, libc::F_GETFD), -1, "fd {fd} is in use");
            assert_eq!(libc::dup2(null.as_raw_fd(), fd), fd);
            assert_eq!(libc::close(fd), 0);
            Closed(fd)
        }
    }
}

impl AsFd for Closed {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: deliberately breaks BorrowedFd's promise that the number is open: that is the
        // fault under test. Every use of the number fails with EBADF in the kernel; no memory is
        // involved, and the number is never reused during the test (see `Closed::new`), so no
        // other file can be reached through it.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

/// `Read`/`Write` straight on a descriptor (for descriptors std has no type for: an O_PATH
/// descriptor, a listening or unconnected socket, a closed number).
struct Raw<T: AsFd>(T);

impl<T: AsFd> Read for Raw<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(rustix::io::read(self.0.as_fd(), buf)?)
    }
}

impl<T: AsFd> Write for Raw<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(rustix::io::write(self.0.as_fd(), buf)?)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<T: AsFd> AsFd for Raw<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Checks a refused copy: an error with `errno` (one of), nothing written.
fn refused(res: Result<Report, CopyError>, errnos: &[i32], what: &str) -> CopyError {
    let e = match res {
        Ok(r) => panic!("{what}: copied {r:?}"),
        Err(e) => e,
    };
    let errno = e.raw_os_error().unwrap_or(-1);
    assert!(errnos.contains(&errno), "{what}: {e:?} ({})", errno_name(errno));
    assert_eq!(e.written(), 0, "{what}: {e:?}");
    assert_eq!(e.report().written(), 0, "{what}: {e:?}");
    eprintln!("INFO {what}: {} ({:?}), 0 written", errno_name(errno), e.kind());
    e
}

fn src_file() -> File {
    common::file_with(&payload(1 << 20, 61), 0)
}

#[test]
fn closed_descriptor_source_and_destination() {
    bounded("closed", DEADLINE, || {
        let mut dst = tempfile::tempfile().unwrap();
        let res = Copier::new().go_copy(&mut Fd(&mut dst), &mut Fd(Raw(Closed::new())));
        refused(res, &[libc::EBADF], "closed source");
        assert!(file_bytes(&dst).is_empty());

        let mut src = src_file();
        let res = Copier::new().go_copy(&mut Fd(Raw(Closed::new())), &mut Fd(&mut src));
        refused(res, &[libc::EBADF], "closed destination");
        // Go order and the drop-in: the same error.
        let e = fdcopy::go::copy(&mut Fd(Raw(Closed::new())), &mut Fd(&mut src)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
        let e = fdcopy::copy(&mut Raw(Closed::new()), &mut tempfile::tempfile().unwrap()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    });
}

#[test]
fn read_only_destination() {
    bounded("ro-dst", DEADLINE, || {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), b"original").unwrap();
        let mut ro = File::open(tmp.path()).unwrap();
        let mut src = src_file();
        // copy_file_range and sendfile decline (EBADF at the first call), the loop's write fails.
        let res = Copier::new().copy(&mut src, &mut ro);
        refused(res, &[libc::EBADF], "read-only destination");
        assert_eq!(std::fs::read(tmp.path()).unwrap(), b"original");
        // The loop read one buffer before its first write failed: the source moved by at most
        // that much (as with std::io::copy), while the count, rightly, is 0.
        let pos = offset(src.as_fd());
        assert!(pos <= fdcopy::Copier::DEFAULT_BUFFER as u64, "source offset {pos}");
        eprintln!("INFO read-only destination: source offset {pos} after the failed copy");
    });
}

#[test]
fn write_only_source() {
    bounded("wo-src", DEADLINE, || {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), payload(1 << 20, 62)).unwrap();
        let mut wo = File::options().write(true).open(tmp.path()).unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        let res = Copier::new().copy(&mut wo, &mut dst);
        refused(res, &[libc::EBADF], "write-only source");
        assert!(file_bytes(&dst).is_empty());
        assert_eq!(offset(wo.as_fd()), 0);
    });
}

#[test]
fn directory_source_and_destination() {
    bounded("dir", DEADLINE, || {
        let dir = tempfile::tempdir().unwrap();
        let mut d = File::open(dir.path()).unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        let e = refused(
            Copier::new().copy(&mut d, &mut dst),
            &[libc::EISDIR],
            "directory source",
        );
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        assert!(file_bytes(&dst).is_empty());
        // A directory can only be opened read-only: writing it is EBADF.
        let mut src = src_file();
        let mut d = File::open(dir.path()).unwrap();
        refused(
            Copier::new().copy(&mut src, &mut d),
            &[libc::EBADF, libc::EISDIR],
            "directory destination",
        );
    });
}

#[test]
fn listening_socket_source_and_destination() {
    bounded("listen", DEADLINE, || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        let res = Copier::new().go_copy(&mut Fd(&mut dst), &mut Fd(Raw(l.as_fd())));
        refused(res, &[libc::ENOTCONN, libc::EINVAL], "listening socket source");
        assert!(file_bytes(&dst).is_empty());
        let mut src = src_file();
        let res = Copier::new().go_copy(&mut Fd(Raw(l.as_fd())), &mut Fd(&mut src));
        refused(res, &[libc::EPIPE, libc::ENOTCONN], "listening socket destination");
        // The listener still works.
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        drop((l.accept().unwrap(), c));
    });
}

fn unconnected() -> OwnedFd {
    use rustix::net::{socket_with, AddressFamily, SocketFlags, SocketType};
    socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::CLOEXEC, None).unwrap()
}

#[test]
fn unconnected_socket_source_and_destination() {
    bounded("unconnected", DEADLINE, || {
        let mut dst = tempfile::tempfile().unwrap();
        let res = Copier::new().go_copy(&mut Fd(&mut dst), &mut Fd(Raw(unconnected())));
        refused(res, &[libc::ENOTCONN, libc::EINVAL], "unconnected socket source");
        assert!(file_bytes(&dst).is_empty());
        let mut src = src_file();
        let res = Copier::new().go_copy(&mut Fd(Raw(unconnected())), &mut Fd(&mut src));
        refused(res, &[libc::EPIPE, libc::ENOTCONN], "unconnected socket destination");
    });
}

#[test]
fn o_path_descriptor() {
    bounded("o_path", DEADLINE, || {
        use rustix::fs::{Mode, OFlags};
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), payload(1 << 20, 63)).unwrap();
        let path_fd = || rustix::fs::open(tmp.path(), OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let mut dst = tempfile::tempfile().unwrap();
        let res = Copier::new().go_copy(&mut Fd(&mut dst), &mut Fd(Raw(path_fd())));
        refused(res, &[libc::EBADF], "O_PATH source");
        assert!(file_bytes(&dst).is_empty());
        let mut src = src_file();
        let res = Copier::new().go_copy(&mut Fd(Raw(path_fd())), &mut Fd(&mut src));
        refused(res, &[libc::EBADF], "O_PATH destination");
        assert_eq!(std::fs::read(tmp.path()).unwrap(), payload(1 << 20, 63));
    });
}

/// The read end of a pipe copied into the write end of the same pipe, with bytes inside. An
/// unbounded copy can never see end of file (the caller holds the write end), and every byte
/// it reads goes straight back in: without a check, any loop spins forever. The right answer
/// is a prompt `InvalidInput` error, nothing written, the bytes still in the pipe; through
/// std's types and through `Fd` wrappers (kinds found by `fstat`). A limit makes the copy
/// finite, and it then runs as std's does: the bytes go round the pipe until the limit.
#[test]
fn same_pipe_both_ends() {
    for shape in ["std types", "Fd wrappers"] {
        let (left, res) = bounded(&format!("same pipe, {shape}"), Duration::from_secs(5), move || {
            let (mut r, mut w) = io::pipe().unwrap();
            w.write_all(b"hello").unwrap();
            let res = match shape {
                "std types" => Copier::new().copy(&mut r, &mut w),
                _ => Copier::new().go_copy(&mut Fd(&mut w), &mut Fd(&mut r)),
            };
            drop(w);
            let mut left = Vec::new();
            r.read_to_end(&mut left).unwrap();
            (left, res)
        });
        let e = match res {
            Ok(r) => panic!("same pipe ({shape}): copied {r:?}"),
            Err(e) => e,
        };
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{shape}: {e:?}");
        assert_eq!(e.written(), 0, "{shape}");
        assert_eq!(left, b"hello", "{shape}: the pipe's bytes stay");
        eprintln!("INFO same pipe ({shape}): {e}");
    }
    // Under a limit (small: the pair is not even examined; large: it is, and found finite) the
    // loop moves the limit's bytes around the pipe and stops there, the pipe's five bytes
    // rotated by as many as went round.
    for limit in [10u64, 12, (1 << 20) + 3] {
        let (left, r) = bounded(
            &format!("same pipe, limit {limit}"),
            Duration::from_secs(20),
            move || {
                let (mut r, mut w) = io::pipe().unwrap();
                w.write_all(b"hello").unwrap();
                let res = Copier::new().copy(&mut (&mut r).take(limit), &mut w);
                drop(w);
                let mut left = Vec::new();
                r.read_to_end(&mut left).unwrap();
                (left, res)
            },
        );
        let r = r.unwrap_or_else(|e| panic!("same pipe, limit {limit}: {e:?}"));
        let mut want = b"hello".to_vec();
        want.rotate_left((limit % 5) as usize);
        assert_eq!((r.written(), left), (limit, want), "limit {limit}");
        assert_eq!(r.strategy(), fdcopy::Strategy::Buffered, "limit {limit}");
    }
}

/// Descriptor flags of the caller's ends are never changed, also by failing copies.
#[test]
fn failing_copies_leave_flags_alone() {
    bounded("flags", DEADLINE, || {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut ro = File::open(tmp.path()).unwrap();
        let mut src = src_file();
        let (fs, fd) = (common::fd_flags(&src), common::fd_flags(&ro));
        let _ = Copier::new().copy(&mut src, &mut ro).unwrap_err();
        assert_eq!(common::fd_flags(&src), fs);
        assert_eq!(common::fd_flags(&ro), fd);
        assert!(ro.as_raw_fd() >= 0);
    });
}

/// A file copied onto its own growing end without a limit: the destination opened with O_APPEND
/// on the same file, or a second descriptor writing ahead of the reader. The reader would never
/// catch up with the writer (Go's io.Copy and std::io::copy fill the disk; GNU cat refuses:
/// "input file is output file"): fdcopy refuses with InvalidInput, nothing written, the file
/// unchanged, small files (no kernel path) included. One descriptor copied onto itself (writing
/// behind its reads) stays legal: that copy ends, see edge_cases; so does any bounded copy, see
/// `same_file_onto_its_own_end_under_a_limit`.
#[test]
fn same_file_onto_its_own_end_is_refused() {
    let m = match private_tmpfs("1m") {
        Ok(m) => m,
        Err(why) => skip!("{why}"),
    };
    for (len, append) in [(100_000usize, true), (10, true), (100_000, false), (10, false)] {
        let path = m.path.join(format!("self-{len}-{append}"));
        let data = payload(len, 64);
        std::fs::write(&path, &data).unwrap();
        let src = File::open(&path).unwrap();
        let dst = if append {
            File::options().append(true).open(&path).unwrap()
        } else {
            let mut f = File::options().write(true).open(&path).unwrap();
            f.seek(SeekFrom::End(0)).unwrap();
            f
        };
        let res = bounded("self-append", DEADLINE, move || {
            let (mut src, mut dst) = (src, dst);
            Copier::new().copy(&mut src, &mut dst)
        });
        let e = res.expect_err("a file copied onto its own end");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{len} {append}: {e:?}");
        assert_eq!(e.written(), 0);
        assert_eq!(std::fs::read(&path).unwrap(), data, "{len} {append}: file unchanged");
    }
}

/// A file copied onto its own end under a limit is finite, and copies exactly as std does: two
/// handles on one file, the reader at 0 and the writer at the end (or appending), `len` bytes
/// through `Take`, `copy_n` and a `LimitedReader`: the content doubled, both offsets right.
#[test]
fn same_file_onto_its_own_end_under_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    for len in [10usize, 100_000, 1 << 20] {
        for append in [false, true] {
            for how in ["take", "copy_n", "limit_reader"] {
                let what = format!("{how}, {len} bytes, append {append}");
                let path = dir.path().join(format!("self-{len}-{append}-{how}"));
                let data = payload(len, 77);
                std::fs::write(&path, &data).unwrap();
                let mut src = File::open(&path).unwrap();
                let mut dst = if append {
                    File::options().append(true).open(&path).unwrap()
                } else {
                    let mut f = File::options().write(true).open(&path).unwrap();
                    f.seek(SeekFrom::End(0)).unwrap();
                    f
                };
                let n = len as u64;
                let written = bounded(&what, DEADLINE, move || {
                    let r = match how {
                        "take" => fdcopy::copy(&mut (&mut src).take(n), &mut dst),
                        "copy_n" => fdcopy::go::copy_n(&mut dst, &mut src, n).map_err(Into::into),
                        _ => {
                            let mut l = fdcopy::go::limit_reader(&mut src, n);
                            let r = fdcopy::go::copy(&mut dst, &mut l).map_err(Into::into);
                            assert_eq!(l.remaining, 0);
                            r
                        }
                    };
                    let offsets = (src.stream_position().unwrap(), dst.stream_position().unwrap());
                    (r.map_err(|e: io::Error| e.to_string()), offsets)
                });
                let (r, (src_pos, dst_pos)) = written;
                assert_eq!(r, Ok(n), "{what}");
                assert_eq!((src_pos, dst_pos), (n, 2 * n), "{what}: offsets");
                let mut want = data.clone();
                want.extend_from_slice(&data);
                assert!(std::fs::read(&path).unwrap() == want, "{what}: the content doubled");
            }
        }
    }
}
