//! JSON written the way Python's `json.dumps` writes it by default, for the answers Signify
//! compares byte for byte with what KERIA sends.

use serde_json::Value;

/// `value` serialized as Python's `json.dumps` does by default: `", "` and `": "`
/// separators, non-ASCII characters escaped as `\uXXXX`.
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python(value, &mut out);
    out
}

fn write_python(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            if number.is_f64() {
                out.push_str(&python_float(number.as_f64().unwrap_or_default()));
            } else {
                out.push_str(&number.to_string());
            }
        }
        Value::String(text) => write_python_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_python(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (position, (key, item)) in map.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_python_string(key, out);
                out.push_str(": ");
                write_python(item, out);
            }
            out.push('}');
        }
    }
}

/// A string as Python's `json.dumps` writes it with `ensure_ascii`: everything outside
/// printable ASCII escaped, characters beyond the BMP as surrogate pairs.
fn write_python_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(character),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut units = [0u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    out.push_str("\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(char::from(HEX[usize::from((*unit >> shift) & 0xf)]));
                    }
                }
            }
        }
    }
    out.push('"');
}

/// A float as Python's `repr` writes it: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16 on.
fn python_float(value: f64) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or_default();
    if (-4..16).contains(&exponent) {
        let fixed = value.to_string();
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn python_json_escapes_like_python() {
        let value = serde_json::json!({"a": "é\u{7f}\u{1}\"\\\n😀", "b": [1, -2, 1.5, 1e16, 0.00001, 2.0, null, true]});
        assert_eq!(
            python_json(&value),
            r#"{"a": "\u00e9\u007f\u0001\"\\\n\ud83d\ude00", "b": [1, -2, 1.5, 1e+16, 1e-05, 2.0, null, true]}"#
        );
        assert_eq!(python_json(&serde_json::json!({})), "{}");
    }

    proptest! {
        #[test]
        fn python_json_round_trips_through_a_json_parser(
            text in ".{0,30}",
            number in any::<i64>(),
            float in any::<f64>().prop_filter("finite", |float| float.is_finite()),
        ) {
            let value = serde_json::json!({text.clone(): [text, number]});
            let written = python_json(&value);
            prop_assert!(written.is_ascii());
            let read: Value = serde_json::from_str(&written).unwrap();
            prop_assert_eq!(read.to_string(), value.to_string());
            let float_text = python_float(float);
            prop_assert_eq!(float_text.parse::<f64>().unwrap().to_bits(), float.to_bits());
            prop_assert!(float_text.contains(['.', 'e']));
        }
    }
}
