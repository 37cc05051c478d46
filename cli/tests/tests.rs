//! The command's tests, one crate with a module per subcommand (one binary to build and link),
//! all driving the real `crossguard` binary through one harness (`support`).
//!
//! Run one subject with `cargo test -p crossguard-cli --test tests forward_auth::`.

mod support;

mod cli;
mod forward_auth;
mod forward_auth_docs;
mod proxy;
mod proxy_hostile;
mod proxy_websocket;
mod run;
