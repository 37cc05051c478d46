//! The fast path of `crossguard.asgi.CrossGuard`: a scope judged straight from its `dict`, and
//! the `send` that adds the guard's fields to an allowed response, both without a Python frame.

use std::borrow::Cow;

use std::sync::Mutex;

use http::HeaderMap;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::{Head, Keep, bytes_of};
use crate::verdict::Verdict;

/// The judgement `crossguard.asgi.CrossGuard` acts on, for an `http` scope (its request) or a
/// `websocket` scope (its opening handshake: a `GET`, or an extended `CONNECT` over HTTP/2 and
/// HTTP/3): `None` when the app may run as it is (allowed, with nothing to add to the response
/// and no subprotocol to name), else the verdict.
pub(crate) fn check(
    policy: &crossguard::Policy,
    scope: &Bound<'_, PyDict>,
) -> PyResult<Option<Verdict>> {
    Ok(judge(policy, scope)?.and_then(|(_, verdict)| verdict))
}

/// What `CrossGuard` does with a scope, decided in one call: `None` to run the app as it is
/// (allowed with nothing to add, or a scope other than `http` and `websocket`); an
/// [`AddingSend`] wrapping `send`, for an allowed request whose response gets the guard's
/// fields; else the [`Verdict`] (a refusal, or an allowed handshake's subprotocol to name).
pub(crate) fn guard<'py>(
    policy: &crossguard::Policy,
    scope: &Bound<'py, PyDict>,
    send: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = scope.py();
    Ok(match judge(policy, scope)? {
        None | Some((_, None)) => None,
        Some((false, Some(verdict))) if verdict.allowed() => Some(
            Bound::new(
                py,
                AddingSend {
                    send: send.clone().unbind(),
                    added: verdict.into_added(),
                },
            )?
            .into_any(),
        ),
        Some((_, Some(verdict))) => Some(Bound::new(py, verdict)?.into_any()),
    })
}

/// A scope's verdict, when it is an `http` or `websocket` scope: whether it is a `websocket`
/// one, and its verdict unless the app may run as it is.
fn judge(
    policy: &crossguard::Policy,
    scope: &Bound<'_, PyDict>,
) -> PyResult<Option<(bool, Option<Verdict>)>> {
    let py = scope.py();
    let websocket = match scope.get_item(intern!(py, "type"))? {
        Some(kind) if kind.eq(intern!(py, "http"))? => false,
        Some(kind) if kind.eq(intern!(py, "websocket"))? => true,
        _ => return Ok(None),
    };
    let version = scope.get_item(intern!(py, "http_version"))?;
    let version = match &version {
        // Compared before it is read: reading a `str` under the stable ABI of Python 3.9 makes
        // a `bytes` copy of it.
        Some(version) if !version.eq(intern!(py, "1.1"))? => {
            version.cast::<PyString>()?.to_cow()?
        }
        _ => Cow::Borrowed("1.1"),
    };
    let over_h2 = matches!(version.as_ref(), "2" | "3");
    let method = scope.get_item(intern!(py, "method"))?;
    let method = match (websocket, &method) {
        (true, _) => Some(Cow::Borrowed(if over_h2 {
            &b"CONNECT"[..]
        } else {
            b"GET"
        })),
        (false, Some(method)) => method_of(method)?,
        (false, None) => Some(Cow::Borrowed(&b"GET"[..])),
    };
    let target = asgi_target(scope)?;
    let headers = match scope.get_item(intern!(py, "headers"))? {
        Some(headers) => headers,
        None => PyList::empty(py).into_any(),
    };
    let protocol = (websocket && over_h2).then_some("websocket");
    let verdict = match Head::read_fields(
        method,
        Some(Cow::Owned(target)),
        &headers,
        &version,
        Keep::Read,
        protocol,
    )? {
        Ok(head) => Verdict::of(policy, &head),
        Err(_) => Verdict::malformed_head(policy),
    };
    Ok(Some((
        websocket,
        (!verdict.passes_unchanged(websocket)).then_some(verdict),
    )))
}

/// The bytes of an ASGI scope's `method`, a `str`: the common methods are recognised by
/// comparison (reading a `str` under the stable ABI of Python 3.9 makes a `bytes` copy of it).
fn method_of<'a>(method: &'a Bound<'_, PyAny>) -> PyResult<Option<Cow<'a, [u8]>>> {
    let py = method.py();
    if method.cast_exact::<PyString>().is_ok() {
        let common = [
            (intern!(py, "GET"), "GET"),
            (intern!(py, "POST"), "POST"),
            (intern!(py, "HEAD"), "HEAD"),
            (intern!(py, "OPTIONS"), "OPTIONS"),
            (intern!(py, "PUT"), "PUT"),
            (intern!(py, "DELETE"), "DELETE"),
            (intern!(py, "PATCH"), "PATCH"),
        ];
        for (text, name) in common {
            if method.eq(text)? {
                return Ok(Some(Cow::Borrowed(name.as_bytes())));
            }
        }
    }
    bytes_of(method, "method")
}

/// An ASGI scope's request target as sent: `raw_path` and the query; a server that gives no
/// `raw_path` has its `path` re-encoded by `crossguard.asgi._target`.
fn asgi_target(scope: &Bound<'_, PyDict>) -> PyResult<Vec<u8>> {
    let py = scope.py();
    let raw_path = scope.get_item(intern!(py, "raw_path"))?;
    let path = raw_path
        .as_ref()
        .and_then(|path| path.cast::<PyBytes>().ok())
        .map(|path| path.as_bytes())
        .filter(|path| !path.is_empty());
    let Some(path) = path else {
        let target = py
            .import(intern!(py, "crossguard.asgi"))?
            .getattr(intern!(py, "_target"))?
            .call1((scope,))?;
        return Ok(target.cast_into::<PyBytes>()?.as_bytes().to_vec());
    };
    let query = scope.get_item(intern!(py, "query_string"))?;
    let query = query.as_ref().and_then(|q| q.cast::<PyBytes>().ok());
    let query = query.map_or(&[][..], |q| q.as_bytes());
    let mut target = Vec::with_capacity(path.len() + 1 + query.len());
    target.extend_from_slice(path);
    if !query.is_empty() {
        target.push(b'?');
        target.extend_from_slice(query);
    }
    Ok(target)
}

/// `Cross-Origin-Resource-Policy`, which the guard adds only where the app set none.
const CORP: &[u8] = b"cross-origin-resource-policy";

/// Whether an ASGI response header pair names `Cross-Origin-Resource-Policy`.
fn names_corp(pair: &Bound<'_, PyAny>) -> bool {
    let name = match pair.cast::<PyTuple>() {
        Ok(tuple) => tuple.get_item(0),
        Err(_) => pair.get_item(0),
    };
    name.is_ok_and(|name| {
        name.cast::<PyBytes>()
            .is_ok_and(|name| name.as_bytes().eq_ignore_ascii_case(CORP))
    })
}

/// Most `(name, value)` pairs [`pair_of`] keeps: the guard adds a handful of distinct fields
/// (`Vary` and `Cross-Origin-Resource-Policy` with the policies' values).
const PAIRS_KEPT: usize = 8;

/// The `(bytes, bytes)` pair for a field the guard adds, made once and shared: these are
/// immutable Python objects, so every response may carry the same ones.
fn pair_of<'py>(py: Python<'py>, name: &[u8], value: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
    /// `(name, value, the pair)`.
    type Kept = Vec<(Vec<u8>, Vec<u8>, Py<PyTuple>)>;
    static PAIRS: Mutex<Kept> = Mutex::new(Vec::new());
    let make = || PyTuple::new(py, [PyBytes::new(py, name), PyBytes::new(py, value)]);
    let Ok(mut pairs) = PAIRS.lock() else {
        return make();
    };
    if let Some((_, _, pair)) = pairs.iter().find(|(n, v, _)| n == name && v == value) {
        return Ok(pair.bind(py).clone());
    }
    let pair = make()?;
    if pairs.len() < PAIRS_KEPT {
        pairs.push((name.to_vec(), value.to_vec(), pair.clone().unbind()));
    }
    Ok(pair)
}

/// `send`, adding an allowed request's fields (`Vary`; `Cross-Origin-Resource-Policy` unless the
/// app set its own) to the response start. It returns `send`'s own awaitable, so the app's
/// `await send(message)` runs no extra frame.
#[pyclass(frozen, module = "crossguard._native")]
pub(crate) struct AddingSend {
    send: Py<PyAny>,
    added: HeaderMap,
}

#[pymethods]
impl AddingSend {
    fn __call__<'py>(&self, message: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = message.py();
        let send = self.send.bind(py);
        let Ok(start) = message.cast::<PyDict>() else {
            return send.call1((message,));
        };
        let is_start = match start.get_item(intern!(py, "type"))? {
            Some(kind) => kind.eq(intern!(py, "http.response.start"))?,
            None => false,
        };
        if !is_start {
            return send.call1((message,));
        }
        let added = &self.added;
        let headers = match start.get_item(intern!(py, "headers"))? {
            // `list(sent)`: any iterable of pairs, as ASGI allows, copied in one call.
            Some(sent) => py
                .get_type::<PyList>()
                .call1((sent,))?
                .cast_into::<PyList>()?,
            None => PyList::empty(py),
        };
        let has_corp = added.keys().any(|name| name.as_str().as_bytes() == CORP)
            && headers.iter().any(|pair| names_corp(&pair));
        for (name, value) in added {
            if has_corp && name.as_str().as_bytes() == CORP {
                continue;
            }
            headers.append(pair_of(py, name.as_str().as_bytes(), value.as_bytes())?)?;
        }
        let start = start.copy()?;
        start.set_item(intern!(py, "headers"), headers)?;
        send.call1((start,))
    }
}
