//! The checks every routed KERI message (`rpy`, `exn`) passes before its own: a JSON object
//! with its fields in one of the orders its type allows, a version string, its type `t`, a
//! datetime `dt`, a route `r`, the fields that must be objects, and the size and SAID it
//! declares.

use serde_json::{Map, Value};

use super::cesr::dater_qb64;
use super::serder::{sealed, shown, version_size, Sealing};

/// What a type of routed message must look like.
pub(super) struct Shape {
    /// Its type `t`.
    pub ilk: &'static str,
    /// The field orders it allows (the first is the one named in errors).
    pub orders: &'static [&'static [&'static str]],
    /// The fields that must be objects.
    pub objects: &'static [&'static str],
}

/// Why a routed message was refused.
pub(super) enum Refused {
    /// Its structure is wrong, with the reason.
    Invalid(String),
    /// The size in the version string is not the serialized size.
    Size { declared: usize, actual: usize },
    /// `d` is not the recomputed SAID.
    SaidMismatch { got: String, computed: String },
}

/// The message's fields once they have the shape; the compact bytes signatures cover.
pub(super) fn verify<'v>(
    value: &'v Value,
    shape: &Shape,
) -> Result<(&'v Map<String, Value>, Vec<u8>), Refused> {
    let invalid = |reason: String| Refused::Invalid(reason);
    let map = value
        .as_object()
        .ok_or_else(|| invalid("must be a JSON object".into()))?;
    let labels = map.keys().map(String::as_str);
    if !shape
        .orders
        .iter()
        .any(|order| labels.clone().eq(order.iter().copied()))
    {
        return Err(invalid(format!(
            "field order must be {}; got {}",
            shape.orders[0].join(", "),
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let declared = version_size(string(map, "v")?)
        .ok_or_else(|| invalid(format!("malformed version string {}", shown(&map["v"]))))?;
    if string(map, "t")? != shape.ilk {
        return Err(invalid(format!(
            "type t must be {}; got {}",
            shape.ilk,
            shown(&map["t"])
        )));
    }
    if dater_qb64(string(map, "dt")?).is_err() {
        return Err(invalid(format!(
            "dt must be an ISO-8601 datetime like 2026-11-24T21:59:14.583126+00:00; got {}",
            shown(&map["dt"])
        )));
    }
    string(map, "r")?;
    for field in shape.objects {
        if !map[*field].is_object() {
            return Err(invalid(format!(
                "field {field} must be an object; got {}",
                shown(&map[*field])
            )));
        }
    }
    let said = string(map, "d")?;
    let (raw, _) = sealed(value, map, declared, said, false).map_err(|sealing| match sealing {
        Sealing::Size { declared, actual } => Refused::Size { declared, actual },
        Sealing::Said { computed } => Refused::SaidMismatch {
            got: said.to_owned(),
            computed,
        },
    })?;
    Ok((map, raw))
}

/// Field `field` of `map` as a string.
pub(super) fn string<'v>(map: &'v Map<String, Value>, field: &str) -> Result<&'v str, Refused> {
    map[field].as_str().ok_or_else(|| {
        Refused::Invalid(format!(
            "field {field} must be a string; got {}",
            shown(&map[field])
        ))
    })
}
