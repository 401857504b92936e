//! The bearer token, carried as a WebSocket subprotocol (browsers cannot set `Authorization`).

use core::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::{Error, ErrorCode};

/// The prefix of the bearer-token subprotocol; the API server strips the entry before
/// negotiating (`apiserver/pkg/authentication/request/websocket/protocol.go`).
pub const BEARER_PROTOCOL_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// `name` is a bearer-token subprotocol entry: the prefix in any case (a mis-cased entry still
/// carries the token, so it is never echoed either).
pub(crate) fn is_bearer_entry(name: &str) -> bool {
    name.get(..BEARER_PROTOCOL_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(BEARER_PROTOCOL_PREFIX))
}

/// A bearer token. Its `Debug` output is redacted and it has no `Display`, so it cannot end
/// up in a log or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps a token, without surrounding ASCII whitespace (a pasted token often ends with
    /// a newline, which the server would take as part of it: `Unauthorized`). An empty or
    /// blank token is [`ErrorCode::InvalidOptions`].
    pub fn new(token: &str) -> Result<BearerToken, Error> {
        let token = token.trim_matches(|c: char| c.is_ascii_whitespace());
        if token.is_empty() {
            return Err(Error::new(ErrorCode::InvalidOptions, "the token is empty"));
        }
        Ok(BearerToken(token.to_owned()))
    }

    /// The subprotocol to offer beside the real ones:
    /// `base64url.bearer.authorization.k8s.io.` + base64url of the token, without padding.
    pub fn subprotocol(&self) -> String {
        let mut s = String::with_capacity(BEARER_PROTOCOL_PREFIX.len() + self.0.len() * 4 / 3 + 4);
        s.push_str(BEARER_PROTOCOL_PREFIX);
        URL_SAFE_NO_PAD.encode_string(self.0.as_bytes(), &mut s);
        s
    }

    /// The token itself, e.g. for an `Authorization: Bearer` header of a preflight `fetch`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    macro_rules! subprotocols {
        ($($name:ident: $token:expr => $proto:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(BearerToken::new($token).unwrap().subprotocol(), $proto);
            }
        )*};
    }

    subprotocols! {
        // "abc" is YWJj; one and two trailing bytes show the padding is dropped.
        three_bytes: "abc" => "base64url.bearer.authorization.k8s.io.YWJj";
        one_byte: "a" => "base64url.bearer.authorization.k8s.io.YQ";
        two_bytes: "ab" => "base64url.bearer.authorization.k8s.io.YWI";
        // 0xfb 0xff would be "+/8" in standard base64: the URL alphabet gives "-_8".
        url_alphabet: "\u{fb}\u{ff}" => "base64url.bearer.authorization.k8s.io.w7vDvw";
        jwt_like: "eyJhbGciOi.x-y_z" => "base64url.bearer.authorization.k8s.io.ZXlKaGJHY2lPaS54LXlfeg";
    }

    #[test]
    fn url_alphabet_bytes() {
        // ">>>???" encodes to "Pj4-Pz8_" in base64url (standard: "Pj4+Pz8/").
        assert_eq!(
            BearerToken::new(">>>???").unwrap().subprotocol(),
            "base64url.bearer.authorization.k8s.io.Pj4-Pz8_"
        );
    }

    #[test]
    fn empty_token_is_refused() {
        assert_eq!(
            BearerToken::new("").unwrap_err().code(),
            ErrorCode::InvalidOptions
        );
        for blank in [" ", "\n", " \t\r\n "] {
            assert_eq!(
                BearerToken::new(blank).unwrap_err().code(),
                ErrorCode::InvalidOptions
            );
        }
    }

    #[test]
    fn surrounding_whitespace_is_not_part_of_the_token() {
        // A token pasted with its newline (`kubectl create token` output, a token file):
        // the API server trims the Authorization header, but not the subprotocol.
        for pasted in ["abc\n", " abc", "\tabc\r\n"] {
            let t = BearerToken::new(pasted).unwrap();
            assert_eq!(
                t.subprotocol(),
                "base64url.bearer.authorization.k8s.io.YWJj"
            );
            assert_eq!(t.expose(), "abc");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let t = BearerToken::new("s3cr3t-token").unwrap();
        let dbg = format!("{t:?} {:?}", Some(&t));
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("redacted"));
        assert_eq!(t.expose(), "s3cr3t-token");
    }
}
