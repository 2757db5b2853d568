//! What `cvm sink postgres` refuses, on a live 4-validator network and a real PostgreSQL server: a block whose
//! change proof or certificate was tampered with, or a stream that leaves a block out (nothing of it is written),
//! and bad input (unreachable node or database, bad URL, unknown dataset, another dataset set, a second sink on
//! the database, a database of another chain, a table whose columns no longer match).

use std::time::Duration;

use cvm_tests::feed_proxy::{FeedProxy, Tamper};
use cvm_tests::localnet::LocalNet;
use cvm_tests::postgres::Postgres;
use cvm_tests::sink::{assert_tables_equal_datasets, cursor, ingest_erc20, sink_once};

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn sink_refuses_tampered_blocks_and_bad_input() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    let before = ingest_erc20(&client, &net.chain_id, true, 0..100, 100);
    let tampered = ingest_erc20(&client, &net.chain_id, false, 100..200, 100);
    net.wait_height(0, tampered + 1, WAIT);
    let pg = Postgres::start();
    let genesis = net.genesis_path();
    let genesis = genesis.to_str().unwrap();
    let node = net.nodes[0].rpc_url.clone();
    let dir = net.dir.path().to_path_buf();
    let log = dir.join("sink.log");

    // A block with a changed record value, one with a certificate short of a quorum, a stream that leaves a
    // block out: each is refused naming the block and the cause, and the tables hold exactly the blocks before.
    let skipped = format!(
        "the feed sent block {} where block {tampered} comes next",
        tampered + 1
    );
    for (name, tamper, refused, cause) in [
        (
            "value",
            Tamper::Value,
            tampered,
            "it does not verify: block",
        ),
        (
            "cert",
            Tamper::Certificate,
            tampered,
            "the certificate does not verify",
        ),
        ("skip", Tamper::Skip, tampered + 1, skipped.as_str()),
    ] {
        let proxy = FeedProxy::start(&node, tampered, tamper);
        let url = pg.create_database(name);
        let (ok, out) = sink_once(
            &[
                "--url",
                &url,
                "--node",
                &proxy.url(),
                "--genesis",
                genesis,
                "--batch-blocks",
                "1",
            ],
            &log,
        );
        assert!(!ok, "{out}");
        assert!(
            out.contains(&format!("refused block {refused}")) && out.contains(cause),
            "{out}"
        );
        let mut db = pg.client(name);
        assert_eq!(cursor(&mut db), tampered - 1);
        assert_eq!(assert_tables_equal_datasets(&mut db, &client), tampered - 1);
        let tampered_rows: i64 = db
            .query_one(
                "SELECT count(*) FROM erc20_transfers__transfers WHERE height >= $1",
                &[&(tampered as i64)],
            )
            .unwrap()
            .get(0);
        assert_eq!(tampered_rows, 0);
        assert!(before < tampered);
    }

    // Bad input names the cause.
    let url = pg.create_database("bad");
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = sink_once(&args, &log);
        assert!(!ok, "{args:?} succeeded: {out}");
        out
    };
    let with = |url: &str, node: &str, extra: &[&str]| -> Vec<String> {
        ["--url", url, "--node", node, "--genesis", genesis]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let refusals: [(Vec<String>, &str); 7] = [
        (
            with(&url, "http://127.0.0.1:1", &[]),
            "cannot reach the node",
        ),
        (
            with("postgres://nobody@127.0.0.1:1/none", &node, &[]),
            "cannot connect to PostgreSQL",
        ),
        (
            with("not a url", &node, &[]),
            "the PostgreSQL URL is not valid",
        ),
        (
            with(&url, &node, &["--datasets", "erc20-transfers/nope"]),
            "unknown dataset \"erc20-transfers/nope\"",
        ),
        (
            with(&url, &node, &["--datasets", "nobody/transfers"]),
            "unknown dataset \"nobody/transfers\"",
        ),
        (
            with(&url, &node, &["--datasets", "transfers"]),
            "is not written as <manuscript>/<dataset>",
        ),
        (
            [
                "--url",
                &url,
                "--node",
                &node,
                "--genesis",
                "/nonexistent/genesis.json",
            ]
            .map(String::from)
            .to_vec(),
            "reading the genesis file /nonexistent/genesis.json",
        ),
    ];
    for (args, expected) in &refusals {
        let out = run(args);
        assert!(out.contains(expected), "{args:?}: {out}");
    }

    // A database that follows one dataset set refuses another; a table whose columns changed is refused.
    let until = before.to_string();
    let one = ["--datasets", "erc20-transfers/transfers", "--until", &until];
    let (ok, out) = sink_once(
        &with(&url, &node, &one)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &log,
    );
    assert!(ok, "{out}");
    let out = run(&with(&url, &node, &["--until", &until]));
    assert!(
        out.contains("the database follows datasets [erc20-transfers/transfers]"),
        "{out}"
    );
    // One sink per database.
    let follower = cvm_tests::sink::SinkProc::start(
        &with(&url, &node, &["--datasets", "erc20-transfers/transfers"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &dir.join("follower.log"),
    );
    cvm_tests::sink::wait_until(WAIT, "the first sink running", || {
        follower.output().contains("resuming after height")
    });
    let out = run(&with(&url, &node, &one));
    assert!(
        out.contains("another cvm sink is writing this database"),
        "{out}"
    );
    drop(follower);

    // A database of another chain.
    let mut db = pg.client("bad");
    db.batch_execute("UPDATE cvm_sink_cursor SET chain_id = 'other-chain'")
        .unwrap();
    let out = run(&with(&url, &node, &one));
    assert!(
        out.contains("the database already holds chain \"other-chain\""),
        "{out}"
    );
    db.batch_execute("UPDATE cvm_sink_cursor SET chain_id = 'cvm-it'")
        .unwrap();

    // A table whose columns no longer match the types.
    db.batch_execute("ALTER TABLE erc20_transfers__transfers DROP COLUMN \"to\"")
        .unwrap();
    let out = run(&with(&url, &node, &one));
    assert!(
        out.contains("table erc20_transfers__transfers has columns")
            && out.contains("drop the table"),
        "{out}"
    );
}
