//! A scripted peer for the core's integration tests: plays the browser glue (routed, as
//! src/web does, or native through `handle_*` only) and the server's side of the socket.
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use kube_exec_wasm::{
    Channel, Error, ErrorCode, Event, ExitStatus, MessageKind, Phase, Protocol, Route, Session,
    SessionConfig, Transmit,
};

/// How the glue hands received messages to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glue {
    /// Like the browser glue: `route` first; stdout/stderr payloads never enter the session.
    Routed,
    /// Every message through `handle_binary` / `handle_text`.
    Native,
}

pub const GLUES: [Glue; 2] = [Glue::Routed, Glue::Native];

/// A session and everything it produced, driven like the glue drives it.
pub struct Pair {
    pub session: Session,
    pub glue: Glue,
    pub now: f64,
    /// Every message the session asked to send, in order.
    pub sent: Vec<Transmit>,
    /// Every event but output, in order.
    pub events: Vec<Event>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Output events (native) or routed payloads, one entry per frame.
    pub output_frames: usize,
}

impl Pair {
    pub fn new(config: SessionConfig, glue: Glue) -> Pair {
        let mut pair = Pair {
            session: Session::new(config),
            glue,
            now: 0.0,
            sent: Vec::new(),
            events: Vec::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            output_frames: 0,
        };
        pair.drain();
        pair
    }

    pub fn drain(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            self.sent.push(t);
        }
        while let Some(e) = self.session.poll_event() {
            match e {
                Event::Output { channel, data } => {
                    assert!(!data.is_empty(), "empty output event");
                    self.output(channel, &data)
                }
                other => self.events.push(other),
            }
        }
    }

    fn output(&mut self, channel: Channel, data: &[u8]) {
        self.output_frames += 1;
        match channel {
            Channel::Stdout => self.stdout.extend_from_slice(data),
            Channel::Stderr => self.stderr.extend_from_slice(data),
            other => panic!("output on {other:?}"),
        }
    }

    pub fn open(&mut self, answer: &str) {
        self.session.handle_open(answer, self.now);
        self.drain();
    }

    /// The server sends a binary message.
    pub fn recv_binary(&mut self, msg: &[u8]) {
        match self.glue {
            Glue::Native => self.session.handle_binary(msg, self.now),
            Glue::Routed => {
                let first = msg.first().copied().unwrap_or(0);
                match self
                    .session
                    .route(MessageKind::Binary, first, msg.len(), self.now)
                {
                    Route::Stdout => self.output(Channel::Stdout, &msg[1..]),
                    Route::Stderr => self.output(Channel::Stderr, &msg[1..]),
                    Route::Deliver => self.session.handle_binary(msg, self.now),
                    Route::Ignore => {}
                }
            }
        }
        self.drain();
    }

    /// The server sends a text message.
    pub fn recv_text(&mut self, msg: &str) {
        match self.glue {
            Glue::Native => self.session.handle_text(msg, self.now),
            Glue::Routed => {
                let units: Vec<u16> = msg.encode_utf16().collect();
                let first = units.first().map_or(0, |u| (*u).min(255) as u8);
                match self
                    .session
                    .route(MessageKind::Text, first, units.len(), self.now)
                {
                    r @ (Route::Stdout | Route::Stderr) => {
                        // What `Uint8Array.fromBase64(text.slice(1))` does in the glue.
                        match STANDARD.decode(&msg.as_bytes()[1..]) {
                            Ok(bytes) => {
                                let ch = if r == Route::Stdout {
                                    Channel::Stdout
                                } else {
                                    Channel::Stderr
                                };
                                self.output(ch, &bytes)
                            }
                            Err(_) => self.session.handle_text(msg, self.now),
                        }
                    }
                    Route::Deliver => self.session.handle_text(msg, self.now),
                    Route::Ignore => {}
                }
            }
        }
        self.drain();
    }

    /// The server sends a frame on `channel`, encoded for the negotiated protocol.
    pub fn recv(&mut self, channel: Channel, payload: &[u8]) {
        let protocol = self.session.protocol().expect("open");
        if protocol.is_base64() {
            let mut s = String::new();
            kube_exec_wasm::encode_base64(channel, payload, &mut s);
            self.recv_text(&s);
        } else {
            let mut v = Vec::new();
            kube_exec_wasm::encode_binary(channel, payload, &mut v);
            self.recv_binary(&v);
        }
    }

    pub fn close(&mut self, code: u16) {
        self.session.handle_close(code, "", self.now);
        self.drain();
    }

    pub fn error(&mut self) {
        self.session.handle_error(self.now);
        self.drain();
    }

    /// Lets `ms` pass, firing every timer that falls due, as a glue's `setTimeout` would.
    pub fn advance(&mut self, ms: f64) {
        let end = self.now + ms;
        while let Some(t) = self.session.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.session.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    pub fn stdin(&mut self, data: &[u8]) -> Result<(), Error> {
        let r = self.session.send_stdin(data, self.now);
        self.drain();
        r
    }

    pub fn close_stdin(&mut self) -> Result<(), Error> {
        let r = self.session.close_stdin(self.now);
        self.drain();
        r
    }

    /// Takes the messages sent so far.
    pub fn take_sent(&mut self) -> Vec<Transmit> {
        std::mem::take(&mut self.sent)
    }

    /// The terminal event, if the session ended; asserts there is at most one.
    pub fn end(&self) -> Option<&Event> {
        let ends: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Exited(_) | Event::Failed(_)))
            .collect();
        assert!(ends.len() <= 1, "more than one end: {ends:?}");
        ends.first().copied()
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self.end() {
            Some(Event::Exited(s)) => s.clone(),
            other => panic!("{:?}: not exited: {other:?}", self.glue),
        }
    }

    pub fn failure(&self) -> Error {
        match self.end() {
            Some(Event::Failed(e)) => {
                assert_eq!(self.session.phase(), Phase::Failed);
                assert_eq!(self.session.error(), Some(e));
                e.clone()
            }
            other => panic!("{:?}: not failed: {other:?}", self.glue),
        }
    }

    pub fn failure_code(&self) -> ErrorCode {
        self.failure().code()
    }
}

/// A config offering `offer`, with stdin/tty as given, no timers.
pub fn config(offer: &[Protocol], stdin: bool, tty: bool) -> SessionConfig {
    SessionConfig {
        offer: offer.to_vec(),
        stdin,
        tty,
        ready_timeout_ms: None,
        ..SessionConfig::default()
    }
}

pub const SUCCESS: &[u8] = br#"{"metadata":{},"status":"Success"}"#;

pub fn exit_json(code: u32) -> Vec<u8> {
    format!(
        r#"{{"metadata":{{}},"status":"Failure","message":"command terminated with non-zero exit code: exit status {code}","reason":"NonZeroExitCode","details":{{"causes":[{{"reason":"ExitCode","message":"{code}"}}]}}}}"#
    )
    .into_bytes()
}

pub fn bin(bytes: &[u8]) -> Transmit {
    Transmit::Binary(bytes.to_vec())
}
