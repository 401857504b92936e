//! attach: every pod container has a long-running main process, spawned on the first attach and
//! kept alive; attaches share it (output to all, input from all). When it ends, the sessions
//! attached to it get Success and the next attach starts it again (as a kubelet restarts a
//! container with `restartPolicy: Always`).

use crate::pods::{ContainerConfig, Pod};
use crate::process::{self, Input, ProcessInput, Spec};
use crate::session::{Conn, Ending, Event, Streams};
use crate::status::Outcome;
use crate::wire;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// A running main process.
pub struct MainProcess {
    input: ProcessInput,
    output: broadcast::Sender<(u8, Bytes)>,
    exited: watch::Receiver<bool>,
    tty: bool,
    stdin: bool,
}

/// The main processes, by namespace/pod/container.
#[derive(Default)]
pub struct Hub {
    procs: Mutex<HashMap<String, Arc<MainProcess>>>,
}

type Joined = (Arc<MainProcess>, broadcast::Receiver<(u8, Bytes)>);

impl Hub {
    /// Joins the container's main process, starting it if it is not running.
    pub fn join(&self, pod: &Pod, container: &ContainerConfig) -> Result<Joined, String> {
        let key = format!(
            "{}/{}/{}",
            pod.config.namespace, pod.config.name, container.name
        );
        let mut procs = self
            .procs
            .lock()
            .map_err(|_| "attach state poisoned".to_string())?;
        if let Some(p) = procs.get(&key) {
            if !*p.exited.borrow() {
                return Ok((p.clone(), p.output.subscribe()));
            }
        }
        let argv = if container.command.is_empty() {
            vec!["sleep".to_string(), "infinity".to_string()]
        } else {
            container.command.clone()
        };
        let spec = Spec {
            argv: &argv,
            workdir: &pod.workdir,
            env: &pod.config.env,
            hostname: &pod.config.name,
            tty: container.tty,
            stdin: container.stdin,
            stdout: true,
            stderr: !container.tty,
        };
        let spawned = process::spawn(&spec)?;
        let (out_tx, out_rx) = broadcast::channel::<(u8, Bytes)>(1024);
        let (exit_tx, exit_rx) = watch::channel(false);
        let process::Spawned {
            mut child,
            input,
            stdout,
            stderr,
        } = spawned;
        let mut pumps = Vec::new();
        for (r, channel) in [(stdout, wire::STDOUT), (stderr, wire::STDERR)] {
            let Some(mut r) = r else { continue };
            let tx = out_tx.clone();
            pumps.push(tokio::spawn(async move {
                while let Ok(Some(chunk)) =
                    process::read_chunk(&mut *r, channel, crate::session::CHUNK).await
                {
                    let payload = chunk.0.freeze().slice(wire::MAX_HEADER + 1..);
                    // No receivers (nobody attached) is fine: the output is dropped.
                    let _ = tx.send((channel, payload));
                }
            }));
        }
        let name = key.clone();
        tokio::spawn(async move {
            // The reaper kills what the main process left behind before it reports the exit.
            let code = child.wait().await;
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                futures_util::future::join_all(pumps),
            )
            .await;
            crate::log::log!("attach: main process of {name} exited with {code}");
            let _ = exit_tx.send(true);
        });
        let proc = Arc::new(MainProcess {
            input,
            output: out_tx,
            exited: exit_rx,
            tty: container.tty,
            stdin: container.stdin,
        });
        procs.insert(key, proc.clone());
        Ok((proc, out_rx))
    }
}

pub async fn run(
    conn: Conn,
    mut events: mpsc::Receiver<Event>,
    hub: Arc<Hub>,
    pod: Arc<Pod>,
    container: ContainerConfig,
    streams: Streams,
) -> Ending {
    let (proc, mut output) = match hub.join(&pod, &container) {
        Ok(j) => j,
        Err(message) => return Ending::Status(Outcome::Runtime(message)),
    };
    let mut exited = proc.exited.clone();
    let mut stdin_open = streams.stdin && proc.stdin;
    let wants = |channel: u8| match channel {
        wire::STDOUT => streams.stdout,
        wire::STDERR => streams.stderr,
        _ => false,
    };
    loop {
        tokio::select! {
            out = output.recv() => match out {
                Ok((channel, payload)) => {
                    if wants(channel) && !conn.data(channel, &payload).await {
                        return Ending::Gone;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    crate::log::log!("attach: a slow client missed {n} output chunks");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            ev = events.recv() => match ev {
                // Queued without waiting: this session's stdin budget bounds it, and its bytes
                // are dropped if it leaves before the process reads them.
                Some(Event::Stdin(b)) => {
                    if stdin_open {
                        proc.input.send(Input::Data(b));
                    }
                }
                // Detaches this client's stdin; the shared process keeps its own.
                Some(Event::StdinEof) => stdin_open = false,
                Some(Event::Resize(s)) => {
                    if proc.tty {
                        proc.input.resize(s);
                    }
                }
                Some(Event::ResizeEof) => {}
                Some(Event::End(ending)) => return ending,
                Some(Event::Gone) | None => return Ending::Gone,
            },
            changed = exited.changed() => {
                if changed.is_err() || *exited.borrow() {
                    break;
                }
            }
        }
    }
    // The main process ended: pass on what it wrote last, then report Success (attach never
    // reports an exit code).
    while let Ok((channel, payload)) = output.try_recv() {
        if wants(channel) && !conn.data(channel, &payload).await {
            return Ending::Gone;
        }
    }
    Ending::Status(Outcome::Success)
}
