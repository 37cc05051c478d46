//! `Host` / authority parsing and the host allowlist.
#![no_main]

use crossguard::__internals::{Host, HostAllowlist, HostPort, MAX_AUTHORITY_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(authority) = HostPort::parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_AUTHORITY_LEN);
    assert!(!data.contains(&b'@'), "userinfo accepted");
    assert!(data.is_ascii());
    let mut loopback = HostAllowlist::new();
    loopback.push("loopback").unwrap();
    let is_loopback = authority.host().is_loopback();
    assert_eq!(loopback.allows(&authority), is_loopback);
    if let Host::Name(name) = authority.host() {
        // A name that is loopback is localhost or under .localhost, nothing else.
        if is_loopback {
            let lower = name.to_ascii_lowercase();
            assert!(
                lower == "localhost" || lower.ends_with(".localhost"),
                "{name}"
            );
        }
        // The name as an exact entry admits it, with or without its port (`loopback` is the
        // preset's keyword, not a name).
        let mut exact = HostAllowlist::new();
        if !name.eq_ignore_ascii_case("loopback") && exact.push(name).is_ok() {
            assert!(exact.allows(&authority), "{name} does not admit itself");
        }
    }
});
