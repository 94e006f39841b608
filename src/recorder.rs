//! The per-copy recorder every layer that moves bytes reports into: it keeps the [`Report`]
//! and calls the caller's progress callback. It sits below the dispatcher, so the layers that
//! move bytes depend on it and not on the dispatcher.

use std::io;

use crate::error::CopyError;
use crate::report::{Progress, Report};
use crate::strategy::Strategy;

/// The bookkeeping of one copy: every byte any layer moved goes to the report and, when the
/// caller asked, to the progress callback.
pub(crate) struct Recorder<'p> {
    report: Report,
    progress: Option<&'p mut dyn FnMut(Progress)>,
    total: Option<u64>,
}

impl<'p> Recorder<'p> {
    pub(crate) fn new(progress: Option<&'p mut dyn FnMut(Progress)>) -> Self {
        Self::resume(Report::default(), progress)
    }

    /// Goes on recording into `report` (a copy that runs over several polls).
    pub(crate) fn resume(report: Report, progress: Option<&'p mut dyn FnMut(Progress)>) -> Self {
        Recorder {
            report,
            progress,
            total: None,
        }
    }

    /// The bytes this copy is known to move, reported with every progress event.
    pub(crate) fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
    }

    /// Whether a progress callback listens (kernel chunks are then capped, so that it fires).
    #[cfg(target_os = "linux")]
    pub(crate) fn has_progress(&self) -> bool {
        self.progress.is_some()
    }

    /// `n` more bytes reached the destination through `strategy`.
    pub(crate) fn moved(&mut self, strategy: Strategy, n: u64) {
        self.report.add(strategy, n);
        if let Some(p) = self.progress.as_mut() {
            p(Progress {
                written: self.report.written(),
                chunk: n,
                strategy,
                total: self.total,
            });
        }
    }

    /// `strategy` starts (it is the one to blame if the copy ends now).
    pub(crate) fn ran(&mut self, strategy: Strategy) {
        self.report.ran(strategy);
    }

    pub(crate) fn into_report(self) -> Report {
        self.report
    }

    /// The report, or the error with it.
    pub(crate) fn finish(self, r: io::Result<()>) -> Result<Report, CopyError> {
        match r {
            Ok(()) => Ok(self.report),
            Err(e) => Err(CopyError::new(0, e).with_report(self.report)),
        }
    }
}
