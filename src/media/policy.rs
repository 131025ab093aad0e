//! Which media may be looked at, and how. One place for the server (which refuses to serve
//! the bytes) and the client (which never asks for them), so the two cannot disagree.

use crate::model::{Item, Media};

/// Report categories where looking at the content is itself the harm (child sexual abuse
/// material): their media are never fetched, served or drawn; only the hash match is shown.
pub const HARMFUL_TO_VIEW: &[&str] = &[
    "child_safety",
    "csam",
    "child_sexual_abuse",
    "child_sexual_abuse_material",
    "child_sexual_exploitation",
];

/// Whether a report category is one where viewing harms.
pub fn harmful_to_view(category: &str) -> bool {
    HARMFUL_TO_VIEW
        .iter()
        .any(|c| c.eq_ignore_ascii_case(category.trim()))
}

/// Whether a hash list's name says it lists child sexual abuse material.
fn csam_list(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("csam") || name.contains("child")
}

/// Why `media` of `item` is never looked at, or `None` when it may be. An item reported in
/// a category where viewing harms shows none of its media; a medium matched against a CSAM
/// hash list is never shown, whatever the item was reported for.
pub fn never_shown(item: &Item, media: &Media) -> Option<String> {
    if let Some(list) = media.hash_match.as_deref().filter(|l| csam_list(l)) {
        return Some(format!("hash match: {list}"));
    }
    // The tally too: a read lists only the newest reports, and a flood of spam reports must
    // not push the one that said CSAM out of sight.
    let category = item.reported_categories().find(|c| harmful_to_view(c))?;
    Some(match media.hash_match.as_deref() {
        Some(list) => format!("hash match: {list}"),
        None => format!("reported as {category}: never shown"),
    })
}

/// Categories whose images stay greyscale even revealed, whatever the config says:
/// violence, gore, self-harm and their kin.
pub const ALWAYS_GREY: &[&str] = &[
    "violence",
    "gore",
    "self_harm",
    "suicide",
    "terrorism",
    "violent_extremism",
    "animal_cruelty",
];

/// Whether `item` was reported in one of [`ALWAYS_GREY`].
pub fn always_grey(item: &Item) -> bool {
    item.reported_categories().any(grey_category)
}

fn grey_category(category: &str) -> bool {
    ALWAYS_GREY
        .iter()
        .any(|g| g.eq_ignore_ascii_case(category.trim()))
}

/// Where an item's tally lists a report category (see `server::storage::CATEGORIES_LISTED`):
/// those whose media are never shown first (2), then those always grey (1), then the rest
/// (0), so that the client and the server see them however many other categories an item was
/// reported in. Two ranks, not one: a flood of reports in fifty spellings of "gore" must not
/// push the one report that said CSAM out of the list, and its media into view.
pub fn listing_rank(category: &str) -> i16 {
    if harmful_to_view(category) {
        2
    } else if grey_category(category) {
        1
    } else {
        0
    }
}
