//! Fuzz target `proof_verify`: the body is [`cvm_tests::fuzzing::proof_verify`], shared with the corpus test run by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cvm_tests::fuzzing::proof_verify(data);
});
