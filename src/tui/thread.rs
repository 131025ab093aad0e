//! The thread around an item (`p`): what it replies to and the messages before and after
//! it, made safe to draw when the item arrives and written out as text for the overlay
//! that shows it. Pure: the text comes from what is in memory, no I/O on the way to the
//! screen.

use chrono::{DateTime, Utc};

use crate::model::{Author, Item, Thread, ThreadMessage};
use crate::sanitize::{clean_line, clean_text};

/// A copy of the thread with every string made safe to draw.
pub fn sanitize(thread: Thread) -> Thread {
    let message = |m: ThreadMessage| ThreadMessage {
        id: clean_line(&m.id),
        author: m.author.map(|a| Author {
            id: clean_line(&a.id),
            handle: a.handle.as_deref().map(clean_line),
            created_at: a.created_at,
        }),
        text: m.text.as_deref().map(clean_text),
        at: m.at,
    };
    Thread {
        parent: thread.parent.map(message),
        before: thread.before.into_iter().map(message).collect(),
        after: thread.after.into_iter().map(message).collect(),
    }
}

fn who(author: Option<&Author>) -> String {
    match author {
        Some(Author {
            id,
            handle: Some(h),
            ..
        }) => format!("{h} ({id})"),
        Some(a) => a.id.clone(),
        None => "unknown".into(),
    }
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "time unknown".into(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn push_message(out: &mut Vec<String>, mark: &str, head: String, text: Option<&str>) {
    out.push(format!("{mark}{head}"));
    match text.filter(|t| !t.is_empty()) {
        Some(t) => out.extend(t.lines().map(|l| format!("      {l}"))),
        None => out.push("      (no text)".into()),
    }
}

/// The thread as the overlay shows it, the item marked `▶` among its neighbours; `None`
/// when the platform gave no thread for it. Its strings are sanitized already.
pub fn text(item: &Item) -> Option<String> {
    let thread = item.thread.as_ref()?;
    let mut out = Vec::new();
    let message = |out: &mut Vec<String>, m: &ThreadMessage| {
        let head = format!("{} · {} · {}", who(m.author.as_ref()), when(m.at), m.id);
        push_message(out, "  ", head, m.text.as_deref());
    };
    match &thread.parent {
        Some(parent) => {
            out.push("replies to".into());
            message(&mut out, parent);
        }
        None => out.push("replies to nothing (it starts the thread)".into()),
    }
    out.push(String::new());
    if !thread.before.is_empty() {
        out.push("before it".into());
        for m in &thread.before {
            message(&mut out, m);
        }
    }
    let head = format!(
        "{} · {} · this item",
        who(item.author.as_ref()),
        when(Some(item.created_at))
    );
    push_message(&mut out, "▶ ", head, item.text.as_deref());
    if !thread.after.is_empty() {
        out.push("after it".into());
        for m in &thread.after {
            message(&mut out, m);
        }
    }
    Some(out.join("\n"))
}
