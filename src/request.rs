//! The exec and attach requests: validated names and the WebSocket URL.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, ErrorCode};

/// Everything but RFC 3986 unreserved characters is percent-encoded in query values.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The pod subresource to connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `.../exec`: run a new process (`command` required).
    Exec,
    /// `.../attach`: join the container's main process (no `command`).
    Attach,
}

impl Kind {
    /// The subresource name, `"exec"` or `"attach"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Exec => "exec",
            Kind::Attach => "attach",
        }
    }
}

/// An exec or attach request. Build one with [`ExecRequest::exec`] or [`ExecRequest::attach`]
/// (stdout and stderr on, stdin and tty off) and adjust the public fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRequest {
    /// Exec or attach.
    pub kind: Kind,
    /// The namespace (an RFC 1123 label).
    pub namespace: String,
    /// The pod name (an RFC 1123 subdomain).
    pub pod: String,
    /// The container (an RFC 1123 label); required by the server for multi-container pods.
    pub container: Option<String>,
    /// The argv of the process (exec only; no shell is involved).
    pub command: Vec<String>,
    /// Send stdin.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr (with a TTY the server merges it into stdout).
    pub stderr: bool,
    /// Allocate a TTY (exec) or match the container's TTY (attach).
    pub tty: bool,
}

impl ExecRequest {
    /// An exec of `command` in `namespace`/`pod`, with stdout and stderr.
    pub fn exec<S: Into<String>>(
        namespace: impl Into<String>,
        pod: impl Into<String>,
        command: impl IntoIterator<Item = S>,
    ) -> ExecRequest {
        ExecRequest {
            kind: Kind::Exec,
            namespace: namespace.into(),
            pod: pod.into(),
            container: None,
            command: command.into_iter().map(Into::into).collect(),
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }

    /// An attach to `namespace`/`pod`, with stdout and stderr.
    pub fn attach(namespace: impl Into<String>, pod: impl Into<String>) -> ExecRequest {
        ExecRequest {
            kind: Kind::Attach,
            command: Vec::new(),
            ..ExecRequest::exec(namespace, pod, Vec::<String>::new())
        }
    }

    /// Checks the request as the API server would, before any connection:
    /// namespace and container are RFC 1123 labels, the pod an RFC 1123 subdomain, exec
    /// has a command and attach none, and at least one stream is requested.
    /// Every failure is [`ErrorCode::InvalidOptions`].
    pub fn validate(&self) -> Result<(), Error> {
        check_name("namespace", &self.namespace, is_dns1123_label, LABEL_RULE)?;
        check_name("pod", &self.pod, is_dns1123_subdomain, SUBDOMAIN_RULE)?;
        if let Some(container) = &self.container {
            check_name("container", container, is_dns1123_label, LABEL_RULE)?;
        }
        match self.kind {
            Kind::Exec if self.command.is_empty() => return Err(invalid("exec needs a command")),
            Kind::Attach if !self.command.is_empty() => {
                return Err(invalid("attach takes no command"))
            }
            _ => {}
        }
        if !(self.stdin || self.stdout || self.stderr) {
            return Err(invalid(
                "you must specify at least 1 of stdin, stdout, stderr",
            ));
        }
        Ok(())
    }

    /// The path and query, e.g.
    /// `/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=echo%20hi&stderr=true&stdout=true`.
    /// Parameters in kubectl's (alphabetical) order, true flags as `true`, false ones omitted.
    /// Validates first.
    pub fn path_and_query(&self) -> Result<String, Error> {
        self.validate()?;
        let mut s = self.pod_path();
        s.push('/');
        s.push_str(self.kind.as_str());
        let mut sep = '?';
        let mut param = |s: &mut String, key: &str, value: &str| {
            s.push(sep);
            sep = '&';
            s.push_str(key);
            s.push('=');
            s.extend(utf8_percent_encode(value, QUERY_VALUE));
        };
        for arg in &self.command {
            param(&mut s, "command", arg);
        }
        if let Some(container) = &self.container {
            param(&mut s, "container", container);
        }
        for (key, on) in [
            ("stderr", self.stderr),
            ("stdin", self.stdin),
            ("stdout", self.stdout),
            ("tty", self.tty),
        ] {
            if on {
                param(&mut s, key, "true");
            }
        }
        Ok(s)
    }

    /// The WebSocket URL. `server` is `http(s)://host[:port][/prefix]` (or `ws(s)://...`,
    /// kept), a path `/prefix` on the page's origin, or `None` for the page's origin itself;
    /// `page_origin` is the page's `location.origin` (`http(s)://host[:port]`).
    /// `http` becomes `ws`, `https` becomes `wss`. Bad URLs (other schemes, user info,
    /// query or fragment) are [`ErrorCode::InvalidOptions`].
    pub fn websocket_url(&self, server: Option<&str>, page_origin: &str) -> Result<String, Error> {
        let path = self.path_and_query()?;
        let base = Base::resolve(server, page_origin)?;
        Ok(format!(
            "{}://{}{}{}",
            base.ws_scheme(),
            base.authority,
            base.prefix,
            path
        ))
    }

    /// The `http(s)` URL of the pod (`.../namespaces/{ns}/pods/{pod}`), for a preflight `GET`
    /// with the same credentials that explains a failed handshake. Same arguments as
    /// [`ExecRequest::websocket_url`].
    pub fn pod_url(&self, server: Option<&str>, page_origin: &str) -> Result<String, Error> {
        self.validate()?;
        let base = Base::resolve(server, page_origin)?;
        Ok(format!(
            "{}://{}{}{}",
            base.http_scheme(),
            base.authority,
            base.prefix,
            self.pod_path()
        ))
    }

    fn pod_path(&self) -> String {
        format!("/api/v1/namespaces/{}/pods/{}", self.namespace, self.pod)
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
}

const LABEL_RULE: &str =
    "an RFC 1123 label: at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit";
const SUBDOMAIN_RULE: &str = "an RFC 1123 subdomain: at most 253 characters, dot-separated lower-case labels of letters, digits or '-'";

fn check_name(what: &str, name: &str, ok: fn(&str) -> bool, rule: &str) -> Result<(), Error> {
    if ok(name) {
        return Ok(());
    }
    let shown: String = name.chars().take(64).collect();
    Err(invalid(format!("{what} \"{shown}\" is not {rule}")))
}

fn is_label_body(label: &str) -> bool {
    let b = label.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && b.iter().all(|c| alnum(c) || *c == b'-')
        }
        _ => false,
    }
}

/// An RFC 1123 label as Kubernetes checks it (`IsDNS1123Label`): 1–63 characters of
/// `[a-z0-9-]`, starting and ending with `[a-z0-9]`. Namespaces and containers.
pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= 63 && is_label_body(name)
}

/// An RFC 1123 subdomain as Kubernetes checks it (`IsDNS1123Subdomain`): at most 253
/// characters, one or more labels of `[a-z0-9-]` (starting and ending with `[a-z0-9]`)
/// joined by dots. Pod names.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_label_body)
}

/// A parsed base URL: scheme, authority and path prefix (without trailing `/`).
struct Base<'a> {
    secure: bool,
    authority: &'a str,
    prefix: &'a str,
}

impl<'a> Base<'a> {
    fn resolve(server: Option<&'a str>, page_origin: &'a str) -> Result<Base<'a>, Error> {
        match server {
            Some(s) if s.starts_with('/') && !s.starts_with("//") => {
                let origin = Base::parse(page_origin, "page origin")?;
                check_path(s)?;
                Ok(Base {
                    prefix: s.trim_end_matches('/'),
                    ..origin
                })
            }
            Some(s) if !s.is_empty() => Base::parse(s, "server"),
            _ => {
                let origin = Base::parse(page_origin, "page origin")?;
                Ok(Base {
                    prefix: "",
                    ..origin
                })
            }
        }
    }

    fn parse(url: &'a str, what: &str) -> Result<Base<'a>, Error> {
        let bad = |why: &str| invalid(format!("{what} URL \"{}\": {why}", redacted(url)));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected http://, https://, ws:// or wss://"))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(bad("expected http://, https://, ws:// or wss://")),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad("credentials do not belong in a URL"));
        }
        // A browser ends the host at `\\` too (it reads it as `/`).
        if authority.bytes().any(|b| {
            b.is_ascii_whitespace() || b.is_ascii_control() || matches!(b, b'?' | b'#' | b'\\')
        }) {
            return Err(bad("invalid host"));
        }
        check_path(prefix).map_err(|_| bad("no query or fragment allowed"))?;
        Ok(Base {
            secure,
            authority,
            prefix: prefix.trim_end_matches('/'),
        })
    }

    fn ws_scheme(&self) -> &'static str {
        if self.secure {
            "wss"
        } else {
            "ws"
        }
    }

    fn http_scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }
}

fn check_path(path: &str) -> Result<(), Error> {
    if path.bytes().any(|b| {
        matches!(b, b'?' | b'#' | b'\\') || b.is_ascii_whitespace() || b.is_ascii_control()
    }) {
        return Err(invalid(format!(
            "server path \"{}\": no query, fragment, backslash or spaces allowed",
            redacted(path)
        )));
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// `s` up to its query or fragment (which may hold a token), marked `?…` when cut.
fn without_query(s: &str) -> String {
    match s.find(['?', '#']) {
        Some(i) => format!("{}?\u{2026}", &s[..i]),
        None => s.to_string(),
    }
}

/// A URL (or whatever the caller passed as one) for a message: without query and fragment,
/// without everything up to its last `@` — user info in any shape (`user:pw@h`, `//user:pw@h`,
/// `https:/user:pw@h`, `https:\\user:pw@h` …), whether or not it parses as a URL — and
/// shortened. A leading `http(s)://` or `ws(s)://` is kept.
fn redacted(url: &str) -> String {
    let url = without_query(url);
    let Some(at) = url.rfind('@') else {
        return shorten(&url);
    };
    let scheme = ["http://", "https://", "ws://", "wss://"]
        .into_iter()
        .find(|s| {
            url.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
                && s.len() <= at
        })
        .map_or("", |s| &url[..s.len()]);
    shorten(&format!("{scheme}<redacted>@{}", &url[at + 1..]))
}

/// The host part of a URL (`scheme://host[:port]/...`), without port and IPv6 brackets, as
/// a browser reads it: the authority ends at `/`, `\\`, `?` or `#`. `None` for a URL with
/// control characters or spaces (browsers drop some of them, which changes the host).
fn url_host(url: &str) -> Option<&str> {
    if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return None;
    }
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '\\', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(host_port.split(':').next().unwrap_or(host_port))
}

/// The host is a loopback host: `localhost`, `*.localhost`, `127.0.0.0/8`, `::1`, or
/// `127.0.0.0/8` mapped into IPv6 (`::ffff:127.0.0.1`, which browsers write `::ffff:7f00:1`).
/// Only the canonical spellings are read: `127.1`, `0x7f.1` or `2130706433` are not loopback
/// here, so pass a host as the browser's URL parser wrote it (the web glue does).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    let lower = lower.trim_end_matches('.');
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    is_ipv4_loopback(lower) || is_ipv6_loopback(lower)
}

/// `a.b.c.d` with decimal octets 0–255 (no leading zeros), as `Ipv4Addr` parses it; kept
/// small instead of pulling in the std address parser.
fn ipv4_octets(host: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = host.split('.');
    for octet in &mut octets {
        let p = parts.next()?;
        let decimal = !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'));
        *octet = p.parse().ok().filter(|_| decimal)?;
    }
    parts.next().is_none().then_some(octets)
}

/// `127.a.b.c`.
fn is_ipv4_loopback(host: &str) -> bool {
    ipv4_octets(host).is_some_and(|o| o[0] == 127)
}

/// The eight groups of an IPv6 address in any of its spellings (`0:0:0:0:0:0:0:1`, `::1`,
/// `0::1`, a dotted IPv4 tail `::ffff:127.0.0.1` ...).
fn ipv6_groups(host: &str) -> Option<[u16; 8]> {
    let expanded;
    let mut host = host;
    if let Some(i) = host.rfind(':').filter(|i| host[i + 1..].contains('.')) {
        // The dotted IPv4 tail as the two groups it stands for.
        let [a, b, c, d] = ipv4_octets(&host[i + 1..])?;
        let (high, low) = (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
        expanded = format!("{}{high:x}:{low:x}", &host[..=i]);
        host = &expanded;
    }
    if !host.contains(':') || !host.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        return None;
    }
    let groups = |s: &str| -> Option<Vec<u16>> {
        if s.is_empty() {
            return Some(Vec::new());
        }
        s.split(':')
            .map(|g| {
                if g.is_empty() || g.len() > 4 {
                    return None;
                }
                u16::from_str_radix(g, 16).ok()
            })
            .collect()
    };
    let all = match host.split_once("::") {
        Some((head, tail)) => {
            let (mut v, t) = (groups(head)?, groups(tail)?);
            if v.len() + t.len() > 7 {
                return None;
            }
            v.resize(8 - t.len(), 0);
            v.extend(t);
            v
        }
        None => groups(host)?,
    };
    all.try_into().ok()
}

/// `::1`, or `127.0.0.0/8` mapped into IPv6 (`::ffff:7f00:1`), in any spelling.
fn is_ipv6_loopback(host: &str) -> bool {
    match ipv6_groups(host) {
        Some([0, 0, 0, 0, 0, 0, 0, 1]) => true,
        Some([0, 0, 0, 0, 0, 0xffff, high, _]) => high >> 8 == 127,
        _ => false,
    }
}

/// The URL's host is a loopback host (see [`is_loopback_host`]).
pub fn is_loopback(url: &str) -> bool {
    url_host(url).is_some_and(is_loopback_host)
}

/// The URL is `https://` or `wss://`.
pub fn is_secure(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(s, _)| s.eq_ignore_ascii_case("wss") || s.eq_ignore_ascii_case("https"))
}

/// Refuses to send a token over a plain `ws://`/`http://` URL to a host that is not loopback,
/// unless the caller opted in (`allow_insecure`): [`ErrorCode::InvalidOptions`]. Reads the
/// host as [`is_loopback`] does; the web glue uses [`check_token_host`] with the host the
/// browser's URL parser gives.
pub fn check_token_transport(url: &str, allow_insecure: bool) -> Result<(), Error> {
    check_token_host(is_secure(url), url_host(url).unwrap_or(""), allow_insecure)
}

/// [`check_token_transport`] for a URL already parsed: `secure` for `wss:`/`https:`, and its
/// `host` (a name, an IPv4 address, or an IPv6 address with or without brackets).
pub fn check_token_host(secure: bool, host: &str, allow_insecure: bool) -> Result<(), Error> {
    if allow_insecure || secure || is_loopback_host(host) {
        return Ok(());
    }
    Err(invalid(
        "refusing to send a token over plain ws:// to a host that is not loopback; use https, \
         or opt in to insecure transport explicitly",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const PAGE: &str = "http://localhost:8080";

    macro_rules! urls {
        ($($name:ident: $req:expr, $server:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let req: ExecRequest = $req;
                assert_eq!(req.websocket_url($server, PAGE).as_deref(), Ok($want));
            }
        )*};
    }

    fn sh(cmd: &str) -> ExecRequest {
        ExecRequest::exec("default", "demo", ["sh", "-c", cmd])
    }

    urls! {
        https_to_wss: sh("echo hi"), Some("https://k8s.example:6443")
            => "wss://k8s.example:6443/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=echo%20hi&stderr=true&stdout=true";
        http_to_ws: ExecRequest::exec("kube-system", "coredns-5d78c9869d-abcde", ["ls"]), Some("http://127.0.0.1:8001")
            => "ws://127.0.0.1:8001/api/v1/namespaces/kube-system/pods/coredns-5d78c9869d-abcde/exec?command=ls&stderr=true&stdout=true";
        same_origin: sh("x"), None
            => "ws://localhost:8080/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&stderr=true&stdout=true";
        same_origin_empty: sh("x"), Some("")
            => "ws://localhost:8080/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&stderr=true&stdout=true";
        same_origin_prefix: sh("x"), Some("/k8s/")
            => "ws://localhost:8080/k8s/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&stderr=true&stdout=true";
        server_prefix: sh("x"), Some("https://rancher.example/k8s/clusters/c-1/")
            => "wss://rancher.example/k8s/clusters/c-1/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&stderr=true&stdout=true";
        wss_kept: sh("x"), Some("wss://[::1]:6443")
            => "wss://[::1]:6443/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&stderr=true&stdout=true";
        encoded_args: ExecRequest::exec("default", "demo", ["printf", "a&b=c?d#e/f+g%h é 🦀", ""]), Some("https://h")
            => "wss://h/api/v1/namespaces/default/pods/demo/exec?command=printf&command=a%26b%3Dc%3Fd%23e%2Ff%2Bg%25h%20%C3%A9%20%F0%9F%A6%80&command=&stderr=true&stdout=true";
        all_flags: ExecRequest { container: Some("shell".into()), stdin: true, tty: true, stderr: false, ..sh("x") }, Some("https://h")
            => "wss://h/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&container=shell&stdin=true&stdout=true&tty=true";
        attach: ExecRequest { stdin: true, tty: true, stderr: false, container: Some("shell".into()), ..ExecRequest::attach("default", "demo") }, Some("https://h")
            => "wss://h/api/v1/namespaces/default/pods/demo/attach?container=shell&stdin=true&stdout=true&tty=true";
        stdin_only: ExecRequest { stdin: true, stdout: false, stderr: false, ..sh("x") }, Some("https://h")
            => "wss://h/api/v1/namespaces/default/pods/demo/exec?command=sh&command=-c&command=x&stdin=true";
    }

    #[test]
    fn pod_urls() {
        let req = sh("x");
        assert_eq!(
            req.pod_url(Some("wss://h:6443/p"), PAGE).as_deref(),
            Ok("https://h:6443/p/api/v1/namespaces/default/pods/demo")
        );
        assert_eq!(
            req.pod_url(None, PAGE).as_deref(),
            Ok("http://localhost:8080/api/v1/namespaces/default/pods/demo")
        );
    }

    #[test]
    fn bad_servers() {
        for bad in [
            "ftp://h",
            "h:6443",
            "https://",
            "https://user:pw@h",
            "https://h/?x=1",
            "https://h/#x",
            "https://h h",
            "//h",
        ] {
            let e = sh("x").websocket_url(Some(bad), PAGE).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{bad}");
            assert!(!e.message().contains("pw"), "{e}");
        }
        // A token put in the URL's query or fragment stays out of the message too.
        for bad in [
            "https://h/?access_token=s3cr3t",
            "https://h/k8s#token=s3cr3t",
            "https://h?token=s3cr3t",
            "ftp://h/?token=s3cr3t",
            "https://h/ x?token=s3cr3t",
            "/k8s?token=s3cr3t",
            "/k 8s#token=s3cr3t",
        ] {
            let e = sh("x").websocket_url(Some(bad), PAGE).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{bad}");
            assert!(!e.message().contains("s3cr3t"), "{e}");
        }
        // User info stays out of the message whatever the shape of the string around it.
        for bad in [
            "user:s3cr3t@h:6443",
            "//user:s3cr3t@h",
            "https:/user:s3cr3t@h",
            "https:user:s3cr3t@h",
            "https:\\\\user:s3cr3t@h",
            "HTTPS://user:s3cr3t@h",
            "https://user:s3cr3t@h@evil/x y",
            "ftp://user:s3cr3t@h",
            "/k8s/user:s3cr3t@h x",
        ] {
            for e in [
                sh("x").websocket_url(Some(bad), PAGE).unwrap_err(),
                sh("x").pod_url(Some(bad), PAGE).unwrap_err(),
            ] {
                assert_eq!(e.code(), ErrorCode::InvalidOptions, "{bad}");
                let shown = format!("{e} {e:?}");
                assert!(
                    !shown.contains("s3cr3t") && !shown.contains("user"),
                    "{shown}"
                );
            }
        }
        assert_eq!(
            redacted("HTTPS://user:s3cr3t@h/p?token=x"),
            "HTTPS://<redacted>@h/p?\u{2026}"
        );
        assert_eq!(redacted("user:s3cr3t@h:6443"), "<redacted>@h:6443");
        let e = sh("x").websocket_url(None, "not an origin").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidOptions);
    }

    macro_rules! names {
        ($($name:ident: $f:ident($s:expr) == $want:expr;)*) => {
            #[test]
            fn name_table() {$(
                assert_eq!($f(&$s), $want, "{}({:?})", stringify!($f), $s);
            )*}
        };
    }

    names! {
        l1: is_dns1123_label("default") == true;
        l2: is_dns1123_label("a") == true;
        l3: is_dns1123_label("0") == true;
        l4: is_dns1123_label("a-b-1") == true;
        l5: is_dns1123_label("a".repeat(63)) == true;
        l6: is_dns1123_label("a".repeat(64)) == false;
        l7: is_dns1123_label("") == false;
        l8: is_dns1123_label("-a") == false;
        l9: is_dns1123_label("a-") == false;
        l10: is_dns1123_label("A") == false;
        l11: is_dns1123_label("a.b") == false;
        l12: is_dns1123_label("a_b") == false;
        l13: is_dns1123_label("é") == false;
        s1: is_dns1123_subdomain("demo") == true;
        s2: is_dns1123_subdomain("web-0.web.default") == true;
        s3: is_dns1123_subdomain(format!("{}.{}", "a".repeat(100), "b".repeat(100))) == true;
        s4: is_dns1123_subdomain("a".repeat(253)) == true;
        s5: is_dns1123_subdomain("a".repeat(254)) == false;
        s6: is_dns1123_subdomain("a..b") == false;
        s7: is_dns1123_subdomain(".a") == false;
        s8: is_dns1123_subdomain("a.") == false;
        s9: is_dns1123_subdomain("a.-b") == false;
        s10: is_dns1123_subdomain("Demo") == false;
        s11: is_dns1123_subdomain("../x") == false;
        s12: is_dns1123_subdomain("a/b") == false;
        s13: is_dns1123_subdomain("") == false;
    }

    #[test]
    fn validation() {
        let cases: Vec<(ExecRequest, &str)> = vec![
            (ExecRequest::exec("Default", "demo", ["ls"]), "namespace"),
            (ExecRequest::exec("default", "demo/../x", ["ls"]), "pod"),
            (ExecRequest::exec("default", "", ["ls"]), "pod"),
            (
                ExecRequest {
                    container: Some("a.b".into()),
                    ..sh("x")
                },
                "container",
            ),
            (
                ExecRequest {
                    container: Some(String::new()),
                    ..sh("x")
                },
                "container",
            ),
            (
                ExecRequest::exec("default", "demo", Vec::<String>::new()),
                "command",
            ),
            (
                ExecRequest {
                    command: vec!["ls".into()],
                    ..ExecRequest::attach("default", "demo")
                },
                "command",
            ),
            (
                ExecRequest {
                    stdout: false,
                    stderr: false,
                    ..sh("x")
                },
                "at least 1 of stdin",
            ),
        ];
        for (req, needle) in cases {
            let e = req.validate().unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions);
            assert!(e.message().contains(needle), "{e} lacks {needle}");
            assert_eq!(req.websocket_url(Some("https://h"), PAGE).unwrap_err(), e);
        }
        assert_eq!(ExecRequest::attach("default", "demo").validate(), Ok(()));
    }

    #[test]
    fn backslash_and_tabs_cannot_fake_a_loopback_host() {
        // Browsers read `\\` as `/` in ws/http URLs and drop tabs and newlines: the host of
        // these is evil.com, whatever follows.
        for url in [
            "ws://evil.com\\.localhost/x",
            "ws://evil.com\\@127.0.0.1/x",
            "http://evil.com\\.localhost",
            "ws://evil.com\t.localhost/",
            "ws://evil.com\n@localhost/",
        ] {
            assert!(!is_loopback(url), "{url}");
            assert_eq!(
                check_token_transport(url, false).unwrap_err().code(),
                ErrorCode::InvalidOptions,
                "{url}"
            );
        }
        for server in ["http://evil.com\\.localhost", "https://h\\x", "http://h\\"] {
            let e = sh("x").websocket_url(Some(server), PAGE).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{server}");
        }
        let e = sh("x").websocket_url(Some("/k8s\\x"), PAGE).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidOptions);
    }

    #[test]
    fn loopback_and_transport() {
        for url in [
            "ws://localhost:1/x",
            "ws://LOCALHOST/x",
            "ws://app.localhost:9",
            "ws://127.0.0.1:8001/api",
            "ws://127.1.2.3",
            "ws://[::1]:6443/x",
            "ws://[0:0:0:0:0:0:0:1]/",
            "ws://[::0:1]/",
            "ws://[0::1]/",
            "ws://127.255.255.255/",
            "http://u@127.0.0.1/",
            // IPv4 loopback mapped into IPv6, as written and as browsers serialise it.
            "ws://[::ffff:127.0.0.1]:8080/",
            "ws://[::FFFF:127.1.2.3]/",
            "ws://[::ffff:7f00:1]/",
            "ws://[0:0:0:0:0:ffff:7fff:ffff]/",
        ] {
            assert!(is_loopback(url), "{url}");
            assert_eq!(check_token_transport(url, false), Ok(()));
        }
        for url in [
            "ws://10.0.0.1/x",
            "ws://example.com/x",
            "ws://localhost.example.com/",
            "ws://[::2]/",
            "ws://[1::1]/",
            "ws://[::1::1]/",
            "ws://[::]/",
            "ws://[:::1]/",
            "ws://128.0.0.1/",
            "ws://127.0.0.256/",
            "ws://127.0.0/",
            "ws://127.0.0.01/",
            "ws://127.0.0.1.5/",
            "ws://127.0.0.1.nip.io/",
            "ws://localhost.evil.com/",
            "ws://[::ffff:128.0.0.1]/",
            "ws://[::ffff:8000:1]/",
            "ws://[::ffff:10.0.0.1]/",
            "ws://[::127.0.0.1]/",
            "ws://[::ffff:127.0.0.1.5]/",
            "ws://[::ffff:127.0.1]/",
            "ws://[1::ffff:127.0.0.1]/",
            // Not canonical: the core does not guess what a parser makes of these (the web
            // glue asks the browser's, which makes 127.0.0.1 of the first three).
            "ws://127.1/",
            "ws://0x7f.1/",
            "ws://2130706433/",
            "ws://0177.0.0.1/",
        ] {
            assert!(!is_loopback(url), "{url}");
            assert_eq!(
                check_token_transport(url, false).unwrap_err().code(),
                ErrorCode::InvalidOptions
            );
            assert_eq!(check_token_transport(url, true), Ok(()));
        }
        assert_eq!(check_token_transport("wss://example.com/x", false), Ok(()));
        // Already parsed: the host alone, with or without brackets.
        for host in ["127.0.0.1", "[::1]", "::1", "[::ffff:7f00:1]", "localhost"] {
            assert_eq!(check_token_host(false, host, false), Ok(()), "{host}");
        }
        for host in ["example.com", "[::2]", "", "127.0.0.1.nip.io"] {
            assert!(check_token_host(false, host, false).is_err(), "{host}");
            assert_eq!(check_token_host(true, host, false), Ok(()), "{host}");
            assert_eq!(check_token_host(false, host, true), Ok(()), "{host}");
        }
        assert!(is_secure("WSS://h") && is_secure("https://h") && !is_secure("ws://h"));
    }
}
