//! cvm-host (placeholder, being built).
