//! Reading the outcome on the error channel (3): the JSON of a `metav1.Status` (v4, v5) or
//! plain text (v1), into an [`ExitStatus`] or a `ProtocolError`. The body of a refused HTTP
//! request is a `metav1.Status` too ([`Error::from_http_status`]).

use crate::error::{Error, ErrorCode};
use crate::json::{self, Value};
use crate::status::ExitStatus;

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
    use crate::status::tests::{failure, nonzero};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

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
