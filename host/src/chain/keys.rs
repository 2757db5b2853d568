//! Key files: the validator's consensus key (ed25519, signs proposals and votes), the node's libp2p identity, and
//! account keys (sign client transactions: deploys, ingests).

use std::path::Path;

use cvm_consensus::Ed25519Signer;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
// Each variant and its fields are described by the variant's #[error] message.
#[allow(missing_docs)]
pub enum KeyError {
    #[error(
        "cannot read key file {path}: {cause}; restore it from your backup (a new key would have to be added to \
         genesis or to the other nodes' peer lists), or create a new home with `cvm init --home <dir>`"
    )]
    Read { path: String, cause: std::io::Error },
    #[error("cannot write key file {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    #[error("key file {path} is not valid: {reason}; restore it from your backup")]
    Invalid { path: String, reason: String },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    public_key: String,
    secret_key: String,
}

fn read_key(path: &Path) -> Result<SigningKey, KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|cause| KeyError::Read {
        path: path.display().to_string(),
        cause,
    })?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let secret = hex::decode(file.secret_key.trim_start_matches("0x"))
        .map_err(|e| invalid(format!("secret_key is not hex: {e}")))?;
    let secret: [u8; 32] = secret
        .try_into()
        .map_err(|b: Vec<u8>| invalid(format!("secret_key is {} bytes, expected 32", b.len())))?;
    let key = SigningKey::from_bytes(&secret);
    if hex::encode(key.verifying_key().to_bytes())
        != file.public_key.trim_start_matches("0x").to_lowercase()
    {
        return Err(invalid("public_key does not match secret_key".into()));
    }
    Ok(key)
}

fn write_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let file = KeyFile {
        public_key: hex::encode(key.verifying_key().to_bytes()),
        secret_key: hex::encode(key.to_bytes()),
    };
    let write_err = |cause| KeyError::Write {
        path: path.display().to_string(),
        cause,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let text = serde_json::to_string_pretty(&file).expect("serializes");
    // The secret goes into a temporary file that is private from its creation, then replaces `path` whole: at
    // no moment does a readable file, or a half-written key, sit at either path.
    let temp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&temp);
    let written = create_private(&temp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(write_err(e));
    }
    Ok(())
}

/// Creates `path` (which must not exist) readable and writable by its owner only.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// `generate`, `load` and `save` for a key newtype over `SigningKey` (both key files share one format).
macro_rules! key_file_methods {
    ($ty:ident) => {
        impl $ty {
            /// A fresh key from the operating system's random source.
            pub fn generate() -> Self {
                Self(SigningKey::generate(&mut rand::rngs::OsRng))
            }
            /// Reads a key file.
            pub fn load(path: &Path) -> Result<Self, KeyError> {
                read_key(path).map(Self)
            }
            /// Writes the key file to `path`, creating its directory.
            pub fn save(&self, path: &Path) -> Result<(), KeyError> {
                write_key(path, &self.0)
            }
        }
    };
}

/// The consensus signing key.
#[derive(Clone)]
pub struct ValidatorKey(pub SigningKey);

key_file_methods!(ValidatorKey);

impl ValidatorKey {
    /// The ed25519 public key: the validator's identity in genesis and on votes.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    /// A consensus signer over this key.
    pub fn signer(&self) -> Ed25519Signer {
        Ed25519Signer::new(self.0.clone())
    }
}

/// An account's key: signs client transactions (deploys, ingests); its public key is the account.
#[derive(Clone)]
pub struct AccountKey(pub SigningKey);

key_file_methods!(AccountKey);

impl AccountKey {
    /// The ed25519 public key: the account's identity in transactions and state.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
}

/// The libp2p identity (ed25519); its peer id goes into other nodes' peer lists.
#[derive(Clone)]
pub struct NodeKey(pub SigningKey);

key_file_methods!(NodeKey);

impl NodeKey {
    /// The key as a libp2p identity.
    pub fn keypair(&self) -> libp2p::identity::Keypair {
        libp2p::identity::Keypair::ed25519_from_bytes(self.0.to_bytes())
            .expect("32-byte ed25519 secret")
    }
    /// The libp2p peer id other nodes list this node under.
    pub fn peer_id(&self) -> libp2p::PeerId {
        self.keypair().public().to_peer_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_mismatch_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = ValidatorKey::generate();
        key.save(&path).unwrap();
        assert_eq!(
            ValidatorKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        let other = ValidatorKey::generate();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            &hex::encode(key.public_key()),
            &hex::encode(other.public_key()),
        );
        std::fs::write(&path, text).unwrap();
        let e = ValidatorKey::load(&path).err().unwrap();
        assert!(e.to_string().contains("does not match"), "{e}");
        std::fs::write(&path, "{}").unwrap();
        assert!(matches!(
            ValidatorKey::load(&path),
            Err(KeyError::Invalid { .. })
        ));
        let nk = NodeKey::generate();
        nk.save(&path).unwrap();
        assert_eq!(NodeKey::load(&path).unwrap().peer_id(), nk.peer_id());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_is_private_from_its_creation_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Created empty, before a byte of the secret is written: owner-only whatever the umask allows.
        let fresh = dir.path().join("fresh");
        drop(create_private(&fresh).unwrap());
        assert_eq!(mode(&fresh), 0o600);
        // Saving over a readable file leaves an owner-only file and no temporary behind.
        let path = dir.path().join("k.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let key = ValidatorKey::generate();
        key.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            ValidatorKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn bad_hex_wrong_length_bad_json_and_missing_files_name_the_file_and_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let public = hex::encode(ValidatorKey::generate().public_key());
        let file = |secret: &str| format!(r#"{{"public_key":"{public}","secret_key":"{secret}"}}"#);
        for (text, needle) in [
            (file(&"zz".repeat(32)), "secret_key is not hex"),
            (
                file(&"ab".repeat(31)),
                "secret_key is 31 bytes, expected 32",
            ),
            (file("abc"), "secret_key is not hex"),
            (
                r#"{"public_key":"00"}"#.to_string(),
                "missing field `secret_key`",
            ),
            (
                format!("{}, \"x\": 1}}", &file("00")[..file("00").len() - 1]),
                "unknown field `x`",
            ),
            ("not json".to_string(), "expected ident"),
        ] {
            std::fs::write(&path, &text).unwrap();
            let e = ValidatorKey::load(&path).err().unwrap();
            let msg = e.to_string();
            assert!(matches!(e, KeyError::Invalid { .. }), "{text}: {e:?}");
            assert!(
                msg.contains(&path.display().to_string())
                    && msg.contains(needle)
                    && msg.contains("backup"),
                "{text}: {msg}"
            );
        }
        let missing = dir.path().join("absent.json");
        let e = NodeKey::load(&missing).err().unwrap();
        let msg = e.to_string();
        assert!(matches!(e, KeyError::Read { .. }), "{e:?}");
        assert!(
            msg.contains(&missing.display().to_string()) && msg.contains("cvm init"),
            "{msg}"
        );
    }
}
