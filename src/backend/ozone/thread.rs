//! The thread around a reported post, from the AppView's `app.bsky.feed.getPostThread` as
//! a moderator's Bluesky client reads it: through the moderator's PDS, which sends
//! `app.bsky.*` to its AppView when the call names no other service (no `atproto-proxy`
//! header; checked on the installed PDS, `pipethrough.defaultService`).
//!
//! A reply tree is not a timeline, so modq reads it this way:
//! - `parent`: the post it replies to;
//! - `before`: the posts above that one, up to the thread's root, oldest first (at most 5);
//! - `after`: the direct replies to it, oldest first (at most 5).
//!
//! A parent the AppView cannot show (deleted, taken down, or hidden by a block) is named by
//! its URI with a line saying so, never its text; a post the AppView does not show at all
//! has no thread. Every text is left as the platform sent it: the App sanitizes the thread
//! like the item's own text before it is drawn.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{Author, Thread, ThreadMessage};

/// Most posts shown on each side of a reported one (`model::Thread` allows 5).
pub const SIDE: usize = 5;
/// A post's text is cut to this many characters (`ThreadMessage::text` allows 4000; a
/// Bluesky post is at most 3000 graphemes).
const MAX_TEXT_CHARS: usize = 4000;
/// An id (an AT URI) is cut to this many characters (`ThreadMessage::id` allows 256).
const MAX_ID_CHARS: usize = 256;

const THREAD_VIEW_POST: &str = "app.bsky.feed.defs#threadViewPost";

/// The query's parameters for a post: the parent and the 5 above it, one level of replies.
pub fn params(uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("uri", uri.to_string()),
        ("depth", "1".to_string()),
        ("parentHeight", (SIDE + 1).to_string()),
    ]
}

/// Whether an item id names a post, the only record the AppView threads.
pub fn is_post(id: &str) -> bool {
    id.starts_with("at://") && id.split('/').nth(3) == Some("app.bsky.feed.post")
}

/// The thread from `getPostThread`'s answer; `None` when the AppView did not show the post.
pub fn from_answer(answer: &Value) -> Option<Thread> {
    let node = answer.get("thread")?;
    if kind(node) != Some(THREAD_VIEW_POST) {
        return None;
    }
    let mut ancestors = Vec::new();
    let mut above = node.get("parent");
    while let Some(up) = above {
        if ancestors.len() > SIDE {
            break;
        }
        match message(up) {
            Some(m) => ancestors.push(m),
            None => {
                if ancestors.is_empty() {
                    ancestors.push(unavailable(up, node));
                }
                break;
            }
        }
        above = up.get("parent");
    }
    if ancestors.is_empty()
        && let Some(uri) = reply_parent(node)
    {
        // The post replies to something the AppView left out of the answer altogether.
        ancestors.push(unavailable_uri(uri));
    }
    let mut ancestors = ancestors.into_iter();
    let parent = ancestors.next();
    let mut before: Vec<ThreadMessage> = ancestors.take(SIDE).collect();
    before.reverse();
    let mut after: Vec<ThreadMessage> = node
        .get("replies")
        .and_then(Value::as_array)
        .map(|replies| replies.iter().filter_map(message).collect())
        .unwrap_or_default();
    after.sort_by_key(|m| m.at);
    after.truncate(SIDE);
    Some(Thread {
        parent,
        before,
        after,
    })
}

fn kind(node: &Value) -> Option<&str> {
    node.get("$type").and_then(Value::as_str)
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A post the AppView shows, as a message of the thread.
fn message(node: &Value) -> Option<ThreadMessage> {
    if kind(node) != Some(THREAD_VIEW_POST) {
        return None;
    }
    let post = node.get("post")?;
    let uri = post.get("uri").and_then(Value::as_str)?;
    if uri.trim().is_empty() {
        return None;
    }
    let author = post.get("author").and_then(|a| {
        let did = a.get("did").and_then(Value::as_str)?;
        Some(Author {
            id: cut(did, MAX_ID_CHARS),
            handle: a
                .get("handle")
                .and_then(Value::as_str)
                .map(|h| cut(h, MAX_ID_CHARS)),
            created_at: None,
        })
    });
    let record = post.get("record");
    let text = record
        .and_then(|r| r.get("text"))
        .and_then(Value::as_str)
        .map(|t| cut(t, MAX_TEXT_CHARS));
    let at = record
        .and_then(|r| r.get("createdAt"))
        .or_else(|| post.get("indexedAt"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Some(ThreadMessage {
        id: cut(uri, MAX_ID_CHARS),
        author,
        text,
        at,
    })
}

/// The URI the post's own record says it replies to.
fn reply_parent(node: &Value) -> Option<&str> {
    node.get("post")?
        .get("record")?
        .get("reply")?
        .get("parent")?
        .get("uri")?
        .as_str()
        .filter(|u| !u.trim().is_empty())
}

/// A parent the AppView answered without its post (`notFoundPost`, `blockedPost`).
fn unavailable(up: &Value, node: &Value) -> ThreadMessage {
    match up
        .get("uri")
        .and_then(Value::as_str)
        .filter(|u| !u.trim().is_empty())
        .or_else(|| reply_parent(node))
    {
        Some(uri) => unavailable_uri(uri),
        None => unavailable_uri("(unknown post)"),
    }
}

fn unavailable_uri(uri: &str) -> ThreadMessage {
    ThreadMessage {
        id: cut(uri, MAX_ID_CHARS),
        author: None,
        text: Some(
            "(not shown: the AppView does not show this post; it was deleted, taken down, or \
             is hidden by a block)"
                .into(),
        ),
        at: None,
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post(uri: &str, text: &str, at: &str, parent: Option<Value>) -> Value {
        let mut node = json!({
            "$type": THREAD_VIEW_POST,
            "post": {
                "uri": uri, "cid": "c",
                "author": {"did": "did:plc:x", "handle": "x.test"},
                "record": {"text": text, "createdAt": at},
                "indexedAt": at,
            },
        });
        if let Some(p) = parent {
            node["parent"] = p;
        }
        node
    }

    #[test]
    fn the_parent_chain_is_parent_and_before_and_the_replies_are_after() {
        let root = post(
            "at://a/app.bsky.feed.post/0",
            "root",
            "2026-01-01T00:00:00Z",
            None,
        );
        let mut chain = root;
        for i in 1..=7 {
            chain = post(
                &format!("at://a/app.bsky.feed.post/{i}"),
                &format!("p{i}"),
                &format!("2026-01-01T00:0{i}:00Z"),
                Some(chain),
            );
        }
        let mut item = post(
            "at://a/app.bsky.feed.post/item",
            "item",
            "2026-01-01T01:00:00Z",
            Some(chain),
        );
        let replies: Vec<Value> = (0..7)
            .rev()
            .map(|i| {
                post(
                    &format!("at://a/app.bsky.feed.post/r{i}"),
                    &format!("r{i}"),
                    &format!("2026-01-01T02:0{i}:00Z"),
                    None,
                )
            })
            .chain([json!({"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://gone", "notFound": true})])
            .collect();
        item["replies"] = Value::Array(replies);
        let thread = from_answer(&json!({ "thread": item })).unwrap();
        assert_eq!(thread.parent.unwrap().text.as_deref(), Some("p7"));
        let before: Vec<_> = thread
            .before
            .iter()
            .filter_map(|m| m.text.clone())
            .collect();
        assert_eq!(before, ["p2", "p3", "p4", "p5", "p6"]);
        let after: Vec<_> = thread.after.iter().filter_map(|m| m.text.clone()).collect();
        assert_eq!(after, ["r0", "r1", "r2", "r3", "r4"]);
    }

    #[test]
    fn a_parent_the_appview_does_not_show_is_named_without_text_and_no_post_no_thread() {
        let mut item = post(
            "at://a/app.bsky.feed.post/i",
            "item",
            "2026-01-01T00:00:00Z",
            None,
        );
        item["post"]["record"]["reply"] = json!({"parent": {"uri": "at://b/app.bsky.feed.post/p"}, "root": {"uri": "at://b/app.bsky.feed.post/p"}});
        item["parent"] = json!({"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://b/app.bsky.feed.post/p", "notFound": true});
        let thread = from_answer(&json!({ "thread": item.clone() })).unwrap();
        let parent = thread.parent.unwrap();
        assert_eq!(parent.id, "at://b/app.bsky.feed.post/p");
        assert!(parent.text.unwrap().contains("not shown"));
        assert!(thread.before.is_empty());
        // The AppView left the parent out altogether: the record still says what it answers.
        item.as_object_mut().unwrap().remove("parent");
        let thread = from_answer(&json!({ "thread": item })).unwrap();
        assert_eq!(thread.parent.unwrap().id, "at://b/app.bsky.feed.post/p");
        let gone = json!({"thread": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x", "notFound": true}});
        assert_eq!(from_answer(&gone), None);
        assert_eq!(from_answer(&json!({"nothing": 1})), None);
    }

    #[test]
    fn only_posts_have_threads() {
        assert!(is_post("at://did:plc:x/app.bsky.feed.post/3k"));
        assert!(!is_post("at://did:plc:x/app.bsky.actor.profile/self"));
        assert!(!is_post("did:plc:x"));
    }
}
