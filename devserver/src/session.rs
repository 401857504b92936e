//! One upgraded exec/attach WebSocket: a reader task that decodes the client's frames into
//! events (tungstenite, reading only), a writer task that alone writes to the socket (complete
//! frames built in [`wire`]), and a backend (real process, shared main process, fault script,
//! bench generator) between them.
//!
//! Client stdin is bounded in bytes per session ([`STDIN_BUDGET`]): beyond it the reader stops
//! reading the socket (TCP backpressure) until the process has taken some, and meanwhile watches
//! for the client leaving without reading from the socket (see [`PeerSocket`]).

use crate::process::{self, Input, ProcessInput, Stdin};
use crate::status::{self, Outcome};
use crate::wire::{self, Inbound, Subprotocol, TermSize};
use bytes::Bytes;
use futures_util::StreamExt;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Largest chunk read from a process in one go (one frame).
pub const CHUNK: usize = 256 * 1024;

/// Client stdin a session may have read from its socket and not yet written to its process.
/// One message larger than this is still taken, alone.
pub const STDIN_BUDGET: usize = 4 << 20;

/// What each queued stdin message costs on top of its bytes (its bookkeeping), so that many
/// tiny messages are bounded too.
const STDIN_ITEM_COST: usize = 128;

/// While the reader waits for stdin budget: how often it checks whether the client hung up,
/// and every how many checks it sends a ping.
const HANGUP_CHECK: Duration = Duration::from_millis(100);
const PING_EVERY: u32 = 5;

/// The connection's TCP socket, watched for the peer hanging up while the reader does not read
/// (a FIN or a reset shows as POLLRDHUP / POLLHUP / POLLERR without reading any data).
#[derive(Clone, Copy, Debug)]
pub struct PeerSocket(Option<RawFd>);

impl PeerSocket {
    /// `fd` must stay open for as long as the session's socket does (it is that socket's fd).
    pub fn new(fd: Option<RawFd>) -> PeerSocket {
        PeerSocket(fd)
    }

    fn hung_up(self) -> bool {
        let Some(fd) = self.0 else { return false };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no waiting. The fd is the session's own socket, open while
        // the reader (which owns the socket's read half) runs.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
    }
}
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
    Stdin(Stdin),
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

/// Control frames for the writer task, which alone writes to the socket: what tungstenite wants
/// to send (pongs, the reply to the client's close) and the server's own pings. Bounded: a client
/// that pings and never reads gets an answer to its latest ping only (RFC 6455 §5.5.3).
#[derive(Default)]
struct Control {
    state: Mutex<Pending>,
    notify: Notify,
}

#[derive(Default)]
struct Pending {
    /// The pong for the latest ping.
    pong: Option<Bytes>,
    /// A ping of the server's own (see [`wait_for_budget`]).
    ping: bool,
    /// Anything else tungstenite wrote: its close reply (at most one).
    other: Vec<u8>,
}

impl Control {
    fn queue(&self, written: &[u8]) {
        if let Ok(mut p) = self.state.lock() {
            for f in wire::split_frames(written) {
                if f.first().is_some_and(|b| b & 0x0f == wire::OP_PONG) {
                    p.pong = Some(Bytes::copy_from_slice(f));
                } else {
                    p.other.extend_from_slice(f);
                }
            }
        }
        self.notify.notify_one();
    }

    fn ping(&self) {
        if let Ok(mut p) = self.state.lock() {
            p.ping = true;
        }
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<u8> {
        let Ok(mut p) = self.state.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(pong) = p.pong.take() {
            out.extend_from_slice(&pong);
        }
        if std::mem::take(&mut p.ping) {
            out.extend_from_slice(&wire::frame(wire::OP_PING, b""));
        }
        // Last: a close reply ends what may be sent.
        out.append(&mut p.other);
        out
    }
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
        self.control.queue(data);
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
pub async fn run<S, F, Fut>(
    io: S,
    peer: PeerSocket,
    proto: Subprotocol,
    idle: Option<Duration>,
    backend: F,
) -> Ending
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    F: FnOnce(Conn, mpsc::Receiver<Event>) -> Fut,
    Fut: std::future::Future<Output = Ending>,
{
    let (read, write) = tokio::io::split(io);
    let control = Arc::new(Control::default());
    let control_for_reader = control.clone();
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
    let (left_tx, left) = watch::channel(false);
    let reader_state = Reader {
        proto,
        idle,
        peer,
        control: control_for_reader,
        budget: Arc::new(Semaphore::new(STDIN_BUDGET)),
        left,
        tx: ev_tx,
    };
    let mut reader = tokio::spawn(read_loop(ws, reader_state));
    let conn = Conn { proto, tx };
    let ending = backend(conn.clone(), ev_rx).await;
    // Stdin this session queued and its process has not taken is dropped now.
    let _ = left_tx.send(true);
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
    let pending = control.take();
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

/// The reader task's state.
struct Reader {
    proto: Subprotocol,
    /// `--idle-timeout`.
    idle: Option<Duration>,
    peer: PeerSocket,
    control: Arc<Control>,
    /// The session's [`STDIN_BUDGET`], in bytes.
    budget: Arc<Semaphore>,
    /// Becomes true when the session ends (handed to each [`Stdin`]).
    left: watch::Receiver<bool>,
    tx: mpsc::Sender<Event>,
}

async fn read_loop<S>(mut stream: WebSocketStream<S>, r: Reader)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tx = &r.tx;
    let mut gone_sent = false;
    // `--idle-timeout`: the time by which the next data frame must have come.
    let mut deadline = r.idle.map(|d| tokio::time::Instant::now() + d);
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let idle = r.idle.unwrap_or_default();
                    let _ = tx.send(Event::End(Ending::Idle(idle))).await;
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
                crate::log::log!("websocket protocol error from the client: {e}");
                let _ = tx
                    .send(Event::End(Ending::Close(1002, "protocol error")))
                    .await;
                return;
            }
            Some(Err(_)) | None => break,
        };
        if let (Some(d), Message::Binary(_) | Message::Text(_)) = (r.idle, &msg) {
            // Any data message counts, even an empty stdin frame (a keepalive).
            deadline = Some(tokio::time::Instant::now() + d);
        }
        let data: Bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(t) => t.into(),
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
        let ev = match wire::decode_inbound(r.proto, data) {
            Inbound::Data {
                channel: wire::STDIN,
                payload,
            } => {
                let n = (payload.len() + STDIN_ITEM_COST).min(STDIN_BUDGET) as u32;
                let budget = match r.budget.clone().try_acquire_many_owned(n) {
                    Ok(permit) => permit,
                    Err(_) => match wait_for_budget(&r, n).await {
                        Some(permit) => permit,
                        None => break,
                    },
                };
                if let Some(d) = r.idle {
                    // The client could not send while the socket was not read.
                    deadline = Some(tokio::time::Instant::now() + d);
                }
                Event::Stdin(Stdin::new(payload, budget, r.left.clone()))
            }
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

/// Waits for `n` bytes of stdin budget without reading the socket, so that TCP pushes back on
/// the client. Meanwhile it watches for the client leaving: a hang-up on the socket, and — as a
/// FIN can queue forever behind data the server does not read — a ping now and then, which a
/// client that has closed its socket answers with a reset. `None` if the client left.
async fn wait_for_budget(r: &Reader, n: u32) -> Option<OwnedSemaphorePermit> {
    let acquire = r.budget.clone().acquire_many_owned(n);
    tokio::pin!(acquire);
    let mut checks = tokio::time::interval(HANGUP_CHECK);
    let mut count = 0u32;
    loop {
        tokio::select! {
            permit = &mut acquire => return permit.ok(),
            _ = checks.tick() => {
                if r.peer.hung_up() {
                    return None;
                }
                count += 1;
                if count.is_multiple_of(PING_EVERY) {
                    r.control.ping();
                }
            }
        }
    }
}

/// Forwards client events to a process's input until the client leaves; reports how it left.
/// Never waits on the process: its input queue is bounded by the session's stdin budget.
pub fn forward_events(
    mut events: mpsc::Receiver<Event>,
    input: ProcessInput,
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
                        input.send(Input::Data(b));
                    }
                }
                Some(Event::StdinEof) => {
                    if stdin_open {
                        stdin_open = false;
                        input.send(Input::Eof);
                    }
                }
                Some(Event::Resize(s)) => {
                    if resize_open {
                        input.resize(s);
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
