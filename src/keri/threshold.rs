//! Signing thresholds (`kt`, `nt`) of key events: a hex count of signers, or fractional
//! weights per key.
//!
//! A numeric threshold `"2"` is met by any two distinct keys. A weighted threshold is a list of
//! fractions, one per key (`["1/2", "1/2", "1/4"]`), or a list of such lists (clauses), each
//! clause weighing the keys that follow the previous clause; it is met when, in every clause,
//! the weights of the keys that signed add up to at least one. Weights are exact rationals.

use std::fmt;

use serde_json::Value;

/// A parsed `kt` or `nt` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// The value as received, for serialization.
    value: Value,
    rule: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// At least this many distinct keys.
    Count(u64),
    /// Every clause reaches one; weights scaled to each clause's common denominator.
    Weighted(Vec<Clause>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    /// The least common multiple of the clause's denominators: the weight worth one.
    unit: u128,
    /// Each key's weight, times `unit`.
    weights: Vec<u128>,
}

/// Why a threshold value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError(String);

impl fmt::Display for ThresholdError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for ThresholdError {}

/// The most weights a threshold may have: indexed signatures carry indices below 64.
const MAX_WEIGHTS: usize = 64;

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Reads one weight: `"0"`, `"1"` or `"n/d"` with `0 <= n <= d`, `d > 0`, decimal digits.
fn parse_weight(text: &str) -> Option<(u128, u128)> {
    let number = |digits: &str| {
        (!digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u128>().ok())
            .flatten()
    };
    let (numerator, denominator) = match text.split_once('/') {
        Some((numerator, denominator)) => (number(numerator)?, number(denominator)?),
        None => (number(text)?, 1),
    };
    (denominator > 0 && numerator <= denominator).then_some((numerator, denominator))
}

fn parse_clause(items: &[Value]) -> Result<Clause, ThresholdError> {
    let mut fractions = Vec::with_capacity(items.len());
    for item in items {
        let fraction = item.as_str().and_then(parse_weight).ok_or_else(|| {
            ThresholdError(format!(
                "weight {item} must be a string \"0\", \"1\" or \"n/d\" with n <= d"
            ))
        })?;
        fractions.push(fraction);
    }
    let too_fine = || ThresholdError("weighted threshold denominators are too large".into());
    let mut unit: u128 = 1;
    for (_, denominator) in &fractions {
        unit = (unit / gcd(unit, *denominator))
            .checked_mul(*denominator)
            .filter(|unit| *unit <= u128::from(u64::MAX))
            .ok_or_else(too_fine)?;
    }
    let weights: Vec<u128> = fractions
        .iter()
        .map(|(numerator, denominator)| numerator * (unit / denominator))
        .collect();
    let total = weights
        .iter()
        .try_fold(0u128, |sum, weight| sum.checked_add(*weight));
    if total.ok_or_else(too_fine)? < unit {
        return Err(ThresholdError(format!(
            "weighted threshold clause {} adds up to less than 1",
            Value::Array(items.to_vec())
        )));
    }
    Ok(Clause { unit, weights })
}

impl Threshold {
    /// A numeric threshold of `count` keys.
    pub fn count(count: u64) -> Self {
        Self {
            value: Value::String(format!("{count:x}")),
            rule: Rule::Count(count),
        }
    }

    /// Reads a `kt`/`nt` value: a lowercase hex string, a list of weights, or a list of lists.
    pub fn parse(value: &Value) -> Result<Self, ThresholdError> {
        let rule = match value {
            Value::String(text) => {
                Rule::Count(super::serder::parse_hex(text).ok_or_else(|| {
                    ThresholdError(format!(
                        "threshold {value} must be a lowercase hex number without leading zeros"
                    ))
                })?)
            }
            Value::Array(items) if items.iter().all(Value::is_string) && !items.is_empty() => {
                Rule::Weighted(vec![parse_clause(items)?])
            }
            Value::Array(clauses) if !clauses.is_empty() => {
                let clauses = clauses
                    .iter()
                    .map(|clause| match clause {
                        Value::Array(items) if !items.is_empty() => parse_clause(items),
                        _ => Err(ThresholdError(format!(
                            "weighted threshold clause {clause} must be a non-empty list of weights"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Rule::Weighted(clauses)
            }
            _ => {
                return Err(ThresholdError(format!(
                    "threshold {value} must be a hex string or a non-empty list of weights"
                )))
            }
        };
        let threshold = Self {
            value: value.clone(),
            rule,
        };
        if threshold.size() > MAX_WEIGHTS {
            return Err(ThresholdError(format!(
                "weighted threshold has {} weights, at most {MAX_WEIGHTS} are allowed",
                threshold.size()
            )));
        }
        Ok(threshold)
    }

    /// The value as it appears in an event or key state record.
    pub fn to_value(&self) -> Value {
        self.value.clone()
    }

    /// The count of a numeric threshold, `None` when weighted.
    pub fn as_count(&self) -> Option<u64> {
        match self.rule {
            Rule::Count(count) => Some(count),
            Rule::Weighted(_) => None,
        }
    }

    /// How many keys the threshold needs at least: the count, or the number of weights.
    fn size(&self) -> usize {
        match &self.rule {
            Rule::Count(count) => usize::try_from(*count).unwrap_or(usize::MAX),
            Rule::Weighted(clauses) => clauses.iter().map(|clause| clause.weights.len()).sum(),
        }
    }

    /// Whether the threshold can be met by a list of `keys` keys: a count at most `keys` (and
    /// at least one when `positive`), or exactly one weight per key.
    pub fn fits(&self, keys: usize, positive: bool) -> bool {
        match &self.rule {
            Rule::Count(count) => self.size() <= keys && (!positive || *count > 0),
            Rule::Weighted(_) => self.size() == keys,
        }
    }

    /// Whether the keys at `indices` (distinct positions in the key list) meet the threshold.
    pub fn is_satisfied_by(&self, indices: &[usize]) -> bool {
        match &self.rule {
            Rule::Count(count) => {
                let mut distinct = indices.to_vec();
                distinct.sort_unstable();
                distinct.dedup();
                distinct.len() as u64 >= *count
            }
            Rule::Weighted(clauses) => {
                let mut start = 0;
                clauses.iter().all(|clause| {
                    let end = start + clause.weights.len();
                    let mut signed = vec![false; clause.weights.len()];
                    for index in indices {
                        if (start..end).contains(index) {
                            signed[index - start] = true;
                        }
                    }
                    start = end;
                    let sum: u128 = clause
                        .weights
                        .iter()
                        .zip(signed)
                        .filter_map(|(weight, signed)| signed.then_some(*weight))
                        .sum();
                    sum >= clause.unit
                })
            }
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Rule::Count(count) => write!(formatter, "{count:x}"),
            Rule::Weighted(_) => write!(formatter, "{}", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(value: &Value) -> Threshold {
        Threshold::parse(value).unwrap()
    }

    fn error(value: &Value) -> String {
        Threshold::parse(value).unwrap_err().to_string()
    }

    #[test]
    fn numeric_thresholds_count_distinct_keys() {
        let two = parse(&json!("2"));
        assert_eq!(two.as_count(), Some(2));
        assert!(!two.is_satisfied_by(&[0]));
        assert!(!two.is_satisfied_by(&[1, 1]));
        assert!(two.is_satisfied_by(&[0, 2]));
        assert_eq!(parse(&json!("a")).as_count(), Some(10));
        assert_eq!(two.to_value(), json!("2"));
        assert_eq!(Threshold::count(26).to_value(), json!("1a"));
        assert!(two.fits(2, true) && !two.fits(1, true));
        assert!(!Threshold::count(0).fits(1, true));
        assert!(Threshold::count(0).fits(0, false));
    }

    #[test]
    fn one_clause_of_weights() {
        let halves = parse(&json!(["1/2", "1/2", "1/4"]));
        assert_eq!(halves.as_count(), None);
        assert!(halves.fits(3, true) && !halves.fits(2, true) && !halves.fits(4, true));
        assert!(halves.is_satisfied_by(&[0, 1]));
        assert!(!halves.is_satisfied_by(&[0, 2]));
        assert!(!halves.is_satisfied_by(&[0, 0]));
        assert!(!halves.is_satisfied_by(&[]));
        assert!(parse(&json!(["1", "0"])).is_satisfied_by(&[0]));
        assert!(!parse(&json!(["1", "0"])).is_satisfied_by(&[1]));
        assert!(parse(&json!(["1/3", "1/3", "1/3"])).is_satisfied_by(&[2, 0, 1]));
        assert_eq!(halves.to_string(), r#"["1/2","1/2","1/4"]"#);
    }

    #[test]
    fn every_clause_must_be_met() {
        let clauses = parse(&json!([["1/2", "1/2"], ["1"]]));
        assert!(clauses.fits(3, true));
        assert!(!clauses.is_satisfied_by(&[0, 1]));
        assert!(!clauses.is_satisfied_by(&[0, 2]));
        assert!(clauses.is_satisfied_by(&[0, 1, 2]));
        assert_eq!(clauses.to_value(), json!([["1/2", "1/2"], ["1"]]));
    }

    #[test]
    fn malformed_thresholds_are_refused() {
        assert_eq!(
            error(&json!(1)),
            "threshold 1 must be a hex string or a non-empty list of weights"
        );
        assert_eq!(
            error(&json!("01")),
            "threshold \"01\" must be a lowercase hex number without leading zeros"
        );
        assert_eq!(
            error(&json!(["1/2", "1/3"])),
            "weighted threshold clause [\"1/2\",\"1/3\"] adds up to less than 1"
        );
        assert_eq!(
            error(&json!(["3/2"])),
            "weight \"3/2\" must be a string \"0\", \"1\" or \"n/d\" with n <= d"
        );
        assert!(error(&json!(["1/0"])).starts_with("weight \"1/0\""));
        assert!(error(&json!(["-1/2", "1"])).starts_with("weight \"-1/2\""));
        assert!(error(&json!([])).starts_with("threshold []"));
        assert!(error(&json!([[]])).starts_with("weighted threshold clause []"));
        assert!(error(&json!([["1"], "1"])).starts_with("weighted threshold clause \"1\""));
        assert_eq!(
            error(&Value::Array(vec![json!("1"); 65])),
            "weighted threshold has 65 weights, at most 64 are allowed"
        );
        let primes = [
            "1/999999999999999989",
            "1/999999999999999967",
            "1/999999999999999877",
            "1",
        ];
        assert_eq!(
            error(&json!(primes)),
            "weighted threshold denominators are too large"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(items in prop::collection::vec("[0-9/]{0,8}", 0..8), indices in prop::collection::vec(0usize..80, 0..10)) {
            let value = Value::Array(items.into_iter().map(Value::String).collect());
            if let Ok(threshold) = Threshold::parse(&value) {
                let _ = threshold.is_satisfied_by(&indices);
            }
        }

        #[test]
        fn equal_shares_need_every_key(keys in 1u64..20) {
            let share = format!("1/{keys}");
            let threshold = parse(&Value::Array(vec![Value::String(share); usize::try_from(keys).unwrap()]));
            let all: Vec<usize> = (0..usize::try_from(keys).unwrap()).collect();
            prop_assert!(threshold.is_satisfied_by(&all));
            prop_assert!(!threshold.is_satisfied_by(&all[1..]));
        }
    }
}
