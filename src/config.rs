//! The moderator's config file, `config.toml` in the XDG config folder: key bindings, theme,
//! colours, mouse, and the profiles `--profile` picks from. Read once at start. A mistake in it never stops modq: each one becomes a
//! [`Problem`] naming the line and the key, and what was bad keeps its default.
//!
//! The defaults are not repeated here: they are `assets/keymap.toml` and `assets/theme*.toml`,
//! and [`default_text`] writes the commented default config from them.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::backend::{BackendKind, BackendOptions};
use crate::credentials::TokenSource;
use crate::profile::Dirs;
use crate::query::Query;
use crate::tui::action::Action;
use crate::tui::app::{SavedView, WellbeingSettings, break_after};
use crate::tui::keymap::{Key, KeyMap, Origin, Sequence, UNBIND, action_name, action_named};
use crate::tui::layer_keys::{LayerAction, LayerKeys};
use crate::tui::theme::{Palette, SLOTS, Theme, ThemeName, colour_name};
use crate::tui::translate::{DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, TranslateCommand};

pub const FILE_NAME: &str = "config.toml";

/// Where modq reads its config: `$XDG_CONFIG_HOME/modq/config.toml`, or
/// `DIR/config/config.toml` with `--data-dir DIR`.
pub fn path(dirs: &Dirs) -> PathBuf {
    dirs.config.join(FILE_NAME)
}

/// `NO_COLOR` set to anything but the empty string (<https://no-color.org>).
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// One mistake in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; 0 when the file as a whole is the trouble (unreadable).
    pub line: usize,
    /// The key as written on that line, when there is one.
    pub key: Option<String>,
    pub message: String,
}

impl Problem {
    /// `line 4, key "t": unknown action …`, without the file's name.
    pub fn located(&self) -> String {
        let mut out = String::new();
        if self.line > 0 {
            out.push_str(&format!("line {}", self.line));
        }
        if let Some(key) = &self.key {
            out.push_str(&format!(", key {key:?}"));
        }
        format!("{}: {}", out.trim_start_matches(", "), self.message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{FILE_NAME}: {}", self.message),
            _ => write!(f, "{FILE_NAME} {}", self.located()),
        }
    }
}

/// What the config file asks for, with the defaults wherever it says nothing or is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub keymap: KeyMap,
    pub theme: Theme,
    /// Mouse capture: off unless asked, so the terminal's text selection keeps working.
    pub mouse: bool,
    /// `[profile.NAME]` tables that are well formed, in the order written.
    pub profiles: Vec<ProfileConfig>,
    /// Profiles written with a mistake, with the first one: `--profile` refuses them and says
    /// why rather than connecting half-configured.
    pub broken_profiles: Vec<(String, Problem)>,
    /// Named filters (`[view.NAME]`), in the order the file lists them.
    pub views: Vec<SavedView>,
    /// The translation command (`[translate]`), if one is set.
    pub translate: Option<TranslateCommand>,
    /// Which categories are graphic and when a break is proposed (`[wellbeing]`).
    pub wellbeing: WellbeingSettings,
    pub problems: Vec<Problem>,
}

/// One `[profile.NAME]`: which platform, where, and how to get its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileConfig {
    pub name: String,
    pub backend: BackendKind,
    /// The API's base URL, as the backend wants it.
    pub url: String,
    /// `token_file`: a file only its owner can read.
    pub token_file: Option<PathBuf>,
    /// `token_command`: run with `sh -c`, its first line is the secret.
    pub token_command: Option<String>,
    /// `token_env`: the environment variable holding the secret.
    pub token_env: Option<String>,
    /// `[profile.NAME.options]`: handed to the backend as written.
    pub options: BackendOptions,
}

impl ProfileConfig {
    /// Where this profile's secret comes from. Without a source of its own, `MODQ_TOKEN`.
    pub fn token_source(&self) -> TokenSource {
        TokenSource {
            file: self.token_file.clone(),
            command: self.token_command.clone(),
            env: self.token_env.clone(),
            profile: Some(self.name.clone()),
        }
    }
}

/// The longest profile name; names are letters, digits, `-`, `_` and `.`.
const MAX_PROFILE_NAME: usize = 64;

impl Default for Config {
    fn default() -> Config {
        Config {
            keymap: KeyMap::default_keymap(),
            theme: Theme::default_theme(),
            mouse: false,
            profiles: Vec::new(),
            broken_profiles: Vec::new(),
            views: Vec::new(),
            translate: None,
            wellbeing: WellbeingSettings::default(),
            problems: Vec::new(),
        }
    }
}

impl Config {
    /// Read the file at `path`; no file means the defaults. `no_color` forces the mono theme.
    pub fn load(path: &Path, no_color: bool) -> Config {
        Config::load_for(path, no_color, ThemeName::Default)
    }

    /// [`Config::load`] on a terminal whose own theme is `terminal` (see
    /// [`ThemeName::for_terminal`]): it applies unless the file names a theme.
    pub fn load_for(path: &Path, no_color: bool, terminal: ThemeName) -> Config {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse_for(&text, no_color, terminal),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Config::parse_for("", no_color, terminal)
            }
            Err(e) => {
                let mut config = Config::parse_for("", no_color, terminal);
                config.problems.push(Problem {
                    line: 0,
                    key: None,
                    message: format!("cannot read {}: {e}; using the defaults", path.display()),
                });
                config
            }
        }
    }

    pub fn parse(text: &str, no_color: bool) -> Config {
        Config::parse_for(text, no_color, ThemeName::Default)
    }

    /// [`Config::parse`] on a terminal whose own theme is `terminal`.
    pub fn parse_for(text: &str, no_color: bool, terminal: ThemeName) -> Config {
        let mut reader = Reader {
            text,
            problems: Vec::new(),
        };
        // Recovery keeps what parsed around a syntax error: one typo costs one line.
        let (doc, errors) = DeTable::parse_recoverable(text);
        for e in errors {
            let line = e.span().map_or(0, |s| reader.line(s.start));
            let written = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
            reader.problems.push(Problem {
                line,
                key: written.split('=').next().map(|k| k.trim().to_string()),
                message: format!("not valid TOML: {}", e.message().trim()),
            });
        }
        let syntax_errors = reader.problems.len();
        let mut theme = terminal;
        let mut mouse = false;
        let mut keymap = KeyMap::default_keymap();
        let mut overrides = Vec::new();
        let mut profiles = Vec::new();
        let mut broken_profiles = Vec::new();
        let mut views = Vec::new();
        let mut translate = None;
        let mut wellbeing = WellbeingSettings::default();
        for (key, value) in by_position(doc.get_ref()) {
            match key.get_ref().as_ref() {
                "theme" => {
                    let names = ThemeName::ALL.map(ThemeName::as_str).join("\", \"");
                    match value.get_ref().as_str().and_then(ThemeName::parse) {
                        Some(t) => theme = t,
                        None => reader.problem(key, format!("the theme is one of \"{names}\"")),
                    }
                }
                "mouse" => match value.get_ref().as_bool() {
                    Some(on) => mouse = on,
                    None => reader.problem(key, "mouse is true or false".into()),
                },
                "keys" => match value.get_ref().as_table() {
                    Some(table) => reader.keys(table, &mut keymap),
                    None => reader.problem(key, "[keys] is a table".into()),
                },
                "colours" | "colors" => match value.get_ref().as_table() {
                    Some(table) => overrides.extend(reader.colours(table)),
                    None => reader.problem(key, "[colours] is a table".into()),
                },
                "profile" => match value.get_ref().as_table() {
                    Some(table) => {
                        for (name, profile) in by_position(table) {
                            let before = reader.problems.len();
                            let read = reader.profile(name, profile);
                            match (read, reader.problems.get(before)) {
                                (Some(p), None) => profiles.push(p),
                                (_, first) => broken_profiles.push((
                                    name.get_ref().to_string(),
                                    first.cloned().unwrap_or(Problem {
                                        line: reader.line(name.span().start),
                                        key: Some(name.get_ref().to_string()),
                                        message: "this profile could not be read".into(),
                                    }),
                                )),
                            }
                        }
                    }
                    None => reader.problem(key, "[profile.NAME] is a table".into()),
                },
                "view" => match value.get_ref().as_table() {
                    Some(table) => views = reader.views(table, &mut keymap),
                    None => reader.problem(key, "[view.NAME] sections are tables".into()),
                },
                "translate" => match value.get_ref().as_table() {
                    Some(table) => translate = reader.translate(key, table),
                    None => reader.problem(key, "[translate] is a table".into()),
                },
                "wellbeing" => match value.get_ref().as_table() {
                    Some(table) => reader.wellbeing(table, &mut wellbeing),
                    None => reader.problem(key, "[wellbeing] is a table".into()),
                },
                other => reader.problem(
                    key,
                    format!(
                        "unknown setting {other:?} (settings: theme, mouse, [keys], [colours], \
                         [profile.NAME], [view.NAME], [translate], [wellbeing])"
                    ),
                ),
            }
        }
        // No colour means none at all: NO_COLOR and "mono" leave the overrides aside.
        let theme = if no_color || theme == ThemeName::Mono {
            Theme::monochrome()
        } else {
            let mut palette = Palette::named(theme);
            for (slot, colour) in overrides {
                // Checked by `Reader::colours` already.
                let _ = palette.set(&slot, &colour);
            }
            palette.theme()
        };
        // What recovery made of a line with a syntax error is not worth a second report.
        let mut problems = reader.problems;
        let syntax_lines: Vec<usize> = problems
            .iter()
            .take(syntax_errors)
            .map(|p| p.line)
            .collect();
        let mut i = 0;
        problems.retain(|p| {
            i += 1;
            i <= syntax_errors || !syntax_lines.contains(&p.line)
        });
        problems.sort_by_key(|p| p.line);
        Config {
            keymap,
            theme,
            mouse,
            profiles,
            broken_profiles,
            views,
            translate,
            wellbeing,
            problems,
        }
    }

    /// The profile `--profile NAME` asks for; the error names the profiles there are, or the
    /// mistake in the one asked for.
    pub fn profile(&self, name: &str) -> Result<&ProfileConfig, String> {
        if let Some(profile) = self.profiles.iter().find(|p| p.name == name) {
            return Ok(profile);
        }
        let shown = crate::sanitize::clean_short(name, MAX_PROFILE_NAME);
        if let Some((_, problem)) = self.broken_profiles.iter().find(|(n, _)| n == name) {
            return Err(format!(
                "the profile {shown:?} in {FILE_NAME} cannot be used: {}",
                problem.located()
            ));
        }
        let known: Vec<String> = self
            .profiles
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.broken_profiles.iter().map(|(n, _)| n.as_str()))
            .map(|n| format!("{:?}", crate::sanitize::clean_short(n, MAX_PROFILE_NAME)))
            .collect();
        Err(if known.is_empty() {
            format!(
                "no profile {shown:?}: {FILE_NAME} has no [profile.NAME] tables \
                 (`modq config path` says where it is)"
            )
        } else {
            format!(
                "no profile {shown:?} in {FILE_NAME} (profiles: {})",
                known.join(", ")
            )
        })
    }

    /// For the message line at start: how many problems, then the first (the count first, as
    /// a long message is cut at the screen's edge).
    pub fn summary(&self) -> Option<String> {
        let first = self.problems.first()?;
        Some(match self.problems.len() {
            1 => first.to_string(),
            n => format!(
                "{FILE_NAME}: {n} problems (in the log; `modq config check` lists them), first {}",
                first.located()
            ),
        })
    }
}

/// A table's entries in the order the file wrote them.
fn by_position<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(
    &'a Spanned<toml::de::DeString<'i>>,
    &'a Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

struct Reader<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text
            .as_bytes()
            .iter()
            .take(offset)
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn problem(&mut self, key: &Spanned<toml::de::DeString<'_>>, message: String) {
        self.problems.push(Problem {
            line: self.line(key.span().start),
            key: Some(key.get_ref().to_string()),
            message,
        });
    }

    /// The moderator's bindings, each replacing the defaults it overlaps.
    fn keys(&mut self, table: &DeTable<'_>, keymap: &mut KeyMap) {
        let mut lines: Vec<(Sequence, usize)> = Vec::new();
        for (key, value) in by_position(table) {
            if let Some(table) = value.get_ref().as_table() {
                match key.get_ref().as_ref() {
                    "view" => self.layer_keys(table, &mut keymap.layers.view),
                    "confirm" => self.layer_keys(table, &mut keymap.layers.confirm),
                    "picker" => self.layer_keys(table, &mut keymap.layers.picker),
                    "prompt" => self.layer_keys(table, &mut keymap.layers.prompt),
                    other => self.problem(
                        key,
                        format!(
                            "no layer {other:?} has keys (layers: [keys.view], [keys.confirm], \
                             [keys.picker], [keys.prompt])"
                        ),
                    ),
                }
                continue;
            }
            let sequence = match Sequence::parse(key.get_ref()) {
                Ok(s) => s,
                Err(e) => {
                    self.problem(key, e);
                    continue;
                }
            };
            let Some(name) = value.get_ref().as_str() else {
                self.problem(
                    key,
                    "an action is a string, e.g. \"take_down\" or \"none\"".into(),
                );
                continue;
            };
            let action = match action_named(name) {
                Ok(a) => a,
                Err(e) => {
                    self.problem(key, e);
                    continue;
                }
            };
            match keymap.bind(sequence.clone(), action, Origin::User) {
                Ok(()) => lines.push((sequence, self.line(key.span().start))),
                Err(other) => {
                    let at = lines
                        .iter()
                        .find(|(s, _)| *s == other)
                        .map_or(0, |(_, line)| *line);
                    let (short, long) = if other.0.len() < sequence.0.len() {
                        (other.name(), sequence.name())
                    } else {
                        (sequence.name(), other.name())
                    };
                    self.problem(
                        key,
                        format!(
                            "overlaps {:?} (line {at}): with {short:?} bound, {long:?} could \
                             never be typed; this binding is ignored",
                            other.name()
                        ),
                    );
                }
            }
        }
    }

    /// The moderator's keys for one layer, each replacing what that key did there.
    fn layer_keys<A: LayerAction>(&mut self, table: &DeTable<'_>, keys: &mut LayerKeys<A>) {
        for (key, value) in by_position(table) {
            let k = match Key::parse(key.get_ref()) {
                Ok(k) => k,
                Err(e) => {
                    self.problem(key, e);
                    continue;
                }
            };
            let Some(name) = value.get_ref().as_str() else {
                self.problem(key, format!("a {} action is a string", A::LAYER));
                continue;
            };
            match LayerKeys::<A>::named(name) {
                Ok(action) => keys.bind_user(k, action),
                Err(e) => self.problem(key, e),
            }
        }
    }

    /// One `[profile.NAME]` table; `None` when it cannot be used (each mistake is a problem).
    fn profile(
        &mut self,
        name: &Spanned<toml::de::DeString<'_>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<ProfileConfig> {
        let Some(table) = value.get_ref().as_table() else {
            self.problem(name, "a profile is a table: [profile.NAME]".into());
            return None;
        };
        let profile_name = name.get_ref().to_string();
        if profile_name.is_empty()
            || profile_name.chars().count() > MAX_PROFILE_NAME
            || !profile_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            self.problem(
                name,
                format!(
                    "a profile name is 1 to {MAX_PROFILE_NAME} letters, digits, '-', '_' or '.'"
                ),
            );
        }
        let mut backend = None;
        let mut url = None;
        let mut token_file = None;
        let mut token_command = None;
        let mut token_env = None;
        let mut options = BackendOptions::new();
        let mut sources = 0;
        // A backend or url written but wrong is reported once, where it is written.
        let written = |field: &str| table.get(field).is_some();
        for (key, value) in by_position(table) {
            let text = value.get_ref().as_str().map(str::to_string);
            let field = key.get_ref().as_ref();
            if field != "options" && text.is_none() {
                self.problem(key, format!("{field} is a string"));
                continue;
            }
            let text = text.unwrap_or_default();
            match field {
                "backend" => match BackendKind::parse(&text) {
                    Ok(kind) => backend = Some(kind),
                    Err(e) => self.problem(key, e),
                },
                "url" if text.trim().is_empty() => self.problem(key, "url is empty".into()),
                "url" => url = Some(text),
                "token_file" => {
                    sources += 1;
                    match expand_home(&text) {
                        Some(path) => token_file = Some(path),
                        None => self.problem(
                            key,
                            "token_file is an absolute path or starts with ~/".into(),
                        ),
                    }
                }
                "token_command" => {
                    sources += 1;
                    token_command = Some(text);
                }
                "token_env" => {
                    sources += 1;
                    let valid = !text.is_empty()
                        && !text.starts_with(|c: char| c.is_ascii_digit())
                        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if valid {
                        token_env = Some(text);
                    } else {
                        self.problem(
                            key,
                            "token_env is the name of an environment variable, e.g. \
                             \"MATRIX_TOKEN\""
                                .into(),
                        );
                    }
                }
                "options" => match value.get_ref().as_table() {
                    Some(table) => {
                        for (option, value) in by_position(table) {
                            match value.get_ref().as_str() {
                                Some(v) => {
                                    options.insert(option.get_ref().to_string(), v.to_string());
                                }
                                None => self.problem(
                                    option,
                                    "a backend option is a string (quote numbers too)".into(),
                                ),
                            }
                        }
                    }
                    None => self.problem(key, "options is a table".into()),
                },
                other => self.problem(
                    key,
                    format!(
                        "a profile has no setting {other:?} (settings: backend, url, \
                         token_file, token_command, token_env, [profile.NAME.options])"
                    ),
                ),
            }
        }
        if sources > 1 {
            self.problem(
                name,
                "a profile takes one of token_file, token_command and token_env".into(),
            );
        }
        let missing = match (written("backend"), written("url")) {
            (false, false) => "backend and url",
            (false, true) => "backend",
            (true, false) => "url",
            (true, true) => "",
        };
        let (Some(backend), Some(url)) = (backend, url) else {
            if !missing.is_empty() {
                self.problem(name, format!("the profile needs {missing}"));
            }
            return None;
        };
        Some(ProfileConfig {
            name: profile_name,
            backend,
            url,
            token_file,
            token_command,
            token_env,
            options,
        })
    }

    /// Colour overrides that are well formed, as (slot, colour).
    fn colours(&mut self, table: &DeTable<'_>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = Palette::named(ThemeName::Default);
        for (key, value) in by_position(table) {
            let Some(colour) = value.get_ref().as_str() else {
                self.problem(key, "a colour is a string, e.g. \"31\" or \"red\"".into());
                continue;
            };
            match check.set(key.get_ref(), colour) {
                Ok(()) => out.push((key.get_ref().to_string(), colour.to_string())),
                Err(e) => self.problem(key, e),
            }
        }
        out
    }
}

/// A token file's path: absolute, or `~/` for the home folder. A relative one would depend on
/// the folder modq was started in, so it is refused.
fn expand_home(path: &str) -> Option<PathBuf> {
    if let Some(rest) = path.strip_prefix("~/") {
        return std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(rest));
    }
    let path = PathBuf::from(path);
    path.is_absolute().then_some(path)
}

/// The config's sections for views, translation and wellbeing.
impl Reader<'_> {
    /// `[view.NAME]` with `filter = "…"` and an optional `key = "…"`, which runs `:view NAME`.
    fn views(&mut self, table: &DeTable<'_>, keymap: &mut KeyMap) -> Vec<SavedView> {
        let mut views = Vec::new();
        for (name, value) in by_position(table) {
            let Some(fields) = value.get_ref().as_table() else {
                self.problem(
                    name,
                    "a view is a table: [view.NAME] with filter = \"…\"".into(),
                );
                continue;
            };
            let view_name = name.get_ref().to_string();
            let well_named = !view_name.is_empty()
                && view_name.len() <= 40
                && view_name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !well_named {
                self.problem(
                    name,
                    "a view's name is up to 40 letters, digits, - and _".into(),
                );
                continue;
            }
            let mut filter = None;
            let mut keys = None;
            for (field, value) in by_position(fields) {
                let text = value.get_ref().as_str();
                match (field.get_ref().as_ref(), text) {
                    ("filter", Some(text)) => match Query::parse(text) {
                        Ok(q) => filter = Some(q),
                        Err(e) => self.problem(field, format!("view {view_name:?}: {e}")),
                    },
                    ("key", Some(text)) => match Sequence::parse(text) {
                        Ok(k) => keys = Some((k, field)),
                        Err(e) => self.problem(field, e),
                    },
                    ("filter" | "key", None) => {
                        self.problem(field, format!("view {view_name:?}: a string"));
                    }
                    (other, _) => self.problem(
                        field,
                        format!("unknown view setting {other:?} (filter, key)"),
                    ),
                }
            }
            let Some(filter) = filter else {
                self.problem(name, format!("view {view_name:?} has no filter = \"…\""));
                continue;
            };
            if let Some((keys, field)) = keys {
                let action = Action::Run(format!("view {view_name}"));
                if let Err(other) = keymap.bind(keys, Some(action), Origin::User) {
                    self.problem(
                        field,
                        format!(
                            "overlaps the key {:?} bound in [keys]; this key is ignored",
                            other.name()
                        ),
                    );
                }
            }
            views.push(SavedView {
                name: view_name,
                filter,
            });
        }
        views
    }

    /// `[translate]`: `command = ["PROGRAM", "ARG"…]`, `timeout_secs`, `max_kib`.
    fn translate(
        &mut self,
        section: &Spanned<toml::de::DeString<'_>>,
        table: &DeTable<'_>,
    ) -> Option<TranslateCommand> {
        let mut argv: Option<Vec<String>> = None;
        let mut timeout = DEFAULT_TIMEOUT;
        let mut max_bytes = DEFAULT_MAX_BYTES;
        for (field, value) in by_position(table) {
            match field.get_ref().as_ref() {
                "command" => {
                    let words: Option<Vec<String>> = value.get_ref().as_array().and_then(|a| {
                        a.iter()
                            .map(|w| w.get_ref().as_str().map(str::to_string))
                            .collect()
                    });
                    match words {
                        Some(w) if w.first().is_some_and(|p| !p.trim().is_empty()) => {
                            argv = Some(w);
                        }
                        _ => self.problem(
                            field,
                            "the command is a list of strings, the program first: \
                             [\"trans\", \"-b\", \":en\"] (no shell: the text goes on its stdin)"
                                .into(),
                        ),
                    }
                }
                "timeout_secs" => match whole_number(value.get_ref()) {
                    Some(n @ 1..=120) => timeout = std::time::Duration::from_secs(n),
                    _ => self.problem(field, "timeout_secs is a whole number, 1 to 120".into()),
                },
                "max_kib" => match whole_number(value.get_ref()) {
                    Some(n @ 1..=1024) => {
                        max_bytes = usize::try_from(n * 1024).unwrap_or(DEFAULT_MAX_BYTES);
                    }
                    _ => self.problem(field, "max_kib is a whole number, 1 to 1024".into()),
                },
                other => self.problem(
                    field,
                    format!("unknown translate setting {other:?} (command, timeout_secs, max_kib)"),
                ),
            }
        }
        let Some(mut argv) = argv else {
            self.problem(
                section,
                "[translate] needs command = [\"PROGRAM\", …]".into(),
            );
            return None;
        };
        let program = argv.remove(0);
        Some(TranslateCommand {
            program,
            args: argv,
            timeout,
            max_bytes,
        })
    }

    /// `[wellbeing]`: `graphic = ["violence", …]`, `break_after_minutes` (0: never).
    fn wellbeing(&mut self, table: &DeTable<'_>, settings: &mut WellbeingSettings) {
        for (field, value) in by_position(table) {
            match field.get_ref().as_ref() {
                "graphic" => {
                    let words: Option<Vec<String>> = value.get_ref().as_array().and_then(|a| {
                        a.iter()
                            .map(|w| w.get_ref().as_str().map(|c| c.trim().to_lowercase()))
                            .collect()
                    });
                    match words {
                        Some(w) => settings.graphic = w,
                        None => self.problem(
                            field,
                            "graphic is a list of report categories: [\"violence\", …]".into(),
                        ),
                    }
                }
                "break_after_minutes" => match whole_number(value.get_ref()) {
                    Some(n @ 0..=600) => {
                        settings.break_after = break_after(u32::try_from(n).unwrap_or(0));
                    }
                    _ => self.problem(
                        field,
                        "break_after_minutes is a whole number, 0 (never) to 600".into(),
                    ),
                },
                other => self.problem(
                    field,
                    format!("unknown wellbeing setting {other:?} (graphic, break_after_minutes)"),
                ),
            }
        }
    }
}

/// A TOML integer that is not negative.
fn whole_number(value: &DeValue<'_>) -> Option<u64> {
    let n = value.as_integer()?;
    u64::from_str_radix(n.as_str(), n.radix()).ok()
}

/// TOML spelling of a key or string: bare when it can be, quoted otherwise.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_key(s: &str) -> String {
    let bare = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { s.to_string() } else { toml_string(s) }
}

/// The full, commented default config, written from the shipped keymap and theme: saved as
/// the config file, it reads back as exactly the defaults.
pub fn default_text() -> String {
    let keymap = KeyMap::default_keymap();
    let palette = Palette::named(ThemeName::Default);
    let themes = ThemeName::ALL.map(|t| toml_string(t.as_str())).join(" | ");
    let mut out = format!(
        "\
# modq configuration. `modq config default` wrote this; save it where `modq config path` says
# and change what you like. A setting you delete falls back to its default. A mistake is
# reported with its line when modq starts (and by `modq config check`), and never stops modq:
# what was wrong keeps its default.

# Colours: {themes}. \"default\" reads on dark and light terminals (256 colours),
# \"16\" uses only the 16 ANSI colours (old terminals), \"mono\" no colour at all.
# Without this line modq picks from the terminal: \"default\" when COLORTERM is truecolor or
# 24bit or TERM says 256color, \"mono\" when TERM is dumb, else \"16\".
# NO_COLOR set in the environment always means \"mono\".
# theme = {theme}

# The mouse: the wheel moves through the queue, a click selects an item. Off by default, so
# the terminal's own text selection (copy and paste, also over SSH) keeps working.
mouse = false

# Keys: `key = \"action\"`. A key is a character (`j`, `G`, `\"?\"`), or space enter esc tab
# backtab backspace up down left right home end pageup pagedown delete insert f1…f12, with
# ctrl-, alt- or shift- in front if wanted. Keys separated by spaces are a sequence, typed one
# after the other: `\"g g\" = \"first\"`, `\"ctrl-x ctrl-s\" = \"quit\"`; the hint line shows what
# was typed so far, and esc drops it. Your bindings replace the defaults per key (a sequence
# also replaces a default bound to its first key); `key = \"{UNBIND}\"` removes a default.
[keys]
",
        theme = toml_string(ThemeName::Default.as_str()),
    );
    for (action, keys) in keymap.keys_by_action() {
        out.push_str(&format!("# {}\n", action.description()));
        let name = toml_string(&action_name(action));
        if keys.is_empty() {
            out.push_str(&format!("# \"<key>\" = {name}\n"));
        }
        for keys in keys {
            out.push_str(&format!("{} = {name}\n", toml_key(&keys.name())));
        }
    }
    out.push_str(&layer_text(
        &keymap.layers.view,
        "Help, history, stats and piped output",
    ));
    out.push_str(&layer_text(
        &keymap.layers.confirm,
        "The confirmation before a bulk action",
    ));
    out.push_str(&layer_text(
        &keymap.layers.picker,
        "The T and E pickers; every other plain character is typed",
    ));
    out.push_str(&layer_text(
        &keymap.layers.prompt,
        "The line under / : | and n; every other plain character is typed",
    ));
    out.push_str(
        "
# Colours, on top of the theme (not with \"mono\" or NO_COLOR): a name (red, lightred, cyan,
# gray, darkgray…), a 256-colour index (\"31\"), hex (\"#5f87af\"), or \"none\" for the terminal's
# own colour. Shown commented out with the \"default\" theme's colours.
[colours]
",
    );
    for ((slot, colour), (_, what)) in palette.colours().zip(SLOTS) {
        let line = format!("# {slot} = {}", toml_string(&colour_name(colour)));
        out.push_str(&format!("{line:<30} # {what}\n"));
    }
    let backends = BackendKind::ALL
        .iter()
        .map(|k| toml_string(k.as_str()))
        .collect::<Vec<_>>()
        .join(" | ");
    out.push_str(&format!(
        "
# Profiles: `modq --profile NAME` reviews the queue a profile names. backend is {backends}.
# The secret comes from one of token_file (private: chmod 600), token_command (its first
# line) or token_env (a variable's name); with none of them, as with --api (--token-file,
# --token-command, MODQ_TOKEN). Options are the backend's own settings, as strings (a name it
# does not know stops the start). Each profile keeps its own session cache and outbox.
# [profile.work]
# backend = \"modq\"
# url = \"https://modq.example.org\"
# token_command = \"pass show modq/work\"
# [profile.work.options]
"
    ));
    out.push_str(
        "
# Saved views: a named filter, opened with `:view NAME` or its key; esc or backspace goes
# back to where you were.
# [view.spam]
# filter = \"cat:spam,scam\"
# key = \"v\"

# A translation command: the program and its arguments (no shell). The item's text goes on
# its stdin, the translation comes from its stdout; L shows it under the original.
# [translate]
# command = [\"trans\", \"-b\", \":en\"]
# timeout_secs = 10
# max_kib = 64

# Wellbeing: the report categories that are graphic to look at, and after how many minutes
# on them modq proposes a break (0: never). The defaults are assets/wellbeing.toml's.
# [wellbeing]
# graphic = [\"violence\", \"terrorism\", \"self_harm\"]
# break_after_minutes = 20
",
    );
    out
}

/// One layer's section of the default config: `[keys.picker]`, each intent with its keys.
fn layer_text<A: LayerAction>(keys: &LayerKeys<A>, what: &str) -> String {
    let mut out = format!("\n# {what}.\n[keys.{}]\n", A::LAYER);
    for action in A::ALL {
        out.push_str(&format!("# {}\n", action.description()));
        let name = toml_string(action.name());
        let mut any = false;
        for key in keys.keys(*action) {
            out.push_str(&format!("{} = {name}\n", toml_key(&key.name())));
            any = true;
        }
        if !any {
            out.push_str(&format!("# \"<key>\" = {name}\n"));
        }
    }
    out
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::keymap::{Feed, Key};

    fn problems(text: &str) -> Vec<String> {
        Config::parse(text, false)
            .problems
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    fn feed(config: &Config, keys: &str) -> Vec<Feed> {
        let mut pending = Vec::new();
        keys.split(' ')
            .map(|k| {
                config
                    .keymap
                    .feed(&mut pending, Key::parse(k).expect("key"))
            })
            .collect()
    }

    #[test]
    fn the_printed_default_config_reads_back_as_exactly_the_defaults() {
        let text = default_text();
        let config = Config::parse(&text, false);
        assert_eq!(config.problems, vec![], "{text}");
        assert_eq!(config, Config::default());
        assert_eq!(config.keymap, KeyMap::default_keymap());
        for action in Action::BINDABLE.iter() {
            assert!(
                text.contains(&format!("= \"{}\"", action_name(action))),
                "{action:?}"
            );
            assert!(text.contains(action.description()), "{action:?}");
        }
        for (slot, _) in SLOTS {
            assert!(text.contains(&format!("# {slot} = ")), "{slot}");
        }
        // Uncommenting the colours changes nothing either.
        let uncommented = text.replace("# accent = ", "accent = ");
        assert_eq!(Config::parse(&uncommented, false), Config::default());
    }

    #[test]
    fn no_file_is_the_defaults_and_no_color_is_mono() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config::load(&dir.path().join(FILE_NAME), false);
        assert_eq!(config, Config::default());
        let config = Config::load(&dir.path().join(FILE_NAME), true);
        assert_eq!(config.theme, Theme::monochrome());
        // NO_COLOR wins over a theme and colours the file asks for.
        let asked = "theme = \"16\"\n[colours]\naccent = \"red\"\n";
        assert_eq!(Config::parse(asked, true).theme, Theme::monochrome());
        assert_eq!(
            Config::parse("theme = \"mono\"\n", false).theme,
            Theme::monochrome()
        );
    }

    #[test]
    fn themes_colours_and_mouse_are_read() {
        let config = Config::parse(
            "theme = \"16\"\nmouse = true\n[colours]\naccent = \"#5f87af\"\n",
            false,
        );
        assert_eq!(config.problems, vec![]);
        assert!(config.mouse);
        let mut palette = Palette::named(ThemeName::Ansi16);
        palette.set("accent", "#5f87af").expect("colour");
        assert_eq!(config.theme, palette.theme());
        assert_ne!(config.theme, Theme::default_theme());
    }

    #[test]
    fn sequences_override_and_unbind_per_key() {
        let config = Config::parse(
            "[keys]\n\"g g\" = \"first\"\n\"z z\" = \"help\"\n\"ctrl-x ctrl-s\" = \"quit\"\nq = \"none\"\nx = \"take_down\"\n",
            false,
        );
        assert_eq!(config.problems, vec![]);
        assert_eq!(
            feed(&config, "g g"),
            [Feed::Pending, Feed::Matched(Action::First)]
        );
        assert_eq!(
            feed(&config, "z z"),
            [Feed::Pending, Feed::Matched(Action::Help)]
        );
        assert_eq!(
            feed(&config, "ctrl-x ctrl-s"),
            [Feed::Pending, Feed::Matched(Action::Quit)]
        );
        assert_eq!(feed(&config, "q"), [Feed::NoMatch]);
        // Both x and the default t take down; keys the file does not name keep their defaults.
        assert_eq!(feed(&config, "x"), [Feed::Matched(Action::TakeDown)]);
        assert_eq!(feed(&config, "t"), [Feed::Matched(Action::TakeDown)]);
        assert_eq!(feed(&config, "j"), [Feed::Matched(Action::MoveDown)]);
    }

    #[test]
    fn a_toml_syntax_error_names_its_line_and_the_rest_still_applies() {
        let text = "mouse = true\n[keys]\nx = take_down\ny = \"keep\"\n";
        let config = Config::parse(text, false);
        let got: Vec<String> = config.problems.iter().map(Problem::to_string).collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("config.toml line 3, key \"x\": not valid TOML"),
            "{got:?}"
        );
        assert!(config.mouse);
        assert_eq!(feed(&config, "y"), [Feed::Matched(Action::Keep)]);
        assert_eq!(feed(&config, "x"), [Feed::NoMatch]);
    }

    #[test]
    fn an_unknown_key_name_is_named_with_its_line() {
        let got = problems("[keys]\nj = \"move_down\"\nhyper-x = \"quit\"\n");
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("config.toml line 3, key \"hyper-x\": unknown key name \"hyper-x\""),
            "{got:?}"
        );
    }

    #[test]
    fn an_unknown_action_is_named_with_its_line_and_the_key_keeps_its_default() {
        let text = "\n[keys]\nt = \"explode\"\n";
        let got = problems(text);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("config.toml line 3, key \"t\": unknown action \"explode\""),
            "{got:?}"
        );
        assert!(got[0].contains("take_down"), "lists the actions: {got:?}");
        let config = Config::parse(text, false);
        assert_eq!(feed(&config, "t"), [Feed::Matched(Action::TakeDown)]);
    }

    #[test]
    fn a_sequence_overlapping_another_binding_is_named_with_both_lines() {
        let text = "[keys]\n\"z\" = \"help\"\n\"z z\" = \"quit\"\n";
        let got = problems(text);
        assert_eq!(
            got,
            [
                "config.toml line 3, key \"z z\": overlaps \"z\" (line 2): with \"z\" bound, \
              \"z z\" could never be typed; this binding is ignored"
            ]
        );
        let config = Config::parse(text, false);
        assert_eq!(feed(&config, "z"), [Feed::Matched(Action::Help)]);
    }

    #[test]
    fn an_unknown_colour_is_named_with_its_line_and_keeps_the_themes() {
        let text = "theme = \"default\"\n[colours]\naccent = \"chartreuse-ish\"\nmuted = \"244\"\n";
        let got = problems(text);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with(
                "config.toml line 3, key \"accent\": unknown colour \"chartreuse-ish\""
            ),
            "{got:?}"
        );
        let mut palette = Palette::named(ThemeName::Default);
        palette.set("muted", "244").expect("colour");
        assert_eq!(Config::parse(text, false).theme, palette.theme());
    }

    #[test]
    fn other_mistakes_are_named_too() {
        let got = problems(
            "theme = \"solarized\"\nmouse = \"yes\"\nfont = \"x\"\n[colours]\nacent = \"red\"\n[keys]\nj = 3\n",
        );
        let starts = [
            "config.toml line 1, key \"theme\": the theme is one of",
            "config.toml line 2, key \"mouse\": mouse is true or false",
            "config.toml line 3, key \"font\": unknown setting",
            "config.toml line 5, key \"acent\": unknown colour slot",
            "config.toml line 7, key \"j\": an action is a string",
        ];
        assert_eq!(got.len(), starts.len(), "{got:?}");
        for (got, want) in got.iter().zip(starts) {
            assert!(got.starts_with(want), "{got} should start with {want}");
        }
        let config = Config::parse("theme = \"solarized\"\nmouse = \"yes\"\n", false);
        assert_eq!(
            config.summary().as_deref(),
            Some(
                "config.toml: 2 problems (in the log; `modq config check` lists them), first \
                 line 1, key \"theme\": the theme is one of \"default\", \"16\", \"mono\""
            )
        );
    }

    #[test]
    fn views_translation_and_wellbeing_are_read_and_their_mistakes_named() {
        let text = "[view.spam]\nfilter = \"cat:spam\"\nkey = \"v\"\n\
                    [view.bad]\nfilter = \"colour:red\"\n\
                    [translate]\ncommand = [\"tr\", \"a-z\", \"A-Z\"]\ntimeout_secs = 500\n\
                    [wellbeing]\ngraphic = [\"Gore\"]\nbreak_after_minutes = 0\n";
        let config = Config::parse(text, false);
        assert_eq!(config.views.len(), 1);
        assert_eq!(config.views[0].name, "spam");
        assert_eq!(
            feed(&config, "v"),
            [Feed::Matched(Action::Run("view spam".into()))]
        );
        let t = config.translate.expect("a command");
        assert_eq!((t.program.as_str(), t.args.len()), ("tr", 2));
        assert_eq!(t.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.wellbeing.graphic, vec!["gore".to_string()]);
        assert_eq!(config.wellbeing.break_after, None);
        let got: Vec<String> = config.problems.iter().map(Problem::to_string).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].contains("view \"bad\" has no filter"), "{got:?}");
        assert!(
            got[1].contains("line 5") && got[1].contains("colour"),
            "{got:?}"
        );
        assert!(got[2].contains("timeout_secs"), "{got:?}");
        let got = problems("[translate]\ncommand = \"tr a-z A-Z\"\n");
        assert!(got.iter().any(|p| p.contains("no shell")), "{got:?}");
    }

    #[test]
    fn an_unreadable_file_is_a_problem_not_a_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the file should be cannot be read as text.
        let config = Config::load(dir.path(), false);
        assert_eq!(config.problems.len(), 1);
        assert!(config.problems[0].to_string().contains("cannot read"));
        assert_eq!(config.keymap, KeyMap::default_keymap());
    }
}
