//! JavaScript imports: the stream helpers in `glue.js` and a few globals that exist in
//! windows and workers alike (so no `window()` lookup is needed).

use js_sys::{Array, Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    /// A `ReadableStream<Uint8Array>` fed with views (see glue.js).
    #[derive(Clone)]
    pub type Output;
    #[wasm_bindgen(constructor)]
    pub fn new() -> Output;
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

    /// A `WritableStream` for stdin (`ws` given) or resizes (`undefined`); `track` connects
    /// it to the session.
    #[derive(Clone)]
    pub type Input;
    #[wasm_bindgen(constructor)]
    pub fn new(ws: &JsValue) -> Input;
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

    /// GETs the pod, then calls `call(CALL_PREFLIGHT, answer)` once with `{ status, body }`,
    /// or null without an answer.
    pub fn preflight(url: &str, token: &JsValue, signal: &JsValue, call: &JsValue);

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

    /// A live session's entry in glue.js's registry (for [`fail_all`]), which also holds
    /// its event handlers and its timer.
    pub type Tracked;
    /// Sets the socket's handlers (`onmessage`: see glue.js `listen`), the abort listener and
    /// the streams' sinks: everything reaches Rust as `route(kind, first, len)` or
    /// `call(op, a, b)`.
    #[allow(clippy::too_many_arguments)]
    pub fn track(
        ws: &web_sys::WebSocket,
        stdout: &Output,
        stderr: &Output,
        stdin: &Input,
        resizes: &Input,
        rejects: &Array,
        signal: &JsValue,
        exit: &Promise,
        route: &Function,
        call: &Function,
    ) -> Tracked;
    /// Removes every handler and the timer.
    pub fn untrack(entry: &Tracked);
    #[wasm_bindgen(js_name = setTimer)]
    pub fn set_timer(entry: &Tracked, ms: f64);
    #[wasm_bindgen(js_name = clearTimer)]
    pub fn clear_timer(entry: &Tracked);
    /// `[promise, resolve, reject]`.
    pub fn deferred() -> Array;
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
