-- modq server schema, version 2: leases. A lease gives one moderator an item to review
-- undisturbed until `expires_at`; claims skip items leased to someone else. An expired
-- lease is ignored and overwritten by the next claim, so no job cleans them up. Applying a
-- decision deletes the item's lease.

CREATE TABLE leases (
    item_id    TEXT PRIMARY KEY REFERENCES items (id),
    holder     TEXT NOT NULL,     -- token name, never a client-sent name
    expires_at TEXT NOT NULL      -- server clock
);

CREATE INDEX leases_holder ON leases (holder);
