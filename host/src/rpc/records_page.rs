//! `GET /records/{manuscript}/{dataset}?prefix=&start=&cursor=&limit=&height=`: a page of a dataset in key order
//! with its completeness proof ([`RecordPage`]). Keys are hex; `cursor` is a page's `next`. An append-only
//! dataset pages in (height, key) order: its page keys, `prefix` and `start` are the appending block's height (8
//! bytes, big-endian) followed by the record key.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use cvm_runtime::state::PageQuery;
use serde::Deserialize;

use crate::hex_text::from_hex;
use crate::record_page::{PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT, PageCursor, RecordPage};
use crate::rpc::error::HttpError;
use crate::rpc::shared::{AppState, MAX_KEY_LEN, blocking, check_name};

/// The query string, every field as text so that each bad one is named in the answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageParams {
    prefix: Option<String>,
    start: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    height: Option<String>,
}

/// Longest page key: a record key, after the 8-byte height in a page of an append-only dataset.
const MAX_PAGE_KEY_LEN: usize = MAX_KEY_LEN + 8;

fn key_param(name: &str, text: Option<&str>) -> Result<Vec<u8>, HttpError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let key = from_hex(text).map_err(|e| HttpError::bad_request(format!("{name}: {e}")))?;
    if key.len() > MAX_PAGE_KEY_LEN {
        return Err(HttpError::bad_request(format!(
            "{name} is longer than {MAX_PAGE_KEY_LEN} bytes (a record key of at most {MAX_KEY_LEN}, after an \
             8-byte height for an append-only dataset)"
        )));
    }
    Ok(key)
}

/// The query and height a request asks for, or the 400 naming its first bad parameter.
pub(super) fn page_request(
    manuscript: String,
    dataset: String,
    params: &PageParams,
) -> Result<(PageQuery, Option<u64>), HttpError> {
    check_name("manuscript", &manuscript)?;
    check_name("dataset", &dataset)?;
    let limit = match params.limit.as_deref() {
        None => PAGE_DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=PAGE_MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(HttpError::bad_request(format!(
                    "limit {text:?} is not a number from 1 to {PAGE_MAX_LIMIT} (the cap); follow the page's \
                     `next` cursor for more"
                )));
            }
        },
    };
    let mut height = match params.height.as_deref() {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(h) if h >= 1 => Some(h),
            _ => {
                return Err(HttpError::bad_request(format!(
                    "height {text:?} is not a height (1 or more); leave it out for the latest final height"
                )));
            }
        },
    };
    let prefix = key_param("prefix", params.prefix.as_deref())?;
    let mut start = key_param("start", params.start.as_deref())?;
    if let Some(text) = params.cursor.as_deref() {
        if params.start.is_some() {
            return Err(HttpError::bad_request(
                "give either start or cursor, not both: the cursor already says where the page starts",
            ));
        }
        let cursor =
            PageCursor::parse(text).map_err(|e| HttpError::bad_request(format!("cursor: {e}")))?;
        if cursor.last_key.len() > MAX_PAGE_KEY_LEN {
            return Err(HttpError::bad_request(format!(
                "cursor: its key is longer than {MAX_PAGE_KEY_LEN} bytes; pass the `next` of a page"
            )));
        }
        if height.is_some_and(|h| h != cursor.height) {
            return Err(HttpError::bad_request(format!(
                "cursor is for height {}, the request asks for height {}: leave height out when paging",
                cursor.height,
                height.unwrap_or_default()
            )));
        }
        height = Some(cursor.height);
        start = cursor.last_key;
        start.push(0);
    }
    Ok((
        PageQuery {
            manuscript,
            dataset,
            prefix,
            start,
            limit,
        },
        height,
    ))
}

pub(super) async fn records_page(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<RecordPage>, HttpError> {
    let Path((manuscript, dataset)) = path?;
    let Query(params) = params?;
    let (query, height) = page_request(manuscript, dataset, &params)?;
    let page = blocking(&s.api, move |api| api.records_page(&query, height)).await??;
    Ok(Json(page))
}
