#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: fdcopy_fuzz::strategy_table::Input| fdcopy_fuzz::strategy_table::run(input));
