//! JSON Canonicalization Scheme (RFC 8785).
//!
//! What is signed must be reproducible byte for byte from the same data by anyone,
//! including an outside auditor with another language's JCS library. So: object members
//! sorted by the UTF-16 code units of their names, no whitespace, strings escaped as
//! ECMAScript's `JSON.stringify` does, numbers in ECMAScript's shortest form.
//!
//! Two deliberate refusals: duplicate member names when parsing text (I-JSON, RFC 7493: a
//! signed document must not mean different things to different parsers), and integers that
//! an IEEE double cannot hold exactly (JCS would print them rounded, silently changing a
//! signed value; see [`format_number`]).

use std::fmt::Write as _;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Largest integer magnitude JCS keeps exact (ECMAScript `Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    #[error("not JSON: {0}")]
    Parse(String),
    #[error("integer {0} is outside ±(2^53 − 1) and cannot be kept exact")]
    UnsafeInteger(String),
    #[error("the number is not finite")]
    NonFinite,
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
}

impl JcsError {
    pub fn code(&self) -> &'static str {
        match self {
            JcsError::Parse(_) => "invalid_json",
            JcsError::UnsafeInteger(_) => "unsafe_integer",
            JcsError::NonFinite => "non_finite_number",
            JcsError::TooDeep => "too_deep",
        }
    }
}

impl From<JcsError> for crate::error::TrustError {
    fn from(e: JcsError) -> Self {
        crate::error::TrustError::InvalidDocument(e.to_string())
    }
}

/// The canonical bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value, 0)?;
    Ok(out.into_bytes())
}

/// Parses JSON text (refusing duplicate member names) and returns its canonical bytes.
pub fn canonicalize_str(json: &str) -> Result<Vec<u8>, JcsError> {
    canonicalize(&parse(json)?)
}

/// Parses JSON text into a value, refusing duplicate member names and deep nesting.
pub fn parse(json: &str) -> Result<Value, JcsError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = Strict { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| JcsError::Parse(e.to_string()))?;
    de.end().map_err(|e| JcsError::Parse(e.to_string()))?;
    Ok(value)
}

fn write_value(out: &mut String, value: &Value, depth: usize) -> Result<(), JcsError> {
    if depth > MAX_DEPTH {
        return Err(JcsError::TooDeep);
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&format_number(n)?),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (name, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, member, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Writes `s` as a JSON string the way ECMAScript's `JSON.stringify` does (RFC 8785 §3.2.2.2):
/// the two-character escapes where they exist, `\u00xx` (lowercase hex) for other control
/// characters, everything else — including non-ASCII and U+007F — as itself.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number in canonical form.
///
/// JCS reads every number as an IEEE double. Integers beyond ±(2^53 − 1) are kept only
/// when that reading loses nothing — the canonical text is the same integer (e.g.
/// `18643797110557070`, itself the canonical form of a double); otherwise (e.g.
/// `9007199254740993`, which would become `…992`) they are refused rather than silently
/// changed. (Integer text beyond the 64-bit range reaches us already read as a double, as
/// JCS itself reads it.)
pub fn format_number(n: &Number) -> Result<String, JcsError> {
    let integer = if let Some(u) = n.as_u64() {
        Some((u <= MAX_SAFE_INTEGER, u.to_string(), u as f64))
    } else {
        n.as_i64().map(|i| {
            (
                i.unsigned_abs() <= MAX_SAFE_INTEGER,
                i.to_string(),
                i as f64,
            )
        })
    };
    match integer {
        Some((true, text, _)) => Ok(text),
        Some((false, text, as_double)) => {
            let canonical = format_f64(as_double)?;
            if canonical == text {
                Ok(canonical)
            } else {
                Err(JcsError::UnsafeInteger(text))
            }
        }
        None => match n.as_f64() {
            Some(f) => format_f64(f),
            None => Err(JcsError::NonFinite),
        },
    }
}

/// ECMAScript `Number.prototype.toString` for a finite double (ECMA-262 §7.1.12.1), which
/// RFC 8785 §3.2.2.3 prescribes. Rust's `{:e}` gives the shortest digits that round-trip —
/// the same digits ECMAScript picks — so only the layout is done here.
pub fn format_f64(f: f64) -> Result<String, JcsError> {
    if !f.is_finite() {
        return Err(JcsError::NonFinite);
    }
    if f == 0.0 {
        return Ok("0".into()); // also -0
    }
    let abs = f.abs();
    let shortest = format!("{abs:e}");
    let (mantissa, _) = shortest.split_once('e').ok_or(JcsError::NonFinite)?;
    let k = mantissa.chars().filter(char::is_ascii_digit).count();
    // `{:e}` gives the fewest digits that round-trip, but when two such digit strings are
    // equally close it does not pick the even one as ECMAScript does. Formatting the exact
    // value to that many digits rounds half to even; keep it when it still round-trips.
    let exact = format!("{abs:.prec$e}", prec = k.saturating_sub(1));
    let sci = if exact.parse::<f64>() == Ok(abs) {
        exact
    } else {
        shortest
    };
    let (mantissa, exponent) = sci.split_once('e').ok_or(JcsError::NonFinite)?;
    let exponent: i32 = exponent.parse().map_err(|_| JcsError::NonFinite)?;
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let k = digits.len() as i32;
    let n = exponent + 1;
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    Ok(out)
}

/// A `serde_json::Value` deserializer that refuses duplicate member names and depth beyond
/// [`MAX_DEPTH`].
struct Strict {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "nesting deeper than {MAX_DEPTH}"
            )));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            depth: self.depth + 1,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                return Err(de::Error::custom(format!("duplicate member name {name:?}")));
            }
            let value = map.next_value_seed(Strict {
                depth: self.depth + 1,
            })?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(json: &str) -> String {
        String::from_utf8(canonicalize_str(json).unwrap()).unwrap()
    }

    /// RFC 8785 §3.2.2 (and Appendix A's "Sorting" example below).
    #[test]
    fn rfc8785_section_3_2_2_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canon(input), expected);
    }

    /// RFC 8785 §3.2.3: sorting by UTF-16 code units (not by code points or UTF-8).
    #[test]
    fn rfc8785_section_3_2_3_sorting() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon(input), expected);
        // Code-point order would put U+1F600 after U+FB33; UTF-16 order puts its
        // surrogate pair (0xD83D…) first.
        assert!(canon(input).find('\u{1f600}') < canon(input).find('\u{fb33}'));
    }

    /// RFC 8785 Appendix B: IEEE 754 doubles and their canonical text.
    #[test]
    fn rfc8785_appendix_b_numbers() {
        let cases: [(u64, &str); 24] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in cases {
            assert_eq!(
                format_f64(f64::from_bits(bits)).unwrap(),
                expected,
                "{bits:#x}"
            );
        }
        // NaN and the infinities have no JSON form: refused, never written as null.
        for bits in [
            0x7fffffffffffffffu64,
            0x7ff0000000000000,
            0xfff0000000000000,
        ] {
            assert_eq!(format_f64(f64::from_bits(bits)), Err(JcsError::NonFinite));
        }
    }

    #[test]
    fn escapes_like_json_stringify() {
        let mut out = String::new();
        write_string(&mut out, "a\"\\\u{1}\u{1f}\u{7f}\u{2028}é\t");
        assert_eq!(out, "\"a\\\"\\\\\\u0001\\u001f\u{7f}\u{2028}é\\t\"");
    }

    #[test]
    fn refuses_duplicates_unsafe_integers_and_deep_nesting() {
        assert_eq!(
            canonicalize_str(r#"{"a":1,"a":2}"#).unwrap_err().code(),
            "invalid_json"
        );
        assert_eq!(
            canonicalize_str("9007199254740993").unwrap_err().code(),
            "unsafe_integer"
        );
        assert_eq!(
            canonicalize_str("-9007199254740993").unwrap_err().code(),
            "unsafe_integer"
        );
        // Large integers a double holds exactly are kept, in JCS form.
        assert_eq!(canon("9007199254740992"), "9007199254740992");
        assert_eq!(canon("18643797110557070"), "18643797110557070");
        assert_eq!(canon("1000000000000000000000"), "1e+21");
        assert_eq!(canon("9007199254740991"), "9007199254740991");
        assert_eq!(canon("-9007199254740991"), "-9007199254740991");
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(canonicalize_str(&deep).is_err());
        assert_eq!(canonicalize_str("{} x").unwrap_err().code(), "invalid_json");
    }
}
