//! The fault pods (`--faults`), each over v5, v4 and v4.base64.

mod common;
use common::*;
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const PROTOS: [&str; 3] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
];
const T: Duration = Duration::from_secs(30);

fn path(pod: &str) -> String {
    exec_path(pod, &["run"], "stdout=1&stderr=1")
}

#[tokio::test]
async fn faults_are_absent_without_the_flag() {
    let server = Server::start(&[]);
    let r = upgrade(&server, &path("fault-drop"), &[PROTOS[0]], &[bearer(TOKEN)])
        .await
        .refused();
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn drop_cuts_the_connection_without_a_close_frame() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-drop"), p).await;
        let t = collect(&mut ws, p, T).await;
        assert_eq!(t.frames.first(), Some(&(1, vec![])), "{p}");
        assert_eq!(t.stdout_str(), "partial\n", "{p}");
        assert_eq!(t.close, None, "{p}: no close frame");
        assert!(t.error.is_empty());
    }
}

#[tokio::test]
async fn close_abnormal_is_1011_without_status() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-close-abnormal"), p).await;
        let t = collect(&mut ws, p, T).await;
        assert_eq!(t.stdout_str(), "partial\n", "{p}");
        assert_eq!(t.close, Some(1011), "{p}");
        assert!(t.error.is_empty());
    }
}

#[tokio::test]
async fn malformed_sends_a_frame_on_channel_7_then_success() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-malformed"), p).await;
        let t = collect(&mut ws, p, T).await;
        assert_eq!(
            t.frames.get(1),
            Some(&(7, vec![0x41])),
            "{p}: {:?}",
            t.frames
        );
        assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
        assert_eq!(t.close, Some(1000));
    }
}

#[tokio::test]
async fn bad_base64_has_line_breaks_in_its_text_then_success() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-bad-base64"), p).await;
        let mut stdout = Vec::new();
        let mut texts = Vec::new();
        while let Ok(Some(Ok(m))) = tokio::time::timeout(T, ws.next()).await {
            match m {
                Message::Text(t) if t.starts_with('1') => texts.push(t.to_string()),
                Message::Binary(b) if b.first() == Some(&1) => stdout.extend_from_slice(&b[1..]),
                Message::Close(_) => break,
                _ => {}
            }
        }
        if is_base64(p) {
            // The readiness frame ("1"), then the one with line breaks.
            assert_eq!(texts, ["1", "1cGFy\r\n\r\ndGlhbAo="], "{p}");
        } else {
            assert_eq!(stdout, b"partial\n", "{p}");
        }
    }
}

#[tokio::test]
async fn bad_status_is_truncated_json_then_1000() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-bad-status"), p).await;
        let t = collect(&mut ws, p, T).await;
        assert_eq!(t.error_str(), r#"{"status":"#, "{p}");
        assert!(serde_json::from_slice::<serde_json::Value>(&t.error).is_err());
        assert_eq!(t.close, Some(1000));
    }
}

#[tokio::test]
async fn split_utf8_sends_one_byte_per_frame() {
    let server = Server::start(&["--faults"]);
    let text = "héllo wörld € 𝄞\n";
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-split-utf8"), p).await;
        let t = collect(&mut ws, p, T).await;
        let stdout_frames: Vec<_> = t
            .frames
            .iter()
            .filter(|(c, d)| *c == 1 && !d.is_empty())
            .collect();
        assert_eq!(stdout_frames.len(), text.len(), "{p}");
        assert!(stdout_frames.iter().all(|(_, d)| d.len() == 1));
        assert_eq!(t.stdout_str(), text);
        assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    }
}

#[tokio::test]
async fn stall_sends_nothing_and_never_closes() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-stall"), p).await;
        let r = tokio::time::timeout(Duration::from_millis(700), ws.next()).await;
        assert!(r.is_err(), "{p}: expected silence, got {r:?}");
    }
}

#[tokio::test]
async fn large_is_64_mib_in_64_kib_frames_with_the_pattern() {
    let server = Server::start(&["--faults"]);
    for p in PROTOS {
        let mut ws = open(&server, &path("fault-large"), p).await;
        let t = collect(&mut ws, p, Duration::from_secs(120)).await;
        assert_eq!(t.stdout.len(), 64 << 20, "{p}");
        assert!(
            t.stdout
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8),
            "{p}: pattern"
        );
        let sizes: Vec<usize> = t
            .frames
            .iter()
            .filter(|(c, d)| *c == 1 && !d.is_empty())
            .map(|(_, d)| d.len())
            .collect();
        assert!(sizes.iter().all(|&s| s == 64 << 10), "{p}");
        assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    }
}
