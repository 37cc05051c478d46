//! `Sec-WebSocket-Key` validation and `Sec-WebSocket-Accept`.
#![no_main]

use crossguard::websocket::{accept_key, is_valid_key};
use libfuzzer_sys::fuzz_target;

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fuzz_target!(|data: &[u8]| {
    let accept = accept_key(data);
    let text = accept.as_str();
    assert_eq!(text.len(), 28);
    assert!(text.ends_with('='));
    assert!(text.bytes().take(27).all(|b| B64.contains(&b)));
    assert_eq!(accept, accept_key(data), "deterministic");
    if is_valid_key(data) {
        assert_eq!(data.len(), 24);
        assert!(data.ends_with(b"=="));
        assert!(data[..22].iter().all(|b| B64.contains(b)));
    }
});
