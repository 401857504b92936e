//! What the session receives: each message classified from its kind, first byte and length;
//! the status collected from the error channel and read when the socket closes.

use super::timers::Timer;
use super::{close_code, shown, MessageKind, Session};
use crate::channel::{Channel, CLOSE_SIGNAL};
use crate::error::metav1;
use crate::error::{Error, ErrorCode};
use crate::frame::MAX_FRAME_LEN;
use crate::protocol::Protocol;
use crate::status::ExitStatus;

/// How a received message is classified.
pub(super) enum Class {
    /// Nothing to do (readiness, an empty message, the session has ended or just failed).
    Ignore,
    /// Stdout or stderr data.
    Output(Channel),
    /// Status bytes on the error channel.
    Status,
}

pub(super) fn protocol_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ProtocolError, message)
}

impl Session {
    /// Classifies a message received at `now_ms`, failing the session on a protocol error.
    pub(super) fn classify(
        &mut self,
        kind: MessageKind,
        first: u8,
        len: usize,
        now_ms: f64,
    ) -> Class {
        if self.state.is_finished() {
            return Class::Ignore;
        }
        if self.state.is_opening() {
            // The glue has not reported the socket open: nothing to close.
            self.finish(
                Err(protocol_error("message before the socket opened")),
                None,
            );
            return Class::Ignore;
        }
        self.timers.stop(Timer::Ready);
        if self.state.is_closing() {
            self.timers.arm(
                Timer::CloseWait,
                now_ms,
                self.config.status_close_timeout_ms,
            );
        }
        if len == 0 {
            return Class::Ignore;
        }
        if len > MAX_FRAME_LEN {
            return self.broken(format!(
                "message of {len} bytes exceeds the 32 MiB frame limit"
            ));
        }
        let protocol = self.protocol.unwrap_or(Protocol::None);
        let channel = match (kind, protocol.is_base64()) {
            (MessageKind::Binary, false) => Channel::from_byte(first),
            (MessageKind::Text, true) => Channel::from_digit(first),
            (MessageKind::Text, false) => {
                return self.broken(format!(
                    "text message on the binary protocol {}",
                    shown(protocol)
                ));
            }
            (MessageKind::Binary, true) => {
                return self.broken(format!(
                    "binary message on the base64 protocol {}",
                    shown(protocol)
                ));
            }
        };
        let Some(channel) = channel else {
            return self.broken(if kind == MessageKind::Binary && first == CLOSE_SIGNAL {
                "the server sent a close signal".to_string()
            } else if kind == MessageKind::Binary {
                format!("unknown channel {first}")
            } else {
                format!("unknown channel in base64 frame (first byte {first:#04x})")
            });
        };
        if len == 1 {
            // Readiness, or any other empty payload: never a signal.
            return Class::Ignore;
        }
        match channel {
            Channel::Stdout | Channel::Stderr => Class::Output(channel),
            Channel::Error => Class::Status,
            Channel::Stdin | Channel::Resize => self.broken(format!(
                "the server sent data on the {} channel",
                channel.name()
            )),
        }
    }

    /// The server broke the protocol: fail, close with 4002.
    pub(super) fn fail_protocol(&mut self, error: Error) {
        self.finish(
            Err(error),
            Some((close_code::PROTOCOL_ERROR, "protocol error")),
        );
    }

    fn broken(&mut self, message: String) -> Class {
        self.fail_protocol(protocol_error(message));
        Class::Ignore
    }

    /// Status bytes from the error channel, received at `now_ms`: kept (at most
    /// `max_status_bytes`) until the socket closes; the close wait starts.
    pub(super) fn collect_status(&mut self, payload: &[u8], now_ms: f64) {
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
        self.timers.arm(
            Timer::CloseWait,
            now_ms,
            self.config.status_close_timeout_ms,
        );
        self.state.status_arrived();
    }

    /// How a session that was open ends when its socket closes with `code` (`how` describes
    /// the close for messages).
    pub(super) fn outcome_at_close(&self, code: u16, how: &str) -> Result<ExitStatus, Error> {
        let protocol = self.protocol.unwrap_or(Protocol::None);
        if !self.status.is_empty() {
            return match self.parse_status() {
                Ok(s) => Ok(s),
                Err(e) if code == close_code::NORMAL => Err(e),
                Err(_) => Err(Error::new(
                    ErrorCode::ConnectionLost,
                    format!("the connection closed with an incomplete status ({how})"),
                )),
            };
        }
        if !protocol.status_is_json() && code == close_code::NORMAL {
            // v1: nothing on the error channel is success.
            return Ok(ExitStatus::Success);
        }
        Err(Error::new(
            ErrorCode::ConnectionLost,
            format!("the connection closed without an exit status ({how})"),
        ))
    }

    /// How a session that was opening ends when its socket closes.
    pub(super) fn outcome_before_open(code: u16, how: &str) -> Error {
        if code != close_code::NORMAL {
            // A failed handshake closes with 1006.
            return Error::new(
                ErrorCode::ConnectFailed,
                format!("the WebSocket handshake failed ({how})"),
            );
        }
        // A normal close before `open` means the server accepted the socket and already
        // ended the session: Firefox reports only that close when the 101 response, the
        // output, the status and the close arrive together (the Kubernetes servers close TCP
        // right after their close frame).
        Error::new(
            ErrorCode::ConnectionLost,
            format!(
                "the server ended the session before the browser reported the socket open ({how}): its output and exit status never reached the page"
            ),
        )
        .with_hint(
            "the command most likely ran and ended at once; this browser (Firefox) drops what arrives together with the handshake: make the command wait for its input, or use another browser",
        )
    }

    /// The collected error-channel bytes, parsed for the negotiated protocol.
    fn parse_status(&self) -> Result<ExitStatus, Error> {
        if self.protocol.unwrap_or(Protocol::None).status_is_json() {
            metav1::parse_json(&self.status)
        } else {
            metav1::parse_text(&self.status)
        }
    }

    /// The close wait fell due: the status is complete and the server never closed.
    pub(super) fn end_without_close(&mut self) {
        match self.parse_status() {
            Ok(s) => self.finish(Ok(s), Some((close_code::NORMAL, "exited"))),
            Err(e) => self.fail_protocol(protocol_error(format!(
                "{}; and the server did not close the connection",
                e.message()
            ))),
        }
    }
}
