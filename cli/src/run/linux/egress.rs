//! The app's way out when `pasta` is not installed: an HTTP proxy crossguard serves from a
//! listener bound inside the namespace (so only the app reaches it), announced to the app in
//! `HTTP_PROXY`/`HTTPS_PROXY`. `CONNECT host:port` opens a tunnel (HTTPS, and any TCP client that
//! speaks CONNECT); an absolute-form request (`GET http://host/path`) is forwarded.
//!
//! What it cannot carry: DNS lookups the app makes itself, UDP, and clients that ignore the
//! proxy variables (they find no route out).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};

type Body = BoxBody<Bytes, hyper::Error>;

/// Time to reach a destination.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time the app has to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves the egress proxy on `listener` on a thread of its own, for the rest of the process.
pub(super) fn start(listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("crossguard-egress".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => serve(listener).await,
                    Err(err) => eprintln!("crossguard: egress proxy: {err}"),
                }
            });
        })?;
    Ok(())
}

async fn serve(listener: TcpListener) {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(connector);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let client = client.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let client = client.clone();
                async move { Ok::<_, Infallible>(answer(&client, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(message.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn answer(
    client: &Client<HttpConnector, Incoming>,
    request: Request<Incoming>,
) -> Response<Body> {
    if request.method() == Method::CONNECT {
        return tunnel(request).await;
    }
    if request.uri().scheme_str() != Some("http") || request.uri().authority().is_none() {
        return text(
            StatusCode::BAD_REQUEST,
            "crossguard egress: send absolute-form http:// requests or CONNECT\n",
        );
    }
    let mut request = request;
    for name in ["proxy-connection", "proxy-authorization", "keep-alive"] {
        request.headers_mut().remove(name);
    }
    match client.request(request).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(err) => {
            eprintln!("crossguard: egress: {err}");
            text(StatusCode::BAD_GATEWAY, "crossguard egress: unreachable\n")
        }
    }
}

/// `CONNECT host:port`: connects, answers 200, then relays bytes both ways.
async fn tunnel(mut request: Request<Incoming>) -> Response<Body> {
    let Some(authority) = request.uri().authority().map(ToString::to_string) else {
        return text(
            StatusCode::BAD_REQUEST,
            "crossguard egress: CONNECT host:port\n",
        );
    };
    let upstream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&authority)).await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            eprintln!("crossguard: egress: {authority}: {err}");
            return text(StatusCode::BAD_GATEWAY, "crossguard egress: unreachable\n");
        }
        Err(_) => {
            return text(
                StatusCode::GATEWAY_TIMEOUT,
                "crossguard egress: connect timeout\n",
            );
        }
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        if let Ok(upgraded) = upgrade.await {
            let mut client = TokioIo::new(upgraded);
            let mut upstream = upstream;
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    });
    Response::new(
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed(),
    )
}
