//! Reading the JavaScript option bag with `Reflect` (no serde: smaller, and every wrong type
//! becomes an `InvalidOptions` error that names the option).

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::error::{Error, ErrorCode};
use crate::resize::TerminalSize;

/// The options of `exec()` / `attach()`, as plain Rust values.
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
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
}

/// The property, or `None` when it is `undefined` or `null`.
fn get(bag: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(bag, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn string(bag: &JsValue, key: &str) -> Result<Option<String>, Error> {
    match get(bag, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{key}` must be a string"))),
    }
}

fn required_string(bag: &JsValue, key: &str) -> Result<String, Error> {
    string(bag, key)?.ok_or_else(|| invalid(format!("`{key}` is required")))
}

fn boolean(bag: &JsValue, key: &str, default: bool) -> Result<bool, Error> {
    match get(bag, key) {
        None => Ok(default),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| invalid(format!("`{key}` must be a boolean"))),
    }
}

fn strings(bag: &JsValue, key: &str) -> Result<Option<Vec<String>>, Error> {
    let Some(v) = get(bag, key) else {
        return Ok(None);
    };
    let not_strings = || invalid(format!("`{key}` must be an array of strings"));
    if !Array::is_array(&v) {
        return Err(not_strings());
    }
    let array: Array = v.unchecked_into();
    let mut out = Vec::with_capacity(array.length() as usize);
    for item in array.iter() {
        out.push(item.as_string().ok_or_else(not_strings)?);
    }
    Ok(Some(out))
}

fn number(bag: &JsValue, key: &str) -> Result<Option<f64>, Error> {
    match get(bag, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n >= 0.0 && n.is_finite() => Ok(Some(n)),
            _ => Err(invalid(format!("`{key}` must be a number of milliseconds"))),
        },
    }
}

/// `{ cols, rows }`: whole numbers in 1..=65535.
pub fn terminal_size(value: &JsValue, what: &str) -> Result<TerminalSize, Error> {
    let field = |k: &str| Reflect::get(value, &JsValue::from_str(k)).ok()?.as_f64();
    match (value.is_object(), field("cols"), field("rows")) {
        (true, Some(cols), Some(rows)) => TerminalSize::from_f64(cols, rows),
        _ => Err(invalid(format!(
            "`{what}` must be {{ cols, rows }} numbers"
        ))),
    }
}

impl Options {
    /// Reads the option bag; `attach` has no command.
    pub fn read(bag: &JsValue, attach: bool) -> Result<Options, Error> {
        if !bag.is_object() {
            return Err(invalid("options must be an object".into()));
        }
        let tty = boolean(bag, "tty", false)?;
        let command = if attach {
            if get(bag, "command").is_some() {
                return Err(invalid("attach takes no `command`".into()));
            }
            Vec::new()
        } else {
            strings(bag, "command")?.ok_or_else(|| invalid("`command` is required".into()))?
        };
        let signal = match get(bag, "signal") {
            None => None,
            Some(v) => Some(
                v.dyn_into::<AbortSignal>()
                    .map_err(|_| invalid("`signal` must be an AbortSignal".into()))?,
            ),
        };
        let terminal_size = match get(bag, "terminalSize") {
            None => None,
            Some(v) => Some(terminal_size(&v, "terminalSize")?),
        };
        Ok(Options {
            server: string(bag, "server")?,
            namespace: required_string(bag, "namespace")?,
            pod: required_string(bag, "pod")?,
            container: string(bag, "container")?,
            command,
            stdin: boolean(bag, "stdin", false)?,
            stdout: boolean(bag, "stdout", true)?,
            stderr: boolean(bag, "stderr", !tty)?,
            tty,
            token: string(bag, "token")?,
            protocols: strings(bag, "protocols")?,
            terminal_size,
            signal,
            allow_insecure_token: boolean(bag, "allowInsecureToken", false)?,
            preflight: boolean(bag, "preflight", true)?,
            ready_timeout_ms: number(bag, "readyTimeout")?,
            keepalive_ms: number(bag, "keepalive")?,
            connect_timeout_ms: number(bag, "connectTimeout")?,
        })
    }
}
