//! Which image protocol modq speaks to the terminal: chosen by modq from the setting
//! (`MODQ_IMAGES`, or `[media] protocol`) or from the environment, never from anything an
//! item carries. Unknown terminals, SSH links and tmux get half-blocks, which every terminal
//! draws: coloured cells, no escape sequence beyond colours.

use ratatui_image::picker::{Picker, ProtocolType};

/// The settings modq takes, as written.
pub const SETTINGS: &[&str] = &["auto", "halfblocks", "kitty", "sixel", "iterm2", "off"];

/// The picker for `setting`; `Ok(None)` when images are off. `env` reads the environment.
pub fn choose(
    setting: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Picker>, String> {
    let protocol = match setting.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => return Ok(None),
        "auto" | "" => detect(&env),
        "halfblocks" => ProtocolType::Halfblocks,
        "kitty" => ProtocolType::Kitty,
        "sixel" => ProtocolType::Sixel,
        "iterm2" => ProtocolType::Iterm2,
        other => {
            return Err(format!(
                "no image protocol {:?} (modq takes {})",
                crate::sanitize::clean_short(other, 40),
                SETTINGS.join(", ")
            ));
        }
    };
    let mut picker = Picker::halfblocks();
    picker.set_protocol_type(protocol);
    Ok(Some(picker))
}

/// What the environment says the terminal draws; half-blocks when in doubt.
fn detect(env: &impl Fn(&str) -> Option<String>) -> ProtocolType {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    // Over SSH or inside tmux the variables describe another terminal than the one drawing.
    if set("SSH_CONNECTION") || set("SSH_TTY") || set("TMUX") {
        return ProtocolType::Halfblocks;
    }
    let term = env("TERM").unwrap_or_default().to_ascii_lowercase();
    let program = env("TERM_PROGRAM").unwrap_or_default().to_ascii_lowercase();
    if set("KITTY_WINDOW_ID") || term.contains("kitty") || program == "ghostty" {
        ProtocolType::Kitty
    } else if program == "iterm.app" || program == "wezterm" {
        ProtocolType::Iterm2
    } else if term.starts_with("foot") || term.contains("mlterm") {
        ProtocolType::Sixel
    } else {
        ProtocolType::Halfblocks
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn kind(setting: &str, vars: &[(&str, &str)]) -> Option<ProtocolType> {
        choose(setting, env(vars))
            .unwrap()
            .map(|p| p.protocol_type())
    }

    #[test]
    fn the_terminal_is_read_from_the_environment_and_ssh_gets_half_blocks() {
        assert_eq!(
            kind("auto", &[("TERM", "xterm-kitty")]),
            Some(ProtocolType::Kitty)
        );
        assert_eq!(
            kind(
                "auto",
                &[("TERM", "xterm-kitty"), ("SSH_CONNECTION", "1 2 3 4")]
            ),
            Some(ProtocolType::Halfblocks)
        );
        assert_eq!(
            kind("auto", &[("TERM_PROGRAM", "iTerm.app")]),
            Some(ProtocolType::Iterm2)
        );
        assert_eq!(kind("auto", &[("TERM", "foot")]), Some(ProtocolType::Sixel));
        assert_eq!(
            kind("auto", &[("TERM", "xterm-256color")]),
            Some(ProtocolType::Halfblocks)
        );
        assert_eq!(kind("auto", &[]), Some(ProtocolType::Halfblocks));
        assert_eq!(
            kind("sixel", &[("SSH_TTY", "/dev/pts/1")]),
            Some(ProtocolType::Sixel)
        );
        assert_eq!(kind("off", &[]), None);
        assert!(
            choose("svg", env(&[]))
                .unwrap_err()
                .contains("halfblocks, kitty")
        );
    }
}
