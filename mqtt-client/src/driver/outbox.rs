//! Bytes parked for writing: the chunks the core handed out, written with
//! one vectored write per wake-up, and their total kept as they come and
//! go so the driver can check its backlog without walking the queue.

use bytes::{Buf, Bytes};
use futures_io::AsyncWrite;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Chunks per vectored write.
const SLICES: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Outbox {
    chunks: VecDeque<Bytes>,
    /// The bytes in `chunks`.
    len: usize,
}

impl Outbox {
    pub(super) fn push(&mut self, bytes: Bytes) {
        self.len += bytes.len();
        if self.chunks.capacity() == 0 {
            // A quiet connection writes a packet at a time: room for one,
            // grown once traffic needs more.
            self.chunks.reserve_exact(1);
        }
        self.chunks.push_back(bytes);
    }

    pub(super) fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The bytes waiting.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Writes until everything is out (`Ready(Ok)`), the stream would
    /// block (`Pending`) or fails. A write of nothing is an error: the
    /// stream can take no more.
    pub(super) fn poll_write<S>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        while !self.chunks.is_empty() {
            let mut slices = [IoSlice::new(&[]); SLICES];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(&self.chunks) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            let written = match Pin::new(&mut *stream).poll_write_vectored(cx, &slices[..count]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            self.consume(written);
            if self.chunks.is_empty() {
                // Push the bytes out now rather than at the next write.
                let _ = Pin::new(&mut *stream).poll_flush(cx);
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Drops the first `n` bytes, which were written.
    fn consume(&mut self, mut n: usize) {
        self.len = self.len.saturating_sub(n);
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                return;
            };
            if n >= front.len() {
                n -= front.len();
                self.chunks.pop_front();
            } else {
                front.advance(n);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most `limit` bytes per write, then would block.
    struct Slow {
        written: Vec<u8>,
        limit: usize,
        writes: usize,
    }

    impl AsyncWrite for Slow {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.writes == 0 {
                return Poll::Pending;
            }
            self.writes -= 1;
            let n = buf.len().min(self.limit);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn partial_writes_keep_order_and_count() {
        let mut out = Outbox::default();
        out.push(Bytes::from_static(b"abc"));
        out.push(Bytes::from_static(b"defg"));
        assert_eq!(out.len(), 7);
        let mut stream = Slow {
            written: Vec::new(),
            limit: 2,
            writes: 2,
        };
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(out.poll_write(&mut stream, &mut cx).is_pending());
        // "ab", then what is left of the first chunk, "c".
        assert_eq!(out.len(), 4);
        stream.writes = 10;
        assert!(matches!(
            out.poll_write(&mut stream, &mut cx),
            Poll::Ready(Ok(()))
        ));
        assert!(out.is_empty());
        assert_eq!(out.len(), 0);
        assert_eq!(stream.written, b"abcdefg");
    }
}
