//! The moderator's session on their PDS: `createSession` with an app password, the access
//! token sent on every call (the PDS proxies to Ozone), `refreshSession` when it expires
//! (about two hours), and a new session when the refresh token is gone too.

use tokio::sync::Mutex;

use super::wire::{CreateSession, SessionTokens};
use super::xrpc::{Failure, Xrpc};
use crate::backend::BackendError;

/// Who logs in: a handle or DID, and an app password (from the profile's secret source).
pub struct Login {
    pub identifier: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("identifier", &self.identifier)
            .field("password", &"…")
            .finish()
    }
}

/// The current session, made on first use and renewed when the PDS says it expired.
pub struct Auth {
    login: Login,
    session: Mutex<Option<SessionTokens>>,
}

impl Auth {
    pub fn new(login: Login) -> Auth {
        Auth {
            login,
            session: Mutex::new(None),
        }
    }

    /// The session, made now if there is none yet.
    pub async fn session(&self, xrpc: &Xrpc) -> Result<SessionTokens, BackendError> {
        let mut held = self.session.lock().await;
        if let Some(tokens) = held.as_ref() {
            return Ok(tokens.clone());
        }
        let tokens = self.create(xrpc).await?;
        *held = Some(tokens.clone());
        Ok(tokens)
    }

    /// A new access token after `stale` was refused as expired. When another call renewed
    /// the session meanwhile, that one is used; otherwise the refresh token is spent, and a
    /// new session made when it is refused too.
    pub async fn renew(&self, xrpc: &Xrpc, stale: &str) -> Result<SessionTokens, BackendError> {
        let mut held = self.session.lock().await;
        if let Some(tokens) = held.as_ref()
            && tokens.access_jwt != stale
        {
            return Ok(tokens.clone());
        }
        let refreshed = match held.as_ref() {
            Some(tokens) => xrpc
                .procedure::<SessionTokens, _>(
                    "com.atproto.server.refreshSession",
                    &serde_json::json!({}),
                    Some(&tokens.refresh_jwt),
                    false,
                )
                .await
                .ok(),
            None => None,
        };
        let tokens = match refreshed {
            Some(tokens) => tokens,
            None => self.create(xrpc).await?,
        };
        tracing::info!(handle = %tokens.handle, "the PDS session was renewed");
        *held = Some(tokens.clone());
        Ok(tokens)
    }

    async fn create(&self, xrpc: &Xrpc) -> Result<SessionTokens, BackendError> {
        let body = CreateSession {
            identifier: &self.login.identifier,
            password: &self.login.password,
        };
        xrpc.procedure("com.atproto.server.createSession", &body, None, false)
            .await
            .map_err(|e| match e {
                Failure::Refused(r) if r.status == 401 || r.error == "AuthenticationRequired" => {
                    BackendError::Unauthorized(format!(
                        "the PDS refused the login of {} ({}); check the app password",
                        crate::sanitize::clean_short(&self.login.identifier, 100),
                        r.message
                    ))
                }
                other => other.into_backend(),
            })
    }
}
