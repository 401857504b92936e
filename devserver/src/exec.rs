//! exec on a real process: spawned from argv in the pod's working directory, on pipes or a PTY.

use crate::pods::Pod;
use crate::process::{self, Spec};
use crate::session::{self, Conn, Ending, Event, Progress, Streams};
use crate::status::Outcome;
use crate::wire;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long output may stay silent after the process exited before the session stops waiting
/// for EOF (a pipe held open by a process that left the process group).
const DRAIN_IDLE: Duration = Duration::from_secs(2);

pub async fn run(
    conn: Conn,
    events: mpsc::Receiver<Event>,
    pod: Arc<Pod>,
    argv: Vec<String>,
    streams: Streams,
) -> Ending {
    let spec = Spec {
        argv: &argv,
        workdir: &pod.workdir,
        env: &pod.config.env,
        hostname: &pod.config.name,
        tty: streams.tty,
        stdin: streams.stdin,
        stdout: streams.stdout,
        stderr: streams.stderr,
    };
    let spawned = match process::spawn(&spec) {
        Ok(s) => s,
        Err(message) => return Ending::Status(Outcome::Runtime(message)),
    };
    let process::Spawned {
        mut child,
        input,
        stdout,
        stderr,
    } = spawned;
    let progress = Arc::new(Progress::default());
    let mut pumps = Vec::new();
    if let Some(r) = stdout {
        pumps.push(session::pump(
            r,
            wire::STDOUT,
            conn.clone(),
            progress.clone(),
        ));
    }
    if let Some(r) = stderr {
        pumps.push(session::pump(
            r,
            wire::STDERR,
            conn.clone(),
            progress.clone(),
        ));
    }
    let mut gone = session::forward_events(events, input, streams.stdin, streams.tty);
    let code = tokio::select! {
        code = child.wait() => code,
        ending = &mut gone => {
            // The client left (or broke the protocol): the reaper kills the process and all it
            // started, then exits.
            child.terminate();
            let _ = child.wait().await;
            for p in pumps {
                p.abort();
            }
            return ending.unwrap_or(Ending::Gone);
        }
    };
    // The reaper has killed whatever the process left behind before exiting; output already
    // written stays readable in the pipes.
    tokio::select! {
        _ = session::drain(pumps, &progress, DRAIN_IDLE) => {}
        ending = &mut gone => return ending.unwrap_or(Ending::Gone),
    }
    if code == 0 {
        Ending::Status(Outcome::Success)
    } else {
        Ending::Status(Outcome::Exit { code, argv })
    }
}
