//! The engine's export of an image (`docker save`), as a byte stream that
//! times out by silence, not by length: the classic store and podman write
//! the whole image to a temporary directory before their first byte, so the
//! start is waited for however long it takes (a note on a terminal says so),
//! while a stream that has started and then stops sending for longer than
//! the engine's timeout is an error that names the image.

use std::io;
use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::api;

/// How long the start of an export is waited for: as long as the run
/// allows (`--timeout` bounds the run).
const START_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The export of `reference` (at `platform`, where the engine takes it),
/// each gap between chunks after the first bounded by `silence`.
pub fn stream(
    docker: &Docker,
    reference: &str,
    query: &[(&str, String)],
    silence: Duration,
) -> impl Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static {
    // As the docker CLI asks: `GET /images/get?names=REF[&platform=...]`.
    let body = api::get(docker, "/images/get", query, Some(START_WAIT));
    let name = reference.to_string();
    let waiting = crate::measure::progress::waiting(&format!(
        "waiting for the engine to start the export of {name}"
    ));
    let state = State {
        body,
        started: false,
        done: false,
        waiting: Some(waiting),
    };
    Box::pin(futures_util::stream::unfold(state, move |mut state| {
        let name = name.clone();
        async move {
            if state.done {
                return None;
            }
            let next = if state.started {
                match tokio::time::timeout(silence, state.body.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        state.done = true;
                        let error = io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "the engine stopped sending the export of `{name}`: nothing came for {}s",
                                silence.as_secs()
                            ),
                        );
                        return Some((Err(error), state));
                    }
                }
            } else {
                let first = state.body.next().await;
                state.started = true;
                state.waiting = None;
                first
            };
            match next {
                None => None,
                Some(Ok(bytes)) => Some((Ok(bytes), state)),
                Some(Err(e)) => {
                    state.done = true;
                    Some((Err(io::Error::other(e)), state))
                }
            }
        }
    }))
}

struct State<S> {
    body: S,
    started: bool,
    done: bool,
    /// The note shown while the engine prepares the export; gone at the
    /// first byte.
    waiting: Option<crate::measure::progress::Waiting>,
}
