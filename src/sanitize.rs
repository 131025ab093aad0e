//! The one gate every untrusted string passes before it reaches the screen.
//!
//! Item text, handles, report comments and URLs were written by people who may want to attack
//! the moderator reading them. Anything that could steer the terminal (ESC, C0/C1 controls),
//! reorder what is shown (bidi overrides and isolates) or hide text (zero-width and other
//! invisible characters) is replaced by a visible placeholder: the moderator sees that it was
//! there, and the terminal never receives it.

use unicode_width::UnicodeWidthChar;

/// Text longer than this is cut with a marker: no post may stall a frame.
pub const MAX_CHARS: usize = 16 * 1024;
/// Runs of combining marks beyond this are cut ("zalgo" text would smear over other rows).
const MAX_COMBINING_RUN: usize = 4;
const TAB_WIDTH: usize = 4;

/// For text from a server that ends up in one sentence (error messages): cleaned as a line and
/// cut to `max` characters, so a hostile or broken server cannot flood the moderator's terminal.
pub fn clean_short(s: &str, max: usize) -> String {
    let mut out: String = clean_line(s).chars().take(max + 1).collect();
    if out.chars().count() > max {
        out = out.chars().take(max).collect();
        out.push('…');
    }
    out
}

/// For one-line fields (handles, ids, categories): line breaks become visible too.
pub fn clean_line(s: &str) -> String {
    clean(s, false)
}

/// For bodies of text: line breaks are kept, everything else as `clean_line`.
pub fn clean_text(s: &str) -> String {
    clean(s, true)
}

fn clean(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_CHARS * 4));
    let mut prev: Option<char> = None;
    let mut combining_run = 0usize;
    let mut column = 0usize;
    let mut chars = s.chars().peekable();
    let mut taken = 0usize;
    while let Some(c) = chars.next() {
        taken += 1;
        if taken > MAX_CHARS {
            let rest = 1 + chars.count();
            out.push_str(&format!(" ⟪… {rest} more characters⟫"));
            break;
        }
        let next = chars.peek().copied();
        match c {
            '\n' if keep_newlines => {
                out.push('\n');
                column = 0;
            }
            '\r' if keep_newlines && next == Some('\n') => {}
            '\t' => {
                let spaces = TAB_WIDTH - column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            _ => {
                // A mark with nothing before it on its line has nothing to combine with: the
                // terminal would draw it on the border or drop it, so it is named instead.
                let unbased = (prev.is_none() || (keep_newlines && prev == Some('\n')))
                    && c.width() == Some(0);
                if let Some(shown) = placeholder(c, prev, next)
                    .or_else(|| unbased.then(|| format!("⟪U+{:04X}⟫", c as u32)))
                {
                    out.push_str(&shown);
                    column += shown.chars().count();
                    combining_run = 0;
                } else if c.width() == Some(0) {
                    combining_run += 1;
                    if combining_run <= MAX_COMBINING_RUN {
                        out.push(c);
                    }
                } else {
                    combining_run = 0;
                    out.push(c);
                    column += c.width().unwrap_or(0);
                }
            }
        }
        prev = Some(c);
    }
    out
}

/// The visible stand-in for a character that must not reach the terminal as it is.
fn placeholder(c: char, prev: Option<char>, next: Option<char>) -> Option<String> {
    let code = c as u32;
    let named = |name: &str| Some(format!("⟪{name}⟫"));
    match code {
        // C0 controls map onto the Control Pictures block: ESC shows as ␛.
        0x00..=0x1f => char::from_u32(0x2400 + code).map(String::from),
        0x7f => Some("␡".to_string()),
        // C1 controls, including the 8-bit CSI (0x9b) and OSC (0x9d) introducers.
        0x80..=0x9f => Some(format!("⟪U+{code:04X}⟫")),
        0x061c => named("ALM"),
        0x200e => named("LRM"),
        0x200f => named("RLM"),
        0x202a => named("LRE"),
        0x202b => named("RLE"),
        0x202c => named("PDF"),
        0x202d => named("LRO"),
        0x202e => named("RLO"),
        0x2066 => named("LRI"),
        0x2067 => named("RLI"),
        0x2068 => named("FSI"),
        0x2069 => named("PDI"),
        0x200b => named("ZWSP"),
        0x200c => named("ZWNJ"),
        // Emoji sequences (👩‍💻) are joined by ZWJ; elsewhere it only hides things.
        0x200d if prev.is_some_and(is_pictographic) && next.is_some_and(is_pictographic) => None,
        0x200d => named("ZWJ"),
        0x2028 => named("LS"),
        0x2029 => named("PS"),
        0x2060 => named("WJ"),
        0x2061..=0x2065 => Some(format!("⟪U+{code:04X}⟫")),
        0xfeff => named("BOM"),
        0x00ad => named("SHY"),
        0x034f => named("CGJ"),
        0x180e => named("MVS"),
        0x115f | 0x1160 | 0x3164 | 0xffa0 => named("FILLER"),
        // The rest of Unicode's invisible format characters (category Cf): number signs that
        // swallow the digits after them, deprecated shaping controls, interlinear annotation,
        // shorthand and musical formatting. Invisible, so never shown as they are.
        0x0600..=0x0605
        | 0x06dd
        | 0x070f
        | 0x0890..=0x0891
        | 0x08e2
        | 0x17b4..=0x17b5
        | 0x206a..=0x206f
        | 0xfff0..=0xfffb
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a => Some(format!("⟪U+{code:04X}⟫")),
        // Noncharacters: not text, and terminals disagree on how wide they are.
        0xfdd0..=0xfdef => Some(format!("⟪U+{code:04X}⟫")),
        _ if code & 0xfffe == 0xfffe => Some(format!("⟪U+{code:04X}⟫")),
        0xe0000..=0xe007f => Some(format!("⟪TAG {code:05X}⟫")),
        // Reserved default-ignorable characters: invisible wherever a font knows them.
        0xe0080..=0xe00ff | 0xe01f0..=0xe0fff => Some(format!("⟪U+{code:04X}⟫")),
        // Surrogates cannot occur in a Rust `str`; other unassigned or private characters
        // are drawn as the terminal's font chooses, which cannot steer it.
        _ => None,
    }
}

fn is_pictographic(c: char) -> bool {
    let code = c as u32;
    (0x1f000..=0x1faff).contains(&code)
        || (0x2600..=0x27bf).contains(&code)
        || (0x2300..=0x23ff).contains(&code)
        || c == '\u{fe0f}'
        || (0x1f3fb..=0x1f3ff).contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(clean_line("a\u{1b}[2Jb"), "a␛[2Jb");
        assert_eq!(clean_line("\u{1b}]0;pwned\u{7}"), "␛]0;pwned␇");
        assert_eq!(clean_line("x\u{9b}31m"), "x⟪U+009B⟫31m");
        assert_eq!(clean_line("del\u{7f}"), "del␡");
    }

    #[test]
    fn bidi_and_invisible_characters_are_named() {
        assert_eq!(clean_line("abc\u{202e}fdp.exe"), "abc⟪RLO⟫fdp.exe");
        assert_eq!(clean_line("pay\u{200b}pal"), "pay⟪ZWSP⟫pal");
        assert_eq!(clean_line("a\u{2066}b\u{2069}"), "a⟪LRI⟫b⟪PDI⟫");
    }

    #[test]
    fn emoji_sequences_survive() {
        assert_eq!(clean_line("👩\u{200d}💻"), "👩\u{200d}💻");
        assert_eq!(clean_line("a\u{200d}b"), "a⟪ZWJ⟫b");
    }

    #[test]
    fn newlines_are_kept_only_in_bodies() {
        assert_eq!(clean_text("one\r\ntwo"), "one\ntwo");
        assert_eq!(clean_line("one\ntwo"), "one␊two");
        assert_eq!(clean_text("a\tb"), "a   b");
    }

    #[test]
    fn enormous_text_is_cut_with_a_marker() {
        let long = "x".repeat(MAX_CHARS + 10);
        let out = clean_text(&long);
        assert!(
            out.ends_with("⟪… 10 more characters⟫"),
            "{}",
            &out[out.len() - 40..]
        );
    }

    #[test]
    fn server_messages_are_cut_short() {
        assert_eq!(clean_short("abcdef", 3), "abc…");
        assert_eq!(clean_short("a\u{1b}b", 10), "a␛b");
    }

    #[test]
    fn zalgo_is_trimmed() {
        let zalgo = format!("a{}", "\u{0301}".repeat(50));
        assert_eq!(clean_line(&zalgo).chars().count(), 1 + MAX_COMBINING_RUN);
    }

    #[test]
    fn every_format_character_and_noncharacter_is_named() {
        assert_eq!(clean_line("\u{0600}123"), "⟪U+0600⟫123");
        assert_eq!(clean_line("a\u{206a}b"), "a⟪U+206A⟫b");
        assert_eq!(clean_line("\u{1d173}x"), "⟪U+1D173⟫x");
        assert_eq!(clean_line("\u{e0041}\u{e0042}"), "⟪TAG E0041⟫⟪TAG E0042⟫");
        assert_eq!(clean_line("x\u{fffe}\u{10ffff}"), "x⟪U+FFFE⟫⟪U+10FFFF⟫");
        assert_eq!(clean_line("\u{fdd0}"), "⟪U+FDD0⟫");
    }

    #[test]
    fn a_mark_with_nothing_to_combine_with_is_named() {
        assert_eq!(clean_line("\u{0301}abc"), "⟪U+0301⟫abc");
        assert_eq!(clean_text("one\n\u{0301}two"), "one\n⟪U+0301⟫two");
        assert_eq!(clean_line("e\u{0301}"), "e\u{0301}");
    }

    /// Every Unicode scalar value, alone and after a letter: nothing that could steer a
    /// terminal or hide text survives, and layout widths stay defined.
    #[test]
    fn no_character_passes_raw_if_it_could_steer_or_hide() {
        let steers = |c: char| {
            c.is_control()
                || matches!(c as u32, 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f
                    | 0xfeff | 0x061c | 0x00ad | 0xe0000..=0xe007f)
        };
        for code in 0..=0x10ffffu32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            for out in [clean_line(&c.to_string()), clean_text(&format!("a{c}"))] {
                assert!(
                    !out.chars().any(|o| steers(o) && o != '\n'),
                    "U+{code:04X} passed raw: {out:?}"
                );
                assert!(
                    out.chars().all(|o| o.width().is_some() || o == '\n'),
                    "U+{code:04X} left a character of no width: {out:?}"
                );
            }
        }
    }

    #[test]
    fn wide_characters_keep_their_width() {
        use unicode_width::UnicodeWidthStr;
        let wide = "漢字ｗｉｄｅ👩\u{200d}💻";
        assert_eq!(clean_line(wide), wide);
        assert_eq!(clean_line(wide).width(), wide.width());
        // A tab becomes spaces to the next stop, counting wide characters as two columns.
        assert_eq!(clean_line("漢\tx"), "漢  x");
    }

    #[test]
    fn scripts_pass_untouched() {
        for s in [
            "Привет мир",
            "مرحبا بالعالم",
            "こんにちは世界",
            "안녕하세요",
            "🎉🔥",
        ] {
            assert_eq!(clean_text(s), s);
        }
    }
}
