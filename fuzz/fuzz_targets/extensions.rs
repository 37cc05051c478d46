//! `Sec-WebSocket-Extensions` parsing and permessage-deflate negotiation.
#![no_main]

use crossguard::websocket::{DeflateConfig, negotiate_deflate};
use libfuzzer_sys::fuzz_target;
use oracles::{field_lines, parse_deflate_answer};

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, header)) = data.split_first() else {
        return;
    };
    let lines = field_lines(header);
    let config = DeflateConfig::default()
        .server_max_window_bits(9 + (knobs & 0x07).min(6))
        .client_max_window_bits(8 + ((knobs >> 3) & 0x07))
        .server_no_context_takeover(knobs & 0x40 != 0)
        .client_no_context_takeover(knobs & 0x80 != 0);
    assert!(config.validate().is_ok());
    let grammar_only = negotiate_deflate(&lines, None);
    let Ok(answer) = negotiate_deflate(&lines, Some(&config)) else {
        assert!(
            grammar_only.is_err(),
            "grammar verdict depends on the configuration"
        );
        return;
    };
    assert_eq!(grammar_only, Ok(None));
    let Some(params) = answer else { return };
    let text = params.to_string();
    let parsed = parse_deflate_answer(&text).unwrap_or_else(|e| panic!("{e}"));
    let offered = String::from_utf8_lossy(header).to_ascii_lowercase();
    // Never a client window the client did not say it can limit, never above the configuration.
    if let Some(bits) = parsed.client_max_window_bits {
        assert!(
            offered.contains("client_max_window_bits"),
            "{text} for {offered}"
        );
        assert!(bits <= 8 + ((knobs >> 3) & 0x07));
    }
    if let Some(bits) = parsed.server_max_window_bits {
        assert!(bits <= 9 + (knobs & 0x07).min(6));
    }
    // What the configuration forces is always answered.
    assert!(!(knobs & 0x40 != 0 && !parsed.server_no_context_takeover));
    assert!(!(knobs & 0x80 != 0 && !parsed.client_no_context_takeover));
    assert_eq!(
        params.server_no_context_takeover(),
        parsed.server_no_context_takeover
    );
    assert_eq!(
        params.client_no_context_takeover(),
        parsed.client_no_context_takeover
    );
    assert!(offered.contains("permessage-deflate"));
});
