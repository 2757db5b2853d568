//! Static ABI conformance of a wasm module (shared by the `inspect_wasm` example and tests):
//! exports, imports, memory, start function and the manifest section of `ABI.md`.

use manuscript_sdk::manifest::{Manifest, SECTION_NAME};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// What a module exposes, as far as the ABI cares.
#[derive(Debug, Default)]
pub struct Summary {
    pub exports: Vec<(String, &'static str)>,
    pub imports: Vec<(String, String)>,
    pub memories: Vec<(u64, Option<u64>)>,
    pub has_start: bool,
    pub manifest_sections: Vec<Vec<u8>>,
    pub custom_sections: Vec<String>,
}

pub fn summarize(wasm: &[u8]) -> Result<Summary, String> {
    let mut s = Summary::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    if let TypeRef::Memory(m) = import.ty {
                        s.memories.push((m.initial, m.maximum));
                    }
                    s.imports
                        .push((import.module.to_string(), import.name.to_string()));
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let m = memory.map_err(|e| e.to_string())?;
                    s.memories.push((m.initial, m.maximum));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    let kind = match export.kind {
                        ExternalKind::Func => "func",
                        ExternalKind::Memory => "memory",
                        ExternalKind::Global => "global",
                        ExternalKind::Table => "table",
                        _ => "other",
                    };
                    s.exports.push((export.name.to_string(), kind));
                }
            }
            Payload::StartSection { .. } => s.has_start = true,
            Payload::CustomSection(reader) => {
                s.custom_sections.push(reader.name().to_string());
                if reader.name() == SECTION_NAME {
                    s.manifest_sections.push(reader.data().to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// Checks the module against the ABI; returns its manifest.
pub fn check(wasm: &[u8]) -> Result<(Summary, Manifest), String> {
    let s = summarize(wasm)?;
    for (name, kind) in [
        ("memory", "memory"),
        ("cvm_alloc", "func"),
        ("cvm_process", "func"),
    ] {
        if !s.exports.iter().any(|(n, k)| n == name && *k == kind) {
            return Err(format!(
                "missing {kind} export `{name}` (exports: {:?})",
                s.exports
            ));
        }
    }
    // Anything else is ignored by the runtime; rustc adds the globals __heap_base/__data_end.
    if let Some((name, kind)) = s.exports.iter().find(|(n, k)| {
        !matches!(n.as_str(), "memory" | "cvm_alloc" | "cvm_process") && *k != "global"
    }) {
        return Err(format!("unexpected {kind} export `{name}`"));
    }
    if let Some((module, name)) = s.imports.iter().find(|(m, _)| m != "cvm") {
        return Err(format!("imports {module}::{name}, outside module `cvm`"));
    }
    if s.has_start {
        return Err("has a start function".into());
    }
    if s.memories.len() != 1 {
        return Err(format!("has {} memories, expected 1", s.memories.len()));
    }
    let initial_pages = s.memories[0].0;
    if initial_pages > 256 {
        return Err(format!(
            "initial memory {initial_pages} pages exceeds 16 MiB"
        ));
    }
    let manifest = match s.manifest_sections.as_slice() {
        [one] => Manifest::decode_section(one).map_err(|e| e.to_string())?,
        other => {
            return Err(format!(
                "{} `{SECTION_NAME}` sections, expected 1",
                other.len()
            ));
        }
    };
    Ok((s, manifest))
}
