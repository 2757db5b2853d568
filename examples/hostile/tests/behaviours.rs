//! The behaviours that can run natively, under the mock host. (`loop`, `memory` and
//! `recursion` need the CVM's fuel, memory and stack limits: the runtime tests them.)

use hostile::*;
use manuscript_sdk::prelude::*;
use manuscript_sdk::testing::{MockHost, Outcome};

fn run(host: &mut MockHost, key: &str) -> Outcome {
    host.process(&MANUSCRIPT, &KvRecord::new(key, "v"))
}

#[test]
fn ok_is_a_working_control() {
    let mut host = MockHost::new();
    assert_eq!(run(&mut host, "ok"), Outcome::Success);
    assert_eq!(run(&mut host, "ok"), Outcome::Success);
    assert_eq!(host.get::<_, u64>(COUNT_KEY), Some(2));
    assert_eq!(
        host.dataset_as::<Vec<u8>, u64>("out"),
        vec![(b"v".to_vec(), 2)]
    );
}

#[test]
fn error_and_panic_fail_without_writes() {
    let mut host = MockHost::new();
    assert_eq!(
        run(&mut host, "error"),
        Outcome::Error(ERROR_MESSAGE.into())
    );
    assert_eq!(
        run(&mut host, "panic"),
        Outcome::Trapped(format!("panicked: {PANIC_MESSAGE}"))
    );
    assert!(
        matches!(run(&mut host, "nonsense"), Outcome::Error(m) if m.starts_with("unknown behaviour"))
    );
    assert!(host.state().is_empty() && host.emitted().is_empty());
}

#[test]
fn emit_limits_trap() {
    let mut host = MockHost::new();
    assert!(
        matches!(run(&mut host, "huge-emit"), Outcome::Trapped(m) if m.contains("value length 70000"))
    );
    assert!(
        matches!(run(&mut host, "emit-storm"), Outcome::Trapped(m) if m.contains("1024 records"))
    );
    assert!(host.emitted().is_empty());
}

#[test]
fn huge_state_runs_out_of_host_fuel() {
    let mut host = MockHost::new().with_fuel_limit(50_000_000);
    assert_eq!(
        run(&mut host, "huge-state"),
        Outcome::Trapped("out of fuel".into())
    );
    assert!(host.state().is_empty());
    assert_eq!(host.last_fuel_used(), 50_000_000);
}

#[test]
fn manifest() {
    let m = MANUSCRIPT.manifest();
    assert_eq!(
        (m.name.as_str(), m.sources, m.datasets),
        ("hostile", vec!["hostile".into()], vec!["out".into()])
    );
}
