//! The request fields every check reads, found once.
//!
//! A browser's request has 10 to 20 field lines: one pass over them finds every field the policy
//! reads for less than one hashed lookup each. A request with many more lines (up to hyper's
//! default of 100, or any count another server allows) is read with one hashed lookup per field
//! instead, so the cost stays flat however many unrelated fields it carries.

use http::header::{HOST, ORIGIN, SEC_WEBSOCKET_KEY, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};

/// `Sec-Fetch-Site`.
pub(crate) const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
/// `Sec-Fetch-Mode`.
pub(crate) const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");
/// `Sec-Fetch-Dest`.
pub(crate) const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// Above this many field lines, fields are looked up by name rather than found in one pass.
const SCAN_LIMIT: usize = 32;

/// The lines of one field: none, exactly one, or more than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lines<'a> {
    /// Absent.
    #[default]
    None,
    /// Exactly one line.
    One(&'a HeaderValue),
    /// Repeated.
    Many,
}

impl<'a> Lines<'a> {
    /// The lines of `name`, by lookup.
    pub(crate) fn of(headers: &'a HeaderMap, name: &HeaderName) -> Self {
        let mut lines = headers.get_all(name).iter();
        match (lines.next(), lines.next()) {
            (None, _) => Self::None,
            (Some(value), None) => Self::One(value),
            (Some(_), Some(_)) => Self::Many,
        }
    }

    fn push(&mut self, value: &'a HeaderValue) {
        *self = match self {
            Self::None => Self::One(value),
            Self::One(_) | Self::Many => Self::Many,
        };
    }
}

/// The fields the policy reads, each as [`Lines`], and whether the WebSocket fields it detects
/// handshakes by are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fields<'a> {
    pub(crate) host: Lines<'a>,
    pub(crate) origin: Lines<'a>,
    pub(crate) site: Lines<'a>,
    pub(crate) mode: Lines<'a>,
    pub(crate) dest: Lines<'a>,
    pub(crate) upgrade: bool,
    pub(crate) key: bool,
}

impl<'a> Fields<'a> {
    /// Reads the fields of `headers`.
    pub(crate) fn read(headers: &'a HeaderMap) -> Self {
        if headers.len() > SCAN_LIMIT {
            return Self::look_up(headers);
        }
        let mut fields = Self::default();
        for (name, value) in headers {
            if *name == HOST {
                fields.host.push(value);
            } else if *name == ORIGIN {
                fields.origin.push(value);
            } else if *name == UPGRADE {
                fields.upgrade = true;
            } else if *name == SEC_WEBSOCKET_KEY {
                fields.key = true;
            } else if *name == SEC_FETCH_SITE {
                fields.site.push(value);
            } else if *name == SEC_FETCH_MODE {
                fields.mode.push(value);
            } else if *name == SEC_FETCH_DEST {
                fields.dest.push(value);
            }
        }
        fields
    }

    /// Reads the fields of `headers` with one lookup each.
    fn look_up(headers: &'a HeaderMap) -> Self {
        Self {
            host: Lines::of(headers, &HOST),
            origin: Lines::of(headers, &ORIGIN),
            site: Lines::of(headers, &SEC_FETCH_SITE),
            mode: Lines::of(headers, &SEC_FETCH_MODE),
            dest: Lines::of(headers, &SEC_FETCH_DEST),
            upgrade: headers.contains_key(UPGRADE),
            key: headers.contains_key(SEC_WEBSOCKET_KEY),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Both ways of reading agree, below, at and above the scan limit, whatever the order and
    /// repetition of the lines.
    #[test]
    fn one_pass_and_lookups_agree() {
        let names = [
            "host",
            "origin",
            "upgrade",
            "sec-websocket-key",
            "sec-fetch-site",
            "sec-fetch-mode",
            "sec-fetch-dest",
            "x-other",
            "sec-fetch-user",
            "sec-ch-ua",
        ];
        for seed in 0u64..400 {
            let mut headers = HeaderMap::new();
            let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let lines = (seed % 40) as usize;
            for i in 0..lines {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let name = names[(state >> 33) as usize % names.len()];
                let value = HeaderValue::from_str(&format!("v{i}")).unwrap();
                headers.append(HeaderName::from_static(name), value);
            }
            assert_eq!(
                Fields::read(&headers),
                Fields::look_up(&headers),
                "seed {seed}"
            );
        }
    }
}
