//! Concurrency: 64 threads copying at once over every pair of files, pipes, TCP and unix
//! sockets (on a 2-core machine), each output checked byte for byte; and the intermediate-pipe
//! pool, which must stay within its bound while 64 threads splice through it.
#![cfg(target_os = "linux")]

mod common;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fdcopy::table::plan;
use fdcopy::{Copier, Strategy};
use fdcopy_testkit::payload;
use support::*;

/// A hang detector, not a speed limit: the copies take a few seconds at most.
const DEADLINE: Duration = Duration::from_secs(120);
const THREADS: usize = 64;

#[test]
fn sixty_four_threads_mixed_pairs() {
    let sizes = [1000usize, (64 << 10) + 1, 1 << 20, 3 << 20];
    let start = Instant::now();
    let copied = bounded("64 threads", DEADLINE, move || {
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let (s, d) = (ENDS[i % 4], ENDS[(i / 4) % 4]);
                    let data = Arc::new(payload(sizes[i / 16], i as u64 + 100));
                    let mut src = source(s, &data);
                    let mut dst = sink(d);
                    let want = plan(&facts(src.side.fd(), dst.side.fd())).first();
                    barrier.wait();
                    let r = run_copy(&mut Copier::new(), &mut src.side, &mut dst.side);
                    let spos = src.finish();
                    let (got, dpos) = dst.finish();
                    let what = format!("thread {i}: {s:?} -> {d:?}, {} bytes", data.len());
                    let r = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    assert_eq!(r.written(), data.len() as u64, "{what}");
                    assert_eq!(r.strategy(), want, "{what}: {r:?}");
                    same_bytes(&got, &data, &what);
                    for p in [spos, dpos].into_iter().flatten() {
                        assert_eq!(p, data.len() as u64, "{what}: file offset");
                    }
                    data.len()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
    });
    eprintln!(
        "INFO {THREADS} threads, 16 pairs x 4 sizes: {} MiB copied and verified in {:?}",
        copied >> 20,
        start.elapsed()
    );
}

#[test]
fn pipe_pool_stays_bounded_under_64_threads() {
    let max_seen = Arc::new(AtomicUsize::new(0));
    let seen = max_seen.clone();
    bounded("pool", DEADLINE, move || {
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (barrier, seen) = (barrier.clone(), seen.clone());
                std::thread::spawn(move || {
                    let data = Arc::new(payload(1 << 20, i as u64 + 200));
                    let mut src = source(End::Tcp, &data);
                    let mut dst = sink(End::File);
                    let mut on_progress = |_p: fdcopy::Progress| {
                        let idle = fdcopy::__test::pipe_pool_idle();
                        seen.fetch_max(idle, Ordering::Relaxed);
                        assert!(idle <= fdcopy::__test::PIPE_POOL_MAX_IDLE, "{idle} idle pipes");
                    };
                    barrier.wait();
                    let r = run_copy(
                        &mut Copier::new().progress(&mut on_progress),
                        &mut src.side,
                        &mut dst.side,
                    );
                    src.finish();
                    let (got, _) = dst.finish();
                    let r = r.unwrap();
                    assert_eq!(r.strategy(), Strategy::SpliceViaPipe, "{r:?}");
                    same_bytes(&got, &data, &format!("thread {i}"));
                    seen.fetch_max(fdcopy::__test::pipe_pool_idle(), Ordering::Relaxed);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let idle = fdcopy::__test::pipe_pool_idle();
    assert!(
        idle <= fdcopy::__test::PIPE_POOL_MAX_IDLE,
        "{idle} idle pipes after the copies"
    );
    let max = max_seen.load(Ordering::Relaxed);
    assert!(max <= fdcopy::__test::PIPE_POOL_MAX_IDLE);
    eprintln!(
        "INFO pool after {THREADS} concurrent tcp -> file copies: {idle} idle, at most {max} seen (bound {})",
        fdcopy::__test::PIPE_POOL_MAX_IDLE
    );
}
