//! The library's integration tests, one crate with a module per subject (one binary to build and
//! link). `tests/allocations.rs` stays a binary of its own: it installs a counting global
//! allocator, which would count every other test's allocations too.
//!
//! Run one subject with `cargo test -p crossguard --test tests policy_table::`.

mod support;

mod accept_key;
mod browser_headers;
mod deflate;
mod explain;
mod hardening;
mod hostile_sizes;
mod layer_service;
mod policy_table;
mod properties;
mod tracing_events;
mod websocket_handshake;
mod websocket_rust_client;
