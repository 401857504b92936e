//! JavaScript imports: the stream helpers in `glue.js` and a few globals that exist in
//! windows and workers alike (so no `window()` lookup is needed).

use js_sys::{Array, Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use super::session::SessionHandle;

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    /// A `ReadableStream<Uint8Array>` fed with views (see glue.js).
    #[derive(Clone)]
    pub type Output;
    #[wasm_bindgen(method, getter)]
    pub fn stream(this: &Output) -> Object;
    #[wasm_bindgen(method, getter)]
    pub fn buffered(this: &Output) -> f64;
    #[wasm_bindgen(method)]
    pub fn push(this: &Output, view: &Uint8Array);
    #[wasm_bindgen(method)]
    pub fn end(this: &Output);
    /// The recorders' taps: each sees every view received.
    #[wasm_bindgen(method, getter)]
    pub fn taps(this: &Output) -> Array;

    /// A `WritableStream` for stdin or resizes, whose sink is the session's `SessionHandle`.
    #[derive(Clone)]
    pub type Input;
    #[wasm_bindgen(method, getter)]
    pub fn stream(this: &Input) -> Object;
    #[wasm_bindgen(method)]
    pub fn fail(this: &Input, error: &JsValue);
    /// Stdin only: the CLOSE signal after every earlier write (see glue.js).
    #[wasm_bindgen(method, js_name = closeAfterWrites)]
    pub fn close_after_writes(this: &Input) -> Promise;

    /// Reads a stream to its end, calling `callback` with each chunk (the callback adapter).
    #[wasm_bindgen(js_name = forEachChunk)]
    pub fn for_each_chunk(stream: &Object, callback: &Function) -> Promise;

    /// An asciicast v2 recording (record()).
    #[derive(Clone)]
    pub type Recorder;
    #[wasm_bindgen(constructor)]
    pub fn new(cols: u16, rows: u16, options: &JsValue) -> Recorder;
    /// A tap for `Output::add_tap`, with its own UTF-8 decoder.
    #[wasm_bindgen(method)]
    pub fn tap(this: &Recorder) -> Function;
    #[wasm_bindgen(method)]
    pub fn resized(this: &Recorder, cols: u16, rows: u16);
    #[wasm_bindgen(method)]
    pub fn typed(this: &Recorder, bytes: &Uint8Array);
    #[wasm_bindgen(method, getter)]
    pub fn input(this: &Recorder) -> bool;
    #[wasm_bindgen(method)]
    pub fn stop(this: &Recorder);

    /// The JavaScript side of a session (glue.js): its streams, the socket's and the abort
    /// signal's listeners, its timer and its `exit` promise.
    #[derive(Clone)]
    pub type Link;
    #[wasm_bindgen(constructor)]
    pub fn new(ws: &web_sys::WebSocket) -> Link;
    #[wasm_bindgen(method, getter)]
    pub fn stdout(this: &Link) -> Output;
    #[wasm_bindgen(method, getter)]
    pub fn stderr(this: &Link) -> Output;
    #[wasm_bindgen(method, getter)]
    pub fn stdin(this: &Link) -> Input;
    #[wasm_bindgen(method, getter)]
    pub fn resizes(this: &Link) -> Input;
    #[wasm_bindgen(method, getter)]
    pub fn exit(this: &Link) -> Promise;
    /// Adds the listeners (socket, signal) and the streams' sinks, all calling `handle`, and
    /// enters the session in the registry of live sessions (for [`fail_all`]).
    #[wasm_bindgen(method)]
    pub fn listen(this: &Link, handle: SessionHandle, signal: Option<&web_sys::AbortSignal>);
    /// Arms the session's one timer (`SessionHandle::on_timer` in `ms`), replacing any.
    #[wasm_bindgen(method, js_name = setTimer)]
    pub fn set_timer(this: &Link, ms: f64);
    /// Removes the listeners and the timer, lets go of the handle, leaves the registry.
    #[wasm_bindgen(method)]
    pub fn dispose(this: &Link);
    /// Resolves `exit` with the status.
    #[wasm_bindgen(method)]
    pub fn exited(this: &Link, status: &JsValue);
    /// Rejects `exit` with the error.
    #[wasm_bindgen(method)]
    pub fn failed(this: &Link, error: &JsValue);

    /// A promise that resolves after `ms` (setTimeout).
    pub fn sleep(ms: f64) -> Promise;
    /// The error `failAll` ended the sessions with (a fresh one if it has not run).
    #[wasm_bindgen(js_name = panicError)]
    pub fn panic_error() -> JsValue;

    /// Ends every live session with an `Internal` error (from the panic hook).
    #[wasm_bindgen(js_name = failAll)]
    pub fn fail_all(message: &str);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn now_ms() -> f64;

}

/// This page's origin (`location.origin`), or "" where there is none.
pub fn page_origin() -> String {
    js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| js_sys::Reflect::get(&l, &"origin".into()))
        .ok()
        .and_then(|o| o.as_string())
        .unwrap_or_default()
}

/// Installs the panic hook once: the panic goes to the console (console_error_panic_hook),
/// then every live session ends, because the module cannot be entered safely afterwards.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            fail_all(&info.to_string());
        }));
    });
}
