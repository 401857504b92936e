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
