//! `metav1.Status` shapes, serialised the way Go's encoding/json writes them (field order of the
//! Go structs, `omitempty` fields left out, `metadata` always `{}`).
//!
//! Sources (see README.md): `kubelet/pkg/cri/streaming/remotecommand/exec.go` (status written by
//! the runtime's streaming server, v1–v4), `apiserver/pkg/util/proxy/streamtranslator.go` (v5,
//! the API server re-wraps what client-go's `errorDecoderV4` made of the runtime's status),
//! `apimachinery/pkg/api/errors` (`NewInternalError`, `NewBadRequest`, `NewNotFound`),
//! containerd `internal/cri/server/streaming.go` (the exit-code error text).

use crate::wire::Subprotocol;
use serde::Serialize;

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize, Default)]
struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<Cause>,
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u32>,
}

#[derive(Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Serialize)]
struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(rename = "apiVersion", skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    metadata: Empty,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

impl Status {
    fn failure(message: String, reason: &'static str, code: u16) -> Status {
        Status {
            kind: Some("Status"),
            api_version: Some("v1"),
            metadata: Empty {},
            status: "Failure",
            message: Some(message),
            reason: Some(reason),
            details: None,
            code: Some(code),
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

// ---- HTTP error bodies (before any upgrade) --------------------------------------------------

/// 401 as the API server answers an unauthenticated request.
pub fn unauthorized() -> Vec<u8> {
    Status::failure("Unauthorized".into(), "Unauthorized", 401).to_vec()
}

/// 403 with the given message.
pub fn forbidden(message: String) -> Vec<u8> {
    Status::failure(message, "Forbidden", 403).to_vec()
}

/// 404 for a pod (or another named resource) that does not exist.
pub fn not_found(resource: &'static str, name: &str) -> Vec<u8> {
    let mut s = Status::failure(format!("{resource} \"{name}\" not found"), "NotFound", 404);
    s.details = Some(Details {
        name: Some(name.to_string()),
        kind: Some(resource),
        ..Details::default()
    });
    s.to_vec()
}

/// 404 for a path the server does not serve.
pub fn no_such_path() -> Vec<u8> {
    let mut s = Status::failure(
        "the server could not find the requested resource".into(),
        "NotFound",
        404,
    );
    s.details = Some(Details::default());
    s.to_vec()
}

/// 400 BadRequest with the given message.
pub fn bad_request(message: String) -> Vec<u8> {
    Status::failure(message, "BadRequest", 400).to_vec()
}

/// 429 as the API server's max-in-flight filter answers (`apiserver/pkg/server/filters/
/// maxinflight.go`, `tooManyRequests`): here when the server has as many connections as it takes.
pub fn too_many_requests() -> Vec<u8> {
    let mut s = Status::failure(
        "Too many requests, please try again later.".into(),
        "TooManyRequests",
        429,
    );
    s.details = Some(Details {
        retry_after_seconds: Some(1),
        ..Details::default()
    });
    s.to_vec()
}

/// 405 for a method the path does not take.
pub fn method_not_allowed() -> Vec<u8> {
    Status::failure(
        "the server does not allow this method on the requested resource".into(),
        "MethodNotAllowed",
        405,
    )
    .to_vec()
}

// ---- the error channel (after the upgrade) ---------------------------------------------------

/// How a session ended, before it is rendered for a subprotocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited 0 (exec), or the attached process ended (attach).
    Success,
    /// The process exited with this code (1–255). `argv` is the exec'd command, as containerd
    /// names it in the message.
    Exit { code: u8, argv: Vec<String> },
    /// The runtime's streaming server reported an error (e.g. the executable does not exist):
    /// the text given to `NewInternalError`.
    Runtime(String),
    /// The API server's stream translator failed before reaching the runtime (v5 only), e.g.
    /// the SPDY upgrade to the kubelet was refused.
    Translator(String),
}

/// What goes on channel 3 for `outcome` on `proto`; `None` when nothing is sent (v1 success).
pub fn error_channel(proto: Subprotocol, outcome: &Outcome) -> Option<Vec<u8>> {
    let status = status_for(proto, outcome);
    if proto.status_is_json() {
        return Some(status.to_vec());
    }
    // v1: nothing on success, the Status's message otherwise (`v1WriteStatusFunc`).
    match status.status {
        "Success" => None,
        _ => Some(status.message.unwrap_or_default().into_bytes()),
    }
}

fn channel_status(status: &'static str) -> Status {
    Status {
        kind: None,
        api_version: None,
        metadata: Empty {},
        status,
        message: None,
        reason: None,
        details: None,
        code: None,
    }
}

fn internal_error(err: String) -> Status {
    let mut s = channel_status("Failure");
    s.message = Some(format!("Internal error occurred: {err}"));
    s.reason = Some("InternalError");
    s.details = Some(Details {
        causes: vec![Cause {
            reason: None,
            message: Some(err),
        }],
        ..Details::default()
    });
    s.code = Some(500);
    s
}

fn status_for(proto: Subprotocol, outcome: &Outcome) -> Status {
    match outcome {
        Outcome::Success => channel_status("Success"),
        Outcome::Exit { code, argv } => {
            let mut s = channel_status("Failure");
            let inner = if proto == Subprotocol::V5 {
                // client-go's errorDecoderV4 turned the runtime's status into this text, and
                // the translator's codeExitToStatusError wraps it again.
                format!("command terminated with exit code {code}")
            } else {
                // containerd: fmt.Errorf("error executing command %v, exit code %d", cmd, code)
                format!(
                    "error executing command [{}], exit code {code}",
                    argv.join(" ")
                )
            };
            s.message = Some(format!(
                "command terminated with non-zero exit code: {inner}"
            ));
            s.reason = Some("NonZeroExitCode");
            s.details = Some(Details {
                causes: vec![Cause {
                    reason: Some("ExitCode"),
                    message: Some(code.to_string()),
                }],
                ..Details::default()
            });
            s
        }
        Outcome::Runtime(err) => {
            if proto == Subprotocol::V5 {
                // errorDecoderV4 returns the runtime status's message as a plain error, which
                // the translator hands to NewInternalError once more.
                internal_error(format!("Internal error occurred: {err}"))
            } else {
                internal_error(err.clone())
            }
        }
        Outcome::Translator(err) => internal_error(err.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Option<Vec<u8>>) -> String {
        String::from_utf8(v.unwrap()).unwrap()
    }

    #[test]
    fn success_shapes() {
        assert_eq!(
            s(error_channel(Subprotocol::V5, &Outcome::Success)),
            r#"{"metadata":{},"status":"Success"}"#
        );
        assert_eq!(error_channel(Subprotocol::V1, &Outcome::Success), None);
    }

    #[test]
    fn exit_shapes() {
        let o = Outcome::Exit {
            code: 42,
            argv: vec!["sh".into(), "-c".into(), "exit 42".into()],
        };
        assert_eq!(
            s(error_channel(Subprotocol::V4, &o)),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 42], exit code 42","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}"#
        );
        assert_eq!(
            s(error_channel(Subprotocol::V5, &o)),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code 42","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}"#
        );
        assert_eq!(
            s(error_channel(Subprotocol::V1, &o)),
            "command terminated with non-zero exit code: error executing command [sh -c exit 42], exit code 42"
        );
    }

    #[test]
    fn internal_shapes() {
        let o = Outcome::Runtime("boom".into());
        assert_eq!(
            s(error_channel(Subprotocol::V4, &o)),
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","details":{"causes":[{"message":"boom"}]},"code":500}"#
        );
        assert_eq!(
            s(error_channel(Subprotocol::V5, &o)),
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: Internal error occurred: boom","reason":"InternalError","details":{"causes":[{"message":"Internal error occurred: boom"}]},"code":500}"#
        );
    }

    #[test]
    fn http_bodies() {
        assert_eq!(
            String::from_utf8(unauthorized()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
        assert_eq!(
            String::from_utf8(not_found("pods", "nope")).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}"#
        );
        assert_eq!(
            String::from_utf8(too_many_requests()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429}"#
        );
    }
}
