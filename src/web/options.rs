//! Reading the JavaScript option bags of `exec()`, `attach()`, `openShell()` and `getPod()`.
//!
//! Each option is read by name (`bag.stdin`, `bag.connectTimeout`, …); keys the `OPTIONS`
//! table does not name are never read. `null` and `undefined` mean "not given". Every option
//! is checked against its type in `OPTIONS` before any is used, so a wrong type is an
//! `InvalidOptions` error that names the option and what it must be, e.g. "`stdin` must be a
//! boolean"; the `AbortSignal` is kept as the caller's object. What depends on the function
//! (`command` or `shells`, `openShell()`'s defaults) is decided in [`Options::read`]; the
//! values themselves (names, URLs, sizes, subprotocols) are checked by the core.
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

/// What an option must be.
#[derive(Clone, Copy)]
enum Type {
    String,
    Boolean,
    Strings,
    /// A duration: finite, 0 or more.
    Millis,
    /// `{ cols, rows }` numbers (their range is the core's to check).
    Size,
    Signal,
}

impl Type {
    fn accepts(self, value: &JsValue) -> bool {
        match self {
            Type::String => value.is_string(),
            Type::Boolean => value.as_bool().is_some(),
            Type::Strings => value
                .dyn_ref::<Array>()
                .is_some_and(|a| a.iter().all(|s| s.is_string())),
            Type::Millis => value.as_f64().is_some_and(|ms| ms.is_finite() && ms >= 0.0),
            Type::Size => size(value).is_some(),
            Type::Signal => value.has_type::<AbortSignal>(),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Type::String => "a string",
            Type::Boolean => "a boolean",
            Type::Strings => "an array of strings",
            Type::Millis => "a number of milliseconds",
            Type::Size => SIZE,
            Type::Signal => "an AbortSignal",
        }
    }
}

/// The options every function reads, and what each must be. (`command` and `shells` belong
/// to some functions only: [`Options::read`] checks them where they are read.)
const OPTIONS: &[(&str, Type)] = &[
    ("server", Type::String),
    ("namespace", Type::String),
    ("pod", Type::String),
    ("container", Type::String),
    ("token", Type::String),
    ("stdin", Type::Boolean),
    ("stdout", Type::Boolean),
    ("stderr", Type::Boolean),
    ("tty", Type::Boolean),
    ("allowInsecureToken", Type::Boolean),
    ("preflight", Type::Boolean),
    ("protocols", Type::Strings),
    ("terminalSize", Type::Size),
    ("signal", Type::Signal),
    ("readyTimeout", Type::Millis),
    ("keepalive", Type::Millis),
    ("connectTimeout", Type::Millis),
    ("startGrace", Type::Millis),
];

/// The option named `option` as it is, unless absent, `null` or `undefined`.
fn given(bag: &JsValue, option: &str) -> Option<JsValue> {
    let value = Reflect::get(bag, &JsValue::from_str(option)).unwrap_or_default();
    (!value.is_null() && !value.is_undefined()).then_some(value)
}

/// The option, if given, after checking that it is of `ty`.
fn checked(bag: &JsValue, option: &str, ty: Type) -> Result<Option<JsValue>, Error> {
    match given(bag, option) {
        Some(value) if !ty.accepts(&value) => {
            Err(invalid(format!("`{option}` must be {}", ty.what())))
        }
        value => Ok(value),
    }
}

// The readers below run after the check of every option in `OPTIONS`: a value given is of
// its type.
fn string(bag: &JsValue, option: &str) -> Option<String> {
    given(bag, option)?.as_string()
}

fn boolean(bag: &JsValue, option: &str) -> Option<bool> {
    given(bag, option)?.as_bool()
}

fn number(bag: &JsValue, option: &str) -> Option<f64> {
    given(bag, option)?.as_f64()
}

/// An array of strings, checked.
fn strings(value: Option<JsValue>) -> Option<Vec<String>> {
    let array: Array = value?.unchecked_into();
    Some(array.iter().filter_map(|s| s.as_string()).collect())
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
            Bag::Exec => strings(checked(bag, "command", Type::Strings)?)
                .ok_or_else(|| invalid("`command` is required"))?,
            Bag::Attach if given(bag, "command").is_some() => {
                return Err(invalid("attach takes no `command`"))
            }
            Bag::Shell if given(bag, "command").is_some() => {
                return Err(invalid("openShell takes `shells`, not `command`"))
            }
            Bag::Shell => {
                let shells = strings(checked(bag, "shells", Type::Strings)?)
                    .unwrap_or_else(|| vec!["bash".into(), "sh".into()]);
                if shells.is_empty() || shells.iter().any(String::is_empty) {
                    return Err(invalid("`shells` must name at least one shell, none empty"));
                }
                shells
            }
            Bag::Attach | Bag::Pod => Vec::new(),
        };
        for &(option, ty) in OPTIONS {
            checked(bag, option, ty)?;
        }
        for option in ["namespace", "pod"] {
            if given(bag, option).is_none() {
                return Err(invalid(format!("`{option}` is required")));
            }
        }
        let terminal_size = match given(bag, "terminalSize").as_ref().and_then(size) {
            Some((cols, rows)) => Some(TerminalSize::from_f64(cols, rows)?),
            None => None,
        };
        let tty = boolean(bag, "tty").unwrap_or(shell);
        Ok(Options {
            server: string(bag, "server"),
            namespace: string(bag, "namespace").unwrap_or_default(),
            pod: string(bag, "pod").unwrap_or_default(),
            container: string(bag, "container"),
            command,
            stdin: boolean(bag, "stdin").unwrap_or(shell),
            stdout: boolean(bag, "stdout").unwrap_or(true),
            stderr: boolean(bag, "stderr").unwrap_or(!tty),
            tty,
            token: string(bag, "token"),
            protocols: strings(given(bag, "protocols")),
            terminal_size,
            signal: given(bag, "signal").map(JsCast::unchecked_into),
            allow_insecure_token: boolean(bag, "allowInsecureToken").unwrap_or(false),
            preflight: boolean(bag, "preflight").unwrap_or(true),
            ready_timeout_ms: number(bag, "readyTimeout"),
            keepalive_ms: number(bag, "keepalive"),
            connect_timeout_ms: number(bag, "connectTimeout"),
            start_grace_ms: number(bag, "startGrace"),
        })
    }
}
