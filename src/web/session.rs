//! One exec/attach session in the browser: a `WebSocket`, the core's [`Session`], the JS
//! streams, and the closures that connect them.
//!
//! Ownership: `Inner` owns the session's two `Closure`s (in [`Handlers`]: `route`, the
//! per-message hot path, and `call`, everything else; glue.js `track` wires the socket, the
//! streams, the abort signal and the timer to them) and the closures own an `Rc` of `Inner` —
//! a deliberate cycle that keeps a running session alive while only the socket's events refer
//! to it. [`finish`] breaks it on every ending (exit, error, abort, `close()`): it removes the
//! listeners, ends the streams and drops the closures (after a handshake failure, once the
//! preflight has answered through `call`).
//!
//! Borrowing: JavaScript is never called with `Inner` borrowed if that call can call back into
//! Rust synchronously (stream controllers, promise resolution and `WebSocket.send` cannot).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, BinaryType, Url, WebSocket};

use super::bindings::{self, Input, Output, Recorder, Tracked};
use super::errors::{error_to_js, js_error, status_to_js};
use super::options::{self, Bag, Options};
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
pub struct Settle {
    resolve: Function,
    reject: Function,
}

fn deferred() -> (Promise, Settle) {
    let d = bindings::deferred();
    let f = |i| Function::from(d.get(i));
    (
        Promise::from(d.get(0)),
        Settle {
            resolve: f(1),
            reject: f(2),
        },
    )
}

impl Settle {
    fn resolve(self, v: &JsValue) {
        let _ = self.resolve.call1(&JsValue::UNDEFINED, v);
    }
    fn reject(self, v: &JsValue) {
        let _ = self.reject.call1(&JsValue::UNDEFINED, v);
    }
}

/// How an `openShell()` attempt came out (see [`Opened::Shell`]).
pub enum Started {
    /// The process started: its first output arrived, or it ran `startGrace` ms without the
    /// server reporting that it could not start (or it ended with another status). The
    /// `ExecSession`.
    Yes(JsValue),
    /// The server reported that the executable does not exist: the status message.
    NotFound(String),
    /// The session failed before that: the `ExecError`.
    Failed(JsValue),
}

/// Who learns that the session opened, or why it did not.
pub enum Opened {
    /// `exec()`/`attach()`: their promise, resolved at open.
    Promise(Settle),
    /// `openShell()` (src/web/shell.rs): told once it is known whether the process started.
    Shell {
        /// The next step of the shell search.
        next: Box<dyn FnOnce(Started)>,
        /// `openShell()`'s own reject (for `failAll` after a panic).
        reject: Function,
        /// See [`Started::Yes`].
        grace_ms: f64,
    },
}

impl Opened {
    fn reject(self, error: &JsValue) {
        match self {
            Opened::Promise(s) => s.reject(error),
            Opened::Shell { next, .. } => next(Started::Failed(error.clone())),
        }
    }
}

/// openShell: the session is open and it is not yet known whether the process started.
struct StartWait {
    /// Counts as started at this time (performance.now() ms) without news.
    deadline: f64,
}

/// `route(kind, first_byte, len) -> code`, called by glue.js for every message (and, kind 2,
/// for the stdin fast path).
type RouteFn = dyn FnMut(u32, u32, u32) -> u32;
/// `call(op, a, b) -> result`: every other event and sink operation (see [`on_call`]).
type CallFn = dyn FnMut(u32, JsValue, JsValue) -> JsValue;

/// The two closures a session hands to JavaScript (glue.js `track`).
struct Handlers {
    _route: Closure<RouteFn>,
    call: Closure<CallFn>,
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
    /// Settles the promise `exec()` (or `openShell()`) awaits.
    opened: Option<Opened>,
    /// `openShell()`: open, waiting to learn whether the process started.
    start: Option<StartWait>,
    /// Settles `session.exit`.
    exit: Option<Settle>,
    exit_promise: Promise,
    signal: Option<AbortSignal>,
    /// For the preflight after a failed handshake.
    pod_url: String,
    /// The request's container, for the preflight's diagnosis.
    container: Option<String>,
    /// The terminal size last sent (or queued): the size of a new recording.
    size: Option<TerminalSize>,
    /// Recordings of this session (`record()`).
    recorders: Vec<Recorder>,
    /// A recording wants stdin: the stdin fast path is off, so every write reaches
    /// `send_stdin` (and the recorders).
    record_input: bool,
    token: Option<BearerToken>,
    preflight: bool,
    /// A preflight under way: the `exec()` promise to reject once it answers, the handshake
    /// failure, the signal. The closures stay alive until then (the answer comes through
    /// `call`).
    preflight_wait: Option<(Opened, Error, Option<AbortSignal>, Option<String>)>,
    /// When the armed timer fires (performance.now() ms); glue.js holds the timer.
    timer: Option<f64>,
    handlers: Option<Handlers>,
    /// This session in glue.js's registry of live sessions (see `install_panic_hook`).
    tracked: Option<Tracked>,
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

    /// Ends stdin (the v5 CLOSE signal): the process sees EOF. The signal goes out after
    /// every stdin write made before the call (even ones not awaited yet), and the promise
    /// resolves once the socket has sent it all. Rejects with `HalfCloseUnsupported` on other
    /// protocols, which cannot end stdin alone.
    #[wasm_bindgen(js_name = closeStdin, unchecked_return_type = "Promise<void>")]
    pub fn close_stdin(&self) -> Promise {
        let stdin = self.inner.borrow().stdin.clone();
        stdin.close_after_writes()
    }

    /// Ends the session: the socket closes, the output streams end, `exit` rejects with
    /// `Aborted` unless a status had arrived. Safe to call more than once.
    pub fn close(&self) {
        abort(&self.inner);
    }

    /// `record(this, options)`: see {@link record}.
    #[wasm_bindgen(unchecked_return_type = "Recording")]
    pub fn record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecordOptions")] options: &JsValue,
    ) -> JsValue {
        let options = if options.is_object() {
            options.clone()
        } else {
            Object::new().into()
        };
        record(self, &options).into()
    }
}

/// `exec()` / `attach()`: validates and connects; the promise resolves with the session once
/// the socket is open (see the `Opened` event in `drive`), or rejects with an `ExecError`.
pub fn open(kind: Kind, bag_value: JsValue) -> Promise {
    bindings::install_panic_hook();
    let bag = if kind == Kind::Attach {
        Bag::Attach
    } else {
        Bag::Exec
    };
    let options = match Options::read(&bag_value, bag) {
        Ok(o) => o,
        Err(e) => return Promise::reject(&error_to_js(&e)),
    };
    let (promise, settle) = deferred();
    match connect(kind, options, Opened::Promise(settle)) {
        Ok(()) => promise,
        Err(e) => Promise::reject(&error_to_js(&e)),
    }
}

/// Validates the options and opens the socket; `opened` learns the outcome. An error here
/// (invalid options, an aborted signal, a refused `WebSocket`) means `opened` is not told.
pub fn connect(kind: Kind, o: Options, opened: Opened) -> Result<(), Error> {
    if o.signal.as_ref().is_some_and(|s| s.aborted()) {
        return Err(Error::new(ErrorCode::Aborted, "aborted by the signal"));
    }
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
    // The URL as the browser reads it, which is the URL the socket uses: the token guard
    // decides on the browser's own host (`127.1`, `0x7f.1`, `2130706433` are 127.0.0.1
    // there; `[::ffff:127.0.0.1]` is `[::ffff:7f00:1]`), so guard and connection agree.
    let url = Url::new(&url).map_err(|_| {
        Error::new(
            ErrorCode::InvalidOptions,
            "the server URL is not a URL the browser can open",
        )
    })?;
    if token.is_some() {
        let secure = url.protocol() == "wss:";
        crate::request::check_token_host(secure, &url.hostname(), o.allow_insecure_token)?;
    }
    let url = url.href();
    let mut config = SessionConfig::for_request(&request);
    config.offer = offer.clone();
    if let Some(ms) = o.ready_timeout_ms {
        config.ready_timeout_ms = (ms > 0.0).then_some(ms);
    }
    if let Some(ms) = o.keepalive_ms {
        config.keepalive_ms = (ms > 0.0).then_some(ms);
    }
    if let Some(ms) = o.connect_timeout_ms {
        config.connect_timeout_ms = (ms > 0.0).then_some(ms);
    }
    let mut core = Session::new(config);
    if let Some(size) = o.terminal_size {
        core.resize(size, bindings::now_ms())?;
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

    let (exit_promise, exit) = deferred();
    let shared: Shared = Rc::new(RefCell::new(Inner {
        core,
        ws: ws.clone(),
        phase: Phase::Connecting,
        protocol: String::new(),
        stdout: Output::new(),
        stderr: Output::new(),
        stdin: Input::new(&ws),
        resizes: Input::new(&JsValue::UNDEFINED),
        opened: Some(opened),
        start: None,
        exit: Some(exit),
        exit_promise,
        signal: o.signal.clone(),
        pod_url,
        container: request.container.clone(),
        size: o.terminal_size,
        recorders: Vec::new(),
        record_input: false,
        token,
        preflight: o.preflight,
        preflight_wait: None,
        timer: None,
        handlers: None,
        tracked: None,
    }));
    install(&shared, &ws, o.signal.as_ref());
    drive(&shared);
    Ok(())
}

/// Creates the session's two closures and hands them to glue.js, which connects the socket,
/// the streams, the abort signal and the timer to them.
fn install(shared: &Shared, ws: &WebSocket, signal: Option<&AbortSignal>) {
    let s = shared.clone();
    let route = Closure::<RouteFn>::new(move |kind, first, len| on_route(&s, kind, first, len));
    let s = shared.clone();
    let call = Closure::<CallFn>::new(move |op, a, b| on_call(&s, op, a, b));
    let mut i = shared.borrow_mut();
    let rejects: js_sys::Array = match (&i.opened, &i.exit) {
        (Some(Opened::Promise(o)), Some(e)) => [&o.reject, &e.reject].into_iter().collect(),
        (Some(Opened::Shell { reject, .. }), Some(e)) => [reject, &e.reject].into_iter().collect(),
        _ => js_sys::Array::new(),
    };
    let signal = signal.map_or(JsValue::UNDEFINED, JsValue::from);
    let tracked = bindings::track(
        ws,
        &i.stdout,
        &i.stderr,
        &i.stdin,
        &i.resizes,
        &rejects,
        &signal,
        &i.exit_promise,
        route.as_ref().unchecked_ref(),
        call.as_ref().unchecked_ref(),
    );
    i.tracked = Some(tracked);
    i.handlers = Some(Handlers {
        _route: route,
        call,
    });
}

// The operations of `call` (glue.js CALL_*).
const CALL_OPEN: u32 = 0;
const CALL_CLOSE: u32 = 1;
const CALL_ERROR: u32 = 2;
const CALL_ABORT: u32 = 3;
const CALL_TIMER: u32 = 4;
const CALL_DELIVER: u32 = 5;
const CALL_STDIN: u32 = 6;
const CALL_STDIN_CLOSE: u32 = 7;
const CALL_STDIN_ABORT: u32 = 8;
const CALL_RESIZE: u32 = 9;
const CALL_PREFLIGHT: u32 = 10;

/// Everything but the per-message route: socket events (open; close with `a` = code, `b` =
/// reason; error), the abort signal, the timer, a whole message for the core (`a`), and the
/// stream sinks (stdin piece `a`, stdin close/abort, resize `a` = `{ cols, rows }`). Returns
/// `undefined`, or the `ExecError` a sink operation fails with.
fn on_call(shared: &Shared, op: u32, a: JsValue, b: JsValue) -> JsValue {
    let result = match op {
        CALL_OPEN => {
            on_open(shared);
            Ok(())
        }
        CALL_CLOSE => {
            let code = a.as_f64().map_or(1006, |c| c as u16);
            let reason = b.as_string().unwrap_or_default();
            step(shared, |core| {
                core.handle_close(code, &reason, bindings::now_ms())
            });
            Ok(())
        }
        CALL_ERROR => {
            step(shared, |core| core.handle_error(bindings::now_ms()));
            Ok(())
        }
        CALL_ABORT => {
            abort(shared);
            Ok(())
        }
        CALL_TIMER => {
            let now = bindings::now_ms();
            let started = {
                let mut i = shared.borrow_mut();
                i.timer = None;
                i.start.as_ref().is_some_and(|s| now >= s.deadline)
            };
            if started {
                shell_started(shared);
            }
            step(shared, |core| core.handle_timeout(now));
            Ok(())
        }
        CALL_DELIVER => {
            on_deliver(shared, a);
            Ok(())
        }
        CALL_STDIN => send_stdin(shared, a),
        CALL_STDIN_CLOSE => close_stdin(shared),
        CALL_STDIN_ABORT => {
            // A discarded stdin: end it where the protocol can, never fail the abort.
            let _ = close_stdin(shared);
            Ok(())
        }
        CALL_PREFLIGHT => {
            let (wait, handlers) = {
                let mut i = shared.borrow_mut();
                (i.preflight_wait.take(), i.handlers.take())
            };
            if let Some((opened, error, signal, container)) = wait {
                let aborted = signal.is_some_and(|s| s.aborted());
                let error = preflight::classify(&a, aborted, error, container.as_deref());
                opened.reject(&error_to_js(&error));
            }
            // The session's last call: its closures go (freed once this call returns).
            drop(handlers);
            Ok(())
        }
        CALL_RESIZE => options::terminal_size(&a, "size")
            .map_err(|e| error_to_js(&e))
            .and_then(|t| resize(shared, f64::from(t.cols()), f64::from(t.rows()))),
        _ => Ok(()),
    };
    result.err().unwrap_or(JsValue::UNDEFINED)
}

fn on_open(shared: &Shared) {
    let answer = shared.borrow().ws.protocol();
    let now = bindings::now_ms();
    step(shared, |core| core.handle_open(&answer, now));
}

/// The core's routing of one message (called from glue.js's `onmessage` with numbers only):
/// 0 ignore, 1 stdout, 2 stderr, 3 deliver the whole message.
fn on_route(shared: &Shared, kind: u32, first: u32, len: u32) -> u32 {
    if kind == 2 {
        // The stdin fast path (glue.js `writeStdin`): may `first` bytes go out now as one
        // frame built in JS? 1 yes (counted as sent), 0 no. Off while a recording wants stdin.
        let mut i = shared.borrow_mut();
        // The keepalive's wait restarts from this send (the armed timer, which fires
        // earlier, re-arms for it: no timer per keystroke).
        let sent = i.phase != Phase::Ended
            && !i.record_input
            && i.core.send_stdin_direct(first as usize, bindings::now_ms());
        return u32::from(sent);
    }
    let kind = if kind == 0 {
        MessageKind::Binary
    } else {
        MessageKind::Text
    };
    let first = u8::try_from(first).unwrap_or(u8::MAX);
    let (route, probing) = {
        let mut i = shared.borrow_mut();
        (
            i.core.route(kind, first, len as usize, bindings::now_ms()),
            i.start.is_some(),
        )
    };
    if probing && matches!(route, Route::Stdout | Route::Stderr) {
        // openShell: output means the process started.
        shell_started(shared);
    }
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
        step(shared, |core| core.handle_text(&text, bindings::now_ms()));
    } else if let Some(bytes) = message.dyn_ref::<Uint8Array>() {
        let bytes = bytes.to_vec();
        step(shared, |core| {
            core.handle_binary(&bytes, bindings::now_ms())
        });
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
                let opened = {
                    let mut i = shared.borrow_mut();
                    i.phase = Phase::Open;
                    i.protocol = p.name().to_string();
                    if let Some(Opened::Shell { grace_ms, .. }) = i.opened {
                        // openShell: `opened` waits for output, the status, or the grace.
                        i.start = Some(StartWait {
                            deadline: bindings::now_ms() + grace_ms,
                        });
                        None
                    } else {
                        i.opened.take()
                    }
                };
                if let Some(Opened::Promise(s)) = opened {
                    s.resolve(&session_object(shared));
                }
            }
            Event::Output { channel, data } => {
                let probing = {
                    let i = shared.borrow();
                    let view = Uint8Array::from(&data[..]);
                    match channel {
                        crate::channel::Channel::Stderr => i.stderr.push(&view),
                        _ => i.stdout.push(&view),
                    }
                    i.start.is_some()
                };
                if probing {
                    shell_started(shared);
                }
            }
            Event::Exited(status) => {
                let (exit, probing) = {
                    let mut i = shared.borrow_mut();
                    (i.exit.take(), i.start.is_some())
                };
                if let Some(s) = exit {
                    s.resolve(&status_to_js(&status));
                }
                finish(shared, None);
                if probing {
                    // openShell: the process ended before it showed signs of life.
                    if status.executable_not_found() {
                        let opened = shared.borrow_mut().opened.take();
                        if let Some(Opened::Shell { next, .. }) = opened {
                            next(Started::NotFound(
                                status.message().unwrap_or_default().to_string(),
                            ));
                        }
                    } else {
                        shell_started(shared);
                    }
                }
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
    let start = i.start.as_ref().map(|s| s.deadline);
    let Some(deadline) = [i.core.poll_timeout(), start]
        .into_iter()
        .flatten()
        .reduce(f64::min)
    else {
        return;
    };
    if i.timer.is_some_and(|at| at <= deadline) {
        return; // the armed timer fires first; it re-arms for later deadlines
    }
    let delay = (deadline - bindings::now_ms()).max(0.0);
    if let Some(t) = &i.tracked {
        bindings::set_timer(t, delay);
        i.timer = Some(deadline);
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
        i.start = None;
        (opened, preflight)
    };
    let js = error_to_js(&error);
    if let Some(exit) = shared.borrow_mut().exit.take() {
        exit.reject(&js);
    }
    let Some(opened) = opened else {
        return finish(shared, Some(&js));
    };
    let Some((url, token, signal)) = preflight else {
        finish(shared, Some(&js));
        return opened.reject(&js);
    };
    let container = shared.borrow().container.clone();
    shared.borrow_mut().preflight_wait = Some((opened, error, signal.clone(), container));
    finish(shared, Some(&js));
    let call = shared
        .borrow()
        .handlers
        .as_ref()
        .map(|h| JsValue::from(h.call.as_ref()));
    if let Some(call) = call {
        let token = token.map_or(JsValue::UNDEFINED, |t| t.expose().into());
        let signal = signal.map_or(JsValue::UNDEFINED, JsValue::from);
        // glue.js calls `call(CALL_PREFLIGHT, answer)` exactly once.
        bindings::preflight(&url, &token, &signal, &call);
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
        i.timer = None;
        // No more events, abort or timer reach the session.
        if let Some(t) = i.tracked.take() {
            bindings::untrack(&t);
        }
        let state = i.ws.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = i.ws.close_with_code(1000);
        }
        // During a preflight the closures live on (see `CALL_PREFLIGHT`).
        let handlers = if i.preflight_wait.is_some() {
            None
        } else {
            i.handlers.take()
        };
        i.signal = None;
        i.token = None;
        for r in i.recorders.drain(..) {
            r.stop();
        }
        i.record_input = false;
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
    step(shared, |core| core.abort(bindings::now_ms()));
}

fn resize(shared: &Shared, cols: f64, rows: f64) -> Result<(), JsValue> {
    let size = TerminalSize::from_f64(cols, rows).map_err(|e| error_to_js(&e))?;
    {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            return Err(js_error(ErrorCode::NotOpen, "the session has ended"));
        }
        i.core
            .resize(size, bindings::now_ms())
            .map_err(|e| error_to_js(&e))?;
        i.size = Some(size);
        for r in &i.recorders {
            r.resized(size.cols(), size.rows());
        }
    }
    drive(shared);
    Ok(())
}

fn close_stdin(shared: &Shared) -> Result<(), JsValue> {
    let result = {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            Err(Error::new(ErrorCode::NotOpen, "the session has ended"))
        } else {
            i.core.close_stdin(bindings::now_ms())
        }
    };
    result.map_err(|e| error_to_js(&e))?;
    drive(shared);
    Ok(())
}

/// Frames and sends one piece of stdin (a `Uint8Array` from glue.js's stdin sink), or fails
/// with the `ExecError` that the write rejects with.
fn send_stdin(shared: &Shared, piece: JsValue) -> Result<(), JsValue> {
    let Some(piece) = piece.dyn_ref::<Uint8Array>() else {
        return Err(js_error(
            ErrorCode::InvalidOptions,
            "stdin takes Uint8Array (or other ArrayBufferView, ArrayBuffer) or string chunks",
        ));
    };
    let bytes = piece.to_vec();
    let sent = {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            Err(Error::new(ErrorCode::NotOpen, "the session has ended"))
        } else {
            i.core.send_stdin(&bytes, bindings::now_ms())
        }
    };
    sent.map_err(|e| error_to_js(&e))?;
    for r in &shared.borrow().recorders {
        r.typed(piece);
    }
    drive(shared);
    Ok(())
}

/// The `ExecSession` JavaScript object for this session.
fn session_object(shared: &Shared) -> JsValue {
    let i = shared.borrow();
    JsValue::from(ExecSession {
        inner: shared.clone(),
        protocol: i.protocol.clone(),
        stdout: i.stdout.stream(),
        stderr: i.stderr.stream(),
        stdin: i.stdin.stream(),
        resizes: i.resizes.stream(),
        exit: i.exit_promise.clone(),
    })
}

/// openShell: the process started (first output, the grace period, or another status than
/// "executable not found"): the shell search ends with this session.
fn shell_started(shared: &Shared) {
    let opened = {
        let mut i = shared.borrow_mut();
        if i.start.take().is_none() {
            return;
        }
        i.opened.take()
    };
    if let Some(Opened::Shell { next, .. }) = opened {
        next(Started::Yes(session_object(shared)));
    }
}

/// `record()`: tees the session into a new asciicast v2 recording (glue.js `Recorder`).
/// A session that has ended gives an empty recording, ended at once.
pub fn record(session: &ExecSession, options: &JsValue) -> Recorder {
    let mut i = session.inner.borrow_mut();
    let (cols, rows) = i.size.map_or((80, 24), |s| (s.cols(), s.rows()));
    let recorder = Recorder::new(cols, rows, options);
    if i.phase == Phase::Ended {
        recorder.stop();
        return recorder;
    }
    i.stdout.taps().push(&recorder.tap());
    i.stderr.taps().push(&recorder.tap());
    i.record_input |= recorder.input();
    i.recorders.push(recorder.clone());
    recorder
}
