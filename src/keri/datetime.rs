//! Timestamps written the way Python's `isoformat` writes them with microseconds, as KERI's
//! first-seen times, replies and HTTP signatures carry them.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `datetime` in UTC as Python's `isoformat` with microseconds: `2024-01-02T03:04:05.678901+00:00`.
pub fn format_datetime(datetime: OffsetDateTime) -> String {
    const ISO_MICROS: &[BorrowedFormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    datetime
        .to_offset(UtcOffset::UTC)
        .format(ISO_MICROS)
        .expect("every component of the format is in an OffsetDateTime")
}

/// The current time, formatted by `format_datetime`.
pub fn now_iso8601() -> String {
    format_datetime(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DATETIME: &str = "2024-01-02T03:04:05.678901+00:00";

    #[test]
    fn datetimes_have_microseconds_and_utc_offset() {
        assert_eq!(
            format_datetime(datetime!(2024-01-02 03:04:05.678901 UTC)),
            DATETIME
        );
        assert_eq!(
            format_datetime(datetime!(2024-01-02 05:04:05 +02:00)),
            "2024-01-02T03:04:05.000000+00:00"
        );
        assert_eq!(now_iso8601().len(), DATETIME.len());
    }
}
