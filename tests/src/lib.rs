//! Workspace-level integration tests live in `tests/tests/`: they cross crate boundaries (SDK ↔ CVM now; the
//! node's multi-process tests next).
