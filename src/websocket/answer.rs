//! RFC 6455 §4.1: the checks a client makes of the server's answer to its opening handshake, for
//! a proxy that lets the server behind it negotiate subprotocol and extensions end to end and
//! must pass on only an answer the client would accept.

use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use http::{HeaderMap, HeaderValue};

use super::accept::AcceptKey;
use super::deflate::for_each_extension_name;
use super::field_list::{contains_token, trim_ows};

/// Why a server's `101` answer to a WebSocket handshake fails the client's checks (RFC 6455
/// §4.1). Each is a reason a browser fails the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// `Upgrade` does not name `websocket`.
    #[error("upgrade is not websocket")]
    NotWebSocket,
    /// `Connection` does not name `upgrade`.
    #[error("connection does not name upgrade")]
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing, repeated, or not the value the client's key calls for.
    #[error("sec-websocket-accept does not match the key")]
    AcceptMismatch,
    /// `Sec-WebSocket-Extensions` names an extension the client did not offer, or breaks the
    /// list's grammar or its caps.
    #[error("an extension that was not offered")]
    ExtensionNotOffered,
    /// `Sec-WebSocket-Protocol` is not one of the subprotocols the client offered.
    #[error("a subprotocol that was not offered")]
    ProtocolNotOffered,
    /// More than one `Sec-WebSocket-Protocol` line.
    #[error("more than one subprotocol")]
    SeveralProtocols,
}

/// What a client's opening handshake offered, kept to check the server's answer against: the
/// `Sec-WebSocket-Accept` its key calls for, and its `Sec-WebSocket-Protocol` and
/// `Sec-WebSocket-Extensions` lines (shared, not copied). For a proxy that forwards a handshake
/// the guard allowed and relays the upstream's `101`; a server answering the handshake itself
/// has [`Handshake::response_headers`](super::Handshake::response_headers) instead.
///
/// ```
/// use crossguard::websocket::{AnswerError, Offer, accept_key};
/// use http::{HeaderMap, HeaderValue};
///
/// // RFC 6455 §1.3's example key; the accept value would come from the guard's verdict
/// // (`Handshake::accept`).
/// let mut request = HeaderMap::new();
/// request.insert("sec-websocket-key", HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
/// request.insert("sec-websocket-protocol", HeaderValue::from_static("chat, superchat"));
/// let offer = Offer::new(&request, accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
///
/// let mut answer = HeaderMap::new();
/// answer.insert("upgrade", HeaderValue::from_static("websocket"));
/// answer.insert("connection", HeaderValue::from_static("Upgrade"));
/// answer.insert("sec-websocket-accept", HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
/// answer.insert("sec-websocket-protocol", HeaderValue::from_static("chat"));
/// assert_eq!(offer.check_answer(&answer), Ok(()));
///
/// answer.insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
/// assert_eq!(offer.check_answer(&answer), Err(AnswerError::ProtocolNotOffered));
/// ```
#[derive(Debug, Clone)]
pub struct Offer {
    accept: AcceptKey,
    protocols: Vec<HeaderValue>,
    extensions: Vec<HeaderValue>,
}

impl Offer {
    /// The offer of the handshake request whose fields are `request`; `accept` is the value its
    /// key calls for ([`Handshake::accept`](super::Handshake::accept)).
    #[must_use]
    pub fn new(request: &HeaderMap, accept: AcceptKey) -> Self {
        Self {
            accept,
            protocols: request
                .get_all(SEC_WEBSOCKET_PROTOCOL)
                .iter()
                .cloned()
                .collect(),
            extensions: request
                .get_all(SEC_WEBSOCKET_EXTENSIONS)
                .iter()
                .cloned()
                .collect(),
        }
    }

    /// Checks the fields of the server's `101` answer as RFC 6455 §4.1 has the client check
    /// them: `Upgrade` names `websocket` and `Connection` names `upgrade` (ASCII case ignored,
    /// as list elements); exactly one `Sec-WebSocket-Accept`, the value the key calls for; every
    /// extension answered was offered (names compare exactly); at most one subprotocol, one
    /// that was offered.
    ///
    /// # Errors
    ///
    /// The first check that fails, in that order.
    pub fn check_answer(&self, answer: &HeaderMap) -> Result<(), AnswerError> {
        if !contains_token(answer.get_all(UPGRADE), "websocket") {
            return Err(AnswerError::NotWebSocket);
        }
        if !contains_token(answer.get_all(CONNECTION), "upgrade") {
            return Err(AnswerError::NoConnectionUpgrade);
        }
        let mut accepts = answer.get_all(SEC_WEBSOCKET_ACCEPT).iter();
        match (accepts.next(), accepts.next()) {
            (Some(accept), None) if accept.as_bytes() == self.accept.as_str().as_bytes() => {}
            _ => return Err(AnswerError::AcceptMismatch),
        }
        self.check_extensions(answer)?;
        let mut protocols = answer.get_all(SEC_WEBSOCKET_PROTOCOL).iter();
        match (protocols.next(), protocols.next()) {
            (None, _) => Ok(()),
            (Some(chosen), None) => {
                let chosen = trim_ows(chosen.as_bytes());
                let offered = self
                    .protocols
                    .iter()
                    .flat_map(|line| line.as_bytes().split(|&b| b == b','))
                    .any(|name| trim_ows(name) == chosen);
                if offered && !chosen.is_empty() {
                    Ok(())
                } else {
                    Err(AnswerError::ProtocolNotOffered)
                }
            }
            (Some(_), Some(_)) => Err(AnswerError::SeveralProtocols),
        }
    }

    fn check_extensions(&self, answer: &HeaderMap) -> Result<(), AnswerError> {
        let answered = answer.get_all(SEC_WEBSOCKET_EXTENSIONS);
        if answered.iter().next().is_none() {
            return Ok(());
        }
        // Both lists are read with the grammar and caps the guard reads offers with; an offer
        // past them offers nothing.
        let mut offered: Vec<&[u8]> = Vec::new();
        if for_each_extension_name(&self.extensions, |name| offered.push(name)).is_none() {
            offered.clear();
        }
        let mut all_offered = true;
        for_each_extension_name(answered, |name| {
            all_offered &= offered.contains(&name);
        })
        .filter(|()| all_offered)
        .ok_or(AnswerError::ExtensionNotOffered)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::websocket::accept_key;
    use http::header::HeaderName;

    fn headers(fields: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn offer() -> Offer {
        Offer::new(
            &headers(&[
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("sec-websocket-protocol", "vite-hmr, chat"),
                (
                    "sec-websocket-extensions",
                    "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame",
                ),
            ]),
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        )
    }

    /// RFC 6455 §1.3's example answer.
    const GOOD: [(&str, &str); 3] = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ];

    fn answer(extra: &[(&str, &str)], without: &str) -> HeaderMap {
        let mut fields: Vec<(&str, &str)> = GOOD
            .iter()
            .copied()
            .filter(|(n, _)| *n != without)
            .collect();
        fields.extend_from_slice(extra);
        headers(&fields)
    }

    #[test]
    fn rfc6455_4_1_a_good_answer_passes() {
        let offer = offer();
        assert_eq!(offer.check_answer(&answer(&[], "")), Ok(()));
        assert_eq!(
            offer.check_answer(&answer(
                &[
                    ("sec-websocket-protocol", "chat"),
                    (
                        "sec-websocket-extensions",
                        "permessage-deflate; server_no_context_takeover"
                    ),
                ],
                ""
            )),
            Ok(())
        );
        // Case and list form of `Upgrade` and `Connection` do not matter.
        let answer = headers(&[
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, upgrade"),
            ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ]);
        assert_eq!(offer.check_answer(&answer), Ok(()));
    }

    #[test]
    fn rfc6455_4_1_each_failure_is_named() {
        let offer = offer();
        let rows: [(HeaderMap, AnswerError); 10] = [
            (answer(&[], "upgrade"), AnswerError::NotWebSocket),
            (
                answer(&[("upgrade", "h2c")], "upgrade"),
                AnswerError::NotWebSocket,
            ),
            (answer(&[], "connection"), AnswerError::NoConnectionUpgrade),
            (
                answer(&[], "sec-websocket-accept"),
                AnswerError::AcceptMismatch,
            ),
            (
                answer(
                    &[("sec-websocket-accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")],
                    "sec-websocket-accept",
                ),
                AnswerError::AcceptMismatch,
            ),
            (
                answer(
                    &[("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")],
                    "",
                ),
                AnswerError::AcceptMismatch,
            ),
            (
                answer(&[("sec-websocket-extensions", "x-unoffered")], ""),
                AnswerError::ExtensionNotOffered,
            ),
            (
                answer(&[("sec-websocket-extensions", "permessage-deflate; =")], ""),
                AnswerError::ExtensionNotOffered,
            ),
            (
                answer(&[("sec-websocket-protocol", "mqtt")], ""),
                AnswerError::ProtocolNotOffered,
            ),
            (
                answer(
                    &[
                        ("sec-websocket-protocol", "chat"),
                        ("sec-websocket-protocol", "vite-hmr"),
                    ],
                    "",
                ),
                AnswerError::SeveralProtocols,
            ),
        ];
        for (answer, expected) in rows {
            assert_eq!(offer.check_answer(&answer), Err(expected), "{answer:?}");
        }
        // A list is not one subprotocol; nor is an empty value.
        for chosen in ["chat, vite-hmr", ""] {
            assert_eq!(
                offer.check_answer(&answer(&[("sec-websocket-protocol", chosen)], "")),
                Err(AnswerError::ProtocolNotOffered),
                "{chosen:?}"
            );
        }
        // Subprotocol names compare exactly.
        assert_eq!(
            offer.check_answer(&answer(&[("sec-websocket-protocol", "Chat")], "")),
            Err(AnswerError::ProtocolNotOffered)
        );
    }

    #[rustfmt::skip]
    #[test]
    fn rfc6455_4_1_client_checks_of_the_101() {
        let offer = offer();
        let with = |extra: &[(&str, &str)]| answer(extra, "");
        let cases: &[(&str, HeaderMap, Result<(), &str>)] = &[
            ("§4.1 ¶5.4 plain answer", with(&[]), Ok(())),
            ("§4.1 ¶5.6 offered extension with parameters", with(&[("sec-websocket-extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits=15")]), Ok(())),
            ("§4.1 ¶5.6 offered extension with a quoted comma", with(&[("sec-websocket-extensions", r#"permessage-deflate; client_max_window_bits="15", x-webkit-deflate-frame"#)]), Ok(())),
            ("§4.1 ¶5.5 offered subprotocol", with(&[("sec-websocket-protocol", "vite-hmr")]), Ok(())),
            ("§4.1 ¶5.4 wrong accept", headers(&[("upgrade", "websocket"), ("connection", "upgrade"), ("sec-websocket-accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")]), Err("sec-websocket-accept does not match the key")),
            ("§4.1 ¶5.4 two accepts", with(&[("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), Err("sec-websocket-accept does not match the key")),
            ("§4.1 ¶5.2 no upgrade", headers(&[("connection", "upgrade"), ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), Err("upgrade is not websocket")),
            ("§4.1 ¶5.3 no connection", headers(&[("upgrade", "websocket"), ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), Err("connection does not name upgrade")),
            ("§4.1 ¶5.6 unoffered extension", with(&[("sec-websocket-extensions", "permessage-bzip2")]), Err("an extension that was not offered")),
            ("§4.1 ¶5.6 offered name is case-sensitive", with(&[("sec-websocket-extensions", "Permessage-Deflate")]), Err("an extension that was not offered")),
            ("§4.1 ¶5.5 unoffered subprotocol", with(&[("sec-websocket-protocol", "graphql-ws")]), Err("a subprotocol that was not offered")),
            ("§4.1 ¶5.5 two subprotocols", with(&[("sec-websocket-protocol", "chat"), ("sec-websocket-protocol", "vite-hmr")]), Err("more than one subprotocol")),
        ];
        for (name, answer, expected) in cases {
            let got = offer.check_answer(answer).map_err(|err| err.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{name}");
        }
    }

    #[test]
    fn an_offer_without_subprotocols_or_extensions_accepts_none() {
        let offer = Offer::new(
            &headers(&[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]),
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        );
        assert_eq!(offer.check_answer(&answer(&[], "")), Ok(()));
        assert_eq!(
            offer.check_answer(&answer(&[("sec-websocket-protocol", "chat")], "")),
            Err(AnswerError::ProtocolNotOffered)
        );
        assert_eq!(
            offer.check_answer(&answer(
                &[("sec-websocket-extensions", "permessage-deflate")],
                ""
            )),
            Err(AnswerError::ExtensionNotOffered)
        );
    }
}
