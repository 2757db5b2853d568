//! `#[manuscript]`: generated manifest, entry-point status codes, error conversion.

use manuscript_sdk::manifest::{ABI_VERSION, Manifest};
use manuscript_sdk::prelude::*;
use manuscript_sdk::status;
use manuscript_sdk::testing::{MockHost, Outcome};

mod counter {
    use super::*;

    #[derive(Debug)]
    pub struct Odd(pub u8);

    impl From<Odd> for Error {
        fn from(o: Odd) -> Error {
            Error::msg(format_args!("odd value {}", o.0))
        }
    }

    /// Counts KV records per key; rejects odd first value bytes with a custom error type.
    #[manuscript(
        name = "test-counter",
        sources("kv", "kv.backup"),
        datasets("counts", "seen")
    )]
    pub fn count(ctx: &mut Context, record: KvRecord) -> Result<(), Odd> {
        if let Some(&b) = record.value.first()
            && b % 2 == 1
        {
            return Err(Odd(b));
        }
        let n = ctx
            .get::<_, u64>(&record.key)
            .unwrap_or_default()
            .unwrap_or_default()
            + 1;
        ctx.set(&record.key, &n);
        ctx.emit("counts", &record.key, &n);
        ctx.emit("seen", &ctx.source().to_owned(), &());
        Ok(())
    }
}

use counter::MANUSCRIPT;

#[test]
fn manifest_is_generated_and_valid() {
    let expected = Manifest {
        abi_version: ABI_VERSION,
        name: "test-counter".into(),
        sources: vec!["kv".into(), "kv.backup".into()],
        datasets: vec!["counts".into(), "seen".into()],
        append_only: Vec::new(),
    };
    assert_eq!(MANUSCRIPT.manifest(), expected);
    assert_eq!(MANUSCRIPT.manifest_bytes(), &expected.encode()[..]);
}

mod appender {
    use super::*;

    /// Appends every record to an append-only log.
    #[manuscript(
        name = "appender",
        sources("kv"),
        datasets("log", "last"),
        append_only("log")
    )]
    pub fn append(ctx: &mut Context, record: KvRecord) -> Result<(), Error> {
        ctx.emit("log", &record.key, &record.value);
        if record.value == b"twice" {
            ctx.emit("log", &record.key, &record.value);
        }
        Ok(())
    }
}

#[test]
fn append_only_datasets_are_in_the_generated_manifest() {
    let manifest = appender::MANUSCRIPT.manifest();
    assert_eq!(manifest.append_only, ["log"]);
    assert!(manifest.is_append_only("log") && !manifest.is_append_only("last"));
    assert_eq!(
        appender::MANUSCRIPT.manifest_bytes(),
        &manifest.encode()[..]
    );
}

#[test]
fn a_key_is_appended_once_per_block_as_in_the_cvm() {
    // `emit` takes the key's SCALE encoding (a byte vector: its length, then the bytes).
    let repeats = |key: &str| {
        Outcome::Trapped(format!(
            "emit into append-only dataset \"log\" repeats key 0x{} of this block: an append-only record is \
             written once (use a key of its own per record, or declare the dataset keyed)",
            hex(&key.as_bytes().to_vec().encode())
        ))
    };
    let mut host = MockHost::new().with_block(1, 0);
    let run = |host: &mut MockHost, key: &str, value: &[u8]| {
        host.process(&appender::MANUSCRIPT, &KvRecord::new(key, value))
    };
    assert_eq!(run(&mut host, "a", b"1"), Outcome::Success);
    assert_eq!(
        run(&mut host, "a", b"2"),
        repeats("a"),
        "kept earlier in the block"
    );
    assert_eq!(
        run(&mut host, "b", b"twice"),
        repeats("b"),
        "twice in one invocation"
    );
    assert_eq!(
        run(&mut host, "b", b"1"),
        Outcome::Success,
        "the failed one kept nothing"
    );
    host.set_block(2, 0);
    assert_eq!(run(&mut host, "a", b"3"), Outcome::Success, "a new block");
    let log: Vec<(Vec<u8>, Vec<u8>)> = host
        .emitted_to("log")
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    let record = |k: &[u8], v: &[u8]| (k.to_vec().encode(), v.to_vec().encode());
    assert_eq!(
        log,
        [record(b"a", b"1"), record(b"b", b"1"), record(b"a", b"3")]
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn processes_records_and_maps_statuses() {
    let mut host = MockHost::new();
    assert_eq!(
        host.process(&MANUSCRIPT, &KvRecord::new("a", [2])),
        Outcome::Success
    );
    assert_eq!(
        host.process(&MANUSCRIPT, &KvRecord::new("a", [])),
        Outcome::Success
    );
    assert_eq!(
        host.process(&MANUSCRIPT, &KvRecord::new("a", [3])),
        Outcome::Error("odd value 3".into())
    );
    assert_eq!(
        host.process_raw(&MANUSCRIPT, "kv.backup", &KvRecord::new("b", "").encode()),
        Outcome::Success
    );
    assert_eq!(host.get::<_, u64>(&b"a".to_vec()), Some(2));
    assert_eq!(
        host.dataset_as::<Vec<u8>, u64>("counts"),
        vec![(b"a".to_vec(), 2), (b"b".to_vec(), 1)]
    );
    assert_eq!(
        host.dataset_as::<String, ()>("seen")
            .into_iter()
            .map(|(s, ())| s)
            .collect::<Vec<_>>(),
        vec!["kv", "kv.backup"]
    );
    // Garbage and trailing bytes are decode failures.
    assert_eq!(
        host.process_raw(&MANUSCRIPT, "kv", &[0xff]),
        Outcome::DecodeFailed
    );
    let mut trailing = KvRecord::new("a", "").encode();
    trailing.push(0);
    assert_eq!(
        host.process_raw(&MANUSCRIPT, "kv", &trailing),
        Outcome::DecodeFailed
    );
    assert!(
        host.logs()
            .last()
            .unwrap()
            .message
            .starts_with("record decode failed")
    );
    assert_eq!(host.get::<_, u64>(&b"a".to_vec()), Some(2));
}

#[test]
fn invoke_returns_abi_status_codes() {
    let mut host = MockHost::new();
    let mut statuses = vec![];
    host.call(|_| {
        statuses.push(MANUSCRIPT.invoke("kv", &KvRecord::new("x", [0]).encode()));
        statuses.push(MANUSCRIPT.invoke("kv", &[1, 2, 3]));
        statuses.push(MANUSCRIPT.invoke("kv", &KvRecord::new("x", [1]).encode()));
        Ok(())
    })
    .expect_success();
    assert_eq!(
        statuses,
        vec![status::OK, status::DECODE_FAILED, status::ERROR]
    );
}

#[test]
#[should_panic(expected = "does not subscribe")]
fn unsubscribed_source_is_rejected() {
    MockHost::new().process_raw(&MANUSCRIPT, "ethereum.logs", &[]);
}

#[test]
fn undeclared_dataset_traps() {
    #[manuscript(name = "sneaky", sources("kv"), datasets("declared"))]
    fn sneaky(ctx: &mut Context, _r: KvRecord) -> Result<(), Error> {
        ctx.emit("undeclared", &0u8, &0u8);
        Ok(())
    }
    let mut host = MockHost::new();
    let outcome = host.process(&MANUSCRIPT, &KvRecord::default());
    assert!(
        matches!(&outcome, Outcome::Trapped(m) if m.contains("\"undeclared\" is not declared")),
        "{outcome:?}"
    );
}
