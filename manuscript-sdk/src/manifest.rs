//! The manifest: a manuscript's self-description, stored SCALE-encoded in the wasm custom section
//! [`SECTION_NAME`]. The `#[manuscript]` macro writes it; the runtime reads it at deploy with
//! [`Manifest::decode_section`], so a deploy needs only the wasm.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use parity_scale_codec::{Decode, DecodeAll, Encode, Input, Output};

/// The ABI version this SDK implements (`ABI.md`).
pub const ABI_VERSION: u32 = 1;
/// Name of the wasm custom section holding the SCALE-encoded [`Manifest`].
pub const SECTION_NAME: &str = "cvm_manifest";
/// Longest manuscript name, source id or dataset name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// What a manuscript is, what it reads and what it writes.
///
/// SCALE-encoded as its five fields in order, except that an empty `append_only` is left out: a manifest without
/// append-only datasets encodes (and decodes) exactly as one written before the field existed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// ABI version the manuscript was built for; [`ABI_VERSION`].
    pub abi_version: u32,
    /// Manuscript name: 1..=64 bytes of `[a-z0-9-_.]`.
    pub name: String,
    /// Source ids it subscribes to: at least one, each 1..=64 bytes, no duplicates.
    pub sources: Vec<String>,
    /// Datasets it may emit into: each 1..=64 bytes of `[a-z0-9-_.]`, no duplicates.
    pub datasets: Vec<String>,
    /// The datasets among `datasets` that are append-only (ABI.md, "Append-only datasets"): their records are
    /// committed once per block, never rewritten in place. No duplicates.
    pub append_only: Vec<String>,
}

impl Encode for Manifest {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.abi_version.encode_to(dest);
        self.name.encode_to(dest);
        self.sources.encode_to(dest);
        self.datasets.encode_to(dest);
        if !self.append_only.is_empty() {
            self.append_only.encode_to(dest);
        }
    }
}

/// Decodes a whole `cvm_manifest` section: the optional last field is read when bytes are left, so a manifest is
/// never decoded as part of a longer input.
impl Decode for Manifest {
    fn decode<I: Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        let abi_version = u32::decode(input)?;
        let name = String::decode(input)?;
        let sources = Vec::decode(input)?;
        let datasets = Vec::decode(input)?;
        // The last field is there only when it is not empty.
        let append_only = match input.remaining_len()? {
            Some(0) => Vec::new(),
            _ => {
                let list: Vec<String> = Vec::decode(input)?;
                if list.is_empty() {
                    // One encoding per manifest: an empty list is left out, never written.
                    return Err("trailing bytes: an empty append-only list is left out".into());
                }
                list
            }
        };
        Ok(Manifest {
            abi_version,
            name,
            sources,
            datasets,
            append_only,
        })
    }
}

/// Why a manifest is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// The section is not a SCALE-encoded manifest (or has trailing bytes).
    Decode(String),
    /// Built for another ABI version.
    AbiVersion(u32),
    /// The manuscript name breaks the naming rule.
    Name(String),
    /// No source subscribed.
    NoSources,
    /// A source id is empty or longer than [`MAX_NAME_LEN`].
    Source(String),
    /// A dataset name breaks the naming rule.
    Dataset(String),
    /// The same source or dataset is listed twice.
    Duplicate(String),
    /// An append-only name is not one of the manifest's datasets.
    AppendOnlyNotDataset(String),
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Decode(e) => write!(f, "manifest does not decode: {e}"),
            ManifestError::AbiVersion(v) => {
                write!(
                    f,
                    "manifest ABI version {v} is not supported (expected {ABI_VERSION})"
                )
            }
            ManifestError::Name(n) => write!(
                f,
                "invalid manuscript name {n:?}: want 1..={MAX_NAME_LEN} bytes of [a-z0-9-_.]"
            ),
            ManifestError::NoSources => f.write_str("manifest subscribes to no source"),
            ManifestError::Source(s) => {
                write!(f, "invalid source id {s:?}: want 1..={MAX_NAME_LEN} bytes")
            }
            ManifestError::Dataset(d) => write!(
                f,
                "invalid dataset name {d:?}: want 1..={MAX_NAME_LEN} bytes of [a-z0-9-_.]"
            ),
            ManifestError::Duplicate(d) => write!(f, "{d:?} is listed twice"),
            ManifestError::AppendOnlyNotDataset(d) => write!(
                f,
                "append-only dataset {d:?} is not one of the manifest's datasets: declare it in datasets too"
            ),
        }
    }
}

impl core::error::Error for ManifestError {}

/// Whether `s` is a valid manuscript or dataset name: 1..=64 bytes of `[a-z0-9-_.]`.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// Whether `s` is a valid source id: 1..=64 bytes.
pub fn is_valid_source(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_LEN
}

impl Manifest {
    /// A version-[`ABI_VERSION`] manifest.
    pub fn new(
        name: impl Into<String>,
        sources: impl IntoIterator<Item = impl Into<String>>,
        datasets: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Manifest {
            abi_version: ABI_VERSION,
            name: name.into(),
            sources: sources.into_iter().map(Into::into).collect(),
            datasets: datasets.into_iter().map(Into::into).collect(),
            append_only: Vec::new(),
        }
    }

    /// The same manifest with `append_only` as its append-only datasets.
    pub fn with_append_only(
        mut self,
        append_only: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.append_only = append_only.into_iter().map(Into::into).collect();
        self
    }

    /// Decodes the content of a `cvm_manifest` section (all of it: trailing bytes are an error)
    /// and [validates](Self::validate) it.
    pub fn decode_section(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest = Manifest::decode_all(&mut &bytes[..])
            .map_err(|e| ManifestError::Decode(alloc::string::ToString::to_string(&e)))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The section content: the SCALE encoding.
    pub fn to_section(&self) -> Vec<u8> {
        self.encode()
    }

    /// Checks the rules of `ABI.md` (the same ones `#[manuscript]` enforces at compile time).
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.abi_version != ABI_VERSION {
            return Err(ManifestError::AbiVersion(self.abi_version));
        }
        if !is_valid_name(&self.name) {
            return Err(ManifestError::Name(self.name.clone()));
        }
        if self.sources.is_empty() {
            return Err(ManifestError::NoSources);
        }
        // A set, not a scan of the names before each one: a manifest may list many names.
        let mut seen = BTreeSet::new();
        for source in &self.sources {
            if !is_valid_source(source) {
                return Err(ManifestError::Source(source.clone()));
            }
            if !seen.insert(source.as_str()) {
                return Err(ManifestError::Duplicate(source.clone()));
            }
        }
        let mut seen = BTreeSet::new();
        for dataset in &self.datasets {
            if !is_valid_name(dataset) {
                return Err(ManifestError::Dataset(dataset.clone()));
            }
            if !seen.insert(dataset.as_str()) {
                return Err(ManifestError::Duplicate(dataset.clone()));
            }
        }
        let mut appended = BTreeSet::new();
        for dataset in &self.append_only {
            if !seen.contains(dataset.as_str()) {
                return Err(ManifestError::AppendOnlyNotDataset(dataset.clone()));
            }
            if !appended.insert(dataset.as_str()) {
                return Err(ManifestError::Duplicate(dataset.clone()));
            }
        }
        Ok(())
    }

    /// Whether `dataset` is declared append-only.
    pub fn is_append_only(&self, dataset: &str) -> bool {
        self.append_only.iter().any(|d| d == dataset)
    }

    /// Whether the manuscript subscribes to `source`.
    pub fn subscribes_to(&self, source: &str) -> bool {
        self.sources.iter().any(|s| s == source)
    }

    /// Whether the manuscript may emit into `dataset`.
    pub fn declares_dataset(&self, dataset: &str) -> bool {
        self.datasets.iter().any(|d| d == dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn encoding_matches_abi_md_example() {
        let m = Manifest::new("counter", ["kv"], ["counts"]);
        let mut expected = vec![1, 0, 0, 0, 0x1c];
        expected.extend_from_slice(b"counter");
        expected.extend_from_slice(&[0x04, 0x08]);
        expected.extend_from_slice(b"kv");
        expected.extend_from_slice(&[0x04, 0x18]);
        expected.extend_from_slice(b"counts");
        assert_eq!(m.to_section(), expected);
        assert_eq!(Manifest::decode_section(&expected), Ok(m));
    }

    #[test]
    fn decode_rejects_trailing_bytes_and_garbage() {
        let mut bytes = Manifest::new("a", ["kv"], ["b"]).to_section();
        bytes.push(0);
        assert!(matches!(
            Manifest::decode_section(&bytes),
            Err(ManifestError::Decode(_))
        ));
        assert!(matches!(
            Manifest::decode_section(&[1, 0]),
            Err(ManifestError::Decode(_))
        ));
    }

    #[test]
    fn validation_rules() {
        let ok = Manifest::new("erc20-transfers_v1.2", ["ethereum.logs"], ["transfers"]);
        assert_eq!(ok.validate(), Ok(()));
        let mut m = ok.clone();
        m.abi_version = 2;
        assert_eq!(m.validate(), Err(ManifestError::AbiVersion(2)));
        for bad in ["", "Upper", "sp ace", "é", &"x".repeat(65)] {
            let m = Manifest::new(bad, ["kv"], ["d"]);
            assert_eq!(
                m.validate(),
                Err(ManifestError::Name(bad.into())),
                "{bad:?}"
            );
        }
        assert_eq!(
            Manifest::new("a", ["x"; 0], ["d"]).validate(),
            Err(ManifestError::NoSources)
        );
        let long = "s".repeat(65);
        assert_eq!(
            Manifest::new("a", [long.as_str()], ["d"]).validate(),
            Err(ManifestError::Source(long.clone()))
        );
        assert_eq!(
            Manifest::new("a", ["kv", "kv"], ["d"]).validate(),
            Err(ManifestError::Duplicate("kv".into()))
        );
        assert_eq!(
            Manifest::new("a", ["kv"], ["D"]).validate(),
            Err(ManifestError::Dataset("D".into()))
        );
        assert_eq!(
            Manifest::new("a", ["kv"], ["d", "d"]).validate(),
            Err(ManifestError::Duplicate("d".into()))
        );
        assert_eq!(
            Manifest::new("a", ["Any Source/1"], ["x"; 0]).validate(),
            Ok(())
        );
    }

    /// A manifest without append-only datasets keeps the ABI-v1 encoding; one with them adds the list at the end,
    /// which decodes back; the list must name declared datasets once each.
    #[test]
    fn append_only_list_is_a_trailing_optional_field() {
        let plain = Manifest::new("a", ["kv"], ["t", "b"]);
        let with = plain.clone().with_append_only(["t"]);
        let mut expected = plain.to_section();
        expected.extend_from_slice(&[0x04, 0x04, b't']);
        assert_eq!(with.to_section(), expected);
        assert_eq!(Manifest::decode_section(&expected), Ok(with.clone()));
        assert!(with.is_append_only("t") && !with.is_append_only("b"));
        assert_eq!(
            plain.clone().with_append_only(["x"]).validate(),
            Err(ManifestError::AppendOnlyNotDataset("x".into()))
        );
        assert_eq!(
            plain.clone().with_append_only(["t", "t"]).validate(),
            Err(ManifestError::Duplicate("t".into()))
        );
    }

    #[test]
    fn lookups() {
        let m = Manifest::new("a", ["kv"], ["out"]);
        assert!(m.subscribes_to("kv") && !m.subscribes_to("ethereum.logs"));
        assert!(m.declares_dataset("out") && !m.declares_dataset("in"));
    }
}
