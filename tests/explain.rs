//! `Policy::explain` is the decision of `Policy::check`, recorded: it can never disagree with it,
//! and it marks exactly the check that refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crossguard::explain::SecFetchSite;
use crossguard::explain::{Check, Finding, Outcome};
use crossguard::{Policy, Rejection, RequestHead};
use http::{Request, Version};
use proptest::prelude::*;

fn policies() -> Vec<Policy> {
    vec![
        Policy::default(),
        Policy::local().build().unwrap(),
        Policy::local()
            .allow_origin("https://app.example")
            .allow_same_site(true)
            .build()
            .unwrap(),
        Policy::local().report_only(true).build().unwrap(),
        Policy::builder()
            .bypass(|_, uri| uri.path() == "/hook")
            .require_origin_for_websocket(true)
            .build()
            .unwrap(),
    ]
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(options))
}

prop_compose! {
    fn head()(
        method in prop::sample::select(&["GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS"][..]),
        target in prop::sample::select(&["/", "/hook", "/ws", "http://localhost:8188/x", "http://evil.example/x"][..]),
        version in prop::sample::select(&[Version::HTTP_10, Version::HTTP_11, Version::HTTP_2][..]),
        host in pick(&["localhost:8188", "evil.example", "127.0.0.1:8188", "a b", "[::1]"]),
        host2 in pick(&["localhost:8188"]),
        origin in pick(&["http://localhost:8188", "https://app.example", "https://evil.example", "null", "http://localhost:8188/", ""]),
        origin2 in pick(&["https://evil.example"]),
        site in pick(&["same-origin", "same-site", "cross-site", "none", "weird", "a b"]),
        mode in pick(&["navigate", "cors", "no-cors", "websocket", ""]),
        dest in pick(&["document", "image", "object", "empty", ""]),
        upgrade in pick(&["websocket", "websocket/13", "h2c"]),
        connection in pick(&["Upgrade", "keep-alive"]),
        key in pick(&["dGhlIHNhbXBsZSBub25jZQ==", "short"]),
        ws_version in pick(&["13", "8"]),
        extensions in pick(&["permessage-deflate; client_max_window_bits", "permessage-deflate;"]),
    ) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(target).version(version);
        for (name, value) in [
            ("host", host), ("host", host2), ("origin", origin), ("origin", origin2),
            ("sec-fetch-site", site), ("sec-fetch-mode", mode), ("sec-fetch-dest", dest),
            ("upgrade", upgrade), ("connection", connection), ("sec-websocket-key", key),
            ("sec-websocket-version", ws_version), ("sec-websocket-extensions", extensions),
        ] {
            if let Some(value) = value {
                builder = builder.header(name, value);
            }
        }
        builder.body(()).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn explain_is_check_recorded(request in head()) {
        let head = RequestHead::from_request(&request);
        for policy in policies() {
            let checked = policy.check(&head);
            let explanation = policy.explain(&head);
            prop_assert_eq!(explanation.result(), &checked);
            let refused: Vec<Rejection> = explanation.steps().filter_map(|s| match s.outcome {
                Outcome::Refused(r) => Some(r),
                _ => None,
            }).collect();
            let allowed = explanation.steps().filter(|s| matches!(s.outcome, Outcome::Allowed(_))).count();
            match &checked {
                Err(rejection) => prop_assert_eq!(&refused, &vec![*rejection]),
                Ok(verdict) => {
                    // Report-only: the would-be refusal is the one refused step.
                    let want: Vec<Rejection> = verdict.reported().into_iter().collect();
                    prop_assert_eq!(&refused, &want);
                }
            }
            prop_assert!(allowed <= 1, "{:?}", explanation);
        }
    }
}

/// Outcomes for the requests of docs/policy.md, pinned.
#[test]
fn pinned_explanations() {
    let local = Policy::local().build().unwrap();
    let post = |site: &str, origin: &str| {
        Request::post("/api/prompt")
            .header("host", "localhost:8188")
            .header("sec-fetch-site", site)
            .header("origin", origin)
            .body(())
            .unwrap()
    };
    // The Origin is consulted only for the allowlist when Sec-Fetch-Site refuses.
    let explanation = local.explain(&RequestHead::from_request(&post(
        "cross-site",
        "https://evil.example",
    )));
    assert_eq!(
        explanation.outcome(Check::SecFetchSite),
        Outcome::Refused(Rejection::CrossSiteRequest)
    );
    assert_eq!(
        explanation.outcome(Check::Origin),
        Outcome::NotDecisive(Finding::OriginNotAllowlisted)
    );
    assert_eq!(explanation.outcome(Check::SecFetchMode), Outcome::Absent);
    assert_eq!(
        explanation.outcome(Check::Host),
        Outcome::Passed(Finding::HostAllowlisted)
    );
    // Same-origin by Fetch Metadata: the Origin is not consulted at all.
    let explanation = local.explain(&RequestHead::from_request(&post(
        "same-origin",
        "http://localhost:5173",
    )));
    assert_eq!(
        explanation.outcome(Check::SecFetchSite),
        Outcome::Allowed(Finding::Site(SecFetchSite::SameOrigin))
    );
    assert_eq!(explanation.outcome(Check::Origin), Outcome::NotConsulted);
    // A Host refusal: nothing after it is reached.
    let rebinding = Request::post("/")
        .header("host", "evil.example")
        .header("origin", "http://evil.example")
        .body(())
        .unwrap();
    let explanation = local.explain(&RequestHead::from_request(&rebinding));
    assert_eq!(
        explanation.outcome(Check::Host),
        Outcome::Refused(Rejection::HostNotAllowed)
    );
    assert_eq!(explanation.outcome(Check::Origin), Outcome::NotReached);
    assert_eq!(
        Check::ALL
            .iter()
            .filter(|c| explanation.outcome(**c) == Outcome::NotReached)
            .count(),
        13
    );
    // A handshake whose key is invalid: the fields after it are not reached, its Origin neither.
    let handshake = Request::get("/ws")
        .header("host", "localhost:8188")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "short")
        .header("sec-websocket-version", "13")
        .header("origin", "https://evil.example")
        .body(())
        .unwrap();
    let explanation = local.explain(&RequestHead::from_request(&handshake));
    assert!(explanation.is_handshake());
    assert_eq!(
        explanation.outcome(Check::Connection),
        Outcome::Passed(Finding::Valid)
    );
    assert_eq!(
        explanation.outcome(Check::SecWebSocketKey),
        Outcome::Refused(Rejection::InvalidWebSocketKey)
    );
    assert_eq!(
        explanation.outcome(Check::SecWebSocketVersion),
        Outcome::NotReached
    );
    assert_eq!(explanation.outcome(Check::Origin), Outcome::NotConsulted);
    assert_eq!(
        explanation.steps().count(),
        13,
        "no bypass configured: 13 of the 14 checks apply"
    );
}

/// The names a report prints, and which checks belong to a handshake.
#[test]
fn check_names_and_kinds() {
    #[rustfmt::skip]
    let rows: &[(Check, &str, bool)] = &[
        (Check::Host, "Host", false),
        (Check::Origin, "Origin", false),
        (Check::SecFetchSite, "Sec-Fetch-Site", false),
        (Check::SecFetchMode, "Sec-Fetch-Mode", false),
        (Check::SecFetchDest, "Sec-Fetch-Dest", false),
        (Check::HttpVersion, "HTTP version", true),
        (Check::Upgrade, "Upgrade", true),
        (Check::Method, "Method", true),
        (Check::Connection, "Connection", true),
        (Check::SecWebSocketKey, "Sec-WebSocket-Key", true),
        (Check::SecWebSocketVersion, "Sec-WebSocket-Version", true),
        (Check::SecWebSocketProtocol, "Sec-WebSocket-Protocol", true),
        (Check::SecWebSocketExtensions, "Sec-WebSocket-Extensions", true),
        (Check::Bypass, "Bypass", false),
    ];
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), Check::ALL);
    for (check, name, handshake) in rows {
        assert_eq!(check.as_str(), *name);
        assert_eq!(check.to_string(), *name);
        assert_eq!(check.is_handshake_field(), *handshake, "{name}");
    }
    // A handshake's explanation lists its eight fields; a plain request's does not.
    let handshake = Request::get("/ws")
        .header("host", "localhost:8188")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let explanation = Policy::default().explain(&RequestHead::from_request(&handshake));
    assert_eq!(
        explanation
            .steps()
            .filter(|s| s.check.is_handshake_field())
            .count(),
        8
    );
    assert!(
        explanation
            .steps()
            .all(|s| s.outcome != Outcome::NotReached)
    );
    let plain = Request::get("/")
        .header("host", "localhost:8188")
        .body(())
        .unwrap();
    let explanation = Policy::default().explain(&RequestHead::from_request(&plain));
    assert!(!explanation.is_handshake());
    assert_eq!(
        explanation.steps().map(|s| s.check).collect::<Vec<_>>(),
        [
            Check::Host,
            Check::Origin,
            Check::SecFetchSite,
            Check::SecFetchMode,
            Check::SecFetchDest
        ]
    );
}

/// Only an allow or a refusal decides.
#[test]
fn decisive_outcomes() {
    #[rustfmt::skip]
    let rows: &[(Outcome, bool)] = &[
        (Outcome::Allowed(Finding::SameOrigin), true),
        (Outcome::Refused(Rejection::CrossSiteRequest), true),
        (Outcome::Passed(Finding::HostAllowlisted), false),
        (Outcome::NotDecisive(Finding::OriginNotAllowlisted), false),
        (Outcome::NotConsulted, false),
        (Outcome::Absent, false),
        (Outcome::NotReached, false),
    ];
    for (outcome, decisive) in rows {
        assert_eq!(outcome.is_decisive(), *decisive, "{outcome:?}");
    }
}

/// Under resource isolation a navigation is allowed by its `Sec-Fetch-Mode`; a plugin embed's
/// `navigate` decides nothing, and `Sec-Fetch-Site` refuses.
#[test]
fn navigation_outcomes() {
    use crossguard::explain::{SecFetchDest, SecFetchMode};
    let local = Policy::local().build().unwrap();
    let get = |dest: &str| {
        Request::get("/view")
            .header("host", "localhost:8188")
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", dest)
            .body(())
            .unwrap()
    };
    let document = local.explain(&RequestHead::from_request(&get("document")));
    assert_eq!(
        document.outcome(Check::SecFetchMode),
        Outcome::Allowed(Finding::Mode(SecFetchMode::Navigate))
    );
    assert_eq!(
        document.outcome(Check::SecFetchDest),
        Outcome::NotDecisive(Finding::Dest(SecFetchDest::Document))
    );
    assert_eq!(
        document.outcome(Check::SecFetchSite),
        Outcome::NotDecisive(Finding::Site(SecFetchSite::CrossSite))
    );
    let object = local.explain(&RequestHead::from_request(&get("object")));
    assert_eq!(
        object.outcome(Check::SecFetchMode),
        Outcome::NotDecisive(Finding::Mode(SecFetchMode::Navigate))
    );
    assert_eq!(
        object.outcome(Check::SecFetchDest),
        Outcome::NotDecisive(Finding::Dest(SecFetchDest::Object))
    );
    assert_eq!(
        object.outcome(Check::SecFetchSite),
        Outcome::Refused(Rejection::CrossSiteResource)
    );
}

/// Every Fetch Metadata value the Fetch Standard defines parses to its own variant (the
/// explanation names it), others to `Unknown`/`Other`.
#[test]
fn fetch_metadata_values() {
    use crossguard::explain::{SecFetchDest, SecFetchMode};
    use http::HeaderValue;
    let mode = |v: &'static str| SecFetchMode::parse(&HeaderValue::from_static(v)).unwrap();
    #[rustfmt::skip]
    let modes = [("navigate", SecFetchMode::Navigate), ("cors", SecFetchMode::Cors), ("no-cors", SecFetchMode::NoCors), ("same-origin", SecFetchMode::SameOrigin), ("websocket", SecFetchMode::WebSocket), ("webtransport", SecFetchMode::Unknown)];
    for (value, want) in modes {
        assert_eq!(mode(value), want, "Fetch Standard, request mode {value}");
    }
    let dest = |v: &'static str| SecFetchDest::parse(&HeaderValue::from_static(v)).unwrap();
    #[rustfmt::skip]
    let dests = [("document", SecFetchDest::Document), ("iframe", SecFetchDest::Frame), ("frame", SecFetchDest::Frame), ("object", SecFetchDest::Object), ("embed", SecFetchDest::Embed), ("image", SecFetchDest::Other), ("empty", SecFetchDest::Other)];
    for (value, want) in dests {
        assert_eq!(
            dest(value),
            want,
            "Fetch Standard, request destination {value}"
        );
    }
    let site = |v: &'static str| SecFetchSite::parse(&HeaderValue::from_static(v)).unwrap();
    #[rustfmt::skip]
    let sites = [("same-origin", SecFetchSite::SameOrigin), ("same-site", SecFetchSite::SameSite), ("cross-site", SecFetchSite::CrossSite), ("none", SecFetchSite::None), ("weird", SecFetchSite::Unknown)];
    for (value, want) in sites {
        assert_eq!(site(value), want, "Fetch Metadata, Sec-Fetch-Site {value}");
    }
}
