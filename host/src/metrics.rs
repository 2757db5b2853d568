//! Prometheus metrics of a node, on `prometheus-client`: chain progress (height, round, block interval, finality
//! latency), block contents (transactions, records, fuel), peers, mempool, and transactions rejected at submit by
//! reason class. The node calls the setters; the RPC server serves [`Metrics::encode`] at `GET /metrics`.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Why a transaction was refused at submit (the mempool's or the API's check), as a low-cardinality label.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RejectClass {
    /// Not valid SCALE / not a `SignedTransaction`.
    Decode,
    /// Larger than the chain's `max_tx_bytes`.
    TooLarge,
    /// Bad signer key or signature.
    Signature,
    /// Signed for another chain.
    ChainId,
    /// Nonce already used or too far ahead.
    Nonce,
    /// Already in the mempool or committed.
    Duplicate,
    /// Mempool at its transaction or byte cap.
    MempoolFull,
    /// The signer may not do what it asks (ingest into a source it does not publish to, register a source).
    Unauthorized,
    /// Anything else.
    Other,
}

impl RejectClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Decode => "decode",
            Self::TooLarge => "too_large",
            Self::Signature => "signature",
            Self::ChainId => "chain_id",
            Self::Nonce => "nonce",
            Self::Duplicate => "duplicate",
            Self::MempoolFull => "mempool_full",
            Self::Unauthorized => "unauthorized",
            Self::Other => "other",
        }
    }
}

impl From<&cvm_runtime::TxError> for RejectClass {
    fn from(e: &cvm_runtime::TxError) -> Self {
        use cvm_runtime::TxError;
        match e {
            TxError::Decode(_) => Self::Decode,
            TxError::BadSigner | TxError::BadSignature => Self::Signature,
            TxError::WrongChain { .. } => Self::ChainId,
            TxError::WrongNonce { .. } => Self::Nonce,
        }
    }
}

impl std::fmt::Display for RejectClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EncodeLabelValue for RejectClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    reason: RejectClass,
}

/// A part of the node's memory that `cvm_memory_bytes` reports.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum MemoryPart {
    /// The whole process (resident set, from `/proc/self/statm`).
    Resident,
    RocksdbMemtables,
    RocksdbTableReaders,
    RocksdbBlockCache,
    TrieNodeCache,
    StateValueCache,
    /// Heap memory held by live allocations (glibc's count).
    HeapInUse,
}

impl MemoryPart {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::RocksdbMemtables => "rocksdb_memtables",
            Self::RocksdbTableReaders => "rocksdb_table_readers",
            Self::RocksdbBlockCache => "rocksdb_block_cache",
            Self::TrieNodeCache => "trie_node_cache",
            Self::StateValueCache => "state_value_cache",
            Self::HeapInUse => "heap_in_use",
        }
    }
}

impl EncodeLabelValue for MemoryPart {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MemoryLabels {
    part: MemoryPart,
}

/// What the node knows when it commits a block.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommittedBlock {
    pub height: u64,
    /// Round in which the block was decided.
    pub round: u32,
    pub txs: u64,
    /// Source records ingested by the block's transactions.
    pub records: u64,
    pub fuel_used: u64,
    /// Time between this block's and the parent's header time (none for the first block seen).
    pub interval: Option<Duration>,
    /// From receiving the proposal to committing it (none when the block came in through sync).
    pub finality_latency: Option<Duration>,
}

/// The node's metrics and the registry that exposes them.
pub struct Metrics {
    registry: Registry,
    height: Gauge,
    round: Gauge,
    blocks_committed: Counter,
    txs_committed: Counter,
    block_interval: Histogram,
    finality_latency: Histogram,
    block_txs: Histogram,
    block_records: Histogram,
    block_fuel: Histogram,
    last_block_fuel: Gauge<f64, AtomicU64>,
    peers: Gauge,
    mempool_txs: Gauge,
    mempool_bytes: Gauge,
    evidence_pending: Gauge,
    validators_jailed: Counter,
    txs_rejected: Family<RejectLabels, Counter>,
    memory: Family<MemoryLabels, Gauge>,
    source_head: Family<SourceLabels, Gauge>,
    source_endpoint_latest: Family<SourceLabels, Gauge>,
    source_ready: Family<SourceLabels, Gauge>,
    source_conflicts: Family<SourceLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("height", &self.height.get())
            .finish_non_exhaustive()
    }
}

fn seconds_buckets() -> Histogram {
    // 5 ms .. ~82 s
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

fn count_buckets() -> Histogram {
    // 1 .. ~1M
    Histogram::new(exponential_buckets(1.0, 4.0, 11))
}

impl Metrics {
    /// All metrics, registered under the `cvm_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cvm");
        let m = Metrics {
            height: Gauge::default(),
            round: Gauge::default(),
            blocks_committed: Counter::default(),
            txs_committed: Counter::default(),
            block_interval: seconds_buckets(),
            finality_latency: seconds_buckets(),
            block_txs: count_buckets(),
            block_records: count_buckets(),
            block_fuel: Histogram::new(exponential_buckets(1_000.0, 10.0, 9)),
            last_block_fuel: Gauge::default(),
            peers: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            evidence_pending: Gauge::default(),
            validators_jailed: Counter::default(),
            txs_rejected: Family::default(),
            memory: Family::default(),
            source_head: Family::default(),
            source_endpoint_latest: Family::default(),
            source_ready: Family::default(),
            source_conflicts: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "height",
            "Height of the last committed block",
            m.height.clone(),
        );
        r.register(
            "round",
            "Consensus round at the current height",
            m.round.clone(),
        );
        r.register(
            "blocks_committed",
            "Blocks committed since start",
            m.blocks_committed.clone(),
        );
        r.register(
            "txs_committed",
            "Transactions committed since start",
            m.txs_committed.clone(),
        );
        r.register(
            "block_interval_seconds",
            "Time between consecutive block header times",
            m.block_interval.clone(),
        );
        r.register(
            "finality_latency_seconds",
            "Time from receiving a proposal to committing it",
            m.finality_latency.clone(),
        );
        r.register(
            "evidence_pending",
            "Duplicate-vote evidence waiting for a block (one piece per offender)",
            m.evidence_pending.clone(),
        );
        r.register(
            "validators_jailed",
            "Validators removed from the set by committed evidence since start",
            m.validators_jailed.clone(),
        );
        r.register(
            "block_txs",
            "Transactions per committed block",
            m.block_txs.clone(),
        );
        r.register(
            "block_records",
            "Source records ingested per committed block",
            m.block_records.clone(),
        );
        r.register(
            "block_fuel_used",
            "Fuel used per committed block",
            m.block_fuel.clone(),
        );
        r.register(
            "last_block_fuel_used",
            "Fuel used by the last committed block",
            m.last_block_fuel.clone(),
        );
        r.register("peers", "Connected peers", m.peers.clone());
        r.register(
            "mempool_txs",
            "Transactions in the mempool",
            m.mempool_txs.clone(),
        );
        r.register(
            "mempool_bytes",
            "Bytes of transactions in the mempool",
            m.mempool_bytes.clone(),
        );
        r.register(
            "txs_rejected",
            "Transactions refused at submit, by reason class",
            m.txs_rejected.clone(),
        );
        r.register(
            "memory_bytes",
            "Bytes in memory: the process's resident set and the caches and buffers within it, by part",
            m.memory.clone(),
        );
        r.register(
            "source_head",
            "Number of the last source block ingested by a committed block, by registered Ethereum source",
            m.source_head.clone(),
        );
        r.register(
            "source_endpoint_latest",
            "Latest block number this node's endpoint shows, by source",
            m.source_endpoint_latest.clone(),
        );
        r.register(
            "source_ready_blocks",
            "Source blocks fetched and verified past the head, waiting to be ingested, by source",
            m.source_ready.clone(),
        );
        r.register(
            "source_conflicts",
            "Committed source blocks this node's endpoint later showed with another hash, by source (alert on any)",
            m.source_conflicts.clone(),
        );
        Metrics { registry, ..m }
    }

    pub fn on_block_committed(&self, block: &CommittedBlock) {
        self.height.set(clamp(block.height));
        self.round.set(i64::from(block.round));
        self.blocks_committed.inc();
        self.txs_committed.inc_by(block.txs);
        if let Some(d) = block.interval {
            self.block_interval.observe(d.as_secs_f64());
        }
        if let Some(d) = block.finality_latency {
            self.finality_latency.observe(d.as_secs_f64());
        }
        self.block_txs.observe(block.txs as f64);
        self.block_records.observe(block.records as f64);
        self.block_fuel.observe(block.fuel_used as f64);
        self.last_block_fuel.set(block.fuel_used as f64);
    }

    /// The round consensus is in (moves on timeouts, before any commit).
    pub fn set_round(&self, round: u32) {
        self.round.set(i64::from(round));
    }

    pub fn set_peers(&self, peers: usize) {
        self.peers.set(clamp(peers as u64));
    }

    pub fn set_mempool(&self, txs: usize, bytes: usize) {
        self.mempool_txs.set(clamp(txs as u64));
        self.mempool_bytes.set(clamp(bytes as u64));
    }

    /// Evidence pieces in the node's pool.
    pub fn set_evidence_pending(&self, pieces: usize) {
        self.evidence_pending.set(clamp(pieces as u64));
    }

    /// A committed block jailed `count` validators.
    pub fn on_validators_jailed(&self, count: usize) {
        self.validators_jailed.inc_by(count as u64);
    }

    pub fn set_memory(&self, part: MemoryPart, bytes: u64) {
        self.memory
            .get_or_create(&MemoryLabels { part })
            .set(clamp(bytes));
    }

    /// What this node's feed of one source last saw.
    pub fn set_source(&self, status: &crate::sources::SourceStatus) {
        let labels = SourceLabels {
            source: status.name.clone(),
        };
        let feed = &status.feed;
        if let Some(head) = feed.head {
            self.source_head
                .get_or_create(&labels)
                .set(clamp(head.number));
        }
        if let Some(latest) = feed.endpoint_latest {
            self.source_endpoint_latest
                .get_or_create(&labels)
                .set(clamp(latest));
        }
        self.source_ready
            .get_or_create(&labels)
            .set(clamp(feed.ready as u64));
        self.source_conflicts
            .get_or_create(&labels)
            .set(clamp(feed.conflicts));
    }

    pub fn on_tx_rejected(&self, class: RejectClass) {
        self.txs_rejected
            .get_or_create(&RejectLabels { reason: class })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_contains_every_metric_with_values() {
        let m = Metrics::new();
        m.on_block_committed(&CommittedBlock {
            height: 7,
            round: 1,
            txs: 3,
            records: 120,
            fuel_used: 5_000_000,
            interval: Some(Duration::from_millis(900)),
            finality_latency: Some(Duration::from_millis(40)),
        });
        m.set_peers(3);
        m.set_mempool(12, 4096);
        m.on_tx_rejected(RejectClass::Nonce);
        m.on_tx_rejected(RejectClass::Nonce);
        m.on_tx_rejected(RejectClass::Decode);
        m.set_memory(MemoryPart::RocksdbMemtables, 8 << 20);
        m.set_evidence_pending(2);
        m.on_validators_jailed(1);
        let text = m.encode();
        for line in [
            "cvm_height 7",
            "cvm_round 1",
            "cvm_blocks_committed_total 1",
            "cvm_txs_committed_total 3",
            "cvm_block_interval_seconds_count 1",
            "cvm_finality_latency_seconds_sum 0.04",
            "cvm_block_txs_sum 3.0",
            "cvm_block_records_sum 120.0",
            "cvm_block_fuel_used_count 1",
            "cvm_last_block_fuel_used 5000000.0",
            "cvm_peers 3",
            "cvm_mempool_txs 12",
            "cvm_mempool_bytes 4096",
            "cvm_txs_rejected_total{reason=\"nonce\"} 2",
            "cvm_txs_rejected_total{reason=\"decode\"} 1",
            "cvm_memory_bytes{part=\"rocksdb_memtables\"} 8388608",
            "cvm_evidence_pending 2",
            "cvm_validators_jailed_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
