//! `Sec-WebSocket-Protocol` selection.
#![no_main]

use crossguard::websocket::select_protocol;
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use oracles::field_lines;

fuzz_target!(|data: &[u8]| {
    let supported = [
        HeaderValue::from_static("graphql-transport-ws"),
        HeaderValue::from_static("chat"),
        HeaderValue::from_static("v1.json"),
    ];
    let lines = field_lines(data);
    let Ok(chosen) = select_protocol(&lines, &supported) else {
        return;
    };
    let Some(chosen) = chosen else { return };
    // The chosen name is the server's, and the client offered it as a whole list element.
    assert!(supported.contains(chosen));
    let offered = lines
        .iter()
        .flat_map(|l| l.as_bytes().split(|&b| b == b','))
        .any(|e| e.trim_ascii() == chosen.as_bytes());
    assert!(offered);
    // And it is the server's most preferred name among those offered.
    let first = supported
        .iter()
        .position(|s| s == chosen)
        .unwrap_or(usize::MAX);
    for better in &supported[..first] {
        assert!(
            !lines
                .iter()
                .flat_map(|l| l.as_bytes().split(|&b| b == b','))
                .any(|e| e.trim_ascii() == better.as_bytes())
        );
    }
});
