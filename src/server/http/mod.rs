//! The HTTP face of the server: handlers and what serves them (authentication, limits,
//! errors, the OpenAPI document and the request schemas from it, connections). It sees
//! storage only as `dyn Storage`.

pub mod appeals;
pub mod audit;
pub mod auth;
pub mod coalesce;
pub mod connections;
pub mod error;
pub mod handlers;
pub mod limits;
pub mod messages;
pub mod openapi;
pub mod request_schema;
