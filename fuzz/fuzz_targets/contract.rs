#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: fdcopy_fuzz::contract::Input| fdcopy_fuzz::contract::run(input));
