//! Deploy-time validation: everything that can be rejected before a manuscript ever runs is rejected here,
//! each with a named reason (manuscript-sdk/ABI.md lists the contract being checked).

mod error;
mod manifest;
mod segments;

use manuscript_sdk::manifest::{Manifest, SECTION_NAME};
use manuscript_sdk::types::{DatasetTypes, SECTION_NAME as TYPES_SECTION};
use wasmparser::{
    ExternalKind, FuncType, ImportSectionReader, MemorySectionReader, Parser, Payload, TypeRef,
    TypeSectionReader, ValType, Validator, WasmFeatures,
};

pub use self::error::ValidationError;
use self::error::invalid;
use self::manifest::parse_manifest;
use self::segments::InitLayout;
use crate::limits::Limits;
use crate::stack_limit::check_frames;
use crate::state::blake2_256;

/// A binary that passed validation, with what its manifest says.
#[derive(Debug, Clone)]
pub struct ValidatedCode {
    /// Blake2-256 of the binary.
    pub code_hash: [u8; 32],
    /// The decoded `cvm_manifest` section.
    pub manifest: Manifest,
}

/// The wasm features manuscripts may use. Deterministic ones only; the engine is configured the same way.
pub fn allowed_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::SIMD
        | WasmFeatures::FLOATS
}

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// The `cvm` import module: name, params, results, and a human signature for errors.
pub(crate) const HOST_IMPORTS: &[(&str, &[ValType], &[ValType], &str)] = &[
    (
        "state_get",
        &[I32, I32, I32, I32],
        &[I32],
        "(i32, i32, i32, i32) -> i32",
    ),
    (
        "state_set",
        &[I32, I32, I32, I32],
        &[],
        "(i32, i32, i32, i32)",
    ),
    ("state_remove", &[I32, I32], &[], "(i32, i32)"),
    (
        "state_next_key",
        &[I32, I32, I32, I32, I32, I32],
        &[I32],
        "(i32, i32, i32, i32, i32, i32) -> i32",
    ),
    (
        "emit",
        &[I32, I32, I32, I32, I32, I32],
        &[],
        "(i32, i32, i32, i32, i32, i32)",
    ),
    ("block_height", &[], &[I64], "() -> i64"),
    ("block_time", &[], &[I64], "() -> i64"),
    ("log", &[I32, I32, I32], &[], "(i32, i32, i32)"),
    (
        "abort",
        &[I32, I32, I32, I32, I32, I32],
        &[],
        "(i32, i32, i32, i32, i32, i32)",
    ),
];

const ALLOC_SIG: (&[ValType], &[ValType], &str) = (&[I32], &[I32], "func (i32) -> i32");
const PROCESS_SIG: (&[ValType], &[ValType], &str) = (
    &[I32, I32, I32, I32],
    &[I32],
    "func (i32, i32, i32, i32) -> i32",
);

fn same_sig(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    ty.params() == params && ty.results() == results
}

/// Validates a manuscript binary against the ABI and the limits.
pub fn validate(wasm: &[u8], limits: &Limits) -> Result<ValidatedCode, ValidationError> {
    check_code_size(wasm, limits)?;
    let module = scan_sections(wasm, limits)?;
    check_memory_count(&module)?;
    // Structure first (for the precise reasons above), then full validation with exactly the engine's features.
    validate_with_engine_features(wasm)?;
    module.layout.check_segments()?;
    check_frames(wasm, allowed_features())?;
    check_memory_export(&module)?;
    check_function_exports(&module)?;
    let manifest = parse_manifest(
        module
            .manifest
            .as_deref()
            .ok_or(ValidationError::MissingManifest)?,
        limits,
    )?;
    // Not executed and optional: only checked, so what a node shows for the records is well defined.
    if let Some(types) = &module.types_section {
        DatasetTypes::decode_section(types, &manifest)
            .map_err(|e| ValidationError::MalformedTypes(e.to_string()))?;
    }
    Ok(ValidatedCode {
        code_hash: blake2_256(wasm),
        manifest,
    })
}

/// What the section scan gathers for the checks after it.
#[derive(Default)]
struct ModuleSummary {
    /// Types of all functions (imported first, then defined), to check export signatures.
    types: Vec<FuncType>,
    func_types: Vec<u32>,
    memories: u32,
    layout: InitLayout,
    manifest: Option<Vec<u8>>,
    types_section: Option<Vec<u8>>,
    exports: Vec<(String, ExternalKind, u32)>,
}

impl ModuleSummary {
    /// The kind and index of the export `name`.
    fn export(&self, name: &str) -> Option<(ExternalKind, u32)> {
        self.exports
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, k, i)| (*k, *i))
    }
}

fn check_code_size(wasm: &[u8], limits: &Limits) -> Result<(), ValidationError> {
    if wasm.len() > limits.max_code_size as usize {
        return Err(ValidationError::CodeTooLarge {
            size: wasm.len(),
            max: limits.max_code_size as usize,
        });
    }
    Ok(())
}

/// Reads the sections in order, rejecting what the ABI forbids as soon as it is seen.
fn scan_sections(wasm: &[u8], limits: &Limits) -> Result<ModuleSummary, ValidationError> {
    let mut module = ModuleSummary::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => read_types(reader, &mut module.types)?,
            Payload::ImportSection(reader) => check_imports(reader, &mut module)?,
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    module.func_types.push(ty.map_err(invalid)?);
                }
            }
            Payload::MemorySection(reader) => check_memories(reader, limits, &mut module)?,
            Payload::TableSection(reader) => module.layout.read_tables(reader, limits)?,
            Payload::DataSection(reader) => module.layout.read_data(reader)?,
            Payload::ElementSection(reader) => module.layout.read_elements(reader)?,
            Payload::StartSection { .. } => return Err(ValidationError::StartFunction),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    module
                        .exports
                        .push((export.name.to_string(), export.kind, export.index));
                }
            }
            Payload::CustomSection(section) if section.name() == SECTION_NAME => {
                if module.manifest.is_some() {
                    return Err(ValidationError::DuplicateManifest);
                }
                module.manifest = Some(section.data().to_vec());
            }
            Payload::CustomSection(section) if section.name() == TYPES_SECTION => {
                if module.types_section.is_some() {
                    return Err(ValidationError::MalformedTypes(format!(
                        "more than one `{TYPES_SECTION}` section"
                    )));
                }
                module.types_section = Some(section.data().to_vec());
            }
            _ => {}
        }
    }
    Ok(module)
}

/// Function types only (no GC types).
fn read_types(
    reader: TypeSectionReader<'_>,
    types: &mut Vec<FuncType>,
) -> Result<(), ValidationError> {
    for rec_group in reader {
        for sub in rec_group.map_err(invalid)?.into_types() {
            match sub.composite_type.inner {
                wasmparser::CompositeInnerType::Func(f) => types.push(f),
                _ => return Err(ValidationError::InvalidWasm("non-function type".into())),
            }
        }
    }
    Ok(())
}

/// Only functions of the `cvm` module, each with its ABI signature.
fn check_imports(
    reader: ImportSectionReader<'_>,
    module: &mut ModuleSummary,
) -> Result<(), ValidationError> {
    for import in reader.into_imports() {
        let import = import.map_err(invalid)?;
        let kind = match import.ty {
            TypeRef::Func(idx) => {
                check_import(import.module, import.name, module.types.get(idx as usize))?;
                module.func_types.push(idx);
                continue;
            }
            TypeRef::Memory(_) => "memory",
            TypeRef::Table(_) => "table",
            TypeRef::Global(_) => "global",
            _ => "non-function item",
        };
        return Err(ValidationError::NonFunctionImport {
            module: import.module.into(),
            name: import.name.into(),
            kind,
        });
    }
    Ok(())
}

/// Counts the defined memories, each within the initial size cap.
fn check_memories(
    reader: MemorySectionReader<'_>,
    limits: &Limits,
    module: &mut ModuleSummary,
) -> Result<(), ValidationError> {
    for memory in reader {
        let memory = memory.map_err(invalid)?;
        module.memories += 1;
        module.layout.memory_pages.get_or_insert(memory.initial);
        if memory.initial > limits.max_memory_pages() {
            return Err(ValidationError::InitialMemoryTooLarge {
                pages: memory.initial,
                max: limits.max_memory_pages(),
            });
        }
    }
    Ok(())
}

fn check_memory_count(module: &ModuleSummary) -> Result<(), ValidationError> {
    if module.memories > 1 {
        return Err(ValidationError::MultipleMemories(module.memories));
    }
    Ok(())
}

fn validate_with_engine_features(wasm: &[u8]) -> Result<(), ValidationError> {
    Validator::new_with_features(allowed_features())
        .validate_all(wasm)
        .map_err(invalid)?;
    Ok(())
}

/// The module exports its memory as `memory`.
fn check_memory_export(module: &ModuleSummary) -> Result<(), ValidationError> {
    match module.export("memory") {
        Some((ExternalKind::Memory, _)) => Ok(()),
        Some(_) => Err(ValidationError::ExportSignature {
            name: "memory",
            expected: "memory",
        }),
        None => Err(ValidationError::MissingExport("memory")),
    }
}

/// The module exports `cvm_alloc` and `cvm_process` with their ABI signatures.
fn check_function_exports(module: &ModuleSummary) -> Result<(), ValidationError> {
    for (name, (params, results, expected)) in
        [("cvm_alloc", ALLOC_SIG), ("cvm_process", PROCESS_SIG)]
    {
        let name: &'static str = name;
        let ok = match module.export(name) {
            None => return Err(ValidationError::MissingExport(name)),
            Some((ExternalKind::Func, index)) => module
                .func_types
                .get(index as usize)
                .and_then(|t| module.types.get(*t as usize))
                .is_some_and(|ty| same_sig(ty, params, results)),
            Some(_) => false,
        };
        if !ok {
            return Err(ValidationError::ExportSignature { name, expected });
        }
    }
    Ok(())
}

fn check_import(module: &str, name: &str, ty: Option<&FuncType>) -> Result<(), ValidationError> {
    let forbidden = || ValidationError::ForbiddenImport {
        module: module.into(),
        name: name.into(),
    };
    if module != "cvm" {
        return Err(forbidden());
    }
    let (_, params, results, expected) = HOST_IMPORTS
        .iter()
        .find(|(n, ..)| *n == name)
        .ok_or_else(forbidden)?;
    match ty {
        Some(ty) if same_sig(ty, params, results) => Ok(()),
        _ => Err(ValidationError::ImportSignature {
            name: name.into(),
            expected,
        }),
    }
}
