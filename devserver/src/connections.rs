//! The connections the server holds, against `--max-connections`, and what a handler knows of
//! the one its request came on.

use crate::session::PeerSocket;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The connections the server holds, against `--max-connections`.
pub struct Connections {
    open: AtomicUsize,
    max: usize,
    /// Connections over the limit being answered 429 right now (bounded too).
    refusing: AtomicUsize,
}

/// Connections over the limit that may be answered at once; beyond, they are closed unanswered.
const MAX_REFUSING: usize = 64;

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            open: AtomicUsize::new(0),
            max,
            refusing: AtomicUsize::new(0),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for one more connection, if there is room.
    pub fn take(self: &Arc<Self>) -> Option<Arc<Slot>> {
        Self::claim(&self.open, self.max).then(|| Arc::new(Slot(self.clone(), false)))
    }

    /// A place for answering one connection over the limit (429), if there is room.
    pub fn take_refusal(self: &Arc<Self>) -> Option<Slot> {
        Self::claim(&self.refusing, MAX_REFUSING).then(|| Slot(self.clone(), true))
    }

    fn claim(counter: &AtomicUsize, max: usize) -> bool {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }
}

/// One connection's place, given back when the connection and any session on it are done.
pub struct Slot(Arc<Connections>, bool);

impl Drop for Slot {
    fn drop(&mut self) {
        let counter = if self.1 {
            &self.0.refusing
        } else {
            &self.0.open
        };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One client connection, as the handlers see it.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    /// The TCP socket, for the session to watch for hang-ups.
    pub socket: PeerSocket,
    /// Held by the connection and by a session on it.
    pub slot: Arc<Slot>,
}
