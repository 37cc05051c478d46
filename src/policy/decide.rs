//! The decision, written once over a [`Recorder`]: a no-op for [`Policy::check`], a fixed array
//! for [`Policy::explain`]. Each rule cites the item of `docs/policy.md`'s "Decision order" it
//! implements, by name (the items' numbers may change).
//!
//! [`Policy::check`]: super::Policy::check
//! [`Policy::explain`]: super::Policy::explain

use http::Method;
use http::header::HeaderValue;

use super::{Config, Origin};
use crate::authority::{HostPort, authority};
use crate::explain::{Check, Finding, Outcome, Recorder};
use crate::fetch::{SecFetchDest, SecFetchMode, SecFetchSite};
use crate::fields::{Fields, Lines};
use crate::websocket;
use crate::{Field, Rejection, RequestHead, Rule, Verdict};

/// Decides a request under `config`, recording every check's outcome in `recorder`.
pub(super) fn decide<R: Recorder>(
    config: &Config,
    head: &RequestHead<'_>,
    recorder: &mut R,
) -> Result<Verdict, Rejection> {
    let mut handshake = None;
    let mut decision = Decision { config, recorder };
    match decision.run(head, &mut handshake) {
        Ok(rule) => Ok(Verdict::new(rule, handshake, None)),
        Err(rejection) if config.report_only => {
            Ok(Verdict::new(rejection.rule(), handshake, Some(rejection)))
        }
        Err(rejection) => Err(rejection),
    }
}

/// The request's cross-origin signals, each at most one field line, and its authority (borrowed:
/// copying it made the decision slower, `cross_origin/same_origin_post` in `benches/`).
struct Signals<'a, 's> {
    origin: Option<&'a HeaderValue>,
    site: Option<&'a HeaderValue>,
    mode: Option<&'a HeaderValue>,
    dest: Option<&'a HeaderValue>,
    authority: Option<&'s HostPort<'a>>,
}

struct Decision<'c, R> {
    config: &'c Config,
    recorder: &'c mut R,
}

impl<R: Recorder> Decision<'_, R> {
    fn record(&mut self, check: Check, outcome: Outcome) {
        self.recorder.record(check, outcome);
    }

    /// Records a refusal by `check` and returns it.
    fn refuse(&mut self, check: Check, rejection: Rejection) -> Rejection {
        self.record(check, Outcome::Refused(rejection));
        rejection
    }

    fn run(
        &mut self,
        head: &RequestHead<'_>,
        handshake: &mut Option<websocket::Handshake>,
    ) -> Result<Rule, Rejection> {
        let mut fields = Fields::default();
        fields.fill(head.headers());
        let authority = self.host(head, fields.host)?;
        let signals = Signals {
            origin: self.single(fields.origin, Field::Origin, Check::Origin)?,
            site: self.single(fields.site, Field::SecFetchSite, Check::SecFetchSite)?,
            mode: self.single(fields.mode, Field::SecFetchMode, Check::SecFetchMode)?,
            dest: self.single(fields.dest, Field::SecFetchDest, Check::SecFetchDest)?,
            authority: authority.as_ref(),
        };
        if websocket::detect(head, &fields) {
            // The Host was checked above, under the same rules as `websocket::verify`.
            *handshake = Some(websocket::validate(
                head,
                &fields,
                &self.config.websocket,
                self.recorder,
            )?);
        }
        if let Some(bypass) = &self.config.bypass {
            if bypass(head.method(), head.uri()) {
                self.record(Check::Bypass, Outcome::Allowed(Finding::Bypassed));
                return Ok(Rule::Bypass);
            }
            self.record(Check::Bypass, Outcome::Passed(Finding::NotBypassed));
        }
        if handshake.is_some() {
            self.websocket_origin(&signals)
        } else if !is_safe(head.method()) {
            self.unsafe_method(&signals)
        } else if self.config.resource_isolation {
            self.safe_method(head.method(), &signals)
        } else {
            Ok(Rule::SafeMethod)
        }
    }

    /// Decision order, "Host": the authority is well-formed, and allowlisted when an allowlist is
    /// set.
    fn host<'h>(
        &mut self,
        head: &RequestHead<'h>,
        host: Lines<'h>,
    ) -> Result<Option<HostPort<'h>>, Rejection> {
        let authority = authority(head.uri(), head.version(), host)
            .map_err(|rejection| self.refuse(Check::Host, rejection))?;
        let outcome = match (&self.config.hosts, &authority) {
            (Some(_), None) => return Err(self.refuse(Check::Host, Rejection::MissingHost)),
            (Some(hosts), Some(authority)) if !hosts.allows(authority) => {
                return Err(self.refuse(Check::Host, Rejection::HostNotAllowed));
            }
            (Some(_), Some(_)) => Outcome::Passed(Finding::HostAllowlisted),
            (None, Some(_)) => Outcome::Passed(Finding::NoHostAllowlist),
            (None, None) => Outcome::Passed(Finding::NoAuthority),
        };
        self.record(Check::Host, outcome);
        Ok(authority)
    }

    /// The one line of a field, refusing repeats. A present field stays "not consulted" until a
    /// rule consults it.
    fn single<'a>(
        &mut self,
        lines: Lines<'a>,
        field: Field,
        check: Check,
    ) -> Result<Option<&'a HeaderValue>, Rejection> {
        match lines {
            Lines::Many => Err(self.refuse(check, Rejection::DuplicateHeader(field))),
            Lines::None => {
                self.record(check, Outcome::Absent);
                Ok(None)
            }
            Lines::One(value) => {
                self.record(check, Outcome::NotConsulted);
                Ok(Some(value))
            }
        }
    }

    fn parse_origin<'a>(&mut self, value: &'a HeaderValue) -> Result<Origin<'a>, Rejection> {
        Origin::parse(value.as_bytes()).map_err(|rejection| self.refuse(Check::Origin, rejection))
    }

    fn parse_site(&mut self, value: &HeaderValue) -> Result<SecFetchSite, Rejection> {
        SecFetchSite::parse(value).map_err(|rejection| self.refuse(Check::SecFetchSite, rejection))
    }

    /// Decision order, "Cross-origin check", unsafe methods: `Sec-Fetch-Site` decides when
    /// present; else the `Origin` must be the request's own; neither header means no browser made
    /// a cross-site request.
    fn unsafe_method(&mut self, s: &Signals<'_, '_>) -> Result<Rule, Rejection> {
        if let Some(value) = s.site {
            let site = self.parse_site(value)?;
            if let Some(rule) = self.trusted_site(site) {
                return Ok(rule);
            }
            if self.origin_allowlisted(s.origin)? {
                self.record(
                    Check::SecFetchSite,
                    Outcome::NotDecisive(Finding::Site(site)),
                );
                return Ok(Rule::OriginAllowlist);
            }
            let rejection = match site {
                SecFetchSite::SameSite => Rejection::SameSiteRequest,
                _ => Rejection::CrossSiteRequest,
            };
            return Err(self.refuse(Check::SecFetchSite, rejection));
        }
        let Some(value) = s.origin else {
            return Ok(Rule::NonBrowser);
        };
        let origin = self.parse_origin(value)?;
        if self.config.origins.contains(&origin) {
            self.record(Check::Origin, Outcome::Allowed(Finding::OriginAllowlisted));
            Ok(Rule::OriginAllowlist)
        } else if origin == Origin::Null {
            Err(self.refuse(Check::Origin, Rejection::NullOrigin))
        } else if s.authority.is_some_and(|a| origin.is_same_authority(a)) {
            self.record(Check::Origin, Outcome::Allowed(Finding::SameOrigin));
            Ok(Rule::Origin)
        } else {
            Err(self.refuse(Check::Origin, Rejection::OriginMismatch))
        }
    }

    /// Decision order, "Cross-origin check", WebSocket handshakes: a handshake's Origin is always
    /// checked (CSWSH); Chromium sends no `Sec-Fetch-*` on handshakes, Firefox does.
    fn websocket_origin(&mut self, s: &Signals<'_, '_>) -> Result<Rule, Rejection> {
        let origin = match s.origin {
            Some(value) => Some(self.parse_origin(value)?),
            None => None,
        };
        if origin.is_some_and(|o| self.config.origins.contains(&o)) {
            self.record(Check::Origin, Outcome::Allowed(Finding::OriginAllowlisted));
            return Ok(Rule::OriginAllowlist);
        }
        if let Some(value) = s.site {
            let site = self.parse_site(value)?;
            if !site.is_trusted() {
                if origin.is_some() {
                    let outcome = Outcome::NotDecisive(Finding::OriginNotAllowlisted);
                    self.record(Check::Origin, outcome);
                }
                return Err(self.refuse(Check::SecFetchSite, Rejection::CrossSiteWebSocket));
            }
            self.record(Check::SecFetchSite, Outcome::Passed(Finding::Site(site)));
        }
        match origin {
            None if self.config.require_origin_for_websocket => {
                Err(self.refuse(Check::Origin, Rejection::MissingOrigin))
            }
            None => Ok(Rule::NonBrowser),
            Some(Origin::Null) => Err(self.refuse(Check::Origin, Rejection::NullOrigin)),
            Some(o) if s.authority.is_some_and(|a| o.is_same_authority(a)) => {
                self.record(Check::Origin, Outcome::Allowed(Finding::SameOrigin));
                Ok(Rule::WebSocketOrigin)
            }
            Some(_) => Err(self.refuse(Check::Origin, Rejection::CrossSiteWebSocket)),
        }
    }

    /// Decision order, "Cross-origin check", safe methods (resource isolation), after web.dev's
    /// Resource Isolation Policy: cross-site safe requests only as navigations that cannot embed
    /// the response.
    fn safe_method(&mut self, method: &Method, s: &Signals<'_, '_>) -> Result<Rule, Rejection> {
        let Some(value) = s.site else {
            return Ok(Rule::SafeMethod);
        };
        let site = self.parse_site(value)?;
        if let Some(rule) = self.trusted_site(site) {
            return Ok(rule);
        }
        let mode = match s.mode {
            Some(value) => Some(
                SecFetchMode::parse(value)
                    .map_err(|rejection| self.refuse(Check::SecFetchMode, rejection))?,
            ),
            None => None,
        };
        let dest = match s.dest {
            Some(value) => Some(
                SecFetchDest::parse(value)
                    .map_err(|rejection| self.refuse(Check::SecFetchDest, rejection))?,
            ),
            None => None,
        };
        let embeds = matches!(dest, Some(SecFetchDest::Object | SecFetchDest::Embed));
        let navigation = method == Method::GET && mode == Some(SecFetchMode::Navigate);
        if let Some(mode) = mode {
            let outcome = if navigation && !embeds {
                Outcome::Allowed(Finding::Mode(mode))
            } else {
                Outcome::NotDecisive(Finding::Mode(mode))
            };
            self.record(Check::SecFetchMode, outcome);
        }
        if let Some(dest) = dest {
            self.record(
                Check::SecFetchDest,
                Outcome::NotDecisive(Finding::Dest(dest)),
            );
        }
        self.record(
            Check::SecFetchSite,
            Outcome::NotDecisive(Finding::Site(site)),
        );
        if navigation && !embeds {
            return Ok(Rule::Navigation);
        }
        if self.origin_allowlisted(s.origin)? {
            return Ok(Rule::OriginAllowlist);
        }
        Err(self.refuse(Check::SecFetchSite, Rejection::CrossSiteResource))
    }

    /// `same-origin` and `none` allow; `same-site` allows when opted in.
    fn trusted_site(&mut self, site: SecFetchSite) -> Option<Rule> {
        let rule = if site.is_trusted() {
            Rule::SecFetchSite
        } else if site == SecFetchSite::SameSite && self.config.allow_same_site {
            Rule::SameSite
        } else {
            return None;
        };
        self.record(Check::SecFetchSite, Outcome::Allowed(Finding::Site(site)));
        Some(rule)
    }

    /// Whether the Origin, consulted only for the allowlist, is on it.
    fn origin_allowlisted(&mut self, origin: Option<&HeaderValue>) -> Result<bool, Rejection> {
        let Some(value) = origin else {
            return Ok(false);
        };
        let origin = self.parse_origin(value)?;
        let listed = self.config.origins.contains(&origin);
        let outcome = if listed {
            Outcome::Allowed(Finding::OriginAllowlisted)
        } else {
            Outcome::NotDecisive(Finding::OriginNotAllowlisted)
        };
        self.record(Check::Origin, outcome);
        Ok(listed)
    }
}

/// GET, HEAD and OPTIONS: the methods a browser sends cross-site without a CORS preflight only as
/// reads (RFC 9110 §9.2.1).
fn is_safe(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD || method == Method::OPTIONS
}
