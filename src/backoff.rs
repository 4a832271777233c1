//! Exponential backoff with jitter, for every retry loop (environment repository pushes,
//! registry calls, forge calls): ±50% so that jobs retrying at the same moment spread out.

use std::time::Duration;

/// `first` doubled `attempt` times (from 0), at most `max`, then anywhere from half of that to
/// one and a half times it.
pub fn backoff(first: Duration, attempt: u32, max: Duration) -> Duration {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let base = millis(first)
        .saturating_mul(1 << attempt.min(32))
        .min(millis(max));
    let mut byte = [0u8; 1];
    getrandom::fill(&mut byte).expect("the OS provides randomness");
    Duration::from_millis(base / 2 + base * u64::from(byte[0]) / 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_within_half_either_way() {
        let ms = Duration::from_millis;
        for (attempt, base) in [(0, 50), (1, 100), (5, 1600), (6, 2000), (40, 2000)] {
            for _ in 0..50 {
                let wait = backoff(ms(50), attempt, ms(2000));
                assert!(
                    wait >= ms(base / 2) && wait <= ms(base * 3 / 2),
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
    }
}
