//! The preflight: a browser reports a refused WebSocket handshake only as close code 1006, so
//! the glue GETs the pod with the same credentials and classifies the HTTP answer.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::bindings;
use crate::error::{Error, ErrorCode};
use crate::token::BearerToken;

fn call(target: &JsValue, method: &str) -> Option<Promise> {
    let f: Function = Reflect::get(target, &JsValue::from_str(method))
        .ok()?
        .dyn_into()
        .ok()?;
    f.call0(target).ok()?.dyn_into().ok()
}

/// What the handshake failure `failed` really was: `Unauthorized`, `Forbidden`, `NotFound`
/// or `ConnectFailed` with the HTTP status of `GET pod_url`, or `failed` itself, explained,
/// when the preflight tells nothing more. `Aborted` if `signal` fires meanwhile.
pub async fn classify(
    pod_url: &str,
    token: Option<&BearerToken>,
    signal: Option<&AbortSignal>,
    failed: Error,
) -> Error {
    let init = Object::new();
    let set = |o: &Object, k: &str, v: &JsValue| {
        let _ = Reflect::set(o, &JsValue::from_str(k), v);
    };
    if let Some(token) = token {
        let headers = Object::new();
        let value = format!("Bearer {}", token.expose());
        set(&headers, "Authorization", &JsValue::from_str(&value));
        set(&init, "headers", &headers);
    }
    set(&init, "cache", &JsValue::from_str("no-store"));
    if let Some(signal) = signal {
        set(&init, "signal", signal);
    }
    let aborted = || signal.is_some_and(|s| s.aborted());
    let response = match JsFuture::from(bindings::fetch(pod_url, &init)).await {
        Ok(r) => r,
        Err(_) if aborted() => return Error::new(ErrorCode::Aborted, "aborted by the signal"),
        Err(_) => {
            return Error::new(
                failed.code(),
                format!(
                    "{}; the preflight request could not reach the server either (network, \
                     CORS, or an untrusted certificate)",
                    failed.message()
                ),
            )
        }
    };
    let status = Reflect::get(&response, &JsValue::from_str("status"))
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0) as u16;
    if (200..300).contains(&status) {
        return Error::new(
            failed.code(),
            format!(
                "{}; the pod is readable with these credentials (http status {status}), so \
                 the WebSocket upgrade itself was refused: RBAC for pods/exec or pods/attach, \
                 a proxy that does not pass upgrades, or none of the offered subprotocols",
                failed.message()
            ),
        );
    }
    let body = match call(&response, "arrayBuffer") {
        Some(p) => JsFuture::from(p)
            .await
            .map(|b| Uint8Array::new(&b).to_vec())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Error::from_http_status(status, &body)
}
