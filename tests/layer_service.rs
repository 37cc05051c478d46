//! The guard layer in front of real services: axum (`oneshot`) and hyper 1.x through hyper-util on
//! loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Extension, Router};
use crossguard::layer::Report;
use crossguard::{GuardLayer, Policy, Rejection, Verdict};
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::{Layer as _, ServiceBuilder, ServiceExt as _};

fn app(policy: Policy, hits: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/api/prompt",
            post(move |verdict: Option<Extension<Verdict>>| {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    match verdict {
                        Some(Extension(v)) => format!("rule={}", v.rule()),
                        None => "no verdict".to_owned(),
                    }
                }
            }),
        )
        .route("/", get(|| async { "home" }))
        .layer(GuardLayer::new(policy))
}

fn post_prompt(headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post("/api/prompt");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(r#"{"prompt":{}}"#)).unwrap()
}

async fn body_text(response: Response<Body>) -> String {
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test]
async fn axum_cross_site_post_is_refused_before_the_handler() {
    let hits = Arc::new(AtomicUsize::new(0));
    let response = app(Policy::default(), hits.clone())
        .oneshot(post_prompt(&[
            ("host", "localhost:8188"),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::CrossSiteRequest)
    );
    assert_eq!(
        body_text(response).await,
        "crossguard: cross_site_request\n"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the handler must not run");
}

#[tokio::test]
async fn axum_same_origin_post_reaches_the_handler_without_a_verdict() {
    let hits = Arc::new(AtomicUsize::new(0));
    let response = app(Policy::default(), hits.clone())
        .oneshot(post_prompt(&[
            ("host", "localhost:8188"),
            ("origin", "http://localhost:8188"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<Rejection>().is_none());
    assert_eq!(body_text(response).await, "no verdict");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn axum_report_only_lets_it_through_and_reports() {
    let hits = Arc::new(AtomicUsize::new(0));
    let reports: Arc<Mutex<Vec<(Rejection, String)>>> = Arc::default();
    let sink = reports.clone();
    let layer = GuardLayer::new(Policy::builder().report_only(true).build().unwrap()).on_report(
        move |report: &Report<'_>| {
            sink.lock()
                .unwrap()
                .push((report.rejection, report.uri.path().to_owned()));
        },
    );
    let hits2 = hits.clone();
    let app = Router::new()
        .route(
            "/api/prompt",
            post(move |Extension(verdict): Extension<Verdict>| {
                let hits = hits2.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    format!(
                        "reported={:?} rule={}",
                        verdict.reported().map(|r| r.reason()),
                        verdict.rule()
                    )
                }
            }),
        )
        .layer(layer);
    let response = app
        .oneshot(post_prompt(&[
            ("host", "localhost:8188"),
            ("sec-fetch-site", "cross-site"),
        ]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_text(response).await,
        "reported=Some(\"cross_site_request\") rule=sec_fetch_site"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        *reports.lock().unwrap(),
        vec![(Rejection::CrossSiteRequest, "/api/prompt".to_owned())]
    );
}

#[tokio::test]
async fn custom_rejection_handler_and_required_headers() {
    let layer = GuardLayer::new(Policy::local().build().unwrap()).on_rejection(|r: &Rejection| {
        let mut response = Response::new(Body::from(format!("{{\"error\":\"{}\"}}", r.reason())));
        *response.status_mut() = StatusCode::IM_A_TEAPOT;
        response
    });
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::from("inner")))
        }));
    let response = svc
        .clone()
        .oneshot(
            Request::get("/")
                .header("host", "attacker.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::HostNotAllowed)
    );
    assert_eq!(
        response.headers()[header::VARY],
        "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"
    );
    assert_eq!(
        body_text(response).await,
        "{\"error\":\"host_not_allowed\"}"
    );

    // A 405 keeps `Allow: GET` even from a custom handler.
    let response = svc
        .clone()
        .oneshot(
            Request::post("/ws")
                .header("host", "localhost")
                .header("upgrade", "websocket")
                .header("connection", "upgrade")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(response.headers()[header::ALLOW], "GET");

    // Allowed responses from the inner service vary on Fetch Metadata under resource isolation.
    let response = svc
        .oneshot(
            Request::get("/")
                .header("host", "localhost:8188")
                .header("sec-fetch-site", "same-origin")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::VARY],
        "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"
    );
    assert_eq!(body_text(response).await, "inner");
}

#[tokio::test]
async fn hyper_util_server_on_loopback() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let inner = tower::service_fn(move |req: Request<hyper::body::Incoming>| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let rule = req.extensions().get::<Verdict>().map(|v| v.rule());
            let body = http_body_util::Full::new(bytes_of(format!("{rule:?}")));
            Ok::<_, Infallible>(Response::new(body))
        }
    });
    let service = ServiceBuilder::new()
        .layer(GuardLayer::new(Policy::local().build().unwrap()))
        .service(inner);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..3 {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    async fn send(addr: std::net::SocketAddr, head: String) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }
    let port = addr.port();
    let timeout = Duration::from_secs(10);
    let attack = format!(
        "POST /api/prompt HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://127.0.0.1:9\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let answer = tokio::time::timeout(timeout, send(addr, attack))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(
        answer.ends_with("crossguard: cross_site_request\n"),
        "{answer}"
    );

    let rebinding = format!(
        "POST /api/prompt HTTP/1.1\r\nHost: attacker.example:{port}\r\nOrigin: http://attacker.example:{port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let answer = tokio::time::timeout(timeout, send(addr, rebinding))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(
        answer.ends_with("crossguard: host_not_allowed\n"),
        "{answer}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    let same_origin = format!(
        "POST /api/prompt HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://localhost:{port}\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let answer = tokio::time::timeout(timeout, send(addr, same_origin))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("vary: sec-fetch-site, sec-fetch-mode, sec-fetch-dest\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("None"), "{answer}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    tokio::time::timeout(timeout, server)
        .await
        .unwrap()
        .unwrap();
}

fn bytes_of(text: String) -> hyper::body::Bytes {
    hyper::body::Bytes::from(text)
}

/// Which requests reach the service with a verdict: handshakes (with the accept value to answer)
/// and report-only findings; an ordinary allowed request carries none. Each row shows the rule,
/// the handshake's accept value and the reported rejection as the service saw them.
#[tokio::test]
async fn verdict_reaches_the_service_when_it_carries_something() {
    let seen = |verdict: Option<&Verdict>| match verdict {
        None => "none".to_owned(),
        Some(v) => format!(
            "rule={} accept={:?} reported={:?}",
            v.rule(),
            v.handshake()
                .and_then(|h| h.accept())
                .map(|a| a.as_str().to_owned()),
            v.reported().map(|r| r.reason())
        ),
    };
    let service = tower::service_fn(move |request: Request<Body>| {
        let text = seen(request.extensions().get::<Verdict>());
        async move { Ok::<_, Infallible>(Response::new(Body::from(text))) }
    });
    let same_origin = || {
        post_prompt(&[
            ("host", "localhost:8188"),
            ("sec-fetch-site", "same-origin"),
        ])
    };
    let cross_site =
        || post_prompt(&[("host", "localhost:8188"), ("sec-fetch-site", "cross-site")]);
    let handshake = || {
        Request::get("/ws")
            .header("host", "localhost:8188")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("origin", "http://localhost:8188")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(Body::empty())
            .unwrap()
    };
    let enforcing = Policy::default();
    let report_only = Policy::builder().report_only(true).build().unwrap();
    let accept = "accept=Some(\"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\")";
    #[rustfmt::skip]
    let rows: [(&str, &Policy, Request<Body>, String); 5] = [
        ("enforcing, same-origin POST: nothing to carry", &enforcing, same_origin(), "none".into()),
        ("enforcing, handshake: its Handshake (RFC 6455 §1.3 key)", &enforcing, handshake(), format!("rule=websocket_origin {accept} reported=None")),
        ("report-only, same-origin POST: nothing to report", &report_only, same_origin(), "none".into()),
        ("report-only, cross-site POST: the would-be rejection", &report_only, cross_site(), "rule=sec_fetch_site accept=None reported=Some(\"cross_site_request\")".into()),
        ("report-only, handshake", &report_only, handshake(), format!("rule=websocket_origin {accept} reported=None")),
    ];
    for (name, policy, request, expected) in rows {
        let layer = GuardLayer::new(policy.clone());
        let response = layer.layer(service).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(body_text(response).await, expected, "{name}");
    }
}

/// `Policy::rejection_response` is byte for byte the response the layer sends for every
/// rejection, under policies with and without `Vary`: status, every header line in order, body
/// and the `Rejection` extension.
#[tokio::test]
async fn rejection_response_is_the_layers_refusal() {
    let policies = [
        Policy::default(),
        Policy::local().build().unwrap(),
        Policy::local()
            .allow_origin("https://app.example")
            .build()
            .unwrap(),
    ];
    for policy in &policies {
        for &rejection in Rejection::ALL {
            let from_policy = policy.rejection_response::<String>(rejection);
            let service = tower::service_fn(|_: Request<String>| async {
                Ok::<_, Infallible>(Response::new(String::from("the service ran")))
            });
            let head = |r: &Response<String>| {
                (
                    r.status(),
                    r.headers()
                        .iter()
                        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
                        .collect::<Vec<_>>(),
                    r.body().clone(),
                    r.extensions().get::<Rejection>().copied(),
                )
            };
            // The layer's own refusal for a request that this rejection refuses.
            if let Some(request) = refused_by(rejection) {
                let response = GuardLayer::new(policy.clone())
                    .layer(service)
                    .oneshot(request)
                    .await
                    .unwrap();
                assert_eq!(
                    head(&response),
                    head(&from_policy),
                    "{rejection:?} {policy:?}"
                );
            }
            assert_eq!(from_policy.status(), rejection.status());
            assert_eq!(from_policy.body(), rejection.body());
            assert_eq!(
                from_policy.extensions().get::<Rejection>(),
                Some(&rejection)
            );
            // The policy's Vary, and no Cross-Origin-Resource-Policy: a refusal's body is only
            // its reason code.
            let plain = Request::get("/")
                .header("host", "localhost")
                .body(())
                .unwrap();
            let verdict = policy.check_request(&plain).unwrap();
            let mut added = http::HeaderMap::new();
            policy.add_response_headers(&verdict, &mut added);
            let vary: Vec<_> = from_policy.headers().get_all("vary").iter().collect();
            assert_eq!(vary, added.get_all("vary").iter().collect::<Vec<_>>());
            assert!(
                from_policy
                    .headers()
                    .get("cross-origin-resource-policy")
                    .is_none()
            );
            for (name, value) in rejection.required_headers() {
                assert_eq!(
                    from_policy.headers().get(name),
                    Some(value),
                    "{rejection:?}"
                );
            }
        }
    }
}

/// A request each policy above refuses with `rejection`, for the rejections a plain request can
/// produce under all three.
fn refused_by(rejection: Rejection) -> Option<Request<String>> {
    let base = || {
        Request::builder()
            .uri("/api/prompt")
            .header("host", "localhost:8188")
    };
    let handshake = |version: &str| {
        base()
            .method("GET")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", version)
    };
    let request = match rejection {
        Rejection::MissingHost => Request::post("/api/prompt"),
        Rejection::CrossSiteRequest => base().method("POST").header("sec-fetch-site", "cross-site"),
        Rejection::MalformedOrigin => base().method("POST").header("origin", "http://a/b"),
        Rejection::UnsupportedWebSocketVersion => handshake("8"),
        Rejection::WebSocketMethodNotAllowed => handshake("13").method("POST"),
        _ => return None,
    };
    Some(request.body(String::new()).unwrap())
}

/// Under the `local` preset every response the guard lets through carries
/// `Cross-Origin-Resource-Policy: same-origin` unless the service set its own, so a LAN page
/// embedded cross-site (no Fetch Metadata over plain HTTP, `policy_table::lan_address_*`) is
/// withheld from the embedder by the browser; the default preset adds none, and the setting can be
/// turned off.
#[tokio::test]
async fn corp_keeps_lan_responses_from_cross_site_embedders() {
    let image = || {
        Request::get("/view?file=x")
            .header("host", "192.168.1.5:8189")
            .body(Body::empty())
            .unwrap()
    };
    let service = |own: Option<&'static str>| {
        tower::service_fn(move |_: Request<Body>| async move {
            let mut response = Response::new(Body::from("image bytes"));
            if let Some(own) = own {
                response
                    .headers_mut()
                    .insert("cross-origin-resource-policy", own.parse().unwrap());
            }
            Ok::<_, Infallible>(response)
        })
    };
    let lan = Policy::local()
        .allow_host("192.168.1.5:8189")
        .build()
        .unwrap();
    let open = Policy::local()
        .allow_host("192.168.1.5:8189")
        .cross_origin_resource_policy(false)
        .build()
        .unwrap();
    let default = Policy::default();
    let trusted = Policy::local()
        .allow_host("192.168.1.5:8189")
        .allow_origin("http://192.168.1.7:3000")
        .build()
        .unwrap();
    let from_trusted = || {
        Request::post("/api/prompt")
            .header("host", "192.168.1.5:8189")
            .header("origin", "http://192.168.1.7:3000")
            .body(Body::empty())
            .unwrap()
    };
    let response = GuardLayer::new(trusted)
        .layer(service(None))
        .oneshot(from_trusted())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("cross-origin-resource-policy")
            .is_none(),
        "a request let through for its allowlisted Origin keeps an opaque no-cors response"
    );
    #[rustfmt::skip]
    let rows: [(&str, &Policy, Option<&'static str>, Option<&str>); 4] = [
        ("local: added", &lan, None, Some("same-origin")),
        ("local: the service's own kept", &lan, Some("cross-origin"), Some("cross-origin")),
        ("local, turned off: none", &open, None, None),
        ("default preset: none", &default, None, None),
    ];
    for (name, policy, own, expected) in rows {
        let response = GuardLayer::new(policy.clone())
            .layer(service(own))
            .oneshot(image())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let corp: Vec<_> = response
            .headers()
            .get_all("cross-origin-resource-policy")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(corp, expected.into_iter().collect::<Vec<_>>(), "{name}");
    }
}
