//! exec over every subprotocol against the real server: output, readiness, status shapes,
//! stdin EOF, working directory, PTY resize.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[tokio::test]
async fn every_subprotocol_carries_stdout_stderr_and_the_exit_status() {
    let server = Server::start(&[]);
    for proto in ALL_PROTOCOLS {
        let path = exec_path(
            "demo",
            &["sh", "-c", "echo out; echo err >&2; exit 7"],
            "stdout=true&stderr=true",
        );
        let (mut ws, answered) = upgrade(&server, &path, &[proto], &[bearer(TOKEN)])
            .await
            .upgraded();
        assert_eq!(answered.as_deref(), Some(proto));
        let t = collect(&mut ws, proto, T).await;
        assert_eq!(
            t.frames.first(),
            Some(&(1, vec![])),
            "{proto}: readiness frame first"
        );
        assert_eq!(t.stdout_str(), "out\n", "{proto}");
        assert_eq!(t.stderr_str(), "err\n", "{proto}");
        assert_eq!(t.close, Some(1000), "{proto}");
        if is_base64(proto) {
            assert_eq!(
                t.binary_frames, 0,
                "{proto}: base64 protocols send text frames"
            );
        } else {
            assert_eq!(
                t.text_frames, 0,
                "{proto}: binary protocols send binary frames"
            );
        }
        match proto {
            "v5.channel.k8s.io" => assert_eq!(
                t.status(),
                serde_json::json!({"metadata":{},"status":"Failure",
                    "message":"command terminated with non-zero exit code: command terminated with exit code 7",
                    "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}})
            ),
            "v4.channel.k8s.io" | "v4.base64.channel.k8s.io" => assert_eq!(
                t.status(),
                serde_json::json!({"metadata":{},"status":"Failure",
                    "message":"command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 7], exit code 7",
                    "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}})
            ),
            _ => assert_eq!(
                t.error_str(),
                "command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 7], exit code 7"
            ),
        }
    }
}

#[tokio::test]
async fn success_status_per_protocol() {
    let server = Server::start(&[]);
    for proto in ALL_PROTOCOLS {
        let mut ws = open(&server, &exec_path("demo", &["true"], "stdout=1"), proto).await;
        let t = collect(&mut ws, proto, T).await;
        assert_eq!(t.close, Some(1000));
        if proto.starts_with("v4") || proto.starts_with("v5") {
            assert_eq!(
                t.error_str(),
                r#"{"metadata":{},"status":"Success"}"#,
                "{proto}"
            );
        } else {
            assert!(
                t.error.is_empty(),
                "{proto}: v1 success sends nothing on channel 3"
            );
        }
    }
}

#[tokio::test]
async fn no_subprotocol_offered_behaves_like_channel_k8s_io() {
    let server = Server::start(&[]);
    let path = exec_path("demo", &["sh", "-c", "echo hi; exit 3"], "stdout=1");
    let (mut ws, answered) = upgrade(&server, &path, &[], &[bearer(TOKEN)])
        .await
        .upgraded();
    // The Kubernetes servers answer with an empty header (PROTOCOL.md §2).
    assert_eq!(answered.as_deref(), Some(""));
    let t = collect(&mut ws, "channel.k8s.io", T).await;
    assert_eq!(t.stdout_str(), "hi\n");
    assert!(t.error_str().contains("exit code 3"), "{}", t.error_str());
    assert_eq!(t.close, Some(1000));
}

#[tokio::test]
async fn negotiation_takes_the_clients_first_supported_name() {
    let server = Server::start(&[]);
    let path = exec_path("demo", &["true"], "stdout=1");
    let offer = [
        "v9.channel.k8s.io",
        "v4.base64.channel.k8s.io",
        "v5.channel.k8s.io",
    ];
    let (_ws, answered) = upgrade(&server, &path, &offer, &[bearer(TOKEN)])
        .await
        .upgraded();
    assert_eq!(answered.as_deref(), Some("v4.base64.channel.k8s.io"));
    let r = upgrade(
        &server,
        &path,
        &["v3.channel.k8s.io", "foo"],
        &[bearer(TOKEN)],
    )
    .await
    .refused();
    assert_eq!(r.status, 403);
    assert!(
        r.body.is_empty(),
        "golang.org/x/net/websocket refuses with an empty body"
    );
}

#[tokio::test]
async fn missing_executable_is_an_internal_error() {
    let server = Server::start(&[]);
    for proto in ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"] {
        let mut ws = open(
            &server,
            &exec_path("demo", &["no-such-cmd-xyz"], "stdout=1&stderr=1"),
            proto,
        )
        .await;
        let t = collect(&mut ws, proto, T).await;
        assert_eq!(t.close, Some(1000));
        let tail = r#"OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-cmd-xyz": executable file not found in $PATH: unknown"#;
        if proto == "channel.k8s.io" {
            let text = t.error_str();
            assert!(text.starts_with("Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \""), "{text}");
            assert!(text.ends_with(tail), "{text}");
            continue;
        }
        let s = t.status();
        assert_eq!(s["status"], "Failure");
        assert_eq!(s["reason"], "InternalError");
        assert_eq!(s["code"], 500);
        let message = s["message"].as_str().unwrap();
        let cause = s["details"]["causes"][0]["message"].as_str().unwrap();
        let prefix = if proto.starts_with("v5") {
            "Internal error occurred: Internal error occurred: error executing command in container: "
        } else {
            "Internal error occurred: error executing command in container: "
        };
        assert!(message.starts_with(prefix), "{proto}: {message}");
        assert!(message.ends_with(tail), "{message}");
        assert_eq!(format!("Internal error occurred: {cause}"), message);
    }
}

#[tokio::test]
async fn a_minimal_image_has_only_its_commands() {
    let server = Server::start(&[]);
    // The `nobash` pod: bash is not on its PATH, sh and its few tools are (with a TTY too).
    for tty in ["", "&tty=1"] {
        let mut ws = open(
            &server,
            &exec_path("nobash", &["bash"], &format!("stdout=1{tty}")),
            "v4.channel.k8s.io",
        )
        .await;
        let t = collect(&mut ws, "v4.channel.k8s.io", T).await;
        let m = t.status()["message"].as_str().unwrap().to_string();
        assert!(
            m.ends_with(r#"exec: "bash": executable file not found in $PATH: unknown"#),
            "{tty}: {m}"
        );
    }
    let mut ws = open(
        &server,
        &exec_path(
            "nobash",
            &["sh", "-c", "ls -a \"${PATH}\" | tr '\\n' ' '"],
            "stdout=1",
        ),
        "v5.channel.k8s.io",
    )
    .await;
    let t = collect(&mut ws, "v5.channel.k8s.io", T).await;
    assert_eq!(t.stdout_str(), ". .. cat env head id ls sh sleep stty tr ");
    assert_eq!(t.status()["status"], "Success");
}

#[tokio::test]
async fn absolute_path_that_does_not_exist() {
    let server = Server::start(&[]);
    let mut ws = open(
        &server,
        &exec_path("demo", &["/no/such/bin"], "stdout=1"),
        "v4.channel.k8s.io",
    )
    .await;
    let t = collect(&mut ws, "v4.channel.k8s.io", T).await;
    let m = t.status()["message"].as_str().unwrap().to_string();
    assert!(
        m.contains(r#"exec: "/no/such/bin": stat /no/such/bin: no such file or directory"#),
        "{m}"
    );
}

#[tokio::test]
async fn stdin_reaches_the_process_and_v5_close_gives_eof() {
    let server = Server::start(&[]);
    let proto = "v5.channel.k8s.io";
    let mut ws = open(
        &server,
        &exec_path("demo", &["cat"], "stdin=true&stdout=true&stderr=true"),
        proto,
    )
    .await;
    send(&mut ws, frame(proto, 0, b"hello ")).await;
    send(&mut ws, frame(proto, 0, b"world\n")).await;
    send(
        &mut ws,
        tokio_tungstenite::tungstenite::Message::Binary(vec![0xff, 0x00].into()),
    )
    .await;
    let t = collect(&mut ws, proto, T).await;
    assert_eq!(t.stdout_str(), "hello world\n");
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(t.close, Some(1000));
}

#[tokio::test]
async fn stdin_over_base64_and_v1_without_close_signal() {
    let server = Server::start(&[]);
    for proto in [
        "v4.base64.channel.k8s.io",
        "base64.channel.k8s.io",
        "v4.channel.k8s.io",
    ] {
        // head -n1 ends by itself: there is no half-close on these protocols.
        let mut ws = open(
            &server,
            &exec_path("demo", &["head", "-n", "1"], "stdin=1&stdout=1"),
            proto,
        )
        .await;
        send(&mut ws, frame(proto, 0, "héllo\nignored\n".as_bytes())).await;
        let t = collect(&mut ws, proto, T).await;
        assert_eq!(t.stdout_str(), "héllo\n", "{proto}");
        assert_eq!(t.close, Some(1000));
    }
}

#[tokio::test]
async fn runs_in_the_pods_working_directory_without_a_shell() {
    let server = Server::start(&[]);
    let proto = "v4.channel.k8s.io";
    let mut ws = open(&server, &exec_path("demo", &["pwd"], "stdout=1"), proto).await;
    let t = collect(&mut ws, proto, T).await;
    let dir = t.stdout_str();
    assert!(dir.trim_end().ends_with("/default/demo"), "{dir}");
    // argv is passed as is: no shell expands this.
    let mut ws = open(
        &server,
        &exec_path("demo", &["echo", "$HOME", "*"], "stdout=1"),
        proto,
    )
    .await;
    let t = collect(&mut ws, proto, T).await;
    assert_eq!(t.stdout_str(), "$HOME *\n");
}

#[tokio::test]
async fn tty_runs_on_a_pty_and_resize_sets_the_window_size() {
    let server = Server::start(&[]);
    let proto = "v5.channel.k8s.io";
    let path = exec_path(
        "demo",
        &["sh", "-c", "read x; stty size; tty -s && echo is-a-tty"],
        "stdin=1&stdout=1&stderr=1&tty=1",
    );
    let mut ws = open(&server, &path, proto).await;
    send(&mut ws, frame(proto, 4, b"{\"Width\":123,\"Height\":45}\n")).await;
    // Garbage on the resize channel is ignored, not fatal.
    send(&mut ws, frame(proto, 4, b"not json")).await;
    send(&mut ws, frame(proto, 0, b"go\n")).await;
    let t = collect(&mut ws, proto, T).await;
    let out = t.stdout_str();
    assert!(out.contains("45 123"), "{out:?}");
    assert!(out.contains("is-a-tty"), "{out:?}");
    assert!(t.stderr.is_empty(), "a tty merges stderr into stdout");
    assert_eq!(t.close, Some(1000));
}

#[tokio::test]
async fn close_on_a_pty_sends_eof() {
    let server = Server::start(&[]);
    let proto = "v5.channel.k8s.io";
    let mut ws = open(
        &server,
        &exec_path("demo", &["cat"], "stdin=1&stdout=1&tty=1"),
        proto,
    )
    .await;
    send(&mut ws, frame(proto, 0, b"abc")).await;
    send(
        &mut ws,
        tokio_tungstenite::tungstenite::Message::Binary(vec![0xff, 0x00].into()),
    )
    .await;
    let t = collect(&mut ws, proto, T).await;
    assert!(t.stdout_str().contains("abc"), "{:?}", t.stdout_str());
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
}

#[tokio::test]
async fn exit_codes_of_many_concurrent_sessions() {
    let server = Server::start(&[]);
    let mut tasks = Vec::new();
    for n in 0..40u32 {
        let addr = server.addr.clone();
        tasks.push(tokio::spawn(async move {
            let proto = "v5.channel.k8s.io";
            let path = exec_path("demo", &["sh", "-c", &format!("exit {n}")], "stdout=1");
            let s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let (mut ws, _) = upgrade_on(s, &addr, &path, &[proto], &[bearer(TOKEN)])
                .await
                .upgraded();
            let t = collect(&mut ws, proto, T).await;
            let st = t.status();
            let code = if n == 0 {
                assert_eq!(st["status"], "Success");
                0
            } else {
                st["details"]["causes"][0]["message"]
                    .as_str()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap()
            };
            assert_eq!(code, n);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn client_leaving_kills_the_process_group() {
    let server = Server::start(&[]);
    let proto = "v5.channel.k8s.io";
    let marker = format!("kew-sleep-{}", std::process::id());
    let script = format!("echo $$; exec -a {marker} sleep 300");
    let mut ws = open(
        &server,
        &exec_path("demo", &["bash", "-c", &script], "stdout=1"),
        proto,
    )
    .await;
    let mut pid = String::new();
    while pid.is_empty() {
        use futures_util::StreamExt;
        let m = ws.next().await.unwrap().unwrap();
        if let Some((1, p)) = decode(proto, &m) {
            pid = String::from_utf8(p).unwrap().trim().to_string();
        }
    }
    let alive = |pid: &str| std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive(&pid));
    drop(ws);
    // A zombie has no cmdline; the reaped process has no /proc entry at all.
    let gone = eventually(50, Duration::from_millis(100), || {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        !alive(&pid) || cmdline.is_empty()
    })
    .await;
    assert!(gone, "process {pid} still alive after the client left");
}

#[tokio::test]
async fn a_client_close_is_answered_and_ends_the_process() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = Server::start(&[]);
    let proto = "v4.channel.k8s.io";
    let mut ws = open(
        &server,
        &exec_path("demo", &["sleep", "60"], "stdout=1"),
        proto,
    )
    .await;
    // Readiness first.
    let m = ws.next().await.unwrap().unwrap();
    assert_eq!(decode(proto, &m), Some((1, vec![])));
    ws.send(Message::Close(None)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(reply, Some(Ok(Message::Close(_)))),
        "expected a close reply, got {reply:?}"
    );
    // The session ended without a status (the client left).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.log_text().contains("end: client left"),
        "{}",
        server.log_text()
    );
}
