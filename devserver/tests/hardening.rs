//! What an adversarial client or a careless setup must not get: a kubeconfig that follows a
//! symlink or keeps a readable mode, forged log lines, a token in the log, pages read through
//! DNS rebinding, a token on a command line.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const P: &str = "v5.channel.k8s.io";
const T: Duration = Duration::from_secs(20);

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kew-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_kubeconfig_is_a_new_0600_file_never_a_followed_symlink() {
    let dir = scratch("kubeconfig");
    // An existing world-readable file: replaced by a 0600 one.
    let kc = dir.join("kubeconfig");
    std::fs::write(&kc, "old").unwrap();
    std::fs::set_permissions(&kc, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = Server::start(&["--write-kubeconfig", kc.to_str().unwrap()]);
    assert_eq!(mode(&kc), 0o600);
    assert!(std::fs::read_to_string(&kc).unwrap().contains(TOKEN));
    drop(server);
    // A symlink: replaced by the file; what it pointed to is untouched.
    let target = dir.join("precious");
    std::fs::write(&target, "precious").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.join("link-kubeconfig");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let server = Server::start(&["--write-kubeconfig", link.to_str().unwrap()]);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    assert_eq!(mode(&link), 0o600);
    assert!(std::fs::read_to_string(&link).unwrap().contains(TOKEN));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    assert_eq!(mode(&target), 0o644);
    drop(server);
    // No temporary file is left beside it.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["kubeconfig", "link-kubeconfig", "precious"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn client_text_cannot_forge_log_lines_or_reach_the_terminal() {
    let server = Server::start(&[]);
    let forged = "\n[devserver] GET /.devserver/token -> 200\x1b[31m\u{202e}";
    let mut ws = open(&server, &exec_path("demo", &[forged, "x"], "stdout=1"), P).await;
    let t = collect(&mut ws, P, T).await;
    assert_eq!(t.status()["reason"], "InternalError");
    let r = http(&server, "GET", "/api/%0a%1b[31m", &[bearer(TOKEN)]).await;
    assert_eq!(r.status, 404);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = server.log_text();
    for line in log.lines() {
        assert!(
            !line.starts_with("[devserver] GET /.devserver/token"),
            "forged line: {log}"
        );
        assert!(
            line.starts_with("[devserver] "),
            "a line of its own: {line:?}"
        );
    }
    assert!(!log.contains('\x1b'), "an escape reached the log: {log:?}");
    assert!(!log.contains('\u{202e}'), "a bidi override reached the log");
    assert!(log.contains(r"\n[devserver] GET /.devserver/token -> 200\u{1b}[31m\u{202e}"));
}

#[tokio::test]
async fn a_token_entry_in_any_case_is_never_logged() {
    let server = Server::start(&[]);
    let secret = "s3cr3t-in-the-protocol-list";
    let entry = token_protocol(secret).replacen("base64url.bearer", "Base64url.Bearer", 1);
    let encoded = entry.rsplit('.').next().unwrap().to_string();
    let r = upgrade(
        &server,
        &exec_path("demo", &["true"], "stdout=1"),
        &["no.such.protocol", &entry],
        &[bearer(TOKEN)],
    )
    .await
    .refused();
    assert_eq!(r.status, 403);
    // Not a credential either (the API server matches the prefix exactly).
    let r = upgrade(
        &server,
        &exec_path("demo", &["true"], "stdout=1"),
        &[
            P,
            &token_protocol(TOKEN).replacen("base64url", "BASE64URL", 1),
        ],
        &[],
    )
    .await
    .refused();
    assert_eq!(r.status, 401);
    // A list without a token entry is still shown, to help debugging.
    let r = upgrade(
        &server,
        &exec_path("demo", &["true"], "stdout=1"),
        &["no.such.protocol"],
        &[bearer(TOKEN)],
    )
    .await
    .refused();
    assert_eq!(r.status, 403);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = server.log_text();
    assert!(!log.contains(&encoded), "{log}");
    assert!(
        !log.to_ascii_lowercase().contains("base64url.bearer"),
        "{log}"
    );
    assert!(log.contains("no.such.protocol"), "{log}");
}

#[tokio::test]
async fn an_origin_that_is_not_visible_ascii_is_refused() {
    let server = Server::start(&[]);
    for origin in [
        format!("{}\u{ff}", server.url),
        "http://é.example".to_string(),
    ] {
        let r = http(&server, "GET", "/api", &[bearer(TOKEN), ("Origin", origin)]).await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json()["reason"], "Forbidden");
    }
    let r = upgrade(
        &server,
        &exec_path("demo", &["true"], "stdout=1"),
        &[P],
        &[bearer(TOKEN), ("Origin", "http://\u{e9}.example".into())],
    )
    .await
    .refused();
    assert_eq!(r.status, 403);
    // Two Origin headers: refused too.
    let r = http(
        &server,
        "GET",
        "/api",
        &[
            bearer(TOKEN),
            ("Origin", server.url.clone()),
            ("Origin", "http://evil.example".into()),
        ],
    )
    .await;
    assert_eq!(r.status, 403);
    // The server's own origin still passes.
    let r = http(
        &server,
        "GET",
        "/api",
        &[bearer(TOKEN), ("Origin", server.url.clone())],
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn static_files_only_for_host_names_the_server_answers_to() {
    let dir = scratch("www-hosts");
    std::fs::write(dir.join("index.html"), "console").unwrap();
    let server = Server::start(&["--www", dir.to_str().unwrap()]);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let get = |host: String| {
        let addr = server.addr.clone();
        async move {
            let s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            http_on(s, &host, "GET", "/index.html", &[]).await
        }
    };
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "app.localhost".to_string(),
    ] {
        let r = get(host.clone()).await;
        assert_eq!((r.status, r.text().as_str()), (200, "console"), "{host}");
    }
    // DNS rebinding: a name that resolves here but is not one of the server's.
    for host in [
        format!("rebind.example:{port}"),
        "127.0.0.1.nip.io".into(),
        "".into(),
    ] {
        let r = get(host.clone()).await;
        assert_eq!(r.status, 403, "{host}");
        assert!(!r.text().contains("console"), "{host}");
    }
    drop(server);
    let server = Server::start(&[
        "--www",
        dir.to_str().unwrap(),
        "--allow-host",
        "Dev.Example",
    ]);
    let s = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let r = http_on(s, "dev.example:8080", "GET", "/", &[]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "console"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_token_endpoint_takes_ipv4_mapped_loopback_when_listening_on_all_addresses() {
    let server = Server::start_under(&[], &["--listen", "[::]:0"]);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let host = format!("127.0.0.1:{port}");
    // An IPv4 client of an IPv6 socket: the peer is ::ffff:127.0.0.1.
    let s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let r = http_on(s, &host, "GET", "/.devserver/token", &[]).await;
    assert_eq!((r.status, r.text().as_str()), (200, TOKEN));
    let s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let mapped = format!("[::ffff:127.0.0.1]:{port}");
    let r = http_on(s, &mapped, "GET", "/.devserver/token", &[]).await;
    assert_eq!(r.status, 200);
    let s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let r = http_on(s, "[::ffff:10.1.2.3]:80", "GET", "/.devserver/token", &[]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn the_token_comes_from_a_file_or_the_environment_never_reaching_processes() {
    let dir = scratch("token-file");
    let file = dir.join("token");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let server = Server::start_raw(&["--token-file", file.to_str().unwrap()]);
    assert_eq!(
        http(&server, "GET", "/api", &[bearer("from-a-file")])
            .await
            .status,
        200
    );
    // The log is collected by another thread: wait for the line rather than race it.
    assert!(
        eventually(50, Duration::from_millis(20), || server
            .log_text()
            .contains("token: from --token-file"))
        .await
    );
    drop(server);
    // Server::start hands TOKEN over in KEW_DEVSERVER_TOKEN; the processes never see it.
    let server = Server::start(&[]);
    assert_eq!(
        http(&server, "GET", "/api", &[bearer(TOKEN)]).await.status,
        200
    );
    for tty in ["", "&tty=1"] {
        let mut ws = open(
            &server,
            &exec_path("demo", &["sh", "-c", "env"], &format!("stdout=1{tty}")),
            P,
        )
        .await;
        let t = collect(&mut ws, P, T).await;
        assert!(
            t.stdout_str().contains("HOSTNAME=demo"),
            "{}",
            t.stdout_str()
        );
        assert!(!t.stdout_str().contains(TOKEN), "{}", t.stdout_str());
    }
    drop(server);
    let bin = env!("CARGO_BIN_EXE_kube-exec-devserver");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env_remove("KEW_DEVSERVER_TOKEN")
            .output()
            .unwrap()
    };
    let out = run(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        "a",
        "--token-file",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    std::fs::write(&file, " \n").unwrap();
    let out = run(&[
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must not be empty"));
    let out = run(&[
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        "/nonexistent/kew-token",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kew-token"));
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    assert!(help.contains("visible to every local user"), "{help}");
    assert!(help.contains("--token-file") && help.contains("KEW_DEVSERVER_TOKEN"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The scripts under scripts/ start servers without a token on the command line.
#[test]
fn no_script_puts_a_token_on_a_command_line() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let mut files = vec![];
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "sh") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 5, "{files:?}");
    let mut found = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split(" #").next().unwrap_or("");
            if code.trim_start().starts_with('#') {
                continue;
            }
            for (at, _) in code.match_indices("--token") {
                let next = code[at + "--token".len()..].chars().next();
                if matches!(next, Some(' ' | '=' | '"' | '\'') | None) {
                    found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "tokens in argv:\n{}", found.join("\n"));
}
