//! One exec/attach session in the browser: a `WebSocket`, the core's [`Session`], and the
//! JavaScript side of it (glue.js `Link`: the streams, the listeners, the timer, `exit`).
//!
//! The control plane is async Rust: [`connect`] opens the socket and returns an [`Attempt`],
//! whose [`Attempt::wait_open`] awaits "open or failed" (a oneshot the session settles from
//! the core's events: open, a failed handshake, the connect timeout, the abort signal), then,
//! for a refused handshake, the preflight. glue.js reaches the session only through the named
//! methods of [`SessionHandle`]; per message that is one call with numbers only (`route`).
//!
//! Ownership: the `SessionHandle` that glue.js holds owns an `Rc` of `Inner`, which owns the
//! `Link` — a cycle through JavaScript that keeps a running session alive while only the
//! socket's events refer to it. [`finish`] breaks it on every ending (exit, error, abort,
//! `close()`): `Link.dispose()` removes the listeners and the timer and lets go of the handle.
//!
//! Borrowing: JavaScript is never called with `Inner` borrowed if that call can call back into
//! Rust synchronously (stream controllers, promise resolution and `WebSocket.send` cannot).

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{self, Either};
use js_sys::{Function, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, Url, WebSocket};

use super::bindings::{self, Input, Link, Output, Recorder};
use super::errors::{error_to_js, js_error, status_to_js};
use super::options::{self, Bag, Options};
use super::preflight::Preflight;
use crate::error::{Error, ErrorCode};
use crate::protocol::{self, Protocol};
use crate::request::{ExecRequest, Kind};
use crate::resize::TerminalSize;
use crate::session::{self as core_session, Event, MessageKind, Session, SessionConfig, Transmit};
use crate::token::BearerToken;

type Shared = Rc<RefCell<Inner>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    Ended,
}

/// `openShell()`: what became of the process once the socket opened (see [`Attempt::started`]).
pub enum Probe {
    /// Its first output arrived, or it ended with a status other than "executable not found".
    Started,
    /// The server reported that the executable does not exist: the status message.
    NotFound(String),
    /// The session failed first: the `ExecError`.
    Failed(JsValue),
}

struct Inner {
    core: Session,
    ws: WebSocket,
    phase: Phase,
    protocol: String,
    /// The JavaScript side: streams, listeners, timer, `exit`.
    link: Link,
    stdout: Output,
    stderr: Output,
    stdin: Input,
    resizes: Input,
    /// "Open or failed", for [`Attempt::wait_open`]; taken when the session opens or ends.
    opened: Option<oneshot::Sender<Result<(), Error>>>,
    /// `openShell()`: "did the process start?", for [`Attempt::started`].
    started: Option<oneshot::Sender<Probe>>,
    /// The terminal size last sent (or queued): the size of a new recording.
    size: Option<TerminalSize>,
    /// Recordings of this session (`record()`).
    recorders: Vec<Recorder>,
    /// A recording wants stdin: the stdin fast path is off, so every write reaches
    /// `send_stdin` (and the recorders).
    record_input: bool,
    /// When the armed timer fires (performance.now() ms); glue.js holds the timer.
    timer: Option<f64>,
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
        step(&self.inner, |core| core.abort(bindings::now_ms()));
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

/// What glue.js does with a message, as `SessionHandle::route` says (glue.js `listen`
/// compares with these numbers).
#[wasm_bindgen(skip_typescript)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Nothing (a keepalive, a frame the session does not read, or the session ended).
    Ignore = 0,
    /// Push a view of the payload to stdout.
    Stdout = 1,
    /// Push a view of the payload to stderr.
    Stderr = 2,
    /// Hand the whole message to the core (`onText` / `onBinary`).
    Deliver = 3,
}

/// The session as glue.js sees it (its `Link`): every socket event, the abort signal, the
/// timer and the stream sinks reach Rust through these methods. Not part of the typed API.
#[wasm_bindgen(skip_typescript)]
pub struct SessionHandle(Shared);

#[wasm_bindgen]
impl SessionHandle {
    /// The socket's `open` event.
    #[wasm_bindgen(js_name = onOpen)]
    pub fn on_open(&self) {
        let answer = self.0.borrow().ws.protocol();
        let now = bindings::now_ms();
        step(&self.0, |core| core.handle_open(&answer, now));
    }

    /// The socket's `close` event.
    #[wasm_bindgen(js_name = onClose)]
    pub fn on_close(&self, code: u16, reason: &str) {
        step(&self.0, |core| {
            core.handle_close(code, reason, bindings::now_ms())
        });
    }

    /// The socket's `error` event (always followed by `close`, which carries the code).
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(&self) {
        step(&self.0, |core| core.handle_error(bindings::now_ms()));
    }

    /// The abort signal fired: the core closes the socket and fails with `Aborted`.
    #[wasm_bindgen(js_name = onAbort)]
    pub fn on_abort(&self) {
        step(&self.0, |core| core.abort(bindings::now_ms()));
    }

    /// The timer armed through `Link.setTimer` fired.
    #[wasm_bindgen(js_name = onTimer)]
    pub fn on_timer(&self) {
        let now = bindings::now_ms();
        self.0.borrow_mut().timer = None;
        step(&self.0, |core| core.handle_timeout(now));
    }

    /// The per-message hot path: what to do with a message of `kind` (0 binary, 1 text) whose
    /// first byte (or character, clamped to 255) is `first`, `len` bytes (characters) long.
    pub fn route(&self, kind: u32, first: u32, len: u32) -> Route {
        let kind = if kind == 0 {
            MessageKind::Binary
        } else {
            MessageKind::Text
        };
        let first = u8::try_from(first).unwrap_or(u8::MAX);
        let (route, probing) = {
            let mut i = self.0.borrow_mut();
            (
                i.core.route(kind, first, len as usize, bindings::now_ms()),
                i.started.is_some(),
            )
        };
        match route {
            core_session::Route::Stdout | core_session::Route::Stderr if probing => {
                // openShell: output means the process started.
                probe(&self.0, Probe::Started);
            }
            // `route` itself may have failed the session (e.g. an unknown channel).
            core_session::Route::Ignore => drive(&self.0),
            _ => {}
        }
        match route {
            core_session::Route::Stdout => Route::Stdout,
            core_session::Route::Stderr => Route::Stderr,
            core_session::Route::Deliver => Route::Deliver,
            core_session::Route::Ignore => Route::Ignore,
        }
    }

    /// A whole text message for the core (base64 protocols).
    #[wasm_bindgen(js_name = onText)]
    pub fn on_text(&self, message: &str) {
        step(&self.0, |core| {
            core.handle_text(message, bindings::now_ms())
        });
    }

    /// A whole binary message for the core.
    #[wasm_bindgen(js_name = onBinary)]
    pub fn on_binary(&self, message: &[u8]) {
        step(&self.0, |core| {
            core.handle_binary(message, bindings::now_ms())
        });
    }

    /// The stdin fast path (glue.js `writeStdin`): may `len` bytes go out now as one frame
    /// built in JavaScript? If so they count as sent. Off while a recording wants stdin.
    #[wasm_bindgen(js_name = claimStdin)]
    pub fn claim_stdin(&self, len: u32) -> bool {
        let mut i = self.0.borrow_mut();
        // The keepalive's wait restarts from this send (the armed timer, which fires earlier,
        // re-arms for it: no timer per keystroke).
        i.phase != Phase::Ended
            && !i.record_input
            && i.core.send_stdin_direct(len as usize, bindings::now_ms())
    }

    /// Frames and sends one piece of stdin (a `Uint8Array`); throws the `ExecError` that the
    /// write rejects with.
    pub fn stdin(&self, piece: JsValue) -> Result<(), JsValue> {
        send_stdin(&self.0, piece)
    }

    /// Ends stdin (the stdin stream's close, `closeStdin()`); throws the `ExecError`.
    #[wasm_bindgen(js_name = closeStdin)]
    pub fn close_stdin(&self) -> Result<(), JsValue> {
        close_stdin(&self.0)
    }

    /// The stdin stream was aborted: ends stdin where the protocol can, never fails.
    #[wasm_bindgen(js_name = abortStdin)]
    pub fn abort_stdin(&self) {
        let _ = close_stdin(&self.0);
    }

    /// A write to `resizes` (`{ cols, rows }`); throws the `ExecError`.
    pub fn resize(&self, size: JsValue) -> Result<(), JsValue> {
        let size = options::terminal_size(&size, "size").map_err(|e| error_to_js(&e))?;
        resize(&self.0, f64::from(size.cols()), f64::from(size.rows()))
    }

    /// The module panicked (glue.js `failAll`, which has ended the streams, closed the socket
    /// and rejected `exit`): the promise still waiting for this session (`exec()`,
    /// `openShell()`) rejects with the panic's error. Does nothing if the panic left the
    /// session borrowed.
    #[wasm_bindgen(js_name = onPanic)]
    pub fn on_panic(&self) {
        if let Ok(mut i) = self.0.try_borrow_mut() {
            i.phase = Phase::Ended;
            // Dropped unsent: the waiting side reads that as the panic (`bindings::panic_error`).
            i.opened = None;
            i.started = None;
        }
    }
}

/// A session on its way to open: the socket exists and the session runs; its outcome comes
/// from [`Attempt::wait_open`] (and, for `openShell()`, [`Attempt::started`]).
pub struct Attempt {
    shared: Shared,
    opened: oneshot::Receiver<Result<(), Error>>,
    started: Option<oneshot::Receiver<Probe>>,
    /// For a refused handshake (the browser reports only 1006): the GET that says why.
    preflight: Option<Preflight>,
}

impl Attempt {
    /// Waits until the socket is open, or the session failed before (a refused handshake,
    /// the connect timeout, the abort signal): then the `ExecError`, explained by the
    /// preflight for a refused handshake.
    pub async fn wait_open(&mut self) -> Result<(), JsValue> {
        let preflight = self.preflight.take();
        let failed = match (&mut self.opened).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => error,
            Err(oneshot::Canceled) => return Err(bindings::panic_error()),
        };
        match preflight {
            Some(p) if failed.code() == ErrorCode::ConnectFailed => {
                Err(error_to_js(&p.diagnose(failed).await))
            }
            _ => Err(error_to_js(&failed)),
        }
    }

    /// `openShell()`, once open: whether the process started, or `Probe::Started` after
    /// `grace_ms` without news (a shell that prints nothing, e.g. without a TTY).
    pub async fn started(&mut self, grace_ms: f64) -> Probe {
        let Some(news) = self.started.take() else {
            return Probe::Started;
        };
        let grace = JsFuture::from(bindings::sleep(grace_ms));
        match future::select(news, grace).await {
            Either::Left((Ok(probe), _)) => probe,
            Either::Left((Err(oneshot::Canceled), _)) => Probe::Failed(bindings::panic_error()),
            Either::Right(_) => {
                self.shared.borrow_mut().started = None;
                Probe::Started
            }
        }
    }

    /// The `ExecSession` JavaScript object.
    pub fn session(&self) -> ExecSession {
        let i = self.shared.borrow();
        ExecSession {
            inner: self.shared.clone(),
            protocol: i.protocol.clone(),
            stdout: i.stdout.stream(),
            stderr: i.stderr.stream(),
            stdin: i.stdin.stream(),
            resizes: i.resizes.stream(),
            exit: i.link.exit(),
        }
    }
}

/// `exec()` / `attach()`: reads the options, connects, and resolves with the session once
/// the socket is open, or rejects with an `ExecError`.
pub async fn open(kind: Kind, bag_value: JsValue) -> Result<ExecSession, JsValue> {
    bindings::install_panic_hook();
    let bag = if kind == Kind::Attach {
        Bag::Attach
    } else {
        Bag::Exec
    };
    let js = |e: Error| error_to_js(&e);
    let options = Options::read(&bag_value, bag).map_err(js)?;
    let mut attempt = connect(kind, options, false).map_err(js)?;
    attempt.wait_open().await?;
    Ok(attempt.session())
}

/// Validates the options and opens the socket. `probe`: tell [`Attempt::started`] whether
/// the process started (`openShell()`).
pub fn connect(kind: Kind, o: Options, probe: bool) -> Result<Attempt, Error> {
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

    let (opened, opened_rx) = oneshot::channel();
    let (started, started_rx) = if probe {
        let (tx, rx) = oneshot::channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let link = Link::new(&ws);
    let shared: Shared = Rc::new(RefCell::new(Inner {
        core,
        ws: ws.clone(),
        phase: Phase::Connecting,
        protocol: String::new(),
        stdout: link.stdout(),
        stderr: link.stderr(),
        stdin: link.stdin(),
        resizes: link.resizes(),
        link: link.clone(),
        opened: Some(opened),
        started,
        size: o.terminal_size,
        recorders: Vec::new(),
        record_input: false,
        timer: None,
    }));
    // From here on the socket's events, the signal, the timer and the streams' sinks reach
    // the session through the handle.
    link.listen(SessionHandle(shared.clone()), o.signal.as_ref());
    drive(&shared);
    let preflight = o.preflight.then(|| Preflight {
        url: pod_url,
        token,
        signal: o.signal,
        container: request.container,
    });
    Ok(Attempt {
        shared,
        opened: opened_rx,
        started: started_rx,
        preflight,
    })
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

/// Drains the core: sends its frames, acts on its events, arms its timer.
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
                let mut i = shared.borrow_mut();
                i.phase = Phase::Open;
                i.protocol = p.name().to_string();
                if let Some(opened) = i.opened.take() {
                    let _ = opened.send(Ok(()));
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
                    i.started.is_some()
                };
                if probing {
                    probe(shared, Probe::Started);
                }
            }
            Event::Exited(status) => {
                let link = shared.borrow().link.clone();
                link.exited(&status_to_js(&status));
                finish(shared, None);
                // openShell: the process ended before it showed signs of life.
                probe(
                    shared,
                    if status.executable_not_found() {
                        Probe::NotFound(status.message().unwrap_or_default().to_string())
                    } else {
                        Probe::Started
                    },
                );
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
    if i.timer.is_some_and(|at| at <= deadline) {
        return; // the armed timer fires first; it re-arms for later deadlines
    }
    i.link.set_timer((deadline - bindings::now_ms()).max(0.0));
    i.timer = Some(deadline);
}

/// openShell: tells [`Attempt::started`] what became of the process (once).
fn probe(shared: &Shared, news: Probe) {
    let started = shared.borrow_mut().started.take();
    if let Some(started) = started {
        let _ = started.send(news);
    }
}

/// The session failed: `exit` rejects, and whoever still waits for it to open (or, for
/// openShell, to start) learns why.
fn fail(shared: &Shared, error: Error) {
    let js = error_to_js(&error);
    let (link, opened) = {
        let mut i = shared.borrow_mut();
        (i.link.clone(), i.opened.take())
    };
    link.failed(&js);
    finish(shared, Some(&js));
    match opened {
        Some(opened) => {
            let _ = opened.send(Err(error));
        }
        None => probe(shared, Probe::Failed(js)),
    }
}

/// Ends the session for good: no more events reach it, the socket closes, the output streams
/// end and the input streams fail (with `error`, else `NotOpen`). Idempotent.
fn finish(shared: &Shared, error: Option<&JsValue>) {
    let (link, stdout, stderr, stdin, resizes) = {
        let mut i = shared.borrow_mut();
        if i.phase == Phase::Ended {
            return;
        }
        i.phase = Phase::Ended;
        i.timer = None;
        let state = i.ws.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = i.ws.close_with_code(1000);
        }
        for r in i.recorders.drain(..) {
            r.stop();
        }
        i.record_input = false;
        (
            i.link.clone(),
            i.stdout.clone(),
            i.stderr.clone(),
            i.stdin.clone(),
            i.resizes.clone(),
        )
    };
    // The listeners and the timer go, and with them glue.js's hold on the handle.
    link.dispose();
    stdout.end();
    stderr.end();
    let ended = error
        .cloned()
        .unwrap_or_else(|| js_error(ErrorCode::NotOpen, "the session has ended"));
    stdin.fail(&ended);
    resizes.fail(&ended);
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
