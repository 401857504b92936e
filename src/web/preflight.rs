//! The preflight: a browser reports a refused WebSocket handshake only as close code 1006, so
//! the session GETs the pod with the same credentials ([`get`], gloo-net) and classifies the
//! HTTP answer here. A pod that is readable says more: the API server refuses a request without
//! a container on a pod with several, or with a container the pod does not have, and the
//! runtime one whose container is not running (see `crate::pod`). `getPod()` makes the same
//! request (pod.rs).

use gloo_net::http::Request;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal, RequestCache, RequestRedirect, ResponseType};

use crate::error::{Error, ErrorCode};
use crate::pod::{ContainerState, PodInfo};
use crate::token::BearerToken;

/// The hint of a preflight answered with a redirect.
pub(super) const REDIRECT_HINT: &str =
    "the server redirected the request: the server URL leads to \
    something other than the Kubernetes API (a login page, an authenticating proxy, an \
    http-to-https redirect); use the API server's own URL";

/// How a `GET` of the pod came out.
pub enum Answer {
    /// An HTTP status and the body (empty if it could not be read).
    Http { status: u16, body: Vec<u8> },
    /// A redirect, not followed (it would take the `Authorization` header elsewhere).
    Redirect,
    /// No answer: network, CORS, an untrusted certificate, or the signal.
    None,
}

/// `GET url` with `Accept: application/json`, the token as `Authorization: Bearer` when
/// there is one, no cache, and `redirect: manual`: a 3xx stops the request as
/// `redirect: error` would, but comes back as an "opaqueredirect" response (no status,
/// headers or body) instead of a network error, so it can be reported as one.
pub async fn get(url: &str, token: Option<&str>, signal: Option<&AbortSignal>) -> Answer {
    let Ok(headers) = web_sys::Headers::new() else {
        return Answer::None;
    };
    let _ = headers.set("Accept", "application/json");
    if let Some(t) = token {
        if headers
            .set("Authorization", &format!("Bearer {t}"))
            .is_err()
        {
            // Not a valid header value: no request, as fetch would refuse it.
            return Answer::None;
        }
    }
    let relay = Relay::new(signal);
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    init.set_redirect(RequestRedirect::Manual);
    if let Some(r) = &relay {
        init.set_signal(Some(&r.ours.signal()));
    }
    let Ok(request) = web_sys::Request::new_with_str_and_init(url, &init) else {
        return Answer::None;
    };
    // gloo-net sends it and reads the answer. The request is built with web-sys: gloo-net's
    // builder re-parses the URL to merge query parameters (~1.2 KiB gzipped we do not need).
    let request = Request::from(request);
    let Ok(response) = request.send().await else {
        return Answer::None;
    };
    if response.type_() == ResponseType::Opaqueredirect {
        return Answer::Redirect;
    }
    let status = response.status();
    let body = response.binary().await.unwrap_or_default();
    drop(relay);
    Answer::Http { status, body }
}

/// The caller's abort signal, passed on to an `AbortController` of ours that the request
/// listens to. fetch rejects with the signal's reason, which may be any value (`abort("x")`),
/// and gloo-net takes every rejection for an `Error`; ours aborts with the standard
/// `AbortError`.
struct Relay {
    signal: AbortSignal,
    ours: AbortController,
    on_abort: Closure<dyn FnMut()>,
}

impl Relay {
    fn new(signal: Option<&AbortSignal>) -> Option<Relay> {
        let signal = signal?.clone();
        let ours = AbortController::new().ok()?;
        if signal.aborted() {
            ours.abort();
        }
        let target = ours.clone();
        let on_abort = Closure::<dyn FnMut()>::new(move || target.abort());
        let _ = signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        Some(Relay {
            signal,
            ours,
            on_abort,
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let listener = self.on_abort.as_ref().unchecked_ref();
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", listener);
    }
}

/// What the preflight needs of a session: where the pod is, the credentials, the signal and
/// the request's container.
pub struct Preflight {
    pub url: String,
    pub token: Option<BearerToken>,
    pub signal: Option<AbortSignal>,
    pub container: Option<String>,
}

impl Preflight {
    /// GETs the pod and says what the handshake failure `failed` really was ([`classify`]).
    pub async fn diagnose(self, failed: Error) -> Error {
        let token = self.token.as_ref().map(BearerToken::expose);
        let answer = get(&self.url, token, self.signal.as_ref()).await;
        let aborted = self.signal.is_some_and(|s| s.aborted());
        classify(answer, aborted, failed, self.container.as_deref())
    }
}

/// What the handshake failure `failed` really was, from the preflight's `answer`:
/// `Unauthorized`, `Forbidden`, `NotFound` or `ConnectFailed` with the HTTP status,
/// `ConnectFailed` with a hint for a redirect (which the preflight does not follow: the
/// credentials go nowhere else); for a readable pod, `ContainerRequired` or `NotFound` listing
/// its containers when the request's `container` does not suit it, or `failed` naming a
/// container that is not running; or `failed` itself, explained, when the preflight tells
/// nothing more. `Aborted` if the signal fired meanwhile.
pub fn classify(answer: Answer, aborted: bool, failed: Error, container: Option<&str>) -> Error {
    if aborted {
        return Error::new(ErrorCode::Aborted, "aborted by the signal");
    }
    let (status, body) = match answer {
        Answer::None => {
            return Error::new(
                failed.code(),
                format!(
                    "{}; the preflight request could not reach the server either (network, \
                     CORS, or an untrusted certificate)",
                    failed.message()
                ),
            )
        }
        Answer::Redirect => {
            return Error::new(
                ErrorCode::ConnectFailed,
                format!(
                    "{}; the server answered the preflight request with a redirect, which \
                     was not followed",
                    failed.message()
                ),
            )
            .with_hint(REDIRECT_HINT)
        }
        Answer::Http { status, body } => (status, body),
    };
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
