//! `Sec-WebSocket-Protocol` subprotocol selection (RFC 6455 §4.2.2, §11.3.4).

use http::HeaderValue;

use super::field_list::{is_token, trim_ows};
use crate::Rejection;

/// Most subprotocols a client may offer.
pub const MAX_PROTOCOLS: usize = 32;

/// Most bytes of `Sec-WebSocket-Protocol`, all field lines together.
pub const MAX_PROTOCOL_HEADER_LEN: usize = 4096;

/// Picks the subprotocol to answer with: the first of the server's `supported` names (its order of
/// preference) that the client offered, or `None` when none is shared, in which case the
/// response carries no `Sec-WebSocket-Protocol`. Names compare exactly (they are case-sensitive).
///
/// # Errors
///
/// [`Rejection::MalformedWebSocketProtocol`] when an element is not a token, a name is offered
/// twice, or the offer exceeds 32 names or 4096 bytes.
///
/// ```
/// use crossguard::websocket::select_protocol;
/// use http::HeaderValue;
///
/// let offered = [HeaderValue::from_static("chat, superchat")];
/// let supported = [HeaderValue::from_static("superchat"), HeaderValue::from_static("chat")];
/// assert_eq!(select_protocol(&offered, &supported).unwrap().unwrap(), "superchat");
/// assert!(select_protocol(&[HeaderValue::from_static("chat, chat")], &supported).is_err());
/// ```
pub fn select_protocol<'a, 's, I>(
    offered: I,
    supported: &'s [HeaderValue],
) -> Result<Option<&'s HeaderValue>, Rejection>
where
    I: IntoIterator<Item = &'a HeaderValue>,
{
    let mut names: [&[u8]; MAX_PROTOCOLS] = [&[]; MAX_PROTOCOLS];
    let mut count = 0usize;
    let mut total = 0usize;
    for line in offered {
        total = total.saturating_add(line.len());
        if total > MAX_PROTOCOL_HEADER_LEN {
            return Err(Rejection::MalformedWebSocketProtocol);
        }
        for element in line.as_bytes().split(|&b| b == b',').map(trim_ows) {
            if element.is_empty() {
                continue;
            }
            let seen = names.get(..count).unwrap_or_default();
            if !is_token(element) || seen.contains(&element) {
                return Err(Rejection::MalformedWebSocketProtocol);
            }
            let slot = names
                .get_mut(count)
                .ok_or(Rejection::MalformedWebSocketProtocol)?;
            *slot = element;
            count += 1;
        }
    }
    let offered = names.get(..count).unwrap_or_default();
    Ok(supported
        .iter()
        .find(|name| offered.contains(&name.as_bytes())))
}
