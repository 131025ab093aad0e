//! Opening a review session: check the token, find the profile's cache, fetch the first page,
//! then hand over to the TUI. Every failure here happens before the terminal is taken over,
//! so it is printed as a plain sentence.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::backend::{
    self, Backend, BackendError, BackendKind, BackendOptions, Limits, QueueQuery,
};
use crate::config::{self, Config};
use crate::credentials::TokenSource;
use crate::model::{Me, ReviewState};
use crate::profile::{Dirs, Profile, create_private_file};
use crate::sanitize::clean_line;
use crate::store::Store;
use crate::sync::{SyncEvent, SyncHandle, Window};
use crate::tui::app::{App, AppInit, Flash, Level};
use crate::tui::{self, Outcome};

/// Items per queue page: a screenful many times over, one round trip.
pub const PAGE_SIZE: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Local(String),
}

/// `MODQ_LEASE_SECONDS` asks the server for another lease length, brought within the 10 to
/// 3600 s the API takes (it refuses others); unset, the server's default applies.
fn lease_seconds_from_env() -> Option<u32> {
    std::env::var("MODQ_LEASE_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map(|n| n.clamp(10, 3600))
}

/// Say what went wrong talking to modq's own API at `api`, in words a moderator can act on.
pub fn explain(api: &str, e: &BackendError) -> String {
    explain_target(&Target::modq(api, "", Limits::default()), e)
}

/// Say what went wrong talking to `target`, naming its profile's secret when the secret was
/// refused, and what kind of server was expected when the answer could not be read.
pub fn explain_target(target: &Target, e: &BackendError) -> String {
    let api = target.url.as_str();
    match e {
        BackendError::Config(m) => format!("{m}."),
        BackendError::Unauthorized(m) => match &target.name {
            None => format!(
                "The moderation API at {api} refused the token ({m}). Check MODQ_TOKEN, --token-file or --token-command."
            ),
            Some(name) => format!(
                "The moderation API at {api} refused the secret of profile {name:?} ({m}). Check its token_file, token_command or token_env in config.toml."
            ),
        },
        BackendError::NoConnection(m) => format!(
            "Cannot reach the moderation API at {api}: {m}. Is the server running, and is the address right?"
        ),
        BackendError::Unreachable(m) => format!(
            "Lost the connection to the moderation API at {api}: {m}. Is the network or a proxy dropping it?"
        ),
        BackendError::Timeout(s) => {
            format!(
                "The moderation API at {api} did not answer within {s} seconds (--timeout sets how long to wait)."
            )
        }
        BackendError::Server { status, message } => format!(
            "The moderation API at {api} failed (HTTP {status}): {message}. Try again later."
        ),
        BackendError::Rejected { status, message } => {
            format!(
                "The moderation API at {api} rejected modq's request (HTTP {status}): {message}."
            )
        }
        BackendError::Unsupported(m) => format!("The moderation API at {api} cannot do this: {m}."),
        BackendError::Malformed(m) => format!(
            "The moderation API at {api} sent an answer modq cannot read: {m}. Is this {}?",
            target.backend.server()
        ),
    }
}

/// What a session connects to: a profile of the config file, or `--api` with a token.
#[derive(Clone)]
pub struct Target {
    pub backend: BackendKind,
    /// The config profile's name; `None` for `--api`.
    pub name: Option<String>,
    pub url: String,
    /// The token or password; never printed (see [`crate::credentials`]).
    pub secret: String,
    pub options: BackendOptions,
    pub limits: Limits,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("backend", &self.backend)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// modq's own API at `api`, as `--api` names it.
    pub fn modq(api: &str, token: &str, limits: Limits) -> Target {
        Target {
            backend: BackendKind::Modq,
            name: None,
            url: api.to_string(),
            secret: token.to_string(),
            options: BackendOptions::new(),
            limits,
        }
    }

    /// The profile this target's cache is kept under, once the backend has said who `user` is.
    pub fn profile(&self, user: &str) -> Profile {
        Profile {
            backend: self.backend,
            name: self.name.clone(),
            api: self.url.trim_end_matches('/').to_string(),
            user: user.to_string(),
        }
    }
}

/// The target of `--profile NAME`. A profile naming its own secret (token_file, token_command,
/// token_env) ignores `command_line`'s: a token meant for one server must not be sent to
/// another. Without one, `command_line`'s sources apply (--token-file, --token-command,
/// MODQ_TOKEN). The error names the known profiles, the mistake in this one, or why its
/// secret could not be read.
pub fn profile_target(
    config: &Config,
    name: &str,
    command_line: &TokenSource,
    limits: Limits,
) -> Result<Target, String> {
    let profile = config.profile(name)?;
    let has_own = profile.token_file.is_some()
        || profile.token_command.is_some()
        || profile.token_env.is_some();
    let source = if has_own {
        profile.token_source()
    } else {
        TokenSource {
            profile: Some(profile.name.clone()),
            ..command_line.clone()
        }
    };
    let secret = source.read().map_err(|e| e.to_string())?;
    Ok(Target {
        backend: profile.backend,
        name: Some(profile.name.clone()),
        url: profile.url.clone(),
        secret,
        options: profile.options.clone(),
        limits,
    })
}

/// A backend, the account it works as, and that profile's cache database.
pub type Connected = (Arc<dyn Backend>, Me, Profile, PathBuf);

/// Connect to modq's own API, check the token, and open the profile's cache.
pub async fn connect(
    api: &str,
    token: &str,
    dirs: &Dirs,
    limits: Limits,
) -> Result<Connected, SessionError> {
    connect_target(&Target::modq(api, token, limits), dirs).await
}

/// Make the target's backend, check its secret, and open the profile's cache.
pub async fn connect_target(target: &Target, dirs: &Dirs) -> Result<Connected, SessionError> {
    let backend = backend::open(
        target.backend,
        &target.url,
        &target.secret,
        &target.options,
        target.limits,
    )
    .map_err(|e| SessionError::Api(explain_target(target, &e)))?;
    connect_backend(backend, target, dirs).await
}

/// Ask `backend` who the account is and open the cache of `target`'s profile for them. The
/// backend need not be the one `target` would make (tests hand in their own).
pub async fn connect_backend(
    backend: Arc<dyn Backend>,
    target: &Target,
    dirs: &Dirs,
) -> Result<Connected, SessionError> {
    let me = backend
        .me()
        .await
        .map_err(|e| SessionError::Api(explain_target(target, &e)))?;
    let profile = target.profile(&me.name);
    let db = dirs.profile_db(&profile);
    create_private_file(&db).map_err(|e| {
        SessionError::Local(format!(
            "cannot create the session cache {}: {e}",
            db.display()
        ))
    })?;
    Ok((backend, me, profile, db))
}

/// Everything a review needs, ready to run: the App with its first page, and the background
/// sync with the channel it reports on.
pub struct Prepared {
    pub app: App,
    pub sync: SyncHandle,
    pub events: mpsc::UnboundedReceiver<SyncEvent>,
    /// The profile's cache database.
    pub db: PathBuf,
    /// Capture the mouse (the config asked for it).
    pub mouse: bool,
}

/// Connect, open the cache, fetch the first page and start the background sync. Problems in
/// the config are shown in the message line: the session runs with defaults for what was bad.
pub async fn prepare(
    api: &str,
    token: &str,
    dirs: &Dirs,
    config: Config,
) -> Result<Prepared, SessionError> {
    prepare_with_limits(api, token, dirs, config, Limits::default()).await
}

/// [`prepare`], with other limits on what the API may send and how long to wait for it.
pub async fn prepare_with_limits(
    api: &str,
    token: &str,
    dirs: &Dirs,
    config: Config,
    limits: Limits,
) -> Result<Prepared, SessionError> {
    prepare_target(&Target::modq(api, token, limits), dirs, config).await
}

/// [`prepare`] for any target: a config profile's backend, or modq's own API.
pub async fn prepare_target(
    target: &Target,
    dirs: &Dirs,
    config: Config,
) -> Result<Prepared, SessionError> {
    let connected = connect_target(target, dirs).await?;
    prepare_connected(connected, target, config).await
}

/// [`prepare`] on a backend the caller made (the fake backend of the client's tests), its
/// cache kept under `target`'s profile.
pub async fn prepare_backend(
    backend: Arc<dyn Backend>,
    target: &Target,
    dirs: &Dirs,
    config: Config,
) -> Result<Prepared, SessionError> {
    let connected = connect_backend(backend, target, dirs).await?;
    prepare_connected(connected, target, config).await
}

async fn prepare_connected(
    (backend, me, profile, db): Connected,
    target: &Target,
    config: Config,
) -> Result<Prepared, SessionError> {
    // Read after `me`: what the account may do depends on its role. Nothing above this reads
    // the backend's features any other way.
    let capabilities = backend.capabilities();
    // A specialist (legal, law enforcement, child safety) works the items escalated to their
    // tier; everyone else starts on the open queue (`:queue` switches).
    let queue = match me.role {
        crate::model::Role::Legal
        | crate::model::Role::LawEnforcement
        | crate::model::Role::ChildSafety => ReviewState::Escalated,
        _ => ReviewState::Open,
    };
    let local = |e: crate::store::StoreError| {
        SessionError::Local(format!("session cache {}: {e}", db.display()))
    };
    let store = Store::open(&db).map_err(local)?;
    let query = QueueQuery {
        state: Some(queue),
        limit: Some(PAGE_SIZE),
        ..QueueQuery::default()
    };
    let lease_seconds_asked = lease_seconds_from_env();
    // The list is what the queue holds (read, leasing nothing); only the first few items are
    // claimed, below, so that a second moderator finds the rest free.
    let first = backend
        .queue_page(&query)
        .await
        .map_err(|e| SessionError::Api(explain_target(target, &e)))?;
    let next_cursor = first.next_cursor.clone();
    let summary = config.summary();
    let mut app = App::new(AppInit {
        profile: profile.display(),
        api: profile.api.clone(),
        capabilities,
        store,
        first_page: first,
        keymap: config.keymap,
        theme: config.theme,
        now: chrono::Utc::now(),
    })
    .map_err(local)?;
    app.queue = queue;
    app.views = config.views;
    app.translations.command = config.translate;
    app.wellbeing = crate::tui::app::Wellbeing::new(config.wellbeing);
    // Images: the protocol modq speaks, from MODQ_IMAGES or the terminal's environment.
    let images = std::env::var("MODQ_IMAGES").unwrap_or_default();
    app.media.picker = crate::media::protocol::choose(&images, |name| std::env::var(name).ok())
        .map_err(|e| SessionError::Local(format!("MODQ_IMAGES: {e}")))?;
    let (lease_seconds, left) = claim_first_window(&*backend, &mut app, lease_seconds_asked).await;
    let (tx, events) = mpsc::unbounded_channel();
    let window = Window {
        query: QueueQuery {
            cursor: next_cursor,
            ..query
        },
        lease_seconds_asked,
        held: app.held_ids(),
        lease_seconds,
    };
    let sync = crate::sync::spawn(backend, &db, window, tx).map_err(local)?;
    // Claims the first rounds did not get to go out with the rest of the session's.
    for effect in left {
        match effect {
            crate::tui::app::Effect::Claim(ids) => sync.claim(ids),
            crate::tui::app::Effect::Release(ids) => sync.release(ids),
            _ => {}
        }
    }
    // The lane tabs' counts and the take-down picker's reasons arrive in the background (the
    // sync asks only a backend that has them).
    sync.counts();
    sync.policies();
    if let Some(text) = summary {
        app.flash = Some(Flash {
            level: Level::Warning,
            text: clean_line(&text),
        });
    }
    Ok(Prepared {
        app,
        sync,
        events,
        db,
        mouse: config.mouse,
    })
}

/// Lease the first few items before the screen opens, so the first key decides an item that
/// is this moderator's. Items others hold are passed over (a few rounds at most); a server
/// that cannot be asked leaves the list unleased, and the window claims again as it moves.
/// The lease length granted, and the lease work still to do.
async fn claim_first_window(
    backend: &dyn Backend,
    app: &mut App,
    lease_seconds: Option<u32>,
) -> (u32, Vec<crate::tui::app::Effect>) {
    // What the reference server grants by default, until a server says.
    let mut granted = lease_seconds.unwrap_or(300);
    let mut effects = app.start_leases();
    for _ in 0..4 {
        let Some(ids) = effects.iter().find_map(|e| match e {
            crate::tui::app::Effect::Claim(ids) => Some(ids.clone()),
            _ => None,
        }) else {
            break;
        };
        match backend.claim_items(&ids, lease_seconds).await {
            Ok(grant) => {
                granted = grant.lease_seconds;
                effects = app.claimed(grant);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the first items could not be claimed");
                let error = e.to_string();
                effects = app.update(crate::tui::action::Message::Sync(SyncEvent::ClaimFailed {
                    ids,
                    error,
                }));
                break;
            }
        }
    }
    (granted, effects)
}

/// Read the config file once, logging every problem in it.
pub fn load_config(dirs: &Dirs) -> Config {
    let path = config::path(dirs);
    let config = Config::load_for(
        &path,
        config::no_color_from_env(),
        crate::tui::theme::ThemeName::from_env(),
    );
    for problem in &config.problems {
        tracing::warn!(path = %path.display(), "{problem}");
    }
    config
}

/// Open the TUI on `target` and run it until the moderator quits.
pub async fn review(target: &Target, dirs: &Dirs, config: Config) -> Result<Outcome, SessionError> {
    let p = prepare_target(target, dirs, config).await?;
    tui::run(p.app, p.sync, p.events, p.mouse)
        .await
        .map_err(|e| SessionError::Local(format!("terminal: {e}")))
}
