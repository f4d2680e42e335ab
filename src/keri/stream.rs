//! CESR streams: JSON KERI messages, each followed by its attachment groups.
//!
//! `parse` splits a stream (an OOBI answer, for one) into `Message`s without trusting it: the
//! version string of each message gives its size, the counters give the size of every group,
//! and anything malformed, truncated or over the size limit is an error naming the offset.
//! `Attachments` holds the groups KERIA uses (`-A`, `-B`, `-C`, `-E`, `-F`, `-G`), reads the
//! text of an `atc` and writes it back inside an attachment group `-V`; `write` joins messages
//! into a stream. Nothing here checks a signature: that is `kel` and `oobi`'s work.

use std::fmt;

use serde_json::Value;

use super::cesr::{
    base64_character, base64_value, code::counter, dater_qb64, parse_dater, parse_seqner,
    seqner_qb64, CesrError,
};
use super::kel::{FirstSeen, KelEntry, SealSource};
use super::primitives::{Cigar, Diger, Siger, Verfer, BIG_SIGER_LENGTH};
use super::serder::version_size;

/// The characters a message starts with: the version string is the first field.
const MESSAGE_START: &str = r#"{"v":""#;

/// Length of a qb64 prefix, SAID, key (44), sequence number (24), signature (88), datetime (36).
const PREFIX_LENGTH: usize = 44;
const SEQNER_LENGTH: usize = 24;
const SIGNATURE_LENGTH: usize = 88;
const DATER_LENGTH: usize = 36;

/// Why a stream was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// The stream is longer than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The stream's length.
        size: usize,
    },
    /// The stream ends inside a message or group.
    Truncated {
        /// Offset of what was cut.
        at: usize,
        /// What was cut.
        what: &'static str,
    },
    /// Something other than a message or a counter.
    Unexpected {
        /// Offset.
        at: usize,
    },
    /// A message's version string is malformed.
    Version {
        /// Offset of the message.
        at: usize,
    },
    /// A message's bytes are not JSON.
    Json {
        /// Offset of the message.
        at: usize,
        /// The parser's reason.
        error: String,
    },
    /// A counter code not handled here.
    Counter {
        /// Offset of the counter.
        at: usize,
        /// Its text.
        code: String,
    },
    /// A primitive inside a group is malformed.
    Primitive {
        /// Offset of the primitive.
        at: usize,
        /// Why.
        error: CesrError,
    },
    /// An attachment group's content does not fill its counted size.
    GroupSize {
        /// Offset of the group.
        at: usize,
    },
}

impl fmt::Display for StreamError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::TooLarge { limit, size } => {
                write!(
                    formatter,
                    "stream of {size} bytes exceeds the limit of {limit} bytes"
                )
            }
            StreamError::Truncated { at, what } => {
                write!(formatter, "stream is truncated at byte {at}, inside {what}")
            }
            StreamError::Unexpected { at } => write!(
                formatter,
                "byte {at} starts neither a KERI message nor an attachment counter"
            ),
            StreamError::Version { at } => write!(
                formatter,
                "message at byte {at} does not start with a KERI10JSON version string"
            ),
            StreamError::Json { at, error } => {
                write!(formatter, "message at byte {at} is not JSON: {error}")
            }
            StreamError::Counter { at, code } => {
                write!(
                    formatter,
                    "unsupported attachment counter {code:?} at byte {at}"
                )
            }
            StreamError::Primitive { at, error } => write!(formatter, "at byte {at}: {error}"),
            StreamError::GroupSize { at } => write!(
                formatter,
                "attachment group at byte {at} does not match its counted size"
            ),
        }
    }
}

impl std::error::Error for StreamError {}

/// Signatures by a transferable identifier, under its establishment event at `sn`/`said`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureGroup {
    /// The signer's prefix.
    pub prefix: String,
    /// Sequence number of the signer's establishment event whose keys signed.
    pub sn: u64,
    /// SAID of that establishment event.
    pub said: String,
    /// The indexed signatures.
    pub sigs: Vec<Siger>,
}

/// The attachment groups of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachments {
    /// `-A`: indexed signatures by the controller.
    pub controller_sigs: Vec<Siger>,
    /// `-B`: indexed signatures by witnesses.
    pub witness_sigs: Vec<Siger>,
    /// `-G`: where a delegator anchored the event.
    pub seal_sources: Vec<SealSource>,
    /// `-C`: receipts by non-transferable identifiers.
    pub receipts: Vec<(Verfer, Cigar)>,
    /// `-F`: signatures by transferable identifiers.
    pub signature_groups: Vec<SignatureGroup>,
    /// `-E`: when the sender first saw the event.
    pub first_seen: Vec<FirstSeen>,
    /// `-L`: pathed material (attachments of messages embedded in this one), each group's
    /// text with its counter.
    pub pathed: Vec<String>,
}

/// One message of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message as JSON.
    pub value: Value,
    /// Its bytes as received; signatures cover these.
    pub raw: Vec<u8>,
    /// What followed it.
    pub attachments: Attachments,
}

/// A counter's text: `code` then `count` in base64 digits (two, or five for a big code).
fn counter_text(code: &str, count: usize) -> String {
    let digits = if code.len() == 3 { 5 } else { 2 };
    let mut text = code.to_owned();
    for place in (0..digits).rev() {
        let digit = (count >> (6 * place)) & 63;
        text.push(base64_character(u32::try_from(digit).unwrap_or_default()));
    }
    text
}

impl Attachments {
    /// What a logged event is served with: its signatures, where a delegator approved it, its
    /// witnesses' receipts and when it was first seen.
    pub fn of_entry(entry: &KelEntry) -> Self {
        Self {
            controller_sigs: entry.signed.sigs.clone(),
            seal_sources: entry.signed.delegation.iter().cloned().collect(),
            receipts: entry.receipts.clone(),
            first_seen: vec![entry.first_seen.clone()],
            ..Self::default()
        }
    }

    /// Whether there is nothing attached.
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The groups as CESR text, inside one attachment group `-V`; empty when there is nothing.
    pub fn to_qb64(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut body = String::new();
        let sigs = |code: &str, sigs: &[Siger], body: &mut String| {
            if !sigs.is_empty() {
                body.push_str(&counter_text(code, sigs.len()));
                for siger in sigs {
                    body.push_str(&siger.qb64());
                }
            }
        };
        sigs(
            counter::CONTROLLER_SIGNATURES,
            &self.controller_sigs,
            &mut body,
        );
        sigs(counter::WITNESS_SIGNATURES, &self.witness_sigs, &mut body);
        if !self.seal_sources.is_empty() {
            body.push_str(&counter_text(
                counter::SEAL_SOURCE_COUPLES,
                self.seal_sources.len(),
            ));
            for source in &self.seal_sources {
                body.push_str(&seqner_qb64(source.sn));
                body.push_str(&source.said);
            }
        }
        if !self.receipts.is_empty() {
            body.push_str(&counter_text(
                counter::NON_TRANSFERABLE_RECEIPTS,
                self.receipts.len(),
            ));
            for (verfer, cigar) in &self.receipts {
                body.push_str(&verfer.qb64());
                body.push_str(&cigar.qb64());
            }
        }
        if !self.signature_groups.is_empty() {
            body.push_str(&counter_text(
                counter::TRANSFERABLE_SIGNATURE_GROUPS,
                self.signature_groups.len(),
            ));
            for group in &self.signature_groups {
                body.push_str(&group.prefix);
                body.push_str(&seqner_qb64(group.sn));
                body.push_str(&group.said);
                sigs(counter::CONTROLLER_SIGNATURES, &group.sigs, &mut body);
            }
        }
        if !self.first_seen.is_empty() {
            body.push_str(&counter_text(
                counter::FIRST_SEEN_REPLAYS,
                self.first_seen.len(),
            ));
            for seen in &self.first_seen {
                body.push_str(&seqner_qb64(seen.ordinal));
                // A datetime that cannot be written is left out rather than corrupting the group.
                body.push_str(&dater_qb64(&seen.datetime).unwrap_or_default());
            }
        }
        for pathed in &self.pathed {
            body.push_str(pathed);
        }
        let quadlets = body.len() / 4;
        let code = if quadlets < 64 * 64 {
            counter::ATTACHMENT_GROUP
        } else {
            counter::BIG_ATTACHMENT_GROUP
        };
        counter_text(code, quadlets) + &body
    }

    /// Reads the attachment text of one message, such as the `atc` of `GET /events`.
    pub fn parse(text: &str) -> Result<Self, StreamError> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            at: 0,
            offset: 0,
        };
        let attachments = reader.attachments()?;
        if reader.at != text.len() {
            return Err(StreamError::Unexpected { at: reader.at });
        }
        Ok(attachments)
    }
}

/// Reads a stream of at most `limit` bytes into its messages.
pub fn parse(bytes: &[u8], limit: usize) -> Result<Vec<Message>, StreamError> {
    if bytes.len() > limit {
        return Err(StreamError::TooLarge {
            limit,
            size: bytes.len(),
        });
    }
    let mut reader = Reader {
        bytes,
        at: 0,
        offset: 0,
    };
    let mut messages = Vec::new();
    while reader.at < bytes.len() {
        let (value, raw) = reader.message()?;
        let attachments = reader.attachments()?;
        messages.push(Message {
            value,
            raw,
            attachments,
        });
    }
    Ok(messages)
}

/// Joins messages and their attachments into a stream.
pub fn write<'m>(messages: impl IntoIterator<Item = (&'m [u8], &'m Attachments)>) -> Vec<u8> {
    let mut stream = Vec::new();
    for (raw, attachments) in messages {
        stream.extend_from_slice(raw);
        stream.extend_from_slice(attachments.to_qb64().as_bytes());
    }
    stream
}

/// A cursor over a stream; `offset` is added to positions in errors.
struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
    offset: usize,
}

impl<'b> Reader<'b> {
    fn position(&self) -> usize {
        self.offset + self.at
    }

    fn take(&mut self, length: usize, what: &'static str) -> Result<&'b [u8], StreamError> {
        let end = self.at.checked_add(length);
        let Some(slice) = end.and_then(|end| self.bytes.get(self.at..end)) else {
            return Err(StreamError::Truncated {
                at: self.position(),
                what,
            });
        };
        self.at += length;
        Ok(slice)
    }

    fn text(&mut self, length: usize, what: &'static str) -> Result<&'b str, StreamError> {
        let at = self.position();
        let slice = self.take(length, what)?;
        std::str::from_utf8(slice).map_err(|_| StreamError::Unexpected { at })
    }

    fn primitive<T>(
        &mut self,
        length: usize,
        what: &'static str,
        parse: impl Fn(&str) -> Result<T, CesrError>,
    ) -> Result<T, StreamError> {
        let at = self.position();
        let text = self.text(length, what)?;
        parse(text).map_err(|error| StreamError::Primitive { at, error })
    }

    /// Reads one JSON message, sized by its version string.
    fn message(&mut self) -> Result<(Value, Vec<u8>), StreamError> {
        let at = self.position();
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        if !rest.starts_with(MESSAGE_START.as_bytes()) {
            return Err(StreamError::Unexpected { at });
        }
        let version = rest
            .get(MESSAGE_START.len()..MESSAGE_START.len() + 17)
            .and_then(|version| std::str::from_utf8(version).ok());
        let size = version
            .and_then(version_size)
            .ok_or(StreamError::Version { at })?;
        let raw = self.take(size, "a message")?;
        let value = serde_json::from_slice(raw).map_err(|error| StreamError::Json {
            at,
            error: error.to_string(),
        })?;
        Ok((value, raw.to_vec()))
    }

    /// Reads a counter: its code and count.
    fn counter(&mut self) -> Result<(&'b str, usize), StreamError> {
        let at = self.position();
        let big = self.bytes.get(self.at + 1) == Some(&b'0');
        let (code_length, digits) = if big { (3, 5) } else { (2, 2) };
        let text = self.text(code_length + digits, "a counter")?;
        let (code, count) = text.split_at(code_length);
        let count = count.bytes().try_fold(0usize, |total, digit| {
            base64_value(digit).map(|value| total * 64 + value as usize)
        });
        match count {
            Some(count) if code.starts_with('-') => Ok((code, count)),
            _ => Err(StreamError::Counter {
                at,
                code: text.to_owned(),
            }),
        }
    }

    /// Reads the groups after a message, up to the next message or the end.
    fn attachments(&mut self) -> Result<Attachments, StreamError> {
        let mut attachments = Attachments::default();
        while self.bytes.get(self.at) == Some(&b'-') {
            let at = self.position();
            let (code, count) = self.counter()?;
            if code == counter::ATTACHMENT_GROUP || code == counter::BIG_ATTACHMENT_GROUP {
                let length = count.checked_mul(4).ok_or(StreamError::GroupSize { at })?;
                let content = self.take(length, "an attachment group")?;
                let mut inner = Reader {
                    bytes: content,
                    at: 0,
                    offset: self.position() - length,
                };
                while inner.at < content.len() {
                    let at = inner.position();
                    let (code, count) = inner.counter()?;
                    inner.group(code, count, at, &mut attachments)?;
                }
            } else {
                self.group(code, count, at, &mut attachments)?;
            }
        }
        Ok(attachments)
    }

    fn sigs(&mut self, count: usize) -> Result<Vec<Siger>, StreamError> {
        (0..count)
            .map(|_| {
                let length = if self.bytes.get(self.at) == Some(&b'2') {
                    BIG_SIGER_LENGTH
                } else {
                    SIGNATURE_LENGTH
                };
                self.primitive(length, "a signature", Siger::parse)
            })
            .collect()
    }

    /// Reads the `count` items of one group with counter `code` into `attachments`.
    fn group(
        &mut self,
        code: &str,
        count: usize,
        at: usize,
        attachments: &mut Attachments,
    ) -> Result<(), StreamError> {
        // Every item is at least four characters: a count beyond the bytes left is a lie.
        if count > self.bytes.len().saturating_sub(self.at) / 4 {
            return Err(StreamError::Truncated {
                at,
                what: "an attachment group",
            });
        }
        let said = |text: &str| Diger::parse(text).map(|_| text.to_owned());
        match code {
            counter::CONTROLLER_SIGNATURES => {
                attachments.controller_sigs.extend(self.sigs(count)?);
            }
            counter::WITNESS_SIGNATURES => attachments.witness_sigs.extend(self.sigs(count)?),
            counter::NON_TRANSFERABLE_RECEIPTS => {
                for _ in 0..count {
                    let verfer = self.primitive(PREFIX_LENGTH, "a receipt", Verfer::parse)?;
                    let cigar = self.primitive(SIGNATURE_LENGTH, "a receipt", Cigar::parse)?;
                    attachments.receipts.push((verfer, cigar));
                }
            }
            counter::FIRST_SEEN_REPLAYS => {
                for _ in 0..count {
                    let ordinal =
                        self.primitive(SEQNER_LENGTH, "a first-seen couple", parse_seqner)?;
                    let datetime =
                        self.primitive(DATER_LENGTH, "a first-seen couple", parse_dater)?;
                    attachments.first_seen.push(FirstSeen { ordinal, datetime });
                }
            }
            counter::PATHED_MATERIAL | counter::BIG_PATHED_MATERIAL => {
                let start = self.at - code.len() - if code.len() == 3 { 5 } else { 2 };
                self.take(count * 4, "pathed material")?;
                let text = std::str::from_utf8(&self.bytes[start..self.at])
                    .map_err(|_| StreamError::Unexpected { at })?;
                attachments.pathed.push(text.to_owned());
            }
            counter::SEAL_SOURCE_COUPLES => {
                for _ in 0..count {
                    let sn = self.primitive(SEQNER_LENGTH, "a seal source", parse_seqner)?;
                    let said = self.primitive(PREFIX_LENGTH, "a seal source", said)?;
                    attachments.seal_sources.push(SealSource { sn, said });
                }
            }
            counter::TRANSFERABLE_SIGNATURE_GROUPS => {
                for _ in 0..count {
                    let prefix = self.primitive(PREFIX_LENGTH, "a signature group", |text| {
                        Diger::parse(text)
                            .map(|_| ())
                            .or_else(|_| Verfer::parse(text).map(|_| ()))
                            .map(|()| text.to_owned())
                    })?;
                    let sn = self.primitive(SEQNER_LENGTH, "a signature group", parse_seqner)?;
                    let said = self.primitive(PREFIX_LENGTH, "a signature group", said)?;
                    let at = self.position();
                    let (code, count) = self.counter()?;
                    if code != counter::CONTROLLER_SIGNATURES {
                        return Err(StreamError::Counter {
                            at,
                            code: code.to_owned(),
                        });
                    }
                    let sigs = self.sigs(count)?;
                    attachments.signature_groups.push(SignatureGroup {
                        prefix,
                        sn,
                        said,
                        sigs,
                    });
                }
            }
            _ => {
                return Err(StreamError::Counter {
                    at,
                    code: code.to_owned(),
                })
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::vectors::{AGENT_OOBI, AID1_ATC};
    use proptest::prelude::*;

    const LIMIT: usize = 1 << 20;

    #[test]
    fn the_agent_oobi_parses_and_writes_back_identically() {
        let messages = parse(AGENT_OOBI, LIMIT).unwrap();
        let kinds: Vec<&str> = messages
            .iter()
            .map(|message| message.value["t"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["icp", "ixn", "icp", "ixn", "dip", "rpy", "rpy"]);
        let dip = &messages[4].attachments;
        assert_eq!(dip.controller_sigs.len(), 1);
        assert_eq!(
            dip.seal_sources,
            [SealSource {
                sn: 1,
                said: messages[3].value["d"].as_str().unwrap().to_owned()
            }]
        );
        assert_eq!(
            dip.first_seen,
            [FirstSeen {
                ordinal: 0,
                datetime: "2026-11-24T21:59:13.539669+00:00".into()
            }]
        );
        let location = &messages[5].attachments;
        assert!(location.controller_sigs.is_empty());
        assert_eq!(location.signature_groups.len(), 1);
        assert_eq!(location.signature_groups[0].prefix, messages[4].value["i"]);
        assert_eq!(location.signature_groups[0].sn, 0);
        assert_eq!(location.signature_groups[0].sigs.len(), 1);
        for message in &messages {
            assert_eq!(message.raw, message.value.to_string().into_bytes());
        }
        let written = write(
            messages
                .iter()
                .map(|message| (message.raw.as_slice(), &message.attachments)),
        );
        assert_eq!(written, AGENT_OOBI);
    }

    #[test]
    fn event_attachments_round_trip() {
        for atc in AID1_ATC {
            let attachments = Attachments::parse(atc).unwrap();
            assert_eq!(attachments.controller_sigs.len(), 1);
            assert_eq!(attachments.first_seen.len(), 1);
            assert_eq!(attachments.to_qb64(), atc);
        }
        assert_eq!(
            Attachments::parse(AID1_ATC[2]).unwrap().first_seen[0],
            FirstSeen {
                ordinal: 2,
                datetime: "2026-11-24T21:59:12.020623+00:00".into()
            }
        );
        assert_eq!(Attachments::default().to_qb64(), "");
        assert_eq!(Attachments::parse("").unwrap(), Attachments::default());
    }

    #[test]
    fn bad_streams_are_refused_with_their_offset() {
        assert_eq!(
            parse(AGENT_OOBI, 100).unwrap_err().to_string(),
            format!(
                "stream of {} bytes exceeds the limit of 100 bytes",
                AGENT_OOBI.len()
            )
        );
        assert_eq!(
            parse(&AGENT_OOBI[..200], LIMIT).unwrap_err().to_string(),
            "stream is truncated at byte 0, inside a message"
        );
        assert_eq!(
            parse(&AGENT_OOBI[..AGENT_OOBI.len() - 1], LIMIT)
                .unwrap_err()
                .to_string(),
            format!(
                "stream is truncated at byte {}, inside an attachment group",
                AGENT_OOBI.len() - 208
            )
        );
        assert_eq!(
            parse(b"{\"v\":\"KERI10JSON00012B_\"}", LIMIT)
                .unwrap_err()
                .to_string(),
            "message at byte 0 does not start with a KERI10JSON version string"
        );
        assert_eq!(
            parse(b"x", LIMIT).unwrap_err().to_string(),
            "byte 0 starts neither a KERI message nor an attachment counter"
        );
        let first = 299 + 160;
        let mut unknown = AGENT_OOBI.to_vec();
        unknown[304] = b'Z';
        assert_eq!(
            parse(&unknown, LIMIT).unwrap_err().to_string(),
            "unsupported attachment counter \"-Z\" at byte 303"
        );
        unknown[303] = b'Z';
        assert_eq!(
            parse(&unknown, LIMIT).unwrap_err().to_string(),
            "unsupported attachment counter \"ZZAB\" at byte 303"
        );
        assert!(parse(&AGENT_OOBI[..first], LIMIT).is_ok());
        let mut bad_sig = AGENT_OOBI.to_vec();
        bad_sig[307] = b'Z';
        assert!(parse(&bad_sig, LIMIT)
            .unwrap_err()
            .to_string()
            .starts_with("at byte 307: not a qb64 indexed Ed25519 signature"));
        assert_eq!(
            Attachments::parse("-AAB").unwrap_err().to_string(),
            "stream is truncated at byte 0, inside an attachment group"
        );
        assert_eq!(
            Attachments::parse("-VAA{").unwrap_err().to_string(),
            "byte 4 starts neither a KERI message nor an attachment counter"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes, LIMIT);
        }

        #[test]
        fn mutated_streams_never_panic(at in 0..AGENT_OOBI.len(), byte in any::<u8>(), cut in 0..AGENT_OOBI.len()) {
            let mut bytes = AGENT_OOBI.to_vec();
            bytes[at] = byte;
            let _ = parse(&bytes, LIMIT);
            let _ = parse(&bytes[..cut], LIMIT);
            let _ = parse(&bytes[cut..], LIMIT);
        }

        #[test]
        fn mutated_attachments_never_panic(at in 0..156usize, byte in prop::sample::select(b"-ABCEFGV0_AZ".to_vec())) {
            let mut text = AID1_ATC[0].as_bytes().to_vec();
            text[at] = byte;
            let text = String::from_utf8(text).unwrap();
            if let Ok(attachments) = Attachments::parse(&text) {
                prop_assert_eq!(Attachments::parse(&attachments.to_qb64()).unwrap(), attachments);
            }
        }
    }
}
