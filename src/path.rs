//! The path level: [`copy_file`](crate::copy_file), the drop-in for `std::fs::copy`.
//!
//! std's rule (rust-lang/rust `library/std/src/sys/fs/unix.rs`: `copy`, `open_from`,
//! `open_to_and_set_permissions`): the source must be a regular file (else `InvalidInput`); the
//! destination is opened write-only, created with the source's mode; if it is a regular file its
//! permissions are then set to the source's (it may have existed with others), and the result is
//! the number of bytes copied. No timestamps, owner, extended attributes or ACLs.
//!
//! The one deliberate difference: std opens the destination with `O_TRUNC`, which empties a
//! file copied onto itself (by the same path, a hard link or a symlink) before it is read. Here
//! it is opened without, compared with the source by device and inode (`InvalidInput` if they
//! are one file, which stays intact), and only then truncated.
//!
//! Opening goes through std's `OpenOptions`, as std's own copy does: the same flags on every
//! target, and the descriptor copy below it is the crate's.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::CopyError;
use crate::report::Report;
use crate::table::Reflink;
use crate::Copier;

pub(crate) fn copy_file(copier: &mut Copier<'_>, from: &Path, to: &Path) -> Result<Report, CopyError> {
    let fail = |e| CopyError::new(0, e);
    let (mut reader, meta) = open_from(from).map_err(fail)?;
    // Reflink::Always leaves an existing destination as it was when the clone cannot be made:
    // it is neither truncated nor given new permissions first (the clone needs it empty), and
    // a destination this call created is removed again.
    let always = copier.opts.policy.reflink == Reflink::Always;
    let (mut writer, created) = open_to(to, &meta, always).map_err(fail)?;
    let r = fill(copier, &mut reader, &mut writer, &meta, always);
    if r.is_err() && always && created {
        drop(writer);
        let _ = std::fs::remove_file(to);
    }
    r
}

/// `File::open` and the regular-file check, as std.
fn open_from(from: &Path) -> io::Result<(File, Metadata)> {
    let reader = File::open(from)?;
    let meta = reader.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the source path is neither a regular file nor a symlink to a regular file",
        ));
    }
    Ok((reader, meta))
}

/// The destination, write-only, created with the source's mode but not truncated; and whether
/// this call created it (known only under `Reflink::Always`, which tries `O_EXCL` first).
fn open_to(to: &Path, meta: &Metadata, exclusive_first: bool) -> io::Result<(File, bool)> {
    let mut opts = OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, std::os::unix::fs::PermissionsExt::mode(&meta.permissions()));
    #[cfg(not(unix))]
    let _ = meta;
    if exclusive_first {
        match opts.clone().create_new(true).open(to) {
            Ok(f) => return Ok((f, true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    opts.create(true).open(to).map(|f| (f, false))
}

/// Whether two opened files are one (same device and inode).
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (a.dev(), a.ino()) == (b.dev(), b.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

fn fill(
    copier: &mut Copier<'_>,
    reader: &mut File,
    writer: &mut File,
    meta: &Metadata,
    always: bool,
) -> Result<Report, CopyError> {
    let fail = |e| CopyError::new(0, e);
    let wmeta = writer.metadata().map_err(fail)?;
    if same_file(meta, &wmeta) {
        return Err(fail(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the source and the destination are the same file (left as it was)",
        )));
    }
    // Pipes, FIFOs and devices keep what they are, as in std.
    let file = wmeta.is_file();
    if file && !always {
        // Only a destination that holds bytes: std's O_TRUNC is dropped by the kernel for a file
        // the open created, and on ext4 a truncate to 0 makes close() start the writeback of
        // everything written since (auto_da_alloc), in the caller's time.
        if wmeta.len() > 0 {
            writer.set_len(0).map_err(fail)?;
        }
        writer.set_permissions(meta.permissions()).map_err(fail)?;
    }
    copier.opts.total = Some(meta.len());
    let r = copier.copy(reader, writer);
    copier.opts.total = None;
    let report = r?;
    if file && always {
        if let Err(e) = writer.set_permissions(meta.permissions()) {
            return Err(CopyError::new(0, e).with_report(report));
        }
    }
    Ok(report)
}
