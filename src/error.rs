//! Typed errors: a stable code, a short message, and an operator's troubleshooting hint.
//!
//! The codes are one table (`error_codes!` below): each row names a code, who is at fault,
//! what it means and the operator's hint. The Rust enum [`ErrorCode`], [`ErrorCode::ALL`],
//! `as_str`, `fault`, `hint` and the TypeScript union of the JavaScript package's `.d.ts`
//! ([`ErrorCode::TS_UNION`]) are all generated from it, so no list of codes is kept by hand.
//! `tests/error_codes.rs` checks that the other languages name exactly these codes.

use core::fmt;

use crate::status::ExitStatus;

pub mod metav1;
pub use metav1::{parse_json, parse_text};

/// Who is at fault for an error: decides whether retrying or fixing the call helps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The caller misused the API or gave bad options; fix the call.
    Caller,
    /// The server (or something speaking for it) refused or broke the protocol.
    Server,
    /// The network: the connection failed, was lost, or stalled.
    Network,
    /// This package itself: a bug.
    Sdk,
}

/// The table of error codes: `/// what it means` (the doc of the Rust variant and of the
/// TypeScript union member), `Name: Fault,` and the hint, for each code in order.
macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $name:ident: $fault:ident, $hint:literal; )+) => {
        /// What went wrong, as a stable name (see [`ErrorCode::as_str`]) that the JavaScript
        /// API exposes as `error.code`.
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $name, )+
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            pub const ALL: [ErrorCode; [$(ErrorCode::$name),+].len()] = [$(ErrorCode::$name),+];

            /// The TypeScript union of every code's name, each with its doc comment:
            /// `| "InvalidOptions" | "ConnectFailed" | …` (the `.d.ts`'s `ExecErrorCode`).
            pub const TS_UNION: &'static str = concat!(
                $( "\n  /**", $($doc,)+ " */\n  | \"", stringify!($name), "\"", )+
            );

            /// The declaration of that union in the JavaScript package's `.d.ts`
            /// (`export type ExecErrorCode = …;`), for its `typescript_custom_section`.
            pub const TS_TYPE: &'static str = concat!(
                "/** The `code` of every error this package throws or rejects with. */\n",
                "export type ExecErrorCode =",
                $( "\n  /**", $($doc,)+ " */\n  | \"", stringify!($name), "\"", )+
                ";\n",
            );

            /// The stable name of the code, e.g. `"ConnectionLost"` (the JavaScript
            /// `error.code`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( ErrorCode::$name => stringify!($name), )+
                }
            }

            /// Who is at fault.
            pub const fn fault(self) -> Fault {
                match self {
                    $( ErrorCode::$name => Fault::$fault, )+
                }
            }

            /// A short troubleshooting hint for an operator: what to check next.
            pub const fn hint(self) -> &'static str {
                match self {
                    $( ErrorCode::$name => $hint, )+
                }
            }
        }
    };
}

error_codes! {
    /// The caller's options are invalid (names, command, streams, sizes, resize without a TTY).
    InvalidOptions: Caller,
        "check the options: namespace, pod and container must be lower-case Kubernetes \
         names, exec needs a command, at least one of stdin/stdout/stderr, resize needs tty";
    /// The connection could not be made (handshake failed; other HTTP statuses).
    ConnectFailed: Network,
        "the WebSocket handshake failed and a browser hides why (close 1006): run a \
         preflight with the same credentials; check the server URL, that every proxy in \
         the way passes WebSocket upgrades, and that the browser trusts the cluster's \
         certificate (an untrusted certificate fails silently); a multi-container pod \
         needs a container name";
    /// The server refused the credentials (HTTP 401).
    Unauthorized: Server,
        "the server refused the credentials: check that the token is valid and not \
         expired (it is sent as the base64url.bearer.authorization.k8s.io subprotocol)";
    /// The user may not exec/attach here (HTTP 403, RBAC).
    Forbidden: Server,
        "RBAC: the user needs get and create on pods/exec (pods/attach for attach) in \
         the namespace; kubectl proxy rejects exec and attach unless --reject-paths is \
         relaxed";
    /// The namespace or pod does not exist (HTTP 404), or the pod has no such container.
    NotFound: Server,
        "check the namespace, the pod name and the container name; the pod may have been \
         deleted or replaced (getPod() lists its containers)";
    /// The server chose none of the offered subprotocols.
    ProtocolNotSupported: Server,
        "the server chose none of the offered subprotocols: v5.channel.k8s.io needs \
         Kubernetes 1.30 or later, so offer v4.channel.k8s.io too";
    /// The server sent bytes that break the protocol.
    ProtocolError: Server,
        "the server sent bytes that break the channel.k8s.io protocol: a proxy in the way \
         may rewrite WebSocket messages, or the endpoint is not a Kubernetes API server";
    /// The connection ended without an exit status.
    ConnectionLost: Network,
        "the connection ended without an exit status, so output may be truncated: the \
         API server must reach the kubelet, the container must be Running, and a load \
         balancer with a short idle timeout needs the keepalive";
    /// The caller ended the session.
    Aborted: Caller,
        "the session was ended by the caller";
    /// The negotiated protocol cannot close stdin alone (only v5 can).
    HalfCloseUnsupported: Caller,
        "only v5.channel.k8s.io (Kubernetes 1.30+) can close stdin alone; on older \
         protocols the only way to end stdin is closing the socket, which loses the rest \
         of the output and the exit status";
    /// The call needs an open session or stream (not yet open, ended, or stdin closed).
    NotOpen: Caller,
        "the session or stream is not open for this call: wait for the session to open, \
         and do not write after closing stdin or after the session ended";
    /// A bounded buffer would overflow (what waits for the socket to open, or the status).
    BufferFull: Caller,
        "too much is waiting: write less before the socket opens, or wait for it";
    /// The socket did not open, or the server sent nothing after it opened, within the
    /// configured time.
    Timeout: Network,
        "the server did not answer in time (the WebSocket did not open, or nothing came \
         after it opened): check the server URL and port, a firewall or proxy that holds \
         the upgrade, and that the API server reaches the kubelet";
    /// None of the shells tried exists in the container (`openShell`); the error lists them.
    NoShell: Server,
        "the container has none of the shells tried: distroless and scratch images ship \
         no shell; run a command the image has, or debug the pod with an ephemeral \
         container that brings one (kubectl debug -it POD --image=busybox \
         --target=CONTAINER)";
    /// The pod has several containers and none was named; the error lists them.
    ContainerRequired: Caller,
        "the pod has several containers: name one in the `container` option; getPod() \
         lists them, and its defaultContainer is the one kubectl would pick";
    /// File transfer: the container has no `tar` on its PATH.
    NoTar: Server,
        "file transfer runs tar in the container (and sh and head on clusters without \
         v5.channel.k8s.io), which distroless and scratch images lack: add tar to the \
         image, or attach an ephemeral debug container that has it \
         (kubectl debug -it POD --image=busybox --target=CONTAINER)";
    /// File transfer: the remote `tar` failed; the message is what it printed.
    TarFailed: Server,
        "the container's tar failed with the message shown: check that the directory \
         exists and is writable by the container's user, and that there is room";
    /// File transfer: the archive holds an entry that would land outside the tree (absolute
    /// path, `..`, a link out, a device file); the message names it.
    UnsafeEntry: Server,
        "the container sent an archive entry that would land outside the chosen tree \
         (an absolute path, .., a link that leads out, or a device file): it was refused \
         and nothing of it was passed on; treat the container as untrusted";
    /// File transfer: the bytes from the container are not a tar archive this reader takes.
    BadArchive: Server,
        "the bytes the container's tar sent are not a well-formed tar archive (truncated, \
         bad checksum, or an entry type this reader does not take, such as sparse files)";
    /// A bug in this package: it panicked (the panic is logged in the console) and every
    /// session ended. Only the JavaScript glue raises it.
    Internal: Sdk,
        "a bug in kube-exec-wasm (the panic is logged in the console); reload the page to use it again";
}

impl ErrorCode {
    /// The code with this stable name, if any.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the core: a [`ErrorCode`], a short lower-case message, and where there was one,
/// the `Status` the server sent and the HTTP status of a refused request.
///
/// Messages never contain a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
    /// Boxed: `Result<_, Error>` stays small (clippy's `result_large_err`).
    status: Option<Box<ExitStatus>>,
    http_status: Option<u16>,
    names: Vec<String>,
    /// A hint more specific than the code's, where the cause is known.
    hint: Option<&'static str>,
}

impl Error {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            status: None,
            http_status: None,
            names: Vec::new(),
            hint: None,
        }
    }

    /// The same error, carrying the `Status` the server sent.
    pub fn with_status(mut self, status: ExitStatus) -> Error {
        self.status = Some(Box::new(status));
        self
    }

    /// The same error with a hint more specific than its code's (a fixed text: never
    /// anything the caller or the server wrote).
    pub fn with_hint(mut self, hint: &'static str) -> Error {
        self.hint = Some(hint);
        self
    }

    /// The same error, carrying the HTTP status of the refused request.
    pub fn with_http_status(mut self, http_status: u16) -> Error {
        self.http_status = Some(http_status);
        self
    }

    /// The same error, carrying the names it is about: the containers of a pod
    /// ([`ErrorCode::ContainerRequired`], [`ErrorCode::NotFound`] for an unknown container) or
    /// the shells tried ([`ErrorCode::NoShell`]).
    pub fn with_names(mut self, names: Vec<String>) -> Error {
        self.names = names;
        self
    }

    /// Classifies a refused HTTP request (e.g. a preflight `GET` of the pod, or a handshake
    /// answered without an upgrade): 401 → `Unauthorized`, 403 → `Forbidden`,
    /// 404 → `NotFound`, anything else → `ConnectFailed`. A `metav1.Status` JSON body gives
    /// the message and is kept as [`Error::status`]; another body gives a short excerpt.
    pub fn from_http_status(http_status: u16, body: &[u8]) -> Error {
        let code = match http_status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            _ => ErrorCode::ConnectFailed,
        };
        let parsed = metav1::parse_json(body).ok();
        let detail = match &parsed {
            Some(s) => s.message().unwrap_or_default().to_string(),
            None => excerpt(body),
        };
        let message = if detail.is_empty() {
            format!("http status {http_status}")
        } else {
            format!("http status {http_status}: {detail}")
        };
        let mut error = Error::new(code, message).with_http_status(http_status);
        error.status = parsed.map(Box::new);
        error
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The code's stable name (`"ConnectionLost"`).
    pub fn as_str(&self) -> &'static str {
        self.code.as_str()
    }

    /// The short message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The troubleshooting hint: the code's, or a more specific one ([`Error::with_hint`]).
    pub fn hint(&self) -> &'static str {
        self.hint.unwrap_or(self.code.hint())
    }

    /// Who is at fault.
    pub fn fault(&self) -> Fault {
        self.code.fault()
    }

    /// The `Status` the server sent, where there was one.
    pub fn status(&self) -> Option<&ExitStatus> {
        self.status.as_deref()
    }

    /// The HTTP status of a refused request, where there was one.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The names the error is about (see [`Error::with_names`]); empty for most errors.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

/// At most 200 characters of a body, as text, on one line.
fn excerpt(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.trim().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn names_round_trip_and_hints_exist() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
            assert_eq!(code.to_string(), code.as_str());
            assert!(code.hint().len() > 20, "{code} has no real hint");
        }
        assert_eq!(ErrorCode::from_name("nope"), None);
    }

    macro_rules! http_cases {
        ($($name:ident: $status:expr, $body:expr => $code:ident, $msg:expr;)*) => {$(
            #[test]
            fn $name() {
                let e = Error::from_http_status($status, $body);
                assert_eq!(e.code(), ErrorCode::$code);
                assert_eq!(e.http_status(), Some($status));
                assert_eq!(e.message(), $msg);
            }
        )*};
    }

    http_cases! {
        http_401_status_json: 401,
            br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
            => Unauthorized, "http status 401: Unauthorized";
        http_403_plain_text: 403, b"Forbidden\n" => Forbidden, "http status 403: Forbidden";
        http_403_empty: 403, b"" => Forbidden, "http status 403";
        http_404: 404,
            br#"{"metadata":{},"status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404}"#
            => NotFound, "http status 404: pods \"x\" not found";
        http_400: 400, b"Upgrade request required" => ConnectFailed, "http status 400: Upgrade request required";
        http_500: 500, b"\x00\x01oops\n" => ConnectFailed, "http status 500: oops";
    }

    #[test]
    fn a_specific_hint_replaces_the_codes() {
        let e = Error::new(ErrorCode::ConnectFailed, "x");
        assert_eq!(e.hint(), ErrorCode::ConnectFailed.hint());
        let e = e.with_hint("the server redirected");
        assert_eq!(e.hint(), "the server redirected");
        assert_eq!(e.code(), ErrorCode::ConnectFailed);
    }

    #[test]
    fn http_status_keeps_the_status() {
        let e = Error::from_http_status(
            403,
            br#"{"metadata":{},"status":"Failure","message":"forbidden: cannot get pods/exec","reason":"Forbidden","code":403}"#,
        );
        let s = e.status().expect("status kept");
        assert_eq!(s.reason(), Some("Forbidden"));
        assert_eq!(s.http_code(), Some(403));
        assert_eq!(e.fault(), Fault::Server);
        assert_eq!(
            e.to_string(),
            "Forbidden: http status 403: forbidden: cannot get pods/exec"
        );
    }
}
