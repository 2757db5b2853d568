//! Every deploy-time rejection has a named reason.

use cvm_runtime::limits::Limits;
use cvm_runtime::validate::{ValidationError, validate};
use manuscript_sdk::manifest::Manifest;

fn manifest_bytes(m: &Manifest) -> String {
    m.to_section()
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect()
}

fn good_manifest() -> String {
    manifest_bytes(&Manifest::new("probe", ["kv"], ["out"]))
}

/// A minimal valid manuscript, with pieces replaceable by tests.
fn module(
    imports: &str,
    memories: &str,
    exports: &str,
    extra: &str,
    manifest: Option<&str>,
) -> Vec<u8> {
    let manifest = manifest
        .map(|m| format!("(@custom \"cvm_manifest\" \"{m}\")"))
        .unwrap_or_default();
    let text = format!(
        r#"(module
            {manifest}
            {imports}
            {memories}
            (func $alloc (param i32) (result i32) i32.const 1024)
            (func $process (param i32 i32 i32 i32) (result i32) i32.const 0)
            {exports}
            {extra})"#
    );
    wat::parse_str(text).expect("test module is valid WAT")
}

const MEM: &str = "(memory (export \"memory\") 1)";
const EXPORTS: &str =
    "(export \"cvm_alloc\" (func $alloc)) (export \"cvm_process\" (func $process))";

fn check(wasm: &[u8]) -> Result<cvm_runtime::ValidatedCode, ValidationError> {
    validate(wasm, &Limits::default())
}

#[test]
fn minimal_module_is_accepted_and_manifest_read() {
    let v = check(&module("", MEM, EXPORTS, "", Some(&good_manifest()))).expect("valid");
    assert_eq!(v.manifest.name, "probe");
    assert_eq!(v.manifest.sources, ["kv"]);
}

#[test]
fn garbage_is_invalid_wasm() {
    assert!(matches!(
        check(b"not wasm at all"),
        Err(ValidationError::InvalidWasm(_))
    ));
}

#[test]
fn code_above_size_cap() {
    let limits = Limits {
        max_code_size: 64,
        ..Limits::default()
    };
    let wasm = module("", MEM, EXPORTS, "", Some(&good_manifest()));
    assert!(matches!(
        validate(&wasm, &limits),
        Err(ValidationError::CodeTooLarge { max: 64, .. })
    ));
}

#[test]
fn import_outside_cvm_is_forbidden() {
    let imports = r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#;
    let err = check(&module(imports, MEM, EXPORTS, "", Some(&good_manifest()))).unwrap_err();
    assert_eq!(
        err,
        ValidationError::ForbiddenImport {
            module: "wasi_snapshot_preview1".into(),
            name: "fd_write".into()
        }
    );
}

#[test]
fn unknown_cvm_function_is_forbidden() {
    let imports = r#"(import "cvm" "random" (func (result i64)))"#;
    let err = check(&module(imports, MEM, EXPORTS, "", Some(&good_manifest()))).unwrap_err();
    assert!(matches!(err, ValidationError::ForbiddenImport { name, .. } if name == "random"));
}

#[test]
fn cvm_import_with_wrong_signature() {
    let imports = r#"(import "cvm" "state_get" (func (param i32) (result i32)))"#;
    let err = check(&module(imports, MEM, EXPORTS, "", Some(&good_manifest()))).unwrap_err();
    assert!(matches!(err, ValidationError::ImportSignature { name, .. } if name == "state_get"));
}

#[test]
fn imported_memory_is_rejected() {
    let imports = r#"(import "cvm" "memory" (memory 1))"#;
    let err = check(&module(
        imports,
        "",
        EXPORTS.to_owned().as_str(),
        "(export \"memory\" (memory 0))",
        Some(&good_manifest()),
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            ValidationError::NonFunctionImport { kind: "memory", .. }
        ),
        "{err:?}"
    );
}

#[test]
fn missing_exports() {
    let manifest = good_manifest();
    let no_memory = module("", "(memory 1)", EXPORTS, "", Some(&manifest));
    assert_eq!(
        check(&no_memory).unwrap_err(),
        ValidationError::MissingExport("memory")
    );
    let no_alloc = module(
        "",
        MEM,
        "(export \"cvm_process\" (func $process))",
        "",
        Some(&manifest),
    );
    assert_eq!(
        check(&no_alloc).unwrap_err(),
        ValidationError::MissingExport("cvm_alloc")
    );
    let no_process = module(
        "",
        MEM,
        "(export \"cvm_alloc\" (func $alloc))",
        "",
        Some(&manifest),
    );
    assert_eq!(
        check(&no_process).unwrap_err(),
        ValidationError::MissingExport("cvm_process")
    );
}

#[test]
fn export_with_wrong_signature() {
    let exports = "(export \"cvm_alloc\" (func $process)) (export \"cvm_process\" (func $process))";
    let err = check(&module("", MEM, exports, "", Some(&good_manifest()))).unwrap_err();
    assert!(matches!(
        err,
        ValidationError::ExportSignature {
            name: "cvm_alloc",
            ..
        }
    ));
}

#[test]
fn more_than_one_memory() {
    let memories = "(memory (export \"memory\") 1) (memory 1)";
    let err = check(&module("", memories, EXPORTS, "", Some(&good_manifest()))).unwrap_err();
    assert_eq!(err, ValidationError::MultipleMemories(2));
}

#[test]
fn initial_memory_above_cap() {
    let memories = "(memory (export \"memory\") 300)";
    let err = check(&module("", memories, EXPORTS, "", Some(&good_manifest()))).unwrap_err();
    assert_eq!(
        err,
        ValidationError::InitialMemoryTooLarge {
            pages: 300,
            max: 256
        }
    );
}

#[test]
fn start_function_is_rejected() {
    let err = check(&module(
        "",
        MEM,
        EXPORTS,
        "(func $s) (start $s)",
        Some(&good_manifest()),
    ))
    .unwrap_err();
    assert_eq!(err, ValidationError::StartFunction);
}

#[test]
fn missing_manifest() {
    assert_eq!(
        check(&module("", MEM, EXPORTS, "", None)).unwrap_err(),
        ValidationError::MissingManifest
    );
}

#[test]
fn duplicate_manifest() {
    let m = good_manifest();
    let extra = format!("(@custom \"cvm_manifest\" \"{m}\")");
    let err = check(&module("", MEM, EXPORTS, &extra, Some(&m))).unwrap_err();
    assert_eq!(err, ValidationError::DuplicateManifest);
}

#[test]
fn malformed_manifest() {
    let err = check(&module("", MEM, EXPORTS, "", Some("\\01\\02"))).unwrap_err();
    assert!(
        matches!(err, ValidationError::MalformedManifest(_)),
        "{err:?}"
    );
    let bad_name = manifest_bytes(&Manifest {
        name: "Bad Name".into(),
        ..Manifest::new("x", ["kv"], ["out"])
    });
    let err = check(&module("", MEM, EXPORTS, "", Some(&bad_name))).unwrap_err();
    assert!(
        matches!(err, ValidationError::MalformedManifest(_)),
        "{err:?}"
    );
}

#[test]
fn append_only_names_must_be_declared_datasets() {
    let ok = manifest_bytes(&Manifest::new("x", ["kv"], ["out", "log"]).with_append_only(["log"]));
    let v = check(&module("", MEM, EXPORTS, "", Some(&ok))).expect("valid");
    assert_eq!(v.manifest.append_only, ["log"]);
    let stray = manifest_bytes(&Manifest::new("x", ["kv"], ["out"]).with_append_only(["log"]));
    let err = check(&module("", MEM, EXPORTS, "", Some(&stray))).unwrap_err();
    assert_eq!(
        err,
        ValidationError::MalformedManifest(
            "append-only dataset \"log\" is not one of the manifest's datasets: declare it in datasets too"
                .into()
        )
    );
    let twice =
        manifest_bytes(&Manifest::new("x", ["kv"], ["out"]).with_append_only(["out", "out"]));
    let err = check(&module("", MEM, EXPORTS, "", Some(&twice))).unwrap_err();
    assert!(
        matches!(err, ValidationError::MalformedManifest(_)),
        "{err:?}"
    );
}

#[test]
fn unsupported_abi_version() {
    let v2 = manifest_bytes(&Manifest {
        abi_version: 2,
        ..Manifest::new("x", ["kv"], ["out"])
    });
    let err = check(&module("", MEM, EXPORTS, "", Some(&v2))).unwrap_err();
    assert_eq!(
        err,
        ValidationError::UnsupportedAbiVersion {
            found: 2,
            supported: 1
        }
    );
}

#[test]
fn disabled_features_are_invalid() {
    // Threads (shared memory and atomics) are off: non-deterministic.
    let memories = "(memory (export \"memory\") 1 1 shared)";
    let err = check(&module("", memories, EXPORTS, "", Some(&good_manifest()))).unwrap_err();
    assert!(matches!(err, ValidationError::InvalidWasm(_)), "{err:?}");
}

#[test]
fn sdk_built_fixtures_validate_and_forbidden_import_is_named() {
    for (name, wasm) in manuscript_fixtures::all() {
        let result = check(wasm);
        if name == "hostile-import" {
            assert!(
                matches!(&result, Err(ValidationError::ForbiddenImport { module, .. }) if module == "wasi_snapshot_preview1"),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
    let wat = wat::parse_str(manuscript_fixtures::WAT_COUNTER).expect("counter.wat parses");
    assert_eq!(
        check(&wat).expect("wat-counter validates").manifest.name,
        "wat-counter"
    );
}

#[test]
fn a_data_segment_outside_initial_memory_is_rejected_at_deploy() {
    let with_data = |offset: u32| {
        let extra = format!(r#"(data (i32.const {offset}) "0123456789")"#);
        check(&module("", MEM, EXPORTS, &extra, Some(&good_manifest())))
    };
    // The last ten bytes of the one-page memory: fits exactly.
    assert!(with_data(65_526).is_ok());
    assert_eq!(
        with_data(65_530).unwrap_err(),
        ValidationError::DataSegmentOutOfBounds {
            index: 0,
            offset: 65_530,
            end: 65_540,
            memory_bytes: 65_536,
        }
    );
    // A negative offset is a huge unsigned one.
    assert!(matches!(
        with_data(u32::MAX),
        Err(ValidationError::DataSegmentOutOfBounds { .. })
    ));
}

#[test]
fn an_element_segment_outside_initial_table_is_rejected_at_deploy() {
    let with_elem = |table: u32, offset: u32| {
        let extra = format!("(table {table} funcref) (elem (i32.const {offset}) $alloc $process)");
        check(&module("", MEM, EXPORTS, &extra, Some(&good_manifest())))
    };
    assert!(with_elem(2, 0).is_ok());
    assert_eq!(
        with_elem(2, 1).unwrap_err(),
        ValidationError::ElementSegmentOutOfBounds {
            index: 0,
            offset: 1,
            end: 3,
            table_elements: 2,
        }
    );
    assert!(matches!(
        with_elem(0, 0),
        Err(ValidationError::ElementSegmentOutOfBounds { .. })
    ));
}

#[test]
fn tables_beyond_the_instance_pool_are_rejected_at_deploy() {
    let max = Limits::default().max_table_elements;
    let big = format!("(table {} funcref)", max + 1);
    assert!(matches!(
        check(&module("", MEM, EXPORTS, &big, Some(&good_manifest()))),
        Err(ValidationError::InitialTableTooLarge { .. })
    ));
    let two = "(table 1 funcref) (table 1 funcref)";
    assert_eq!(
        check(&module("", MEM, EXPORTS, two, Some(&good_manifest()))).unwrap_err(),
        ValidationError::MultipleTables(2)
    );
}

#[test]
fn a_manifest_with_too_many_datasets_is_rejected() {
    let limits = Limits::default();
    let datasets: Vec<String> = (0..=limits.max_datasets_per_manuscript)
        .map(|i| format!("d{i}"))
        .collect();
    let manifest = manifest_bytes(&Manifest::new("probe", ["kv"], &datasets));
    assert_eq!(
        check(&module("", MEM, EXPORTS, "", Some(&manifest))).unwrap_err(),
        ValidationError::TooManyDatasets {
            count: datasets.len(),
            max: limits.max_datasets_per_manuscript,
        }
    );
    let sources: Vec<String> = (0..=limits.max_sources_per_manuscript)
        .map(|i| format!("s{i}"))
        .collect();
    let manifest = manifest_bytes(&Manifest::new("probe", &sources, ["out"]));
    assert!(matches!(
        check(&module("", MEM, EXPORTS, "", Some(&manifest))),
        Err(ValidationError::TooManySources { count, .. }) if count == sources.len()
    ));
    // At the bound, accepted.
    let manifest = manifest_bytes(&Manifest::new("probe", ["kv"], &datasets[1..]));
    assert!(check(&module("", MEM, EXPORTS, "", Some(&manifest))).is_ok());
}

#[test]
fn a_manifest_name_above_its_limit_is_rejected_before_the_naming_rules() {
    let limits = Limits {
        max_manifest_name_len: 8,
        ..Limits::default()
    };
    let manifest = manifest_bytes(&Manifest::new("probe-too-long", ["kv"], ["out"]));
    assert!(matches!(
        validate(&module("", MEM, EXPORTS, "", Some(&manifest)), &limits),
        Err(ValidationError::ManifestNameTooLong {
            what: "manuscript name",
            len: 14,
            max: 8,
            ..
        })
    ));
}

fn types_section(bytes: &[u8]) -> String {
    let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    format!("(@custom \"cvm_types\" \"{escaped}\")")
}

fn with_types(sections: &str) -> Result<(), ValidationError> {
    check(&module("", MEM, EXPORTS, sections, Some(&good_manifest()))).map(|_| ())
}

#[test]
fn dataset_types_section_is_optional_and_checked() {
    use manuscript_sdk::types::DatasetTypes;
    let good = DatasetTypes::builder()
        .dataset::<[u8; 4], (u64, String)>("out")
        .build()
        .to_section();
    assert_eq!(with_types(&types_section(&good)), Ok(()));

    let reason = |result: Result<(), ValidationError>| match result {
        Err(ValidationError::MalformedTypes(reason)) => reason,
        other => panic!("expected MalformedTypes, got {other:?}"),
    };
    let undecodable = reason(with_types(&types_section(&[1, 2, 3])));
    assert!(
        undecodable.contains("cvm_types") && undecodable.contains("does not decode"),
        "{undecodable}"
    );
    let oversized = reason(with_types(&types_section(&vec![0; 16 * 1024 + 1])));
    assert!(oversized.contains("16385 bytes"), "{oversized}");
    let unknown = DatasetTypes::builder()
        .dataset::<u8, u8>("elsewhere")
        .build()
        .to_section();
    let unknown = reason(with_types(&types_section(&unknown)));
    assert!(
        unknown.contains("\"elsewhere\"") && unknown.contains("does not declare"),
        "{unknown}"
    );
    let twice = format!("{0}{0}", types_section(&good));
    assert!(reason(with_types(&twice)).contains("more than one `cvm_types`"));
}
