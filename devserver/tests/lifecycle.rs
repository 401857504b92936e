//! How sessions end: the idle timeout, clients leaving while stdin is backed up, bounded
//! buffers, the connection cap, and no processes left behind.

mod common;
use common::*;
use std::time::{Duration, Instant};

const P: &str = "v5.channel.k8s.io";
const T: Duration = Duration::from_secs(20);

#[tokio::test]
async fn idle_timeout_cuts_sessions_without_data_frames() {
    let server = Server::start(&["--idle-timeout", "1"]);
    // A session that sends nothing is cut after about a second, without a close frame, and its
    // process is ended.
    let secs = unique_sleep();
    let mut quiet = open(
        &server,
        &exec_path("demo", &["sleep", &secs], "stdin=1&stdout=1"),
        P,
    )
    .await;
    let started = Instant::now();
    let quiet = tokio::spawn(async move {
        let t = collect(&mut quiet, P, T).await;
        (t, started.elapsed())
    });
    // One that sends an empty stdin frame (a keepalive) every 300 ms stays open.
    let mut busy = open(&server, &exec_path("demo", &["cat"], "stdin=1&stdout=1"), P).await;
    for _ in 0..8 {
        send(&mut busy, frame(P, 0, b"")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (t, took) = quiet.await.unwrap();
    assert_eq!(t.close, None, "cut without a close frame: {t:?}");
    assert!(t.error.is_empty(), "no status: {t:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2400),
        "cut after {took:?}"
    );
    let gone = eventually(30, Duration::from_millis(100), || {
        procs_with_arg(&secs).is_empty()
    })
    .await;
    assert!(gone, "sleep {secs} outlived its idle session");
    send(&mut busy, frame(P, 0, b"still here\n")).await;
    send(
        &mut busy,
        tokio_tungstenite::tungstenite::Message::Binary(vec![0xff, 0].into()),
    )
    .await;
    let t = collect(&mut busy, P, T).await;
    assert_eq!(t.stdout_str(), "still here\n");
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    assert!(
        server.log_text().contains("end: idle timeout"),
        "{}",
        server.log_text()
    );
}

#[tokio::test]
async fn without_idle_timeout_quiet_sessions_stay() {
    let server = Server::start(&[]);
    let mut ws = open(
        &server,
        &exec_path("demo", &["sleep", "1.5"], "stdin=1&stdout=1"),
        P,
    )
    .await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
}

#[test]
fn idle_timeout_must_be_positive() {
    for bad in ["0", "-1", "soon"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-exec-devserver"))
            .args(["--listen", "127.0.0.1:0", &format!("--idle-timeout={bad}")])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("idle-timeout"),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The number of log lines containing `needle`.
fn log_count(server: &Server, needle: &str) -> usize {
    server.log_text().matches(needle).count()
}

#[tokio::test]
async fn a_client_leaving_while_stdin_is_backed_up_ends_its_session() {
    let server = Server::start(&[]);
    // A finished session first, so that the fd count below is the server's steady state.
    let mut ws = open(&server, &exec_path("demo", &["true"], "stdout=1"), P).await;
    collect(&mut ws, P, T).await;
    drop(ws);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds = fd_count(server.pid());
    for flags in ["stdin=1&stdout=1", "stdin=1&stdout=1&tty=1"] {
        let secs = unique_sleep();
        // In canonical mode a PTY throws input away when its line is full; in raw mode it
        // stops taking it, as a pipe does.
        let script = format!("stty raw -echo 2>/dev/null; exec sleep {secs}");
        let mut ws = open(
            &server,
            &exec_path("demo", &["sh", "-c", &script], flags),
            P,
        )
        .await;
        use futures_util::StreamExt;
        // Read the readiness frame, so that closing the socket sends a FIN, not a reset: the FIN
        // then waits behind the stdin the server does not read.
        let first = ws.next().await.unwrap().unwrap();
        assert_eq!(decode(P, &first), Some((1, vec![])));
        let up = eventually(50, Duration::from_millis(50), || {
            procs_with_arg(&secs).len() == 1
        })
        .await;
        assert!(up, "{flags}: sleep did not start");
        // (After `stty`, so that the terminal is raw before the flood.)
        tokio::time::sleep(Duration::from_millis(100)).await;
        // `sleep` never reads: write until the socket blocks.
        let sent = flood_stdin(&mut ws, P, 64 << 10, 256 << 20, Duration::from_millis(500)).await;
        assert!(
            sent < 256 << 20,
            "{flags}: the server read {sent} bytes of stdin"
        );
        let ended_before = log_count(&server, "end: client left");
        let left = Instant::now();
        drop(ws);
        let gone = eventually(20, Duration::from_millis(100), || {
            procs_with_arg(&secs).is_empty()
                && log_count(&server, "end: client left") > ended_before
        })
        .await;
        let running = !procs_with_arg(&secs).is_empty();
        let ended = log_count(&server, "end: client left") > ended_before;
        kill_leftovers(&[&secs]);
        assert!(
            gone,
            "{flags}: 2 s after the client left, sleep runs: {running}, session ended: {ended}"
        );
        assert!(left.elapsed() < Duration::from_millis(2500), "{flags}");
        let released = eventually(20, Duration::from_millis(100), || {
            fd_count(server.pid()) <= fds
        })
        .await;
        assert!(
            released,
            "{flags}: the server holds {} fds, {fds} before the session",
            fd_count(server.pid())
        );
    }
    still_serves(&server).await;
}

/// A pods file in a fresh directory; returns (dir, file).
fn pods_file(name: &str, toml: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("kew-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pods.toml");
    std::fs::write(&file, toml).unwrap();
    (dir, file)
}

#[tokio::test]
async fn an_attach_client_leaving_while_stdin_is_backed_up_leaves_the_others_alone() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    // A main process that takes stdin and never reads it, and writes a tick every 200 ms.
    let (dir, file) = pods_file(
        "attach-stdin",
        "[[pods]]\nname = \"sink\"\n[[pods.containers]]\nname = \"main\"\nstdin = true\n\
         command = [\"sh\", \"-c\", \"while :; do echo tick; sleep 0.2; done\"]\n",
    );
    let server = Server::start(&["--pods", file.to_str().unwrap()]);
    let path = |flags: &str| format!("/api/v1/namespaces/default/pods/sink/attach?{flags}");
    let mut watcher = open(&server, &path("stdin=1&stdout=1"), P).await;
    let ticks = async |ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
                       n: usize| {
        let mut seen = 0;
        while seen < n {
            let m = tokio::time::timeout(Duration::from_secs(2), ws.next())
                .await
                .expect("ticks keep coming")
                .unwrap()
                .unwrap();
            if let Some((1, d)) = decode(P, &m) {
                seen += String::from_utf8_lossy(&d).matches("tick").count();
            }
        }
    };
    ticks(&mut watcher, 2).await;
    // Another client floods stdin until the socket blocks, then leaves.
    let mut flooder = open(&server, &path("stdin=1"), P).await;
    let first = flooder.next().await.unwrap().unwrap();
    assert_eq!(
        decode(P, &first),
        Some((3, vec![])),
        "readiness on the error channel"
    );
    let sent = flood_stdin(
        &mut flooder,
        P,
        64 << 10,
        256 << 20,
        Duration::from_millis(500),
    )
    .await;
    assert!(sent < 256 << 20);
    let left = Instant::now();
    drop(flooder);
    let ended = eventually(20, Duration::from_millis(100), || {
        log_count(&server, "end: client left") == 1
    })
    .await;
    assert!(
        ended,
        "the flooding client's session did not end: {}",
        server.log_text()
    );
    assert!(left.elapsed() < Duration::from_millis(2500));
    // The watcher still gets output, can send stdin, and can leave cleanly.
    ticks(&mut watcher, 3).await;
    watcher.send(frame(P, 0, b"hello\n")).await.unwrap();
    ticks(&mut watcher, 2).await;
    watcher.send(Message::Close(None)).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = watcher.next().await {
            if matches!(m, Message::Close(_)) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(closed, Ok(true), "the watcher's close was answered");
    // ...and its session ended (a close is answered by the WebSocket layer even when the
    // session behind it is stuck).
    let both = eventually(20, Duration::from_millis(100), || {
        log_count(&server, "end: client left") == 2
    })
    .await;
    assert!(
        both,
        "the watcher's session did not end: {}",
        server.log_text()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn buffered_stdin_is_bounded_in_bytes() {
    let server = Server::start(&[]);
    let secs = unique_sleep();
    let mut ws = open(
        &server,
        &exec_path("demo", &["sleep", &secs], "stdin=1&stdout=1"),
        P,
    )
    .await;
    let rss = status_kib(server.pid(), "VmRSS");
    // 1 MiB messages to a process that never reads, until the server stops reading.
    let sent = flood_stdin(&mut ws, P, 1 << 20, 512 << 20, Duration::from_millis(700)).await;
    let grown = status_kib(server.pid(), "VmHWM").saturating_sub(rss) >> 10;
    drop(ws);
    let gone = eventually(30, Duration::from_millis(100), || {
        procs_with_arg(&secs).is_empty()
    })
    .await;
    kill_leftovers(&[&secs]);
    assert!(
        sent < 64 << 20,
        "the server took {} MiB of stdin for a process that reads none",
        sent >> 20
    );
    assert!(grown < 40, "the server grew by {grown} MiB");
    assert!(gone, "sleep outlived the session");
}

#[tokio::test]
async fn a_client_that_pings_and_never_reads_gets_one_pong_queued() {
    use tokio::io::AsyncWriteExt;
    let server = Server::start(&[]);
    let secs = unique_sleep();
    let mut ws = open(
        &server,
        &exec_path("demo", &["sleep", &secs], "stdout=1"),
        P,
    )
    .await;
    let rss = status_kib(server.pid(), "VmRSS");
    // 64 MiB of masked 125-byte pings (mask key 0), written straight to the socket.
    let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
    ping.extend_from_slice(&[b'p'; 125]);
    let batch = ping.repeat(8192);
    let socket = ws.get_mut();
    let mut written = 0usize;
    while written < 64 << 20 {
        let w = tokio::time::timeout(Duration::from_secs(10), socket.write_all(&batch)).await;
        assert!(matches!(w, Ok(Ok(()))), "the server stopped reading pings");
        written += batch.len();
    }
    // Let the server take in the last of them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown = status_kib(server.pid(), "VmHWM").saturating_sub(rss) >> 10;
    drop(ws);
    let gone = eventually(30, Duration::from_millis(100), || {
        procs_with_arg(&secs).is_empty()
    })
    .await;
    kill_leftovers(&[&secs]);
    assert!(grown < 16, "64 MiB of pings grew the server by {grown} MiB");
    assert!(gone);
}

/// Opens an exec of `sh -c script` and waits until processes with each marker run.
async fn start_sh(
    server: &Server,
    script: &str,
    markers: &[&str],
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let ws = open(
        server,
        &exec_path("demo", &["sh", "-c", script], "stdout=1"),
        P,
    )
    .await;
    let up = eventually(60, Duration::from_millis(50), || {
        markers.iter().all(|m| !procs_with_arg(m).is_empty())
    })
    .await;
    assert!(up, "{script}: not all of {markers:?} started");
    ws
}

#[tokio::test]
async fn nothing_a_session_started_survives_its_end() {
    let server = Server::start(&[]);
    // The client leaves: a `setsid` child (own session and group) goes too.
    let (a, b) = (unique_sleep(), unique_sleep());
    let ws = start_sh(
        &server,
        &format!("setsid sleep {a} & exec sleep {b}"),
        &[&a, &b],
    )
    .await;
    drop(ws);
    let gone = eventually(30, Duration::from_millis(100), || {
        procs_with_arg(&a).is_empty() && procs_with_arg(&b).is_empty()
    })
    .await;
    kill_leftovers(&[&a, &b]);
    assert!(gone, "a setsid child outlived the client leaving");
    // The program exits: what it left behind (double fork, setsid) is killed.
    let (c, d) = (unique_sleep(), unique_sleep());
    let script = format!("setsid sleep {c} & (sleep {d} &) ; sleep 0.3; exit 4");
    let mut ws = open(
        &server,
        &exec_path("demo", &["sh", "-c", &script], "stdout=1"),
        P,
    )
    .await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.status()["details"]["causes"][0]["message"], "4");
    let gone = eventually(30, Duration::from_millis(100), || {
        procs_with_arg(&c).is_empty() && procs_with_arg(&d).is_empty()
    })
    .await;
    kill_leftovers(&[&c, &d]);
    assert!(gone, "processes outlived the exec that started them");
}

#[tokio::test]
async fn nothing_survives_a_sigkilled_server() {
    let secs: Vec<String> = (0..5).map(|_| unique_sleep()).collect();
    let s: Vec<&str> = secs.iter().map(String::as_str).collect();
    let (dir, file) = pods_file(
        "sigkill",
        &format!(
            "[[pods]]\nname = \"demo\"\n[[pods.containers]]\nname = \"main\"\n\
             command = [\"sh\", \"-c\", \"sleep {} | cat\"]\n",
            s[4]
        ),
    );
    let mut server = Server::start(&["--pods", file.to_str().unwrap()]);
    let _pipeline = start_sh(&server, &format!("sleep {} | cat", s[0]), &[s[0]]).await;
    let _setsid = start_sh(&server, &format!("setsid sleep {}", s[1]), &[s[1]]).await;
    let _bash = start_sh(
        &server,
        &format!("bash -c 'sleep {} & sleep {}; wait'", s[2], s[3]),
        &[s[2], s[3]],
    )
    .await;
    let _attach = open(
        &server,
        "/api/v1/namespaces/default/pods/demo/attach?stdout=1",
        P,
    )
    .await;
    let up = eventually(60, Duration::from_millis(50), || {
        !procs_with_arg(s[4]).is_empty()
    })
    .await;
    assert!(up);
    server.kill_hard();
    let gone = eventually(30, Duration::from_millis(100), || {
        s.iter().all(|m| procs_with_arg(m).is_empty())
    })
    .await;
    let left: Vec<&&str> = s.iter().filter(|m| !procs_with_arg(m).is_empty()).collect();
    kill_leftovers(&s);
    assert!(
        gone,
        "still running after kill -9 of the server: sleep {left:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One event of an strace log that matters for signalling: a process created, reaped, or sent
/// a signal (a negative target is a process group).
#[derive(Debug, PartialEq)]
enum Traced {
    Created(i64),
    Reaped(i64),
    Signalled(i64, String),
}

fn parse_trace(text: &str) -> Vec<Traced> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let name = match rest.strip_prefix("<... ") {
            Some(r) => r.split(' ').next().unwrap_or(""),
            None => rest.split('(').next().unwrap_or(""),
        };
        let ret: Option<i64> = rest
            .rsplit_once(" = ")
            .and_then(|(_, r)| r.split(' ').next()?.parse().ok());
        match (name, ret) {
            ("clone" | "clone3" | "fork" | "vfork", Some(pid)) if pid > 0 => {
                out.push(Traced::Created(pid))
            }
            ("wait4", Some(pid)) if pid > 0 => out.push(Traced::Reaped(pid)),
            ("waitid", Some(0)) if !rest.contains("WNOWAIT") => {
                if let Some(pid) = rest
                    .split("si_pid=")
                    .nth(1)
                    .and_then(|r| r.split([',', '}']).next()?.parse::<i64>().ok())
                    .filter(|&p| p > 0)
                {
                    out.push(Traced::Reaped(pid));
                }
            }
            ("kill", _) => {
                let args = rest.trim_start_matches("kill(");
                let mut it = args.split([',', ')']);
                let target: i64 = it.next().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
                let sig = it.next().unwrap_or("").trim().to_string();
                if target != 0 && sig != "0" {
                    out.push(Traced::Signalled(target, sig));
                }
            }
            _ => {}
        }
    }
    out
}

/// Signals sent to a pid (or its group) after it was reaped and before it was created again.
fn signals_after_reaping(events: &[Traced]) -> Vec<String> {
    let mut reaped = std::collections::HashSet::new();
    let mut bad = Vec::new();
    for e in events {
        match e {
            Traced::Created(p) => {
                reaped.remove(p);
            }
            Traced::Reaped(p) => {
                reaped.insert(*p);
            }
            Traced::Signalled(t, sig) => {
                if reaped.contains(&t.abs()) {
                    bad.push(format!("kill({t}, {sig}) after {} was reaped", t.abs()));
                }
            }
        }
    }
    bad
}

#[test]
fn trace_parsing() {
    let trace = "10 clone(child_stack=NULL, flags=SIGCHLD) = 11\n\
                 10 wait4(11, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], WNOHANG, NULL) = 11\n\
                 10 kill(-11, SIGKILL)                  = -1 ESRCH (No such process)\n\
                 12 waitid(P_PIDFD, 9, {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=13, si_uid=0}, WEXITED, NULL) = 0\n\
                 12 kill(13, SIGTERM) = -1 ESRCH (No such process)\n\
                 12 <... clone3 resumed> => {parent_tid=[14]}, 88) = 13\n\
                 12 kill(13, SIGTERM) = 0\n\
                 12 kill(14, 0) = 0\n";
    let events = parse_trace(trace);
    assert_eq!(
        signals_after_reaping(&events),
        [
            "kill(-11, SIGKILL) after 11 was reaped",
            "kill(13, SIGTERM) after 13 was reaped"
        ]
    );
}

#[tokio::test]
async fn no_signal_goes_to_a_process_after_it_was_reaped() {
    use futures_util::SinkExt;
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("SKIP: strace is not installed (scripts/setup.sh installs it)");
        return;
    }
    let trace = std::env::temp_dir().join(format!("kew-kill-order-{}.trace", std::process::id()));
    let server = Server::start_under(
        &[
            "strace",
            "-f",
            "-qq",
            "-o",
            trace.to_str().unwrap(),
            "-e",
            "trace=kill,wait4,waitid,clone,clone3,fork,vfork",
        ],
        &["--listen", "127.0.0.1:0"],
    );
    // A program that exits by itself, leaving a child in its group...
    let mut ws = open(
        &server,
        &exec_path("demo", &["sh", "-c", "sleep 30 & exit 3"], "stdout=1"),
        P,
    )
    .await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.status()["details"]["causes"][0]["message"], "3");
    // ...one whose client leaves...
    let mut ws = open(&server, &exec_path("demo", &["sleep", "30"], "stdout=1"), P).await;
    use futures_util::StreamExt;
    ws.next().await.unwrap().unwrap();
    drop(ws);
    // ...and an attached main process that exits.
    let mut ws = open(
        &server,
        "/api/v1/namespaces/default/pods/demo/attach?stdin=1&stdout=1&tty=1",
        P,
    )
    .await;
    ws.send(frame(P, 0, b"exit\n")).await.unwrap();
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(server);
    let text = std::fs::read_to_string(&trace).unwrap();
    if std::env::var_os("KEW_KEEP_TRACE").is_none() {
        let _ = std::fs::remove_file(&trace);
    }
    let events = parse_trace(&text);
    assert!(
        events.iter().any(|e| matches!(e, Traced::Reaped(_))),
        "nothing reaped in the trace:\n{text}"
    );
    assert_eq!(signals_after_reaping(&events), Vec::<String>::new());
}

#[tokio::test]
async fn the_fd_limit_is_raised_and_hundreds_of_sessions_get_their_exit_codes() {
    let (_, hard) = fd_limits(std::process::id());
    if hard < 2048 {
        eprintln!("SKIP: the hard fd limit here is {hard}: nothing to raise to");
        return;
    }
    // Started with a soft limit of 256, as many shells set 1024.
    let server = Server::start_with_fd_limit(256, &[]);
    let (ok, errors) = concurrent_exit_codes(&server, 300).await;
    assert_eq!(
        ok,
        300,
        "{} errors, e.g. {:?}",
        errors.len(),
        errors.first()
    );
    let (soft, max) = fd_limits(server.pid());
    assert_eq!(soft, max, "the soft fd limit was raised to the hard one");
    // The processes it starts get the usual limit back.
    let mut ws = open(
        &server,
        &exec_path("demo", &["sh", "-c", "ulimit -n"], "stdout=1"),
        P,
    )
    .await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.stdout_str(), "256\n");
}

#[tokio::test]
async fn connections_over_the_limit_get_a_clear_429_and_health_checks_pass() {
    let server = Server::start(&["--max-connections", "4"]);
    let idle: Vec<tokio::net::TcpStream> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(tokio::net::TcpStream::connect(&server.addr).await.unwrap());
        }
        v
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = http(&server, "GET", "/api", &[bearer(TOKEN)]).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["reason"], "TooManyRequests");
    assert_eq!(r.json()["code"], 429);
    let r = http(&server, "GET", "/healthz", &[]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // A session holds its connection's place until it ends.
    drop(idle);
    let freed = async {
        for _ in 0..50 {
            if http(&server, "GET", "/api", &[bearer(TOKEN)]).await.status == 200 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    assert!(freed.await, "places were not given back");
    let mut sessions = Vec::new();
    for _ in 0..4 {
        sessions.push(open(&server, &exec_path("demo", &["sleep", "30"], "stdout=1"), P).await);
    }
    let r = upgrade(
        &server,
        &exec_path("demo", &["true"], "stdout=1"),
        &[P],
        &[bearer(TOKEN)],
    )
    .await
    .refused();
    assert_eq!(r.status, 429);
    drop(sessions);
    let mut back = false;
    for _ in 0..50 {
        if http(&server, "GET", "/api", &[bearer(TOKEN)]).await.status == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "sessions did not give their places back");
    assert!(server.log_text().contains("refusing more with 429"));
}
