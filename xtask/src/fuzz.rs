//! `cargo xtask fuzz`.

use std::process::ExitCode;

pub fn main(_args: &[String]) -> Result<ExitCode, String> {
    Err("fuzz: not built yet".into())
}
