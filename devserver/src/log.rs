//! The server's log: one line per event on stderr, with client-supplied text made harmless.

/// One log line on stderr, `[devserver] ` first. Every line goes through [`escape_log`], so no
/// client-supplied text in it (a path, an argv, a header) can start a line of its own or send
/// escape sequences to a terminal.
macro_rules! log {
    ($($t:tt)*) => { $crate::log::log_line(format_args!($($t)*)) };
}
pub(crate) use log;

/// Writes one line (see the `log!` macro).
pub fn log_line(args: std::fmt::Arguments<'_>) {
    eprintln!("[devserver] {}", escape_log(&args.to_string()));
}

/// Control characters (C0, DEL, C1) and the invisible characters that move or reorder text
/// (bidi controls, line separators, zero-width marks) as `\n`, `\t`, `\r` or `\u{..}`.
pub fn escape_log(s: &str) -> std::borrow::Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        c.is_control()
            || matches!(c,
                '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
    }
    if !s.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_log;

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert!(matches!(
            escape_log("GET /api/v1 -> 200"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_log("a\nb\r\tc\u{1b}[31m\u{7f}\u{85}"),
            "a\\nb\\r\\tc\\u{1b}[31m\\u{7f}\\u{85}"
        );
        assert_eq!(
            escape_log("x\u{202e}y\u{2028}z\u{200b}\u{feff}"),
            "x\\u{202e}y\\u{2028}z\\u{200b}\\u{feff}"
        );
        assert_eq!(escape_log("ünïcödé ✓"), "ünïcödé ✓");
    }
}
