//! [`Storage`]: opening the database, committing a decided block atomically, and reading the chain back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cvm_consensus::{CommitCertificate, DuplicateVoteEvidence};
use cvm_runtime::state::NodeStore;
use cvm_runtime::{DatasetChanges, StateChanges, TxReceipt, TxStatus};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use parking_lot::Mutex;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Options, SliceTransform, WriteBatch,
    WriteBufferManager,
};

use super::StorageError;
use super::keys::{
    ALL_CFS, CF_BLOCKS, CF_CHANGES, CF_COMMITS, CF_META, CF_RECEIPTS, CF_SOURCE_BLOCKS, CF_TRIE,
    HEAD_KEY, VALIDATOR_SCHEDULE_KEY, block_hash_key, evidence_key, height_key, parse_height_key,
    validator_set_key,
};
use super::node_store::{NodeCache, RocksNodeStore, put_nodes};
use super::rocks::{cf, sync_log, write};
use crate::chain::{Block, BlockHash, BlockHeader, ValidatorSchedule};

/// The last committed block: where a restarted node resumes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChainHead {
    /// Height of the last committed block (where sync and consensus resume).
    pub height: u64,
    /// Its header hash, the next block's parent hash.
    pub block_hash: BlockHash,
    /// The state root after it.
    pub state_root: [u8; 32],
    /// Its header time.
    pub time_ms: u64,
}

/// A receipt with where its transaction was included.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StoredReceipt {
    /// Height of the block holding the transaction.
    pub height: u64,
    /// Position of the transaction in the block.
    pub index: u32,
    /// What executing the transaction did.
    pub receipt: TxReceipt,
}

/// The evidence one block committed, and whom it removed from the set.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CommittedEvidence {
    /// The block that committed it.
    pub height: u64,
    /// The pieces, in block order.
    pub evidence: Vec<DuplicateVoteEvidence>,
    /// The offenders the block jailed out of the set (an offender already gone, or the last validator, stays
    /// off this list).
    pub jailed: Vec<[u8; 32]>,
}

/// Everything a decided block leaves on disk, written by [`Storage::commit_block`] in one batch.
pub struct CommittedBlock<'a> {
    /// The decided block, body included.
    pub block: &'a Block,
    /// The precommits that finalized it.
    pub certificate: &'a CommitCertificate,
    /// The trie nodes its execution created.
    pub changes: &'a StateChanges,
    /// One per transaction, in block order.
    pub receipts: &'a [TxReceipt],
    /// The data of the source blocks it ingests (keyed by their hash), kept for sync and replay.
    pub source_blocks: &'a [([u8; 32], Vec<u8>)],
    /// The dataset records it changed ([`BlockOutcome::dataset_changes`](cvm_runtime::BlockOutcome)).
    pub dataset_changes: &'a [DatasetChanges],
    /// The validator sets after it (`None`: left as stored), and whether the set of its height + 2 has a new
    /// membership (then kept for that height, for certificates of that height and on).
    pub validators: Option<(&'a ValidatorSchedule, bool)>,
    /// The offenders its evidence jailed out of the set ([`BlockOutcome::jailed`](cvm_runtime::BlockOutcome)).
    pub jailed: &'a [[u8; 32]],
}

/// The node's database. Cheap to clone: every clone shares one RocksDB handle.
#[derive(Clone)]
pub struct Storage {
    pub(super) db: Arc<DB>,
    path: PathBuf,
    /// Serialises `commit_block` so two commits cannot both pass the head + 1 check.
    commit_lock: Arc<Mutex<()>>,
    /// Trie nodes recently read or committed, shared by every node store handed out.
    nodes: NodeCache,
    /// RocksDB's block cache, shared by every column family.
    block_cache: Cache,
}

/// Bytes the storage layer holds in memory, by part (RocksDB's own accounting, approximate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageMemory {
    /// Memtables of every column family, flushed or not yet released.
    pub memtables: u64,
    /// Index and filter blocks of open table files.
    pub table_readers: u64,
    /// RocksDB's block cache (data blocks read).
    pub block_cache: u64,
    /// The trie node cache.
    pub trie_node_cache: u64,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("path", &self.path).finish()
    }
}

fn decode<T: Decode>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, StorageError> {
    T::decode_all(&mut &bytes[..]).map_err(|e| StorageError::decode(what(), e))
}

fn is_rejected(receipt: &TxReceipt) -> bool {
    matches!(receipt.status, TxStatus::Rejected { .. })
}

/// RocksDB's memory, bounded for the whole database. Its defaults are per column family (a 64 MiB memtable, up
/// to two of them, and a block cache each): with seven families a loaded validator's memory grew by hundreds of
/// MiB. One block cache and one memtable budget are shared by all families instead.
const BLOCK_CACHE_BYTES: usize = 32 << 20;
const MEMTABLE_BUDGET_BYTES: usize = 32 << 20;
const MEMTABLE_BYTES: usize = 8 << 20;
/// Old WAL files keep every family's memtable alive; past this size RocksDB flushes so they can go.
const MAX_TOTAL_WAL_BYTES: u64 = 64 << 20;

/// Options shared by the database and each column family (one cache, one memtable budget).
struct MemoryBudget {
    cache: Cache,
    write_buffers: WriteBufferManager,
}

impl MemoryBudget {
    fn new() -> Self {
        Self {
            cache: Cache::new_lru_cache(BLOCK_CACHE_BYTES),
            write_buffers: WriteBufferManager::new_write_buffer_manager(
                MEMTABLE_BUDGET_BYTES,
                false,
            ),
        }
    }

    fn db_options(&self) -> Options {
        let mut opts = self.cf_options();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_write_buffer_manager(&self.write_buffers);
        opts.set_max_total_wal_size(MAX_TOTAL_WAL_BYTES);
        opts
    }

    /// The trie family is only ever read by exact 32-byte hash: a Bloom filter spares disk reads for the nodes of
    /// new tries. Its memtable is the default skip list. A hashed memtable makes inserts O(1) but sorts the whole
    /// memtable into a skip list again at every flush (5 % of a loaded validator's CPU on its own), which costs
    /// more than the ordered inserts save.
    fn trie_options(&self) -> Options {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&self.cache);
        table.set_bloom_filter(10.0, false);
        let mut opts = self.cf_options();
        opts.set_block_based_table_factory(&table);
        opts.set_prefix_extractor(SliceTransform::create_fixed_prefix(32));
        opts
    }

    fn cf_options(&self) -> Options {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&self.cache);
        let mut opts = Options::default();
        opts.set_block_based_table_factory(&table);
        opts.set_write_buffer_size(MEMTABLE_BYTES);
        opts.set_max_write_buffer_number(2);
        opts
    }
}

impl Storage {
    /// Opens (or creates) the database at `path`, creating any missing column family.
    pub fn open(path: impl AsRef<Path>) -> Result<Storage, StorageError> {
        let path = path.as_ref().to_path_buf();
        let budget = MemoryBudget::new();
        let opts = budget.db_options();
        // Column families of a newer version must be opened too, or RocksDB refuses to open at all.
        let mut names: Vec<String> = ALL_CFS.iter().map(|s| s.to_string()).collect();
        if let Ok(existing) = DB::list_cf(&Options::default(), &path) {
            for name in existing {
                if name != rocksdb::DEFAULT_COLUMN_FAMILY_NAME && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let descriptors = names.into_iter().map(|name| {
            let opts = if name == CF_TRIE {
                budget.trie_options()
            } else {
                budget.cf_options()
            };
            ColumnFamilyDescriptor::new(name, opts)
        });
        let db = DB::open_cf_descriptors(&opts, &path, descriptors)
            .map_err(|e| StorageError::open(path.clone(), e))?;
        let storage = Storage {
            db: Arc::new(db),
            path,
            commit_lock: Arc::new(Mutex::new(())),
            nodes: NodeCache::new(),
            block_cache: budget.cache.clone(),
        };
        let head = storage.head()?;
        tracing::info!(
            path = %storage.path.display(),
            height = head.as_ref().map_or(0, |h| h.height),
            "storage opened"
        );
        Ok(storage)
    }

    /// What the database and the trie-node cache hold in memory now.
    pub fn memory(&self) -> Result<StorageMemory, StorageError> {
        let usage =
            rocksdb::perf::get_memory_usage_stats(Some(&[&*self.db]), Some(&[&self.block_cache]))
                .map_err(|e| StorageError::db("reading memory usage", e))?;
        Ok(StorageMemory {
            memtables: usage.mem_table_total,
            table_readers: usage.mem_table_readers_total,
            block_cache: usage.cache_total,
            trie_node_cache: self.nodes.bytes(),
        })
    }

    /// Makes every write so far durable (fsyncs RocksDB's log).
    pub fn sync(&self) -> Result<(), StorageError> {
        sync_log(&self.db, "syncing the log")
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The archival trie node store the block executor reads and (outside block commits) writes.
    pub fn node_store(&self) -> Arc<dyn NodeStore> {
        Arc::new(RocksNodeStore::new(self.db.clone(), self.nodes.clone()))
    }

    /// Stores a decided block, its certificate, trie nodes, receipts, dataset index and the new head in one
    /// synced write batch. Refuses (writing nothing) a height other than head + 1, a parent hash other than the
    /// head's, a certificate for another block, or a receipt count other than the transaction count.
    pub fn commit_block(&self, c: &CommittedBlock<'_>) -> Result<(), StorageError> {
        self.commit_block_with(c, true)
    }

    /// [`commit_block`](Self::commit_block), fsynced before returning only when `durable`. Catching up applies
    /// already-final blocks in batches and makes each batch durable once ([`sync`](Self::sync)): a crash in
    /// between loses only the batch's unsynced tail, which is fetched again.
    pub fn commit_block_with(
        &self,
        c: &CommittedBlock<'_>,
        durable: bool,
    ) -> Result<(), StorageError> {
        let _guard = self.commit_lock.lock();
        let header = &c.block.header;
        let height = header.height;
        let hash = c.block.hash();
        let head = self.head()?;
        let expected = head.as_ref().map_or(1, |h| h.height + 1);
        if height != expected {
            return Err(StorageError::NotNextHeight { height, expected });
        }
        let invalid = |reason: String| Err(StorageError::InvalidCommit { height, reason });
        if let Some(head) = &head
            && header.parent_hash != head.block_hash
        {
            return invalid(format!(
                "parent hash {} is not the head's hash {}",
                hex::encode(header.parent_hash),
                hex::encode(head.block_hash)
            ));
        }
        if c.certificate.height.0 != height || c.certificate.value_id.0 != hash {
            return invalid(format!(
                "the certificate is for height {} block {}, not block {}",
                c.certificate.height.0,
                hex::encode(c.certificate.value_id.0),
                hex::encode(hash)
            ));
        }
        if c.receipts.len() != c.block.body.txs.len() {
            return invalid(format!(
                "{} receipts for {} transactions",
                c.receipts.len(),
                c.block.body.txs.len()
            ));
        }

        let db = &*self.db;
        let mut batch = WriteBatch::default();
        let key = height_key(height);
        batch.put_cf(cf(db, CF_BLOCKS)?, key, c.block.encode());
        batch.put_cf(cf(db, CF_COMMITS)?, key, c.certificate.encode());
        let meta = cf(db, CF_META)?;
        batch.put_cf(meta, block_hash_key(&hash), key);
        put_nodes(db, &mut batch, c.changes)?;
        self.put_receipts(&mut batch, height, c.receipts)?;
        batch.put_cf(cf(db, CF_CHANGES)?, key, c.dataset_changes.encode());
        let cf_sources = cf(db, CF_SOURCE_BLOCKS)?;
        for (hash, data) in c.source_blocks {
            batch.put_cf(cf_sources, hash, data);
        }
        let new_head = ChainHead {
            height,
            block_hash: hash,
            state_root: header.state_root,
            time_ms: header.time_ms,
        };
        if let Some((schedule, changed)) = c.validators {
            batch.put_cf(meta, VALIDATOR_SCHEDULE_KEY, schedule.encode());
            if changed {
                batch.put_cf(
                    meta,
                    validator_set_key(height + 2),
                    schedule.after_next.encode(),
                );
            }
        }
        if !c.block.body.evidence.is_empty() {
            let committed = CommittedEvidence {
                height,
                evidence: c.block.body.evidence.clone(),
                jailed: c.jailed.to_vec(),
            };
            batch.put_cf(meta, evidence_key(height), committed.encode());
        }
        batch.put_cf(meta, HEAD_KEY, new_head.encode());
        write(db, batch, &format!("commit of block {height}"), durable)?;
        self.nodes.insert_all(c.changes);
        tracing::debug!(
            height,
            hash = %hex::encode(hash),
            nodes = c.changes.nodes.len(),
            receipts = c.receipts.len(),
            "block committed"
        );
        Ok(())
    }

    /// Adds the receipts to `batch`. A transaction included again later (necessarily rejected: its nonce is
    /// spent) must not hide the receipt of the inclusion that executed, so a rejected receipt never replaces an
    /// executed one.
    fn put_receipts(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        receipts: &[TxReceipt],
    ) -> Result<(), StorageError> {
        let cf_receipts = cf(&self.db, CF_RECEIPTS)?;
        let mut in_block: HashMap<[u8; 32], bool> = HashMap::new();
        for (index, receipt) in receipts.iter().enumerate() {
            let executed_before = match in_block.get(&receipt.tx_hash) {
                Some(executed) => *executed,
                None => self
                    .receipt(&receipt.tx_hash)?
                    .is_some_and(|r| !is_rejected(&r.receipt)),
            };
            if executed_before && is_rejected(receipt) {
                continue;
            }
            in_block.insert(receipt.tx_hash, !is_rejected(receipt) || executed_before);
            let stored = StoredReceipt {
                height,
                index: index as u32,
                receipt: receipt.clone(),
            };
            batch.put_cf(cf_receipts, receipt.tx_hash, stored.encode());
        }
        Ok(())
    }

    pub(super) fn get(
        &self,
        cf_name: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.db
            .get_cf(cf(&self.db, cf_name)?, key)
            .map_err(|e| StorageError::db(format!("read from {cf_name}"), e))
    }

    /// The last committed block, `None` before the first commit.
    pub fn head(&self) -> Result<Option<ChainHead>, StorageError> {
        self.get(CF_META, HEAD_KEY)?
            .map(|b| decode(&b, || "chain head".into()))
            .transpose()
    }

    /// The committed block at `height`, `None` above the head.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        self.get(CF_BLOCKS, &height_key(height))?
            .map(|b| decode(&b, || format!("block {height}")))
            .transpose()
    }

    /// The height of the block with this header hash, if stored.
    pub fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, StorageError> {
        match self.get(CF_META, &block_hash_key(hash))? {
            None => Ok(None),
            Some(v) => parse_height_key(&v).map(Some).ok_or(StorageError::BadKey {
                what: "block hash index entry",
                key: hex::encode(hash),
            }),
        }
    }

    /// The committed block with header hash `hash`.
    pub fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Block>, StorageError> {
        match self.height_of(hash)? {
            Some(height) => self.block(height),
            None => Ok(None),
        }
    }

    /// The header alone (decoded from the front of the stored block, without the body).
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        self.get(CF_BLOCKS, &height_key(height))?
            .map(|b| {
                BlockHeader::decode(&mut &b[..])
                    .map_err(|e| StorageError::decode(format!("header {height}"), e))
            })
            .transpose()
    }

    /// The certificate that finalized the block at `height`.
    pub fn commit(&self, height: u64) -> Result<Option<CommitCertificate>, StorageError> {
        self.get(CF_COMMITS, &height_key(height))?
            .map(|b| decode(&b, || format!("commit certificate {height}")))
            .transpose()
    }

    /// The dataset records the block at `height` changed, by manuscript then dataset; `None` above the head (or
    /// for a block committed by a version that did not record them).
    pub fn dataset_changes(
        &self,
        height: u64,
    ) -> Result<Option<Vec<DatasetChanges>>, StorageError> {
        self.get(CF_CHANGES, &height_key(height))?
            .map(|b| decode(&b, || format!("dataset changes of block {height}")))
            .transpose()
    }

    /// The receipt of transaction `tx_hash`, with where it was included.
    pub fn receipt(&self, tx_hash: &[u8; 32]) -> Result<Option<StoredReceipt>, StorageError> {
        self.get(CF_RECEIPTS, tx_hash)?
            .map(|b| decode(&b, || format!("receipt of tx {}", hex::encode(tx_hash))))
            .transpose()
    }

    /// Keeps the data (SCALE `EthBlockData`) of source block `hash`, checked against a committed block's
    /// commitment by the caller.
    pub fn put_source_block(&self, hash: &[u8; 32], data: &[u8]) -> Result<(), StorageError> {
        self.db
            .put_cf(cf(&self.db, CF_SOURCE_BLOCKS)?, hash, data)
            .map_err(|e| StorageError::db("write of a source block", e))
    }

    /// The stored data (SCALE `EthBlockData`) of source block `hash`, kept when a block ingesting it committed.
    pub fn source_block(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(CF_SOURCE_BLOCKS, hash)
    }
}
