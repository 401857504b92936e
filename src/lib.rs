//! kube-exec-wasm: `kubectl exec` and `kubectl attach` from a web page.
//!
//! The crate is a sans-IO core (every module here) plus browser glue (`web`, wasm32 only).
//! The core knows nothing of sockets, browsers or clocks: it is fed events and drained of
//! actions, so it runs and is tested natively as well as in wasm.
//!
//! # The core's API
//!
//! - [`channel`]: [`Channel`] (`Stdin`=0 … `Resize`=4, `TryFrom<u8>`), [`CLOSE_SIGNAL`] (255).
//! - [`protocol`]: [`Protocol`] (`V5`, `V4`, `V4Base64`, `V1`, `V1Base64`, `None`) with
//!   `name`/`from_name`/`is_base64`/`status_is_json`/`can_half_close`/`parse_offer`;
//!   [`DEFAULT_OFFER`]; [`negotiate`] of the server's answer.
//! - [`token`]: [`BearerToken`] (`new`, `subprotocol`, `expose`; redacted `Debug`, no
//!   `Display`), [`BEARER_PROTOCOL_PREFIX`].
//! - [`frame`]: [`decode_binary`] (borrowing [`Frame`]), [`decode_base64`],
//!   [`decode_base64_into`], [`encode_binary`], [`encode_base64`], [`encode_close`],
//!   [`MAX_FRAME_LEN`].
//! - [`status`]: [`ExitStatus`] (`Success`, `NonZeroExit`, `Failure`; `success`,
//!   `exit_code`, `reason`, `message`, `http_code`, `executable_not_found`): plain data.
//! - [`resize`]: [`TerminalSize`] (`new`, `from_f64`, `to_json`, `encode_json`, `parse_json`).
//! - [`request`]: [`Kind`], [`ExecRequest`] (`exec`, `attach`, `validate`, `path_and_query`,
//!   `websocket_url`, `pod_url`), [`is_dns1123_label`], [`is_dns1123_subdomain`],
//!   [`is_loopback`], [`is_loopback_host`], [`is_secure`], [`check_token_transport`].
//! - [`error`]: [`Error`] (`code`, `as_str`, `message`, `hint`, `fault`, `status`,
//!   `http_status`, `names`, `from_http_status`), [`ErrorCode`] (`ALL`, `as_str`, `from_name`,
//!   `hint`, `fault`, `TS_UNION`: all from one table), [`Fault`]; [`error::metav1`]: reading
//!   the error channel's status, [`parse_json`] (v4, v5) and [`parse_text`] (v1).
//! - [`archive`]: the tar codec of file transfer — [`archive::Parser`] (a push parser that
//!   never holds a body; the safety rules refuse unsafe entries), [`archive::Builder`]
//!   (upload archives of exactly known length), [`archive::path`] (normalisation, rules).
//! - [`transfer`]: the commands of upload and download ([`transfer::upload_command`],
//!   [`transfer::download_command`]) and what a failed one means
//!   ([`transfer::classify_failure`]: `NoTar`, `TarFailed`).
//! - [`pod`]: [`PodInfo`] (`parse_json`, `default_container` by kubectl's rules,
//!   `check_container` by the API server's), [`ContainerInfo`], [`ContainerState`].
//! - [`session`]: [`Session`] (`new`, `handle_connecting`, `handle_open`, `route`, `handle_binary`, `handle_text`,
//!   `handle_close`, `handle_error`, `handle_timeout`, `send_stdin`,
//!   `send_stdin_direct`, `close_stdin`, `resize`, `abort`, `poll_transmit`, `poll_event`,
//!   `poll_timeout`, `phase`, `protocol`, `error`, `is_finished`), [`SessionConfig`],
//!   [`MessageKind`], [`Route`], [`Transmit`] (`keepalive`: why an empty message, with the
//!   Kubernetes source lines), [`Event`], [`Phase`], [`close_code`]. The state diagram is on
//!   [`Session`].
//!
//! # Driving a session
//!
//! Right after creating the socket, call [`Session::handle_connecting`] (arms the connect
//! timeout). After every call into the session, drain [`Session::poll_transmit`] (send each message),
//! [`Session::poll_event`] (deliver each event), and re-arm a timer at
//! [`Session::poll_timeout`] that calls [`Session::handle_timeout`].
//!
//! For each received message the glue calls [`Session::route`] with the message kind, its
//! first byte and its length. `Stdout`/`Stderr` means: hand `msg[1..]` to the consumer as a
//! view (base64: decode `msg[1..]` in JS; if that fails, pass the message to
//! [`Session::handle_text`], which fails the session with `ProtocolError`); `Deliver` means
//! pass the whole message to [`Session::handle_binary`] / [`Session::handle_text`];
//! `Ignore` means drop it. Native users may skip `route` and pass every message to
//! `handle_*`: stdout and stderr then come out as [`Event::Output`].

pub mod archive;
pub mod channel;
pub mod error;
pub mod frame;
mod json;
pub mod pod;
pub mod protocol;
pub mod request;
pub mod resize;
pub mod session;
pub mod status;
pub mod token;
pub mod transfer;
/// The browser SDK (`exec()`/`attach()` for JavaScript); wasm32 only.
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use channel::{Channel, CLOSE_SIGNAL};
pub use error::{parse_json, parse_text, Error, ErrorCode, Fault};
pub use frame::{
    decode_base64, decode_base64_into, decode_binary, encode_base64, encode_binary, encode_close,
    Frame, MAX_FRAME_LEN,
};
pub use pod::{ContainerInfo, ContainerState, PodInfo, DEFAULT_CONTAINER_ANNOTATION};
pub use protocol::{negotiate, Protocol, DEFAULT_OFFER};
pub use request::{
    check_token_host, check_token_transport, is_dns1123_label, is_dns1123_subdomain, is_loopback,
    is_loopback_host, is_secure, ExecRequest, Kind,
};
pub use resize::TerminalSize;
pub use session::{close_code, Event, MessageKind, Phase, Route, Session, SessionConfig, Transmit};
pub use status::ExitStatus;
pub use token::{BearerToken, BEARER_PROTOCOL_PREFIX};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
