-- Media bytes an intake handed over, kept apart from the items that list them: an item's
-- media entry names its bytes by their SHA-256 (`id`), so one image reported twice is
-- stored once. Only `GET /v1/items/{item}/media/{id}` reads them, after the rules allow it.
CREATE TABLE media_blobs (
    id            TEXT PRIMARY KEY,   -- SHA-256 of bytes, lowercase hex
    content_type  TEXT NOT NULL,      -- sniffed from the bytes: image/png|jpeg|gif|webp
    bytes         BLOB NOT NULL,
    created_at    TEXT NOT NULL
);
