//! What each fuzz target does with its input, shared by the cargo-fuzz targets (fuzz/) and
//! the bounded random-input run on stable (tests/core_fuzz_smoke.rs, via `#[path]`).
//! Every function returns normally for any input; a panic is a finding.

use kube_exec_wasm::{
    decode_base64, decode_binary, encode_base64, encode_binary, encode_close, parse_json,
    parse_text, Channel, ErrorCode, Event, Frame, MessageKind, Phase, Protocol, Route, Session,
    SessionConfig, TerminalSize,
};

/// The frame decoders: typed results only, and what decodes re-encodes to the input.
pub fn frame_decoder(data: &[u8]) {
    match decode_binary(data) {
        Ok(None) => assert!(data.is_empty()),
        Ok(Some(Frame::Data { channel, payload })) => {
            let mut again = Vec::new();
            encode_binary(channel, payload, &mut again);
            assert_eq!(again, data);
        }
        Ok(Some(Frame::Close { channel })) => {
            let mut again = Vec::new();
            encode_close(channel, &mut again);
            assert_eq!(again, data);
        }
        Err(e) => assert_eq!(e.code(), ErrorCode::ProtocolError),
    }
    if let Ok(text) = core::str::from_utf8(data) {
        match decode_base64(text) {
            Ok(None) => assert!(text.is_empty()),
            Ok(Some((channel, payload))) => {
                let mut again = String::new();
                encode_base64(channel, &payload, &mut again);
                assert_eq!(again, text);
            }
            Err(e) => assert_eq!(e.code(), ErrorCode::ProtocolError),
        }
    }
}

/// The status parsers (JSON and text) and the resize reader.
pub fn status_parser(data: &[u8]) {
    match parse_json(data) {
        Ok(s) => {
            if let Some(code) = s.exit_code() {
                assert_eq!(s.success(), code == 0 && s.reason().is_none());
            }
        }
        Err(e) => assert_eq!(e.code(), ErrorCode::ProtocolError),
    }
    let t = parse_text(data).expect("text status never fails");
    assert_eq!(t.success(), data.is_empty());
    if let Err(e) = TerminalSize::parse_json(data) {
        assert!(matches!(
            e.code(),
            ErrorCode::ProtocolError | ErrorCode::InvalidOptions
        ));
    }
}

const ANSWERS: [&str; 7] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
    "",
    "bogus",
];

/// Reads the input as a little program of session events.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn bytes(&mut self) -> &[u8] {
        let n = (self.byte().unwrap_or(0) as usize).min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte().unwrap_or(0), self.byte().unwrap_or(0)])
    }
}

/// A session fed arbitrary events: never a panic, one end at most and nothing after it,
/// errors latch, a v4/v5 session never exits without data on the error channel.
/// Returns the end event, if the session ended.
pub fn session(data: &[u8]) -> Option<Event> {
    let mut r = Reader(data);
    let flags = r.byte().unwrap_or(0);
    let offer = if flags & 4 != 0 {
        Protocol::NAMED.to_vec()
    } else {
        vec![Protocol::V5, Protocol::V4]
    };
    let mut s = Session::new(SessionConfig {
        offer,
        stdin: flags & 1 != 0,
        tty: flags & 2 != 0,
        keepalive_ms: (flags & 8 != 0).then_some(100.0),
        ready_timeout_ms: (flags & 16 != 0).then_some(1000.0),
        status_close_timeout_ms: (flags & 32 != 0).then_some(500.0),
        max_pending_bytes: 64,
        max_status_bytes: 256,
        max_stdin_frame: 7,
        connect_timeout_ms: Some(800.0),
    });
    if flags & 64 != 0 {
        s.handle_connecting(0.0);
    }
    let mut now = 0.0;
    let mut ended = false;
    let mut end = None;
    let mut status_seen = false;
    while let Some(op) = r.byte() {
        let before = s.phase();
        match op % 14 {
            0 => {
                let i = r.byte().unwrap_or(0) as usize % ANSWERS.len();
                s.handle_open(ANSWERS[i], now);
            }
            1 | 2 => {
                let msg = r.bytes().to_vec();
                status_seen |= msg.len() > 1 && msg[0] == 3 && before != Phase::Opening;
                s.handle_binary(&msg, now);
            }
            3 => {
                // A well-formed base64 frame on a channel from the input.
                let ch = Channel::ALL[r.byte().unwrap_or(0) as usize % 5];
                let mut t = String::new();
                encode_base64(ch, r.bytes(), &mut t);
                status_seen |= t.len() > 1 && ch == Channel::Error && before != Phase::Opening;
                s.handle_text(&t, now);
            }
            4 => {
                let raw = String::from_utf8_lossy(r.bytes()).into_owned();
                status_seen |= raw.len() > 1 && raw.starts_with('3') && before != Phase::Opening;
                s.handle_text(&raw, now);
            }
            5 => {
                let kind = if r.byte().unwrap_or(0) & 1 == 0 {
                    MessageKind::Binary
                } else {
                    MessageKind::Text
                };
                let first = r.byte().unwrap_or(0);
                let len = r.u16() as usize * (r.byte().unwrap_or(1) as usize + 1) * 8;
                let route = s.route(kind, first, len, now);
                if route == Route::Deliver {
                    // The glue then delivers the message; make one of that shape.
                    let mut msg = vec![first];
                    msg.resize(len.min(512), b'A');
                    match kind {
                        MessageKind::Binary => s.handle_binary(&msg, now),
                        MessageKind::Text => s.handle_text(&String::from_utf8_lossy(&msg), now),
                    }
                    status_seen = true;
                }
            }
            6 => s.handle_close(r.u16(), "fuzz", now),
            7 => s.handle_error(now),
            8 => {
                now += r.u16() as f64;
                s.handle_timeout(now);
            }
            9 | 10 => {
                let data = r.bytes();
                let _ = s.send_stdin(data, now);
            }
            11 => {
                let _ = s.close_stdin(now);
            }
            12 => {
                if let Ok(size) = TerminalSize::new(r.u16(), r.u16()) {
                    let _ = s.resize(size, now);
                }
            }
            _ => s.abort(now),
        }
        while s.poll_transmit().is_some() {}
        while let Some(e) = s.poll_event() {
            assert!(!ended, "event after the end: {e:?}");
            match e {
                Event::Exited(_) => {
                    let p = s.protocol().expect("exited before open");
                    assert!(
                        status_seen || !p.status_is_json(),
                        "{p:?} exited without a status"
                    );
                    ended = true;
                    end = Some(e);
                }
                Event::Failed(ref err) => {
                    assert_eq!(s.error(), Some(err));
                    assert_eq!(s.send_stdin(b"x", now), Err(err.clone()));
                    ended = true;
                    end = Some(e);
                }
                Event::Output { data, .. } => assert!(!data.is_empty()),
                Event::Opened(_) => {}
            }
        }
        assert_eq!(s.is_finished(), ended);
        if ended {
            assert_eq!(s.poll_timeout(), None);
        }
    }
    end
}

/// Parses `data` as a tar archive: whole, and again fed through the want/feed/advance calls
/// in pieces whose sizes come from the input. Only typed errors; both ways agree; nothing
/// unsafe is yielded; no body is longer than its entry says.
pub fn tar_parser(data: &[u8]) {
    use kube_exec_wasm::archive::{Entry, Parser, Want};
    type Run = (Vec<(Entry, u64)>, Option<ErrorCode>);
    fn run(data: &[u8], piece: usize) -> Run {
        let mut p = Parser::new();
        let mut out: Vec<(Entry, u64)> = Vec::new();
        let mut chunks = data.chunks(piece.max(1));
        let mut chunk: &[u8] = &[];
        loop {
            if chunk.is_empty() {
                match chunks.next() {
                    Some(c) => chunk = c,
                    None => return (out, p.finish().err().map(|e| e.code())),
                }
            }
            let step = match p.want() {
                Ok(Want::Body(n)) | Ok(Want::Skip(n)) => {
                    let take = chunk.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                    if matches!(p.want(), Ok(Want::Body(_))) {
                        out.last_mut().expect("a body follows its entry").1 += take as u64;
                    }
                    p.advance(take as u64).map(|()| take)
                }
                Ok(Want::Meta(_)) | Ok(Want::Done) => p.feed(chunk),
                Err(e) => Err(e),
            };
            match step {
                Ok(n) => chunk = &chunk[n..],
                Err(e) => return (out, Some(e.code())),
            }
            out.extend(std::iter::from_fn(|| p.poll_entry()).map(|e| (e, 0)));
        }
    }
    let whole = run(data, data.len());
    let piece = 1 + data.first().map_or(0, |b| usize::from(*b) * 3);
    let pieces = run(data, piece);
    assert_eq!(whole, pieces, "piece size {piece} changed the result");
    if let Some(code) = whole.1 {
        assert!(
            matches!(code, ErrorCode::BadArchive | ErrorCode::UnsafeEntry),
            "{code:?}"
        );
    }
    for (e, body) in &whole.0 {
        assert!(
            !e.path.is_empty() && !e.path.starts_with('/'),
            "{:?}",
            e.path
        );
        assert!(
            e.path.split('/').all(|c| !matches!(c, "" | "." | "..")),
            "{:?}",
            e.path
        );
        assert!(*body <= e.size, "{} body bytes for size {}", body, e.size);
        if let Some(t) = &e.link_target {
            assert!(!t.starts_with('/'), "link to {t:?}");
        }
    }
}
