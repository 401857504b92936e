//! The HTTP side: routing, authentication, the Origin allow-list and CORS, discovery and pod
//! objects, static files. exec and attach go on to [`crate::streaming`].

use crate::connections::Client;
use crate::log::log;
use crate::pods::{Behavior, Fault, Pod, Pods};
use crate::reply::{json, response, Body};
use crate::status;
use crate::streaming::{self, Kind, Sessions};
use crate::wire::{self, OfferedToken};
use crate::{api, files};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
    pub sessions: Sessions,
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
    let semicolon = req.uri().query().is_some_and(|q| q.contains(';'));
    let resp = route(req, &ctx, client).await;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        log!("{method} {path} -> {}", resp.status().as_u16());
    }
    if semicolon {
        // As Go's net/http warns (serverHandler.ServeHTTP): the query is read as net/url does,
        // which drops every pair holding a raw `;` (see streaming::parse_query).
        log!("{method} {path}: the query holds a raw ';', which is not a separator: the parameters holding one were dropped (golang.org/issue/25192)");
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
    let is_ws = streaming::is_websocket_upgrade(req.headers());
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
            let Some(pod) = ctx.pods.get(ns, name) else {
                return json(StatusCode::NOT_FOUND, status::not_found("pods", name));
            };
            if m != Method::GET && m != Method::POST {
                return json(StatusCode::METHOD_NOT_ALLOWED, status::method_not_allowed());
            }
            let kind = if *sub == "exec" {
                Kind::Exec
            } else {
                Kind::Attach
            };
            streaming::serve(&mut req, pod, kind, &offer, &ctx.sessions, client).await
        }
        ["api", "v1", "namespaces", _, "pods", _, "portforward"] => json(
            StatusCode::BAD_REQUEST,
            status::bad_request("port-forward is not served by kube-exec-devserver".into()),
        ),
        _ => json(StatusCode::NOT_FOUND, status::no_such_path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
