//! Reading the JavaScript option bags of `exec()`, `attach()`, `openShell()` and `getPod()`.
//!
//! serde-wasm-bindgen reads each option by name (`bag.stdin`, `bag.connectTimeout`, …) into
//! the `#[serde(rename_all = "camelCase")]` structs below; keys they do not name are never
//! read. `null` and `undefined` mean "not given". Each option has a reader of its own (the
//! `readers!` table: its type, its check, its message), so a wrong type is an
//! `InvalidOptions` error that names the option and what it must be, e.g. "`stdin` must be a
//! boolean". The `AbortSignal` is kept as the object it is (`serde_wasm_bindgen::preserve`).
//! What depends on the function (`command` or `shells`, `openShell()`'s defaults) is decided in
//! [`Options::read`]; the values themselves (names, URLs, sizes, subprotocols) are checked by
//! the core.

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::error::{Error, ErrorCode};
use crate::resize::TerminalSize;

/// Which function's option bag is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Bag {
    /// `exec()`: `command` required.
    Exec = 0,
    /// `attach()`: no `command`.
    Attach = 1,
    /// `openShell()`: `shells` (default bash, sh) in `command`; stdin and tty default on.
    Shell = 2,
    /// `getPod()`: only the connection's options are used.
    Pod = 3,
}

/// The options of `exec()` / `attach()` / `openShell()` / `getPod()`, as plain Rust values.
pub struct Options {
    pub server: Option<String>,
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    pub token: Option<String>,
    pub protocols: Option<Vec<String>>,
    pub terminal_size: Option<TerminalSize>,
    pub signal: Option<AbortSignal>,
    pub allow_insecure_token: bool,
    pub preflight: bool,
    pub ready_timeout_ms: Option<f64>,
    pub keepalive_ms: Option<f64>,
    pub connect_timeout_ms: Option<f64>,
    /// `openShell()`: how long a shell that prints nothing is given before it counts as
    /// started.
    pub start_grace_ms: Option<f64>,
}

/// The options every function reads, as given (`None`: absent, `null` or `undefined`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Common {
    #[serde(default, deserialize_with = "server")]
    server: Option<String>,
    #[serde(default, deserialize_with = "namespace")]
    namespace: Option<String>,
    #[serde(default, deserialize_with = "pod")]
    pod: Option<String>,
    #[serde(default, deserialize_with = "container")]
    container: Option<String>,
    #[serde(default, deserialize_with = "stdin")]
    stdin: Option<bool>,
    #[serde(default, deserialize_with = "stdout")]
    stdout: Option<bool>,
    #[serde(default, deserialize_with = "stderr")]
    stderr: Option<bool>,
    #[serde(default, deserialize_with = "tty")]
    tty: Option<bool>,
    #[serde(default, deserialize_with = "token")]
    token: Option<String>,
    #[serde(default, deserialize_with = "protocols")]
    protocols: Option<Vec<String>>,
    #[serde(default, deserialize_with = "terminal_size_")]
    terminal_size: Option<Size>,
    #[serde(default, deserialize_with = "signal")]
    signal: Option<AbortSignal>,
    #[serde(default, deserialize_with = "allow_insecure_token")]
    allow_insecure_token: Option<bool>,
    #[serde(default, deserialize_with = "preflight")]
    preflight: Option<bool>,
    #[serde(default, deserialize_with = "ready_timeout")]
    ready_timeout: Option<f64>,
    #[serde(default, deserialize_with = "keepalive")]
    keepalive: Option<f64>,
    #[serde(default, deserialize_with = "connect_timeout")]
    connect_timeout: Option<f64>,
    #[serde(default, deserialize_with = "start_grace")]
    start_grace: Option<f64>,
    /// `exec()`'s argv; `attach()` and `openShell()` refuse it: read as given, typed by
    /// [`Options::read`] for `exec()` alone.
    #[serde(default, deserialize_with = "given")]
    command: Option<JsValue>,
    /// `openShell()`'s alone, typed there; other functions do not look at it.
    #[serde(default, deserialize_with = "given")]
    shells: Option<JsValue>,
}

/// `terminalSize`, before its range check.
#[derive(Deserialize)]
struct Size {
    cols: f64,
    rows: f64,
}

const SIZE: &str = "{ cols, rows } numbers";

/// One reader per option, named after it: `None` for `null` and `undefined`, else a value of
/// its type that passes its check, else an error that names the option and what it must be.
macro_rules! readers {
    ($($option:ident: $type:ty $(where $valid:expr)? => $message:expr;)*) => {$(
        fn $option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$type>, D::Error> {
            match Option::<$type>::deserialize(d) {
                Ok(value) $(if value.as_ref().map_or(true, $valid))? => Ok(value),
                _ => Err(D::Error::custom($message)),
            }
        }
    )*};
}

readers! {
    server: String => "`server` must be a string";
    namespace: String => "`namespace` must be a string";
    pod: String => "`pod` must be a string";
    container: String => "`container` must be a string";
    token: String => "`token` must be a string";
    stdin: bool => "`stdin` must be a boolean";
    stdout: bool => "`stdout` must be a boolean";
    stderr: bool => "`stderr` must be a boolean";
    tty: bool => "`tty` must be a boolean";
    allow_insecure_token: bool => "`allowInsecureToken` must be a boolean";
    preflight: bool => "`preflight` must be a boolean";
    protocols: Vec<String> => "`protocols` must be an array of strings";
    terminal_size_: Size => "`terminalSize` must be { cols, rows } numbers";
    ready_timeout: f64 where millis => "`readyTimeout` must be a number of milliseconds";
    keepalive: f64 where millis => "`keepalive` must be a number of milliseconds";
    connect_timeout: f64 where millis => "`connectTimeout` must be a number of milliseconds";
    start_grace: f64 where millis => "`startGrace` must be a number of milliseconds";
}

/// A duration in milliseconds: finite, 0 or more.
fn millis(ms: &f64) -> bool {
    ms.is_finite() && *ms >= 0.0
}

/// The object itself, not a copy: an `AbortSignal` is only useful as the one the caller holds.
fn signal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AbortSignal>, D::Error> {
    let value: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
    if value.is_null() || value.is_undefined() {
        return Ok(None);
    }
    let signal = value
        .dyn_into()
        .map_err(|_| D::Error::custom("`signal` must be an AbortSignal"))?;
    Ok(Some(signal))
}

/// The option as it is, whatever its type, unless it is `null` or `undefined`.
fn given<'de, D: Deserializer<'de>>(d: D) -> Result<Option<JsValue>, D::Error> {
    let value: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
    Ok((!value.is_null() && !value.is_undefined()).then_some(value))
}

/// An option read as given ([`given`]), as an array of strings.
fn strings(value: Option<JsValue>, option: &str) -> Result<Option<Vec<String>>, Error> {
    value
        .map(serde_wasm_bindgen::from_value)
        .transpose()
        .map_err(|_| invalid(format!("`{option}` must be an array of strings")))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
}

/// Reads `T` from the bag, or the message of the first option of the wrong type.
fn read<T: for<'de> Deserialize<'de>>(bag: &JsValue) -> Result<T, Error> {
    serde_wasm_bindgen::from_value(bag.clone()).map_err(|e| {
        let message = JsValue::from(e).unchecked_into::<js_sys::Error>().message();
        invalid(String::from(message))
    })
}

/// `{ cols, rows }`: whole numbers in 1..=65535 (`what` names the argument in the message).
pub fn terminal_size(value: &JsValue, what: &str) -> Result<TerminalSize, Error> {
    match serde_wasm_bindgen::from_value::<Size>(value.clone()) {
        Ok(Size { cols, rows }) => TerminalSize::from_f64(cols, rows),
        Err(_) => Err(invalid(format!("`{what}` must be {SIZE}"))),
    }
}

impl Options {
    /// Reads the option bag of `kind`: every wrong type, missing required option or option
    /// the function does not take is an `InvalidOptions` error that names it.
    pub fn read(bag: &JsValue, kind: Bag) -> Result<Options, Error> {
        if !bag.is_object() {
            return Err(invalid("options must be an object"));
        }
        let c = read::<Common>(bag)?;
        let shell = kind == Bag::Shell;
        let command = match kind {
            Bag::Exec => {
                strings(c.command, "command")?.ok_or_else(|| invalid("`command` is required"))?
            }
            Bag::Attach if c.command.is_some() => return Err(invalid("attach takes no `command`")),
            Bag::Shell if c.command.is_some() => {
                return Err(invalid("openShell takes `shells`, not `command`"))
            }
            Bag::Shell => {
                let shells = strings(c.shells, "shells")?
                    .unwrap_or_else(|| vec!["bash".into(), "sh".into()]);
                if shells.is_empty() || shells.iter().any(String::is_empty) {
                    return Err(invalid("`shells` must name at least one shell, none empty"));
                }
                shells
            }
            Bag::Attach | Bag::Pod => Vec::new(),
        };
        let required = |value: Option<String>, name: &str| {
            value.ok_or_else(|| invalid(format!("`{name}` is required")))
        };
        let tty = c.tty.unwrap_or(shell);
        let terminal_size = match c.terminal_size {
            Some(Size { cols, rows }) => Some(TerminalSize::from_f64(cols, rows)?),
            None => None,
        };
        Ok(Options {
            server: c.server,
            namespace: required(c.namespace, "namespace")?,
            pod: required(c.pod, "pod")?,
            container: c.container,
            command,
            stdin: c.stdin.unwrap_or(shell),
            stdout: c.stdout.unwrap_or(true),
            stderr: c.stderr.unwrap_or(!tty),
            tty,
            token: c.token,
            protocols: c.protocols,
            terminal_size,
            signal: c.signal,
            allow_insecure_token: c.allow_insecure_token.unwrap_or(false),
            preflight: c.preflight.unwrap_or(true),
            ready_timeout_ms: c.ready_timeout,
            keepalive_ms: c.keepalive,
            connect_timeout_ms: c.connect_timeout,
            start_grace_ms: c.start_grace,
        })
    }
}
