//! Registered sources: what they are ([`SourceDef`]), how far each has been ingested ([`SourceHead`]), who may
//! register them (governance keys) and push records into them (a signed source's publishers), what a block's
//! Ethereum source blocks must satisfy, proofs of a manuscript's provenance, and the genesis state that registers
//! the first ones.
//!
//! | Module | Job |
//! |---|---|
//! | `types` | definitions, heads, source blocks, name rule |
//! | `state` | state keys and reads |
//! | `register` | who may register what |
//! | `ingest_rules` | who may ingest where; the signed head |
//! | `block_rules` | continuity and budget of source blocks |
//! | `provenance` | proofs of which sources a manuscript reads and their heads |
//! | `genesis` | the genesis state |

mod block_rules;
mod genesis;
mod ingest_rules;
mod provenance;
mod register;
mod state;
mod types;

pub use block_rules::{SourceBlockError, SourceTally, check_source_block};
pub use genesis::{GenesisStateError, genesis_state};
pub use ingest_rules::{IngestRefusal, check_ingest, next_signed_head};
pub use provenance::{
    BoundSource, Provenance, ProvenanceError, ProvenanceProof, SourceEntries, prove_provenance,
    verify_provenance,
};
pub use register::{RegisterRefusal, check_definition, check_governance};
pub use state::{
    GOVERNANCE_KEY, SOURCE_DEF_PREFIX, SOURCE_HEAD_PREFIX, governance, source_def, source_def_key,
    source_head, source_head_key, sources,
};
pub use types::{
    Confirmations, EthereumSource, MAX_SOURCE_NAME_LEN, SignedSource, SourceBlock, SourceBudget,
    SourceDef, SourceDefError, SourceHead, SourceKind, is_valid_source_name,
};
