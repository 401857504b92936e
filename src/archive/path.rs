//! Archive paths: normalisation and the safety rules for what a download may yield.
//!
//! A path in the tree is relative, `/`-separated, with no empty, `.` or `..` components.
//! `..` is resolved lexically; one that would climb above the top of the tree, an absolute
//! path, and a link whose target leads out of the tree are refused.

/// Why a path or a link target is refused (the end of an `UnsafeEntry` message).
pub type Refusal = &'static str;

/// Normalises an archive path: drops empty and `.` components, resolves `..` lexically.
/// An empty result (`"."`, `"./"`) is the top of the tree itself.
///
/// Refused: absolute paths, and `..` that leads above the top of the tree.
pub fn normalize(raw: &str) -> Result<String, Refusal> {
    if raw.starts_with('/') {
        return Err("absolute path");
    }
    resolve(&mut Vec::new(), raw)
}

/// Appends the components of `rel` to `base` (resolving `.` and `..`) and joins them.
fn resolve<'a>(base: &mut Vec<&'a str>, rel: &'a str) -> Result<String, Refusal> {
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if base.pop().is_none() {
                    return Err("`..` leads out of the tree");
                }
            }
            name => base.push(name),
        }
    }
    Ok(base.join("/"))
}

/// Checks a symbolic link at the normalised `path` whose target is `target`: the target,
/// taken relative to the link's directory, must stay inside the tree. Returns the target
/// resolved to a path in the tree.
pub fn check_symlink(path: &str, target: &str) -> Result<String, Refusal> {
    if target.starts_with('/') {
        return Err("symbolic link to an absolute path");
    }
    if target.is_empty() {
        return Err("symbolic link with an empty target");
    }
    let mut base: Vec<&str> = path.split('/').collect();
    base.pop(); // the link's own name: the target is relative to its directory
    resolve(&mut base, target).map_err(|_| "symbolic link that leads out of the tree")
}

/// Checks a hard link's target, an archive path: normalised, inside the tree, not the top.
pub fn check_hardlink(target: &str) -> Result<String, Refusal> {
    match normalize(target) {
        Ok(t) if t.is_empty() => Err("hard link to the top of the tree"),
        Ok(t) => Ok(t),
        Err(_) => Err("hard link that leads out of the tree"),
    }
}

/// A name for a message: in double quotes, with `"`, `\` and control characters escaped as
/// `{:?}` does (so a hostile name cannot draw on a terminal), without the Unicode tables
/// `{:?}` pulls into the wasm.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                out.push_str("\\u{");
                let hex = b"0123456789abcdef";
                let v = c as u32;
                let digits = if v > 0xff { 4 } else { 2 };
                for i in (0..digits).rev() {
                    out.push(char::from(hex[((v >> (4 * i)) & 0xf) as usize]));
                }
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The proper ancestors of a normalised path, shortest first: `a/b/c` → `a`, `a/b`.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    macro_rules! cases {
        ($f:ident: $($name:ident: $($arg:expr),+ => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($f($($arg),+), $want.map(String::from));
            }
        )*};
    }

    cases! { normalize:
        plain: "a/b.txt" => Ok::<_, Refusal>("a/b.txt");
        dot_prefix: "./a/./b/" => Ok::<_, Refusal>("a/b");
        doubled_slashes: "a//b" => Ok::<_, Refusal>("a/b");
        top: "./" => Ok::<_, Refusal>("");
        inner_dotdot: "a/../b" => Ok::<_, Refusal>("b");
        absolute: "/etc/x" => Err::<&str, _>("absolute path");
        dotdot: "../x" => Err::<&str, _>("`..` leads out of the tree");
        dotdot_after_normalisation: "a/./../../x" => Err::<&str, _>("`..` leads out of the tree");
    }

    cases! { check_symlink:
        sibling: "d/link", "f" => Ok::<_, Refusal>("d/f");
        up_one: "d/link", "../f" => Ok::<_, Refusal>("f");
        root: "evil", "/" => Err::<&str, _>("symbolic link to an absolute path");
        out: "d/link", "../../etc" => Err::<&str, _>("symbolic link that leads out of the tree");
        out_top: "link", ".." => Err::<&str, _>("symbolic link that leads out of the tree");
        to_top: "link", "." => Ok::<_, Refusal>("");
        empty: "link", "" => Err::<&str, _>("symbolic link with an empty target");
    }

    cases! { check_hardlink:
        inside: "d/f" => Ok::<_, Refusal>("d/f");
        escapes: "../f" => Err::<&str, _>("hard link that leads out of the tree");
        absolute_target: "/etc/passwd" => Err::<&str, _>("hard link that leads out of the tree");
        top_target: "." => Err::<&str, _>("hard link to the top of the tree");
    }

    #[test]
    fn quote_is_debug_for_ascii_and_controls() {
        for name in [
            "a b",
            "q\"uote\\",
            "line\nbreak\t\r\0",
            "\u{1b}[31mred",
            "\u{7f}",
            "grüße ✓",
        ] {
            assert_eq!(quote(name), format!("{name:?}"));
        }
    }

    #[test]
    fn ancestors_shortest_first() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(ancestors("a").count(), 0);
    }
}
