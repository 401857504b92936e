//! Property tests (native only: proptest does not build for wasm32-unknown-unknown):
//! round trips of every frame encoding, the JSON status reader against serde_json, and
//! sessions fed arbitrary events (never a panic; the rules hold).
#![cfg(not(target_arch = "wasm32"))]

mod core_support;

use core_support::*;
use kube_exec_wasm::{
    decode_base64, decode_binary, encode_base64, encode_binary, encode_close, parse_json, Channel,
    ErrorCode, Event, ExitStatus, Frame, MessageKind, Phase, Protocol, Session, SessionConfig,
    TerminalSize,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn channel() -> impl Strategy<Value = Channel> {
    prop::sample::select(Channel::ALL.to_vec())
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop::sample::select(vec![
        Protocol::V5,
        Protocol::V4,
        Protocol::V4Base64,
        Protocol::V1,
        Protocol::V1Base64,
        Protocol::None,
    ])
}

proptest! {
    #![proptest_config(config(2000))]

    /// decode(encode(f)) == f, binary: every channel, any payload (empty included).
    #[test]
    fn binary_round_trip(ch in channel(), payload in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut msg = Vec::new();
        encode_binary(ch, &payload, &mut msg);
        prop_assert_eq!(msg.len(), payload.len() + 1);
        prop_assert_eq!(decode_binary(&msg), Ok(Some(Frame::Data { channel: ch, payload: &payload })));
    }

    /// decode(encode(f)) == f, base64 text frames.
    #[test]
    fn base64_round_trip(ch in channel(), payload in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut msg = String::new();
        encode_base64(ch, &payload, &mut msg);
        prop_assert_eq!(decode_base64(&msg), Ok(Some((ch, payload))));
    }

    /// The v5 CLOSE signal round-trips for every channel.
    #[test]
    fn close_round_trip(ch in channel()) {
        let mut msg = Vec::new();
        encode_close(ch, &mut msg);
        prop_assert_eq!(decode_binary(&msg), Ok(Some(Frame::Close { channel: ch })));
    }

    /// Any bytes: a typed result, never a panic; what decodes re-encodes to the same bytes.
    #[test]
    fn binary_decode_total(msg in prop::collection::vec(any::<u8>(), 0..64)) {
        match decode_binary(&msg) {
            Ok(None) => prop_assert!(msg.is_empty()),
            Ok(Some(Frame::Data { channel, payload })) => {
                let mut again = Vec::new();
                encode_binary(channel, payload, &mut again);
                prop_assert_eq!(again, msg);
            }
            Ok(Some(Frame::Close { channel })) => prop_assert_eq!(msg, vec![255, channel as u8]),
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::ProtocolError),
        }
    }

    /// Any text: a typed result; what decodes re-encodes to the same text (canonical base64).
    #[test]
    fn base64_decode_total(msg in "[0-9a-zA-Z+/=\\-_!é]{0,40}") {
        match decode_base64(&msg) {
            Ok(None) => prop_assert!(msg.is_empty()),
            Ok(Some((ch, payload))) => {
                let mut again = String::new();
                encode_base64(ch, &payload, &mut again);
                prop_assert_eq!(again, msg);
            }
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::ProtocolError),
        }
    }

    /// Resize JSON round-trips for every valid size.
    #[test]
    fn resize_round_trip(cols in 1u16.., rows in 1u16..) {
        let size = TerminalSize::new(cols, rows).unwrap();
        prop_assert_eq!(TerminalSize::parse_json(size.to_json().as_bytes()), Ok(size));
        prop_assert_eq!(TerminalSize::from_f64(cols as f64, rows as f64), Ok(size));
    }
}

/// The field `k` of `o`, its key matched in any ASCII case as Go's encoding/json does (the
/// documents compared have at most one spelling per key: see [`keys_fold_apart`]).
fn field<'a>(
    o: &'a serde_json::Map<String, serde_json::Value>,
    k: &str,
) -> Option<&'a serde_json::Value> {
    o.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(k))
        .map(|(_, v)| v)
}

/// No object of the document has two keys that differ only in ASCII case (serde_json's map
/// keeps no order, so "the last one wins" cannot be told apart then).
fn keys_fold_apart(bytes: &[u8]) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(o) => {
                let keys: Vec<String> = o.keys().map(|k| k.to_ascii_lowercase()).collect();
                let mut unique = keys.clone();
                unique.sort();
                unique.dedup();
                unique.len() == keys.len() && o.values().all(walk)
            }
            serde_json::Value::Array(a) => a.iter().all(walk),
            _ => true,
        }
    }
    serde_json::from_slice::<serde_json::Value>(bytes).map_or(true, |v| walk(&v))
}

/// What parse_json should say, computed with serde_json (the reference).
fn reference(bytes: &[u8]) -> Result<ExitStatus, ()> {
    use serde_json::Value;
    let v: Value = serde_json::from_slice(bytes).map_err(|_| ())?;
    let obj = v.as_object().ok_or(())?;
    let text = |o: &serde_json::Map<String, Value>, k: &str| -> Result<String, ()> {
        match field(o, k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(()),
        }
    };
    let status = text(obj, "status")?;
    let reason = text(obj, "reason")?;
    let message = text(obj, "message")?;
    let causes: Vec<serde_json::Map<String, Value>> = match field(obj, "details") {
        None | Some(Value::Null) => vec![],
        Some(Value::Object(d)) => match field(d, "causes") {
            None | Some(Value::Null) => vec![],
            // Go decodes a null element as an empty cause.
            Some(Value::Array(a)) => a
                .iter()
                .map(|c| match c {
                    Value::Null => Ok(serde_json::Map::new()),
                    c => c.as_object().cloned().ok_or(()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(()),
        },
        Some(_) => return Err(()),
    };
    match status.as_str() {
        "Success" => Ok(ExitStatus::Success),
        "Failure" if reason == "NonZeroExitCode" => {
            for c in &causes {
                if text(c, "reason")? == "ExitCode" {
                    let m = text(c, "message")?;
                    if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(());
                    }
                    let code = m.trim_start_matches('0');
                    let code: u64 = if code.is_empty() {
                        0
                    } else {
                        code.parse().map_err(|_| ())?
                    };
                    let code = u8::try_from(code).map_err(|_| ())?;
                    return Ok(ExitStatus::NonZeroExit { code, message });
                }
            }
            Err(())
        }
        "Failure" => {
            let code = match field(obj, "code") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => {
                    let n = n.as_i64().filter(|n| i32::try_from(*n).is_ok()).ok_or(())?;
                    u16::try_from(n).ok()
                }
                Some(_) => return Err(()),
            };
            Ok(ExitStatus::Failure {
                reason,
                message,
                code,
            })
        }
        _ => Err(()),
    }
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Success".to_string()),
        Just("Failure".to_string()),
        Just("NonZeroExitCode".to_string()),
        Just("ExitCode".to_string()),
        Just("InternalError".to_string()),
        "[0-9]{1,4}",
        "\\PC{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0i64..70000).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        json_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "status", "reason", "message", "details", "causes", "code", "metadata", "x"
                    ]),
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

/// Status-shaped JSON: the fields a Status has, values of any type.
fn status_json() -> impl Strategy<Value = String> {
    use serde_json::{json, Value};
    (
        prop_oneof![Just(json!("Success")), Just(json!("Failure")), json_value()],
        prop_oneof![
            Just(json!("NonZeroExitCode")),
            Just(json!("InternalError")),
            json_value()
        ],
        json_value(),
        prop::collection::vec(
            (
                prop_oneof![Just(json!("ExitCode")), json_value()],
                prop_oneof![(0u32..300).prop_map(|n| json!(n.to_string())), json_value()],
            ),
            0..3,
        ),
        prop_oneof![Just(Value::Null), json_value()],
    )
        .prop_map(|(status, reason, message, causes, code)| {
            let causes: Vec<Value> = causes
                .into_iter()
                .map(|(r, m)| json!({"reason": r, "message": m}))
                .collect();
            json!({"metadata": {}, "status": status, "reason": reason, "message": message,
                   "details": {"causes": causes}, "code": code})
            .to_string()
        })
}

proptest! {
    #![proptest_config(config(3000))]

    /// The JSON status reader agrees with serde_json on Status-shaped documents.
    #[test]
    fn status_parser_matches_serde_json(doc in status_json()) {
        let mine = parse_json(doc.as_bytes()).map_err(|e| {
            assert_eq!(e.code(), ErrorCode::ProtocolError);
        });
        prop_assert_eq!(mine, reference(doc.as_bytes()), "{}", doc);
    }

    /// ...and on those documents cut short or with one byte changed.
    #[test]
    fn status_parser_matches_serde_json_mutated(doc in status_json(), at in any::<prop::sample::Index>(), byte in prop::sample::select(b"{}[]\",:0-9.eE\\ u".to_vec()), cut in any::<bool>()) {
        let mut bytes = doc.into_bytes();
        let i = at.index(bytes.len());
        if cut { bytes.truncate(i) } else { bytes[i] = byte }
        // serde_json range-checks every number (-1e309 fails); Go's decoder, and the core,
        // check only the syntax of numbers they do not read.
        let range = serde_json::from_slice::<serde_json::Value>(&bytes)
            .is_err_and(|e| e.to_string().contains("number out of range"));
        prop_assume!(!range);
        // serde_json reads "-0" as the float -0.0; Go and the core read the integer 0.
        prop_assume!(!bytes.windows(2).any(|w| w == b"-0"));
        prop_assume!(keys_fold_apart(&bytes));
        let mine = parse_json(&bytes).map_err(|_| ());
        prop_assert_eq!(mine, reference(&bytes), "{}", String::from_utf8_lossy(&bytes));
    }

    /// Arbitrary bytes: the parser returns, typed.
    #[test]
    fn status_parser_total(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Err(e) = parse_json(&bytes) {
            prop_assert_eq!(e.code(), ErrorCode::ProtocolError);
        }
    }
}

/// One event for a session.
#[derive(Clone, Debug)]
enum Op {
    Open(usize),
    Binary(Vec<u8>),
    Text(String),
    Route(bool, u8, usize),
    Close(u16),
    Error,
    Timeout(f64),
    Stdin(Vec<u8>),
    CloseStdin,
    Resize(u16, u16),
    Abort,
}

const ANSWERS: [&str; 8] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
    "",
    "bogus",
    "v3.channel.k8s.io",
];

fn op() -> impl Strategy<Value = Op> {
    let frame = (0u8..6, prop::collection::vec(any::<u8>(), 0..20)).prop_map(|(ch, mut p)| {
        let ch = if ch == 5 { 255 } else { ch };
        p.insert(0, ch);
        p
    });
    prop_oneof![
        1 => (0..ANSWERS.len()).prop_map(Op::Open),
        3 => frame.prop_map(Op::Binary),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(Op::Binary),
        2 => (channel(), prop::collection::vec(any::<u8>(), 0..20)).prop_map(|(c, p)| {
            let mut s = String::new();
            encode_base64(c, &p, &mut s);
            Op::Text(s)
        }),
        1 => "[0-9a-zA-Z+/=]{0,12}".prop_map(Op::Text),
        1 => (any::<bool>(), any::<u8>(), 0usize..40_000_000).prop_map(|(b, f, l)| Op::Route(b, f, l)),
        1 => prop::sample::select(vec![1000u16, 1001, 1005, 1006, 1011, 4000]).prop_map(Op::Close),
        1 => Just(Op::Error),
        1 => (0.0f64..100_000.0).prop_map(Op::Timeout),
        2 => prop::collection::vec(any::<u8>(), 0..30).prop_map(Op::Stdin),
        1 => Just(Op::CloseStdin),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(c, r)| Op::Resize(c, r)),
        1 => Just(Op::Abort),
    ]
}

/// Runs `op` at `now` (the time of the latest timer; a timer moves it).
fn run(session: &mut Session, op: &Op, now: &mut f64) -> Vec<Event> {
    match op {
        Op::Open(i) => session.handle_open(ANSWERS[*i], 0.0),
        Op::Binary(b) => session.handle_binary(b, *now),
        Op::Text(t) => session.handle_text(t, *now),
        Op::Route(b, f, l) => {
            let kind = if *b {
                MessageKind::Binary
            } else {
                MessageKind::Text
            };
            let _ = session.route(kind, *f, *l, *now);
        }
        Op::Close(c) => session.handle_close(*c, "bye", *now),
        Op::Error => session.handle_error(*now),
        Op::Timeout(t) => {
            *now = *t;
            session.handle_timeout(*t)
        }
        Op::Stdin(d) => {
            let _ = session.send_stdin(d, *now);
        }
        Op::CloseStdin => {
            let _ = session.close_stdin(*now);
        }
        Op::Resize(c, r) => {
            if let Ok(s) = TerminalSize::new(*c, *r) {
                let _ = session.resize(s, *now);
            }
        }
        Op::Abort => session.abort(*now),
    }
    while session.poll_transmit().is_some() {}
    std::iter::from_fn(|| session.poll_event()).collect()
}

proptest! {
    #![proptest_config(config(3000))]

    /// Arbitrary events: no panic, one end at most, nothing after it, errors latch, and a
    /// v4/v5 session never exits without data on the error channel.
    #[test]
    fn session_survives_arbitrary_events(
        ops in prop::collection::vec(op(), 0..40),
        stdin in any::<bool>(),
        tty in any::<bool>(),
        keepalive in prop::option::of(1.0f64..1000.0),
        ready in prop::option::of(1.0f64..1000.0),
        close_wait in prop::option::of(0.0f64..1000.0),
        connect in prop::option::of(0.0f64..1000.0),
    ) {
        let mut s = Session::new(SessionConfig {
            connect_timeout_ms: connect,
            stdin,
            tty,
            keepalive_ms: keepalive,
            ready_timeout_ms: ready,
            status_close_timeout_ms: close_wait,
            offer: Protocol::NAMED.to_vec(),
            ..SessionConfig::default()
        });
        s.handle_connecting(0.0);
        let mut ended: Option<Event> = None;
        let mut status_seen = false;
        let mut now = 0.0;
        for op in &ops {
            if let Op::Binary(b) = op {
                status_seen |= b.len() > 1 && b[0] == 3 && s.phase() != Phase::Opening;
            }
            if let Op::Text(t) = op {
                status_seen |= t.len() > 1 && t.starts_with('3');
            }
            let events = run(&mut s, op, &mut now);
            for e in events {
                prop_assert!(ended.is_none(), "event after the end: {e:?}");
                match &e {
                    Event::Exited(_) => {
                        let p = s.protocol().unwrap();
                        prop_assert!(
                            status_seen || !p.status_is_json(),
                            "{p:?} exited without a status"
                        );
                        ended = Some(e);
                    }
                    Event::Failed(_) => ended = Some(e),
                    _ => {}
                }
            }
            if let Some(Event::Failed(err)) = &ended {
                prop_assert_eq!(s.error(), Some(err));
                prop_assert_eq!(s.send_stdin(b"x", now), Err(err.clone()));
                prop_assert_eq!(s.poll_timeout(), None);
            }
            prop_assert_eq!(s.is_finished(), ended.is_some());
        }
    }

    /// The routed path (stdout/stderr never enter the session) and the native path give the
    /// same bytes and the same end, for any frames.
    #[test]
    fn routed_and_native_agree(
        p in protocol(),
        frames in prop::collection::vec((channel(), prop::collection::vec(any::<u8>(), 0..20)), 0..30),
        junk in prop::option::of(prop::collection::vec(any::<u8>(), 0..6)),
        code in prop::sample::select(vec![1000u16, 1006]),
    ) {
        let offer: Vec<Protocol> = Some(p).filter(|p| *p != Protocol::None).into_iter().collect();
        let mut pairs: Vec<Pair> = GLUES.iter().map(|g| Pair::new(core_support::config(&offer, true, true), *g)).collect();
        for pair in &mut pairs {
            pair.open(p.name());
            for (ch, payload) in &frames {
                pair.recv(*ch, payload);
            }
            if let Some(j) = &junk {
                pair.recv_binary(j);
            }
            pair.close(code);
        }
        prop_assert_eq!(&pairs[0].stdout, &pairs[1].stdout);
        prop_assert_eq!(&pairs[0].stderr, &pairs[1].stderr);
        prop_assert_eq!(pairs[0].end(), pairs[1].end());
        prop_assert!(pairs[0].end().is_some());
        let wanted: Vec<u8> = frames.iter().filter(|(c, _)| *c == Channel::Stdout).flat_map(|(_, d)| d.clone()).collect();
        // Without junk (which may itself be a stdout frame) and without a protocol error,
        // stdout is exactly the stdout frames.
        if junk.is_none() && pairs[0].session.error().is_none_or(|e| e.code() != ErrorCode::ProtocolError) {
            prop_assert_eq!(&pairs[0].stdout, &wanted);
        }
    }

    /// Any text cut into any frames arrives byte-exact on every protocol.
    #[test]
    fn output_split_anywhere_is_byte_exact(
        p in protocol(),
        text in "\\PC{0,40}",
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let offer: Vec<Protocol> = Some(p).filter(|p| *p != Protocol::None).into_iter().collect();
        for glue in GLUES {
            let mut pair = Pair::new(core_support::config(&offer, false, false), glue);
            pair.open(p.name());
            for w in points.windows(2) {
                pair.recv(Channel::Stdout, &bytes[w[0]..w[1]]);
            }
            if p.status_is_json() {
                pair.recv(Channel::Error, SUCCESS);
            }
            pair.close(1000);
            prop_assert_eq!(&pair.stdout, bytes);
            prop_assert_eq!(pair.exit_status(), ExitStatus::Success);
        }
    }
}

// ---- no credentials in errors ----------------------------------------------------------

/// A secret no fixed message or hint can contain (upper case; the noise is lower case).
fn secret() -> impl Strategy<Value = String> {
    "[A-Z]{4}".prop_map(|s| format!("S3CR3T{s}"))
}

/// Bits of URL, delimiters included: `:`, `/`, `\`, `@`, `?`, `#`, `%`, brackets, spaces.
fn url_noise() -> impl Strategy<Value = String> {
    "[a-z0-9:/\\\\@?#.%\\[\\] _-]{0,10}"
}

/// What might start a server string, URL-shaped or not.
fn url_start() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "https://",
        "HTTP://",
        "wss://",
        "ws://",
        "//",
        "https:/",
        "https:",
        "https:\\\\",
        "https:\\",
        "ftp://",
        "/",
        "/k8s/",
        "h:6443/",
        "user:",
    ])
}

/// Where the secret sits: user info (anything followed by an `@` before any `?` or `#`),
/// or a query or a fragment.
#[derive(Debug, Clone)]
enum Place {
    UserInfo { before_at: String },
    Query { mark: char, before: String },
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        "[a-z0-9:/\\\\@.%\\[\\] _-]{0,8}".prop_map(|before_at| Place::UserInfo { before_at }),
        (prop::sample::select(vec!['?', '#']), url_noise())
            .prop_map(|(mark, before)| Place::Query { mark, before }),
    ]
}

proptest! {
    #![proptest_config(config(3000))]

    /// Whatever the shape of the server string, an error about it (message, `Display`,
    /// `Debug`, hint) never holds user info, a query or a fragment the caller put in it.
    #[test]
    fn server_errors_never_echo_credentials(
        start in url_start(),
        head in url_noise(),
        secret in secret(),
        place in place(),
        tail in url_noise(),
    ) {
        let server = match &place {
            Place::UserInfo { before_at } => format!("{start}{head}{secret}{before_at}@{tail}"),
            Place::Query { mark, before } => format!("{start}{head}{mark}{before}{secret}{tail}"),
        };
        let req = kube_exec_wasm::ExecRequest::exec("default", "demo", ["sh"]);
        let page = "http://localhost:8080";
        for result in [req.websocket_url(Some(&server), page), req.pod_url(Some(&server), page)] {
            if let Err(e) = result {
                for shown in [e.to_string(), format!("{e:?}"), e.hint().to_string()] {
                    prop_assert!(!shown.contains(&secret), "{server:?} -> {shown}");
                }
            }
        }
    }
}

// ---- the tar codec: build → parse ------------------------------------------------------

mod tar_round_trip {
    use kube_exec_wasm::archive::{Builder, Entry, EntryKind, Parser, Spec, SpecKind};
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z0-9._-]{1,12}", "[a-zé✓ü ]{1,6}", "[a-z]{90,130}",]
            .prop_filter("not . or ..", |c| c != "." && c != "..")
    }

    fn spec() -> impl Strategy<Value = (Spec, Vec<u8>)> {
        (
            prop::collection::vec(component(), 1..4),
            0u8..4,
            prop::collection::vec(any::<u8>(), 0..1300),
            0u32..0o7777,
            0u64..(1 << 33),
        )
            .prop_map(|(parts, kind, body, mode, mtime)| {
                let path = parts.join("/");
                let (kind, body) = match kind {
                    0 | 1 => (
                        SpecKind::File {
                            size: body.len() as u64,
                        },
                        body,
                    ),
                    2 => (SpecKind::Directory, vec![]),
                    _ => (
                        SpecKind::Symlink {
                            target: parts[parts.len() - 1].clone(),
                        },
                        vec![],
                    ),
                };
                (
                    Spec {
                        path,
                        kind,
                        mode,
                        mtime,
                    },
                    body,
                )
            })
    }

    /// Parses in pieces of `piece` bytes: every entry with its body.
    fn parse(bytes: &[u8], piece: usize) -> Vec<(Entry, Vec<u8>)> {
        let mut p = Parser::new();
        let mut out: Vec<(Entry, Vec<u8>)> = Vec::new();
        for mut chunk in bytes.chunks(piece) {
            while !chunk.is_empty() {
                let (n, body) = p.push(chunk).expect("our own archive parses");
                if let Some(b) = body {
                    out.last_mut().unwrap().1.extend_from_slice(b);
                }
                chunk = &chunk[n..];
                out.extend(std::iter::from_fn(|| p.poll_entry()).map(|e| (e, vec![])));
            }
        }
        p.finish().expect("ends cleanly");
        assert!(p.is_done());
        out
    }

    proptest! {
        #![proptest_config(super::config(256))]

        #[test]
        fn build_then_parse(entries in prop::collection::vec(spec(), 0..12), piece in 1usize..2000) {
            // Paths must be unique, and nothing may sit under a symlink.
            let mut seen = std::collections::BTreeSet::new();
            let entries: Vec<_> = entries.into_iter().filter(|(s, _)| seen.insert(s.path.clone())).collect();
            let links: Vec<String> = entries.iter().filter(|(s, _)| matches!(s.kind, SpecKind::Symlink { .. })).map(|(s, _)| s.path.clone()).collect();
            let entries: Vec<_> = entries.into_iter().filter(|(s, _)| !links.iter().any(|l| s.path.starts_with(&format!("{l}/")))).collect();
            let (specs, bodies): (Vec<Spec>, Vec<Vec<u8>>) = entries.into_iter().unzip();
            let builder = Builder::new(specs.clone()).unwrap();
            let files: Vec<&[u8]> = specs.iter().zip(&bodies).filter(|(s, _)| matches!(s.kind, SpecKind::File { .. })).map(|(_, b)| b.as_slice()).collect();
            let bytes = builder.to_bytes(&files).unwrap();
            prop_assert_eq!(bytes.len() as u64, builder.len());
            prop_assert_eq!(bytes.len() % 512, 0);
            let parsed = parse(&bytes, piece);
            prop_assert_eq!(parsed.len(), specs.len());
            for ((spec, body), (entry, got)) in specs.iter().zip(&bodies).zip(&parsed) {
                prop_assert_eq!(&entry.path, &spec.path);
                prop_assert_eq!(entry.mtime, spec.mtime);
                match &spec.kind {
                    SpecKind::File { size } => {
                        prop_assert_eq!(entry.kind, EntryKind::File);
                        prop_assert_eq!(entry.size, *size);
                        prop_assert_eq!(entry.mode, spec.mode);
                        prop_assert_eq!(got, body);
                    }
                    SpecKind::Directory => {
                        prop_assert_eq!(entry.kind, EntryKind::Directory);
                        prop_assert_eq!(entry.mode, spec.mode);
                    }
                    SpecKind::Symlink { target } => {
                        prop_assert_eq!(entry.kind, EntryKind::Symlink);
                        prop_assert_eq!(entry.link_target.as_deref(), Some(target.as_str()));
                    }
                    SpecKind::HardLink { target } => {
                        prop_assert_eq!(entry.kind, EntryKind::HardLink);
                        prop_assert_eq!(entry.link_target.as_deref(), Some(target.as_str()));
                    }
                }
            }
        }
    }

    /// GNU tar (when installed) reads the builder's archives as we meant them: long names,
    /// non-ASCII names, modes, sizes.
    #[test]
    fn gnu_tar_lists_what_we_built() {
        let Ok(out) = std::process::Command::new("tar").arg("--version").output() else {
            eprintln!("SKIP: no tar on this machine");
            return;
        };
        if !String::from_utf8_lossy(&out.stdout).contains("GNU tar") {
            eprintln!("SKIP: not GNU tar");
            return;
        }
        let long = format!("{}/{}", "d".repeat(150), "f".repeat(120));
        let specs = vec![
            Spec {
                path: "dir".into(),
                kind: SpecKind::Directory,
                mode: 0o750,
                mtime: 0,
            },
            Spec {
                path: "dir/grüße ✓.txt".into(),
                kind: SpecKind::File { size: 3 },
                mode: 0o600,
                mtime: 0,
            },
            Spec {
                path: long.clone(),
                kind: SpecKind::File { size: 0 },
                mode: 0o644,
                mtime: 0,
            },
            Spec {
                path: "dir/link".into(),
                kind: SpecKind::Symlink {
                    target: "grüße ✓.txt".into(),
                },
                mode: 0,
                mtime: 0,
            },
        ];
        let b = Builder::new(specs).unwrap();
        let bytes = b.to_bytes(&[b"abc", b""]).unwrap();
        use std::io::Write;
        let mut child = std::process::Command::new("tar")
            .args(["-tvf", "-", "--numeric-owner"])
            .env("TZ", "UTC")
            .env("LC_ALL", "C.UTF-8")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let listing = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<(&str, &str)> = listing
            .lines()
            .map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols[0], cols[2])
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("drwxr-x---", "0"),
                ("-rw-------", "3"),
                ("-rw-r--r--", "0"),
                ("lrwxrwxrwx", "0")
            ]
        );
        assert!(listing.contains("dir/grüße ✓.txt"));
        assert!(listing.contains(&long));
        assert!(listing.contains("dir/link -> grüße ✓.txt"));
    }
}
