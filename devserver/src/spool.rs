//! A write buffer between tungstenite and the socket.
//!
//! tungstenite writes its whole output buffer and, after a partial write, shifts the rest to the
//! front (`Vec::drain(0..n)`). On a busy loopback socket writes are often partial, so a 1 MiB
//! frame gets moved many times over. This adapter takes every write whole (up to a bound) and
//! hands it to the socket from a cursor, so each byte is copied once more and never moved.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Pending bytes at which writes stop being accepted until the socket takes some.
const LIMIT: usize = 1 << 20;

pub struct Spool<S> {
    inner: S,
    buf: Vec<u8>,
    pos: usize,
}

impl<S> Spool<S> {
    pub fn new(inner: S) -> Spool<S> {
        Spool {
            inner,
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }
}

impl<S: AsyncWrite + Unpin> Spool<S> {
    /// Writes pending bytes until done or the socket would block.
    fn push(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pos < self.buf.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.buf.clear();
        self.pos = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Spool<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Spool<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Poll::Ready(Err(e)) = this.push(cx) {
            return Poll::Ready(Err(e));
        }
        if this.pending() >= LIMIT {
            // push() registered the waker with the socket.
            return Poll::Pending;
        }
        let mut written = 0;
        if this.pending() == 0 {
            // Nothing queued: hand the data to the socket directly, queue only the rest.
            match Pin::new(&mut this.inner).poll_write(cx, data) {
                Poll::Ready(Ok(n)) => written = n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            if written == data.len() {
                return Poll::Ready(Ok(written));
            }
        }
        if this.pos > 0 && this.pos >= this.buf.len() / 2 {
            // Compact: what is left is at most half of the buffer.
            this.buf.drain(..this.pos);
            this.pos = 0;
        }
        this.buf.extend_from_slice(&data[written..]);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.push(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.push(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_arrive_in_order_under_backpressure() {
        let (a, mut b) = tokio::io::duplex(4096);
        let mut spool = Spool::new(a);
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = tokio::spawn(async move {
            for chunk in data.chunks(100_003) {
                spool.write_all(chunk).await.unwrap();
            }
            spool.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, expected);
    }
}
