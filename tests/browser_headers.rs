//! Header sets as Chromium and Firefox send them to a local tool on `localhost:8188`
//! (`localhost` is a potentially trustworthy origin, so browsers send Fetch Metadata to it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support::{ACCEPT, Decision, check_rows, decide, parse_head};
use crossguard::{Policy, Rejection, Rule};

const CHROMIUM_SAME_ORIGIN_FETCH_POST: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
Connection: keep-alive
Content-Length: 27
sec-ch-ua-platform: \"Linux\"
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36
sec-ch-ua: \"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"
Content-Type: application/json
sec-ch-ua-mobile: ?0
Accept: */*
Origin: http://localhost:8188
Sec-Fetch-Site: same-origin
Sec-Fetch-Mode: cors
Sec-Fetch-Dest: empty
Referer: http://localhost:8188/
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
";

const FIREFOX_SAME_ORIGIN_FETCH_POST: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0
Accept: */*
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br, zstd
Referer: http://localhost:8188/
Content-Type: application/json
Content-Length: 27
Origin: http://localhost:8188
Connection: keep-alive
Sec-Fetch-Dest: empty
Sec-Fetch-Mode: cors
Sec-Fetch-Site: same-origin
Priority: u=4
";

const CHROMIUM_CROSS_SITE_NO_CORS_POST: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
Connection: keep-alive
Content-Length: 3
sec-ch-ua-platform: \"Linux\"
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36
sec-ch-ua-mobile: ?0
Content-Type: text/plain;charset=UTF-8
Accept: */*
Origin: https://evil.example
Sec-Fetch-Site: cross-site
Sec-Fetch-Mode: no-cors
Sec-Fetch-Dest: empty
Referer: https://evil.example/
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
";

const FIREFOX_CROSS_SITE_FORM_POST: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br, zstd
Content-Type: application/x-www-form-urlencoded
Content-Length: 29
Origin: https://evil.example
Connection: keep-alive
Referer: https://evil.example/
Upgrade-Insecure-Requests: 1
Sec-Fetch-Dest: document
Sec-Fetch-Mode: navigate
Sec-Fetch-Site: cross-site
Sec-Fetch-User: ?1
Priority: u=0, i
";

const CHROMIUM_CROSS_SITE_FORM_POST_NULL_ORIGIN: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
Cache-Control: max-age=0
Origin: null
Content-Type: application/x-www-form-urlencoded
Upgrade-Insecure-Requests: 1
Sec-Fetch-Site: cross-site
Sec-Fetch-Mode: navigate
Sec-Fetch-Dest: document
";

const CHROMIUM_CROSS_SITE_NAVIGATION: &str = "
GET /view?file=output.png HTTP/1.1
Host: localhost:8188
Connection: keep-alive
sec-ch-ua-mobile: ?0
Upgrade-Insecure-Requests: 1
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8
Sec-Fetch-Site: cross-site
Sec-Fetch-Mode: navigate
Sec-Fetch-User: ?1
Sec-Fetch-Dest: document
Referer: https://news.example/
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
";

const CHROMIUM_CROSS_SITE_IMAGE: &str = "
GET /view?file=output.png HTTP/1.1
Host: localhost:8188
Connection: keep-alive
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36
Accept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8
Sec-Fetch-Site: cross-site
Sec-Fetch-Mode: no-cors
Sec-Fetch-Dest: image
Referer: https://evil.example/
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
";

const CHROMIUM_SAME_SITE_DEV_SERVER_POST: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
Connection: keep-alive
Content-Length: 42
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36
Content-Type: application/json
Accept: */*
Origin: http://localhost:3000
Sec-Fetch-Site: same-site
Sec-Fetch-Mode: cors
Sec-Fetch-Dest: empty
Referer: http://localhost:3000/
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
";

const CHROMIUM_SAME_SITE_PREFLIGHT: &str = "
OPTIONS /api/prompt HTTP/1.1
Host: localhost:8188
Connection: keep-alive
Accept: */*
Access-Control-Request-Method: POST
Access-Control-Request-Headers: content-type
Origin: http://localhost:3000
Sec-Fetch-Mode: cors
Sec-Fetch-Site: same-site
Sec-Fetch-Dest: empty
Referer: http://localhost:3000/
";

const CHROMIUM_WEBSOCKET_SAME_ORIGIN: &str = "
GET /ws HTTP/1.1
Host: localhost:8188
Connection: Upgrade
Pragma: no-cache
Cache-Control: no-cache
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36
Upgrade: websocket
Origin: http://localhost:8188
Sec-WebSocket-Version: 13
Accept-Encoding: gzip, deflate, br, zstd
Accept-Language: en-US,en;q=0.9
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
";

const CHROMIUM_WEBSOCKET_CROSS_SITE: &str = "
GET /ws HTTP/1.1
Host: localhost:8188
Connection: Upgrade
Upgrade: websocket
Origin: https://evil.example
Sec-WebSocket-Version: 13
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
";

const FIREFOX_WEBSOCKET_SAME_ORIGIN: &str = "
GET /ws HTTP/1.1
Host: localhost:8188
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0
Accept: */*
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br, zstd
Sec-WebSocket-Version: 13
Origin: http://localhost:8188
Sec-WebSocket-Extensions: permessage-deflate
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Connection: keep-alive, Upgrade
Sec-Fetch-Dest: empty
Sec-Fetch-Mode: websocket
Sec-Fetch-Site: same-origin
Pragma: no-cache
Cache-Control: no-cache
Upgrade: websocket
";

const FIREFOX_WEBSOCKET_CROSS_SITE: &str = "
GET /ws HTTP/1.1
Host: localhost:8188
Sec-WebSocket-Version: 13
Origin: https://evil.example
Sec-WebSocket-Extensions: permessage-deflate
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Connection: keep-alive, Upgrade
Sec-Fetch-Dest: empty
Sec-Fetch-Mode: websocket
Sec-Fetch-Site: cross-site
Upgrade: websocket
";

const CURL_POST: &str = "
POST /api/prompt HTTP/1.1
Host: localhost:8188
User-Agent: curl/8.5.0
Accept: */*
Content-Type: application/json
Content-Length: 27
";

#[test]
fn browser_header_sets_default_and_local_presets() {
    use Rejection::*;
    let default = Policy::default();
    let local = Policy::local().build().unwrap();
    // (source, head, default preset, local preset)
    #[rustfmt::skip]
    let rows: &[(&str, &str, Decision, Decision)] = &[
        ("Chromium same-origin fetch POST", CHROMIUM_SAME_ORIGIN_FETCH_POST, Ok(Rule::SecFetchSite), Ok(Rule::SecFetchSite)),
        ("Firefox same-origin fetch POST", FIREFOX_SAME_ORIGIN_FETCH_POST, Ok(Rule::SecFetchSite), Ok(Rule::SecFetchSite)),
        ("Chromium cross-site no-cors POST", CHROMIUM_CROSS_SITE_NO_CORS_POST, Err(CrossSiteRequest), Err(CrossSiteRequest)),
        ("Firefox cross-site form POST", FIREFOX_CROSS_SITE_FORM_POST, Err(CrossSiteRequest), Err(CrossSiteRequest)),
        ("Chromium form POST from an opaque origin", CHROMIUM_CROSS_SITE_FORM_POST_NULL_ORIGIN, Err(CrossSiteRequest), Err(CrossSiteRequest)),
        ("Chromium cross-site link click", CHROMIUM_CROSS_SITE_NAVIGATION, Ok(Rule::SafeMethod), Ok(Rule::Navigation)),
        ("Chromium cross-site <img>", CHROMIUM_CROSS_SITE_IMAGE, Ok(Rule::SafeMethod), Err(CrossSiteResource)),
        ("Chromium localhost:3000 → localhost:8188 POST", CHROMIUM_SAME_SITE_DEV_SERVER_POST, Err(SameSiteRequest), Err(SameSiteRequest)),
        ("Chromium localhost:3000 → localhost:8188 preflight", CHROMIUM_SAME_SITE_PREFLIGHT, Ok(Rule::SafeMethod), Err(CrossSiteResource)),
        ("Chromium same-origin WebSocket (no Sec-Fetch-*)", CHROMIUM_WEBSOCKET_SAME_ORIGIN, Ok(Rule::WebSocketOrigin), Ok(Rule::WebSocketOrigin)),
        ("Chromium cross-site WebSocket", CHROMIUM_WEBSOCKET_CROSS_SITE, Err(CrossSiteWebSocket), Err(CrossSiteWebSocket)),
        ("Firefox same-origin WebSocket", FIREFOX_WEBSOCKET_SAME_ORIGIN, Ok(Rule::WebSocketOrigin), Ok(Rule::WebSocketOrigin)),
        ("Firefox cross-site WebSocket", FIREFOX_WEBSOCKET_CROSS_SITE, Err(CrossSiteWebSocket), Err(CrossSiteWebSocket)),
        ("curl POST (neither header)", CURL_POST, Ok(Rule::NonBrowser), Ok(Rule::NonBrowser)),
    ];
    check_rows(rows, |(name, head, want_default, want_local)| {
        let req = parse_head(head);
        assert_eq!(
            decide(&default, &req),
            *want_default,
            "default preset: {name}"
        );
        assert_eq!(decide(&local, &req), *want_local, "local preset: {name}");
    });
}

#[test]
fn dev_server_is_allowed_once_trusted() {
    let trusted = Policy::local()
        .allow_origin("http://localhost:3000")
        .build()
        .unwrap();
    let same_site = Policy::local().allow_same_site(true).build().unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, &Policy, &str, Decision)] = &[
        ("Chromium localhost:3000 → localhost:8188 POST, allowlisted Origin", &trusted, CHROMIUM_SAME_SITE_DEV_SERVER_POST, Ok(Rule::OriginAllowlist)),
        ("Chromium localhost:3000 → localhost:8188 preflight, allowlisted Origin", &trusted, CHROMIUM_SAME_SITE_PREFLIGHT, Ok(Rule::OriginAllowlist)),
        ("Chromium localhost:3000 → localhost:8188 POST, allow_same_site", &same_site, CHROMIUM_SAME_SITE_DEV_SERVER_POST, Ok(Rule::SameSite)),
        ("Chromium localhost:3000 → localhost:8188 preflight, allow_same_site", &same_site, CHROMIUM_SAME_SITE_PREFLIGHT, Ok(Rule::SameSite)),
    ];
    check_rows(rows, |(source, policy, head, want)| {
        assert_eq!(decide(policy, &parse_head(head)), *want, "{source}");
    });
}

#[test]
fn handshake_verdict_carries_the_answer() {
    let verdict = Policy::default()
        .check_request(&parse_head(CHROMIUM_WEBSOCKET_SAME_ORIGIN))
        .unwrap();
    let handshake = verdict.handshake().unwrap();
    assert_eq!(handshake.accept().unwrap().as_str(), ACCEPT);
    assert_eq!(
        handshake.deflate().unwrap().to_string(),
        "permessage-deflate"
    );
    assert_eq!(handshake.protocol(), None);
}
