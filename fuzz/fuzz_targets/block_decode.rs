//! Fuzz target `block_decode`: the body is [`cvm_tests::fuzzing::block_decode`], shared with the corpus test run by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cvm_tests::fuzzing::block_decode(data);
});
