//! A whole request head: bytes → httparse → http::Request → the full guard verdict (policy and
//! handshake), under several policies.
#![no_main]

use crossguard::__internals::{HostPort, Origin};
use crossguard::explain::SecFetchSite;
use crossguard::websocket::{accept_key, is_handshake};
use crossguard::{Policy, Rejection, RequestHead, Rule};
use http::{HeaderName, HeaderValue, Method, Request, Version};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Policies {
    default: Policy,
    local: Policy,
    local_report_only: Policy,
}

fn policies() -> &'static Policies {
    static POLICIES: OnceLock<Policies> = OnceLock::new();
    POLICIES.get_or_init(|| Policies {
        default: Policy::default(),
        local: Policy::local()
            .allow_origin("https://trusted.example")
            .websocket_protocol("chat")
            .build()
            .unwrap(),
        local_report_only: Policy::local()
            .allow_origin("https://trusted.example")
            .websocket_protocol("chat")
            .report_only(true)
            .build()
            .unwrap(),
    })
}

fn to_request(data: &[u8]) -> Option<Request<()>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    parsed.parse(data).ok()?;
    let mut builder = Request::builder()
        .method(Method::from_bytes(parsed.method?.as_bytes()).ok()?)
        .uri(parsed.path?)
        .version(if parsed.version? == 0 {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        });
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        builder = builder.header(name, value);
    }
    builder.body(()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = to_request(data) else {
        return;
    };
    let head = RequestHead::from_request(&request);
    let p = policies();
    let default = p.default.check(&head);
    let local = p.local.check(&head);

    // Report-only never refuses, and reports exactly what enforcing would refuse.
    let reported = p
        .local_report_only
        .check(&head)
        .expect("report-only never refuses");
    assert_eq!(reported.reported(), local.as_ref().err().copied());

    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let handshake = is_handshake(&head);
    let mut sites = request.headers().get_all("sec-fetch-site").iter();
    let site = match (sites.next(), sites.next()) {
        (Some(v), None) => SecFetchSite::parse(v).ok(),
        _ => None,
    };

    // An unsafe request the browser labelled cross-site (or same-site, or unknown) is never
    // allowed by a policy without allowlisted origins.
    if !safe && !handshake {
        if let Some(site) = site {
            if !site.is_trusted() {
                assert!(
                    default.is_err(),
                    "cross-site unsafe request allowed: {default:?}"
                );
            }
        }
    }

    // Allowed by `local` with an Origin: the Origin was allowlisted, the request's own, or the
    // browser vouched for the request.
    if let Ok(verdict) = &local {
        if verdict.rule() == Rule::OriginAllowlist {
            let origin = request
                .headers()
                .get("origin")
                .expect("allowlisted without Origin");
            assert_eq!(
                Origin::parse(origin.as_bytes())
                    .ok()
                    .and_then(|o| o.host())
                    .map(|h| format!("{h:?}")),
                Some("Name(\"trusted.example\")".to_owned())
            );
        }
        // Every allowed request has an allowlisted loopback authority.
        let authority = authority(&request).unwrap();
        assert!(authority.host().is_loopback());
    }

    for verdict in [&default, &local] {
        match verdict {
            Ok(v) => {
                if let Some(h) = v.handshake() {
                    assert!(handshake);
                    let key = request.headers().get("sec-websocket-key").unwrap();
                    assert_eq!(h.accept(), Some(accept_key(key.as_bytes())));
                    // An allowed browser handshake (with Origin) is same-origin or allowlisted.
                    if let Some(origin) = request.headers().get("origin") {
                        let origin = Origin::parse(origin.as_bytes()).unwrap();
                        let authority = authority(&request);
                        let own = authority.is_some_and(|a| origin.is_same_authority(&a));
                        assert!(own || v.rule() == Rule::OriginAllowlist, "{v:?}");
                    }
                }
            }
            Err(r) => assert!(Rejection::ALL.iter().any(|k| k.reason() == r.reason())),
        }
    }
});

/// The request's authority as an allowed request must have it: the target's, else `Host`.
fn authority<B>(request: &http::Request<B>) -> Option<HostPort<'_>> {
    let text = match request.uri().authority() {
        Some(authority) => authority.as_str().as_bytes(),
        None => request.headers().get("host")?.as_bytes(),
    };
    HostPort::parse(text).ok()
}
