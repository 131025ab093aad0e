//! Colours, loaded from `assets/theme.toml`; monochrome when `NO_COLOR` is set.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

pub const DEFAULT_THEME: &str = include_str!("../../assets/theme.toml");

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

#[derive(serde::Deserialize)]
struct ThemeFile {
    accent: String,
    muted: String,
    take_down: String,
    keep: String,
    escalate: String,
    urgent: String,
    warning: String,
    error: String,
    selection_bg: String,
    selection_fg: String,
}

impl Theme {
    /// The default theme, or monochrome when the environment asks for no colour.
    pub fn from_env() -> Theme {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Theme::monochrome()
        } else {
            Theme::default_theme()
        }
    }

    pub fn default_theme() -> Theme {
        // The shipped theme is checked by a unit test, so it always parses.
        Theme::parse(DEFAULT_THEME).unwrap_or_else(|_| Theme::monochrome())
    }

    pub fn parse(text: &str) -> Result<Theme, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let fg = |name: &str| -> Result<Style, String> {
            Color::from_str(name)
                .map(|c| Style::new().fg(c))
                .map_err(|_| format!("unknown colour {name:?}"))
        };
        let bg = Color::from_str(&f.selection_bg)
            .map_err(|_| format!("unknown colour {:?}", f.selection_bg))?;
        Ok(Theme {
            accent: fg(&f.accent)?.add_modifier(Modifier::BOLD),
            muted: fg(&f.muted)?,
            take_down: fg(&f.take_down)?,
            keep: fg(&f.keep)?,
            escalate: fg(&f.escalate)?,
            urgent: fg(&f.urgent)?.add_modifier(Modifier::BOLD),
            warning: fg(&f.warning)?,
            error: fg(&f.error)?.add_modifier(Modifier::BOLD),
            selection: fg(&f.selection_fg)?.bg(bg).add_modifier(Modifier::BOLD),
        })
    }

    /// No colours at all: emphasis by bold and underline, which survive crossterm's NO_COLOR
    /// handling; the selection also carries a `▶` marker in the list.
    pub fn monochrome() -> Theme {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            accent: bold,
            muted: plain,
            take_down: bold,
            keep: plain,
            escalate: bold,
            urgent: bold,
            warning: bold,
            error: bold,
            selection: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_theme_parses() {
        let t = Theme::parse(DEFAULT_THEME).expect("assets/theme.toml must parse");
        assert_ne!(t, Theme::monochrome());
    }

    #[test]
    fn monochrome_has_no_colour() {
        let t = Theme::monochrome();
        for s in [t.accent, t.take_down, t.selection, t.urgent] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
    }
}
