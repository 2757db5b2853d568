//! `cvm sink postgres` on a live 4-validator network with erc20-transfers deployed and records flowing, into a real
//! PostgreSQL server: the tables equal the datasets after a `kill -9` of the sink with a batch's rows written but
//! not committed and a restart, and after a restart of the node the sink reads from; the typed columns hold the
//! values the node shows; and the rows per second of a catch-up are measured.

use std::time::Duration;

use cvm_tests::localnet::LocalNet;
use cvm_tests::postgres::Postgres;
use cvm_tests::sink::{
    SinkProc, assert_tables_equal_datasets, cursor, dataset_at, ingest_erc20, sink_once, wait_until,
};

const WAIT: Duration = Duration::from_secs(120);

/// Whether the sink's session has a transaction that wrote rows (it holds a transaction id).
fn sink_wrote_uncommitted(db: &mut postgres::Client) -> bool {
    db.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cvm-sink' AND backend_xid IS NOT NULL",
        &[],
    )
    .map(|row| row.get::<_, i64>(0) > 0)
    .unwrap_or(false)
}

fn sink_session_open(db: &mut postgres::Client) -> bool {
    db.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cvm-sink'",
        &[],
    )
    .map(|row| row.get::<_, i64>(0) > 0)
    .unwrap_or(true)
}

#[test]
fn sink_tables_equal_datasets_after_a_kill_and_a_node_restart() {
    // Blocks without work every 300 ms, so that rows, not empty blocks, make most of the catch-up's work.
    let mut net = LocalNet::with_idle_interval(4, 0, 300);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    let first = ingest_erc20(&client, &net.chain_id, true, 0..200, 100);
    let last = ingest_erc20(&client, &net.chain_id, false, 200..3000, 100);
    net.wait_all(last, WAIT);
    let pg = Postgres::start();
    let url = pg.create_database("sink");
    let mut db = pg.client("sink");
    let genesis = net.genesis_path();
    let genesis = genesis.to_str().unwrap();
    let node = net.nodes[1].rpc_url.clone();
    let dir = net.dir.path().to_path_buf();
    let base = ["--url", &url, "--node", &node, "--genesis", genesis];

    // A first run writes up to the first ingest and stops there.
    let until = first.to_string();
    let (ok, out) = sink_once(
        &[&base[..], &["--until", &until]].concat(),
        &dir.join("sink0.log"),
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("stopped after height {first}")),
        "{out}"
    );
    assert_eq!(assert_tables_equal_datasets(&mut db, &client), first);

    // The next run holds the whole catch-up in one transaction, writing rows as each block comes: killed once
    // it has written some, nothing of them shows and the cursor stays.
    let one_batch = [
        "--batch-blocks",
        "1000000",
        "--batch-rows",
        "100000000",
        "--flush-rows",
        "1",
    ];
    let mut sink = SinkProc::start(&[&base[..], &one_batch].concat(), &dir.join("sink1.log"));
    wait_until(WAIT, "the sink writing rows it has not committed", || {
        sink_wrote_uncommitted(&mut db)
    });
    sink.kill();
    wait_until(WAIT, "the server ending the killed sink's session", || {
        !sink_session_open(&mut db)
    });
    assert_eq!(
        cursor(&mut db),
        first,
        "the kill came after the batch committed: {}",
        sink.output()
    );
    assert_eq!(assert_tables_equal_datasets(&mut db, &client), first);

    // Restarted, it resumes after its cursor, catches up in batches and follows live.
    let sink = SinkProc::start(
        &[&base[..], &["--batch-blocks", "7", "--flush-rows", "50"]].concat(),
        &dir.join("sink2.log"),
    );
    wait_until(WAIT, "the sink catching up", || {
        cursor(&mut db) >= last && sink.output().contains("caught up at height")
    });
    assert!(assert_tables_equal_datasets(&mut db, &client) >= last);

    // The node it reads restarts while records keep flowing through another node.
    net.stop(1);
    let more = ingest_erc20(&client, &net.chain_id, false, 3000..3600, 100);
    net.start(1);
    net.wait_height(1, more, WAIT);
    wait_until(WAIT, "the sink following the restarted node", || {
        cursor(&mut db) >= more
    });
    assert!(
        sink.output().contains("feed lost"),
        "the sink never lost its feed: {}",
        sink.output()
    );
    // The rest of the example logs at once: dense blocks for the measurement below.
    let dense = ingest_erc20(&client, &net.chain_id, false, 3600..5000, 350);
    wait_until(WAIT, "the sink following live", || cursor(&mut db) >= dense);
    let height = assert_tables_equal_datasets(&mut db, &client);
    drop(sink);

    // Typed columns hold what the node shows for every transfer.
    let page = client
        .records_page(
            "erc20-transfers",
            "transfers",
            &cvm_host::api_client::PageRequest {
                limit: Some(1000),
                height: Some(height),
                ..Default::default()
            },
        )
        .expect("a page");
    for record in &page.records {
        let row = db
            .query_one(
                "SELECT token, \"from\", \"to\", value::text, transaction_hash, height, appended_at \
                 FROM erc20_transfers__transfers WHERE record_key = $1",
                &[&record.key],
            )
            .expect("the transfer's row");
        let hex = |i: usize| format!("0x{}", hex::encode(row.get::<_, Vec<u8>>(i)));
        let shown = &record.value_json;
        assert_eq!(hex(0), shown["token"], "{shown}");
        assert_eq!(hex(1), shown["from"]);
        assert_eq!(hex(2), shown["to"]);
        assert_eq!(row.get::<_, String>(3), shown["value"].as_str().unwrap());
        assert_eq!(hex(4), shown["transaction_hash"]);
        assert!(row.get::<_, i64>(5) <= height as i64);
        let appended_at = u64::from_be_bytes(record.key[..8].try_into().unwrap());
        assert_eq!(
            row.get::<_, i64>(6),
            appended_at as i64,
            "the page key's height"
        );
        assert_eq!(
            row.get::<_, i64>(5),
            row.get::<_, i64>(6),
            "an appended row is written once"
        );
    }
    let balances = dataset_at(&client, "erc20-transfers", "balances", height);
    let typed: i64 = db
        .query_one(
            "SELECT count(*) FROM erc20_transfers__balances WHERE key_0 IS NOT NULL AND key_1 IS NOT NULL \
             AND net_flow ? 'magnitude' AND transfers > 0",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(typed as usize, balances.len());

    // Rows per second while catching up a chain that is ahead, into a fresh database with the default batches.
    let bench = pg.create_database("bench");
    let node0 = net.nodes[0].rpc_url.clone();
    let until = height.to_string();
    let (ok, out) = sink_once(
        &[
            "--url",
            &bench,
            "--node",
            &node0,
            "--genesis",
            genesis,
            "--until",
            &until,
        ],
        &dir.join("bench.log"),
    );
    assert!(ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("caught up at height"))
        .unwrap_or_else(|| panic!("no catch-up line: {out}"));
    println!("sink catch-up (4 validators, erc20-transfers, 5,000 logs): {line}");
    let mut bench = pg.client("bench");
    assert_eq!(assert_tables_equal_datasets(&mut bench, &client), height);
}
