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

/// Why a job was refused at once: the queue was full.
pub const BUSY: &str = "the image decoder is busy; shown again, it is asked again";

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
            mpsc::TrySendError::Full(_) => BUSY.to_string(),
            mpsc::TrySendError::Disconnected(_) => "the image decoder stopped".to_string(),
        })?;
        answered
            .await
            .map_err(|_| "the image decoder stopped".to_string())?
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 9) as u8, (y * 5) as u8, 200])
        });
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap();
        bytes
    }

    /// CRC-32 as PNG chunks carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A real PNG whose header claims `width`x`height`: a few hundred bytes that would
    /// decode to gigabytes.
    fn bomb(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        // Signature (8), then the IHDR chunk: length (4), type (4), width, height, …
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn an_image_is_prepared_hidden_grey_and_revealed_in_colour_unless_graphic() {
        let picker = Picker::halfblocks();
        let prepared = prepare(&png(300, 200), &picker, false).unwrap();
        assert_eq!((prepared.width, prepared.height), (300, 200));
        assert!(!prepared.revealed_grey);
        assert!(
            prepare(&png(300, 200), &picker, true)
                .unwrap()
                .revealed_grey
        );
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_its_pixels_are_decoded() {
        let picker = Picker::halfblocks();
        let bytes = bomb(60_000, 60_000);
        assert!(bytes.len() < 200);
        let error = prepare(&bytes, &picker, false).unwrap_err();
        assert!(error.contains("limit"), "{error}");
        // Within the side limit but past the allocation limit: refused too.
        let error = prepare(&bomb(8000, 8000), &picker, false).unwrap_err();
        assert!(error.contains("limit"), "{error}");
        // Garbage is an error, never a panic.
        assert!(prepare(b"\x89PNG\r\n\x1a\nnot really", &picker, false).is_err());
        assert!(prepare(b"", &picker, false).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_decoder_answers_and_refuses_past_its_queue_instead_of_waiting() {
        let decoder = Decoder::start();
        let answer = decoder
            .decode(png(64, 64), Picker::halfblocks(), false)
            .await;
        assert!(answer.is_ok());
        // Many at once: each answered, decoded or refused as busy; none waits for room.
        let jobs: Vec<_> = (0..40)
            .map(|_| {
                let decoder = decoder.clone();
                tokio::spawn(async move {
                    decoder
                        .decode(png(256, 256), Picker::halfblocks(), false)
                        .await
                })
            })
            .collect();
        let mut done = 0;
        for job in jobs {
            match job.await.unwrap() {
                Ok(_) => done += 1,
                Err(why) => assert!(why.contains("busy"), "{why}"),
            }
        }
        assert!(done >= 1);
    }
}
