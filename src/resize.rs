//! Terminal sizes for the resize channel (4): `{"Width":cols,"Height":rows}` JSON.

use crate::error::{Error, ErrorCode};
use crate::json::{self, Value};

/// A terminal size in character cells; both dimensions are 1..=65535.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TerminalSize {
    cols: u16,
    rows: u16,
}

impl TerminalSize {
    /// A size; a zero dimension is [`ErrorCode::InvalidOptions`].
    pub fn new(cols: u16, rows: u16) -> Result<TerminalSize, Error> {
        if cols == 0 || rows == 0 {
            return Err(Error::new(
                ErrorCode::InvalidOptions,
                format!("terminal size {cols}x{rows}: columns and rows must be at least 1"),
            ));
        }
        Ok(TerminalSize { cols, rows })
    }

    /// A size from JavaScript numbers: each must be a whole number in 1..=65535, else
    /// [`ErrorCode::InvalidOptions`] (never truncated or wrapped).
    pub fn from_f64(cols: f64, rows: f64) -> Result<TerminalSize, Error> {
        fn dim(v: f64) -> Option<u16> {
            (v.fract() == 0.0 && (1.0..=65535.0).contains(&v)).then_some(v as u16)
        }
        match (dim(cols), dim(rows)) {
            (Some(c), Some(r)) => TerminalSize::new(c, r),
            _ => Err(Error::new(
                ErrorCode::InvalidOptions,
                "terminal size: columns and rows must be whole numbers 1-65535",
            )),
        }
    }

    /// Columns (the `Width`).
    pub fn cols(self) -> u16 {
        self.cols
    }

    /// Rows (the `Height`).
    pub fn rows(self) -> u16 {
        self.rows
    }

    /// Appends the resize payload `{"Width":cols,"Height":rows}\n` to `out`, as client-go's
    /// JSON encoder writes it (with the newline).
    pub fn encode_json(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_json().as_bytes());
    }

    /// The resize payload `{"Width":cols,"Height":rows}\n`.
    pub fn to_json(self) -> String {
        format!("{{\"Width\":{},\"Height\":{}}}\n", self.cols, self.rows)
    }

    /// Parses one resize payload as the server does (Go field names, lower case accepted;
    /// a missing field is 0, which is refused here). Bad JSON is [`ErrorCode::ProtocolError`].
    pub fn parse_json(bytes: &[u8]) -> Result<TerminalSize, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorCode::ProtocolError,
                format!("invalid resize JSON: {why}"),
            )
        };
        let Value::Object(fields) = json::parse(bytes).map_err(bad)? else {
            return Err(bad("not an object"));
        };
        let (mut width, mut height) = (0, 0);
        for (key, v) in &fields {
            // Go matches field names case-insensitively; the last one wins.
            let slot = if key.eq_ignore_ascii_case("width") {
                &mut width
            } else if key.eq_ignore_ascii_case("height") {
                &mut height
            } else {
                continue;
            };
            *slot = match v {
                Value::Null => *slot,
                Value::Number(Some(n)) => {
                    u16::try_from(*n).map_err(|_| bad("size out of range"))?
                }
                _ => return Err(bad("sizes must be integers")),
            };
        }
        TerminalSize::new(width, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    macro_rules! sizes {
        ($($name:ident: $cols:expr, $rows:expr => $json:expr;)*) => {$(
            #[test]
            fn $name() {
                let size = TerminalSize::new($cols, $rows).unwrap();
                let mut out = Vec::new();
                size.encode_json(&mut out);
                assert_eq!(out, $json.as_bytes());
                assert_eq!(TerminalSize::parse_json(&out), Ok(size));
            }
        )*};
    }

    sizes! {
        common: 80, 24 => "{\"Width\":80,\"Height\":24}\n";
        smallest: 1, 1 => "{\"Width\":1,\"Height\":1}\n";
        largest: 65535, 65535 => "{\"Width\":65535,\"Height\":65535}\n";
        wide: 300, 7 => "{\"Width\":300,\"Height\":7}\n";
    }

    #[test]
    fn zero_is_refused() {
        for (c, r) in [(0, 24), (80, 0), (0, 0)] {
            assert_eq!(
                TerminalSize::new(c, r).unwrap_err().code(),
                ErrorCode::InvalidOptions
            );
        }
    }

    #[test]
    fn js_numbers() {
        assert_eq!(
            TerminalSize::from_f64(80.0, 24.0),
            TerminalSize::new(80, 24)
        );
        for (c, r) in [
            (0.0, 24.0),
            (80.5, 24.0),
            (65536.0, 1.0),
            (-1.0, 1.0),
            (f64::NAN, 1.0),
            (f64::INFINITY, 1.0),
        ] {
            let e = TerminalSize::from_f64(c, r).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidOptions, "{c}x{r}");
        }
    }

    #[test]
    fn parse_like_the_server() {
        assert_eq!(
            TerminalSize::parse_json(br#"{"width":10,"height":5}"#),
            TerminalSize::new(10, 5)
        );
        assert_eq!(
            TerminalSize::parse_json(br#"{"WIDTH":3,"Other":[],"height":4}"#),
            TerminalSize::new(3, 4)
        );
        for bad in [
            &b"{\"Width\":70000,\"Height\":1}"[..],
            b"{\"Width\":-1,\"Height\":1}",
            b"{\"Width\":1.5,\"Height\":1}",
            b"{\"Width\":\"1\",\"Height\":1}",
            b"{",
            b"",
            b"[1,2]",
        ] {
            assert_eq!(
                TerminalSize::parse_json(bad).unwrap_err().code(),
                ErrorCode::ProtocolError
            );
        }
        // A missing field is 0: a valid server value, refused by the core as a size.
        assert_eq!(
            TerminalSize::parse_json(br#"{"Width":10}"#)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidOptions
        );
    }
}
