//! The channels of the `channel.k8s.io` protocols: one byte in front of every frame.

use crate::error::{Error, ErrorCode};

/// The channel byte of a v5 CLOSE signal (`[0xFF, channel]`); never a data channel.
pub const CLOSE_SIGNAL: u8 = 255;

/// A data channel of exec and attach (`remotecommand/constants.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Channel {
    /// Client to server: the process's standard input.
    Stdin = 0,
    /// Server to client: standard output (with a TTY, stderr merged into it).
    Stdout = 1,
    /// Server to client: standard error.
    Stderr = 2,
    /// Server to client: the status (`metav1.Status` JSON on v4/v5, plain text on v1).
    Error = 3,
    /// Client to server: terminal sizes as JSON.
    Resize = 4,
}

impl Channel {
    /// Every channel, in channel-number order.
    pub const ALL: [Channel; 5] = [
        Channel::Stdin,
        Channel::Stdout,
        Channel::Stderr,
        Channel::Error,
        Channel::Resize,
    ];

    /// The channel number, as sent in binary frames.
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// The ASCII digit (`b'0'`..`b'4'`) that starts a base64 frame.
    pub const fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// The channel named by the ASCII digit of a base64 frame, if any.
    pub const fn from_digit(digit: u8) -> Option<Channel> {
        match digit {
            b'0'..=b'4' => Channel::from_byte(digit - b'0'),
            _ => None,
        }
    }

    /// The channel with this number, if it is one of the five data channels.
    pub const fn from_byte(byte: u8) -> Option<Channel> {
        match byte {
            0 => Some(Channel::Stdin),
            1 => Some(Channel::Stdout),
            2 => Some(Channel::Stderr),
            3 => Some(Channel::Error),
            4 => Some(Channel::Resize),
            _ => None,
        }
    }

    /// The channel's name in lower case (`"stdout"`).
    pub const fn name(self) -> &'static str {
        match self {
            Channel::Stdin => "stdin",
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
            Channel::Error => "error",
            Channel::Resize => "resize",
        }
    }
}

impl TryFrom<u8> for Channel {
    type Error = Error;

    /// Fails with [`ErrorCode::ProtocolError`] for any byte that is not a data channel
    /// (255, the CLOSE signal, included: it is not a channel of its own).
    fn try_from(byte: u8) -> Result<Channel, Error> {
        Channel::from_byte(byte)
            .ok_or_else(|| Error::new(ErrorCode::ProtocolError, format!("unknown channel {byte}")))
    }
}

impl From<Channel> for u8 {
    fn from(channel: Channel) -> u8 {
        channel as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn numbers_and_digits() {
        for (n, ch) in Channel::ALL.iter().enumerate() {
            assert_eq!(ch.byte() as usize, n);
            assert_eq!(Channel::try_from(n as u8).unwrap(), *ch);
            assert_eq!(ch.digit(), b"01234"[n]);
            assert_eq!(Channel::from_digit(b"01234"[n]), Some(*ch));
        }
    }

    #[test]
    fn unknown_bytes_are_protocol_errors() {
        for b in [5u8, 7, 9, 100, 254, CLOSE_SIGNAL] {
            assert_eq!(
                Channel::try_from(b).unwrap_err().code(),
                ErrorCode::ProtocolError
            );
        }
        for d in [b'5', b'9', b'a', b'/', b' ', 0] {
            assert_eq!(Channel::from_digit(d), None);
        }
    }
}
