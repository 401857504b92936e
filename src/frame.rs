//! Frames: one WebSocket message is `[channel][payload]`, binary or base64 text.
//!
//! Decoding a binary frame borrows its payload from the message; encoding appends to a
//! buffer of the caller's.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::channel::{Channel, CLOSE_SIGNAL};
use crate::error::{Error, ErrorCode};

/// The largest message the server reads (32 MiB): a longer one ends its read loop and the
/// connection. The core treats a longer incoming message as a protocol error.
pub const MAX_FRAME_LEN: usize = 32 * 1024 * 1024;

/// The longest message a client should send: 65 536 bytes, channel byte included.
///
/// Chromium sends a longer message as several WebSocket frames (a first frame and
/// continuations) whenever its renderer-to-network pipe does not hold the whole message at
/// once (Chromium `services/network/websocket.cc`, `kSmallMessageThreshhold = 1 << 16`:
/// only messages up to that length are reassembled before sending). The Kubernetes servers
/// read every frame as a message of its own (`golang.org/x/net/websocket` `Codec.Receive`,
/// used by `wsstream/conn.go`), so a continuation's first byte is taken for a channel: its
/// bytes are lost, and a 255 there drops a v5 connection. Firefox does not split messages.
pub const MAX_CLIENT_MESSAGE: usize = 1 << 16;

/// The most payload bytes a base64 text frame can carry within [`MAX_CLIENT_MESSAGE`]: the
/// channel digit plus `4 * ceil(n / 3)` characters.
pub const MAX_CLIENT_BASE64_PAYLOAD: usize = (MAX_CLIENT_MESSAGE - 1) / 4 * 3;

/// A decoded binary frame, borrowing from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Data on a channel; an empty payload is a readiness frame (never a signal otherwise).
    Data {
        /// The channel.
        channel: Channel,
        /// The payload, a slice of the message (no copy).
        payload: &'a [u8],
    },
    /// The v5 CLOSE signal `[0xFF, channel]`: no more data on this channel.
    Close {
        /// The channel being closed.
        channel: Channel,
    },
}

fn protocol_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ProtocolError, message)
}

fn check_len(len: usize) -> Result<(), Error> {
    if len > MAX_FRAME_LEN {
        return Err(protocol_error(format!(
            "message of {len} bytes exceeds the 32 MiB frame limit"
        )));
    }
    Ok(())
}

/// Decodes a binary message. An empty message is `Ok(None)` (the server skips those too).
///
/// Unknown channels, a malformed CLOSE signal (not exactly `[0xFF, channel]`) and messages
/// over [`MAX_FRAME_LEN`] are [`ErrorCode::ProtocolError`].
pub fn decode_binary(message: &[u8]) -> Result<Option<Frame<'_>>, Error> {
    check_len(message.len())?;
    let Some((&first, payload)) = message.split_first() else {
        return Ok(None);
    };
    if first == CLOSE_SIGNAL {
        return match payload {
            [ch] => Ok(Some(Frame::Close {
                channel: Channel::try_from(*ch)?,
            })),
            _ => Err(protocol_error(format!(
                "close signal of {} bytes (must be 2)",
                message.len()
            ))),
        };
    }
    Ok(Some(Frame::Data {
        channel: Channel::try_from(first)?,
        payload,
    }))
}

/// Decodes a base64 text message (`'1'` + standard padded base64). An empty message is
/// `Ok(None)`. An unknown channel digit, bad base64 (wrong alphabet, missing padding) and
/// messages over [`MAX_FRAME_LEN`] are [`ErrorCode::ProtocolError`].
pub fn decode_base64(message: &str) -> Result<Option<(Channel, Vec<u8>)>, Error> {
    let mut payload = Vec::new();
    Ok(decode_base64_into(message, &mut payload)?.map(|ch| (ch, payload)))
}

/// Like [`decode_base64`], appending the payload to `out` (which is left unchanged on error).
pub fn decode_base64_into(message: &str, out: &mut Vec<u8>) -> Result<Option<Channel>, Error> {
    check_len(message.len())?;
    let Some(&first) = message.as_bytes().first() else {
        return Ok(None);
    };
    let channel = Channel::from_digit(first).ok_or_else(|| {
        protocol_error(format!(
            "unknown channel in base64 frame (first byte {first:#04x})"
        ))
    })?;
    let start = out.len();
    if let Err(e) = STANDARD.decode_vec(&message.as_bytes()[1..], out) {
        out.truncate(start);
        return Err(protocol_error(format!(
            "bad base64 on channel {}: {e}",
            channel.name()
        )));
    }
    Ok(Some(channel))
}

/// Appends the binary frame `[channel][payload]` to `out`.
pub fn encode_binary(channel: Channel, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(1 + payload.len());
    out.push(channel.byte());
    out.extend_from_slice(payload);
}

/// Appends the base64 frame (channel digit + standard padded base64 of `payload`) to `out`.
pub fn encode_base64(channel: Channel, payload: &[u8], out: &mut String) {
    out.reserve(1 + payload.len().div_ceil(3) * 4);
    out.push(char::from(channel.digit()));
    STANDARD.encode_string(payload, out);
}

/// Appends the v5 CLOSE signal `[0xFF, channel]` to `out`.
pub fn encode_close(channel: Channel, out: &mut Vec<u8>) {
    out.extend_from_slice(&[CLOSE_SIGNAL, channel.byte()]);
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// `name: message => data(channel, payload) | none() | close(channel) | err()`
    macro_rules! binary {
        ($($name:ident: $msg:expr => $kind:ident $args:tt;)*) => {$(
            #[test]
            fn $name() {
                let msg: &[u8] = $msg;
                let got = decode_binary(msg);
                binary!(@check got, msg, $kind $args);
            }
        )*};
        (@check $got:ident, $msg:ident, data($ch:ident, $payload:expr)) => {{
            let payload: &[u8] = $payload;
            assert_eq!($got, Ok(Some(Frame::Data { channel: Channel::$ch, payload })));
            let mut out = Vec::new();
            encode_binary(Channel::$ch, payload, &mut out);
            assert_eq!(out, $msg, "encode is the inverse");
        }};
        (@check $got:ident, $msg:ident, close($ch:ident)) => {{
            assert_eq!($got, Ok(Some(Frame::Close { channel: Channel::$ch })));
            let mut out = Vec::new();
            encode_close(Channel::$ch, &mut out);
            assert_eq!(out, $msg);
        }};
        (@check $got:ident, $msg:ident, none()) => {
            assert_eq!($got, Ok(None));
        };
        (@check $got:ident, $msg:ident, err()) => {
            assert_eq!($got.unwrap_err().code(), ErrorCode::ProtocolError);
        };
    }

    binary! {
        stdin_data: b"\x00foo\n" => data(Stdin, b"foo\n");
        stdout_data: b"\x01hello" => data(Stdout, b"hello");
        stderr_data: b"\x02oops\xff\x00" => data(Stderr, b"oops\xff\x00");
        error_json: b"\x03{\"metadata\":{},\"status\":\"Success\"}" => data(Error, b"{\"metadata\":{},\"status\":\"Success\"}");
        resize_json: b"\x04{\"Width\":80,\"Height\":24}\n" => data(Resize, b"{\"Width\":80,\"Height\":24}\n");
        readiness_stdout: b"\x01" => data(Stdout, b"");
        readiness_error: b"\x03" => data(Error, b"");
        empty_message: b"" => none();
        close_stdin: b"\xff\x00" => close(Stdin);
        close_stdout: b"\xff\x01" => close(Stdout);
        close_resize: b"\xff\x04" => close(Resize);
        close_too_short: b"\xff" => err();
        close_too_long: b"\xff\x00\x00" => err();
        close_unknown_channel: b"\xff\x05" => err();
        close_of_close: b"\xff\xff" => err();
        unknown_channel_5: b"\x05x" => err();
        unknown_channel_7: b"\x07\x41" => err();
        unknown_channel_254: b"\xfe" => err();
    }

    #[test]
    fn binary_decode_borrows() {
        let msg = b"\x01abc".to_vec();
        let Ok(Some(Frame::Data { payload, .. })) = decode_binary(&msg) else {
            panic!("not data")
        };
        assert_eq!(payload.as_ptr(), msg[1..].as_ptr());
    }

    #[test]
    fn oversize_is_a_protocol_error() {
        let mut big = vec![1u8; MAX_FRAME_LEN + 1];
        assert_eq!(
            decode_binary(&big).unwrap_err().code(),
            ErrorCode::ProtocolError
        );
        big.truncate(MAX_FRAME_LEN);
        assert!(decode_binary(&big).is_ok());
    }

    /// `name: text => data(channel, payload) | none() | err()`
    macro_rules! base64 {
        ($($name:ident: $msg:expr => $kind:ident $args:tt;)*) => {$(
            #[test]
            fn $name() {
                let msg: &str = $msg;
                let got = decode_base64(msg);
                base64!(@check got, msg, $kind $args);
            }
        )*};
        (@check $got:ident, $msg:ident, data($ch:ident, $payload:expr)) => {{
            let payload: &[u8] = $payload;
            assert_eq!($got, Ok(Some((Channel::$ch, payload.to_vec()))));
            let mut out = String::new();
            encode_base64(Channel::$ch, payload, &mut out);
            assert_eq!(out, $msg, "encode is the inverse");
        }};
        (@check $got:ident, $msg:ident, none()) => {
            assert_eq!($got, Ok(None));
        };
        (@check $got:ident, $msg:ident, err()) => {
            assert_eq!($got.unwrap_err().code(), ErrorCode::ProtocolError);
        };
    }

    base64! {
        b64_stdin_foo: "0Zm9vCg==" => data(Stdin, b"foo\n");
        b64_stdout_hello: "1aGVsbG8=" => data(Stdout, b"hello");
        b64_stderr_three: "2YWJj" => data(Stderr, b"abc");
        b64_error_success: "3eyJzdGF0dXMiOiJTdWNjZXNzIn0=" => data(Error, b"{\"status\":\"Success\"}");
        b64_resize: "4eyJXaWR0aCI6ODAsIkhlaWdodCI6MjR9Cg==" => data(Resize, b"{\"Width\":80,\"Height\":24}\n");
        b64_standard_alphabet: "1+/8=" => data(Stdout, b"\xfb\xff");
        b64_readiness: "1" => data(Stdout, b"");
        b64_empty: "" => none();
        b64_unpadded: "0Zm9vCg" => err();
        b64_url_alphabet: "1-_8=" => err();
        b64_garbage: "1!!!!" => err();
        b64_channel_5: "5YWJj" => err();
        b64_channel_letter: "aYWJj" => err();
        b64_binary_channel_byte: "\u{1}YWJj" => err();
    }

    #[test]
    fn base64_into_keeps_buffer_on_error() {
        let mut out = b"keep".to_vec();
        assert!(decode_base64_into("1!!!!", &mut out).is_err());
        assert_eq!(out, b"keep");
        assert_eq!(
            decode_base64_into("1YWJj", &mut out),
            Ok(Some(Channel::Stdout))
        );
        assert_eq!(out, b"keepabc");
    }
}
