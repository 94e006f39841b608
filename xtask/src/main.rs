//! `cargo xtask`: the project's driver for benchmarks, the kernel probe and fuzzing.

mod bench;
mod errno;
mod fuzz;
mod json;
mod loopfs;
mod probe;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command> [options]

commands:
  probe  [--json]                       what this kernel allows and which strategy each pair gets
  bench  [--quick] [--json] [--svg FILE] [--scenario S] [--engine E] [--size N]
                                        fdcopy against std::io::copy and plain loops
  bench  --sweep [--quick] [--svg FILE] the same at 4 KiB to 256 MiB per copy
  bench  --docs                         regenerate docs/bench.svg, docs/sweep.svg, docs/benchmarks.md
  bench --async [--quick] [--json] ...  fdcopy::tokio against tokio's copies and tokio-splice2
  fuzz   [TARGET|--all] [--seconds N]   run the cargo-fuzz targets
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let cmd = args.next();
    let rest: Vec<String> = args.collect();
    let result = match cmd.as_deref() {
        Some("probe") => probe::main(&rest),
        Some("bench") => bench::main(&rest),
        Some("bench-peer") => bench::peer(&rest),
        Some("bench-async-child") => bench::asynch::child(&rest),
        Some("fuzz") => fuzz::main(&rest),
        Some("-h") | Some("--help") | Some("help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
