//! What a file's first bytes say it is. The server takes an image only when its bytes are
//! one of the four formats modq decodes; a declared type is never trusted.

/// The image formats modq accepts, by their MIME type.
pub const ACCEPTED: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The MIME type the bytes start like, when it is one modq accepts.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_formats_are_known_by_their_bytes_and_nothing_else_is() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(image_type(b"<svg xmlns="), None);
        assert_eq!(image_type(b"\x89PN"), None);
        assert_eq!(image_type(b""), None);
    }
}
