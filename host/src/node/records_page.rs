//! `GET /records/{manuscript}/{dataset}`: a page of a dataset at a final height, proven complete.

use cvm_runtime::state::{ManuscriptMeta, PageError, PageQuery, StateRoot, prove_page};
use parity_scale_codec::Decode;

use super::backend::NodeBackend;
use crate::record_page::{
    PAGE_MAX_RECORD_BYTES, PageCursor, PageRecord, RecordPage, appended_record_json, record_json,
};
use crate::rpc::node_api::ApiError;

impl NodeBackend {
    /// The page `query` of the state at `height` (`None`: the latest committed, which is final: a block is
    /// committed only with its certificate).
    pub fn prove_records_page(
        &self,
        query: &PageQuery,
        height: Option<u64>,
    ) -> Result<RecordPage, ApiError> {
        let storage = self.app.storage();
        let head = self.status.read().height;
        let height = height.unwrap_or(head);
        if height == 0 || height > head {
            return Err(ApiError::NotFound(format!(
                "height {height} is not final yet (the latest final height is {head}); ask for {head} or less, \
                 or leave height out"
            )));
        }
        let internal = |e: String| {
            tracing::error!(error = %e, "reading a records page failed");
            ApiError::Internal(e)
        };
        let header = storage
            .header(height)
            .map_err(|e| internal(e.to_string()))?
            .ok_or_else(|| ApiError::NotFound(format!("no block at height {height} (pruned?)")))?;
        let certificate = storage
            .commit(height)
            .map_err(|e| internal(e.to_string()))?
            .ok_or_else(|| {
                ApiError::NotFound(format!("no commit certificate at height {height}"))
            })?;
        let store = self.app.executor().store().clone();
        let root = StateRoot::from(header.state_root);
        let (served, page, proof) = prove_page(store.as_ref(), root, query, PAGE_MAX_RECORD_BYTES)
            .map_err(|e| match e {
                PageError::NoManuscript(name) => {
                    ApiError::NotFound(format!("no manuscript named {name:?} at height {height}"))
                }
                PageError::UndeclaredDataset {
                    manuscript,
                    dataset,
                    declared,
                } => ApiError::NotFound(format!(
                    "manuscript {manuscript:?} has no dataset {dataset:?} (it has {declared:?})"
                )),
                other => internal(other.to_string()),
            })?;
        let next = page.more.then(|| PageCursor {
            height,
            last_key: page
                .records
                .last()
                .map(|(k, _)| k.clone())
                .unwrap_or_default(),
        });
        let types = self.types_of_meta(header.state_root, &proof.manuscript_meta);
        let append_only = ManuscriptMeta::decode(&mut &proof.manuscript_meta[..])
            .is_ok_and(|meta| meta.is_append_only(&query.dataset));
        let records = page
            .records
            .into_iter()
            .map(|(key, value)| {
                let (key_json, value_json) = if append_only {
                    appended_record_json(types.as_deref(), &query.dataset, &key, &value)
                } else {
                    record_json(types.as_deref(), &query.dataset, &key, &value)
                };
                PageRecord {
                    key,
                    value,
                    key_json,
                    value_json,
                }
            })
            .collect();
        Ok(RecordPage {
            chain_id: self.app.genesis().chain_id.clone(),
            height,
            query: query.with_limit(served),
            records,
            next,
            proof,
            header,
            certificate,
        })
    }
}
