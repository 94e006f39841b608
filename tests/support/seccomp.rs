//! A raw seccomp-BPF installer on `libc` (testing.md §2): fail chosen syscalls with an errno,
//! optionally only when one argument (its low 32 bits) has a given value.
//!
//! * `install(rules, false)`: the calling thread, and threads or children it creates afterwards
//!   (Pattern A: the filter dies with the test thread).
//! * `install(rules, true)`: the whole process (`SECCOMP_FILTER_FLAG_TSYNC`; Pattern B children).
//!
//! A filter cannot be removed, and the most recently installed errno wins when filters stack.
#![allow(dead_code)]

use std::io;

/// Fail syscall `nr` with `errno`; with `arg: Some((i, v))` only when argument `i` equals `v`
/// (low 32 bits).
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub nr: i64,
    pub errno: i32,
    pub arg: Option<(u8, u32)>,
}

impl Rule {
    /// Every call of `nr` fails with `errno`.
    pub fn all(nr: i64, errno: i32) -> Rule {
        Rule { nr, errno, arg: None }
    }

    /// Calls of `nr` whose argument `index` is `value` fail with `errno`.
    pub fn when(nr: i64, errno: i32, index: u8, value: u32) -> Rule {
        Rule {
            nr,
            errno,
            arg: Some((index, value)),
        }
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64

const LD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter: allow everything of another architecture, fail the matching calls, allow the rest.
/// `seccomp_data` offsets: nr = 0, arch = 4, args[i] = 16 + 8 * i (low word on little endian).
pub fn program(rules: &[Rule]) -> Vec<libc::sock_filter> {
    let mut p = vec![
        ins(LD, 0, 0, 4),
        ins(JEQ, 1, 0, AUDIT_ARCH),
        ins(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    for r in rules {
        let ret = ins(RET, 0, 0, libc::SECCOMP_RET_ERRNO | (r.errno as u32 & 0xffff));
        p.push(ins(LD, 0, 0, 0));
        match r.arg {
            None => {
                p.push(ins(JEQ, 0, 1, r.nr as u32));
                p.push(ret);
            }
            Some((i, v)) => {
                p.push(ins(JEQ, 0, 3, r.nr as u32));
                p.push(ins(LD, 0, 0, 16 + 8 * i as u32));
                p.push(ins(JEQ, 0, 1, v));
                p.push(ret);
            }
        }
    }
    p.push(ins(RET, 0, 0, libc::SECCOMP_RET_ALLOW));
    p
}

/// Installs the filter: on this thread (and what it creates later), or with `tsync` on every
/// thread of the process.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub fn install(rules: &[Rule], tsync: bool) -> io::Result<()> {
    let prog = program(rules);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut _,
    };
    // SAFETY: `fprog` points into `prog`, which outlives both calls; the arguments follow the
    // kernel ABI of prctl(2) and seccomp(2).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if tsync { libc::SECCOMP_FILTER_FLAG_TSYNC } else { 0 };
        if libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Other architectures: no filter (the callers skip).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn install(_rules: &[Rule], _tsync: bool) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "seccomp installer: unsupported architecture",
    ))
}

/// The syscall number behind an fdcopy syscall (`sendfile` is `sendfile64` on 64-bit targets,
/// which is what `SYS_sendfile` names there).
pub fn nr(call: fdcopy::table::Syscall) -> i64 {
    match call {
        fdcopy::table::Syscall::CopyFileRange => libc::SYS_copy_file_range,
        fdcopy::table::Syscall::Sendfile => libc::SYS_sendfile,
        fdcopy::table::Syscall::Splice => libc::SYS_splice,
        fdcopy::table::Syscall::Ficlone => libc::SYS_ioctl,
        fdcopy::table::Syscall::SeekData => libc::SYS_lseek,
        fdcopy::table::Syscall::Fallocate => libc::SYS_fallocate,
        fdcopy::table::Syscall::Ftruncate => libc::SYS_ftruncate,
        other => panic!("no syscall number known for {other:?}"),
    }
}

/// The index of the length argument of `call` (for faults at the N-th call, matched by length).
pub fn len_arg(call: fdcopy::table::Syscall) -> u8 {
    match call {
        // copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)
        fdcopy::table::Syscall::CopyFileRange => 4,
        // sendfile(out_fd, in_fd, offset, count)
        fdcopy::table::Syscall::Sendfile => 3,
        // splice(fd_in, off_in, fd_out, off_out, len, flags)
        fdcopy::table::Syscall::Splice => 4,
        other => panic!("no length argument known for {other:?}"),
    }
}
