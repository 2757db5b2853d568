//! cvm-tests (placeholder, being built).
