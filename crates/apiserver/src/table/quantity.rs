//! `resource.Quantity` as upstream prints it (`Quantity.String()`): the canonical form of the
//! parsed amount, so a stored `1024Mi` prints `1Gi` and `0.5` prints `500m`.
//!
//! Mirrors apimachinery's `pkg/api/resource` (`ParseQuantity`, then `CanonicalizeBytes`):
//! - the suffix picks the format: `Ki`…`Ei` binary SI, `n u m k M G T P E` (or none) decimal SI,
//!   `e<n>`/`E<n>` decimal exponent;
//! - the amount is rounded up (away from zero) to a multiple of 10⁻⁹, and binary amounts are
//!   capped at 2⁶³-1;
//! - a binary amount prints as an integer times a power of 1024, unless it is smaller than 1024
//!   in magnitude or not an integer, when it prints as decimal SI;
//! - a decimal amount prints as an integer times a power of 1000 (the smallest such integer).
//!
//! Amounts are exact: an `i128` mantissa and a power of ten. One too large for that (far beyond
//! any real quantity) is printed as written.

use serde_json::Value;

/// How a quantity is written; its suffix decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `Ki`, `Mi`, … (powers of 1024).
    BinarySi,
    /// `m`, `k`, `M`, … or no suffix (powers of 1000).
    DecimalSi,
    /// `1e3`, `5E-3`.
    DecimalExponent,
}

/// An exact decimal amount: `mantissa × 10^exponent`.
#[derive(Debug, Clone, Copy)]
struct Amount {
    mantissa: i128,
    exponent: i32,
}

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// The base-10 exponent (or base-2 exponent, for binary SI) and format of a suffix.
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |exponent| Some((10, exponent, Format::DecimalSi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        _ => {
            if let Some(index) = BINARY_SUFFIXES[1..].iter().position(|s| *s == suffix) {
                let power = i32::try_from(index + 1).ok()? * 10;
                return Some((2, power, Format::BinarySi));
            }
            let exponent = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            Some((10, exponent.parse().ok()?, Format::DecimalExponent))
        }
    }
}

fn pow10(exponent: u32) -> Option<i128> {
    10_i128.checked_pow(exponent)
}

/// Parses a quantity (upstream's `ParseQuantity`), already rounded and capped.
fn parse(text: &str) -> Option<(Amount, Format)> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = unsigned
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let (base, power, format) = interpret(suffix)?;
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0');
    let mut mantissa: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    let mut exponent = -i32::try_from(fraction.len()).ok()?;
    if base == 2 {
        mantissa = mantissa.checked_mul(1_i128.checked_shl(u32::try_from(power).ok()?)?)?;
    } else {
        exponent = exponent.checked_add(power)?;
    }
    // Round up (away from zero) to nano units, as upstream does for any non-zero amount.
    if exponent < -9 && mantissa != 0 {
        let shift = u32::try_from(-9 - exponent).ok()?;
        mantissa = match pow10(shift) {
            Some(divisor) => mantissa / divisor + i128::from(mantissa % divisor != 0),
            None => 1,
        };
        exponent = -9;
    }
    if format == Format::BinarySi
        && let Some(scale) = u32::try_from(exponent).ok().and_then(pow10)
        && mantissa
            .checked_mul(scale)
            .is_none_or(|v| v > i128::from(i64::MAX))
    {
        mantissa = i128::from(i64::MAX);
        exponent = 0;
    }
    if negative {
        mantissa = -mantissa;
    }
    Some((Amount { mantissa, exponent }, format))
}

/// The amount as an integer, if it is one.
fn as_integer(amount: Amount) -> Option<i128> {
    if amount.exponent >= 0 {
        amount
            .mantissa
            .checked_mul(pow10(u32::try_from(amount.exponent).ok()?)?)
    } else {
        let divisor = pow10(u32::try_from(-amount.exponent).ok()?)?;
        (amount.mantissa % divisor == 0).then_some(amount.mantissa / divisor)
    }
}

/// Decimal canonical form: the smallest integer mantissa whose exponent is a multiple of 3.
fn decimal(amount: Amount, format: Format) -> Option<String> {
    let Amount {
        mut mantissa,
        mut exponent,
    } = amount;
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    while exponent % 3 != 0 {
        mantissa = mantissa.checked_mul(10)?;
        exponent -= 1;
    }
    let suffix = match format {
        Format::DecimalExponent if exponent == 0 => String::new(),
        Format::DecimalExponent => format!("e{exponent}"),
        // Outside n…E upstream finds no suffix and prints the bare number.
        _ => match exponent {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        }
        .to_owned(),
    };
    Some(format!("{mantissa}{suffix}"))
}

/// The canonical form of a quantity string; `None` if it does not parse.
pub(super) fn canonical(text: &str) -> Option<String> {
    let (amount, format) = parse(text.trim())?;
    if amount.mantissa == 0 {
        return Some("0".to_owned());
    }
    if format == Format::BinarySi
        && let Some(mut value) = as_integer(amount).filter(|v| v.abs() >= 1024)
    {
        let mut power = 0;
        while value % 1024 == 0 {
            value /= 1024;
            power += 1;
        }
        let suffix = BINARY_SUFFIXES.get(power).copied().unwrap_or("");
        return Some(format!("{value}{suffix}"));
    }
    let format = if format == Format::BinarySi {
        Format::DecimalSi
    } else {
        format
    };
    decimal(amount, format)
}

/// A quantity field's cell: canonical, `0` when absent (Go's zero `Quantity`), as written when
/// it does not parse. JSON numbers are read as upstream's decoder reads them, as their text.
pub(super) fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "0".to_owned(),
        Some(Value::String(text)) => canonical(text).unwrap_or_else(|| text.clone()),
        Some(other) => {
            let text = other.to_string();
            canonical(&text).unwrap_or(text)
        }
    }
}

/// Like [`show`], but `<nil>` when absent: upstream prints a nil `*Quantity` so.
pub(super) fn show_pointer(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "<nil>".to_owned(),
        some => show(some),
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn quantities_print_in_upstreams_canonical_form() {
        let cases = [
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("8Ki", "8Ki"),
            ("100Mi", "100Mi"),
            ("0.5Gi", "512Mi"),
            ("512", "512"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("0.5", "500m"),
            ("1000m", "1"),
            ("250m", "250m"),
            ("100m", "100m"),
            ("1.5", "1500m"),
            ("0", "0"),
            ("0Gi", "0"),
            ("1e3", "1e3"),
            ("1E6", "1e6"),
            ("12e2", "1200"),
            ("10G", "10G"),
            ("2000Mi", "2000Mi"),
            ("0.1Ki", "102400m"),
            ("1.1Ki", "1126400m"),
            ("-1024", "-1024"),
            ("-2Ki", "-2Ki"),
            ("1n", "1n"),
            ("0.1n", "1n"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn malformed_quantities_do_not_parse() {
        for input in ["", "abc", "1Zi", "1.2.3", "e3", "1e"] {
            assert_eq!(canonical(input), None, "{input}");
        }
    }
}
