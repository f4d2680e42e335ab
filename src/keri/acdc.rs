//! Authentic chained data containers (ACDCs): credentials as signify-ts 0.4.0 builds them,
//! `{v, d, u?, i, ri?, s, a, e?, r?}` in JSON, and the `-L` pathed attachment groups an `exn`
//! carries for the messages it embeds.
//!
//! `Acdc::verify` checks the version string (`ACDC10JSON`, the serialized size), the SAID `d`
//! (one Blake3-256 digest over the credential with `d` dummied, as keripy's `Saider` does),
//! the SAIDs of the attribute, edge and rule blocks when they are objects with a `d`, the
//! issuer, schema and registry fields, and each edge's shape (`n` the source SAID, `s` its
//! schema, `o` an operator among `I2I`, `NI2I`, `DI2I`). Nothing here reads a store: whether a
//! source exists, is unrevoked and fits its operator is the caller's to check.

use serde_json::{Map, Value};

use super::exchange::Exchange;
use super::primitives::Diger;
use super::serder::{compact, saidify, shown, DUMMY};

/// Start of an ACDC's version string: protocol ACDC, version 1.0, JSON.
const VERSION_PREFIX: &str = "ACDC10JSON";
/// The edge operators keripy's verifier knows.
pub const OPERATORS: [&str; 3] = ["I2I", "NI2I", "DI2I"];

/// A verified credential.
#[derive(Debug, Clone)]
pub struct Acdc {
    value: Value,
    raw: Vec<u8>,
    said: String,
}

/// One edge of a credential: the source it chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The edge's label in `e`.
    pub label: String,
    /// The source credential's SAID `n`.
    pub source: String,
    /// The source's schema `s`, when the edge names one.
    pub schema: Option<String>,
    /// The operator `o` (`I2I` when absent and the edge is not `NI2I`).
    pub operator: String,
}

impl Acdc {
    /// Verifies a received credential.
    pub fn verify(value: &Value) -> Result<Self, String> {
        let map = value
            .as_object()
            .ok_or_else(|| "an ACDC must be a JSON object".to_owned())?;
        let version = map.get("v").and_then(Value::as_str).unwrap_or_default();
        let declared = version
            .strip_prefix(VERSION_PREFIX)
            .and_then(|rest| rest.strip_suffix('_'))
            .filter(|digits| digits.len() == 6)
            .and_then(|digits| usize::from_str_radix(digits, 16).ok())
            .ok_or_else(|| {
                format!("the ACDC's version string v is not ACDC10JSON……_: {version:?}")
            })?;
        for label in ["d", "i", "s"] {
            if map
                .get(label)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(format!("the ACDC's {label} must be a non-empty string"));
            }
        }
        let raw = compact(value);
        if raw.len() != declared {
            return Err(format!(
                "the ACDC's version string declares {declared} bytes; it has {}",
                raw.len()
            ));
        }
        let said = map["d"].as_str().unwrap_or_default().to_owned();
        let computed = said_of(map, true);
        if computed != said {
            return Err(format!("the ACDC's SAID d is {said}, computed {computed}"));
        }
        for block in ["a", "e", "r"] {
            if let Some(Value::Object(inner)) = map.get(block) {
                if let Some(Value::String(said)) = inner.get("d") {
                    let computed = said_of(inner, false);
                    if *said != computed {
                        return Err(format!(
                            "the ACDC's {block} block has SAID {said}, computed {computed}"
                        ));
                    }
                }
            }
        }
        if !matches!(map.get("a"), Some(Value::Object(_))) {
            return Err("the ACDC's attributes a must be an object".into());
        }
        let acdc = Self {
            value: value.clone(),
            raw,
            said,
        };
        acdc.edges()?;
        Ok(acdc)
    }

    /// The compact serialization.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The credential as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Its SAID `d`.
    pub fn said(&self) -> &str {
        &self.said
    }

    /// The issuer `i`.
    pub fn issuer(&self) -> &str {
        self.value["i"].as_str().unwrap_or_default()
    }

    /// The schema's SAID `s`.
    pub fn schema(&self) -> &str {
        self.value["s"].as_str().unwrap_or_default()
    }

    /// The registry `ri`, if it has one.
    pub fn registry(&self) -> Option<&str> {
        self.value["ri"].as_str().filter(|ri| !ri.is_empty())
    }

    /// The attributes `a`.
    pub fn attributes(&self) -> &Value {
        &self.value["a"]
    }

    /// The issuee `a.i`, if it has one.
    pub fn issuee(&self) -> Option<&str> {
        self.value["a"]["i"].as_str().filter(|i| !i.is_empty())
    }

    /// The issuance datetime `a.dt`, if it has one.
    pub fn datetime(&self) -> &str {
        self.value["a"]["dt"].as_str().unwrap_or_default()
    }

    /// The edges of `e`, each checked for its shape.
    pub fn edges(&self) -> Result<Vec<Edge>, String> {
        let Some(edges) = self.value.get("e") else {
            return Ok(Vec::new());
        };
        let edges = edges
            .as_object()
            .ok_or_else(|| "the ACDC's edges e must be an object".to_owned())?;
        let mut found = Vec::new();
        for (label, edge) in edges {
            if label == "d" {
                continue;
            }
            let Some(edge) = edge.as_object() else {
                return Err(format!(
                    "edge {label} is {}: edge groups are not supported",
                    shown(edge)
                ));
            };
            let source = edge
                .get("n")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("edge {label} names no source credential n"))?;
            let operator = match edge.get("o") {
                None => "I2I".to_owned(),
                Some(Value::String(operator)) if OPERATORS.contains(&operator.as_str()) => {
                    operator.clone()
                }
                Some(other) => {
                    return Err(format!(
                        "edge {label} has operator {}, not one of {}",
                        shown(other),
                        OPERATORS.join(", ")
                    ))
                }
            };
            found.push(Edge {
                label: label.clone(),
                source: source.to_owned(),
                schema: edge.get("s").and_then(Value::as_str).map(str::to_owned),
                operator,
            });
        }
        Ok(found)
    }
}

/// A credential by `issuer` in `registry` of `schema` with `attributes` (their block's SAID
/// `d` first), as signify-ts builds one.
pub fn build(issuer: &str, registry: &str, schema: &str, attributes: &Map<String, Value>) -> Acdc {
    let mut block = Map::new();
    block.insert("d".into(), "".into());
    block.extend(attributes.clone());
    let block_said = said_of(&block, false);
    block.insert("d".into(), block_said.into());
    let mut map = Map::new();
    for (label, text) in [
        ("v", ""),
        ("d", ""),
        ("i", issuer),
        ("ri", registry),
        ("s", schema),
    ] {
        map.insert(label.into(), text.into());
    }
    map.insert("a".into(), Value::Object(block));
    let said = said_of(&map, true);
    map.insert("d".into(), said.clone().into());
    let size_probe = compact(&Value::Object(map.clone())).len();
    let size = size_probe - map["v"].as_str().map_or(0, str::len) + VERSION_PREFIX.len() + 7;
    map.insert("v".into(), format!("{VERSION_PREFIX}{size:06x}_").into());
    let value = Value::Object(map);
    Acdc {
        raw: compact(&value),
        value,
        said,
    }
}

/// An IPEX message from `sender` to `recipient` on `route` answering `prior` (or none), with
/// `payload` after `a.i` and the messages `embeds` in `e` (their block's SAID `d` last), as
/// signify-ts's `exchange()` builds one.
pub fn ipex_message(
    (sender, recipient): (&str, &str),
    (route, prior): (&str, &str),
    payload: &Map<String, Value>,
    embeds: &[(&str, &Value)],
    datetime: &str,
) -> Result<Exchange, String> {
    let mut attributes = Map::new();
    attributes.insert("i".into(), recipient.into());
    attributes.extend(payload.clone());
    let mut block = Map::new();
    for (label, value) in embeds {
        block.insert((*label).into(), (*value).clone());
    }
    if !block.is_empty() {
        block.insert("d".into(), "".into());
        let said = said_of(&block, false);
        block.insert("d".into(), said.into());
    }
    let mut map = Map::new();
    for (label, text) in [
        ("v", ""),
        ("t", "exn"),
        ("d", ""),
        ("i", sender),
        ("rp", recipient),
        ("p", prior),
        ("dt", datetime),
        ("r", route),
    ] {
        map.insert(label.into(), text.into());
    }
    map.insert("q".into(), Value::Object(Map::new()));
    map.insert("a".into(), Value::Object(attributes));
    map.insert("e".into(), Value::Object(block));
    let (value, _, _) = saidify(map, false);
    Exchange::verify(&value).map_err(|err| err.to_string())
}

/// The SAID of `map` with its `d` dummied; `versioned` sizes its version string first.
fn said_of(map: &Map<String, Value>, versioned: bool) -> String {
    let mut copy = map.clone();
    copy.insert("d".into(), DUMMY.into());
    if versioned {
        copy.insert("v".into(), format!("{VERSION_PREFIX}000000_").into());
        let size = compact(&Value::Object(copy.clone())).len();
        copy.insert("v".into(), format!("{VERSION_PREFIX}{size:06x}_").into());
    }
    Diger::blake3(&compact(&Value::Object(copy))).qb64()
}

/// The `-L` pathed groups of an attachment text: each group's path (`-e-acdc`) and the
/// attachment text it carries, in order.
pub fn pathed_groups(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut groups = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let quadlets = counter(rest, "-L")?;
        let group = rest
            .get(4..4 + quadlets * 4)
            .ok_or_else(|| "a -L group is longer than the attachments".to_owned())?;
        rest = &rest[4 + quadlets * 4..];
        let code = group.get(..2).unwrap_or_default();
        if !matches!(code, "4A" | "5A" | "6A") {
            return Err(format!(
                "a -L group's path has code {code:?}, not a base64 text"
            ));
        }
        let size = group
            .get(2..4)
            .and_then(b64_number)
            .ok_or_else(|| "a -L group's path has no size".to_owned())?;
        let path = group
            .get(4..4 + size * 4)
            .ok_or_else(|| "a -L group's path is longer than its group".to_owned())?;
        let path = path.trim_start_matches('A');
        if !path.starts_with('-') {
            return Err(format!("a -L group's path {path:?} does not start with -"));
        }
        groups.push((path.to_owned(), group[4 + size * 4..].to_owned()));
    }
    Ok(groups)
}

/// The count of a two-character counter `code` at the start of `text`.
fn counter(text: &str, code: &str) -> Result<usize, String> {
    if !text.starts_with(code) {
        return Err(format!(
            "expected a {code} counter, found {:?}",
            text.get(..4).unwrap_or(text)
        ));
    }
    text.get(2..4)
        .and_then(b64_number)
        .ok_or_else(|| format!("the {code} counter has no count"))
}

fn b64_number(digits: &str) -> Option<usize> {
    digits.bytes().try_fold(0_usize, |total, byte| {
        let digit = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        Some(total * 64 + usize::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::pathed_groups;

    #[test]
    fn a_built_credential_verifies() {
        let mut attributes = serde_json::Map::new();
        attributes.insert("i".into(), "Eholder".into());
        attributes.insert("LEI".into(), "5493001KJTIIGC8Y1R17".into());
        let acdc = super::build("Eissuer", "Ereg", "Eschema", &attributes);
        let verified = super::Acdc::verify(acdc.value()).unwrap();
        assert_eq!(verified.said(), acdc.said());
        assert_eq!(verified.issuee(), Some("Eholder"));
    }

    #[test]
    fn pathed_groups_name_their_paths() {
        let text = "-LAD4AACA-e-acdc-LAD5AACAA-e-iss";
        let groups = pathed_groups(text).unwrap();
        assert_eq!(groups[0].0, "-e-acdc");
        assert_eq!(groups[1].0, "-e-iss");
        assert!(pathed_groups("-LAZ").is_err());
    }
}
