//! The probe's report: the human table, and the same as one JSON object.

use fdcopy::Strategy;

use super::env::{Filesystems, Findings, IoUring, Pipes};
use super::matrix::Row;
use super::sparse::FsRow;
use super::SAMPLE;
use crate::errno::errno_name;
use crate::json::Json;

fn cfr_text(r: &Result<u64, String>) -> String {
    match r {
        Ok(n) => format!("works ({n} bytes, checked)"),
        Err(e) if e.starts_with("n/a") => e.clone(),
        Err(e) if e == "EXDEV" => "EXDEV (fdcopy falls back to sendfile)".into(),
        Err(e) => format!("fails: {e} (fdcopy falls back)"),
    }
}

fn reflink_text(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "yes (FICLONE works; copy_file_range shares extents)".into(),
        Err(e) => format!("no ({e})"),
    }
}

fn steps_text(steps: &[Strategy]) -> String {
    steps.iter().map(|s| s.name()).collect::<Vec<_>>().join(" > ")
}

fn setpipe_text(r: &Result<usize, i32>) -> String {
    match r {
        Ok(n) => format!("{n}"),
        Err(e) => errno_name(*e),
    }
}

/// The human report: the environment's findings, then the matrix as a table.
pub fn print_human(env: &Findings, sparse: &[FsRow], rows: &[Row]) {
    println!("fdcopy probe: Linux {} ({})", env.kernel.release, env.kernel.machine);
    println!();
    println!("syscalls (called with fd -1: EBADF = available, ENOSYS = not implemented, EPERM = denied)");
    for s in &env.syscalls {
        println!("  {:<16} {:<28} {}", s.name, s.status, s.note);
    }
    println!();
    print_pipes(&env.pipes);
    println!();
    print_filesystems(&env.fs);
    println!();
    print_sparse(sparse);
    println!();
    print_io_uring(&env.uring);
    println!();
    print_matrix(rows);
}

fn print_pipes(pipes: &Pipes) {
    println!("pipes");
    let opt = |v: Option<usize>| v.map_or("unknown".to_string(), |n| n.to_string());
    println!("  {:<34} {}", "pipe-max-size", opt(pipes.max_size));
    println!("  {:<34} {}", "default capacity", opt(pipes.default_capacity));
    println!(
        "  {:<34} {}",
        "F_SETPIPE_SZ 1 MiB obtained",
        setpipe_text(&pipes.one_mib)
    );
    let above = match &pipes.above_max {
        Some(Ok(n)) => format!("{n} (CAP_SYS_RESOURCE)"),
        Some(Err(libc::EPERM)) => "EPERM (no CAP_SYS_RESOURCE)".to_string(),
        Some(Err(e)) => errno_name(*e),
        None => "not tried".to_string(),
    };
    println!("  {:<34} {}", "F_SETPIPE_SZ 2 x pipe-max-size", above);
}

fn print_filesystems(fs: &Filesystems) {
    let t = fs.temp_dir.display().to_string();
    println!("filesystems");
    println!("  {:<34} {} ({})", "temp dir", t, fs.temp_fs);
    println!("  {:<34} {}", "/dev/shm", fs.shm_fs.as_deref().unwrap_or("missing"));
    println!(
        "  {:<34} {}",
        format!("copy_file_range within {t}"),
        cfr_text(&fs.cfr_same)
    );
    println!(
        "  {:<34} {}",
        format!("copy_file_range {t} -> /dev/shm"),
        cfr_text(&fs.cfr_cross)
    );
    println!("  {:<34} {}", format!("reflink in {t}"), reflink_text(&fs.reflink));
}

fn print_sparse(rows: &[FsRow]) {
    println!("sparse files and reflinks (8 MiB file, 64 KiB of data at 0 and at 4 MiB)");
    for r in rows {
        println!("  {} ({})", r.place, r.fs);
        if let Some(why) = &r.skipped {
            println!("    skipped: {why}");
        }
        for (what, c) in &r.checks {
            println!("    {what:<14} {:<8} {}", c.status, c.detail);
        }
    }
}

fn print_io_uring(uring: &IoUring) {
    println!("io_uring (informational: fdcopy does not use it)");
    let sysctl = match uring.sysctl {
        Some(0) => "0 (enabled)".to_string(),
        Some(1) => "1 (io_uring_group only)".to_string(),
        Some(2) => "2 (disabled)".to_string(),
        Some(n) => n.to_string(),
        None => "absent (kernel < 6.6)".to_string(),
    };
    println!("  {:<34} {}", "kernel.io_uring_disabled", sysctl);
    let setup = match uring.setup_errno {
        Some(e) => errno_name(e),
        None => "succeeded".to_string(),
    };
    println!("  {:<34} {} -> {}", "io_uring_setup(0, NULL)", setup, uring.status());
}

fn print_matrix(rows: &[Row]) {
    println!(
        "live matrix: {} MiB per pair through fdcopy::Copier::copy with std types",
        SAMPLE >> 20
    );
    println!("  (planned: fdcopy::table::plan for the pair before any errno; strategy: what moved the most bytes)");
    let header = ["src", "dst", "planned", "strategy", "MiB/s", "bytes", "ok"];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let mut strategy = r.strategy.map_or("-".to_string(), |s| s.name().to_string());
            if r.strategies.len() > 1 {
                let others: Vec<String> = r
                    .strategies
                    .iter()
                    .filter(|(s, _)| Some(*s) != r.strategy)
                    .map(|(s, n)| format!("{} {n}", s.name()))
                    .collect();
                strategy = format!("{strategy} (+{})", others.join(", "));
            }
            [
                r.src.to_string(),
                r.dst.to_string(),
                steps_text(&r.planned),
                strategy,
                format!("{:.0}", r.mib_per_s()),
                r.bytes.to_string(),
                if r.ok { "yes".to_string() } else { "NO".to_string() },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut s = String::from(" ");
        for (i, (cell, w)) in c.iter().zip(width).enumerate() {
            // Numbers right-aligned.
            if i == 4 || i == 5 {
                s.push_str(&format!(" {cell:>w$}"));
            } else {
                s.push_str(&format!(" {cell:<w$}"));
            }
        }
        s.trim_end().to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for c in &cells {
        println!("{}", line(c));
    }
    for r in rows.iter().filter(|r| r.error.is_some()) {
        println!("  {} -> {}: {}", r.src, r.dst, r.error.as_deref().unwrap_or(""));
    }
    let good = rows.iter().filter(|r| r.ok).count();
    println!("  {good}/{} pairs delivered every byte intact", rows.len());
}

/// Everything `print_human` shows, as one JSON object.
pub fn json(env: &Findings, sparse: &[FsRow], rows: &[Row]) -> String {
    let Findings {
        kernel,
        syscalls,
        pipes,
        fs,
        uring,
    } = env;
    let mut j = Json::default();
    j.open('{');
    j.field_str("kernel", &kernel.release);
    j.field_str("machine", &kernel.machine);
    j.key("syscalls");
    j.open('{');
    for s in syscalls {
        j.field_str(s.name, &s.status);
    }
    j.close('}');
    j.key("syscall_errnos");
    j.open('{');
    for s in syscalls {
        j.field_opt_str(s.name, s.errno.map(errno_name).as_deref());
    }
    j.close('}');
    j.key("pipes");
    j.open('{');
    j.field_opt_int("pipe_max_size", pipes.max_size.map(|n| n as u64));
    j.field_opt_int("default_capacity", pipes.default_capacity.map(|n| n as u64));
    setpipe_field(&mut j, "setpipe_1mib", &pipes.one_mib);
    match &pipes.above_max {
        Some(r) => setpipe_field(&mut j, "setpipe_above_max", r),
        None => j.field_raw("setpipe_above_max", "null"),
    }
    j.close('}');
    j.key("filesystems");
    j.open('{');
    j.field_str("temp_dir", &fs.temp_dir.display().to_string());
    j.field_str("temp_fs", &fs.temp_fs);
    j.field_opt_str("shm_fs", fs.shm_fs.as_deref());
    result_field(&mut j, "cfr_same_fs", fs.cfr_same.as_ref().map(|&n| Some(n)));
    result_field(&mut j, "cfr_temp_to_shm", fs.cfr_cross.as_ref().map(|&n| Some(n)));
    result_field(&mut j, "reflink", fs.reflink.as_ref().map(|()| None));
    j.close('}');
    j.key("sparse");
    j.open('[');
    for r in sparse {
        j.open('{');
        j.field_str("place", &r.place);
        j.field_str("fs", &r.fs);
        j.field_opt_str("skipped", r.skipped.as_deref());
        for (what, c) in &r.checks {
            j.key(what);
            j.open('{');
            j.field_str("status", c.status);
            j.field_str("detail", &c.detail);
            j.close('}');
        }
        j.close('}');
    }
    j.close(']');
    j.key("io_uring");
    j.open('{');
    j.field_str("status", &uring.status());
    j.field_opt_int("io_uring_disabled", uring.sysctl);
    j.field_opt_str("setup_errno", uring.setup_errno.map(errno_name).as_deref());
    j.close('}');
    j.field_int("sample_bytes", SAMPLE as u64);
    j.key("matrix");
    j.open('[');
    for r in rows {
        j.open('{');
        j.field_str("src", r.src);
        j.field_str("dst", r.dst);
        j.field_opt_str("strategy", r.strategy.map(Strategy::name));
        j.field_int("bytes", r.bytes);
        j.field_bool("ok", r.ok);
        j.field_raw("mib_per_s", &format!("{:.1}", r.mib_per_s()));
        j.field_raw("seconds", &format!("{:.6}", r.seconds));
        j.key("planned");
        j.open('[');
        for s in &r.planned {
            j.item_str(s.name());
        }
        j.close(']');
        j.key("strategies");
        j.open('{');
        for (s, n) in &r.strategies {
            j.field_int(s.name(), *n);
        }
        j.close('}');
        j.field_opt_str("error", r.error.as_deref());
        j.close('}');
    }
    j.close(']');
    j.close('}');
    j.finish()
}

/// An `F_SETPIPE_SZ` result: the capacity obtained, or the errno's name.
fn setpipe_field(j: &mut Json, name: &str, r: &Result<usize, i32>) {
    match r {
        Ok(n) => j.field_int(name, *n as u64),
        Err(e) => j.field_str(name, &errno_name(*e)),
    }
}

/// `{"ok":true,"bytes":N}` (no `bytes` for `None`) or `{"ok":false,"error":"..."}`.
fn result_field(j: &mut Json, name: &str, r: Result<Option<u64>, &String>) {
    j.key(name);
    j.open('{');
    match r {
        Ok(bytes) => {
            j.field_bool("ok", true);
            if let Some(n) = bytes {
                j.field_int("bytes", n);
            }
        }
        Err(e) => {
            j.field_bool("ok", false);
            j.field_str("error", e);
        }
    }
    j.close('}');
}
