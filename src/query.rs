//! The queue filter language, shared by the TUI (`/`, `:filter`) and the server
//! (`GET /v1/queue?q=`, claims, selections), so that a filter means the same thing on the
//! items in memory and on a queue far larger than memory.
//!
//! `cat:spam lang:ru country:DE prio:>50 from:@handle "free text"`: every word must match.
//! A word may list alternatives of one key (`cat:spam,scam`: either) and may be negated
//! (`-cat:spam`: none of them). The syntax tree is two levels deep and no deeper: a
//! [`Query`] is a conjunction of [`Clause`]s, a clause a (possibly negated) disjunction of
//! [`Term`]s, a term one condition on one field. Every engine (the client's `matches`, the
//! server's SQL) compiles this one tree.

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
    /// Priority compared with a number, as typed: `prio:>50` stays `prio:>50`.
    Priority(Compare, i64),
    /// A link in the text contains this (lowercased).
    Link(String),
    /// Same author, a shared link, or near-identical text as the item with this id.
    Similar(String),
}

/// How `prio:` compares the item's priority with its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `prio:>50`
    Above,
    /// `prio:>=50`, and a bare `prio:50`
    AtLeast,
    /// `prio:<50`
    Below,
    /// `prio:<=50`
    AtMost,
}

impl Compare {
    /// The operator as SQL and the filter language both write it.
    pub fn symbol(self) -> &'static str {
        match self {
            Compare::Above => ">",
            Compare::AtLeast => ">=",
            Compare::Below => "<",
            Compare::AtMost => "<=",
        }
    }

    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Compare::Above => left > right,
            Compare::AtLeast => left >= right,
            Compare::Below => left < right,
            Compare::AtMost => left <= right,
        }
    }
}

/// One word of a filter: any of its alternatives matches (`cat:spam,scam`), or, negated
/// (`-cat:spam,scam`), none does. The alternatives are all of one key, as the parser makes
/// them; a clause of one term is a plain condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub negated: bool,
    pub any_of: Vec<Term>,
}

impl Clause {
    /// A plain condition: this term must match.
    pub fn must(term: Term) -> Clause {
        Clause {
            negated: false,
            any_of: vec![term],
        }
    }

    /// The term of a plain condition (one alternative, not negated).
    pub fn plain(&self) -> Option<&Term> {
        match self.any_of.as_slice() {
            [term] if !self.negated => Some(term),
            _ => None,
        }
    }

    pub fn matches(&self, item: &Item, likeness: &dyn Fn(&str) -> Option<Likeness>) -> bool {
        self.any_of.iter().any(|t| term_matches(t, item, likeness)) != self.negated
    }
}

/// A parsed filter: every clause must match. The empty query matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub clauses: Vec<Clause>,
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

/// Most terms in one filter, alternatives included: each is a condition in the server's SQL,
/// so this bounds the statement whatever a hostile filter string holds.
pub const MAX_TERMS: usize = 32;

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
    ("prio:", "priority, e.g. prio:>50, prio:>=50, prio:<10"),
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
        let mut clauses = Vec::new();
        for word in split_words(text)? {
            clauses.push(parse_clause(&word)?);
        }
        let query = Query { clauses };
        let count = query.terms().count();
        if count > MAX_TERMS {
            return Err(QueryError(format!(
                "a filter holds at most {MAX_TERMS} terms, alternatives included; this one has \
                 {count}: filter in two steps"
            )));
        }
        Ok(query)
    }

    /// A filter of plain conditions, all of which must match.
    pub fn all_of(terms: impl IntoIterator<Item = Term>) -> Query {
        Query {
            clauses: terms.into_iter().map(Clause::must).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Every term of every clause, negated or not.
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.clauses.iter().flat_map(|c| c.any_of.iter())
    }

    /// The item ids `similar:` terms refer to; the caller resolves them to [`Likeness`].
    pub fn similar_ids(&self) -> impl Iterator<Item = &str> {
        self.terms().filter_map(|t| match t {
            Term::Similar(id) => Some(id.as_str()),
            _ => None,
        })
    }

    /// Whether `item` matches. `likeness` resolves a `similar:` id to what the item it names
    /// looks like; an id it cannot resolve matches only that item itself.
    pub fn matches(&self, item: &Item, likeness: &dyn Fn(&str) -> Option<Likeness>) -> bool {
        self.clauses.iter().all(|c| c.matches(item, likeness))
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
        Term::Category(c) => item.reported_categories().any(|r| r.to_lowercase() == *c),
        Term::From(who) => author_id == Some(who.as_str()) || handle.as_deref() == Some(who),
        Term::Author(id) => author_id == Some(id.as_str()),
        Term::Reporter(t) => item.reported_by(*t),
        Term::Lane(l) => item.lane == *l,
        Term::Country(c) => item.countries.iter().any(|x| x.eq_ignore_ascii_case(c)),
        Term::Language(l) => item
            .language
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(l)),
        Term::Priority(op, p) => op.holds(item.priority, *p),
        Term::Link(part) => links(item.text.as_deref().unwrap_or(""))
            .iter()
            .any(|l| l.contains(part.as_str())),
        // The item itself always, as on the server (`id = ?`), even with nothing to compare:
        // `-similar:ID` must leave it out in both.
        Term::Similar(id) => {
            item.id == *id || likeness(id).is_some_and(|like| like.matches(&Likeness::of(item)))
        }
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

/// One word of a filter as typed: its text without quotes, and whether a `-` outside quotes
/// began it.
struct Word {
    text: String,
    negated: bool,
}

/// Splits on spaces, keeping `"quoted phrases"` (also after a key: `from:"a b"`) whole. A
/// leading `-` negates the word; quoted (`"-50%"`) it is text.
fn split_words(text: &str) -> Result<Vec<Word>, QueryError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut negated = false;
    let mut started = false;
    let mut quoted = false;
    let mut end = |current: &mut String, negated: &mut bool, started: &mut bool| {
        if *started {
            let text = std::mem::take(current);
            // A lone `-` is the text "-", not a negation of nothing.
            let (text, negated) = match (text.is_empty(), *negated) {
                (true, true) => ("-".to_string(), false),
                (_, n) => (text, n),
            };
            words.push(Word { text, negated });
        }
        *negated = false;
        *started = false;
    };
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => end(&mut current, &mut negated, &mut started),
            '-' if !started => {
                negated = true;
                started = true;
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err(QueryError("a quote is not closed".into()));
    }
    end(&mut current, &mut negated, &mut started);
    // `""` alone is no condition at all.
    words.retain(|w| !w.text.is_empty());
    Ok(words)
}

fn parse_clause(word: &Word) -> Result<Clause, QueryError> {
    let shown = |text: &str| {
        if word.negated {
            format!("-{text}")
        } else {
            text.to_string()
        }
    };
    let keyed = match word.text.split_once(':') {
        Some((key, value)) if is_key(key) => Some((key, value)),
        _ => None,
    };
    let any_of = match keyed {
        // Commas in plain text are text: only a key's value lists alternatives.
        None => vec![parse_term(&word.text)?],
        Some((key, value)) => {
            let mut terms = Vec::new();
            for alternative in value.split(',') {
                if alternative.trim().is_empty() && value.contains(',') {
                    return Err(QueryError(format!(
                        "{} — an empty alternative (write cat:spam,scam)",
                        shown(&word.text)
                    )));
                }
                terms.push(parse_term(&format!("{key}:{alternative}"))?);
            }
            terms
        }
    };
    Ok(Clause {
        negated: word.negated,
        any_of,
    })
}

fn is_key(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| k.trim_end_matches(':') == key)
}

fn parse_term(word: &str) -> Result<Term, QueryError> {
    let Some((key, value)) = word.split_once(':') else {
        return Ok(Term::Text(word.to_lowercase()));
    };
    if !is_key(key) {
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
            let (op, number) = [
                (">=", Compare::AtLeast),
                ("<=", Compare::AtMost),
                (">", Compare::Above),
                ("<", Compare::Below),
            ]
            .into_iter()
            .find_map(|(symbol, op)| value.strip_prefix(symbol).map(|n| (op, n)))
            .unwrap_or((Compare::AtLeast, value));
            let n: i64 = number
                .trim()
                .parse()
                .map_err(|_| bad("priority is a number, e.g. prio:>50 or prio:<=10"))?;
            Term::Priority(op, n)
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

impl Term {
    /// The key the term is written with (`cat:`), empty for free text.
    pub fn key(&self) -> &'static str {
        match self {
            Term::Text(_) => "",
            Term::Category(_) => "cat:",
            Term::From(_) => "from:",
            Term::Author(_) => "author:",
            Term::Reporter(_) => "reporter:",
            Term::Lane(_) => "lane:",
            Term::Country(_) => "country:",
            Term::Language(_) => "lang:",
            Term::Priority(..) => "prio:",
            Term::Link(_) => "link:",
            Term::Similar(_) => "similar:",
        }
    }

    /// The value as the filter writes it after the key.
    fn value(&self) -> String {
        let quoted = |v: &str| {
            // Quotes keep spaces, and a leading `-` of text, from being read as syntax.
            if v.contains(char::is_whitespace) || (v.starts_with('-') && self.key().is_empty()) {
                format!("\"{v}\"")
            } else {
                v.to_string()
            }
        };
        match self {
            Term::Text(v)
            | Term::Category(v)
            | Term::From(v)
            | Term::Author(v)
            | Term::Link(v)
            | Term::Similar(v) => quoted(v),
            Term::Reporter(r) => reporter_name(*r).to_string(),
            Term::Lane(l) => l.as_str().to_string(),
            Term::Country(c) => c.clone(),
            Term::Language(l) => l.clone(),
            Term::Priority(op, p) => format!("{}{p}", op.symbol()),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.key(), self.value())
    }
}

impl fmt::Display for Clause {
    /// `-cat:spam,scam`: the key once, then each alternative's value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("-")?;
        }
        for (i, t) in self.any_of.iter().enumerate() {
            if i == 0 {
                f.write_str(t.key())?;
            } else {
                f.write_str(",")?;
            }
            f.write_str(&t.value())?;
        }
        Ok(())
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
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{c}")?;
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
                created_at: None,
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
            appeal: None,
            thread: None,
            account: None,
            totals: None,
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
        assert_eq!(query.clauses.len(), 6);
        let i = item("p1", "Buy CHEAP PILLS today", "bob");
        assert!(query.matches(&i, &no_likeness));
        let mut other = i.clone();
        other.priority = 50;
        assert!(!query.matches(&other, &no_likeness), "prio:>50 is strict");
    }

    #[test]
    fn the_canonical_form_parses_back_to_the_same_query() {
        for s in [
            "cat:spam from:bob \"two words\" prio:>=51 lane:urgent reporter:authority",
            "link:example.org/x similar:post-1 author:u-1 country:DE lang:ru",
            "-cat:spam,scam lang:ru,uk -\"two words\" \"-50%\" prio:>50,<=3 -lane:urgent",
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
            q("https://x.org"),
            Query::all_of([Term::Text("https://x.org".into())])
        );
    }

    #[test]
    fn priority_shows_as_typed() {
        assert_eq!(q("prio:>50").to_string(), "prio:>50");
        assert_eq!(q("prio:>=50").to_string(), "prio:>=50");
        assert_eq!(
            q("prio:50").to_string(),
            "prio:>=50",
            "a bare number is at least"
        );
        let i = item("p1", "text", "bob");
        assert!(q("prio:<=60").matches(&i, &no_likeness));
        assert!(!q("prio:<60").matches(&i, &no_likeness));
        assert!(!q("prio:>60").matches(&i, &no_likeness));
    }

    #[test]
    fn negation_and_alternatives() {
        let spam = item("p1", "Buy now -50%", "bob");
        let mut hate = spam.clone();
        hate.reports[0].category = "hate".into();
        hate.language = None;
        let m = |s: &str, i: &Item| q(s).matches(i, &no_likeness);
        assert!(m("cat:scam,spam", &spam) && !m("cat:scam,spam", &hate));
        assert!(!m("-cat:spam", &spam) && m("-cat:spam", &hate));
        assert!(!m("-cat:scam,spam", &spam) && m("-cat:scam,spam", &hate));
        // An item without a language is not in Russian: the negation holds.
        assert!(m("-lang:ru", &hate) && !m("-lang:ru", &spam));
        assert!(m("lang:de,ru", &spam));
        let garden = item("p2", "roses in bloom", "ann");
        assert!(!m("-buy", &spam) && m("-buy", &garden));
        // A quoted dash is text; a lone dash is text too.
        assert_eq!(q("\"-50%\""), Query::all_of([Term::Text("-50%".into())]));
        assert!(m("\"-50%\"", &spam));
        assert_eq!(q("-"), Query::all_of([Term::Text("-".into())]));
        // Commas in free text are text.
        assert_eq!(q("a,b"), Query::all_of([Term::Text("a,b".into())]));
    }

    #[test]
    fn a_filter_has_a_bounded_number_of_terms() {
        let many = (0..=MAX_TERMS)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let err = Query::parse(&many).unwrap_err().0;
        assert!(err.contains("at most 32 terms"), "{err}");
        let alternatives = format!(
            "cat:{}",
            (0..=MAX_TERMS)
                .map(|i| format!("c{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let err = Query::parse(&alternatives).unwrap_err().0;
        assert!(err.contains("alternatives included"), "{err}");
        assert!(
            Query::parse("cat:spam,")
                .unwrap_err()
                .0
                .contains("empty alternative")
        );
        assert!(
            Query::parse("lane:urgent,fast")
                .unwrap_err()
                .0
                .contains("lane:fast")
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
