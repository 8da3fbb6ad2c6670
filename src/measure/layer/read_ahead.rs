//! A byte stream read ahead of its consumer: a task drains the source into a
//! bounded queue, so the socket keeps being read while the layer reader
//! (a blocking thread) hashes and parses what came before. Without it the
//! two take turns, and the engine or registry waits whenever the reader works.

use futures_util::{Stream, StreamExt};

/// How many chunks may wait: a few megabytes at most (hyper's chunks are
/// at most a few hundred kilobytes), whatever the size of the stream.
pub const DEPTH: usize = 16;

/// `source`, read ahead by up to `DEPTH` chunks on a task of its own. The
/// task stops when the consumer drops the stream.
pub fn read_ahead<S, T, E>(source: S) -> impl Stream<Item = Result<T, E>> + Send + Unpin + 'static
where
    S: Stream<Item = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(DEPTH);
    tokio::spawn(async move {
        let mut source = std::pin::pin!(source);
        while let Some(item) = source.next().await {
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    let mut rx = rx;
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_chunk_arrives_in_order_and_an_error_ends_the_stream() {
        let items: Vec<Result<u32, String>> = (0..100).map(Ok).collect();
        let got: Vec<_> = read_ahead(futures_util::stream::iter(items))
            .collect()
            .await;
        assert_eq!(got, (0..100).map(Ok).collect::<Vec<_>>());
        let items = vec![Ok(1), Err("cut".to_string()), Ok(2)];
        let got: Vec<_> = read_ahead(futures_util::stream::iter(items))
            .collect()
            .await;
        assert_eq!(got, [Ok(1), Err("cut".to_string())]);
    }
}
