//! Core errors and statuses as JavaScript values: real `Error`s with `code`, `hint`, `status`
//! and `httpStatus`, and plain `ExitStatus` objects.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::error::{Error, ErrorCode};
use crate::status::ExitStatus;

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object we just made cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// `{ success, exitCode, reason?, message? }`.
pub fn status_to_js(status: &ExitStatus) -> JsValue {
    let o = Object::new();
    set(&o, "success", &JsValue::from_bool(status.success()));
    let code = status
        .exit_code()
        .map_or(JsValue::NULL, |c| JsValue::from_f64(f64::from(c)));
    set(&o, "exitCode", &code);
    if let Some(reason) = status.reason() {
        set(&o, "reason", &JsValue::from_str(reason));
    }
    if let Some(message) = status.message() {
        set(&o, "message", &JsValue::from_str(message));
    }
    o.into()
}

/// An `ExecError`: a real `Error` (stack included) with the code, the hint, and what the
/// server said.
pub fn error_to_js(error: &Error) -> JsValue {
    let e = js_sys::Error::new(&error.to_string());
    e.set_name("ExecError");
    set(&e, "code", &JsValue::from_str(error.as_str()));
    set(&e, "hint", &JsValue::from_str(error.hint()));
    if let Some(status) = error.status() {
        set(&e, "status", &status_to_js(status));
    }
    if let Some(http) = error.http_status() {
        set(&e, "httpStatus", &JsValue::from_f64(f64::from(http)));
    }
    e.into()
}

/// Shorthand: a new error of this code as a JavaScript value.
pub fn js_error(code: ErrorCode, message: &str) -> JsValue {
    error_to_js(&Error::new(code, message))
}
