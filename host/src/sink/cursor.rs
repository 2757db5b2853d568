//! The sink's own tables: `cvm_sink_cursor`, one row per chain saying the last block whose changes the dataset
//! tables hold (written in the same transaction as those changes, so tables and cursor never disagree), and
//! `cvm_sink_tables`, which dataset each table holds.

use postgres::GenericClient;

use super::error::SinkError;

/// Creates the sink's tables if missing.
pub const CREATE: &str = "\
    CREATE TABLE IF NOT EXISTS cvm_sink_cursor (\
        chain_id text PRIMARY KEY, \
        height bigint NOT NULL, \
        block_hash bytea NOT NULL, \
        state_root bytea NOT NULL, \
        datasets text NOT NULL, \
        updated_at timestamptz NOT NULL DEFAULT now()); \
    CREATE TABLE IF NOT EXISTS cvm_sink_tables (\
        table_name text PRIMARY KEY, \
        manuscript text NOT NULL, \
        dataset text NOT NULL)";

/// How far the tables are: the last block written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The chain.
    pub chain_id: String,
    /// The last block whose changes the tables hold (0: none yet).
    pub height: u64,
    /// That block's hash (zeros at height 0).
    pub block_hash: [u8; 32],
    /// That block's state root (zeros at height 0).
    pub state_root: [u8; 32],
}

impl Cursor {
    /// Before any block.
    pub fn start(chain_id: &str) -> Cursor {
        Cursor {
            chain_id: chain_id.to_string(),
            height: 0,
            block_hash: [0; 32],
            state_root: [0; 32],
        }
    }
}

fn bytes32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], SinkError> {
    bytes.try_into().map_err(|b: Vec<u8>| {
        SinkError::BadCursor(format!("{what} holds {} bytes, not 32", b.len()))
    })
}

/// The cursor of `chain_id` and the datasets it covers, checking that the database holds no other chain.
pub fn read(
    db: &mut impl GenericClient,
    chain_id: &str,
) -> Result<Option<(Cursor, String)>, SinkError> {
    let rows = db.query(
        "SELECT chain_id, height, block_hash, state_root, datasets FROM cvm_sink_cursor",
        &[],
    )?;
    let mut found = None;
    for row in rows {
        let chain: String = row.get(0);
        if chain != chain_id {
            return Err(SinkError::DatabaseOfOtherChain {
                expected: chain_id.to_string(),
                found: chain,
            });
        }
        let height: i64 = row.get(1);
        found = Some((
            Cursor {
                chain_id: chain,
                height: u64::try_from(height).unwrap_or_default(),
                block_hash: bytes32(row.get(2), "block_hash")?,
                state_root: bytes32(row.get(3), "state_root")?,
            },
            row.get(4),
        ));
    }
    Ok(found)
}

/// Writes `cursor` (with the datasets it covers), in the caller's transaction.
pub fn write(
    db: &mut impl GenericClient,
    cursor: &Cursor,
    datasets: &str,
) -> Result<(), SinkError> {
    let height = i64::try_from(cursor.height).unwrap_or(i64::MAX);
    db.execute(
        "INSERT INTO cvm_sink_cursor (chain_id, height, block_hash, state_root, datasets) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain_id) DO UPDATE SET height = EXCLUDED.height, \
         block_hash = EXCLUDED.block_hash, state_root = EXCLUDED.state_root, datasets = EXCLUDED.datasets, \
         updated_at = now()",
        &[
            &cursor.chain_id,
            &height,
            &&cursor.block_hash[..],
            &&cursor.state_root[..],
            &datasets,
        ],
    )?;
    Ok(())
}
