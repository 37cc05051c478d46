//! The proxy's framing follower against hyper: the same bytes, as one client connection, go to
//! hyper's HTTP/1 server through the follower; every request hyper serves must be the head the
//! follower recorded next. A disagreement is how request smuggling past the `400
//! ambiguous_framing` check would start.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The head cap the proxy gives hyper (`cli/src/serve.rs`).
const MAX_HEAD: usize = 64 * 1024;

#[path = "../../cli/src/serve/framing.rs"]
#[allow(dead_code, unreachable_pub)]
mod framing;

fuzz_target!(|data: &[u8]| {
    if let Err(disagreement) = framing::differential(data) {
        panic!("{disagreement}: {:?}", String::from_utf8_lossy(data));
    }
});
