//! The session's timers: one table of deadlines (ms, on the caller's clock), the earliest of
//! which is [`Session::poll_timeout`](super::Session::poll_timeout), and what each does when
//! [`Session::handle_timeout`](super::Session::handle_timeout) finds it expired.

use super::Transmit;
use super::{close_code, Session};
use crate::error::{Error, ErrorCode};
use crate::protocol::Protocol;

/// A kind of timer. At most one deadline each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// The socket must open within `connect_timeout_ms` of `handle_connecting` (armed only
    /// while opening).
    Connect,
    /// A first message must arrive within `ready_timeout_ms` of open (stopped by any message).
    Ready,
    /// Once the status arrived, the socket must close within `status_close_timeout_ms` of the
    /// latest message (restarted by each).
    CloseWait,
    /// Send a keepalive after `keepalive_ms` of outgoing silence (restarted by each send).
    Keepalive,
}

impl Timer {
    /// Every timer, in the order an expired one fires: those that end the session first.
    const ALL: [Timer; 4] = [
        Timer::Connect,
        Timer::Ready,
        Timer::CloseWait,
        Timer::Keepalive,
    ];
}

/// A deadline per [`Timer`]; `None` is stopped.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TimerTable {
    deadlines: [Option<f64>; Timer::ALL.len()],
}

impl TimerTable {
    /// Arms `timer` `after` ms from `now`; stops it when `after` is `None` (the timer is off)
    /// or the deadline is not finite (a clock that cannot time it).
    pub(super) fn arm(&mut self, timer: Timer, now: f64, after: Option<f64>) {
        self.deadlines[timer as usize] = after.map(|t| now + t).filter(|d| d.is_finite());
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(super) fn stop_all(&mut self) {
        self.deadlines = [None; Timer::ALL.len()];
    }

    pub(super) fn is_armed(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize].is_some()
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<f64> {
        self.deadlines.iter().flatten().copied().reduce(f64::min)
    }

    /// Stops and returns the timers whose deadline is at or before `now`, in firing order.
    fn take_expired(&mut self, now: f64) -> [Option<Timer>; Timer::ALL.len()] {
        let mut expired = [None; Timer::ALL.len()];
        for (slot, timer) in expired.iter_mut().zip(Timer::ALL) {
            if self.deadlines[timer as usize].is_some_and(|d| d <= now) {
                self.deadlines[timer as usize] = None;
                *slot = Some(timer);
            }
        }
        expired
    }
}

impl Session {
    /// Fires every expired timer, in [`Timer::ALL`] order; one that ends the session stops
    /// the rest.
    pub(super) fn fire_timers(&mut self, now_ms: f64) {
        for timer in self.timers.take_expired(now_ms).into_iter().flatten() {
            if self.state.is_finished() {
                return;
            }
            match timer {
                Timer::Connect => {
                    let after = self.config.connect_timeout_ms.unwrap_or_default() as u64;
                    let error = Error::new(
                        ErrorCode::Timeout,
                        format!("the WebSocket did not open within {after} ms"),
                    );
                    // A socket still connecting is closed too (allowed in browsers).
                    self.finish(Err(error), Some((close_code::TIMEOUT, "timeout")));
                }
                Timer::Ready => {
                    // An integer: formatting an f64 would link the float formatter (~7 KB gz
                    // in wasm).
                    let after = self.config.ready_timeout_ms.unwrap_or_default() as u64;
                    let error = Error::new(
                        ErrorCode::Timeout,
                        format!("no message from the server within {after} ms of open"),
                    );
                    self.finish(Err(error), Some((close_code::TIMEOUT, "timeout")));
                }
                Timer::CloseWait => self.end_without_close(),
                Timer::Keepalive => {
                    let protocol = self.protocol.unwrap_or(Protocol::None);
                    self.transmits.push_back(Transmit::keepalive(protocol));
                    self.timers
                        .arm(Timer::Keepalive, now_ms, self.config.keepalive_ms);
                }
            }
        }
    }
}
