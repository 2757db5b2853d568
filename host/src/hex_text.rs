//! Bytes as text in JSON and on the command line: `0x`-prefixed lowercase hex out, hex with or without `0x` in.

/// `0x` + lowercase hex.
pub fn to_hex(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Hex with or without `0x`; the error says what was wrong.
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    let t = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(t).map_err(|e| format!("not valid hex ({e})"))
}

/// Exactly 32 bytes of hex.
pub fn from_hex32(text: &str) -> Result<[u8; 32], String> {
    from_hex(text)?
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes, expected 32", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_names_errors() {
        assert_eq!(to_hex([0xab, 0x01]), "0xab01");
        assert_eq!(from_hex("0xAB01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(from_hex("ab01").unwrap(), vec![0xab, 0x01]);
        assert!(from_hex("0xzz").unwrap_err().contains("not valid hex"));
        assert!(
            from_hex32("00")
                .unwrap_err()
                .contains("1 bytes, expected 32")
        );
    }
}
