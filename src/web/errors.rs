//! Core errors and statuses as JavaScript values: real `Error`s with `code`, `hint`, `status`,
//! `httpStatus` and the names an error is about (`containers`, `tried`), plain `ExitStatus`
//! objects, and `PodInfo` objects.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::error::{Error, ErrorCode};
use crate::pod::{ContainerInfo, PodInfo};
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
    if !error.names().is_empty() {
        let key = match error.code() {
            ErrorCode::NoShell => "tried",
            _ => "containers",
        };
        set(&e, key, &strings(error.names().iter().map(String::as_str)));
    }
    e.into()
}

fn strings<'a>(items: impl Iterator<Item = &'a str>) -> JsValue {
    let a = js_sys::Array::new();
    for s in items {
        a.push(&JsValue::from_str(s));
    }
    a.into()
}

fn container_to_js(c: &ContainerInfo) -> JsValue {
    let o = Object::new();
    set(&o, "name", &JsValue::from_str(&c.name));
    set(&o, "image", &JsValue::from_str(&c.image));
    set(&o, "state", &JsValue::from_str(c.state.as_str()));
    if let Some(reason) = &c.reason {
        set(&o, "reason", &JsValue::from_str(reason));
    }
    set(&o, "ready", &JsValue::from_bool(c.ready));
    set(&o, "stdin", &JsValue::from_bool(c.stdin));
    set(&o, "tty", &JsValue::from_bool(c.tty));
    o.into()
}

/// `{ name, namespace, phase, containers, initContainers, ephemeralContainers,
/// defaultContainer }` (see the `PodInfo` type in the .d.ts).
pub fn pod_to_js(pod: &PodInfo) -> JsValue {
    let o = Object::new();
    set(&o, "name", &JsValue::from_str(&pod.name));
    set(&o, "namespace", &JsValue::from_str(&pod.namespace));
    set(&o, "phase", &JsValue::from_str(&pod.phase));
    let list = |cs: &[ContainerInfo]| -> JsValue {
        let a = js_sys::Array::new();
        for c in cs {
            a.push(&container_to_js(c));
        }
        a.into()
    };
    set(&o, "containers", &list(&pod.containers));
    set(&o, "initContainers", &list(&pod.init_containers));
    set(&o, "ephemeralContainers", &list(&pod.ephemeral_containers));
    let default = pod
        .default_container()
        .map_or(JsValue::NULL, JsValue::from_str);
    set(&o, "defaultContainer", &default);
    o.into()
}

/// Shorthand: a new error of this code as a JavaScript value.
pub fn js_error(code: ErrorCode, message: &str) -> JsValue {
    error_to_js(&Error::new(code, message))
}
