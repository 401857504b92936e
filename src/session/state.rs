//! The session's state and every transition between states, in one place (the diagram is on
//! [`Session`](super::Session)). The variants are private to this module, so no other part
//! of the session can move it; each transition asserts (in debug builds) the states it may
//! leave.

use super::outbound::Queue;
use super::Phase;
use crate::error::Error;

/// Where the session is. Only the methods below change it.
#[derive(Debug)]
pub(super) struct State(Inner);

#[derive(Debug)]
enum Inner {
    /// Waiting for the socket; what the caller writes is queued.
    Opening(Queue),
    Open,
    /// Open, stdin closed with the v5 CLOSE signal.
    StdinClosed,
    /// The status is arriving on the error channel; waiting for the socket to close.
    Closing {
        stdin_closed: bool,
    },
    Exited,
    Failed(Error),
}

impl State {
    /// A session waiting for its socket, nothing queued.
    pub(super) fn opening() -> State {
        State(Inner::Opening(Queue::default()))
    }

    /// Opening → Open: the socket opened. Returns what was queued for it; `None` (and no
    /// change) unless opening.
    pub(super) fn open(&mut self) -> Option<Queue> {
        let Inner::Opening(queue) = &mut self.0 else {
            return None;
        };
        let queue = core::mem::take(queue);
        self.0 = Inner::Open;
        Some(queue)
    }

    /// Open → StdinClosed, Closing → Closing with stdin closed: the CLOSE signal was sent.
    pub(super) fn close_stdin(&mut self) {
        debug_assert!(self.can_send_stdin(), "close stdin from {:?}", self.phase());
        match &mut self.0 {
            Inner::Open => self.0 = Inner::StdinClosed,
            Inner::Closing { stdin_closed } => *stdin_closed = true,
            _ => {}
        }
    }

    /// Open, StdinClosed or Closing → Closing: status bytes arrived on the error channel.
    pub(super) fn status_arrived(&mut self) {
        let stdin_closed = match self.0 {
            Inner::Open => false,
            Inner::StdinClosed => true,
            Inner::Closing { stdin_closed } => stdin_closed,
            _ => {
                debug_assert!(false, "status from {:?}", self.phase());
                return;
            }
        };
        self.0 = Inner::Closing { stdin_closed };
    }

    /// Any unfinished state → Exited (`Ok`) or Failed (`Err`, which latches).
    pub(super) fn finish(&mut self, outcome: Result<(), Error>) {
        debug_assert!(!self.is_finished(), "finish from {:?}", self.phase());
        if self.is_finished() {
            return; // the first end latches
        }
        self.0 = match outcome {
            Ok(()) => Inner::Exited,
            Err(e) => Inner::Failed(e),
        };
    }

    /// The public face of the state.
    pub(super) fn phase(&self) -> Phase {
        match self.0 {
            Inner::Opening(_) => Phase::Opening,
            Inner::Open => Phase::Open,
            Inner::StdinClosed => Phase::StdinClosed,
            Inner::Closing { .. } => Phase::Closing,
            Inner::Exited => Phase::Exited,
            Inner::Failed(_) => Phase::Failed,
        }
    }

    pub(super) fn is_opening(&self) -> bool {
        matches!(self.0, Inner::Opening(_))
    }

    /// The queue of writes waiting for the socket, while opening.
    pub(super) fn queue_mut(&mut self) -> Option<&mut Queue> {
        match &mut self.0 {
            Inner::Opening(queue) => Some(queue),
            _ => None,
        }
    }

    pub(super) fn is_closing(&self) -> bool {
        matches!(self.0, Inner::Closing { .. })
    }

    /// Stdin frames go out now: open, and stdin not closed.
    pub(super) fn can_send_stdin(&self) -> bool {
        matches!(
            self.0,
            Inner::Open
                | Inner::Closing {
                    stdin_closed: false
                }
        )
    }

    /// Stdin was closed (queued while opening, or sent).
    pub(super) fn stdin_closed(&self) -> bool {
        match &self.0 {
            Inner::Opening(queue) => queue.stdin_closed(),
            Inner::StdinClosed | Inner::Closing { stdin_closed: true } => true,
            _ => false,
        }
    }

    /// The session has ended (exited or failed).
    pub(super) fn is_finished(&self) -> bool {
        matches!(self.0, Inner::Exited | Inner::Failed(_))
    }

    /// The latched error, if the session failed.
    pub(super) fn error(&self) -> Option<&Error> {
        match &self.0 {
            Inner::Failed(e) => Some(e),
            _ => None,
        }
    }
}
