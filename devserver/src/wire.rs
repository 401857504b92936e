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

#[derive(Debug, Default, PartialEq, Eq)]
pub enum OfferedToken {
    #[default]
    Absent,
    /// Exactly one well-formed token entry (the decoded token).
    One(String),
    /// More than one entry, or one that does not decode: the request is unauthenticated.
    Invalid,
}

/// Splits the comma-separated offer (all `Sec-WebSocket-Protocol` header values) into the real
/// subprotocols and the token entry. The token never goes further than this.
pub fn parse_offer<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Offer {
    let mut offer = Offer::default();
    for value in header_values {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if let Some(encoded) = item.strip_prefix(TOKEN_PROTOCOL_PREFIX) {
                offer.token = match offer.token {
                    OfferedToken::Absent => decode_token(encoded)
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
/// not the message type, decides the encoding (`wsstream/conn.go`).
pub fn decode_inbound(proto: Subprotocol, msg: &[u8]) -> Inbound {
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
        payload: Bytes::copy_from_slice(rest),
    }
}

/// An encoded server → client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Binary(Bytes),
    Text(String),
}

/// Encodes `payload` on `channel` for `proto`.
pub fn encode(proto: Subprotocol, channel: u8, payload: &[u8]) -> Outbound {
    if proto.is_base64() {
        let mut s = String::with_capacity(1 + payload.len().div_ceil(3) * 4);
        s.push(char::from(b'0' + channel));
        STANDARD.encode_string(payload, &mut s);
        Outbound::Text(s)
    } else {
        let mut b = BytesMut::with_capacity(1 + payload.len());
        b.put_u8(channel);
        b.put_slice(payload);
        Outbound::Binary(b.freeze())
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
        let bad = parse_offer(["base64url.bearer.authorization.k8s.io.***"]);
        assert_eq!(bad.token, OfferedToken::Invalid);
    }

    #[test]
    fn inbound_frames() {
        use Subprotocol::*;
        assert_eq!(
            decode_inbound(V5, &[0, b'h', b'i']),
            Inbound::Data {
                channel: 0,
                payload: Bytes::from_static(b"hi")
            }
        );
        assert_eq!(decode_inbound(V5, &[255, 0]), Inbound::Close { channel: 0 });
        assert!(matches!(decode_inbound(V5, &[255]), Inbound::Fatal(_)));
        assert!(matches!(
            decode_inbound(V5, &[255, 0, 0]),
            Inbound::Fatal(_)
        ));
        assert!(matches!(decode_inbound(V5, &[255, 9]), Inbound::Fatal(_)));
        assert_eq!(decode_inbound(V4, &[255, 0]), Inbound::Ignore);
        assert_eq!(decode_inbound(V4, &[]), Inbound::Ignore);
        assert_eq!(
            decode_inbound(V4Base64, b"0Zm9vCg=="),
            Inbound::Data {
                channel: 0,
                payload: Bytes::from_static(b"foo\n")
            }
        );
        assert_eq!(decode_inbound(V4Base64, b"0Zm9vCg"), Inbound::Ignore);
    }

    #[test]
    fn outbound_frames() {
        assert_eq!(
            encode(Subprotocol::V4, 1, b"ok"),
            Outbound::Binary(Bytes::from_static(&[1, b'o', b'k']))
        );
        assert_eq!(
            encode(Subprotocol::V1Base64, 2, b"foo\n"),
            Outbound::Text("2Zm9vCg==".into())
        );
        assert_eq!(
            encode(Subprotocol::V4Base64, 1, b""),
            Outbound::Text("1".into())
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
