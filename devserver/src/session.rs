//! One upgraded exec/attach WebSocket: a reader task that decodes the client's frames into
//! events, a writer task that owns the socket's send half, and a backend (real process, shared
//! main process, fault script, bench generator) between them.

use crate::process::{self, Input};
use crate::status::{self, Outcome};
use crate::wire::{self, Inbound, Outbound, Subprotocol, TermSize};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Largest chunk read from a process in one go (one frame).
pub const CHUNK: usize = 256 * 1024;

/// What the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// Decoded client input.
#[derive(Debug)]
pub enum Event {
    Stdin(Bytes),
    StdinEof,
    Resize(TermSize),
    ResizeEof,
    /// The client closed or the socket failed.
    Gone,
    /// A protocol violation: close with this code and tear down.
    Fatal(u16, &'static str),
}

/// How a backend ended the session.
#[derive(Debug)]
pub enum Ending {
    /// Write this status on channel 3, then close 1000.
    Status(Outcome),
    /// Close with this code (and no status).
    Close(u16, &'static str),
    /// The client is gone: nothing more to send.
    Gone,
    /// Cut the TCP connection without a close frame (after what is queued is flushed).
    Drop,
}

/// The send side, shared by the backend's tasks.
#[derive(Clone)]
pub struct Conn {
    pub proto: Subprotocol,
    tx: mpsc::Sender<Message>,
}

impl Conn {
    /// Sends a ready message; false once the socket is gone.
    pub async fn raw(&self, m: Message) -> bool {
        self.tx.send(m).await.is_ok()
    }

    /// Sends `payload` on `channel`.
    pub async fn data(&self, channel: u8, payload: &[u8]) -> bool {
        self.raw(to_message(wire::encode(self.proto, channel, payload)))
            .await
    }

    /// Sends a buffer whose first byte is already the channel (no copy on binary protocols).
    pub async fn prefixed(&self, buf: Bytes) -> bool {
        if self.proto.is_base64() {
            let channel = buf[0];
            self.data(channel, &buf[1..]).await
        } else {
            self.raw(Message::Binary(buf)).await
        }
    }

    /// The readiness frame: an empty payload on the lowest writable channel served.
    pub async fn ready(&self, s: Streams) -> bool {
        let channel = if s.stdout {
            wire::STDOUT
        } else if s.stderr {
            wire::STDERR
        } else {
            wire::ERROR
        };
        self.data(channel, b"").await
    }

    pub async fn status(&self, outcome: &Outcome) -> bool {
        match status::error_channel(self.proto, outcome) {
            Some(body) => self.data(wire::ERROR, &body).await,
            None => true,
        }
    }

    pub async fn close(&self, code: u16, reason: &'static str) -> bool {
        self.raw(Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        })))
        .await
    }
}

pub fn to_message(o: Outbound) -> Message {
    match o {
        Outbound::Binary(b) => Message::Binary(b),
        Outbound::Text(t) => Message::Text(t.into()),
    }
}

/// Runs a session on an upgraded socket: `backend` gets the send side and the client's events.
pub async fn run<S, F, Fut>(ws: WebSocketStream<S>, proto: Subprotocol, backend: F) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnOnce(Conn, mpsc::Receiver<Event>) -> Fut,
    Fut: std::future::Future<Output = Ending>,
{
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel::<Message>(16);
    let mut writer = tokio::spawn(write_loop(sink, rx));
    let (ev_tx, ev_rx) = mpsc::channel::<Event>(64);
    let mut reader = tokio::spawn(read_loop(stream, proto, ev_tx));
    let conn = Conn { proto, tx };
    let ending = backend(conn.clone(), ev_rx).await;
    match &ending {
        Ending::Status(o) => {
            conn.status(o).await;
            conn.close(1000, "").await;
        }
        Ending::Close(code, reason) => {
            conn.close(*code, reason).await;
        }
        Ending::Gone | Ending::Drop => {}
    }
    drop(conn);
    // Let the writer flush what is queued (it ends once every sender is gone).
    if tokio::time::timeout(Duration::from_secs(10), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    if !matches!(ending, Ending::Drop) {
        // Wait briefly for the client's close reply, so the close handshake completes.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut reader).await;
    }
    reader.abort();
    ending
}

async fn write_loop<S>(
    mut sink: SplitSink<WebSocketStream<S>, Message>,
    mut rx: mpsc::Receiver<Message>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(m) = rx.recv().await {
        let mut closing = matches!(m, Message::Close(_));
        if sink.feed(m).await.is_err() {
            return;
        }
        // Batch what is already queued into one flush.
        while !closing {
            match rx.try_recv() {
                Ok(m) => {
                    closing = matches!(m, Message::Close(_));
                    if sink.feed(m).await.is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() || closing {
            return;
        }
    }
}

async fn read_loop<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    proto: Subprotocol,
    tx: mpsc::Sender<Event>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut gone_sent = false;
    loop {
        let msg = match stream.next().await {
            Some(Ok(m)) => m,
            Some(Err(WsError::Capacity(_))) => {
                let _ = tx.send(Event::Fatal(1009, "message too big")).await;
                return;
            }
            Some(Err(WsError::Protocol(_))) => {
                let _ = tx.send(Event::Fatal(1002, "protocol error")).await;
                return;
            }
            Some(Err(_)) | None => break,
        };
        let data: &[u8] = match &msg {
            Message::Binary(b) => b,
            Message::Text(t) => t.as_bytes(),
            Message::Close(_) => {
                // Keep reading: tungstenite sends the close reply and then ends the stream.
                if !gone_sent {
                    gone_sent = true;
                    let _ = tx.send(Event::Gone).await;
                }
                continue;
            }
            _ => continue,
        };
        let ev = match wire::decode_inbound(proto, data) {
            Inbound::Data {
                channel: wire::STDIN,
                payload,
            } => Event::Stdin(payload),
            Inbound::Data {
                channel: wire::RESIZE,
                payload,
            } => {
                for size in wire::parse_resize(&payload) {
                    if tx.send(Event::Resize(size)).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            Inbound::Data { .. } | Inbound::Ignore => continue,
            Inbound::Close {
                channel: wire::STDIN,
            } => Event::StdinEof,
            Inbound::Close {
                channel: wire::RESIZE,
            } => Event::ResizeEof,
            Inbound::Close { .. } => continue,
            Inbound::Fatal(why) => {
                let _ = tx.send(Event::Fatal(1002, why)).await;
                return;
            }
        };
        if tx.send(ev).await.is_err() {
            // Nobody listens any more; keep draining so the close handshake can finish.
            continue;
        }
    }
    if !gone_sent {
        let _ = tx.send(Event::Gone).await;
    }
}

/// Forwards client events to a process's input until the client leaves; reports how it left.
pub fn forward_events(
    mut events: mpsc::Receiver<Event>,
    input: mpsc::Sender<Input>,
    stdin: bool,
    tty: bool,
) -> oneshot::Receiver<Ending> {
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut stdin_open = stdin;
        let mut resize_open = tty;
        let ending = loop {
            match events.recv().await {
                Some(Event::Stdin(b)) => {
                    if stdin_open {
                        let _ = input.send(Input::Data(b)).await;
                    }
                }
                Some(Event::StdinEof) => {
                    if stdin_open {
                        stdin_open = false;
                        let _ = input.send(Input::Eof).await;
                    }
                }
                Some(Event::Resize(s)) => {
                    if resize_open {
                        let _ = input.send(Input::Resize(s)).await;
                    }
                }
                Some(Event::ResizeEof) => resize_open = false,
                Some(Event::Fatal(code, why)) => break Ending::Close(code, why),
                Some(Event::Gone) | None => break Ending::Gone,
            }
        };
        let _ = done_tx.send(ending);
    });
    done_rx
}

/// Progress of the output pumps, so that draining after exit can give up on output that never
/// ends (a pipe held open by a process that escaped the group) without cutting slow readers.
#[derive(Default)]
pub struct Progress {
    chunks: AtomicU64,
    blocked_on_client: AtomicBool,
}

/// Copies a process's output stream to `channel` until EOF or the socket goes away.
pub fn pump(
    mut r: Box<dyn AsyncRead + Send + Unpin>,
    channel: u8,
    conn: Conn,
    progress: Arc<Progress>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match process::read_chunk(&mut *r, channel, CHUNK).await {
                Ok(Some(buf)) => {
                    progress.chunks.fetch_add(1, Ordering::Relaxed);
                    progress.blocked_on_client.store(true, Ordering::Relaxed);
                    let ok = conn.prefixed(buf).await;
                    progress.blocked_on_client.store(false, Ordering::Relaxed);
                    if !ok {
                        return;
                    }
                }
                _ => return,
            }
        }
    })
}

/// Waits for the pumps to reach EOF; gives up after `idle` without output while nothing waits
/// on the client.
pub async fn drain(pumps: Vec<tokio::task::JoinHandle<()>>, progress: &Progress, idle: Duration) {
    let aborts: Vec<_> = pumps.iter().map(|p| p.abort_handle()).collect();
    let watchdog = async {
        let tick = Duration::from_millis(100);
        let mut last = progress.chunks.load(Ordering::Relaxed);
        let mut idle_for = Duration::ZERO;
        loop {
            tokio::time::sleep(tick).await;
            let now = progress.chunks.load(Ordering::Relaxed);
            if now != last || progress.blocked_on_client.load(Ordering::Relaxed) {
                last = now;
                idle_for = Duration::ZERO;
            } else {
                idle_for += tick;
                if idle_for >= idle {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = futures_util::future::join_all(pumps) => {}
        _ = watchdog => {
            for a in aborts {
                a.abort();
            }
        }
    }
}
