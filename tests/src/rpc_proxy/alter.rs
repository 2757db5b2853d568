//! Altered logs: one hex digit of a log's data changed, the rest of the answer as it was.

use serde_json::Value;

/// The answer with one byte of every log's data changed (a batch or a single answer).
pub fn alter_logs(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(bytes).ok()?;
    match &mut value {
        Value::Array(answers) => answers.iter_mut().for_each(alter_answer),
        answer => alter_answer(answer),
    }
    serde_json::to_vec(&value).ok()
}

fn alter_answer(answer: &mut Value) {
    let Some(logs) = answer
        .get_mut("result")
        .and_then(|r| r.get_mut("logs"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for log in logs {
        if let Some(Value::String(data)) = log.get_mut("data") {
            *data = flip_last_hex_digit(data);
        }
    }
}

/// `0x…` with its last hex digit changed (`0x` alone becomes `0x01`).
pub fn flip_last_hex_digit(hex: &str) -> String {
    let digits = hex.trim_start_matches("0x");
    if digits.is_empty() {
        return "0x01".into();
    }
    let (head, last) = digits.split_at(digits.len() - 1);
    let flipped = if last == "0" { "1" } else { "0" };
    format!("0x{head}{flipped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn altering_changes_every_logs_data_in_batches_and_single_answers() {
        let single =
            br#"{"jsonrpc":"2.0","id":1,"result":{"logs":[{"data":"0x00ff"},{"data":"0x"}]}}"#;
        let altered: Value = serde_json::from_slice(&alter_logs(single).unwrap()).unwrap();
        assert_eq!(altered["result"]["logs"][0]["data"], "0x00f0");
        assert_eq!(altered["result"]["logs"][1]["data"], "0x01");
        let batch = br#"[{"id":1,"result":{"logs":[{"data":"0x10"}]}},{"id":2,"result":null}]"#;
        let altered: Value = serde_json::from_slice(&alter_logs(batch).unwrap()).unwrap();
        assert_eq!(altered[0]["result"]["logs"][0]["data"], "0x11");
        assert_eq!(altered[1]["result"], Value::Null);
    }
}
