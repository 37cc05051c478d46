//! `crossguard forward-auth`, run as a real process on a free loopback port and asked raw
//! HTTP/1.0 and HTTP/1.1 questions over TCP, as nginx, Caddy, Traefik and Envoy ask them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitStatus};

use crate::support::{Crossguard, WAIT, run};

const MISCONFIGURED: &str = "crossguard: forward_auth_misconfigured\n";

/// A running `crossguard forward-auth` on a free loopback port, killed when dropped.
struct Server(Crossguard);

impl std::ops::Deref for Server {
    type Target = Crossguard;

    fn deref(&self) -> &Crossguard {
        &self.0
    }
}

impl Server {
    /// `crossguard forward-auth --listen 127.0.0.1:0 ARGS`.
    fn start(args: &[&str]) -> Self {
        Self(Crossguard::forward_auth(args))
    }

    /// `crossguard forward-auth ARGS`, for tests that give their own `--listen`.
    fn start_raw(args: &[&str]) -> Self {
        Self(Crossguard::start(&[&["forward-auth"], args].concat()))
    }

    fn ask(&self, raw: &str) -> Reply {
        ask(self.addr, raw)
    }

    fn wait_exit(&mut self) -> ExitStatus {
        self.0.wait_exit(WAIT).expect("crossguard did not exit")
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "{name} is repeated in {self:?}");
        first
    }
}

/// Sends one raw question (which must ask the server to close) and reads the whole answer.
fn ask(addr: SocketAddr, raw: &str) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(raw.replace('\n', "\r\n").as_bytes())
        .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    parse_reply(&String::from_utf8(bytes).unwrap())
}

fn parse_reply(text: &str) -> Reply {
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A question as nginx's `auth_request` sends it (HTTP/1.0, the auth location as target, the
/// four fields set by the recipe), with `extra` field lines of the original.
fn nginx_question(method: &str, host: &str, uri: &str, extra: &str) -> String {
    format!(
        "GET /.crossguard/auth HTTP/1.0\nHost: 127.0.0.1:9180\nX-Forwarded-Method: {method}\n\
         X-Forwarded-Proto: http\nX-Forwarded-Host: {host}\nX-Forwarded-Uri: {uri}\n\
         Connection: close\n{extra}\n"
    )
}

fn handshake(origin: &str, version: &str) -> String {
    format!(
        "GET /.crossguard/auth HTTP/1.0\nHost: 127.0.0.1:9180\nX-Forwarded-Method: GET\n\
         X-Forwarded-Proto: http\nX-Forwarded-Host: localhost:8188\nX-Forwarded-Uri: /ws?id=1\n\
         Upgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\
         Sec-WebSocket-Version: {version}\nOrigin: {origin}\n\n"
    )
}

const SAME_ORIGIN_POST: &str = "Origin: http://localhost:8188\nSec-Fetch-Site: same-origin\n";
const CROSS_SITE_POST: &str = "Origin: https://evil.example\nSec-Fetch-Site: cross-site\n";

#[test]
fn listening_line_names_the_bound_address() {
    let server = Server::start(&[]);
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr.port(), 0);
    assert!(!server.stderr().contains("warning"), "{}", server.stderr());
}

#[test]
fn same_origin_post_is_allowed_with_an_empty_200() {
    let server = Server::start(&[]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        SAME_ORIGIN_POST,
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
    assert_eq!(reply.header("x-crossguard-reason"), None);
    assert_eq!(reply.header("x-crossguard-accept"), None);
}

#[test]
fn a_client_without_origin_or_fetch_metadata_passes() {
    let server = Server::start(&[]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        "User-Agent: curl/8\n",
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
}

#[test]
fn cross_site_post_gets_the_guards_refusal_and_one_log_line() {
    let server = Server::start(&[]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt?token=secret",
        CROSS_SITE_POST,
    ));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, "crossguard: cross_site_request\n");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_request")
    );
    let log = server.wait_stderr("refused");
    assert_eq!(
        log,
        "crossguard: refused POST /api/prompt: cross_site_request (403)\n"
    );
}

#[test]
fn quiet_silences_refusals() {
    let server = Server::start(&["--quiet"]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        CROSS_SITE_POST,
    ));
    assert_eq!(reply.status, 403);
    // A misconfiguration afterwards is logged: so the refusal above was not.
    let _ = server.ask("GET /auth HTTP/1.0\nX-Forwarded-Proto: http\n\n");
    let log = server.wait_stderr("forward_auth_misconfigured");
    assert!(!log.contains("refused"), "{log}");
}

#[test]
fn the_authority_keeps_its_port() {
    // nginx's `$host` drops the port; the recipe sends `$http_host`. Without the port the
    // original's Origin no longer matches it.
    let server = Server::start(&[]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost",
        "/api/prompt",
        "Origin: http://localhost:8188\n",
    ));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("x-crossguard-reason"), Some("origin_mismatch"));
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        "Origin: http://localhost:8188\n",
    ));
    assert_eq!(reply.status, 200);
}

#[test]
fn the_questions_own_host_is_not_the_originals() {
    // The question goes to 127.0.0.1:9180; the original was for localhost:8188.
    let server = Server::start(&["--preset", "local", "--allow-host", "localhost:8188"]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        "Origin: http://localhost:8188\n",
    ));
    assert_eq!(reply.status, 200);
}

#[test]
fn dns_rebinding_host_is_refused() {
    let server = Server::start(&["--preset", "local"]);
    let reply = server.ask(&nginx_question(
        "GET",
        "rebind.evil.example:8188",
        "/",
        "Origin: http://rebind.evil.example:8188\nSec-Fetch-Site: same-origin\n",
    ));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, "crossguard: host_not_allowed\n");
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("host_not_allowed")
    );
    let reply = server.ask(&nginx_question("GET", "localhost:8188", "/", ""));
    assert_eq!(reply.status, 200);
}

#[test]
fn handshake_over_an_http10_question_is_judged_as_http11_and_gets_the_accept_key() {
    let server = Server::start(&[]);
    let reply = server.ask(&handshake("http://localhost:8188", "13"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
    assert_eq!(
        reply.header("x-crossguard-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
}

#[test]
fn cross_site_handshake_is_refused() {
    let server = Server::start(&[]);
    let reply = server.ask(&handshake("https://evil.example", "13"));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, "crossguard: cross_site_websocket\n");
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_websocket")
    );
    assert_eq!(reply.header("x-crossguard-accept"), None);
}

#[test]
fn version_8_gets_426_with_the_version_header() {
    let server = Server::start(&[]);
    let reply = server.ask(&handshake("http://localhost:8188", "8"));
    assert_eq!(reply.status, 426);
    assert_eq!(reply.body, "crossguard: unsupported_websocket_version\n");
    assert_eq!(reply.header("sec-websocket-version"), Some("13"));
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("unsupported_websocket_version")
    );
}

#[test]
fn deny_status_403_keeps_body_and_headers() {
    let server = Server::start(&["--deny-status", "403"]);
    let reply = server.ask(&handshake("http://localhost:8188", "8"));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, "crossguard: unsupported_websocket_version\n");
    assert_eq!(reply.header("sec-websocket-version"), Some("13"));
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("unsupported_websocket_version")
    );
    server.wait_stderr("crossguard: refused GET /ws: unsupported_websocket_version (403)\n");
}

#[test]
fn deny_status_401_and_allowed_requests_are_untouched() {
    let server = Server::start(&["--deny-status", "401"]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        CROSS_SITE_POST,
    ));
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, "crossguard: cross_site_request\n");
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_request")
    );
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        SAME_ORIGIN_POST,
    ));
    assert_eq!(reply.status, 200);
}

#[test]
fn deny_status_other_values_are_usage_errors() {
    for value in ["404", "500", "200", "forbidden", ""] {
        let out = run(
            &[
                "forward-auth",
                "--listen",
                "127.0.0.1:0",
                "--deny-status",
                value,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "--deny-status {value:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--deny-status"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn report_only_always_answers_200_with_the_reason() {
    let server = Server::start(&["--report-only"]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        CROSS_SITE_POST,
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_request")
    );
    server.wait_stderr(
        "crossguard: report-only: would refuse POST /api/prompt: cross_site_request (403)\n",
    );
    let reply = server.ask(&handshake("http://localhost:8188", "8"));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("unsupported_websocket_version")
    );
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/prompt",
        SAME_ORIGIN_POST,
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-crossguard-reason"), None);
}

/// The four fields, one of which `edit` replaces or removes.
fn four_with(edit: &str, value: Option<&str>) -> String {
    let mut text = String::from("GET /auth HTTP/1.0\nHost: 127.0.0.1:9180\n");
    for (name, default) in [
        ("X-Forwarded-Method", "POST"),
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Host", "localhost:8188"),
        ("X-Forwarded-Uri", "/api/prompt"),
    ] {
        if name != edit {
            text.push_str(&format!("{name}: {default}\n"));
        } else if let Some(value) = value {
            text.push_str(value);
        }
    }
    text.push('\n');
    text
}

fn assert_misconfigured(server: &Server, question: &str, log: &str) {
    let reply = server.ask(question);
    assert_eq!(reply.status, 500, "{question}");
    assert_eq!(reply.body, MISCONFIGURED);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("forward_auth_misconfigured")
    );
    server.wait_stderr(&format!("crossguard: forward_auth_misconfigured: {log}\n"));
}

#[test]
fn a_missing_field_is_a_named_misconfiguration_even_when_quiet() {
    let server = Server::start(&["--quiet", "--report-only", "--deny-status", "403"]);
    for field in [
        "X-Forwarded-Method",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Forwarded-Uri",
    ] {
        assert_misconfigured(
            &server,
            &four_with(field, None),
            &format!("{field} is missing"),
        );
    }
}

#[test]
fn a_repeated_or_listed_field_is_a_named_misconfiguration() {
    let server = Server::start(&[]);
    #[rustfmt::skip]
    let cases = [
        ("X-Forwarded-Method", "X-Forwarded-Method: POST\nX-Forwarded-Method: POST\n", "X-Forwarded-Method is repeated (send it once)"),
        ("X-Forwarded-Method", "X-Forwarded-Method: GET, POST\n", "X-Forwarded-Method is a comma list (send one value)"),
        ("X-Forwarded-Proto", "X-Forwarded-Proto: https, http\n", "X-Forwarded-Proto is a comma list (send one value)"),
        ("X-Forwarded-Proto", "X-Forwarded-Proto: http\nX-Forwarded-Proto: http\n", "X-Forwarded-Proto is repeated (send it once)"),
        ("X-Forwarded-Host", "X-Forwarded-Host: localhost:8188, proxy.internal\n", "X-Forwarded-Host is a comma list (send one value)"),
        ("X-Forwarded-Host", "X-Forwarded-Host: a\nX-Forwarded-Host: b\n", "X-Forwarded-Host is repeated (send it once)"),
        ("X-Forwarded-Uri", "X-Forwarded-Uri: /a, /b\n", "X-Forwarded-Uri is a comma list (send one value)"),
        ("X-Forwarded-Uri", "X-Forwarded-Uri: /a\nX-Forwarded-Uri: /a\n", "X-Forwarded-Uri is repeated (send it once)"),
        ("X-Forwarded-Uri", "X-Forwarded-Uri: http://localhost:8188/a\n", "X-Forwarded-Uri is not a path and query starting with /"),
        ("X-Forwarded-Proto", "X-Forwarded-Proto: gopher\n", "X-Forwarded-Proto is not http or https"),
    ];
    for (field, lines, log) in cases {
        assert_misconfigured(&server, &four_with(field, Some(lines)), log);
    }
}

#[test]
fn a_comma_inside_a_target_is_part_of_it() {
    let server = Server::start(&[]);
    let reply = server.ask(&nginx_question(
        "POST",
        "localhost:8188",
        "/api/a,b?ids=1,2",
        SAME_ORIGIN_POST,
    ));
    assert_eq!(reply.status, 200);
}

#[test]
fn ingress_nginx_fields_alone_with_host_and_proto() {
    let server = Server::start(&[]);
    let question = |method: &str, extra: &str| {
        format!(
            "GET /auth HTTP/1.1\nHost: crossguard.auth.svc\nX-Original-Method: {method}\n\
             X-Original-URL: http://localhost:8188/api/prompt?x=1\nX-Forwarded-Proto: http\n\
             X-Forwarded-Host: localhost:8188\nConnection: close\n{extra}\n"
        )
    };
    assert_eq!(server.ask(&question("POST", SAME_ORIGIN_POST)).status, 200);
    let reply = server.ask(&question("POST", CROSS_SITE_POST));
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_request")
    );
    server.wait_stderr("crossguard: refused POST /api/prompt: cross_site_request (403)\n");
    // ingress-nginx sends no X-Forwarded-Host of its own: the recipe adds it.
    assert_misconfigured(
        &server,
        "GET /auth HTTP/1.0\nX-Original-Method: GET\nX-Original-URL: http://localhost:8188/\nX-Forwarded-Proto: http\n\n",
        "X-Forwarded-Host is missing",
    );
}

#[test]
fn both_conventions_must_agree() {
    let server = Server::start(&[]);
    let base = "GET /auth HTTP/1.0\nX-Forwarded-Method: POST\nX-Forwarded-Proto: http\n\
                X-Forwarded-Host: localhost:8188\nX-Forwarded-Uri: /api/prompt?x=1\n";
    let agreeing = format!(
        "{base}X-Original-Method: POST\nX-Original-URL: http://localhost:8188/api/prompt?x=1\n{CROSS_SITE_POST}\n"
    );
    let reply = server.ask(&agreeing);
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_request")
    );
    #[rustfmt::skip]
    let cases = [
        ("X-Original-Method: GET\n", "X-Original-Method disagrees with X-Forwarded-Method"),
        ("X-Original-URL: http://localhost:8188/api/other\n", "X-Original-URL disagrees with X-Forwarded-Uri"),
        ("X-Original-URL: http://other.example:8188/api/prompt?x=1\n", "X-Original-URL disagrees with X-Forwarded-Host"),
        ("X-Original-URL: https://localhost:8188/api/prompt?x=1\n", "X-Original-URL disagrees with X-Forwarded-Proto"),
    ];
    for (extra, log) in cases {
        assert_misconfigured(&server, &format!("{base}{extra}\n"), log);
    }
}

#[test]
fn health_endpoint_answers_only_without_forwarded_fields() {
    let server = Server::start(&[]);
    let reply = server.ask("GET /.crossguard/health HTTP/1.0\n\n");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ok\n");
    let reply =
        server.ask("GET /.crossguard/health HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ok\n");
    // With a forwarded field it is a question (about an incomplete original).
    assert_misconfigured(
        &server,
        "GET /.crossguard/health HTTP/1.0\nX-Forwarded-For: 127.0.0.1\n\n",
        "X-Forwarded-Method is missing",
    );
    // Any other path without the fields is a misconfigured question, never an allow.
    assert_misconfigured(
        &server,
        "GET / HTTP/1.0\n\n",
        "X-Forwarded-Method is missing",
    );
}

#[test]
fn http11_questions_share_a_kept_alive_connection() {
    let server = Server::start(&[]);
    let mut stream = TcpStream::connect_timeout(&server.addr, WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let one = "GET /auth HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Method: POST\r\nX-Forwarded-Proto: http\r\n\
               X-Forwarded-Host: localhost:8188\r\nX-Forwarded-Uri: /a\r\nSec-Fetch-Site: cross-site\r\n\r\n";
    let two = "GET /auth HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Method: POST\r\nX-Forwarded-Proto: http\r\n\
               X-Forwarded-Host: localhost:8188\r\nX-Forwarded-Uri: /a\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n";
    stream.write_all(one.as_bytes()).unwrap();
    stream.write_all(two.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let statuses: Vec<_> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["403", "200"], "{text}");
}

#[test]
fn envoy_prefix_reads_the_original_from_the_question_line() {
    let server = Server::start(&["--envoy-path-prefix", "/crossguard"]);
    let question = |method: &str, host: &str, extra: &str| {
        format!(
            "{method} /crossguard/api/prompt?x=1 HTTP/1.1\nHost: {host}\nX-Forwarded-Proto: http\n\
             Content-Length: 0\nConnection: close\n{extra}\n"
        )
    };
    let reply = server.ask(&question("POST", "localhost:8188", SAME_ORIGIN_POST));
    assert_eq!(reply.status, 200);
    let reply = server.ask(&question("POST", "localhost:8188", CROSS_SITE_POST));
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_request")
    );
    server.wait_stderr("crossguard: refused POST /api/prompt: cross_site_request (403)\n");
    let reply = server.ask(&question(
        "POST",
        "localhost",
        "Origin: http://localhost:8188\n",
    ));
    assert_eq!(reply.header("x-crossguard-reason"), Some("origin_mismatch"));
    assert_misconfigured(
        &server,
        "GET /crossguard/ws HTTP/1.1\nHost: localhost:8188\nConnection: close\n\n",
        "X-Forwarded-Proto is missing",
    );
    // Without the option, the same question is not guessed to be Envoy's.
    let plain = Server::start(&[]);
    assert_misconfigured(
        &plain,
        &question("POST", "localhost:8188", SAME_ORIGIN_POST),
        "X-Forwarded-Method is missing",
    );
}

#[test]
fn envoy_prefix_must_be_a_path() {
    for value in ["crossguard", "/crossguard/", "/", "/a b"] {
        let out = run(
            &[
                "forward-auth",
                "--listen",
                "127.0.0.1:0",
                "--envoy-path-prefix",
                value,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{value:?}");
        assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
    }
}

#[test]
fn non_loopback_listen_warns() {
    let server = Server::start_raw(&["--listen", "0.0.0.0:0"]);
    let log = server.wait_stderr("warning");
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("not a loopback address"), "{log}");
    assert!(log.contains("only the proxy tier may reach it"), "{log}");
    let reply = ask(
        SocketAddr::from(([127, 0, 0, 1], server.addr.port())),
        "GET /.crossguard/health HTTP/1.0\n\n",
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn port_in_use_exits_1() {
    let first = Server::start(&[]);
    let taken = first.addr.to_string();
    let out = run(&["forward-auth", "--listen", taken.as_str()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("crossguard: cannot listen on {taken}: ")),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        &["--listen", "localhost"][..],
        &["--no-such-option"],
        &["--preset", "nope"],
    ] {
        let out = run(&[&["forward-auth"][..], args].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8(out.stderr).unwrap().lines().count(),
            1,
            "{args:?}"
        );
    }
}

#[test]
fn sigterm_and_sigint_exit_0() {
    for signal in ["-TERM", "-INT"] {
        let mut server = Server::start(&[]);
        assert_eq!(
            server.ask("GET /.crossguard/health HTTP/1.0\n\n").status,
            200
        );
        let pid = server.pid().to_string();
        let killed = Command::new("kill")
            .args([signal, pid.as_str()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = server.wait_exit();
        assert_eq!(status.code(), Some(0), "{signal}: {}", server.stderr());
    }
}

/// Sends one raw question without asking the server to close, and reads one answer.
fn ask_kept_alive(addr: SocketAddr, raw: &str) -> Reply {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(raw.replace('\n', "\r\n").as_bytes())
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert_ne!(n, 0, "closed before a whole answer");
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some((_, body)) = text.split_once("\r\n\r\n") {
            let reply = parse_reply(&text);
            let length: usize = reply.header("content-length").unwrap().parse().unwrap();
            if body.len() >= length {
                return reply;
            }
        }
    }
}

#[test]
fn restore_websocket_upgrade_judges_a_stripped_handshake_as_one() {
    // Traefik's ForwardAuth drops Upgrade and Connection; the key and the Origin stay.
    let stripped = |origin: &str| {
        format!(
            "GET /auth HTTP/1.1\nHost: 127.0.0.1\nX-Forwarded-Method: GET\nX-Forwarded-Proto: http\n\
             X-Forwarded-Host: localhost:8188\nX-Forwarded-Uri: /ws\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\nOrigin: {origin}\n\n"
        )
    };
    let server = Server::start(&["--restore-websocket-upgrade"]);
    let reply = ask_kept_alive(server.addr, &stripped("https://evil.example"));
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_websocket")
    );
    let reply = ask_kept_alive(server.addr, &stripped("http://localhost:8188"));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("x-crossguard-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
}

/// An engine that drops `Upgrade`/`Connection` turns a handshake into a plain GET: a question
/// carrying `Sec-WebSocket-Key` is judged as a handshake whatever else is missing, so it is
/// refused (fail closed) instead of passing with its cross-site Origin unchecked.
#[test]
fn a_question_with_a_key_is_a_handshake_whatever_else_is_missing() {
    let server = Server::start(&[]);
    let stripped = "GET /.crossguard/auth HTTP/1.0\nHost: 127.0.0.1:9180\nX-Forwarded-Method: GET\n\
         X-Forwarded-Proto: http\nX-Forwarded-Host: localhost:8188\nX-Forwarded-Uri: /ws\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\
         Origin: https://evil.example\n\n";
    let reply = server.ask(stripped);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body, "crossguard: websocket_upgrade\n");
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("websocket_upgrade")
    );
    // With the upgrade fields restored by the engine-specific flag, the Origin decides: 403.
    let server = Server::start(&["--restore-websocket-upgrade"]);
    let reply = server.ask(stripped);
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("x-crossguard-reason"),
        Some("cross_site_websocket")
    );
}

/// The health path answers only a plain health check: a question at that path that carries an
/// original's fields (an Origin, Fetch Metadata, a handshake's key, a cookie) is judged like any
/// question, never answered `200` unseen.
#[test]
fn the_health_path_answers_only_a_plain_health_check() {
    let server = Server::start(&[]);
    assert_eq!(
        server.ask("HEAD /.crossguard/health HTTP/1.0\n\n").status,
        200
    );
    for field in [
        "Origin: https://evil.example",
        "Sec-Fetch-Site: cross-site",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Cookie: session=1",
    ] {
        assert_misconfigured(
            &server,
            &format!("GET /.crossguard/health HTTP/1.0\n{field}\n\n"),
            "X-Forwarded-Method is missing",
        );
    }
}

/// An Envoy path prefix under which the health path lies is refused at start: Envoy's questions
/// for some original path would otherwise be health checks.
#[test]
fn an_envoy_prefix_that_collides_with_the_health_path_is_refused_at_start() {
    for prefix in ["/.crossguard", "/.crossguard/health"] {
        let out = run(
            &[
                "forward-auth",
                "--listen",
                "127.0.0.1:0",
                "--envoy-path-prefix",
                prefix,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{prefix}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("would send questions to the health endpoint /.crossguard/health"),
            "{prefix}: {stderr}"
        );
    }
}

/// An engine that replaced the handshake's `Connection: Upgrade` with `keep-alive` or `close`
/// still has its stripped handshake restored, so the Origin decides.
#[test]
fn restore_websocket_upgrade_ignores_persistence_tokens() {
    let server = Server::start(&["--restore-websocket-upgrade"]);
    for connection in ["keep-alive", "close"] {
        let question = format!(
            "GET /auth HTTP/1.0\nHost: 127.0.0.1\nX-Forwarded-Method: GET\nX-Forwarded-Proto: http\n\
             X-Forwarded-Host: localhost:8188\nX-Forwarded-Uri: /ws\nConnection: {connection}\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\
             Origin: https://evil.example\n\n"
        );
        let reply = server.ask(&question);
        assert_eq!(reply.status, 403, "{connection}");
        assert_eq!(
            reply.header("x-crossguard-reason"),
            Some("cross_site_websocket"),
            "{connection}"
        );
    }
}

/// Any page can make an engine ask misconfigured questions; each distinct line is logged at most
/// once a second, and the next one says how many were held back.
#[test]
fn misconfiguration_lines_are_rate_limited() {
    let server = Server::start(&[]);
    let question = "GET / HTTP/1.0\n\n";
    for _ in 0..50 {
        assert_eq!(server.ask(question).status, 500);
    }
    let line = "crossguard: forward_auth_misconfigured: X-Forwarded-Method is missing";
    let logged = server.wait_stderr(line).matches(line).count();
    assert!(logged <= 2, "{logged} lines for 50 questions");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(server.ask(question).status, 500);
    let log = server.wait_stderr("more like it not logged)");
    assert!(
        log.contains(&format!("{line} (")),
        "the next line counts what was held back: {log}"
    );
}
