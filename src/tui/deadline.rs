//! How near a deadline is, for its colour: far (more than a day left), near (within a day),
//! imminent (within the hour) and overdue. One function, so the list and the item view agree.

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::style::Style;

use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Nearness {
    Far,
    Near,
    Imminent,
    Overdue,
}

pub fn nearness(deadline: DateTime<Utc>, now: DateTime<Utc>) -> Nearness {
    let left = deadline - now;
    if left < TimeDelta::zero() {
        Nearness::Overdue
    } else if left <= TimeDelta::hours(1) {
        Nearness::Imminent
    } else if left <= TimeDelta::days(1) {
        Nearness::Near
    } else {
        Nearness::Far
    }
}

/// The countdown's style: muted while far, the warning colour within a day, the urgent
/// colour within the hour and after, bold once overdue.
pub fn style(theme: &Theme, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Style {
    match nearness(deadline, now) {
        Nearness::Far => theme.muted,
        Nearness::Near => theme.warning,
        Nearness::Imminent => theme.urgent,
        Nearness::Overdue => theme.urgent.add_modifier(ratatui::style::Modifier::BOLD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearness_steps_up_as_the_deadline_comes() {
        let now = Utc::now();
        let at = |minutes: i64| nearness(now + TimeDelta::minutes(minutes), now);
        assert_eq!(at(3 * 24 * 60), Nearness::Far);
        assert_eq!(at(23 * 60), Nearness::Near);
        assert_eq!(at(60), Nearness::Imminent);
        assert_eq!(at(1), Nearness::Imminent);
        assert_eq!(at(-1), Nearness::Overdue);
    }
}
