//! `getPod()`: a `GET` of the pod with the session's credentials (glue.js `preflight`, as
//! after a failed handshake), read by the core (`crate::pod`) into what a console shows before it opens a
//! terminal: the phase, the containers and their state, the default container.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The shape of the sessions' `call` closure (session.rs `CallFn`): the answer comes as the
/// preflight's does, `call(CALL_PREFLIGHT, answer)`, so no other closure type is compiled in.
type CallFn = dyn FnMut(u32, JsValue, JsValue) -> JsValue;

use super::bindings;
use super::errors::{error_to_js, pod_to_js};
use super::options::{Bag, Options};
use crate::error::{Error, ErrorCode};
use crate::pod::PodInfo;
use crate::request::{check_token_transport, ExecRequest};

/// Resolves with the pod (`errors::pod_to_js`), or rejects with an `ExecError`: the HTTP
/// status classified as the preflight's (`Unauthorized`, `Forbidden`, `NotFound`,
/// `ConnectFailed`; a redirect is not followed, as the preflight's), `ProtocolError` for a body that is not a Pod, `Aborted`,
/// `InvalidOptions`.
pub fn get_pod(bag: JsValue) -> Promise {
    bindings::install_panic_hook();
    let d = bindings::deferred();
    let (resolve, reject): (Function, Function) = (d.get(1).into(), d.get(2).into());
    let settle = move |result: Result<JsValue, Error>| {
        let _ = match result {
            Ok(pod) => resolve.call1(&JsValue::UNDEFINED, &pod),
            Err(e) => reject.call1(&JsValue::UNDEFINED, &error_to_js(&e)),
        };
    };
    match request(&bag) {
        Ok((url, token, signal)) => {
            let aborted = signal.clone();
            let mut settle = Some(settle);
            // Called once by glue.js; its memory goes when JavaScript collects the function.
            let done = Closure::<CallFn>::new(move |_, answer: JsValue, _| {
                if let Some(settle) = settle.take() {
                    settle(answer_to_pod(&answer, &aborted));
                }
                JsValue::UNDEFINED
            })
            .into_js_value();
            bindings::preflight(&url, &token, &signal, &done);
        }
        Err(e) => settle(Err(e)),
    }
    Promise::from(d.get(0))
}

/// The pod's URL, the token and the signal, checked as `exec()` checks them.
fn request(bag: &JsValue) -> Result<(String, JsValue, JsValue), Error> {
    let o = Options::read(bag, Bag::Pod)?;
    if o.signal.as_ref().is_some_and(|s| s.aborted()) {
        return Err(Error::new(ErrorCode::Aborted, "aborted by the signal"));
    }
    let url = ExecRequest::attach(o.namespace, o.pod)
        .pod_url(o.server.as_deref(), &bindings::page_origin())?;
    let token = match o.token {
        Some(t) => {
            check_token_transport(&url, o.allow_insecure_token)?;
            JsValue::from(t)
        }
        None => JsValue::UNDEFINED,
    };
    let signal = o.signal.map_or(JsValue::UNDEFINED, JsValue::from);
    Ok((url, token, signal))
}

/// glue.js `preflight`'s answer (`{ status, body }`, or null) as a pod or an error.
fn answer_to_pod(answer: &JsValue, signal: &JsValue) -> Result<JsValue, Error> {
    if Reflect::get(signal, &"aborted".into()).is_ok_and(|a| a.is_truthy()) {
        return Err(Error::new(ErrorCode::Aborted, "aborted by the signal"));
    }
    if answer.is_null() || answer.is_undefined() {
        return Err(Error::new(
            ErrorCode::ConnectFailed,
            "the pod could not be read: no answer from the server (network, CORS, or an \
             untrusted certificate)",
        ));
    }
    let get = |k: &str| Reflect::get(answer, &JsValue::from_str(k)).unwrap_or_default();
    if get("redirect").is_truthy() {
        return Err(Error::new(
            ErrorCode::ConnectFailed,
            "the pod could not be read: the server answered with a redirect, which was not followed",
        )
        .with_hint(super::preflight::REDIRECT_HINT));
    }
    let status = get("status").as_f64().unwrap_or(0.0) as u16;
    let body = get("body")
        .dyn_into::<Uint8Array>()
        .map(|b| b.to_vec())
        .unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(Error::from_http_status(status, &body));
    }
    PodInfo::parse_json(&body).map(|pod| pod_to_js(&pod))
}
