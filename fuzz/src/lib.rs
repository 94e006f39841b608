//! The fuzz targets' logic, kept out of the `fuzz_target!` macros so that each piece can be
//! read (and reused) on its own: `contract` (the copy contract on in-memory readers and writers
//! against a reference model), `fd_pairs` (real descriptors), `strategy_table` (the pure
//! strategy table and fallback rule under simulated errno sequences).

pub mod async_pairs;
pub mod contract;
pub mod fd_pairs;
pub mod strategy_table;

/// The payloads of every target (`fdcopy_testkit`'s). The fuzzers choose lengths, not bytes:
/// the contents never steer the engine, but a non-repeating pattern makes any misplaced or
/// duplicated byte visible.
pub use fdcopy_testkit::payload;

/// Engine defects the targets found, as plain tests (`cargo test` in `fuzz/`, `--ignored` to
/// see the open ones fail).
#[cfg(test)]
mod found {
    use std::io::{self, Read};

    /// contract: a `Vec<u8>` destination reported a 0-byte progress event at end of file.
    #[test]
    fn no_empty_progress_event_into_a_vec() {
        let mut events = Vec::new();
        let mut on_progress = |p: fdcopy::Progress| events.push(p);
        let report = fdcopy::Copier::new()
            .progress(&mut on_progress)
            .go_copy(&mut Vec::new(), &mut fdcopy::Plain(&b"abc"[..]))
            .unwrap();
        assert_eq!(report.written(), 3);
        assert!(events.iter().all(|p| p.chunk > 0), "{events:?}");
    }

    /// contract: a reader claiming more bytes than its buffer made the engine panic inside
    /// std's `read_to_end` when the destination was a `Vec<u8>` (fixed).
    #[test]
    fn impossible_read_count_into_a_vec_is_an_error() {
        struct Bogus;
        impl Read for Bogus {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                Ok(buf.len() + 1)
            }
        }
        let err = fdcopy::go::copy(&mut Vec::new(), &mut fdcopy::Plain(Bogus)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.written(), 0);
    }

    /// fd_pairs: a `BufReader` over a `Take` whose limit its buffer had used up lost the
    /// buffered bytes (the engine returned at once on a limit of 0) (fixed).
    #[test]
    fn bufreader_over_an_exhausted_take_still_delivers_its_buffer() {
        use std::io::{BufRead, BufReader, Write};
        let data = crate::payload(100, 9);
        let (r, mut w) = io::pipe().unwrap();
        w.write_all(&data).unwrap();
        drop(w);
        let mut src = BufReader::with_capacity(64, r.take(40));
        src.fill_buf().unwrap();
        src.consume(10);
        let (out_r, out_w) = io::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let mut out_r = out_r;
            out_r.read_to_end(&mut v).unwrap();
            v
        });
        let mut out_w = out_w;
        let n = fdcopy::copy(&mut src, &mut out_w).unwrap();
        drop(out_w);
        assert_eq!(n, 30);
        assert_eq!(reader.join().unwrap(), &data[10..40]);
    }

    /// async_pairs: every pair once, through the drop-in and through an interrupted `Copier`
    /// with a small pipe, as a quick regression check of the target itself.
    #[test]
    fn async_pairs_every_pair_once() {
        use crate::async_pairs::{run, Input, Kind};
        let kinds = [Kind::File, Kind::Pipe, Kind::Tcp, Kind::Unix];
        let mut seed = 0u8;
        for src in kinds {
            for dst in kinds {
                for copier in [false, true] {
                    seed = seed.wrapping_add(1);
                    run(Input {
                        src,
                        dst,
                        len: 300_000 + seed as u32,
                        seed,
                        limit: copier.then_some(200_001),
                        bufreader: (seed % 3 == 0).then_some(1000),
                        copier,
                        interrupts: 5,
                        multi_thread: seed % 2 == 0,
                        pipe_pages: 4,
                        blocking_files: seed % 4 == 0,
                    });
                }
            }
        }
    }
}
