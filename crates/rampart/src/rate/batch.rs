//! Batching of concurrent decisions into one call (the Redis store's
//! `batch` setting): requests that arrive while a call is in flight wait for
//! it and then go together, as one call, at most [`MAX_BATCH`] at a time.
//! Nothing waits for a timer: a lone request goes at once, so batching adds
//! at most one call's time to a request and only under load, when it saves
//! the most. Answers are matched to requests by position.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{mpsc, oneshot};

/// Most requests in one call.
pub(crate) const MAX_BATCH: usize = 128;

/// A call for several requests: one answer per request, in order, or why
/// the call failed (every request of the batch gets that error).
pub(crate) type BatchFuture<Resp> = Pin<Box<dyn Future<Output = Result<Vec<Resp>, String>> + Send>>;

type Job<Req, Resp> = (Req, oneshot::Sender<Result<Resp, String>>);

/// Sends requests to the task that batches them.
pub(crate) struct Batcher<Req, Resp> {
    jobs: mpsc::UnboundedSender<Job<Req, Resp>>,
}

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Start the batching task on the current Tokio runtime; `call` makes
    /// one call for a batch (bounded in time by the caller's own timeout).
    pub(crate) fn start<F>(call: F) -> Self
    where
        F: Fn(Vec<Req>) -> BatchFuture<Resp> + Send + Sync + 'static,
    {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job<Req, Resp>>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = queue.recv().await {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let (requests, replies): (Vec<Req>, Vec<_>) = batch.drain(..).unzip();
                let expected = replies.len();
                match call(requests).await {
                    Ok(answers) if answers.len() == expected => {
                        for (reply, answer) in replies.into_iter().zip(answers) {
                            let _ = reply.send(Ok(answer));
                        }
                    }
                    Ok(answers) => {
                        let why = format!("{} answers for {expected} requests", answers.len());
                        for reply in replies {
                            let _ = reply.send(Err(why.clone()));
                        }
                    }
                    Err(why) => {
                        for reply in replies {
                            let _ = reply.send(Err(why.clone()));
                        }
                    }
                }
            }
        });
        Batcher { jobs }
    }

    /// The answer to `request`, made in the next batch; `Err(request)` back
    /// when the batching task is gone (its runtime was shut down), for the
    /// caller to make the call itself.
    pub(crate) async fn submit(&self, request: Req) -> Result<Result<Resp, String>, Req> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((request, _))) = self.jobs.send((request, reply)) {
            return Err(request);
        }
        Ok(answer
            .await
            .unwrap_or_else(|_| Err("the batching task dropped the request".to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_requests_share_calls_and_get_their_own_answers() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let batcher = Arc::new(Batcher::start(move |requests: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::task::yield_now().await;
                Ok(requests.into_iter().map(|r| r * 10).collect())
            }) as BatchFuture<u32>
        }));
        let tasks: Vec<_> = (0..50u32)
            .map(|i| {
                let batcher = batcher.clone();
                tokio::spawn(async move { (i, batcher.submit(i).await) })
            })
            .collect();
        for task in tasks {
            let (i, answer) = task.await.unwrap();
            assert_eq!(answer, Ok(Ok(i * 10)));
        }
        let calls = calls.load(Ordering::SeqCst);
        assert!((1..50).contains(&calls), "{calls} calls for 50 requests");
    }

    #[tokio::test]
    async fn a_failed_call_fails_each_of_its_requests() {
        let batcher = Batcher::start(|_: Vec<u32>| {
            Box::pin(async { Err("down".to_owned()) }) as BatchFuture<u32>
        });
        assert_eq!(batcher.submit(1).await, Ok(Err("down".to_owned())));
    }

    #[test]
    fn a_batcher_whose_runtime_is_gone_hands_the_request_back() {
        let batcher = tokio::runtime::Runtime::new().unwrap().block_on(async {
            Batcher::start(|r: Vec<u32>| Box::pin(async move { Ok(r) }) as BatchFuture<u32>)
        });
        let other = tokio::runtime::Runtime::new().unwrap();
        assert_eq!(other.block_on(batcher.submit(7)), Err(7));
    }
}
