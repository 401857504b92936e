//! The preflight: a browser reports a refused WebSocket handshake only as close code 1006, so
//! the glue GETs the pod with the same credentials (glue.js `preflight`) and classifies the
//! HTTP answer here. A pod that is readable says more: the API server refuses a request without
//! a container on a pod with several, or with a container the pod does not have, and the
//! runtime one whose container is not running (see `crate::pod`).

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, ErrorCode};
use crate::pod::{ContainerState, PodInfo};

/// The hint of a preflight answered with a redirect.
pub(super) const REDIRECT_HINT: &str =
    "the server redirected the request: the server URL leads to \
    something other than the Kubernetes API (a login page, an authenticating proxy, an \
    http-to-https redirect); use the API server's own URL";

/// What the handshake failure `failed` really was, from the preflight's `answer`
/// (`{ status, body }`, `{ redirect: true }`, or null when no answer came): `Unauthorized`,
/// `Forbidden`, `NotFound` or `ConnectFailed` with the HTTP status, `ConnectFailed` with a
/// hint for a redirect (which the preflight does not follow: the credentials go nowhere
/// else); for a readable pod, `ContainerRequired` or `NotFound` listing its containers when
/// the request's `container` does not suit it, or `failed` naming a container that is not
/// running; or `failed` itself, explained, when the preflight tells nothing more. `Aborted` if
/// the signal fired meanwhile.
pub fn classify(answer: &JsValue, aborted: bool, failed: Error, container: Option<&str>) -> Error {
    if aborted {
        return Error::new(ErrorCode::Aborted, "aborted by the signal");
    }
    if answer.is_null() || answer.is_undefined() {
        return Error::new(
            failed.code(),
            format!(
                "{}; the preflight request could not reach the server either (network, \
                 CORS, or an untrusted certificate)",
                failed.message()
            ),
        );
    }
    let get = |k: &str| Reflect::get(answer, &JsValue::from_str(k)).unwrap_or_default();
    if get("redirect").is_truthy() {
        return Error::new(
            ErrorCode::ConnectFailed,
            format!(
                "{}; the server answered the preflight request with a redirect, which was not \
                 followed",
                failed.message()
            ),
        )
        .with_hint(REDIRECT_HINT);
    }
    let status = get("status").as_f64().unwrap_or(0.0) as u16;
    let body = get("body")
        .dyn_into::<Uint8Array>()
        .map(|b| b.to_vec())
        .unwrap_or_default();
    if (200..300).contains(&status) {
        if let Ok(pod) = PodInfo::parse_json(&body) {
            if let Err(e) = pod.check_container(container) {
                return e;
            }
            let name = container.or(pod.containers.first().map(|c| c.name.as_str()));
            if let Some(c) = name.and_then(|n| pod.container(n)) {
                if c.state != ContainerState::Running && c.state != ContainerState::Unknown {
                    return Error::new(
                        failed.code(),
                        format!(
                            "{}; container {} of pod {} is not running ({})",
                            failed.message(),
                            c.name,
                            pod.name,
                            c.reason.as_deref().unwrap_or(c.state.as_str())
                        ),
                    );
                }
            }
        }
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
    Error::from_http_status(status, &body)
}
