//! The session's unit tests: literal frames in, literal frames out.

use super::*;
use crate::frame::{self, MAX_CLIENT_MESSAGE, MAX_FRAME_LEN};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn config(stdin: bool, tty: bool) -> SessionConfig {
    SessionConfig {
        stdin,
        tty,
        ..SessionConfig::default()
    }
}

fn open(protocol: Protocol, stdin: bool, tty: bool) -> Session {
    // Protocol::None: offer nothing, the server answers nothing.
    let offer = Some(protocol).filter(|p| *p != Protocol::None);
    let mut s = Session::new(SessionConfig {
        offer: offer.into_iter().collect(),
        ..config(stdin, tty)
    });
    s.handle_open(protocol.name(), 0.0);
    assert_eq!(s.poll_event(), Some(Event::Opened(protocol)));
    s
}

fn transmits(s: &mut Session) -> Vec<Transmit> {
    core::iter::from_fn(|| s.poll_transmit()).collect()
}

fn bin(bytes: &[u8]) -> Transmit {
    Transmit::Binary(bytes.to_vec())
}

fn text(s: &str) -> Transmit {
    Transmit::Text(s.to_string())
}

#[test]
fn stdin_direct_only_when_send_stdin_would_send_one_frame_now() {
    let mut s = open(Protocol::V5, true, false);
    assert!(!s.send_stdin_direct(0, 0.0), "empty data sends nothing");
    assert!(s.send_stdin_direct(3, 0.0));
    assert!(
        !s.send_stdin_direct((1 << 20) + 1, 0.0),
        "split by send_stdin"
    );
    s.send_stdin(b"a", 0.0).unwrap();
    assert!(!s.send_stdin_direct(1, 0.0), "a queued frame goes first");
    assert_eq!(transmits(&mut s), vec![bin(b"\x00a")]);
    assert!(s.send_stdin_direct(1, 0.0));
    s.close_stdin(0.0).unwrap();
    assert!(!s.send_stdin_direct(1, 0.0), "stdin closed");

    assert!(
        !open(Protocol::V4Base64, true, false).send_stdin_direct(1, 0.0),
        "base64"
    );
    assert!(
        !open(Protocol::V5, false, false).send_stdin_direct(1, 0.0),
        "no stdin"
    );
    let mut opening = Session::new(config(true, false));
    assert!(!opening.send_stdin_direct(1, 0.0), "queued before open");
    let mut s = open(Protocol::V5, true, false);
    s.abort(0.0);
    assert!(!s.send_stdin_direct(1, 0.0), "ended");
}

/// `name: protocol, (kind, first byte, len) => route, phase after`
macro_rules! routes {
    ($($name:ident: $p:ident, ($kind:ident, $first:expr, $len:expr) => $route:ident, $phase:ident;)*) => {$(
        #[test]
        fn $name() {
            let mut s = open(Protocol::$p, false, false);
            assert_eq!(s.route(MessageKind::$kind, $first, $len, 0.0), Route::$route);
            assert_eq!(s.phase(), Phase::$phase);
            if Phase::$phase == Phase::Failed {
                assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::ProtocolError));
                assert_eq!(
                    transmits(&mut s),
                    vec![Transmit::Close { code: close_code::PROTOCOL_ERROR, reason: "protocol error".into() }]
                );
            }
        }
    )*};
}

routes! {
    r_stdout: V5, (Binary, 1, 6) => Stdout, Open;
    r_stderr: V5, (Binary, 2, 2) => Stderr, Open;
    r_status: V5, (Binary, 3, 40) => Deliver, Open;
    r_ready_stdout: V5, (Binary, 1, 1) => Ignore, Open;
    r_ready_stderr: V4, (Binary, 2, 1) => Ignore, Open;
    r_ready_error: V4, (Binary, 3, 1) => Ignore, Open;
    r_empty_stdin: V4, (Binary, 0, 1) => Ignore, Open;
    r_empty_message: V5, (Binary, 0, 0) => Ignore, Open;
    r_max_len: V5, (Binary, 1, MAX_FRAME_LEN) => Stdout, Open;
    r_oversize: V5, (Binary, 1, MAX_FRAME_LEN + 1) => Ignore, Failed;
    r_server_stdin: V5, (Binary, 0, 2) => Ignore, Failed;
    r_server_resize: V5, (Binary, 4, 2) => Ignore, Failed;
    r_server_close: V5, (Binary, 255, 2) => Ignore, Failed;
    r_channel_7: V5, (Binary, 7, 2) => Ignore, Failed;
    r_channel_5_empty: V4, (Binary, 5, 1) => Ignore, Failed;
    r_text_on_binary: V5, (Text, b'1', 5) => Ignore, Failed;
    r_b64_stdout: V4Base64, (Text, b'1', 9) => Stdout, Open;
    r_b64_stderr: V1Base64, (Text, b'2', 5) => Stderr, Open;
    r_b64_status: V4Base64, (Text, b'3', 30) => Deliver, Open;
    r_b64_ready: V4Base64, (Text, b'1', 1) => Ignore, Open;
    r_b64_binary: V4Base64, (Binary, 1, 5) => Ignore, Failed;
    r_b64_channel_raw_byte: V4Base64, (Text, 1, 5) => Ignore, Failed;
    r_b64_channel_9: V1Base64, (Text, b'9', 5) => Ignore, Failed;
    r_none_binary: None, (Binary, 1, 3) => Stdout, Open;
}

#[test]
fn queued_before_open_then_flushed_in_order() {
    let mut s = Session::new(config(true, true));
    s.send_stdin(b"ls\n", 0.0).unwrap();
    s.resize(TerminalSize::new(80, 24).unwrap(), 0.0).unwrap();
    s.send_stdin(b"", 0.0).unwrap();
    s.send_stdin(b"pwd\n", 0.0).unwrap();
    assert_eq!(transmits(&mut s), vec![]);
    assert_eq!(s.phase(), Phase::Opening);
    s.handle_open("v5.channel.k8s.io", 10.0);
    assert_eq!(s.poll_event(), Some(Event::Opened(Protocol::V5)));
    assert_eq!(
        transmits(&mut s),
        vec![
            bin(b"\x00ls\n"),
            bin(b"\x04{\"Width\":80,\"Height\":24}\n"),
            bin(b"\x00pwd\n"),
        ]
    );
}

#[test]
fn base64_transmits() {
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V4Base64],
        ..config(true, true)
    });
    s.send_stdin(b"foo\n", 0.0).unwrap();
    s.handle_open("v4.base64.channel.k8s.io", 0.0);
    s.resize(TerminalSize::new(80, 24).unwrap(), 0.0).unwrap();
    assert_eq!(
        transmits(&mut s),
        vec![
            text("0Zm9vCg=="),
            text("4eyJXaWR0aCI6ODAsIkhlaWdodCI6MjR9Cg==")
        ]
    );
    assert_eq!(
        s.close_stdin(0.0).unwrap_err().code(),
        ErrorCode::HalfCloseUnsupported
    );
    assert_eq!(s.phase(), Phase::Open);
}

#[test]
fn close_stdin_v5_is_ff00_and_idempotent() {
    let mut s = open(Protocol::V5, true, false);
    s.send_stdin(b"x", 0.0).unwrap();
    s.close_stdin(0.0).unwrap();
    s.close_stdin(0.0).unwrap();
    assert_eq!(transmits(&mut s), vec![bin(b"\x00x"), bin(b"\xff\x00")]);
    assert_eq!(s.phase(), Phase::StdinClosed);
    assert_eq!(
        s.send_stdin(b"y", 0.0).unwrap_err().code(),
        ErrorCode::NotOpen
    );
    assert_eq!(transmits(&mut s), vec![]);
}

#[test]
fn close_stdin_before_open() {
    // v5-only offer: queued.
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V5],
        ..config(true, false)
    });
    s.send_stdin(b"a", 0.0).unwrap();
    s.close_stdin(0.0).unwrap();
    assert_eq!(
        s.send_stdin(b"b", 0.0).unwrap_err().code(),
        ErrorCode::NotOpen
    );
    s.handle_open("v5.channel.k8s.io", 0.0);
    assert_eq!(transmits(&mut s), vec![bin(b"\x00a"), bin(b"\xff\x00")]);
    assert_eq!(s.phase(), Phase::StdinClosed);
    // Default offer includes v4: refused before open, nothing queued.
    let mut s = Session::new(config(true, false));
    assert_eq!(s.close_stdin(0.0).unwrap_err().code(), ErrorCode::NotOpen);
    // v5-only offer, but the server answered nothing: the EOF cannot be delivered.
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V5],
        ..config(true, false)
    });
    s.close_stdin(0.0).unwrap();
    s.handle_open("", 0.0);
    assert_eq!(s.poll_event(), Some(Event::Opened(Protocol::None)));
    let Some(Event::Failed(e)) = s.poll_event() else {
        panic!("not failed")
    };
    assert_eq!(e.code(), ErrorCode::HalfCloseUnsupported);
    assert_eq!(
        transmits(&mut s),
        vec![Transmit::Close {
            code: close_code::OTHER,
            reason: "cannot close stdin".into()
        }]
    );
}

#[test]
fn refusals_do_not_end_the_session() {
    let mut s = open(Protocol::V4, false, false);
    let size = TerminalSize::new(80, 24).unwrap();
    assert_eq!(
        s.resize(size, 0.0).unwrap_err().code(),
        ErrorCode::InvalidOptions
    );
    assert_eq!(
        s.send_stdin(b"x", 0.0).unwrap_err().code(),
        ErrorCode::InvalidOptions
    );
    assert_eq!(
        s.close_stdin(0.0).unwrap_err().code(),
        ErrorCode::InvalidOptions
    );
    assert_eq!(s.phase(), Phase::Open);
    assert_eq!(s.poll_event(), None);
    assert_eq!(transmits(&mut s), vec![]);
}

#[test]
fn pending_bound() {
    let mut s = Session::new(SessionConfig {
        max_pending_bytes: 10,
        ..config(true, true)
    });
    s.send_stdin(&[7; 10], 0.0).unwrap();
    assert_eq!(
        s.send_stdin(b"x", 0.0).unwrap_err().code(),
        ErrorCode::BufferFull
    );
    let size = TerminalSize::new(1, 1).unwrap();
    assert_eq!(
        s.resize(size, 0.0).unwrap_err().code(),
        ErrorCode::BufferFull
    );
    assert_eq!(s.phase(), Phase::Opening);
    s.handle_open("v4.channel.k8s.io", 0.0);
    let mut want = vec![0u8];
    want.extend([7; 10]);
    assert_eq!(transmits(&mut s), vec![Transmit::Binary(want)]);
    // After open, writes go straight out: no bound.
    s.send_stdin(&[1; 100], 0.0).unwrap();
    assert_eq!(transmits(&mut s).len(), 1);
}

#[test]
fn big_stdin_is_split() {
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V5],
        max_stdin_frame: 4,
        ..config(true, false)
    });
    s.handle_open("v5.channel.k8s.io", 0.0);
    s.send_stdin(b"abcdefghij", 0.0).unwrap();
    assert_eq!(
        transmits(&mut s),
        vec![bin(b"\x00abcd"), bin(b"\x00efgh"), bin(b"\x00ij")]
    );
}

/// Every message the default session sends fits in one unfragmented browser message
/// (see `MAX_CLIENT_MESSAGE`), on binary and base64 protocols, and the payloads add up to
/// exactly what was written.
#[test]
fn default_stdin_frames_are_never_fragmented_by_a_browser() {
    for (protocol, name) in [
        (Protocol::V5, "v5.channel.k8s.io"),
        (Protocol::V4Base64, "v4.base64.channel.k8s.io"),
    ] {
        let mut s = Session::new(SessionConfig {
            offer: vec![protocol],
            ..config(true, false)
        });
        s.handle_open(name, 0.0);
        let data: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i % 251) as u8).collect();
        s.send_stdin(&data, 0.0).unwrap();
        let mut got = Vec::new();
        for t in transmits(&mut s) {
            match t {
                Transmit::Binary(b) => {
                    assert!(b.len() <= MAX_CLIENT_MESSAGE, "{name}: {} bytes", b.len());
                    got.extend_from_slice(&b[1..]);
                }
                Transmit::Text(t) => {
                    assert!(t.len() <= MAX_CLIENT_MESSAGE, "{name}: {} chars", t.len());
                    let (_, payload) = frame::decode_base64(&t).unwrap().unwrap();
                    got.extend_from_slice(&payload);
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(got, data, "{name}");
    }
    let mut s = open(Protocol::V5, true, false);
    assert!(s.send_stdin_direct(MAX_CLIENT_MESSAGE - 1, 0.0));
    assert!(!s.send_stdin_direct(MAX_CLIENT_MESSAGE, 0.0));
}

#[test]
fn invalid_offer_fails_at_once() {
    for offer in [
        vec![Protocol::None],
        vec![Protocol::V5, Protocol::V4, Protocol::V5],
    ] {
        let mut s = Session::new(SessionConfig {
            offer,
            ..SessionConfig::default()
        });
        assert_eq!(s.phase(), Phase::Failed);
        let Some(Event::Failed(e)) = s.poll_event() else {
            panic!("not failed")
        };
        assert_eq!(e.code(), ErrorCode::InvalidOptions);
        assert_eq!(s.send_stdin(b"x", 0.0), Err(e));
    }
}

#[test]
fn ready_timeout() {
    let mut s = Session::new(SessionConfig {
        ready_timeout_ms: Some(500.0),
        ..SessionConfig::default()
    });
    assert_eq!(s.poll_timeout(), None);
    s.handle_open("v5.channel.k8s.io", 1000.0);
    assert_eq!(s.poll_timeout(), Some(1500.0));
    s.handle_timeout(1499.0);
    assert_eq!(s.phase(), Phase::Open);
    s.handle_timeout(1500.0);
    assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::Timeout));
    assert_eq!(s.poll_timeout(), None);
    let _ = s.poll_event();
    assert!(matches!(s.poll_event(), Some(Event::Failed(_))));
    assert_eq!(
        transmits(&mut s),
        vec![Transmit::Close {
            code: close_code::TIMEOUT,
            reason: "timeout".into()
        }]
    );
}

#[test]
fn connect_timeout() {
    let mut s = Session::new(SessionConfig {
        connect_timeout_ms: Some(1000.0),
        ready_timeout_ms: Some(500.0),
        ..SessionConfig::default()
    });
    // Armed only once the glue says the socket is connecting.
    assert_eq!(s.poll_timeout(), None);
    s.handle_connecting(100.0);
    assert_eq!(s.poll_timeout(), Some(1100.0));
    s.handle_timeout(1099.0);
    assert_eq!(s.phase(), Phase::Opening);
    s.handle_timeout(1100.0);
    assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::Timeout));
    assert!(s.error().unwrap().message().contains("1000 ms"));
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(
        transmits(&mut s),
        vec![Transmit::Close {
            code: close_code::TIMEOUT,
            reason: "timeout".into()
        }]
    );
    // Opening in time disarms it; the ready timeout takes over.
    let mut s = Session::new(SessionConfig {
        connect_timeout_ms: Some(1000.0),
        ready_timeout_ms: Some(500.0),
        ..SessionConfig::default()
    });
    s.handle_connecting(0.0);
    s.handle_open("v5.channel.k8s.io", 900.0);
    assert_eq!(s.poll_timeout(), Some(1400.0));
    s.handle_timeout(1000.0);
    assert_eq!(s.phase(), Phase::Open);
    // Off, and clocks that cannot work: nothing armed.
    for (timeout, now) in [(None, 0.0), (Some(f64::NAN), 0.0), (Some(10.0), f64::NAN)] {
        let mut s = Session::new(SessionConfig {
            connect_timeout_ms: timeout,
            ..SessionConfig::default()
        });
        s.handle_connecting(now);
        assert_eq!(s.poll_timeout(), None, "{timeout:?} {now}");
    }
}

#[test]
fn readiness_disarms_the_ready_timeout() {
    let mut s = Session::new(SessionConfig {
        ready_timeout_ms: Some(500.0),
        keepalive_ms: None,
        ..SessionConfig::default()
    });
    s.handle_open("v5.channel.k8s.io", 0.0);
    assert_eq!(s.route(MessageKind::Binary, 1, 1, 0.0), Route::Ignore);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(10_000.0);
    assert_eq!(s.phase(), Phase::Open);
}

#[test]
fn keepalive_after_silence() {
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V5],
        keepalive_ms: Some(1000.0),
        ready_timeout_ms: None,
        ..config(true, false)
    });
    s.handle_open("v5.channel.k8s.io", 0.0);
    assert_eq!(s.poll_timeout(), Some(1000.0));
    s.handle_timeout(999.0);
    assert_eq!(transmits(&mut s), vec![]);
    s.handle_timeout(1000.0);
    // An empty message: not a stdin frame (see `Transmit::keepalive`).
    assert_eq!(transmits(&mut s), vec![bin(b"")]);
    assert_eq!(s.poll_timeout(), Some(2000.0));
    // A send at 1500 moves the keepalive to 1000 ms after it.
    s.send_stdin(b"k", 1500.0).unwrap();
    assert_eq!(transmits(&mut s), vec![bin(b"\x00k")]);
    assert_eq!(s.poll_timeout(), Some(2500.0));
    s.handle_timeout(2000.0);
    assert_eq!(
        transmits(&mut s),
        vec![],
        "data was sent 500 ms ago: no keepalive"
    );
    s.handle_timeout(2500.0);
    assert_eq!(transmits(&mut s), vec![bin(b"")]);
    assert_eq!(s.poll_timeout(), Some(3500.0));
    // The stdin fast path counts as a send too.
    assert!(s.send_stdin_direct(3, 2600.0));
    assert_eq!(s.poll_timeout(), Some(3600.0));
    // After the v5 CLOSE of stdin (a send at 2700), still an empty message (never a
    // stdin frame).
    s.close_stdin(2700.0).unwrap();
    assert_eq!(transmits(&mut s), vec![bin(b"\xff\x00")]);
    s.handle_timeout(3600.0);
    assert_eq!(transmits(&mut s), vec![]);
    s.handle_timeout(3700.0);
    assert_eq!(transmits(&mut s), vec![bin(b"")]);
    // Base64 protocols get an empty text message.
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V4Base64],
        keepalive_ms: Some(5.0),
        ..SessionConfig::default()
    });
    s.handle_open("v4.base64.channel.k8s.io", 0.0);
    s.handle_timeout(5.0);
    assert_eq!(transmits(&mut s), vec![text("")]);
}

#[test]
fn keepalive_is_on_by_default_and_ends_with_the_session() {
    assert_eq!(SessionConfig::default().keepalive_ms, Some(30_000.0));
    let mut s = open(Protocol::V4, false, false);
    // The ready timeout (also 30 s by default) and the keepalive.
    assert_eq!(s.poll_timeout(), Some(30_000.0));
    s.route(MessageKind::Binary, 1, 1, 0.0); // readiness: the ready timeout is off
    assert_eq!(s.poll_timeout(), Some(30_000.0));
    s.handle_timeout(30_000.0);
    assert_eq!(transmits(&mut s), vec![bin(b"")]);
    s.handle_close(1006, "", 0.0);
    assert_eq!(s.poll_timeout(), None);
    // Off: nothing armed once the socket is open and quiet.
    let mut s = Session::new(SessionConfig {
        keepalive_ms: None,
        ready_timeout_ms: None,
        ..SessionConfig::default()
    });
    s.handle_open("v5.channel.k8s.io", 0.0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn timers_that_cannot_work_are_off() {
    for (keepalive, ready, now) in [
        (Some(0.0), Some(f64::NAN), 0.0),
        (Some(-5.0), Some(f64::INFINITY), 0.0),
        (Some(f64::NAN), Some(-1.0), 0.0),
        (Some(10.0), Some(10.0), f64::NAN),
    ] {
        let mut s = Session::new(SessionConfig {
            keepalive_ms: keepalive,
            ready_timeout_ms: ready,
            ..SessionConfig::default()
        });
        s.handle_open("v5.channel.k8s.io", now);
        assert_eq!(s.poll_timeout(), None, "{keepalive:?} {ready:?} {now}");
    }
}

#[test]
fn status_is_bounded() {
    let mut s = Session::new(SessionConfig {
        offer: vec![Protocol::V5],
        max_status_bytes: 8,
        ..SessionConfig::default()
    });
    s.handle_open("v5.channel.k8s.io", 0.0);
    s.handle_binary(b"\x03{\"st", 0.0); // 4 bytes
    assert_eq!(s.phase(), Phase::Closing);
    s.handle_binary(b"\x03atus", 0.0); // 8: at the bound
    assert_eq!(s.phase(), Phase::Closing);
    s.handle_binary(b"\x03\"", 0.0); // 9: over it
    assert_eq!(s.error().map(|e| e.code()), Some(ErrorCode::ProtocolError));
    assert!(s.error().unwrap().message().contains("8 bytes"));
}

#[test]
fn abort_latches() {
    let mut s = open(Protocol::V5, true, false);
    s.abort(0.0);
    let Some(Event::Failed(e)) = s.poll_event() else {
        panic!("not failed")
    };
    assert_eq!(e.code(), ErrorCode::Aborted);
    assert_eq!(
        transmits(&mut s),
        vec![Transmit::Close {
            code: 1000,
            reason: "aborted".into()
        }]
    );
    assert_eq!(s.send_stdin(b"x", 0.0), Err(e.clone()));
    assert_eq!(s.close_stdin(0.0), Err(e.clone()));
    assert_eq!(
        s.resize(TerminalSize::new(1, 1).unwrap(), 0.0),
        Err(e.clone())
    );
    s.handle_binary(b"\x01late", 0.0);
    s.handle_close(1000, "", 0.0);
    s.abort(0.0);
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.error(), Some(&e));
    // Abort while connecting closes the socket too.
    let mut s = Session::new(SessionConfig::default());
    s.abort(0.0);
    assert_eq!(
        transmits(&mut s),
        vec![Transmit::Close {
            code: 1000,
            reason: "aborted".into()
        }]
    );
}
