//! How values are stored: the forms both engines share (see [`crate::server::stored`]).

pub(super) use crate::server::stored::*;
