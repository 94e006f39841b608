//! The library's shape, checked on its sources: the crate-internal `use crate::` graph has no
//! cycle, `unsafe` and syscalls stay where `docs/architecture.md` says they live, and the crate
//! root stays small. These read `src/` as text; they test no behaviour, only that the layering
//! the docs describe is still true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, as (module path, code without comments and test modules).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut module = rel.to_string_lossy().replace('/', "::");
            if module == "lib" {
                module = "crate".into();
            }
            if let Some(m) = module.strip_suffix("::mod") {
                module = m.into();
            }
            (module, code_of(&std::fs::read_to_string(&p).unwrap()))
        })
        .collect()
}

/// The code of a file: comments (`//`, `///`, `//!`) and `#[cfg(test)] mod tests` removed.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // `//` inside a string literal does not occur in this crate's code lines.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a module path belongs to (`sys::wait` counts as `sys`).
fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

/// `crate::a::b` paths a file's code names, as their top-level module `a`.
fn deps(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && name.chars().next().unwrap().is_lowercase() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn the_module_graph_has_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in sources() {
        let from = top(&module).to_string();
        if from == "crate" {
            continue; // the root declares and re-exports every module
        }
        let entry = graph.entry(from.clone()).or_default();
        entry.extend(deps(&code).into_iter().filter(|d| *d != from));
    }
    assert!(graph.len() > 10, "read the modules: {graph:?}");
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) {
        state.insert(m.into(), 1);
        path.push(m.into());
        for d in graph.get(m).into_iter().flatten() {
            match state.get(d.as_str()).copied() {
                Some(1) => panic!("import cycle: {} -> {d}", path.join(" -> ")),
                Some(_) => {}
                None => visit(d, graph, state, path),
            }
        }
        path.pop();
        state.insert(m.into(), 2);
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if !state.contains_key(m) {
            visit(m, &graph, &mut state, &mut Vec::new());
        }
    }
    eprintln!("INFO module graph (acyclic):");
    for (m, ds) in &graph {
        eprintln!("INFO   {m} -> {}", ds.iter().cloned().collect::<Vec<_>>().join(", "));
    }
}

/// The rows of the layer diagram in `docs/architecture.md`, top first.
const LAYERS: &[&[&str]] = &[
    &["go", "bidi", "path"],
    &["dropin"],
    &["engine", "tokio"],
    &["facts", "kernel", "sparse", "buffered"],
    &["recorder"],
    &["table"],
    &["sys"],
    &["side", "wrap", "std_types"],
    &["report", "error"],
    &["strategy", "descriptor"],
];

#[test]
fn every_module_imports_only_its_own_row_or_below() {
    let row = |m: &str| LAYERS.iter().position(|r| r.contains(&m));
    for (module, code) in sources() {
        let m = top(&module);
        if m == "crate" {
            continue;
        }
        let mine = row(m).unwrap_or_else(|| panic!("module {m} is not in docs/architecture.md's layers"));
        for d in deps(&code) {
            let theirs = row(&d).unwrap_or_else(|| panic!("{m} imports {d}, which is in no layer"));
            assert!(
                theirs >= mine,
                "{m} (row {mine}) imports {d} (row {theirs}), which is above it"
            );
        }
    }
}

#[test]
fn unsafe_and_syscalls_stay_in_their_modules() {
    for (module, code) in sources() {
        let confined = top(&module) == "sys";
        let unsafe_code = ["unsafe {", "unsafe fn", "unsafe impl", "unsafe trait", "unsafe extern"];
        if unsafe_code.iter().any(|u| code.contains(u)) {
            assert!(
                module == "dropin" || module == "tokio::recognise" || module == "sys::avail",
                "`unsafe` in {module}: only the drop-ins' type recognition and sys/ may hold it"
            );
        }
        if !confined {
            assert!(
                !code.contains("rustix::"),
                "{module} calls rustix: syscalls belong in sys/"
            );
            // libc's errno and flag constants are data; its functions are syscalls.
            let mut rest = code.as_str();
            while let Some(i) = rest.find("libc::") {
                rest = &rest[i + "libc::".len()..];
                assert!(
                    rest.starts_with(|c: char| c.is_ascii_uppercase()),
                    "{module} calls libc::{}: syscalls belong in sys/",
                    &rest[..rest.len().min(20)]
                );
            }
        }
    }
}

/// The root items issue 11 added on top of the 0.2 core, by name: the path-level drop-in for
/// `std::fs::copy` and the two policies it and `Copier` take.
/// The entry points later issues add on top of the 0.2 root: the async module and its
/// blocking twin (issue 10), the sparse-aware file copy and its policies (issue 11).
const ADDED: [&str; 5] = ["tokio", "copy_bidirectional", "copy_file", "Sparse", "Reflink"];

#[test]
fn the_root_holds_at_most_sixteen_items() {
    let lib = code_of(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap());
    let mut items = Vec::new();
    let mut hidden = false;
    // Items at the root start at column 0; what is indented belongs to an impl or a module.
    for line in lib.lines().filter(|l| !l.starts_with(char::is_whitespace)) {
        if line.starts_with("#[doc(hidden)]") {
            hidden = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("pub use ") {
            let names = rest.trim_end_matches(';');
            let names = match names.find('{') {
                Some(i) => names[i + 1..].trim_end_matches('}').to_string(),
                None => names.rsplit("::").next().unwrap().to_string(),
            };
            items.extend(names.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()));
        } else if let Some(rest) = [
            "pub fn ",
            "pub struct ",
            "pub enum ",
            "pub mod ",
            "pub trait ",
            "pub const ",
        ]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !hidden {
                items.push(name);
            }
        }
        if !line.starts_with("#[") {
            hidden = false;
        }
    }
    eprintln!("INFO root items ({}): {}", items.len(), items.join(", "));
    for added in ADDED {
        assert_eq!(
            items.iter().filter(|i| *i == added).count(),
            1,
            "{added} (issues 10 and 11) missing from {items:?}"
        );
    }
    let core: Vec<&String> = items.iter().filter(|i| !ADDED.contains(&i.as_str())).collect();
    eprintln!("INFO 0.2 core ({}), plus {ADDED:?}", core.len());
    assert!(core.len() <= 16, "{} root items in the 0.2 core: {core:?}", core.len());
    assert_eq!(items.len(), core.len() + ADDED.len(), "{items:?}");
    for must in ["copy", "Copier", "CopyError", "Report", "go", "table"] {
        assert!(items.iter().any(|i| i == must), "{must} missing from {items:?}");
    }
}
