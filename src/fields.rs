//! The request fields every check reads, found once.
//!
//! A browser's request has 10 to 20 field lines: one pass over them finds every field the policy
//! reads for less than one hashed lookup each. A request with many more lines (up to hyper's
//! default of 100, or any count another server allows) is read with one hashed lookup per field
//! instead, so the cost stays flat however many unrelated fields it carries.

use http::header::{
    CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE, ValueIter,
};
use http::{HeaderMap, HeaderName, HeaderValue};

/// `Sec-Fetch-Site`.
pub(crate) const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
/// `Sec-Fetch-Mode`.
pub(crate) const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");
/// `Sec-Fetch-Dest`.
pub(crate) const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// The longest name of a field any check reads (`Sec-WebSocket-Extensions`).
pub(crate) const LONGEST_NAME: usize = 24;

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
        // As many lines as names: no field is repeated, and the first line is the only one.
        if headers.len() == headers.keys_len() {
            return headers.get(name).map_or(Self::None, Self::One);
        }
        let mut lines = headers.get_all(name).iter();
        match (lines.next(), lines.next()) {
            (None, _) => Self::None,
            (Some(value), None) => Self::One(value),
            (Some(_), Some(_)) => Self::Many,
        }
    }

    /// Whether the field is present.
    pub(crate) fn is_present(self) -> bool {
        !matches!(self, Self::None)
    }

    /// Every line of the field `name` of `headers`, in order: the one line read already, or (for a
    /// repeated field, where lists may be spread over lines) all of them by lookup.
    #[inline]
    pub(crate) fn values(self, headers: &'a HeaderMap, name: HeaderName) -> Values<'a> {
        match self {
            Self::None => Values::One(None),
            Self::One(value) => Values::One(Some(value)),
            Self::Many => Values::All(headers.get_all(name).iter()),
        }
    }

    fn push(&mut self, value: &'a HeaderValue) {
        *self = match self {
            Self::None => Self::One(value),
            Self::One(_) | Self::Many => Self::Many,
        };
    }
}

/// The lines of a field, from [`Lines::values`].
#[derive(Debug)]
pub(crate) enum Values<'a> {
    /// At most one line.
    One(Option<&'a HeaderValue>),
    /// Every line, by lookup.
    All(ValueIter<'a, HeaderValue>),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a HeaderValue;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::One(value) => value.take(),
            Self::All(lines) => lines.next(),
        }
    }
}

/// A set of fields, each as [`Lines`], and the two ways of reading them: `fill` reads the fields
/// of a header map into a value that starts as the default, in one pass over its lines when it
/// has at most [`SCAN_LIMIT`] of them (`scan`, comparing each name in the order given: the
/// standard names, one byte each to compare, first), else with one lookup per field
/// (`look_up`). It fills the caller's value rather than returning one: returning it measured
/// slower (`cross_origin/*` rows in `benches/`, and the decision loops of
/// `scripts/callgrind.sh`).
macro_rules! field_set {
    (
        $(#[$meta:meta])*
        struct $set:ident { $($field:ident: $name:expr => $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub(crate) struct $set<'a> {
            $(pub(crate) $field: Lines<'a>,)+
        }

        impl<'a> $set<'a> {
            /// Reads the fields of `headers` into `self`, which starts as the default.
            pub(crate) fn fill(&mut self, headers: &'a HeaderMap) {
                if headers.len() > SCAN_LIMIT {
                    self.look_up(headers);
                } else {
                    self.scan(headers);
                }
            }

            /// `fill` in one pass over the lines.
            fn scan(&mut self, headers: &'a HeaderMap) {
                for (name, value) in headers {
                    let lines = $(if *name == $name {
                        &mut self.$field
                    } else)+ {
                        continue;
                    };
                    lines.push(value);
                }
            }

            /// `fill` with one lookup per field.
            fn look_up(&mut self, headers: &'a HeaderMap) {
                $(self.$field = Lines::of(headers, &$name);)+
            }

            /// The set's field named `lower`, a name in lower case, if any.
            #[inline]
            pub(crate) fn name_of(lower: &[u8]) -> Option<HeaderName> {
                $(if lower == $text.as_bytes() {
                    return Some($name);
                })+
                None
            }

            /// The names as `name_of` compares them, with the fields they stand for.
            #[cfg(test)]
            fn texts() -> Vec<(&'static str, HeaderName)> {
                vec![$(($text, $name)),+]
            }
        }
    };
}

field_set! {
    /// The fields the policy reads.
    struct Fields {
        host: HOST => "host",
        origin: ORIGIN => "origin",
        upgrade: UPGRADE => "upgrade",
        key: SEC_WEBSOCKET_KEY => "sec-websocket-key",
        site: SEC_FETCH_SITE => "sec-fetch-site",
        mode: SEC_FETCH_MODE => "sec-fetch-mode",
        dest: SEC_FETCH_DEST => "sec-fetch-dest",
    }
}

field_set! {
    /// The fields only a WebSocket handshake reads, besides `Upgrade` and `Sec-WebSocket-Key`:
    /// read in a second pass when a request is a handshake, as comparing every line of every
    /// request against them would cost ordinary requests more than the second pass costs
    /// handshakes.
    struct HandshakeFields {
        connection: CONNECTION => "connection",
        version: SEC_WEBSOCKET_VERSION => "sec-websocket-version",
        protocol: SEC_WEBSOCKET_PROTOCOL => "sec-websocket-protocol",
        extensions: SEC_WEBSOCKET_EXTENSIONS => "sec-websocket-extensions",
    }
}

impl<'a> Fields<'a> {
    /// Reads the fields of `headers`.
    pub(crate) fn read(headers: &'a HeaderMap) -> Self {
        let mut fields = Self::default();
        fields.fill(headers);
        fields
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Each set's names are its fields' names, as `name_of` finds them.
    #[test]
    fn the_names_are_the_fields_names() {
        let texts = [Fields::texts(), HandshakeFields::texts()].concat();
        assert_eq!(texts.len(), 11);
        for (text, name) in &texts {
            assert_eq!(*text, name.as_str());
            let found = Fields::name_of(text.as_bytes())
                .or_else(|| HandshakeFields::name_of(text.as_bytes()));
            assert_eq!(found.as_ref(), Some(name));
            assert!(text.len() <= LONGEST_NAME);
            // `Policy::read_field` finds each in any case, and nothing one byte off.
            let upper = text.to_ascii_uppercase();
            assert_eq!(
                crate::Policy::read_field(upper.as_bytes()).as_ref(),
                Some(name)
            );
            let mut mixed = text.as_bytes().to_vec();
            mixed[0] = mixed[0].to_ascii_uppercase();
            assert_eq!(crate::Policy::read_field(&mixed).as_ref(), Some(name));
            assert_eq!(crate::Policy::read_field(&text.as_bytes()[1..]), None);
            assert_eq!(
                crate::Policy::read_field(format!("{text}s").as_bytes()),
                None
            );
            assert_eq!(
                crate::Policy::read_field(format!("{text}{}", "x".repeat(40)).as_bytes()),
                None
            );
        }
    }

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
            "connection",
            "sec-websocket-version",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
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
            let (mut scanned, mut looked_up) = (Fields::default(), Fields::default());
            scanned.scan(&headers);
            looked_up.look_up(&headers);
            assert_eq!(scanned, looked_up, "seed {seed}");
            assert_eq!(Fields::read(&headers), looked_up, "seed {seed}");
            let (mut scanned, mut looked_up) =
                (HandshakeFields::default(), HandshakeFields::default());
            scanned.scan(&headers);
            looked_up.look_up(&headers);
            assert_eq!(scanned, looked_up, "seed {seed}");
        }
    }
}
