//! What an integer is on this API, wherever it is written (a JSON body, a query string, a form
//! or a path): any whole number, `6000`, `6000.0` or `6e3`, as JSON has one kind of number and
//! JSON Schema's `integer` (so the OpenAPI document's) is any number without a fractional part.
//! Text may also write it with a sign or leading zeros (`+5`, `007`).

use std::num::IntErrorKind;

use serde_json::Number;

/// Why a value is not a 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnInteger {
    /// Not a number, or not a whole one.
    NotWhole,
    TooLarge,
    TooSmall,
}

impl NotAnInteger {
    /// The message naming the field.
    pub fn message(self, name: &str) -> String {
        match self {
            Self::NotWhole => format!("{name} must be an integer"),
            Self::TooLarge => format!("{name} must be at most {}", i64::MAX),
            Self::TooSmall => format!("{name} must be at least {}", i64::MIN),
        }
    }
}

/// An integer written as text: in digits, or as a JSON number that is whole.
pub fn integer_of_text(text: &str) -> Result<i64, NotAnInteger> {
    text.parse().or_else(|error: std::num::ParseIntError| match error.kind() {
        IntErrorKind::PosOverflow => Err(NotAnInteger::TooLarge),
        IntErrorKind::NegOverflow => Err(NotAnInteger::TooSmall),
        // JSON's number grammar, without the blanks its parser skips around a value.
        _ if text.starts_with(|first: char| first == '-' || first.is_ascii_digit())
            && !text.ends_with(|last: char| last.is_whitespace()) =>
        {
            serde_json::from_str::<Number>(text)
                .map_err(|_| NotAnInteger::NotWhole)
                .and_then(|number| integer_of_json(&number))
        }
        _ => Err(NotAnInteger::NotWhole),
    })
}

/// A JSON number as an integer.
pub fn integer_of_json(number: &Number) -> Result<i64, NotAnInteger> {
    if let Some(int) = number.as_i64() {
        return Ok(int);
    }
    // serde_json keeps integers above i64::MAX as u64; anything else is a float.
    if number.is_u64() {
        return Err(NotAnInteger::TooLarge);
    }
    number.as_f64().map_or(Err(NotAnInteger::NotWhole), integer_of_float)
}

fn integer_of_float(float: f64) -> Result<i64, NotAnInteger> {
    /// 2^63: the first integer above `i64::MAX`, exact as a float.
    const BEYOND_I64: f64 = 9_223_372_036_854_775_808.0;
    if float >= BEYOND_I64 {
        Err(NotAnInteger::TooLarge)
    } else if float < -BEYOND_I64 {
        Err(NotAnInteger::TooSmall)
    } else if float.fract() != 0.0 {
        Err(NotAnInteger::NotWhole)
    } else {
        // Whole and in range: the conversion is exact.
        Ok(float as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_text_are_digits_or_whole_json_numbers() {
        use NotAnInteger::*;
        for (text, int) in [
            ("42", Ok(42)),
            ("-7", Ok(-7)),
            ("+5", Ok(5)),
            ("007", Ok(7)),
            ("9223372036854775807", Ok(i64::MAX)),
            ("-9223372036854775808", Ok(i64::MIN)),
            ("9223372036854775808", Err(TooLarge)),
            ("-9223372036854775809", Err(TooSmall)),
            ("6000.0", Ok(6000)),
            ("6e3", Ok(6000)),
            ("1.0", Ok(1)),
            ("9.3e18", Err(TooLarge)),
            ("1.5", Err(NotWhole)),
            ("1e-3", Err(NotWhole)),
            (" 1", Err(NotWhole)),
            ("1.0 ", Err(NotWhole)),
            ("0x10", Err(NotWhole)),
            ("inf", Err(NotWhole)),
            ("NaN", Err(NotWhole)),
            ("1e999", Err(NotWhole)),
            ("", Err(NotWhole)),
        ] {
            assert_eq!(integer_of_text(text), int, "{text}");
        }
    }

    fn json(text: &str) -> Result<i64, NotAnInteger> {
        integer_of_json(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn integers_of_json_are_whole_numbers() {
        use NotAnInteger::*;
        for (text, int) in [
            ("42", Ok(42)),
            ("-1", Ok(-1)),
            ("9223372036854775807", Ok(i64::MAX)),
            ("-9223372036854775808.0", Ok(i64::MIN)),
            ("6000.0", Ok(6000)),
            ("6e3", Ok(6000)),
            ("-0.0", Ok(0)),
            ("9223372036854775808", Err(TooLarge)),
            ("9.3e18", Err(TooLarge)),
            ("-9.3e18", Err(TooSmall)),
            ("1.5", Err(NotWhole)),
            ("1e-3", Err(NotWhole)),
        ] {
            assert_eq!(json(text), int, "{text}");
        }
    }

    #[test]
    fn big_whole_floats_read_exactly() {
        // serde_json reads floats exactly only with its `float_roundtrip` feature; without it
        // this one came out as ...678.5 (one unit in the last place off): "not an integer".
        assert_eq!(json("4461839756037678.0"), Ok(4_461_839_756_037_678));
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(NotAnInteger::NotWhole.message("price"), "price must be an integer");
        assert_eq!(
            NotAnInteger::TooLarge.message("price"),
            "price must be at most 9223372036854775807"
        );
        assert_eq!(
            NotAnInteger::TooSmall.message("price"),
            "price must be at least -9223372036854775808"
        );
    }
}
