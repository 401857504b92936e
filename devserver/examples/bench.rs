//! Throughput and concurrency of the devserver, measured in one run (release builds only):
//!
//! ```sh
//! cargo run --release -p kube-exec-devserver --example bench
//! ```
//!
//! 1. 1 GiB of stdout through the server to a native tungstenite client on loopback, against
//!    the same bytes over a plain TCP pipe (the limit); as a ratio. Twice in the server: produced
//!    in-server (bench pod `bulk`) and by a real process (`head -c 1073741824 /dev/zero`).
//! 2. 200 concurrent sessions `sh -c 'exit N'`, each checked for its own exit code.
//!
//! The server runs in this process on its own runtime (2 worker threads), the client on
//! another; both share the machine's cores, as a local client and server do.

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

const GIB: u64 = 1 << 30;
const TOKEN: &str = "bench-token";
const REPS: usize = 5;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_server() -> String {
    use clap::Parser;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = kube_exec_devserver::Args::parse_from([
        "kube-exec-devserver",
        "--listen",
        &listen,
        "--token",
        TOKEN,
        "--bench",
    ]);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        if let Err(e) = rt.block_on(kube_exec_devserver::run(args)) {
            eprintln!("server: {e}");
            std::process::exit(1);
        }
    });
    // Wait until it accepts.
    for _ in 0..200 {
        if std::net::TcpStream::connect(&listen).is_ok() {
            return listen;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("server did not start");
}

/// The limit: the same bytes over a plain loopback TCP connection, 256 KiB writes.
async fn tcp_pipe(total: u64) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let _ = s.set_nodelay(true);
        let chunk: Vec<u8> = (0..256 * 1024u64).map(|i| (i % 251) as u8).collect();
        let mut sent = 0u64;
        while sent < total {
            let n = (total - sent).min(chunk.len() as u64) as usize;
            s.write_all(&chunk[..n]).await.unwrap();
            sent += n as u64;
        }
    });
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < total {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "pipe ended early");
        got += n as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    writer.await.unwrap();
    total as f64 / secs / 1e6
}

fn exec_url(addr: &str, pod: &str, argv: &[&str], flags: &str) -> String {
    let mut u = format!("ws://{addr}/api/v1/namespaces/default/pods/{pod}/exec?");
    for a in argv {
        let enc: String = a
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        u.push_str(&format!("command={enc}&"));
    }
    u.push_str(flags);
    u
}

fn read_buffer() -> usize {
    std::env::var("BENCH_READ_BUFFER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128 << 10)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connect(addr: &str, url: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert(
        "Sec-WebSocket-Protocol",
        "v5.channel.k8s.io".parse().unwrap(),
    );
    h.insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = tcp.set_nodelay(true);
    let config = WebSocketConfig::default()
        // tungstenite zero-fills up to this much spare buffer before every read: keep it modest.
        .read_buffer_size(read_buffer())
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, tcp, Some(config))
        .await
        .expect("upgrade");
    ws
}

/// Reads one session to its end: (stdout bytes, stdout frames, status JSON, close code).
async fn drain(ws: &mut Ws) -> (u64, u64, Vec<u8>, Option<u16>) {
    let (mut bytes, mut frames, mut status) = (0u64, 0u64, Vec::new());
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Binary(b)) => match b.first() {
                Some(1) if b.len() > 1 => {
                    bytes += b.len() as u64 - 1;
                    frames += 1;
                }
                Some(3) => status.extend_from_slice(&b[1..]),
                _ => {}
            },
            Ok(Message::Close(f)) => {
                let code = f.map(|f| u16::from(f.code));
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.next()).await;
                return (bytes, frames, status, code);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (bytes, frames, status, None)
}

async fn through_server(addr: &str, pod: &str, argv: &[&str], total: u64) -> f64 {
    let url = exec_url(addr, pod, argv, "stdout=true");
    let mut ws = connect(addr, &url).await;
    let start = Instant::now();
    let (bytes, _frames, status, close) = drain(&mut ws).await;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(bytes, total, "{pod} {argv:?}: all bytes");
    assert_eq!(
        status, br#"{"metadata":{},"status":"Success"}"#,
        "{pod} {argv:?}"
    );
    assert_eq!(close, Some(1000));
    total as f64 / secs / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

async fn concurrency(addr: &str, sessions: u32) -> (u32, f64) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..sessions {
        let addr = addr.to_string();
        tasks.push(tokio::spawn(async move {
            let code = n % 256;
            let url = exec_url(
                &addr,
                "demo",
                &["sh", "-c", &format!("exit {code}")],
                "stdout=true",
            );
            let mut ws = connect(&addr, &url).await;
            let (_, _, status, close) = drain(&mut ws).await;
            let v: serde_json::Value = serde_json::from_slice(&status).unwrap_or_default();
            let got = if v["status"] == "Success" {
                Some(0)
            } else {
                v["details"]["causes"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["reason"] == "ExitCode"))
                    .and_then(|c| c["message"].as_str())
                    .and_then(|m| m.parse::<u32>().ok())
            };
            got == Some(code) && close == Some(1000)
        }));
    }
    let mut correct = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            correct += 1;
        }
    }
    (correct, start.elapsed().as_secs_f64())
}

fn main() {
    if cfg!(debug_assertions) {
        eprintln!("bench: build with --release (cargo run --release -p kube-exec-devserver --example bench)");
        std::process::exit(2);
    }
    let addr = start_server();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let bulk_64k = ["bulk", "1073741824", "65536"];
        let bulk_1m = ["bulk", "1073741824", "1048576"];
        let head = ["head", "-c", "1073741824", "/dev/zero"];
        let (mut tcp, mut b64k, mut b1m, mut proc_) = (vec![], vec![], vec![], vec![]);
        // Interleaved repetitions, medians reported.
        for _ in 0..REPS {
            tcp.push(tcp_pipe(GIB).await);
            b64k.push(through_server(&addr, "bench", &bulk_64k, GIB).await);
            b1m.push(through_server(&addr, "bench", &bulk_1m, GIB).await);
            proc_.push(through_server(&addr, "demo", &head, GIB).await);
        }
        let limit = median(tcp.clone());
        println!("throughput, 1 GiB of stdout, median of {REPS} interleaved runs:");
        println!("  plain TCP pipe (limit)                     {limit:8.0} MB/s");
        for (name, v) in [
            ("server, bench pod bulk, 64 KiB frames", b64k),
            ("server, bench pod bulk, 1 MiB frames", b1m),
            ("server, real process head -c (pipe)", proc_),
        ] {
            // The ratio is taken per repetition (each against the pipe measured just before it),
            // then the median: robust against the machine's load drifting during the run.
            let ratios: Vec<f64> = v.iter().zip(&tcp).map(|(w, t)| w / t).collect();
            let m = median(v);
            println!("  {name:<42} {m:8.0} MB/s  ratio {:.2}", median(ratios));
        }
        let (ok, secs) = concurrency(&addr, 200).await;
        println!("concurrency: 200 sessions `sh -c 'exit N'`: {ok}/200 correct exit codes in {secs:.2} s");
        if ok != 200 {
            std::process::exit(1);
        }
    });
    // Anything still running dies with this process (each session's reaper sees it go).
}
