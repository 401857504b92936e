//! A small strict JSON reader for the little the core reads: the `metav1.Status` on the error
//! channel and resize payloads. (serde_json was most of the wasm size; this is a fraction.)
//!
//! RFC 8259 grammar; input must be UTF-8; nesting is limited to [`MAX_DEPTH`]; numbers are
//! kept as integers when they are integers. Duplicate keys: the last one wins, as in Go.

/// The deepest nesting accepted (serde_json's default limit is 128).
pub(crate) const MAX_DEPTH: usize = 128;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// A number; `Some` when it is an integer that fits an `i64` (no fraction, no exponent).
    Number(Option<i64>),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The value of `key` in an object (the last one, if repeated). The core reads Status
    /// keys with [`Value::get_folded`], as Go's `encoding/json` does, and Pod keys with this
    /// exact lookup, as the API machinery's case-sensitive decoder does.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Like [`Value::get`], matching the key without regard to ASCII case, as Go's
    /// `encoding/json` matches struct fields (the last matching key wins).
    pub(crate) fn get_folded(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parses one JSON text (surrounding whitespace allowed, nothing else after it).
pub(crate) fn parse(input: &[u8]) -> Result<Value, &'static str> {
    let text = core::str::from_utf8(input).map_err(|_| "not UTF-8")?;
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err("trailing characters");
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, &'static str> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err("invalid literal")
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, &'static str> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        self.ws();
        match self.b.get(self.i) {
            None => Err("unexpected end"),
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat(b'}') {
                    return Ok(Value::Object(fields));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err("expected a key");
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err("expected ':'");
                    }
                    let v = self.value(depth + 1)?;
                    fields.push((key, v));
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(Value::Object(fields));
                    }
                    if !self.eat(b',') {
                        return Err("expected ',' or '}'");
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']') {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b']') {
                        return Ok(Value::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err("expected ',' or ']'");
                    }
                }
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err("unexpected character"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, &'static str> {
        let start = self.i;
        self.eat(b'-');
        let int_start = self.i;
        match self.digits() {
            0 => return Err("invalid number"),
            n if n > 1 && self.b[int_start] == b'0' => return Err("leading zero"),
            _ => {}
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if self.digits() == 0 {
                return Err("invalid number");
            }
        }
        if self.eat(b'e') || self.eat(b'E') {
            integer = false;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err("invalid number");
            }
        }
        // The slice is ASCII: digits and signs only.
        let text = core::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
        Ok(Value::Number(if integer {
            text.parse().ok()
        } else {
            None
        }))
    }

    fn hex4(&mut self) -> Result<u32, &'static str> {
        let h = self.b.get(self.i..self.i + 4).ok_or("unexpected end")?;
        let mut v = 0u32;
        for c in h {
            let d = (*c as char).to_digit(16).ok_or("invalid \\u escape")?;
            v = v * 16 + d;
        }
        self.i += 4;
        Ok(v)
    }

    /// A string, the opening quote at `self.i`.
    fn string(&mut self) -> Result<String, &'static str> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Input is UTF-8 and we stopped at an ASCII byte: a char boundary.
            out.push_str(core::str::from_utf8(&self.b[start..self.i]).unwrap_or(""));
            match self.b.get(self.i) {
                None => return Err("unterminated string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = *self.b.get(self.i).ok_or("unterminated string")?;
                    self.i += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err("invalid escape"),
                    };
                    out.push(ch);
                }
                Some(_) => return Err("control character in string"),
            }
        }
    }

    /// After `\u`: one code point, joining a surrogate pair; a lone surrogate becomes
    /// U+FFFD, as Go's decoder does.
    fn unicode_escape(&mut self) -> Result<char, &'static str> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.b[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.i = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    macro_rules! json {
        ($($name:ident: $input:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse($input.as_ref()), $want);
            }
        )*};
    }

    json! {
        empty_object: "{}" => Ok(Value::Object(vec![]));
        object: r#" {"a" : 1 , "b":[true,false,null],"c":{"d":"e"}} "# => Ok(Value::Object(vec![
            ("a".into(), Value::Number(Some(1))),
            ("b".into(), Value::Array(vec![Value::Bool(true), Value::Bool(false), Value::Null])),
            ("c".into(), Value::Object(vec![("d".into(), s("e"))])),
        ]));
        numbers: "[0,-0,12,-34,1.5,1e3,-2E-2,9223372036854775807,9223372036854775808]" => Ok(Value::Array(vec![
            Value::Number(Some(0)), Value::Number(Some(0)), Value::Number(Some(12)),
            Value::Number(Some(-34)), Value::Number(None), Value::Number(None),
            Value::Number(None), Value::Number(Some(i64::MAX)), Value::Number(None),
        ]));
        escapes: r#""a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud834\udd1e""# => Ok(s("a\"b\\c/d\u{8}\u{c}\n\r\té€𝄞"));
        lone_surrogates: r#"["\ud800","\udc00x","\ud800\u0041"]"# => Ok(Value::Array(vec![s("\u{fffd}"), s("\u{fffd}x"), s("\u{fffd}A")]));
        utf8_raw: "\"héllo €\"" => Ok(s("héllo €"));
        leading_zero: "01" => Err("leading zero");
        bare_minus: "-" => Err("invalid number");
        dot_no_digits: "1." => Err("invalid number");
        exp_no_digits: "1e" => Err("invalid number");
        plus: "+1" => Err("unexpected character");
        trailing_comma_obj: r#"{"a":1,}"# => Err("expected a key");
        trailing_comma_arr: "[1,]" => Err("unexpected character");
        single_quotes: "{'a':1}" => Err("expected a key");
        unterminated: r#"{"status":"# => Err("unexpected end");
        unterminated_string: r#""abc"# => Err("unterminated string");
        control_char: "\"a\nb\"" => Err("control character in string");
        bad_escape: r#""\x""# => Err("invalid escape");
        bad_unicode: r#""\u12G4""# => Err("invalid \\u escape");
        short_unicode: r#""\u12"# => Err("unexpected end");
        two_values: "{} {}" => Err("trailing characters");
        nothing: "" => Err("unexpected end");
        spaces: "  " => Err("unexpected end");
        bad_literal: "nul" => Err("invalid literal");
        not_utf8: b"\"\xff\"" => Err("not UTF-8");
    }

    #[test]
    fn depth_is_bounded() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert_eq!(parse(deep.as_bytes()), Err("nested too deeply"));
        // Far deeper input fails the same way, without exhausting the stack.
        let very = "[".repeat(1_000_000);
        assert_eq!(parse(very.as_bytes()), Err("nested too deeply"));
    }

    #[test]
    fn last_duplicate_key_wins() {
        let v = parse(br#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Value::Number(Some(2))));
        assert_eq!(v.get("b"), None);
        assert_eq!(Value::Null.get("a"), None);
        let v = parse(br#"{"a":1,"A":2,"b":3}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Value::Number(Some(1))));
        assert_eq!(v.get_folded("a"), Some(&Value::Number(Some(2))));
        assert_eq!(v.get_folded("B"), Some(&Value::Number(Some(3))));
        assert_eq!(v.get_folded("c"), None);
    }
}
