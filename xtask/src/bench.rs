//! `cargo xtask bench`.

use std::process::ExitCode;

pub fn main(_args: &[String]) -> Result<ExitCode, String> {
    Err("bench: not built yet".into())
}
