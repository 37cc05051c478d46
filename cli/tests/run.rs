//! `crossguard proxy --upstream unix:` in front of a hyper upstream on a Unix socket, and the
//! usage errors of `crossguard run`. (`run` itself, with real apps, namespaces and both users, is
//! `scripts/test-run.sh`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use crate::support::{Crossguard, Upstream, run_to_exit, send};
use http::{Request, Response, StatusCode};
use http_body_util::Full;

fn socket_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "crossguard-unix-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unix_upstream_gets_allowed_requests_and_never_refused_ones() {
    let dir = socket_dir();
    let path = dir.join("app.sock");
    let upstream = Upstream::start_unix(
        Arc::new(|seen| Response::new(Full::from(format!("{} {}", seen.method, seen.target)))),
        &path,
    )
    .await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    assert_eq!(
        proxy.banner,
        format!(
            "crossguard proxy: listening on http://{}, forwarding to unix:{}",
            proxy.addr,
            path.display()
        )
    );
    let host = proxy.addr.to_string();
    let (response, body) = send(
        Request::post(format!("http://{host}/api/prompt?x=1"))
            .header("origin", format!("http://{host}"))
            .header("sec-fetch-site", "same-origin")
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    // hyper's client sends the origin-form target; the Host is the browser's.
    assert_eq!(&body[..], b"POST /api/prompt?x=1");
    assert_eq!(upstream.seen()[0].headers["host"], host.as_str());

    let (refused, body) = send(
        Request::post(format!("http://{host}/api/prompt"))
            .header("sec-fetch-site", "cross-site")
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(&body[..], b"crossguard: cross_site_request\n");
    assert_eq!(
        upstream.seen().len(),
        1,
        "the refused request never reached the app"
    );
    drop(proxy);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_other_users_can_reach_is_warned_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = socket_dir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.join("open.sock");
    let upstream = Upstream::start_unix(Arc::new(|_| Response::new(Full::from("ok"))), &path).await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let open = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let warning = open.wait_stderr("crossguard: warning: ");
    assert!(
        warning.contains(&format!(
            "crossguard: warning: {} (mode 777, in a directory of mode 755) can be connected to by other users, around the guard; make it 0600 or put it in a 0700 directory",
            path.display()
        )),
        "{warning}"
    );
    drop(open);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let closed = Crossguard::proxy(&["--upstream", &upstream.url()]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(closed.stderr(), "", "no warning for a 0600 socket");
    drop(closed);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_socket_file_is_a_502_naming_the_path() {
    let dir = socket_dir();
    let path = dir.join("absent.sock");
    let upstream = format!("unix:{}", path.display());
    let proxy = Crossguard::proxy(&["--upstream", &upstream]);
    let (response, body) = send(
        Request::get(format!("http://{}/", proxy.addr))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(&body[..], b"crossguard: upstream_unavailable\n");
    let log = proxy.wait_stderr("upstream_unavailable GET /");
    assert!(log.contains(&path.display().to_string()), "{log}");
    drop(proxy);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unix_upstream_usage_errors_name_the_problem() {
    let long = format!("unix:/{}", "a".repeat(200));
    for (upstream, message) in [
        (
            "unix:",
            "`unix:` names no socket; use unix:/path/app.sock".to_owned(),
        ),
        (
            long.as_str(),
            format!("`{long}`: a Unix socket path has at most 103 bytes"),
        ),
    ] {
        let (code, stdout, stderr) = run_to_exit(&["proxy", "--upstream", upstream]);
        assert_eq!(code, Some(2), "{upstream}");
        assert_eq!(stdout, "");
        assert!(stderr.contains(&message), "{upstream}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn run_usage_errors_exit_2_before_anything_starts() {
    let cases: [(&[&str], &str); 5] = [
        (&["run", "--port", "8188"], "missing required argument"),
        (
            &["run", "--", "true"],
            "missing required argument: --port <PORT>",
        ),
        (
            &["run", "--port", "0", "--", "true"],
            "invalid value '0' for '--port <PORT>': 0 is not in 1..=65535",
        ),
        (
            &[
                "run",
                "--port",
                "8188",
                "--start-timeout",
                "0",
                "--",
                "true",
            ],
            "must be a positive number of seconds",
        ),
        (
            &[
                "run",
                "--port",
                "8188",
                "--allow-origin",
                "https://*",
                "--",
                "true",
            ],
            "crossguard: ",
        ),
    ];
    for (args, message) in cases {
        let (code, stdout, stderr) = run_to_exit(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}
