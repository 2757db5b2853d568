//! A validator whose Ethereum endpoint lies consistently (real `cvm` processes, a live hardhat node). Its endpoint
//! serves a forged chain from a chosen block on: each block with logs has one log's data changed and its
//! receipts root and hash recomputed, and every later block names the forged parent, so every block verifies and
//! links; only the hashes differ from the real chain's. Four validators pull hardhat while token traffic is
//! driven, node 3 through the forging proxy:
//! - not proposing, node 3 refuses the real block (prevotes nil), the others commit it, and node 3 takes its data
//!   by sync;
//! - as the round-0 proposer of a height with source work, node 3 proposes its forged block and is refused; the
//!   next round's proposer's block, with the real hashes, is final;
//! - every source commitment ever committed names the real block, the datasets on every node, node 3's
//!   included, equal what the contracts hold, and node 3 reports the conflict.

use std::time::Duration;

use cvm_consensus::{ChainId, Ed25519Verifier, Round, VoteKind};
use cvm_host::chain::{BlockBody, Genesis, SourceCommitment};
use cvm_host::hex_text::to_hex;
use cvm_host::node::wire::ConsensusMessage;
use cvm_tests::checks::stop_and_check;
use cvm_tests::hardhat::{Address, HardhatNode};
use cvm_tests::localnet::LocalNet;
use cvm_tests::rpc_proxy::forge::ForgedBlock;
use cvm_tests::rpc_proxy::{ProxyMode, RpcProxy};
use cvm_tests::sources::ethereum::{
    SOURCE, assert_datasets_match_contracts, hardhat_from_block_one, register_and_deploy,
    rpc_endpoint, source_head, wait_source_head,
};
use ed25519_dalek::VerifyingKey;
use primitive_types::U256;

/// The validator whose endpoint forges.
const LIAR: usize = 3;
const VALIDATORS: usize = 4;
/// Generous: two shared cores, four nodes, hardhat and the test.
const WAIT: Duration = Duration::from_secs(90);
/// Tries at hitting a height whose round-0 proposer is the wanted one; a try misses only when the chain moves
/// on its own (an idle block) between reading its height and mining.
const TRIES: usize = 6;

/// What the test knows of the chain's validators.
struct Validators {
    genesis: Genesis,
    chain_id: ChainId,
    /// Public keys by node index.
    keys: Vec<[u8; 32]>,
}

impl Validators {
    fn load(net: &LocalNet) -> Self {
        let genesis = Genesis::load(&net.genesis_path()).expect("genesis");
        let ids = genesis.validator_ids().expect("validators");
        let keys = (0..VALIDATORS)
            .map(|i| {
                let name = &net.nodes[i].name;
                ids.iter()
                    .find(|(id, _)| genesis.validator_name(id) == Some(name.as_str()))
                    .unwrap_or_else(|| panic!("{name} is not a genesis validator"))
                    .0
                    .0
            })
            .collect();
        Self {
            chain_id: ChainId::new(genesis.chain_id.clone()),
            genesis,
            keys,
        }
    }

    /// The key of the round-0 proposer of `height` (this chain's set never changes: the genesis priorities
    /// advance once a height).
    fn round_zero_proposer(&self, height: u64) -> [u8; 32] {
        let mut set = self.genesis.validator_set().expect("validator set");
        for _ in 1..height {
            set = set.next_height();
        }
        set.proposer_id(Round(0)).0
    }
}

/// A source block minted while node 3's endpoint forged it, and the chain height that committed it.
struct Episode {
    number: u64,
    height: u64,
    forged: ForgedBlock,
}

/// Waits until every node has ingested the source up to hardhat's tip and all stand at one height; returns it.
fn settle(net: &LocalNet, hardhat: &HardhatNode) -> u64 {
    let tip = hardhat.block_number().expect("block number");
    for i in 0..VALIDATORS {
        wait_source_head(net, i, tip, WAIT);
    }
    let start = std::time::Instant::now();
    loop {
        let heights: Vec<Option<u64>> = (0..VALIDATORS)
            .map(|i| net.status(i).map(|s| s.height))
            .collect();
        if let Some(Some(first)) = heights.first()
            && heights.iter().all(|h| *h == Some(*first))
        {
            return *first;
        }
        assert!(start.elapsed() < WAIT, "the nodes stay apart: {heights:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Has node 3's endpoint forge from hardhat's next block on, mines empty blocks (source work, committed at once,
/// and not forged: they have no log and their parents are real) until the chain waits at a height whose round-0
/// proposer `wanted` accepts, then mints `token` to `to` there: a block with a `Transfer` log, which the endpoint
/// forges. Returns that block and the height that committed it.
/// Runs `next` until `accept` takes what it gives (`Err`: why not), at most [`TRIES`] times; then fails with
/// `goal` and every miss.
fn episode_where(
    mut next: impl FnMut() -> Episode,
    goal: &str,
    accept: impl Fn(&Episode) -> Result<(), String>,
) -> Episode {
    let mut misses = Vec::new();
    while misses.len() < TRIES {
        let episode = next();
        match accept(&episode) {
            Ok(()) => return episode,
            Err(miss) => misses.push(miss),
        }
    }
    panic!("{goal}: {misses:?}");
}

fn forge_a_mint(
    net: &LocalNet,
    hardhat: &HardhatNode,
    proxy: &RpcProxy,
    validators: &Validators,
    (token, to): (&Address, &Address),
    wanted: impl Fn([u8; 32]) -> bool,
) -> Episode {
    let tip = hardhat.block_number().expect("block number");
    proxy.set_mode(ProxyMode::Forge { from: tip + 1 });
    let mut steps = 0;
    let (number, waiting_at) = loop {
        let height = settle(net, hardhat) + 1;
        if wanted(validators.round_zero_proposer(height)) {
            let number = hardhat
                .mint(token, to, U256::from(1_000_000u64))
                .expect("mint");
            break (number, height);
        }
        steps += 1;
        assert!(steps < 4 * VALIDATORS, "the proposer never came round");
        hardhat.mine(1).expect("mine");
    };
    wait_source_head(net, 0, number, WAIT);
    let head = net.status(0).expect("status").height;
    let height = (waiting_at..=head)
        .find(|&h| {
            let block = net.nodes[0].client().block(Some(h)).expect("block");
            block.source_blocks.iter().any(|c| c.number == number)
        })
        .expect("a block committing the minted source block");
    let forged = proxy.forged_block(number).expect("the forged block");
    assert!(
        forged.is_forged() && forged.has_altered_log(),
        "the endpoint did not forge block {number}: {forged:?}"
    );
    Episode {
        number,
        height,
        forged,
    }
}

/// Node `i`'s own proposal at (`height`, `round`), from what it recorded.
fn own_proposal(
    net: &LocalNet,
    validators: &Validators,
    i: usize,
    height: u64,
    round: u32,
) -> Option<cvm_host::chain::BlockHeader> {
    let key = VerifyingKey::from_bytes(&validators.keys[i]).expect("key");
    net.nodes[i]
        .recorded_messages()
        .into_iter()
        .find_map(|m| match m {
            ConsensusMessage::Proposal(p)
                if p.proposal.height.0 == height
                    && p.proposal.round.0 == round
                    && p.verify(&validators.chain_id, &key, &Ed25519Verifier) =>
            {
                Some(p.proposal.value)
            }
            _ => None,
        })
}

/// Node `i`'s own prevote at (`height`, `round`): `Some(None)` for nil.
fn own_prevote(
    net: &LocalNet,
    validators: &Validators,
    i: usize,
    height: u64,
    round: u32,
) -> Option<Option<[u8; 32]>> {
    net.nodes[i]
        .recorded_messages()
        .into_iter()
        .find_map(|m| match m {
            ConsensusMessage::Vote(v)
                if v.vote.kind == VoteKind::Prevote
                    && v.vote.validator.0 == validators.keys[i]
                    && v.vote.height.0 == height
                    && v.vote.round.0 == round =>
            {
                Some(v.vote.value.map(|id| id.0))
            }
            _ => None,
        })
}

/// The `sources_hash` of a header whose block ingests exactly `forged`.
fn sources_hash_of(forged: &ForgedBlock) -> [u8; 32] {
    BlockBody {
        source_blocks: vec![SourceCommitment {
            source: SOURCE.to_string(),
            number: forged.number,
            hash: forged.hash.0,
            receipts_root: forged.receipts_root.0,
        }],
        ..BlockBody::default()
    }
    .sources_hash()
}

/// A metric's value in node `i`'s `/metrics` (the line starting with `series`).
fn metric(net: &LocalNet, i: usize, series: &str) -> Option<f64> {
    let url = format!("{}/metrics", net.nodes[i].rpc_url);
    let text = ureq::get(&url)
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn a_validator_whose_endpoint_forges_a_verifying_chain_is_refused_and_nothing_forged_is_final() {
    let (hardhat, start) = hardhat_from_block_one();
    let proxy = RpcProxy::start(hardhat.rpc_url(), ProxyMode::Honest).expect("proxy");
    // Heights without work wait 3 s: the window in which a test step picks the next height's proposer.
    let mut net = LocalNet::with_idle_interval(VALIDATORS, 0, 3_000);
    for i in 0..VALIDATORS {
        let url = if i == LIAR {
            proxy.url()
        } else {
            hardhat.rpc_url().to_string()
        };
        net.set_source_endpoint(i, SOURCE, &rpc_endpoint(&url));
    }
    net.start_all();
    net.wait_height(0, 1, WAIT);
    register_and_deploy(&net, start);
    let validators = Validators::load(&net);
    let liar = validators.keys[LIAR];

    // Token traffic, forged for node 3 from its first block on: node 3 diverges at once and follows the chain
    // by sync throughout.
    let tip = hardhat.block_number().expect("block number");
    proxy.set_mode(ProxyMode::Forge { from: tip + 1 });
    let expected = hardhat.drive(23, 6).expect("drive hardhat");
    let token = expected.tokens[0].address;
    let holder = *expected.tokens[0].balances.keys().next().expect("a holder");

    // Not the proposer: node 3 refuses the real block, the others commit it.
    // A mint at a height whose round-0 proposer is node 3, or is not.
    let mint = |liar_proposes: bool| {
        forge_a_mint(
            &net,
            &hardhat,
            &proxy,
            &validators,
            (&token, &holder),
            |p| (p == liar) == liar_proposes,
        )
    };
    let refused = episode_where(
        || mint(false),
        "node 3 never refused a real block it was not proposing",
        |episode| {
            let round = net.nodes[0]
                .client()
                .commit(Some(episode.height))
                .expect("commit")
                .round;
            let proposer = validators.round_zero_proposer(episode.height);
            let prevote = own_prevote(&net, &validators, LIAR, episode.height, round);
            if proposer != liar && prevote == Some(None) {
                return Ok(());
            }
            Err(format!(
                "height {} round {round}: round-0 proposer {}, node 3 prevoted {prevote:?}",
                episode.height,
                to_hex(proposer)
            ))
        },
    );
    let log = std::fs::read_to_string(net.nodes[LIAR].log_path()).unwrap_or_default();
    let reason = format!(
        "block {} is 0x{} at this node's endpoint",
        refused.number,
        hex::encode(refused.forged.hash)
    );
    assert!(
        log.contains(&reason),
        "node 3 did not say why it refused block {}:\n{}",
        refused.height,
        net.log_tail(LIAR, 30)
    );

    // The proposer: node 3 proposes its forged block in round 0 and is refused; a later round's proposer
    // commits the real one.
    let hit = episode_where(
        || mint(true),
        "node 3 never proposed a forged block as round-0 proposer",
        |episode| {
            let proposer = validators.round_zero_proposer(episode.height);
            let proposal = own_proposal(&net, &validators, LIAR, episode.height, 0);
            let forged = proposal
                .as_ref()
                .is_some_and(|p| p.sources_hash == sources_hash_of(&episode.forged));
            if proposer == liar && forged {
                return Ok(());
            }
            Err(format!(
                "height {}: round-0 proposer {}, node 3 proposed {}",
                episode.height,
                to_hex(proposer),
                match proposal {
                    None => "nothing",
                    Some(_) => "another block",
                }
            ))
        },
    );
    let client = net.nodes[0].client();
    let commit = client.commit(Some(hit.height)).expect("commit");
    let block = client.block(Some(hit.height)).expect("block");
    assert!(
        commit.round > 0,
        "height {} was decided in round 0, whose proposer proposed the forged block",
        hit.height
    );
    assert_ne!(
        block.header.proposer,
        to_hex(liar),
        "node 3's block was final"
    );
    for i in (0..VALIDATORS).filter(|&i| i != LIAR) {
        assert_eq!(
            own_prevote(&net, &validators, i, hit.height, 0),
            Some(None),
            "{} did not prevote nil for node 3's forged proposal at height {}",
            net.nodes[i].name,
            hit.height
        );
    }

    // Every source commitment ever committed is the real chain's block, each block once and in order.
    let expected = hardhat
        .read_back(&expected)
        .expect("read the contracts back");
    let height = settle(&net, &hardhat);
    let mut next = 1;
    for height in 1..=height {
        for c in client.block(Some(height)).expect("block").source_blocks {
            assert_eq!((c.source.as_str(), c.number), (SOURCE, next));
            let (hash, receipts_root) = hardhat.block_hashes(c.number).expect("hardhat block");
            assert_eq!(
                (c.hash, c.receipts_root),
                (to_hex(hash), to_hex(receipts_root)),
                "height {height} commits block {} other than hardhat's",
                c.number
            );
            next += 1;
        }
    }
    assert_eq!(
        next,
        expected.last_block + 1,
        "not every block was committed"
    );
    assert_eq!(source_head(&net, LIAR), Some(expected.last_block));

    // No forged record is final anywhere: the liar holds the real records, taken by sync.
    for i in [0, LIAR] {
        assert_datasets_match_contracts(&net, i, &expected);
    }

    // Node 3 reports what its endpoint did; an honest node reports nothing.
    let series = format!("cvm_source_conflicts{{source=\"{SOURCE}\"}}");
    let conflicts = metric(&net, LIAR, &series).expect("node 3's conflicts metric");
    assert!(conflicts >= 2.0, "node 3 counted {conflicts} conflicts");
    assert_eq!(metric(&net, 0, &series), Some(0.0));
    let (ok, out) = net.cvm(&["source", "status", "--node", &net.nodes[LIAR].rpc_url]);
    assert!(!ok && out.contains("CONFLICTS"), "{out}");
    let (ok, out) = net.cvm(&["source", "status", "--node", &net.nodes[0].rpc_url]);
    assert!(ok, "{out}");

    stop_and_check(&mut net).assert_no_fork_or_double_sign();
}
