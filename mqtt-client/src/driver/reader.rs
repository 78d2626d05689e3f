//! Reading from the transport. A quiet connection reads into a small
//! buffer on the stack, so an idle client keeps no read buffer at all;
//! once a read fills it, reads go to a buffer on the heap that doubles
//! while reads keep filling it, up to `READ_CHUNK`. The heap buffer is let
//! go again when a whole deadline period passed without reading into it.
//! Either way the bytes are handed to the core, which keeps what it has not
//! decoded yet.

use futures_io::AsyncRead;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bytes read per socket read, at most.
const READ_CHUNK: usize = 64 * 1024;
/// The buffer on the stack, for a quiet connection.
const QUIET_READ: usize = 1024;
/// The heap buffer's first size, once traffic starts.
const READ_START: usize = 4 * 1024;

#[derive(Debug, Default)]
pub(super) struct Reader {
    heap: Vec<u8>,
    /// The heap buffer was read into since the last `on_deadline`.
    used: bool,
}

impl Reader {
    /// Reads once and hands what came to `take`; `Ready(Ok(0))` is the end
    /// of the stream.
    pub(super) fn poll_read<S>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
        take: impl FnOnce(&[u8]),
    ) -> Poll<io::Result<usize>>
    where
        S: AsyncRead + Unpin + ?Sized,
    {
        if self.heap.is_empty() {
            let mut quiet = [0u8; QUIET_READ];
            let n = match Pin::new(stream).poll_read(cx, &mut quiet) {
                Poll::Ready(Ok(n)) => n,
                other => return other,
            };
            take(quiet.get(..n).unwrap_or_default());
            if n == QUIET_READ {
                // Traffic: read into a heap buffer from now on.
                self.heap = vec![0; READ_START];
                self.used = true;
            }
            return Poll::Ready(Ok(n));
        }
        let n = match Pin::new(stream).poll_read(cx, &mut self.heap) {
            Poll::Ready(Ok(n)) => n,
            other => return other,
        };
        self.used = true;
        take(self.heap.get(..n).unwrap_or_default());
        if n == self.heap.len() && n < READ_CHUNK {
            self.heap.resize(n * 2, 0);
        }
        Poll::Ready(Ok(n))
    }

    /// A deadline passed (keep-alive, say): a heap buffer not read into
    /// since the previous one is let go.
    pub(super) fn on_deadline(&mut self) {
        if !std::mem::take(&mut self.used) {
            self.heap = Vec::new();
        }
    }

    /// The transport ended: the next one starts quiet.
    pub(super) fn reset(&mut self) {
        *self = Reader::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out `data` in reads as large as the caller's buffer.
    struct Source(Vec<u8>);

    impl AsyncRead for Source {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.0.is_empty() {
                return Poll::Pending;
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn quiet_reads_hold_no_buffer_and_traffic_grows_one() {
        let mut reader = Reader::default();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut got = Vec::new();
        let mut source = Source(vec![7; 10]);
        assert!(matches!(
            reader.poll_read(&mut source, &mut cx, |d| got.extend_from_slice(d)),
            Poll::Ready(Ok(10))
        ));
        assert_eq!(reader.heap.capacity(), 0);

        let mut source = Source((0..100_000u32).map(|i| i as u8).collect());
        while let Poll::Ready(Ok(_)) =
            reader.poll_read(&mut source, &mut cx, |d| got.extend_from_slice(d))
        {}
        assert_eq!(got.len(), 100_010);
        assert!(got[10..].iter().enumerate().all(|(i, b)| *b == i as u8));
        assert_eq!(reader.heap.len(), READ_CHUNK);

        // Busy since the last deadline: kept; quiet for a whole period: let go.
        reader.on_deadline();
        assert_eq!(reader.heap.len(), READ_CHUNK);
        reader.on_deadline();
        assert_eq!(reader.heap.capacity(), 0);
    }
}
