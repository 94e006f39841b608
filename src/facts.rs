//! What the engine learns about two descriptors before it consults the table, at the least
//! cost: the table's early answer first (a small limit costs no syscall, a source no kernel
//! call takes only its own `fstat`), then one `fstat` per side whose type does not tell its
//! kind (the source's also says whether it looks sparse), `F_GETFL` for a file destination, and
//! a refusal of the copies no strategy could end. Whether a file → file copy is a whole-file
//! one (a `FICLONE` candidate) is asked separately, once the wrappers' bytes are out.

use std::io;

use crate::descriptor::{Descriptor, FdKind};
use crate::sys::{avail, stat};
use crate::table::{early_plan, small_copy, Facts, PageCache, Reflink, Sparse};

/// What the engine needs besides the plan: the facts (`None` when the table answered early,
/// or when a descriptor could not even be described: the loop then reports the real error),
/// and whether each side is a socket (the loop then uses `recv` and `send`).
pub(crate) struct Learned {
    pub(crate) facts: Option<Facts>,
    pub(crate) src_socket: bool,
    pub(crate) dst_socket: bool,
}

/// The policies of the copy that go into the facts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Policies {
    pub(crate) page_cache: PageCache,
    pub(crate) sparse: Sparse,
    pub(crate) reflink: Reflink,
}

#[inline]
pub(crate) fn learn(s: Descriptor<'_>, d: Descriptor<'_>, limit: Option<u64>, p: Policies) -> io::Result<Learned> {
    let socket = |kind: Option<FdKind>| matches!(kind, Some(FdKind::StreamSocket(_) | FdKind::DatagramSocket(_)));
    // An unknown side (a small copy from or into a `File`, never classified) counts as not a
    // socket: the loop then uses `read` or `write`.
    let early = Learned {
        facts: None,
        src_socket: socket(s.kind()),
        dst_socket: socket(d.kind()),
    };
    // Under Reflink::Always a small file is cloned too: the table decides, not its early answer.
    let early_answers = |src, hint| p.reflink != Reflink::Always && early_plan(src, d.kind(), hint).is_some();
    if early_answers(s.kind(), limit) {
        return Ok(early);
    }
    let Some((src, size, src_id, src_sparse)) = (match s.kind() {
        Some(k) => Some((k, None, None, false)),
        None => stat::stat(s.fd()).ok().map(|st| {
            let size = (st.kind == FdKind::File).then_some(st.size);
            (st.kind, size, Some(st.id), st.looks_sparse())
        }),
    }) else {
        return Ok(early);
    };
    if early_answers(Some(src), limit) {
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
    let small = size_hint.is_some_and(|n| n <= small_copy(src, dst));
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
    facts.page_cache = p.page_cache;
    facts.unavailable = avail::unavailable();
    facts.src_sparse = src_sparse;
    facts.sparse = p.sparse;
    facts.reflink = p.reflink;
    Ok(Learned {
        facts: Some(facts),
        src_socket: socket(Some(src)),
        dst_socket: socket(Some(dst)),
    })
}

/// Whether the copy is a whole-file one, the only kind `FICLONE` may do: two regular files, no
/// limit, both at offset 0, an empty destination. Asked (two `lseek`s and an `fstat`) only
/// where the table could plan a clone, after the wrappers' buffered bytes went out.
pub(crate) fn whole_file(s: Descriptor<'_>, d: Descriptor<'_>, limit: Option<u64>, f: &Facts) -> bool {
    let candidate = f.src == FdKind::File
        && f.dst == FdKind::File
        && !f.dst_append
        && !f.same_file
        && limit.is_none()
        && match f.reflink {
            Reflink::Always => true,
            Reflink::Auto => f.size_hint.is_none_or(|n| n > small_copy(f.src, f.dst)),
            _ => false,
        };
    candidate
        && stat::position(s.fd()) == Some(0)
        && stat::position(d.fd()) == Some(0)
        && stat::stat(d.fd()).is_ok_and(|st| st.size == 0)
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
