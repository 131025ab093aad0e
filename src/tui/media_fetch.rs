//! Fetching one image for the item on screen, off the key path: the bytes come through the
//! backend with a size and a time limit, are decoded on the bounded decoder, and come back to
//! the App as a message. They live in memory only: never in the cache database, the journal,
//! a log line or a temporary file.

use std::sync::Arc;
use std::time::Duration;

use ratatui_image::picker::Picker;

use crate::backend::{Backend, BackendError};
use crate::media::decode::{BUSY, Decoder, Prepared};

/// Bytes of one image at most (the server keeps none larger).
pub const MAX_MEDIA_BYTES: usize = 1024 * 1024;
/// How long fetching and decoding one image may take.
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(20);
/// The fetch starts this long after it is asked for: the loop asks while the key's frame is
/// still to be drawn, and on a two-core laptop a request built and an image decoded at the
/// same moment would take the frame's core.
pub const FETCH_AFTER: Duration = Duration::from_millis(5);

/// What to fetch, and how to draw it.
#[derive(Debug, Clone)]
pub struct MediaJob {
    pub item_id: String,
    pub media_id: String,
    /// The terminal's image protocol, as modq chose it.
    pub picker: Picker,
    /// The item's category is graphic: revealed, the image stays greyscale.
    pub graphic: bool,
}

impl PartialEq for MediaJob {
    fn eq(&self, other: &MediaJob) -> bool {
        self.item_id == other.item_id
            && self.media_id == other.media_id
            && self.graphic == other.graphic
    }
}

impl Eq for MediaJob {}

/// Why there is no image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoImage {
    pub why: String,
    /// It may come another time (offline, a server's failure, the decoder busy).
    pub retry: bool,
}

/// Whether a backend's failure may pass: the network, the server's own trouble.
fn passing(e: &BackendError) -> bool {
    matches!(
        e,
        BackendError::NoConnection(_)
            | BackendError::Unreachable(_)
            | BackendError::Timeout(_)
            | BackendError::Server { .. }
    )
}

/// The image ready to draw, or why there is none.
#[derive(Debug, Clone)]
pub struct MediaAnswer(pub Result<Arc<Prepared>, NoImage>);

impl PartialEq for MediaAnswer {
    fn eq(&self, other: &MediaAnswer) -> bool {
        match (&self.0, &other.0) {
            (Ok(a), Ok(b)) => Arc::ptr_eq(a, b),
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }
}

/// The process's decoder: a fixed number of threads, whatever the number of sessions.
fn decoder() -> &'static Decoder {
    static DECODER: std::sync::OnceLock<Decoder> = std::sync::OnceLock::new();
    DECODER.get_or_init(Decoder::start)
}

/// Fetch and decode `job`'s image within [`MEDIA_TIMEOUT`].
pub async fn fetch(backend: Arc<dyn Backend>, job: &MediaJob) -> MediaAnswer {
    let work = async {
        tokio::time::sleep(FETCH_AFTER).await;
        let bytes = backend
            .media(&job.item_id, &job.media_id, MAX_MEDIA_BYTES)
            .await
            .map_err(|e| NoImage {
                why: e.to_string(),
                retry: passing(&e),
            })?;
        decoder()
            .decode(bytes, job.picker.clone(), job.graphic)
            .await
            .map_err(|why| NoImage {
                retry: why == BUSY,
                why,
            })
    };
    MediaAnswer(match tokio::time::timeout(MEDIA_TIMEOUT, work).await {
        Ok(answer) => answer,
        Err(_) => Err(NoImage {
            why: format!("no image within {} s", MEDIA_TIMEOUT.as_secs()),
            retry: true,
        }),
    })
}
