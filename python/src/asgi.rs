//! The fast path of `crossguard.asgi.CrossGuard`: a scope judged straight from its `dict`, and
//! the `send` that adds the guard's fields to an allowed response, both without a Python frame.

use std::borrow::Cow;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

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
    let py = scope.py();
    let websocket = match scope.get_item(intern!(py, "type"))? {
        Some(kind) => kind.eq(intern!(py, "websocket"))?,
        None => false,
    };
    let version = scope.get_item(intern!(py, "http_version"))?;
    let version = match &version {
        Some(version) => version.cast::<PyString>()?.to_cow()?,
        None => Cow::Borrowed("1.1"),
    };
    let over_h2 = matches!(version.as_ref(), "2" | "3");
    let method = scope.get_item(intern!(py, "method"))?;
    let method = match (websocket, &method) {
        (true, _) => Some(Cow::Borrowed(if over_h2 {
            &b"CONNECT"[..]
        } else {
            b"GET"
        })),
        (false, Some(method)) => bytes_of(method, "method")?,
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
    Ok((!verdict.passes_unchanged(websocket)).then_some(verdict))
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

/// `send`, adding an allowed request's fields (`Vary`; `Cross-Origin-Resource-Policy` unless the
/// app set its own) to the response start. It returns `send`'s own awaitable, so the app's
/// `await send(message)` runs no extra frame.
#[pyclass(frozen, module = "crossguard._native")]
pub(crate) struct AddingSend {
    send: Py<PyAny>,
    verdict: Py<Verdict>,
}

#[pymethods]
impl AddingSend {
    #[new]
    fn new(send: Py<PyAny>, verdict: Py<Verdict>) -> Self {
        Self { send, verdict }
    }

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
        let headers = PyList::empty(py);
        let mut has_corp = false;
        if let Some(sent) = start.get_item(intern!(py, "headers"))? {
            for pair in sent.try_iter()? {
                let pair = pair?;
                if let Ok(name) = pair.get_item(0) {
                    has_corp |= name
                        .cast::<PyBytes>()
                        .is_ok_and(|name| name.as_bytes().eq_ignore_ascii_case(CORP));
                }
                headers.append(pair)?;
            }
        }
        for (name, value) in self.verdict.get().added() {
            if has_corp && name.as_str().as_bytes() == CORP {
                continue;
            }
            headers.append((
                PyBytes::new(py, name.as_str().as_bytes()),
                PyBytes::new(py, value.as_bytes()),
            ))?;
        }
        let start = start.copy()?;
        start.set_item(intern!(py, "headers"), headers)?;
        send.call1((start,))
    }
}
