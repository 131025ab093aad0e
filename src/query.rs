//! The queue filter language, shared by the TUI (`/`, `:filter`) and the server
//! (`GET /v1/queue?q=`, claims, selections), so that a filter means the same thing on the
//! items in memory and on a queue far larger than memory.
//!
//! `cat:spam lang:ru country:DE prio:>50 from:@handle "free text"`: every term must match.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::model::{Item, Lane, ReporterType};

/// One condition on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// The text contains this, ignoring case (stored lowercased).
    Text(String),
    /// Some report has this category.
    Category(String),
    /// Author handle (`@name`, stored without the `@`) or author id.
    From(String),
    /// Author id, exactly.
    Author(String),
    Reporter(ReporterType),
    Lane(Lane),
    /// One of the item's countries (upper case).
    Country(String),
    /// The item's language (lower case).
    Language(String),
    /// Priority at least this.
    MinPriority(i64),
    /// A link in the text contains this (lowercased).
    Link(String),
    /// Same author, a shared link, or near-identical text as the item with this id.
    Similar(String),
}

/// A parsed filter: all terms must match. The empty query matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
}

/// The orders the queue can be read in. Every order ends in the item id, so it is total and
/// a cursor can resume it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Highest priority first, then oldest.
    #[default]
    Priority,
    /// Oldest first.
    Age,
    /// Most reports first, then highest priority.
    Reports,
    /// Nearest deadline first (items without one last), then highest priority.
    Deadline,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Priority, Sort::Age, Sort::Reports, Sort::Deadline];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Priority => "priority",
            Sort::Age => "age",
            Sort::Reports => "reports",
            Sort::Deadline => "deadline",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    /// The order after this one, for a key that cycles through them.
    pub fn next(self) -> Sort {
        let mut cycle = Sort::ALL.iter().cycle();
        cycle.find(|s| **s == self);
        cycle.next().copied().unwrap_or(self)
    }
}

/// Why a filter could not be read, naming the term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// Longest filter accepted: a filter is typed by a person, not a payload.
pub const MAX_QUERY_CHARS: usize = 1024;

/// The keys a term can start with, for completion and the help overlay.
pub const KEYS: [(&str, &str); 10] = [
    ("cat:", "report category, e.g. cat:spam"),
    ("from:", "author handle or id, e.g. from:@handle"),
    ("author:", "author id, exactly"),
    ("reporter:", "user, trusted_flagger, authority, automated"),
    (
        "lane:",
        "urgent, authority, trusted_flagger, standard, appeals",
    ),
    ("country:", "one of the item's countries, e.g. country:DE"),
    ("lang:", "language, e.g. lang:ru"),
    ("prio:", "priority at least, e.g. prio:>50"),
    ("link:", "a link in the text contains this"),
    (
        "similar:",
        "same author, link or near-identical text as an item",
    ),
];

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError(format!(
                "a filter is at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut terms = Vec::new();
        for word in split_words(text)? {
            terms.push(parse_term(&word)?);
        }
        Ok(Query { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The item ids `similar:` terms refer to; the caller resolves them to [`Likeness`].
    pub fn similar_ids(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|t| match t {
            Term::Similar(id) => Some(id.as_str()),
            _ => None,
        })
    }

    /// Whether `item` matches. `likeness` resolves a `similar:` id to what the item it names
    /// looks like; an id it cannot resolve matches only that item itself.
    pub fn matches(&self, item: &Item, likeness: &dyn Fn(&str) -> Option<Likeness>) -> bool {
        self.terms.iter().all(|t| term_matches(t, item, likeness))
    }
}

fn term_matches(term: &Term, item: &Item, likeness: &dyn Fn(&str) -> Option<Likeness>) -> bool {
    let author_id = item.author.as_ref().map(|a| a.id.as_str());
    let handle = item
        .author
        .as_ref()
        .and_then(|a| a.handle.as_deref())
        .map(|h| h.trim_start_matches('@').to_lowercase());
    match term {
        Term::Text(needle) => item
            .text
            .as_deref()
            .is_some_and(|t| t.to_lowercase().contains(needle.as_str())),
        Term::Category(c) => item.reports.iter().any(|r| r.category.to_lowercase() == *c),
        Term::From(who) => author_id == Some(who.as_str()) || handle.as_deref() == Some(who),
        Term::Author(id) => author_id == Some(id.as_str()),
        Term::Reporter(t) => item.reports.iter().any(|r| r.reporter_type == *t),
        Term::Lane(l) => item.lane == *l,
        Term::Country(c) => item.countries.iter().any(|x| x.eq_ignore_ascii_case(c)),
        Term::Language(l) => item
            .language
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(l)),
        Term::MinPriority(p) => item.priority >= *p,
        Term::Link(part) => links(item.text.as_deref().unwrap_or(""))
            .iter()
            .any(|l| l.contains(part.as_str())),
        Term::Similar(id) => match likeness(id) {
            Some(like) => like.matches(&Likeness::of(item)),
            None => item.id == *id,
        },
    }
}

/// What makes two items "the same wave": author, links, and normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Likeness {
    pub author_id: Option<String>,
    pub links: Vec<String>,
    pub text_hash: Option<String>,
}

impl Likeness {
    pub fn of(item: &Item) -> Likeness {
        let text = item.text.as_deref().unwrap_or("");
        Likeness {
            author_id: item.author.as_ref().map(|a| a.id.clone()),
            links: links(text),
            text_hash: text_hash(text),
        }
    }

    pub fn matches(&self, other: &Likeness) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        same(&self.author_id, &other.author_id)
            || same(&self.text_hash, &other.text_hash)
            || self.links.iter().any(|l| other.links.contains(l))
    }
}

/// A hash of the text with what spam waves vary taken out: case, digits, punctuation, links,
/// emoji and spacing. Two posts of one wave ("WIN 500$ now!!" / "win 900$ now") share it.
/// `None` for text with nothing left to compare (too short to call two items alike).
pub fn text_hash(text: &str) -> Option<String> {
    let mut normal = String::new();
    for word in text.split_whitespace() {
        if looks_like_link(word) {
            continue;
        }
        let kept: String = word
            .chars()
            .filter(|c| c.is_alphabetic())
            .flat_map(char::to_lowercase)
            .collect();
        if !kept.is_empty() {
            if !normal.is_empty() {
                normal.push(' ');
            }
            normal.push_str(&kept);
        }
    }
    if normal.chars().count() < 12 {
        return None;
    }
    let digest = Sha256::digest(normal.as_bytes());
    Some(hex::encode(
        digest.iter().take(12).copied().collect::<Vec<u8>>(),
    ))
}

/// Links kept per item: enough for any real post, and a bound on what one report costs
/// to store and what a `similar:` filter binds (one SQL variable each).
pub const MAX_LINKS_PER_ITEM: usize = 100;

/// The first [`MAX_LINKS_PER_ITEM`] distinct links in a text, lowercased, without scheme and
/// trailing punctuation: `https://Example.org/x).` → `example.org/x`. One pass, whatever
/// the text holds.
pub fn links(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for word in text.split_whitespace() {
        if out.len() >= MAX_LINKS_PER_ITEM {
            break;
        }
        if !looks_like_link(word) {
            continue;
        }
        let lower = word.to_lowercase();
        let bare = lower
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("www.")
            .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '/')
            .trim_end_matches('/')
            .to_string();
        if !bare.is_empty() && seen.insert(bare.clone()) {
            out.push(bare);
        }
    }
    out
}

/// A URL, or a bare domain with an optional path (`quickcash-hub.example/win`): spam often
/// leaves out the scheme so that the link is not clickable and filters miss it.
fn looks_like_link(word: &str) -> bool {
    let w = word.to_lowercase();
    if w.contains("http://") || w.contains("https://") || w.contains("www.") {
        return true;
    }
    let bare = w
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '/');
    let host = bare.split('/').next().unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && !host.contains('@')
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Splits on spaces, keeping `"quoted phrases"` (also after a key: `from:"a b"`) whole.
fn split_words(text: &str) -> Result<Vec<String>, QueryError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(QueryError("a quote is not closed".into()));
    }
    if !current.is_empty() {
        words.push(current);
    }
    Ok(words)
}

fn parse_term(word: &str) -> Result<Term, QueryError> {
    let Some((key, value)) = word.split_once(':') else {
        return Ok(Term::Text(word.to_lowercase()));
    };
    let known = KEYS.iter().any(|(k, _)| k.trim_end_matches(':') == key);
    if !known {
        // `http://…` and other colons in plain words are text, not a mistyped key.
        if key.chars().all(|c| c.is_ascii_lowercase()) && !value.starts_with("//") {
            return Err(QueryError(format!(
                "unknown filter {key}: (known: {})",
                KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(" ")
            )));
        }
        return Ok(Term::Text(word.to_lowercase()));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(QueryError(format!("{key}: needs a value")));
    }
    let bad = |what: &str| QueryError(format!("{key}:{value} — {what}"));
    Ok(match key {
        "cat" => Term::Category(value.to_lowercase()),
        "from" => Term::From(match value.strip_prefix('@') {
            Some(handle) => handle.to_lowercase(),
            None => value.to_string(),
        }),
        "author" => Term::Author(value.to_string()),
        "reporter" => Term::Reporter(parse_reporter(value).ok_or_else(|| {
            bad("reporter is one of user, trusted_flagger, authority, automated")
        })?),
        "lane" => Term::Lane(Lane::parse(value).ok_or_else(|| {
            bad("lane is one of urgent, authority, trusted_flagger, standard, appeals")
        })?),
        "country" => {
            if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(bad("a country is a two-letter ISO 3166 code, e.g. DE"));
            }
            Term::Country(value.to_ascii_uppercase())
        }
        "lang" => Term::Language(value.to_lowercase()),
        "prio" => {
            let (strict, number) = match value.strip_prefix(">=") {
                Some(n) => (false, n),
                None => match value.strip_prefix('>') {
                    Some(n) => (true, n),
                    None => (false, value),
                },
            };
            let n: i64 = number
                .trim()
                .parse()
                .map_err(|_| bad("priority is a number, e.g. prio:>50"))?;
            Term::MinPriority(if strict { n.saturating_add(1) } else { n })
        }
        "link" => Term::Link(
            value
                .to_lowercase()
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_start_matches("www.")
                .to_string(),
        ),
        _ => Term::Similar(value.to_string()),
    })
}

fn parse_reporter(s: &str) -> Option<ReporterType> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |f: &mut fmt::Formatter<'_>, key: &str, v: &str| {
            if v.contains(char::is_whitespace) {
                write!(f, "{key}\"{v}\"")
            } else {
                write!(f, "{key}{v}")
            }
        };
        match self {
            Term::Text(t) => quoted(f, "", t),
            Term::Category(c) => quoted(f, "cat:", c),
            Term::From(w) => quoted(f, "from:", w),
            Term::Author(a) => quoted(f, "author:", a),
            Term::Reporter(r) => write!(f, "reporter:{}", reporter_name(*r)),
            Term::Lane(l) => write!(f, "lane:{}", l.as_str()),
            Term::Country(c) => write!(f, "country:{c}"),
            Term::Language(l) => write!(f, "lang:{l}"),
            Term::MinPriority(p) => write!(f, "prio:{p}"),
            Term::Link(l) => quoted(f, "link:", l),
            Term::Similar(id) => quoted(f, "similar:", id),
        }
    }
}

fn reporter_name(r: ReporterType) -> &'static str {
    match r {
        ReporterType::User => "user",
        ReporterType::TrustedFlagger => "trusted_flagger",
        ReporterType::Authority => "authority",
        ReporterType::Automated => "automated",
    }
}

impl fmt::Display for Query {
    /// The canonical form: parsing it gives the same query back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Author, ItemKind, Report, ReviewState};
    use chrono::Utc;

    fn item(id: &str, text: &str, handle: &str) -> Item {
        Item {
            id: id.into(),
            kind: ItemKind::Post,
            text: Some(text.into()),
            author: Some(Author {
                id: format!("u-{handle}"),
                handle: Some(format!("@{handle}")),
            }),
            language: Some("ru".into()),
            countries: vec!["DE".into(), "AT".into()],
            media: Vec::new(),
            reports: vec![Report {
                id: 1,
                reporter_type: ReporterType::TrustedFlagger,
                category: "spam".into(),
                comment: None,
                lane: Lane::TrustedFlagger,
                deadline: None,
                received_at: Utc::now(),
            }],
            priority: 60,
            lane: Lane::TrustedFlagger,
            deadline: None,
            state: ReviewState::Open,
            restricted_in: None,
            escalation_target: None,
            created_at: Utc::now(),
            history: Vec::new(),
            author_record: None,
            allowed_actions: None,
            leased_by: None,
        }
    }

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap()
    }

    fn no_likeness(_: &str) -> Option<Likeness> {
        None
    }

    #[test]
    fn the_documented_example_parses_and_matches() {
        let query = q("cat:spam lang:ru country:de prio:>50 from:@Bob \"cheap pills\"");
        assert_eq!(query.terms.len(), 6);
        let i = item("p1", "Buy CHEAP PILLS today", "bob");
        assert!(query.matches(&i, &no_likeness));
        let mut other = i.clone();
        other.priority = 50;
        assert!(!query.matches(&other, &no_likeness), "prio:>50 is strict");
    }

    #[test]
    fn the_canonical_form_parses_back_to_the_same_query() {
        for s in [
            "cat:spam from:bob \"two words\" prio:51 lane:urgent reporter:authority",
            "link:example.org/x similar:post-1 author:u-1 country:DE lang:ru",
            "",
        ] {
            let query = q(s);
            assert_eq!(q(&query.to_string()), query, "{s}");
        }
    }

    #[test]
    fn mistakes_name_the_term() {
        let err = |s: &str| Query::parse(s).unwrap_err().0;
        assert!(err("lane:fast").contains("lane:fast"));
        assert!(err("country:Germany").contains("two-letter"));
        assert!(err("prio:high").contains("prio:high"));
        assert!(err("colour:red").contains("unknown filter colour:"));
        assert!(err("cat:").contains("needs a value"));
        assert!(err("\"open").contains("quote"));
        // A link in plain text is text, not an unknown key.
        assert_eq!(
            q("https://x.org").terms,
            vec![Term::Text("https://x.org".into())]
        );
    }

    #[test]
    fn links_are_capped_per_item_and_found_in_one_pass() {
        let text: String = (0..200_000).map(|i| format!("s{i}.example ")).collect();
        let found = links(&text);
        assert_eq!(found.len(), MAX_LINKS_PER_ITEM);
        assert_eq!(found[0], "s0.example");
        assert_eq!(
            links("a.example a.example b.example"),
            ["a.example", "b.example"]
        );
    }

    #[test]
    fn a_spam_wave_shares_its_text_hash_and_links() {
        let a = "WIN 500$ now!!! https://Prize.example/claim?id=1";
        let b = "win 900$ NOW https://prize.example/claim?id=1.";
        assert_eq!(text_hash(a), text_hash(b));
        assert_ne!(text_hash(a), text_hash("win a car now at the fair today"));
        assert_eq!(links(a), vec!["prize.example/claim?id=1"]);
        assert_eq!(links(a), links(b));
        assert_eq!(text_hash("hi"), None, "too short to compare");
        assert_eq!(
            links("Cliquez ici 👉 quickcash-hub.example/win. Done, e.g. at 3.5 or photos."),
            vec!["quickcash-hub.example/win"]
        );
    }

    #[test]
    fn similar_matches_author_or_link_or_text() {
        let wave = item(
            "p1",
            "Claim your prize today at https://prize.example",
            "spam1",
        );
        let like = Likeness::of(&wave);
        let resolve = |id: &str| (id == "p1").then(|| like.clone());
        let query = q("similar:p1");
        let same_link = item("p2", "totally different words https://prize.example", "x");
        let same_author = item("p3", "an ordinary post about gardening", "spam1");
        let unrelated = item("p4", "an ordinary post about gardening", "y");
        assert!(query.matches(&same_link, &resolve));
        assert!(query.matches(&same_author, &resolve));
        assert!(!query.matches(&unrelated, &resolve));
    }

    #[test]
    fn sorts_cycle_and_parse() {
        assert_eq!(Sort::parse("deadline"), Some(Sort::Deadline));
        assert_eq!(Sort::Deadline.next(), Sort::Priority);
        assert_eq!(Sort::parse("size"), None);
    }
}
