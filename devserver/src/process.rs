//! Real processes: spawned from argv (no shell), on pipes or on a PTY, each under a reaper of
//! its own ([`crate::reaper`]) that kills everything the process started when it exits, when the
//! client leaves, or when the server dies.

use crate::wire::{self, TermSize};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};

/// What to run.
pub struct Spec<'a> {
    pub argv: &'a [String],
    pub workdir: &'a Path,
    pub env: &'a BTreeMap<String, String>,
    pub hostname: &'a str,
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// Client input on its way to a process's stdin.
#[derive(Debug)]
pub enum Input {
    /// Bytes for stdin, holding their share of the session's stdin budget until written.
    Data(Stdin),
    /// stdin EOF: close the pipe, or on a PTY send ^D (a PTY has no half-close).
    Eof,
}

/// Bytes of client stdin on their way to a process. They hold their share of the session's
/// stdin budget ([`crate::session::STDIN_BUDGET`]) until dropped (written, or thrown away), and
/// know whether the session that read them is still there.
pub struct Stdin {
    pub bytes: Bytes,
    _budget: OwnedSemaphorePermit,
    left: watch::Receiver<bool>,
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stdin({} bytes)", self.bytes.len())
    }
}

impl Stdin {
    /// `bytes` holding `budget`; `left` becomes true when their session ends.
    pub fn new(bytes: Bytes, budget: OwnedSemaphorePermit, left: watch::Receiver<bool>) -> Stdin {
        Stdin {
            bytes,
            _budget: budget,
            left,
        }
    }

    /// Its session has ended: nobody waits for these bytes any more.
    pub fn is_orphan(&self) -> bool {
        *self.left.borrow() || self.left.has_changed().is_err()
    }

    /// Resolves when its session ends.
    pub fn orphaned(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut left = self.left.clone();
        async move {
            let _ = left.wait_for(|gone| *gone).await;
        }
    }
}

/// The way into a process: stdin (queued without limit here; the sessions' stdin budgets bound
/// it) and the terminal size (only the latest one is kept).
#[derive(Clone)]
pub struct ProcessInput {
    data: mpsc::UnboundedSender<Input>,
    size: Arc<watch::Sender<Option<TermSize>>>,
}

impl ProcessInput {
    fn new() -> (ProcessInput, InputQueue) {
        let (data, rx) = mpsc::unbounded_channel();
        let (size, size_rx) = watch::channel(None);
        (
            ProcessInput {
                data,
                size: Arc::new(size),
            },
            InputQueue { rx, size: size_rx },
        )
    }

    /// Queues input; never waits (a session stops reading its socket when its budget is spent).
    pub fn send(&self, input: Input) {
        let _ = self.data.send(input);
    }

    /// Sets the terminal size (PTY only); a newer size replaces one not yet applied.
    pub fn resize(&self, size: TermSize) {
        self.size.send_replace(Some(size));
    }
}

/// The receiving side, owned by the task that writes to the process.
struct InputQueue {
    rx: mpsc::UnboundedReceiver<Input>,
    size: watch::Receiver<Option<TermSize>>,
}

/// A process the server started: the reaper's handle (see [`crate::reaper`]).
pub struct Child(tokio::process::Child);

impl Child {
    /// Waits for the process (its reaper exits with the program's status, after killing what
    /// the program left behind) and returns its exit code (128+signal when killed).
    pub async fn wait(&mut self) -> u8 {
        match self.0.wait().await {
            Ok(status) => exit_code(status),
            Err(_) => 255,
        }
    }

    /// Has the reaper kill the process and everything it started. Only while the reaper has not
    /// been reaped (`id()` is `None` after that), so a recycled pid is never signalled.
    pub fn terminate(&self) {
        if let Some(pid) = self.0.id() {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // tokio reaps a dropped child in the background.
        self.terminate();
    }
}

/// A spawned process and its output streams.
pub struct Spawned {
    pub child: Child,
    /// Feeds stdin / resizes; stdin is dropped when it was not requested.
    pub input: ProcessInput,
    /// stdout (or the PTY), channel 1.
    pub stdout: Option<Box<dyn AsyncRead + Send + Unpin>>,
    /// stderr, channel 2 (never on a PTY).
    pub stderr: Option<Box<dyn AsyncRead + Send + Unpin>>,
}

/// The file-descriptor limit the server started with, given back to the processes it starts
/// (the server raises its own soft limit; programs may rely on the usual one, e.g. `select`).
static ORIGINAL_NOFILE: OnceLock<libc::rlimit> = OnceLock::new();

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as Go programs such as the API server do,
/// and remembers the old one for child processes. Returns (old soft, new soft).
pub fn raise_fd_limit() -> std::io::Result<(libc::rlim_t, libc::rlim_t)> {
    // SAFETY: getrlimit/setrlimit with a valid pointer.
    unsafe {
        let mut limit = std::mem::MaybeUninit::<libc::rlimit>::zeroed().assume_init();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let _ = ORIGINAL_NOFILE.set(limit);
        let old = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            limit = raised;
        }
        Ok((old, limit.rlim_cur))
    }
}

/// The runtime's text for a failed start, as runc/containerd put it (README.md, "Sources").
pub fn start_error_text(argv0: &str, err: &std::io::Error) -> String {
    let exec_id = random_exec_id();
    let runc = if argv0.is_empty() {
        "exec: \"\": executable file not found in $PATH".to_string()
    } else {
        match err.kind() {
            std::io::ErrorKind::NotFound if argv0.contains('/') => {
                format!("exec: \"{argv0}\": stat {argv0}: no such file or directory")
            }
            std::io::ErrorKind::NotFound => {
                format!("exec: \"{argv0}\": executable file not found in $PATH")
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("exec: \"{argv0}\": permission denied")
            }
            _ => format!("exec: \"{argv0}\": {err}"),
        }
    };
    format!(
        "error executing command in container: failed to exec in container: failed to start exec \"{exec_id}\": OCI runtime exec failed: exec failed: unable to start container process: {runc}: unknown"
    )
}

fn random_exec_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => (c & 0xff) as u8,
        (None, Some(sig)) => (128 + sig).clamp(0, 255) as u8,
        _ => 255,
    }
}

/// Spawns `spec`. The error is the runtime's message for a start failure.
pub fn spawn(spec: &Spec<'_>) -> Result<Spawned, String> {
    let Some(program) = spec.argv.first().filter(|p| !p.is_empty()) else {
        return Err(start_error_text(
            "",
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    };
    let program = program.clone();
    let result = if spec.tty {
        spawn_pty(spec)
    } else {
        spawn_pipes(spec)
    };
    result.map_err(|e| start_error_text(&program, &e))
}

/// The environment, a process group of its own (away from the server's terminal), and the
/// reaper.
fn prepare(cmd: &mut tokio::process::Command, spec: &Spec<'_>) {
    cmd.env("HOSTNAME", spec.hostname)
        // The token may come in through the environment; it never goes further.
        .env_remove(crate::TOKEN_ENV)
        .process_group(0)
        // The reaper's own clean-up, not a SIGKILL that would orphan the process's children.
        .kill_on_drop(false);
    for (k, v) in spec.env {
        cmd.env(k, v);
    }
    let server = std::process::id() as libc::pid_t;
    let nofile = ORIGINAL_NOFILE.get().copied();
    // SAFETY: reaper::split only makes async-signal-safe calls and allocates nothing; it returns
    // in the process that goes on to exec. It runs before pty_process's setsid (closures run in
    // the order they were added), so the program, not the reaper, leads the PTY's session.
    unsafe {
        cmd.pre_exec(move || crate::reaper::split(server, nofile));
    }
}

fn spawn_pipes(spec: &Spec<'_>) -> std::io::Result<Spawned> {
    let mut cmd = tokio::process::Command::new(&spec.argv[0]);
    cmd.args(&spec.argv[1..])
        .current_dir(spec.workdir)
        .stdin(if spec.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if spec.stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(if spec.stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    prepare(&mut cmd, spec);
    let mut child = cmd.spawn()?;
    let (input, mut queue) = ProcessInput::new();
    let stdin = child.stdin.take();
    tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(msg) = queue.rx.recv().await {
            match msg {
                Input::Data(d) => {
                    let Some(w) = stdin.as_mut() else { continue };
                    if d.is_orphan() {
                        continue;
                    }
                    tokio::select! {
                        r = w.write_all(&d.bytes) => if r.is_err() {
                            stdin = None;
                        },
                        // Its client left: what it sent and the process has not read goes.
                        _ = d.orphaned() => {}
                    }
                }
                Input::Eof => stdin = None,
            }
        }
    });
    // Bigger pipes mean bigger reads and fewer, larger frames (64 KiB is Linux's default).
    for fd in [
        child.stdout.as_ref().map(|s| s.as_raw_fd()),
        child.stderr.as_ref().map(|s| s.as_raw_fd()),
    ]
    .into_iter()
    .flatten()
    {
        // SAFETY: fcntl on a pipe fd we own; failure (e.g. a lower pipe-max-size) is harmless.
        unsafe {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
    let stdout = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>);
    let stderr = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>);
    Ok(Spawned {
        child: Child(child),
        input,
        stdout,
        stderr,
    })
}

fn spawn_pty(spec: &Spec<'_>) -> std::io::Result<Spawned> {
    let to_io = |e: pty_process::Error| match e {
        pty_process::Error::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    };
    let (pty, pts) = pty_process::open().map_err(to_io)?;
    // A sane default until the client's first resize.
    let _ = pty.resize(pty_process::Size::new(24, 80));
    let mut tcmd = tokio::process::Command::new(&spec.argv[0]);
    tcmd.args(&spec.argv[1..])
        .current_dir(spec.workdir)
        .env("TERM", "xterm");
    prepare(&mut tcmd, spec);
    // pty_process makes the program a session leader with the PTY as its controlling terminal,
    // on stdin, stdout and stderr.
    let cmd = pty_process::Command::from(tcmd);
    let child = cmd.spawn(pts).map_err(to_io)?;
    let (read, mut write) = pty.into_split();
    let (input, mut queue) = ProcessInput::new();
    let want_stdin = spec.stdin;
    tokio::spawn(async move {
        let mut last = b'\n';
        let mut open = want_stdin;
        let mut sizes_open = true;
        loop {
            tokio::select! {
                biased;
                changed = queue.size.changed(), if sizes_open => match changed {
                    Ok(()) => {
                        if let Some(s) = *queue.size.borrow_and_update() {
                            let _ = write.resize(pty_process::Size::new(s.rows, s.cols));
                        }
                    }
                    Err(_) => sizes_open = false,
                },
                msg = queue.rx.recv() => match msg {
                    None => break,
                    Some(Input::Data(d)) => {
                        if !open || d.bytes.is_empty() || d.is_orphan() {
                            continue;
                        }
                        last = d.bytes[d.bytes.len() - 1];
                        tokio::select! {
                            r = write.write_all(&d.bytes) => if r.is_err() {
                                open = false;
                            },
                            _ = d.orphaned() => {}
                        }
                    }
                    Some(Input::Eof) => {
                        if open {
                            // ^D ends the input at the start of a line; after pending input the
                            // first ^D only flushes that line, so send a second one.
                            let eof: &[u8] = if last == b'\n' { b"\x04" } else { b"\x04\x04" };
                            let _ = write.write_all(eof).await;
                            open = false;
                        }
                    }
                },
            }
        }
    });
    Ok(Spawned {
        child: Child(child),
        input,
        stdout: Some(Box::new(PtyReader(read))),
        stderr: None,
    })
}

/// Reads the PTY master, turning the EIO that ends a PTY (all slave ends closed) into EOF.
struct PtyReader(pty_process::OwnedReadPty);

impl AsyncRead for PtyReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match std::pin::Pin::new(&mut self.0).poll_read(cx, buf) {
            std::task::Poll::Ready(Err(e)) if e.raw_os_error() == Some(libc::EIO) => {
                std::task::Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// Reads one chunk into a fresh buffer laid out for a frame ([`wire::Chunk`]), so that the
/// output needs no second copy. `Ok(None)` at EOF.
pub async fn read_chunk<R: AsyncRead + Unpin + ?Sized>(
    r: &mut R,
    channel: u8,
    max: usize,
) -> std::io::Result<Option<wire::Chunk>> {
    let mut chunk = wire::Chunk::new(channel, max);
    let n = r.read_buf(&mut chunk.0).await?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(chunk))
}
