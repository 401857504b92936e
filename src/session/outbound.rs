//! What the session sends: the caller's stdin, resizes and stdin close, queued while the
//! socket opens ([`Queue`]) and framed for the negotiated protocol after.

use super::timers::Timer;
use super::{close_code, shown, Session, Transmit};
use crate::channel::Channel;
use crate::error::{Error, ErrorCode};
use crate::frame::{self, MAX_CLIENT_BASE64_PAYLOAD};
use crate::protocol::Protocol;
use crate::resize::TerminalSize;

/// What the caller wrote before the socket opened, in order. Consecutive stdin writes share
/// one `Stdin` entry (sent as the fewest frames `max_stdin_frame` allows); a resize or the
/// close between them starts a new one, so the order on the wire stays the order of the calls.
#[derive(Debug)]
enum Pending {
    Stdin(Vec<u8>),
    Resize(TerminalSize),
    CloseStdin,
}

/// The writes waiting for the socket to open, at most `max_pending_bytes` of them.
#[derive(Debug, Default)]
pub(super) struct Queue {
    items: Vec<Pending>,
    bytes: usize,
    /// `close_stdin` was queued (a flag, so that no write has to scan `items`).
    stdin_closed: bool,
}

impl Queue {
    pub(super) fn stdin_closed(&self) -> bool {
        self.stdin_closed
    }

    /// Counts `len` more bytes against `max`, or refuses with `BufferFull`.
    fn reserve(&mut self, len: usize, max: usize) -> Result<(), Error> {
        if self.bytes.saturating_add(len) > max {
            return Err(Error::new(
                ErrorCode::BufferFull,
                format!("more than {max} bytes written before the socket opened"),
            ));
        }
        self.bytes += len;
        Ok(())
    }

    /// Queues stdin (in constant time: appended to the previous write when it was stdin).
    fn push_stdin(&mut self, data: &[u8], max: usize) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.reserve(data.len(), max)?;
        match self.items.last_mut() {
            Some(Pending::Stdin(queued)) => queued.extend_from_slice(data),
            _ => self.items.push(Pending::Stdin(data.to_vec())),
        }
        Ok(())
    }

    fn push_resize(&mut self, size: TerminalSize, max: usize) -> Result<(), Error> {
        self.reserve(size.to_json().len(), max)?;
        self.items.push(Pending::Resize(size));
        Ok(())
    }

    /// Queues the close of stdin; idempotent.
    fn push_close_stdin(&mut self) {
        if !self.stdin_closed {
            self.stdin_closed = true;
            self.items.push(Pending::CloseStdin);
        }
    }
}

fn not_open(message: &str) -> Error {
    Error::new(ErrorCode::NotOpen, message)
}

fn stdin_not_requested() -> Error {
    Error::new(
        ErrorCode::InvalidOptions,
        "stdin was not requested for this session",
    )
}

impl Session {
    /// Refusal for a user call on a finished session: the latched error, or `NotOpen`.
    fn finished_error(&self) -> Option<Error> {
        if let Some(e) = self.state.error() {
            return Some(e.clone());
        }
        self.state
            .is_finished()
            .then(|| not_open("the session has ended"))
    }

    /// Sends what was queued before the socket opened, at open (`now_ms`), in order.
    pub(super) fn flush(&mut self, queue: Queue, protocol: Protocol, now_ms: f64) {
        for item in queue.items {
            match item {
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
                    return self.finish(Err(e), Some((close_code::OTHER, "cannot close stdin")));
                }
            }
        }
    }

    pub(super) fn write_stdin(&mut self, data: &[u8], now_ms: f64) -> Result<(), Error> {
        if let Some(e) = self.finished_error() {
            return Err(e);
        }
        if !self.config.stdin {
            return Err(stdin_not_requested());
        }
        if self.state.stdin_closed() {
            return Err(not_open("stdin is closed"));
        }
        let max = self.config.max_pending_bytes;
        match self.state.queue_mut() {
            Some(queue) => queue.push_stdin(data, max),
            None => {
                self.transmit_stdin(data, now_ms);
                Ok(())
            }
        }
    }

    pub(super) fn write_stdin_direct(&mut self, len: usize, now_ms: f64) -> bool {
        let ok = self.state.can_send_stdin()
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

    pub(super) fn write_close_stdin(&mut self, now_ms: f64) -> Result<(), Error> {
        if let Some(e) = self.finished_error() {
            return Err(e);
        }
        if !self.config.stdin {
            return Err(stdin_not_requested());
        }
        let offer = &self.config.offer;
        let all_half_close = !offer.is_empty() && offer.iter().all(|p| p.can_half_close());
        if let Some(queue) = self.state.queue_mut() {
            if !all_half_close {
                return Err(not_open(
                    "wait for the session to open: not every offered protocol can close stdin alone",
                ));
            }
            queue.push_close_stdin();
            return Ok(());
        }
        let protocol = self.protocol.unwrap_or(Protocol::None);
        if !protocol.can_half_close() {
            return Err(Error::new(
                ErrorCode::HalfCloseUnsupported,
                format!(
                    "{} cannot close stdin alone (only v5.channel.k8s.io can); closing the socket would lose the output and the exit status",
                    shown(protocol)
                ),
            ));
        }
        if !self.state.stdin_closed() {
            self.transmit_close_stdin(now_ms);
        }
        Ok(())
    }

    pub(super) fn write_resize(&mut self, size: TerminalSize, now_ms: f64) -> Result<(), Error> {
        if let Some(e) = self.finished_error() {
            return Err(e);
        }
        if !self.config.tty {
            return Err(Error::new(
                ErrorCode::InvalidOptions,
                "resize needs a TTY (tty: true): without one nothing reads the sizes and the server's reader can block",
            ));
        }
        let max = self.config.max_pending_bytes;
        match self.state.queue_mut() {
            Some(queue) => queue.push_resize(size, max),
            None => {
                self.transmit_resize(size, now_ms);
                Ok(())
            }
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
        self.transmits.push_back(t);
        self.note_sent(now_ms);
    }

    /// The v5 CLOSE signal for stdin, `[0xFF, 0x00]`.
    fn transmit_close_stdin(&mut self, now_ms: f64) {
        let mut out = Vec::with_capacity(2);
        frame::encode_close(Channel::Stdin, &mut out);
        self.transmits.push_back(Transmit::Binary(out));
        self.note_sent(now_ms);
        self.state.close_stdin();
    }

    /// Something went out at `now_ms`: the keepalive's wait for silence starts again.
    fn note_sent(&mut self, now_ms: f64) {
        if self.timers.is_armed(Timer::Keepalive) {
            self.timers
                .arm(Timer::Keepalive, now_ms, self.config.keepalive_ms);
        }
    }
}
