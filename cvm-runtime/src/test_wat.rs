//! Helpers for unit tests that write manuscripts in the WebAssembly text format.

use manuscript_sdk::manifest::Manifest;

/// The manifest of a manuscript `name` reading source `s` and writing dataset `out`, as the escaped string of a
/// WAT `(@custom "cvm_manifest" "…")` annotation.
pub(crate) fn manifest_string(name: &str) -> String {
    Manifest::new(name, ["s"], ["out"])
        .to_section()
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect()
}
