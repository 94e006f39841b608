//! A row's verdict from its goal checks, the one rule of every report of the bench (the
//! scenarios, the sparse-file rows, `--async`).

/// Whether fdcopy met a row's goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    NotApplicable,
}

impl Verdict {
    /// From each check's result (`None`: it could not be measured): a failed check fails the
    /// row; no check, or one not measured, makes it not applicable; else it passes.
    pub fn of(results: impl IntoIterator<Item = Option<bool>>) -> Verdict {
        let results: Vec<Option<bool>> = results.into_iter().collect();
        if results.contains(&Some(false)) {
            Verdict::Fail
        } else if results.is_empty() || results.contains(&None) {
            Verdict::NotApplicable
        } else {
            Verdict::Pass
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "n/a",
        }
    }

    /// For the charts: met, missed, or neither.
    pub fn met(self) -> Option<bool> {
        match self {
            Verdict::Pass => Some(true),
            Verdict::Fail => Some(false),
            Verdict::NotApplicable => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict;

    #[test]
    fn one_failed_check_fails_one_unmeasured_makes_it_not_applicable() {
        assert_eq!(Verdict::of([Some(true), Some(false), None]), Verdict::Fail);
        assert_eq!(Verdict::of([Some(true), None]), Verdict::NotApplicable);
        assert_eq!(Verdict::of([]), Verdict::NotApplicable);
        assert_eq!(Verdict::of([Some(true), Some(true)]), Verdict::Pass);
    }
}
