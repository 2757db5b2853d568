//! The hand-written `examples/wat-counter/counter.wat` (no SDK) parses, validates with the wasm
//! features of ABI.md, conforms to the ABI statically and carries the expected manifest.
//! (Running it is the runtime's test: this crate cannot depend on wasmtime.)

mod support;

use manuscript_sdk::manifest::Manifest;
use support::conformance;

const COUNTER_WAT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/wat-counter/counter.wat"
);

#[test]
fn wat_counter_conforms_to_the_abi() {
    let wasm = wat::parse_file(COUNTER_WAT).expect("counter.wat parses");
    wasmparser::Validator::new()
        .validate_all(&wasm)
        .expect("counter.wat validates");
    let (summary, manifest) = conformance::check(&wasm).expect("counter.wat conforms");
    assert_eq!(manifest, Manifest::new("wat-counter", ["kv"], ["counts"]));
    assert!(summary.imports.iter().all(|(m, _)| m == "cvm"));
    assert_eq!(summary.imports.len(), 3);
}

#[test]
fn conformance_check_rejects_violations() {
    let ok = r#"(module (memory (export "memory") 1)
        (func (export "cvm_alloc") (param i32) (result i32) i32.const 8)
        (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) i32.const 0)
        (@custom "cvm_manifest" "\01\00\00\00\04a\04\08kv\00"))"#;
    assert!(conformance::check(&wat::parse_str(ok).unwrap()).is_ok());
    let cases = [
        (
            ok.replace("\"cvm_alloc\"", "\"alloc\""),
            "missing func export `cvm_alloc`",
        ),
        (
            ok.replace("(memory", "(import \"env\" \"f\" (func)) (memory"),
            "outside module `cvm`",
        ),
        (ok.replace("\\01\\00", "\\02\\00"), "ABI version 2"),
        (
            ok.replace("(@custom \"cvm_manifest\"", "(@custom \"other\""),
            "0 `cvm_manifest` sections",
        ),
    ];
    for (wat, expected) in cases {
        let err = conformance::check(&wat::parse_str(&wat).unwrap()).unwrap_err();
        assert!(err.contains(expected), "{err}");
    }
}
