//! Challenges: a controller proves it controls an identifier by signing words it was given.
//!
//! `generate` draws BIP-39 English words. The challenged side signs them into a
//! `/challenge/response` exn; when one arrives (`exchanges::receive`), `responded` keeps it
//! under its sender and completes the `challenge.{source}` operation `verify` started, if the
//! words are the same. `accept` marks a response authenticated; contacts list each response
//! (`for_contact`).

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use crate::agency::operations;
use crate::agency::Failure;
use crate::keri::exchange::Exchange;
use crate::store::{OwnerReader, OwnerWriter, CHALLENGES, EXCHANGES, OPERATIONS};

/// The route of a signed challenge response.
pub const RESPONSE_ROUTE: &str = "/challenge/response";
/// Entropy of a challenge when the request names none, in bits (12 words).
pub const DEFAULT_STRENGTH: usize = 128;
/// Most words a response may carry (BIP-39's longest phrase).
const MAX_WORDS: usize = 24;

/// `strength` bits of fresh entropy as BIP-39 English words (12 words for 128 bits, 24 for 256).
pub fn generate(strength: usize) -> Result<Vec<&'static str>, Failure> {
    if !(128..=256).contains(&strength) || !strength.is_multiple_of(32) {
        return Err(Failure::Invalid(format!(
            "strength must be 128, 160, 192, 224 or 256 bits, not {strength}"
        )));
    }
    let mut entropy = [0_u8; 32];
    let entropy = &mut entropy[..strength / 8];
    getrandom::getrandom(entropy)
        .map_err(|err| Failure::Storage(anyhow!("no randomness for a challenge: {err}")))?;
    let mnemonic = bip39::Mnemonic::from_entropy(entropy)
        .map_err(|err| Failure::Storage(anyhow!("BIP-39 words: {err}")))?;
    Ok(mnemonic.words().collect())
}

/// The words of a `/challenge/response`: `a.words`, 1 to 24 strings.
pub fn words_of(exn: &Exchange) -> Result<Vec<String>, Failure> {
    words(&exn.attributes()["words"])
        .map_err(|reason| Failure::Invalid(format!("challenge response {}: {reason}", exn.said())))
}

/// A list of 1 to 24 words.
pub fn words(value: &Value) -> Result<Vec<String>, String> {
    let words: Option<Vec<String>> = value.as_array().and_then(|words| {
        words
            .iter()
            .map(|word| word.as_str().map(str::to_owned))
            .collect()
    });
    match words {
        Some(words) if !words.is_empty() && words.len() <= MAX_WORDS => Ok(words),
        _ => Err(format!(
            "words must be a list of 1 to {MAX_WORDS} strings, not {value}"
        )),
    }
}

/// Keeps a verified response from its sender, and completes the sender's pending
/// `challenge.{sender}` operation when it asked for these words.
pub fn responded(rows: &mut OwnerWriter<'_>, exn: &Exchange, words: &[String]) -> Result<()> {
    let source = exn.sender();
    let record =
        json!({"dt": exn.datetime(), "words": words, "said": exn.said(), "authenticated": false});
    rows.put_record(
        CHALLENGES,
        &format!("{source}.{}", exn.said()),
        &record.to_string(),
    )?;
    let name = operation_name(source);
    let Some(text) = rows.record(OPERATIONS, &name)? else {
        return Ok(());
    };
    let operation: Value = serde_json::from_str(&text).context("stored operation")?;
    if operation["done"] == false && operation["metadata"]["words"] == json!(words) {
        let done = operations::done(
            &name,
            operation["metadata"].clone(),
            json!({"exn": exn.value()}),
        );
        operations::stage(rows, &done)?;
    }
    Ok(())
}

/// Stages the `challenge.{source}` operation: done at once when a response from `source` with
/// these words has already arrived, else pending until one does. `source` must be known here.
pub fn verify(
    rows: &mut OwnerWriter<'_>,
    source: &str,
    words: &[String],
) -> Result<Value, Failure> {
    if rows.kel(source)?.is_empty() {
        return Err(Failure::NotFound(format!(
            "challenge response source={source} not found: resolve its OOBI first"
        )));
    }
    let name = operation_name(source);
    let metadata = json!({"words": words});
    let mut operation = operations::pending(&name, metadata.clone());
    for (_, record) in rows.records(CHALLENGES, &format!("{source}."))? {
        let response: Value = serde_json::from_str(&record).context("stored challenge")?;
        if response["words"] == json!(words) {
            let said = response["said"].as_str().unwrap_or_default();
            let exn = rows
                .record(EXCHANGES, said)?
                .ok_or_else(|| anyhow!("challenge response {said} without its message"))?;
            let exn: Value = serde_json::from_str(&exn).context("stored exchange message")?;
            operation = operations::done(&name, metadata.clone(), json!({"exn": exn["exn"]}));
            break;
        }
    }
    operations::stage(rows, &operation)?;
    Ok(operation)
}

/// Marks the response `said` from `source` authenticated.
pub fn accept(rows: &mut OwnerWriter<'_>, source: &str, said: &str) -> Result<(), Failure> {
    let key = format!("{source}.{said}");
    let Some(record) = rows.record(CHALLENGES, &key)? else {
        return Err(Failure::NotFound(format!(
            "no challenge response {said} from {source}"
        )));
    };
    let mut response: Value = serde_json::from_str(&record).context("stored challenge")?;
    response["authenticated"] = true.into();
    rows.put_record(CHALLENGES, &key, &response.to_string())?;
    Ok(())
}

/// Every response received from `id`, oldest first: `{dt, words, said, authenticated}`.
pub fn for_contact(rows: &OwnerReader<'_>, id: &str) -> Result<Vec<Value>> {
    let mut responses = rows
        .records(CHALLENGES, &format!("{id}."))?
        .iter()
        .map(|(_, record)| serde_json::from_str(record).context("stored challenge"))
        .collect::<Result<Vec<Value>>>()?;
    responses.sort_by(|a, b| a["dt"].as_str().cmp(&b["dt"].as_str()));
    Ok(responses)
}

fn operation_name(source: &str) -> String {
    format!("challenge.{source}")
}

#[cfg(test)]
mod tests {
    use super::generate;

    #[test]
    fn challenges_are_12_or_24_english_words_and_other_strengths_are_refused() {
        let twelve = generate(128).unwrap();
        assert_eq!(twelve.len(), 12);
        assert_eq!(generate(256).unwrap().len(), 24);
        assert_ne!(twelve, generate(128).unwrap());
        let english = bip39::Language::English.word_list();
        assert!(twelve.iter().all(|word| english.contains(word)));
        assert!(generate(100).is_err());
        assert!(generate(512).is_err());
    }
}
