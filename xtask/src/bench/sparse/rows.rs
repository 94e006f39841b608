//! The rows: what is copied between which filesystems, the sources, the rounds, the checks of
//! every destination.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use fdcopy_testkit::payload;

use super::run::{self, Engine, Sample};
use super::Args;
use crate::loopfs::{self, Kind, Mounted};

/// A source file: its size and data extents (offset, length); the rest is holes.
#[derive(Clone, Debug)]
pub struct Layout {
    pub size: u64,
    pub extents: Vec<(u64, u64)>,
}

impl Layout {
    pub fn data(&self) -> u64 {
        self.extents.iter().map(|e| e.1).sum()
    }

    /// 8 extents of `len` at `size/1024 + k·size/8` (the study's 1 GiB file with 8 × 1 MiB at
    /// 1 MiB + k·128 MiB, for `len = size/1024`).
    fn eight(size: u64, len: u64) -> Layout {
        let extents = (0..8).map(|k| (size / 1024 + k * size / 8, len)).collect();
        Layout { size, extents }
    }

    fn dense(size: u64) -> Layout {
        Layout {
            size,
            extents: vec![(0, size)],
        }
    }

    /// 4 KiB of data every 8 KiB.
    fn fragmented(size: u64) -> Layout {
        let extents = (0..size / 8192).map(|k| (k * 8192, 4096)).collect();
        Layout { size, extents }
    }
}

/// Which of issue 11's goals a row checks for fdcopy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// CPU ≤ 0.02 × std; destination blocks ≤ source blocks + one block.
    Sparse,
    /// Same filesystem, xfs/btrfs: ≤ 1 ms, 0 bytes written, strategy clone.
    Clone,
    /// Wall ≤ 0.85 × cp.
    VsCp,
    /// Dense: CPU ≤ 1.02 × std.
    Dense,
    /// Fragmented: CPU ≤ 3 × std.
    Fragmented,
}

pub struct RowDef {
    pub what: String,
    pub from: Kind,
    pub to: Kind,
    pub layout: Layout,
    pub goal: Goal,
}

impl RowDef {
    pub fn pair(&self) -> String {
        format!("{}->{}", self.from.name(), self.to.name())
    }
}

/// One row's figures.
pub struct Measured {
    pub def: RowDef,
    /// Why it did not run.
    pub skipped: Option<String>,
    /// The source's allocation (after sync).
    pub src_allocated: u64,
    /// One block of the destination's filesystem.
    pub block: u64,
    pub samples: Vec<(Engine, Vec<Sample>)>,
}

pub fn human(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} B")
}

fn definitions(size: u64) -> Vec<RowDef> {
    let sparse = format!("{} with {} of data", human(size), human(size / 128));
    let mut rows: Vec<RowDef> = [
        (Kind::Tmpfs, Kind::Tmpfs, Goal::Sparse),
        (Kind::Ext4, Kind::Ext4, Goal::Sparse),
        (Kind::Tmpfs, Kind::Ext4, Goal::Sparse),
        (Kind::Ext4, Kind::Xfs, Goal::Sparse),
        (Kind::Xfs, Kind::Xfs, Goal::Clone),
        (Kind::Btrfs, Kind::Btrfs, Goal::Clone),
    ]
    .into_iter()
    .map(|(from, to, goal)| RowDef {
        what: sparse.clone(),
        from,
        to,
        layout: Layout::eight(size, size / 1024),
        goal,
    })
    .collect();
    rows.push(RowDef {
        what: format!("{} with {} of data in 8 extents", human(size), human(size / 4)),
        from: Kind::Ext4,
        to: Kind::Ext4,
        layout: Layout::eight(size, size / 32),
        goal: Goal::VsCp,
    });
    rows.push(RowDef {
        what: format!("dense {}", human(size)),
        from: Kind::Tmpfs,
        to: Kind::Tmpfs,
        layout: Layout::dense(size),
        goal: Goal::Dense,
    });
    for fs in [Kind::Ext4, Kind::Tmpfs] {
        rows.push(RowDef {
            what: "64 MiB, 4 KiB of data every 8 KiB".into(),
            from: fs,
            to: fs,
            layout: Layout::fragmented(64 << 20),
            goal: Goal::Fragmented,
        });
    }
    rows
}

/// Writes the source at `path` with `layout`, synced.
fn make_source(path: &Path, layout: &Layout, seed: u64) -> std::io::Result<()> {
    let f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.set_len(layout.size)?;
    let chunk = 8 << 20;
    for (i, &(at, len)) in layout.extents.iter().enumerate() {
        let mut done = 0;
        while done < len {
            let n = (len - done).min(chunk);
            f.write_all_at(&payload(n as usize, seed + i as u64 + done), at + done)?;
            done += n;
        }
    }
    f.sync_all()
}

/// Spot-checks `dst` against `src`: the size, the first and last 64 KiB of up to 64 extents
/// spread over the file, and a 4 KiB sample in the middle of up to 64 holes (zeros).
fn verify(src: &Path, dst: &Path, layout: &Layout) -> Result<(), String> {
    let (s, d) = (
        File::open(src).map_err(|e| e.to_string())?,
        File::open(dst).map_err(|e| e.to_string())?,
    );
    let len = d.metadata().map_err(|e| e.to_string())?.len();
    if len != layout.size {
        return Err(format!("{}: {len} bytes, expected {}", dst.display(), layout.size));
    }
    let read = |f: &File, at: u64, n: u64| -> Result<Vec<u8>, String> {
        let mut b = vec![0u8; n as usize];
        f.read_exact_at(&mut b, at).map_err(|e| e.to_string())?;
        Ok(b)
    };
    let step = layout.extents.len().div_ceil(64).max(1);
    for &(at, n) in layout.extents.iter().step_by(step) {
        for (off, m) in [(at, n.min(64 << 10)), (at + n - n.min(64 << 10), n.min(64 << 10))] {
            if read(&s, off, m)? != read(&d, off, m)? {
                return Err(format!("{}: bytes differ in [{off}, {})", dst.display(), off + m));
            }
        }
    }
    let holes: Vec<(u64, u64)> = layout
        .extents
        .windows(2)
        .map(|w| (w[0].0 + w[0].1, w[1].0))
        .chain(layout.extents.last().map(|&(a, n)| (a + n, layout.size)))
        .filter(|(a, b)| b - a >= 8192)
        .collect();
    for &(a, b) in holes.iter().step_by(holes.len().div_ceil(64).max(1)) {
        let mid = (a + (b - a) / 2) & !4095;
        if read(&d, mid, 4096)?.iter().any(|&x| x != 0) {
            return Err(format!("{}: the hole at {mid} holds data", dst.display()));
        }
    }
    Ok(())
}

fn blocks_of(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.blocks() * 512).unwrap_or(0)
}

/// Mounts every filesystem once, then runs every row.
pub fn run_all(args: &Args) -> Result<Vec<Measured>, String> {
    let size = args.size;
    let room = (2 * size + (512 << 20)).max(1 << 30);
    let mounts: Vec<(Kind, Result<Mounted, String>)> = [Kind::Tmpfs, Kind::Ext4, Kind::Xfs, Kind::Btrfs]
        .into_iter()
        .map(|k| (k, loopfs::mount(k, room)))
        .collect();
    let get = |k: Kind| {
        mounts
            .iter()
            .find(|m| m.0 == k)
            .map(|m| &m.1)
            .expect("every kind is mounted")
    };
    let mut out = Vec::new();
    let defs = definitions(size);
    for (i, def) in defs.into_iter().enumerate() {
        let (from, to) = match (get(def.from), get(def.to)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(why), _) | (_, Err(why)) => {
                out.push(Measured {
                    def,
                    skipped: Some(why.clone()),
                    src_allocated: 0,
                    block: 4096,
                    samples: Vec::new(),
                });
                continue;
            }
        };
        eprintln!("bench: file-file-sparse [{}] {} {}", i + 1, def.what, def.pair());
        let src = from.path.join(format!("src-{i}"));
        make_source(&src, &def.layout, 1000 * i as u64).map_err(|e| format!("source {}: {e}", src.display()))?;
        let src_allocated = blocks_of(&src);
        let block = fs::metadata(&to.path).map(|m| m.blksize()).unwrap_or(4096);
        let mut samples: Vec<(Engine, Vec<Sample>)> = Engine::ALL.iter().map(|&e| (e, Vec::new())).collect();
        let dst = to.path.join("dst");
        for round in 0..args.rounds as usize {
            for k in 0..Engine::ALL.len() {
                let j = (k + round) % Engine::ALL.len();
                let engine = Engine::ALL[j];
                let _ = fs::remove_file(&dst);
                let s = run::once(engine, &src, &dst)
                    .map_err(|e| format!("{} {} with {}: {e}", def.what, def.pair(), engine.name()))?;
                verify(&src, &dst, &def.layout).map_err(|e| format!("{} with {}: {e}", def.pair(), engine.name()))?;
                fs::remove_file(&dst).map_err(|e| e.to_string())?;
                samples[j].1.push(s);
            }
        }
        let _ = fs::remove_file(&src);
        out.push(Measured {
            def,
            skipped: None,
            src_allocated,
            block,
            samples,
        });
    }
    Ok(out)
}
