#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| socketwire::fuzzing::adapter::message(data));
