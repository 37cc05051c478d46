//! Properties of the policy over generated inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;

use crossguard::__internals::{HostAllowlist, HostPort, Origin, OriginAllowlist};
use crossguard::{ConfigError, GuardLayer, HostMistake, OriginMistake, Policy, RequestHead};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, Version};
use proptest::prelude::*;
use tower::{Layer as _, Service as _};

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
}

/// A domain name whose last label is alphabetic (all-numeric names are refused as ambiguous).
fn domain() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 0..3), "[a-z]{2,6}").prop_map(|(mut labels, tld)| {
        labels.push(tld);
        labels.join(".")
    })
}

/// Variants of a host that must never match it, however alike they look.
fn confusions(host: &str) -> Vec<String> {
    vec![
        format!("{host}.evil.com"),
        format!("evil{host}"),
        format!("{host}x"),
        format!("x{host}"),
        format!("{host}.{host}"),
        host.replace('.', "-"),
    ]
}

proptest! {
    /// An exact origin entry admits exactly its origin: case and explicit default port are the
    /// same origin; another scheme, port, or any look-alike host is not.
    #[test]
    fn origin_allowlist_admits_exactly_its_entries(host in domain(), https in any::<bool>(), port in prop::option::of(1024u16..)) {
        let scheme = if https { "https" } else { "http" };
        let entry = match port { Some(p) => format!("{scheme}://{host}:{p}"), None => format!("{scheme}://{host}") };
        let mut list = OriginAllowlist::new();
        list.push(&entry).unwrap();
        let admits = |o: &str| Origin::parse(o.as_bytes()).map(|o| list.contains(&o)).unwrap_or(false);
        assert!(admits(&entry));
        assert!(admits(&entry.to_ascii_uppercase()));
        let default = if https { 443 } else { 80 };
        let explicit = format!("{scheme}://{host}:{}", port.unwrap_or(default));
        assert!(admits(&explicit));
        let other_scheme = if https { "http" } else { "https" };
        assert!(!admits(&entry.replacen(scheme, other_scheme, 1)));
        let other_port = port.unwrap_or(default).wrapping_add(1).max(1);
        assert!(!admits(&format!("{scheme}://{host}:{other_port}")));
        for fake in confusions(&host) {
            let fake_origin = match port { Some(p) => format!("{scheme}://{fake}:{p}"), None => format!("{scheme}://{fake}") };
            if fake != host {
                assert!(!admits(&fake_origin), "{fake_origin} admitted by {entry}");
            }
        }
    }

    /// A wildcard entry admits strict subdomains only.
    #[test]
    fn origin_wildcard_admits_subdomains_only(host in domain(), sub in label()) {
        let mut list = OriginAllowlist::new();
        let pushed = list.push(&format!("https://*.{host}"));
        // A public suffix (`*.ck`, `co.uk`) is refused by design; that refusal is tested apart.
        prop_assume!(!matches!(pushed, Err(ConfigError::InvalidOrigin { why: OriginMistake::WildcardOnPublicSuffix, .. })));
        pushed.unwrap();
        let admits = |o: &str| Origin::parse(o.as_bytes()).map(|o| list.contains(&o)).unwrap_or(false);
        assert!(admits(&format!("https://{sub}.{host}")));
        assert!(admits(&format!("https://{sub}.{sub}.{host}")));
        assert!(!admits(&format!("https://{host}")));
        assert!(!admits(&format!("http://{sub}.{host}")));
        for fake in confusions(&host) {
            if fake != host && !fake.ends_with(&format!(".{host}")) {
                assert!(!admits(&format!("https://{sub}.{fake}")), "{sub}.{fake}");
            }
        }
    }

    /// A host entry admits its host (any case, trailing dot, any port) and no look-alike; a
    /// `.domain` entry admits the apex and subdomains only.
    #[test]
    fn host_allowlist_admits_exactly_its_entries(host in domain(), port in 1u16.., sub in label()) {
        let mut exact = HostAllowlist::new();
        exact.push(&host).unwrap();
        let mut domain_list = HostAllowlist::new();
        let pushed = domain_list.push(&format!(".{host}"));
        prop_assume!(!matches!(pushed, Err(ConfigError::InvalidHost { why: HostMistake::DomainIsPublicSuffix, .. })));
        pushed.unwrap();
        let mut with_port = HostAllowlist::new();
        with_port.push(&format!("{host}:{port}")).unwrap();
        let allows = |list: &HostAllowlist, h: &str| HostPort::parse(h.as_bytes()).map(|a| list.allows(&a)).unwrap_or(false);
        assert!(allows(&exact, &host));
        assert!(allows(&exact, &format!("{}.:{port}", host.to_ascii_uppercase())));
        assert!(!allows(&exact, &format!("{sub}.{host}")) || sub.is_empty());
        assert!(allows(&domain_list, &host));
        assert!(allows(&domain_list, &format!("{sub}.{host}:{port}")));
        assert!(allows(&with_port, &format!("{host}:{port}")));
        assert!(!allows(&with_port, &format!("{host}:{}", port.wrapping_add(1).max(1))) || port == u16::MAX);
        for fake in confusions(&host) {
            if fake != host && !fake.ends_with(&format!(".{host}")) {
                assert!(!allows(&exact, &fake), "{fake}");
                assert!(!allows(&domain_list, &fake), "{fake}");
            }
        }
    }
}

/// A request head generated from the signals browsers and attackers send.
fn head_fields() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    let method = prop::sample::select(vec![
        "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "TRACE",
    ]);
    let host = prop::sample::select(vec![
        "localhost:8188",
        "127.0.0.1:8188",
        "attacker.example:8188",
        "LOCALHOST:8188",
    ]);
    let origin = prop::option::of(prop::sample::select(vec![
        "http://localhost:8188",
        "http://localhost:3000",
        "https://evil.example",
        "null",
        "https://trusted.example",
        "http://evil@localhost:8188",
        "http://localhost:8188/",
    ]));
    let site = prop::option::of(prop::sample::select(vec![
        "same-origin",
        "same-site",
        "cross-site",
        "none",
        "bogus",
    ]));
    let mode = prop::option::of(prop::sample::select(vec![
        "navigate",
        "cors",
        "no-cors",
        "websocket",
    ]));
    let dest = prop::option::of(prop::sample::select(vec![
        "document", "empty", "image", "object", "iframe",
    ]));
    let ws = any::<bool>();
    let filler = prop::collection::vec(("x-[a-z]{1,6}", "[a-z0-9 ]{0,10}"), 0..4);
    (method, host, origin, site, mode, dest, ws, filler).prop_map(
        |(m, h, o, s, md, d, ws, filler)| {
            let mut fields: Vec<(String, String)> = vec![("host".into(), h.into())];
            let mut add = |n: &str, v: Option<&str>| {
                if let Some(v) = v {
                    fields.push((n.into(), v.into()));
                }
            };
            add("origin", o);
            add("sec-fetch-site", s);
            add("sec-fetch-mode", md);
            add("sec-fetch-dest", d);
            if ws {
                add("upgrade", Some("websocket"));
                add("connection", Some("Upgrade"));
                add("sec-websocket-key", Some("dGhlIHNhbXBsZSBub25jZQ=="));
                add("sec-websocket-version", Some("13"));
            }
            fields.extend(filler);
            (m.to_owned(), fields)
        },
    )
}

fn build(method: &str, fields: &[(String, String)]) -> Request<String> {
    let mut request = Request::new("body".to_owned());
    *request.method_mut() = Method::from_bytes(method.as_bytes()).unwrap();
    *request.uri_mut() = Uri::from_static("/api/prompt?x=1");
    *request.version_mut() = Version::HTTP_11;
    for (name, value) in fields {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    request
}

/// What the inner service saw.
fn seen_by_service(
    policy: &Policy,
    request: Request<String>,
) -> Option<(Method, Uri, Version, HeaderMap, String)> {
    let captured = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sink = captured.clone();
    let inner = tower::service_fn(move |req: Request<String>| {
        let (parts, body) = req.into_parts();
        *sink.lock().unwrap() = Some((parts.method, parts.uri, parts.version, parts.headers, body));
        std::future::ready(Ok::<_, Infallible>(Response::new(String::new())))
    });
    let mut service = GuardLayer::new(policy.clone()).layer(inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(async { service.call(request).await })
        .unwrap();
    captured.lock().unwrap().take()
}

proptest! {
    /// Report-only never changes what the inner service sees, and reports exactly the rejection
    /// enforcement would answer with.
    #[test]
    fn report_only_is_transparent((method, fields) in head_fields()) {
        let enforcing = Policy::local().allow_origin("https://trusted.example").build().unwrap();
        let reporting = Policy::local().allow_origin("https://trusted.example").report_only(true).build().unwrap();
        let request = build(&method, &fields);
        let expected = build(&method, &fields);
        let seen = seen_by_service(&reporting, request).expect("report-only always calls the service");
        assert_eq!(&seen.0, expected.method());
        assert_eq!(&seen.1, expected.uri());
        assert_eq!(seen.2, expected.version());
        assert_eq!(&seen.3, expected.headers());
        assert_eq!(&seen.4, expected.body());
        let reported = reporting.check_request(&expected).unwrap().reported();
        assert_eq!(reported, enforcing.check_request(&expected).err());
    }

    /// The verdict does not depend on the order of header fields: every rule reads single fields
    /// or token lists, whose order RFC 9110 §5.3 makes significant only within one name.
    #[test]
    fn verdict_ignores_field_order((method, fields) in head_fields(), seed in any::<u64>()) {
        let policies = [
            Policy::default(),
            Policy::local().allow_origin("https://trusted.example").allow_same_site(true).build().unwrap(),
        ];
        let mut shuffled = fields.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for policy in &policies {
            let a = policy.check_request(&build(&method, &fields));
            let b = policy.check_request(&build(&method, &shuffled));
            assert_eq!(a, b);
        }
    }

    /// Any bytes in any signal field: a verdict, never a panic.
    #[test]
    fn arbitrary_field_values_never_panic(
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 6),
        method in prop::sample::select(vec!["GET", "POST", "CONNECT"]),
    ) {
        let names = ["host", "origin", "sec-fetch-site", "sec-fetch-mode", "upgrade", "sec-websocket-extensions"];
        let mut request = Request::new(());
        *request.method_mut() = Method::from_bytes(method.as_bytes()).unwrap();
        for (name, value) in names.iter().zip(&values) {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                request.headers_mut().append(*name, value);
            }
        }
        let head = RequestHead::from_request(&request);
        let _ = Policy::local().build().unwrap().check(&head);
        let _ = Policy::default().check(&head.with_protocol(Some("websocket")));
    }
}

/// Fields a browser, a proxy or an attacker may add, each with values that would matter if any
/// check read them.
fn other_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "sec-fetch-user",
        "sec-fetch-storage-access",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "sec-websocket-accept",
        "sec-ch-ua",
        "user-agent",
        "referer",
        "cookie",
        "content-type",
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
        "access-control-request-method",
        "Origin",
        "HOST",
        "Sec-Fetch-Site",
    ]);
    let value = prop::sample::select(vec![
        "https://evil.example",
        "localhost:8188",
        "cross-site",
        "same-origin",
        "websocket",
        "chat",
        "permessage-deflate; client_max_window_bits",
        "?1",
        "",
    ]);
    prop::collection::vec((name, value), 0..6).prop_map(|fields| {
        fields
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    })
}

proptest! {
    /// The verdict depends only on the fields `Policy::read_field` names: leaving every other
    /// field out (as the Python bindings do) changes nothing, under policies that read every
    /// field (subprotocols, deflate, origin and host allowlists, resource isolation).
    #[test]
    fn verdict_reads_only_the_fields_it_names(
        (method, mut fields) in head_fields(),
        others in other_fields(),
        seed in any::<u64>(),
    ) {
        for (i, field) in others.into_iter().enumerate() {
            let at = (seed as usize).wrapping_add(i * 7) % (fields.len() + 1);
            fields.insert(at, field);
        }
        let policies = [
            Policy::default(),
            Policy::local()
                .allow_origin("https://evil.example")
                .allow_host("attacker.example:8188")
                .websocket_protocol("chat")
                .build()
                .unwrap(),
            Policy::builder().allow_same_site(true).require_origin_for_websocket(true).build().unwrap(),
        ];
        let read: Vec<(String, String)> = fields
            .iter()
            .filter(|(name, _)| {
                Policy::read_field(name.as_bytes())
                    .is_some_and(|read| read.as_str().eq_ignore_ascii_case(name))
            })
            .cloned()
            .collect();
        for policy in &policies {
            for protocol in [None, Some("websocket")] {
                let all = build(&method, &fields);
                let only_read = build(&method, &read);
                let all = RequestHead::from_request(&all).with_protocol(protocol);
                let only_read = RequestHead::from_request(&only_read).with_protocol(protocol);
                assert_eq!(policy.check(&all), policy.check(&only_read));
            }
        }
    }
}
