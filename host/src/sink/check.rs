//! The checks a block passes before anything of it is written: it is the next height, its certificate and change
//! proofs verify against the genesis validators, its parent is the last block written; and a manuscript's proven
//! code is the code its tables' types came from.

use cvm_runtime::state::ManuscriptMeta;
use parity_scale_codec::Decode;

use super::cursor::Cursor;
use super::error::SinkError;
use crate::block_changes::{BlockChanges, verify_changes};
use crate::hex_text::to_hex;
use crate::verify::Trust;

/// Checks that `block` follows `last` (the last block verified) and verifies against what the sink trusts.
pub fn check_block(last: &Cursor, block: &BlockChanges, trust: &Trust) -> Result<(), SinkError> {
    let height = block.height;
    if height != last.height + 1 {
        return Err(SinkError::Refused {
            height,
            cause: format!(
                "the feed sent block {height} where block {} comes next",
                last.height + 1
            ),
        });
    }
    verify_changes(block, trust).map_err(|e| SinkError::Unverified {
        height,
        cause: Box::new(e),
    })?;
    // With one certificate per height from the genesis validators this holds unless they signed two chains; it
    // is checked anyway, since it costs a comparison.
    if last.height > 0 && block.header.parent_hash != last.block_hash {
        return Err(SinkError::Refused {
            height,
            cause: format!(
                "its parent is {}, not block {} ({}) that the sink wrote",
                to_hex(block.header.parent_hash),
                last.height,
                to_hex(last.block_hash)
            ),
        });
    }
    Ok(())
}

/// The code hash in manuscript `name`'s proven metadata `meta` (of block `height`), refused when it is not
/// `known`, the hash of the code whose types made its tables.
pub fn proven_code_hash(
    height: u64,
    name: &str,
    meta: &[u8],
    known: Option<[u8; 32]>,
) -> Result<[u8; 32], SinkError> {
    let hash = ManuscriptMeta::decode(&mut &meta[..])
        .map_err(|e| SinkError::Refused {
            height,
            cause: format!("manuscript {name}'s proven metadata does not decode: {e}"),
        })?
        .code_hash;
    match known {
        Some(known) if known != hash => Err(SinkError::Refused {
            height,
            cause: format!(
                "manuscript {name}'s proven code hash is {}, not {} whose types made its tables",
                to_hex(hash),
                to_hex(known)
            ),
        }),
        _ => Ok(hash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixture::{self, changes};

    fn after(block: &BlockChanges, parent: [u8; 32]) -> Cursor {
        Cursor {
            chain_id: block.chain_id.clone(),
            height: block.height - 1,
            block_hash: parent,
            state_root: [0; 32],
        }
    }

    #[test]
    fn a_block_must_follow_verify_and_link() {
        let genesis = fixture::trust();
        let block = changes();
        let parent = block.header.parent_hash;
        check_block(&after(&block, parent), &block, &genesis).expect("the next block verifies");

        let mut behind = after(&block, parent);
        behind.height -= 1;
        let error = check_block(&behind, &block, &genesis)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!(
                "refused block {}: the feed sent block {} where block {} comes next",
                block.height,
                block.height,
                block.height - 1
            )),
            "{error}"
        );

        let error = check_block(&after(&block, [7; 32]), &block, &genesis)
            .unwrap_err()
            .to_string();
        assert!(error.contains("its parent is"), "{error}");

        let mut unsigned = block.clone();
        unsigned.certificate.signatures.clear();
        let error = check_block(&after(&block, parent), &unsigned, &genesis)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("it does not verify") && error.contains("nothing of it was written"),
            "{error}"
        );
    }

    #[test]
    fn proven_code_must_be_the_code_of_the_tables() {
        let block = changes();
        let meta = block.datasets[0].manuscript_meta.clone().expect("metadata");
        let hash = proven_code_hash(5, "m", &meta, None).expect("decodes");
        assert_eq!(proven_code_hash(5, "m", &meta, Some(hash)).unwrap(), hash);
        let error = proven_code_hash(5, "m", &meta, Some([1; 32]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("refused block 5: manuscript m's proven code hash is"),
            "{error}"
        );
        let error = proven_code_hash(5, "m", &[1, 2], None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not decode"), "{error}");
    }
}
