//! The fields a proxy must not pass on (RFC 9110 §7.6.1), and the ones it adds (`X-Forwarded-*`)
//! or rewrites (`Host`, `Origin`, `Referer` under `--rewrite-host`).

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::upstream::Upstream;

/// Fields that describe one connection, not the message (RFC 9110 §7.6.1).
static HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes the hop-by-hop fields: `Connection` and every field it names, `Proxy-Connection`,
/// `Keep-Alive`, `TE`, `Transfer-Encoding` and `Upgrade`. With `keep_upgrade` (a WebSocket
/// handshake, or the upstream's `101` to it) `Upgrade` is kept as received and `Connection` is
/// `upgrade`.
///
/// `Host` stays whatever `Connection` says: the guard decided on it, and the upstream must see
/// the same one.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // One pass over the names finds which are there (most messages carry none, or only
    // `Connection`); only those are looked up again to be removed.
    let mut present = [false; 6];
    for name in headers.keys() {
        if let Some(index) = HOP_BY_HOP.iter().position(|hop| hop == name) {
            if let Some(flag) = present.get_mut(index) {
                *flag = true;
            }
        }
    }
    if !present.contains(&true) {
        return;
    }
    // `Connection` is first in `HOP_BY_HOP`.
    let named: Vec<HeaderName> = if present.first() == Some(&true) {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            // `keep-alive` (the usual token) and `upgrade` are removed below in any case.
            .filter(|token| {
                !token.is_empty()
                    && !HOP_BY_HOP
                        .iter()
                        .any(|hop| token.eq_ignore_ascii_case(hop.as_str().as_bytes()))
            })
            .filter_map(|token| HeaderName::from_bytes(token).ok())
            .filter(|name| name != header::HOST)
            .collect()
    } else {
        Vec::new()
    };
    let upgrade: Vec<HeaderValue> = if keep_upgrade {
        headers.get_all(header::UPGRADE).iter().cloned().collect()
    } else {
        Vec::new()
    };
    for name in &named {
        headers.remove(name);
    }
    for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, there)| *there) {
        headers.remove(name);
    }
    if keep_upgrade && !upgrade.is_empty() {
        for value in upgrade {
            headers.append(header::UPGRADE, value);
        }
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The client's address as an `X-Forwarded-For` value (made once per connection).
pub(crate) fn forwarded_for(client: IpAddr) -> HeaderValue {
    HeaderValue::try_from(client.to_string()).unwrap_or(HeaderValue::from_static("unknown"))
}

/// Client-supplied fields that name a client, a proxy or a protocol: the proxy is the edge, so
/// whatever a client put there is a claim nobody checked (an app that trusts the leftmost
/// address could be misled), and is dropped.
static CLIENT_CLAIMS: [HeaderName; 2] = [header::FORWARDED, HeaderName::from_static("x-real-ip")];

/// Sets `X-Forwarded-For` to the client's address alone, `X-Forwarded-Host` to the received
/// authority (port included) and `X-Forwarded-Proto` to `http`; drops the client's own
/// `Forwarded` and `X-Real-IP`. The proxy is the first hop: it trusts no forwarding field a
/// client sent.
pub(crate) fn add_forwarded(
    headers: &mut HeaderMap,
    client: &HeaderValue,
    host: Option<&HeaderValue>,
) {
    if headers.keys().any(|name| CLIENT_CLAIMS.contains(name)) {
        for name in &CLIENT_CLAIMS {
            headers.remove(name);
        }
    }
    headers.insert(X_FORWARDED_FOR, client.clone());
    match host {
        Some(host) => {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
        None => {
            headers.remove(X_FORWARDED_HOST);
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
}

/// `--rewrite-host`: the upstream's own authority as `Host`; for a request the guard allowed,
/// `Origin` and the origin of `Referer` become the upstream's origin.
pub(crate) fn rewrite_for_upstream(headers: &mut HeaderMap, upstream: &Upstream, allowed: bool) {
    headers.insert(header::HOST, upstream.authority_value().clone());
    if !allowed {
        return;
    }
    if headers.contains_key(header::ORIGIN) {
        headers.insert(header::ORIGIN, upstream.origin_value().clone());
    }
    let referer = headers
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<http::Uri>().ok())
        .filter(|uri| {
            matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some()
        })
        .map(|uri| {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            format!("{}{path}", upstream.origin())
        });
    if let Some(rewritten) = referer.and_then(|r| HeaderValue::from_str(&r).ok()) {
        headers.insert(header::REFERER, rewritten);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn map(fields: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn names(headers: &HeaderMap) -> Vec<String> {
        let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn rfc9110_7_6_1_hop_by_hop_fields_are_removed() {
        let mut headers = map(&[
            ("host", "localhost:8189"),
            ("connection", "keep-alive, X-Secret"),
            ("connection", "host"),
            ("x-secret", "1"),
            ("proxy-connection", "keep-alive"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("accept", "*/*"),
        ]);
        remove_hop_by_hop(&mut headers, false);
        assert_eq!(names(&headers), ["accept", "host"]);
    }

    #[test]
    fn websocket_handshake_keeps_upgrade() {
        let mut headers = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        remove_hop_by_hop(&mut headers, true);
        assert_eq!(headers["upgrade"], "websocket");
        assert_eq!(headers["connection"], "upgrade");
        assert_eq!(headers["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn forwarding_fields_name_the_client_only() {
        let mut headers = map(&[
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-for", "10.0.0.2"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=10.0.0.3;proto=https"),
            ("x-real-ip", "10.0.0.4"),
        ]);
        let host = HeaderValue::from_static("localhost:8189");
        let client = forwarded_for("127.0.0.1".parse().unwrap());
        add_forwarded(&mut headers, &client, Some(&host));
        assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
        assert_eq!(headers.get("forwarded"), None);
        assert_eq!(headers.get("x-real-ip"), None);
        assert_eq!(headers["x-forwarded-host"], "localhost:8189");
        assert_eq!(headers["x-forwarded-proto"], "http");
    }

    #[test]
    fn rewrite_host_rewrites_origin_and_referer_origin() {
        let upstream = Upstream::parse("http://127.0.0.1:8188").unwrap();
        let mut headers = map(&[
            ("host", "mybox.tailnet.ts.net:8189"),
            ("origin", "http://mybox.tailnet.ts.net:8189"),
            ("referer", "http://mybox.tailnet.ts.net:8189/lab/tree?x=1"),
        ]);
        rewrite_for_upstream(&mut headers, &upstream, true);
        assert_eq!(headers["host"], "127.0.0.1:8188");
        assert_eq!(headers["origin"], "http://127.0.0.1:8188");
        assert_eq!(headers["referer"], "http://127.0.0.1:8188/lab/tree?x=1");

        let mut reported = map(&[("host", "evil.example"), ("origin", "http://evil.example")]);
        rewrite_for_upstream(&mut reported, &upstream, false);
        assert_eq!(reported["host"], "127.0.0.1:8188");
        assert_eq!(reported["origin"], "http://evil.example");
    }
}
