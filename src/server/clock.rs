//! The server's time: what "now" is when a lease runs out, a deadline passes or a decision is
//! stamped.

use chrono::{DateTime, TimeDelta, Utc};

/// The wall clock, or the wall clock moved by a fixed amount. A moved clock still runs, so
/// leases expire as they would; it lets a recorded queue (the sample, a test's fixture) be
/// served as of the moment it was recorded, its deadlines neither met nor missed by the
/// calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The wall clock: what `modq serve` runs on.
    pub fn wall() -> Clock {
        Clock::default()
    }

    /// A clock that reads `start` now and runs on from there.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            offset: start - Utc::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_reads_its_start_and_runs_on() {
        let start: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        let first = clock.now();
        assert!(
            first >= start && first - start < TimeDelta::seconds(5),
            "{first}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > first);
        assert!((Clock::wall().now() - Utc::now()).abs() < TimeDelta::seconds(1));
    }
}
