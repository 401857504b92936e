//! attach: joins the pod's long-running main process, shared by every attach.

mod common;
use common::*;
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const P: &str = "v5.channel.k8s.io";

fn attach_path(pod: &str, flags: &str) -> String {
    format!("/api/v1/namespaces/default/pods/{pod}/attach?{flags}")
}

/// Reads stdout until it contains `needle`.
async fn read_until<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    proto: &str,
    needle: &str,
) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {:?}", String::from_utf8_lossy(&out)))
            .expect("stream ended")
            .expect("ws error");
        if let Some((1, d)) = decode(proto, &m) {
            out.extend_from_slice(&d);
        }
        let s = String::from_utf8_lossy(&out).into_owned();
        if s.contains(needle) {
            return s;
        }
    }
}

#[tokio::test]
async fn attach_echo_pod_shares_cat_between_sessions() {
    let server = Server::start(&[]);
    let path = attach_path("echo", "stdin=1&stdout=1&stderr=1");
    let mut a = open(&server, &path, P).await;
    let mut b = open(&server, &path, "v4.base64.channel.k8s.io").await;
    send(&mut a, frame(P, 0, b"from-a\n")).await;
    read_until(&mut a, P, "from-a").await;
    // The other session sees the same process's output.
    read_until(&mut b, "v4.base64.channel.k8s.io", "from-a").await;
    send(&mut b, frame("v4.base64.channel.k8s.io", 0, b"from-b\n")).await;
    read_until(&mut a, P, "from-b").await;
    // Leaving does not end the main process: a new attach still gets echoes.
    drop(a);
    drop(b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = open(&server, &path, P).await;
    send(&mut c, frame(P, 0, b"again\n")).await;
    read_until(&mut c, P, "again").await;
}

#[tokio::test]
async fn attach_demo_joins_the_shell_on_a_pty_and_exit_ends_with_success() {
    let server = Server::start(&[]);
    let path = attach_path("demo", "stdin=1&stdout=1&tty=1");
    let mut ws = open(&server, &path, P).await;
    send(&mut ws, frame(P, 4, b"{\"Width\":101,\"Height\":33}")).await;
    send(&mut ws, frame(P, 0, b"echo pid=$$; stty size\n")).await;
    let out = read_until(&mut ws, P, "33 101").await;
    let pid: String = out
        .split("pid=")
        .nth(2)
        .or_else(|| out.split("pid=").nth(1))
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert!(!pid.is_empty(), "{out}");
    // A second attach joins the same shell.
    let mut other = open(&server, &path, P).await;
    send(&mut other, frame(P, 0, b"echo same=$$\n")).await;
    read_until(&mut other, P, &format!("same={pid}")).await;
    drop(other);
    send(&mut ws, frame(P, 0, b"exit 5\n")).await;
    let t = collect(&mut ws, P, Duration::from_secs(15)).await;
    // attach never reports an exit code.
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(t.close, Some(1000));
    // The next attach starts the main process again.
    let mut again = open(&server, &path, P).await;
    send(&mut again, frame(P, 0, b"echo new=$$\n")).await;
    let out = read_until(&mut again, P, "new=").await;
    assert!(!out.contains(&format!("new={pid}")), "{out}");
}

#[tokio::test]
async fn attach_stdin_close_detaches_only_this_client() {
    let server = Server::start(&[]);
    let path = attach_path("echo", "stdin=1&stdout=1");
    let mut a = open(&server, &path, P).await;
    send(&mut a, Message::Binary(vec![0xff, 0x00].into())).await;
    send(&mut a, frame(P, 0, b"dropped\n")).await;
    let mut b = open(&server, &path, P).await;
    send(&mut b, frame(P, 0, b"kept\n")).await;
    let out = read_until(&mut a, P, "kept").await;
    assert!(!out.contains("dropped"), "{out}");
}

#[tokio::test]
async fn attach_to_a_multi_container_pod_needs_a_container() {
    let server = Server::start(&[]);
    let r = upgrade(
        &server,
        &attach_path("two", "stdin=1&stdout=1"),
        &[P],
        &[bearer(TOKEN)],
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    let mut ws = open(
        &server,
        &attach_path("two", "stdin=1&stdout=1&container=b"),
        P,
    )
    .await;
    send(&mut ws, frame(P, 0, b"bee\n")).await;
    read_until(&mut ws, P, "bee").await;
}
