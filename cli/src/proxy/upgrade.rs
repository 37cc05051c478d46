//! WebSocket through the proxy: what the client offered, the RFC 6455 §4.1 checks of the
//! upstream's `101` against that offer (the accept value as the guard's verdict derived it), and
//! the byte tunnel once both sides have switched.
//!
//! The upstream negotiates subprotocol and permessage-deflate end to end; the proxy only makes
//! sure the upstream's answer is one a browser would accept for the offer the guard allowed.

use std::sync::Arc;
use std::time::Duration;

use crossguard::websocket::AcceptKey;
use http::header::{self, HeaderMap};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::OwnedSemaphorePermit;

/// After one direction of a tunnel ends, how long the other gets to finish its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// What the client's handshake offered.
#[derive(Debug, Clone)]
pub(crate) struct Offer {
    /// The `Sec-WebSocket-Accept` the client's key calls for, as the guard's verdict derived it.
    accept: AcceptKey,
    protocols: Vec<String>,
    extensions: Vec<String>,
}

impl Offer {
    /// Reads the offer from a handshake the guard validated, whose verdict gave `accept`.
    pub(crate) fn read(headers: &HeaderMap, accept: AcceptKey) -> Self {
        let protocols = list(headers, &header::SEC_WEBSOCKET_PROTOCOL)
            .map(str::to_owned)
            .collect();
        let extensions = list(headers, &header::SEC_WEBSOCKET_EXTENSIONS)
            .filter_map(extension_name)
            .map(str::to_owned)
            .collect();
        Self {
            accept,
            protocols,
            extensions,
        }
    }

    /// RFC 6455 §4.1 (the client's checks of the server's handshake), applied to the upstream's
    /// `101`: `Upgrade: websocket`, `Connection: upgrade`, the accept key of the offered key,
    /// only offered extensions, an offered subprotocol or none.
    pub(crate) fn check_answer(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let upgrade = list(headers, &header::UPGRADE).any(|t| t.eq_ignore_ascii_case("websocket"));
        if !upgrade {
            return Err("upgrade is not websocket");
        }
        if !list(headers, &header::CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade")) {
            return Err("connection does not name upgrade");
        }
        let mut accepts = headers.get_all(header::SEC_WEBSOCKET_ACCEPT).iter();
        match (accepts.next(), accepts.next()) {
            (Some(accept), None) if accept.as_bytes() == self.accept.as_str().as_bytes() => {}
            _ => return Err("sec-websocket-accept does not match the key"),
        }
        for element in list(headers, &header::SEC_WEBSOCKET_EXTENSIONS) {
            match extension_name(element) {
                Some(name) if self.extensions.iter().any(|offered| offered == name) => {}
                _ => return Err("an extension that was not offered"),
            }
        }
        let mut protocols = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter();
        match (protocols.next(), protocols.next()) {
            (None, _) => {}
            (Some(chosen), None) => {
                let chosen = chosen.to_str().map(str::trim).unwrap_or_default();
                if !self.protocols.iter().any(|offered| offered == chosen) {
                    return Err("a subprotocol that was not offered");
                }
            }
            (Some(_), Some(_)) => return Err("more than one subprotocol"),
        }
        Ok(())
    }
}

/// The elements of a comma-separated field over all its lines, trimmed, empty ones skipped
/// (RFC 9110 §5.6.1); commas inside quoted strings do not split.
fn list<'a>(
    headers: &'a HeaderMap,
    name: &header::HeaderName,
) -> impl Iterator<Item = &'a str> + use<'a> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(split_list)
}

fn split_list(value: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                elements.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    elements.push(value.get(start..).unwrap_or_default());
    elements
        .into_iter()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

/// The extension name of one `Sec-WebSocket-Extensions` element (before its parameters).
fn extension_name(element: &str) -> Option<&str> {
    let name = element.split(';').next()?.trim();
    (!name.is_empty()).then_some(name)
}

/// Relays bytes both ways between the client and the upstream once both connections have
/// switched protocols; when one direction ends, the other gets [`CLOSE_GRACE`], then both are
/// closed. `slot` keeps the connection counted until then.
pub(crate) fn tunnel(
    client: OnUpgrade,
    upstream: OnUpgrade,
    slot: Arc<OwnedSemaphorePermit>,
    upstream_slot: OwnedSemaphorePermit,
) {
    tokio::spawn(async move {
        // Both the client's connection slot and the upstream slot stay taken while it is open.
        let _slots = (slot, upstream_slot);
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(both) => both,
            Err(err) => {
                eprintln!("crossguard: websocket tunnel not established: {err}");
                return;
            }
        };
        let (mut client_read, mut client_write) = tokio::io::split(TokioIo::new(client));
        let (mut upstream_read, mut upstream_write) = tokio::io::split(TokioIo::new(upstream));
        let to_upstream = async {
            let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
            let _ = upstream_write.shutdown().await;
        };
        let to_client = async {
            let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
            let _ = client_write.shutdown().await;
        };
        tokio::pin!(to_upstream, to_client);
        tokio::select! {
            () = &mut to_upstream => {
                let _ = tokio::time::timeout(CLOSE_GRACE, &mut to_client).await;
            }
            () = &mut to_client => {
                let _ = tokio::time::timeout(CLOSE_GRACE, &mut to_upstream).await;
            }
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(fields: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    /// RFC 6455 §1.3's example key.
    fn example_accept() -> AcceptKey {
        crossguard::websocket::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==")
    }

    fn offer() -> Offer {
        Offer::read(
            &headers(&[
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("sec-websocket-protocol", "vite-hmr, chat"),
                (
                    "sec-websocket-extensions",
                    "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame",
                ),
            ]),
            example_accept(),
        )
    }

    const GOOD: [(&str, &str); 3] = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        // RFC 6455 §1.3's example key and answer.
        ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ];

    fn answer(extra: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut fields = GOOD.to_vec();
        fields.extend_from_slice(extra);
        headers(&fields)
    }

    #[rustfmt::skip]
    #[test]
    fn rfc6455_4_1_client_checks_of_the_101() {
        let offer = offer();
        let cases: &[(&str, HeaderMap, Result<(), &str>)] = &[
            ("§4.1 ¶5.4 plain answer", answer(&[]), Ok(())),
            ("§4.1 ¶5.6 offered extension with parameters", answer(&[("sec-websocket-extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits=15")]), Ok(())),
            ("§4.1 ¶5.5 offered subprotocol", answer(&[("sec-websocket-protocol", "vite-hmr")]), Ok(())),
            ("§4.1 ¶5.4 wrong accept", headers(&[("upgrade", "websocket"), ("connection", "upgrade"), ("sec-websocket-accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")]), Err("sec-websocket-accept does not match the key")),
            ("§4.1 ¶5.4 two accepts", answer(&[("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), Err("sec-websocket-accept does not match the key")),
            ("§4.1 ¶5.2 no upgrade", headers(&[("connection", "upgrade"), ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), Err("upgrade is not websocket")),
            ("§4.1 ¶5.3 no connection", headers(&[("upgrade", "websocket"), ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), Err("connection does not name upgrade")),
            ("§4.1 ¶5.6 unoffered extension", answer(&[("sec-websocket-extensions", "permessage-bzip2")]), Err("an extension that was not offered")),
            ("§4.1 ¶5.6 offered name is case-sensitive", answer(&[("sec-websocket-extensions", "Permessage-Deflate")]), Err("an extension that was not offered")),
            ("§4.1 ¶5.5 unoffered subprotocol", answer(&[("sec-websocket-protocol", "graphql-ws")]), Err("a subprotocol that was not offered")),
            ("§4.1 ¶5.5 two subprotocols", answer(&[("sec-websocket-protocol", "chat"), ("sec-websocket-protocol", "vite-hmr")]), Err("more than one subprotocol")),
        ];
        for (name, answer, expected) in cases {
            assert_eq!(&offer.check_answer(answer), expected, "{name}");
        }
    }

    #[test]
    fn no_subprotocol_offered_refuses_any_answer() {
        let offer = Offer::read(
            &headers(&[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]),
            example_accept(),
        );
        assert_eq!(
            offer.check_answer(&answer(&[("sec-websocket-protocol", "chat")])),
            Err("a subprotocol that was not offered")
        );
        assert_eq!(
            offer.check_answer(&answer(&[(
                "sec-websocket-extensions",
                "permessage-deflate"
            )])),
            Err("an extension that was not offered")
        );
    }

    #[test]
    fn quoted_commas_do_not_split() {
        assert_eq!(split_list(r#"a; p="x,y", b"#), vec![r#"a; p="x,y""#, "b"]);
        assert_eq!(split_list(" , ,a,,"), vec!["a"]);
    }
}
