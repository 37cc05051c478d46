//! `crossguard._native`, the compiled half of the Python package `crossguard`.
//!
//! It decides nothing itself: a [`Policy`] is built by the command's own option parser
//! ([`crossguard_cli::PolicyArgs`]), so each keyword means what the option of the same name
//! means; its `check` hands the request to the library's [`crossguard::Policy::check`] and
//! reports the library's verdict, and refusals are the library's
//! [`crossguard::Policy::rejection_response`]; `check_head` and `explain` are the command's
//! `check --json` and `check` reports. The module's `main` runs the `crossguard` command itself.

mod asgi;
mod convert;
mod verdict;

use std::ffi::OsString;

use crossguard_cli::{PolicyArgs, PresetArg};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Head, Keep, json_to_python};
use crate::verdict::Verdict;

create_exception!(
    _native,
    ConfigError,
    PyValueError,
    "A policy setting the library refuses; the message says how to fix it."
);

/// A validated, immutable policy: what the guard allows.
///
/// `preset` is `"default"` or `"local"`; every keyword means what the `crossguard` command's
/// option of the same name means (`allow_origins` is `--allow-origin` repeated, `deflate=False`
/// is `--no-deflate`). A setting the library refuses raises `ConfigError` with its message.
#[pyclass(frozen, module = "crossguard._native", name = "Policy")]
pub struct Policy {
    policy: crossguard::Policy,
    preset: &'static str,
}

/// The preset names the Python keyword accepts, and the command's preset each one is.
fn preset_of(name: &str) -> Option<(PresetArg, &'static str)> {
    match name {
        "default" => Some((PresetArg::Default, "default")),
        "local" => Some((PresetArg::Local, "local")),
        _ => None,
    }
}

/// A window-bits keyword as the command's `u8` option; a Python integer outside `u8` is refused
/// here, one inside it by the library.
fn window_bits(name: &str, bits: Option<i64>) -> PyResult<Option<u8>> {
    bits.map(|bits| {
        u8::try_from(bits)
            .map_err(|_| ConfigError::new_err(format!("{name} must be in 8..=15, not {bits}")))
    })
    .transpose()
}

#[pymethods]
impl Policy {
    #[new]
    #[pyo3(signature = (
        preset = "default",
        *,
        allow_origins = Vec::new(),
        allow_hosts = Vec::new(),
        allow_same_site = false,
        resource_isolation = None,
        require_origin_for_websocket = false,
        report_only = false,
        protocols = Vec::new(),
        deflate = true,
        server_max_window_bits = None,
        client_max_window_bits = None,
        server_no_context_takeover = false,
        client_no_context_takeover = false,
    ))]
    #[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
    fn new(
        preset: &str,
        allow_origins: Vec<String>,
        allow_hosts: Vec<String>,
        allow_same_site: bool,
        resource_isolation: Option<bool>,
        require_origin_for_websocket: bool,
        report_only: bool,
        protocols: Vec<String>,
        deflate: bool,
        server_max_window_bits: Option<i64>,
        client_max_window_bits: Option<i64>,
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
    ) -> PyResult<Self> {
        let Some((preset_arg, preset_name)) = preset_of(preset) else {
            return Err(ConfigError::new_err(format!(
                "unknown preset {preset:?}: use \"default\" or \"local\""
            )));
        };
        let args = PolicyArgs {
            preset: Some(preset_arg),
            allow_origin: allow_origins,
            allow_host: allow_hosts,
            allow_same_site,
            resource_isolation: resource_isolation == Some(true),
            no_resource_isolation: resource_isolation == Some(false),
            require_origin_for_websocket,
            report_only,
            protocols,
            no_deflate: !deflate,
            server_max_window_bits: window_bits("server_max_window_bits", server_max_window_bits)?,
            client_max_window_bits: window_bits("client_max_window_bits", client_max_window_bits)?,
            server_no_context_takeover,
            client_no_context_takeover,
            ..PolicyArgs::default()
        };
        let policy = args
            .policy(preset_arg)
            .map_err(|err| ConfigError::new_err(err.to_string()))?;
        Ok(Self {
            policy,
            preset: preset_name,
        })
    }

    /// The preset the policy started from: `"default"` or `"local"`.
    #[getter]
    fn preset(&self) -> &'static str {
        self.preset
    }

    /// Whether the policy reports instead of refusing.
    #[getter]
    fn report_only(&self) -> bool {
        self.policy.is_report_only()
    }

    /// Decides one request: `method` and `target` (`str` or `bytes`), `headers` (an iterable of
    /// `(name, value)` pairs, `bytes` or `str`; a `(":protocol", "websocket")` pair is the
    /// HTTP/2 pseudo-header of an extended CONNECT) and the HTTP version (`"1.0"`, `"1.1"`,
    /// `"2"`, `"3"`). Returns a `Verdict`; a head HTTP cannot carry is refused, never raised.
    #[pyo3(signature = (method, target, headers, http_version = "1.1"))]
    fn check(
        &self,
        method: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        http_version: &str,
    ) -> PyResult<Verdict> {
        Ok(
            match Head::read(method, target, headers, http_version, Keep::Read)? {
                Ok(head) => Verdict::of(&self.policy, &head),
                Err(_) => Verdict::malformed_head(&self.policy),
            },
        )
    }

    /// The judgement `crossguard.asgi.CrossGuard` acts on, for an `http` scope (its request)
    /// or a `websocket` scope (its opening handshake: a `GET`, or an extended `CONNECT` over
    /// HTTP/2 and HTTP/3): `None` when the app may run as it is (allowed, with nothing to add
    /// to the response and no subprotocol to name), else the verdict. Read straight from the
    /// scope, as `check` would read it.
    fn _check_asgi(&self, scope: &Bound<'_, PyDict>) -> PyResult<Option<Verdict>> {
        asgi::check(&self.policy, scope)
    }

    /// What `crossguard.asgi.CrossGuard` does with a scope: `None` to run the app as it is
    /// (also for scopes other than `http` and `websocket`), an `AddingSend` wrapping `send` to
    /// run it with, or the `Verdict` (a refusal, or a handshake's subprotocol to name).
    fn _guard_asgi<'py>(
        &self,
        scope: &Bound<'py, PyDict>,
        send: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        asgi::guard(&self.policy, scope, send)
    }

    /// Reads a raw HTTP/1.1 head as `crossguard check` does and returns exactly the object
    /// `crossguard check --json` prints; raises `ValueError` where the command exits 2.
    fn check_head<'py>(&self, py: Python<'py>, head: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let json = crossguard_cli::head_json(&self.policy, head).map_err(PyValueError::new_err)?;
        json_to_python(py, &json)
    }

    /// The report `crossguard check` prints for the request (same arguments as `check`); raises
    /// `ValueError` for a head HTTP cannot carry.
    #[pyo3(signature = (method, target, headers, http_version = "1.1"))]
    fn explain(
        &self,
        method: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        http_version: &str,
    ) -> PyResult<String> {
        let head = Head::read(method, target, headers, http_version, Keep::All)?
            .map_err(|why| PyValueError::new_err(why.to_string()))?;
        crossguard_cli::head_report(&self.policy, &head.to_raw()).map_err(PyValueError::new_err)
    }

    /// The library's `Debug` form of the policy: every setting, as the Rust side prints it (for
    /// bug reports, and for the tests that replay the Rust table rows).
    fn _library_debug(&self) -> String {
        format!("{:?}", self.policy)
    }

    fn __repr__(&self) -> String {
        format!(
            "Policy(preset={:?}, report_only={})",
            self.preset,
            if self.policy.is_report_only() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// Runs the `crossguard` command line `args` (the first is the program's name) and returns its
/// exit status; `program` is how to start this same command again (`crossguard run` starts its
/// helper with it). The interpreter is released while it runs (`proxy` runs until SIGINT or
/// SIGTERM).
#[pyfunction]
fn main(py: Python<'_>, program: Vec<OsString>, args: Vec<OsString>) -> u8 {
    py.detach(|| crossguard_cli::main_with_program(program, args))
}

/// The module `crossguard._native`.
#[pymodule(name = "_native")]
fn native_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Policy>()?;
    module.add_class::<Verdict>()?;
    module.add_class::<asgi::AddingSend>()?;
    module.add("ConfigError", module.py().get_type::<ConfigError>())?;
    module.add("MAX_HEADER_FIELDS", convert::MAX_FIELDS)?;
    module.add_function(wrap_pyfunction!(main, module)?)?;
    Ok(())
}
