//! Sessions produced in-server, without a process: the fault pods (`--faults`) and the bench pod
//! (`--bench`).

use crate::pods::Fault;
use crate::session::{Conn, Ending, Event, Streams};
use crate::status::Outcome;
use crate::wire::{self, Subprotocol};
use bytes::Bytes;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// Waits until the client leaves.
async fn until_gone(events: &mut mpsc::Receiver<Event>) -> Ending {
    loop {
        match events.recv().await {
            Some(Event::End(ending)) => return ending,
            Some(Event::Gone) | None => return Ending::Gone,
            Some(_) => {}
        }
    }
}

/// Byte `i` of the deterministic pattern used by `fault-large` and `bulk`.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

pub async fn fault(
    conn: Conn,
    mut events: mpsc::Receiver<Event>,
    fault: Fault,
    streams: Streams,
) -> Ending {
    if fault == Fault::Stall {
        // Upgrade done; no readiness frame, nothing at all, until the client gives up.
        return until_gone(&mut events).await;
    }
    // The fault pods ignore input; a task drains it so the client's writes never block.
    let (gone_tx, mut gone_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = gone_tx.send(until_gone(&mut events).await);
    });
    let script = async {
        if !conn.ready(streams).await {
            return Ending::Gone;
        }
        match fault {
            Fault::Drop => {
                conn.data(wire::STDOUT, b"partial\n").await;
                Ending::Drop
            }
            Fault::CloseAbnormal => {
                conn.data(wire::STDOUT, b"partial\n").await;
                Ending::Close(1011, "")
            }
            Fault::Malformed => {
                // A frame on channel 7, which does not exist.
                let f = if conn.proto.is_base64() {
                    wire::frame(wire::OP_TEXT, b"7QQ==")
                } else {
                    wire::frame(wire::OP_BINARY, &[0x07, 0x41])
                };
                conn.frame(f).await;
                Ending::Status(Outcome::Success)
            }
            Fault::BadBase64 => {
                // stdout `partial\n`; on base64 with line breaks in its text, which a lenient
                // decoder (the browser's own) skips and a strict one rejects.
                if conn.proto.is_base64() {
                    conn.frame(wire::frame(wire::OP_TEXT, b"1cGFy\r\n\r\ndGlhbAo="))
                        .await;
                } else {
                    conn.data(wire::STDOUT, b"partial\n").await;
                }
                Ending::Status(Outcome::Success)
            }
            Fault::BadStatus => {
                conn.data(wire::ERROR, b"{\"status\":").await;
                Ending::Close(1000, "")
            }
            Fault::SplitUtf8 => {
                for b in "héllo wörld € 𝄞\n".bytes() {
                    if !conn.data(wire::STDOUT, &[b]).await {
                        return Ending::Gone;
                    }
                }
                Ending::Status(Outcome::Success)
            }
            Fault::Large => {
                if !bulk(&conn, 64 << 20, 64 << 10).await {
                    return Ending::Gone;
                }
                Ending::Status(Outcome::Success)
            }
            // Answered with a redirect before any upgrade (server.rs): never reaches here.
            Fault::Stall | Fault::Redirect => Ending::Gone,
        }
    };
    tokio::select! {
        ending = script => ending,
        ending = &mut gone_rx => ending.unwrap_or(Ending::Gone),
    }
}

/// Prebuilt stdout frames of the pattern, one per (phase, length), reused across frames while
/// they fit a memory budget; beyond it, frames are copied out of one precomputed pattern.
struct Frames {
    proto: Subprotocol,
    cache: HashMap<(u8, usize), Bytes>,
    budget: usize,
    /// `pattern[i] == pattern_byte(i)`, long enough for any phase plus the longest frame.
    pattern: Vec<u8>,
}

impl Frames {
    fn new(proto: Subprotocol) -> Frames {
        Frames {
            proto,
            cache: HashMap::new(),
            budget: 64 << 20,
            pattern: Vec::new(),
        }
    }

    fn get(&mut self, offset: u64, len: usize) -> Bytes {
        let phase = (offset % 251) as u8;
        if let Some(m) = self.cache.get(&(phase, len)) {
            return m.clone();
        }
        if self.pattern.len() < 251 + len {
            self.pattern = (0..(251 + len) as u64).map(pattern_byte).collect();
        }
        let start = usize::from(phase);
        let payload = &self.pattern[start..start + len];
        let m = wire::encode(self.proto, wire::STDOUT, payload);
        if self.budget >= len {
            self.budget -= len;
            self.cache.insert((phase, len), m.clone());
        }
        m
    }
}

/// Sends `total` bytes of the pattern on stdout in `frame`-byte payloads; false if the client
/// went away.
async fn bulk(conn: &Conn, total: u64, frame: usize) -> bool {
    let frame = frame.max(1);
    let mut frames = Frames::new(conn.proto);
    let mut offset = 0u64;
    while offset < total {
        let len = (total - offset).min(frame as u64) as usize;
        if !conn.frame(frames.get(offset, len)).await {
            return false;
        }
        offset += len as u64;
    }
    true
}

fn usage(msg: &str) -> Ending {
    Ending::Status(Outcome::Runtime(format!(
        "bench: {msg} (usage: bulk BYTES FRAME | small COUNT | echo)"
    )))
}

/// The bench pod: the exec command decides what the server produces.
pub async fn bench(
    conn: Conn,
    mut events: mpsc::Receiver<Event>,
    argv: Vec<String>,
    streams: Streams,
) -> Ending {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let num = |s: &str| s.parse::<u64>().ok();
    if !conn.ready(streams).await {
        return Ending::Gone;
    }
    match args.as_slice() {
        ["echo"] => loop {
            match events.recv().await {
                Some(Event::Stdin(b)) => {
                    if !conn.data(wire::STDOUT, &b.bytes).await {
                        return Ending::Gone;
                    }
                }
                Some(Event::StdinEof) => return Ending::Status(Outcome::Success),
                Some(Event::End(ending)) => return ending,
                Some(Event::Gone) | None => return Ending::Gone,
                Some(_) => {}
            }
        },
        ["bulk", bytes, frame] => {
            let (Some(total), Some(frame)) = (num(bytes), num(frame)) else {
                return usage("bulk needs two numbers");
            };
            if frame == 0 || frame > (wire::MAX_MESSAGE as u64 - 1) {
                return usage("FRAME must be 1..32 MiB");
            }
            let (gone_tx, mut gone_rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                let _ = gone_tx.send(until_gone(&mut events).await);
            });
            tokio::select! {
                ok = bulk(&conn, total, frame as usize) => {
                    if ok { Ending::Status(Outcome::Success) } else { Ending::Gone }
                }
                ending = &mut gone_rx => ending.unwrap_or(Ending::Gone),
            }
        }
        ["small", count] => {
            let Some(count) = num(count) else {
                return usage("small needs a number");
            };
            let (gone_tx, mut gone_rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                let _ = gone_tx.send(until_gone(&mut events).await);
            });
            let mut frames = Frames::new(conn.proto);
            let send_all = async {
                for i in 0..count {
                    if !conn.frame(frames.get(i, 1)).await {
                        return false;
                    }
                }
                true
            };
            tokio::select! {
                ok = send_all => {
                    if ok { Ending::Status(Outcome::Success) } else { Ending::Gone }
                }
                ending = &mut gone_rx => ending.unwrap_or(Ending::Gone),
            }
        }
        _ => usage("unknown command"),
    }
}
