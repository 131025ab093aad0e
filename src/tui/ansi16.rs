//! Colour codes a 16-colour terminal understands. crossterm writes every colour, the 16 ANSI
//! ones included, as a 256-colour index (`ESC[38;5;9m` for light red), which terminals
//! without 256 colours show wrongly or not at all. This writer sits between crossterm and the
//! terminal and turns an index below 16 into the SGR code made for it (`ESC[91m`); on every
//! terminal that has 256 colours the two mean the same, so it is always on, whatever theme.
//! ratatui also resets the underline colour (`ESC[59m`, a code 16-colour terminals do not
//! know); modq never sets one, so that code is dropped. Everything else passes through.

use std::io::{self, Write};

use ratatui::backend::CrosstermBackend;

use super::gap_fill::GapFill;

/// What the TUI draws through: ratatui's crossterm backend, `GapFill` and this writer.
pub type ScreenBackend<W> = GapFill<CrosstermBackend<Sgr16<W>>>;

/// The backend the TUI writes to `out` with; tests build theirs here too.
pub fn screen_backend<W: Write>(out: W) -> ScreenBackend<W> {
    GapFill::new(CrosstermBackend::new(Sgr16::new(out)))
}

/// Longest escape sequence held back while it is incomplete; crossterm's SGR sequences are
/// far shorter, and anything longer passes through as it came.
const MAX_HELD: usize = 64;

const ESC: u8 = 0x1b;

/// Rewrites `38;5;N` and `48;5;N` with `N` below 16 in SGR sequences; see the module's note.
pub struct Sgr16<W> {
    inner: W,
    /// An escape sequence begun but not yet ended: crossterm writes one in several pieces.
    held: Vec<u8>,
}

impl<W: Write> Sgr16<W> {
    pub fn new(inner: W) -> Sgr16<W> {
        Sgr16 {
            inner,
            held: Vec::new(),
        }
    }

    /// Feed one byte; what can be written already goes to `out`.
    fn feed(&mut self, byte: u8, out: &mut Vec<u8>) {
        if self.held.is_empty() {
            if byte == ESC {
                self.held.push(byte);
            } else {
                out.push(byte);
            }
            return;
        }
        self.held.push(byte);
        let csi = self.held.get(1) == Some(&b'[');
        let done = match self.held.len() {
            2 => !csi,
            _ => !(0x20..=0x3f).contains(&byte),
        };
        if done || self.held.len() > MAX_HELD {
            let sequence = std::mem::take(&mut self.held);
            match sgr_params(&sequence).filter(|_| done).map(rewrite) {
                // Only a dropped code was in it: nothing to send. An empty `ESC[m` would be a
                // reset of every attribute.
                Some(params) if params.is_empty() => {}
                Some(params) => {
                    out.extend_from_slice(b"\x1b[");
                    out.extend_from_slice(params.as_bytes());
                    out.push(b'm');
                }
                None => out.extend_from_slice(&sequence),
            }
        }
    }
}

/// The parameters of `ESC [ params m`, when that is what `sequence` is.
fn sgr_params(sequence: &[u8]) -> Option<&str> {
    let params = sequence.strip_prefix(b"\x1b[")?.strip_suffix(b"m")?;
    params
        .iter()
        .all(|b| b.is_ascii_digit() || *b == b';')
        .then(|| std::str::from_utf8(params).ok())
        .flatten()
}

/// `38;5;9;48;5;4` → `91;44`; true colour (`38;2;r;g;b`) and higher indexes stay; `59`
/// goes. A bare reset (no parameters) becomes the explicit `0` it means, so that only a list
/// emptied by dropping `59` comes back empty.
fn rewrite(params: &str) -> String {
    if params.is_empty() {
        return "0".into();
    }
    let list: Vec<&str> = params.split(';').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&p) = list.get(i) {
        let index = match (p, list.get(i + 1), list.get(i + 2)) {
            ("38" | "48", Some(&"5"), Some(n)) => n.parse::<u8>().ok().filter(|n| *n < 16),
            _ => None,
        };
        match index {
            Some(n) => {
                let base: u8 = match (p == "38", n < 8) {
                    (true, true) => 30,
                    (true, false) => 90 - 8,
                    (false, true) => 40,
                    (false, false) => 100 - 8,
                };
                out.push((base + n).to_string());
                i += 3;
            }
            None => {
                // `38;2;r;g;b` and `38;5;N` are copied whole, so their numbers are not read
                // as codes of their own.
                let take = match (p, list.get(i + 1)) {
                    ("59", _) => {
                        i += 1;
                        continue;
                    }
                    ("38" | "48" | "58", Some(&"2")) => 5,
                    ("38" | "48" | "58", Some(&"5")) => 3,
                    _ => 1,
                };
                out.extend(list.iter().skip(i).take(take).map(|s| s.to_string()));
                i += take;
            }
        }
    }
    out.join(";")
}

impl<W: Write> Write for Sgr16<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            self.feed(b, &mut out);
        }
        self.inner.write_all(&out)?;
        Ok(bytes.len())
    }

    /// A sequence still incomplete at a flush goes out as it is: a flush means "show it now".
    fn flush(&mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        self.inner.write_all(&held)?;
        self.inner.flush()
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> String {
        let mut w = Sgr16::new(Vec::new());
        for p in pieces {
            w.write_all(p).unwrap();
        }
        w.flush().unwrap();
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn indexes_below_16_become_16_colour_codes_even_when_written_in_pieces() {
        assert_eq!(through(&[b"\x1b[38;5;9m"]), "\x1b[91m");
        assert_eq!(
            through(&[b"\x1b[", b"38;", b"5;1", b"m", b"x"]),
            "\x1b[31mx"
        );
        assert_eq!(through(&[b"\x1b[38;5;9;48;5;4m"]), "\x1b[91;44m");
        assert_eq!(through(&[b"\x1b[48;5;15m"]), "\x1b[107m");
        assert_eq!(through(&[b"\x1b[1;38;5;0m"]), "\x1b[1;30m");
        assert_eq!(
            through(&[b"a\x1b[59mb"]),
            "ab",
            "no underline colour, no bare reset"
        );
        assert_eq!(through(&[b"\x1b[4;59m"]), "\x1b[4m");
    }

    #[test]
    fn everything_else_passes_unchanged() {
        for s in [
            "\x1b[38;5;110m",
            "\x1b[38;2;5;5;5m",
            "\x1b[0m",
            "\x1b[12;40H",
            "\x1b[?25l",
            "\x1b]52;c;aGk=\x07",
            "plain ␛ text ▶",
            "\x1b",
        ] {
            assert_eq!(through(&[s.as_bytes()]), s, "{s:?}");
        }
        // A bare reset is written as the explicit one it means.
        assert_eq!(through(&[b"\x1b[m"]), "\x1b[0m");
        let long = format!("\x1b[{}m", "1;".repeat(40));
        assert_eq!(through(&[long.as_bytes()]), long);
    }
}
