//! What the server takes and gives of media bytes. Pure: the handlers and the import call
//! these, the storage only keeps what they let through.
//!
//! In: an intake's report carries each image in `media[].data` (base64); the bytes must be
//! one of the four formats modq decodes (read from the bytes, never from a declared type) and
//! at most [`MAX_MEDIA_BYTES`]. They leave the report here: the item keeps their SHA-256 as
//! `id` and the sniffed `content_type`, the bytes go to [`MediaBlob`]s.
//!
//! Out: bytes are served only for media the item lists, and never for media
//! [`never_shown`](crate::media::policy::never_shown) covers (child sexual abuse material):
//! the server refuses, whoever asks.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::media::policy;
use crate::media::sniff;
use crate::model::{Item, NewReport, Role};

use super::storage::{MediaBlob, TokenInfo};

/// Bytes of one image at most, once decoded from base64. A report's body is capped at 2 MiB,
/// which holds one such image in base64; the import holds any number, each this size.
pub const MAX_MEDIA_BYTES: usize = 1024 * 1024;

/// Why media in a report, or a request for media bytes, is refused. Each maps to one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRefusal {
    /// Malformed: bad base64, or an `id` / `content_type` the server sets itself (400).
    Invalid(String),
    /// Bytes from a token that is not an intake (403).
    NotIntake(String),
    /// Larger than [`MAX_MEDIA_BYTES`] (413).
    TooLarge(String),
    /// Not PNG, JPEG, GIF or WebP by its bytes (415).
    WrongType(String),
    /// The item lists no media with this id, or the server keeps no bytes for it (404).
    NotListed(String),
    /// Never served: viewing it harms (403, `media_not_viewable`).
    NeverShown(String),
}

impl std::fmt::Display for MediaRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaRefusal::Invalid(m)
            | MediaRefusal::NotIntake(m)
            | MediaRefusal::TooLarge(m)
            | MediaRefusal::WrongType(m)
            | MediaRefusal::NotListed(m)
            | MediaRefusal::NeverShown(m) => f.write_str(m),
        }
    }
}

/// Whether reports by `filer` may hand over media bytes: an admin's intake and the
/// operator's import (`None`), as for the rest of a description.
pub fn may_attach(filer: Option<&TokenInfo>) -> bool {
    filer.is_none_or(|t| t.role == Role::Admin)
}

/// Takes the bytes out of `report`'s media: checks each, replaces its `data` with the `id`
/// and `content_type` the item will show, and answers the bytes to keep. Nothing is changed
/// when any medium is refused.
pub fn take_media(
    report: &mut NewReport,
    may_attach: bool,
) -> Result<Vec<MediaBlob>, MediaRefusal> {
    let mut blobs: Vec<MediaBlob> = Vec::new();
    let mut filled = Vec::new();
    for (n, media) in report.subject.media.iter().enumerate() {
        let at = format!("subject.media[{n}]");
        if media.id.is_some() || media.content_type.is_some() {
            return Err(MediaRefusal::Invalid(format!(
                "{at}: id and content_type are set by the server; send the image in data"
            )));
        }
        let Some(data) = media.data.as_deref() else {
            filled.push(None);
            continue;
        };
        if !may_attach {
            return Err(MediaRefusal::NotIntake(format!(
                "{at}: only an intake (an admin token) hands over media bytes; describe the \
                 media without data"
            )));
        }
        // Decoded size is known before decoding: refuse a huge string without allocating.
        if data.len() / 4 * 3 > MAX_MEDIA_BYTES + 2 {
            return Err(too_large(&at));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| MediaRefusal::Invalid(format!("{at}.data is not base64: {e}")))?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(too_large(&at));
        }
        let Some(content_type) = sniff::image_type(&bytes) else {
            return Err(MediaRefusal::WrongType(format!(
                "{at}.data is not an image modq takes (its bytes are none of {})",
                sniff::ACCEPTED.join(", ")
            )));
        };
        let id = hex::encode(Sha256::digest(&bytes));
        filled.push(Some((id.clone(), content_type)));
        if !blobs.iter().any(|b| b.id == id) {
            blobs.push(MediaBlob {
                id,
                content_type: content_type.to_string(),
                bytes,
            });
        }
    }
    for (media, fill) in report.subject.media.iter_mut().zip(filled) {
        if let Some((id, content_type)) = fill {
            media.data = None;
            media.id = Some(id);
            media.content_type = Some(content_type.to_string());
        }
    }
    Ok(blobs)
}

fn too_large(at: &str) -> MediaRefusal {
    MediaRefusal::TooLarge(format!(
        "{at}.data is larger than {} bytes once decoded",
        MAX_MEDIA_BYTES
    ))
}

/// Whether the bytes kept as `media_id` may be served as part of `item`.
pub fn may_serve(item: &Item, media_id: &str) -> Result<(), MediaRefusal> {
    let Some(media) = item
        .media
        .iter()
        .find(|m| m.id.as_deref() == Some(media_id))
    else {
        return Err(MediaRefusal::NotListed(format!(
            "item {:?} lists no media with id {media_id:?}",
            item.id
        )));
    };
    match policy::never_shown(item, media) {
        Some(why) => Err(MediaRefusal::NeverShown(format!(
            "this media is never served: viewing it harms ({why})"
        ))),
        None => Ok(()),
    }
}
