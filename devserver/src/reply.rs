//! HTTP answers: the body type every handler returns, and the two ways they build a response.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

pub type Body = Full<Bytes>;

/// A response with `Cache-Control: no-store` and, unless `content_type` is empty, that type.
pub fn response(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = code;
    if !content_type.is_empty() {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A JSON response (a Status or an API object).
pub fn json(code: StatusCode, body: Vec<u8>) -> Response<Body> {
    response(code, "application/json", body)
}
