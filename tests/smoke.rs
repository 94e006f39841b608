//! A first pass over the main pairs (the full matrix lives in kernel_pairs.rs).
mod common;
use common::*;
use fdcopy::{Copier, Strategy};
use std::io::Read;

#[test]
fn tcp_to_file_splices_via_pipe() {
    let data = payload(3 << 20, 1);
    let (c, mut s) = tcp_pair();
    let h = feed(c, data.clone());
    let mut f = tempfile::tempfile().unwrap();
    let r = Copier::new().copy_std(&mut s, &mut f).unwrap();
    h.join().unwrap();
    assert_eq!(r.written(), data.len() as u64);
    assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
    let (got, pos) = contents(&mut f);
    assert_eq!(got, data);
    assert_eq!(pos, data.len() as u64);
}

#[test]
fn file_to_tcp_sendfile() {
    let data = payload(3 << 20, 2);
    let mut f = file_with(&data, 0);
    let (mut c, s) = tcp_pair();
    let h = drain(s);
    let r = Copier::new().copy_std(&mut f, &mut c).unwrap();
    drop(c);
    assert_eq!(h.join().unwrap(), data);
    assert_eq!(r.strategy(), Strategy::Sendfile, "{r:?}");
}

#[test]
fn limited_tcp_leaves_the_rest() {
    let data = payload(1 << 20, 3);
    let (c, s) = tcp_pair();
    let h = feed(c, data.clone());
    let mut f = tempfile::tempfile().unwrap();
    let mut take = (&s).take(300_000);
    let r = Copier::new().copy_std(&mut take, &mut f).unwrap();
    assert_eq!(r.written(), 300_000);
    assert_eq!(take.limit(), 0);
    assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
    let mut rest = Vec::new();
    (&s).read_to_end(&mut rest).unwrap();
    h.join().unwrap();
    assert_eq!(contents(&mut f).0, &data[..300_000]);
    assert_eq!(rest, &data[300_000..]);
}

#[test]
fn pipe_to_file_splices() {
    let data = payload(1 << 20, 4);
    let (mut r, w) = std::io::pipe().unwrap();
    let h = feed(w, data.clone());
    let mut f = tempfile::tempfile().unwrap();
    let rep = Copier::new().copy_std(&mut r, &mut f).unwrap();
    h.join().unwrap();
    assert_eq!(rep.strategy(), Strategy::Splice, "{rep:?}");
    assert_eq!(contents(&mut f).0, data);
}
