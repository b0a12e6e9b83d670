//! Minimal RFC 3339 parsing for SCIM `dateTime` values (RFC 7643 §2.3.5: xsd:dateTime with a
//! time zone), so filters compare chronologically and bad values are rejected, without a
//! date-time crate.

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into (seconds since the Unix epoch, nanos).
pub(crate) fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if seps.iter().any(|(i, c)| b.get(*i) != Some(c)) || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut idx = 19;
    let mut nanos: u32 = 0;
    if b.get(idx) == Some(&b'.') {
        idx += 1;
        let start = idx;
        while let Some(d) = b.get(idx).filter(|c| c.is_ascii_digit()) {
            if idx - start < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            idx += 1;
        }
        let n = idx - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(idx) {
        Some(b'Z' | b'z') => {
            idx += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let oh = digits(b, idx + 1, 2)?;
            let om = digits(b, idx + 4, 2)?;
            if b.get(idx + 3) != Some(&b':') || oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh) * 3600 + i64::from(om) * 60;
            idx += 6;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    if idx != b.len() {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second) - offset_secs;
    Some((secs, nanos))
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let slice = b.get(start..start + len)?;
    slice.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_values() {
        let cases = [
            ("1970-01-01T00:00:00Z", (0, 0)),
            ("2011-08-01T18:29:49.793Z", (1_312_223_389, 793_000_000)),
            ("2011-08-01T20:29:49.793+02:00", (1_312_223_389, 793_000_000)),
            ("2011-08-01t18:29:49z", (1_312_223_389, 0)),
            ("1969-12-31T23:59:59-00:00", (-1, 0)),
            ("2024-02-29T00:00:00.123456789123Z", (1_709_164_800, 123_456_789)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_rfc3339(s), Some(want), "{s}");
        }
    }

    #[test]
    fn rejects_invalid_values() {
        for s in [
            "",
            "2011-08-01",
            "2011-08-01T18:29:49",
            "2011-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2011-08-01T24:00:00Z",
            "2011-08-01T18:29:49.Z",
            "2011-08-01T18:29:49+0200",
            "2011-08-01T18:29:49Zx",
            "2011/08/01T18:29:49Z",
            "ü011-08-01T18:29:49Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }
}
