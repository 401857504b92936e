//! The HTTP side: routing, authentication, the Origin allow-list and CORS, discovery and pod
//! objects, the WebSocket upgrade, static files.

use crate::attach::Hub;
use crate::pods::{Behavior, Fault, Pod, Pods};
use crate::session::{self, Ending, PeerSocket, Streams};
use crate::status::{self, Outcome};
use crate::wire::{self, OfferedToken, Subprotocol};
use crate::{api, files};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

pub type Body = Full<Bytes>;

/// Everything a request handler needs.
pub struct Ctx {
    pub token: String,
    pub scheme: &'static str,
    pub port: u16,
    /// Origins the server itself is reached under.
    pub own_origins: Vec<String>,
    /// `--allow-origin` values.
    pub allowed_origins: Vec<String>,
    pub allow_any_origin: bool,
    /// `--allow-host` names (lower case), besides the loopback names and the listen address.
    pub allowed_hosts: Vec<String>,
    /// The address listened on, when it is a specific one.
    pub listen_ip: Option<std::net::IpAddr>,
    pub pods: Pods,
    pub www: Option<PathBuf>,
    pub hub: Arc<Hub>,
    /// `--idle-timeout`: cut a session after this long without a data frame from the client.
    pub idle_timeout: Option<Duration>,
}

/// The connections the server holds, against `--max-connections`.
pub struct Connections {
    open: AtomicUsize,
    max: usize,
    /// Connections over the limit being answered 429 right now (bounded too).
    refusing: AtomicUsize,
}

/// Connections over the limit that may be answered at once; beyond, they are closed unanswered.
const MAX_REFUSING: usize = 64;

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            open: AtomicUsize::new(0),
            max,
            refusing: AtomicUsize::new(0),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for one more connection, if there is room.
    pub fn take(self: &Arc<Self>) -> Option<Arc<Slot>> {
        Self::claim(&self.open, self.max).then(|| Arc::new(Slot(self.clone(), false)))
    }

    /// A place for answering one connection over the limit (429), if there is room.
    pub fn take_refusal(self: &Arc<Self>) -> Option<Slot> {
        Self::claim(&self.refusing, MAX_REFUSING).then(|| Slot(self.clone(), true))
    }

    fn claim(counter: &AtomicUsize, max: usize) -> bool {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }
}

/// One connection's place, given back when the connection and any session on it are done.
pub struct Slot(Arc<Connections>, bool);

impl Drop for Slot {
    fn drop(&mut self) {
        let counter = if self.1 {
            &self.0.refusing
        } else {
            &self.0.open
        };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One client connection, as the handlers see it.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    /// The TCP socket, for the session to watch for hang-ups.
    pub socket: PeerSocket,
    /// Held by the connection and by a session on it.
    pub slot: Arc<Slot>,
}

/// The answer on a connection over the limit: the health endpoints as usual, anything else 429.
pub fn over_capacity(req: &Request<Incoming>) -> Response<Body> {
    if matches!(req.uri().path(), "/healthz" | "/livez" | "/readyz") {
        return response(StatusCode::OK, "text/plain; charset=utf-8", "ok");
    }
    let mut r = json(StatusCode::TOO_MANY_REQUESTS, status::too_many_requests());
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// One log line on stderr, `[devserver] ` first. Every line goes through [`escape_log`], so no
/// client-supplied text in it (a path, an argv, a header) can start a line of its own or send
/// escape sequences to a terminal.
macro_rules! log {
    ($($t:tt)*) => { $crate::server::log_line(format_args!($($t)*)) };
}
pub(crate) use log;

pub fn log_line(args: std::fmt::Arguments<'_>) {
    eprintln!("[devserver] {}", escape_log(&args.to_string()));
}

/// Control characters (C0, DEL, C1) and the invisible characters that move or reorder text
/// (bidi controls, line separators, zero-width marks) as `\n`, `\t`, `\r` or `\u{..}`.
pub fn escape_log(s: &str) -> std::borrow::Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        c.is_control()
            || matches!(c,
                '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
    }
    if !s.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

pub fn response(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = code;
    if !content_type.is_empty() {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn json(code: StatusCode, body: Vec<u8>) -> Response<Body> {
    response(code, "application/json", body)
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Origin of the request, if any (`None` for kubectl and other non-browser clients). `Err` for
/// an Origin that is not visible ASCII, or more than one: refused, never taken as absent.
fn origin(h: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut values = h.get_all(header::ORIGIN).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    match first.to_str() {
        Ok(o) if o.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(o)),
        _ => Err(()),
    }
}

/// The host name of a `Host` header value (no port, no brackets, lower case, no final dot).
fn host_name(host: &str) -> String {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Ctx {
    /// A `Host` the server answers to for static files: a loopback name or address, the
    /// address it listens on, or an `--allow-host` name. Other names may point here through
    /// DNS rebinding: a page on such a name must not read the `--www` tree.
    fn serves_host(&self, host: &str) -> bool {
        let name = host_name(host);
        if let Ok(ip) = name.parse::<std::net::IpAddr>() {
            let ip = ip.to_canonical();
            return ip.is_loopback() || self.listen_ip.is_some_and(|l| l.to_canonical() == ip);
        }
        name == "localhost" || name.ends_with(".localhost") || self.allowed_hosts.contains(&name)
    }

    fn is_own_origin(&self, origin: &str) -> bool {
        self.own_origins.iter().any(|o| o == origin)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.allow_any_origin
            || self.is_own_origin(origin)
            || self
                .allowed_origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin)
    }

    /// Constant-time comparison with the server's token.
    fn token_matches(&self, candidate: &str) -> bool {
        let (a, b) = (candidate.as_bytes(), self.token.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn authenticated(&self, h: &HeaderMap, offered: &OfferedToken) -> bool {
        let from_header = header_str(h, header::AUTHORIZATION)
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
            })
            .is_some_and(|t| self.token_matches(t));
        let from_protocol = matches!(offered, OfferedToken::One(t) if self.token_matches(t));
        from_header || from_protocol
    }
}

fn add_cors(r: &mut Response<Body>, origin: &str) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
}

/// A loopback `Host`: `localhost`, or a loopback address (IPv4-mapped ones included).
fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host);
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Entry point for every HTTP request.
pub async fn handle(
    req: Request<Incoming>,
    ctx: Arc<Ctx>,
    client: Client,
) -> Result<Response<Body>, std::convert::Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = route(req, &ctx, client).await;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        log!("{method} {path} -> {}", resp.status().as_u16());
    }
    Ok(resp)
}

fn is_api_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path == "/apis"
        || path.starts_with("/apis/")
        || path == "/version"
        || path.starts_with("/.devserver/")
}

async fn route(req: Request<Incoming>, ctx: &Ctx, client: Client) -> Response<Body> {
    let path = req.uri().path().to_string();
    let Ok(req_origin) = origin(req.headers()).map(|o| o.map(str::to_string)) else {
        log!("refused a request with an Origin that is not visible ASCII, or several");
        return json(
            StatusCode::FORBIDDEN,
            status::forbidden("the Origin header is not a valid origin".into()),
        );
    };
    if !is_api_path(&path) && path != "/healthz" && path != "/livez" && path != "/readyz" {
        let host = header_str(req.headers(), header::HOST).unwrap_or("");
        return match (&ctx.www, req.method()) {
            (Some(_), _) if !ctx.serves_host(host) => {
                log!("refused static files for Host {host}");
                json(
                    StatusCode::FORBIDDEN,
                    status::forbidden(format!(
                        "host {:?} is not served by kube-exec-devserver (start it with --allow-host {})",
                        host_name(host),
                        host_name(host)
                    )),
                )
            }
            (Some(root), &Method::GET | &Method::HEAD) => {
                files::serve(root, &path, req.method() == Method::HEAD).await
            }
            (Some(_), _) => json(StatusCode::METHOD_NOT_ALLOWED, status::method_not_allowed()),
            (None, _) => json(StatusCode::NOT_FOUND, status::no_such_path()),
        };
    }
    if path == "/.devserver/token" {
        return token_endpoint(&req, ctx, client.addr);
    }
    // The Origin allow-list applies to every API request, upgrades included. Requests without
    // an Origin (kubectl, curl) are not from a browser page and pass.
    if let Some(o) = &req_origin {
        if !ctx.origin_allowed(o) {
            log!("refused Origin {o}");
            return json(
                StatusCode::FORBIDDEN,
                status::forbidden(format!(
                    "origin {o} is not allowed by kube-exec-devserver (start it with --allow-origin {o})"
                )),
            );
        }
    }
    let mut resp = if req.method() == Method::OPTIONS {
        match &req_origin {
            Some(_) => response(StatusCode::NO_CONTENT, "", Bytes::new()),
            None => json(StatusCode::METHOD_NOT_ALLOWED, status::method_not_allowed()),
        }
    } else {
        api(req, ctx, client).await
    };
    if let Some(o) = &req_origin {
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            add_cors(&mut resp, o);
        }
    }
    resp
}

fn token_endpoint(req: &Request<Incoming>, ctx: &Ctx, peer: SocketAddr) -> Response<Body> {
    let host_ok = header_str(req.headers(), header::HOST).is_some_and(is_loopback_host);
    let origin_ok = origin(req.headers()).is_ok_and(|o| o.is_none_or(|o| ctx.is_own_origin(o)));
    if req.method() != Method::GET {
        return json(StatusCode::METHOD_NOT_ALLOWED, status::method_not_allowed());
    }
    // Listening on [::], an IPv4 client shows as ::ffff:127.0.0.1.
    if !peer.ip().to_canonical().is_loopback() || !host_ok || !origin_ok {
        return json(
            StatusCode::FORBIDDEN,
            status::forbidden(
                "the token is only given to loopback clients of the server's own origin".into(),
            ),
        );
    }
    response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        ctx.token.clone(),
    )
}

async fn api(mut req: Request<Incoming>, ctx: &Ctx, client: Client) -> Response<Body> {
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Public endpoints, as on a cluster (system:public-info-viewer).
    match segs.as_slice() {
        ["version"] => return json(StatusCode::OK, api::version()),
        ["healthz"] | ["livez"] | ["readyz"] => {
            return response(StatusCode::OK, "text/plain; charset=utf-8", "ok")
        }
        _ => {}
    }
    let is_ws = is_websocket_upgrade(req.headers());
    let offer = if is_ws {
        wire::parse_offer(
            req.headers()
                .get_all(header::SEC_WEBSOCKET_PROTOCOL)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    } else {
        wire::Offer::default()
    };
    if !ctx.authenticated(req.headers(), &offer.token) {
        return json(StatusCode::UNAUTHORIZED, status::unauthorized());
    }
    let get_only = |r: Response<Body>, m: &Method| {
        if m == Method::GET || m == Method::HEAD {
            r
        } else {
            json(StatusCode::METHOD_NOT_ALLOWED, status::method_not_allowed())
        }
    };
    let m = req.method().clone();
    // fault-redirect: the pod and its exec/attach answer with a redirect elsewhere, as a login
    // page or an http-to-https proxy in front of a cluster would.
    if let ["api", "v1", "namespaces", ns, "pods", name, ..] = segs.as_slice() {
        if ctx
            .pods
            .get(ns, name)
            .is_some_and(|p| p.behavior == Behavior::Fault(Fault::Redirect))
        {
            let mut r = response(StatusCode::FOUND, "", Bytes::new());
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static("/version"));
            return r;
        }
    }
    match segs.as_slice() {
        ["api"] => get_only(json(StatusCode::OK, api::api_versions(ctx.port)), &m),
        ["apis"] => get_only(json(StatusCode::OK, api::api_group_list()), &m),
        ["api", "v1"] => get_only(json(StatusCode::OK, api::api_resources()), &m),
        ["api", "v1", "namespaces"] => get_only(
            json(StatusCode::OK, api::namespace_list(&ctx.pods.namespaces())),
            &m,
        ),
        ["api", "v1", "namespaces", ns] => {
            if ctx.pods.namespaces().iter().any(|n| n == ns) {
                get_only(json(StatusCode::OK, api::namespace(ns)), &m)
            } else {
                json(StatusCode::NOT_FOUND, status::not_found("namespaces", ns))
            }
        }
        ["api", "v1", "namespaces", ns, "pods"] => {
            let pods: Vec<Arc<Pod>> = ctx.pods.in_namespace(ns).collect();
            get_only(json(StatusCode::OK, api::pod_list(&pods)), &m)
        }
        ["api", "v1", "namespaces", ns, "pods", name] => match ctx.pods.get(ns, name) {
            Some(pod) => get_only(json(StatusCode::OK, api::pod(&pod)), &m),
            None => json(StatusCode::NOT_FOUND, status::not_found("pods", name)),
        },
        ["api", "v1", "namespaces", ns, "pods", name, sub @ ("exec" | "attach")] => {
            let kind = if *sub == "exec" {
                Kind::Exec
            } else {
                Kind::Attach
            };
            let (ns, name) = (ns.to_string(), name.to_string());
            stream(&mut req, ctx, client, &ns, &name, kind, &offer).await
        }
        ["api", "v1", "namespaces", _, "pods", _, "portforward"] => json(
            StatusCode::BAD_REQUEST,
            status::bad_request("port-forward is not served by kube-exec-devserver".into()),
        ),
        _ => json(StatusCode::NOT_FOUND, status::no_such_path()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Exec,
    Attach,
}

fn is_websocket_upgrade(h: &HeaderMap) -> bool {
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

/// Query values, decoded as Go's url.ParseQuery does (`+` is a space; bad escapes drop the pair).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> Option<String> {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = b.get(i + 1..i + 3)?;
                    let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                    out.push(v);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    q.split(['&', ';'])
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// A boolean query parameter: absent or a false value of strconv.ParseBool is false; anything
/// else (even empty) is true.
fn query_bool(q: &[(String, String)], name: &str) -> bool {
    match q.iter().find(|(k, _)| k == name) {
        None => false,
        Some((_, v)) => !matches!(v.as_str(), "0" | "f" | "F" | "false" | "FALSE" | "False"),
    }
}

async fn stream(
    req: &mut Request<Incoming>,
    ctx: &Ctx,
    client: Client,
    ns: &str,
    name: &str,
    kind: Kind,
    offer: &wire::Offer,
) -> Response<Body> {
    let Some(pod) = ctx.pods.get(ns, name) else {
        return json(StatusCode::NOT_FOUND, status::not_found("pods", name));
    };
    if req.method() != Method::GET && req.method() != Method::POST {
        return json(StatusCode::METHOD_NOT_ALLOWED, status::method_not_allowed());
    }
    let q = parse_query(req.uri().query().unwrap_or(""));
    // The container: named, or the only one (pkg/registry/core/pod/strategy.go validateContainer).
    let requested = q
        .iter()
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let container = if requested.is_empty() {
        if pod.config.containers.len() == 1 {
            pod.config.containers[0].clone()
        } else {
            let names: Vec<&str> = pod
                .config
                .containers
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return json(
                StatusCode::BAD_REQUEST,
                status::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                )),
            );
        }
    } else {
        match pod.container(requested) {
            Some(c) => c.clone(),
            None => {
                return json(
                    StatusCode::BAD_REQUEST,
                    status::bad_request(format!(
                        "container {requested} is not valid for pod {name}"
                    )),
                )
            }
        }
    };
    let tty = query_bool(&q, "tty");
    let streams = Streams {
        stdin: query_bool(&q, "stdin"),
        stdout: query_bool(&q, "stdout"),
        // With a TTY, stderr is merged into stdout.
        stderr: query_bool(&q, "stderr") && !tty,
        tty,
    };
    if !streams.stdin && !streams.stdout && !streams.stderr {
        return json(
            StatusCode::BAD_REQUEST,
            status::bad_request("you must specify at least 1 of stdin, stdout, stderr".into()),
        );
    }
    let argv: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if kind == Kind::Exec && argv.is_empty() {
        return json(
            StatusCode::BAD_REQUEST,
            status::bad_request("you must specify at least one command for the container".into()),
        );
    }
    if !is_websocket_upgrade(req.headers()) {
        let spdy = header_str(req.headers(), header::UPGRADE)
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("spdy"));
        let message = if spdy {
            "Upgrade request required: kube-exec-devserver speaks WebSocket (v5.channel.k8s.io ... channel.k8s.io), not SPDY"
        } else {
            "Upgrade request required"
        };
        return json(StatusCode::BAD_REQUEST, status::bad_request(message.into()));
    }
    let Ok(proto) = wire::negotiate(&offer.protocols) else {
        // golang.org/x/net/websocket refuses an unsupported offer with an empty 403.
        if offer.held_token() {
            log!("no supported subprotocol offered (the offer held a bearer-token entry, so it is not shown)");
        } else {
            log!("no supported subprotocol in {:?}", offer.protocols);
        }
        return response(StatusCode::FORBIDDEN, "", Bytes::new());
    };
    let key = match header_str(req.headers(), header::SEC_WEBSOCKET_KEY) {
        Some(k) if header_str(req.headers(), header::SEC_WEBSOCKET_VERSION) == Some("13") => {
            k.to_string()
        }
        _ => {
            return response(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "Bad Request: a WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13",
            )
        }
    };
    // A container that is not running: the kubelet finds no such container. On the runtime
    // path (v1–v4) that is the HTTP answer to the upgrade; on v5 the API server's translator
    // has already upgraded and reports the failed SPDY upgrade as a Status.
    let not_running = format!("container not found (\"{}\")", container.name);
    if !container.running && proto != Subprotocol::V5 {
        return response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            not_running,
        );
    }
    let on_upgrade = hyper::upgrade::on(req);
    let label = format!(
        "{} {ns}/{name}/{} {}",
        if kind == Kind::Exec { "exec" } else { "attach" },
        container.name,
        proto.short()
    );
    log!(
        "{label} start argv={argv:?} stdin={} stdout={} stderr={} tty={}",
        streams.stdin,
        streams.stdout,
        streams.stderr,
        streams.tty
    );
    let hub = ctx.hub.clone();
    let idle = ctx.idle_timeout;
    tokio::spawn(async move {
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
            move |conn, events| async move {
                if !container.running {
                    conn.ready(streams).await;
                    return Ending::Status(Outcome::Translator(format!(
                        "unable to upgrade connection: {not_running}"
                    )));
                }
                match (pod.behavior, kind) {
                    (Behavior::Fault(f), _) => {
                        crate::scripted::fault(conn, events, f, streams).await
                    }
                    (Behavior::Bench, _) => {
                        crate::scripted::bench(conn, events, argv, streams).await
                    }
                    (Behavior::Process, Kind::Exec) => {
                        if !conn.ready(streams).await {
                            return Ending::Gone;
                        }
                        crate::exec::run(conn, events, pod, argv, streams).await
                    }
                    (Behavior::Process, Kind::Attach) => {
                        if !conn.ready(streams).await {
                            return Ending::Gone;
                        }
                        crate::attach::run(conn, events, hub, pod, container, streams).await
                    }
                }
            },
        )
        .await;
        let how = match &ending {
            Ending::Status(Outcome::Success) => "success".to_string(),
            Ending::Status(Outcome::Exit { code, .. }) => format!("exit {code}"),
            Ending::Status(Outcome::Runtime(m) | Outcome::Translator(m)) => format!("error: {m}"),
            Ending::Close(code, why) => format!("closed {code} ({why})"),
            Ending::Gone => "client left".into(),
            Ending::Drop => "connection dropped (fault)".into(),
            Ending::Idle(after) => {
                format!("idle timeout (no data from the client for {after:?}), connection cut")
            }
        };
        log!("{label} end: {how}");
        // The connection's place is free once the session is done.
        drop(client);
    });
    let mut resp = response(StatusCode::SWITCHING_PROTOCOLS, "", Bytes::new());
    let h = resp.headers_mut();
    h.remove(header::CACHE_CONTROL);
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    // Even for "none" the header is sent, empty, as the Kubernetes servers do (PROTOCOL.md §2).
    h.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(proto.name()),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = parse_query("command=sh&command=-c&command=echo+a%20b&stdin=&tty=false&bad=%zz");
        let argv: Vec<_> = q
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(argv, ["sh", "-c", "echo a b"]);
        assert!(query_bool(&q, "stdin"));
        assert!(!query_bool(&q, "tty"));
        assert!(!query_bool(&q, "stdout"));
        assert!(!q.iter().any(|(k, _)| k == "bad"));
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1:8080"));
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("[::1]:80"));
        assert!(is_loopback_host("[::ffff:127.0.0.1]:80"));
        assert!(is_loopback_host("LocalHost.:80"));
        assert!(!is_loopback_host("evil.example:8080"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("[::ffff:10.0.0.1]:80"));
        assert!(!is_loopback_host("127.0.0.1.nip.io"));
    }
}
