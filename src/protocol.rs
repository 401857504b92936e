//! The subprotocols of exec and attach, their capabilities, and negotiation.

use crate::error::{Error, ErrorCode};

/// A `channel.k8s.io` subprotocol, or none (`Protocol::None`: the server answered with no
/// subprotocol, which it treats like `channel.k8s.io`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `v5.channel.k8s.io`: binary frames, `Status` JSON, the CLOSE signal (half-close).
    V5,
    /// `v4.channel.k8s.io`: binary frames, `Status` JSON.
    V4,
    /// `v4.base64.channel.k8s.io`: base64 text frames, `Status` JSON.
    V4Base64,
    /// `channel.k8s.io`: binary frames, plain-text status (nothing on success).
    V1,
    /// `base64.channel.k8s.io`: base64 text frames, plain-text status.
    V1Base64,
    /// No subprotocol (an empty answer): like `channel.k8s.io`. Cannot be offered.
    None,
}

/// The default offer: `v5.channel.k8s.io`, then `v4.channel.k8s.io` (new and old clusters).
pub const DEFAULT_OFFER: [Protocol; 2] = [Protocol::V5, Protocol::V4];

impl Protocol {
    /// Every protocol that has a name (all but [`Protocol::None`]), newest first.
    pub const NAMED: [Protocol; 5] = [
        Protocol::V5,
        Protocol::V4,
        Protocol::V4Base64,
        Protocol::V1,
        Protocol::V1Base64,
    ];

    /// The subprotocol name (`"v5.channel.k8s.io"`); `""` for [`Protocol::None`].
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::V5 => "v5.channel.k8s.io",
            Protocol::V4 => "v4.channel.k8s.io",
            Protocol::V4Base64 => "v4.base64.channel.k8s.io",
            Protocol::V1 => "channel.k8s.io",
            Protocol::V1Base64 => "base64.channel.k8s.io",
            Protocol::None => "",
        }
    }

    /// The protocol with this name; `""` is [`Protocol::None`]; an unknown name is `None`.
    pub fn from_name(name: &str) -> Option<Protocol> {
        if name.is_empty() {
            return Some(Protocol::None);
        }
        Protocol::NAMED.into_iter().find(|p| p.name() == name)
    }

    /// Frames are base64 text messages (`'1'` + base64) rather than binary messages.
    pub const fn is_base64(self) -> bool {
        matches!(self, Protocol::V4Base64 | Protocol::V1Base64)
    }

    /// The error channel carries `metav1.Status` JSON (v4, v5) rather than plain text.
    pub const fn status_is_json(self) -> bool {
        matches!(self, Protocol::V5 | Protocol::V4 | Protocol::V4Base64)
    }

    /// Stdin can be closed alone with the CLOSE signal (v5 only).
    pub const fn can_half_close(self) -> bool {
        matches!(self, Protocol::V5)
    }

    /// Parses a caller's offer list of names, e.g. from JavaScript `protocols`.
    /// Unknown names, the empty name, duplicates and bearer-token entries are
    /// [`ErrorCode::InvalidOptions`]; an empty list is allowed (offer nothing).
    pub fn parse_offer<S: AsRef<str>>(names: &[S]) -> Result<Vec<Protocol>, Error> {
        let mut offer = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let protocol = match Protocol::from_name(name) {
                Some(p) if p != Protocol::None => p,
                _ if crate::token::is_bearer_entry(name) => {
                    return Err(Error::new(
                        ErrorCode::InvalidOptions,
                        "pass the token as the token option, not in protocols",
                    ))
                }
                _ => {
                    return Err(Error::new(
                        ErrorCode::InvalidOptions,
                        format!("unknown subprotocol \"{name}\""),
                    ))
                }
            };
            if offer.contains(&protocol) {
                return Err(Error::new(
                    ErrorCode::InvalidOptions,
                    format!("subprotocol \"{name}\" offered twice"),
                ));
            }
            offer.push(protocol);
        }
        Ok(offer)
    }
}

/// Interprets the server's answer (`WebSocket.protocol` after open) to `offered`.
///
/// An empty answer is [`Protocol::None`] (the server picked nothing); a name that was not
/// offered, or is unknown, is [`ErrorCode::ProtocolNotSupported`].
pub fn negotiate(offered: &[Protocol], answer: &str) -> Result<Protocol, Error> {
    if answer.is_empty() {
        return Ok(Protocol::None);
    }
    match Protocol::from_name(answer) {
        Some(p) if offered.contains(&p) => Ok(p),
        // Never echo a token, even one a server sends back.
        _ if crate::token::is_bearer_entry(answer) => Err(Error::new(
            ErrorCode::ProtocolNotSupported,
            "the server answered with the bearer-token subprotocol instead of a channel.k8s.io one",
        )),
        _ => Err(Error::new(
            ErrorCode::ProtocolNotSupported,
            format!("the server answered with subprotocol \"{answer}\", which was not offered"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    macro_rules! capabilities {
        ($($p:ident: $name:expr, base64 $b:expr, json $j:expr, half_close $h:expr;)*) => {
            #[test]
            fn capability_table() {$(
                assert_eq!(Protocol::$p.name(), $name);
                assert_eq!(Protocol::from_name($name), Some(Protocol::$p));
                assert_eq!(Protocol::$p.is_base64(), $b, "{}", $name);
                assert_eq!(Protocol::$p.status_is_json(), $j, "{}", $name);
                assert_eq!(Protocol::$p.can_half_close(), $h, "{}", $name);
            )*}
        };
    }

    capabilities! {
        V5: "v5.channel.k8s.io", base64 false, json true, half_close true;
        V4: "v4.channel.k8s.io", base64 false, json true, half_close false;
        V4Base64: "v4.base64.channel.k8s.io", base64 true, json true, half_close false;
        V1: "channel.k8s.io", base64 false, json false, half_close false;
        V1Base64: "base64.channel.k8s.io", base64 true, json false, half_close false;
        None: "", base64 false, json false, half_close false;
    }

    #[test]
    fn negotiation() {
        assert_eq!(
            negotiate(&DEFAULT_OFFER, "v5.channel.k8s.io"),
            Ok(Protocol::V5)
        );
        assert_eq!(
            negotiate(&DEFAULT_OFFER, "v4.channel.k8s.io"),
            Ok(Protocol::V4)
        );
        assert_eq!(negotiate(&DEFAULT_OFFER, ""), Ok(Protocol::None));
        assert_eq!(negotiate(&[], ""), Ok(Protocol::None));
        for bad in [
            "channel.k8s.io",
            "v3.channel.k8s.io",
            "V5.CHANNEL.K8S.IO",
            "x",
        ] {
            let e = negotiate(&DEFAULT_OFFER, bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ProtocolNotSupported, "{bad}");
        }
    }

    #[test]
    fn token_answer_is_not_echoed() {
        // A server or proxy that answers with the token subprotocol (it was offered, so the
        // browser accepts it): refused, and the token stays out of the message.
        for answer in [
            "base64url.bearer.authorization.k8s.io.czNjcjN0",
            "Base64URL.Bearer.Authorization.K8S.io.czNjcjN0",
        ] {
            let e = negotiate(&DEFAULT_OFFER, answer).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ProtocolNotSupported);
            assert!(!e.message().contains("czNjcjN0"), "token echoed: {e}");
            assert!(e.message().contains("token"), "{e}");
        }
    }

    #[test]
    fn offers_parse() {
        assert_eq!(
            Protocol::parse_offer(&["v4.base64.channel.k8s.io", "channel.k8s.io"]),
            Ok(vec![Protocol::V4Base64, Protocol::V1])
        );
        assert_eq!(Protocol::parse_offer::<&str>(&[]), Ok(vec![]));
        for bad in [
            &["nope"][..],
            &[""],
            &["v5.channel.k8s.io", "v5.channel.k8s.io"],
            &["base64url.bearer.authorization.k8s.io.dG9r"],
            // Mis-cased, it is still a token entry.
            &[
                "v5.channel.k8s.io",
                "Base64url.Bearer.authorization.k8s.io.dG9r",
            ],
        ] {
            let e = Protocol::parse_offer(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{bad:?}");
            assert!(!e.message().contains("dG9r"), "token echoed: {e}");
        }
    }
}
