#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: fdcopy_fuzz::async_pairs::Input| fdcopy_fuzz::async_pairs::run(input));
