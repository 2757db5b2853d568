//! `cvm keys new | show`: the key files that sign client transactions (deployers, ingest clients).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::chain::AccountKey;

/// Create or show an account key file.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key file, readable and writable by its owner only from the moment it exists; prints its public
    /// key (the account).
    New {
        /// Where to write the key file.
        path: PathBuf,
        /// Replace a file already at PATH (its key is lost unless you kept a copy).
        #[arg(long)]
        force: bool,
    },
    /// Print the public key (the account) of a key file.
    Show {
        /// The key file.
        path: PathBuf,
    },
}

/// Runs `cvm keys …`.
pub fn run(command: &KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::New { path, force } => {
            let public_key = new_key(path, *force)?;
            println!("public key: {}", hex::encode(public_key));
            println!(
                "written to {} (owner read/write only); keep a copy: the account cannot be recovered without it",
                path.display()
            );
        }
        KeysCommand::Show { path } => {
            println!("public key: {}", hex::encode(show_key(path)?));
        }
    }
    Ok(())
}

/// Writes a fresh key to `path` (refusing an existing file unless `force`) and returns its public key.
fn new_key(path: &Path, force: bool) -> anyhow::Result<[u8; 32]> {
    if path.exists() && !force {
        bail!(
            "{} already exists: choose another path, or pass --force to replace it (its key is then lost)",
            path.display()
        );
    }
    let key = AccountKey::generate();
    key.save(path)?;
    Ok(key.public_key())
}

/// The public key of the key file at `path`.
fn show_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    let key = AccountKey::load(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(key.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_private_shown_the_same_and_never_overwritten_by_accident() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/deployer.json");
        let public_key = new_key(&path, false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(show_key(&path).unwrap(), public_key);

        let refused = new_key(&path, false).unwrap_err().to_string();
        assert!(
            refused.contains("already exists") && refused.contains("--force"),
            "{refused}"
        );
        assert_eq!(
            show_key(&path).unwrap(),
            public_key,
            "the key file is untouched"
        );

        let replaced = new_key(&path, true).unwrap();
        assert_ne!(replaced, public_key);
        assert_eq!(show_key(&path).unwrap(), replaced);
    }

    #[test]
    fn showing_a_broken_or_missing_key_file_names_the_file_and_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.json");
        let error = format!("{:#}", show_key(&missing).unwrap_err());
        assert!(
            error.contains("none.json") && error.contains("cannot read key file"),
            "{error}"
        );

        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, r#"{"public_key": "00", "secret_key": "zz"}"#).unwrap();
        let error = format!("{:#}", show_key(&broken).unwrap_err());
        assert!(error.contains("secret_key is not hex"), "{error}");
    }
}
