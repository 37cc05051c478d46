//! Heap allocations while deciding, counted by a real global allocator (per thread, so parallel
//! tests do not disturb the count). Counts are deterministic; timings live in `benches/`.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crossguard::websocket::{DeflateConfig, accept_key, negotiate_deflate};
use crossguard::{Policy, RequestHead, Rule};
use http::{HeaderValue, Request};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a plain
// thread-local cell that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

fn request(headers: &[(&str, &str)], method: &str, uri: &str) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

#[test]
fn allowed_same_origin_request_allocates_nothing() {
    let post = request(
        &[
            ("host", "localhost:8188"),
            ("content-type", "application/json"),
            ("origin", "http://localhost:8188"),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "cors"),
            ("sec-fetch-dest", "empty"),
        ],
        "POST",
        "/api/prompt",
    );
    let no_fetch_metadata = request(
        &[
            ("host", "localhost:8188"),
            ("origin", "http://localhost:8188"),
        ],
        "POST",
        "/api/prompt",
    );
    let navigation = request(
        &[
            ("host", "127.0.0.1:8188"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
        ],
        "GET",
        "/",
    );
    let policies = [
        Policy::default(),
        Policy::local()
            .allow_origin("https://a.example")
            .allow_origin("https://*.b.example")
            .build()
            .unwrap(),
    ];
    for policy in &policies {
        for (req, rule) in [
            (&post, Rule::SecFetchSite),
            (&no_fetch_metadata, Rule::Origin),
        ] {
            let (count, verdict) = allocations(|| policy.check(&RequestHead::from_request(req)));
            assert_eq!(verdict.map(|v| v.rule()), Ok(rule));
            assert_eq!(count, 0, "{policy:?} allocated for {rule}");
        }
    }
    let (count, verdict) =
        allocations(|| policies[1].check(&RequestHead::from_request(&navigation)));
    assert_eq!(verdict.map(|v| v.rule()), Ok(Rule::Navigation));
    assert_eq!(count, 0);
    // Rejections are values too.
    let attack = request(
        &[("host", "localhost:8188"), ("sec-fetch-site", "cross-site")],
        "POST",
        "/",
    );
    let (count, verdict) = allocations(|| policies[0].check(&RequestHead::from_request(&attack)));
    assert!(verdict.is_err());
    assert_eq!(count, 0);
}

#[test]
fn accept_key_allocates_nothing() {
    let (count, accept) = allocations(|| accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
    assert_eq!(accept.as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(count, 0);
    let offer = [HeaderValue::from_static(
        "permessage-deflate; client_max_window_bits, permessage-deflate",
    )];
    let config = DeflateConfig::default();
    let (count, agreed) = allocations(|| negotiate_deflate(&offer, Some(&config)));
    assert!(agreed.unwrap().is_some());
    assert_eq!(count, 0);
}

#[test]
fn full_handshake_verdict_has_a_small_fixed_bound() {
    let handshake = request(
        &[
            ("host", "localhost:8188"),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("origin", "http://localhost:8188"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-protocol", "graphql-ws, chat"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits",
            ),
        ],
        "GET",
        "/ws",
    );
    let policy = Policy::builder()
        .websocket_protocol("chat")
        .build()
        .unwrap();
    // The verdict itself: validation, Origin, accept key, subprotocol and deflate negotiation.
    let (count, verdict) = allocations(|| policy.check(&RequestHead::from_request(&handshake)));
    let verdict = verdict.unwrap();
    assert_eq!(verdict.handshake().unwrap().protocol(), Some("chat"));
    assert_eq!(count, 0, "the verdict");
    // The response head: the header map and the values it owns.
    let (count, headers) = allocations(|| verdict.handshake().unwrap().response_headers());
    assert_eq!(headers.len(), 5);
    // The map (indices and entries) and the accept value; the subprotocol is shared, the
    // bare `permessage-deflate` answer is static.
    assert_eq!(count, 3, "the response head");
}

/// What a server's request looks like when it reaches the guard: hyper and axum have already put
/// their own values into its extensions, so the map exists.
fn served(mut request: Request<()>) -> Request<()> {
    #[derive(Clone)]
    struct FromTheServer;
    request.extensions_mut().insert(FromTheServer);
    request
}

/// The layer, with a ready inner service that answers with one header field, as services do: no
/// allocation for an allowed ordinary request (it carries no `Verdict`; the decision allocates
/// nothing), for both presets (the `local` preset's `Vary` is a static value appended to the
/// response's map). A handshake's verdict is boxed into the extensions: exactly one.
#[test]
fn layer_allocates_once_per_allowed_request() {
    use std::future::Future as _;
    use std::task::{Context, Poll, Waker};

    use crossguard::GuardLayer;
    use http::Response;
    use tower::{Layer as _, Service as _};

    let inner = tower::service_fn(|_request: Request<()>| {
        let mut response = Response::new(String::new());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok::<_, std::convert::Infallible>(response))
    });
    let post = || {
        served(request(
            &[
                ("host", "localhost:8188"),
                ("origin", "http://localhost:8188"),
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-mode", "cors"),
                ("sec-fetch-dest", "empty"),
            ],
            "POST",
            "/api/prompt",
        ))
    };
    let mut cx = Context::from_waker(Waker::noop());
    let handshake = || {
        served(request(
            &[
                ("host", "localhost:8188"),
                ("origin", "http://localhost:8188"),
                ("upgrade", "websocket"),
                ("connection", "Upgrade"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("sec-websocket-version", "13"),
            ],
            "GET",
            "/ws",
        ))
    };
    type Make = fn() -> Request<()>;
    let kinds: [(&str, Make, usize); 2] =
        [("same-origin POST", post, 0), ("handshake", handshake, 1)];
    for (policy, (kind, make, added)) in [Policy::default(), Policy::local().build().unwrap()]
        .into_iter()
        .flat_map(|policy| kinds.map(|kind| (policy.clone(), kind)))
    {
        let mut guard = GuardLayer::new(policy.clone()).layer(inner);
        // The inner service's own allocations (its response map) happen with or without the guard.
        let (inner_count, _) = allocations(|| {
            let mut service = inner;
            let mut future = std::pin::pin!(service.call(make()));
            future.as_mut().poll(&mut cx)
        });
        let request = make();
        let (count, poll) = allocations(|| {
            let mut future = std::pin::pin!(guard.call(request));
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(response)) => response,
                _ => panic!("ready at once"),
            }
        });
        let expected_vary = policy
            .resource_isolation()
            .then_some("Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest");
        assert_eq!(
            poll.headers().get("vary").map(|v| v.to_str().unwrap()),
            expected_vary
        );
        // `make()` itself is built outside the count; the inner service allocates `inner_count`.
        let (build, _) = allocations(make);
        assert_eq!(
            count,
            inner_count - build + added,
            "{policy:?}, {kind}: the guard adds exactly {added} allocation(s)"
        );
    }
}
