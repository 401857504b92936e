//! `getPod()`: a `GET` of the pod with the session's credentials (the preflight's request,
//! preflight.rs `get`), read by the core (`crate::pod`) into what a console shows before it
//! opens a terminal: the phase, the containers and their state, the default container.

use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

use super::bindings;
use super::errors::{error_to_js, pod_to_js};
use super::options::{Bag, Options};
use super::preflight::{self, Answer, REDIRECT_HINT};
use crate::error::{Error, ErrorCode};
use crate::pod::PodInfo;
use crate::request::{check_token_transport, ExecRequest};

/// Resolves with the pod (`errors::pod_to_js`), or rejects with an `ExecError`: the HTTP
/// status classified as the preflight's (`Unauthorized`, `Forbidden`, `NotFound`,
/// `ConnectFailed`; a redirect is not followed, as the preflight's), `ProtocolError` for a
/// body that is not a Pod, `Aborted`, `InvalidOptions`.
pub async fn get_pod(bag: JsValue) -> Result<JsValue, JsValue> {
    bindings::install_panic_hook();
    let js = |e: Error| error_to_js(&e);
    let (url, token, signal) = request(&bag).map_err(js)?;
    let answer = preflight::get(&url, token.as_deref(), signal.as_ref()).await;
    if signal.is_some_and(|s| s.aborted()) {
        return Err(js(Error::new(ErrorCode::Aborted, "aborted by the signal")));
    }
    answer_to_pod(answer).map_err(js)
}

/// The pod's URL, the token and the signal, checked as `exec()` checks them.
fn request(bag: &JsValue) -> Result<(String, Option<String>, Option<AbortSignal>), Error> {
    let o = Options::read(bag, Bag::Pod)?;
    if o.signal.as_ref().is_some_and(|s| s.aborted()) {
        return Err(Error::new(ErrorCode::Aborted, "aborted by the signal"));
    }
    let url = ExecRequest::attach(o.namespace, o.pod)
        .pod_url(o.server.as_deref(), &bindings::page_origin())?;
    if o.token.is_some() {
        check_token_transport(&url, o.allow_insecure_token)?;
    }
    Ok((url, o.token, o.signal))
}

/// The answer as a pod or an error.
fn answer_to_pod(answer: Answer) -> Result<JsValue, Error> {
    let (status, body) = match answer {
        Answer::None => {
            return Err(Error::new(
                ErrorCode::ConnectFailed,
                "the pod could not be read: no answer from the server (network, CORS, or an \
                 untrusted certificate)",
            ))
        }
        Answer::Redirect => {
            return Err(Error::new(
                ErrorCode::ConnectFailed,
                "the pod could not be read: the server answered with a redirect, which was \
                 not followed",
            )
            .with_hint(REDIRECT_HINT))
        }
        Answer::Http { status, body } => (status, body),
    };
    if !(200..300).contains(&status) {
        return Err(Error::from_http_status(status, &body));
    }
    PodInfo::parse_json(&body).map(|pod| pod_to_js(&pod))
}
