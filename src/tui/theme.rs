//! Colours. A theme is a palette (one colour per slot, from `assets/theme*.toml`) turned into
//! the styles the view draws with. "mono" has no colour at all, and `NO_COLOR` forces it
//! (`crate::config` decides which palette applies).

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

pub const DEFAULT_THEME: &str = include_str!("../../assets/theme.toml");
pub const ANSI16_THEME: &str = include_str!("../../assets/theme-16.toml");

/// The themes a config file can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeName {
    /// 256 colours that read on dark and light terminals.
    Default,
    /// The 16 ANSI colours only, for old terminals.
    Ansi16,
    /// No colour: bold and underline, and the `▶` marker.
    Mono,
}

impl ThemeName {
    pub const ALL: [ThemeName; 3] = [ThemeName::Default, ThemeName::Ansi16, ThemeName::Mono];

    pub fn as_str(self) -> &'static str {
        match self {
            ThemeName::Default => "default",
            ThemeName::Ansi16 => "16",
            ThemeName::Mono => "mono",
        }
    }

    pub fn parse(s: &str) -> Option<ThemeName> {
        ThemeName::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The theme for a terminal that says what it is as other terminal tools read it: none
    /// under `NO_COLOR` or `TERM=dumb`; 256 colours when `COLORTERM` is `truecolor` or `24bit`
    /// or `TERM` names 256 colours (`xterm-256color`); else the 16 ANSI colours, which every
    /// colour terminal has. A `theme =` in the config file overrides this.
    pub fn for_terminal(no_color: bool, colorterm: Option<&str>, term: Option<&str>) -> ThemeName {
        let term = term.unwrap_or_default().to_ascii_lowercase();
        let colorterm = colorterm.unwrap_or_default().to_ascii_lowercase();
        if no_color || term == "dumb" {
            ThemeName::Mono
        } else if matches!(colorterm.as_str(), "truecolor" | "24bit")
            || term.contains("256color")
            || term.contains("direct")
        {
            ThemeName::Default
        } else {
            ThemeName::Ansi16
        }
    }

    /// [`ThemeName::for_terminal`] for this process's environment.
    pub fn from_env() -> ThemeName {
        let var = |name: &str| std::env::var(name).ok();
        ThemeName::for_terminal(
            crate::config::no_color_from_env(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }
}

/// The colour slots, as the theme files and the config's `[colours]` name them.
pub const SLOTS: [(&str, &str); 10] = [
    ("accent", "headings, categories, key names"),
    ("muted", "labels and secondary text"),
    ("take_down", "take-down marks"),
    ("keep", "keep marks, online"),
    ("escalate", "escalation marks"),
    ("urgent", "the urgent lane, overdue deadlines"),
    ("warning", "deadlines to come, offline, warnings"),
    ("error", "refused decisions, errors"),
    ("selection_bg", "the selected row's background"),
    ("selection_fg", "the selected row's text"),
];

/// One colour per slot; `None` leaves the terminal's own colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette([Option<Color>; SLOTS.len()]);

/// A colour as written in a theme or config file; "none" is no colour.
pub fn parse_colour(s: &str) -> Result<Option<Color>, String> {
    if s == "none" {
        return Ok(None);
    }
    Color::from_str(s).map(Some).map_err(|_| {
        format!(
            "unknown colour {s:?} (a name such as red or lightcyan, a 256-colour index such as \
             \"31\", hex such as \"#5f87af\", or \"none\")"
        )
    })
}

/// How a theme or config file writes a colour; `parse_colour` reads it back.
pub fn colour_name(c: Option<Color>) -> String {
    match c {
        None => "none".into(),
        Some(c) => c.to_string().to_lowercase(),
    }
}

impl Palette {
    /// The palette a theme name stands for. The shipped files are checked by unit tests.
    pub fn named(name: ThemeName) -> Palette {
        let none = Palette([None; SLOTS.len()]);
        match name {
            ThemeName::Default => Palette::parse(DEFAULT_THEME).unwrap_or(none),
            ThemeName::Ansi16 => Palette::parse(ANSI16_THEME).unwrap_or(none),
            ThemeName::Mono => none,
        }
    }

    /// A theme file: every slot, nothing else.
    pub fn parse(text: &str) -> Result<Palette, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut palette = Palette([None; SLOTS.len()]);
        for (slot, value) in &table {
            let value = value
                .as_str()
                .ok_or_else(|| format!("{slot}: a colour is a string"))?;
            palette.set(slot, value)?;
        }
        match SLOTS.iter().find(|(slot, _)| !table.contains_key(*slot)) {
            Some((missing, _)) => Err(format!("no colour for {missing}")),
            None => Ok(palette),
        }
    }

    /// Change one slot: `set("accent", "33")`.
    pub fn set(&mut self, slot: &str, colour: &str) -> Result<(), String> {
        let unknown = || {
            let names: Vec<&str> = SLOTS.iter().map(|(s, _)| *s).collect();
            format!("unknown colour slot {slot:?} (slots: {})", names.join(" "))
        };
        let i = SLOTS
            .iter()
            .position(|(s, _)| *s == slot)
            .ok_or_else(unknown)?;
        *self.0.get_mut(i).ok_or_else(unknown)? = parse_colour(colour)?;
        Ok(())
    }

    /// Every slot with its colour, in `SLOTS` order.
    pub fn colours(&self) -> impl Iterator<Item = (&'static str, Option<Color>)> + '_ {
        SLOTS.iter().map(|(s, _)| *s).zip(self.0.iter().copied())
    }

    pub fn theme(&self) -> Theme {
        let [
            accent,
            muted,
            take_down,
            keep,
            escalate,
            urgent,
            warning,
            error,
            selection_bg,
            selection_fg,
        ] = self.0;
        let fg = |c: Option<Color>| match c {
            Some(c) => Style::new().fg(c),
            None => Style::new(),
        };
        let bold = |c| fg(c).add_modifier(Modifier::BOLD);
        // Without a background colour the selected row is underlined as well; never REVERSED,
        // which crossterm's bare SGR reset under NO_COLOR wipes along with the colours.
        let selection = match selection_bg {
            Some(bg) => bold(selection_fg).bg(bg),
            None => bold(selection_fg).add_modifier(Modifier::UNDERLINED),
        };
        Theme {
            accent: bold(accent),
            muted: fg(muted),
            take_down: fg(take_down),
            keep: fg(keep),
            escalate: fg(escalate),
            urgent: bold(urgent),
            warning: fg(warning),
            error: bold(error),
            selection,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub accent: Style,
    pub muted: Style,
    pub take_down: Style,
    pub keep: Style,
    pub escalate: Style,
    pub urgent: Style,
    pub warning: Style,
    pub error: Style,
    pub selection: Style,
}

impl Theme {
    pub fn default_theme() -> Theme {
        Palette::named(ThemeName::Default).theme()
    }

    /// No colours at all: emphasis by bold and underline; the selection also carries a `▶`
    /// marker in the list.
    pub fn monochrome() -> Theme {
        Palette::named(ThemeName::Mono).theme()
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn is_ansi16(c: Color) -> bool {
        !matches!(c, Color::Reset | Color::Indexed(_) | Color::Rgb(..))
    }

    /// The xterm 256-colour palette above the 16 the terminal decides.
    fn rgb(c: Color) -> Option<(u8, u8, u8)> {
        match c {
            Color::Rgb(r, g, b) => Some((r, g, b)),
            Color::Indexed(i @ 16..=231) => {
                let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                let i = i - 16;
                Some((level(i / 36), level((i / 6) % 6), level(i % 6)))
            }
            Color::Indexed(i @ 232..=255) => {
                let g = 8 + 10 * (i - 232);
                Some((g, g, g))
            }
            _ => None,
        }
    }

    /// WCAG relative luminance and contrast ratio.
    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn the_default_theme_reads_on_black_and_on_white() {
        let palette = Palette::parse(DEFAULT_THEME).expect("assets/theme.toml must parse");
        let (black, white) = ((0, 0, 0), (255, 255, 255));
        let colour = |slot: &str| {
            let c = palette
                .colours()
                .find(|(s, _)| *s == slot)
                .and_then(|(_, c)| c)
                .unwrap_or_else(|| panic!("{slot} has a colour"));
            // The 16 ANSI colours are whatever the terminal's palette says: no promise there.
            rgb(c).unwrap_or_else(|| panic!("{slot} = {c} is not a fixed 256-colour or hex"))
        };
        for (slot, _) in SLOTS.iter().filter(|(s, _)| !s.starts_with("selection")) {
            let c = colour(slot);
            for (bg, name) in [(black, "black"), (white, "white")] {
                let ratio = contrast(c, bg);
                assert!(ratio >= 3.5, "{slot} on {name}: {ratio:.2}");
            }
        }
        let ratio = contrast(colour("selection_fg"), colour("selection_bg"));
        assert!(ratio >= 4.5, "selection: {ratio:.2}");
    }

    #[test]
    fn the_16_colour_theme_uses_only_the_ansi_colours() {
        let palette = Palette::parse(ANSI16_THEME).expect("assets/theme-16.toml must parse");
        for (slot, c) in palette.colours() {
            assert!(c.is_none_or(is_ansi16), "{slot} = {c:?}");
        }
        assert_ne!(palette.theme(), Theme::default_theme());
    }

    #[test]
    fn the_terminal_picks_the_theme_as_other_tools_do() {
        let pick = |no_color, colorterm, term| ThemeName::for_terminal(no_color, colorterm, term);
        assert_eq!(
            pick(false, Some("truecolor"), Some("xterm")),
            ThemeName::Default
        );
        assert_eq!(pick(false, Some("24bit"), None), ThemeName::Default);
        assert_eq!(
            pick(false, None, Some("xterm-256color")),
            ThemeName::Default
        );
        assert_eq!(pick(false, None, Some("tmux-256color")), ThemeName::Default);
        assert_eq!(pick(false, None, Some("xterm")), ThemeName::Ansi16);
        assert_eq!(pick(false, None, Some("linux")), ThemeName::Ansi16);
        assert_eq!(pick(false, None, None), ThemeName::Ansi16);
        assert_eq!(
            pick(false, Some("truecolor"), Some("dumb")),
            ThemeName::Mono
        );
        assert_eq!(
            pick(true, Some("truecolor"), Some("xterm-256color")),
            ThemeName::Mono
        );
    }

    #[test]
    fn monochrome_has_no_colour_and_no_reverse() {
        let t = Theme::monochrome();
        for s in [
            t.accent,
            t.muted,
            t.take_down,
            t.keep,
            t.escalate,
            t.urgent,
            t.warning,
            t.error,
            t.selection,
        ] {
            assert_eq!((s.fg, s.bg), (None, None));
            assert!(!s.add_modifier.contains(Modifier::REVERSED));
        }
        assert!(t.selection.add_modifier.contains(Modifier::UNDERLINED));
    }

    #[test]
    fn colours_read_back_as_written_and_bad_ones_are_named() {
        for name in ThemeName::ALL {
            for (slot, c) in Palette::named(name).colours() {
                assert_eq!(parse_colour(&colour_name(c)), Ok(c), "{slot}");
            }
        }
        assert!(parse_colour("chartreuse-ish").is_err());
        let mut p = Palette::named(ThemeName::Default);
        let err = p.set("acent", "red").unwrap_err();
        assert!(err.contains("acent") && err.contains("accent"), "{err}");
        assert!(Palette::parse("accent = \"red\"").is_err(), "slots missing");
    }
}
