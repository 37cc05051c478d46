//! The `crossguard check` binary, run as a real process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Output;

use crossguard::{GuardLayer, Policy, Rejection};
use http::{Request, Response};
use serde_json::{Value, json};
use tower::{Layer as _, ServiceExt as _};

use crate::support::run;

fn head(name: &str) -> String {
    format!("{}/../tests/heads/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn comfyui_prompt_from_the_same_origin_and_from_another_site() {
    let out = run(
        &[
            "check",
            "--preset",
            "local",
            "--json",
            &head("comfyui-prompt-same-origin.http"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json_of(&out),
        json!({
            "allowed": true, "status": null, "reason": null, "rule": "sec_fetch_site", "websocket": null,
            "response_headers": [
                ["vary", "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"],
                ["cross-origin-resource-policy", "same-origin"]
            ]
        })
    );

    let out = run(
        &[
            "check",
            "--preset",
            "local",
            "--json",
            &head("comfyui-prompt-cross-site.http"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json_of(&out),
        json!({
            "allowed": false, "status": 403, "reason": "cross_site_request", "rule": "sec_fetch_site",
            "websocket": null,
            "response_headers": [
                ["content-type", "text/plain; charset=utf-8"],
                ["vary", "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"]
            ]
        })
    );
    // The JSON keys come in the documented order.
    let text = String::from_utf8(out.stdout).unwrap();
    let order: Vec<usize> = [
        "\"allowed\"",
        "\"status\"",
        "\"reason\"",
        "\"rule\"",
        "\"websocket\"",
        "\"response_headers\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn comfyui_websocket_from_the_same_origin_and_from_another_site() {
    let out = run(
        &["check", "--json", &head("comfyui-ws-same-origin.http")],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json_of(&out),
        json!({
            "allowed": true, "status": 101, "reason": null, "rule": "websocket_origin",
            "websocket": {"accept": "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", "protocol": null, "extensions": "permessage-deflate"},
            "response_headers": [
                ["upgrade", "websocket"], ["connection", "Upgrade"],
                ["sec-websocket-accept", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="],
                ["sec-websocket-extensions", "permessage-deflate"]
            ]
        })
    );
    let out = run(
        &["check", "--json", &head("comfyui-ws-cross-site.http")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["reason"], "cross_site_websocket");
    assert_eq!(json_of(&out)["status"], 403);
    assert_eq!(json_of(&out)["rule"], "websocket_origin");
}

#[test]
fn rfc6455_sample_handshake_human_report() {
    let out = run(
        &[
            "check",
            "--protocol",
            "chat",
            "--allow-origin",
            "http://example.com",
            &head("rfc6455-sample.http"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "✓ Sec-WebSocket-Key         dGhlIHNhbXBsZSBub25jZQ== (accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo=)",
        "✓ Origin                    http://example.com is allowlisted",
        "✓ Sec-WebSocket-Protocol    chat, superchat (selected chat)",
        "verdict: ALLOWED by rule origin_allowlist",
        "  HTTP/1.1 101 Switching Protocols\n  upgrade: websocket\n  connection: Upgrade\n  sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n  sec-websocket-protocol: chat\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Without the allowlist the sample's Origin (example.com) is not the host's (server.example.com).
    let out = run(&["check", &head("rfc6455-sample.http")], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "✗ Origin                    http://example.com: cross-origin WebSocket handshake denied"
        ),
        "{text}"
    );
    assert!(
        text.contains("verdict: REJECTED 403 cross_site_websocket by rule websocket_origin"),
        "{text}"
    );
}

#[test]
fn exit_codes_and_input_errors() {
    // 0 allowed, 1 rejected.
    let post =
        b"POST /api/prompt HTTP/1.1\r\nHost: localhost:8188\r\nSec-Fetch-Site: same-origin\r\n\r\n";
    assert_eq!(run(&["check"], Some(post)).status.code(), Some(0));
    let cross = b"POST /api/prompt HTTP/1.1\nHost: localhost:8188\nSec-Fetch-Site: cross-site\n";
    assert_eq!(run(&["check", "-"], Some(cross)).status.code(), Some(1));
    // Report-only: allowed, reason still set.
    let out = run(&["check", "--report-only", "--json"], Some(cross));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["allowed"], true);
    assert_eq!(json_of(&out)["reason"], "cross_site_request");
    assert_eq!(json_of(&out)["status"], Value::Null);

    // 2: usage errors and unreadable input, one line on stderr naming the problem and the line.
    let cases: &[(&[&str], &[u8], &str)] = &[
        (&["check", "--bogus"], b"", "unexpected argument '--bogus'"),
        (
            &["check", "--server-max-window-bits", "16"],
            post,
            "server_max_window_bits=16",
        ),
        (
            &["check", "--allow-origin", "https://x.example/"],
            post,
            "trailing slash",
        ),
        (
            &["check", "--allow-host", "http://x"],
            post,
            "invalid host allowlist entry",
        ),
        (
            &["check"],
            b"this is not a request\n",
            "line 1: expected a request line",
        ),
        (
            &["check"],
            b"POST / HTTP/1.1\nHost: a\nbroken line\n",
            "line 3: expected `Name: value`",
        ),
        (
            &["check"],
            b"POST / HTTP/1.1\nHost: a\n folded\n",
            "line 3: obsolete line folding",
        ),
        (
            &["check"],
            b"POST / HTTP/9.9\nHost: a\n",
            "line 1: unknown HTTP version",
        ),
        (&["check"], b"Host: a\n", "no request line"),
        (&["check"], b"\xff\xfe\x00garbage\x01\x02", "line 1:"),
        (
            &["check", "/nonexistent/head.http"],
            b"",
            "/nonexistent/head.http",
        ),
    ];
    for (args, input, expected) in cases {
        let out = run(args, Some(input));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: {stderr:?} lacks {expected:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }

    // A 1 MiB input is refused, bounded, with a clear message.
    let mut big = b"POST / HTTP/1.1\nHost: a\nX-Filler: ".to_vec();
    big.resize(1024 * 1024, b'a');
    let out = run(&["check"], Some(&big));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "crossguard: input is larger than 262144 bytes; give one request head\n"
    );
}

#[test]
fn bare_header_lists_and_http2_pseudo_headers() {
    let out = run(
        &[
            "check",
            "--method",
            "POST",
            "--target",
            "/api/prompt",
            "--json",
            &head("chrome-copied-headers.txt"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["reason"], "same_site_request");
    let out = run(
        &[
            "check",
            "--method",
            "POST",
            "--target",
            "/api/prompt",
            "--allow-same-site",
            "--json",
            &head("chrome-copied-headers.txt"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["rule"], "same_site");

    let out = run(
        &["check", "--json", &head("h2-extended-connect.http")],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json_of(&out),
        json!({
            "allowed": true, "status": 200, "reason": null, "rule": "websocket_origin",
            "websocket": {"accept": null, "protocol": null, "extensions": "permessage-deflate"},
            "response_headers": [["sec-websocket-extensions", "permessage-deflate"]]
        })
    );
}

/// Parses a raw HTTP/1.1 head file independently of the CLI.
fn request_of(file: &str) -> Request<String> {
    let text = std::fs::read_to_string(head(file)).unwrap();
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let mut first = lines.next().unwrap().split(' ');
    let mut builder = Request::builder()
        .method(first.next().unwrap())
        .uri(first.next().unwrap());
    for line in lines.take_while(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap();
        builder = builder.header(name, value.trim());
    }
    builder.body(String::new()).unwrap()
}

/// The CLI and the layer give the same verdicts for the same requests and policies.
#[tokio::test]
async fn cli_and_layer_agree() {
    let files = [
        "rfc6455-sample.http",
        "comfyui-prompt-same-origin.http",
        "comfyui-prompt-cross-site.http",
        "comfyui-ws-same-origin.http",
        "comfyui-ws-cross-site.http",
        "dns-rebinding.http",
    ];
    let configs: [(&[&str], Policy); 4] = [
        (&[], Policy::default()),
        (&["--preset", "local"], Policy::local().build().unwrap()),
        (
            &[
                "--allow-origin",
                "https://evil.example",
                "--require-origin-for-websocket",
            ],
            Policy::builder()
                .allow_origin("https://evil.example")
                .require_origin_for_websocket(true)
                .build()
                .unwrap(),
        ),
        (
            &["--preset", "local", "--report-only"],
            Policy::local().report_only(true).build().unwrap(),
        ),
    ];
    let mut compared = 0;
    for (flags, policy) in &configs {
        for file in files {
            let mut args = vec!["check", "--json"];
            args.extend_from_slice(flags);
            let path = head(file);
            args.push(&path);
            let cli = json_of(&run(&args, None));

            // The layer decides whether the service runs and what a refusal says; the policy's
            // own verdict names the rule of an allowed request (the layer hands a verdict only
            // to handshakes and report-only findings).
            let service = GuardLayer::new(policy.clone()).layer(tower::service_fn(
                |_: Request<String>| async move {
                    let mut response = Response::new(String::new());
                    response.extensions_mut().insert(Reached);
                    Ok::<_, std::convert::Infallible>(response)
                },
            ));
            let checked = policy.check_request(&request_of(file));
            let response = service.oneshot(request_of(file)).await.unwrap();
            let reached = response.extensions().get::<Reached>().is_some();
            let rejection = response.extensions().get::<Rejection>().copied();
            assert_eq!(reached, checked.is_ok(), "{file} with {flags:?}");
            assert_eq!(
                rejection,
                checked.as_ref().err().copied(),
                "{file} with {flags:?}"
            );
            let verdict = checked.as_ref().ok();
            let (allowed, reason, rule) = match (verdict, rejection) {
                (Some(v), None) => (true, v.reported().map(|r| r.reason()), v.rule().as_str()),
                (None, Some(r)) => (false, Some(r.reason()), r.rule().as_str()),
                other => panic!("neither verdict nor rejection: {other:?}"),
            };
            let context = format!("{file} with {flags:?}");
            assert_eq!(cli["allowed"], allowed, "{context}");
            assert_eq!(cli["reason"], json!(reason), "{context}");
            assert_eq!(cli["rule"], rule, "{context}");
            if !allowed {
                assert_eq!(cli["status"], response.status().as_u16(), "{context}");
            }
            let accept = verdict
                .and_then(|v| v.handshake())
                .and_then(|h| h.accept())
                .map(|a| a.as_str().to_owned());
            if let Some(accept) = accept {
                assert_eq!(cli["websocket"]["accept"], accept, "{context}");
                assert_eq!(cli["status"], 101, "{context}");
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 24);
}

/// What the inner service marks its responses with: the request reached it.
#[derive(Clone, Copy)]
struct Reached;

/// The outputs shown in README.md and docs/cli.md are what the tool prints today.
#[test]
fn documented_examples_are_current() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let cli_doc = std::fs::read_to_string(format!("{root}/docs/cli.md")).unwrap();
    let report = run(
        &[
            "check",
            "--preset",
            "local",
            &head("comfyui-prompt-cross-site.http"),
        ],
        None,
    );
    let report = String::from_utf8(report.stdout).unwrap();
    assert!(
        readme.contains(report.trim_end()),
        "README.md shows a stale report:\n{report}"
    );
    assert!(
        cli_doc.contains(report.trim_end()),
        "docs/cli.md shows a stale report:\n{report}"
    );
    let json = run(
        &["check", "--json", &head("comfyui-ws-same-origin.http")],
        None,
    );
    let json = String::from_utf8(json.stdout).unwrap();
    assert!(
        cli_doc.contains(json.trim_end()),
        "docs/cli.md shows stale JSON:\n{json}"
    );
}

/// A handshake refused by the Host rule: its fields are reported as not checked.
#[test]
fn handshake_fields_not_reached_after_a_host_refusal() {
    let head = b"GET /ws HTTP/1.1\r\nHost: attacker.example:8188\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let out = run(&["check", "--preset", "local"], Some(head));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "✗ Host                      attacker.example:8188: the request's host is not in the host allowlist"
        ),
        "{text}"
    );
    assert!(
        text.contains("· Sec-WebSocket-Version     13 (not reached)"),
        "{text}"
    );
    assert!(
        text.contains("verdict: REJECTED 403 host_not_allowed by rule host"),
        "{text}"
    );
}

/// Only what decided is marked `✗` (or `✓` for the deciding allow); what did not decide is `·`.
/// The two requests a report once got wrong: a Vite dev-server proxy's same-origin POST whose
/// Origin is another port, and a cross-site image GET without resource isolation.
#[test]
fn only_what_decided_is_marked() {
    let vite = b"POST /api/prompt HTTP/1.1\r\nHost: localhost:8188\r\nOrigin: http://localhost:5173\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n\r\n";
    let out = run(&["check", "--preset", "local"], Some(vite));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "request: POST /api/prompt HTTP/1.1
  ✓ Host            localhost:8188 is in the host allowlist
  · Origin          http://localhost:5173 (not consulted)
  ✓ Sec-Fetch-Site  same-origin
  · Sec-Fetch-Mode  cors (not consulted)
  · Sec-Fetch-Dest  empty (not consulted)
verdict: ALLOWED by rule sec_fetch_site
response: the service's, with these fields added by crossguard:
  vary: Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest
  cross-origin-resource-policy: same-origin
"
    );

    let image = b"GET /view?file=x.png HTTP/1.1\r\nHost: localhost:8188\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: image\r\n\r\n";
    let out = run(&["check"], Some(image));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "request: GET /view?file=x.png HTTP/1.1
  ✓ Host            localhost:8188 (no host allowlist)
  · Origin          absent
  · Sec-Fetch-Site  cross-site (not consulted)
  · Sec-Fetch-Mode  no-cors (not consulted)
  · Sec-Fetch-Dest  image (not consulted)
verdict: ALLOWED by rule safe_method
response: none from crossguard; the request reaches the service
"
    );

    // With resource isolation the same GET is refused, by Sec-Fetch-Site alone.
    let out = run(&["check", "--preset", "local"], Some(image));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches('✗').count(), 1, "{text}");
    assert!(
        text.contains("  ✗ Sec-Fetch-Site  cross-site: cross-site resource request denied (resource isolation)\n  · Sec-Fetch-Mode  no-cors (not a navigation)\n  · Sec-Fetch-Dest  image (not decisive)"),
        "{text}"
    );
}

#[test]
fn resource_isolation_can_be_turned_off_in_local_and_not_both_ways() {
    let image = b"Host: localhost:8188\nSec-Fetch-Site: cross-site\nSec-Fetch-Mode: no-cors\nSec-Fetch-Dest: image\n";
    let base = [
        "check", "--json", "--preset", "local", "--method", "GET", "--target", "/view",
    ];
    let refused = json_of(&run(&base, Some(image)));
    assert_eq!(refused["reason"], "cross_site_resource");
    let off = json_of(&run(
        &[&base[..], &["--no-resource-isolation"]].concat(),
        Some(image),
    ));
    assert_eq!(
        (&off["allowed"], &off["rule"]),
        (&Value::Bool(true), &Value::from("safe_method"))
    );
    let both = run(
        &[
            &base[..],
            &["--resource-isolation", "--no-resource-isolation"],
        ]
        .concat(),
        Some(image),
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
}
