//! Helpers shared by integration tests (and the `inspect_wasm` example).
pub mod conformance;
