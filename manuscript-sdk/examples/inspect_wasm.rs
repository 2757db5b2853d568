//! Prints what a manuscript module exposes and checks it against ABI.md.
//! `cargo run -p manuscript-sdk --example inspect_wasm -- FILE.wasm|FILE.wat ...`; exits 1 on a
//! violation.

#[path = "../tests/support/conformance.rs"]
mod conformance;

fn main() {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let wasm = match wat::parse_file(&path) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
                continue;
            }
        };
        match conformance::check(&wasm) {
            Ok((s, manifest)) => {
                println!("{path}: OK ({} bytes)", wasm.len());
                println!("  manifest: {manifest:?}");
                println!("  exports:  {:?}", s.exports);
                println!("  imports:  {:?}", s.imports);
                println!("  memory:   {:?} (initial, maximum) pages", s.memories);
                println!("  custom sections: {:?}", s.custom_sections);
            }
            Err(e) => {
                eprintln!("{path}: VIOLATION: {e}");
                if let Ok(s) = conformance::summarize(&wasm) {
                    eprintln!("  {s:?}");
                }
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
