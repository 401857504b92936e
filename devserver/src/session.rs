//! One upgraded exec/attach WebSocket: a reader task that decodes the client's frames into
//! events (tungstenite, reading only), a writer task that alone writes to the socket (complete
//! frames built in [`wire`]), and a backend (real process, shared main process, fault script,
//! bench generator) between them.

use crate::process::{self, Input};
use crate::status::{self, Outcome};
use crate::wire::{self, Inbound, Subprotocol, TermSize};
use bytes::Bytes;
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
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
    /// End the session this way: a protocol violation (close with a code) or the idle timeout.
    End(Ending),
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
    /// No data frame from the client for this long (`--idle-timeout`): cut the connection, as a
    /// load balancer does.
    Idle(Duration),
}

/// What the writer task sends.
enum Out {
    /// A complete WebSocket frame.
    Frame(Bytes),
    /// A close frame; nothing is written after it.
    Close(u16, &'static str),
}

/// The send side, shared by the backend's tasks.
#[derive(Clone)]
pub struct Conn {
    pub proto: Subprotocol,
    tx: mpsc::Sender<Out>,
}

impl Conn {
    /// Sends a complete frame as built by [`wire::frame`] / [`wire::encode`]; false once the
    /// socket is gone.
    pub async fn frame(&self, f: Bytes) -> bool {
        self.tx.send(Out::Frame(f)).await.is_ok()
    }

    /// Sends `payload` on `channel`.
    pub async fn data(&self, channel: u8, payload: &[u8]) -> bool {
        self.frame(wire::encode(self.proto, channel, payload)).await
    }

    /// Sends a chunk read from a process (no copy on binary protocols).
    pub async fn chunk(&self, c: wire::Chunk) -> bool {
        self.frame(c.into_frame(self.proto)).await
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
        self.tx.send(Out::Close(code, reason)).await.is_ok()
    }
}

/// Frames tungstenite wants to send (pongs, the reply to the client's close): queued here and
/// written by the writer task, which alone writes to the socket.
#[derive(Default)]
struct Control {
    queue: Mutex<Vec<u8>>,
    notify: Notify,
}

/// What tungstenite reads from and "writes" to: the socket's read half, and the control queue.
struct ReaderIo<R> {
    read: R,
    control: Arc<Control>,
}

impl<R: AsyncRead + Unpin> AsyncRead for ReaderIo<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl<R: Unpin> AsyncWrite for ReaderIo<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Ok(mut q) = self.control.queue.lock() {
            q.extend_from_slice(data);
        }
        self.control.notify.notify_one();
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a session on an upgraded socket: `backend` gets the send side and the client's events.
pub async fn run<S, F, Fut>(io: S, proto: Subprotocol, idle: Option<Duration>, backend: F) -> Ending
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    F: FnOnce(Conn, mpsc::Receiver<Event>) -> Fut,
    Fut: std::future::Future<Output = Ending>,
{
    let (read, write) = tokio::io::split(io);
    let control = Arc::new(Control::default());
    let config = WebSocketConfig::default()
        .max_message_size(Some(wire::MAX_MESSAGE))
        .max_frame_size(Some(wire::MAX_MESSAGE));
    let ws = WebSocketStream::from_raw_socket(
        ReaderIo {
            read,
            control: control.clone(),
        },
        Role::Server,
        Some(config),
    )
    .await;
    let (tx, rx) = mpsc::channel::<Out>(16);
    let mut writer = tokio::spawn(write_loop(write, rx, control));
    let (ev_tx, ev_rx) = mpsc::channel::<Event>(64);
    let mut reader = tokio::spawn(read_loop(ws, proto, idle, ev_tx));
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
        Ending::Gone | Ending::Drop | Ending::Idle(_) => {}
    }
    let mut reader_done = false;
    if matches!(ending, Ending::Gone) {
        // The client closed: the writer (kept alive by `conn`) still has to send tungstenite's
        // close reply, which the reader queues as it finishes the handshake.
        reader_done = tokio::time::timeout(Duration::from_secs(2), &mut reader)
            .await
            .is_ok();
    }
    drop(conn);
    // Let the writer flush what is queued (it ends once every sender is gone).
    if tokio::time::timeout(Duration::from_secs(10), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    if !reader_done && !matches!(ending, Ending::Drop | Ending::Idle(_)) {
        // Wait briefly for the client's close reply, so the close handshake completes.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut reader).await;
    }
    reader.abort();
    ending
}

async fn write_control<W: AsyncWrite + Unpin>(w: &mut W, control: &Control) -> std::io::Result<()> {
    let pending = match control.queue.lock() {
        Ok(mut q) => std::mem::take(&mut *q),
        Err(_) => Vec::new(),
    };
    if !pending.is_empty() {
        w.write_all(&pending).await?;
        w.flush().await?;
    }
    Ok(())
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<Out>,
    control: Arc<Control>,
) {
    let result: std::io::Result<()> = async {
        loop {
            let out = tokio::select! {
                biased;
                _ = control.notify.notified() => {
                    write_control(&mut w, &control).await?;
                    continue;
                }
                out = rx.recv() => out,
            };
            let Some(mut out) = out else {
                // Every sender is gone: pass on a pending close reply, then stop.
                return write_control(&mut w, &control).await;
            };
            loop {
                match out {
                    Out::Frame(f) => w.write_all(&f).await?,
                    Out::Close(code, reason) => {
                        write_control(&mut w, &control).await?;
                        w.write_all(&wire::close_frame(code, reason)).await?;
                        return w.flush().await;
                    }
                }
                // Batch what is already queued into one flush.
                match rx.try_recv() {
                    Ok(next) => out = next,
                    Err(_) => break,
                }
            }
            w.flush().await?;
        }
    }
    .await;
    // A write error means the client is gone; the reader notices it too.
    let _ = result;
}

async fn read_loop<S>(
    mut stream: WebSocketStream<S>,
    proto: Subprotocol,
    idle: Option<Duration>,
    tx: mpsc::Sender<Event>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut gone_sent = false;
    // `--idle-timeout`: the time by which the next data frame must have come.
    let mut deadline = idle.map(|d| tokio::time::Instant::now() + d);
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let _ = tx
                        .send(Event::End(Ending::Idle(idle.unwrap_or_default())))
                        .await;
                    return;
                }
            },
            None => stream.next().await,
        };
        let msg = match next {
            Some(Ok(m)) => m,
            Some(Err(WsError::Capacity(_))) => {
                let _ = tx
                    .send(Event::End(Ending::Close(1009, "message too big")))
                    .await;
                return;
            }
            // The TCP connection ended without a close frame: the client is simply gone.
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => break,
            Some(Err(WsError::Protocol(e))) => {
                crate::server::log!("websocket protocol error from the client: {e}");
                let _ = tx
                    .send(Event::End(Ending::Close(1002, "protocol error")))
                    .await;
                return;
            }
            Some(Err(_)) | None => break,
        };
        if let (Some(d), Message::Binary(_) | Message::Text(_)) = (idle, &msg) {
            // Any data message counts, even an empty stdin frame (a keepalive).
            deadline = Some(tokio::time::Instant::now() + d);
        }
        let data: &[u8] = match &msg {
            Message::Binary(b) => b,
            Message::Text(t) => t.as_bytes(),
            Message::Close(_) => {
                // Keep reading: tungstenite queues the close reply and then ends the stream.
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
                        break;
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
                let _ = tx.send(Event::End(Ending::Close(1002, why))).await;
                return;
            }
        };
        // Nobody listening any more is fine: keep draining so the close handshake can finish.
        let _ = tx.send(ev).await;
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
                Some(Event::End(ending)) => break ending,
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
                Ok(Some(chunk)) => {
                    progress.chunks.fetch_add(1, Ordering::Relaxed);
                    progress.blocked_on_client.store(true, Ordering::Relaxed);
                    let ok = conn.chunk(chunk).await;
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
