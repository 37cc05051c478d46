//! `Origin` parsing and allowlist matching.
#![no_main]

use crossguard::__internals::{Host, Origin, OriginAllowlist};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(origin) = Origin::parse(data) else {
        return;
    };
    match origin {
        Origin::Null => assert_eq!(data, b"null"),
        Origin::Tuple { scheme, host, .. } => {
            // A parsed origin never carries userinfo, a path, a query or a fragment.
            let authority = &data[scheme.len() + 3..];
            assert!(
                !authority
                    .iter()
                    .any(|b| matches!(b, b'@' | b'/' | b'?' | b'#' | b' '))
            );
            assert!(data.is_ascii());
            if let Host::Name(name) = host {
                assert!(!name.is_empty() && !name.ends_with('.'));
            }
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
                assert!(origin.port().is_some());
            }
            // Its own serialisation, as an allowlist entry, admits it: exactly one entry matches.
            if let Ok(text) = std::str::from_utf8(data) {
                let mut list = OriginAllowlist::new();
                if list.push(text).is_ok() {
                    assert!(list.contains(&origin), "{text} does not admit itself");
                }
            }
        }
        _ => {}
    }
});
