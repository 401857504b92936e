//! The error codes are one table in Rust (src/error.rs); everything else that names them must
//! name exactly those: the `.d.ts` union (generated from the table), the console's words for
//! each (www/src/messages.ts), the package README's table, the TypeScript contract test, and
//! the codes the JavaScript glue raises itself (only real ones).
//!
//! The built `.d.ts` is checked by scripts/test.d/55-pkg-smoke.sh, which runs the ignored test
//! below with `KEW_DTS` set to the file it built.

use std::collections::BTreeSet;
use std::path::Path;

use kube_exec_wasm::ErrorCode;

fn codes() -> Vec<&'static str> {
    ErrorCode::ALL.iter().map(|c| c.as_str()).collect()
}

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The text without its `/* … */` comments.
fn without_comments(text: &str) -> String {
    let mut text = text.to_string();
    while let Some(a) = text.find("/*") {
        let b = text[a..].find("*/").expect("a comment does not end");
        text.replace_range(a..a + b + 2, "");
    }
    text
}

/// Every `"Name"` of the text of a TypeScript union of string literals.
fn union_members(union: &str) -> Vec<String> {
    without_comments(union)
        .split('|')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let name = m.strip_prefix('"').and_then(|m| m.strip_suffix('"'));
            name.unwrap_or_else(|| panic!("not a string member: {m:?}"))
                .to_string()
        })
        .collect()
}

/// The union of `export type ExecErrorCode = …;` in a `.d.ts`.
fn exec_error_code_union(dts: &str) -> Vec<String> {
    let decl = "export type ExecErrorCode =";
    let start = dts.find(decl).expect("no `export type ExecErrorCode`");
    let body = without_comments(&dts[start + decl.len()..]);
    union_members(&body[..body.find(';').expect("the union does not end")])
}

/// Each name once, and exactly the core's codes: the missing and the extra ones reported.
fn assert_names_exactly_the_codes(what: &str, names: &[String]) {
    let got: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        got.len(),
        names.len(),
        "{what} names a code twice: {names:?}"
    );
    let want: BTreeSet<&str> = codes().into_iter().collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, not codes of the core {extra:?}"
    );
}

/// Each `open ... close` span's inner text, e.g. every `case '…':` label.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(a) = rest.find(open) {
        rest = &rest[a + open.len()..];
        let Some(b) = rest.find(close) else { break };
        out.push(&rest[..b]);
        rest = &rest[b + close.len()..];
    }
    out
}

#[test]
fn the_generated_union_is_the_table() {
    let names: Vec<String> = union_members(ErrorCode::TS_UNION);
    assert_eq!(names, codes());
    assert_eq!(exec_error_code_union(ErrorCode::TS_TYPE), codes());
    // Each member carries its code's doc comment.
    assert_eq!(
        ErrorCode::TS_UNION.matches("/**").count(),
        ErrorCode::ALL.len()
    );
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
    }
}

#[test]
fn the_sdk_declares_the_generated_union_only() {
    let web = read("src/web/mod.rs");
    assert!(
        web.contains("ErrorCode::TS_TYPE"),
        "src/web/mod.rs must declare ExecErrorCode with the generated ErrorCode::TS_TYPE"
    );
    assert!(
        !web.contains("export type ExecErrorCode"),
        "src/web/mod.rs keeps a hand-written ExecErrorCode list"
    );
}

#[test]
fn the_console_has_words_for_exactly_the_codes() {
    let messages = read("www/src/messages.ts");
    // Error codes are PascalCase; the file's other switches (entry types, options) are not.
    let cases: Vec<String> = between(&messages, "case '", "':")
        .into_iter()
        .filter(|c| c.starts_with(|ch: char| ch.is_ascii_uppercase()))
        .map(str::to_string)
        .collect();
    assert_names_exactly_the_codes("www/src/messages.ts `case '…':`", &cases);
}

#[test]
fn the_package_readme_has_a_row_for_exactly_the_codes() {
    let readme = read("npm/README.md");
    let rows: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(name, _)| name))
        .filter(|c| c.starts_with(|ch: char| ch.is_ascii_uppercase()))
        .map(str::to_string)
        .collect();
    assert_names_exactly_the_codes("npm/README.md error table", &rows);
}

#[test]
fn the_typescript_contract_expects_exactly_the_codes() {
    let contract = read("types-test/contract.ts");
    let block = between(&contract, "Equal<\n    ExecErrorCode,", ">\n>(true);");
    assert_eq!(
        block.len(),
        1,
        "types-test/contract.ts: no Equal<ExecErrorCode, …> block"
    );
    assert_names_exactly_the_codes("types-test/contract.ts", &union_members(block[0]));
}

#[test]
fn the_javascript_glue_raises_only_real_codes() {
    let mut named = Vec::new();
    for file in ["src/web/glue.js", "src/web/transfer.js", "src/web/zip.js"] {
        for code in between(&read(file), "code: \"", "\"") {
            assert!(
                ErrorCode::from_name(code).is_some(),
                "{file} raises the code {code:?}, which the core does not have"
            );
            named.push(code.to_string());
        }
    }
    // The panic path's code, and zip.js's option check: the scan sees them.
    assert!(named.iter().any(|c| c == "Internal"), "{named:?}");
    assert!(named.iter().any(|c| c == "InvalidOptions"), "{named:?}");
}

/// Run by scripts/test.d/55-pkg-smoke.sh on the `.d.ts` it built (`KEW_DTS`).
#[test]
#[ignore = "needs the built .d.ts: KEW_DTS=pkg/kube_exec_wasm.d.ts"]
fn the_built_dts_union_names_exactly_the_codes() {
    let path = std::env::var("KEW_DTS").expect("KEW_DTS: the built .d.ts to check");
    let dts = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_names_exactly_the_codes(&path, &exec_error_code_union(&dts));
}

/// The checks above see what they check: a list with a code missing, or one extra, fails.
#[test]
fn a_list_that_differs_fails() {
    let mut names: Vec<String> = codes().into_iter().map(str::to_string).collect();
    names.pop();
    assert!(std::panic::catch_unwind(|| assert_names_exactly_the_codes("x", &names)).is_err());
    let mut names: Vec<String> = codes().into_iter().map(str::to_string).collect();
    names.push("Timedout".into());
    assert!(std::panic::catch_unwind(|| assert_names_exactly_the_codes("x", &names)).is_err());
    let mut names: Vec<String> = codes().into_iter().map(str::to_string).collect();
    names.push(names[0].clone());
    assert!(std::panic::catch_unwind(|| assert_names_exactly_the_codes("x", &names)).is_err());
}
