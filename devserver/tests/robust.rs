//! Bad input never takes the server down; TLS and the kubeconfig; the bench pod; the pods file.

mod common;
use common::*;
use futures_util::SinkExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const P: &str = "v5.channel.k8s.io";
const T: Duration = Duration::from_secs(20);

/// A TLS connection to the server that verifies it against `roots` (for the name `127.0.0.1`).
async fn tls_connect(
    server: &Server,
    roots: tokio_rustls::rustls::RootCertStore,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, std::io::Error> {
    use tokio_rustls::rustls;
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
}

#[tokio::test]
async fn close_signal_of_another_length_tears_the_connection_down() {
    let server = Server::start(&[]);
    for bad in [vec![0xff], vec![0xff, 0x00, 0x00], vec![0xff, 9]] {
        let mut ws = open(
            &server,
            &exec_path("demo", &["sleep", "30"], "stdin=1&stdout=1"),
            P,
        )
        .await;
        send(&mut ws, Message::Binary(bad.clone().into())).await;
        let t = collect(&mut ws, P, T).await;
        assert!(
            t.error.is_empty(),
            "{bad:?}: no status after a protocol violation"
        );
        assert_ne!(t.close, Some(1000), "{bad:?}");
    }
    still_serves(&server).await;
}

#[tokio::test]
async fn oversize_messages_end_the_connection() {
    let server = Server::start(&[]);
    let mut ws = open(&server, &exec_path("demo", &["cat"], "stdin=1&stdout=1"), P).await;
    let mut big = vec![0u8; (32 << 20) + 16];
    big[0] = 0;
    let _ = ws.send(Message::Binary(big.into())).await;
    let t = collect(&mut ws, P, T).await;
    assert!(t.error.is_empty());
    assert_ne!(t.close, Some(1000));
    still_serves(&server).await;
}

#[tokio::test]
async fn garbage_frames_are_ignored() {
    let server = Server::start(&[]);
    let mut ws = open(
        &server,
        &exec_path("demo", &["cat"], "stdin=1&stdout=1&tty=1"),
        P,
    )
    .await;
    for m in [
        Message::Binary(vec![].into()),
        Message::Binary(vec![9, 1, 2].into()),
        Message::Binary(vec![4].into()),
        Message::Binary(
            [&[4u8][..], b"{\"Width\":-1,\"Height\":1e99}"]
                .concat()
                .into(),
        ),
        Message::Binary([&[4u8][..], b"\xff\xfe"].concat().into()),
        Message::Binary([&[4u8][..], b"{\"Width\":0,\"Height\":0}"].concat().into()),
        Message::Text("\u{1F600}".into()),
        Message::Ping(vec![1].into()),
        Message::Binary([&[0u8][..], b"ok\n"].concat().into()),
    ] {
        send(&mut ws, m).await;
    }
    send(&mut ws, Message::Binary(vec![0xff, 0].into())).await;
    let t = collect(&mut ws, P, T).await;
    assert!(t.stdout_str().contains("ok"), "{:?}", t.stdout_str());
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    // Bad base64 on a base64 protocol is dropped, good frames still arrive.
    let b = "v4.base64.channel.k8s.io";
    let mut ws = open(
        &server,
        &exec_path("demo", &["head", "-c", "3"], "stdin=1&stdout=1"),
        b,
    )
    .await;
    send(&mut ws, Message::Text("0Zm9v!!".into())).await;
    send(&mut ws, Message::Text("0_-_-".into())).await;
    send(&mut ws, Message::Text("0YWJj".into())).await;
    let t = collect(&mut ws, b, T).await;
    assert_eq!(t.stdout_str(), "abc");
}

#[tokio::test]
async fn garbage_http_does_not_hurt() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(&[]);
    for junk in [
        &b"\x16\x03\x01\x00\xff garbage\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"\r\n\r\n",
        b"GET /api HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ] {
        let mut s = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        let _ = s.write_all(junk).await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf)).await;
    }
    // An upgrade without Sec-WebSocket-Key is refused.
    let r = http(
        &server,
        "GET",
        &exec_path("demo", &["true"], "stdout=1"),
        &[
            bearer(TOKEN),
            ("Upgrade", "websocket".into()),
            ("Connection", "Upgrade".into()),
            ("Sec-WebSocket-Protocol", P.into()),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    still_serves(&server).await;
}

#[tokio::test]
async fn tls_and_kubeconfig() {
    use tokio_rustls::rustls;
    let dir = std::env::temp_dir().join(format!("kew-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kc = dir.join("kubeconfig");
    let server = Server::start(&["--tls", "--write-kubeconfig", kc.to_str().unwrap()]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(text.contains(&format!("server: {}", server.url)), "{text}");
    assert!(text.contains(&format!("token: \"{TOKEN}\"")));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kc).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let ca_b64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .unwrap();
    use base64::Engine as _;
    let ca_pem = base64::engine::general_purpose::STANDARD
        .decode(ca_b64)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let connect = || async {
        tls_connect(&server, roots.clone())
            .await
            .expect("the CA in the kubeconfig verifies the server")
    };
    let r = http_on(
        connect().await,
        &server.addr,
        "GET",
        "/api",
        &[bearer(TOKEN)],
    )
    .await;
    assert_eq!(r.status, 200);
    let path = exec_path("demo", &["sh", "-c", "echo tls; exit 2"], "stdout=1");
    let (mut ws, _) = upgrade_on(connect().await, &server.addr, &path, &[P], &[bearer(TOKEN)])
        .await
        .upgraded();
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.stdout_str(), "tls\n");
    assert_eq!(t.status()["details"]["causes"][0]["message"], "2");
    // Plain http on the TLS port does not work.
    let mut plain = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    plain
        .write_all(b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("APIVersions"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bench_pod() {
    let server = Server::start(&["--bench"]);
    for p in [P, "v4.channel.k8s.io", "v4.base64.channel.k8s.io"] {
        let mut ws = open(
            &server,
            &exec_path("bench", &["bulk", "1000000", "4096"], "stdout=1"),
            p,
        )
        .await;
        let t = collect(&mut ws, p, T).await;
        assert_eq!(t.stdout.len(), 1_000_000, "{p}");
        assert!(t
            .stdout
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8));
        assert_eq!(
            t.frames
                .iter()
                .filter(|(c, d)| *c == 1 && !d.is_empty())
                .count(),
            245
        );
        assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);

        let mut ws = open(
            &server,
            &exec_path("bench", &["small", "300"], "stdout=1"),
            p,
        )
        .await;
        let t = collect(&mut ws, p, T).await;
        assert_eq!(
            t.frames
                .iter()
                .filter(|(c, d)| *c == 1 && d.len() == 1)
                .count(),
            300
        );
    }
    let mut ws = open(
        &server,
        &exec_path("bench", &["echo"], "stdin=1&stdout=1"),
        P,
    )
    .await;
    for i in 0..20u8 {
        send(&mut ws, frame(P, 0, &[i; 3])).await;
        use futures_util::StreamExt;
        loop {
            let m = ws.next().await.unwrap().unwrap();
            if let Some((1, d)) = decode(P, &m) {
                if d.is_empty() {
                    continue;
                }
                assert_eq!(d, vec![i; 3]);
                break;
            }
        }
    }
    send(&mut ws, Message::Binary(vec![0xff, 0].into())).await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    let mut ws = open(&server, &exec_path("bench", &["bulk", "x"], "stdout=1"), P).await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.status()["reason"], "InternalError");
}

#[tokio::test]
async fn pods_file() {
    let dir = std::env::temp_dir().join(format!("kew-pods-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("work")).unwrap();
    let file = dir.join("pods.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[pods]]
name = "web"
namespace = "apps"
workdir = "{}"
env = {{ GREETING = "hello from toml" }}
[[pods.containers]]
name = "main"
command = ["cat"]
stdin = true
"#,
            dir.join("work").display()
        ),
    )
    .unwrap();
    let server = Server::start(&["--pods", file.to_str().unwrap()]);
    let path = "/api/v1/namespaces/apps/pods/web/exec?command=sh&command=-c&command=pwd%3B+echo+%24GREETING&stdout=1";
    let mut ws = open(&server, path, P).await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(
        t.stdout_str(),
        format!("{}\nhello from toml\n", dir.join("work").display())
    );
    // The built-in pods are replaced.
    let r = upgrade(
        &server,
        &exec_path("demo", &["true"], "stdout=1"),
        &[P],
        &[bearer(TOKEN)],
    )
    .await
    .refused();
    assert_eq!(r.status, 404);
    std::fs::write(
        &file,
        "[[pods]]\nname = \"x\"\nbogus = 1\ncontainers = []\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-exec-devserver"))
        .args(["--listen", "127.0.0.1:0", "--pods", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn random_frames_never_take_the_server_down() {
    // A small deterministic generator (xorshift) so a failure can be replayed.
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let server = Server::start(&["--faults", "--bench"]);
    let protos = ALL_PROTOCOLS;
    for round in 0..30 {
        let proto = protos[(next() % protos.len() as u64) as usize];
        let tty = if next() % 2 == 0 { "&tty=1" } else { "" };
        let path = exec_path("demo", &["cat"], &format!("stdin=1&stdout=1&stderr=1{tty}"));
        let mut ws = open(&server, &path, proto).await;
        for _ in 0..(next() % 20) {
            let len = (next() % 40) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 3 == 0 && !data.is_empty() {
                data[0] = 0xff;
            }
            let m = if next() % 2 == 0 {
                Message::Binary(data.into())
            } else {
                Message::Text(String::from_utf8_lossy(&data).into_owned().into())
            };
            if ws.send(m).await.is_err() {
                break;
            }
        }
        // End the session either way: CLOSE (v5) or a close frame.
        let _ = ws.send(Message::Binary(vec![0xff, 0].into())).await;
        let _ = ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), collect(&mut ws, proto, T)).await;
        if round % 10 == 9 {
            still_serves(&server).await;
        }
    }
    still_serves(&server).await;
    assert!(
        !server.log_text().contains("panicked"),
        "{}",
        server.log_text()
    );
}

#[tokio::test]
async fn children_die_with_the_server() {
    let dir = std::env::temp_dir().join(format!("kew-pdeath-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pods.toml");
    let marker = format!("kew-pdeath-{}", std::process::id());
    std::fs::write(
        &file,
        format!(
            "[[pods]]\nname = \"sleeper\"\n[[pods.containers]]\nname = \"main\"\ncommand = [\"bash\", \"-c\", \"echo up; exec -a {marker} sleep 300\"]\n"
        ),
    )
    .unwrap();
    let mut server = Server::start(&["--pods", file.to_str().unwrap()]);
    let mut ws = open(
        &server,
        "/api/v1/namespaces/default/pods/sleeper/attach?stdout=1",
        P,
    )
    .await;
    let find = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).starts_with(&marker))
                    .unwrap_or(false)
            })
            .count()
    };
    let up = eventually(100, Duration::from_millis(50), || find() == 1).await;
    assert!(up, "the main process did not start");
    server.kill_hard();
    let _ = collect(&mut ws, P, T).await;
    let gone = eventually(100, Duration::from_millis(50), || find() == 0).await;
    assert!(gone, "the main process outlived a SIGKILLed server");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn tls_with_given_certificate_files() {
    use tokio_rustls::rustls;
    let dir = std::env::temp_dir().join(format!("kew-tlsfiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let kc = dir.join("kubeconfig");
    let server = Server::start(&[
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
        "--write-kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert!(server.url.starts_with("https://"));
    // The kubeconfig trusts exactly the given certificate.
    use base64::Engine as _;
    let text = std::fs::read_to_string(&kc).unwrap();
    let ca = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(ca)
            .unwrap(),
        cert.pem().into_bytes()
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let tls = tls_connect(&server, roots).await.unwrap();
    let r = http_on(
        tls,
        &server.addr,
        "GET",
        "/api/v1/namespaces/default/pods/demo",
        &[bearer(TOKEN)],
    )
    .await;
    assert_eq!(r.status, 200);
    // --tls-cert without --tls-key is refused at start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-exec-devserver"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
