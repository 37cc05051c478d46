//! Python values in, the `http` types the library reads out (and the command's JSON back).
//!
//! Request data from a server is untrusted: anything `http` cannot carry (a name outside the
//! token grammar, a control character in a value, an unknown version, an unparsable target) is a
//! [`Malformed`] head, which the caller refuses. The work is bounded before anything is built:
//! more than [`MAX_FIELDS`] header fields are refused without reading them.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString, PyTuple};

/// Most header fields a head may have: as many header lines as `crossguard check` reads.
pub(crate) const MAX_FIELDS: usize = 1000;

/// Why a head cannot be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The method is not a token.
    Method,
    /// The target is not a request-target.
    Target,
    /// The HTTP version is none of `1.0`, `1.1`, `2`, `3`.
    Version,
    /// A header name outside the token grammar (or an unknown or repeated pseudo-header).
    Name,
    /// A header value with control characters, or text that is not valid Unicode.
    Value,
    /// More than [`MAX_FIELDS`] header fields.
    TooManyFields,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Method => f.write_str("the method is not a token"),
            Self::Target => f.write_str("the request target is malformed"),
            Self::Version => f.write_str("the HTTP version is none of 1.0, 1.1, 2, 3"),
            Self::Name => f.write_str("a header name is malformed"),
            Self::Value => {
                f.write_str("a header value has control characters or is not valid text")
            }
            Self::TooManyFields => {
                write!(f, "the request has more than {MAX_FIELDS} header fields")
            }
        }
    }
}

/// A request head, owned, as the library reads it.
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    buffers: Buffers,
    pub(crate) protocol: Option<String>,
}

/// The map and bytes a head's fields are read into. They go back to the thread when the head
/// is dropped and the next head is read into them: once a thread has read a head, reading
/// another allocates nothing for its fields.
struct Buffers {
    map: HeaderMap,
    /// The values' bytes, one allocation shared by every value (not one each).
    values: BytesMut,
}

/// Buffers larger than this many fields or bytes (a hostile head's) are not kept.
const KEEP_FIELDS: usize = 64;
const KEEP_BYTES: usize = 16 * 1024;

thread_local! {
    static KEPT: Cell<Option<Buffers>> = const { Cell::new(None) };
}

impl Buffers {
    /// The thread's buffers, empty, or new ones.
    fn take() -> Self {
        let mut buffers = KEPT
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| Self {
                map: HeaderMap::new(),
                values: BytesMut::new(),
            });
        buffers.values.clear();
        // Takes back the whole allocation once no value read into it is alive.
        buffers.values.reserve(512);
        buffers
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        if self.map.capacity() > KEEP_FIELDS || self.values.capacity() > KEEP_BYTES {
            return;
        }
        // Nothing is kept while the thread is being torn down, nor over buffers kept already.
        let _ = KEPT.try_with(|kept| {
            let slot = kept.take();
            if slot.is_none() {
                self.map.clear();
                kept.set(Some(Self {
                    map: std::mem::take(&mut self.map),
                    values: std::mem::take(&mut self.values),
                }));
            } else {
                kept.set(slot);
            }
        });
    }
}

/// The bytes of a `bytes` or `str` argument (`str` as UTF-8); `None` for a `str` that is not
/// valid Unicode (lone surrogates). Any other type is the caller's mistake: a `TypeError`.
pub(crate) fn bytes_of<'a>(
    value: &'a Bound<'_, PyAny>,
    what: &str,
) -> PyResult<Option<Cow<'a, [u8]>>> {
    // The exact type first: comparing the type costs no call into the interpreter.
    if let Ok(bytes) = value.cast_exact::<PyBytes>() {
        return Ok(Some(Cow::Borrowed(bytes.as_bytes())));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Some(Cow::Borrowed(bytes.as_bytes())));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text
            .to_cow()
            .ok()
            .map(|text| Cow::Owned(text.into_owned().into_bytes())));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes or str, not {}",
        value.get_type().name()?
    )))
}

/// Calls `visit` with the two items of a header pair (a tuple or a list of two), borrowed.
fn with_pair<R>(
    item: &Bound<'_, PyAny>,
    visit: impl FnOnce(&Bound<'_, PyAny>, &Bound<'_, PyAny>) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(tuple) = item
        .cast_exact::<PyTuple>()
        .or_else(|_| item.cast::<PyTuple>())
    {
        if tuple.len() == 2 {
            let name = tuple.get_borrowed_item(0)?;
            let value = tuple.get_borrowed_item(1)?;
            return visit(&name, &value);
        }
    } else if let Ok(list) = item.cast::<PyList>() {
        if list.len() == 2 {
            return visit(&list.get_item(0)?, &list.get_item(1)?);
        }
    }
    Err(PyTypeError::new_err(
        "each header must be a (name, value) pair",
    ))
}

/// Whether `name` is a field name `http` takes (1 to 65 535 `tchar`s, in any case), without
/// building it (which, for a name outside `http`'s standard set, means allocating it): a name of
/// lower-case letters, digits and dashes (nearly every name) is one; any other is left to
/// `HeaderName::from_bytes`.
fn is_field_name(name: &[u8]) -> bool {
    let plain = name.iter().fold(true, |plain, &b| {
        plain & (b.is_ascii_lowercase() | b.is_ascii_digit() | (b == b'-'))
    });
    if plain && (1..=usize::from(u16::MAX)).contains(&name.len()) {
        return true;
    }
    HeaderName::from_bytes(name).is_ok()
}

/// Whether `value` is a field value `http` takes: no control character but HTAB (obs-text is
/// allowed), the rule `HeaderValue` applies, checked without copying the value.
fn is_field_value(value: &[u8]) -> bool {
    value.iter().fold(0u8, |bad, &b| {
        bad | u8::from(((b < b' ') & (b != b'\t')) | (b == 0x7f))
    }) == 0
}

/// Which fields a head keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Every field (the command's report shows the head as sent).
    All,
    /// Only the fields the library reads ([`crossguard::Policy::read_field`]): the verdict is
    /// the same, for a fraction of the work. The others are still checked for syntax, so a head
    /// HTTP cannot carry is refused whichever field breaks it.
    Read,
}

/// The header fields being read.
struct Fields {
    keep: Keep,
    buffers: Buffers,
    protocol: Option<String>,
    malformed: Option<Malformed>,
}

impl Fields {
    /// Adds one `(name, value)` pair; the first problem is kept, and the types of the rest are
    /// still checked.
    fn add(&mut self, item: &Bound<'_, PyAny>) -> PyResult<()> {
        with_pair(item, |name, value| {
            let name = bytes_of(name, "a header name")?;
            let value = bytes_of(value, "a header value")?;
            if self.malformed.is_some() {
                return Ok(());
            }
            let (Some(name), Some(value)) = (name, value) else {
                self.malformed = Some(Malformed::Value);
                return Ok(());
            };
            if name.first() == Some(&b':') {
                match (
                    name.as_ref() == b":protocol" && self.protocol.is_none(),
                    std::str::from_utf8(&value),
                ) {
                    (true, Ok(text)) => self.protocol = Some(text.to_owned()),
                    _ => self.malformed = Some(Malformed::Name),
                }
                return Ok(());
            }
            let name = match (crossguard::Policy::read_field(&name), self.keep) {
                (Some(read), _) => read,
                (None, Keep::Read) => {
                    if !is_field_name(&name) {
                        self.malformed = Some(Malformed::Name);
                    } else if !is_field_value(&value) {
                        self.malformed = Some(Malformed::Value);
                    }
                    return Ok(());
                }
                (None, Keep::All) => match HeaderName::from_bytes(&name) {
                    Ok(name) => name,
                    Err(_) => {
                        self.malformed = Some(Malformed::Name);
                        return Ok(());
                    }
                },
            };
            let buffers = &mut self.buffers;
            buffers.values.extend_from_slice(&value);
            match HeaderValue::from_maybe_shared(buffers.values.split().freeze()) {
                Ok(value) => {
                    buffers.map.append(name, value);
                }
                Err(_) => self.malformed = Some(Malformed::Value),
            }
            Ok(())
        })
    }
}

fn version_of(text: &str) -> Option<Version> {
    match text.strip_prefix("HTTP/").unwrap_or(text) {
        "0.9" => Some(Version::HTTP_09),
        "1.0" => Some(Version::HTTP_10),
        "1.1" => Some(Version::HTTP_11),
        "2" | "2.0" => Some(Version::HTTP_2),
        "3" | "3.0" => Some(Version::HTTP_3),
        _ => None,
    }
}

impl Head {
    /// The head's fields.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.buffers.map
    }

    /// Reads a head from Python values. The outer error is a wrong type (the caller's bug); the
    /// inner one a head HTTP cannot carry (the client's doing, refused by the caller).
    pub(crate) fn read(
        method: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        http_version: &str,
        keep: Keep,
    ) -> PyResult<Result<Self, Malformed>> {
        let method = bytes_of(method, "method")?;
        let target = bytes_of(target, "target")?;
        Self::read_fields(method, target, headers, http_version, keep, None)
    }

    /// Reads a head whose method and target are read already (`None`: text that is not valid
    /// Unicode); `protocol` is the `:protocol` pseudo-header the server gives apart from the
    /// fields (an ASGI `websocket` scope over HTTP/2).
    pub(crate) fn read_fields(
        method: Option<Cow<'_, [u8]>>,
        target: Option<Cow<'_, [u8]>>,
        headers: &Bound<'_, PyAny>,
        http_version: &str,
        keep: Keep,
        protocol: Option<&str>,
    ) -> PyResult<Result<Self, Malformed>> {
        // Bounded before anything is read: a sized collection says how many it holds.
        let len = headers.len().ok();
        if len.is_some_and(|len| len > MAX_FIELDS) {
            return Ok(Err(Malformed::TooManyFields));
        }
        let mut fields = Fields {
            keep,
            buffers: Buffers::take(),
            protocol: protocol.map(str::to_owned),
            malformed: None,
        };
        if let Ok(list) = headers.cast::<PyList>() {
            for item in list.iter().take(MAX_FIELDS) {
                fields.add(&item)?;
            }
        } else {
            for (count, item) in headers.try_iter()?.enumerate() {
                if count >= MAX_FIELDS {
                    return Ok(Err(Malformed::TooManyFields));
                }
                fields.add(&item?)?;
            }
        }
        let Fields {
            buffers,
            protocol,
            malformed,
            ..
        } = fields;
        if let Some(why) = malformed {
            return Ok(Err(why));
        }
        let Some(method) = method.and_then(|m| Method::from_bytes(&m).ok()) else {
            return Ok(Err(Malformed::Method));
        };
        let uri = target.and_then(|target| match target {
            Cow::Owned(target) => Uri::from_maybe_shared(Bytes::from(target)).ok(),
            Cow::Borrowed(target) => Uri::try_from(target).ok(),
        });
        let Some(uri) = uri else {
            return Ok(Err(Malformed::Target));
        };
        let Some(version) = version_of(http_version) else {
            return Ok(Err(Malformed::Version));
        };
        Ok(Ok(Self {
            method,
            uri,
            version,
            buffers,
            protocol,
        }))
    }

    /// The head as the raw bytes `crossguard check` reads: request line, the `:protocol`
    /// pseudo-header line if any, one line per field.
    pub(crate) fn to_raw(&self) -> Vec<u8> {
        let version = match self.version {
            Version::HTTP_09 => "HTTP/0.9",
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_2 => "HTTP/2",
            Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        };
        let mut raw = format!("{} {} {version}\r\n", self.method, self.uri).into_bytes();
        if let Some(protocol) = &self.protocol {
            raw.extend_from_slice(format!(":protocol: {protocol}\r\n").as_bytes());
        }
        for (name, value) in self.headers() {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.extend_from_slice(b": ");
            raw.extend_from_slice(value.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw
    }
}

/// A JSON value as the Python object `json.loads` would give (keys in order).
pub(crate) fn json_to_python<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            (None, None) => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}
