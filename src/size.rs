//! Byte sizes and growth limits: parsing (SI and IEC kept apart) and display;
//! durations (`90s`, `10m`) as flags and settings write them.
//!
//! Pure: no I/O. `MB` is 1,000,000 bytes and `MiB` is 1,048,576 bytes, always.

use std::fmt;

/// Units accepted in budgets, longest names first so `MiB` is not read as `M`.
const UNITS: &[(&str, u64)] = &[
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("k", 1_000),
    ("m", 1_000_000),
    ("g", 1_000_000_000),
    ("t", 1_000_000_000_000),
    ("b", 1),
    ("", 1),
];

/// Why a size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("a size is needed, found an empty string")]
    Empty,
    #[error("sizes cannot be negative")]
    Negative,
    #[error("`{0}` is not a number followed by a unit")]
    Malformed(String),
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    #[error("`{0}` is more bytes than fit in 64 bits")]
    TooLarge(String),
    #[error("`{0}` is not a whole number of bytes")]
    Fractional(String),
    #[error("`{0}` is not a percentage")]
    BadPercent(String),
}

/// A decimal number kept exact: `digits / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    digits: u128,
    scale: u32,
}

fn parse_decimal(text: &str) -> Option<Decimal> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 18 || int.len() > 20 {
        return None;
    }
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    Some(Decimal {
        digits,
        scale: frac.len() as u32,
    })
}

/// Parses `150MB`, `1.5 GiB`, `2048` into bytes. Case is ignored for the unit
/// (`mb` is `MB`); `B` may be omitted.
pub fn parse_bytes(input: &str) -> Result<u64, SizeError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(SizeError::Empty);
    }
    if text.starts_with('-') {
        return Err(SizeError::Negative);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = number.replace('_', "");
    let unit = unit.trim();
    let value = parse_decimal(&number).ok_or_else(|| SizeError::Malformed(text.to_string()))?;
    let lower = unit.to_ascii_lowercase();
    let multiplier = UNITS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, m)| *m)
        .ok_or_else(|| SizeError::UnknownUnit(unit.to_string()))?;
    let scaled = value
        .digits
        .checked_mul(u128::from(multiplier))
        .ok_or_else(|| SizeError::TooLarge(text.to_string()))?;
    let divisor = 10u128.pow(value.scale);
    if scaled % divisor != 0 {
        return Err(SizeError::Fractional(text.to_string()));
    }
    u64::try_from(scaled / divisor).map_err(|_| SizeError::TooLarge(text.to_string()))
}

/// A growth limit: an absolute number of bytes or a percentage of the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    Bytes(u64),
    /// Percent as an exact decimal: `percent_digits / 10^scale` percent.
    Percent {
        digits: u64,
        scale: u32,
    },
}

impl Growth {
    /// Parses `5%`, `2.5 %`, `10MB`, `1048576`.
    pub fn parse(input: &str) -> Result<Growth, SizeError> {
        let text = input.trim();
        if let Some(number) = text.strip_suffix('%') {
            let number = number.trim();
            if number.starts_with('-') {
                return Err(SizeError::Negative);
            }
            let value =
                parse_decimal(number).ok_or_else(|| SizeError::BadPercent(text.to_string()))?;
            let digits =
                u64::try_from(value.digits).map_err(|_| SizeError::BadPercent(text.to_string()))?;
            return Ok(Growth::Percent {
                digits,
                scale: value.scale,
            });
        }
        parse_bytes(text).map(Growth::Bytes)
    }

    pub fn is_zero(&self) -> bool {
        match self {
            Growth::Bytes(b) => *b == 0,
            Growth::Percent { digits, .. } => *digits == 0,
        }
    }

    /// The largest growth in bytes this limit allows over `base` bytes
    /// (rounded down, so the limit is never looser than written).
    pub fn allowed(&self, base: u64) -> u64 {
        match *self {
            Growth::Bytes(b) => b,
            Growth::Percent { digits, scale } => {
                let num = u128::from(base) * u128::from(digits);
                let den = 100u128 * 10u128.pow(scale);
                u64::try_from(num / den).unwrap_or(u64::MAX)
            }
        }
    }

    /// True when growing from `base` by `delta` bytes goes past this limit.
    /// Exact: no floating point.
    pub fn exceeded(&self, base: u64, delta: i128) -> bool {
        if delta <= 0 {
            return false;
        }
        let delta = delta as u128;
        match *self {
            Growth::Bytes(b) => delta > u128::from(b),
            Growth::Percent { digits, scale } => {
                // delta / base * 100 > digits / 10^scale
                delta * 100 * 10u128.pow(scale) > u128::from(digits) * u128::from(base)
            }
        }
    }
}

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Growth::Bytes(b) => write!(f, "{}", human(b)),
            Growth::Percent { digits, scale } => {
                write!(f, "{}%", decimal_string(u128::from(digits), scale))
            }
        }
    }
}

fn decimal_string(digits: u128, scale: u32) -> String {
    if scale == 0 {
        return digits.to_string();
    }
    let div = 10u128.pow(scale);
    let frac = format!("{:0width$}", digits % div, width = scale as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        (digits / div).to_string()
    } else {
        format!("{}.{frac}", digits / div)
    }
}

/// Bytes for people, in SI units as docker prints them: `149.8 MB`, `999 B`.
pub fn human(bytes: u64) -> String {
    const STEPS: &[(&str, u64)] = &[
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("kB", 1_000),
    ];
    for (unit, size) in STEPS {
        if bytes >= *size {
            // One decimal, rounded half up, computed on integers.
            let tenths = (u128::from(bytes) * 10 + u128::from(*size) / 2) / u128::from(*size);
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    format!("{bytes} B")
}

/// An exact byte count with thousands separators: `160,000,000 bytes`.
pub fn exact(bytes: u64) -> String {
    count(bytes, "byte", "bytes")
}

/// A count with thousands separators and its noun: `1 file`, `15,843 files`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    let noun = if n == 1 { one } else { many };
    format!("{out} {noun}")
}

/// A signed byte delta for people: `+1.2 MB`, `-300 B`, `±0 B`.
pub fn human_delta(delta: i128) -> String {
    let magnitude = u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX);
    match delta.signum() {
        1 => format!("+{}", human(magnitude)),
        -1 => format!("-{}", human(magnitude)),
        _ => "±0 B".to_string(),
    }
}

/// The change from `base` to `now` in percent, one decimal; `None` when the
/// baseline is zero bytes (any growth from nothing is unbounded).
pub fn percent_change(base: u64, now: u64) -> Option<f64> {
    if base == 0 {
        return None;
    }
    let delta = i128::from(now) - i128::from(base);
    Some(delta as f64 * 100.0 / base as f64)
}

/// A budget for a size of `bytes` with `headroom_percent` on top, rounded up
/// to a tidy SI figure (at most one decimal) that parses back to at least that.
pub fn budget_with_headroom(bytes: u64, headroom_percent: u64) -> String {
    let target = u128::from(bytes) * u128::from(100 + headroom_percent);
    let target = target.div_ceil(100);
    const STEPS: &[(&str, u128)] = &[("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000)];
    for (unit, size) in STEPS {
        if target >= *size {
            let tenths = (target * 10).div_ceil(*size);
            return format!("{}{unit}", decimal_string(tenths, 1));
        }
    }
    format!("{target}B")
}

/// `90s`, `10m`, `1h`, `500ms`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || format!("`{text}` is not a duration: write such as 90s, 10m or 1h");
    let n: u64 = number.parse().map_err(|_| bad())?;
    let d = match unit.trim() {
        "" | "s" => std::time::Duration::from_secs(n),
        "ms" => std::time::Duration::from_millis(n),
        "m" | "min" => std::time::Duration::from_secs(n.saturating_mul(60)),
        "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_and_iec_stay_apart() {
        assert_eq!(parse_bytes("150MB"), Ok(150_000_000));
        assert_eq!(parse_bytes("150 mb"), Ok(150_000_000));
        assert_eq!(parse_bytes("150MiB"), Ok(150 * 1_048_576));
        assert_eq!(parse_bytes("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_bytes("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_bytes("2kB"), Ok(2_000));
        assert_eq!(parse_bytes("2KiB"), Ok(2_048));
        assert_eq!(parse_bytes("2048"), Ok(2048));
        assert_eq!(parse_bytes("2048 B"), Ok(2048));
        assert_eq!(parse_bytes(" 15 MB "), Ok(15_000_000));
        assert_eq!(parse_bytes("1_000_000"), Ok(1_000_000));
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert_eq!(parse_bytes(""), Err(SizeError::Empty));
        assert_eq!(parse_bytes("-10MB"), Err(SizeError::Negative));
        assert!(matches!(parse_bytes("150 MBB"), Err(SizeError::UnknownUnit(u)) if u == "MBB"));
        assert!(matches!(parse_bytes("MB"), Err(SizeError::Malformed(_))));
        assert!(matches!(
            parse_bytes("1,5 GB"),
            Err(SizeError::UnknownUnit(_))
        ));
        assert!(matches!(parse_bytes("1.5"), Err(SizeError::Fractional(_))));
        assert!(matches!(
            parse_bytes("99999999TB"),
            Err(SizeError::TooLarge(_))
        ));
    }

    #[test]
    fn growth_is_exact() {
        let five = Growth::parse("5%").unwrap();
        assert_eq!(
            five,
            Growth::Percent {
                digits: 5,
                scale: 0
            }
        );
        // 5% of 100 is exactly 5: not exceeded at 5, exceeded at 6.
        assert!(!five.exceeded(100, 5));
        assert!(five.exceeded(100, 6));
        let half = Growth::parse("2.5 %").unwrap();
        assert!(!half.exceeded(1000, 25));
        assert!(half.exceeded(1000, 26));
        assert_eq!(half.allowed(1000), 25);
        assert_eq!(half.to_string(), "2.5%");
        let bytes = Growth::parse("10MB").unwrap();
        assert_eq!(bytes, Growth::Bytes(10_000_000));
        assert!(!bytes.exceeded(1, 10_000_000));
        assert!(bytes.exceeded(1, 10_000_001));
        assert!(!bytes.exceeded(1, -5));
        // Any growth from an empty baseline exceeds a percentage.
        assert!(five.exceeded(0, 1));
        assert!(matches!(Growth::parse("-5%"), Err(SizeError::Negative)));
        assert!(matches!(
            Growth::parse("five%"),
            Err(SizeError::BadPercent(_))
        ));
    }

    #[test]
    fn human_sizes_are_si() {
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1_000), "1.0 kB");
        assert_eq!(human(149_800_000), "149.8 MB");
        assert_eq!(human(1_048_576), "1.0 MB");
        assert_eq!(human(1_950_000), "2.0 MB");
        assert_eq!(exact(160_000_000), "160,000,000 bytes");
        assert_eq!(exact(1), "1 byte");
        assert_eq!(exact(999), "999 bytes");
        assert_eq!(exact(1_000), "1,000 bytes");
        assert_eq!(human_delta(-300), "-300 B");
        assert_eq!(human_delta(1_200_000), "+1.2 MB");
        assert_eq!(human_delta(0), "±0 B");
    }

    #[test]
    fn headroom_rounds_up_and_parses_back() {
        for bytes in [1u64, 999, 1_000, 12_345_678, 2_000_000, 987_654_321_000] {
            let text = budget_with_headroom(bytes, 10);
            let parsed = parse_bytes(&text).unwrap();
            assert!(parsed >= bytes + bytes / 10, "{text} < {bytes} + 10%");
        }
        assert_eq!(budget_with_headroom(2_000_000, 10), "2.2MB");
        assert_eq!(budget_with_headroom(12_345_678, 10), "13.6MB");
        assert_eq!(budget_with_headroom(500, 10), "550B");
    }

    #[test]
    fn durations_parse_in_their_units_and_nonsense_is_refused() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "0s", "s", "1.5m", "10 days", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_have_separators_and_their_plural() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(15_843, "file", "files"), "15,843 files");
        assert_eq!(count(0, "layer", "layers"), "0 layers");
        assert_eq!(exact(1), "1 byte");
    }
}
