//! Images attached to items, handled safely: which media may be looked at at all and which
//! stay greyscale (`policy`, shared by the server and the client), what bytes are taken
//! (`sniff`), the bounded decoding off the key path (`decode`), and the memory-only cache of
//! what was fetched (`cache`). Nothing here writes to disk.

pub mod cache;
pub mod decode;
pub mod policy;
pub mod protocol;
pub mod sniff;
