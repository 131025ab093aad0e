//! The countries a take down may be scoped to, and how typed text finds them.
//!
//! A scope often comes from a court order: a wrong country is a legal error. So a search
//! ranks what it finds, and a country's own code always comes first: typing `de` finds
//! Germany before any name that merely contains "de" (Bangladesh). Then a name typed in full,
//! then names and codes that start with the text, then names with a later word that does.
//! Text in the middle of a word finds nothing.

/// ISO 3166-1 alpha-2 codes and names, as data (`assets/iso3166.tsv`).
const COUNTRIES_TSV: &str = include_str!("../../../assets/iso3166.tsv");

/// Every country: `(code, name)`, in the file's order (by code).
pub fn countries() -> Vec<(&'static str, &'static str)> {
    COUNTRIES_TSV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect()
}

/// The name of a country code, if it is one (either case).
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES_TSV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, n)| n)
}

/// The member states of the European Union (ISO codes: Greece is GR here, not EL).
pub const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The European Economic Area beyond the EU.
const EEA_ONLY: [&str; 3] = ["IS", "LI", "NO"];

/// A named set of countries chosen with one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Eu,
    Eea,
}

impl Group {
    pub const ALL: [Group; 2] = [Group::Eu, Group::Eea];

    /// What is typed for it, and what the command line's `scope=` takes.
    pub fn code(self) -> &'static str {
        match self {
            Group::Eu => "EU",
            Group::Eea => "EEA",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Group::Eu => "European Union",
            Group::Eea => "European Economic Area",
        }
    }

    pub fn members(self) -> Vec<&'static str> {
        let mut all: Vec<&str> = EU.to_vec();
        if self == Group::Eea {
            all.extend(EEA_ONLY);
            all.sort_unstable();
        }
        all
    }

    pub fn parse(s: &str) -> Option<Group> {
        Group::ALL
            .into_iter()
            .find(|g| g.code().eq_ignore_ascii_case(s.trim()))
    }
}

/// Names people use that the ISO list spells otherwise. None is a country code: a code
/// always means its own country (a test holds every alias to that).
const ALIASES: [(&str, &str); 19] = [
    ("uk", "GB"),
    ("britain", "GB"),
    ("great britain", "GB"),
    ("usa", "US"),
    ("united states of america", "US"),
    ("holland", "NL"),
    ("the netherlands", "NL"),
    ("czech republic", "CZ"),
    ("turkey", "TR"),
    ("ivory coast", "CI"),
    ("cape verde", "CV"),
    ("east timor", "TL"),
    ("swaziland", "SZ"),
    ("burma", "MM"),
    ("vatican", "VA"),
    ("russia", "RU"),
    ("macedonia", "MK"),
    ("brunei", "BN"),
    ("palestine", "PS"),
];

/// How well typed text matches a choice; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// The code itself (`de`, `eu`), or `global`.
    Code,
    /// The whole name, or a name people use for it (`germany`, `uk`).
    Name,
    /// The start of the name or code (`germ`, `d`).
    Prefix,
    /// The start of a later word of the name (`kingdom`).
    Word,
}

/// Lower case, Latin letters without their accents (`Åland` → `aland`), so a moderator
/// need not type what the keyboard lacks.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            '’' => '\'',
            c => c,
        })
        .collect()
}

/// How `typed` matches something with this code, name and other names; `None` when it does
/// not. `typed` is compared as typed (a trailing space must be followed by another word).
pub fn rank(typed: &str, code: &str, name: &str, aliases: &[&str]) -> Option<Rank> {
    let typed = fold(typed);
    let exact = typed.trim();
    if exact.is_empty() {
        return None;
    }
    if exact.eq_ignore_ascii_case(code) {
        return Some(Rank::Code);
    }
    let name = fold(name);
    if exact == name || aliases.contains(&exact) {
        return Some(Rank::Name);
    }
    // One letter may start a code; two are a whole code, handled above.
    let code_prefix = exact.chars().count() == 1 && code.to_lowercase().starts_with(exact);
    if code_prefix || name.starts_with(&typed) || aliases.iter().any(|a| a.starts_with(&typed)) {
        return Some(Rank::Prefix);
    }
    let later_word = name.match_indices([' ', '(', '-', ',']).any(|(i, sep)| {
        name.get(i + sep.len()..)
            .is_some_and(|w| w.starts_with(&typed))
    });
    later_word.then_some(Rank::Word)
}

/// The other names of a country code.
pub fn aliases_of(code: &str) -> Vec<&'static str> {
    ALIASES
        .iter()
        .filter(|(_, c)| c.eq_ignore_ascii_case(code))
        .map(|(a, _)| *a)
        .collect()
}

/// A country scope typed on the command line (`DE,at`, `EU`, `EEA,CH`), as sorted codes;
/// the error names the first word that is not a code or a group, and what it may have meant.
pub fn parse_codes(list: &str) -> Result<Vec<String>, String> {
    let mut codes: Vec<String> = Vec::new();
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if let Some(group) = Group::parse(word) {
            codes.extend(group.members().into_iter().map(String::from));
        } else if country_name(word).is_some() && word.chars().count() == 2 {
            codes.push(word.to_ascii_uppercase());
        } else {
            let hint = best_guess(word)
                .map(|(c, n)| format!(" (did you mean {c}, {n}?)"))
                .unwrap_or_default();
            return Err(format!(
                "{word:?} is not an ISO 3166-1 country code, EU or EEA{hint}"
            ));
        }
    }
    if codes.is_empty() {
        return Err("name at least one country, e.g. scope=DE,AT, or scope=global".into());
    }
    codes.sort();
    codes.dedup();
    Ok(codes)
}

/// The one country a word names by its name (`germany`), if exactly one is best.
fn best_guess(word: &str) -> Option<(&'static str, &'static str)> {
    let mut found: Vec<(Rank, &str, &str)> = countries()
        .into_iter()
        .filter_map(|(c, n)| rank(word, c, n, &aliases_of(c)).map(|r| (r, c, n)))
        .collect();
    found.sort_by_key(|(r, _, _)| *r);
    match found.as_slice() {
        [(best, c, n), rest @ ..] if rest.first().is_none_or(|(r, _, _)| r > best) => {
            Some((*c, *n))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_every_code_once_and_every_group_member_is_in_it() {
        let all = countries();
        assert_eq!(all.len(), 249);
        let mut codes: Vec<&str> = all.iter().map(|(c, _)| *c).collect();
        codes.dedup();
        assert_eq!(codes.len(), 249, "sorted, no duplicates");
        for group in Group::ALL {
            for m in group.members() {
                assert!(country_name(m).is_some(), "{m} of {group:?}");
            }
        }
        assert_eq!(Group::Eea.members().len(), 30);
    }

    #[test]
    fn no_alias_and_no_group_is_a_country_code() {
        for (alias, code) in ALIASES {
            assert!(country_name(alias).is_none(), "{alias} is a code");
            assert!(country_name(code).is_some(), "{code} for {alias}");
        }
        for group in Group::ALL {
            assert!(country_name(group.code()).is_none(), "{group:?}");
        }
    }

    #[test]
    fn a_code_outranks_names_containing_it() {
        assert_eq!(rank("de", "DE", "Germany", &[]), Some(Rank::Code));
        assert_eq!(rank("de", "BD", "Bangladesh", &[]), None, "mid-word");
        assert_eq!(rank("de", "DK", "Denmark", &[]), Some(Rank::Prefix));
        assert_eq!(
            rank("åland", "AX", "Åland Islands", &[]),
            Some(Rank::Prefix)
        );
        assert_eq!(
            rank("cote d'ivoire", "CI", "Côte d'Ivoire", &[]),
            Some(Rank::Name)
        );
        assert_eq!(
            rank("kingdom", "GB", "United Kingdom", &[]),
            Some(Rank::Word)
        );
        assert_eq!(
            rank("uk", "GB", "United Kingdom", &["uk"]),
            Some(Rank::Name)
        );
        assert_eq!(
            rank("united ", "AE", "United Arab Emirates", &[]),
            Some(Rank::Prefix)
        );
    }

    #[test]
    fn typed_scopes_are_codes_or_groups_and_nothing_else() {
        assert_eq!(parse_codes("de, at,DE"), Ok(vec!["AT".into(), "DE".into()]));
        assert_eq!(parse_codes("eea").map(|c| c.len()), Ok(30));
        let xx = parse_codes("DE,XX").unwrap_err();
        assert!(xx.contains("\"XX\""), "{xx}");
        let germany = parse_codes("Germany").unwrap_err();
        assert!(germany.contains("did you mean DE, Germany"), "{germany}");
        assert!(parse_codes(",").is_err());
    }
}
