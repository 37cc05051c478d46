//! Stateless protection against cross-site attacks for HTTP services.
//!
//! crossguard decides from a request's head alone whether it may reach a service. It stops:
//!
//! - **CSRF**: a page on another site POSTs to your service (`Sec-Fetch-Site`, else `Origin`
//!   against the request's host);
//! - **cross-site WebSocket hijacking**: a page on another site opens your WebSocket and reads it
//!   (the handshake's `Origin` is always checked, although it is a GET);
//! - **DNS rebinding**: another site's name is pointed at `127.0.0.1` (a Host allowlist);
//! - **cross-site resource inclusion** (opt-in resource isolation with `Sec-Fetch-Mode`/`-Dest`);
//! - **malformed WebSocket handshakes** (strict RFC 6455 / RFC 8441 / RFC 7692 validation, with
//!   the `Sec-WebSocket-Accept` key and permessage-deflate negotiated for you).
//!
//! No tokens, cookies or state. Use it as a Tower layer ([`GuardLayer`], feature `tower`, on by
//! default) in front of axum or hyper services, or call [`Policy::check`] and
//! [`websocket::verify`] from anything else; [`Policy::explain`] says what each check saw.
//!
//! # Quick start
//!
//! ```
//! use axum::{Router, routing::post};
//! use crossguard::{GuardLayer, Policy};
//!
//! # fn main() -> Result<(), crossguard::ConfigError> {
//! let policy = Policy::local() // loopback Host allowlist + resource isolation
//!     .allow_origin("https://trusted.example")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/api/prompt", post(|| async { "queued" }))
//!     .layer(GuardLayer::new(policy));
//! # Ok(()) }
//! ```
//!
//! The policy and its reason codes are documented in `docs/policy.md`, the threat model in
//! `docs/threat-model.md`, the WebSocket checks in `docs/websocket.md`.
//!
//! # Features
//!
//! - `tower` (default): [`GuardLayer`] and [`Guard`].
//! - `tracing`: a `tracing` event (target `crossguard`) per rejection and report-only finding.
//! - `hyper`: read hyper's HTTP/2 `:protocol` extension, so RFC 8441 WebSocket handshakes are
//!   recognised.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authority;
mod config_error;
pub mod explain;
mod fetch;
mod fields;
mod head;
mod policy;
mod rejection;
mod rule;
mod verdict;
pub mod websocket;

#[cfg(feature = "tower")]
pub mod layer;

pub use config_error::{ConfigError, DeflateMistake, HostMistake, OriginMistake, ProtocolMistake};
pub use head::RequestHead;
pub use policy::{Explanation, Policy, PolicyBuilder, Preset};
pub use rejection::{Field, Rejection};
pub use rule::Rule;
pub use verdict::Verdict;

#[cfg(feature = "tower")]
pub use layer::{Guard, GuardLayer};

/// Parsers and limits the fuzz targets and the integration tests drive directly. Not part of the
/// public API: no promise of stability is made for anything in here.
#[doc(hidden)]
pub mod __internals {
    pub use crate::authority::{Host, HostPort, MAX_AUTHORITY_LEN, MAX_HOST_LEN};
    pub use crate::fetch::MAX_FETCH_METADATA_LEN;
    pub use crate::policy::{HostAllowlist, MAX_ORIGIN_LEN, Origin, OriginAllowlist};
    pub use crate::websocket::internals::{
        MAX_EXTENSION_PARAMS, MAX_EXTENSIONS, MAX_EXTENSIONS_HEADER_LEN, MAX_PROTOCOL_HEADER_LEN,
        MAX_PROTOCOLS, PERMESSAGE_DEFLATE, WEBSOCKET_GUID,
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
