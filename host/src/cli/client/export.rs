//! `cvm export`: a whole dataset at one height, as Parquet or CSV, with a manifest. Every page is verified
//! against the genesis (finality, completeness, continuity) before its records are written, and the columns come
//! from the manuscript's code, fetched by the hash the first page proves.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use cvm_runtime::state::{ManuscriptMeta, blake2_256};
use parity_scale_codec::{Decode, Encode};

use super::args::NodeArgs;
use crate::api_client::{Client, PageRequest};
use crate::chain::Genesis;
use crate::datasets::ManuscriptTypes;
use crate::export::{DatasetWriter, ExportFormat, ExportManifest};
use crate::hex_text::to_hex;
use crate::record_page::{PAGE_MAX_LIMIT, RecordPage};
use crate::verify::Trust;
use crate::verify::page::{continues, verify_record_page};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Manuscript name (as deployed).
    pub manuscript: String,
    /// One of the manuscript's datasets.
    pub dataset: String,
    /// File format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The data file to write; the manifest goes beside it as `<file>.manifest.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// The height whose state to export (default: the latest final).
    #[arg(long)]
    pub height: Option<u64>,
    /// The chain's genesis file: every page is checked against its validators before it is written.
    #[arg(long)]
    pub genesis: PathBuf,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// What the verified page proves of the manuscript: its metadata, and its declared types from its code, fetched
/// by the proven hash (the client checks the code against it).
fn proven_manuscript(
    client: &Client,
    page: &RecordPage,
) -> anyhow::Result<(ManuscriptMeta, Option<ManuscriptTypes>)> {
    let meta = ManuscriptMeta::decode(&mut &page.proof.manuscript_meta[..])
        .context("the page's proven manuscript metadata does not decode")?;
    let code = client
        .code(meta.code_hash)
        .context("fetching the manuscript's code for its dataset types")?;
    let types = ManuscriptTypes::load(&code).context("reading the code's dataset types")?;
    Ok((meta, types))
}

/// `path` with `.partial` added: written there, renamed when complete.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

pub fn run(a: &ExportArgs) -> anyhow::Result<()> {
    let genesis = Genesis::load(&a.genesis)?;
    if a.out.file_name().is_none() {
        bail!("--out {} names no file", a.out.display());
    }
    let client = Client::new(&a.node.node);
    let trust = Trust::genesis(&genesis)
        .map_err(anyhow::Error::msg)?
        .with_source(Box::new(Client::new(&a.node.node)), false);
    let mut request = PageRequest {
        limit: Some(PAGE_MAX_LIMIT),
        height: a.height,
        ..PageRequest::default()
    };
    let first = client.records_page(&a.manuscript, &a.dataset, &request)?;
    verify_record_page(&first, &trust).with_context(|| {
        format!(
            "page 0 at height {} does not verify; nothing written",
            first.height
        )
    })?;
    let (meta, types) = proven_manuscript(&client, &first)?;
    let code_hash = meta.code_hash;
    let partial = partial(&a.out);
    let mut writer = DatasetWriter::create(
        &partial,
        a.format,
        types.map(Into::into),
        &a.dataset,
        meta.is_append_only(&a.dataset),
    )?;
    let columns = writer.manifest_columns();
    let bar = crate::progress::counter(&format!("{}/{}", a.manuscript, a.dataset), "records");
    let mut page = first.clone();
    for index in 0.. {
        let records: Vec<(Vec<u8>, Vec<u8>)> = page
            .records
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect();
        writer.write(&records)?;
        bar.inc(records.len() as u64);
        let Some(next) = &page.next else { break };
        request = PageRequest {
            cursor: Some(next.to_text()),
            limit: Some(PAGE_MAX_LIMIT),
            ..PageRequest::default()
        };
        let following = client.records_page(&a.manuscript, &a.dataset, &request)?;
        verify_record_page(&following, &trust).with_context(|| {
            format!(
                "page {} does not verify; the partial file {} is left",
                index + 1,
                partial.display()
            )
        })?;
        if !continues(&page, &following) {
            bail!(
                "page {} does not continue page {index} (another height or range); the partial file {} is left",
                index + 1,
                partial.display()
            );
        }
        page = following;
    }
    let rows = writer.finish()?;
    bar.finish_and_clear();
    std::fs::rename(&partial, &a.out)
        .with_context(|| format!("renaming {} to {}", partial.display(), a.out.display()))?;
    let data =
        std::fs::read(&a.out).with_context(|| format!("reading back {}", a.out.display()))?;
    let manifest = ExportManifest {
        chain_id: first.chain_id.clone(),
        manuscript: a.manuscript.clone(),
        dataset: a.dataset.clone(),
        height: first.height,
        state_root: to_hex(first.header.state_root),
        block_hash: to_hex(first.header.hash()),
        code_hash: to_hex(code_hash),
        records: rows,
        format: a.format.name().to_string(),
        file: a
            .out
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        file_blake2: to_hex(blake2_256(&data)),
        columns,
        header: to_hex(first.header.encode()),
        certificate: to_hex(first.certificate.encode()),
    };
    let manifest_path = ExportManifest::path_for(&a.out);
    manifest.save(&manifest_path)?;
    println!(
        "exported {rows} records of {}/{} at height {} (state root {}) to {}; manifest {}",
        a.manuscript,
        a.dataset,
        first.height,
        manifest.state_root,
        a.out.display(),
        manifest_path.display()
    );
    Ok(())
}
