//! Reading the JavaScript option bags of `exec()`, `attach()`, `openShell()` and `getPod()`.
//!
//! Each option is read by name (`bag.stdin`, `bag.connectTimeout`, …) with a reader of its
//! type; keys no reader names are never read. `null` and `undefined` mean "not given". A wrong
//! type is an `InvalidOptions` error that names the option and what it must be, e.g. "`stdin`
//! must be a boolean"; the `AbortSignal` is kept as the caller's object. What depends on the
//! function (`command` or `shells`, `openShell()`'s defaults) is decided in [`Options::read`];
//! the values themselves (names, URLs, sizes, subprotocols) are checked by the core.
//!
//! Not serde-wasm-bindgen, on purpose: any deserialization through it links its type-error
//! message, which formats a JS number with core's f64 `Display` (about 10.5 KiB gzipped for
//! that alone, measured); these few typed reads need none of it.

use js_sys::{Array, Reflect};
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

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
}

/// The option named `option` as it is, unless absent, `null` or `undefined`.
fn given(bag: &JsValue, option: &str) -> Result<Option<JsValue>, Error> {
    let value = Reflect::get(bag, &JsValue::from_str(option))
        .map_err(|_| invalid(format!("`{option}` could not be read")))?;
    Ok((!value.is_null() && !value.is_undefined()).then_some(value))
}

/// The option as a `T` (`cast`), or an error: "`option` must be `what`".
fn typed<T>(
    bag: &JsValue,
    option: &str,
    what: &str,
    cast: impl Fn(&JsValue) -> Option<T>,
) -> Result<Option<T>, Error> {
    match given(bag, option)? {
        Some(value) => match cast(&value) {
            Some(v) => Ok(Some(v)),
            None => Err(invalid(format!("`{option}` must be {what}"))),
        },
        None => Ok(None),
    }
}

fn string(bag: &JsValue, option: &str) -> Result<Option<String>, Error> {
    typed(bag, option, "a string", JsValue::as_string)
}

fn boolean(bag: &JsValue, option: &str) -> Result<Option<bool>, Error> {
    typed(bag, option, "a boolean", JsValue::as_bool)
}

fn strings(bag: &JsValue, option: &str) -> Result<Option<Vec<String>>, Error> {
    typed(bag, option, "an array of strings", |v| {
        v.dyn_ref::<Array>()?
            .iter()
            .map(|s| s.as_string())
            .collect()
    })
}

/// A duration in milliseconds: finite, 0 or more.
fn millis(bag: &JsValue, option: &str) -> Result<Option<f64>, Error> {
    typed(bag, option, "a number of milliseconds", |v| {
        v.as_f64().filter(|ms| ms.is_finite() && *ms >= 0.0)
    })
}

const SIZE: &str = "{ cols, rows } numbers";

/// `{ cols, rows }` as numbers, before their range check.
fn size(value: &JsValue) -> Option<(f64, f64)> {
    let number = |k: &str| Reflect::get(value, &JsValue::from_str(k)).ok()?.as_f64();
    value.is_object().then_some(())?;
    Some((number("cols")?, number("rows")?))
}

/// `{ cols, rows }`: whole numbers in 1..=65535 (`what` names the argument in the message).
pub fn terminal_size(value: &JsValue, what: &str) -> Result<TerminalSize, Error> {
    match size(value) {
        Some((cols, rows)) => TerminalSize::from_f64(cols, rows),
        None => Err(invalid(format!("`{what}` must be {SIZE}"))),
    }
}

impl Options {
    /// Reads the option bag of `kind`: every wrong type, missing required option or option
    /// the function does not take is an `InvalidOptions` error that names it.
    pub fn read(bag: &JsValue, kind: Bag) -> Result<Options, Error> {
        if !bag.is_object() {
            return Err(invalid("options must be an object"));
        }
        let shell = kind == Bag::Shell;
        let command = match kind {
            Bag::Exec => {
                strings(bag, "command")?.ok_or_else(|| invalid("`command` is required"))?
            }
            Bag::Attach if given(bag, "command")?.is_some() => {
                return Err(invalid("attach takes no `command`"))
            }
            Bag::Shell if given(bag, "command")?.is_some() => {
                return Err(invalid("openShell takes `shells`, not `command`"))
            }
            Bag::Shell => {
                let shells =
                    strings(bag, "shells")?.unwrap_or_else(|| vec!["bash".into(), "sh".into()]);
                if shells.is_empty() || shells.iter().any(String::is_empty) {
                    return Err(invalid("`shells` must name at least one shell, none empty"));
                }
                shells
            }
            Bag::Attach | Bag::Pod => Vec::new(),
        };
        let required = |option: &str| {
            string(bag, option)?.ok_or_else(|| invalid(format!("`{option}` is required")))
        };
        let tty = boolean(bag, "tty")?.unwrap_or(shell);
        let terminal_size = match typed(bag, "terminalSize", SIZE, size)? {
            Some((cols, rows)) => Some(TerminalSize::from_f64(cols, rows)?),
            None => None,
        };
        let signal = typed(bag, "signal", "an AbortSignal", |v| {
            v.dyn_ref::<AbortSignal>().cloned()
        })?;
        Ok(Options {
            server: string(bag, "server")?,
            namespace: required("namespace")?,
            pod: required("pod")?,
            container: string(bag, "container")?,
            command,
            stdin: boolean(bag, "stdin")?.unwrap_or(shell),
            stdout: boolean(bag, "stdout")?.unwrap_or(true),
            stderr: boolean(bag, "stderr")?.unwrap_or(!tty),
            tty,
            token: string(bag, "token")?,
            protocols: strings(bag, "protocols")?,
            terminal_size,
            signal,
            allow_insecure_token: boolean(bag, "allowInsecureToken")?.unwrap_or(false),
            preflight: boolean(bag, "preflight")?.unwrap_or(true),
            ready_timeout_ms: millis(bag, "readyTimeout")?,
            keepalive_ms: millis(bag, "keepalive")?,
            connect_timeout_ms: millis(bag, "connectTimeout")?,
            start_grace_ms: millis(bag, "startGrace")?,
        })
    }
}
