//! Sparse files and reflinks, per filesystem the probe can test: tmpfs (`/dev/shm`), the
//! temporary directory's filesystem, and ext4, xfs and btrfs on loop images (when this process
//! may mount; else the reason). For each: whether `SEEK_DATA`/`SEEK_HOLE` see holes (real) or
//! report the whole file as data (trivial: sparse copies are dense there), whether `FICLONE`
//! works, whether `copy_file_range` reflinks (FIEMAP shows the copy's extents as shared), and
//! what `fdcopy::copy_file` does with a sparse file there.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use fdcopy::{Copier, Strategy};
use fdcopy_testkit::payload;

use crate::errno::errno_name;
use crate::loopfs::{self, Kind};

/// The probe file: 8 MiB, 64 KiB of data at 0 and at 4 MiB.
const SIZE: u64 = 8 << 20;
const PIECE: u64 = 64 << 10;
const SECOND: u64 = 4 << 20;

/// One finding: a short status and what was seen.
pub struct Check {
    pub status: &'static str,
    pub detail: String,
}

impl Check {
    fn new(status: &'static str, detail: impl Into<String>) -> Check {
        Check {
            status,
            detail: detail.into(),
        }
    }
}

/// One filesystem's findings, or why it could not be tested.
pub struct FsRow {
    pub place: String,
    pub fs: String,
    pub skipped: Option<String>,
    pub checks: Vec<(&'static str, Check)>,
}

pub fn probe() -> Vec<FsRow> {
    let mut rows = Vec::new();
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        rows.push(in_dir("/dev/shm", shm));
    }
    let tmp = std::env::temp_dir();
    rows.push(in_dir(&tmp.display().to_string(), &tmp));
    // Loop images in a private mount namespace: a thread of their own, which ends with it.
    let loops = std::thread::spawn(|| {
        [Kind::Ext4, Kind::Xfs, Kind::Btrfs]
            .into_iter()
            .map(|kind| {
                let place = "loop image on tmpfs".to_string();
                match loopfs::mount(kind, 512 << 20) {
                    Ok(m) => in_dir(&place, &m.path),
                    Err(why) => FsRow {
                        place,
                        fs: kind.name().into(),
                        skipped: Some(why),
                        checks: Vec::new(),
                    },
                }
            })
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap_or_default();
    rows.extend(loops);
    rows
}

fn name(dir: &Path, what: &str) -> PathBuf {
    dir.join(format!(".fdcopy-probe-sparse-{}-{what}", std::process::id()))
}

fn in_dir(place: &str, dir: &Path) -> FsRow {
    let fs = loopfs::fs_name(dir);
    let src = name(dir, "src");
    let made = (|| -> std::io::Result<File> {
        let f = OpenOptions::new().read(true).write(true).create_new(true).open(&src)?;
        f.set_len(SIZE)?;
        f.write_all_at(&payload(PIECE as usize, 1), 0)?;
        f.write_all_at(&payload(PIECE as usize, 2), SECOND)?;
        f.sync_all()?;
        Ok(f)
    })();
    let f = match made {
        Ok(f) => f,
        Err(e) => {
            let _ = fs::remove_file(&src);
            return FsRow {
                place: place.into(),
                fs,
                skipped: Some(format!("cannot make a sparse file: {e}")),
                checks: Vec::new(),
            };
        }
    };
    let mut checks = vec![("SEEK_DATA", seek(&f))];
    let clone = ficlone(dir, &f);
    let clone_unsupported = clone.status == "no";
    checks.push(("FICLONE", clone));
    checks.push(("cfr reflinks", cfr_reflinks(dir, &f, clone_unsupported)));
    checks.push(("fdcopy", fdcopy_copy(dir, &src)));
    let _ = fs::remove_file(&src);
    FsRow {
        place: place.into(),
        fs,
        skipped: None,
        checks,
    }
}

fn seek(f: &File) -> Check {
    let hole = rustix::fs::seek(f, rustix::fs::SeekFrom::Hole(0));
    let data = rustix::fs::seek(f, rustix::fs::SeekFrom::Data(PIECE));
    match (hole, data) {
        (Ok(h), Ok(d)) if h < SECOND && (PIECE..=SECOND).contains(&d) => Check::new(
            "real",
            format!("first hole at {} KiB, next data at {} KiB", h >> 10, d >> 10),
        ),
        (Ok(h), Ok(_)) if h >= SIZE => Check::new(
            "trivial",
            "the whole file is reported as data: sparse copies are dense here",
        ),
        (Ok(h), Ok(d)) => Check::new("odd", format!("SEEK_HOLE(0) = {h}, SEEK_DATA(64 KiB) = {d}")),
        (Err(e), _) | (_, Err(e)) => Check::new("error", errno_name(e.raw_os_error())),
    }
}

fn ficlone(dir: &Path, f: &File) -> Check {
    let path = name(dir, "clone");
    let r = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| e.to_string())
        .and_then(|dst| rustix::fs::ioctl_ficlone(&dst, f).map_err(|e| errno_name(e.raw_os_error())));
    let _ = fs::remove_file(&path);
    match r {
        Ok(()) => Check::new("yes", "the copy shares the source's extents"),
        Err(e) if e == "EOPNOTSUPP" || e == "ENOTTY" => Check::new("no", format!("{e}: no reflinks here")),
        Err(e) => Check::new("fails", e),
    }
}

fn cfr_reflinks(dir: &Path, f: &File, no_clone: bool) -> Check {
    let path = name(dir, "cfr");
    let r = (|| -> Result<(u64, Option<u64>), String> {
        let dst = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| e.to_string())?;
        let (mut off_in, mut off_out) = (0u64, 0u64);
        while off_in < SIZE {
            let want = (SIZE - off_in) as usize;
            match rustix::fs::copy_file_range(f, Some(&mut off_in), &dst, Some(&mut off_out), want) {
                Ok(0) => break,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(errno_name(e.raw_os_error())),
            }
        }
        dst.sync_all().map_err(|e| e.to_string())?;
        Ok((
            dst.metadata().map_err(|e| e.to_string())?.blocks() * 512,
            loopfs::shared_bytes(&dst),
        ))
    })();
    let _ = fs::remove_file(&path);
    match r {
        Ok((_, Some(shared))) if shared > 0 => Check::new("yes", format!("{} KiB of the copy shared", shared >> 10)),
        Ok((alloc, Some(_))) => Check::new("no", format!("copied: {} KiB allocated", alloc >> 10)),
        Ok((alloc, None)) if no_clone => Check::new("no", format!("copied: {} KiB allocated (no FIEMAP)", alloc >> 10)),
        Ok((alloc, None)) => Check::new("unknown", format!("no FIEMAP; {} KiB allocated", alloc >> 10)),
        Err(e) => Check::new("error", e),
    }
}

fn fdcopy_copy(dir: &Path, src: &Path) -> Check {
    let path = name(dir, "fdcopy");
    let r = Copier::new().copy_file(src, &path);
    let blocks = fs::metadata(&path).map(|m| m.blocks() * 512).unwrap_or(0);
    let _ = fs::remove_file(&path);
    match r {
        Ok(r) => {
            let data: Vec<String> = r
                .strategies()
                .filter(|(s, _)| *s != Strategy::Hole)
                .map(|(s, n)| format!("{s} {} KiB", n >> 10))
                .collect();
            Check::new(
                if r.strategy() == Strategy::Clone {
                    "clone"
                } else {
                    "copy"
                },
                format!(
                    "{}; holes {} KiB; {} KiB allocated for {} KiB of data",
                    data.join(", "),
                    r.bytes_by(Strategy::Hole) >> 10,
                    blocks >> 10,
                    (2 * PIECE) >> 10
                ),
            )
        }
        Err(e) => Check::new("error", e.to_string()),
    }
}
