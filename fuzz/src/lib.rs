//! Independent oracles the fuzz targets check crossguard's answers against.

use http::HeaderValue;

/// Splits fuzz input into header field lines (at `\n`), keeping only valid header values.
pub fn field_lines(data: &[u8]) -> Vec<HeaderValue> {
    data.split(|&b| b == b'\n')
        .filter_map(|line| HeaderValue::from_bytes(line).ok())
        .collect()
}

/// A permessage-deflate response element, parsed independently of crossguard.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeflateAnswer {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

/// Parses an answer and checks RFC 7692 §7 syntax: only the four parameters, each at most once,
/// flags without values, window bits a decimal 8..=15 without leading zeros.
pub fn parse_deflate_answer(answer: &str) -> Result<DeflateAnswer, String> {
    let mut parts = answer.split(';').map(str::trim);
    if parts.next() != Some("permessage-deflate") {
        return Err(format!("not a permessage-deflate element: {answer}"));
    }
    let mut parsed = DeflateAnswer::default();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (part, None),
        };
        let bits = |v: Option<&str>| -> Result<u8, String> {
            let v = v.ok_or(format!("{name} needs a value"))?;
            let ok = matches!(v, "8" | "9" | "10" | "11" | "12" | "13" | "14" | "15");
            if ok {
                v.parse().map_err(|_| v.to_owned())
            } else {
                Err(format!("bad bits {v}"))
            }
        };
        let dup = || Err(format!("repeated {name} in {answer}"));
        match name {
            "server_no_context_takeover" if value.is_none() => {
                if parsed.server_no_context_takeover {
                    return dup();
                }
                parsed.server_no_context_takeover = true;
            }
            "client_no_context_takeover" if value.is_none() => {
                if parsed.client_no_context_takeover {
                    return dup();
                }
                parsed.client_no_context_takeover = true;
            }
            "server_max_window_bits" => {
                if parsed
                    .server_max_window_bits
                    .replace(bits(value)?)
                    .is_some()
                {
                    return dup();
                }
            }
            "client_max_window_bits" => {
                if parsed
                    .client_max_window_bits
                    .replace(bits(value)?)
                    .is_some()
                {
                    return dup();
                }
            }
            _ => return Err(format!("unexpected parameter {part} in {answer}")),
        }
    }
    Ok(parsed)
}
