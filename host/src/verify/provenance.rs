//! How a verified provenance reads: one line per source a record derives from.

use cvm_runtime::sources::{BoundSource, Provenance, SourceKind};

use crate::hex_text::to_hex;

/// `derived from <source> up to block N, 0x…` (Ethereum), `… up to ingest N, 0x…` (signed), `derived from
/// <source>: nothing ingested yet`; one line when there is nothing to list.
pub fn lines(provenance: Option<&Provenance>) -> Vec<String> {
    let Some(p) = provenance else {
        return vec![
            "no provenance: the bundle carries no proof of its manuscript's sources (saved by an older node); \
             save it again with `cvm query record --out` to get one"
                .into(),
        ];
    };
    if !p.deployed {
        return vec![format!(
            "derived from nothing: manuscript {} is not deployed at this height",
            p.manuscript
        )];
    }
    if p.bindings.is_empty() {
        return vec![format!(
            "derived from nothing: manuscript {} reads no source",
            p.manuscript
        )];
    }
    p.bindings.iter().map(line).collect()
}

fn line(b: &BoundSource) -> String {
    let Some(head) = &b.head else {
        return format!("derived from {}: nothing ingested yet", b.source);
    };
    let unit = match b.def.as_ref().map(|d| &d.kind) {
        Some(SourceKind::Ethereum(_)) => "block",
        Some(SourceKind::Signed(_)) => "ingest",
        None => "head (source not registered)",
    };
    format!(
        "derived from {} up to {unit} {}, {}",
        b.source,
        head.number,
        to_hex(head.hash)
    )
}
