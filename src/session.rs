//! Opening a review session: check the token, find the profile's cache, fetch the first page,
//! then hand over to the TUI. Every failure here happens before the terminal is taken over,
//! so it is printed as a plain sentence.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::backend::modq::{Limits, ModqClient};
use crate::backend::{Backend, BackendError, QueueQuery};
use crate::config::{self, Config};
use crate::model::{ClaimRequest, Me, ReviewState};
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

/// Say what went wrong talking to `api`, in words a moderator can act on.
pub fn explain(api: &str, e: &BackendError) -> String {
    match e {
        BackendError::Config(m) => format!("{m}."),
        BackendError::Unauthorized(m) => format!(
            "The moderation API at {api} refused the token ({m}). Check MODQ_TOKEN, --token-file or --token-command."
        ),
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
            "The moderation API at {api} sent an answer modq cannot read: {m}. Is this a modq API v1 server?"
        ),
    }
}

/// Connect, check the token, and open the profile's cache.
pub async fn connect(
    api: &str,
    token: &str,
    dirs: &Dirs,
    limits: Limits,
) -> Result<(Arc<dyn Backend>, Me, Profile, std::path::PathBuf), SessionError> {
    let client = ModqClient::with_limits(api, token, limits)
        .map_err(|e| SessionError::Api(explain(api, &e)))?;
    let me = client
        .me()
        .await
        .map_err(|e| SessionError::Api(explain(api, &e)))?;
    let profile = Profile {
        api: api.trim_end_matches('/').to_string(),
        user: me.name.clone(),
    };
    let db = dirs.profile_db(&profile);
    create_private_file(&db).map_err(|e| {
        SessionError::Local(format!(
            "cannot create the session cache {}: {e}",
            db.display()
        ))
    })?;
    Ok((Arc::new(client), me, profile, db))
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
    let (backend, me, profile, db) = connect(api, token, dirs, limits).await?;
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
    let request = ClaimRequest {
        lane: None,
        tier: None,
        state: Some(queue),
        cursor: None,
        limit: Some(PAGE_SIZE),
        lease_seconds: lease_seconds_from_env(),
        ..ClaimRequest::default()
    };
    // The list is what the queue holds (read, leasing nothing); only the first few items are
    // claimed, below, so that a second moderator finds the rest free.
    let first = backend
        .queue_page(&QueueQuery {
            state: Some(queue),
            limit: Some(PAGE_SIZE),
            ..QueueQuery::default()
        })
        .await
        .map_err(|e| SessionError::Api(explain(api, &e)))?;
    let next_cursor = first.next_cursor.clone();
    let summary = config.summary();
    let mut app = App::new(AppInit {
        profile: profile.display(),
        api: profile.api.clone(),
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
    let (lease_seconds, left) =
        claim_first_window(&*backend, &mut app, request.lease_seconds).await;
    let (tx, events) = mpsc::unbounded_channel();
    let window = Window {
        request: ClaimRequest {
            cursor: next_cursor,
            ..request
        },
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
    // The lane tabs' counts and the take-down picker's reasons arrive in the background.
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

/// Open the TUI on `api` and run it until the moderator quits.
pub async fn review(
    api: &str,
    token: &str,
    dirs: &Dirs,
    limits: Limits,
) -> Result<Outcome, SessionError> {
    let p = prepare_with_limits(api, token, dirs, load_config(dirs), limits).await?;
    tui::run(p.app, p.sync, p.events, p.mouse)
        .await
        .map_err(|e| SessionError::Local(format!("terminal: {e}")))
}
