//! Reading a request head as people copy it: a raw HTTP/1.1 head, or a bare list of `Name: value`
//! lines (with `--method` and `--target`), or HTTP/2 pseudo-header lines (`:method: POST`).

use std::fmt;
use std::io::Read;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};

/// Most bytes read from the input: far above any real request head, far below trouble.
pub(crate) const MAX_INPUT: usize = 256 * 1024;

/// Most header lines.
pub(crate) const MAX_LINES: usize = 1000;

/// A problem with the input, with the 1-based line it is on (0: the input as a whole).
#[derive(Debug)]
pub(crate) struct InputError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

fn error(line: usize, message: impl Into<String>) -> InputError {
    InputError {
        line,
        message: message.into(),
    }
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) protocol: Option<String>,
}

/// Reads at most [`MAX_INPUT`] bytes; more is an error, not a truncation.
pub(crate) fn read_bounded(mut source: impl Read) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_INPUT)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    source
        .by_ref()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| error(0, format!("cannot read input: {e}")))?;
    if bytes.len() > MAX_INPUT {
        return Err(error(
            0,
            format!("input is larger than {MAX_INPUT} bytes; give one request head"),
        ));
    }
    Ok(bytes)
}

/// Pseudo-header fields gathered from `:name: value` lines.
#[derive(Default)]
struct Pseudo {
    method: Option<String>,
    path: Option<String>,
    authority: Option<String>,
    scheme: Option<String>,
    protocol: Option<String>,
}

/// Parses the head. `method` and `target`, when given, override the request line.
pub(crate) fn parse(
    bytes: &[u8],
    method: Option<&str>,
    target: Option<&str>,
) -> Result<Head, InputError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .skip_while(|(_, line)| line.iter().all(u8::is_ascii_whitespace))
        .peekable();

    let mut request_line = None;
    if let Some((number, first)) = lines.peek().copied() {
        if !looks_like_field(first) {
            request_line = Some(parse_request_line(number, first)?);
            lines.next();
        }
    }

    let mut headers = HeaderMap::new();
    let mut pseudo = Pseudo::default();
    let mut count = 0usize;
    for (number, line) in lines {
        if line.is_empty() {
            break; // the body, if any, follows
        }
        count += 1;
        if count > MAX_LINES {
            return Err(error(number, format!("more than {MAX_LINES} header lines")));
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Err(error(
                number,
                "obsolete line folding (a line starting with whitespace)",
            ));
        }
        if let Some(rest) = line.strip_prefix(b":") {
            parse_pseudo(number, rest, &mut pseudo)?;
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| error(number, "expected `Name: value`"))?;
        let (name, value) = line.split_at(colon);
        let name = HeaderName::from_bytes(name)
            .map_err(|_| error(number, "invalid header name (no spaces before the colon)"))?;
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| error(number, "invalid header value (control characters)"))?;
        headers.append(name, value);
    }

    let (line_method, line_target, line_version) = match request_line {
        Some((m, t, v)) => (Some(m), Some(t), Some(v)),
        None => (None, None, None),
    };
    let method_text = method.map(str::to_owned).or(pseudo.method).or(line_method);
    let Some(method_text) = method_text else {
        return Err(error(
            0,
            "no request line: start with `METHOD TARGET HTTP/1.1`, or give --method and --target",
        ));
    };
    let method = Method::from_bytes(method_text.as_bytes())
        .map_err(|_| error(0, format!("invalid method {method_text:?}")))?;

    let h2 = pseudo.authority.is_some() || pseudo.scheme.is_some();
    let target_text = match (target, &pseudo.path, line_target) {
        (Some(t), _, _) => t.to_owned(),
        (None, Some(path), _) => match (&pseudo.scheme, &pseudo.authority) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{path}"),
            _ => path.clone(),
        },
        (None, None, Some(t)) => t,
        (None, None, None) if method == Method::CONNECT && pseudo.authority.is_some() => {
            let scheme = pseudo.scheme.as_deref().unwrap_or("https");
            format!(
                "{scheme}://{}/",
                pseudo.authority.as_deref().unwrap_or_default()
            )
        }
        (None, None, None) => return Err(error(0, "no request target: give --target")),
    };
    let uri: Uri = target_text
        .parse()
        .map_err(|_| error(0, format!("invalid request target {target_text:?}")))?;
    let version = match line_version {
        Some(version) => version,
        None if h2 => Version::HTTP_2,
        None => Version::HTTP_11,
    };
    Ok(Head {
        method,
        uri,
        version,
        headers,
        protocol: pseudo.protocol,
    })
}

/// Whether a line is a header field (`Name: value` or `:pseudo: value`) rather than a request
/// line (`METHOD TARGET VERSION`).
fn looks_like_field(line: &[u8]) -> bool {
    if line.first() == Some(&b':') {
        return true;
    }
    let word_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    line.get(..word_end)
        .is_some_and(|word| word.contains(&b':'))
}

fn parse_request_line(number: usize, line: &[u8]) -> Result<(String, String, Version), InputError> {
    let text = std::str::from_utf8(line).map_err(|_| error(number, "request line is not UTF-8"))?;
    let parts: Vec<&str> = text.split_ascii_whitespace().collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(error(
            number,
            "expected a request line `METHOD TARGET HTTP/1.1`",
        ));
    };
    let version = match *version {
        "HTTP/0.9" => Version::HTTP_09,
        "HTTP/1.0" => Version::HTTP_10,
        "HTTP/1.1" => Version::HTTP_11,
        "HTTP/2" | "HTTP/2.0" => Version::HTTP_2,
        "HTTP/3" | "HTTP/3.0" => Version::HTTP_3,
        other => return Err(error(number, format!("unknown HTTP version {other:?}"))),
    };
    Ok(((*method).to_owned(), (*target).to_owned(), version))
}

fn parse_pseudo(number: usize, rest: &[u8], pseudo: &mut Pseudo) -> Result<(), InputError> {
    let text =
        std::str::from_utf8(rest).map_err(|_| error(number, "pseudo-header is not UTF-8"))?;
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| error(number, "expected `:name: value`"))?;
    let value = value.trim().to_owned();
    let slot = match name {
        "method" => &mut pseudo.method,
        "path" => &mut pseudo.path,
        "authority" => &mut pseudo.authority,
        "scheme" => &mut pseudo.scheme,
        "protocol" => &mut pseudo.protocol,
        other => return Err(error(number, format!("unknown pseudo-header :{other}"))),
    };
    if slot.replace(value).is_some() {
        return Err(error(number, format!("repeated pseudo-header :{name}")));
    }
    Ok(())
}

impl Head {
    /// The request the guard sees, with the HTTP/2 `:protocol` as hyper would attach it.
    pub(crate) fn to_request(&self) -> http::Request<()> {
        let mut request = http::Request::new(());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        if let Some(protocol) = &self.protocol {
            request
                .extensions_mut()
                .insert(hyper::ext::Protocol::from(protocol.as_str()));
        }
        request
    }
}
