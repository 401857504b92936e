//! Core errors and statuses as JavaScript values: real `Error`s with `code`, `hint`, `status`,
//! `httpStatus` and the names an error is about (`containers`, `tried`), plain `ExitStatus`
//! objects, and `PodInfo` objects. The plain objects are built by serde-wasm-bindgen from the
//! `Serialize` views below, whose fields are the `.d.ts` interfaces' (src/web/mod.rs): `None`
//! is `null` where the type says `| null`, and the property is absent where it says `?`.

use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::{Error, ErrorCode};
use crate::pod::{ContainerInfo, PodInfo};
use crate::status::ExitStatus;

fn set(target: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object we just made cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// Plain objects and arrays; `None` as `null` (fields that may be absent skip it instead).
fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let to_js = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    // Only strings, numbers, booleans, arrays and structs: nothing that can fail.
    value.serialize(&to_js).unwrap_or_default()
}

/// The `ExitStatus` interface.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    success: bool,
    exit_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// `{ success, exitCode, reason?, message? }`.
pub fn status_to_js(status: &ExitStatus) -> JsValue {
    to_js(&Status {
        success: status.success(),
        exit_code: status.exit_code(),
        reason: status.reason(),
        message: status.message(),
    })
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
        set(&e, key, &to_js(error.names()));
    }
    e.into()
}

/// The `ContainerInfo` interface.
#[derive(Serialize)]
struct Container<'a> {
    name: &'a str,
    image: &'a str,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    ready: bool,
    stdin: bool,
    tty: bool,
}

impl<'a> From<&'a ContainerInfo> for Container<'a> {
    fn from(c: &'a ContainerInfo) -> Self {
        Container {
            name: &c.name,
            image: &c.image,
            state: c.state.as_str(),
            reason: c.reason.as_deref(),
            ready: c.ready,
            stdin: c.stdin,
            tty: c.tty,
        }
    }
}

/// The `PodInfo` interface.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pod<'a> {
    name: &'a str,
    namespace: &'a str,
    phase: &'a str,
    containers: Vec<Container<'a>>,
    init_containers: Vec<Container<'a>>,
    ephemeral_containers: Vec<Container<'a>>,
    default_container: Option<&'a str>,
}

/// `{ name, namespace, phase, containers, initContainers, ephemeralContainers,
/// defaultContainer }` (see the `PodInfo` type in the .d.ts).
pub fn pod_to_js(pod: &PodInfo) -> JsValue {
    fn list(cs: &[ContainerInfo]) -> Vec<Container<'_>> {
        cs.iter().map(Container::from).collect()
    }
    to_js(&Pod {
        name: &pod.name,
        namespace: &pod.namespace,
        phase: &pod.phase,
        containers: list(&pod.containers),
        init_containers: list(&pod.init_containers),
        ephemeral_containers: list(&pod.ephemeral_containers),
        default_container: pod.default_container(),
    })
}

/// Shorthand: a new error of this code as a JavaScript value.
pub fn js_error(code: ErrorCode, message: &str) -> JsValue {
    error_to_js(&Error::new(code, message))
}
