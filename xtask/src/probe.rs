//! `cargo xtask probe`.

use std::process::ExitCode;

pub fn main(_args: &[String]) -> Result<ExitCode, String> {
    Err("probe: not built yet".into())
}
