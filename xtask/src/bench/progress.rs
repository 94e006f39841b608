//! The live progress line on a terminal: scenario, engine, round, and the time left.
//!
//! Runs differ a lot in cost (one copy of 1 GiB against 10 000 of 4 KiB), so progress is
//! counted in estimated work (the bytes a run moves and checks, plus a fixed cost for its set-up)
//! rather than in runs, which keeps the estimate of the time left honest. Nothing is shown in
//! `--json` mode or when stderr is not a terminal; the line is redrawn between runs and once a
//! second by indicatif's ticker thread, never by the measured thread inside a timed region.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What one run is estimated to cost besides its bytes (peer start, accepts, checks), in bytes.
const RUN_OVERHEAD: u64 = 8 << 20;

/// The estimated work of one run that moves `stream_bytes`.
pub fn work(stream_bytes: u64) -> u64 {
    stream_bytes + RUN_OVERHEAD
}

/// A progress line, or nothing.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A line for `total` work, drawn only when `wanted` and stderr is a terminal.
    pub fn new(total: u64, wanted: bool) -> Progress {
        if !(wanted && std::io::stderr().is_terminal()) {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{elapsed:>4} [{bar:24}] {percent:>3}%  ~{eta} left  {msg}")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_secs(1));
        Progress { bar }
    }

    /// Whether anything is drawn.
    pub fn visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Says what runs next: `file-tcp/4k  buf64k  round 3/7`.
    pub fn at(&self, what: &str, engine: &str, round: usize, rounds: usize) {
        self.bar
            .set_message(format!("{what:<22} {engine:<7} round {round}/{rounds}"));
    }

    /// `work` more is done.
    pub fn done(&self, work: u64) {
        self.bar.inc(work);
    }

    /// Prints a line above the progress line (nothing when hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.visible() {
            self.bar.println(line);
        }
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
