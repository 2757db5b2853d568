//! Why the sink stopped. Each names the cause and what to do next.

use crate::api_client::ClientError;
use crate::block_changes::ChangesVerifyError;

/// Why the sink stopped.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum SinkError {
    #[error(
        "the PostgreSQL URL is not valid: {0}; write it as postgres://user[:password]@host[:port]/database"
    )]
    BadUrl(String),
    #[error("cannot connect to PostgreSQL: {0}; is the server running and the URL right?")]
    Connect(String),
    #[error("PostgreSQL failed: {0}")]
    Database(#[from] postgres::Error),
    #[error(transparent)]
    Node(#[from] ClientError),
    #[error(
        "the node is for chain {node:?}, the genesis file for {genesis:?}: point --node and --genesis at the same chain"
    )]
    OtherChain { node: String, genesis: String },
    #[error("unknown dataset {0:?}: {1}")]
    UnknownDataset(String, String),
    #[error("dataset {0:?} is not written as <manuscript>/<dataset>")]
    BadDatasetName(String),
    #[error(
        "column {column:?} of dataset {dataset} is not a usable PostgreSQL column name (63 bytes at most, no quote)"
    )]
    ColumnName { dataset: String, column: String },
    #[error(
        "the database already holds chain {found:?}, this node is chain {expected:?}: sink each chain into its own \
         database"
    )]
    DatabaseOfOtherChain { expected: String, found: String },
    #[error(
        "the database follows datasets [{stored}], this run asks for [{asked}]: give the same --datasets, or sink \
         into another database (or drop its tables and the cvm_sink_cursor row to load the new set from height 1)"
    )]
    OtherDatasets { stored: String, asked: String },
    #[error(
        "table {table} holds {found}, not {expected}: sink into another database, or drop the table to rebuild it"
    )]
    TableTaken {
        table: String,
        found: String,
        expected: String,
    },
    #[error(
        "table {table} has columns [{found}], the declared types of {dataset} give [{expected}]: drop the table and \
         delete the cvm_sink_cursor row (DELETE FROM cvm_sink_cursor) to reload every dataset from height 1, or sink \
         into another database"
    )]
    ColumnsChanged {
        table: String,
        dataset: String,
        found: String,
        expected: String,
    },
    #[error("refused block {height}: {cause}; nothing of it was written")]
    Refused { height: u64, cause: String },
    #[error("refused block {height}: it does not verify: {cause}; nothing of it was written")]
    Unverified {
        height: u64,
        cause: Box<ChangesVerifyError>,
    },
    #[error(
        "the cvm_sink_cursor row is damaged: {0}; delete it (and the tables) to reload from height 1"
    )]
    BadCursor(String),
    #[error("manuscript {manuscript}'s code from the node: {cause}")]
    Code { manuscript: String, cause: String },
}
