#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: fdcopy_fuzz::fd_pairs::Input| fdcopy_fuzz::fd_pairs::run(input));
