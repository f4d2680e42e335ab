//! The indexes of the credentials an agent holds, and `POST /credentials/query` served from
//! them.
//!
//! Each credential is indexed, in the same commit that stores it, under its SAID `-d`, issuer
//! `-i`, schema `-s`, registry `-ri`, issuee `-a-i`, each scalar attribute `-a-{name}`, the
//! pair schema and issuer, and `*` (every credential). An index key is
//! `{field}␟{value}␟{issuance dt}␟{SAID}`, so one field's entries come in issuance order. A
//! query reads one index: the schema-and-issuer pair when it filters on both, else the first
//! equality it names, else the first `$begins` (a range of that index), else `*`; the other
//! conditions are checked on each credential it lists, and the read stops once `skip + limit`
//! have matched. Filters take a value, `{"$eq": value}` or `{"$begins": "text"}`; any other
//! operator or field is refused.

use anyhow::Result;
use serde_json::Value;

use super::Failure;
use crate::keri::acdc::Acdc;
use crate::store::{OwnerReader, OwnerWriter, CREDENTIAL_INDEX};

/// Separates the parts of an index key.
const SEP: char = '\u{1f}';
/// The pair index of schema and issuer.
const SCHEMA_ISSUER: &str = "-s-i";
/// Most credentials a query answers at once.
pub const MAX_LIMIT: usize = 1000;
/// Credentials a query answers when it names no limit, as KERIA.
pub const DEFAULT_LIMIT: usize = 25;

/// The scalar text an attribute is indexed and compared by.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// The (field, value) pairs `acdc` is indexed under.
fn entries(acdc: &Acdc) -> Vec<(String, String)> {
    let mut entries = vec![
        ("-d".to_owned(), acdc.said().to_owned()),
        ("-i".to_owned(), acdc.issuer().to_owned()),
        ("-s".to_owned(), acdc.schema().to_owned()),
        (
            SCHEMA_ISSUER.to_owned(),
            format!("{}+{}", acdc.schema(), acdc.issuer()),
        ),
        ("*".to_owned(), String::new()),
    ];
    if let Some(registry) = acdc.registry() {
        entries.push(("-ri".to_owned(), registry.to_owned()));
    }
    if let Value::Object(attributes) = acdc.attributes() {
        for (name, value) in attributes {
            if let Some(text) = scalar(value) {
                entries.push((format!("-a-{name}"), text));
            }
        }
    }
    entries.retain(|(_, value)| !value.contains(SEP));
    entries
}

fn key(acdc: &Acdc, field: &str, value: &str) -> String {
    format!(
        "{field}{SEP}{value}{SEP}{}{SEP}{}",
        acdc.datetime(),
        acdc.said()
    )
}

/// Stages `acdc`'s index entries.
pub fn add(rows: &mut OwnerWriter<'_>, acdc: &Acdc) -> Result<()> {
    for (field, value) in entries(acdc) {
        rows.put_record(CREDENTIAL_INDEX, &key(acdc, &field, &value), acdc.said())?;
    }
    Ok(())
}

/// Stages the removal of `acdc`'s index entries.
pub fn remove(rows: &mut OwnerWriter<'_>, acdc: &Acdc) -> Result<()> {
    for (field, value) in entries(acdc) {
        rows.remove_record(CREDENTIAL_INDEX, &key(acdc, &field, &value))?;
    }
    Ok(())
}

/// One condition of a filter.
#[derive(Debug)]
struct Condition {
    field: String,
    value: String,
    begins: bool,
}

impl Condition {
    fn parse(field: &str, wanted: &Value) -> Result<Self, String> {
        let known = matches!(field, "-d" | "-i" | "-s" | "-ri")
            || field
                .strip_prefix("-a-")
                .is_some_and(|name| !name.is_empty());
        if !known {
            return Err(format!(
                "filter field {field:?} is not one of -d, -i, -s, -ri, -a-{{attribute}}"
            ));
        }
        let (wanted, begins) = match wanted {
            Value::Object(operator) if operator.len() == 1 => {
                match operator.iter().next() {
                    Some((name, value)) if name == "$eq" => (value, false),
                    Some((name, value @ Value::String(_))) if name == "$begins" => (value, true),
                    _ => {
                        return Err(format!(
                            "filter operator {wanted} is not one of {{\"$eq\": value}}, {{\"$begins\": \"text\"}}"
                        ))
                    }
                }
            }
            Value::Object(_) | Value::Array(_) | Value::Null => {
                return Err(format!(
                    "filter value {wanted} of {field} is not a scalar, {{\"$eq\": value}} or {{\"$begins\": \"text\"}}"
                ))
            }
            value => (value, false),
        };
        let value =
            scalar(wanted).ok_or_else(|| format!("filter value {wanted} is not a scalar"))?;
        Ok(Self {
            field: field.to_owned(),
            value,
            begins,
        })
    }

    fn matches(&self, acdc: &Acdc) -> bool {
        let held = match self.field.as_str() {
            "-d" => Some(acdc.said().to_owned()),
            "-i" => Some(acdc.issuer().to_owned()),
            "-s" => Some(acdc.schema().to_owned()),
            "-ri" => acdc.registry().map(str::to_owned),
            field => field
                .strip_prefix("-a-")
                .and_then(|name| scalar(&acdc.attributes()[name])),
        };
        held.is_some_and(|held| {
            if self.begins {
                held.starts_with(&self.value)
            } else {
                held == self.value
            }
        })
    }
}

/// A checked query: its conditions, sort order, skip and limit.
pub struct Query {
    conditions: Vec<Condition>,
    descending: bool,
    pub skip: usize,
    pub limit: usize,
}

/// Checks a query body `{filter, sort, skip, limit}`. `sort` may name the issuance datetime
/// (`-a-dt`, 1 or -1, as `[{"-a-dt": 1}]`); nothing else orders the indexes.
pub fn parse(body: &Value) -> Result<Query, Failure> {
    let invalid = |reason: String| Failure::Invalid(reason);
    let conditions = match &body["filter"] {
        Value::Null => Vec::new(),
        Value::Object(filter) => filter
            .iter()
            .map(|(field, wanted)| Condition::parse(field, wanted))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?,
        other => return Err(invalid(format!("filter must be an object, not {other}"))),
    };
    let mut descending = false;
    match &body["sort"] {
        Value::Null => {}
        Value::Array(orders) => {
            for order in orders {
                let direction = order.as_object().and_then(|order| {
                    let (field, direction) = order.iter().next()?;
                    (order.len() == 1 && field == "-a-dt").then(|| direction.as_i64())?
                });
                match direction {
                    Some(1) => descending = false,
                    Some(-1) => descending = true,
                    _ => {
                        return Err(invalid(format!(
                            "sort {order} is not {{\"-a-dt\": 1}} or {{\"-a-dt\": -1}}: credentials are ordered by issuance"
                        )))
                    }
                }
            }
        }
        other => return Err(invalid(format!("sort must be a list, not {other}"))),
    }
    let count = |field: &str, default: usize| match &body[field] {
        Value::Null => Ok(default),
        value => value
            .as_u64()
            .and_then(|count| usize::try_from(count).ok())
            .ok_or_else(|| invalid(format!("{field} must be a whole number"))),
    };
    let limit = count("limit", DEFAULT_LIMIT)?;
    if limit > MAX_LIMIT {
        return Err(invalid(format!("limit may be at most {MAX_LIMIT}")));
    }
    Ok(Query {
        conditions,
        descending,
        skip: count("skip", 0)?,
        limit,
    })
}

/// The credentials `query` matches, in issuance order, skipped and limited; `load` reads a
/// held credential.
pub fn find(
    rows: &OwnerReader<'_>,
    query: &Query,
    load: impl Fn(&str) -> Result<Option<Acdc>>,
) -> Result<Vec<Acdc>, Failure> {
    let equal = |field: &str| {
        query
            .conditions
            .iter()
            .find(|condition| condition.field == field && !condition.begins)
    };
    let scan = if let (Some(schema), Some(issuer)) = (equal("-s"), equal("-i")) {
        format!("{SCHEMA_ISSUER}{SEP}{}+{}{SEP}", schema.value, issuer.value)
    } else if let Some(condition) = query.conditions.iter().find(|c| !c.begins) {
        format!("{}{SEP}{}{SEP}", condition.field, condition.value)
    } else if let Some(condition) = query.conditions.first() {
        format!("{}{SEP}{}", condition.field, condition.value)
    } else {
        format!("*{SEP}{SEP}")
    };
    let wanted = query.skip.saturating_add(query.limit);
    let mut found = Vec::new();
    let mut check = |said: &str| -> Result<bool> {
        if let Some(acdc) = load(said)? {
            if query.conditions.iter().all(|c| c.matches(&acdc)) {
                found.push(acdc);
            }
        }
        Ok(query.descending || found.len() < wanted)
    };
    rows.scan(CREDENTIAL_INDEX, &scan, |_, said| check(said))?;
    if query.descending {
        found.reverse();
        found.truncate(wanted);
    }
    Ok(found
        .into_iter()
        .skip(query.skip)
        .take(query.limit)
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn unknown_operators_and_fields_are_refused() {
        assert!(parse(&json!({"filter": {"-s": {"$gt": 1}}})).is_err());
        assert!(parse(&json!({"filter": {"x": "y"}})).is_err());
        assert!(parse(&json!({"sort": [{"-i": 1}]})).is_err());
        let query = parse(&json!({"filter": {"-s": "E", "-a-LEI": {"$begins": "549"}}, "skip": 2}))
            .unwrap();
        assert_eq!((query.skip, query.limit), (2, 25));
    }
}
