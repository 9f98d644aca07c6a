//! Timestamps as the states exchange them: RFC 3339 strings, readable in the console.

use aws_smithy_types::date_time::Format;
pub use aws_smithy_types::DateTime;

use crate::error::{Error, Result};

pub fn now() -> DateTime {
    DateTime::from(std::time::SystemTime::now())
}

/// Milliseconds since the epoch, the unit of the Lambda runtime's invocation deadline.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn format(t: DateTime) -> String {
    // Formatting a DateTime as RFC 3339 only fails outside years 0001-9999.
    t.fmt(Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

/// Parse an RFC 3339 timestamp from a state input; `field` names it in the error.
pub fn parse(field: &str, value: &str) -> Result<DateTime> {
    DateTime::from_str(value, Format::DateTime).map_err(|e| {
        Error::invalid_input(format!(
            "{field} {value:?} is not an RFC 3339 timestamp: {e}"
        ))
    })
}

/// `t + secs`, never wrapping: a sum past year 9999 (which RFC 3339 cannot write) is year 9999.
pub fn plus_secs(t: DateTime, secs: u64) -> DateTime {
    const LAST_SECOND_OF_9999: i64 = 253_402_300_799;
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    DateTime::from_secs(t.secs().saturating_add(secs).min(LAST_SECOND_OF_9999))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let t = DateTime::from_secs(1_795_000_000);
        let s = format(t);
        assert_eq!(s, "2026-11-18T11:06:40Z");
        assert_eq!(parse("deadline", &s).unwrap(), t);
        assert_eq!(format(plus_secs(t, 60)), "2026-11-18T11:07:40Z");
    }

    #[test]
    fn huge_durations_saturate_instead_of_wrapping_into_the_past() {
        let t = DateTime::from_secs(1_795_000_000);
        for secs in [u64::MAX, 1 << 63, i64::MAX as u64 + 1] {
            let later = plus_secs(t, secs);
            assert!(later.secs() > t.secs(), "{secs}");
            assert_eq!(format(later), "9999-12-31T23:59:59Z");
        }
    }

    #[test]
    fn garbage_is_invalid_input() {
        assert_eq!(
            parse("deadline", "tomorrow").unwrap_err().name(),
            "InvalidInput"
        );
    }
}
