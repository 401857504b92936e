//! Whole sessions driven against a scripted server, through both glue paths (routed like
//! the browser glue, and native `handle_*`): what the user sees — bytes, exit statuses,
//! typed errors, and the exact frames sent.

mod core_support;

use core_support::*;
use kube_exec_wasm::{
    close_code, Channel, ErrorCode, Event, ExitStatus, Phase, Protocol, SessionConfig,
    TerminalSize, Transmit,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const V5_V4: &[Protocol] = &[Protocol::V5, Protocol::V4];

/// Every protocol the server can answer with, and its offer.
fn every_protocol() -> Vec<(Protocol, Vec<Protocol>)> {
    let mut v: Vec<_> = Protocol::NAMED.iter().map(|p| (*p, vec![*p])).collect();
    v.push((Protocol::None, vec![]));
    v
}

#[test]
fn normal_exit_v5() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        assert_eq!(p.events, vec![Event::Opened(Protocol::V5)]);
        p.recv_binary(b"\x01"); // readiness
        p.recv_binary(b"\x01hello\n");
        p.recv_binary(b"\x02warn\n");
        p.recv_binary(b"\x01bye\n");
        assert_eq!(p.session.phase(), Phase::Open);
        p.recv_binary(&[b"\x03", SUCCESS].concat());
        assert_eq!(p.session.phase(), Phase::Closing);
        assert_eq!(p.end(), None, "not before the close");
        p.close(1000);
        assert_eq!(p.exit_status(), ExitStatus::Success);
        assert_eq!(p.stdout, b"hello\nbye\n");
        assert_eq!(p.stderr, b"warn\n");
        assert_eq!(p.sent, vec![], "{glue:?}: nothing to send");
        assert_eq!(p.session.phase(), Phase::Exited);
        assert!(p.session.is_finished());
    }
}

#[test]
fn non_zero_exit_every_json_protocol() {
    for (protocol, offer) in every_protocol() {
        if !protocol.status_is_json() {
            continue;
        }
        for code in [1u32, 7, 42, 255] {
            for glue in GLUES {
                let mut p = Pair::new(config(&offer, false, false), glue);
                p.open(protocol.name());
                p.recv(Channel::Stdout, b"");
                p.recv(Channel::Stderr, b"failing\n");
                p.recv(Channel::Error, &exit_json(code));
                p.close(1000);
                let s = p.exit_status();
                assert_eq!(s.exit_code(), Some(code as u8), "{protocol:?} {glue:?}");
                assert!(!s.success());
                assert_eq!(s.reason(), Some("NonZeroExitCode"));
                assert_eq!(p.stderr, b"failing\n");
            }
        }
    }
}

#[test]
fn internal_error_status_is_an_exit_with_failure() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v4.channel.k8s.io");
        let status: &[u8] = br#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: exec: \"nope\": executable file not found in $PATH","reason":"InternalError","details":{"causes":[{"message":"exec failed"}]},"code":500}"#;
        p.recv_binary(&[b"\x03", status].concat());
        p.close(1000);
        let s = p.exit_status();
        assert_eq!(s.reason(), Some("InternalError"));
        assert_eq!(s.http_code(), Some(500));
        assert_eq!(s.exit_code(), None);
        assert!(s.message().unwrap().contains("executable file not found"));
    }
}

#[test]
fn stdin_eof_on_v5() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, true, false), glue);
        // Written before the socket opens: queued, not lost, not an error.
        p.stdin(b"foo\n").unwrap();
        assert_eq!(p.sent, vec![]);
        p.open("v5.channel.k8s.io");
        p.stdin("bär\n".as_bytes()).unwrap();
        p.close_stdin().unwrap();
        assert_eq!(p.session.phase(), Phase::StdinClosed);
        assert_eq!(
            p.take_sent(),
            vec![
                bin(b"\x00foo\n"),
                bin(b"\x00b\xc3\xa4r\n"),
                bin(&[0xff, 0x00]),
            ]
        );
        // Closing again sends nothing; writing after it is refused, typed.
        p.close_stdin().unwrap();
        assert_eq!(p.stdin(b"late").unwrap_err().code(), ErrorCode::NotOpen);
        assert_eq!(p.sent, vec![]);
        // `cat` sees EOF, echoes, exits 0.
        p.recv_binary(b"\x01foo\nb\xc3\xa4r\n");
        p.recv_binary(&[b"\x03", SUCCESS].concat());
        p.close(1000);
        assert_eq!(p.exit_status(), ExitStatus::Success);
        assert_eq!(p.stdout, "foo\nbär\n".as_bytes());
    }
}

/// A mebibyte (the default bound of what may wait for the socket) of one-byte writes before
/// the socket opens, as a paste into a terminal that is still connecting arrives: each write
/// is queued in constant time, and the open sends them as the fewest frames the frame limit
/// allows, every byte in order. Counts frames; does not time anything.
#[test]
fn a_mebibyte_of_one_byte_writes_before_open() {
    const MIB: usize = 1 << 20;
    for max_frame in [SessionConfig::default().max_stdin_frame, MIB, 100_000] {
        let mut p = Pair::new(
            SessionConfig {
                max_stdin_frame: max_frame,
                ..config(&[Protocol::V5], true, false)
            },
            Glue::Native,
        );
        assert_eq!(p.session.config().max_pending_bytes, MIB);
        for i in 0..MIB {
            p.stdin(&[(i % 251) as u8]).unwrap();
        }
        assert_eq!(p.sent, vec![], "nothing before open");
        assert_eq!(
            p.stdin(b"x").unwrap_err().code(),
            ErrorCode::BufferFull,
            "the bound holds"
        );
        p.open("v5.channel.k8s.io");
        let frames = p.take_sent();
        assert_eq!(
            frames.len(),
            MIB.div_ceil(max_frame),
            "max frame {max_frame}"
        );
        let mut bytes = Vec::with_capacity(MIB);
        for f in &frames {
            let Transmit::Binary(f) = f else {
                panic!("not a binary frame: {f:?}")
            };
            assert_eq!(f[0], 0, "a stdin frame");
            assert!(f.len() - 1 <= max_frame);
            bytes.extend_from_slice(&f[1..]);
        }
        assert_eq!(bytes.len(), MIB);
        assert!(bytes.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    }
}

/// What is queued before open goes out merged, but in the order of the calls: a resize
/// between two runs of writes stays between them, and the CLOSE signal comes last.
#[test]
fn queued_writes_merge_but_keep_their_order() {
    for glue in GLUES {
        let mut p = Pair::new(
            SessionConfig {
                max_stdin_frame: 4,
                ..config(&[Protocol::V5], true, true)
            },
            glue,
        );
        for b in b"abcdef" {
            p.stdin(&[*b]).unwrap();
        }
        p.session
            .resize(TerminalSize::new(80, 24).unwrap(), p.now)
            .unwrap();
        p.stdin(b"").unwrap();
        p.stdin(b"gh").unwrap();
        p.stdin(b"i").unwrap();
        p.close_stdin().unwrap();
        assert_eq!(p.stdin(b"j").unwrap_err().code(), ErrorCode::NotOpen);
        p.open("v5.channel.k8s.io");
        assert_eq!(
            p.take_sent(),
            vec![
                bin(b"\x00abcd"),
                bin(b"\x00ef"),
                bin(b"\x04{\"Width\":80,\"Height\":24}\n"),
                bin(b"\x00ghi"),
                bin(&[0xff, 0x00]),
            ],
            "{glue:?}"
        );
        assert_eq!(p.session.phase(), Phase::StdinClosed);
    }
}

#[test]
fn stdin_eof_refused_on_v4_and_base64() {
    for answer in [
        Protocol::V4,
        Protocol::V4Base64,
        Protocol::V1,
        Protocol::V1Base64,
    ] {
        for glue in GLUES {
            let offer = [Protocol::V5, answer];
            let mut p = Pair::new(config(&offer, true, false), glue);
            p.open(answer.name());
            let e = p.close_stdin().unwrap_err();
            assert_eq!(e.code(), ErrorCode::HalfCloseUnsupported, "{answer:?}");
            assert!(e.message().contains(answer.name()));
            assert!(e.hint().contains("v5.channel.k8s.io"));
            // A refusal, not an end: nothing sent, stdin still works, the session goes on.
            assert_eq!(p.sent, vec![]);
            assert_eq!(p.session.phase(), Phase::Open);
            assert_eq!(p.end(), None);
            p.stdin(b"x").unwrap();
            let want = if answer.is_base64() {
                Transmit::Text("0eA==".into())
            } else {
                bin(b"\x00x")
            };
            assert_eq!(p.take_sent(), vec![want]);
            p.recv(Channel::Stdout, b"x");
            if answer.status_is_json() {
                p.recv(Channel::Error, SUCCESS);
            }
            p.close(1000);
            assert_eq!(p.exit_status(), ExitStatus::Success, "{answer:?} {glue:?}");
            assert_eq!(p.stdout, b"x");
        }
    }
}

#[test]
fn lost_connection_is_never_success() {
    for (protocol, offer) in every_protocol() {
        for code in [1000u16, 1001, 1006, 1011] {
            for glue in GLUES {
                let mut p = Pair::new(config(&offer, false, false), glue);
                p.open(protocol.name());
                p.recv(Channel::Stdout, b"");
                p.recv(Channel::Stdout, b"partial\n");
                p.close(code);
                assert_eq!(p.stdout, b"partial\n", "output before the loss is kept");
                if !protocol.status_is_json() && code == 1000 {
                    // v1: a clean close with nothing on the error channel is success.
                    assert_eq!(p.exit_status(), ExitStatus::Success);
                } else {
                    let e = p.failure();
                    assert_eq!(e.code(), ErrorCode::ConnectionLost, "{protocol:?} {code}");
                    assert!(e.message().contains(&code.to_string()));
                    assert_eq!(p.sent, vec![], "the socket is closed: nothing to send");
                }
            }
        }
    }
}

#[test]
fn dropped_connection_after_output() {
    // fault-drop: readiness, "partial\n", then the TCP connection is cut: the browser fires
    // `error`, then `close` 1006.
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        p.recv_binary(b"\x01");
        p.recv_binary(b"\x01partial\n");
        p.error();
        assert_eq!(p.end(), None, "the close decides");
        p.close(1006);
        assert_eq!(p.failure_code(), ErrorCode::ConnectionLost);
        assert_eq!(p.stdout, b"partial\n");
    }
}

#[test]
fn status_then_abnormal_close_still_exits() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        p.recv_binary(&[&[3u8][..], &exit_json(3)].concat());
        p.close(1006);
        assert_eq!(p.exit_status().exit_code(), Some(3));
        // Truncated status and an abnormal close: lost, not a protocol error.
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        p.recv_binary(b"\x03{\"metadata\":{},\"sta");
        p.close(1006);
        assert_eq!(p.failure_code(), ErrorCode::ConnectionLost);
    }
}

#[test]
fn readiness_on_channel_3_is_not_a_status() {
    for (protocol, offer) in every_protocol() {
        for glue in GLUES {
            // stdin only: the server's readiness frame goes on the error channel.
            let mut p = Pair::new(config(&offer, true, false), glue);
            p.open(protocol.name());
            p.recv(Channel::Error, b"");
            assert_eq!(p.session.phase(), Phase::Open, "{protocol:?}: still open");
            p.stdin(b"data").unwrap();
            if protocol.status_is_json() {
                p.recv(Channel::Error, b"");
                p.recv(Channel::Error, SUCCESS);
            }
            p.close(1000);
            assert_eq!(
                p.exit_status(),
                ExitStatus::Success,
                "{protocol:?} {glue:?}"
            );
            // Readiness alone, then close 1000: v4/v5 have no status → lost.
            let mut p = Pair::new(config(&offer, true, false), glue);
            p.open(protocol.name());
            p.recv(Channel::Error, b"");
            p.close(1000);
            if protocol.status_is_json() {
                assert_eq!(p.failure_code(), ErrorCode::ConnectionLost);
            } else {
                assert_eq!(p.exit_status(), ExitStatus::Success);
            }
        }
    }
}

#[test]
fn utf8_split_at_every_byte_is_delivered_byte_exact() {
    let text = "héllo wörld € 𝄞\n".as_bytes();
    for (protocol, offer) in every_protocol() {
        for glue in GLUES {
            // Two frames, split at every byte boundary (inside every multi-byte character).
            for cut in 0..=text.len() {
                let mut p = Pair::new(config(&offer, false, false), glue);
                p.open(protocol.name());
                p.recv(Channel::Stdout, &text[..cut]);
                p.recv(Channel::Stdout, &text[cut..]);
                p.recv(Channel::Stderr, &text[..cut]);
                p.recv(Channel::Stderr, &text[cut..]);
                if protocol.status_is_json() {
                    p.recv(Channel::Error, SUCCESS);
                }
                p.close(1000);
                assert_eq!(p.stdout, text, "{protocol:?} {glue:?} cut {cut}");
                assert_eq!(p.stderr, text);
                assert_eq!(p.exit_status(), ExitStatus::Success);
            }
            // One byte per frame (the devserver's fault-split-utf8).
            let mut p = Pair::new(config(&offer, false, false), glue);
            p.open(protocol.name());
            for b in text {
                p.recv(Channel::Stdout, &[*b]);
            }
            assert_eq!(p.output_frames, text.len());
            assert_eq!(p.stdout, text);
        }
    }
}

#[test]
fn base64_session_byte_exact() {
    for glue in GLUES {
        let offer = [Protocol::V4Base64];
        let mut p = Pair::new(config(&offer, true, true), glue);
        p.session
            .resize(TerminalSize::new(80, 24).unwrap(), p.now)
            .unwrap();
        p.stdin(b"foo\n").unwrap();
        p.open("v4.base64.channel.k8s.io");
        assert_eq!(
            p.take_sent(),
            vec![
                Transmit::Text("4eyJXaWR0aCI6ODAsIkhlaWdodCI6MjR9Cg==".into()),
                Transmit::Text("0Zm9vCg==".into()),
            ]
        );
        p.recv_text("1");
        p.recv_text("1Zm9vCg==");
        p.recv_text("2/w==");
        p.recv_text("3eyJzdGF0dXMiOiJTdWNjZXNzIn0=");
        p.close(1000);
        assert_eq!(p.stdout, b"foo\n");
        assert_eq!(p.stderr, b"\xff");
        assert_eq!(p.exit_status(), ExitStatus::Success);
    }
}

#[test]
fn v1_text_status() {
    for protocol in [Protocol::V1, Protocol::V1Base64] {
        for glue in GLUES {
            let mut p = Pair::new(config(&[protocol], false, false), glue);
            p.open(protocol.name());
            p.recv(Channel::Error, b"error executing remote command: ");
            p.recv(Channel::Error, b"command not found");
            p.close(1000);
            let s = p.exit_status();
            assert_eq!(
                s,
                ExitStatus::Failure {
                    reason: String::new(),
                    message: "error executing remote command: command not found".into(),
                    code: None
                }
            );
        }
    }
}

#[test]
fn status_split_over_frames_is_concatenated() {
    let json = exit_json(9);
    for glue in GLUES {
        for cut in [1, 10, json.len() - 1] {
            let mut p = Pair::new(config(V5_V4, false, false), glue);
            p.open("v5.channel.k8s.io");
            p.recv(Channel::Error, &json[..cut]);
            p.recv(Channel::Stdout, b"late output is kept");
            p.recv(Channel::Error, &json[cut..]);
            p.close(1000);
            assert_eq!(p.exit_status().exit_code(), Some(9));
            assert_eq!(p.stdout, b"late output is kept");
        }
    }
}

#[test]
fn malformed_frames_fail_and_latch() {
    // (protocol, message) pairs the server must never send.
    let cases: Vec<(Protocol, Result<Vec<u8>, String>)> = vec![
        (Protocol::V5, Ok(vec![0x07, 0x41])), // fault-malformed: unknown channel 7
        (Protocol::V5, Ok(vec![0xff, 0x01])), // CLOSE from the server
        (Protocol::V4, Ok(vec![0x00, 0x41])), // data on stdin
        (Protocol::V4, Ok(vec![0x04, 0x41])), // data on resize
        (Protocol::V5, Err("1aGk=".into())),  // text on a binary protocol
        (Protocol::V4Base64, Ok(vec![0x01, 0x41])), // binary on base64
        (Protocol::V4Base64, Err("1!!".into())), // bad base64 on stdout
        (Protocol::V4Base64, Err("3!!".into())), // bad base64 on the error channel
        (Protocol::V4Base64, Err("1aGk".into())), // unpadded
        (Protocol::V4Base64, Err("7aGk=".into())), // unknown channel digit
        (Protocol::V1Base64, Err("é".into())), // not a digit at all
    ];
    for (protocol, msg) in cases {
        for glue in GLUES {
            let mut p = Pair::new(config(&[protocol], true, false), glue);
            p.open(protocol.name());
            p.recv(Channel::Stdout, b"ok\n");
            match &msg {
                Ok(b) => p.recv_binary(b),
                Err(t) => p.recv_text(t),
            }
            let e = p.failure();
            assert_eq!(
                e.code(),
                ErrorCode::ProtocolError,
                "{protocol:?} {msg:?} {glue:?}"
            );
            assert_eq!(
                p.take_sent(),
                vec![Transmit::Close {
                    code: close_code::PROTOCOL_ERROR,
                    reason: "protocol error".into()
                }]
            );
            // Latched: later events change nothing, calls return the same error.
            p.recv(Channel::Stdout, b"more");
            p.recv(Channel::Error, SUCCESS);
            p.close(1000);
            assert_eq!(p.end(), Some(&Event::Failed(e.clone())));
            assert_eq!(p.stdin(b"x"), Err(e.clone()));
            assert_eq!(p.close_stdin(), Err(e.clone()));
            assert_eq!(p.stdout, b"ok\n");
            assert_eq!(p.sent, vec![]);
        }
    }
}

#[test]
fn bad_status_json_after_close_1000_is_a_protocol_error() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        p.recv_binary(b"\x01");
        p.recv_binary(b"\x03{\"status\":"); // fault-bad-status
        p.close(1000);
        assert_eq!(p.failure_code(), ErrorCode::ProtocolError);
    }
}

#[test]
fn stalled_server_times_out() {
    for glue in GLUES {
        let mut p = Pair::new(
            SessionConfig {
                ready_timeout_ms: Some(2000.0),
                ..SessionConfig::default()
            },
            glue,
        );
        p.now = 500.0;
        p.open("v5.channel.k8s.io");
        p.advance(1999.0);
        assert_eq!(p.end(), None);
        p.advance(1.0);
        let e = p.failure();
        assert_eq!(e.code(), ErrorCode::Timeout);
        assert_eq!(p.now, 2500.0);
        assert_eq!(
            p.take_sent(),
            vec![Transmit::Close {
                code: close_code::TIMEOUT,
                reason: "timeout".into()
            }]
        );
        // The glue's close then arrives: ignored.
        p.close(1005);
        assert_eq!(p.end(), Some(&Event::Failed(e)));
    }
}

#[test]
fn handshake_failure_is_connect_failed() {
    for glue in GLUES {
        let mut p = Pair::new(SessionConfig::default(), glue);
        p.error();
        p.close(1006);
        let e = p.failure();
        assert_eq!(e.code(), ErrorCode::ConnectFailed);
        assert!(e.hint().contains("preflight"));
        assert_eq!(p.sent, vec![]);
        // A close without an error event first, too.
        let mut p = Pair::new(SessionConfig::default(), glue);
        p.close(1006);
        assert_eq!(p.failure_code(), ErrorCode::ConnectFailed);
    }
}

#[test]
fn a_normal_close_before_open_is_a_session_lost_not_a_failed_handshake() {
    // Firefox, when the whole short session arrives with the 101 response: no `open`, only
    // close 1000. The server accepted the socket, so no preflight can explain anything.
    for glue in GLUES {
        let mut p = Pair::new(SessionConfig::default(), glue);
        p.close(1000);
        let e = p.failure();
        assert_eq!(e.code(), ErrorCode::ConnectionLost);
        assert!(
            e.to_string()
                .contains("before the browser reported the socket open"),
            "{e}"
        );
        assert!(e.hint().contains("Firefox"), "{}", e.hint());
        assert_eq!(p.sent, vec![]);
    }
}

#[test]
fn answer_not_offered_is_protocol_not_supported() {
    for answer in ["channel.k8s.io", "v3.channel.k8s.io", "bogus"] {
        let mut p = Pair::new(config(V5_V4, false, false), Glue::Routed);
        p.open(answer);
        assert_eq!(p.failure_code(), ErrorCode::ProtocolNotSupported);
        assert!(matches!(p.sent[..], [Transmit::Close { code: 4002, .. }]));
        assert_eq!(p.session.protocol(), None);
    }
}

#[test]
fn abort_mid_session() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, true, false), glue);
        p.open("v5.channel.k8s.io");
        p.recv_binary(b"\x01some");
        p.session.abort(p.now);
        p.drain();
        let e = p.failure();
        assert_eq!(e.code(), ErrorCode::Aborted);
        assert_eq!(
            p.take_sent(),
            vec![Transmit::Close {
                code: 1000,
                reason: "aborted".into()
            }]
        );
        p.recv_binary(b"\x01more");
        p.close(1000);
        assert_eq!(p.stdout, b"some");
        assert_eq!(p.stdin(b"x"), Err(e));
    }
}

#[test]
fn tty_resize_like_kubectl() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, true, true), glue);
        // kubectl attach: size+1, then the real size, as soon as the socket opens.
        p.session
            .resize(TerminalSize::new(81, 25).unwrap(), p.now)
            .unwrap();
        p.session
            .resize(TerminalSize::new(80, 24).unwrap(), p.now)
            .unwrap();
        p.open("v5.channel.k8s.io");
        p.session
            .resize(TerminalSize::new(120, 40).unwrap(), p.now)
            .unwrap();
        p.drain();
        assert_eq!(
            p.take_sent(),
            vec![
                bin(b"\x04{\"Width\":81,\"Height\":25}\n"),
                bin(b"\x04{\"Width\":80,\"Height\":24}\n"),
                bin(b"\x04{\"Width\":120,\"Height\":40}\n"),
            ]
        );
        // Without a TTY: refused, typed, nothing sent.
        let mut p = Pair::new(config(V5_V4, true, false), glue);
        p.open("v5.channel.k8s.io");
        let e = p
            .session
            .resize(TerminalSize::new(80, 24).unwrap(), p.now)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidOptions);
        assert_eq!(p.sent, vec![]);
    }
}

#[test]
fn keepalive_over_a_long_idle_session() {
    let mut p = Pair::new(
        SessionConfig {
            keepalive_ms: Some(30_000.0),
            ..config(V5_V4, true, false)
        },
        Glue::Routed,
    );
    p.open("v5.channel.k8s.io");
    p.advance(95_000.0);
    // At 30, 60 and 90 s: an empty message each (never a stdin frame).
    assert_eq!(p.take_sent(), vec![bin(b""); 3]);
    // Typing at 95 s: the next keepalive is 30 s after it, not at 120 s.
    p.stdin(b"typing").unwrap();
    p.advance(29_999.0);
    assert_eq!(p.take_sent(), vec![bin(b"\x00typing")]);
    p.advance(1.0);
    assert_eq!(p.take_sent(), vec![bin(b"")]);
    p.advance(30_000.0);
    assert_eq!(p.take_sent(), vec![bin(b"")]);
    p.recv_binary(&[b"\x03", SUCCESS].concat());
    p.close(1000);
    assert_eq!(p.exit_status(), ExitStatus::Success);
    assert_eq!(p.session.poll_timeout(), None);
}

#[test]
fn large_output_in_many_frames() {
    // fault-large in small: bytes i % 251 in 4 KiB frames, byte-exact at the end.
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        for chunk in data.chunks(4096) {
            p.recv(Channel::Stdout, chunk);
        }
        p.recv(Channel::Error, SUCCESS);
        p.close(1000);
        assert_eq!(p.stdout.len(), data.len());
        assert!(p.stdout == data, "{glue:?}: bytes differ");
        assert_eq!(p.exit_status(), ExitStatus::Success);
    }
}

/// A status arrives but the server (or a proxy) never closes the socket: the session must
/// still end, with that status, and close the socket itself.
#[test]
fn status_without_close_exits_after_the_close_wait() {
    for (protocol, offer) in every_protocol() {
        for glue in GLUES {
            let mut p = Pair::new(
                SessionConfig {
                    status_close_timeout_ms: Some(3000.0),
                    ..config(&offer, false, false)
                },
                glue,
            );
            p.now = 100.0;
            p.open(protocol.name());
            p.recv(Channel::Stdout, b"out\n");
            let status = if protocol.status_is_json() {
                exit_json(7)
            } else {
                b"error executing remote command: boom".to_vec()
            };
            p.recv(Channel::Error, &status);
            assert_eq!(p.session.phase(), Phase::Closing);
            p.advance(2999.0);
            assert_eq!(
                p.end(),
                None,
                "{protocol:?} {glue:?}: still waiting for the close"
            );
            // Late output (a runtime may send it after the status) restarts the wait.
            p.recv(Channel::Stdout, b"late\n");
            p.advance(2999.0);
            assert_eq!(
                p.end(),
                None,
                "{protocol:?} {glue:?}: output restarted the wait"
            );
            p.advance(3001.0);
            let s = p.exit_status();
            if protocol.status_is_json() {
                assert_eq!(s.exit_code(), Some(7), "{protocol:?} {glue:?}");
            } else {
                assert_eq!(s.message(), Some("error executing remote command: boom"));
            }
            assert_eq!(p.stdout, b"out\nlate\n");
            assert_eq!(
                p.take_sent(),
                vec![Transmit::Close {
                    code: close_code::NORMAL,
                    reason: "exited".into()
                }],
                "{protocol:?} {glue:?}: the session closes the socket itself"
            );
            assert_eq!(p.session.poll_timeout(), None);
            // The close that follows changes nothing.
            p.close(1000);
            assert_eq!(p.exit_status(), s);
        }
    }
}

#[test]
fn status_close_wait_is_on_by_default_and_can_be_off() {
    for glue in GLUES {
        let mut p = Pair::new(config(V5_V4, false, false), glue);
        p.open("v5.channel.k8s.io");
        p.recv_binary(&[b"\x03", SUCCESS].concat());
        p.advance(60_000.0);
        assert_eq!(
            p.exit_status(),
            ExitStatus::Success,
            "{glue:?}: default wait"
        );
        // Off: wait for the close as client-go does, however long it takes.
        let mut p = Pair::new(
            SessionConfig {
                status_close_timeout_ms: None,
                keepalive_ms: None,
                ..config(V5_V4, false, false)
            },
            glue,
        );
        p.open("v5.channel.k8s.io");
        p.recv_binary(&[b"\x03", SUCCESS].concat());
        assert_eq!(p.session.poll_timeout(), None);
        p.advance(3_600_000.0);
        assert_eq!(p.end(), None);
        p.close(1000);
        assert_eq!(p.exit_status(), ExitStatus::Success);
    }
}

#[test]
fn incomplete_status_and_silence_is_a_protocol_error() {
    for glue in GLUES {
        let mut p = Pair::new(
            SessionConfig {
                status_close_timeout_ms: Some(1000.0),
                ..config(V5_V4, false, false)
            },
            glue,
        );
        p.open("v4.channel.k8s.io");
        p.recv_binary(b"\x03{\"metadata\":{},\"sta");
        p.advance(999.0);
        assert_eq!(p.end(), None);
        // The rest of the status arrives in time: it restarts the wait, then exits.
        p.recv_binary(b"\x03tus\":\"Success\"}");
        p.advance(1000.0);
        assert_eq!(p.exit_status(), ExitStatus::Success);
        // Never completed: a protocol error that closes the socket.
        let mut p = Pair::new(
            SessionConfig {
                status_close_timeout_ms: Some(1000.0),
                ..config(V5_V4, false, false)
            },
            glue,
        );
        p.open("v5.channel.k8s.io");
        p.recv_binary(b"\x03{\"status\":");
        p.advance(1000.0);
        let e = p.failure();
        assert_eq!(e.code(), ErrorCode::ProtocolError);
        assert!(e.message().contains("did not close"), "{e}");
        assert_eq!(
            p.take_sent(),
            vec![Transmit::Close {
                code: close_code::PROTOCOL_ERROR,
                reason: "protocol error".into()
            }]
        );
    }
}
