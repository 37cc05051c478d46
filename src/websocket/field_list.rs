//! RFC 9110 §5.6.1 lists (`#element`) of plain tokens, across every field line.
//!
//! `Connection: keep-alive, Upgrade` and `Connection: keep-alive` + `Connection: Upgrade` are the
//! same list; empty elements (`a, , b`) are tolerated, as RFC 9110 asks of recipients.

use http::HeaderValue;

/// Optional whitespace.
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Whether the list holds `token`, ignoring ASCII case (a token match, never a substring match:
/// `Connection: notupgrade` does not hold `upgrade`). Empty elements never match.
#[inline]
pub(crate) fn contains_token<'a, I>(lines: I, token: &str) -> bool
where
    I: IntoIterator<Item = &'a HeaderValue>,
{
    let token = token.as_bytes();
    lines.into_iter().any(|line| {
        let line = line.as_bytes();
        // A line that is the token alone, as browsers send `Upgrade` and `Connection`, is
        // matched without splitting it.
        line.eq_ignore_ascii_case(token)
            || line
                .split(|&b| b == b',')
                .any(|element| trim_ows(element).eq_ignore_ascii_case(token))
    })
}

/// RFC 9110 §5.6.2 `tchar`: `!#$%&'*+-.^_`|~`, digits and letters, one entry per byte value.
// Built at compile time: `b as usize` is always below 256, and an out-of-range index here would
// fail the build, never a request.
#[allow(clippy::indexing_slicing)]
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0u8;
    loop {
        table[b as usize] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        if b == u8::MAX {
            break table;
        }
        b += 1;
    }
};

/// RFC 9110 §5.6.2 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR.get(usize::from(b)).copied().unwrap_or(false)
}

/// Whether `bytes` is a non-empty RFC 9110 token.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// Whether `needle` (lower case) occurs anywhere in `haystack`, ignoring ASCII case. Linear in the
/// haystack for the short needles used here.
pub(crate) fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}
