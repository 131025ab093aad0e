//! What the filter line says while a filter is typed. The preview only knows the items in
//! memory, so it says how many of those match and that `enter` asks the server, never "no
//! match" on a queue it has not seen. A category or language that neither the items in
//! memory nor the policy catalog know is named, with the nearest known value.

use std::collections::BTreeSet;

use super::App;
use crate::query::{Query, Term};

/// Languages by English name, for `lang:russian`: the EU's official languages and those the
/// queue commonly holds. The filter matches the item's code (ISO 639-1).
const LANGUAGE_NAMES: [(&str, &str); 34] = [
    ("arabic", "ar"),
    ("bulgarian", "bg"),
    ("chinese", "zh"),
    ("croatian", "hr"),
    ("czech", "cs"),
    ("danish", "da"),
    ("dutch", "nl"),
    ("english", "en"),
    ("estonian", "et"),
    ("finnish", "fi"),
    ("french", "fr"),
    ("german", "de"),
    ("greek", "el"),
    ("hebrew", "he"),
    ("hindi", "hi"),
    ("hungarian", "hu"),
    ("irish", "ga"),
    ("italian", "it"),
    ("japanese", "ja"),
    ("korean", "ko"),
    ("latvian", "lv"),
    ("lithuanian", "lt"),
    ("maltese", "mt"),
    ("norwegian", "no"),
    ("persian", "fa"),
    ("polish", "pl"),
    ("portuguese", "pt"),
    ("romanian", "ro"),
    ("russian", "ru"),
    ("slovak", "sk"),
    ("slovenian", "sl"),
    ("spanish", "es"),
    ("swedish", "sv"),
    ("turkish", "tr"),
];

impl App {
    /// The filter line's note for a filter being typed: unknown values first, then how many
    /// of the items in memory match.
    pub(super) fn preview_note(&self, query: &Query) -> String {
        let shown = self.visible.len();
        let total = self.entries.len();
        let count = if query.is_empty() {
            format!("all {total} in memory")
        } else {
            format!("{shown} of the {total} in memory; enter asks the server")
        };
        let mut parts = self.unknown_values(query);
        parts.push(count);
        parts.join(" · ")
    }

    /// A sentence for each category or language in `query` that no item in memory has and
    /// the catalog does not know either (`cat:spma`, `lang:russian`).
    pub(super) fn unknown_values(&self, query: &Query) -> Vec<String> {
        let mut categories = BTreeSet::new();
        let mut languages = BTreeSet::new();
        for e in &self.entries {
            categories.extend(e.shown.reports.iter().map(|r| r.category.to_lowercase()));
            languages.extend(e.shown.language.as_deref().map(str::to_lowercase));
        }
        if let Some(catalog) = &self.policies {
            for p in &catalog.policies {
                categories.extend(p.reports.iter().map(|r| r.to_lowercase()));
            }
        }
        let mut notes = Vec::new();
        for term in query.terms() {
            match term {
                Term::Category(c) if !categories.contains(c) => {
                    notes.push(format!(
                        "no item has category {c}{}",
                        did_you_mean(nearest(c, categories.iter().map(String::as_str)))
                    ));
                }
                Term::Language(l) if !languages.contains(l) && !looks_like_code(l) => {
                    let by_name = LANGUAGE_NAMES
                        .iter()
                        .find(|(name, _)| name == l)
                        .map(|(_, code)| *code);
                    let guess =
                        by_name.or_else(|| nearest(l, languages.iter().map(String::as_str)));
                    notes.push(format!(
                        "no item has language {l}: languages are codes such as en{}",
                        did_you_mean(guess)
                    ));
                }
                _ => {}
            }
        }
        notes
    }
}

fn did_you_mean(guess: Option<&str>) -> String {
    guess.map_or_else(String::new, |g| format!(" (did you mean {g}?)"))
}

/// `ru`, `pt-br`, `zh-hant`: a code the items may carry though none in memory does.
fn looks_like_code(value: &str) -> bool {
    let mut parts = value.split('-');
    let first = parts.next().unwrap_or_default();
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The known value closest to `typed`, if a typo away (at most a third of its letters).
fn nearest<'a>(typed: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (typed.chars().count() / 3).max(1);
    known
        .map(|k| (edit_distance(typed, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance, with a swap of two neighbours counting once (`spma` → `spam`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back (for swaps), the last, and the one being filled.
    let mut before: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let at = |r: &Vec<usize>, k: usize| r.get(k).copied().unwrap_or(usize::MAX / 2);
            let mut best = (at(&last, j + 1) + 1)
                .min(at(&row, j) + 1)
                .min(at(&last, j) + cost);
            let swapped =
                i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca) && ca != cb;
            if swapped {
                best = best.min(at(&before, j - 1) + 1);
            }
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = best;
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last.last().copied().unwrap_or(a.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_value_meant() {
        assert_eq!(edit_distance("spma", "spam"), 1);
        assert_eq!(edit_distance("scam", "spam"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
        let known = ["spam", "scam", "hate", "harassment"];
        assert_eq!(nearest("spma", known.into_iter()), Some("spam"));
        assert_eq!(
            nearest("harrassment", known.into_iter()),
            Some("harassment")
        );
        assert_eq!(nearest("weather", known.into_iter()), None);
        assert!(looks_like_code("ru") && looks_like_code("pt-br"));
        assert!(!looks_like_code("russian"));
    }
}
