//! What the sink knows of each manuscript it writes tables for: its code hash and dataset list from a proof
//! that verifies against the genesis (never from the node's word), and the dataset types read from the code whose
//! hash that is.

use std::sync::Arc;

use cvm_runtime::state::ManuscriptMeta;
use parity_scale_codec::Decode;

use super::error::SinkError;
use crate::api_client::{Client, ClientError, PageRequest};
use crate::datasets::ManuscriptTypes;
use crate::hex_text::to_hex;
use crate::verify::Trust;
use crate::verify::page::verify_record_page;

/// A manuscript as proven, with its types.
#[derive(Clone, Debug)]
pub struct Manuscript {
    /// Blake2-256 of its code, from proven metadata.
    pub code_hash: [u8; 32],
    /// The datasets it declares, from proven metadata.
    pub datasets: Vec<String>,
    /// Those of them that are append-only.
    pub append_only: Vec<String>,
    /// Its dataset types (`None`: it declares none; its records are sunk as bytes).
    pub types: Option<Arc<ManuscriptTypes>>,
}

impl Manuscript {
    /// The manuscript whose proven metadata is `meta` (SCALE), its types read from the code the node serves for
    /// the metadata's code hash (the client checks the code hashes to it).
    pub fn from_meta(client: &Client, name: &str, meta: &[u8]) -> Result<Manuscript, SinkError> {
        let meta = ManuscriptMeta::decode(&mut &meta[..]).map_err(|e| SinkError::Code {
            manuscript: name.to_string(),
            cause: format!("its proven metadata does not decode: {e}"),
        })?;
        let code = client.code(meta.code_hash)?;
        let types = ManuscriptTypes::load(&code).map_err(|e| SinkError::Code {
            manuscript: name.to_string(),
            cause: format!("code {}: {e}", to_hex(meta.code_hash)),
        })?;
        Ok(Manuscript {
            code_hash: meta.code_hash,
            datasets: meta.datasets,
            append_only: meta.append_only,
            types: types.map(Arc::new),
        })
    }

    /// `name` at the node's latest final height, proven by a one-record page of `dataset` (an empty one carries
    /// the metadata too; pages serve keyed and append-only datasets alike) that verifies against `trust`. An
    /// unknown manuscript or dataset is [`SinkError::UnknownDataset`].
    pub fn proven(
        client: &Client,
        trust: &Trust,
        name: &str,
        dataset: &str,
    ) -> Result<Manuscript, SinkError> {
        let request = PageRequest {
            limit: Some(1),
            ..PageRequest::default()
        };
        let page = match client.records_page(name, dataset, &request) {
            Ok(page) => page,
            Err(ClientError::Api {
                status: 404,
                message,
            }) => {
                return Err(SinkError::UnknownDataset(
                    format!("{name}/{dataset}"),
                    message,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let height = page.height;
        verify_record_page(&page, trust).map_err(|e| SinkError::Refused {
            height,
            cause: format!("the proof of manuscript {name} does not verify: {e}"),
        })?;
        Self::from_meta(client, name, &page.proof.manuscript_meta)
    }
}
