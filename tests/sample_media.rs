//! The sample queue's images (assets/sample-media.jsonl) are made here, by a small
//! deterministic generator: abstract pictures of a few dozen pixels, PNG, nothing anyone
//! would need to be protected from. The test fails when the file and the generator differ;
//! `MODQ_WRITE_SAMPLE_MEDIA=1 cargo test --test sample_media` writes the file again.

use base64::Engine;
use image::{Rgb, RgbImage};
use serde_json::json;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample-media.jsonl");

fn png(image: &RgbImage) -> String {
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A banner: diagonal stripes in three colours with a bright disc (the spam).
fn banner() -> RgbImage {
    RgbImage::from_fn(96, 64, |x, y| {
        let (dx, dy) = (x as i32 - 70, y as i32 - 32);
        if dx * dx + dy * dy < 18 * 18 {
            return Rgb([250, 220, 40]);
        }
        match ((x + y) / 8) % 3 {
            0 => Rgb([220, 40, 120]),
            1 => Rgb([40, 160, 220]),
            _ => Rgb([250, 250, 250]),
        }
    })
}

/// Dark ground with red smears (the violence: the picture is abstract, the category is not).
fn smears() -> RgbImage {
    RgbImage::from_fn(96, 64, |x, y| {
        let wave = ((x as f32 / 7.0).sin() * 10.0 + 32.0) as u32;
        if y.abs_diff(wave) < 6 || (x / 12 + y / 16) % 5 == 0 {
            Rgb([180, 20 + (x % 30) as u8, 20])
        } else {
            Rgb([30, 25 + (y % 20) as u8, 35])
        }
    })
}

/// A blocky code-like square (the scam's "pay here").
fn blocks() -> RgbImage {
    RgbImage::from_fn(64, 64, |x, y| {
        let (bx, by) = (x / 8, y / 8);
        let on = (bx * 7 + by * 13 + bx * by) % 3 == 0 || bx == 0 || by == 0 || bx == 7;
        if on {
            Rgb([10, 10, 10])
        } else {
            Rgb([245, 245, 235])
        }
    })
}

/// Flat grey: stands for media that is never shown (its bytes are never fetched anyway).
fn flat() -> RgbImage {
    RgbImage::from_pixel(32, 32, Rgb([128, 128, 128]))
}

fn lines() -> String {
    let reports = [
        json!({"subject": {"id": "post-media-901", "kind": "post",
            "text": "WIN the new phone today!! Only 3 left, claim yours at prize-desk.example before midnight",
            "author": {"id": "u-90101", "handle": "@prize_desk", "created_at": "2026-11-20T08:00:00Z"}, "language": "en", "countries": ["DE", "FR"],
            "media": [{"kind": "image", "description": "[image: flashy prize banner]", "data": png(&banner())}]},
            "reporter_type": "trusted_flagger", "category": "spam",
            "comment": "same banner posted 400 times in an hour", "received_at": "2026-11-23T11:58:00Z"}),
        json!({"subject": {"id": "post-media-902", "kind": "post",
            "text": "look what happened outside the stadium last night",
            "author": {"id": "u-90102", "handle": "@night_watch", "created_at": "2019-03-14T17:20:00Z"}, "language": "en", "countries": ["GB"],
            "media": [{"kind": "image", "description": "[image: aftermath of a street fight]", "data": png(&smears())}]},
            "reporter_type": "trusted_flagger", "category": "violence",
            "comment": "graphic injury, no warning screen", "received_at": "2026-11-23T11:57:00Z"}),
        json!({"subject": {"id": "post-media-903", "kind": "post",
            "text": "Your parcel is held at customs. Scan the code and pay the 2,99 EUR fee to release it.",
            "author": {"id": "u-90103", "handle": "@parcel_help", "created_at": "2026-11-22T21:05:00Z"}, "language": "en", "countries": ["NL"],
            "media": [{"kind": "image", "description": "[image: payment code]", "data": png(&blocks())}]},
            "reporter_type": "trusted_flagger", "category": "scam",
            "comment": "phishing wave, the code leads to a fake bank page", "received_at": "2026-11-23T11:56:00Z"}),
        json!({"subject": {"id": "post-media-904", "kind": "post",
            "text": "(content withheld)",
            "author": {"id": "u-90104", "handle": "@withheld", "created_at": "2024-06-02T10:00:00Z"}, "language": "en", "countries": ["US"],
            "media": [{"kind": "image", "description": "[image: matched a known-hash list]", "hash_match": "csam-hashlist", "data": png(&flat())}]},
            "reporter_type": "automated", "category": "child_safety",
            "comment": "hash match; report to the hotline", "received_at": "2026-11-23T11:55:00Z"}),
    ];
    // Each also flagged by a classifier and a user, in the urgent lane: the demo opens on them.
    let mut lines = String::new();
    for r in &reports {
        let mut first = r.clone();
        first["lane"] = json!("urgent");
        lines.push_str(&format!("{}\n", serde_json::to_string(&first).unwrap()));
        for (reporter, minutes) in [("automated", 1), ("user", 2)] {
            let mut more = json!({
                "subject": {"id": r["subject"]["id"], "kind": "post"},
                "reporter_type": reporter,
                "category": r["category"],
                "received_at": r["received_at"],
            });
            let at = r["received_at"]
                .as_str()
                .unwrap()
                .replace(":00Z", &format!(":{minutes:02}Z"));
            more["received_at"] = json!(at);
            lines.push_str(&format!("{}\n", serde_json::to_string(&more).unwrap()));
        }
    }
    lines
}

#[test]
fn the_sample_media_are_what_the_generator_makes() {
    let made = lines();
    if std::env::var_os("MODQ_WRITE_SAMPLE_MEDIA").is_some() {
        std::fs::write(PATH, &made).unwrap();
    }
    let shipped = std::fs::read_to_string(PATH).unwrap();
    assert_eq!(
        shipped, made,
        "assets/sample-media.jsonl differs from its generator: \
         MODQ_WRITE_SAMPLE_MEDIA=1 cargo test --test sample_media"
    );
    // Small: the four images together stay under 16 KiB of base64.
    assert!(shipped.len() < 16 * 1024, "{} bytes", shipped.len());
}
