//! Attacker peers on real sockets against four validator processes: garbage on every gossip topic, gossip
//! frames above `max_message_bytes`, votes from outside the validator set or signed for another chain, proposals
//! for another chain, forged or malformed equivocation evidence, invalid transactions, absurd sync ranges and raw
//! sync frames the node's codec would never write. The validators keep finalizing the same chain, none exits, and
//! every rejected gossip message is seen rejected by every node. Genuine evidence from a peer that is no validator
//! jails its offender.
//!
//! The nodes do not count gossip rejections in `/metrics` (only transactions refused at submit), so the rejections
//! are read from their debug log (`cvm_host::node::runner`: "rejected gossip message source=<peer> topic=<topic>").
//! Each attack comes from its own identity and sends at most three rejected messages: gossipsub graylists a peer
//! after about four (score -80), after which its messages no longer reach the node's checks at all.

use cvm_consensus::{
    ChainId, DuplicateVoteEvidence, Height, Proposal, Round, ValidatorId, ValueId, Vote, VoteKind,
};
use cvm_host::chain::config::HomeLayout;
use cvm_host::chain::{BlockHeader, NodeConfig, NodeKey, PartSetHeader, ValidatorKey};
use cvm_host::network::{
    Multiaddr, NetworkConfig, NetworkEvent, NetworkHandle, PeerId, SyncRequest, SyncResponse, Topic,
};
use cvm_host::node::wire::{ConsensusEnvelope, ConsensusMessage};
use cvm_tests::localnet::LocalNet;
use parity_scale_codec::{Decode, Encode};

use crate::raw_sync;
use crate::support::*;

/// Node log filter: the runner's gossip verdicts are at debug.
const NODE_LOG: &str = "info,cvm_host::node::runner=debug";

/// Each node's peer id and p2p address, from its home.
fn p2p_addresses(net: &LocalNet) -> Vec<(PeerId, Multiaddr)> {
    net.nodes
        .iter()
        .map(|n| {
            let home = HomeLayout::new(&n.home);
            let peer = NodeKey::load(&home.node_key()).expect("node key").peer_id();
            let listen: Multiaddr = NodeConfig::load(&home.config())
                .expect("config")
                .p2p
                .listen
                .parse()
                .expect("multiaddr");
            (peer, listen)
        })
        .collect()
}

/// How long the attacker listens for every node before reconnecting.
const HEAR_EVERY_NODE_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

/// A peer with a fresh identity, run by this crate's own network layer, connected to every node, that has heard
/// gossip from each (so it knows their subscriptions and its own publishes reach them). Its events are
/// drained and its sync requests left unanswered. `max_message_bytes` may exceed the nodes' limit.
async fn attacker(
    chain_id: &str,
    nodes: &[(PeerId, Multiaddr)],
    max_message_bytes: usize,
) -> NetworkHandle {
    let (handle, mut events) = cvm_host::network::spawn(NetworkConfig {
        keypair: NodeKey::generate().keypair(),
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        peers: nodes
            .iter()
            .map(|(peer, addr)| addr.clone().with(libp2p::multiaddr::Protocol::P2p(*peer)))
            .collect(),
        max_message_bytes,
        chain_id: chain_id.into(),
    })
    .await
    .expect("attacker network starts");
    let mut heard = std::collections::HashSet::new();
    // A gossip link can come up dead (messages stop one way on a live connection; the nodes' stall watch
    // reconnects for the same reason): after a while without hearing some node, reconnect and listen again.
    let mut attempts = 0;
    while heard.len() < nodes.len() {
        attempts += 1;
        assert!(
            attempts <= WAIT.as_secs() / HEAR_EVERY_NODE_WITHIN.as_secs(),
            "the attacker did not hear gossip from every node in {WAIT:?} (heard {} of {})",
            heard.len(),
            nodes.len()
        );
        if attempts > 1 {
            handle.reconnect_all().expect("attacker network runs");
        }
        let _ = tokio::time::timeout(HEAR_EVERY_NODE_WITHIN, async {
            while heard.len() < nodes.len() {
                if let NetworkEvent::Message { source, .. } =
                    events.recv().await.expect("attacker network runs")
                {
                    heard.insert(source);
                }
            }
        })
        .await;
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    handle
}

fn fake_header(chain_id: &str, height: u64, proposer: [u8; 32]) -> BlockHeader {
    BlockHeader {
        chain_id: chain_id.into(),
        height,
        time_ms: 1,
        parent_hash: [1; 32],
        proposer,
        validators_hash: [0; 32],
        next_validators_hash: [0; 32],
        sources_hash: [0; 32],
        txs_root: [2; 32],
        tx_count: 0,
        state_root: [3; 32],
        receipts_root: [4; 32],
        fuel_used: 0,
        last_commit_hash: [5; 32],
        evidence_hash: [0; 32],
        parts: PartSetHeader {
            total: 1,
            root: [6; 32],
        },
    }
}

fn consensus_bytes(message: ConsensusMessage) -> Vec<u8> {
    ConsensusEnvelope { resend: 0, message }.encode()
}

/// How many times a node log says the runner rejected a gossip message from `peer` on `topic`.
fn rejections(log: &str, peer: &PeerId, topic: Topic) -> usize {
    let (peer, topic) = (format!("source={peer}"), format!("topic={topic:?}"));
    log.lines()
        .filter(|l| {
            l.contains("rejected gossip message") && l.contains(&peer) && l.contains(&topic)
        })
        .count()
}

/// One attack: messages one fresh identity gossips on one topic.
struct Attack {
    what: &'static str,
    topic: Topic,
    messages: Vec<Vec<u8>>,
    /// Whether the node's gossip check refuses each message (some only fail later, in consensus).
    rejected: bool,
}

fn garbage(seed: u8, count: u8) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let len = [0usize, 1, 200][i as usize % 3] + usize::from(seed);
            (0..len)
                .map(|j| (j as u8).wrapping_mul(31) ^ seed ^ (i << 4))
                .collect()
        })
        .collect()
}

/// Every attack, built against the height in progress.
fn attacks(chain: &str, height: u64, round: u32, validators: &[ValidatorKey]) -> Vec<Attack> {
    let (height, round) = (Height(height), Round(round));
    let outsider = ValidatorKey::generate();
    let value = Some(ValueId([9; 32]));
    let this_chain = ChainId::new(chain.to_string());
    let other_chain = ChainId::new(format!("not-{chain}"));
    let vote = |kind, key: &ValidatorKey| {
        Vote::new(kind, height, round, value, ValidatorId(key.public_key()))
    };
    let proposal = |header_chain: &str, key: &ValidatorKey| {
        let header = fake_header(header_chain, height.0, key.public_key());
        let p = Proposal {
            height,
            round,
            value: header,
            pol_round: None,
        };
        consensus_bytes(ConsensusMessage::Proposal(Box::new(
            p.sign(&other_chain, &key.signer()),
        )))
    };
    let votes =
        |f: &dyn Fn(&ValidatorKey) -> Vote, signer: Option<&ValidatorKey>, chain: &ChainId| {
            validators[..3]
                .iter()
                .map(|key| {
                    let signed = f(key).sign(chain, &signer.unwrap_or(key).signer());
                    consensus_bytes(ConsensusMessage::Vote(signed))
                })
                .collect::<Vec<_>>()
        };
    // Two prevotes of validator 0 for different values, signed by `signer`.
    let conflicting = |signer: &ValidatorKey| {
        let prevote = |value: u8| {
            Vote::new(
                VoteKind::Prevote,
                height,
                round,
                Some(ValueId([value; 32])),
                ValidatorId(validators[0].public_key()),
            )
            .sign(&this_chain, &signer.signer())
        };
        DuplicateVoteEvidence::new(prevote(1), prevote(2))
    };
    let swapped = {
        let e = conflicting(&validators[0]);
        DuplicateVoteEvidence {
            vote_a: e.vote_b,
            vote_b: e.vote_a,
        }
    };
    let evidence =
        |e: DuplicateVoteEvidence| consensus_bytes(ConsensusMessage::Evidence(Box::new(e)));
    let dev = dev_key();
    let tx = |chain: &str, nonce| sign(chain, &dev, nonce, ingest(vec![b"attack".to_vec()]));
    let mut bad_sig = tx(chain, 0);
    bad_sig.signature[0] ^= 1;
    let valid = tx(chain, 1);
    let mut unknown_kind = valid.encode();
    let tag_at = (&valid.tx.chain_id, valid.tx.signer, valid.tx.nonce)
        .encode()
        .len();
    unknown_kind[tag_at] = 9;
    let oversized = sign(chain, &dev, 0, ingest(vec![vec![3; 2 * 1024 * 1024 + 1]]));
    vec![
        Attack {
            what: "garbage on consensus",
            topic: Topic::Consensus,
            messages: garbage(1, 3),
            rejected: true,
        },
        Attack {
            what: "garbage on proposal parts",
            topic: Topic::ProposalParts,
            messages: garbage(2, 3),
            rejected: true,
        },
        Attack {
            what: "garbage on transactions",
            topic: Topic::Transactions,
            messages: garbage(3, 3),
            rejected: true,
        },
        Attack {
            what: "votes signed by a key outside the validator set",
            topic: Topic::Consensus,
            messages: [VoteKind::Prevote, VoteKind::Precommit]
                .into_iter()
                .map(|kind| {
                    consensus_bytes(ConsensusMessage::Vote(
                        vote(kind, &outsider).sign(&this_chain, &outsider.signer()),
                    ))
                })
                .collect(),
            rejected: true,
        },
        Attack {
            what: "validators' votes forged by an outsider",
            topic: Topic::Consensus,
            messages: votes(
                &|k| vote(VoteKind::Precommit, k),
                Some(&outsider),
                &this_chain,
            ),
            rejected: true,
        },
        Attack {
            what: "validators' votes signed for another chain",
            topic: Topic::Consensus,
            messages: votes(&|k| vote(VoteKind::Prevote, k), None, &other_chain),
            rejected: true,
        },
        Attack {
            what: "proposals of another chain's blocks",
            topic: Topic::Consensus,
            messages: validators[..3]
                .iter()
                .map(|k| proposal("not-this-chain", k))
                .collect(),
            rejected: true,
        },
        Attack {
            // The header is for this chain, so the gossip check passes them on; consensus refuses the signature.
            what: "proposals signed for another chain",
            topic: Topic::Consensus,
            messages: validators.iter().map(|k| proposal(chain, k)).collect(),
            rejected: false,
        },
        Attack {
            what: "evidence against a validator forged by an outsider",
            topic: Topic::Consensus,
            messages: vec![evidence(conflicting(&outsider))],
            rejected: true,
        },
        Attack {
            // Genuine conflicting votes, but not in the one order a block may carry: never kept nor relayed.
            what: "evidence with its votes out of canonical order",
            topic: Topic::Consensus,
            messages: vec![evidence(swapped)],
            rejected: true,
        },
        Attack {
            what: "transactions with a bad signature, another chain id, an unknown kind",
            topic: Topic::Transactions,
            messages: vec![
                bad_sig.encode(),
                tx(&format!("not-{chain}"), 0).encode(),
                unknown_kind,
            ],
            rejected: true,
        },
        Attack {
            what: "a transaction above max_tx_bytes",
            topic: Topic::Transactions,
            messages: vec![oversized.encode()],
            rejected: true,
        },
    ]
}

#[test]
fn attacker_peers_do_not_stop_four_validators() {
    let net = LocalNet::new(4, 0);
    let mut procs: Vec<OwnNode> = net
        .nodes
        .iter()
        .map(|n| OwnNode::start(&n.home, NODE_LOG, None))
        .collect();
    for i in 0..4 {
        net.wait_height(i, 2, WAIT);
    }
    let chain = net.chain_id.clone();
    let nodes = p2p_addresses(&net);
    let validator_keys: Vec<ValidatorKey> = net
        .nodes
        .iter()
        .map(|n| ValidatorKey::load(&HomeLayout::new(&n.home).validator_key()).unwrap())
        .collect();
    let max = NodeConfig::load(&HomeLayout::new(&net.nodes[0].home).config())
        .unwrap()
        .p2p
        .max_message_bytes;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut attackers = Vec::new();

    // Absurd sync ranges get bounded answers.
    let a = rt.block_on(attacker(&chain, &nodes, max));
    let tip = net.status(0).unwrap().height;
    for (from, count) in [
        (u64::MAX, u32::MAX),
        (u64::MAX - 1, 1),
        (0, u32::MAX),
        (tip + 1_000_000, 64),
    ] {
        let answer = rt
            .block_on(a.request(nodes[0].0, SyncRequest::Blocks { from, max: count }))
            .unwrap_or_else(|e| panic!("blocks {from}+{count}: {e}"));
        match answer {
            SyncResponse::Blocks(blocks) if from > tip => assert!(blocks.is_empty()),
            SyncResponse::Blocks(blocks) => {
                assert!(
                    !blocks.is_empty() && blocks.len() <= 64,
                    "{} blocks",
                    blocks.len()
                );
                assert_eq!(blocks[0].block.header.height, 1);
            }
            other => panic!("blocks {from}+{count}: {other:?}"),
        }
    }
    // Control: a valid transaction gossiped by such a peer is admitted and committed, so what attackers gossip
    // does reach the nodes' checks.
    let control = sign(&chain, &dev_key(), 0, ingest(vec![b"control".to_vec()]));
    rt.block_on(a.publish(Topic::Transactions, control.encode()))
        .expect("publish");
    net.nodes[2]
        .client()
        .wait_for_tx(control.hash(), WAIT)
        .expect("the gossiped control transaction is committed");
    attackers.push(a);

    // Gossip attacks, each from its own identity.
    let status = net.status(0).unwrap();
    let mut sent = Vec::new();
    for attack in attacks(&chain, status.height + 1, status.round, &validator_keys) {
        let handle = rt.block_on(attacker(&chain, &nodes, max));
        for message in &attack.messages {
            rt.block_on(handle.publish(attack.topic, message.clone()))
                .unwrap_or_else(|e| panic!("{}: {e}", attack.what));
        }
        sent.push((handle.local_peer_id(), attack));
        attackers.push(handle);
    }
    // Gossip frames above the nodes' limit, on every topic (the attacker's own limit is higher).
    let big = rt.block_on(attacker(&chain, &nodes, 2 * max));
    for topic in Topic::ALL {
        rt.block_on(big.publish(topic, vec![0xab; max + 4096]))
            .expect("publish an oversized frame");
    }
    attackers.push(big);

    // Raw sync frames: absurd lengths, oversized, undecodable, truncated. None is answered; a well-formed
    // request before and after is.
    let (peer, addr) = nodes[1].clone();
    let mut raw = rt.block_on(raw_sync::RawPeer::connect(&chain, peer, addr));
    let frame = |len: u32, body: &[u8]| {
        let mut v = len.to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    };
    let status_request = frame(1, &SyncRequest::Status.encode());
    let answer = rt
        .block_on(raw.request(peer, status_request.clone()))
        .expect("a well-formed raw request is answered");
    let decoded = SyncResponse::decode(&mut &answer[4..]);
    assert!(
        matches!(decoded, Ok(SyncResponse::Status { .. })),
        "{decoded:?}"
    );
    for (what, bytes) in [
        ("a length prefix of 4 GiB", frame(u32::MAX, b"tiny")),
        ("a frame above the request limit", frame(4096, &[0; 4096])),
        (
            "a frame above max_message_bytes",
            frame((max + 1) as u32, &vec![7; max + 1]),
        ),
        ("an undecodable frame", frame(16, &[0xff; 16])),
        ("an unknown request kind", frame(1, &[9])),
        ("a truncated frame", frame(100, b"short")),
        ("trailing bytes", frame(2, &[0, 0])),
    ] {
        if let Ok(answer) = rt.block_on(raw.request(peer, bytes)) {
            assert!(answer.is_empty(), "{what} was answered: {answer:?}");
        }
    }
    rt.block_on(raw.request(peer, status_request))
        .expect("the node still answers sync requests");

    // Every node saw every rejected message refused by its gossip check.
    let deadline = std::time::Instant::now() + WAIT;
    for (i, node) in net.nodes.iter().enumerate() {
        for (peer, attack) in sent.iter().filter(|(_, a)| a.rejected) {
            loop {
                let log = strip_ansi(&std::fs::read_to_string(node.log_path()).unwrap());
                let seen = rejections(&log, peer, attack.topic);
                if seen == attack.messages.len() {
                    break;
                }
                assert!(
                    seen < attack.messages.len() && std::time::Instant::now() < deadline,
                    "{}: {} of {} rejected by {}",
                    attack.what,
                    seen,
                    attack.messages.len(),
                    net.nodes[i].name
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }

    // The network keeps finalizing the same chain; nobody exited, no equivocation was made up.
    let after = (0..4).map(|i| net.status(i).unwrap().height).max().unwrap();
    for (i, proc) in procs.iter_mut().enumerate() {
        assert!(
            proc.is_running(),
            "{} exited:\n{}",
            net.nodes[i].name,
            net.log_tail(i, 40)
        );
        net.wait_height(i, after + 3, WAIT);
    }
    assert_same_chain(&net, &[0, 1, 2, 3], after + 3);
    for (i, node) in net.nodes.iter().enumerate() {
        let (s, body) = raw_http(&node.rpc_url, &request("GET", "/evidence", ""));
        let list: serde_json::Value = serde_json::from_str(&body).expect("evidence JSON");
        assert_eq!(s, 200, "{}: {body}", node.name);
        assert_eq!(
            (&list["committed"], &list["pending"]),
            (&serde_json::json!([]), &serde_json::json!([])),
            "{}",
            node.name
        );
        let set = node.client().validators(None).expect("validators");
        assert_eq!(set.validators.len(), 4, "nobody was jailed: {set:?}");
        assert!(procs[i].is_running(), "{} exited", node.name);
        assert_no_panic(&std::fs::read_to_string(node.log_path()).unwrap());
    }
    rt.block_on(async {
        for handle in attackers {
            handle.shutdown().await;
        }
    });
}

/// Genuine evidence gossiped by a peer that is no validator (it saw an equivocation elsewhere): every validator
/// checks it against the set, a block commits it, the offender leaves the set and the others go on.
#[test]
fn evidence_gossiped_by_a_peer_jails_the_offender() {
    let net = LocalNet::new(4, 0);
    let _procs: Vec<OwnNode> = net
        .nodes
        .iter()
        .map(|n| OwnNode::start(&n.home, NODE_LOG, None))
        .collect();
    net.wait_all(2, WAIT);
    let offender =
        ValidatorKey::load(&HomeLayout::new(&net.nodes[3].home).validator_key()).unwrap();
    let max = NodeConfig::load(&HomeLayout::new(&net.nodes[0].home).config())
        .unwrap()
        .p2p
        .max_message_bytes;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let peer = rt.block_on(attacker(&net.chain_id, &p2p_addresses(&net), max));
    let height = Height(net.status(0).unwrap().height);
    let prevote = |value: u8| {
        Vote::new(
            VoteKind::Prevote,
            height,
            Round(0),
            Some(ValueId([value; 32])),
            ValidatorId(offender.public_key()),
        )
        .sign(&ChainId::new(net.chain_id.clone()), &offender.signer())
    };
    let evidence = DuplicateVoteEvidence::new(prevote(1), prevote(2));
    rt.block_on(peer.publish(
        Topic::Consensus,
        consensus_bytes(ConsensusMessage::Evidence(Box::new(evidence))),
    ))
    .expect("publish");

    let key = format!("0x{}", hex::encode(offender.public_key()));
    let deadline = std::time::Instant::now() + WAIT;
    let at = loop {
        let list = net.nodes[0].client().evidence().expect("evidence");
        if let Some(e) = list.committed.first() {
            assert_eq!((&e.validator, e.jailed), (&key, Some(true)), "{list:?}");
            break e.committed_at.expect("committed");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no evidence committed: {list:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for i in 0..3 {
        net.wait_height(i, at + 4, WAIT);
        let set = net.nodes[i]
            .client()
            .validators(Some(at + 2))
            .expect("validators");
        assert_eq!(set.validators.len(), 3, "{set:?}");
        assert!(
            set.validators.iter().all(|v| v.public_key != key),
            "{set:?}"
        );
    }
    assert_same_chain(&net, &[0, 1, 2], at + 4);
    rt.block_on(peer.shutdown());
}
