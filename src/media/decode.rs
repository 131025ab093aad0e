//! Decoding images off the key path: a fixed number of threads take jobs from a bounded
//! queue, decode with pixel and memory limits (a small file may claim to be 60,000 pixels
//! wide), shrink the picture, and encode it for the terminal twice: blurred and greyscale
//! (what is shown first) and as revealed (still greyscale for a graphic category). The
//! escape sequences of kitty, sixel and iTerm2 come from ratatui-image's encoders here, from
//! pixels: nothing an item says reaches them.

use std::io::Cursor;
use std::sync::{Arc, Mutex, mpsc};

use image::{DynamicImage, ImageReader, imageops};
use ratatui::layout::Size;
use ratatui_image::Resize;
use ratatui_image::picker::Picker;
use ratatui_image::protocol::Protocol;

/// Pixels a side at most: a larger image is refused before its pixels are decoded.
pub const MAX_SIDE: u32 = 8192;
/// Bytes a decoder may allocate at most for one image.
pub const MAX_ALLOC: u64 = 128 * 1024 * 1024;
/// The picture is shrunk to fit this many pixels a side before anything else is done.
const THUMBNAIL_SIDE: u32 = 384;
/// Decoding threads: a fixed number, whatever is asked.
pub const THREADS: usize = 2;
/// Jobs waiting at most; past it a job is refused at once (asked again when shown again).
pub const QUEUE: usize = 8;

/// The cells an image takes in the item pane.
pub const CELLS: Size = Size {
    width: 32,
    height: 10,
};

/// One image ready to draw: hidden (blurred, greyscale) and revealed.
pub struct Prepared {
    pub hidden: Protocol,
    pub revealed: Protocol,
    /// Whether the revealed picture is greyscale too (a graphic category).
    pub revealed_grey: bool,
    /// Pixel size of the original.
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("revealed_grey", &self.revealed_grey)
            .finish_non_exhaustive()
    }
}

/// Decode `bytes` within the limits and prepare both pictures with `picker`'s protocol.
pub fn prepare(bytes: &[u8], picker: &Picker, graphic: bool) -> Result<Prepared, String> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read the image: {e}"))?;
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| format!("cannot decode the image: {e}"))?;
    let (width, height) = (image.width(), image.height());
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    drop(image);
    let grey = DynamicImage::ImageLuma8(small.to_luma8());
    // Strong enough that a face or a wound is a shape, not a picture.
    let sigma = (small.width().max(small.height()) as f32 / 24.0).max(2.0);
    let hidden = DynamicImage::ImageLuma8(imageops::fast_blur(&grey.to_luma8(), sigma));
    let revealed = if graphic { grey } else { small };
    let encode = |picture: DynamicImage| {
        picker
            .new_protocol(picture, CELLS, Resize::Fit(None))
            .map_err(|e| format!("cannot draw the image: {e}"))
    };
    Ok(Prepared {
        hidden: encode(hidden)?,
        revealed: encode(revealed)?,
        revealed_grey: graphic,
        width,
        height,
    })
}

/// What a job answers.
pub type Answer = Result<Arc<Prepared>, String>;

struct Job {
    bytes: Vec<u8>,
    picker: Picker,
    graphic: bool,
    answer: tokio::sync::oneshot::Sender<Answer>,
}

/// The decoding threads and their bounded queue. Cloning shares them.
#[derive(Clone)]
pub struct Decoder {
    jobs: mpsc::SyncSender<Job>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoder")
    }
}

impl Decoder {
    /// Start [`THREADS`] threads; they end when the last clone is dropped.
    pub fn start() -> Decoder {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..THREADS {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("modq-decode-{n}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard = queue.lock().unwrap_or_else(|p| p.into_inner());
                            guard.recv()
                        };
                        let Ok(job) = job else { return };
                        let prepared = prepare(&job.bytes, &job.picker, job.graphic).map(Arc::new);
                        let _ = job.answer.send(prepared);
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a decoding thread");
            }
        }
        Decoder { jobs }
    }

    /// Decode `bytes` on a decoding thread; refused at once when the queue is full.
    pub async fn decode(&self, bytes: Vec<u8>, picker: Picker, graphic: bool) -> Answer {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job {
            bytes,
            picker,
            graphic,
            answer,
        };
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => {
                "the image decoder is busy; shown again, it is asked again".to_string()
            }
            mpsc::TrySendError::Disconnected(_) => "the image decoder stopped".to_string(),
        })?;
        answered
            .await
            .map_err(|_| "the image decoder stopped".to_string())?
    }
}
