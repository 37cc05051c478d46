//! With the `tracing` feature, rejections and report-only findings are events at target
//! `crossguard` carrying the reason and the path, never the query.
#![cfg(feature = "tracing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};

use crossguard::{GuardLayer, Policy};
use http::{Request, Response};
use tower::{Layer as _, ServiceExt as _};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every event as `target level field=value ...`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!(" {}={}", field.name(), value));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line(format!("{} {}", meta.target(), meta.level()));
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

async fn send(policy: Policy, request: Request<()>) -> Vec<String> {
    let recorder = Recorder::default();
    let service = GuardLayer::new(policy).layer(tower::service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let _guard = tracing::subscriber::set_default(recorder.clone());
    service.oneshot(request).await.unwrap();
    recorder.0.lock().unwrap().clone()
}

fn attack() -> Request<()> {
    Request::post("/api/prompt?token=secret")
        .header("host", "localhost:8188")
        .header("sec-fetch-site", "cross-site")
        .body(())
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn rejection_event_names_reason_and_path_not_query() {
    let events = send(Policy::default(), attack()).await;
    assert_eq!(
        events,
        vec![
            "crossguard WARN message=request rejected reason=cross_site_request status=403 method=POST path=/api/prompt"
                .to_owned()
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn report_only_event() {
    let events = send(
        Policy::builder().report_only(true).build().unwrap(),
        attack(),
    )
    .await;
    assert_eq!(
        events,
        vec![
            "crossguard INFO message=report-only: request would be rejected reason=cross_site_request status=403 method=POST path=/api/prompt"
                .to_owned()
        ]
    );
}
