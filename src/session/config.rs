//! The bounds and options of a session.

use crate::error::{Error, ErrorCode};
use crate::frame::{MAX_CLIENT_MESSAGE, MAX_FRAME_LEN};
use crate::protocol::{Protocol, DEFAULT_OFFER};
use crate::request::ExecRequest;

#[cfg(doc)]
use super::{Session, Transmit};
#[cfg(doc)]
use crate::frame::MAX_CLIENT_BASE64_PAYLOAD;

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

    /// The configuration as the session uses it: timers that could never fire, or would fire
    /// in a busy loop, are off; the stdin frame size is within 1 and half a frame.
    pub(super) fn normalised(mut self) -> SessionConfig {
        self.max_stdin_frame = self.max_stdin_frame.clamp(1, MAX_FRAME_LEN / 2);
        let usable = |min: f64| move |t: &f64| t.is_finite() && *t >= min;
        self.keepalive_ms = self.keepalive_ms.filter(usable(1.0));
        self.ready_timeout_ms = self.ready_timeout_ms.filter(usable(0.0));
        self.status_close_timeout_ms = self.status_close_timeout_ms.filter(usable(0.0));
        self.connect_timeout_ms = self.connect_timeout_ms.filter(usable(0.0));
        self
    }

    /// An offer with [`Protocol::None`] or a duplicate is `InvalidOptions`.
    pub(super) fn check_offer(&self) -> Result<(), Error> {
        let offer = &self.offer;
        let bad = offer
            .iter()
            .enumerate()
            .find(|(i, p)| **p == Protocol::None || offer[..*i].contains(p));
        match bad {
            None => Ok(()),
            Some((_, Protocol::None)) => Err(Error::new(
                ErrorCode::InvalidOptions,
                "the empty subprotocol cannot be offered",
            )),
            Some((_, p)) => Err(Error::new(
                ErrorCode::InvalidOptions,
                format!("subprotocol {} offered twice", p.name()),
            )),
        }
    }
}
