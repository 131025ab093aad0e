//! Moments and countdowns as the screen writes them.

use chrono::{DateTime, Utc};

use std::fmt::Write as _;

/// `3h 20m`, `2d 4h` or `45s`, and whether the moment has passed.
pub(super) fn countdown(deadline: DateTime<Utc>, now: DateTime<Utc>) -> (String, bool) {
    let mut text = String::new();
    let overdue = write_countdown(&mut text, deadline, now);
    (text, overdue)
}

/// `countdown`'s text (`-` first once the moment has passed), appended to `out`; whether it
/// has passed. The list writes one per row into a reused string.
pub(super) fn write_countdown(
    out: &mut String,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let secs = (deadline - now).num_seconds();
    let overdue = secs < 0;
    let s = secs.unsigned_abs();
    if overdue {
        out.push('-');
    }
    let _ = if s >= 86_400 {
        write!(out, "{}d{}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        write!(out, "{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        write!(out, "{}m", s / 60)
    } else {
        write!(out, "{s}s")
    };
    overdue
}

pub(super) fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (text, overdue) = countdown(at, now);
    if overdue {
        format!("{} ago", text.trim_start_matches('-'))
    } else {
        format!("in {text}")
    }
}

pub(super) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_chrono_writes_them() {
        for at in [
            "2026-11-23T12:00:00Z",
            "2026-01-02T03:04:59Z",
            "0000-01-01T00:00:00Z",
            "0999-12-31T23:59:00Z",
            "9999-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "-0001-06-01T00:00:00Z",
        ] {
            let at: DateTime<Utc> = at.parse().unwrap();
            assert_eq!(timestamp(at), at.format("%Y-%m-%d %H:%M UTC").to_string());
        }
    }
}
