//! permessage-deflate negotiation (RFC 7692 §7) over the `Sec-WebSocket-Extensions` grammar
//! (RFC 6455 §9.1), through the public `negotiate_deflate`.
//!
//! The property tests compare the crate with an independent oracle written below: a
//! split-based parser of the RFC 6455 §9.1 grammar, an acceptability predicate for offers, and
//! the RFC 7692 §7 rules every response must obey.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support::Negotiated::{Accept, Decline, Malformed};
use crate::support::{DeflateRow, check_deflate};
use crossguard::__internals::{MAX_EXTENSION_PARAMS, MAX_EXTENSIONS, MAX_EXTENSIONS_HEADER_LEN};
use crossguard::Rejection;
use crossguard::websocket::{DeflateConfig, DeflateParams, negotiate_deflate};
use http::HeaderValue;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Table tests
// ---------------------------------------------------------------------------------------------

fn def() -> Option<DeflateConfig> {
    Some(DeflateConfig::default())
}

#[test]
fn basic_offers() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("RFC 7692 §7: an offer without parameters", "permessage-deflate", def(), Accept("permessage-deflate")),
        ("peer: Chrome sends `permessage-deflate; client_max_window_bits`; RFC 7692 §7.1.2.2 lets the server omit it in the answer", "permessage-deflate; client_max_window_bits", def(), Accept("permessage-deflate")),
        ("peer: Firefox sends `permessage-deflate` alone", "permessage-deflate", def(), Accept("permessage-deflate")),
        ("RFC 7692 §7.1.1.1: server_no_context_takeover offered must be answered", "permessage-deflate; server_no_context_takeover", def(), Accept("permessage-deflate; server_no_context_takeover")),
        ("RFC 7692 §7.1.1.2: client_no_context_takeover offered, server may echo it", "permessage-deflate; client_no_context_takeover", def(), Accept("permessage-deflate; client_no_context_takeover")),
        ("RFC 7692 §7.1: all four parameters, in an unusual order", "permessage-deflate; client_max_window_bits=12; server_max_window_bits=11; client_no_context_takeover; server_no_context_takeover", def(), Accept("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12")),
        ("RFC 9110 §5.6.3: OWS (SP and HTAB) around `;` and `,`", " permessage-deflate \t;\tserver_no_context_takeover ;  client_max_window_bits ", def(), Accept("permessage-deflate; server_no_context_takeover")),
        ("RFC 6455 §9.1: no extension offered", "x-unknown", def(), Decline),
        ("RFC 6455 §9.1: an unknown extension with parameters, then nothing else", "foo; bar=baz; qux=\"quux\"", def(), Decline),
        ("RFC 6455 §9.1: an unknown extension listed before deflate (peer: old Safari x-webkit-deflate-frame)", "x-webkit-deflate-frame, permessage-deflate", def(), Accept("permessage-deflate")),
        ("RFC 6455 §9.1: an unknown extension with parameters before deflate", "foo; bar=baz, permessage-deflate; client_max_window_bits=9", def(), Accept("permessage-deflate; client_max_window_bits=9")),
        ("RFC 7692 §4: a name that merely starts with permessage-deflate is another extension", "permessage-deflate-x", def(), Decline),
    ];
    check_deflate(rows, check_accessors);
}

#[test]
fn fallback_and_declined_offers() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("RFC 7692 §5.1: offers are tried in order; an unacceptable first offer falls back to the second", "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_no_context_takeover", def(), Accept("permessage-deflate; client_no_context_takeover")),
        ("RFC 7692 §5.1: the first acceptable offer wins, not the best one", "permessage-deflate; server_max_window_bits=10, permessage-deflate", def(), Accept("permessage-deflate; server_max_window_bits=10")),
        ("RFC 7692 §5.1: unknown parameter declines that offer only", "permessage-deflate; foo, permessage-deflate; server_max_window_bits=12", def(), Accept("permessage-deflate; server_max_window_bits=12")),
        ("RFC 7692 §7: an unknown parameter declines the offer", "permessage-deflate; foo", def(), Decline),
        ("RFC 7692 §7: duplicated server_no_context_takeover declines", "permessage-deflate; server_no_context_takeover; server_no_context_takeover", def(), Decline),
        ("RFC 7692 §7: duplicated client_no_context_takeover declines", "permessage-deflate; client_no_context_takeover; client_no_context_takeover", def(), Decline),
        ("RFC 7692 §7: duplicated server_max_window_bits declines (even if equal)", "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", def(), Decline),
        ("RFC 7692 §7: duplicated client_max_window_bits declines (flag + value)", "permessage-deflate; client_max_window_bits; client_max_window_bits=10", def(), Decline),
        ("RFC 7692 §7.1.1.1: server_no_context_takeover has no value", "permessage-deflate; server_no_context_takeover=1", def(), Decline),
        ("RFC 7692 §7.1.1.2: client_no_context_takeover has no value", "permessage-deflate; client_no_context_takeover=\"x\"", def(), Decline),
        ("RFC 7692 §7: every offer declined", "permessage-deflate; a, permessage-deflate; server_max_window_bits=16", def(), Decline),
    ];
    check_deflate(rows, check_accessors);
}

#[test]
fn window_bits_values() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("RFC 7692 §7.1.2.1: server_max_window_bits below 8", "permessage-deflate; server_max_window_bits=7", def(), Decline),
        ("RFC 7692 §7.1.2.1: server_max_window_bits above 15", "permessage-deflate; server_max_window_bits=16", def(), Decline),
        ("RFC 7692 §7.1.2.1: no leading zeroes", "permessage-deflate; server_max_window_bits=08", def(), Decline),
        ("RFC 7692 §7.1.2.1: no leading zeroes (010)", "permessage-deflate; server_max_window_bits=010", def(), Decline),
        ("RFC 7692 §7.1.2.1: a decimal integer, no sign", "permessage-deflate; server_max_window_bits=+9", def(), Decline),
        ("RFC 7692 §7.1.2.1: not hexadecimal", "permessage-deflate; server_max_window_bits=0xA", def(), Decline),
        ("RFC 7692 §7.1.2.1: server_max_window_bits needs a value", "permessage-deflate; server_max_window_bits", def(), Decline),
        ("RFC 7692 §7.1.2.1 + RFC 6455 §9.1: quoted-string value \"10\"", "permessage-deflate; server_max_window_bits=\"10\"", def(), Accept("permessage-deflate; server_max_window_bits=10")),
        ("RFC 7692 §7.1.2.2 + RFC 6455 §9.1: quoted-string value \"9\"", "permessage-deflate; client_max_window_bits=\"9\"", def(), Accept("permessage-deflate; client_max_window_bits=9")),
        ("RFC 7692 §7.1.2.2: quoted-string \"08\" is still a leading zero", "permessage-deflate; client_max_window_bits=\"08\"", def(), Decline),
        ("RFC 6455 §9.1 says `\"1\\0\"` unescapes to 10; the crate declines escaped values, which RFC 7692 §5 permits (a server may decline any offer)", "permessage-deflate; client_max_window_bits=\"1\\0\"", def(), Decline),
        ("RFC 7692 §7.1.2.1: server_max_window_bits=15 offered is answered", "permessage-deflate; server_max_window_bits=15", def(), Accept("permessage-deflate; server_max_window_bits=15")),
        ("RFC 7692 §7.1.2.1: server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", def(), Accept("permessage-deflate; server_max_window_bits=9")),
        ("RFC 7692 §7.1.2.2: client_max_window_bits without a value", "permessage-deflate; client_max_window_bits", def(), Accept("permessage-deflate")),
        ("RFC 7692 §7.1.2.2: client_max_window_bits=10 offered, answered with ≤ 10", "permessage-deflate; client_max_window_bits=10", def(), Accept("permessage-deflate; client_max_window_bits=10")),
        ("RFC 7692 §7.1.2.2: client_max_window_bits=8 (the client's window, not zlib's deflate)", "permessage-deflate; client_max_window_bits=8", def(), Accept("permessage-deflate; client_max_window_bits=8")),
        ("RFC 7692 §7.1.2.2: client_max_window_bits=16", "permessage-deflate; client_max_window_bits=16", def(), Decline),
        ("RFC 7692 §7.1.2.2: client_max_window_bits=7", "permessage-deflate; client_max_window_bits=7", def(), Decline),
        ("DeflateConfig::accept_server_window_bits_8 doc: zlib cannot deflate with an 8-bit window, so 8 is declined by default", "permessage-deflate; server_max_window_bits=8", def(), Decline),
        ("DeflateConfig::accept_server_window_bits_8(true): server_max_window_bits=8 accepted", "permessage-deflate; server_max_window_bits=8", Some(DeflateConfig::default().accept_server_window_bits_8(true)), Accept("permessage-deflate; server_max_window_bits=8")),
        ("RFC 7692 §5.1: server_max_window_bits=8 declined, second offer accepted", "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9", def(), Accept("permessage-deflate; server_max_window_bits=9")),
    ];
    check_deflate(rows, check_accessors);
}

#[test]
fn server_config_stricter_than_offer() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("RFC 7692 §7.1.2.1: server answers a smaller server_max_window_bits than offered", "permessage-deflate; server_max_window_bits=12", Some(DeflateConfig::default().server_max_window_bits(10)), Accept("permessage-deflate; server_max_window_bits=10")),
        ("RFC 7692 §7.1.2.1: server uses the offer's smaller value", "permessage-deflate; server_max_window_bits=9", Some(DeflateConfig::default().server_max_window_bits(10)), Accept("permessage-deflate; server_max_window_bits=9")),
        ("RFC 7692 §7.1.2.1: server may add server_max_window_bits even if not offered", "permessage-deflate", Some(DeflateConfig::default().server_max_window_bits(10)), Accept("permessage-deflate; server_max_window_bits=10")),
        ("RFC 7692 §7.1.2.2: without client_max_window_bits in the offer the server cannot limit the client's window: declined", "permessage-deflate", Some(DeflateConfig::default().client_max_window_bits(10)), Decline),
        ("RFC 7692 §7.1.2.2: client_max_window_bits without a value lets the server pick", "permessage-deflate; client_max_window_bits", Some(DeflateConfig::default().client_max_window_bits(10)), Accept("permessage-deflate; client_max_window_bits=10")),
        ("RFC 7692 §7.1.2.2: the server answers min(config, offered)", "permessage-deflate; client_max_window_bits=12", Some(DeflateConfig::default().client_max_window_bits(10)), Accept("permessage-deflate; client_max_window_bits=10")),
        ("RFC 7692 §7.1.2.2: the offer's smaller value stands", "permessage-deflate; client_max_window_bits=9", Some(DeflateConfig::default().client_max_window_bits(10)), Accept("permessage-deflate; client_max_window_bits=9")),
        ("RFC 7692 §5.1: config declines the first offer (no client bits), accepts the second", "permessage-deflate, permessage-deflate; client_max_window_bits", Some(DeflateConfig::default().client_max_window_bits(11)), Accept("permessage-deflate; client_max_window_bits=11")),
        ("RFC 7692 §7.1.1.1: server may add server_no_context_takeover", "permessage-deflate", Some(DeflateConfig::default().server_no_context_takeover(true)), Accept("permessage-deflate; server_no_context_takeover")),
        ("RFC 7692 §7.1.1.2: server may add client_no_context_takeover", "permessage-deflate", Some(DeflateConfig::default().client_no_context_takeover(true)), Accept("permessage-deflate; client_no_context_takeover")),
        ("RFC 7692 §7.1.1.1: config flag and offered flag are not doubled", "permessage-deflate; server_no_context_takeover", Some(DeflateConfig::default().server_no_context_takeover(true)), Accept("permessage-deflate; server_no_context_takeover")),
        ("RFC 7692 §7: everything at once", "permessage-deflate; client_max_window_bits", Some(DeflateConfig::default().server_max_window_bits(9).client_max_window_bits(8).server_no_context_takeover(true).client_no_context_takeover(true)), Accept("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8")),
        ("DeflateConfig::accept_server_window_bits_8: a config of 8 answers 8 unasked", "permessage-deflate", Some(DeflateConfig::default().accept_server_window_bits_8(true).server_max_window_bits(8)), Accept("permessage-deflate; server_max_window_bits=8")),
    ];
    check_deflate(rows, check_accessors);
}

#[test]
fn malformed_grammar() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("RFC 6455 §9.1: `;` must be followed by a parameter", "permessage-deflate;", def(), Malformed),
        ("RFC 6455 §9.1: an element must start with a token", ";", def(), Malformed),
        ("RFC 6455 §9.1: `;;`", "permessage-deflate;; client_max_window_bits", def(), Malformed),
        ("RFC 6455 §9.1: `=` needs a value", "permessage-deflate; a=", def(), Malformed),
        ("RFC 6455 §9.1: a parameter needs a name (crate doc example)", "permessage-deflate; =15", def(), Malformed),
        ("RFC 9110 §5.6.4: unterminated quoted-string", "permessage-deflate; a=\"b", def(), Malformed),
        ("RFC 6455 §9.1: a quoted value must unescape to a token (space)", "permessage-deflate; a=\"b c\"", def(), Malformed),
        ("RFC 6455 §9.1: a quoted value must unescape to a token (empty)", "permessage-deflate; a=\"\"", def(), Malformed),
        ("RFC 6455 §9.1: a quoted value must unescape to a token (escaped quote)", "permessage-deflate; a=\"b\\\"\"", def(), Malformed),
        ("RFC 6455 §9.1: junk after a quoted value", "permessage-deflate; a=\"b\"c", def(), Malformed),
        ("RFC 6455 §9.1: two tokens without a separator", "permessage-deflate x", def(), Malformed),
        ("RFC 6455 §9.1: extension-token is a token, not a quoted-string", "\"permessage-deflate\"", def(), Malformed),
        ("RFC 6455 §9.1: a later malformed element rejects even after an accepted offer", "permessage-deflate, x;", def(), Malformed),
        ("RFC 6455 §9.1: `/` is not a tchar", "permessage/deflate", def(), Malformed),
    ];
    check_deflate(rows, check_accessors);
}

#[test]
fn empty_elements_and_multiple_lines() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&[&str]>] = &[
        ("RFC 9110 §5.6.1: recipients accept empty list elements", &[", permessage-deflate ,,"], def(), Accept("permessage-deflate")),
        ("RFC 9110 §5.6.1: a list of only empty elements", &[" , ,"], def(), Decline),
        ("RFC 9110 §5.6.1: an empty field value", &[""], def(), Decline),
        ("RFC 9110 §5.3: field lines combine into one list", &["x-foo", "permessage-deflate; client_max_window_bits=11"], def(), Accept("permessage-deflate; client_max_window_bits=11")),
        ("RFC 9110 §5.3 + RFC 7692 §5.1: fallback across field lines", &["permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits=11"], def(), Accept("permessage-deflate; server_max_window_bits=11")),
        ("RFC 9110 §5.3: the first line's offer wins", &["permessage-deflate; server_no_context_takeover", "permessage-deflate"], def(), Accept("permessage-deflate; server_no_context_takeover")),
        ("RFC 6455 §9.1: a malformed second line rejects the handshake", &["permessage-deflate", "permessage-deflate; a=\"b"], def(), Malformed),
        ("RFC 9110 §5.3: an element does not continue across lines", &["permessage-deflate", "; server_no_context_takeover"], def(), Malformed),
    ];
    check_deflate(rows, check_accessors);
}

#[test]
fn no_config_checks_grammar_only() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("negotiate_deflate doc: `None` config declines compression", "permessage-deflate", None, Decline),
        ("negotiate_deflate doc: `None` config declines, Chrome's offer", "permessage-deflate; client_max_window_bits", None, Decline),
        ("negotiate_deflate doc: `None` config still checks the grammar", "permessage-deflate;", None, Malformed),
        ("negotiate_deflate doc: `None` config still checks the grammar (a bare `=`)", "permessage-deflate; server_max_window_bits =", None, Malformed),
    ];
    check_deflate(rows, check_accessors);
}

/// RFC 6455 §9.1 writes its grammar in RFC 2616's notation, whose implied linear whitespace
/// allows OWS around `=`; python-websockets accepts it. Names are case-sensitive, as
/// python-websockets, Node `ws` and Chromium compare them.
#[test]
fn whitespace_around_equals_and_case_sensitive_names() {
    #[rustfmt::skip]
    let rows: &[DeflateRow<&str>] = &[
        ("RFC 6455 §9.1 (RFC 2616 implied LWS), python-websockets: spaces around `=`", "permessage-deflate; server_max_window_bits = 10", def(), Accept("permessage-deflate; server_max_window_bits=10")),
        ("RFC 6455 §9.1 (implied LWS): space after `=`", "permessage-deflate; server_max_window_bits= 10", def(), Accept("permessage-deflate; server_max_window_bits=10")),
        ("RFC 6455 §9.1 (implied LWS): tab before `=`, quoted value", "permessage-deflate; client_max_window_bits\t=\t\"12\"", def(), Accept("permessage-deflate; client_max_window_bits=12")),
        ("RFC 6455 §9.1: whitespace inside a value is still malformed", "permessage-deflate; server_max_window_bits = 1 0", def(), Malformed),
        ("python-websockets, ws, Chromium: PERMESSAGE-DEFLATE is an unknown extension", "PERMESSAGE-DEFLATE", def(), Decline),
        ("case-sensitive extension name, then a valid offer", "PerMessage-Deflate, permessage-deflate; client_max_window_bits", def(), Accept("permessage-deflate")),
        ("python-websockets, ws: Server_No_Context_Takeover is an unknown parameter", "permessage-deflate; Server_No_Context_Takeover", def(), Decline),
        ("unknown-cased parameter declines that offer only", "permessage-deflate; SERVER_MAX_WINDOW_BITS=10, permessage-deflate", def(), Accept("permessage-deflate")),
    ];
    check_deflate(rows, check_accessors);
}

fn padded(prefix: &str, len: usize) -> String {
    // `prefix` then an unknown extension `x-aaaa…` filling the line to `len` bytes.
    let mut s = format!("{prefix}x-");
    while s.len() < len {
        s.push('a');
    }
    s
}

#[test]
fn caps() {
    assert_eq!(MAX_EXTENSIONS_HEADER_LEN, 4096, "crate doc");
    assert_eq!(MAX_EXTENSIONS, 32, "crate doc");
    assert_eq!(MAX_EXTENSION_PARAMS, 16, "crate doc");

    let elements = |n: usize| {
        let mut list = vec!["x"; n - 1];
        list.push("permessage-deflate");
        list.join(", ")
    };
    let params = |n: usize, name: &str| {
        let mut s = name.to_owned();
        for i in 0..n {
            s.push_str(&format!("; p{i}"));
        }
        s
    };
    let half = padded("", 2048);
    #[rustfmt::skip]
    let rows: &[DeflateRow<Vec<String>>] = &[
        ("MAX_EXTENSIONS_HEADER_LEN: a 5000-byte header", vec![padded("permessage-deflate, ", 5000)], def(), Malformed),
        ("MAX_EXTENSIONS_HEADER_LEN: exactly 4096 bytes is allowed", vec![padded("permessage-deflate, ", 4096)], def(), Accept("permessage-deflate")),
        ("MAX_EXTENSIONS_HEADER_LEN: 4097 bytes", vec![padded("permessage-deflate, ", 4097)], def(), Malformed),
        ("MAX_EXTENSIONS_HEADER_LEN: counts all field lines together", vec!["permessage-deflate".to_owned(), half.clone(), half.clone()], def(), Malformed),
        ("MAX_EXTENSIONS_HEADER_LEN: caps even a `None` config", vec![padded("", 5000)], None, Malformed),
        ("MAX_EXTENSIONS: 32 elements, deflate last", vec![elements(32)], def(), Accept("permessage-deflate")),
        ("MAX_EXTENSIONS: 33 elements", vec![elements(33)], def(), Malformed),
        ("MAX_EXTENSIONS: 33 elements, deflate first (the cap is not only checked before acceptance)", vec![format!("permessage-deflate, {}", vec!["x"; 32].join(","))], def(), Malformed),
        ("MAX_EXTENSIONS: counted across field lines", vec![vec!["x"; 20].join(","), elements(13)], def(), Malformed),
        ("MAX_EXTENSIONS + RFC 9110 §5.6.1: empty elements do not count", vec![format!("{}permessage-deflate", ",".repeat(100))], def(), Accept("permessage-deflate")),
        ("MAX_EXTENSION_PARAMS: 16 parameters parse (declined: unknown names)", vec![params(16, "permessage-deflate")], def(), Decline),
        ("MAX_EXTENSION_PARAMS: 17 parameters", vec![params(17, "permessage-deflate")], def(), Malformed),
        ("MAX_EXTENSION_PARAMS: applies to unknown extensions too", vec![format!("{}, permessage-deflate", params(17, "x-foo"))], def(), Malformed),
    ];
    check_deflate(rows, check_accessors);
}

// ---------------------------------------------------------------------------------------------
// Oracle
// ---------------------------------------------------------------------------------------------

/// DeflateParams accessors agree with the answer's text: a window not sent is 15 (doc of
/// `server_max_window_bits`/`client_max_window_bits`).
fn check_accessors(params: &DeflateParams) {
    let text = params.to_string();
    let exts = parse_extensions(&[text.as_bytes()]).expect("answer parses");
    assert_eq!(exts.len(), 1, "{text}");
    let ext = &exts[0];
    let find = |name: &str| ext.params.iter().find(|(n, _)| n == name);
    let bits = |name: &str| match find(name) {
        None => 15,
        Some((_, Some(Val::Token(t)))) => t.parse::<u8>().unwrap(),
        Some(other) => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        params.server_max_window_bits(),
        bits("server_max_window_bits"),
        "{text}"
    );
    assert_eq!(
        params.client_max_window_bits(),
        bits("client_max_window_bits"),
        "{text}"
    );
    assert_eq!(
        params.server_no_context_takeover(),
        find("server_no_context_takeover").is_some(),
        "{text}"
    );
    assert_eq!(
        params.client_no_context_takeover(),
        find("client_no_context_takeover").is_some(),
        "{text}"
    );
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Token(String),
    /// The unescaped content, and whether a quoted-pair was used.
    Quoted(String, bool),
}

#[derive(Debug, Clone)]
struct Ext {
    name: String,
    params: Vec<(String, Option<Val>)>,
}

fn is_tchar(b: u8) -> bool {
    // RFC 9110 §5.6.2
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let mut s = s;
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 9110 §5.6.4 quoted-string whose unescaped content is a token (RFC 6455 §9.1).
fn parse_quoted(s: &[u8]) -> Option<Val> {
    let inner = s.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let mut out = Vec::new();
    let mut escaped = false;
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b'\\' => {
                out.push(*inner.get(i + 1)?);
                escaped = true;
                i += 2;
            }
            b'"' => return None,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    is_token(&out).then(|| Val::Quoted(String::from_utf8(out).unwrap(), escaped))
}

/// RFC 6455 §9.1 over RFC 9110 §5.6.1 lists, by splitting (a design unlike the crate's cursor):
/// `None` when the grammar or one of the documented caps is broken.
fn parse_extensions(lines: &[&[u8]]) -> Option<Vec<Ext>> {
    let total: usize = lines.iter().map(|l| l.len()).sum();
    if total > MAX_EXTENSIONS_HEADER_LEN {
        return None;
    }
    let mut exts = Vec::new();
    for line in lines {
        for element in line.split(|&b| b == b',') {
            let element = trim_ows(element);
            if element.is_empty() {
                continue;
            }
            let mut parts = element.split(|&b| b == b';');
            let name = trim_ows(parts.next()?);
            if !is_token(name) {
                return None;
            }
            let mut params = Vec::new();
            for part in parts {
                let part = trim_ows(part);
                let (pname, value) = match part.iter().position(|&b| b == b'=') {
                    None => (part, None),
                    Some(eq) => {
                        // RFC 6455 §9.1 keeps RFC 2616's implied LWS: `bits = 10`.
                        let raw = trim_ows(&part[eq + 1..]);
                        let value = if raw.first() == Some(&b'"') {
                            parse_quoted(raw)?
                        } else if is_token(raw) {
                            Val::Token(String::from_utf8(raw.to_vec()).unwrap())
                        } else {
                            return None;
                        };
                        (trim_ows(&part[..eq]), Some(value))
                    }
                };
                if !is_token(pname) {
                    return None;
                }
                params.push((String::from_utf8(pname.to_vec()).unwrap(), value));
            }
            if params.len() > MAX_EXTENSION_PARAMS {
                return None;
            }
            exts.push(Ext {
                name: String::from_utf8(name.to_vec()).unwrap(),
                params,
            });
        }
    }
    (exts.len() <= MAX_EXTENSIONS).then_some(exts)
}

/// The config as the test generated it (DeflateConfig has no getters).
#[derive(Debug, Clone, Copy)]
struct Cfg {
    server_bits: u8,
    client_bits: u8,
    server_nct: bool,
    client_nct: bool,
    accept8: bool,
}

impl Cfg {
    fn build(self) -> DeflateConfig {
        DeflateConfig::default()
            .server_max_window_bits(self.server_bits)
            .client_max_window_bits(self.client_bits)
            .server_no_context_takeover(self.server_nct)
            .client_no_context_takeover(self.client_nct)
            .accept_server_window_bits_8(self.accept8)
    }
}

/// A permessage-deflate offer as RFC 7692 §7 reads it.
#[derive(Debug, Clone, Copy)]
struct OfferInfo {
    server_nct: bool,
    client_nct: bool,
    server_bits: Option<u8>,
    client_bits: Option<Option<u8>>,
}

/// RFC 7692 §7.1.2: decimal 8..=15 without leading zeroes. Escaped quoted values are declined
/// (documented crate policy; RFC 7692 §5 lets a server decline any offer).
fn window_bits(value: &Val) -> Option<u8> {
    let text = match value {
        Val::Token(t) => t.as_str(),
        Val::Quoted(t, false) => t.as_str(),
        Val::Quoted(_, true) => return None,
    };
    ["8", "9", "10", "11", "12", "13", "14", "15"]
        .iter()
        .position(|v| *v == text)
        .map(|i| 8 + i as u8)
}

/// Whether this server accepts the offer: only known parameters, each once, flags without
/// values, valid window bits (RFC 7692 §7); and the config can honour it: an 8-bit server window
/// only when `accept_server_window_bits_8`, and a client window below 15 only when the client
/// said it can limit it (RFC 7692 §7.1.2.2).
fn acceptable(params: &[(String, Option<Val>)], cfg: &Cfg) -> Option<OfferInfo> {
    let mut offer = OfferInfo {
        server_nct: false,
        client_nct: false,
        server_bits: None,
        client_bits: None,
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in params {
        // Names are case-sensitive, as python-websockets, Node ws and Chromium compare them.
        if seen.contains(name) {
            return None;
        }
        seen.push(name.clone());
        match (name.as_str(), value) {
            ("server_no_context_takeover", None) => offer.server_nct = true,
            ("client_no_context_takeover", None) => offer.client_nct = true,
            ("server_max_window_bits", Some(v)) => offer.server_bits = Some(window_bits(v)?),
            ("client_max_window_bits", None) => offer.client_bits = Some(None),
            ("client_max_window_bits", Some(v)) => offer.client_bits = Some(Some(window_bits(v)?)),
            _ => return None,
        }
    }
    if offer.server_bits == Some(8) && !cfg.accept8 {
        return None;
    }
    if cfg.client_bits < 15 && offer.client_bits.is_none() {
        return None;
    }
    Some(offer)
}

/// Every RFC 7692 §7 rule for a response to `offer`, and the config's limits.
fn check_answer(answer: &str, offer: &OfferInfo, cfg: &Cfg) -> Result<(), String> {
    let exts = parse_extensions(&[answer.as_bytes()]).ok_or("answer does not parse")?;
    let [ext] = exts.as_slice() else {
        return Err("not exactly one element".into());
    };
    if ext.name != "permessage-deflate" {
        return Err("wrong name".into());
    }
    let mut seen = Vec::new();
    let (mut snct, mut cnct, mut sbits, mut cbits) = (false, false, None, None);
    for (name, value) in &ext.params {
        if seen.contains(name) {
            return Err(format!("{name} twice"));
        }
        seen.push(name.clone());
        let bits = |v: &Option<Val>| match v {
            Some(Val::Token(t)) => window_bits(&Val::Token(t.clone()))
                .ok_or_else(|| format!("{name}={t} is not 8..=15 without leading zeroes")),
            _ => Err(format!("{name} without a plain decimal value")),
        };
        match name.as_str() {
            "server_no_context_takeover" if value.is_none() => snct = true,
            "client_no_context_takeover" if value.is_none() => cnct = true,
            "server_max_window_bits" => sbits = Some(bits(value)?),
            "client_max_window_bits" => cbits = Some(bits(value)?),
            _ => return Err(format!("unexpected parameter {name}")),
        }
    }
    // RFC 7692 §7.1.1.1
    if offer.server_nct && !snct {
        return Err("server_no_context_takeover offered but not answered".into());
    }
    // RFC 7692 §7.1.2.1
    if let Some(offered) = offer.server_bits {
        match sbits {
            Some(b) if b <= offered => {}
            _ => return Err("server_max_window_bits missing or above the offer".into()),
        }
    }
    // RFC 7692 §7.1.2.2
    match (offer.client_bits, cbits) {
        (None, Some(_)) => return Err("client_max_window_bits answered unoffered".into()),
        (Some(Some(offered)), Some(b)) if b > offered => {
            return Err("client_max_window_bits above the offer".into());
        }
        _ => {}
    }
    // The config.
    if sbits.unwrap_or(15) > cfg.server_bits {
        return Err("server window above the config".into());
    }
    if sbits == Some(8) && !cfg.accept8 {
        return Err("8-bit server window without accept_server_window_bits_8".into());
    }
    if cfg.client_bits < 15 && cbits.is_none_or(|b| b > cfg.client_bits) {
        return Err("client window not limited to the config".into());
    }
    if cfg.server_nct && !snct {
        return Err("config's server_no_context_takeover missing".into());
    }
    if cfg.client_nct && !cnct {
        return Err("config's client_no_context_takeover missing".into());
    }
    Ok(())
}

/// Runs the crate and the oracle on the same field lines and compares them.
fn compare(lines: &[HeaderValue], cfg: Option<Cfg>) -> Result<(), TestCaseError> {
    let config = cfg.map(Cfg::build);
    if let Some(config) = &config {
        prop_assert!(config.validate().is_ok(), "{:?}", cfg);
    }
    let got = negotiate_deflate(lines, config.as_ref());
    let bytes: Vec<&[u8]> = lines.iter().map(HeaderValue::as_bytes).collect();
    let Some(exts) = parse_extensions(&bytes) else {
        prop_assert_eq!(
            got,
            Err(Rejection::MalformedWebSocketExtensions),
            "oracle: malformed"
        );
        return Ok(());
    };
    let got = match got {
        Ok(got) => got,
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "crate rejected ({e:?}) what the oracle parses as {exts:?}"
            )));
        }
    };
    let Some(cfg) = cfg else {
        prop_assert_eq!(got, None, "no config: never accepted");
        return Ok(());
    };
    let first = exts
        .iter()
        .filter(|e| e.name == "permessage-deflate")
        .find_map(|e| acceptable(&e.params, &cfg));
    match (first, got) {
        (None, None) => {}
        (Some(offer), Some(params)) => {
            let answer = params.to_string();
            prop_assert_eq!(params.to_header_value(), answer.as_str());
            check_accessors(&params);
            if let Err(why) = check_answer(&answer, &offer, &cfg) {
                return Err(TestCaseError::fail(format!(
                    "{answer:?} for first acceptable offer {offer:?} with {cfg:?}: {why}"
                )));
            }
        }
        (first, got) => {
            return Err(TestCaseError::fail(format!(
                "oracle's first acceptable offer {first:?}, crate's answer {got:?}, cfg {cfg:?}, exts {exts:?}"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

fn cfg_strategy() -> impl Strategy<Value = Cfg> {
    // Half the time the default window (15), else any of 8..=15.
    let bits = || prop_oneof![Just(15u8), 8u8..=15];
    (bits(), bits(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(server_bits, client_bits, server_nct, client_nct, accept8)| Cfg {
            // A server window of 8 is only valid with accept_server_window_bits_8.
            server_bits: if server_bits == 8 && !accept8 {
                9
            } else {
                server_bits
            },
            client_bits,
            server_nct,
            client_nct,
            accept8,
        },
    )
}

/// A window-bits value: mostly valid (bare or quoted), sometimes invalid.
fn bits_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (8u8..=15).prop_map(|b| b.to_string()),
        2 => (8u8..=15).prop_map(|b| format!("\"{b}\"")),
        1 => prop::sample::select(vec![
            "7", "16", "0", "08", "+9", "010", "0xA", "1e1", "abc", "\"08\"", "\"1\\0\"", "\"\\9\"",
            "\"16\"",
        ])
        .prop_map(str::to_owned),
    ]
}

fn with_value(name: &'static str, value: Option<String>) -> String {
    match value {
        None => name.to_owned(),
        Some(v) => format!("{name}={v}"),
    }
}

fn param_strategy() -> impl Strategy<Value = String> {
    let flag = prop::sample::select(vec![
        "server_no_context_takeover",
        "client_no_context_takeover",
    ]);
    prop_oneof![
        // Flags: mostly bare, now and then with a (forbidden) value.
        4 => (flag, prop::option::weighted(0.1, bits_value()))
            .prop_map(|(name, value)| with_value(name, value)),
        // server_max_window_bits needs a value.
        2 => prop::option::weighted(0.9, bits_value())
            .prop_map(|value| with_value("server_max_window_bits", value)),
        // client_max_window_bits may have one.
        2 => prop::option::weighted(0.6, bits_value())
            .prop_map(|value| with_value("client_max_window_bits", value)),
        // Unknown or differently-cased names.
        1 => (
            prop::sample::select(vec!["x", "server_max_window_bit", "Client_Max_Window_Bits"]),
            prop::option::of(bits_value()),
        )
            .prop_map(|(name, value)| with_value(name, value)),
    ]
}

fn offer_strategy() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            8 => Just("permessage-deflate"),
            1 => Just("x-webkit-deflate-frame"),
            1 => Just("PerMessage-Deflate"),
        ],
        prop::collection::vec(param_strategy(), 0..5),
        prop::sample::select(vec![";", "; ", " ;\t", ";  "]),
    )
        .prop_map(|(name, params, sep)| {
            let mut s = name.to_owned();
            for p in params {
                s.push_str(sep);
                s.push_str(&p);
            }
            s
        })
}

/// 1 to 4 offers, joined by commas and spread over 1 or 2 field lines.
fn header_strategy() -> impl Strategy<Value = Vec<HeaderValue>> {
    (
        prop::collection::vec(offer_strategy(), 1..=4),
        prop::sample::select(vec![", ", ",", " , ", ",, "]),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(offers, sep, split, two_lines)| {
            let at = if two_lines {
                split.index(offers.len() + 1)
            } else {
                offers.len()
            };
            let (a, b) = offers.split_at(at);
            [a.join(sep), b.join(sep)]
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| HeaderValue::from_str(&l).unwrap())
                .collect()
        })
}

/// Text made of grammar fragments (to reach deep parser states) or arbitrary bytes.
fn fuzz_line_strategy() -> impl Strategy<Value = Vec<u8>> {
    let fragments = vec![
        "permessage-deflate",
        "server_max_window_bits",
        "client_max_window_bits",
        "server_no_context_takeover",
        "client_no_context_takeover",
        "x",
        "10",
        "8",
        "15",
        "08",
        ";",
        ",",
        "=",
        "\"",
        "\\",
        " ",
        "\t",
        "é",
        "/",
        "\u{7f}",
    ];
    let fragment = prop::sample::select(fragments);
    let mutation = (
        any::<prop::sample::Index>(),
        fragment.clone(),
        any::<bool>(),
    );
    prop_oneof![
        // A generated header, then a few insertions or deletions.
        (header_strategy(), prop::collection::vec(mutation, 0..3),).prop_map(
            |(lines, mutations)| {
                let mut bytes = lines
                    .first()
                    .map(|l| l.as_bytes().to_vec())
                    .unwrap_or_default();
                for (at, fragment, delete) in mutations {
                    let at = at.index(bytes.len() + 1);
                    if delete && at < bytes.len() {
                        bytes.remove(at);
                    } else {
                        bytes.splice(at..at, fragment.bytes());
                    }
                }
                bytes
            }
        ),
        prop::collection::vec(fragment, 0..24).prop_map(|f| f.concat().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
        ".{0,40}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn never_panics_and_agrees_with_the_oracle_on_any_text(
        lines in prop::collection::vec(fuzz_line_strategy(), 0..4),
        cfg in prop::option::of(cfg_strategy()),
    ) {
        // Only bytes a HeaderValue can hold reach the function.
        let values: Vec<HeaderValue> = lines
            .iter()
            .filter_map(|l| HeaderValue::from_bytes(l).ok())
            .collect();
        compare(&values, cfg)?;
    }

    #[test]
    fn answers_obey_rfc_7692_for_generated_offers(
        lines in header_strategy(),
        cfg in cfg_strategy(),
    ) {
        compare(&lines, Some(cfg))?;
    }

    #[test]
    fn no_config_never_accepts(lines in header_strategy()) {
        compare(&lines, None)?;
    }
}

#[test]
fn oracle_self_check() {
    // The oracle agrees with the table tests' verdicts on a few rows, so a bug in the oracle
    // cannot hide behind a matching bug in the crate.
    let cfg = Cfg {
        server_bits: 15,
        client_bits: 15,
        server_nct: false,
        client_nct: false,
        accept8: false,
    };
    #[rustfmt::skip]
    let rows: &[(&str, Option<bool>)] = &[
        ("permessage-deflate", Some(true)),
        ("permessage-deflate; server_max_window_bits=08", Some(false)),
        ("permessage-deflate; server_max_window_bits=\"10\"", Some(true)),
        ("permessage-deflate; server_max_window_bits = 10", Some(true)),
        ("permessage-deflate; Server_Max_Window_Bits=10", Some(false)),
        ("PERMESSAGE-DEFLATE", Some(false)),
        ("permessage-deflate;", None),
        ("permessage-deflate; a=\"b", None),
        (", permessage-deflate ,,", Some(true)),
    ];
    for (line, want) in rows {
        let exts = parse_extensions(&[line.as_bytes()]);
        let got = exts.map(|exts| {
            exts.iter()
                .any(|e| e.name == "permessage-deflate" && acceptable(&e.params, &cfg).is_some())
        });
        assert_eq!(got, *want, "{line}");
    }
    let offer = OfferInfo {
        server_nct: true,
        client_nct: false,
        server_bits: Some(10),
        client_bits: None,
    };
    assert!(check_answer("permessage-deflate", &offer, &cfg).is_err());
    assert!(
        check_answer(
            "permessage-deflate; server_no_context_takeover",
            &offer,
            &cfg
        )
        .is_err()
    );
    assert!(
        check_answer(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            &offer,
            &cfg
        )
        .is_err()
    );
    assert!(
        check_answer(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10",
            &offer,
            &cfg
        )
        .is_err()
    );
    assert_eq!(
        check_answer(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            &offer,
            &cfg
        ),
        Ok(())
    );
}
