//! The tar codec of file transfer, sans-IO: a push parser for downloads and a builder for
//! uploads, over the `tar` crate's [`tar::Header`]. Neither holds a file body: bodies stay
//! with the caller (in the browser, views of WebSocket frames and `Blob` streams).
//!
//! - [`path`]: normalisation and the safety rules (absolute paths, `..` that leads out,
//!   links that lead out of the tree).
//! - [`parse`]: [`Parser`] (`want`, `feed`, `advance`, `push`, `poll_entry`, `finish`),
//!   [`Entry`], [`EntryKind`], [`Want`].
//! - [`build`]: [`Builder`] (`new`, `len`, `head`, `tail`, `to_bytes`), [`Spec`],
//!   [`SpecKind`].

pub mod build;
pub mod parse;
pub mod path;

pub use build::{Builder, Spec, SpecKind, END_OF_ARCHIVE};
pub use parse::{Entry, EntryKind, Parser, Want, BLOCK, MAX_META};
