//! Deploy-time validation: everything that can be rejected before a manuscript ever runs is rejected here,
//! each with a named reason (manuscript-sdk/ABI.md lists the contract being checked).

use manuscript_sdk::manifest::{ABI_VERSION, Manifest, ManifestError, SECTION_NAME};
use wasmparser::{
    ExternalKind, FuncType, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures,
};

use crate::limits::Limits;
use crate::state::blake2_256;

/// Why a wasm binary cannot be deployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(
        "code is {size} bytes, above the {max}-byte limit: strip debug info or build with the `manuscript` profile"
    )]
    CodeTooLarge { size: usize, max: usize },
    #[error("invalid wasm: {0}")]
    InvalidWasm(String),
    #[error(
        "import {module}::{name} is outside the CVM ABI: manuscripts may only import functions of module `cvm`"
    )]
    ForbiddenImport { module: String, name: String },
    #[error("import cvm::{name} has the wrong signature: expected {expected}")]
    ImportSignature {
        name: String,
        expected: &'static str,
    },
    #[error("imports a {kind} ({module}::{name}); only functions may be imported")]
    NonFunctionImport {
        module: String,
        name: String,
        kind: &'static str,
    },
    #[error("missing export `{0}` required by the CVM ABI")]
    MissingExport(&'static str),
    #[error("export `{name}` has the wrong type: expected {expected}")]
    ExportSignature {
        name: &'static str,
        expected: &'static str,
    },
    #[error("defines {0} memories; a manuscript has exactly one")]
    MultipleMemories(u32),
    #[error("initial memory of {pages} pages is above the cap of {max} pages")]
    InitialMemoryTooLarge { pages: u64, max: u64 },
    #[error("has a start function; manuscripts may not run code at instantiation")]
    StartFunction,
    #[error(
        "missing custom section `cvm_manifest`: build with manuscript-sdk's #[manuscript] macro or add it by hand"
    )]
    MissingManifest,
    #[error("more than one `cvm_manifest` section")]
    DuplicateManifest,
    #[error("malformed manifest: {0}")]
    MalformedManifest(String),
    #[error("built for ABI version {found}; this CVM supports version {supported}")]
    UnsupportedAbiVersion { found: u32, supported: u32 },
}

/// A binary that passed validation, with what its manifest says.
#[derive(Debug, Clone)]
pub struct ValidatedCode {
    pub code_hash: [u8; 32],
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
    if wasm.len() > limits.max_code_size as usize {
        return Err(ValidationError::CodeTooLarge {
            size: wasm.len(),
            max: limits.max_code_size as usize,
        });
    }
    // Types of all functions (imported first, then defined), to check export signatures.
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut memories = 0u32;
    let mut manifest: Option<Vec<u8>> = None;
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| ValidationError::InvalidWasm(e.to_string()))?;
        match payload {
            Payload::TypeSection(reader) => {
                for rec_group in reader {
                    let rec_group =
                        rec_group.map_err(|e| ValidationError::InvalidWasm(e.to_string()))?;
                    for sub in rec_group.into_types() {
                        match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => types.push(f),
                            _ => {
                                return Err(ValidationError::InvalidWasm(
                                    "non-function type".into(),
                                ));
                            }
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| ValidationError::InvalidWasm(e.to_string()))?;
                    let kind = match import.ty {
                        TypeRef::Func(idx) => {
                            check_import(import.module, import.name, types.get(idx as usize))?;
                            func_types.push(idx);
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
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty.map_err(|e| ValidationError::InvalidWasm(e.to_string()))?);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(|e| ValidationError::InvalidWasm(e.to_string()))?;
                    memories += 1;
                    if memory.initial > limits.max_memory_pages() {
                        return Err(ValidationError::InitialMemoryTooLarge {
                            pages: memory.initial,
                            max: limits.max_memory_pages(),
                        });
                    }
                }
            }
            Payload::StartSection { .. } => return Err(ValidationError::StartFunction),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| ValidationError::InvalidWasm(e.to_string()))?;
                    exports.push((export.name.to_string(), export.kind, export.index));
                }
            }
            Payload::CustomSection(section) if section.name() == SECTION_NAME => {
                if manifest.is_some() {
                    return Err(ValidationError::DuplicateManifest);
                }
                manifest = Some(section.data().to_vec());
            }
            _ => {}
        }
    }

    if memories > 1 {
        return Err(ValidationError::MultipleMemories(memories));
    }
    // Structure first (for the precise reasons above), then full validation with exactly the engine's features.
    Validator::new_with_features(allowed_features())
        .validate_all(wasm)
        .map_err(|e| ValidationError::InvalidWasm(e.to_string()))?;
    let export = |name: &str| {
        exports
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, k, i)| (*k, *i))
    };
    match export("memory") {
        Some((ExternalKind::Memory, _)) => {}
        Some(_) => {
            return Err(ValidationError::ExportSignature {
                name: "memory",
                expected: "memory",
            });
        }
        None => return Err(ValidationError::MissingExport("memory")),
    }
    for (name, (params, results, expected)) in
        [("cvm_alloc", ALLOC_SIG), ("cvm_process", PROCESS_SIG)]
    {
        let name: &'static str = name;
        let ok = match export(name) {
            None => return Err(ValidationError::MissingExport(name)),
            Some((ExternalKind::Func, index)) => func_types
                .get(index as usize)
                .and_then(|t| types.get(*t as usize))
                .is_some_and(|ty| same_sig(ty, params, results)),
            Some(_) => false,
        };
        if !ok {
            return Err(ValidationError::ExportSignature { name, expected });
        }
    }

    let manifest = parse_manifest(
        manifest
            .as_deref()
            .ok_or(ValidationError::MissingManifest)?,
    )?;
    Ok(ValidatedCode {
        code_hash: blake2_256(wasm),
        manifest,
    })
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

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ValidationError> {
    Manifest::decode_section(bytes).map_err(|e| match e {
        ManifestError::AbiVersion(found) => ValidationError::UnsupportedAbiVersion {
            found,
            supported: ABI_VERSION,
        },
        other => ValidationError::MalformedManifest(other.to_string()),
    })
}
