//! Table tests of every cross-origin and Host rule. Each row names its source.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support::{
    Decision, Fields, PolicyRow, check_policy, check_rows, decide, request, with_raw, with_version,
};
use crossguard::{Policy, Rejection, Rule};
use http::{Request, Version};

const H: (&str, &str) = ("host", "example.com");

/// Go 1.25.1 `TestCrossOriginProtectionSecFetchSite` (net/http/csrf_test.go), Host example.com.
#[test]
fn go_sec_fetch_site_table() {
    use Rejection::*;
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("go: same-origin allowed", "POST", "/", &[H, ("sec-fetch-site", "same-origin")], Ok(Rule::SecFetchSite)),
        ("go: none allowed", "POST", "/", &[H, ("sec-fetch-site", "none")], Ok(Rule::SecFetchSite)),
        ("go: cross-site blocked", "POST", "/", &[H, ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("go: same-site blocked", "POST", "/", &[H, ("sec-fetch-site", "same-site")], Err(SameSiteRequest)),
        ("go: no header with no origin", "POST", "/", &[H], Ok(Rule::NonBrowser)),
        ("go: no header with matching origin", "POST", "/", &[H, ("origin", "https://example.com")], Ok(Rule::Origin)),
        ("go: no header with mismatched origin", "POST", "/", &[H, ("origin", "https://attacker.example")], Err(OriginMismatch)),
        ("go: no header with null origin", "POST", "/", &[H, ("origin", "null")], Err(NullOrigin)),
        ("go: GET allowed", "GET", "/", &[H, ("sec-fetch-site", "cross-site")], Ok(Rule::SafeMethod)),
        ("go: HEAD allowed", "HEAD", "/", &[H, ("sec-fetch-site", "cross-site")], Ok(Rule::SafeMethod)),
        ("go: OPTIONS allowed", "OPTIONS", "/", &[H, ("sec-fetch-site", "cross-site")], Ok(Rule::SafeMethod)),
        ("go: PUT blocked", "PUT", "/", &[H, ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        // Beyond Go's table, same decision path.
        ("go semantics: TRACE is not exempt", "TRACE", "/", &[H, ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("go semantics: DELETE blocked", "DELETE", "/", &[H, ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("go semantics: PATCH same-origin", "PATCH", "/", &[H, ("sec-fetch-site", "same-origin")], Ok(Rule::SecFetchSite)),
        ("go semantics: values are case-sensitive tokens", "POST", "/", &[H, ("sec-fetch-site", "Same-Origin")], Err(CrossSiteRequest)),
        ("policy.md §5 (unsafe methods): unknown value counts as cross-site", "POST", "/", &[H, ("sec-fetch-site", "same-planet")], Err(CrossSiteRequest)),
        ("policy.md §5 (unsafe methods): Sec-Fetch-Site decides, a matching Origin does not rescue", "POST", "/", &[H, ("sec-fetch-site", "cross-site"), ("origin", "https://example.com")], Err(CrossSiteRequest)),
        ("policy.md §6: null Origin does not matter with same-origin", "POST", "/", &[H, ("sec-fetch-site", "same-origin"), ("origin", "null")], Ok(Rule::SecFetchSite)),
    ];
    check_policy(&Policy::default(), rows);
}

/// Go 1.25.1 `TestCrossOriginProtectionTrustedOriginBypass` and tower-http 0.7 strict-match rows,
/// mapped to our normalising allowlist.
#[test]
fn go_trusted_origin_table() {
    use Rejection::*;
    let policy = Policy::builder()
        .allow_origin("https://trusted.example")
        .build()
        .unwrap();
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("go: trusted origin without sec-fetch-site", "POST", "/", &[H, ("origin", "https://trusted.example")], Ok(Rule::OriginAllowlist)),
        ("go: trusted origin with cross-site", "POST", "/", &[H, ("origin", "https://trusted.example"), ("sec-fetch-site", "cross-site")], Ok(Rule::OriginAllowlist)),
        ("go: untrusted origin without sec-fetch-site", "POST", "/", &[H, ("origin", "https://attacker.example")], Err(OriginMismatch)),
        ("go: untrusted origin with cross-site", "POST", "/", &[H, ("origin", "https://attacker.example"), ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        // tower-http compares bytes; we compare (scheme, host, port) — deliberate difference.
        ("tower-http differs: explicit default port matches", "POST", "/", &[H, ("origin", "https://trusted.example:443"), ("sec-fetch-site", "cross-site")], Ok(Rule::OriginAllowlist)),
        ("tower-http differs: case-insensitive host", "POST", "/", &[H, ("origin", "https://TRUSTED.example"), ("sec-fetch-site", "cross-site")], Ok(Rule::OriginAllowlist)),
        ("scheme is part of the origin", "POST", "/", &[H, ("origin", "http://trusted.example"), ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("port is part of the origin", "POST", "/", &[H, ("origin", "https://trusted.example:8443"), ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("suffix confusion", "POST", "/", &[H, ("origin", "https://trusted.example.evil.net"), ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("prefix confusion", "POST", "/", &[H, ("origin", "https://eviltrusted.example"), ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("same-site with allowlisted origin", "POST", "/", &[H, ("origin", "https://trusted.example"), ("sec-fetch-site", "same-site")], Ok(Rule::OriginAllowlist)),
    ];
    check_policy(&policy, rows);
}

/// Go's pattern-bypass table, ported to a predicate over the exact path: the CVE-2025-47910 rows
/// (paths that a router would redirect to a bypassed path) are not bypassed, because the
/// predicate sees the path the inner service sees.
#[test]
fn go_bypass_table() {
    use Rejection::*;
    let policy = Policy::builder()
        .bypass(|_, uri| {
            uri.path() == "/bypass/"
                || uri.path().starts_with("/only/") && uri.path().matches('/').count() == 2
        })
        .allow_host("example.com")
        .build()
        .unwrap();
    const A: (&str, &str) = ("origin", "https://attacker.example");
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("go: bypass path without sec-fetch-site", "POST", "/bypass/", &[H, A], Ok(Rule::Bypass)),
        ("go: bypass path with cross-site", "POST", "/bypass/", &[H, A, ("sec-fetch-site", "cross-site")], Ok(Rule::Bypass)),
        ("go: non-bypass path without sec-fetch-site", "POST", "/api/", &[H, A], Err(OriginMismatch)),
        ("go: non-bypass path with cross-site", "POST", "/api/", &[H, A, ("sec-fetch-site", "cross-site")], Err(CrossSiteRequest)),
        ("go 1.25.1 (CVE-2025-47910): redirect to bypass path with ..", "POST", "/foo/../bypass/bar", &[H, A], Err(OriginMismatch)),
        ("go 1.25.1 (CVE-2025-47910): redirect to bypass path, trailing slash", "POST", "/bypass", &[H, A], Err(OriginMismatch)),
        ("go: redirect to non-bypass path with ..", "POST", "/foo/../api/bar", &[H, A], Err(OriginMismatch)),
        ("go: wildcard bypass", "POST", "/only/123", &[H, A], Ok(Rule::Bypass)),
        ("go: non-wildcard", "POST", "/only/123/foo", &[H, A], Err(OriginMismatch)),
        ("policy.md §4: bypass never skips the Host check", "POST", "/bypass/", &[("host", "evil.example"), A], Err(HostNotAllowed)),
    ];
    check_policy(&policy, rows);
}

/// tower-http 0.7 `test_middleware_origin_host_port_match`, mapped to our rule: ports compare as
/// numbers with defaults from the Origin's scheme (policy.md, as Go's scheme-blind host match).
#[test]
fn origin_versus_authority_table() {
    use Rejection::*;
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("tower-http: default port both sides", "POST", "/", &[("host", "example.com"), ("origin", "https://example.com")], Ok(Rule::Origin)),
        ("tower-http: same non-default port", "POST", "/", &[("host", "example.com:8443"), ("origin", "https://example.com:8443")], Ok(Rule::Origin)),
        ("tower-http: explicit default both sides", "POST", "/", &[("host", "example.com:443"), ("origin", "https://example.com:443")], Ok(Rule::Origin)),
        ("tower-http: mismatched ports", "POST", "/", &[("host", "example.com:8443"), ("origin", "https://example.com:8444")], Err(OriginMismatch)),
        ("tower-http differs: origin explicit default, host implicit", "POST", "/", &[("host", "example.com"), ("origin", "https://example.com:443")], Ok(Rule::Origin)),
        ("tower-http differs: host explicit default, origin implicit", "POST", "/", &[("host", "example.com:443"), ("origin", "https://example.com")], Ok(Rule::Origin)),
        ("tower-http: host implicit, origin explicit non-default", "POST", "/", &[("host", "example.com"), ("origin", "https://example.com:8443")], Err(OriginMismatch)),
        ("tower-http: uri authority, origin non-default", "POST", "https://example.com/path", &[("host", "example.com"), ("origin", "https://example.com:8443")], Err(OriginMismatch)),
        ("tower-http differs: malformed Host is a 400", "POST", "/path", &[("host", "not a valid authority"), ("origin", "https://example.com")], Err(MalformedHost)),
        ("RFC 9112 §3.2.2 (guard): Host contradicting the absolute-form target is a 400", "POST", "https://example.com/path", &[("host", "other.example"), ("origin", "https://example.com")], Err(HostMismatch)),
        ("RFC 9112 §3.2.2 (guard): origin matching Host but not the target authority", "POST", "https://example.com/path", &[("host", "other.example"), ("origin", "https://other.example")], Err(HostMismatch)),
        ("RFC 9112 §3.2 (tower-http allows it): HTTP/1.1 absolute-form without Host is a 400", "POST", "https://example.com/path", &[("origin", "https://example.com")], Err(MissingHost)),
        ("tower-http: uri authority mismatch (with the Host RFC 9112 §3.2 requires)", "POST", "https://other.example/path", &[("host", "other.example"), ("origin", "https://example.com")], Err(OriginMismatch)),
        ("RFC 9112 §3.2: missing host and no uri authority", "POST", "/path", &[("origin", "https://example.com")], Err(MissingHost)),
        ("tower-http: scheme-less origin is malformed", "POST", "/", &[("host", "example.com:8443"), ("origin", "example.com:8443")], Err(MalformedOrigin)),
        ("tower-http: non-http scheme never equals the authority", "POST", "/", &[("host", "example.com:8443"), ("origin", "ftp://example.com:8443")], Err(OriginMismatch)),
        ("Go #78563: userinfo in Origin is malformed", "POST", "/", &[("host", "victim.example"), ("origin", "http://evil@victim.example")], Err(MalformedOrigin)),
        ("http origin on port 80", "POST", "/", &[("host", "example.com"), ("origin", "http://example.com")], Ok(Rule::Origin)),
        ("http origin vs host on 443", "POST", "/", &[("host", "example.com:443"), ("origin", "http://example.com")], Err(OriginMismatch)),
        ("policy.md (comparing an Origin): https://a:8080 matches Host a:8080 (scheme unknown over HTTP/1.1)", "POST", "/", &[("host", "a.example:8080"), ("origin", "http://a.example:8080")], Ok(Rule::Origin)),
        ("case-insensitive host", "POST", "/", &[("host", "EXAMPLE.com"), ("origin", "https://example.COM")], Ok(Rule::Origin)),
        ("trailing dot on the Host", "POST", "/", &[("host", "example.com."), ("origin", "https://example.com")], Ok(Rule::Origin)),
        ("IPv6 loopback", "POST", "/", &[("host", "[::1]:8188"), ("origin", "http://[::1]:8188")], Ok(Rule::Origin)),
        ("IPv6 written two ways", "POST", "/", &[("host", "[0:0:0:0:0:0:0:1]:8188"), ("origin", "http://[::1]:8188")], Ok(Rule::Origin)),
        ("localhost vs 127.0.0.1 are different hosts", "POST", "/", &[("host", "127.0.0.1:8188"), ("origin", "http://localhost:8188")], Err(OriginMismatch)),
    ];
    check_policy(&Policy::default(), rows);
}

/// web.dev "Protect your resources from web attacks with Fetch Metadata" (Resource Isolation
/// Policy), with crossguard's difference: `same-site` is refused unless opted in.
#[test]
fn resource_isolation_table() {
    use Rejection::*;
    let policy = Policy::builder().resource_isolation(true).build().unwrap();
    const S: &str = "sec-fetch-site";
    const M: &str = "sec-fetch-mode";
    const D: &str = "sec-fetch-dest";
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("web.dev 1: no Sec-Fetch-Site (old browser, curl)", "GET", "/", &[H], Ok(Rule::SafeMethod)),
        ("web.dev 2: same-origin", "GET", "/", &[H, (S, "same-origin"), (M, "cors"), (D, "empty")], Ok(Rule::SecFetchSite)),
        ("web.dev 2: none (typed URL)", "GET", "/", &[H, (S, "none"), (M, "navigate"), (D, "document")], Ok(Rule::SecFetchSite)),
        ("web.dev 2, crossguard differs: same-site refused unless opted in", "GET", "/", &[H, (S, "same-site"), (M, "cors"), (D, "empty")], Err(CrossSiteResource)),
        ("web.dev 3: cross-site link click", "GET", "/", &[H, (S, "cross-site"), (M, "navigate"), (D, "document")], Ok(Rule::Navigation)),
        ("web.dev 3: cross-site iframe navigation", "GET", "/", &[H, (S, "cross-site"), (M, "navigate"), (D, "iframe")], Ok(Rule::Navigation)),
        ("web.dev 3: <object> is not a navigation", "GET", "/", &[H, (S, "cross-site"), (M, "navigate"), (D, "object")], Err(CrossSiteResource)),
        ("web.dev 3: <embed> is not a navigation", "GET", "/", &[H, (S, "cross-site"), (M, "navigate"), (D, "embed")], Err(CrossSiteResource)),
        ("web.dev 3: HEAD navigation is refused (GET only)", "HEAD", "/", &[H, (S, "cross-site"), (M, "navigate"), (D, "document")], Err(CrossSiteResource)),
        ("web.dev 5: cross-site <img>", "GET", "/view?file=x", &[H, (S, "cross-site"), (M, "no-cors"), (D, "image")], Err(CrossSiteResource)),
        ("web.dev 5: cross-site <script> (XSSI)", "GET", "/", &[H, (S, "cross-site"), (M, "no-cors"), (D, "script")], Err(CrossSiteResource)),
        ("web.dev 5: cross-site CORS fetch", "GET", "/", &[H, (S, "cross-site"), (M, "cors"), (D, "empty")], Err(CrossSiteResource)),
        ("web.dev 5: cross-site preflight", "OPTIONS", "/", &[H, (S, "cross-site"), (M, "cors"), (D, "empty"), ("origin", "https://evil.example")], Err(CrossSiteResource)),
        ("policy.md §5 (safe methods): unknown site value counts as cross-site", "GET", "/", &[H, (S, "weird"), (M, "no-cors"), (D, "image")], Err(CrossSiteResource)),
        ("policy.md §5 (safe methods): navigate without Dest is a navigation", "GET", "/", &[H, (S, "cross-site"), (M, "navigate")], Ok(Rule::Navigation)),
        ("policy.md §5 (safe methods): cross-site without Mode", "GET", "/", &[H, (S, "cross-site")], Err(CrossSiteResource)),
        ("unsafe methods follow §3.4 first", "POST", "/", &[H, (S, "cross-site"), (M, "navigate"), (D, "document")], Err(CrossSiteRequest)),
    ];
    check_policy(&policy, rows);

    let opted = Policy::builder()
        .resource_isolation(true)
        .allow_same_site(true)
        .allow_origin("https://partner.example")
        .build()
        .unwrap();
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("web.dev 2: same-site allowed once opted in", "GET", "/", &[H, (S, "same-site"), (M, "cors"), (D, "empty")], Ok(Rule::SameSite)),
        ("policy.md §5 (safe methods): allowlisted Origin may fetch", "GET", "/", &[H, (S, "cross-site"), (M, "cors"), (D, "empty"), ("origin", "https://partner.example")], Ok(Rule::OriginAllowlist)),
        ("policy.md §5 (safe methods): allowlisted Origin may preflight", "OPTIONS", "/", &[H, (S, "cross-site"), (M, "cors"), (D, "empty"), ("origin", "https://partner.example")], Ok(Rule::OriginAllowlist)),
        ("policy.md §5 (safe methods): other Origin may not", "GET", "/", &[H, (S, "cross-site"), (M, "cors"), (D, "empty"), ("origin", "https://other.example")], Err(CrossSiteResource)),
    ];
    check_policy(&opted, rows);
}

/// A LAN address over plain HTTP (`--listen 0.0.0.0`, `--allow-host 192.168.1.5:8189`): browsers
/// send Fetch Metadata only to potentially trustworthy origins (Fetch Metadata §2, Secure
/// Contexts §3.2), so a cross-site `<img>` or `<script>` load arrives with neither `Sec-Fetch-*`
/// nor `Origin` and looks like a non-browser client; the `local` preset's
/// `Cross-Origin-Resource-Policy: same-origin` then keeps its response from the embedding page
/// (`layer_service::corp_keeps_lan_responses_from_cross_site_embedders`). An unsafe request still
/// carries `Origin`, and the Host allowlist still holds.
#[test]
fn lan_address_without_fetch_metadata() {
    use Rejection::*;
    let policy = Policy::local()
        .allow_host("192.168.1.5:8189")
        .build()
        .unwrap();
    const LAN: (&str, &str) = ("host", "192.168.1.5:8189");
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("Fetch Metadata §2: a cross-site <img> to http://192.168.1.5:8189 carries no Sec-Fetch-* and no Origin", "GET", "/view?file=x", &[LAN, ("accept", "image/avif,image/webp,*/*")], Ok(Rule::SafeMethod)),
        ("Fetch Metadata §2: a cross-site <script> likewise", "GET", "/api/queue", &[LAN, ("accept", "*/*")], Ok(Rule::SafeMethod)),
        ("Fetch §3.1: a cross-site form POST still sends Origin", "POST", "/api/prompt", &[LAN, ("origin", "http://evil.example")], Err(OriginMismatch)),
        ("Fetch §3.1: the app's own page posts with its own Origin", "POST", "/api/prompt", &[LAN, ("origin", "http://192.168.1.5:8189")], Ok(Rule::Origin)),
        ("DNS rebinding to the LAN address: another name", "GET", "/", &[("host", "evil.example:8189")], Err(HostNotAllowed)),
        ("the LAN address on another port is not allowlisted", "GET", "/", &[("host", "192.168.1.5:8188")], Err(HostNotAllowed)),
    ];
    check_policy(&policy, rows);
}

/// Same-site (`localhost:3000` → `localhost:8188`) is refused by default and allowed on opt-in.
#[test]
fn same_site_opt_in() {
    const L: (&str, &str) = ("host", "localhost:8188");
    let opted = Policy::builder().allow_same_site(true).build().unwrap();
    let allowlisted = Policy::builder()
        .allow_origin("http://localhost:3000")
        .build()
        .unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, &Policy, Fields, Decision)] = &[
        ("same-site POST, default policy", &Policy::default(), &[L, ("origin", "http://localhost:3000"), ("sec-fetch-site", "same-site")], Err(Rejection::SameSiteRequest)),
        ("same-site POST, allow_same_site", &opted, &[L, ("origin", "http://localhost:3000"), ("sec-fetch-site", "same-site")], Ok(Rule::SameSite)),
        ("same-site POST, allowlisted Origin", &allowlisted, &[L, ("origin", "http://localhost:3000"), ("sec-fetch-site", "same-site")], Ok(Rule::OriginAllowlist)),
        // Without Sec-Fetch-Site the Origin decides, and a different port is another origin.
        ("no Sec-Fetch-Site, allow_same_site", &opted, &[L, ("origin", "http://localhost:3000")], Err(Rejection::OriginMismatch)),
    ];
    check_rows(rows, |(_, policy, headers, expected)| {
        assert_eq!(
            decide(policy, &request("POST", "/api/prompt", headers)),
            *expected
        );
    });
}

/// Host allowlist and RFC 9112 Host handling (policy.md §1).
#[test]
fn host_table() {
    use Rejection::*;
    let local = Policy::local().build().unwrap();
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("loopback preset: localhost", "GET", "/", &[("host", "localhost:8188")], Ok(Rule::SafeMethod)),
        ("loopback preset: upper case", "GET", "/", &[("host", "LOCALHOST:8188")], Ok(Rule::SafeMethod)),
        ("loopback preset: trailing dot", "GET", "/", &[("host", "localhost.:8188")], Ok(Rule::SafeMethod)),
        ("loopback preset: *.localhost (RFC 6761 §6.3)", "GET", "/", &[("host", "app.localhost:8188")], Ok(Rule::SafeMethod)),
        ("loopback preset: 127.0.0.1", "GET", "/", &[("host", "127.0.0.1:8188")], Ok(Rule::SafeMethod)),
        ("loopback preset: 127.1.2.3", "GET", "/", &[("host", "127.1.2.3")], Ok(Rule::SafeMethod)),
        ("loopback preset: [::1]:8188", "GET", "/", &[("host", "[::1]:8188")], Ok(Rule::SafeMethod)),
        ("loopback preset: explicit default port", "GET", "/", &[("host", "localhost:80")], Ok(Rule::SafeMethod)),
        ("DNS rebinding: attacker name", "POST", "/api/prompt", &[("host", "attacker.example:8188"), ("origin", "http://attacker.example:8188")], Err(HostNotAllowed)),
        ("DNS rebinding: GET too", "GET", "/api/history", &[("host", "attacker.example:8188")], Err(HostNotAllowed)),
        ("not loopback: 0.0.0.0", "GET", "/", &[("host", "0.0.0.0:8188")], Err(HostNotAllowed)),
        ("not loopback: localhost.evil.example", "GET", "/", &[("host", "localhost.evil.example")], Err(HostNotAllowed)),
        ("not loopback: evillocalhost", "GET", "/", &[("host", "evillocalhost")], Err(HostNotAllowed)),
        ("ambiguous numeric name refused", "GET", "/", &[("host", "127.1")], Err(MalformedHost)),
        ("RFC 9112 §3.2: duplicated Host", "GET", "/", &[("host", "localhost"), ("host", "localhost")], Err(DuplicateHost)),
        ("RFC 9112 §3.2: missing Host", "GET", "/", &[], Err(MissingHost)),
        ("malformed: userinfo", "GET", "/", &[("host", "evil@localhost")], Err(MalformedHost)),
        ("malformed: port out of range", "GET", "/", &[("host", "localhost:65536")], Err(MalformedHost)),
        ("malformed: two colons", "GET", "/", &[("host", "localhost:1:2")], Err(MalformedHost)),
        ("malformed: bad IPv6", "GET", "/", &[("host", "[::g]")], Err(MalformedHost)),
        ("malformed: space", "GET", "/", &[("host", "local host")], Err(MalformedHost)),
        ("RFC 9112 §3.2.2 (guard): absolute-form and a contradicting Host is a 400", "GET", "http://localhost:8188/", &[("host", "attacker.example")], Err(HostMismatch)),
        ("absolute-form to an attacker name, Host agreeing", "GET", "http://attacker.example/", &[("host", "attacker.example")], Err(HostNotAllowed)),
        ("RFC 9112 §3.2: duplicated Host, even with an absolute-form target", "GET", "http://localhost/", &[("host", "localhost"), ("host", "localhost")], Err(DuplicateHost)),
        ("RFC 9112 §3.2: invalid Host, even with an absolute-form target", "GET", "http://localhost/", &[("host", "local host")], Err(MalformedHost)),
    ];
    check_policy(&local, rows);

    let hosts = Policy::builder()
        .allow_host("app.example.com:8443")
        .allow_host(".corp.example")
        .allow_host("[::1]")
        .build()
        .unwrap();
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("host:port entry", "GET", "/", &[("host", "app.example.com:8443")], Ok(Rule::SafeMethod)),
        ("host:port entry, other port", "GET", "/", &[("host", "app.example.com:8444")], Err(HostNotAllowed)),
        ("host:port entry, no port", "GET", "/", &[("host", "app.example.com")], Err(HostNotAllowed)),
        (".domain entry: apex", "GET", "/", &[("host", "corp.example")], Ok(Rule::SafeMethod)),
        (".domain entry: subdomain", "GET", "/", &[("host", "a.b.corp.example:9000")], Ok(Rule::SafeMethod)),
        (".domain entry: suffix confusion", "GET", "/", &[("host", "evilcorp.example")], Err(HostNotAllowed)),
        (".domain entry: appended suffix", "GET", "/", &[("host", "corp.example.evil.net")], Err(HostNotAllowed)),
        ("[::1] entry", "GET", "/", &[("host", "[::1]:1234")], Ok(Rule::SafeMethod)),
    ];
    check_policy(&hosts, rows);

    let default_port = Policy::builder()
        .allow_host("example.com:443")
        .build()
        .unwrap();
    let http_10 = || with_version(request("GET", "/", &[]), Version::HTTP_10);
    // HTTP/2 carries the authority in the target.
    let http_2 = with_version(
        request(
            "POST",
            "https://example.com/",
            &[("origin", "https://example.com")],
        ),
        Version::HTTP_2,
    );
    #[rustfmt::skip]
    let rows: &[(&str, &Policy, Request<()>, Decision)] = &[
        ("a request without a port used the default port", &default_port, request("GET", "/", &[("host", "example.com")]), Ok(Rule::SafeMethod)),
        // HTTP/1.0 needs no Host (RFC 9112 §3.2 applies to HTTP/1.1), unless a host allowlist asks.
        ("RFC 9112 §3.2: HTTP/1.0 without Host", &Policy::default(), http_10(), Ok(Rule::SafeMethod)),
        ("RFC 9112 §3.2: HTTP/1.0 without Host, host allowlist", &local, http_10(), Err(MissingHost)),
        ("HTTP/2 carries the authority in the target", &Policy::default(), http_2, Ok(Rule::Origin)),
    ];
    check_rows(rows, |(source, policy, req, expected)| {
        assert_eq!(decide(policy, req), *expected, "{source}");
    });
}

/// Hostile header values: typed rejections, never a panic, never a silent allow.
#[test]
fn hostile_input() {
    use Rejection::*;
    let policy = Policy::default();
    #[rustfmt::skip]
    let rows: &[PolicyRow] = &[
        ("security.md: duplicated Origin", "POST", "/", &[H, ("origin", "https://example.com"), ("origin", "https://example.com")], Err(DuplicateHeader(crossguard::Field::Origin))),
        ("security.md: duplicated Sec-Fetch-Site", "POST", "/", &[H, ("sec-fetch-site", "same-origin"), ("sec-fetch-site", "same-origin")], Err(DuplicateHeader(crossguard::Field::SecFetchSite))),
        ("security.md: duplicated Sec-Fetch-Mode", "GET", "/", &[H, ("sec-fetch-mode", "cors"), ("sec-fetch-mode", "cors")], Err(DuplicateHeader(crossguard::Field::SecFetchMode))),
        ("security.md: duplicated Sec-Fetch-Dest", "GET", "/", &[H, ("sec-fetch-dest", "empty"), ("sec-fetch-dest", "image")], Err(DuplicateHeader(crossguard::Field::SecFetchDest))),
        ("Origin with a path", "POST", "/", &[H, ("origin", "https://example.com/")], Err(MalformedOrigin)),
        ("Origin with a query", "POST", "/", &[H, ("origin", "https://example.com?x")], Err(MalformedOrigin)),
        ("Origin with userinfo", "POST", "/", &[H, ("origin", "http://evil@example.com")], Err(MalformedOrigin)),
        ("Origin with empty port", "POST", "/", &[H, ("origin", "https://example.com:")], Err(MalformedOrigin)),
        ("Origin with leading-zero port", "POST", "/", &[H, ("origin", "https://example.com:0443")], Err(MalformedOrigin)),
        ("empty Origin", "POST", "/", &[H, ("origin", "")], Err(MalformedOrigin)),
        ("Origin NULL is not null", "POST", "/", &[H, ("origin", "NULL")], Err(MalformedOrigin)),
        ("empty Sec-Fetch-Site", "POST", "/", &[H, ("sec-fetch-site", "")], Err(MalformedFetchMetadata(crossguard::Field::SecFetchSite))),
        ("Sec-Fetch-Site with a space", "POST", "/", &[H, ("sec-fetch-site", "same origin")], Err(MalformedFetchMetadata(crossguard::Field::SecFetchSite))),
        ("Sec-Fetch-Site list", "POST", "/", &[H, ("sec-fetch-site", "same-origin, cross-site")], Err(MalformedFetchMetadata(crossguard::Field::SecFetchSite))),
    ];
    check_policy(&policy, rows);

    let non_ascii = |name, bytes: &[u8]| with_raw(request("POST", "/", &[H]), name, bytes);
    let huge = format!("https://{}.example", "a".repeat(64 * 1024));
    let huge_host = "a".repeat(64 * 1024);
    let huge_site = "x".repeat(64 * 1024);
    #[rustfmt::skip]
    let rows: &[(&str, Request<()>, Decision)] = &[
        ("Origin with a non-ASCII byte", non_ascii("origin", b"https://ex\xe4mple.com"), Err(MalformedOrigin)),
        ("Origin that is not UTF-8", non_ascii("origin", &[0xff, 0xfe]), Err(MalformedOrigin)),
        ("Sec-Fetch-Site with a non-ASCII byte", non_ascii("sec-fetch-site", b"same-origin\xff"), Err(MalformedFetchMetadata(crossguard::Field::SecFetchSite))),
        ("a second Host line, non-ASCII", non_ascii("host", b"ex\xe4mple.com"), Err(DuplicateHost)),
        ("Host with a non-ASCII byte", with_raw(request("POST", "/", &[]), "host", b"ex\xe4mple.com"), Err(MalformedHost)),
        ("64 KiB Origin", request("POST", "/", &[H, ("origin", &huge)]), Err(MalformedOrigin)),
        ("64 KiB Host", request("GET", "/", &[("host", &huge_host)]), Err(MalformedHost)),
        ("64 KiB Sec-Fetch-Site", request("POST", "/", &[H, ("sec-fetch-site", &huge_site)]), Err(MalformedFetchMetadata(crossguard::Field::SecFetchSite))),
    ];
    check_rows(rows, |(source, req, expected)| {
        assert_eq!(decide(&policy, req), *expected, "{source}");
    });
}

/// Report-only runs every check and lets every request through with the finding attached.
#[test]
fn report_only() {
    let policy = Policy::local().report_only(true).build().unwrap();
    let enforcing = Policy::local().build().unwrap();
    // The last column is what the enforcing policy decides: report-only reports its rejection.
    #[rustfmt::skip]
    let rows: &[(&str, Fields, Decision)] = &[
        ("PolicyBuilder::report_only: a cross-site POST", &[("host", "localhost:8188"), ("sec-fetch-site", "cross-site")], Err(Rejection::CrossSiteRequest)),
        ("PolicyBuilder::report_only: a Host outside the allowlist", &[("host", "attacker.example")], Err(Rejection::HostNotAllowed)),
        ("PolicyBuilder::report_only: a malformed Origin", &[("host", "localhost"), ("origin", "x"), ("sec-fetch-site", "cross-site")], Err(Rejection::MalformedOrigin)),
        ("PolicyBuilder::report_only: a same-origin POST reports nothing", &[("host", "localhost"), ("sec-fetch-site", "same-origin")], Ok(Rule::SecFetchSite)),
    ];
    check_rows(rows, |(_, headers, enforced)| {
        let req = request("POST", "/", headers);
        let verdict = policy.check_request(&req).unwrap();
        assert_eq!(verdict.reported(), enforced.err());
        assert_eq!(
            verdict.rule(),
            enforced.map_or_else(|r| r.rule(), |rule| rule)
        );
        assert_eq!(decide(&enforcing, &req), *enforced);
    });
}

/// Configuration errors are values, never panics (Go `TestCrossOriginProtectionAddTrustedOriginErrors`).
#[test]
fn config_errors() {
    let origin_ok = |o: &str| Policy::builder().allow_origin(o).build().is_ok();
    for ok in [
        "https://example.com",
        "https://example.com:8080",
        "http://example.com",
        "null",
        "https://*.example.com",
        "http://[::1]:8188",
        "chrome-extension://abcdefghijklmnop",
    ] {
        assert!(origin_ok(ok), "{ok} should be accepted");
    }
    for bad in [
        "example.com",
        "https://",
        "https://example.com/",
        "https://example.com/path",
        "https://example.com?query=value",
        "https://example.com#fragment",
        "https://ex ample.com",
        "",
        "https://user@example.com",
        "https://a.*.example.com",
        "https://*.1.2.3.4",
        "https://example.com:99999",
        "*",
    ] {
        let err = Policy::builder().allow_origin(bad).build().unwrap_err();
        assert!(
            matches!(err, crossguard::ConfigError::InvalidOrigin { .. }),
            "{bad}: {err}"
        );
    }
    for ok in [
        "localhost",
        "localhost:8188",
        "loopback",
        ".example.com",
        "[::1]",
        "[::1]:8188",
        "10.0.0.1",
    ] {
        assert!(
            Policy::builder().allow_host(ok).build().is_ok(),
            "{ok} should be accepted"
        );
    }
    for bad in [
        "http://localhost",
        "localhost/",
        "*.example.com",
        "local host",
        "localhost:0",
        "[::1",
        ".",
        "",
    ] {
        let err = Policy::builder().allow_host(bad).build().unwrap_err();
        assert!(
            matches!(err, crossguard::ConfigError::InvalidHost { .. }),
            "{bad}: {err}"
        );
    }
    assert!(
        Policy::builder()
            .websocket_protocol("chat")
            .websocket_protocol("chat")
            .build()
            .is_err()
    );
    assert!(Policy::builder().websocket_protocol("a b").build().is_err());
}

/// Every reason code is distinct, snake_case, and has the documented status class.
#[test]
fn reason_codes_are_stable() {
    let mut seen = std::collections::HashSet::new();
    for rejection in Rejection::ALL {
        let reason = rejection.reason();
        assert!(seen.insert(reason), "duplicate reason {reason}");
        assert!(
            reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{reason}"
        );
        assert_eq!(rejection.body(), format!("crossguard: {reason}\n"));
        let docs = include_str!("../docs/policy.md");
        assert!(
            docs.contains(&format!("`{reason}`")),
            "{reason} is missing from docs/policy.md"
        );
    }
    assert_eq!(seen.len(), 23);
}
