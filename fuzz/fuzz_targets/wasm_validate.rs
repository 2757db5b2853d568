//! Fuzz target `wasm_validate`: the body is [`cvm_tests::fuzzing::wasm_validate`], shared with the corpus test run by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cvm_tests::fuzzing::wasm_validate(data);
});
