//! `file-file-sparse`: whole-file copies of sparse (and, as controls, dense and fragmented) files
//! between real filesystems, with `fdcopy::copy_file`, `std::fs::copy`, `std::io::copy` and
//! `cp --sparse=auto`, and the goals of issue 11 printed beside the figures.
//!
//! The filesystems are a private tmpfs and ext4, xfs and btrfs on sparse loop images that live
//! on tmpfs, all mounted by this module in a private mount namespace of the thread that runs the
//! rows (`crate::loopfs`) and gone when it ends; a row whose filesystem cannot be mounted (no
//! root, no loop device, no mkfs) says why instead of running. Every run copies a file that was
//! written and synced before the rounds into a new destination, then syncs that filesystem
//! (`syncfs`, its own column: the writeback the copier does not see), reads the destination's
//! allocation after it was closed, spot-checks its bytes, and deletes it.
//!
//! Columns: wall and CPU of the copy (the copying thread's CPU, exact; for cp the child's
//! user + sys, exec included, as its wall is), the destination's `st_blocks` after close and
//! sync, the bytes the copier dirtied (`ru_oublock`; tmpfs has no block device: "-"), and the
//! `syncfs` wall. Medians over rounds; the engines' order rotates every round.
//!
//! This lives apart from the scenario table of `bench.rs` (its rows have other engines, other
//! columns and goals of their own); `bench.rs` only hands it the command line.

mod output;
mod rows;
mod run;

use std::time::Instant;

pub const USAGE: &str = "
file-file-sparse (a scenario of its own, run after the others, or alone with
--scenario file-file-sparse): whole-file copies between tmpfs, ext4, xfs and btrfs (loop
images on tmpfs, mounted in a private mount namespace; rows skipped with the reason when that
is impossible) of a sparse file of the bulk size with 1/128 of it in 8 extents, of one with 1/4
in 8 extents, of a dense one and of a fragmented one (64 MiB, 4 KiB of data every 8 KiB), by
fdcopy::copy_file, std::fs::copy, std::io::copy and cp --sparse=auto; wall, CPU, destination
blocks, bytes dirtied and sync time, with issue 11's goals. Its bulk size: --size, else 1 GiB
(256 MiB with --quick); rounds: --rounds, else 5 (3 with --quick). --engine does not apply.
";

/// What the command line asks of these rows.
#[derive(Clone, Debug)]
pub struct Args {
    /// Run the rows (no `--scenario`, or `file-file-sparse` among them).
    pub wanted: bool,
    /// Only these rows (`--scenario file-file-sparse` alone).
    pub only: bool,
    pub size: u64,
    pub rounds: u32,
    pub json: bool,
    pub quick: bool,
}

const NAME: &str = "file-file-sparse";

/// Takes `file-file-sparse` out of the command line (the rest goes to `cli::parse`) and reads the
/// options these rows share with the others.
pub fn split(args: &[String]) -> Result<(Vec<String>, Args), String> {
    let mut rest = Vec::new();
    let (mut scenarios_given, mut named, mut others) = (false, false, false);
    let (mut quick, mut json, mut size, mut rounds) = (false, false, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--scenario" => {
                let Some(v) = it.next() else {
                    rest.push(a.clone());
                    continue;
                };
                scenarios_given = true;
                let kept: Vec<&str> = v.split(',').filter(|s| !s.is_empty() && *s != NAME).collect();
                named |= v.split(',').any(|s| s == NAME);
                if !kept.is_empty() {
                    others = true;
                    rest.push(a.clone());
                    rest.push(kept.join(","));
                }
                continue;
            }
            "--quick" => quick = true,
            "--json" => json = true,
            "--size" => {
                if let Some(v) = it.clone().next() {
                    size = Some(super::cli::parse_size(v)?);
                }
            }
            "--rounds" => {
                if let Some(v) = it.clone().next() {
                    rounds = v.parse().ok().filter(|&n| n > 0);
                }
            }
            _ => {}
        }
        rest.push(a.clone());
    }
    let wanted = !scenarios_given || named;
    Ok((
        rest,
        Args {
            wanted,
            only: named && !others,
            size: size.unwrap_or(if quick { 256 << 20 } else { 1 << 30 }),
            rounds: rounds.unwrap_or(if quick { 3 } else { 5 }),
            json,
            quick,
        },
    ))
}

/// Runs the rows on a thread of their own (its private mount namespace ends with it) and prints
/// them.
pub fn main(args: &Args) -> Result<(), String> {
    let args = args.clone();
    let start = Instant::now();
    let measured = std::thread::Builder::new()
        .name("file-file-sparse".into())
        .spawn(move || rows::run_all(&args).map(|m| (m, args)))
        .map_err(|e| e.to_string())?
        .join()
        .map_err(|_| "file-file-sparse: the rows' thread panicked".to_string())??;
    let (measured, args) = measured;
    eprintln!("bench: file-file-sparse {:.1} s", start.elapsed().as_secs_f64());
    if args.json {
        println!("{}", output::json(&measured, &args));
    } else {
        output::print_table(&measured, &args);
    }
    Ok(())
}
