//! What a copy did: bytes per strategy, and the progress events a caller can observe.

use std::fmt;

use crate::strategy::Strategy;

/// Which strategies moved the bytes of one copy, and how many each.
///
/// A copy can use several strategies: a `BufReader`'s buffered bytes go out through user space
/// ([`Strategy::Buffered`]), then `copy_file_range` may move most of a file and decline on the
/// last part, and so on. [`strategy`](Report::strategy) names the one that moved most.
///
/// ```
/// let mut src: &[u8] = b"hello";
/// let mut dst = Vec::new();
/// let report = fdcopy::Copier::new().copy(&mut src, &mut dst).unwrap();
/// assert_eq!(report.written(), 5);
/// assert_eq!(report.strategy(), fdcopy::Strategy::Buffered);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Report {
    moved: [u64; Strategy::COUNT],
    last: Option<Strategy>,
}

impl Report {
    /// Total bytes the destination accepted.
    pub fn written(&self) -> u64 {
        self.moved.iter().sum()
    }

    /// The strategy that moved the most bytes; on a tie, or when nothing moved, the one that
    /// ran last (for an empty source: the one that saw end of file). Holes are not moved bytes:
    /// [`Strategy::Hole`] is named only when the copy was all holes (the data of a sparse copy
    /// names its strategy; [`bytes_by(Strategy::Hole)`](Report::bytes_by) says what was skipped).
    pub fn strategy(&self) -> Strategy {
        let data = |s: Strategy| if s == Strategy::Hole { 0 } else { self.moved[s as usize] };
        let mut best = self.last.unwrap_or(Strategy::Buffered);
        for s in Strategy::ALL {
            if data(s) > data(best) {
                best = s;
            }
        }
        if data(best) == 0 && self.moved[Strategy::Hole as usize] > 0 {
            best = Strategy::Hole;
        }
        best
    }

    /// Bytes moved by `strategy`.
    pub fn bytes_by(&self, strategy: Strategy) -> u64 {
        self.moved[strategy as usize]
    }

    /// Every strategy that moved bytes, with its count, in the table's order.
    pub fn strategies(&self) -> impl Iterator<Item = (Strategy, u64)> + '_ {
        Strategy::ALL
            .into_iter()
            .map(|s| (s, self.moved[s as usize]))
            .filter(|&(_, n)| n > 0)
    }

    /// The strategy that ran last (it ended the copy, or failed).
    pub fn last(&self) -> Option<Strategy> {
        self.last
    }

    pub(crate) fn add(&mut self, strategy: Strategy, n: u64) {
        self.moved[strategy as usize] += n;
    }

    pub(crate) fn ran(&mut self, strategy: Strategy) {
        self.last = Some(strategy);
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("written", &self.written())
            .field("strategy", &self.strategy())
            .field("moved", &self.strategies().collect::<Vec<_>>())
            .finish()
    }
}

/// One progress event: fired after every chunk a strategy moved (every kernel call that moved
/// bytes, every buffered write, every hole skipped, a whole clone). With a callback, kernel
/// calls move at most 16 MiB each, so that it fires on large files too.
///
/// ```
/// let mut events = Vec::new();
/// let mut record = |p: fdcopy::Progress| events.push((p.written, p.chunk, p.strategy));
/// let mut buf = [0u8; 2];
/// fdcopy::Copier::new().buffer(&mut buf).progress(&mut record)
///     .copy(&mut fdcopy::Plain(&b"abc"[..]), &mut Vec::new()).unwrap();
/// assert_eq!(events.last().unwrap().0, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes the destination has accepted so far in this copy.
    pub written: u64,
    /// Bytes moved by this chunk.
    pub chunk: u64,
    /// The strategy that moved the chunk.
    pub strategy: Strategy,
    /// The bytes the copy is expected to move, when known before it starts:
    /// [`copy_file`](crate::copy_file) knows the source's size. A source that grows while it is
    /// copied takes `written` past it.
    pub total: Option<u64>,
}
