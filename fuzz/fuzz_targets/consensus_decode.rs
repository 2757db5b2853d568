//! Fuzz target `consensus_decode`: the body is [`cvm_tests::fuzzing::consensus_decode`], shared with the corpus test run by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cvm_tests::fuzzing::consensus_decode(data);
});
