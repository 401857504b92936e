//! Test harness: starts the real devserver binary on 127.0.0.1:0 and talks to it with a real
//! WebSocket client (tungstenite), doing the HTTP handshake by hand so that every header, and
//! every refusal before the upgrade, is visible.
#![allow(dead_code)]

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const TOKEN: &str = "test-token-Zm9v";

/// Polls `cond` every `step` until it holds, at most `tries` times; whether it came to hold.
pub async fn eventually(tries: u32, step: Duration, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if cond() {
            return true;
        }
        tokio::time::sleep(step).await;
    }
    cond()
}

pub struct Server {
    child: Child,
    /// Started under a wrapper (e.g. strace): the server is the wrapper's child.
    wrapped: bool,
    /// e.g. `127.0.0.1:43121`
    pub addr: String,
    /// e.g. `http://127.0.0.1:43121`
    pub url: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server with the token TOKEN (through `KEW_DEVSERVER_TOKEN`, not argv) and
    /// `args`.
    pub fn start(args: &[&str]) -> Server {
        let args = [&["--listen", "127.0.0.1:0"], args].concat();
        Server::spawn(&[], &args, Some(TOKEN), None)
    }

    /// Starts the server with exactly `args` (plus `--listen 127.0.0.1:0`), no token given.
    pub fn start_raw(args: &[&str]) -> Server {
        Server::spawn(
            &[],
            &[&["--listen", "127.0.0.1:0"], args].concat(),
            None,
            None,
        )
    }

    /// Starts `wrapper... devserver args...` (e.g. under strace), with the test token.
    pub fn start_under(wrapper: &[&str], args: &[&str]) -> Server {
        Server::spawn(wrapper, args, Some(TOKEN), None)
    }

    /// Starts the server (with the test token) with its soft fd limit lowered to `nofile`.
    pub fn start_with_fd_limit(nofile: u64, args: &[&str]) -> Server {
        let args = [&["--listen", "127.0.0.1:0"], args].concat();
        Server::spawn(&[], &args, Some(TOKEN), Some(nofile))
    }

    fn spawn(wrapper: &[&str], args: &[&str], token: Option<&str>, nofile: Option<u64>) -> Server {
        let bin = env!("CARGO_BIN_EXE_kube-exec-devserver");
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        match token {
            Some(t) => cmd.env("KEW_DEVSERVER_TOKEN", t),
            None => cmd.env_remove("KEW_DEVSERVER_TOKEN"),
        };
        if let Some(soft) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: getrlimit/setrlimit are async-signal-safe; nothing is allocated.
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
        }
        let mut child = cmd.spawn().expect("start devserver");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a first line").expect("utf-8");
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        let addr = url.split("://").nth(1).unwrap().to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            wrapped: !wrapper.is_empty(),
            addr,
            url,
            log,
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The server's pid (under a wrapper: the wrapper's child).
    pub fn pid(&self) -> u32 {
        if !self.wrapped {
            return self.child.id();
        }
        let id = self.child.id();
        std::fs::read_to_string(format!("/proc/{id}/task/{id}/children"))
            .ok()
            .and_then(|c| c.split_whitespace().next()?.parse().ok())
            .unwrap_or(id)
    }

    /// SIGKILL: the server gets no chance to clean up.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first: the server kills the process groups it started, then exits. (Only
        // while it has not been reaped, so the pid is still ours.)
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) on our own, unreaped child's pid (or the wrapper's child, while
            // the wrapper waits for it).
            unsafe {
                libc::kill(self.pid() as i32, libc::SIGTERM);
            }
        }
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // No test may leave a panic in the server's log (a panicking session task would not
        // take the server down, so it would go unnoticed otherwise).
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log_text();
        if std::thread::panicking() {
            eprintln!("---- devserver log ----\n{log}\n----");
        } else if log.contains("panicked") {
            panic!("the devserver panicked:\n{log}");
        }
    }
}

pub fn token_protocol(token: &str) -> String {
    format!(
        "base64url.bearer.authorization.k8s.io.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token)
    )
}

/// A plain HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn parse_head(head: &[u8]) -> (u16, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Reads a response head byte by byte, so that nothing after it is consumed (the WebSocket
/// then starts on a clean socket). The third value is always empty; kept for the callers.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Some(end) = find_head_end(&buf) {
            let (status, headers) = parse_head(&buf[..end]);
            return (status, headers, buf[end..].to_vec());
        }
        let n = s.read(&mut byte).await.expect("read response");
        assert!(
            n > 0,
            "connection closed before a response head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
}

fn request_text(method: &str, host: &str, path: &str, headers: &[(&str, String)]) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// One HTTP request on a fresh connection.
pub async fn http_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
) -> HttpResponse {
    let mut hs: Vec<(&str, String)> = headers.to_vec();
    hs.push(("Connection", "close".into()));
    s.write_all(request_text(method, host, path, &hs).as_bytes())
        .await
        .unwrap();
    let (status, headers, mut body) = read_head(&mut s).await;
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match len {
        Some(len) => {
            while body.len() < len {
                let mut chunk = vec![0u8; len - body.len()];
                let n = s.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            let _ = s.read_to_end(&mut body).await;
        }
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

pub async fn http(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
) -> HttpResponse {
    let s = TcpStream::connect(&server.addr).await.unwrap();
    http_on(s, &server.addr, method, path, headers).await
}

pub fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

pub enum Handshake<S> {
    Upgraded {
        ws: Box<WebSocketStream<S>>,
        protocol: Option<String>,
    },
    Refused(HttpResponse),
}

impl<S> Handshake<S> {
    pub fn refused(self) -> HttpResponse {
        match self {
            Handshake::Refused(r) => r,
            Handshake::Upgraded { .. } => panic!("expected a refusal, got an upgrade"),
        }
    }

    pub fn upgraded(self) -> (WebSocketStream<S>, Option<String>) {
        match self {
            Handshake::Upgraded { ws, protocol } => (*ws, protocol),
            Handshake::Refused(r) => panic!("upgrade refused: {} {}", r.status, r.text()),
        }
    }
}

/// A WebSocket upgrade request with the given subprotocols and extra headers.
pub async fn upgrade_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    path: &str,
    protocols: &[&str],
    extra: &[(&str, String)],
) -> Handshake<S> {
    let mut hs: Vec<(&str, String)> = vec![
        ("Upgrade", "websocket".into()),
        ("Connection", "Upgrade".into()),
        ("Sec-WebSocket-Version", "13".into()),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".into()),
    ];
    if !protocols.is_empty() {
        hs.push(("Sec-WebSocket-Protocol", protocols.join(", ")));
    }
    hs.extend_from_slice(extra);
    s.write_all(request_text("GET", host, path, &hs).as_bytes())
        .await
        .unwrap();
    let (status, headers, rest) = read_head(&mut s).await;
    if status != 101 {
        let mut r = HttpResponse {
            status,
            headers,
            body: rest,
        };
        let len = r
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        while r.body.len() < len {
            let mut chunk = vec![0u8; len - r.body.len()];
            let n = s.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            r.body.extend_from_slice(&chunk[..n]);
        }
        return Handshake::Refused(r);
    }
    let accept = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|(_, v)| v.clone());
    assert_eq!(accept.as_deref(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    let protocol = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol"))
        .map(|(_, v)| v.clone());
    assert!(rest.is_empty());
    let ws = WebSocketStream::from_raw_socket(s, Role::Client, None).await;
    Handshake::Upgraded {
        ws: Box::new(ws),
        protocol,
    }
}

pub async fn upgrade(
    server: &Server,
    path: &str,
    protocols: &[&str],
    extra: &[(&str, String)],
) -> Handshake<TcpStream> {
    let s = TcpStream::connect(&server.addr).await.unwrap();
    upgrade_on(s, &server.addr, path, protocols, extra).await
}

/// Opens an authenticated session (token in the Authorization header).
pub async fn open(server: &Server, path: &str, protocol: &str) -> WebSocketStream<TcpStream> {
    upgrade(server, path, &[protocol], &[bearer(TOKEN)])
        .await
        .upgraded()
        .0
}

pub fn is_base64(protocol: &str) -> bool {
    protocol.contains("base64")
}

/// Encodes a client frame for the protocol.
pub fn frame(protocol: &str, channel: u8, payload: &[u8]) -> Message {
    if is_base64(protocol) {
        let mut s = String::from(char::from(b'0' + channel));
        base64::engine::general_purpose::STANDARD.encode_string(payload, &mut s);
        Message::Text(s.into())
    } else {
        let mut v = vec![channel];
        v.extend_from_slice(payload);
        Message::Binary(v.into())
    }
}

/// Everything a session produced, decoded for its protocol.
#[derive(Debug, Default)]
pub struct Transcript {
    pub frames: Vec<(u8, Vec<u8>)>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub error: Vec<u8>,
    /// The close code, or None if the connection ended without a close frame.
    pub close: Option<u16>,
    pub text_frames: usize,
    pub binary_frames: usize,
}

impl Transcript {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    pub fn error_str(&self) -> String {
        String::from_utf8_lossy(&self.error).into_owned()
    }
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_slice(&self.error)
            .unwrap_or_else(|e| panic!("status not JSON ({e}): {:?}", self.error_str()))
    }
}

pub fn decode(protocol: &str, msg: &Message) -> Option<(u8, Vec<u8>)> {
    let data: &[u8] = match msg {
        Message::Binary(b) => b,
        Message::Text(t) => t.as_bytes(),
        _ => return None,
    };
    let (&first, rest) = data.split_first()?;
    if is_base64(protocol) {
        let payload = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .expect("server base64 must decode");
        Some((first - b'0', payload))
    } else {
        Some((first, rest.to_vec()))
    }
}

/// Reads until the session ends (close frame or connection end), with a timeout.
pub async fn collect<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    protocol: &str,
    timeout: Duration,
) -> Transcript {
    let mut t = Transcript::default();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("session did not end in time; so far: {t:?}"));
        match next {
            Some(Ok(Message::Close(frame))) => {
                t.close = Some(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                // Let tungstenite send the close reply.
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
                return t;
            }
            Some(Ok(m)) => {
                match &m {
                    Message::Text(_) => t.text_frames += 1,
                    Message::Binary(_) => t.binary_frames += 1,
                    _ => {}
                }
                if let Some((ch, payload)) = decode(protocol, &m) {
                    match ch {
                        1 => t.stdout.extend_from_slice(&payload),
                        2 => t.stderr.extend_from_slice(&payload),
                        3 => t.error.extend_from_slice(&payload),
                        _ => {}
                    }
                    t.frames.push((ch, payload));
                }
            }
            Some(Err(_)) | None => return t,
        }
    }
}

pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, m: Message) {
    ws.send(m).await.expect("send");
}

/// URL-encodes one query value.
pub fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `/api/v1/namespaces/default/pods/{pod}/exec?command=..&...` with the given flags.
pub fn exec_path(pod: &str, argv: &[&str], flags: &str) -> String {
    let mut p = format!("/api/v1/namespaces/default/pods/{pod}/exec?");
    for a in argv {
        p.push_str(&format!("command={}&", q(a)));
    }
    p.push_str(flags);
    p
}

pub const ALL_PROTOCOLS: [&str; 5] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];

/// Pids of live processes (zombies have an empty cmdline) whose command line contains `needle`
/// as one of its arguments.
pub fn procs_with_arg(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|&b| b == 0).any(|a| a == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// A `sleep` duration no other test uses, so that its processes can be found in /proc.
pub fn unique_sleep() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    format!(
        "{}.{:05}{:04}",
        1000 + std::process::id() % 9000,
        std::process::id() % 100000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// SIGKILLs leftovers a failed test would otherwise leave running.
pub fn kill_leftovers(markers: &[&str]) {
    for m in markers {
        for pid in procs_with_arg(m) {
            // SAFETY: kill(2); the pid was just found running our marker.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// Writes stdin frames of `size` bytes until a write has not completed for `stall`, i.e. the
/// server stopped reading (or `cap` bytes were sent); returns the bytes sent.
pub async fn flood_stdin<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    protocol: &str,
    size: usize,
    cap: usize,
    stall: Duration,
) -> usize {
    let payload = vec![b'x'; size];
    let mut sent = 0;
    while sent < cap {
        match tokio::time::timeout(stall, ws.send(frame(protocol, 0, &payload))).await {
            Ok(Ok(())) => sent += size,
            Ok(Err(_)) | Err(_) => break,
        }
    }
    sent
}

/// The soft and hard "Max open files" of a process.
pub fn fd_limits(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or("");
    let mut n = line.split_whitespace().filter_map(|w| {
        w.parse::<u64>()
            .ok()
            .or((w == "unlimited").then_some(u64::MAX))
    });
    (n.next().unwrap_or(0), n.next().unwrap_or(0))
}

/// `count` concurrent sessions `sh -c 'exit N'` (N = i % 256); how many got their own code.
pub async fn concurrent_exit_codes(server: &Server, count: u32) -> (u32, Vec<String>) {
    let mut tasks = Vec::new();
    // All open at once: each client reads its status only when every upgrade is done.
    let all_open = std::sync::Arc::new(tokio::sync::Barrier::new(count as usize));
    for i in 0..count {
        let addr = server.addr.clone();
        let all_open = all_open.clone();
        tasks.push(tokio::spawn(async move {
            let n = i % 256;
            let proto = "v5.channel.k8s.io";
            let path = exec_path("demo", &["sh", "-c", &format!("exit {n}")], "stdout=1");
            let upgraded = async {
                let s = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
                match upgrade_on(s, &addr, &path, &[proto], &[bearer(TOKEN)]).await {
                    Handshake::Upgraded { ws, .. } => Ok(ws),
                    Handshake::Refused(r) => Err(format!("{} {}", r.status, r.text())),
                }
            }
            .await;
            all_open.wait().await;
            let mut ws = upgraded?;
            let t = collect(&mut ws, proto, Duration::from_secs(60)).await;
            let got = if t.error_str() == r#"{"metadata":{},"status":"Success"}"# {
                Some(0)
            } else {
                serde_json::from_slice::<serde_json::Value>(&t.error)
                    .ok()
                    .and_then(|st| st["details"]["causes"][0]["message"].as_str()?.parse().ok())
            };
            if got == Some(n) {
                Ok(())
            } else {
                Err(format!("exit {n}: got {:?}", t.error_str()))
            }
        }));
    }
    let mut ok = 0;
    let mut errors = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (ok, errors)
}

/// The server still runs a session end to end (after something tried to break it).
pub async fn still_serves(server: &Server) {
    let p = "v5.channel.k8s.io";
    let mut ws = open(
        server,
        &exec_path("demo", &["echo", "alive"], "stdout=1"),
        p,
    )
    .await;
    let t = collect(&mut ws, p, Duration::from_secs(20)).await;
    assert_eq!(t.stdout_str(), "alive\n");
}
