//! What the engine learns about two descriptors before it consults the table, at the least
//! cost: the table's early answer first (a small limit costs no syscall, a source no kernel
//! call takes only its own `fstat`), then one `fstat` per side whose type does not tell its
//! kind, `F_GETFL` for a file destination, and a refusal of the copies no strategy could end.

use std::io;

use crate::descriptor::{Descriptor, FdKind};
use crate::sys::{avail, stat};
use crate::table::{early_plan, Facts, PageCache};

/// What the engine needs besides the plan: the facts (`None` when the table answered early,
/// or when a descriptor could not even be described: the loop then reports the real error),
/// and whether each side is a socket (the loop then uses `recv` and `send`).
pub(crate) struct Learned {
    pub(crate) facts: Option<Facts>,
    pub(crate) src_socket: bool,
    pub(crate) dst_socket: bool,
}

#[inline]
pub(crate) fn learn(
    s: Descriptor<'_>,
    d: Descriptor<'_>,
    limit: Option<u64>,
    page_cache: PageCache,
) -> io::Result<Learned> {
    let socket = |kind: Option<FdKind>| matches!(kind, Some(FdKind::StreamSocket(_) | FdKind::DatagramSocket(_)));
    // An unknown side (a small copy from or into a `File`, never classified) counts as not a
    // socket: the loop then uses `read` or `write`.
    let early = Learned {
        facts: None,
        src_socket: socket(s.kind()),
        dst_socket: socket(d.kind()),
    };
    if early_plan(s.kind(), limit).is_some() {
        return Ok(early);
    }
    let Some((src, size, src_id)) = (match s.kind() {
        Some(k) => Some((k, None, None)),
        None => stat::stat(s.fd())
            .ok()
            .map(|st| (st.kind, (st.kind == FdKind::File).then_some(st.size), Some(st.id))),
    }) else {
        return Ok(early);
    };
    if early_plan(Some(src), limit).is_some() {
        return Ok(Learned {
            src_socket: socket(Some(src)),
            ..early
        });
    }
    let size_hint = match (size, limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let Some((dst, dst_id)) = (match d.kind() {
        Some(k) => Some((k, None)),
        None => stat::stat(d.fd()).ok().map(|st| (st.kind, Some(st.id))),
    }) else {
        return Ok(early);
    };
    let identity = |fd| stat::stat(fd).ok().map(|st| st.id);
    let same_file = match (src_id, dst_id) {
        (Some(a), Some(b)) => a == b,
        // Pipes known from their types were not stat'ed: a pipe copied into itself would
        // never end, so spend two `fstat`s on this rare pair to rule that out.
        _ if src == FdKind::Pipe && dst == FdKind::Pipe => {
            let a = src_id.or_else(|| identity(s.fd()));
            a.is_some() && a == dst_id.or_else(|| identity(d.fd()))
        }
        _ => false,
    };
    let small = early_plan(None, size_hint).is_some();
    let dst_append = dst == FdKind::File && (same_file || !small) && stat::appends(d.fd());
    if same_file && limit.is_none() && endless(src, dst_append, s, d) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "source and destination are the same pipe or file, and the unbounded copy would read its own output forever",
        ));
    }
    let mut facts = Facts::new(src, dst);
    facts.dst_append = dst_append;
    facts.same_file = same_file;
    facts.size_hint = size_hint;
    facts.page_cache = page_cache;
    facts.unavailable = avail::unavailable();
    Ok(Learned {
        facts: Some(facts),
        src_socket: socket(Some(src)),
        dst_socket: socket(Some(dst)),
    })
}

/// Whether an unbounded copy of a file (or pipe) into itself would keep reading its own
/// output: a pipe always; a file when the writer appends, or writes ahead of the reader
/// (`io.Copy(f, f)` on one descriptor writes behind its own reads and ends, duplicating the
/// data). A limit makes any of them finite, and they are then copied like std does.
fn endless(src: FdKind, dst_append: bool, s: Descriptor<'_>, d: Descriptor<'_>) -> bool {
    match src {
        FdKind::Pipe => true,
        FdKind::File => {
            dst_append
                || matches!(
                    (stat::position(s.fd()), stat::position(d.fd())),
                    (Some(r), Some(w)) if w > r
                )
        }
        _ => false,
    }
}
