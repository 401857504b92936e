//! Real processes: spawned from argv (no shell), on pipes or on a PTY, each in its own process
//! group so that the whole group can be killed when the client leaves.

use crate::wire::{self, TermSize};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

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

/// Messages to the task that feeds the process's input.
#[derive(Debug)]
pub enum Input {
    Data(Bytes),
    /// stdin EOF: close the pipe, or on a PTY send ^D (a PTY has no half-close).
    Eof,
    Resize(TermSize),
}

/// A spawned process and its output streams.
pub struct Spawned {
    pub child: tokio::process::Child,
    pub pgid: i32,
    /// Feeds stdin / resizes; `None` when stdin was not requested and there is no PTY.
    pub input: mpsc::Sender<Input>,
    /// stdout (or the PTY), channel 1.
    pub stdout: Option<Box<dyn AsyncRead + Send + Unpin>>,
    /// stderr, channel 2 (never on a PTY).
    pub stderr: Option<Box<dyn AsyncRead + Send + Unpin>>,
}

/// Live process groups, killed at shutdown.
fn groups() -> &'static Mutex<Vec<i32>> {
    static GROUPS: OnceLock<Mutex<Vec<i32>>> = OnceLock::new();
    GROUPS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Kills a process group (SIGKILL) and forgets it.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    if let Ok(mut g) = groups().lock() {
        g.retain(|&p| p != pgid);
    }
}

/// Kills every group still alive (at shutdown).
pub fn kill_all() {
    let all: Vec<i32> = groups().lock().map(|g| g.clone()).unwrap_or_default();
    for pgid in all {
        kill_group(pgid);
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

/// Waits for the child and returns its exit code (128+signal when killed).
pub async fn wait(child: &mut tokio::process::Child) -> u8 {
    match child.wait().await {
        Ok(status) => exit_code(status),
        Err(_) => 255,
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
    let spawned = result.map_err(|e| start_error_text(&program, &e))?;
    if let Ok(mut g) = groups().lock() {
        g.push(spawned.pgid);
    }
    Ok(spawned)
}

fn base_env(cmd: &mut tokio::process::Command, spec: &Spec<'_>) {
    cmd.env("HOSTNAME", spec.hostname);
    for (k, v) in spec.env {
        cmd.env(k, v);
    }
    // If the server dies without cleaning up (SIGKILL), its children go with it.
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn spawn_pipes(spec: &Spec<'_>) -> std::io::Result<Spawned> {
    let mut cmd = tokio::process::Command::new(&spec.argv[0]);
    cmd.args(&spec.argv[1..])
        .current_dir(spec.workdir)
        .process_group(0)
        .kill_on_drop(true)
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
    base_env(&mut cmd, spec);
    let mut child = cmd.spawn()?;
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let (tx, mut rx) = mpsc::channel::<Input>(64);
    let stdin = child.stdin.take();
    tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(msg) = rx.recv().await {
            match msg {
                Input::Data(b) => {
                    if let Some(w) = stdin.as_mut() {
                        if w.write_all(&b).await.is_err() || w.flush().await.is_err() {
                            stdin = None;
                        }
                    }
                }
                Input::Eof => stdin = None,
                Input::Resize(_) => {}
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
        child,
        pgid,
        input: tx,
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
        .kill_on_drop(true)
        .env("TERM", "xterm");
    base_env(&mut tcmd, spec);
    // pty_process makes the child a session leader (so its pgid is its pid) with the PTY as its
    // controlling terminal, on stdin, stdout and stderr.
    let cmd = pty_process::Command::from(tcmd);
    let child = cmd.spawn(pts).map_err(to_io)?;
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let (read, mut write) = pty.into_split();
    let (tx, mut rx) = mpsc::channel::<Input>(64);
    let want_stdin = spec.stdin;
    tokio::spawn(async move {
        let mut last = b'\n';
        let mut open = want_stdin;
        while let Some(msg) = rx.recv().await {
            match msg {
                Input::Data(b) if open && !b.is_empty() => {
                    last = b[b.len() - 1];
                    if write.write_all(&b).await.is_err() {
                        open = false;
                    }
                }
                Input::Data(_) => {}
                Input::Eof if open => {
                    // ^D ends the input at the start of a line; after pending input the first
                    // ^D only flushes that line, so send a second one.
                    let eof: &[u8] = if last == b'\n' { b"\x04" } else { b"\x04\x04" };
                    let _ = write.write_all(eof).await;
                    open = false;
                }
                Input::Eof => {}
                Input::Resize(s) => {
                    let _ = write.resize(pty_process::Size::new(s.rows, s.cols));
                }
            }
        }
    });
    Ok(Spawned {
        child,
        pgid,
        input: tx,
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
