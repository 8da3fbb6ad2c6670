//! One retry policy for every HTTP request image-budget makes (registries,
//! GitHub, GitLab): 429 and 5xx answers and dropped connections are tried
//! again, a bounded number of times, after an exponential backoff with
//! jitter, or after the `Retry-After` the server asked for when that is no
//! longer than a CI job should stall. The waits go through a [`Sleeper`], so
//! tests check the waits asked for without waiting.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How requests are retried.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failed attempt; it doubles after each.
    pub first_backoff: Duration,
    /// The doubling stops here.
    pub max_backoff: Duration,
    /// A `Retry-After` up to this long is waited for; a longer one gives up
    /// at once rather than stalling the pipeline.
    pub max_wait: Duration,
    /// Each backoff is drawn between half and all of itself, so clients that
    /// failed together do not come back together.
    pub jitter: bool,
    pub sleeper: Sleeper,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            attempts: 4,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_wait: Duration::from_secs(5),
            jitter: true,
            sleeper: Sleeper::default(),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Out of attempts, or asked to wait longer than `max_wait`.
    GiveUp,
}

impl Policy {
    /// After `attempt` (1-based) failed transiently, with the server's
    /// `Retry-After` if it sent one: the next step.
    pub fn next(&self, attempt: u32, asked: Option<Duration>) -> Next {
        if attempt >= self.attempts {
            return Next::GiveUp;
        }
        match asked {
            Some(asked) if asked > self.max_wait => Next::GiveUp,
            Some(asked) => Next::Retry(asked.max(self.backoff(attempt))),
            None => Next::Retry(self.backoff(attempt)),
        }
    }

    /// The backoff after `attempt` failed: doubling from `first_backoff` up
    /// to `max_backoff`, with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .first_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)))
            .min(self.max_backoff);
        if self.jitter {
            // Between half and all of it.
            let half = doubled / 2;
            half + half.mul_f64(unit_random())
        } else {
            doubled
        }
    }

    /// Waits as `next` said.
    pub async fn sleep(&self, wait: Duration) {
        self.sleeper.sleep(wait).await;
    }
}

/// A number in [0, 1) that differs from call to call (std's per-instance
/// random hash keys; no cryptographic use).
fn unit_random() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Where the waits go: tokio's clock, or (in tests) a record of the waits
/// asked for, returning at once.
#[derive(Debug, Clone, Default)]
pub struct Sleeper {
    record: Option<Arc<Mutex<Vec<Duration>>>>,
}

impl Sleeper {
    /// A sleeper that records the waits instead of waiting, and the record.
    pub fn recording() -> (Sleeper, Arc<Mutex<Vec<Duration>>>) {
        let record = Arc::new(Mutex::new(Vec::new()));
        (
            Sleeper {
                record: Some(Arc::clone(&record)),
            },
            record,
        )
    }

    pub async fn sleep(&self, wait: Duration) {
        match &self.record {
            Some(record) => {
                record
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(wait);
                tokio::task::yield_now().await;
            }
            None => tokio::time::sleep(wait).await,
        }
    }
}

/// An answer worth trying again: 429 (too many requests) and 5xx.
pub fn is_transient(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by registries or
/// forges for this, and is ignored).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The innermost cause of an error, where the useful words are
/// ("Connection refused (os error 111)", "invalid peer certificate: ...").
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    deepest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> Policy {
        Policy {
            jitter: false,
            ..Policy::default()
        }
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_retry_after_is_honoured_up_to_max_wait() {
        let p = Policy {
            attempts: 10,
            ..exact()
        };
        let ms = Duration::from_millis;
        assert_eq!(p.next(1, None), Next::Retry(ms(250)));
        assert_eq!(p.next(2, None), Next::Retry(ms(500)));
        assert_eq!(p.next(3, None), Next::Retry(ms(1000)));
        assert_eq!(p.next(6, None), Next::Retry(ms(4000)), "capped");
        assert_eq!(p.next(9, None), Next::Retry(ms(4000)));
        assert_eq!(p.next(10, None), Next::GiveUp, "out of attempts");
        assert_eq!(p.next(1, Some(ms(2000))), Next::Retry(ms(2000)));
        assert_eq!(
            p.next(3, Some(ms(0))),
            Next::Retry(ms(1000)),
            "never less than the backoff"
        );
        assert_eq!(
            p.next(1, Some(Duration::from_secs(60))),
            Next::GiveUp,
            "a minute: give up now"
        );
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_backoff() {
        let p = Policy::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let wait = p.backoff(3);
            assert!(
                wait >= Duration::from_millis(500) && wait <= Duration::from_millis(1000),
                "{wait:?}"
            );
            seen.insert(wait);
        }
        assert!(seen.len() > 10, "the waits differ");
    }

    #[tokio::test]
    async fn a_recording_sleeper_records_and_does_not_wait() {
        let (sleeper, record) = Sleeper::recording();
        let p = Policy { sleeper, ..exact() };
        p.sleep(Duration::from_secs(3600)).await;
        assert_eq!(*record.lock().unwrap(), [Duration::from_secs(3600)]);
    }

    #[test]
    fn transient_statuses_and_retry_after() {
        assert!(is_transient(429) && is_transient(500) && is_transient(503));
        assert!(!is_transient(404) && !is_transient(401) && !is_transient(422));
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
