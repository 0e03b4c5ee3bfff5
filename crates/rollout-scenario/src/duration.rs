//! Durations as scenario files write them: a number and a unit.
//!
//! `5ms`, `1.5s`, `2m`, `1h`, `7d`, `250us`. Bare numbers are refused, because
//! `timeout: 30` is ambiguous and the wrong guess costs a day of debugging.
//! The runner's timers are whole milliseconds, so a duration must come out
//! to a whole number of milliseconds.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A duration read from a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

/// What the error messages offer as valid.
pub const DURATION_FORM: &str = "a duration such as 5ms, 1.5s or 2m";

/// Parses `5ms`, `1.5s`, ... into a [`Duration`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!(
            "an empty string is not a duration; write {DURATION_FORM}"
        ));
    }
    if let Some(positive) = text.strip_prefix('-') {
        return Err(format!(
            "`{text}` is negative; durations are 0ms or more, such as {}",
            positive.trim()
        ));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit; write {text}ms or {text}s"))?;
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: u128 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        other => {
            let unit = match other {
                "sec" | "secs" | "second" | "seconds" => "s",
                "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
                "mins" | "minute" | "minutes" => "m",
                "hr" | "hrs" | "hour" | "hours" => "h",
                "day" | "days" => "d",
                _ => "",
            };
            let help = if unit.is_empty() {
                format!("use ms, s, m, h or d, as in {}ms", number.trim())
            } else {
                format!("write {}{unit}", number.trim())
            };
            return Err(format!("unknown unit `{other}` in `{text}`; {help}"));
        }
    };
    if number.is_empty()
        || number.matches('.').count() > 1
        || number.starts_with('.')
        || number.ends_with('.')
    {
        return Err(format!("`{text}` is not a duration; write {DURATION_FORM}"));
    }
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.len() > 15 || frac.len() > 9 {
        return Err(format!(
            "`{text}` is too large or too precise for a duration; the largest is about 584 years, the finest 1ns"
        ));
    }
    let whole: u128 = whole
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write {DURATION_FORM}"))?;
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse()
            .map_err(|_| format!("`{text}` is not a duration; write {DURATION_FORM}"))?
    };
    let scale = 10u128.pow(frac.len() as u32);
    let total = whole * nanos_per_unit + frac_value * nanos_per_unit / scale;
    if (frac_value * nanos_per_unit) % scale != 0 {
        return Err(format!("`{text}` is finer than a nanosecond"));
    }
    let total = u64::try_from(total).map_err(|_| {
        format!("`{text}` is too large for a duration; the largest is about 584 years")
    })?;
    Ok(Duration::from_nanos(total))
}

/// Formats a duration the way scenario files write it: `35ms`, `1.5s`, `2m`.
pub fn format_duration(d: Duration) -> String {
    let mut text = String::with_capacity(8);
    // Writing to a String cannot fail.
    let _ = write_duration(&mut text, d);
    text
}

/// [`format_duration`] into any writer: the largest unit that divides the
/// duration exactly, so that it reads back unchanged.
fn write_duration(out: &mut impl fmt::Write, d: Duration) -> fmt::Result {
    const MS: u128 = 1_000_000;
    const S: u128 = 1_000 * MS;
    const MIN: u128 = 60 * S;
    const HOUR: u128 = 60 * MIN;
    const DAY: u128 = 24 * HOUR;
    let ns = d.as_nanos();
    let (count, unit) = if ns == 0 {
        (0, "ms")
    } else if ns % DAY == 0 {
        (ns / DAY, "d")
    } else if ns % HOUR == 0 {
        (ns / HOUR, "h")
    } else if ns % MIN == 0 {
        (ns / MIN, "m")
    } else if ns % S == 0 {
        (ns / S, "s")
    } else if ns % MS == 0 {
        if ns >= 10 * S {
            out.write_str(&trim_decimal(ns as f64 / 1e9))?;
            return out.write_str("s");
        }
        (ns / MS, "ms")
    } else if ns % 1_000 == 0 {
        (ns / 1_000, "us")
    } else {
        (ns, "ns")
    };
    // u64 formats in fewer steps than u128; only ~584 years and more need it.
    match u64::try_from(count) {
        Ok(count) => write!(out, "{count}{unit}"),
        Err(_) => write!(out, "{count}{unit}"),
    }
}

fn trim_decimal(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_duration(f, self.0)
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurVisitor;
        impl Visitor<'_> for DurVisitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DURATION_FORM)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                let d = parse_duration(v).map_err(E::custom)?;
                if d.subsec_nanos() % 1_000_000 != 0 {
                    let ms = d.as_nanos() / 1_000_000;
                    return Err(E::custom(format!(
                        "`{v}` is not a whole number of milliseconds; the runner's timers count whole milliseconds: write {}ms or {}ms",
                        ms,
                        ms + 1
                    )));
                }
                Ok(Dur(d))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration; write it with a unit: {v}ms or {v}s"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration, and durations are 0ms or more; write {DURATION_FORM}"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a bare number ({v}) is not a duration; write it with a unit: {v}s or {v}ms"
                )))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{v}` is not a duration; write {DURATION_FORM}"
                )))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "an empty value is not a duration; write {DURATION_FORM}, or remove the key"
                )))
            }
        }
        deserializer.deserialize_any(DurVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("5ms"), Ok(ms(5)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("-5ms").unwrap_err().contains("negative"));
        assert!(parse_duration("5sec").unwrap_err().contains("write 5s"));
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn formats_the_way_files_write() {
        let ms = Duration::from_millis;
        assert_eq!(format_duration(ms(35)), "35ms");
        assert_eq!(format_duration(ms(2000)), "2s");
        assert_eq!(format_duration(ms(600_000)), "10m");
        assert_eq!(format_duration(ms(5_400_000)), "90m");
        assert_eq!(format_duration(ms(7_200_000)), "2h");
        assert_eq!(format_duration(ms(7 * 86_400_000)), "7d");
        assert_eq!(format_duration(Duration::ZERO), "0ms");
    }
}
