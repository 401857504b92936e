//! The session state machine, sans-IO: events in (`handle_*`), actions out (`poll_*`).

use std::collections::VecDeque;

use crate::channel::{Channel, CLOSE_SIGNAL};
use crate::error::{Error, ErrorCode};
use crate::frame::{self, MAX_CLIENT_BASE64_PAYLOAD, MAX_CLIENT_MESSAGE, MAX_FRAME_LEN};
use crate::protocol::{negotiate, Protocol, DEFAULT_OFFER};
use crate::request::ExecRequest;
use crate::resize::TerminalSize;
use crate::status::{self, ExitStatus};

/// Bounds and options of a [`Session`].
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// The subprotocols offered, in order (default: v5, v4).
    pub offer: Vec<Protocol>,
    /// Stdin was requested (else `send_stdin`/`close_stdin` are `InvalidOptions`).
    pub stdin: bool,
    /// A TTY was requested (else `resize` is `InvalidOptions`).
    pub tty: bool,
    /// Most bytes of stdin and resize payloads queued before the socket opens (default 1 MiB);
    /// past it, `BufferFull`.
    pub max_pending_bytes: usize,
    /// Most bytes collected on the error channel (default 1 MiB); past it, `ProtocolError`.
    pub max_status_bytes: usize,
    /// Most payload bytes per outgoing stdin frame; larger writes are split. The default,
    /// 65 535, keeps every binary message within [`MAX_CLIENT_MESSAGE`], the longest a
    /// browser never splits into fragments that the Kubernetes servers would misread; on
    /// base64 protocols frames carry at most [`MAX_CLIENT_BASE64_PAYLOAD`] bytes whatever
    /// this says.
    pub max_stdin_frame: usize,
    /// Send a keepalive (an empty WebSocket message, see [`Transmit::keepalive`]) when nothing
    /// was sent for this many ms (default 30 000; `None`, values below 1 or not finite are off).
    pub keepalive_ms: Option<f64>,
    /// Fail with `Timeout` when no message arrives within this many ms of open
    /// (default 30 000; negative or not finite is off).
    pub ready_timeout_ms: Option<f64>,
    /// Fail with `Timeout` when the socket has not opened within this many ms of
    /// [`Session::handle_connecting`] (default 30 000; `None`, negative or not finite is off;
    /// nothing is armed unless the glue calls `handle_connecting`).
    pub connect_timeout_ms: Option<f64>,
    /// After the status arrived on the error channel, end with it (and ask to close the
    /// socket) when the socket has not closed and nothing arrived for this many ms (default
    /// 5 000; any message restarts the wait from the time it arrived). `None`, negative or
    /// not finite: wait for the close
    /// however long it takes, as client-go does. A status that does not parse by then is
    /// `ProtocolError`.
    pub status_close_timeout_ms: Option<f64>,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            offer: DEFAULT_OFFER.to_vec(),
            stdin: false,
            tty: false,
            max_pending_bytes: 1 << 20,
            max_status_bytes: 1 << 20,
            max_stdin_frame: MAX_CLIENT_MESSAGE - 1,
            keepalive_ms: Some(30_000.0),
            ready_timeout_ms: Some(30_000.0),
            status_close_timeout_ms: Some(5_000.0),
            connect_timeout_ms: Some(30_000.0),
        }
    }
}

impl SessionConfig {
    /// The default configuration with `stdin` and `tty` taken from the request.
    pub fn for_request(request: &ExecRequest) -> SessionConfig {
        SessionConfig {
            stdin: request.stdin,
            tty: request.tty,
            ..SessionConfig::default()
        }
    }
}

/// The kind of a received WebSocket message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An `ArrayBuffer` message.
    Binary,
    /// A string message.
    Text,
}

/// Where a received message goes, decided from its kind, first byte and length only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Stdout data: hand the payload (`msg[1..]`; base64: decoded from `msg[1..]`) to the
    /// consumer directly. Do not pass the message to the session.
    Stdout,
    /// Stderr data, likewise.
    Stderr,
    /// Pass the whole message to [`Session::handle_binary`] / [`Session::handle_text`].
    Deliver,
    /// Drop the message (readiness, empty, or the session has ended / just failed).
    Ignore,
}

/// A message to send on the socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// A binary message.
    Binary(Vec<u8>),
    /// A text message (base64 protocols).
    Text(String),
    /// Close the socket with this code (1000, or 4000–4999: valid for `WebSocket.close`).
    Close {
        /// The close code.
        code: u16,
        /// A short reason (at most 123 bytes).
        reason: String,
    },
}

impl Transmit {
    /// The keepalive: an **empty** WebSocket message (binary; text on the base64 protocols).
    ///
    /// It is harmless on every subprotocol and on both server paths because both read the
    /// socket with the same loop, `wsstream.Conn.handle`
    /// (`staging/src/k8s.io/apimachinery/pkg/util/httpstream/wsstream/conn.go`, v1.35:
    /// lines 334-345), which resets the idle timeout (`conn.resetTimeout()`) and then skips an
    /// empty message (`if len(data) == 0 { continue }`) before it looks at a channel byte:
    /// - the API server's v5 translator makes its socket with `wsstream.NewConn`
    ///   (`staging/src/k8s.io/apiserver/pkg/util/proxy/websocket.go` `createWebSocketStreams`);
    /// - the kubelet's v4/v4.base64/v1 code does too
    ///   (`staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand/websocket.go`
    ///   `createWebSocketStreams`), as do the copies in containerd and CRI-O; the same
    ///   `len(data) == 0` skip is in the older `wsstream` they vendor.
    ///
    /// So it reaches no channel: nothing is written to the process's stdin, whether stdin
    /// was requested (a `ReadChannel`), not requested (an `IgnoreChannel`, whose
    /// `DataFromSocket` drops data: conn.go lines 424-427) or already closed with the v5
    /// CLOSE signal (where an empty *stdin frame* `[0x00]` would reach the closed pipe and
    /// log "Unable to write frame" on the server for every keepalive).
    pub fn keepalive(protocol: Protocol) -> Transmit {
        if protocol.is_base64() {
            Transmit::Text(String::new())
        } else {
            Transmit::Binary(Vec::new())
        }
    }
}

/// Something the user should learn about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The socket opened and this protocol was negotiated.
    Opened(Protocol),
    /// Output that went through [`Session::handle_binary`]/[`Session::handle_text`]
    /// (never for messages routed [`Route::Stdout`]/[`Route::Stderr`]).
    Output {
        /// Stdout or stderr.
        channel: Channel,
        /// The payload bytes.
        data: Vec<u8>,
    },
    /// The session ended with the server's status (success or not): a normal end.
    Exited(ExitStatus),
    /// The session failed; the error latches.
    Failed(Error),
}

/// The phase a [`Session`] is in (see the diagram on [`Session`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for the socket to open; stdin and resize are queued.
    Opening,
    /// Open: output flows, stdin and resize are sent.
    Open,
    /// Open, stdin closed with the v5 CLOSE signal.
    StdinClosed,
    /// The error channel has data (the process ended); waiting for the socket to close.
    Closing,
    /// Ended with the server's status ([`Event::Exited`]).
    Exited,
    /// Failed with a typed error ([`Event::Failed`]), which latches.
    Failed,
}

/// Close codes the session asks for ([`Transmit::Close`]); all valid for `WebSocket.close`.
pub mod close_code {
    /// The caller ended the session.
    pub const NORMAL: u16 = 1000;
    /// The server broke the protocol (mirrors 1002).
    pub const PROTOCOL_ERROR: u16 = 4002;
    /// The server sent nothing in time.
    pub const TIMEOUT: u16 = 4008;
    /// The session cannot go on for another reason (e.g. stdin EOF undeliverable).
    pub const OTHER: u16 = 4000;
}

/// The exec/attach session state machine, sans-IO: the glue feeds it socket events
/// (`handle_*`) and the caller's requests (`send_stdin`, `close_stdin`, `resize`, `abort`), and
/// after every call drains `poll_transmit` (messages to send), `poll_event` (what the user
/// learns) and `poll_timeout` (when to call `handle_timeout`). Time is passed in, never read:
/// every input carries `now_ms` (any clock, the same for every call).
///
/// ```text
///                      Session::new(config)
///                               │
///                               ▼
///                      ┌─────────────────┐  send_stdin / resize / close_stdin*: queued
///                      │     Opening     │  (at most max_pending_bytes, else BufferFull)
///                      └─────────────────┘
///                               │ handle_open(answer, now): negotiate → Event::Opened,
///                               │ flush the queue (answer not offered → ProtocolNotSupported)
///                               ▼
///                      ┌─────────────────┐ close_stdin, v5: [0xFF,0x00] ┌─────────────────┐
///                      │      Open       │─────────────────────────────▶│   StdinClosed   │
///                      └─────────────────┘ (v1–v4: HalfCloseUnsupported └─────────────────┘
///                               │           and stays Open)                      │
///                               │ data on channel 3                              │ data on
///                               ▼                                                │ channel 3
///                      ┌─────────────────┐◀──────────────────────────────────────┘
///                      │     Closing     │  status bytes collected
///                      └─────────────────┘
///                               │ handle_close(code): parse the status; or no close and
///                               │ no message for status_close_timeout_ms: parse it, and
///                               │ ask to close (Transmit::Close 1000)
///                               ▼
///                      ┌─────────────────┐
///                      │ Exited(status)  │  a normal end, whether the process succeeded or not
///                      └─────────────────┘
///
///  Open/StdinClosed + handle_close, nothing on channel 3:
///      v4/v5 → Failed(ConnectionLost), never success; v1/none: 1000 → Exited(Success),
///      any other code → Failed(ConnectionLost)
///  Closing + handle_close, status does not parse:
///      1000 → Failed(ProtocolError); any other code → Failed(ConnectionLost) (truncated)
///  Closing + close wait over, status does not parse → Failed(ProtocolError), close 4002
///  Opening + handle_close / handle_error → Failed(ConnectFailed)
///  Opening + connect_timeout_ms after handle_connecting → Failed(Timeout), Close 4008
///  any state → Failed(error): a protocol error, Timeout, abort() (Aborted); it latches
///
///  * close_stdin before open is queued only if every offered protocol can half-close.
/// ```
///
/// Rules:
/// - Readiness frames (empty payloads) are ignored on every channel; any message disarms the
///   ready timeout.
/// - Server data on stdin/resize, the CLOSE signal from the server, unknown channels, bad
///   base64, a text message on a binary protocol (or binary on a base64 one) and messages over
///   [`MAX_FRAME_LEN`] are [`ErrorCode::ProtocolError`].
/// - Channel-3 payloads are collected (at most `max_status_bytes`) and parsed when the socket
///   closes: JSON on v4/v5, text on v1. A status that parses ends the session with
///   [`Event::Exited`] whatever the close code; one that does not is `ProtocolError` after a
///   close 1000 and `ConnectionLost` (truncated) after any other close.
/// - The close wait: client-go reads the error channel until the socket closes and waits as
///   long as that takes. Here, once the status has arrived, a server (or proxy) that keeps
///   the socket open without sending anything for `status_close_timeout_ms` (default 5 s;
///   any message restarts the wait) no longer holds the session: it ends with the status
///   (`Exited`, and `Transmit::Close` 1000), or `ProtocolError` if the status is incomplete.
/// - `send_stdin` without `stdin` requested and `resize` without `tty` are `InvalidOptions`;
///   `send_stdin` after `close_stdin` or the end is `NotOpen`; refusals do not end the session.
/// - Keepalive (default every 30 s of outgoing silence): an empty WebSocket message when
///   nothing was sent for `keepalive_ms`. Any send restarts the wait from the time the send
///   was given (every input carries `now_ms`).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    protocol: Option<Protocol>,
    status: Vec<u8>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    ready_deadline: Option<f64>,
    keepalive: Keepalive,
    close_wait: CloseWait,
    connect_deadline: Option<f64>,
}

/// The wait for the socket to close once the status has arrived.
#[derive(Clone, Copy, Debug, PartialEq)]
enum CloseWait {
    /// No status yet, or the wait is off.
    Idle,
    /// End with the status at this time.
    At(f64),
}

/// The keepalive's wait for outgoing silence.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Keepalive {
    /// Off, or the socket is not open.
    Off,
    /// Send a keepalive at this time unless something else is sent first.
    At(f64),
}

/// What the caller wrote before the socket opened, in order. Consecutive stdin writes share
/// one `Stdin` entry (sent as the fewest frames `max_stdin_frame` allows); a resize or the
/// close between them starts a new one, so the order on the wire stays the order of the calls.
#[derive(Debug)]
enum Pending {
    Stdin(Vec<u8>),
    Resize(TerminalSize),
    CloseStdin,
}

#[derive(Debug)]
enum State {
    Opening {
        pending: Vec<Pending>,
        pending_bytes: usize,
        /// `close_stdin` was queued (a flag, so that no write has to scan `pending`).
        stdin_closed: bool,
    },
    Open,
    StdinClosed,
    Closing {
        stdin_closed: bool,
    },
    Exited,
    Failed(Error),
}

/// How a received message is classified (from its kind, first byte and length).
enum Class {
    Ignore,
    Output(Channel),
    Status,
}

fn protocol_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ProtocolError, message)
}

/// A protocol's name for messages (`Protocol::None` has the empty name).
fn shown(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::None => "the empty subprotocol",
        p => p.name(),
    }
}

fn not_open(message: &str) -> Error {
    Error::new(ErrorCode::NotOpen, message)
}

impl Session {
    /// A session that waits for the socket to open. An invalid configuration (an offer with
    /// [`Protocol::None`] or a duplicate) fails it at once with `InvalidOptions`.
    pub fn new(mut config: SessionConfig) -> Session {
        config.max_stdin_frame = config.max_stdin_frame.clamp(1, MAX_FRAME_LEN / 2);
        // Timers that could never fire, or fire in a busy loop, are off.
        config.keepalive_ms = config.keepalive_ms.filter(|t| t.is_finite() && *t >= 1.0);
        config.ready_timeout_ms = config
            .ready_timeout_ms
            .filter(|t| t.is_finite() && *t >= 0.0);
        config.status_close_timeout_ms = config
            .status_close_timeout_ms
            .filter(|t| t.is_finite() && *t >= 0.0);
        config.connect_timeout_ms = config
            .connect_timeout_ms
            .filter(|t| t.is_finite() && *t >= 0.0);
        let mut session = Session {
            config,
            state: State::Opening {
                pending: Vec::new(),
                pending_bytes: 0,
                stdin_closed: false,
            },
            protocol: None,
            status: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            ready_deadline: None,
            keepalive: Keepalive::Off,
            close_wait: CloseWait::Idle,
            connect_deadline: None,
        };
        let offer = &session.config.offer;
        let bad = offer
            .iter()
            .enumerate()
            .find(|(i, p)| **p == Protocol::None || offer[..*i].contains(p));
        if let Some((_, p)) = bad {
            let message = if *p == Protocol::None {
                "the empty subprotocol cannot be offered".to_string()
            } else {
                format!("subprotocol {} offered twice", p.name())
            };
            session.fail(Error::new(ErrorCode::InvalidOptions, message), None);
        }
        session
    }

    /// The phase the session is in.
    pub fn phase(&self) -> Phase {
        match self.state {
            State::Opening { .. } => Phase::Opening,
            State::Open => Phase::Open,
            State::StdinClosed => Phase::StdinClosed,
            State::Closing { .. } => Phase::Closing,
            State::Exited => Phase::Exited,
            State::Failed(_) => Phase::Failed,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The negotiated protocol, once open.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// The latched error, if the session failed.
    pub fn error(&self) -> Option<&Error> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The session has ended (exited or failed).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Exited | State::Failed(_))
    }

    fn socket_open(&self) -> bool {
        matches!(
            self.state,
            State::Open | State::StdinClosed | State::Closing { .. }
        )
    }

    /// Ends the session with `error` (latched); asks to close the socket when it is open.
    fn fail(&mut self, error: Error, close: Option<(u16, &str)>) {
        if self.is_finished() {
            return;
        }
        let open = self.socket_open();
        self.transmits.clear();
        if let (true, Some((code, reason))) = (open, close) {
            self.transmits.push_back(Transmit::Close {
                code,
                reason: reason.to_string(),
            });
        }
        self.ready_deadline = None;
        self.keepalive = Keepalive::Off;
        self.close_wait = CloseWait::Idle;
        self.connect_deadline = None;
        self.events.push_back(Event::Failed(error.clone()));
        self.state = State::Failed(error);
    }

    fn fail_protocol(&mut self, error: Error) {
        self.fail(error, Some((close_code::PROTOCOL_ERROR, "protocol error")));
    }

    /// The glue started opening the socket (right after `new WebSocket`) at `now_ms`: arms
    /// the connect timeout (`connect_timeout_ms`), so that a server or proxy that holds the
    /// handshake forever fails the session with `Timeout` instead of leaving it opening.
    /// Ignored unless the session is opening.
    pub fn handle_connecting(&mut self, now_ms: f64) {
        if !matches!(self.state, State::Opening { .. }) {
            return;
        }
        self.connect_deadline = self
            .config
            .connect_timeout_ms
            .map(|t| now_ms + t)
            .filter(|d| d.is_finite());
    }

    /// The socket opened; `answer` is `WebSocket.protocol`; `now_ms` is the current time
    /// (any clock, the same for every call). Ignored unless the session is opening.
    pub fn handle_open(&mut self, answer: &str, now_ms: f64) {
        let State::Opening { pending, .. } = &mut self.state else {
            return;
        };
        self.connect_deadline = None;
        let pending = core::mem::take(pending);
        // The socket is open from here on, whatever the answer.
        self.state = State::Open;
        let protocol = match negotiate(&self.config.offer, answer) {
            Ok(p) => p,
            Err(e) => return self.fail_protocol(e),
        };
        self.protocol = Some(protocol);
        self.events.push_back(Event::Opened(protocol));
        let at = |t: f64| Some(now_ms + t).filter(|d| d.is_finite());
        self.ready_deadline = self.config.ready_timeout_ms.and_then(at);
        self.keepalive = self
            .config
            .keepalive_ms
            .and_then(at)
            .map_or(Keepalive::Off, Keepalive::At);
        for op in pending {
            match op {
                Pending::Stdin(data) => self.transmit_stdin(&data, now_ms),
                Pending::Resize(size) => self.transmit_resize(size, now_ms),
                Pending::CloseStdin if protocol.can_half_close() => {
                    self.transmit_close_stdin(now_ms)
                }
                Pending::CloseStdin => {
                    let e = Error::new(
                        ErrorCode::HalfCloseUnsupported,
                        format!(
                            "stdin was closed before open, but the server chose {}, which cannot close stdin alone",
                            shown(protocol)
                        ),
                    );
                    return self.fail(e, Some((close_code::OTHER, "cannot close stdin")));
                }
            }
        }
    }

    /// Classifies a received message, failing the session on a protocol error.
    fn classify(&mut self, kind: MessageKind, first: u8, len: usize, now_ms: f64) -> Class {
        match self.state {
            State::Exited | State::Failed(_) => return Class::Ignore,
            State::Opening { .. } => {
                self.fail_protocol(protocol_error("message before the socket opened"));
                return Class::Ignore;
            }
            State::Closing { .. } if self.close_wait != CloseWait::Idle => {
                self.restart_close_wait(now_ms);
            }
            _ => {}
        }
        self.ready_deadline = None;
        if len == 0 {
            return Class::Ignore;
        }
        if len > MAX_FRAME_LEN {
            self.fail_protocol(protocol_error(format!(
                "message of {len} bytes exceeds the 32 MiB frame limit"
            )));
            return Class::Ignore;
        }
        let protocol = self.protocol.unwrap_or(Protocol::None);
        let channel = match (kind, protocol.is_base64()) {
            (MessageKind::Binary, false) => Channel::from_byte(first),
            (MessageKind::Text, true) => Channel::from_digit(first),
            (MessageKind::Text, false) => {
                self.fail_protocol(protocol_error(format!(
                    "text message on the binary protocol {}",
                    shown(protocol)
                )));
                return Class::Ignore;
            }
            (MessageKind::Binary, true) => {
                self.fail_protocol(protocol_error(format!(
                    "binary message on the base64 protocol {}",
                    shown(protocol)
                )));
                return Class::Ignore;
            }
        };
        let Some(channel) = channel else {
            let what = if kind == MessageKind::Binary && first == CLOSE_SIGNAL {
                "the server sent a close signal".to_string()
            } else if kind == MessageKind::Binary {
                format!("unknown channel {first}")
            } else {
                format!("unknown channel in base64 frame (first byte {first:#04x})")
            };
            self.fail_protocol(protocol_error(what));
            return Class::Ignore;
        };
        if len == 1 {
            // Readiness, or any other empty payload: never a signal.
            return Class::Ignore;
        }
        match channel {
            Channel::Stdout | Channel::Stderr => Class::Output(channel),
            Channel::Error => Class::Status,
            Channel::Stdin | Channel::Resize => {
                self.fail_protocol(protocol_error(format!(
                    "the server sent data on the {} channel",
                    channel.name()
                )));
                Class::Ignore
            }
        }
    }

    /// Routes a received message by its kind, first byte (ignored when `len == 0`; for text,
    /// the first UTF-16 code unit clamped to 255) and length (bytes; for text, UTF-16 code
    /// units), without looking at the payload.
    ///
    /// [`Route::Stdout`]/[`Route::Stderr`]: the glue hands the payload to the consumer and
    /// must not pass the message to the session (on base64 protocols, if decoding fails, pass
    /// it to [`Session::handle_text`], which fails the session). [`Route::Deliver`]: pass
    /// the whole message to `handle_binary`/`handle_text`. [`Route::Ignore`]: drop it (it may
    /// have failed the session: drain `poll_event`). `now_ms` is when it arrived.
    pub fn route(&mut self, kind: MessageKind, first_byte: u8, len: usize, now_ms: f64) -> Route {
        match self.classify(kind, first_byte, len, now_ms) {
            Class::Ignore => Route::Ignore,
            Class::Output(Channel::Stdout) => Route::Stdout,
            Class::Output(_) => Route::Stderr,
            Class::Status => Route::Deliver,
        }
    }

    /// A binary message, all of it (channel byte included). Stdout/stderr data comes out as
    /// [`Event::Output`]. `now_ms` is when it arrived.
    pub fn handle_binary(&mut self, message: &[u8], now_ms: f64) {
        let first = message.first().copied().unwrap_or(0);
        match self.classify(MessageKind::Binary, first, message.len(), now_ms) {
            Class::Ignore => {}
            Class::Output(channel) => self.events.push_back(Event::Output {
                channel,
                data: message[1..].to_vec(),
            }),
            Class::Status => self.collect_status(&message[1..], now_ms),
        }
    }

    /// A text message (base64 protocols), all of it. Stdout/stderr data comes out decoded as
    /// [`Event::Output`]. `now_ms` is when it arrived.
    pub fn handle_text(&mut self, message: &str, now_ms: f64) {
        let first = message.as_bytes().first().copied().unwrap_or(0);
        let class = self.classify(MessageKind::Text, first, message.len(), now_ms);
        if matches!(class, Class::Ignore) {
            return;
        }
        let decoded = match frame::decode_base64(message) {
            Ok(Some((_, payload))) => payload,
            Ok(None) => return,
            Err(e) => return self.fail_protocol(e),
        };
        match class {
            Class::Output(channel) if !decoded.is_empty() => self.events.push_back(Event::Output {
                channel,
                data: decoded,
            }),
            Class::Status => self.collect_status(&decoded, now_ms),
            _ => {}
        }
    }

    fn collect_status(&mut self, payload: &[u8], now_ms: f64) {
        if payload.is_empty() {
            return;
        }
        if self.status.len().saturating_add(payload.len()) > self.config.max_status_bytes {
            let limit = self.config.max_status_bytes;
            return self.fail_protocol(protocol_error(format!(
                "the status on the error channel exceeds {limit} bytes"
            )));
        }
        self.status.extend_from_slice(payload);
        self.restart_close_wait(now_ms);
        let stdin_closed = match self.state {
            State::Open => false,
            State::StdinClosed => true,
            State::Closing { stdin_closed } => stdin_closed,
            _ => return,
        };
        self.state = State::Closing { stdin_closed };
    }

    /// The socket closed with `code` (1006 for a failed handshake or a cut connection) and
    /// `reason`, at `now_ms`. Ends the session: [`Event::Exited`] or [`Event::Failed`].
    pub fn handle_close(&mut self, code: u16, reason: &str, _now_ms: f64) {
        if self.is_finished() {
            return;
        }
        let how = if reason.is_empty() {
            format!("close code {code}")
        } else {
            let reason: String = reason.chars().take(80).collect();
            format!("close code {code}, \"{reason}\"")
        };
        if matches!(self.state, State::Opening { .. }) {
            // A failed handshake closes with 1006. A normal close before `open` means the
            // server accepted the socket and already ended the session: Firefox reports only
            // that close when the 101 response, the output, the status and the close arrive
            // together (the Kubernetes servers close TCP right after their close frame).
            let error = if code == close_code::NORMAL {
                Error::new(
                    ErrorCode::ConnectionLost,
                    format!(
                        "the server ended the session before the browser reported the socket open ({how}): its output and exit status never reached the page"
                    ),
                )
                .with_hint(
                    "the command most likely ran and ended at once; this browser (Firefox) drops what arrives together with the handshake: make the command wait for its input, or use another browser",
                )
            } else {
                Error::new(
                    ErrorCode::ConnectFailed,
                    format!("the WebSocket handshake failed ({how})"),
                )
            };
            return self.fail(error, None);
        }
        let protocol = self.protocol.unwrap_or(Protocol::None);
        let outcome = if !self.status.is_empty() {
            match self.parse_status() {
                Ok(s) => Ok(s),
                Err(e) if code == 1000 => Err(e),
                Err(_) => Err(Error::new(
                    ErrorCode::ConnectionLost,
                    format!("the connection closed with an incomplete status ({how})"),
                )),
            }
        } else if !protocol.status_is_json() && code == 1000 {
            // v1: nothing on the error channel is success.
            Ok(ExitStatus::Success)
        } else {
            Err(Error::new(
                ErrorCode::ConnectionLost,
                format!("the connection closed without an exit status ({how})"),
            ))
        };
        self.status = Vec::new();
        match outcome {
            // The socket is closed: nothing to send.
            Ok(s) => self.exit(s, None),
            Err(e) => self.fail(e, None),
        }
    }

    /// The collected error-channel bytes, parsed for the negotiated protocol.
    fn parse_status(&self) -> Result<ExitStatus, Error> {
        if self.protocol.unwrap_or(Protocol::None).status_is_json() {
            status::parse_json(&self.status)
        } else {
            status::parse_text(&self.status)
        }
    }

    /// Ends the session with the server's status; asks to close the socket with `close`.
    fn exit(&mut self, status: ExitStatus, close: Option<&str>) {
        self.transmits.clear();
        if let Some(reason) = close {
            self.transmits.push_back(Transmit::Close {
                code: close_code::NORMAL,
                reason: reason.to_string(),
            });
        }
        self.ready_deadline = None;
        self.keepalive = Keepalive::Off;
        self.close_wait = CloseWait::Idle;
        self.status = Vec::new();
        self.events.push_back(Event::Exited(status));
        self.state = State::Exited;
    }

    /// The close wait fell due: the status is complete and the server never closed.
    fn end_without_close(&mut self) {
        match self.parse_status() {
            Ok(s) => self.exit(s, Some("exited")),
            Err(e) => self.fail_protocol(protocol_error(format!(
                "{}; and the server did not close the connection",
                e.message()
            ))),
        }
    }

    /// The socket reported an error. Before open it fails the session (`ConnectFailed`);
    /// after, the `close` that follows in browsers ends it.
    pub fn handle_error(&mut self, _now_ms: f64) {
        if matches!(self.state, State::Opening { .. }) {
            self.fail(
                Error::new(
                    ErrorCode::ConnectFailed,
                    "the WebSocket connection failed before it opened",
                ),
                None,
            );
        }
    }

    /// Time passed; call at (or after) [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now_ms: f64) {
        if matches!(self.state, State::Opening { .. }) {
            if self.connect_deadline.is_some_and(|d| now_ms >= d) {
                let after = self.config.connect_timeout_ms.unwrap_or_default() as u64;
                self.fail(
                    Error::new(
                        ErrorCode::Timeout,
                        format!("the WebSocket did not open within {after} ms"),
                    ),
                    None,
                );
                // A socket still connecting is closed too (allowed in browsers).
                self.transmits.push_back(Transmit::Close {
                    code: close_code::TIMEOUT,
                    reason: "timeout".to_string(),
                });
            }
            return;
        }
        if !self.socket_open() {
            return;
        }
        if matches!(self.close_wait, CloseWait::At(at) if now_ms >= at) {
            return self.end_without_close();
        }
        if self.ready_deadline.is_some_and(|d| now_ms >= d) {
            // An integer: formatting an f64 would link the float formatter (~7 KB gz in wasm).
            let after = self.config.ready_timeout_ms.unwrap_or_default() as u64;
            return self.fail(
                Error::new(
                    ErrorCode::Timeout,
                    format!("no message from the server within {after} ms of open"),
                ),
                Some((close_code::TIMEOUT, "timeout")),
            );
        }
        if matches!(self.keepalive, Keepalive::At(at) if now_ms >= at) {
            let keepalive = Transmit::keepalive(self.protocol.unwrap_or(Protocol::None));
            self.transmits.push_back(keepalive);
            self.note_sent(now_ms);
        }
    }

    /// A message arrived in `Closing` at `now_ms`: the close wait starts again. A clock
    /// that is not finite cannot time it: wait for the close.
    fn restart_close_wait(&mut self, now_ms: f64) {
        self.close_wait = self
            .config
            .status_close_timeout_ms
            .map(|t| now_ms + t)
            .filter(|d| d.is_finite())
            .map_or(CloseWait::Idle, CloseWait::At);
    }

    /// When to call [`Session::handle_timeout`] next (same clock as `now_ms`), if ever.
    pub fn poll_timeout(&self) -> Option<f64> {
        if matches!(self.state, State::Opening { .. }) {
            return self.connect_deadline;
        }
        if !self.socket_open() {
            return None;
        }
        let close = match self.close_wait {
            CloseWait::Idle => None,
            CloseWait::At(at) => Some(at),
        };
        let keepalive = match self.keepalive {
            Keepalive::Off => None,
            Keepalive::At(at) => Some(at),
        };
        [self.ready_deadline, keepalive, close]
            .into_iter()
            .flatten()
            .reduce(f64::min)
    }

    /// Refusal for a user call on a finished session: the latched error, or `NotOpen`.
    fn finished_error(&self) -> Option<Error> {
        match &self.state {
            State::Failed(e) => Some(e.clone()),
            State::Exited => Some(not_open("the session has ended")),
            _ => None,
        }
    }

    /// Writes stdin: queued before open (in constant time per call: consecutive writes are
    /// merged, and the open sends them as the fewest frames `max_stdin_frame` allows, in
    /// order with queued resizes and the close), sent as frames of at most `max_stdin_frame`
    /// bytes after. Empty data sends nothing. `now_ms` is the time of the call.
    pub fn send_stdin(&mut self, data: &[u8], now_ms: f64) -> Result<(), Error> {
        if let Some(e) = self.finished_error() {
            return Err(e);
        }
        if !self.config.stdin {
            return Err(Error::new(
                ErrorCode::InvalidOptions,
                "stdin was not requested for this session",
            ));
        }
        let max_pending = self.config.max_pending_bytes;
        match &mut self.state {
            State::Opening {
                pending,
                pending_bytes,
                stdin_closed,
            } => {
                if *stdin_closed {
                    return Err(not_open("stdin is closed"));
                }
                if data.is_empty() {
                    return Ok(());
                }
                if pending_bytes.saturating_add(data.len()) > max_pending {
                    return Err(Error::new(
                        ErrorCode::BufferFull,
                        format!("more than {max_pending} bytes written before the socket opened"),
                    ));
                }
                *pending_bytes += data.len();
                match pending.last_mut() {
                    Some(Pending::Stdin(queued)) => queued.extend_from_slice(data),
                    _ => pending.push(Pending::Stdin(data.to_vec())),
                }
                Ok(())
            }
            State::StdinClosed | State::Closing { stdin_closed: true } => {
                Err(not_open("stdin is closed"))
            }
            _ => {
                self.transmit_stdin(data, now_ms);
                Ok(())
            }
        }
    }

    /// The stdin fast path: whether `len` bytes of stdin may go out right now as ONE binary
    /// frame `[0, ...bytes]` that the caller builds and sends itself (no `poll_transmit`).
    /// True only when [`Session::send_stdin`] would send exactly that frame at once: open,
    /// stdin requested and not closed, a binary protocol, nothing queued before it, and
    /// `0 < len <= max_stdin_frame`; the session then counts the bytes as sent at `now_ms`
    /// (the keepalive waits for `keepalive_ms` of silence from then).
    /// False: use `send_stdin` (which queues, splits, refuses or encodes base64).
    pub fn send_stdin_direct(&mut self, len: usize, now_ms: f64) -> bool {
        let open = matches!(
            self.state,
            State::Open
                | State::Closing {
                    stdin_closed: false
                }
        );
        let ok = open
            && self.config.stdin
            && len > 0
            && len <= self.config.max_stdin_frame
            && self.transmits.is_empty()
            && self.protocol.is_some_and(|p| !p.is_base64());
        if ok {
            self.note_sent(now_ms);
        }
        ok
    }

    /// Closes stdin alone: the v5 CLOSE signal `[0xFF, 0x00]` (the process sees EOF).
    /// Idempotent. On protocols without half-close, [`ErrorCode::HalfCloseUnsupported`] (the
    /// session goes on). Before open it is queued only if every offered protocol can
    /// half-close, else `NotOpen`. `now_ms` is the time of the call.
    pub fn close_stdin(&mut self, now_ms: f64) -> Result<(), Error> {
        if let Some(e) = self.finished_error() {
            return Err(e);
        }
        if !self.config.stdin {
            return Err(Error::new(
                ErrorCode::InvalidOptions,
                "stdin was not requested for this session",
            ));
        }
        let all_half_close =
            !self.config.offer.is_empty() && self.config.offer.iter().all(|p| p.can_half_close());
        let protocol = self.protocol.unwrap_or(Protocol::None);
        match &mut self.state {
            State::Opening {
                pending,
                stdin_closed,
                ..
            } => {
                if !all_half_close {
                    return Err(not_open(
                        "wait for the session to open: not every offered protocol can close stdin alone",
                    ));
                }
                if !*stdin_closed {
                    *stdin_closed = true;
                    pending.push(Pending::CloseStdin);
                }
                Ok(())
            }
            _ if !protocol.can_half_close() => Err(Error::new(
                ErrorCode::HalfCloseUnsupported,
                format!(
                    "{} cannot close stdin alone (only v5.channel.k8s.io can); closing the socket would lose the output and the exit status",
                    shown(protocol)
                ),
            )),
            State::Open => {
                self.transmit_close_stdin(now_ms);
                Ok(())
            }
            State::Closing { stdin_closed } => {
                if !*stdin_closed {
                    *stdin_closed = true;
                    let mut out = Vec::with_capacity(2);
                    frame::encode_close(Channel::Stdin, &mut out);
                    self.transmits.push_back(Transmit::Binary(out));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Sends a terminal size (needs `tty`, else `InvalidOptions`); queued before open.
    /// `now_ms` is the time of the call.
    pub fn resize(&mut self, size: TerminalSize, now_ms: f64) -> Result<(), Error> {
        if let Some(e) = self.finished_error() {
            return Err(e);
        }
        if !self.config.tty {
            return Err(Error::new(
                ErrorCode::InvalidOptions,
                "resize needs a TTY (tty: true): without one nothing reads the sizes and the server's reader can block",
            ));
        }
        let max_pending = self.config.max_pending_bytes;
        match &mut self.state {
            State::Opening {
                pending,
                pending_bytes,
                ..
            } => {
                let len = size.to_json().len();
                if pending_bytes.saturating_add(len) > max_pending {
                    return Err(Error::new(
                        ErrorCode::BufferFull,
                        format!("more than {max_pending} bytes written before the socket opened"),
                    ));
                }
                *pending_bytes += len;
                pending.push(Pending::Resize(size));
            }
            _ => self.transmit_resize(size, now_ms),
        }
        Ok(())
    }

    /// Ends the session with `Aborted`, asking to close the socket (code 1000). A no-op
    /// once the session has ended.
    pub fn abort(&mut self, _now_ms: f64) {
        if self.is_finished() {
            return;
        }
        let was_opening = matches!(self.state, State::Opening { .. });
        self.fail(
            Error::new(ErrorCode::Aborted, "the session was aborted"),
            Some((close_code::NORMAL, "aborted")),
        );
        if was_opening {
            // A socket still connecting is closed too (allowed in browsers).
            self.transmits.push_back(Transmit::Close {
                code: close_code::NORMAL,
                reason: "aborted".to_string(),
            });
        }
    }

    /// Most payload bytes per stdin frame on the negotiated protocol.
    fn stdin_frame_limit(&self) -> usize {
        match self.protocol {
            Some(p) if p.is_base64() => self.config.max_stdin_frame.min(MAX_CLIENT_BASE64_PAYLOAD),
            _ => self.config.max_stdin_frame,
        }
    }

    fn transmit_stdin(&mut self, data: &[u8], now_ms: f64) {
        for chunk in data.chunks(self.stdin_frame_limit()) {
            self.transmit_data(Channel::Stdin, chunk, now_ms);
        }
    }

    fn transmit_resize(&mut self, size: TerminalSize, now_ms: f64) {
        let mut json = Vec::with_capacity(32);
        size.encode_json(&mut json);
        self.transmit_data(Channel::Resize, &json, now_ms);
    }

    fn transmit_data(&mut self, channel: Channel, payload: &[u8], now_ms: f64) {
        let protocol = self.protocol.unwrap_or(Protocol::None);
        let t = if protocol.is_base64() {
            let mut out = String::new();
            frame::encode_base64(channel, payload, &mut out);
            Transmit::Text(out)
        } else {
            let mut out = Vec::new();
            frame::encode_binary(channel, payload, &mut out);
            Transmit::Binary(out)
        };
        self.note_sent(now_ms);
        self.transmits.push_back(t);
    }

    /// Something goes out at `now_ms`: the keepalive's wait for silence starts again (a
    /// clock that is not finite cannot time it: off).
    fn note_sent(&mut self, now_ms: f64) {
        if self.keepalive != Keepalive::Off {
            let every = self.config.keepalive_ms.unwrap_or_default();
            self.keepalive = Some(now_ms + every)
                .filter(|d| d.is_finite())
                .map_or(Keepalive::Off, Keepalive::At);
        }
    }

    fn transmit_close_stdin(&mut self, now_ms: f64) {
        let mut out = Vec::with_capacity(2);
        frame::encode_close(Channel::Stdin, &mut out);
        self.transmits.push_back(Transmit::Binary(out));
        self.note_sent(now_ms);
        self.state = State::StdinClosed;
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn config(stdin: bool, tty: bool) -> SessionConfig {
        SessionConfig {
            stdin,
            tty,
            ..SessionConfig::default()
        }
    }

    fn open(protocol: Protocol, stdin: bool, tty: bool) -> Session {
        // Protocol::None: offer nothing, the server answers nothing.
        let offer = Some(protocol).filter(|p| *p != Protocol::None);
        let mut s = Session::new(SessionConfig {
            offer: offer.into_iter().collect(),
            ..config(stdin, tty)
        });
        s.handle_open(protocol.name(), 0.0);
        assert_eq!(s.poll_event(), Some(Event::Opened(protocol)));
        s
    }

    fn transmits(s: &mut Session) -> Vec<Transmit> {
        core::iter::from_fn(|| s.poll_transmit()).collect()
    }

    fn bin(bytes: &[u8]) -> Transmit {
        Transmit::Binary(bytes.to_vec())
    }

    fn text(s: &str) -> Transmit {
        Transmit::Text(s.to_string())
    }

    #[test]
    fn stdin_direct_only_when_send_stdin_would_send_one_frame_now() {
        let mut s = open(Protocol::V5, true, false);
        assert!(!s.send_stdin_direct(0, 0.0), "empty data sends nothing");
        assert!(s.send_stdin_direct(3, 0.0));
        assert!(
            !s.send_stdin_direct((1 << 20) + 1, 0.0),
            "split by send_stdin"
        );
        s.send_stdin(b"a", 0.0).unwrap();
        assert!(!s.send_stdin_direct(1, 0.0), "a queued frame goes first");
        assert_eq!(transmits(&mut s), vec![bin(b"\x00a")]);
        assert!(s.send_stdin_direct(1, 0.0));
        s.close_stdin(0.0).unwrap();
        assert!(!s.send_stdin_direct(1, 0.0), "stdin closed");

        assert!(
            !open(Protocol::V4Base64, true, false).send_stdin_direct(1, 0.0),
            "base64"
        );
        assert!(
            !open(Protocol::V5, false, false).send_stdin_direct(1, 0.0),
            "no stdin"
        );
        let mut opening = Session::new(config(true, false));
        assert!(!opening.send_stdin_direct(1, 0.0), "queued before open");
        let mut s = open(Protocol::V5, true, false);
        s.abort(0.0);
        assert!(!s.send_stdin_direct(1, 0.0), "ended");
    }

    /// `name: protocol, (kind, first byte, len) => route, phase after`
    macro_rules! routes {
        ($($name:ident: $p:ident, ($kind:ident, $first:expr, $len:expr) => $route:ident, $phase:ident;)*) => {$(
            #[test]
            fn $name() {
                let mut s = open(Protocol::$p, false, false);
                assert_eq!(s.route(MessageKind::$kind, $first, $len, 0.0), Route::$route);
                assert_eq!(s.phase(), Phase::$phase);
                if Phase::$phase == Phase::Failed {
                    assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::ProtocolError));
                    assert_eq!(
                        transmits(&mut s),
                        vec![Transmit::Close { code: close_code::PROTOCOL_ERROR, reason: "protocol error".into() }]
                    );
                }
            }
        )*};
    }

    routes! {
        r_stdout: V5, (Binary, 1, 6) => Stdout, Open;
        r_stderr: V5, (Binary, 2, 2) => Stderr, Open;
        r_status: V5, (Binary, 3, 40) => Deliver, Open;
        r_ready_stdout: V5, (Binary, 1, 1) => Ignore, Open;
        r_ready_stderr: V4, (Binary, 2, 1) => Ignore, Open;
        r_ready_error: V4, (Binary, 3, 1) => Ignore, Open;
        r_empty_stdin: V4, (Binary, 0, 1) => Ignore, Open;
        r_empty_message: V5, (Binary, 0, 0) => Ignore, Open;
        r_max_len: V5, (Binary, 1, MAX_FRAME_LEN) => Stdout, Open;
        r_oversize: V5, (Binary, 1, MAX_FRAME_LEN + 1) => Ignore, Failed;
        r_server_stdin: V5, (Binary, 0, 2) => Ignore, Failed;
        r_server_resize: V5, (Binary, 4, 2) => Ignore, Failed;
        r_server_close: V5, (Binary, 255, 2) => Ignore, Failed;
        r_channel_7: V5, (Binary, 7, 2) => Ignore, Failed;
        r_channel_5_empty: V4, (Binary, 5, 1) => Ignore, Failed;
        r_text_on_binary: V5, (Text, b'1', 5) => Ignore, Failed;
        r_b64_stdout: V4Base64, (Text, b'1', 9) => Stdout, Open;
        r_b64_stderr: V1Base64, (Text, b'2', 5) => Stderr, Open;
        r_b64_status: V4Base64, (Text, b'3', 30) => Deliver, Open;
        r_b64_ready: V4Base64, (Text, b'1', 1) => Ignore, Open;
        r_b64_binary: V4Base64, (Binary, 1, 5) => Ignore, Failed;
        r_b64_channel_raw_byte: V4Base64, (Text, 1, 5) => Ignore, Failed;
        r_b64_channel_9: V1Base64, (Text, b'9', 5) => Ignore, Failed;
        r_none_binary: None, (Binary, 1, 3) => Stdout, Open;
    }

    #[test]
    fn queued_before_open_then_flushed_in_order() {
        let mut s = Session::new(config(true, true));
        s.send_stdin(b"ls\n", 0.0).unwrap();
        s.resize(TerminalSize::new(80, 24).unwrap(), 0.0).unwrap();
        s.send_stdin(b"", 0.0).unwrap();
        s.send_stdin(b"pwd\n", 0.0).unwrap();
        assert_eq!(transmits(&mut s), vec![]);
        assert_eq!(s.phase(), Phase::Opening);
        s.handle_open("v5.channel.k8s.io", 10.0);
        assert_eq!(s.poll_event(), Some(Event::Opened(Protocol::V5)));
        assert_eq!(
            transmits(&mut s),
            vec![
                bin(b"\x00ls\n"),
                bin(b"\x04{\"Width\":80,\"Height\":24}\n"),
                bin(b"\x00pwd\n"),
            ]
        );
    }

    #[test]
    fn base64_transmits() {
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V4Base64],
            ..config(true, true)
        });
        s.send_stdin(b"foo\n", 0.0).unwrap();
        s.handle_open("v4.base64.channel.k8s.io", 0.0);
        s.resize(TerminalSize::new(80, 24).unwrap(), 0.0).unwrap();
        assert_eq!(
            transmits(&mut s),
            vec![
                text("0Zm9vCg=="),
                text("4eyJXaWR0aCI6ODAsIkhlaWdodCI6MjR9Cg==")
            ]
        );
        assert_eq!(
            s.close_stdin(0.0).unwrap_err().code(),
            ErrorCode::HalfCloseUnsupported
        );
        assert_eq!(s.phase(), Phase::Open);
    }

    #[test]
    fn close_stdin_v5_is_ff00_and_idempotent() {
        let mut s = open(Protocol::V5, true, false);
        s.send_stdin(b"x", 0.0).unwrap();
        s.close_stdin(0.0).unwrap();
        s.close_stdin(0.0).unwrap();
        assert_eq!(transmits(&mut s), vec![bin(b"\x00x"), bin(b"\xff\x00")]);
        assert_eq!(s.phase(), Phase::StdinClosed);
        assert_eq!(
            s.send_stdin(b"y", 0.0).unwrap_err().code(),
            ErrorCode::NotOpen
        );
        assert_eq!(transmits(&mut s), vec![]);
    }

    #[test]
    fn close_stdin_before_open() {
        // v5-only offer: queued.
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V5],
            ..config(true, false)
        });
        s.send_stdin(b"a", 0.0).unwrap();
        s.close_stdin(0.0).unwrap();
        assert_eq!(
            s.send_stdin(b"b", 0.0).unwrap_err().code(),
            ErrorCode::NotOpen
        );
        s.handle_open("v5.channel.k8s.io", 0.0);
        assert_eq!(transmits(&mut s), vec![bin(b"\x00a"), bin(b"\xff\x00")]);
        assert_eq!(s.phase(), Phase::StdinClosed);
        // Default offer includes v4: refused before open, nothing queued.
        let mut s = Session::new(config(true, false));
        assert_eq!(s.close_stdin(0.0).unwrap_err().code(), ErrorCode::NotOpen);
        // v5-only offer, but the server answered nothing: the EOF cannot be delivered.
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V5],
            ..config(true, false)
        });
        s.close_stdin(0.0).unwrap();
        s.handle_open("", 0.0);
        assert_eq!(s.poll_event(), Some(Event::Opened(Protocol::None)));
        let Some(Event::Failed(e)) = s.poll_event() else {
            panic!("not failed")
        };
        assert_eq!(e.code(), ErrorCode::HalfCloseUnsupported);
        assert_eq!(
            transmits(&mut s),
            vec![Transmit::Close {
                code: close_code::OTHER,
                reason: "cannot close stdin".into()
            }]
        );
    }

    #[test]
    fn refusals_do_not_end_the_session() {
        let mut s = open(Protocol::V4, false, false);
        let size = TerminalSize::new(80, 24).unwrap();
        assert_eq!(
            s.resize(size, 0.0).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert_eq!(
            s.send_stdin(b"x", 0.0).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert_eq!(
            s.close_stdin(0.0).unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        assert_eq!(s.phase(), Phase::Open);
        assert_eq!(s.poll_event(), None);
        assert_eq!(transmits(&mut s), vec![]);
    }

    #[test]
    fn pending_bound() {
        let mut s = Session::new(SessionConfig {
            max_pending_bytes: 10,
            ..config(true, true)
        });
        s.send_stdin(&[7; 10], 0.0).unwrap();
        assert_eq!(
            s.send_stdin(b"x", 0.0).unwrap_err().code(),
            ErrorCode::BufferFull
        );
        let size = TerminalSize::new(1, 1).unwrap();
        assert_eq!(
            s.resize(size, 0.0).unwrap_err().code(),
            ErrorCode::BufferFull
        );
        assert_eq!(s.phase(), Phase::Opening);
        s.handle_open("v4.channel.k8s.io", 0.0);
        let mut want = vec![0u8];
        want.extend([7; 10]);
        assert_eq!(transmits(&mut s), vec![Transmit::Binary(want)]);
        // After open, writes go straight out: no bound.
        s.send_stdin(&[1; 100], 0.0).unwrap();
        assert_eq!(transmits(&mut s).len(), 1);
    }

    #[test]
    fn big_stdin_is_split() {
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V5],
            max_stdin_frame: 4,
            ..config(true, false)
        });
        s.handle_open("v5.channel.k8s.io", 0.0);
        s.send_stdin(b"abcdefghij", 0.0).unwrap();
        assert_eq!(
            transmits(&mut s),
            vec![bin(b"\x00abcd"), bin(b"\x00efgh"), bin(b"\x00ij")]
        );
    }

    /// Every message the default session sends fits in one unfragmented browser message
    /// (see `MAX_CLIENT_MESSAGE`), on binary and base64 protocols, and the payloads add up to
    /// exactly what was written.
    #[test]
    fn default_stdin_frames_are_never_fragmented_by_a_browser() {
        for (protocol, name) in [
            (Protocol::V5, "v5.channel.k8s.io"),
            (Protocol::V4Base64, "v4.base64.channel.k8s.io"),
        ] {
            let mut s = Session::new(SessionConfig {
                offer: vec![protocol],
                ..config(true, false)
            });
            s.handle_open(name, 0.0);
            let data: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i % 251) as u8).collect();
            s.send_stdin(&data, 0.0).unwrap();
            let mut got = Vec::new();
            for t in transmits(&mut s) {
                match t {
                    Transmit::Binary(b) => {
                        assert!(b.len() <= MAX_CLIENT_MESSAGE, "{name}: {} bytes", b.len());
                        got.extend_from_slice(&b[1..]);
                    }
                    Transmit::Text(t) => {
                        assert!(t.len() <= MAX_CLIENT_MESSAGE, "{name}: {} chars", t.len());
                        let (_, payload) = frame::decode_base64(&t).unwrap().unwrap();
                        got.extend_from_slice(&payload);
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
            assert_eq!(got, data, "{name}");
        }
        let mut s = open(Protocol::V5, true, false);
        assert!(s.send_stdin_direct(MAX_CLIENT_MESSAGE - 1, 0.0));
        assert!(!s.send_stdin_direct(MAX_CLIENT_MESSAGE, 0.0));
    }

    #[test]
    fn invalid_offer_fails_at_once() {
        for offer in [
            vec![Protocol::None],
            vec![Protocol::V5, Protocol::V4, Protocol::V5],
        ] {
            let mut s = Session::new(SessionConfig {
                offer,
                ..SessionConfig::default()
            });
            assert_eq!(s.phase(), Phase::Failed);
            let Some(Event::Failed(e)) = s.poll_event() else {
                panic!("not failed")
            };
            assert_eq!(e.code(), ErrorCode::InvalidOptions);
            assert_eq!(s.send_stdin(b"x", 0.0), Err(e));
        }
    }

    #[test]
    fn ready_timeout() {
        let mut s = Session::new(SessionConfig {
            ready_timeout_ms: Some(500.0),
            ..SessionConfig::default()
        });
        assert_eq!(s.poll_timeout(), None);
        s.handle_open("v5.channel.k8s.io", 1000.0);
        assert_eq!(s.poll_timeout(), Some(1500.0));
        s.handle_timeout(1499.0);
        assert_eq!(s.phase(), Phase::Open);
        s.handle_timeout(1500.0);
        assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::Timeout));
        assert_eq!(s.poll_timeout(), None);
        let _ = s.poll_event();
        assert!(matches!(s.poll_event(), Some(Event::Failed(_))));
        assert_eq!(
            transmits(&mut s),
            vec![Transmit::Close {
                code: close_code::TIMEOUT,
                reason: "timeout".into()
            }]
        );
    }

    #[test]
    fn connect_timeout() {
        let mut s = Session::new(SessionConfig {
            connect_timeout_ms: Some(1000.0),
            ready_timeout_ms: Some(500.0),
            ..SessionConfig::default()
        });
        // Armed only once the glue says the socket is connecting.
        assert_eq!(s.poll_timeout(), None);
        s.handle_connecting(100.0);
        assert_eq!(s.poll_timeout(), Some(1100.0));
        s.handle_timeout(1099.0);
        assert_eq!(s.phase(), Phase::Opening);
        s.handle_timeout(1100.0);
        assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::Timeout));
        assert!(s.error().unwrap().message().contains("1000 ms"));
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(
            transmits(&mut s),
            vec![Transmit::Close {
                code: close_code::TIMEOUT,
                reason: "timeout".into()
            }]
        );
        // Opening in time disarms it; the ready timeout takes over.
        let mut s = Session::new(SessionConfig {
            connect_timeout_ms: Some(1000.0),
            ready_timeout_ms: Some(500.0),
            ..SessionConfig::default()
        });
        s.handle_connecting(0.0);
        s.handle_open("v5.channel.k8s.io", 900.0);
        assert_eq!(s.poll_timeout(), Some(1400.0));
        s.handle_timeout(1000.0);
        assert_eq!(s.phase(), Phase::Open);
        // Off, and clocks that cannot work: nothing armed.
        for (timeout, now) in [(None, 0.0), (Some(f64::NAN), 0.0), (Some(10.0), f64::NAN)] {
            let mut s = Session::new(SessionConfig {
                connect_timeout_ms: timeout,
                ..SessionConfig::default()
            });
            s.handle_connecting(now);
            assert_eq!(s.poll_timeout(), None, "{timeout:?} {now}");
        }
    }

    #[test]
    fn readiness_disarms_the_ready_timeout() {
        let mut s = Session::new(SessionConfig {
            ready_timeout_ms: Some(500.0),
            keepalive_ms: None,
            ..SessionConfig::default()
        });
        s.handle_open("v5.channel.k8s.io", 0.0);
        assert_eq!(s.route(MessageKind::Binary, 1, 1, 0.0), Route::Ignore);
        assert_eq!(s.poll_timeout(), None);
        s.handle_timeout(10_000.0);
        assert_eq!(s.phase(), Phase::Open);
    }

    #[test]
    fn keepalive_after_silence() {
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V5],
            keepalive_ms: Some(1000.0),
            ready_timeout_ms: None,
            ..config(true, false)
        });
        s.handle_open("v5.channel.k8s.io", 0.0);
        assert_eq!(s.poll_timeout(), Some(1000.0));
        s.handle_timeout(999.0);
        assert_eq!(transmits(&mut s), vec![]);
        s.handle_timeout(1000.0);
        // An empty message: not a stdin frame (see `Transmit::keepalive`).
        assert_eq!(transmits(&mut s), vec![bin(b"")]);
        assert_eq!(s.poll_timeout(), Some(2000.0));
        // A send at 1500 moves the keepalive to 1000 ms after it.
        s.send_stdin(b"k", 1500.0).unwrap();
        assert_eq!(transmits(&mut s), vec![bin(b"\x00k")]);
        assert_eq!(s.poll_timeout(), Some(2500.0));
        s.handle_timeout(2000.0);
        assert_eq!(
            transmits(&mut s),
            vec![],
            "data was sent 500 ms ago: no keepalive"
        );
        s.handle_timeout(2500.0);
        assert_eq!(transmits(&mut s), vec![bin(b"")]);
        assert_eq!(s.poll_timeout(), Some(3500.0));
        // The stdin fast path counts as a send too.
        assert!(s.send_stdin_direct(3, 2600.0));
        assert_eq!(s.poll_timeout(), Some(3600.0));
        // After the v5 CLOSE of stdin (a send at 2700), still an empty message (never a
        // stdin frame).
        s.close_stdin(2700.0).unwrap();
        assert_eq!(transmits(&mut s), vec![bin(b"\xff\x00")]);
        s.handle_timeout(3600.0);
        assert_eq!(transmits(&mut s), vec![]);
        s.handle_timeout(3700.0);
        assert_eq!(transmits(&mut s), vec![bin(b"")]);
        // Base64 protocols get an empty text message.
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V4Base64],
            keepalive_ms: Some(5.0),
            ..SessionConfig::default()
        });
        s.handle_open("v4.base64.channel.k8s.io", 0.0);
        s.handle_timeout(5.0);
        assert_eq!(transmits(&mut s), vec![text("")]);
    }

    #[test]
    fn keepalive_is_on_by_default_and_ends_with_the_session() {
        assert_eq!(SessionConfig::default().keepalive_ms, Some(30_000.0));
        let mut s = open(Protocol::V4, false, false);
        // The ready timeout (also 30 s by default) and the keepalive.
        assert_eq!(s.poll_timeout(), Some(30_000.0));
        s.route(MessageKind::Binary, 1, 1, 0.0); // readiness: the ready timeout is off
        assert_eq!(s.poll_timeout(), Some(30_000.0));
        s.handle_timeout(30_000.0);
        assert_eq!(transmits(&mut s), vec![bin(b"")]);
        s.handle_close(1006, "", 0.0);
        assert_eq!(s.poll_timeout(), None);
        // Off: nothing armed once the socket is open and quiet.
        let mut s = Session::new(SessionConfig {
            keepalive_ms: None,
            ready_timeout_ms: None,
            ..SessionConfig::default()
        });
        s.handle_open("v5.channel.k8s.io", 0.0);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn timers_that_cannot_work_are_off() {
        for (keepalive, ready, now) in [
            (Some(0.0), Some(f64::NAN), 0.0),
            (Some(-5.0), Some(f64::INFINITY), 0.0),
            (Some(f64::NAN), Some(-1.0), 0.0),
            (Some(10.0), Some(10.0), f64::NAN),
        ] {
            let mut s = Session::new(SessionConfig {
                keepalive_ms: keepalive,
                ready_timeout_ms: ready,
                ..SessionConfig::default()
            });
            s.handle_open("v5.channel.k8s.io", now);
            assert_eq!(s.poll_timeout(), None, "{keepalive:?} {ready:?} {now}");
        }
    }

    #[test]
    fn status_is_bounded() {
        let mut s = Session::new(SessionConfig {
            offer: vec![Protocol::V5],
            max_status_bytes: 8,
            ..SessionConfig::default()
        });
        s.handle_open("v5.channel.k8s.io", 0.0);
        s.handle_binary(b"\x03{\"st", 0.0); // 4 bytes
        assert_eq!(s.phase(), Phase::Closing);
        s.handle_binary(b"\x03atus", 0.0); // 8: at the bound
        assert_eq!(s.phase(), Phase::Closing);
        s.handle_binary(b"\x03\"", 0.0); // 9: over it
        assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::ProtocolError));
        assert!(s.error().unwrap().message().contains("8 bytes"));
    }

    #[test]
    fn abort_latches() {
        let mut s = open(Protocol::V5, true, false);
        s.abort(0.0);
        let Some(Event::Failed(e)) = s.poll_event() else {
            panic!("not failed")
        };
        assert_eq!(e.code(), ErrorCode::Aborted);
        assert_eq!(
            transmits(&mut s),
            vec![Transmit::Close {
                code: 1000,
                reason: "aborted".into()
            }]
        );
        assert_eq!(s.send_stdin(b"x", 0.0), Err(e.clone()));
        assert_eq!(s.close_stdin(0.0), Err(e.clone()));
        assert_eq!(
            s.resize(TerminalSize::new(1, 1).unwrap(), 0.0),
            Err(e.clone())
        );
        s.handle_binary(b"\x01late", 0.0);
        s.handle_close(1000, "", 0.0);
        s.abort(0.0);
        assert_eq!(s.poll_event(), None);
        assert_eq!(s.error(), Some(&e));
        // Abort while connecting closes the socket too.
        let mut s = Session::new(SessionConfig::default());
        s.abort(0.0);
        assert_eq!(
            transmits(&mut s),
            vec![Transmit::Close {
                code: 1000,
                reason: "aborted".into()
            }]
        );
    }
}
