//! The server side of the channel.k8s.io WebSocket protocols: subprotocol names, negotiation,
//! and the frames in both directions. Written independently of the SDK's codec on purpose, so
//! that each checks the other (PROTOCOL.md §2, §3, §6).

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

/// Channel numbers (`staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go`).
pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5 only: `[0xFF, channel]` half-closes `channel`.
pub const CLOSE: u8 = 255;
/// Number of channels an exec/attach stream allocates; a CLOSE for a channel >= this is fatal.
pub const CHANNELS: u8 = 5;
/// Larger messages end the read loop (and so the connection).
pub const MAX_MESSAGE: usize = 32 << 20;

/// Prefix of the bearer-token subprotocol (`apiserver/pkg/authentication/request/websocket`).
pub const TOKEN_PROTOCOL_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// The subprotocols this server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subprotocol {
    /// `v5.channel.k8s.io`: binary, Status JSON, CLOSE signal.
    V5,
    /// `v4.channel.k8s.io`: binary, Status JSON.
    V4,
    /// `v4.base64.channel.k8s.io`: base64 text frames, Status JSON.
    V4Base64,
    /// `channel.k8s.io`: binary, plain-text errors.
    V1,
    /// `base64.channel.k8s.io`: base64 text frames, plain-text errors.
    V1Base64,
    /// The client offered no subprotocol: behaves like `channel.k8s.io`.
    None,
}

impl Subprotocol {
    /// Every named subprotocol, for negotiation.
    pub const NAMED: [Subprotocol; 5] = [
        Subprotocol::V5,
        Subprotocol::V4,
        Subprotocol::V4Base64,
        Subprotocol::V1,
        Subprotocol::V1Base64,
    ];

    /// The wire name (`""` for [`Subprotocol::None`]).
    pub fn name(self) -> &'static str {
        match self {
            Subprotocol::V5 => "v5.channel.k8s.io",
            Subprotocol::V4 => "v4.channel.k8s.io",
            Subprotocol::V4Base64 => "v4.base64.channel.k8s.io",
            Subprotocol::V1 => "channel.k8s.io",
            Subprotocol::V1Base64 => "base64.channel.k8s.io",
            Subprotocol::None => "",
        }
    }

    /// Short name for logs.
    pub fn short(self) -> &'static str {
        match self {
            Subprotocol::V5 => "v5",
            Subprotocol::V4 => "v4",
            Subprotocol::V4Base64 => "v4.base64",
            Subprotocol::V1 => "v1",
            Subprotocol::V1Base64 => "v1.base64",
            Subprotocol::None => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<Subprotocol> {
        Subprotocol::NAMED.into_iter().find(|p| p.name() == name)
    }

    pub fn is_base64(self) -> bool {
        matches!(self, Subprotocol::V4Base64 | Subprotocol::V1Base64)
    }

    /// v4 and v5 carry a `metav1.Status` JSON on the error channel; v1 plain text.
    pub fn status_is_json(self) -> bool {
        matches!(
            self,
            Subprotocol::V5 | Subprotocol::V4 | Subprotocol::V4Base64
        )
    }

    /// Only v5 has the CLOSE signal.
    pub fn has_close(self) -> bool {
        self == Subprotocol::V5
    }
}

/// The `Sec-WebSocket-Protocol` offer of a request, with the bearer-token entry split off.
#[derive(Debug, Default)]
pub struct Offer {
    /// The real subprotocols, in the client's order.
    pub protocols: Vec<String>,
    /// The token entry, if any.
    pub token: OfferedToken,
}

impl Offer {
    /// The offer held a token entry (well-formed or not): its list must not be shown anywhere.
    pub fn held_token(&self) -> bool {
        self.token != OfferedToken::Absent
    }
}

#[derive(Default, PartialEq, Eq)]
pub enum OfferedToken {
    #[default]
    Absent,
    /// Exactly one well-formed token entry (the decoded token).
    One(String),
    /// More than one entry, one that does not decode, or one whose prefix is not in the exact
    /// case the API server requires: the request is unauthenticated by it.
    Invalid,
}

impl std::fmt::Debug for OfferedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OfferedToken::Absent => "Absent",
            OfferedToken::One(_) => "One(<redacted>)",
            OfferedToken::Invalid => "Invalid",
        })
    }
}

/// Splits the comma-separated offer (all `Sec-WebSocket-Protocol` header values) into the real
/// subprotocols and the token entry. The token never goes further than this. The prefix is
/// recognised in any case, so that a mis-cased token entry is never taken for a subprotocol
/// (and logged); only the exact case authenticates, as on the API server.
pub fn parse_offer<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Offer {
    let mut offer = Offer::default();
    for value in header_values {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if let Some(encoded) = strip_token_prefix(item) {
                offer.token = match offer.token {
                    OfferedToken::Absent => item
                        .starts_with(TOKEN_PROTOCOL_PREFIX)
                        .then(|| decode_token(encoded))
                        .flatten()
                        .map(OfferedToken::One)
                        .unwrap_or(OfferedToken::Invalid),
                    _ => OfferedToken::Invalid,
                };
            } else {
                offer.protocols.push(item.to_string());
            }
        }
    }
    offer
}

/// The text after the token prefix, matched case-insensitively (the final dot optional, so
/// that a bare prefix counts as a token entry too).
fn strip_token_prefix(item: &str) -> Option<&str> {
    let bare = &TOKEN_PROTOCOL_PREFIX[..TOKEN_PROTOCOL_PREFIX.len() - 1];
    let head = item.get(..bare.len())?;
    if !head.eq_ignore_ascii_case(bare) {
        return None;
    }
    let rest = &item[bare.len()..];
    Some(rest.strip_prefix('.').unwrap_or(rest))
}

fn decode_token(encoded: &str) -> Option<String> {
    // The API server decodes with RawURLEncoding (no padding); tolerate padding too.
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .or_else(|_| URL_SAFE.decode(encoded))
        .ok()?;
    let token = String::from_utf8(bytes).ok()?;
    (!token.is_empty()).then_some(token)
}

/// None of the offered subprotocols is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported;

/// Walks the client's list in the client's order and takes the first supported name.
/// [`Subprotocol::None`] when nothing was offered.
pub fn negotiate(offered: &[String]) -> Result<Subprotocol, Unsupported> {
    if offered.is_empty() {
        return Ok(Subprotocol::None);
    }
    offered
        .iter()
        .find_map(|name| Subprotocol::from_name(name))
        .ok_or(Unsupported)
}

/// One message from the client, decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Data for a channel (stdin, resize; others are dropped by the caller).
    Data { channel: u8, payload: Bytes },
    /// v5 CLOSE of a channel.
    Close { channel: u8 },
    /// Nothing to do: an empty message, a channel out of range, or base64 that does not decode.
    Ignore,
    /// A protocol violation that tears the connection down (PROTOCOL.md §6).
    Fatal(&'static str),
}

/// Decodes a client message. The server takes text and binary messages alike: the subprotocol,
/// not the message type, decides the encoding (`wsstream/conn.go`). A binary payload is a slice
/// of the message, not a copy.
pub fn decode_inbound(proto: Subprotocol, msg: Bytes) -> Inbound {
    let Some((&first, rest)) = msg.split_first() else {
        return Inbound::Ignore;
    };
    if proto.is_base64() {
        let channel = first.wrapping_sub(b'0');
        if channel >= CHANNELS {
            return Inbound::Ignore;
        }
        return match STANDARD.decode(rest) {
            Ok(payload) => Inbound::Data {
                channel,
                payload: Bytes::from(payload),
            },
            Err(_) => Inbound::Ignore,
        };
    }
    if proto.has_close() && first == CLOSE {
        if rest.len() != 1 {
            return Inbound::Fatal("close signal must be exactly 2 bytes");
        }
        if rest[0] >= CHANNELS {
            return Inbound::Fatal("close signal for a channel out of range");
        }
        return Inbound::Close { channel: rest[0] };
    }
    if first >= CHANNELS {
        return Inbound::Ignore;
    }
    Inbound::Data {
        channel: first,
        payload: msg.slice(1..),
    }
}

// ---- server → client frames ----------------------------------------------------------------
//
// The server writes complete WebSocket frames itself (RFC 6455 §5.2: FIN set, never masked,
// never fragmented), so that output can go from a process's pipe to the socket without another
// copy; tungstenite only reads.

pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;
/// The longest WebSocket frame header the server writes.
pub const MAX_HEADER: usize = 10;

/// The header of an unmasked, final frame with a payload of `len` bytes; returns it and its length.
pub fn frame_header(opcode: u8, len: usize) -> ([u8; MAX_HEADER], usize) {
    let mut h = [0u8; MAX_HEADER];
    h[0] = 0x80 | opcode;
    let n = if len < 126 {
        h[1] = len as u8;
        2
    } else if len <= 0xffff {
        h[1] = 126;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (h, n)
}

/// A whole frame: header and payload.
pub fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let (h, n) = frame_header(opcode, payload.len());
    let mut b = BytesMut::with_capacity(n + payload.len());
    b.put_slice(&h[..n]);
    b.put_slice(payload);
    b.freeze()
}

/// The frame carrying `payload` on `channel` for `proto`: binary `[channel][payload]`, or text
/// `digit + base64(payload)` on the base64 protocols.
pub fn encode(proto: Subprotocol, channel: u8, payload: &[u8]) -> Bytes {
    if proto.is_base64() {
        let mut s = String::with_capacity(1 + payload.len().div_ceil(3) * 4);
        s.push(char::from(b'0' + channel));
        STANDARD.encode_string(payload, &mut s);
        frame(OP_TEXT, s.as_bytes())
    } else {
        let (h, n) = frame_header(OP_BINARY, 1 + payload.len());
        let mut b = BytesMut::with_capacity(n + 1 + payload.len());
        b.put_slice(&h[..n]);
        b.put_u8(channel);
        b.put_slice(payload);
        b.freeze()
    }
}

/// Splits bytes holding whole server frames (unmasked) into frames; a trailing partial frame
/// comes last, as it is.
pub fn split_frames(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let len = match data.get(1).map(|b| b & 0x7f) {
            Some(n @ 0..=125) => Some(2 + usize::from(n)),
            Some(126) => data
                .get(2..4)
                .map(|b| 4 + usize::from(u16::from_be_bytes([b[0], b[1]]))),
            Some(_) => data.get(2..10).and_then(|b| {
                let n = u64::from_be_bytes(b.try_into().ok()?);
                usize::try_from(n).ok()?.checked_add(10)
            }),
            None => None,
        };
        let end = len.unwrap_or(data.len()).min(data.len());
        let (frame, rest) = data.split_at(end);
        data = rest;
        Some(frame)
    })
}

/// A close frame with `code` and `reason`.
pub fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    frame(OP_CLOSE, &payload)
}

/// A buffer laid out for a binary data frame without copying the payload: [`MAX_HEADER`] bytes
/// of room, the channel byte, then the payload (read straight into it).
pub struct Chunk(pub BytesMut);

impl Chunk {
    /// Room for `max` payload bytes after the channel byte.
    pub fn new(channel: u8, max: usize) -> Chunk {
        let mut b = BytesMut::with_capacity(MAX_HEADER + 1 + max);
        b.put_bytes(0, MAX_HEADER);
        b.put_u8(channel);
        Chunk(b)
    }

    pub fn channel(&self) -> u8 {
        self.0[MAX_HEADER]
    }

    pub fn payload(&self) -> &[u8] {
        &self.0[MAX_HEADER + 1..]
    }

    /// The finished frame for `proto`: the header goes into the room in front on binary
    /// protocols (no copy); base64 protocols re-encode.
    pub fn into_frame(self, proto: Subprotocol) -> Bytes {
        if proto.is_base64() {
            return encode(proto, self.channel(), self.payload());
        }
        let mut b = self.0;
        let (h, n) = frame_header(OP_BINARY, b.len() - MAX_HEADER);
        b[MAX_HEADER - n..MAX_HEADER].copy_from_slice(&h[..n]);
        let _ = b.split_to(MAX_HEADER - n);
        b.freeze()
    }
}

/// A terminal size from the resize channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

/// Parses a resize payload: one or more JSON objects `{"Width":W,"Height":H}` (Go field names,
/// matched case-insensitively as encoding/json does). Malformed input yields nothing; sizes with
/// a zero dimension are skipped, as the runtimes skip them.
pub fn parse_resize(payload: &[u8]) -> Vec<TermSize> {
    let mut sizes = Vec::new();
    let stream = serde_json::Deserializer::from_slice(payload).into_iter::<serde_json::Value>();
    for value in stream {
        let Ok(serde_json::Value::Object(map)) = value else {
            break;
        };
        let field = |name: &str| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_u64())
                .and_then(|v| u16::try_from(v).ok())
        };
        if let (Some(cols), Some(rows)) = (field("width"), field("height")) {
            if cols > 0 && rows > 0 {
                sizes.push(TermSize { cols, rows });
            }
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_the_clients_order() {
        let offer = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            negotiate(&offer(&["v4.channel.k8s.io", "v5.channel.k8s.io"])),
            Ok(Subprotocol::V4)
        );
        assert_eq!(
            negotiate(&offer(&["x", "base64.channel.k8s.io"])),
            Ok(Subprotocol::V1Base64)
        );
        assert_eq!(negotiate(&offer(&["v3.channel.k8s.io"])), Err(Unsupported));
        assert_eq!(negotiate(&[]), Ok(Subprotocol::None));
    }

    #[test]
    fn token_entry_is_split_off() {
        let o = parse_offer(["v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0"]);
        assert_eq!(o.protocols, vec!["v5.channel.k8s.io".to_string()]);
        assert_eq!(o.token, OfferedToken::One("secret".into()));
        let two = parse_offer([
            "base64url.bearer.authorization.k8s.io.YQ",
            "base64url.bearer.authorization.k8s.io.Yg",
        ]);
        assert_eq!(two.token, OfferedToken::Invalid);
        // Another case: taken out of the list (never logged), but not a credential.
        let mis = parse_offer(["Base64url.Bearer.authorization.k8s.io.c2VjcmV0, foo"]);
        assert_eq!(mis.protocols, vec!["foo".to_string()]);
        assert_eq!(mis.token, OfferedToken::Invalid);
        assert!(mis.held_token());
        let bare = parse_offer(["BASE64URL.BEARER.AUTHORIZATION.K8S.IO"]);
        assert!(bare.protocols.is_empty() && bare.held_token());
        assert_eq!(
            format!(
                "{:?}",
                parse_offer([&*format!("{TOKEN_PROTOCOL_PREFIX}c2VjcmV0")])
            ),
            "Offer { protocols: [], token: One(<redacted>) }"
        );
        let bad = parse_offer(["base64url.bearer.authorization.k8s.io.***"]);
        assert_eq!(bad.token, OfferedToken::Invalid);
    }

    #[test]
    fn inbound_frames() {
        use Subprotocol::*;
        assert_eq!(
            decode_inbound(V5, Bytes::copy_from_slice(&[0, b'h', b'i'])),
            Inbound::Data {
                channel: 0,
                payload: Bytes::from_static(b"hi")
            }
        );
        assert_eq!(
            decode_inbound(V5, Bytes::copy_from_slice(&[255, 0])),
            Inbound::Close { channel: 0 }
        );
        assert!(matches!(
            decode_inbound(V5, Bytes::copy_from_slice(&[255])),
            Inbound::Fatal(_)
        ));
        assert!(matches!(
            decode_inbound(V5, Bytes::copy_from_slice(&[255, 0, 0])),
            Inbound::Fatal(_)
        ));
        assert!(matches!(
            decode_inbound(V5, Bytes::copy_from_slice(&[255, 9])),
            Inbound::Fatal(_)
        ));
        assert_eq!(
            decode_inbound(V4, Bytes::copy_from_slice(&[255, 0])),
            Inbound::Ignore
        );
        assert_eq!(
            decode_inbound(V4, Bytes::copy_from_slice(&[])),
            Inbound::Ignore
        );
        assert_eq!(
            decode_inbound(V4Base64, Bytes::copy_from_slice(b"0Zm9vCg==")),
            Inbound::Data {
                channel: 0,
                payload: Bytes::from_static(b"foo\n")
            }
        );
        assert_eq!(
            decode_inbound(V4Base64, Bytes::copy_from_slice(b"0Zm9vCg")),
            Inbound::Ignore
        );
    }

    #[test]
    fn frames_are_split_at_their_lengths() {
        let pong = frame(OP_PONG, b"abc");
        let close = close_frame(1000, "");
        let long = frame(OP_BINARY, &[7; 300]);
        let all = [&pong[..], &close[..], &long[..], &[0x8a][..]].concat();
        let parts: Vec<&[u8]> = split_frames(&all).collect();
        assert_eq!(parts, [&pong[..], &close[..], &long[..], &[0x8a][..]]);
        assert_eq!(
            split_frames(&[0x8a, 5, 1]).collect::<Vec<_>>(),
            [&[0x8a, 5, 1][..]]
        );
        assert_eq!(split_frames(&[]).count(), 0);
    }

    #[test]
    fn outbound_frames() {
        assert_eq!(
            &encode(Subprotocol::V4, 1, b"ok")[..],
            &[0x82, 3, 1, b'o', b'k']
        );
        assert_eq!(
            &encode(Subprotocol::V1Base64, 2, b"foo\n")[..],
            b"\x81\x092Zm9vCg=="
        );
        assert_eq!(&encode(Subprotocol::V4Base64, 1, b"")[..], b"\x81\x011");
        assert_eq!(&close_frame(1000, "")[..], &[0x88, 2, 0x03, 0xe8]);
        let big = encode(Subprotocol::V5, 1, &[7u8; 300]);
        assert_eq!(&big[..5], &[0x82, 126, 0x01, 0x2d, 1]);
        let huge = encode(Subprotocol::V5, 1, &vec![7u8; 70_000]);
        assert_eq!(
            &huge[..11],
            &[0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x71, 1]
        );
        let mut c = Chunk::new(2, 300);
        c.0.extend_from_slice(&[9u8; 300]);
        assert_eq!(c.payload().len(), 300);
        assert_eq!(
            c.into_frame(Subprotocol::V4),
            encode(Subprotocol::V4, 2, &[9u8; 300])
        );
        let mut c = Chunk::new(1, 10);
        c.0.extend_from_slice(b"hi");
        assert_eq!(
            c.into_frame(Subprotocol::V4Base64),
            encode(Subprotocol::V4Base64, 1, b"hi")
        );
    }

    #[test]
    fn resize_payloads() {
        assert_eq!(
            parse_resize(b"{\"Width\":80,\"Height\":24}\n"),
            vec![TermSize { cols: 80, rows: 24 }]
        );
        assert_eq!(
            parse_resize(b"{\"width\":100,\"height\":30}{\"Width\":1,\"Height\":2}"),
            vec![
                TermSize {
                    cols: 100,
                    rows: 30
                },
                TermSize { cols: 1, rows: 2 }
            ]
        );
        assert!(parse_resize(b"garbage").is_empty());
        assert!(parse_resize(b"{\"Width\":70000,\"Height\":2}").is_empty());
        assert!(parse_resize(b"{\"Width\":0,\"Height\":2}").is_empty());
        assert!(parse_resize(b"[1,2]").is_empty());
    }
}
