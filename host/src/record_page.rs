//! The record page: a key range of one dataset at one height, with the proof that it holds every record of the
//! range and nothing else, the header whose state root the proof is against and the commit certificate that
//! finalized it; what `GET /records/{manuscript}/{dataset}` answers, `cvm query records --out` saves and
//! `cvm verify --page` checks. Its JSON form carries keys and values as hex and the proof, header and certificate
//! as SCALE hex; `key_json`/`value_json` are for people and never trusted.

use cvm_consensus::CommitCertificate;
use cvm_runtime::state::{PageProof, PageQuery};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use serde::{Deserialize, Serialize};

use crate::chain::BlockHeader;
use crate::datasets::ManuscriptTypes;
use crate::hex_text::{from_hex, to_hex};

/// Most records a page may ask for.
pub const PAGE_MAX_LIMIT: u32 = 1000;
/// Records in a page when the request names no limit.
pub const PAGE_DEFAULT_LIMIT: u32 = 100;
/// A page stops adding records once their keys and values pass this many bytes (the page then says so with a
/// smaller `limit` and a `next` cursor), so one answer stays within a few MiB whatever the records' sizes.
pub const PAGE_MAX_RECORD_BYTES: usize = 1 << 20;

/// One record of a page. For an append-only dataset `key` is the page key: the height of the block that appended
/// the record (8 bytes, big-endian), then the record's own key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRecord {
    /// The record's key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Vec<u8>,
    /// The key for people (decoded with the dataset's type when known, else hex); not verified.
    pub key_json: serde_json::Value,
    /// The value for people, likewise.
    pub value_json: serde_json::Value,
}

/// Where the next page starts: the height of the pages (so that all pages of a listing are of one state) and the
/// last key of the page before. Opaque to clients: hex of its SCALE encoding with a version byte.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PageCursor {
    /// Height of the state the pages are of.
    pub height: u64,
    /// The last record key of the page before.
    pub last_key: Vec<u8>,
}

const CURSOR_VERSION: u8 = 1;

impl PageCursor {
    /// The cursor as clients see it.
    pub fn to_text(&self) -> String {
        hex::encode((CURSOR_VERSION, self).encode())
    }

    /// Parses a cursor from [`PageCursor::to_text`]; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<PageCursor, String> {
        let bytes =
            hex::decode(text).map_err(|e| format!("not the `next` of a page (not hex: {e})"))?;
        let (version, cursor) = <(u8, PageCursor)>::decode_all(&mut &bytes[..])
            .map_err(|e| format!("not the `next` of a page ({e})"))?;
        if version != CURSOR_VERSION {
            return Err(format!(
                "cursor version {version} is not {CURSOR_VERSION}: pass the `next` of a page from this node"
            ));
        }
        Ok(cursor)
    }
}

/// A page of records and everything a reader needs to check it against the chain's genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RecordPageJson", try_from = "RecordPageJson")]
pub struct RecordPage {
    /// The chain that committed the records.
    pub chain_id: String,
    /// Height whose state the page is of.
    pub height: u64,
    /// The range: manuscript, dataset, key prefix, first key, and the limit served (below the one asked for when
    /// the records passed [`PAGE_MAX_RECORD_BYTES`]).
    pub query: PageQuery,
    /// The records, in key order.
    pub records: Vec<PageRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageCursor>,
    /// Proof from the header's state root to the range.
    pub proof: PageProof,
    /// The header at `height`.
    pub header: BlockHeader,
    /// Precommits of the validators that finalized the header.
    pub certificate: CommitCertificate,
}

/// The wire form of a record.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PageRecordJson {
    key: String,
    value: String,
    #[serde(default)]
    key_json: serde_json::Value,
    #[serde(default)]
    value_json: serde_json::Value,
}

/// The wire form of a page; `state_root` and `block_hash` are for people.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RecordPageJson {
    chain_id: String,
    height: u64,
    manuscript: String,
    dataset: String,
    prefix: String,
    start: String,
    limit: u32,
    records: Vec<PageRecordJson>,
    next: Option<String>,
    #[serde(default)]
    state_root: Option<String>,
    #[serde(default)]
    block_hash: Option<String>,
    proof: String,
    header: String,
    certificate: String,
}

impl From<RecordPage> for RecordPageJson {
    fn from(p: RecordPage) -> Self {
        RecordPageJson {
            chain_id: p.chain_id,
            height: p.height,
            manuscript: p.query.manuscript,
            dataset: p.query.dataset,
            prefix: to_hex(&p.query.prefix),
            start: to_hex(&p.query.start),
            limit: p.query.limit,
            records: p
                .records
                .into_iter()
                .map(|r| PageRecordJson {
                    key: to_hex(&r.key),
                    value: to_hex(&r.value),
                    key_json: r.key_json,
                    value_json: r.value_json,
                })
                .collect(),
            next: p.next.as_ref().map(PageCursor::to_text),
            state_root: Some(to_hex(p.header.state_root)),
            block_hash: Some(to_hex(p.header.hash())),
            proof: to_hex(p.proof.encode()),
            header: to_hex(p.header.encode()),
            certificate: to_hex(p.certificate.encode()),
        }
    }
}

fn decode_field<T: Decode>(name: &str, text: &str) -> Result<T, String> {
    let bytes = from_hex(text).map_err(|e| format!("{name}: {e}"))?;
    T::decode_all(&mut &bytes[..]).map_err(|e| format!("{name}: not valid SCALE ({e})"))
}

impl TryFrom<RecordPageJson> for RecordPage {
    type Error = String;

    fn try_from(j: RecordPageJson) -> Result<Self, String> {
        let records = j
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(PageRecord {
                    key: from_hex(&r.key).map_err(|e| format!("records[{i}].key: {e}"))?,
                    value: from_hex(&r.value).map_err(|e| format!("records[{i}].value: {e}"))?,
                    key_json: r.key_json,
                    value_json: r.value_json,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(RecordPage {
            chain_id: j.chain_id,
            height: j.height,
            query: PageQuery {
                manuscript: j.manuscript,
                dataset: j.dataset,
                prefix: from_hex(&j.prefix).map_err(|e| format!("prefix: {e}"))?,
                start: from_hex(&j.start).map_err(|e| format!("start: {e}"))?,
                limit: j.limit,
            },
            records,
            next: j
                .next
                .as_deref()
                .map(PageCursor::parse)
                .transpose()
                .map_err(|e| format!("next: {e}"))?,
            proof: decode_field("proof", &j.proof)?,
            header: decode_field("header", &j.header)?,
            certificate: decode_field("certificate", &j.certificate)?,
        })
    }
}

/// The readable forms of a record's key and value: by the dataset's declared types in `types` (the manuscript's,
/// loaded once per page), hex where it declares none or the bytes are not a value of the type.
pub fn record_json(
    types: Option<&ManuscriptTypes>,
    dataset: &str,
    key: &[u8],
    value: &[u8],
) -> (serde_json::Value, serde_json::Value) {
    (
        crate::datasets::types::key_json(types, dataset, key),
        crate::datasets::types::value_json(types, dataset, value),
    )
}

/// [`record_json`] for a page of an append-only dataset, whose page keys are the appending block's height (8 bytes,
/// big-endian) then the record key: the key shows as `{"height": h, "key": <the record key as JSON>}`.
pub fn appended_record_json(
    types: Option<&ManuscriptTypes>,
    dataset: &str,
    page_key: &[u8],
    value: &[u8],
) -> (serde_json::Value, serde_json::Value) {
    let (key_json, value_json) =
        record_json(types, dataset, page_key.get(8..).unwrap_or_default(), value);
    let height = page_key
        .get(..8)
        .and_then(|h| <[u8; 8]>::try_from(h).ok())
        .map(u64::from_be_bytes);
    (
        serde_json::json!({ "height": height, "key": key_json }),
        value_json,
    )
}
