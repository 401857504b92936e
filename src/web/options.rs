//! Reading the JavaScript option bag: glue.js checks the types (every wrong type becomes an
//! `InvalidOptions` error that names the option) and hands over the values in a fixed order;
//! no serde.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use super::bindings;
use crate::error::{Error, ErrorCode};
use crate::resize::TerminalSize;

/// Which function's option bag is read (glue.js `readOptions`' `kind`).
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

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
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
    /// Reads the option bag (type checks in glue.js `readOptions`).
    pub fn read(bag: &JsValue, kind: Bag) -> Result<Options, Error> {
        let values = bindings::read_options(bag, kind as u32);
        if let Some(message) = values.as_string() {
            return Err(invalid(message));
        }
        let a: Array = values.unchecked_into();
        let string = |i| a.get(i).as_string();
        let boolean = |i| a.get(i).as_bool().unwrap_or_default();
        let number = |i| a.get(i).as_f64();
        let strings = |i| {
            let v = a.get(i);
            (!v.is_undefined()).then(|| {
                Array::from(&v)
                    .iter()
                    .filter_map(|s| s.as_string())
                    .collect::<Vec<_>>()
            })
        };
        let terminal_size = match (number(11), number(12)) {
            (Some(cols), Some(rows)) => Some(TerminalSize::from_f64(cols, rows)?),
            _ => None,
        };
        Ok(Options {
            server: string(0),
            namespace: string(1).unwrap_or_default(),
            pod: string(2).unwrap_or_default(),
            container: string(3),
            command: strings(4).unwrap_or_default(),
            stdin: boolean(5),
            stdout: boolean(6),
            stderr: boolean(7),
            tty: boolean(8),
            token: string(9),
            protocols: strings(10),
            terminal_size,
            signal: a.get(13).dyn_into::<AbortSignal>().ok(),
            allow_insecure_token: boolean(14),
            preflight: boolean(15),
            ready_timeout_ms: number(16),
            keepalive_ms: number(17),
            connect_timeout_ms: number(18),
            start_grace_ms: number(19),
        })
    }
}
