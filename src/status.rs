//! The outcome on the error channel (3): `metav1.Status` JSON (v4, v5) or plain text (v1).

use crate::error::{Error, ErrorCode};
use crate::json::{self, Value};

/// How a session ended, as the server reported it on the error channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The process exited with code 0 (or, for attach, the session ended cleanly).
    Success,
    /// The process exited with a non-zero code (`reason: NonZeroExitCode`).
    NonZeroExit {
        /// The exit code, from the cause whose `reason` is `ExitCode`.
        code: u8,
        /// The server's message (`command terminated with non-zero exit code: ...`).
        message: String,
    },
    /// Any other failure (executable not found, container gone, v1 text errors...).
    Failure {
        /// The `Status.reason` (e.g. `InternalError`); empty when the server gave none
        /// (always for the v1 text status).
        reason: String,
        /// The server's message.
        message: String,
        /// The `Status.code` (an HTTP status, e.g. 500), if given.
        code: Option<u16>,
    },
}

impl ExitStatus {
    /// The process succeeded.
    pub fn success(&self) -> bool {
        matches!(self, ExitStatus::Success)
    }

    /// The exit code: 0 on success, the code of a non-zero exit, `None` for other failures.
    pub fn exit_code(&self) -> Option<u8> {
        match self {
            ExitStatus::Success => Some(0),
            ExitStatus::NonZeroExit { code, .. } => Some(*code),
            ExitStatus::Failure { .. } => None,
        }
    }

    /// The failure's reason (`"NonZeroExitCode"`, `"InternalError"`...); `None` on success
    /// and when the server gave none.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ExitStatus::Success => None,
            ExitStatus::NonZeroExit { .. } => Some("NonZeroExitCode"),
            ExitStatus::Failure { reason, .. } => (!reason.is_empty()).then_some(reason.as_str()),
        }
    }

    /// The server's message; `None` on success or when empty.
    pub fn message(&self) -> Option<&str> {
        match self {
            ExitStatus::Success => None,
            ExitStatus::NonZeroExit { message, .. } | ExitStatus::Failure { message, .. } => {
                (!message.is_empty()).then_some(message.as_str())
            }
        }
    }

    /// The `Status.code` of a failure, if the server gave one.
    pub fn http_code(&self) -> Option<u16> {
        match self {
            ExitStatus::Failure { code, .. } => *code,
            _ => None,
        }
    }

    /// The process could not start because its executable does not exist: a failure without
    /// an exit code whose message is the container runtime's start error. The texts are the
    /// OCI runtimes' (runc: `exec: "bash": executable file not found in $PATH`, or
    /// `stat /bin/bash: no such file or directory` for a path; crun: ``executable file `bash`
    /// not found in $PATH``), which containerd and CRI-O pass on inside the kubelet's
    /// `InternalError` (v4, v5) or as the plain-text status (v1).
    pub fn executable_not_found(&self) -> bool {
        let ExitStatus::Failure { message, .. } = self else {
            return false;
        };
        [
            "executable file not found",
            "not found in $PATH",
            "no such file or directory",
        ]
        .iter()
        .any(|needle| message.contains(needle))
    }
}

fn protocol_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ProtocolError, message)
}

/// Parses the v4/v5 error channel: the JSON of a `metav1.Status`.
///
/// As client-go does: `Success` is success; `Failure` with reason `NonZeroExitCode` takes
/// the exit code from the cause whose reason is `ExitCode` (decimal 0–255; missing or
/// invalid is a protocol error); any other `Failure` keeps reason, message and code.
/// Garbage, truncated JSON, or another `status` value is [`ErrorCode::ProtocolError`].
pub fn parse_json(bytes: &[u8]) -> Result<ExitStatus, Error> {
    let invalid =
        |why: &str| protocol_error(format!("invalid status JSON on the error channel: {why}"));
    let raw = json::parse(bytes).map_err(invalid)?;
    if !matches!(raw, Value::Object(_)) {
        return Err(invalid("not an object"));
    }
    let status = text(&raw, "status").map_err(invalid)?;
    let reason = text(&raw, "reason").map_err(invalid)?;
    let message = text(&raw, "message").map_err(invalid)?;
    match status.as_str() {
        "Success" => Ok(ExitStatus::Success),
        "Failure" if reason == "NonZeroExitCode" => {
            let mut exit_code = None;
            for cause in causes(&raw).map_err(invalid)? {
                if text(cause, "reason").map_err(invalid)? == "ExitCode" {
                    exit_code = Some(text(cause, "message").map_err(invalid)?);
                    break;
                }
            }
            let exit_code = exit_code
                .ok_or_else(|| protocol_error("non-zero exit status without an ExitCode cause"))?;
            let code = parse_exit_code(&exit_code).ok_or_else(|| {
                protocol_error(format!("invalid exit code \"{}\"", truncate(&exit_code)))
            })?;
            Ok(ExitStatus::NonZeroExit { code, message })
        }
        "Failure" => {
            let code = match raw.get_folded("code") {
                None | Some(Value::Null) => None,
                // `Status.Code` is an int32 in Go: anything else fails to decode there too.
                Some(Value::Number(Some(n))) if i32::try_from(*n).is_ok() => u16::try_from(*n).ok(),
                Some(_) => return Err(invalid("code must be a 32-bit integer")),
            };
            Ok(ExitStatus::Failure {
                reason,
                message,
                code,
            })
        }
        other => Err(protocol_error(format!(
            "unknown status \"{}\" on the error channel",
            truncate(other)
        ))),
    }
}

/// A string field; absent or `null` is empty (as Go decodes it); another type is an error.
/// Keys match in any ASCII case, as Go's decoder matches them.
fn text(v: &Value, key: &str) -> Result<String, &'static str> {
    match v.get_folded(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err("a field that must be a string is not"),
    }
}

/// `details.causes`, each an object or `null` (an empty cause, as Go decodes it); absent or
/// `null` is none.
fn causes(v: &Value) -> Result<&[Value], &'static str> {
    let causes = match v.get_folded("details") {
        None | Some(Value::Null) => return Ok(&[]),
        Some(d @ Value::Object(_)) => d.get_folded("causes"),
        Some(_) => return Err("details must be an object"),
    };
    match causes {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items))
            if items
                .iter()
                .all(|c| matches!(c, Value::Object(_) | Value::Null)) =>
        {
            Ok(items)
        }
        Some(_) => Err("details.causes must be an array of objects"),
    }
}

/// Parses the v1 error channel: nothing is success, any text is the failure's message.
pub fn parse_text(bytes: &[u8]) -> Result<ExitStatus, Error> {
    if bytes.is_empty() {
        return Ok(ExitStatus::Success);
    }
    Ok(ExitStatus::Failure {
        reason: String::new(),
        message: String::from_utf8_lossy(bytes).into_owned(),
        code: None,
    })
}

/// `strconv.ParseUint(s, 10, 8)`: ASCII digits only (no sign, no spaces), value 0–255.
fn parse_exit_code(s: &str) -> Option<u8> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 3 {
        return None;
    }
    digits
        .parse::<u16>()
        .map_or(Some(0), |v| u8::try_from(v).ok())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn nonzero(code: u8, message: &str) -> ExitStatus {
        ExitStatus::NonZeroExit {
            code,
            message: message.into(),
        }
    }

    fn failure(reason: &str, message: &str, code: Option<u16>) -> ExitStatus {
        ExitStatus::Failure {
            reason: reason.into(),
            message: message.into(),
            code,
        }
    }

    /// `name: json => Ok(status) | Err`
    macro_rules! json {
        ($($name:ident: $json:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse_json($json.as_bytes()).map_err(|e| e.code());
                assert_eq!(got, $want);
            }
        )*};
    }

    const EXIT_42: &str = r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 42], exit code 42","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}"#;

    json! {
        success: r#"{"metadata":{},"status":"Success"}"# => Ok(ExitStatus::Success);
        success_with_kind: r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}"# => Ok(ExitStatus::Success);
        success_trailing_newline: "{\"metadata\":{},\"status\":\"Success\"}\n" => Ok(ExitStatus::Success);
        exit_42: EXIT_42 => Ok(nonzero(42, "command terminated with non-zero exit code: error executing command [sh -c exit 42], exit code 42"));
        exit_255: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"255"}]}}"# => Ok(nonzero(255, ""));
        exit_1_leading_zeros: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"001"}]}}"# => Ok(nonzero(1, ""));
        exit_code_found_by_reason_not_position: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"Other","message":"9"},{"message":"8"},{"reason":"ExitCode","message":"7"}]}}"# => Ok(nonzero(7, ""));
        exit_256_invalid: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"256"}]}}"# => Err(ErrorCode::ProtocolError);
        exit_negative_invalid: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"-1"}]}}"# => Err(ErrorCode::ProtocolError);
        exit_plus_invalid: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"+3"}]}}"# => Err(ErrorCode::ProtocolError);
        exit_empty_invalid: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":""}]}}"# => Err(ErrorCode::ProtocolError);
        exit_no_cause: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[]}}"# => Err(ErrorCode::ProtocolError);
        exit_no_details: r#"{"status":"Failure","reason":"NonZeroExitCode"}"# => Err(ErrorCode::ProtocolError);
        internal_error: r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: exec: \"nope\": executable file not found in $PATH","reason":"InternalError","details":{"causes":[{"message":"error executing command in container"}]},"code":500}"#
            => Ok(failure("InternalError", "Internal error occurred: error executing command in container: exec: \"nope\": executable file not found in $PATH", Some(500)));
        failure_without_reason: r#"{"status":"Failure","message":"boom"}"# => Ok(failure("", "boom", None));
        failure_code_out_of_range: r#"{"status":"Failure","reason":"X","code":70000}"# => Ok(failure("X", "", None));
        failure_code_negative: r#"{"status":"Failure","reason":"X","code":-1}"# => Ok(failure("X", "", None));
        failure_code_over_int32: r#"{"status":"Failure","reason":"X","code":2147483648}"# => Err(ErrorCode::ProtocolError);
        failure_code_float: r#"{"status":"Failure","reason":"X","code":500.5}"# => Err(ErrorCode::ProtocolError);
        failure_code_string: r#"{"status":"Failure","reason":"X","code":"500"}"# => Err(ErrorCode::ProtocolError);
        nulls_are_empty: r#"{"status":"Failure","reason":null,"message":null,"details":null,"code":null}"# => Ok(failure("", "", None));
        escaped_message: r#"{"status":"Failure","message":"exec: \"nope\" \u00e9","reason":"InternalError"}"# => Ok(failure("InternalError", "exec: \"nope\" é", None));
        status_not_string: r#"{"status":["Success"]}"# => Err(ErrorCode::ProtocolError);
        causes_not_array: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":{"reason":"ExitCode","message":"1"}}}"# => Err(ErrorCode::ProtocolError);
        cause_message_not_string: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":1}]}}"# => Err(ErrorCode::ProtocolError);
        deep: &("[".repeat(100_000)) => Err(ErrorCode::ProtocolError);
        unknown_status: r#"{"status":"Maybe"}"# => Err(ErrorCode::ProtocolError);
        missing_status: r#"{"metadata":{}}"# => Err(ErrorCode::ProtocolError);
        truncated: r#"{"status":"# => Err(ErrorCode::ProtocolError);
        garbage: "\x00\x01not json" => Err(ErrorCode::ProtocolError);
        empty: "" => Err(ErrorCode::ProtocolError);
        two_statuses: r#"{"status":"Success"}{"status":"Success"}"# => Err(ErrorCode::ProtocolError);
        wrong_type: r#"{"status":1}"# => Err(ErrorCode::ProtocolError);
        array: "[]" => Err(ErrorCode::ProtocolError);
        // Valid but unusual JSON, decoded as Go's encoding/json (which client-go uses) does.
        whitespace_everywhere: " \r\n\t{ \"metadata\" : { } ,\n \"status\" :\t\"Success\" }\r\n" => Ok(ExitStatus::Success);
        escaped_key: r#"{"st\u0061tus":"Success"}"# => Ok(ExitStatus::Success);
        extra_fields: r#"{"kind":"Status","apiVersion":"v1","metadata":{"resourceVersion":""},"status":"Failure","reason":"NonZeroExitCode","details":{"name":"x","kind":"pods","retryAfterSeconds":0,"causes":[{"reason":"ExitCode","message":"3","field":""}]},"code":500,"x":[1.5e3,true,null]}"# => Ok(nonzero(3, ""));
        keys_in_any_case: r#"{"Status":"Failure","REASON":"NonZeroExitCode","Message":"m","Details":{"Causes":[{"Reason":"ExitCode","MESSAGE":"5"}]}}"# => Ok(nonzero(5, "m"));
        last_key_in_any_case_wins: r#"{"status":"Success","Status":"Failure","reason":"InternalError","Code":503}"# => Ok(failure("InternalError", "", Some(503)));
        null_cause_is_an_empty_cause: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[null,{"reason":"ExitCode","message":"4"}]}}"# => Ok(nonzero(4, ""));
        exit_code_first_exit_cause_wins: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"},{"reason":"ExitCode","message":"9"}]}}"# => Ok(nonzero(2, ""));
        exit_code_case_sensitive_value: r#"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"exitcode","message":"2"}]}}"# => Err(ErrorCode::ProtocolError);
        status_value_case_sensitive: r#"{"status":"success"}"# => Err(ErrorCode::ProtocolError);
        code_as_number_with_exponent: r#"{"status":"Failure","reason":"X","code":5e2}"# => Err(ErrorCode::ProtocolError);
        code_minus_zero: r#"{"status":"Failure","reason":"X","code":-0}"# => Ok(failure("X", "", Some(0)));
    }

    #[test]
    fn json_not_utf8() {
        let e = parse_json(b"{\"status\":\"Success\",\"message\":\"\xff\"}").unwrap_err();
        assert_eq!(e.code(), ErrorCode::ProtocolError);
        assert!(e.message().contains("UTF-8"), "{e}");
    }

    #[test]
    fn v1_text() {
        assert_eq!(parse_text(b""), Ok(ExitStatus::Success));
        let s = parse_text(b"error executing remote command: boom").unwrap();
        assert_eq!(s, failure("", "error executing remote command: boom", None));
        assert_eq!(s.reason(), None);
        assert_eq!(s.exit_code(), None);
        assert_eq!(s.message(), Some("error executing remote command: boom"));
        // Not UTF-8: kept, lossily.
        assert_eq!(parse_text(b"\xffx").unwrap().message(), Some("\u{fffd}x"));
    }

    #[test]
    fn accessors() {
        assert!(ExitStatus::Success.success());
        assert_eq!(ExitStatus::Success.exit_code(), Some(0));
        assert_eq!(ExitStatus::Success.reason(), None);
        let n = nonzero(42, "m");
        assert!(!n.success());
        assert_eq!(n.exit_code(), Some(42));
        assert_eq!(n.reason(), Some("NonZeroExitCode"));
        assert_eq!(n.message(), Some("m"));
        let f = failure("InternalError", "x", Some(500));
        assert_eq!(f.http_code(), Some(500));
        assert_eq!(f.exit_code(), None);
    }

    #[test]
    fn executable_not_found_from_the_runtimes_texts() {
        let not_found = [
            // containerd + runc, v4 (the devserver sends the same text)
            r#"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "0f": OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown"#,
            // the same through the v5 translator: wrapped once more
            r#"Internal error occurred: Internal error occurred: error executing command in container: exec: "bash": executable file not found in $PATH: unknown"#,
            // a path that does not exist
            r#"Internal error occurred: error executing command in container: OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/bash": stat /bin/bash: no such file or directory: unknown"#,
            // CRI-O + crun
            "Internal error occurred: error executing command in container: command error: crun: executable file `bash` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found",
        ];
        for message in not_found {
            assert!(
                failure("InternalError", message, Some(500)).executable_not_found(),
                "{message}"
            );
            // v1: the same text, no reason
            assert!(
                failure("", message, None).executable_not_found(),
                "{message}"
            );
        }
        for other in [
            failure("InternalError", "Internal error occurred: unable to upgrade connection: container not found (\"main\")", Some(500)),
            failure("InternalError", r#"exec: "bash": permission denied"#, Some(500)),
            // A shell that started and could not find a command exits 127: that is the
            // shell's business, not a missing shell.
            nonzero(127, "command terminated with non-zero exit code: bash: nosuch: command not found"),
            ExitStatus::Success,
        ] {
            assert!(!other.executable_not_found(), "{other:?}");
        }
    }

    #[test]
    fn exit_codes_like_parse_uint() {
        for (s, want) in [
            ("0", Some(0)),
            ("9", Some(9)),
            ("255", Some(255)),
            ("0000255", Some(255)),
            ("256", None),
            ("1000", None),
            (" 1", None),
            ("1 ", None),
            ("0x1", None),
            ("١", None),
        ] {
            assert_eq!(parse_exit_code(s), want, "{s:?}");
        }
    }
}
