//! Walking Synapse's report lists without skipping a report.
//!
//! Synapse pages its report lists by offset (`from`), ordered by `received_ts` alone. Reports
//! closed between two reads shift everything after them to lower offsets, so reading on at
//! the offset Synapse named would skip as many reports as were closed before it. modq reads
//! oldest first (`dir=f`: new reports land at the end and shift nothing) and keeps, besides
//! the offset, the position of the last report it read: the newest `received_ts` and the ids
//! read at that instant. Each read starts a little before the offset and must reach back to
//! that position; when it does not (more reports were closed than the overlap), it steps back
//! a page and reads again. Reports at or before the position are dropped as already read.

use std::future::Future;

use crate::backend::BackendError;

/// Reports per request.
pub const LIST_LIMIT: u64 = 100;
/// How far before the last offset each read starts: closings up to this many cost no
/// extra request.
const OVERLAP: u64 = 20;

/// Which of Synapse's lists a walk is in: the event reports first, then the user reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Events,
    Users,
}

/// Where a walk stands: the opaque `next_cursor` modq hands back to the queue reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub phase: Phase,
    /// Offset after the last report read.
    pub offset: u64,
    /// `received_ts` of the newest report read, and the ids read at that instant.
    pub last_ts: Option<i64>,
    pub ids_at_last: Vec<i64>,
}

impl Cursor {
    pub fn start(phase: Phase) -> Cursor {
        Cursor {
            phase,
            offset: 0,
            last_ts: None,
            ids_at_last: Vec::new(),
        }
    }

    pub fn encode(&self) -> String {
        let phase = match self.phase {
            Phase::Events => "e",
            Phase::Users => "u",
        };
        let ids: Vec<String> = self.ids_at_last.iter().map(i64::to_string).collect();
        format!(
            "{phase}.{}.{}.{}",
            self.offset,
            self.last_ts.map(|t| t.to_string()).unwrap_or_default(),
            ids.join("-")
        )
    }

    pub fn decode(text: &str) -> Result<Cursor, BackendError> {
        let bad = || BackendError::Config(format!("not a Matrix queue cursor: {text:?}"));
        let mut parts = text.split('.');
        let phase = match parts.next() {
            Some("e") => Phase::Events,
            Some("u") => Phase::Users,
            _ => return Err(bad()),
        };
        let offset = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let last_ts = match parts.next() {
            Some("") => None,
            Some(t) => Some(t.parse().map_err(|_| bad())?),
            None => return Err(bad()),
        };
        let ids_at_last = match parts.next() {
            Some("") => Vec::new(),
            Some(ids) => ids
                .split('-')
                .map(|i| i.parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
            None => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Cursor {
            phase,
            offset,
            last_ts,
            ids_at_last,
        })
    }

    /// Whether a report at `(ts, id)` comes after the position (is not read yet).
    fn is_new(&self, ts: i64, id: i64) -> bool {
        match self.last_ts {
            None => true,
            Some(last) => ts > last || (ts == last && !self.ids_at_last.contains(&id)),
        }
    }

    fn advance(&mut self, ts: i64, id: i64) {
        match self.last_ts {
            Some(last) if ts == last => self.ids_at_last.push(id),
            Some(last) if ts < last => {}
            _ => {
                self.last_ts = Some(ts);
                self.ids_at_last = vec![id];
            }
        }
    }
}

/// A report as the walk needs to see it.
pub trait Row {
    fn received_ts(&self) -> i64;
    fn id(&self) -> i64;
}

/// One list read: the rows at `from` (at most [`LIST_LIMIT`]), and whether more follow.
pub struct Read<R> {
    pub rows: Vec<R>,
    pub more: bool,
}

/// Read at least `want` reports after `cursor` (fewer at the end of the list). Returns them
/// oldest first, and the position after them; `None` when the list is read to its end.
pub async fn walk<R, F, Fut>(
    cursor: &Cursor,
    want: usize,
    mut read: F,
) -> Result<(Vec<R>, Option<Cursor>), BackendError>
where
    R: Row,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Read<R>, BackendError>>,
{
    let mut at = cursor.clone();
    let mut from = at.offset;
    let mut out = Vec::new();
    loop {
        // Every read once a position is known starts a little early and must reach back to
        // it: reports closed since the last read (between pages, or during this walk) may
        // have moved unread ones below `from`.
        let mut start = if at.last_ts.is_some() {
            from.saturating_sub(OVERLAP)
        } else {
            from
        };
        let page = loop {
            let page = read(start).await?;
            // The first row must be strictly before the position (or the list's first), so
            // that every report at the position's instant is inside this read.
            let reaches_back = match (at.last_ts, page.rows.first()) {
                (None, _) => true,
                (Some(last), Some(first)) => first.received_ts() < last,
                (Some(_), None) => false,
            };
            if reaches_back || start == 0 {
                break page;
            }
            start = start.saturating_sub(LIST_LIMIT);
        };
        let read_here = page.rows.len() as u64;
        for row in page.rows {
            if at.is_new(row.received_ts(), row.id()) {
                at.advance(row.received_ts(), row.id());
                out.push(row);
            }
        }
        // A run of more than LIST_LIMIT - OVERLAP reports filed in one millisecond would
        // keep a read from reaching past it; going on from the old offset then is the best
        // there is.
        from = (start + read_here).max(from);
        at.offset = from;
        if !page.more || read_here == 0 {
            return Ok((out, None));
        }
        if out.len() >= want {
            return Ok((out, Some(at)));
        }
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Debug, Clone, PartialEq)]
    struct R(i64, i64);
    impl Row for R {
        fn received_ts(&self) -> i64 {
            self.0
        }
        fn id(&self) -> i64 {
            self.1
        }
    }

    fn read_from(list: &RefCell<Vec<R>>, from: u64) -> Read<R> {
        let list = list.borrow();
        let rows: Vec<R> = list
            .iter()
            .skip(from as usize)
            .take(LIST_LIMIT as usize)
            .cloned()
            .collect();
        let more = (from + LIST_LIMIT) < list.len() as u64;
        Read { rows, more }
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            phase: Phase::Users,
            offset: 140,
            last_ts: Some(1_796_515_890_503),
            ids_at_last: vec![7, 9],
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let s = Cursor::start(Phase::Events);
        assert_eq!(Cursor::decode(&s.encode()).unwrap(), s);
        assert!(Cursor::decode("x.1..").is_err());
        assert!(Cursor::decode("e.1.2").is_err());
        assert!(Cursor::decode("e.1.2.3.4").is_err());
    }

    /// Closing reports already read, more of them than the overlap, between two reads: the
    /// second read still starts right after the last report read.
    #[tokio::test]
    async fn closing_read_reports_between_pages_skips_nothing() {
        // Equal timestamps in runs of three, as reports filed within one millisecond are.
        let list = RefCell::new((0..450).map(|i| R(1000 + i / 3, i)).collect::<Vec<_>>());
        let mut seen = Vec::new();
        let mut cursor = Some(Cursor::start(Phase::Events));
        while let Some(c) = cursor {
            let (rows, next) = walk(&c, 100, |from| {
                let page = read_from(&list, from);
                async move { Ok(page) }
            })
            .await
            .unwrap();
            // A moderator closes most of what was just read.
            let closed: Vec<i64> = rows.iter().map(|r| r.1).filter(|i| i % 5 != 0).collect();
            list.borrow_mut().retain(|r| !closed.contains(&r.1));
            seen.extend(rows.into_iter().map(|r| r.1));
            cursor = next;
        }
        assert_eq!(seen, (0..450).collect::<Vec<_>>());
    }
}
