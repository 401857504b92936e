//! exec and attach requests, in the order the API server handles them: the query read into
//! [`ExecParams`] and checked against the pod, the WebSocket handshake (`Handshake`), then the
//! session on a task of its own, served by the pod's backend (`dispatch`).

use crate::attach::Hub;
use crate::connections::Client;
use crate::log::log;
use crate::pods::{Behavior, ContainerConfig, Pod};
use crate::reply::{json, response, Body};
use crate::session::{self, Conn, Ending, Event, Streams};
use crate::status::{self, Outcome};
use crate::wire::{self, Offer, Subprotocol};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Exec,
    Attach,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Exec => "exec",
            Kind::Attach => "attach",
        }
    }
}

/// What every session shares: the attached main processes and `--idle-timeout`.
pub struct Sessions {
    pub hub: Arc<Hub>,
    /// Cut a session after this long without a data frame from the client.
    pub idle_timeout: Option<Duration>,
}

/// An authenticated exec or attach request (GET or POST) on `pod`: the answer is a refusal, or
/// the 101 with the session started on its own task. The session holds `client` (and so the
/// connection's slot) until it ends.
pub async fn serve(
    req: &mut Request<Incoming>,
    pod: Arc<Pod>,
    kind: Kind,
    offer: &Offer,
    sessions: &Sessions,
    client: Client,
) -> Response<Body> {
    let params = ExecParams::from_query(req.uri().query().unwrap_or(""));
    let container = match params.check(&pod, kind) {
        Ok(c) => c,
        Err(message) => return json(StatusCode::BAD_REQUEST, status::bad_request(message)),
    };
    let handshake = match Handshake::accept(req.headers(), offer) {
        Ok(h) => h,
        Err(refusal) => return refusal.response(),
    };
    // A container that is not running: the kubelet finds no such container. On the runtime
    // path (v1–v4) that is the HTTP answer to the upgrade; on v5 the API server's translator
    // has already upgraded and reports the failed SPDY upgrade as a Status.
    if !container.running && handshake.proto != Subprotocol::V5 {
        return response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            not_running(&container),
        );
    }
    let on_upgrade = hyper::upgrade::on(req);
    let label = format!(
        "{} {}/{}/{} {}",
        kind.name(),
        pod.config.namespace,
        pod.config.name,
        container.name,
        handshake.proto.short()
    );
    let ExecParams {
        streams, command, ..
    } = params;
    log!(
        "{label} start argv={command:?} stdin={} stdout={} stderr={} tty={}",
        streams.stdin,
        streams.stdout,
        streams.stderr,
        streams.tty
    );
    let target = Target {
        pod,
        kind,
        container,
        argv: command,
        streams,
        hub: sessions.hub.clone(),
    };
    tokio::spawn(run(
        on_upgrade,
        handshake.proto,
        sessions.idle_timeout,
        client,
        label,
        target,
    ));
    handshake.switching_protocols()
}

/// What an exec or attach request asks for, read from its query as the API server reads it
/// into `PodExecOptions` / `PodAttachOptions` (attach has no `command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecParams {
    /// `container`; empty when not given.
    pub container: String,
    /// `stdin`, `stdout`, `stderr`, `tty`; with a TTY stderr is merged into stdout, so it is
    /// false here.
    pub streams: Streams,
    /// Every `command` value in order: the argv, one element per parameter.
    pub command: Vec<String>,
}

impl ExecParams {
    /// Reads the query (the part after `?`, still percent-encoded). Booleans: absent or a false
    /// value of strconv.ParseBool is false; anything else (even empty) is true. Text values
    /// are the first of their name.
    pub fn from_query(query: &str) -> ExecParams {
        let q = parse_query(query);
        let first = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let flag = |name: &str| {
            first(name).is_some_and(|v| !matches!(v, "0" | "f" | "F" | "false" | "FALSE" | "False"))
        };
        let tty = flag("tty");
        ExecParams {
            container: first("container").unwrap_or("").to_string(),
            streams: Streams {
                stdin: flag("stdin"),
                stdout: flag("stdout"),
                stderr: flag("stderr") && !tty,
                tty,
            },
            command: q
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    /// The checks the API server makes before the upgrade, in its order: the container (named,
    /// or the only one: pkg/registry/core/pod/strategy.go validateContainer), at least one
    /// stream, and for exec a command. The container, or the message of a 400.
    pub fn check(&self, pod: &Pod, kind: Kind) -> Result<ContainerConfig, String> {
        let containers = &pod.config.containers;
        let container = if self.container.is_empty() {
            match containers.as_slice() {
                [only] => only.clone(),
                _ => {
                    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
                    return Err(format!(
                        "a container name must be specified for pod {}, choose one of: [{}]",
                        pod.config.name,
                        names.join(" ")
                    ));
                }
            }
        } else {
            match pod.container(&self.container) {
                Some(c) => c.clone(),
                None => {
                    return Err(format!(
                        "container {} is not valid for pod {}",
                        self.container, pod.config.name
                    ))
                }
            }
        };
        let s = self.streams;
        if !s.stdin && !s.stdout && !s.stderr {
            return Err("you must specify at least 1 of stdin, stdout, stderr".into());
        }
        if kind == Kind::Exec && self.command.is_empty() {
            return Err("you must specify at least one command for the container".into());
        }
        Ok(container)
    }
}

/// The query's pairs, read as the API server reads them: Go's `url.ParseQuery` (through
/// `req.URL.Query()`, its error ignored; Go ≥ 1.17). Pairs are split on `&` only, and a pair
/// holding a raw `;` is dropped whole ("invalid semicolon separator in query"); `+` is a space;
/// a bad `%` escape drops its pair. (Go keeps a value that is not UTF-8; here it drops its pair.)
fn parse_query(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> Option<String> {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    // Two hex digits, nothing else (u8::from_str_radix would take "+a").
                    let digit = |j: usize| char::from(*b.get(j)?).to_digit(16);
                    out.push((digit(i + 1)? * 16 + digit(i + 2)?) as u8);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    q.split('&')
        .filter(|kv| !kv.is_empty() && !kv.contains(';'))
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// `Connection: upgrade` and `Upgrade: websocket` (as tokens, in any case).
pub fn is_websocket_upgrade(h: &HeaderMap) -> bool {
    let connection_upgrade = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let upgrade_ws = header_str(h, header::UPGRADE).is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("websocket"))
    });
    connection_upgrade && upgrade_ws
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// A WebSocket upgrade the server will answer with 101.
struct Handshake {
    proto: Subprotocol,
    /// The client's `Sec-WebSocket-Key`.
    key: String,
}

/// Why an upgrade request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No `Upgrade: websocket`; `spdy` when it asked for SPDY (kubectl's fallback).
    NotWebSocket { spdy: bool },
    /// None of the offered subprotocols is served.
    NoSubprotocol,
    /// No `Sec-WebSocket-Key`, or a version other than 13.
    BadHandshake,
}

impl Refusal {
    fn response(self) -> Response<Body> {
        match self {
            Refusal::NotWebSocket { spdy } => {
                let message = if spdy {
                    "Upgrade request required: kube-exec-devserver speaks WebSocket (v5.channel.k8s.io ... channel.k8s.io), not SPDY"
                } else {
                    "Upgrade request required"
                };
                json(
                    StatusCode::BAD_REQUEST,
                    status::bad_request(message.into()),
                )
            }
            // golang.org/x/net/websocket refuses an unsupported offer with an empty 403.
            Refusal::NoSubprotocol => response(StatusCode::FORBIDDEN, "", Bytes::new()),
            Refusal::BadHandshake => response(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "Bad Request: a WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13",
            ),
        }
    }
}

impl Handshake {
    /// Checks the upgrade request, in the API server's order: an upgrade to WebSocket at all,
    /// a supported subprotocol, a key and version 13.
    fn accept(h: &HeaderMap, offer: &Offer) -> Result<Handshake, Refusal> {
        if !is_websocket_upgrade(h) {
            let spdy = header_str(h, header::UPGRADE)
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("spdy"));
            return Err(Refusal::NotWebSocket { spdy });
        }
        let Ok(proto) = wire::negotiate(&offer.protocols) else {
            if offer.held_token() {
                log!("no supported subprotocol offered (the offer held a bearer-token entry, so it is not shown)");
            } else {
                log!("no supported subprotocol in {:?}", offer.protocols);
            }
            return Err(Refusal::NoSubprotocol);
        };
        match header_str(h, header::SEC_WEBSOCKET_KEY) {
            Some(key) if header_str(h, header::SEC_WEBSOCKET_VERSION) == Some("13") => {
                Ok(Handshake {
                    proto,
                    key: key.to_string(),
                })
            }
            _ => Err(Refusal::BadHandshake),
        }
    }

    /// The 101: `Upgrade`, `Connection`, `Sec-WebSocket-Accept` and the chosen subprotocol.
    fn switching_protocols(&self) -> Response<Body> {
        let mut resp = response(StatusCode::SWITCHING_PROTOCOLS, "", Bytes::new());
        let h = resp.headers_mut();
        h.remove(header::CACHE_CONTROL);
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(v) = HeaderValue::from_str(&derive_accept_key(self.key.as_bytes())) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        // Even for "none" the header is sent, empty, as the Kubernetes servers do (PROTOCOL.md §2).
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(self.proto.name()),
        );
        resp
    }
}

/// The kubelet's answer for a container that is not running.
fn not_running(container: &ContainerConfig) -> String {
    format!("container not found (\"{}\")", container.name)
}

/// What the backend of a session works on.
struct Target {
    pod: Arc<Pod>,
    kind: Kind,
    container: ContainerConfig,
    argv: Vec<String>,
    streams: Streams,
    hub: Arc<Hub>,
}

/// The session: waits for the upgrade, runs the backend on the socket, logs how it ended.
async fn run(
    on_upgrade: OnUpgrade,
    proto: Subprotocol,
    idle: Option<Duration>,
    client: Client,
    label: String,
    target: Target,
) {
    let upgraded = match on_upgrade.await {
        Ok(u) => u,
        Err(e) => {
            log!("{label} upgrade failed: {e}");
            return;
        }
    };
    let ending = session::run(
        TokioIo::new(upgraded),
        client.socket,
        proto,
        idle,
        move |conn, events| dispatch(conn, events, target),
    )
    .await;
    log!("{label} end: {}", describe(&ending));
    // The connection's place is free once the session is done.
    drop(client);
}

/// The backend for the pod and the request: a fault script, the bench generator, a process
/// (exec), or the container's main process (attach). A container that is not running fails
/// after the upgrade (only v5 gets this far).
async fn dispatch(conn: Conn, events: mpsc::Receiver<Event>, t: Target) -> Ending {
    if !t.container.running {
        conn.ready(t.streams).await;
        return Ending::Status(Outcome::Translator(format!(
            "unable to upgrade connection: {}",
            not_running(&t.container)
        )));
    }
    match (t.pod.behavior, t.kind) {
        (Behavior::Fault(f), _) => crate::scripted::fault(conn, events, f, t.streams).await,
        (Behavior::Bench, _) => crate::scripted::bench(conn, events, t.argv, t.streams).await,
        (Behavior::Process, Kind::Exec) => {
            if !conn.ready(t.streams).await {
                return Ending::Gone;
            }
            crate::exec::run(conn, events, t.pod, t.argv, t.streams).await
        }
        (Behavior::Process, Kind::Attach) => {
            if !conn.ready(t.streams).await {
                return Ending::Gone;
            }
            crate::attach::run(conn, events, t.hub, t.pod, t.container, t.streams).await
        }
    }
}

/// How a session ended, for the log.
fn describe(ending: &Ending) -> String {
    match ending {
        Ending::Status(Outcome::Success) => "success".to_string(),
        Ending::Status(Outcome::Exit { code, .. }) => format!("exit {code}"),
        Ending::Status(Outcome::Runtime(m) | Outcome::Translator(m)) => format!("error: {m}"),
        Ending::Close(code, why) => format!("closed {code} ({why})"),
        Ending::Gone => "client left".into(),
        Ending::Drop => "connection dropped (fault)".into(),
        Ending::Idle(after) => {
            format!("idle timeout (no data from the client for {after:?}), connection cut")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams(stdin: bool, stdout: bool, stderr: bool, tty: bool) -> Streams {
        Streams {
            stdin,
            stdout,
            stderr,
            tty,
        }
    }

    #[test]
    fn exec_params_from_query() {
        let p = ExecParams::from_query(
            "command=sh&command=-c&command=echo+a%20b&stdin=&tty=false&bad=%zz&container=main",
        );
        assert_eq!(p.command, ["sh", "-c", "echo a b"]);
        assert_eq!(p.container, "main");
        // `stdin=` is true (present, not a false value); absent flags are false.
        assert_eq!(p.streams, streams(true, false, false, false));
    }

    #[test]
    fn booleans_and_first_values() {
        for v in ["0", "f", "F", "false", "FALSE", "False"] {
            let p = ExecParams::from_query(&format!("stdout={v}"));
            assert!(!p.streams.stdout, "stdout={v}");
        }
        for v in ["", "1", "true", "yes", "no"] {
            let p = ExecParams::from_query(&format!("stdout={v}"));
            assert!(p.streams.stdout, "stdout={v}");
        }
        // A bare name is an empty value: true.
        assert!(ExecParams::from_query("stdout").streams.stdout);
        // The first value of a name counts.
        let p = ExecParams::from_query("stdout=0&stdout=1&container=a&container=b");
        assert!(!p.streams.stdout);
        assert_eq!(p.container, "a");
        assert_eq!(ExecParams::from_query("").container, "");
    }

    #[test]
    fn tty_merges_stderr_into_stdout() {
        let p = ExecParams::from_query("stdout=1&stderr=1&tty=1");
        assert_eq!(p.streams, streams(false, true, false, true));
        let p = ExecParams::from_query("stdout=1&stderr=1");
        assert_eq!(p.streams, streams(false, true, true, false));
    }

    #[test]
    fn a_raw_semicolon_drops_its_pair_as_go_does() {
        // Go ≥ 1.17 url.ParseQuery: `;` is no separator; the pair holding it is dropped whole.
        let p = ExecParams::from_query("command=echo;id&stdout=1");
        assert!(p.command.is_empty());
        assert!(p.streams.stdout);
        let p = ExecParams::from_query("command=echo&command=a;b&command=c&stdout=1;stderr=1");
        assert_eq!(p.command, ["echo", "c"]);
        assert_eq!(p.streams, streams(false, false, false, false));
        let p = ExecParams::from_query(";&command=x&;;&container=;&tty=1");
        assert_eq!(p.command, ["x"]);
        assert_eq!(p.container, "");
        assert!(p.streams.tty);
        // Percent-encoded it is part of the value.
        assert_eq!(ExecParams::from_query("command=a%3Bb").command, ["a;b"]);
    }

    #[test]
    fn escapes_as_go_query_unescape() {
        let p = ExecParams::from_query("command=a%3Bb&command=%2B+%25&command=%C3%A9&command=");
        assert_eq!(p.command, ["a;b", "+ %", "é", ""]);
        // A bad escape, or bytes that are not UTF-8, drop the pair (and only it).
        let p = ExecParams::from_query("command=x&command=%zz&command=%4&command=%ff&command=y");
        assert_eq!(p.command, ["x", "y"]);
        // An escape is `%` and two hex digits: `%+a` is bad too (Go's unescape, ishex).
        let p = ExecParams::from_query("command=%+a&command=%-a&command=%a&command=y");
        assert_eq!(p.command, ["y"]);
        // So does one in the name.
        assert_eq!(
            ExecParams::from_query("comm%zzand=x").command,
            Vec::<String>::new()
        );
    }
}
