//! When an answer is worth asking again: rate limits (403/429 with `retry-after`, or
//! `x-ratelimit-remaining: 0` with `x-ratelimit-reset`) are waited out, server errors retried
//! with jittered backoff, both bounded; anything else is final.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// Requests tried in all before an answer is final.
pub(super) const ATTEMPTS: u32 = 5;

/// The longest rate-limit wait taken; a longer one fails at once, saying how long it would be.
const MAX_WAIT: Duration = Duration::from_secs(90);

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Use this answer (a success, or a final error).
    Final,
    /// Ask again after this long.
    Again(Duration),
    /// A rate limit longer than we wait: the answer is final, with this explanation.
    TooLong(String),
}

/// What to do with an answer of `status` and `headers` to the `attempt`-th request (from 0).
pub(super) fn verdict(status: u16, headers: &HeaderMap, attempt: u32) -> Verdict {
    if attempt + 1 >= ATTEMPTS {
        return Verdict::Final;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if status == 403 || status == 429 {
        let wait = header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .or_else(|| {
                (header("x-ratelimit-remaining") == Some("0"))
                    .then(|| header("x-ratelimit-reset")?.trim().parse::<u64>().ok())
                    .flatten()
                    .map(until)
            });
        return match wait {
            Some(wait) if wait > MAX_WAIT => Verdict::TooLong(format!(
                "rate limited for another {}s (more than the {}s waited out); try again later",
                wait.as_secs(),
                MAX_WAIT.as_secs()
            )),
            Some(wait) => Verdict::Again(wait),
            // A 403 without rate-limit headers is a refusal; a bare 429 still a limit.
            None if status == 429 => Verdict::Again(backoff(attempt)),
            None => Verdict::Final,
        };
    }
    if (500..600).contains(&status) {
        return Verdict::Again(backoff(attempt));
    }
    Verdict::Final
}

/// From now until the Unix time `reset` (at least a second: the reset is rounded down).
fn until(reset: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Duration::from_secs(reset.saturating_sub(now).max(1))
}

/// Backoff from 250 ms doubling to 8 s, with ±50% jitter, so retrying jobs spread out.
pub(super) fn backoff(attempt: u32) -> Duration {
    crate::backoff::backoff(Duration::from_millis(250), attempt, Duration::from_secs(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn rate_limits_are_waited_out_and_refusals_are_final() {
        assert_eq!(
            verdict(429, &headers(&[("retry-after", "2")]), 0),
            Verdict::Again(Duration::from_secs(2))
        );
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3;
        let limited = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset.to_string()),
        ]);
        assert!(
            matches!(verdict(403, &limited, 0), Verdict::Again(d) if d >= Duration::from_secs(2) && d <= Duration::from_secs(3))
        );
        assert_eq!(
            verdict(403, &headers(&[("x-ratelimit-remaining", "4999")]), 0),
            Verdict::Final
        );
        assert!(matches!(
            verdict(429, &headers(&[("retry-after", "3600")]), 0),
            Verdict::TooLong(m) if m.contains("3600s")
        ));
        assert!(matches!(
            verdict(502, &HeaderMap::new(), 0),
            Verdict::Again(_)
        ));
        assert_eq!(
            verdict(502, &HeaderMap::new(), ATTEMPTS - 1),
            Verdict::Final
        );
        assert_eq!(verdict(404, &HeaderMap::new(), 0), Verdict::Final);
    }
}
