//! What a simulation run is made of, and the built-in Byzantine configurations the tests
//! sweep over many seeds.

use std::time::Duration;

use cvm_consensus::TimeoutConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::byzantine::Behaviour;
use crate::network::NetworkModel;

/// How signatures are checked in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Real checks, each distinct signature verified once and shared by all nodes.
    Cached,
    /// Every node verifies every signature itself (what a real network pays).
    PerNode,
    /// No checks (benchmarks only: measures what verification costs).
    Disabled,
}

/// One simulation run: validators and their behaviours, network, timers and budgets.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Shown in failures and in the command that reproduces them.
    pub name: String,
    /// Seeds every random choice of the run: keys, delays, losses, host values.
    pub seed: u64,
    /// Behaviour per validator; its length is N.
    pub behaviours: Vec<Behaviour>,
    /// Heights every correct node must decide.
    pub heights: u64,
    /// Delivery model (GST, delays, loss, partition).
    pub network: NetworkModel,
    /// The engine's timers.
    pub timeouts: TimeoutConfig,
    /// How signatures are checked.
    pub verification: Verification,
    /// Crash a correct node once before GST and restart it from its WAL.
    pub crash_restart: bool,
    /// Liveness bound: all heights decided by `gst + heights * per_height_bound_ms`.
    pub per_height_bound_ms: u64,
    /// Events processed before the run is declared stuck.
    pub max_events: u64,
    /// Harsher conditions: unequal power, crashes anywhere, drifting host verdicts.
    pub adversity: Adversity,
}

/// Conditions beyond the Byzantine behaviours; the default adds none.
#[derive(Clone, Debug, Default)]
pub struct Adversity {
    /// Voting power per validator (all 1 when `None`); Byzantine power stays below 1/3.
    pub powers: Option<Vec<u64>>,
    /// Crashes of correct nodes at arbitrary points: in the middle of an effect list,
    /// with an unsynced WAL tail partly lost. Each node restarts from its WAL.
    pub crashes: u32,
    /// One correct node's host refuses a value until this long (at most) after it was
    /// proposed, as a host whose clock lags does with a fresh block time; it accepts it
    /// when asked again later.
    pub verdict_lag_ms: u64,
    /// Longest run of heights a correct node may decide by block sync alone (`None`: no
    /// bound). Sync must not hide a node that no longer decides by voting.
    pub max_sync_streak: Option<u64>,
    /// Validator-set changes decided by the application (`None`: the genesis set throughout).
    pub set_changes: Option<SetChanges>,
}

/// Validator-set changes the simulated application decides, with CometBFT's semantics: a
/// change set decided at height `h` applies from `h + 2`. Byzantine validators stay members
/// of every set, below a third of its power; joins and leaves are of correct validators.
#[derive(Clone, Debug)]
pub struct SetChanges {
    /// Correct validators (the first ones) outside the genesis set, ready to join.
    pub standby: usize,
    /// Chance that the application decides a change set at a height.
    pub per_height: f64,
}

/// Longest run of heights a correct node of a built-in configuration may decide by sync
/// alone: a node that falls behind (crash, partition) catches up by sync, then votes again.
pub const MAX_SYNC_STREAK: u64 = 8;

/// Set-change runs: (name, N, Byzantine behaviours (the last nodes), standby correct nodes
/// (the first ones) outside the genesis set).
const SET_CHANGES: &[(&str, usize, &[Behaviour], usize)] = &[
    (
        "n5-set-changes-double-voter",
        5,
        &[Behaviour::DoubleVoter],
        1,
    ),
    (
        "n6-set-changes-equivocating-proposer",
        6,
        &[Behaviour::EquivocatingProposer],
        2,
    ),
    (
        "n8-set-changes-amnesia-double-voter",
        8,
        &[Behaviour::Amnesia, Behaviour::DoubleVoter],
        2,
    ),
    (
        "n8-set-changes-colluders",
        8,
        &[Behaviour::Colluder, Behaviour::Colluder],
        1,
    ),
];

/// Byzantine mixes tried per N. f = 1 for N = 4, f = 2 for N = 7.
const N4: &[(&str, &[Behaviour])] = &[
    (
        "n4-equivocating-proposer",
        &[Behaviour::EquivocatingProposer],
    ),
    ("n4-double-voter", &[Behaviour::DoubleVoter]),
    ("n4-silent", &[Behaviour::Silent]),
    ("n4-amnesia", &[Behaviour::Amnesia]),
    ("n4-replayer", &[Behaviour::Replayer]),
    ("n4-crash-double-voter", &[Behaviour::DoubleVoter]),
    ("n4-crash-torn-wal", &[Behaviour::DoubleVoter]),
    ("n4-weighted-double-voter", &[Behaviour::DoubleVoter]),
    ("n4-clock-drift", &[Behaviour::EquivocatingProposer]),
];
const N7: &[(&str, &[Behaviour])] = &[
    (
        "n7-equivocator-double-voter",
        &[Behaviour::EquivocatingProposer, Behaviour::DoubleVoter],
    ),
    (
        "n7-silent-amnesia",
        &[Behaviour::Silent, Behaviour::Amnesia],
    ),
    (
        "n7-replayer-equivocator",
        &[Behaviour::Replayer, Behaviour::EquivocatingProposer],
    ),
    (
        "n7-amnesia-double-voter",
        &[Behaviour::Amnesia, Behaviour::DoubleVoter],
    ),
    ("n7-silent-silent", &[Behaviour::Silent, Behaviour::Silent]),
    ("n7-colluders", &[Behaviour::Colluder, Behaviour::Colluder]),
];

impl SimConfig {
    /// Names of the built-in configurations.
    pub fn names() -> Vec<&'static str> {
        N4.iter().chain(N7).map(|(n, _)| *n).collect()
    }

    /// Names of the built-in configurations with validator-set changes (not in [`names`]).
    ///
    /// [`names`]: Self::names
    pub fn set_change_names() -> Vec<&'static str> {
        SET_CHANGES.iter().map(|(name, ..)| *name).collect()
    }

    /// A built-in configuration with validator-set changes: as [`named`](Self::named)'s
    /// network and timers, unequal powers drawn from the seed (correct 3..=9, Byzantine 1..=2,
    /// so below a third), and a change set at about one height in three.
    fn with_set_changes(name: &str, seed: u64) -> Option<SimConfig> {
        let (_, n, byz, standby) = SET_CHANGES.iter().find(|(nm, ..)| *nm == name)?;
        let n = *n;
        let mut cfg = SimConfig::named("n4-double-voter", seed)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e7c_4a96);
        cfg.name = name.to_string();
        cfg.behaviours = vec![Behaviour::Correct; n - byz.len()];
        cfg.behaviours.extend_from_slice(byz);
        if let Some(p) = cfg.network.partition.as_mut() {
            *p = (0..n).map(|_| rng.gen_range(0..2u8)).collect();
        }
        cfg.adversity.powers = Some(
            cfg.behaviours
                .iter()
                .map(|b| {
                    if b.is_correct() {
                        rng.gen_range(3..=9)
                    } else {
                        rng.gen_range(1..=2)
                    }
                })
                .collect(),
        );
        cfg.adversity.set_changes = Some(SetChanges {
            standby: *standby,
            per_height: 0.35,
        });
        Some(cfg)
    }

    /// A built-in configuration. Network parameters are drawn from the seed, so one
    /// configuration covers many schedules: GST, delays, loss and whether a partition holds.
    pub fn named(name: &str, seed: u64) -> Option<SimConfig> {
        if name.contains("set-changes") {
            return Self::with_set_changes(name, seed);
        }
        let (n, byz) = N4
            .iter()
            .map(|c| (4, c))
            .chain(N7.iter().map(|c| (7, c)))
            .find(|(_, (nm, _))| *nm == name)
            .map(|(n, (_, b))| (n, *b))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c0de);
        let mut behaviours = vec![Behaviour::Correct; n - byz.len()];
        behaviours.extend_from_slice(byz);
        let partition = rng
            .gen_bool(0.3)
            .then(|| (0..n).map(|_| rng.gen_range(0..2u8)).collect());
        Some(SimConfig {
            name: name.to_string(),
            seed,
            behaviours,
            heights: 20,
            network: NetworkModel {
                gst_ms: rng.gen_range(0..3_000),
                pre_gst_max_delay_ms: rng.gen_range(50..1_500),
                post_gst_max_delay_ms: 40,
                loss: rng.gen_range(0.0..0.3),
                partition,
            },
            timeouts: TimeoutConfig {
                propose: Duration::from_millis(200),
                propose_delta: Duration::from_millis(50),
                prevote: Duration::from_millis(100),
                prevote_delta: Duration::from_millis(50),
                precommit: Duration::from_millis(100),
                precommit_delta: Duration::from_millis(50),
                block_interval: rng.gen_bool(0.5).then(|| Duration::from_millis(20)),
            },
            verification: Verification::Cached,
            crash_restart: name.contains("crash-double"),
            per_height_bound_ms: 10_000,
            max_events: 2_000_000,
            adversity: Adversity {
                // Byzantine (last) holds 3 of 10: just below a third.
                powers: name.contains("weighted").then(|| vec![1, 4, 2, 3]),
                crashes: if name.contains("torn-wal") { 3 } else { 0 },
                verdict_lag_ms: if name.contains("clock-drift") { 150 } else { 0 },
                max_sync_streak: Some(MAX_SYNC_STREAK),
                set_changes: None,
            },
        })
    }

    /// The command that replays this run alone.
    pub fn reproduce_command(&self) -> String {
        format!(
            "SIM_CONFIG={} SIM_SEED={} cargo test -p cvm-consensus-sim --test simulation -- reproduce_seed --nocapture",
            self.name, self.seed
        )
    }
}
