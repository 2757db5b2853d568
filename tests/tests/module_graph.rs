//! No module circles in any crate of the workspace (`./scripts/lint` runs this too): dependencies inside a crate
//! flow one way. The checker itself is tested on small crates written here.

use std::path::{Path, PathBuf};

use cvm_tests::module_graph::{ModuleGraph, describe, display};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// The `members` of the workspace manifest.
fn members(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("workspace Cargo.toml");
    let start = manifest.find("members = [").expect("a members list");
    let list = &manifest[start..];
    let list = &list[..list.find(']').expect("the members list closes")];
    list.lines()
        .filter_map(|l| {
            l.trim()
                .trim_end_matches(',')
                .strip_prefix('"')?
                .strip_suffix('"')
                .map(str::to_string)
        })
        .map(|m| root.join(m))
        .collect()
}

#[test]
fn no_crate_of_the_workspace_has_a_module_circle() {
    let root = workspace_root();
    let mut report = Vec::new();
    let mut crates = 0;
    for member in members(&root) {
        for target in ["src/lib.rs", "src/main.rs"] {
            let file = member.join(target);
            if !file.exists() {
                continue;
            }
            crates += 1;
            let graph = ModuleGraph::read(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            for circle in graph.circles() {
                report.push(format!("{}: {}", file.display(), describe(&graph, &circle)));
            }
        }
    }
    assert!(
        crates >= 5,
        "read only {crates} crates: is the members list parsed?"
    );
    assert!(
        report.is_empty(),
        "module circles (dependencies must flow one way):\n{}",
        report.join("\n")
    );
}

/// Writes `files` (path, text) under a fresh directory and reads the crate rooted at its `lib.rs`.
fn graph_of(files: &[(&str, &str)]) -> ModuleGraph {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    ModuleGraph::read(&dir.path().join("lib.rs")).unwrap()
}

fn circles_as_text(graph: &ModuleGraph) -> Vec<String> {
    graph
        .circles()
        .iter()
        .map(|c| {
            c.iter()
                .map(|e| display(&e.from))
                .collect::<Vec<_>>()
                .join(" -> ")
        })
        .collect()
}

#[test]
fn a_circle_through_three_modules_is_found() {
    let graph = graph_of(&[
        ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
        ("a.rs", "use crate::b::B; pub struct A(B);"),
        ("b.rs", "pub struct B(pub crate::c::C);"),
        (
            "c.rs",
            "pub struct C; fn f() -> Option<super::a::A> { None }",
        ),
    ]);
    assert_eq!(circles_as_text(&graph), vec!["a -> b -> c".to_string()]);
}

#[test]
fn a_parent_facade_is_no_circle_but_code_in_the_parent_is() {
    let facade = graph_of(&[
        ("lib.rs", "pub mod node;"),
        (
            "node/mod.rs",
            "mod runner; mod status; pub use runner::Runner; pub use status::Status;",
        ),
        (
            "node/runner.rs",
            "use crate::node::Status; pub struct Runner(Status);",
        ),
        ("node/status.rs", "pub struct Status;"),
    ]);
    assert!(
        facade.circles().is_empty(),
        "{:?}",
        circles_as_text(&facade)
    );

    let tangled = graph_of(&[
        ("lib.rs", "pub mod node;"),
        (
            "node/mod.rs",
            "mod runner; pub use runner::Runner; pub fn helper() {}",
        ),
        (
            "node/runner.rs",
            "pub struct Runner; fn f() { super::helper() }",
        ),
    ]);
    assert_eq!(
        circles_as_text(&tangled),
        vec!["node -> node::runner".to_string()]
    );
}

#[test]
fn test_modules_and_outside_crates_are_not_dependencies() {
    let graph = graph_of(&[
        ("lib.rs", "pub mod a; pub mod b;"),
        (
            "a.rs",
            "use std::sync::Arc; pub struct A(Arc<u8>); #[cfg(test)] mod tests { use crate::b::B; }",
        ),
        (
            "b.rs",
            "use crate::a::A; pub struct B(A); #[test] fn t() { let _ = crate::a::A; }",
        ),
    ]);
    assert!(graph.circles().is_empty(), "{:?}", circles_as_text(&graph));
}

#[test]
fn inline_modules_and_glob_imports_are_followed() {
    let graph = graph_of(&[(
        "lib.rs",
        "pub mod outer { pub mod inner { pub struct I; pub fn g() { crate::top(); } } } pub use outer::inner::*; pub fn top() { let _ = I; }",
    )]);
    assert_eq!(
        circles_as_text(&graph),
        vec!["crate -> outer::inner".to_string()]
    );
}
