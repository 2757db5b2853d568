//! `cvm validators list | propose | approve | submit`: read a height's validator set, and change it. A change is
//! an update file that goes from hand to hand: `propose` writes it (at the chain's next update position),
//! each validator (and each key it adds) `approve`s it with its key file, offline, and anyone `submit`s it once
//! validators holding more than 2/3 of the power have approved.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cvm_runtime::TxPayload;
use cvm_runtime::validators::{
    Approval, ValidatorChange, ValidatorSetUpdate, approval_bytes, approve, check_approval,
};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use super::args::{NodeArgs, SignArgs};
use super::tx::{load_key, sign_all, submit_and_wait};
use crate::api_client::Client;
use crate::chain::genesis::parse_public_key;
use crate::hex_text::{from_hex, to_hex};
use crate::rpc::json::ValidatorPowerJson;

#[derive(Debug, Subcommand)]
pub enum ValidatorsCommand {
    /// The validator set of a height (default: the next height's).
    List(ListArgs),
    /// Write an update file at the chain's next update position.
    Propose(ProposeArgs),
    /// Sign an update file with a key file (a validator's, or a key the update adds), offline.
    Approve(ApproveArgs),
    /// Submit an approved update file as an `UpdateValidators` transaction.
    Submit(SubmitArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The height whose set to show (default: the next height).
    #[arg(long)]
    pub height: Option<u64>,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// Give a validator this power, adding it when it is not one: `<hex public key>=<power>` (repeatable).
    #[arg(long = "set", value_name = "KEY=POWER")]
    pub set: Vec<String>,
    /// Remove a validator (repeatable). A key rotation is `--remove OLD --set NEW=POWER`.
    #[arg(long = "remove", value_name = "KEY")]
    pub remove: Vec<String>,
    /// The update file to write.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub node: NodeArgs,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The update file (rewritten with the approval added).
    pub file: PathBuf,
    /// Key file to sign with: a validator key (`config/validator_key.json`) or the key of a joining validator.
    #[arg(long)]
    pub key: PathBuf,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The approved update file.
    pub file: PathBuf,
    #[command(flatten)]
    pub sign: SignArgs,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// An update file: what is approved, and the approvals so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFile {
    /// The chain it is for (approvals sign it).
    pub chain_id: String,
    /// Its position in the chain's sequence of validator updates.
    pub seq: u64,
    /// The changes: key and new power (0 removes).
    pub changes: Vec<ValidatorPowerJson>,
    /// Hex public key and signature of each approval.
    #[serde(default)]
    pub approvals: Vec<ApprovalJson>,
}

/// One approval in an update file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalJson {
    /// Hex of the approving key.
    pub public_key: String,
    /// Hex of its signature.
    pub signature: String,
}

impl UpdateFile {
    fn load(path: &Path) -> anyhow::Result<UpdateFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read update file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not an update file (write one with `cvm validators propose`)",
                path.display()
            )
        })
    }

    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The update it describes, checked for well-formed keys.
    pub fn update(&self) -> anyhow::Result<ValidatorSetUpdate> {
        let changes = self
            .changes
            .iter()
            .map(|c| {
                Ok(ValidatorChange {
                    key: parse_public_key(&c.public_key)
                        .map_err(|e| anyhow::anyhow!("change key {}: {e}", c.public_key))?,
                    power: c.power,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(ValidatorSetUpdate {
            seq: self.seq,
            changes,
        })
    }

    /// Its approvals, each checked against the update.
    pub fn approvals(&self) -> anyhow::Result<Vec<Approval>> {
        let message = approval_bytes(&self.chain_id, &self.update()?);
        self.approvals
            .iter()
            .map(|a| {
                let key = parse_public_key(&a.public_key)
                    .map_err(|e| anyhow::anyhow!("approval key {}: {e}", a.public_key))?;
                let signature: [u8; 64] = from_hex(&a.signature)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .with_context(|| format!("the signature of {} is not 64 bytes of hex", a.public_key))?;
                let approval = Approval { key, signature };
                check_approval(&message, &approval).map_err(|_| {
                    anyhow::anyhow!(
                        "the approval of {} does not sign this update (was the file changed after it?)",
                        a.public_key
                    )
                })?;
                Ok(approval)
            })
            .collect()
    }

    /// Adds (or replaces) `key`'s approval.
    pub fn approve(&mut self, key: &SigningKey) -> anyhow::Result<()> {
        let approval = approve(key, &self.chain_id, &self.update()?);
        let public_key = to_hex(approval.key);
        self.approvals.retain(|a| a.public_key != public_key);
        self.approvals.push(ApprovalJson {
            public_key,
            signature: to_hex(approval.signature),
        });
        Ok(())
    }
}

/// `KEY=POWER` of `--set`.
fn parse_set(text: &str) -> anyhow::Result<ValidatorPowerJson> {
    let (key, power) = text
        .split_once('=')
        .with_context(|| format!("--set {text}: expected <hex public key>=<power>"))?;
    let public_key =
        to_hex(parse_public_key(key).map_err(|e| anyhow::anyhow!("--set {text}: {e}"))?);
    let power: u64 = power
        .parse()
        .with_context(|| format!("--set {text}: the power is not a whole number"))?;
    if power == 0 {
        bail!("--set {text}: power 0 removes a validator; use --remove {key}");
    }
    Ok(ValidatorPowerJson { public_key, power })
}

fn list(a: &ListArgs) -> anyhow::Result<ExitCode> {
    let set = Client::new(&a.node.node).validators(a.height)?;
    println!(
        "height {}: {} validators, total power {}, hash {}",
        set.height,
        set.validators.len(),
        set.total_power,
        set.validators_hash
    );
    for v in &set.validators {
        let name = if v.name.is_empty() { "-" } else { &v.name };
        println!("{}  {:>12}  {name}", v.public_key, v.power);
    }
    println!("next update position: {}", set.update_seq);
    Ok(ExitCode::SUCCESS)
}

fn propose(a: &ProposeArgs) -> anyhow::Result<ExitCode> {
    let mut changes: Vec<ValidatorPowerJson> = a
        .set
        .iter()
        .map(|s| parse_set(s))
        .collect::<anyhow::Result<_>>()?;
    for key in &a.remove {
        let public_key =
            to_hex(parse_public_key(key).map_err(|e| anyhow::anyhow!("--remove {key}: {e}"))?);
        changes.push(ValidatorPowerJson {
            public_key,
            power: 0,
        });
    }
    if changes.is_empty() {
        bail!("nothing to change: give --set KEY=POWER or --remove KEY");
    }
    let client = Client::new(&a.node.node);
    let chain_id = client.status()?.chain_id;
    let seq = client.validators(None)?.update_seq;
    let file = UpdateFile {
        chain_id,
        seq,
        changes,
        approvals: Vec::new(),
    };
    file.update()?;
    file.save(&a.out)?;
    println!(
        "wrote {} (update position {seq}); next: each validator runs `cvm validators approve {} --key <its key \
         file>`, and so does each key it adds",
        a.out.display(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn approve_file(a: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let mut file = UpdateFile::load(&a.file)?;
    file.approvals()?;
    let key = load_key(&a.key)?;
    file.approve(&key)?;
    file.save(&a.file)?;
    println!(
        "approved by {} ({} approval(s) in {})",
        to_hex(key.verifying_key().to_bytes()),
        file.approvals.len(),
        a.file.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn submit(a: &SubmitArgs) -> anyhow::Result<ExitCode> {
    let file = UpdateFile::load(&a.file)?;
    let payload = TxPayload::UpdateValidators {
        update: file.update()?,
        approvals: file.approvals()?,
    };
    let key = load_key(&a.sign.key)?;
    let client = Client::new(&a.node.node);
    let status = client.status()?;
    if status.chain_id != file.chain_id {
        bail!(
            "{} is for chain {:?}, the node serves {:?}",
            a.file.display(),
            file.chain_id,
            status.chain_id
        );
    }
    let nonce = client.account_nonce(key.verifying_key().to_bytes())?;
    let txs = sign_all(&status.chain_id, &key, nonce, vec![payload]);
    submit_and_wait(&client, &txs, &a.sign)
}

/// Runs a `cvm validators` command.
pub fn run(command: &ValidatorsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ValidatorsCommand::List(a) => list(a),
        ValidatorsCommand::Propose(a) => propose(a),
        ValidatorsCommand::Approve(a) => approve_file(a),
        ValidatorsCommand::Submit(a) => submit(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn file() -> UpdateFile {
        UpdateFile {
            chain_id: "c".into(),
            seq: 4,
            changes: vec![
                parse_set(&format!("{}=7", to_hex(key(5).verifying_key().to_bytes()))).unwrap(),
            ],
            approvals: vec![],
        }
    }

    #[test]
    fn approvals_sign_the_file_and_a_changed_file_is_caught() {
        let mut f = file();
        f.approve(&key(1)).unwrap();
        f.approve(&key(2)).unwrap();
        f.approve(&key(1)).unwrap();
        assert_eq!(f.approvals.len(), 2, "a key approves once");
        let approvals = f.approvals().unwrap();
        assert_eq!(approvals[1].key, key(1).verifying_key().to_bytes());
        let mut changed = f.clone();
        changed.changes[0].power = 8;
        let e = changed.approvals().unwrap_err().to_string();
        assert!(e.contains("does not sign this update"), "{e}");
        let mut other_chain = f.clone();
        other_chain.chain_id = "d".into();
        assert!(other_chain.approvals().is_err());
    }

    #[test]
    fn set_arguments_are_checked() {
        assert!(parse_set("zz=1").is_err());
        let k = to_hex(key(1).verifying_key().to_bytes());
        assert!(
            parse_set(&format!("{k}=0"))
                .unwrap_err()
                .to_string()
                .contains("--remove")
        );
        assert!(parse_set(&format!("{k}=x")).is_err());
        assert!(parse_set(&k).is_err());
        assert_eq!(
            parse_set(&format!("0x{}=3", k.trim_start_matches("0x")))
                .unwrap()
                .power,
            3
        );
    }
}
