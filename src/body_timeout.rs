//! A body that fails when its source goes quiet: a slow-drip upstream answer is aborted instead of hanging the client.
//!
//! In: a streamed body and the longest pause allowed between two frames. Out: the same frames, or an error once the
//! pause is exceeded (the client's connection is then reset, which it sees as a truncated answer, never a complete one).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::body::{BoxError, ProxyBody};

/// The stream stalled for longer than the allowed pause.
#[derive(Debug, thiserror::Error)]
#[error("upstream body stalled for more than {0:?}")]
pub struct Stalled(pub Duration);

pub struct IdleTimeoutBody {
    inner: ProxyBody,
    pause: Duration,
    timer: Pin<Box<Sleep>>,
}

impl IdleTimeoutBody {
    pub fn new(inner: ProxyBody, pause: Duration) -> Self {
        IdleTimeoutBody {
            inner,
            pause,
            timer: Box::pin(tokio::time::sleep(pause)),
        }
    }
}

impl Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = Instant::now() + this.pause;
                this.timer.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Stalled(this.pause))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
