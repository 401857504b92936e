//! One exec/attach session in the browser: a `WebSocket`, the core's [`Session`], the JS
//! streams, and the closures that connect them.
//!
//! Ownership: `Inner` owns every `Closure` (in [`Handlers`]) and the handlers own an `Rc` of
//! `Inner` — a deliberate cycle that keeps a running session alive while only the socket's
//! events refer to it. [`finish`] breaks it on every ending (exit, error, abort, `close()`):
//! it removes the listeners, ends the streams and drops the closures.
//!
//! Borrowing: JavaScript is never called with `Inner` borrowed if that call can call back into
//! Rust synchronously (stream controllers, promise resolution and `WebSocket.send` cannot).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, BinaryType, CloseEvent, WebSocket};

use super::bindings::{self, Input, Output, Tracked};
use super::errors::{error_to_js, js_error, status_to_js};
use super::options::{self, Options};
use super::preflight;
use crate::error::{Error, ErrorCode};
use crate::protocol::{self, Protocol};
use crate::request::{ExecRequest, Kind};
use crate::resize::TerminalSize;
use crate::session::{Event, MessageKind, Route, Session, SessionConfig, Transmit};
use crate::token::BearerToken;

type Shared = Rc<RefCell<Inner>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    Ended,
}

/// The resolve/reject pair of a promise we settle later.
struct Settle {
    resolve: Function,
    reject: Function,
}

fn deferred() -> (Promise, Settle) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some(Settle { resolve, reject }));
    // The executor runs synchronously inside `new Promise`.
    let settle = settle.unwrap_or_else(|| Settle {
        resolve: Function::from(JsValue::UNDEFINED),
        reject: Function::from(JsValue::UNDEFINED),
    });
    (promise, settle)
}

impl Settle {
    fn resolve(self, v: &JsValue) {
        let _ = self.resolve.call1(&JsValue::UNDEFINED, v);
    }
    fn reject(self, v: &JsValue) {
        let _ = self.reject.call1(&JsValue::UNDEFINED, v);
    }
}

/// `route(kind, first_byte, len) -> code`, called by glue.js for every message.
type RouteFn = dyn FnMut(u32, u32, u32) -> u32;

/// Every closure a session hands to JavaScript.
#[derive(Default)]
struct Handlers {
    open: Option<Closure<dyn FnMut()>>,
    route: Option<Closure<RouteFn>>,
    deliver: Option<Closure<dyn FnMut(JsValue)>>,
    close: Option<Closure<dyn FnMut(CloseEvent)>>,
    error: Option<Closure<dyn FnMut()>>,
    abort: Option<Closure<dyn FnMut()>>,
    timer: Option<Closure<dyn FnMut()>>,
    stdin_send: Option<Closure<dyn FnMut(JsValue) -> JsValue>>,
    stdin_close: Option<Closure<dyn FnMut() -> Promise>>,
    stdin_abort: Option<Closure<dyn FnMut() -> Promise>>,
    resize_write: Option<Closure<dyn FnMut(JsValue) -> Promise>>,
    resize_close: Option<Closure<dyn FnMut() -> Promise>>,
}

struct Inner {
    core: Session,
    ws: WebSocket,
    phase: Phase,
    protocol: String,
    stdout: Output,
    stderr: Output,
    stdin: Input,
    resizes: Input,
    /// Settles the promise `exec()` awaits.
    opened: Option<Settle>,
    /// Settles `session.exit`.
    exit: Option<Settle>,
    exit_promise: Promise,
    signal: Option<AbortSignal>,
    /// For the preflight after a failed handshake.
    pod_url: String,
    token: Option<BearerToken>,
    preflight: bool,
    /// The pending `setTimeout`, and when it fires (performance.now() ms).
    timer: Option<(JsValue, f64)>,
    handlers: Handlers,
    /// This session in glue.js's registry of live sessions (see `install_panic_hook`).
    tracked: Option<Tracked>,
}

thread_local! {
    /// Marks `exit` as handled, so a session nobody awaits does not log an unhandled rejection.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_| {});
}

/// A running (or ended) exec/attach session.
#[wasm_bindgen]
pub struct ExecSession {
    inner: Shared,
    protocol: String,
    stdout: Object,
    stderr: Object,
    stdin: Object,
    resizes: Object,
    exit: Promise,
}

#[wasm_bindgen]
impl ExecSession {
    /// The negotiated subprotocol, e.g. "v5.channel.k8s.io".
    #[wasm_bindgen(getter)]
    pub fn protocol(&self) -> String {
        self.protocol.clone()
    }

    /// The process's stdout, as views of the received messages (never decoded per frame).
    /// It closes when the session ends, whatever the reason; `exit` tells how it ended.
    #[wasm_bindgen(getter, unchecked_return_type = "ReadableStream<Uint8Array>")]
    pub fn stdout(&self) -> JsValue {
        self.stdout.clone().into()
    }

    /// The process's stderr (empty with a TTY: stderr is merged into stdout).
    #[wasm_bindgen(getter, unchecked_return_type = "ReadableStream<Uint8Array>")]
    pub fn stderr(&self) -> JsValue {
        self.stderr.clone().into()
    }

    /// The process's stdin; strings are UTF-8 encoded. A write resolves once the bytes are
    /// handed to the socket (or queued before it opens) and waits while the socket's
    /// `bufferedAmount` is high. Closing the stream is `closeStdin()`.
    #[wasm_bindgen(getter, unchecked_return_type = "WritableStream<Uint8Array | string>")]
    pub fn stdin(&self) -> JsValue {
        self.stdin.clone().into()
    }

    /// Terminal sizes, as a stream; each write is a `resize()`.
    #[wasm_bindgen(getter, unchecked_return_type = "WritableStream<TerminalSize>")]
    pub fn resizes(&self) -> JsValue {
        self.resizes.clone().into()
    }

    /// Resolves with the status whenever the server delivered one (a non-zero exit is a
    /// status too); rejects with an `ExecError` when the session ended without one.
    #[wasm_bindgen(getter, unchecked_return_type = "Promise<ExitStatus>")]
    pub fn exit(&self) -> JsValue {
        self.exit.clone().into()
    }

    /// Bytes received and waiting for the stdout and stderr readers (beyond the one chunk
    /// each stream holds). The browser's WebSocket has no flow control: watch this if the
    /// consumer can fall behind.
    #[wasm_bindgen(getter, js_name = bufferedOutput)]
    pub fn buffered_output(&self) -> f64 {
        let i = self.inner.borrow();
        i.stdout.buffered() + i.stderr.buffered()
    }

    /// The callback adapter, for terminals that prefer callbacks to streams: reads `stdout`
    /// (locking it) and calls `callback` with every chunk; resolves when stdout ends.
    #[wasm_bindgen(js_name = onStdout, unchecked_return_type = "Promise<void>")]
    pub fn on_stdout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(chunk: Uint8Array) => void")] callback: Function,
    ) -> Promise {
        bindings::for_each_chunk(&self.stdout, &callback)
    }

    /// Like `onStdout`, for stderr.
    #[wasm_bindgen(js_name = onStderr, unchecked_return_type = "Promise<void>")]
    pub fn on_stderr(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(chunk: Uint8Array) => void")] callback: Function,
    ) -> Promise {
        bindings::for_each_chunk(&self.stderr, &callback)
    }

    /// Sends a terminal size (needs `tty`). Throws `InvalidOptions` on values outside
    /// 1..=65535 or without a TTY, `NotOpen` after the session ended.
    pub fn resize(&self, cols: f64, rows: f64) -> Result<(), JsValue> {
        resize(&self.inner, cols, rows)
    }

    /// Ends stdin (the v5 CLOSE signal): the process sees EOF. Rejects with
    /// `HalfCloseUnsupported` on other protocols, which cannot end stdin alone. Call it after
    /// the last stdin write resolved (or close the stdin stream instead, which orders it).
    #[wasm_bindgen(js_name = closeStdin, unchecked_return_type = "Promise<void>")]
    pub fn close_stdin(&self) -> Promise {
        close_stdin(&self.inner)
    }

    /// Ends the session: the socket closes, the output streams end, `exit` rejects with
    /// `Aborted` unless a status had arrived. Safe to call more than once.
    pub fn close(&self) {
        abort(&self.inner);
    }
}

/// `exec()` / `attach()`: validates and connects; the promise resolves with the session once
/// the socket is open (see the `Opened` event in `drive`), or rejects with an `ExecError`.
pub fn open(kind: Kind, bag: JsValue) -> Promise {
    bindings::install_panic_hook();
    let options = match Options::read(&bag, kind == Kind::Attach) {
        Ok(o) => o,
        Err(e) => return Promise::reject(&error_to_js(&e)),
    };
    if options.signal.as_ref().is_some_and(|s| s.aborted()) {
        return Promise::reject(&js_error(ErrorCode::Aborted, "aborted by the signal"));
    }
    match connect(kind, options) {
        Ok((_, opened)) => opened,
        Err(e) => Promise::reject(&error_to_js(&e)),
    }
}

fn connect(kind: Kind, o: Options) -> Result<(Shared, Promise), Error> {
    let offer = match &o.protocols {
        None => protocol::DEFAULT_OFFER.to_vec(),
        Some(names) => Protocol::parse_offer(names)?,
    };
    if offer.is_empty() {
        // The token entry alone is refused (401), and no entry at all gets an empty answer
        // that browsers reject: there must be a real subprotocol.
        return Err(Error::new(
            ErrorCode::InvalidOptions,
            "offer at least one subprotocol (protocols must not be empty)",
        ));
    }
    let request = ExecRequest {
        kind,
        namespace: o.namespace,
        pod: o.pod,
        container: o.container,
        command: o.command,
        stdin: o.stdin,
        stdout: o.stdout,
        stderr: o.stderr,
        tty: o.tty,
    };
    request.validate()?;
    let origin = bindings::page_origin();
    let url = request.websocket_url(o.server.as_deref(), &origin)?;
    let pod_url = request.pod_url(o.server.as_deref(), &origin)?;
    let token = o.token.as_deref().map(BearerToken::new).transpose()?;
    if token.is_some() {
        crate::request::check_token_transport(&url, o.allow_insecure_token)?;
    }
    let mut config = SessionConfig::for_request(&request);
    config.offer = offer.clone();
    if let Some(ms) = o.ready_timeout_ms {
        config.ready_timeout_ms = (ms > 0.0).then_some(ms);
    }
    config.keepalive_ms = o.keepalive_ms.filter(|ms| *ms > 0.0);
    if let Some(ms) = o.connect_timeout_ms {
        config.connect_timeout_ms = (ms > 0.0).then_some(ms);
    }
    let mut core = Session::new(config);
    if let Some(size) = o.terminal_size {
        core.resize(size)?;
    }

    let protocols = js_sys::Array::new();
    for p in &offer {
        protocols.push(&JsValue::from_str(p.name()));
    }
    if let Some(t) = &token {
        protocols.push(&JsValue::from_str(&t.subprotocol()));
    }
    let ws = WebSocket::new_with_str_sequence(&url, &protocols).map_err(|e| {
        let mut detail = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        // A browser may quote the offered subprotocols, the token's among them.
        if detail.contains(crate::token::BEARER_PROTOCOL_PREFIX) {
            detail = "invalid subprotocol".into();
        }
        Error::new(
            ErrorCode::ConnectFailed,
            format!("the browser refused the WebSocket: {detail}"),
        )
    })?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    // A proxy or firewall may hold the handshake for minutes: the connect timeout starts now.
    core.handle_connecting(bindings::now_ms());

    let (opened_promise, opened) = deferred();
    let (exit_promise, exit) = deferred();
    IGNORE.with(|f| {
        let _ = exit_promise.catch(f);
    });
    let (stdin_sink, resize_sink) = (Object::new(), Object::new());
    let shared: Shared = Rc::new(RefCell::new(Inner {
        core,
        ws: ws.clone(),
        phase: Phase::Connecting,
        protocol: String::new(),
        stdout: Output::new(),
        stderr: Output::new(),
        stdin: Input::new(&stdin_sink, &ws),
        resizes: Input::new(&resize_sink, &JsValue::UNDEFINED),
        opened: Some(opened),
        exit: Some(exit),
        exit_promise,
        signal: o.signal.clone(),
        pod_url,
        token,
        preflight: o.preflight,
        timer: None,
        handlers: Handlers::default(),
        tracked: None,
    }));
    install(&shared, &ws, o.signal.as_ref(), &stdin_sink, &resize_sink);
    {
        let mut i = shared.borrow_mut();
        let pair = |a: &JsValue, b: &JsValue| -> js_sys::Array { [a, b].into_iter().collect() };
        let outputs = pair(&i.stdout, &i.stderr);
        let inputs = pair(&i.stdin, &i.resizes);
        let rejects = match (&i.opened, &i.exit) {
            (Some(o), Some(e)) => pair(&o.reject, &e.reject),
            _ => js_sys::Array::new(),
        };
        i.tracked = Some(bindings::track(&ws, &outputs, &inputs, &rejects));
    }
    drive(&shared);
    Ok((shared, opened_promise))
}

/// Gives a sink object (already wrapped by an `Input`) its methods.
fn sink(o: &Object, write_name: &str, write: &Function, close: &Function, abort: &Function) {
    let _ = Reflect::set(o, &write_name.into(), write);
    let _ = Reflect::set(o, &"close".into(), close);
    let _ = Reflect::set(o, &"abort".into(), abort);
}

/// Creates every closure and hands it to JavaScript.
fn install(
    shared: &Shared,
    ws: &WebSocket,
    signal: Option<&AbortSignal>,
    stdin_sink: &Object,
    resize_sink: &Object,
) {
    let mut h = Handlers::default();

    let s = shared.clone();
    let open = Closure::<dyn FnMut()>::new(move || on_open(&s));
    ws.set_onopen(Some(open.as_ref().unchecked_ref()));
    h.open = Some(open);

    let s = shared.clone();
    let route = Closure::<RouteFn>::new(move |kind, first, len| on_route(&s, kind, first, len));
    let s = shared.clone();
    let deliver = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| on_deliver(&s, m));
    {
        let i = shared.borrow();
        bindings::listen(
            ws,
            &i.stdout,
            &i.stderr,
            route.as_ref().unchecked_ref(),
            deliver.as_ref().unchecked_ref(),
        );
    }
    h.route = Some(route);
    h.deliver = Some(deliver);

    let s = shared.clone();
    let close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        let (code, reason) = (e.code(), e.reason());
        step(&s, |core| core.handle_close(code, &reason));
    });
    ws.set_onclose(Some(close.as_ref().unchecked_ref()));
    h.close = Some(close);

    // An `error` event is always followed by `close` (1006), which carries the code.
    let s = shared.clone();
    let error = Closure::<dyn FnMut()>::new(move || step(&s, |core| core.handle_error()));
    ws.set_onerror(Some(error.as_ref().unchecked_ref()));
    h.error = Some(error);

    if let Some(signal) = signal {
        let s = shared.clone();
        let abort_fn = Closure::<dyn FnMut()>::new(move || abort(&s));
        let _ = signal.add_event_listener_with_callback("abort", abort_fn.as_ref().unchecked_ref());
        h.abort = Some(abort_fn);
    }

    let s = shared.clone();
    h.timer = Some(Closure::<dyn FnMut()>::new(move || {
        s.borrow_mut().timer = None;
        let now = bindings::now_ms();
        step(&s, |core| core.handle_timeout(now));
    }));

    let s = shared.clone();
    let stdin_send =
        Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |piece| send_stdin(&s, piece));
    let s = shared.clone();
    let stdin_close = Closure::<dyn FnMut() -> Promise>::new(move || close_stdin(&s));
    let s = shared.clone();
    let stdin_abort = Closure::<dyn FnMut() -> Promise>::new(move || {
        // A discarded stdin: end it where the protocol can, never fail the abort.
        let _ = close_stdin(&s);
        Promise::resolve(&JsValue::UNDEFINED)
    });
    sink(
        stdin_sink,
        "send",
        stdin_send.as_ref().unchecked_ref(),
        stdin_close.as_ref().unchecked_ref(),
        stdin_abort.as_ref().unchecked_ref(),
    );

    let s = shared.clone();
    let resize_write = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |size: JsValue| {
        let result = options::terminal_size(&size, "size")
            .map_err(|e| error_to_js(&e))
            .and_then(|t| resize(&s, f64::from(t.cols()), f64::from(t.rows())));
        match result {
            Ok(()) => Promise::resolve(&JsValue::UNDEFINED),
            Err(e) => Promise::reject(&e),
        }
    });
    let resize_close =
        Closure::<dyn FnMut() -> Promise>::new(|| Promise::resolve(&JsValue::UNDEFINED));
    sink(
        resize_sink,
        "write",
        resize_write.as_ref().unchecked_ref(),
        resize_close.as_ref().unchecked_ref(),
        resize_close.as_ref().unchecked_ref(),
    );

    h.stdin_send = Some(stdin_send);
    h.stdin_close = Some(stdin_close);
    h.stdin_abort = Some(stdin_abort);
    h.resize_write = Some(resize_write);
    h.resize_close = Some(resize_close);

    shared.borrow_mut().handlers = h;
}

fn on_open(shared: &Shared) {
    let answer = shared.borrow().ws.protocol();
    let now = bindings::now_ms();
    step(shared, |core| core.handle_open(&answer, now));
}

/// The core's routing of one message (called from glue.js's `onmessage` with numbers only):
/// 0 ignore, 1 stdout, 2 stderr, 3 deliver the whole message.
fn on_route(shared: &Shared, kind: u32, first: u32, len: u32) -> u32 {
    let kind = if kind == 0 {
        MessageKind::Binary
    } else {
        MessageKind::Text
    };
    let first = u8::try_from(first).unwrap_or(u8::MAX);
    let route = shared.borrow_mut().core.route(kind, first, len as usize);
    match route {
        Route::Stdout => 1,
        Route::Stderr => 2,
        Route::Deliver => 3,
        Route::Ignore => {
            // `route` itself may have failed the session (e.g. an unknown channel).
            drive(shared);
            0
        }
    }
}

/// A whole message for the core: a string (base64 protocols) or the bytes of a binary one.
fn on_deliver(shared: &Shared, message: JsValue) {
    if let Some(text) = message.as_string() {
        step(shared, |core| core.handle_text(&text));
    } else if let Some(bytes) = message.dyn_ref::<Uint8Array>() {
        let bytes = bytes.to_vec();
        step(shared, |core| core.handle_binary(&bytes));
    }
}

/// Feeds one event to the core, then carries out what it asks for.
fn step(shared: &Shared, event: impl FnOnce(&mut Session)) {
    {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            return;
        }
        event(&mut i.core);
    }
    drive(shared);
}

/// Drains the core: sends its frames, settles promises for its events, arms its timer.
fn drive(shared: &Shared) {
    let mut events = Vec::new();
    {
        let mut i = shared.borrow_mut();
        let i = &mut *i;
        while let Some(t) = i.core.poll_transmit() {
            if i.ws.ready_state() != WebSocket::OPEN {
                continue;
            }
            let _ = match t {
                Transmit::Binary(b) => i.ws.send_with_u8_array(&b),
                Transmit::Text(s) => i.ws.send_with_str(&s),
                Transmit::Close { code, reason } => i.ws.close_with_code_and_reason(code, &reason),
            };
        }
        while let Some(e) = i.core.poll_event() {
            events.push(e);
        }
    }
    for e in events {
        match e {
            Event::Opened(p) => {
                let (opened, session) = {
                    let mut i = shared.borrow_mut();
                    i.phase = Phase::Open;
                    i.protocol = p.name().to_string();
                    let session = ExecSession {
                        inner: shared.clone(),
                        protocol: i.protocol.clone(),
                        stdout: i.stdout.stream(),
                        stderr: i.stderr.stream(),
                        stdin: i.stdin.stream(),
                        resizes: i.resizes.stream(),
                        exit: i.exit_promise.clone(),
                    };
                    (i.opened.take(), session)
                };
                if let Some(s) = opened {
                    s.resolve(&JsValue::from(session));
                }
            }
            Event::Output { channel, data } => {
                let i = shared.borrow();
                let view = Uint8Array::from(&data[..]);
                match channel {
                    crate::channel::Channel::Stderr => i.stderr.push(&view),
                    _ => i.stdout.push(&view),
                }
            }
            Event::Exited(status) => {
                let exit = shared.borrow_mut().exit.take();
                if let Some(s) = exit {
                    s.resolve(&status_to_js(&status));
                }
                finish(shared, None);
            }
            Event::Failed(error) => fail(shared, error),
        }
    }
    arm_timer(shared);
}

fn arm_timer(shared: &Shared) {
    let mut i = shared.borrow_mut();
    if i.phase == Phase::Ended {
        return;
    }
    let Some(deadline) = i.core.poll_timeout() else {
        return;
    };
    if let Some((_, at)) = &i.timer {
        if *at <= deadline {
            return; // the armed timer fires first; it re-arms for later deadlines
        }
    }
    if let Some((id, _)) = i.timer.take() {
        bindings::clear_timeout(&id);
    }
    let delay = (deadline - bindings::now_ms()).max(0.0);
    if let Some(cb) = &i.handlers.timer {
        let id = bindings::set_timeout(cb.as_ref().unchecked_ref(), delay);
        i.timer = Some((id, deadline));
    }
}

/// The session failed: before open, `exec()` rejects (after a preflight for a handshake
/// failure); after, `exit` rejects.
fn fail(shared: &Shared, error: Error) {
    let (opened, preflight) = {
        let mut i = shared.borrow_mut();
        let opened = i.opened.take();
        let preflight =
            (opened.is_some() && i.preflight && error.code() == ErrorCode::ConnectFailed)
                .then(|| (i.pod_url.clone(), i.token.clone(), i.signal.clone()));
        (opened, preflight)
    };
    let js = error_to_js(&error);
    if let Some(exit) = shared.borrow_mut().exit.take() {
        exit.reject(&js);
    }
    finish(shared, Some(&js));
    if let Some(opened) = opened {
        match preflight {
            Some((url, token, signal)) => {
                let token = token.map_or(JsValue::UNDEFINED, |t| t.expose().into());
                let signal_js = signal.clone().map_or(JsValue::UNDEFINED, JsValue::from);
                // The answer promise never rejects, so this one-shot closure always runs (and
                // frees itself).
                let classify = Closure::once_into_js(move |answer: JsValue| {
                    let aborted = signal.is_some_and(|s| s.aborted());
                    let e = preflight::classify(&answer, aborted, error);
                    opened.reject(&error_to_js(&e));
                });
                bindings::preflight(&url, &token, &signal_js, &classify);
            }
            None => opened.reject(&js),
        }
    }
}

/// Ends the session for good. Idempotent.
fn finish(shared: &Shared, error: Option<&JsValue>) {
    let (handlers, stdout, stderr, stdin, resizes) = {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            return;
        }
        i.phase = Phase::Ended;
        if let Some((id, _)) = i.timer.take() {
            bindings::clear_timeout(&id);
        }
        i.ws.set_onopen(None);
        i.ws.set_onmessage(None);
        i.ws.set_onclose(None);
        i.ws.set_onerror(None);
        let state = i.ws.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = i.ws.close_with_code(1000);
        }
        let handlers = std::mem::take(&mut i.handlers);
        if let (Some(signal), Some(f)) = (&i.signal, &handlers.abort) {
            let _ = signal.remove_event_listener_with_callback("abort", f.as_ref().unchecked_ref());
        }
        i.signal = None;
        i.token = None;
        if let Some(t) = i.tracked.take() {
            bindings::untrack(&t);
        }
        (
            handlers,
            i.stdout.clone(),
            i.stderr.clone(),
            i.stdin.clone(),
            i.resizes.clone(),
        )
    };
    stdout.end();
    stderr.end();
    let ended = error
        .cloned()
        .unwrap_or_else(|| js_error(ErrorCode::NotOpen, "the session has ended"));
    stdin.fail(&ended);
    resizes.fail(&ended);
    drop(handlers);
}

/// `close()` and the abort signal: the core closes the socket and fails with `Aborted`.
fn abort(shared: &Shared) {
    step(shared, |core| core.abort());
}

fn resize(shared: &Shared, cols: f64, rows: f64) -> Result<(), JsValue> {
    let size = TerminalSize::from_f64(cols, rows).map_err(|e| error_to_js(&e))?;
    {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            return Err(js_error(ErrorCode::NotOpen, "the session has ended"));
        }
        i.core.resize(size).map_err(|e| error_to_js(&e))?;
    }
    drive(shared);
    Ok(())
}

fn close_stdin(shared: &Shared) -> Promise {
    let result = {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            Err(Error::new(ErrorCode::NotOpen, "the session has ended"))
        } else {
            i.core.close_stdin()
        }
    };
    match result {
        Ok(()) => {
            drive(shared);
            Promise::resolve(&JsValue::UNDEFINED)
        }
        Err(e) => Promise::reject(&error_to_js(&e)),
    }
}

/// Frames and sends one piece of stdin (a `Uint8Array` from glue.js's stdin sink); returns
/// `undefined`, or the `ExecError` that the write rejects with.
fn send_stdin(shared: &Shared, piece: JsValue) -> JsValue {
    let Some(piece) = piece.dyn_ref::<Uint8Array>() else {
        return js_error(
            ErrorCode::InvalidOptions,
            "stdin takes Uint8Array (or other ArrayBufferView, ArrayBuffer) or string chunks",
        );
    };
    let bytes = piece.to_vec();
    let sent = {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            Err(Error::new(ErrorCode::NotOpen, "the session has ended"))
        } else {
            i.core.send_stdin(&bytes)
        }
    };
    match sent {
        Ok(()) => {
            drive(shared);
            JsValue::UNDEFINED
        }
        Err(e) => error_to_js(&e),
    }
}
