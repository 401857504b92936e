//! The session state machine, sans-IO: events in (`handle_*`), actions out (`poll_*`).
//!
//! This module is the API and its dispatch; the rest is split by concern: `config` (the
//! bounds and options), `state` (the states and every transition between them), `timers` (one
//! table of deadlines), `inbound` (classifying what arrives, collecting the status) and
//! `outbound` (what waits for the socket, framing what goes out).

mod config;
mod inbound;
mod outbound;
mod state;
#[cfg(test)]
mod tests;
mod timers;

use std::collections::VecDeque;

use crate::channel::Channel;
use crate::error::{Error, ErrorCode};
use crate::protocol::{negotiate, Protocol};
use crate::resize::TerminalSize;
use crate::status::ExitStatus;

pub use config::SessionConfig;
use inbound::Class;
use state::State;
use timers::{Timer, TimerTable};

#[cfg(doc)]
use crate::frame::MAX_FRAME_LEN;

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
/// - The four timers (connect, ready, close wait, keepalive) are one table of deadlines;
///   `poll_timeout` is the earliest, and every end stops them all.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    protocol: Option<Protocol>,
    /// The status bytes collected from the error channel.
    status: Vec<u8>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    timers: TimerTable,
}

/// A protocol's name for messages (`Protocol::None` has the empty name).
fn shown(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::None => "the empty subprotocol",
        p => p.name(),
    }
}

impl Session {
    /// A session that waits for the socket to open. An invalid configuration (an offer with
    /// [`Protocol::None`] or a duplicate) fails it at once with `InvalidOptions`.
    pub fn new(config: SessionConfig) -> Session {
        let mut session = Session {
            config: config.normalised(),
            state: State::opening(),
            protocol: None,
            status: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            timers: TimerTable::default(),
        };
        if let Err(e) = session.config.check_offer() {
            session.finish(Err(e), None);
        }
        session
    }

    /// The phase the session is in.
    pub fn phase(&self) -> Phase {
        self.state.phase()
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
        self.state.error()
    }

    /// The session has ended (exited or failed).
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }

    /// The glue started opening the socket (right after `new WebSocket`) at `now_ms`: arms
    /// the connect timeout (`connect_timeout_ms`), so that a server or proxy that holds the
    /// handshake forever fails the session with `Timeout` instead of leaving it opening.
    /// Ignored unless the session is opening.
    pub fn handle_connecting(&mut self, now_ms: f64) {
        if self.state.is_opening() {
            self.timers
                .arm(Timer::Connect, now_ms, self.config.connect_timeout_ms);
        }
    }

    /// The socket opened at `now_ms`; `answer` is `WebSocket.protocol`. Ignored unless the
    /// session is opening.
    pub fn handle_open(&mut self, answer: &str, now_ms: f64) {
        // The socket is open from here on, whatever the answer.
        let Some(queue) = self.state.open() else {
            return;
        };
        self.timers.stop(Timer::Connect);
        let protocol = match negotiate(&self.config.offer, answer) {
            Ok(p) => p,
            Err(e) => return self.fail_protocol(e),
        };
        self.protocol = Some(protocol);
        self.events.push_back(Event::Opened(protocol));
        self.timers
            .arm(Timer::Ready, now_ms, self.config.ready_timeout_ms);
        self.timers
            .arm(Timer::Keepalive, now_ms, self.config.keepalive_ms);
        self.flush(queue, protocol, now_ms);
    }

    /// Routes a message received at `now_ms` by its kind, first byte (ignored when
    /// `len == 0`; for text, the first UTF-16 code unit clamped to 255) and length (bytes; for
    /// text, UTF-16 code units), without looking at the payload.
    ///
    /// [`Route::Stdout`]/[`Route::Stderr`]: the glue hands the payload to the consumer and
    /// must not pass the message to the session (on base64 protocols, if decoding fails, pass
    /// it to [`Session::handle_text`], which fails the session). [`Route::Deliver`]: pass
    /// the whole message to `handle_binary`/`handle_text`. [`Route::Ignore`]: drop it (it may
    /// have failed the session: drain `poll_event`).
    pub fn route(&mut self, kind: MessageKind, first_byte: u8, len: usize, now_ms: f64) -> Route {
        match self.classify(kind, first_byte, len, now_ms) {
            Class::Ignore => Route::Ignore,
            Class::Output(Channel::Stdout) => Route::Stdout,
            Class::Output(_) => Route::Stderr,
            Class::Status => Route::Deliver,
        }
    }

    /// A binary message received at `now_ms`, all of it (channel byte included).
    /// Stdout/stderr data comes out as [`Event::Output`].
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

    /// A text message (base64 protocols) received at `now_ms`, all of it. Stdout/stderr data
    /// comes out decoded as [`Event::Output`].
    pub fn handle_text(&mut self, message: &str, now_ms: f64) {
        let first = message.as_bytes().first().copied().unwrap_or(0);
        let class = self.classify(MessageKind::Text, first, message.len(), now_ms);
        if matches!(class, Class::Ignore) {
            return;
        }
        let decoded = match crate::frame::decode_base64(message) {
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

    /// The socket closed with `code` (1006 for a failed handshake or a cut connection) and
    /// `reason`, at `now_ms`. Ends the session: [`Event::Exited`] or [`Event::Failed`].
    pub fn handle_close(&mut self, code: u16, reason: &str, _now_ms: f64) {
        if self.state.is_finished() {
            return;
        }
        let how = if reason.is_empty() {
            format!("close code {code}")
        } else {
            let reason: String = reason.chars().take(80).collect();
            format!("close code {code}, \"{reason}\"")
        };
        let outcome = if self.state.is_opening() {
            Err(Session::outcome_before_open(code, &how))
        } else {
            self.outcome_at_close(code, &how)
        };
        // The socket is closed: nothing to send.
        self.finish(outcome, None);
    }

    /// The socket reported an error at `now_ms`. Before open it fails the session
    /// (`ConnectFailed`); after, the `close` that follows in browsers ends it.
    pub fn handle_error(&mut self, _now_ms: f64) {
        if self.state.is_opening() {
            let error = Error::new(
                ErrorCode::ConnectFailed,
                "the WebSocket connection failed before it opened",
            );
            self.finish(Err(error), None);
        }
    }

    /// Time passed; call at (or after) [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.fire_timers(now_ms);
    }

    /// When to call [`Session::handle_timeout`] next (same clock as `now_ms`), if ever.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.timers.next()
    }

    /// Writes stdin at `now_ms`: queued before open (in constant time per call: consecutive
    /// writes are merged, and the open sends them as the fewest frames `max_stdin_frame`
    /// allows, in order with queued resizes and the close), sent as frames of at most
    /// `max_stdin_frame` bytes after. Empty data sends nothing.
    pub fn send_stdin(&mut self, data: &[u8], now_ms: f64) -> Result<(), Error> {
        self.write_stdin(data, now_ms)
    }

    /// The stdin fast path: whether `len` bytes of stdin may go out right now as ONE binary
    /// frame `[0, ...bytes]` that the caller builds and sends itself (no `poll_transmit`).
    /// True only when [`Session::send_stdin`] would send exactly that frame at once: open,
    /// stdin requested and not closed, a binary protocol, nothing queued before it, and
    /// `0 < len <= max_stdin_frame`; the session then counts the bytes as sent at `now_ms`
    /// (the keepalive waits for `keepalive_ms` of silence from then).
    /// False: use `send_stdin` (which queues, splits, refuses or encodes base64).
    pub fn send_stdin_direct(&mut self, len: usize, now_ms: f64) -> bool {
        self.write_stdin_direct(len, now_ms)
    }

    /// Closes stdin alone at `now_ms`: the v5 CLOSE signal `[0xFF, 0x00]` (the process sees
    /// EOF). Idempotent. On protocols without half-close, [`ErrorCode::HalfCloseUnsupported`]
    /// (the session goes on). Before open it is queued only if every offered protocol can
    /// half-close, else `NotOpen`.
    pub fn close_stdin(&mut self, now_ms: f64) -> Result<(), Error> {
        self.write_close_stdin(now_ms)
    }

    /// Sends a terminal size at `now_ms` (needs `tty`, else `InvalidOptions`); queued before
    /// open.
    pub fn resize(&mut self, size: TerminalSize, now_ms: f64) -> Result<(), Error> {
        self.write_resize(size, now_ms)
    }

    /// Ends the session with `Aborted`, asking to close the socket (code 1000; a socket still
    /// connecting too). A no-op once the session has ended.
    pub fn abort(&mut self, _now_ms: f64) {
        let error = Error::new(ErrorCode::Aborted, "the session was aborted");
        self.finish(Err(error), Some((close_code::NORMAL, "aborted")));
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Ends the session, once: `Ok` exits with the server's status, `Err` fails with an error
    /// that latches. What waited to be sent is dropped, every timer stops, and with `close`
    /// the socket is asked to close (one still connecting too: browsers allow it).
    fn finish(&mut self, outcome: Result<ExitStatus, Error>, close: Option<(u16, &str)>) {
        if self.state.is_finished() {
            return;
        }
        self.transmits.clear();
        if let Some((code, reason)) = close {
            self.transmits.push_back(Transmit::Close {
                code,
                reason: reason.to_string(),
            });
        }
        self.timers.stop_all();
        self.status = Vec::new();
        match outcome {
            Ok(status) => {
                self.events.push_back(Event::Exited(status));
                self.state.finish(Ok(()));
            }
            Err(error) => {
                self.events.push_back(Event::Failed(error.clone()));
                self.state.finish(Err(error));
            }
        }
    }
}
