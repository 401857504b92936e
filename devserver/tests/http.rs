//! Everything answered before an upgrade: auth, Origin, CORS, discovery, pod objects, bad query
//! parameters, the token endpoint, static files.

mod common;
use common::*;

fn status_of(r: &HttpResponse) -> (String, String, i64) {
    let v = r.json();
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["apiVersion"], "v1");
    assert_eq!(v["metadata"], serde_json::json!({}));
    assert_eq!(v["status"], "Failure");
    (
        v["reason"].as_str().unwrap().to_string(),
        v["message"].as_str().unwrap().to_string(),
        v["code"].as_i64().unwrap(),
    )
}

const EXEC_TRUE: &str = "/api/v1/namespaces/default/pods/demo/exec?command=true&stdout=1";

#[tokio::test]
async fn auth_failures_are_401_status_before_the_upgrade() {
    let server = Server::start(&[]);
    let p = "v5.channel.k8s.io";
    // No credentials.
    let r = upgrade(&server, EXEC_TRUE, &[p], &[]).await.refused();
    assert_eq!(r.status, 401);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        status_of(&r),
        ("Unauthorized".into(), "Unauthorized".into(), 401)
    );
    // Wrong header token.
    let r = upgrade(&server, EXEC_TRUE, &[p], &[bearer("wrong")])
        .await
        .refused();
    assert_eq!(r.status, 401);
    // Wrong subprotocol token.
    let wrong = token_protocol("wrong");
    let r = upgrade(&server, EXEC_TRUE, &[p, &wrong], &[])
        .await
        .refused();
    assert_eq!(r.status, 401);
    // A token entry that does not decode.
    let r = upgrade(
        &server,
        EXEC_TRUE,
        &[p, "base64url.bearer.authorization.k8s.io.%%%"],
        &[],
    )
    .await
    .refused();
    assert_eq!(r.status, 401);
    // Two token entries, even if one is right.
    let right = token_protocol(TOKEN);
    let r = upgrade(&server, EXEC_TRUE, &[p, &right, &wrong], &[])
        .await
        .refused();
    assert_eq!(r.status, 401);
    // Plain GETs too.
    let r = http(&server, "GET", "/api/v1/namespaces/default/pods/demo", &[]).await;
    assert_eq!(r.status, 401);
    let r = http(&server, "GET", "/api", &[bearer("nope")]).await;
    assert_eq!(r.status, 401);
    // The token never shows up in the log.
    assert!(!server.log_text().contains(TOKEN));
}

#[tokio::test]
async fn token_subprotocol_authenticates_and_is_stripped() {
    let server = Server::start(&[]);
    let tp = token_protocol(TOKEN);
    let (mut ws, answered) = upgrade(&server, EXEC_TRUE, &[&tp, "v4.channel.k8s.io"], &[])
        .await
        .upgraded();
    assert_eq!(answered.as_deref(), Some("v4.channel.k8s.io"));
    let t = collect(
        &mut ws,
        "v4.channel.k8s.io",
        std::time::Duration::from_secs(10),
    )
    .await;
    assert_eq!(t.error_str(), r#"{"metadata":{},"status":"Success"}"#);
    assert!(!server.log_text().contains(&tp));
}

#[tokio::test]
async fn random_token_when_none_is_given() {
    let a = Server::start_raw(&[]);
    let b = Server::start_raw(&[]);
    let ta = http(&a, "GET", "/.devserver/token", &[]).await.text();
    let tb = http(&b, "GET", "/.devserver/token", &[]).await.text();
    assert!(ta.len() >= 32, "{ta}");
    assert_ne!(ta, tb);
    assert_eq!(http(&a, "GET", "/api", &[bearer(&ta)]).await.status, 200);
    assert_eq!(http(&a, "GET", "/api", &[bearer(&tb)]).await.status, 401);
    assert!(!a.log_text().contains(&ta));
}

#[tokio::test]
async fn not_found_and_bad_requests_use_the_api_servers_texts() {
    let server = Server::start(&[]);
    let p = "v5.channel.k8s.io";
    let auth = [bearer(TOKEN)];
    let r = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/nope/exec?command=true&stdout=1",
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 404);
    assert_eq!(
        status_of(&r),
        ("NotFound".into(), "pods \"nope\" not found".into(), 404)
    );
    assert_eq!(
        r.json()["details"],
        serde_json::json!({"name":"nope","kind":"pods"})
    );
    let r = upgrade(
        &server,
        "/api/v1/namespaces/elsewhere/pods/demo/exec?command=true&stdout=1",
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 404);
    let r = http(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/nope",
        &auth,
    )
    .await;
    assert_eq!(r.status, 404);

    let r = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/demo/exec?command=true",
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    assert_eq!(
        status_of(&r),
        (
            "BadRequest".into(),
            "you must specify at least 1 of stdin, stdout, stderr".into(),
            400
        )
    );
    // Boolean parsing: false values do not count as a stream.
    let r = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/demo/exec?command=true&stdout=false&stderr=0",
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    // An empty value is true.
    let (_ws, _) = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/demo/exec?command=true&stdout=",
        &[p],
        &auth,
    )
    .await
    .upgraded();

    let r = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/two/exec?command=true&stdout=1",
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    assert_eq!(
        status_of(&r).1,
        "a container name must be specified for pod two, choose one of: [a b]"
    );
    let r = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/two/exec?command=true&stdout=1&container=c",
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    assert_eq!(status_of(&r).1, "container c is not valid for pod two");
    let (mut ws, _) = upgrade(
        &server,
        "/api/v1/namespaces/default/pods/two/exec?command=echo&command=b&stdout=1&container=b",
        &[p],
        &auth,
    )
    .await
    .upgraded();
    let t = collect(&mut ws, p, std::time::Duration::from_secs(10)).await;
    assert_eq!(t.stdout_str(), "b\n");
}

/// Go's net/url (≥ 1.17), which the API server reads the query with, splits it on `&` only and
/// drops a pair holding a raw `;` whole; net/http logs that the query held one.
#[tokio::test]
async fn a_raw_semicolon_drops_its_parameter_as_go_does() {
    let server = Server::start(&[]);
    let p = "v5.channel.k8s.io";
    let auth = [bearer(TOKEN)];
    let exec = "/api/v1/namespaces/default/pods/demo/exec";
    // The only command is dropped: no command at all.
    let r = upgrade(
        &server,
        &format!("{exec}?command=echo;id&stdout=1"),
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    assert_eq!(
        status_of(&r).1,
        "you must specify at least one command for the container"
    );
    // Both flags are in the dropped pair: no stream at all.
    let r = upgrade(
        &server,
        &format!("{exec}?command=echo&stdout=1;stderr=1"),
        &[p],
        &auth,
    )
    .await
    .refused();
    assert_eq!(r.status, 400);
    assert_eq!(
        status_of(&r).1,
        "you must specify at least 1 of stdin, stdout, stderr"
    );
    // `echo` runs without the dropped argument (`;` is not a separator: no `a`, no `b`).
    let (mut ws, _) = upgrade(
        &server,
        &format!("{exec}?command=echo&command=a;b&command=c&stdout=1"),
        &[p],
        &auth,
    )
    .await
    .upgraded();
    let t = collect(&mut ws, p, std::time::Duration::from_secs(10)).await;
    assert_eq!(t.stdout_str(), "c\n");
    assert_eq!(t.status()["status"], "Success");
    // Percent-encoded, `;` is part of the value, as kubectl sends it.
    let (mut ws, _) = upgrade(
        &server,
        &format!("{exec}?command=echo&command=a%3Bb&stdout=1"),
        &[p],
        &auth,
    )
    .await
    .upgraded();
    let t = collect(&mut ws, p, std::time::Duration::from_secs(10)).await;
    assert_eq!(t.stdout_str(), "a;b\n");
    // One warning per request with a raw `;`, none for the encoded one.
    let warned = |log: &str| log.matches("holds a raw ';'").count();
    assert!(
        eventually(50, std::time::Duration::from_millis(20), || warned(
            &server.log_text()
        ) == 3)
        .await,
        "{}",
        server.log_text()
    );
}

#[tokio::test]
async fn without_upgrade_the_answer_is_upgrade_request_required() {
    let server = Server::start(&[]);
    let r = http(&server, "GET", EXEC_TRUE, &[bearer(TOKEN)]).await;
    assert_eq!(r.status, 400);
    assert_eq!(status_of(&r).1, "Upgrade request required");
    let r = http(
        &server,
        "POST",
        EXEC_TRUE,
        &[bearer(TOKEN), ("Content-Length", "0".into())],
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn stopped_container_fails_like_a_cluster() {
    let server = Server::start(&[]);
    let path = "/api/v1/namespaces/default/pods/stopped/exec?command=true&stdout=1";
    // Runtime path (v4): the kubelet's answer to the upgrade.
    let r = upgrade(&server, path, &["v4.channel.k8s.io"], &[bearer(TOKEN)])
        .await
        .refused();
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), "container not found (\"main\")");
    // v5: the API server upgraded already; the failure comes as a Status.
    let p = "v5.channel.k8s.io";
    let mut ws = open(&server, path, p).await;
    let t = collect(&mut ws, p, std::time::Duration::from_secs(10)).await;
    let s = t.status();
    assert_eq!(s["reason"], "InternalError");
    assert_eq!(s["code"], 500);
    assert_eq!(
        s["message"],
        "Internal error occurred: unable to upgrade connection: container not found (\"main\")"
    );
    assert_eq!(t.close, Some(1000));
    // Its pod object says so too.
    let pod = http(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/stopped",
        &[bearer(TOKEN)],
    )
    .await
    .json();
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CrashLoopBackOff"
    );
}

#[tokio::test]
async fn discovery_and_pod_objects_for_kubectl() {
    let server = Server::start(&[]);
    let auth = [bearer(TOKEN)];
    let api = http(&server, "GET", "/api?timeout=32s", &auth).await.json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], serde_json::json!(["v1"]));
    assert_eq!(
        http(&server, "GET", "/apis", &auth).await.json()["kind"],
        "APIGroupList"
    );
    let v1 = http(&server, "GET", "/api/v1", &auth).await.json();
    let names: Vec<&str> = v1["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"pods/exec") && names.contains(&"pods/attach"),
        "{names:?}"
    );
    let version = http(&server, "GET", "/version", &[]).await.json();
    assert_eq!(version["major"], "1");
    let pod = http(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/demo",
        &auth,
    )
    .await
    .json();
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["name"], "demo");
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["spec"]["containers"][0]["name"], "shell");
    assert_eq!(pod["spec"]["containers"][0]["tty"], true);
    assert_eq!(pod["spec"]["containers"][0]["stdin"], true);
    assert!(pod["status"]["containerStatuses"][0]["state"]["running"].is_object());
    let two = http(&server, "GET", "/api/v1/namespaces/default/pods/two", &auth)
        .await
        .json();
    assert_eq!(two["spec"]["containers"].as_array().unwrap().len(), 2);
    let list = http(&server, "GET", "/api/v1/namespaces/default/pods", &auth)
        .await
        .json();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["items"].as_array().unwrap().len(), 8);
    // The annotation names the pod's default container: the first, unless the pod says.
    let annotation = |pod: &serde_json::Value| {
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"].clone()
    };
    assert_eq!(annotation(&two), "a");
    let sidecar = http(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/sidecar",
        &auth,
    )
    .await
    .json();
    assert_eq!(annotation(&sidecar), "app");
    assert_eq!(
        sidecar["spec"]["containers"][2]["image"],
        "example/exporter:1"
    );
    assert!(sidecar["status"]["containerStatuses"][2]["state"]["waiting"].is_object());
    assert_eq!(
        http(&server, "GET", "/api/v1/nothing-here", &auth)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn origin_allow_list_and_cors() {
    let own_server = Server::start(&[]);
    let own = own_server.url.clone();
    let auth = bearer(TOKEN);
    let p = "v5.channel.k8s.io";
    // Own origin: allowed.
    let (_ws, _) = upgrade(
        &own_server,
        EXEC_TRUE,
        &[p],
        &[auth.clone(), ("Origin", own.clone())],
    )
    .await
    .upgraded();
    // Another origin: refused before the upgrade, with a 403 Status.
    let evil = "http://127.0.0.1:1".to_string();
    let r = upgrade(
        &own_server,
        EXEC_TRUE,
        &[p],
        &[auth.clone(), ("Origin", evil.clone())],
    )
    .await
    .refused();
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["reason"], "Forbidden");
    let r = http(
        &own_server,
        "GET",
        "/api/v1/namespaces/default/pods/demo",
        &[auth.clone(), ("Origin", evil.clone())],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("access-control-allow-origin"), None);
    // Preflight from a refused origin.
    let r = http(
        &own_server,
        "OPTIONS",
        "/api/v1/namespaces/default/pods/demo",
        &[("Origin", evil.clone())],
    )
    .await;
    assert_eq!(r.status, 403);

    // --allow-origin: that origin gets CORS, others still not.
    let page = "http://127.0.0.1:5555";
    let server = Server::start(&["--allow-origin", page]);
    let r = http(
        &server,
        "OPTIONS",
        "/api/v1/namespaces/default/pods/demo",
        &[
            ("Origin", page.into()),
            ("Access-Control-Request-Method", "GET".into()),
            ("Access-Control-Request-Headers", "authorization".into()),
        ],
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some(page));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("Authorization"));
    let r = http(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/demo",
        &[auth.clone(), ("Origin", page.into())],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(page));
    // The 401 is readable by the page too, for a preflight diagnosis.
    let r = http(
        &server,
        "GET",
        "/api/v1/namespaces/default/pods/demo",
        &[("Origin", page.into())],
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some(page));
    let (_ws, _) = upgrade(
        &server,
        EXEC_TRUE,
        &[p],
        &[auth.clone(), ("Origin", page.into())],
    )
    .await
    .upgraded();
    let r = upgrade(
        &server,
        EXEC_TRUE,
        &[p],
        &[auth.clone(), ("Origin", "http://127.0.0.1:5556".into())],
    )
    .await
    .refused();
    assert_eq!(r.status, 403);

    // '*': any origin.
    let any = Server::start(&["--allow-origin", "*"]);
    let (_ws, _) = upgrade(
        &any,
        EXEC_TRUE,
        &[p],
        &[auth.clone(), ("Origin", "https://example.org".into())],
    )
    .await
    .upgraded();
}

#[tokio::test]
async fn token_endpoint_only_for_same_origin_loopback() {
    let server = Server::start(&["--allow-origin", "http://127.0.0.1:5555"]);
    let r = http(&server, "GET", "/.devserver/token", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(r.text(), TOKEN);
    let r = http(
        &server,
        "GET",
        "/.devserver/token",
        &[("Origin", server.url.clone())],
    )
    .await;
    assert_eq!(r.status, 200);
    // Another origin, even an allowed one: no.
    let r = http(
        &server,
        "GET",
        "/.devserver/token",
        &[("Origin", "http://127.0.0.1:5555".into())],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains(TOKEN));
    assert_eq!(r.header("access-control-allow-origin"), None);
    // A Host that is not loopback (DNS rebinding): no.
    let s = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let r = http_on(s, "rebind.example:80", "GET", "/.devserver/token", &[]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn static_files() {
    let dir = std::env::temp_dir().join(format!("kew-www-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>console</h1>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(dir.join("assets/app.css"), "body{}").unwrap();
    std::fs::write(dir.join("assets/k.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let outside = dir.with_extension("secret");
    std::fs::write(&outside, "secret").unwrap();
    let server = Server::start(&["--www", dir.to_str().unwrap()]);
    let r = http(&server, "GET", "/", &[]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "<h1>console</h1>"));
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let r = http(&server, "GET", "/?pod=demo&x=1", &[]).await;
    assert_eq!(r.text(), "<h1>console</h1>");
    let r = http(&server, "GET", "/assets/k.wasm", &[]).await;
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(r.body, b"\0asm\x01\0\0\0");
    assert!(http(&server, "GET", "/assets/app.js", &[])
        .await
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(http(&server, "GET", "/assets/app.css", &[])
        .await
        .header("content-type")
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(http(&server, "GET", "/missing.txt", &[]).await.status, 404);
    let name = outside.file_name().unwrap().to_str().unwrap();
    for evil in [
        format!("/../{name}"),
        format!("/assets/../../{name}"),
        format!("/%2e%2e/{name}"),
        format!("/assets/%2E%2E/%2E%2E/{name}"),
        "/..%2f..%2fetc%2fpasswd".to_string(),
    ] {
        let r = http(&server, "GET", &evil, &[]).await;
        assert_ne!(r.status, 200, "{evil}");
        assert!(!r.text().contains("secret"), "{evil}");
    }
    // The API still works next to the files.
    assert_eq!(
        http(&server, "GET", "/api", &[bearer(TOKEN)]).await.status,
        200
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&outside).unwrap();
}
