//! Resource quantities (`250m`, `64Mi`, `1e3`, `2G`) as numbers, for cgroup limits and the
//! downward API.

/// The value of a quantity in base units (cores, bytes).
pub fn parse(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let invalid = || format!("quantities must match the regular expression: {text:?} is not one");
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Pi" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Ei" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(invalid()),
    };
    Ok(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_scale_the_number() {
        assert_eq!(parse("250m").unwrap(), 0.25);
        assert_eq!(parse("64Mi").unwrap(), 67_108_864.0);
        assert_eq!(parse("2G").unwrap(), 2e9);
        assert_eq!(parse("1e3").unwrap(), 1000.0);
        assert_eq!(parse("3").unwrap(), 3.0);
        assert!(parse("12x").is_err());
        assert!(parse("").is_err());
    }
}
