//! The stream of one connection as hyper sees it: a write deadline (hyper has
//! none, so a peer that stops reading would hold a response's writer forever)
//! and the connection's place under `--max-connections`.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;

/// `S` whose every write (and flush) must make progress within `limit`: a
/// write the peer keeps pending for that long fails with `TimedOut`, which
/// closes the connection. The clock starts when a write first waits and stops
/// when it completes.
///
/// It holds the connection's place under `--max-connections` (`slot`): the
/// place is free once the stream is dropped, by hyper at the end of the
/// connection or by the WebSocket it upgraded to (inside hyper's upgraded
/// connection), however long that runs.
///
/// `heard` is set whenever a read brings bytes (the server clears it when a
/// request head is complete), so a head deadline can tell a partial head
/// from an idle connection.
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    armed: Option<Pin<Box<Sleep>>>,
    /// Held until the stream is dropped.
    _slot: Option<OwnedSemaphorePermit>,
    heard: Arc<AtomicBool>,
}

impl<S> WriteDeadline<S> {
    pub fn new(inner: S, limit: Duration, slot: Option<OwnedSemaphorePermit>) -> Self {
        WriteDeadline {
            inner,
            limit,
            armed: None,
            _slot: slot,
            heard: Arc::default(),
        }
    }

    /// Set whenever a read brings bytes; the reader of the flag clears it.
    pub fn heard(&self) -> Arc<AtomicBool> {
        self.heard.clone()
    }

    /// Passes a ready result through (disarming the clock); on `Pending`, arms
    /// the clock and fails with `TimedOut` once it has run out.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if poll.is_ready() {
            self.armed = None;
            return poll;
        }
        let limit = self.limit;
        let sleep = self
            .armed
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(sleep.as_mut().poll(cx));
        self.armed = None;
        Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Relaxed);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Bound: a write the peer never takes fails with `TimedOut` after the
    /// limit (a duplex pipe of 64 bytes that nobody reads); what fits goes
    /// through.
    #[tokio::test]
    async fn a_write_the_peer_never_takes_times_out() {
        let (near, _far) = tokio::io::duplex(64);
        let mut stream = WriteDeadline::new(near, Duration::from_millis(100), None);
        stream.write_all(&[1; 64]).await.unwrap();
        let error = stream.write_all(&[2; 1]).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    }
}
