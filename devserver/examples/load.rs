//! Load and leak checks of a devserver binary: the figures of devserver/README.md "Load".
//!
//! ```sh
//! bash scripts/load-devserver.sh                 # builds the release binary, runs everything
//! cargo run --release -p kube-exec-devserver --example load -- [--server BIN] [--sessions N]
//!     [--nofile N] [SCENARIO...]
//! ```
//!
//! Each scenario starts a fresh server (`BIN`, default the release build next to this example)
//! on 127.0.0.1 with its soft fd limit lowered to `--nofile` (default 1024, as many shells set
//! it; the hard limit stays), fetches the random token from `/.devserver/token`, and prints
//! what it measured: the server's RSS (`VmRSS`/`VmHWM`), open fds, the processes below it, and
//! whether sessions ended.
//!
//! - `sessions`: `--sessions` (default 1000) concurrent `sh -c 'exit K'`, every code checked;
//!   all are open at once (each client reads its status only when every upgrade is done).
//! - `idle`: 1,100 idle connections, then `GET /healthz` and `GET /api`.
//! - `stdin-exec`, `stdin-attach`: a client writes 64 KiB stdin frames to a process that never
//!   reads them until the socket blocks, then closes; 2 s later, is the process still there,
//!   did the session end, are fds and processes back? (attach: can a second client still leave?)
//! - `pings`: 300 MiB of 125-byte pings from a client that never reads.
//! - `stdin-memory`: 40 messages of 30 MiB to `sleep`.
//! - `sigkill`: `sh -c "sleep | cat"`, `bash -c "sleep & sleep"`, `setsid sleep`, then `kill -9`
//!   of the server; and `setsid sleep` after a client left: processes left 2 s later.
//!
//! The tool passes no flag a pre-fix devserver lacks, so that one command measures both.

use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

struct Options {
    server: String,
    sessions: u32,
    nofile: u64,
    scenarios: Vec<String>,
}

const ALL: [&str; 7] = [
    "sessions",
    "idle",
    "stdin-exec",
    "stdin-attach",
    "pings",
    "stdin-memory",
    "sigkill",
];

fn options() -> Options {
    let mut o = Options {
        server: std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("kube-exec-devserver")))
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        sessions: 1000,
        nofile: 1024,
        scenarios: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match a.as_str() {
            "--server" => o.server = value("--server"),
            "--sessions" => o.sessions = value("--sessions").parse().expect("a number"),
            "--nofile" => o.nofile = value("--nofile").parse().expect("a number"),
            s if ALL.contains(&s) => o.scenarios.push(a),
            other => panic!("unknown argument {other:?} (scenarios: {ALL:?})"),
        }
    }
    if o.scenarios.is_empty() {
        o.scenarios = ALL.iter().map(|s| s.to_string()).collect();
    }
    o
}

/// A devserver process under test.
struct Server {
    child: Child,
    pid: u32,
    addr: String,
    token: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    async fn start(o: &Options, extra: &[&str]) -> Server {
        let mut cmd = Command::new(&o.server);
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("KEW_DEVSERVER_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let soft = o.nofile;
        // SAFETY: getrlimit/setrlimit only, before exec.
        unsafe {
            cmd.pre_exec(move || {
                let mut l = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
                l.rlim_cur = soft.min(l.rlim_max);
                libc::setrlimit(libc::RLIMIT_NOFILE, &l);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{}: {e}", o.server));
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .rsplit("://")
            .next()
            .unwrap_or_default()
            .to_string();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let pid = child.id();
        let token = http(&addr, "/.devserver/token", "").await.1;
        Server {
            child,
            pid,
            addr,
            token,
            log,
        }
    }

    fn log_count(&self, needle: &str) -> usize {
        self.log.lock().unwrap().matches(needle).count()
    }

    fn status_kib(&self, field: &str) -> u64 {
        let text =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Live processes below the server (reapers included).
    fn descendants(&self) -> usize {
        descendants_of(self.pid)
    }

    async fn exec(&self, argv: &[&str], flags: &str) -> Ws {
        let mut path = "/api/v1/namespaces/default/pods/demo/exec?".to_string();
        for a in argv {
            path.push_str(&format!("command={}&", encode(a)));
        }
        path.push_str(flags);
        self.ws(&path).await.expect("upgrade")
    }

    async fn ws(&self, path: &str) -> Result<Ws, String> {
        connect(&self.addr, &self.token, path).await
    }

    fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) on our unreaped child.
            unsafe {
                libc::kill(self.pid as i32, libc::SIGTERM);
            }
            for _ in 0..100 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill_hard();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A GET on a fresh connection: (status, body), or an error text; 5 s at most.
async fn http(addr: &str, path: &str, token: &str) -> (String, String) {
    let go = async {
        let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let auth = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text.split(' ').nth(1).unwrap_or("no answer").to_string();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        Ok::<_, String>((status, body))
    };
    match tokio::time::timeout(Duration::from_secs(5), go).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => (format!("error: {e}"), String::new()),
        Err(_) => ("no answer in 5 s".into(), String::new()),
    }
}

/// pid → parent pid of every process.
fn parents() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut f = rest.split(' ');
            let state = f.next()?;
            let ppid = f.next()?.parse().ok()?;
            (state != "Z").then_some((pid, ppid))
        })
        .collect()
}

fn descendants_of(root: u32) -> usize {
    let all = parents();
    let mut below = vec![root];
    let mut i = 0;
    while i < below.len() {
        let p = below[i];
        below.extend(all.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    below.len() - 1
}

/// Live processes with `arg` as one of their arguments.
fn procs_with_arg(arg: &str) -> Vec<u32> {
    parents()
        .into_iter()
        .map(|(pid, _)| pid)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

fn kill_procs(args: &[String]) {
    for a in args {
        for pid in procs_with_arg(a) {
            // SAFETY: kill(2) of a process just found running our marker.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// A `sleep` duration nothing else uses, to find its processes.
fn marker() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}.{}{:03}",
        5000 + std::process::id() % 4000,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn wait_for(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

fn row(scenario: &str, figure: &str, value: String) {
    println!("{scenario:<13} {figure:<58} {value}");
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

async fn sessions(o: &Options) {
    let server = Server::start(o, &[]).await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    // Every session is open at once: each client reads its status only when all are upgraded.
    let all_open = Arc::new(tokio::sync::Barrier::new(o.sessions as usize));
    for i in 0..o.sessions {
        let (addr, token) = (server.addr.clone(), server.token.clone());
        let all_open = all_open.clone();
        tasks.push(tokio::spawn(async move {
            let code = i % 256;
            let s = Server::ws_for(&addr, &token, &format!("exit {code}")).await;
            all_open.wait().await;
            let status = status_of(s?).await;
            let got = if status == r#"{"metadata":{},"status":"Success"}"# {
                Some(0)
            } else {
                serde_json::from_str::<serde_json::Value>(&status)
                    .ok()
                    .and_then(|v| v["details"]["causes"][0]["message"].as_str()?.parse().ok())
            };
            if got == Some(code) {
                Ok(())
            } else {
                Err(status.chars().take(160).collect::<String>())
            }
        }));
    }
    let mut ok = 0;
    let mut errors: std::collections::BTreeMap<String, u32> = Default::default();
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => *errors.entry(e).or_default() += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = o.sessions;
    row(
        "sessions",
        &format!("{n} concurrent `sh -c 'exit K'`: right exit codes"),
        format!("{ok}/{n} in {secs:.1} s"),
    );
    for (e, count) in errors.iter().take(3) {
        row("sessions", &format!("  {count} ×"), e.clone());
    }
    row(
        "sessions",
        "after: server fds, RSS, processes below it",
        format!(
            "{}, {}, {}",
            server.fds(),
            mib(server.status_kib("VmRSS")),
            server.descendants()
        ),
    );
}

impl Server {
    async fn ws_for(addr: &str, token: &str, script: &str) -> Result<Ws, String> {
        let path = format!(
            "/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command={}&stdout=1",
            encode(script)
        );
        connect(addr, token, &path).await
    }
}

/// A v5 WebSocket to `path` on the server at `addr`, with the token as a Bearer header.
async fn connect(addr: &str, token: &str, path: &str) -> Result<Ws, String> {
    let mut req = format!("ws://{addr}{path}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let h = req.headers_mut();
    h.insert(
        "Sec-WebSocket-Protocol",
        "v5.channel.k8s.io".parse().unwrap(),
    );
    h.insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tokio_tungstenite::client_async(req, tcp)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

/// The status JSON a session ends with.
async fn status_of(mut ws: Ws) -> String {
    let mut status = Vec::new();
    let read = async {
        while let Some(Ok(m)) = ws.next().await {
            match m {
                Message::Binary(b) if b.first() == Some(&3) => status.extend_from_slice(&b[1..]),
                Message::Close(_) => break,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(60), read).await;
    String::from_utf8_lossy(&status).into_owned()
}

async fn idle(o: &Options) {
    let server = Server::start(o, &[]).await;
    let mut held = Vec::new();
    for _ in 0..1100 {
        match TcpStream::connect(&server.addr).await {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = http(&server.addr, "/healthz", "").await;
    let api = http(&server.addr, "/api", &server.token).await;
    row(
        "idle",
        &format!("{} idle connections, then GET /healthz", held.len()),
        format!(
            "{} {}",
            health.0,
            health.1.chars().take(40).collect::<String>()
        ),
    );
    row(
        "idle",
        "  and GET /api",
        format!("{} {}", api.0, api.1.chars().take(70).collect::<String>()),
    );
    row("idle", "  server fds", server.fds().to_string());
}

/// Writes 64 KiB stdin frames until one has not gone out for 500 ms; the bytes written.
async fn flood(ws: &mut Ws, size: usize, cap: usize, stall: Duration) -> usize {
    let mut payload = vec![b'x'; size + 1];
    payload[0] = 0;
    let mut sent = 0;
    while sent < cap {
        let m = Message::Binary(payload.clone().into());
        match tokio::time::timeout(stall, ws.send(m)).await {
            Ok(Ok(())) => sent += size,
            _ => break,
        }
    }
    sent
}

async fn stdin_backed_up(o: &Options, attach: bool) {
    let name = if attach { "stdin-attach" } else { "stdin-exec" };
    let secs = marker();
    let pods = std::env::temp_dir().join(format!("kew-load-pods-{}.toml", std::process::id()));
    std::fs::write(
        &pods,
        format!(
            "[[pods]]\nname = \"demo\"\n[[pods.containers]]\nname = \"main\"\nstdin = true\n\
             command = [\"sh\", \"-c\", \"while :; do echo tick; sleep 0.2; done & exec sleep {secs}\"]\n"
        ),
    )
    .unwrap();
    let server = Server::start(o, &["--pods", pods.to_str().unwrap()]).await;
    let warm = server.exec(&["true"], "stdout=1").await;
    status_of(warm).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (fds0, procs0) = (server.fds(), server.descendants());
    let attach_path = |flags: &str| format!("/api/v1/namespaces/default/pods/demo/attach?{flags}");
    let mut other = None;
    let mut ws = if attach {
        other = Some(server.ws(&attach_path("stdin=1&stdout=1")).await.unwrap());
        server.ws(&attach_path("stdin=1")).await.unwrap()
    } else {
        server.exec(&["sleep", &secs], "stdin=1&stdout=1").await
    };
    // The readiness frame read, closing sends a FIN (nothing unread to reset the connection).
    let _ = ws.next().await;
    wait_for(|| !procs_with_arg(&secs).is_empty(), Duration::from_secs(5)).await;
    let before_end = server.log_count("end: client left");
    let sent = flood(&mut ws, 64 << 10, 1 << 30, Duration::from_millis(500)).await;
    drop(ws);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ended = server.log_count("end: client left") > before_end;
    let alive = !procs_with_arg(&secs).is_empty();
    row(
        name,
        "stdin taken before the socket blocked",
        format!("{:.1} MiB", sent as f64 / 1048576.0),
    );
    if attach {
        row(
            name,
            "2 s after the client left: its session ended",
            ended.to_string(),
        );
        let mut other = other.unwrap();
        let _ = other
            .send(Message::Binary(vec![0, b'h', b'i', b'\n'].into()))
            .await;
        let _ = other.send(Message::Close(None)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = other.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
        drop(other);
        let both = wait_for(
            || server.log_count("end: client left") >= before_end + 2,
            Duration::from_secs(2),
        )
        .await;
        row(
            name,
            "  another attached client sends stdin, closes: its session ended",
            both.to_string(),
        );
    } else {
        row(
            name,
            "2 s after the client left: sleep running / session ended",
            format!("{alive} / {ended}"),
        );
    }
    row(
        name,
        "  server fds, processes below it (before the session)",
        format!(
            "{}, {} ({fds0}, {procs0})",
            server.fds(),
            server.descendants()
        ),
    );
    drop(server);
    kill_procs(&[secs]);
    let _ = std::fs::remove_file(&pods);
}

async fn pings(o: &Options) {
    let server = Server::start(o, &[]).await;
    let secs = marker();
    let mut ws = server.exec(&["sleep", &secs], "stdout=1").await;
    let _ = ws.next().await;
    let rss0 = server.status_kib("VmRSS");
    let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
    ping.extend_from_slice(&[b'p'; 125]);
    let batch = ping.repeat(8192);
    let total = 300usize << 20;
    let mut written = 0;
    let socket = ws.get_mut();
    while written < total {
        match tokio::time::timeout(Duration::from_secs(10), socket.write_all(&batch)).await {
            Ok(Ok(())) => written += batch.len(),
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    row(
        "pings",
        &format!(
            "{} MiB of 125-byte pings, never reading: RSS before → peak",
            written >> 20
        ),
        format!("{} → {}", mib(rss0), mib(server.status_kib("VmHWM"))),
    );
    drop(ws);
    drop(server);
    kill_procs(&[secs]);
}

async fn stdin_memory(o: &Options) {
    let server = Server::start(o, &[]).await;
    let secs = marker();
    let mut ws = server.exec(&["sleep", &secs], "stdin=1&stdout=1").await;
    let _ = ws.next().await;
    let rss0 = server.status_kib("VmRSS");
    let mut sent = 0;
    for _ in 0..40 {
        let mut m = vec![b'x'; 30 << 20];
        m[0] = 0;
        match tokio::time::timeout(Duration::from_secs(3), ws.send(Message::Binary(m.into()))).await
        {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    row(
        "stdin-memory",
        &format!("30 MiB stdin messages to sleep: {sent} of 40 taken; RSS before → peak"),
        format!("{} → {}", mib(rss0), mib(server.status_kib("VmHWM"))),
    );
    drop(ws);
    drop(server);
    kill_procs(&[secs]);
}

async fn sigkill(o: &Options) {
    let m: Vec<String> = (0..6).map(|_| marker()).collect();
    let mut server = Server::start(o, &[]).await;
    let mut open = Vec::new();
    for script in [
        format!("sleep {} | cat", m[0]),
        format!("bash -c 'sleep {} & sleep {}; wait'", m[1], m[2]),
        format!("setsid sleep {}", m[3]),
    ] {
        open.push(server.exec(&["sh", "-c", &script], "stdout=1").await);
    }
    let all_up = wait_for(
        || m[..4].iter().all(|s| !procs_with_arg(s).is_empty()),
        Duration::from_secs(5),
    )
    .await;
    let below = server.descendants();
    server.kill_hard();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let left = m[..4]
        .iter()
        .filter(|s| !procs_with_arg(s).is_empty())
        .count();
    row(
        "sigkill",
        &format!("kill -9 with 3 sessions ({below} processes below, all up: {all_up}): sleeps left 2 s later"),
        format!("{left} of 4"),
    );
    drop(open);
    let server = Server::start(o, &[]).await;
    let ws = server
        .exec(
            &[
                "sh",
                "-c",
                &format!("setsid sleep {} & exec sleep {}", m[4], m[5]),
            ],
            "stdout=1",
        )
        .await;
    wait_for(
        || m[4..].iter().all(|s| !procs_with_arg(s).is_empty()),
        Duration::from_secs(5),
    )
    .await;
    drop(ws);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let left = m[4..]
        .iter()
        .filter(|s| !procs_with_arg(s).is_empty())
        .count();
    row(
        "sigkill",
        "client leaves `setsid sleep & exec sleep`: sleeps left 2 s later",
        format!("{left} of 2"),
    );
    drop(server);
    kill_procs(&m);
}

fn raise_own_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid pointer.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
    }
}

#[tokio::main]
async fn main() {
    let o = options();
    raise_own_fd_limit();
    println!("server {} (soft fd limit {} at start)", o.server, o.nofile);
    for s in &o.scenarios {
        match s.as_str() {
            "sessions" => sessions(&o).await,
            "idle" => idle(&o).await,
            "stdin-exec" => stdin_backed_up(&o, false).await,
            "stdin-attach" => stdin_backed_up(&o, true).await,
            "pings" => pings(&o).await,
            "stdin-memory" => stdin_memory(&o).await,
            "sigkill" => sigkill(&o).await,
            _ => unreachable!(),
        }
    }
}
