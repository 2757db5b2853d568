//! The manifest section: decoded, bounded by the limits, then checked against the ABI's naming rules.

use manuscript_sdk::manifest::{ABI_VERSION, Manifest, ManifestError};
use parity_scale_codec::DecodeAll;

use super::error::ValidationError;
use crate::limits::Limits;

/// The manifest in `bytes`: counts and name lengths are checked against `limits` before the naming rules, so
/// the work spent on a manifest is bounded by the limits, not by the code size.
pub(super) fn parse_manifest(bytes: &[u8], limits: &Limits) -> Result<Manifest, ValidationError> {
    let manifest = Manifest::decode_all(&mut &bytes[..]).map_err(|e| {
        ValidationError::MalformedManifest(ManifestError::Decode(e.to_string()).to_string())
    })?;
    check_bounds(&manifest, limits)?;
    manifest.validate().map_err(|e| match e {
        ManifestError::AbiVersion(found) => ValidationError::UnsupportedAbiVersion {
            found,
            supported: ABI_VERSION,
        },
        other => ValidationError::MalformedManifest(other.to_string()),
    })?;
    Ok(manifest)
}

fn check_bounds(manifest: &Manifest, limits: &Limits) -> Result<(), ValidationError> {
    if manifest.sources.len() > limits.max_sources_per_manuscript as usize {
        return Err(ValidationError::TooManySources {
            count: manifest.sources.len(),
            max: limits.max_sources_per_manuscript,
        });
    }
    if manifest.datasets.len() > limits.max_datasets_per_manuscript as usize {
        return Err(ValidationError::TooManyDatasets {
            count: manifest.datasets.len(),
            max: limits.max_datasets_per_manuscript,
        });
    }
    if manifest.append_only.len() > limits.max_datasets_per_manuscript as usize {
        return Err(ValidationError::TooManyDatasets {
            count: manifest.append_only.len(),
            max: limits.max_datasets_per_manuscript,
        });
    }
    let names = std::iter::once((
        "manuscript name",
        &manifest.name,
        limits.max_manifest_name_len,
    ))
    .chain(
        manifest
            .sources
            .iter()
            .map(|s| ("source id", s, limits.max_manifest_name_len)),
    )
    .chain(
        manifest
            .datasets
            .iter()
            .chain(&manifest.append_only)
            .map(|d| ("dataset name", d, limits.max_dataset_name_len)),
    );
    for (what, name, max) in names {
        if name.len() > max as usize {
            return Err(ValidationError::ManifestNameTooLong {
                what,
                name: name.chars().take(32).collect(),
                len: name.len(),
                max,
            });
        }
    }
    Ok(())
}
