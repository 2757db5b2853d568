//! A node's HTTP API as a light client's source of headers: each light block is the node's header, certificate
//! and validator set of a height, decoded from the SCALE the API serves (the verifier checks them; nothing here is
//! trusted).

use cvm_consensus::CommitCertificate;
use parity_scale_codec::DecodeAll;

use crate::api_client::Client;
use crate::chain::{BlockHeader, LightBlock};
use crate::hex_text::from_hex;
use crate::verify::light::LightSource;

impl LightSource for Client {
    fn light_block(&self, height: u64) -> Result<LightBlock, String> {
        let block = self.block(Some(height)).map_err(|e| e.to_string())?;
        let header = from_hex(&block.header_scale)
            .and_then(|b| BlockHeader::decode_all(&mut &b[..]).map_err(|e| e.to_string()))
            .map_err(|e| format!("the node's header of height {height} does not decode: {e}"))?;
        let commit = self.commit(Some(height)).map_err(|e| e.to_string())?;
        let certificate = from_hex(&commit.scale)
            .and_then(|b| CommitCertificate::decode_all(&mut &b[..]).map_err(|e| e.to_string()))
            .map_err(|e| {
                format!("the node's certificate of height {height} does not decode: {e}")
            })?;
        let set = self.validators(Some(height)).map_err(|e| e.to_string())?;
        let validators = set
            .validators
            .iter()
            .map(|v| {
                crate::chain::genesis::parse_public_key(&v.public_key)
                    .map(|k| (k, v.power))
                    .map_err(|e| format!("the node's validator {}: {e}", v.public_key))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(LightBlock {
            header,
            certificate,
            validators,
        })
    }
}
