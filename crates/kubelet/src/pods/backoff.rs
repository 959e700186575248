//! Crash-loop and image-pull back-off, as upstream: the first retry is immediate, then each
//! one waits twice as long as the last (10 s, 20 s, 40 s ... capped at 5 min); an entry left
//! alone for twice the cap is forgotten, so a container that has been fine for 10 minutes
//! starts over at 10 s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Upstream's initial back-off.
pub const INITIAL: Duration = Duration::from_secs(10);
/// Upstream's cap.
pub const MAX: Duration = Duration::from_secs(300);

/// Back-off per key (a container name, or `image:<container>` for pulls).
#[derive(Debug, Default)]
pub struct Backoff {
    entries: HashMap<String, (Duration, Instant)>,
}

impl Backoff {
    /// How long `key` must still wait at `now`; `None` when it may go.
    pub fn remaining(&self, key: &str, now: Instant) -> Option<Duration> {
        let (delay, since) = self.entries.get(key)?;
        let waited = now.saturating_duration_since(*since);
        (waited < *delay).then(|| *delay - waited)
    }

    /// The current delay of `key` (for messages), if any.
    pub fn delay(&self, key: &str) -> Option<Duration> {
        self.entries.get(key).map(|(d, _)| *d)
    }

    /// Records a retry of `key` at `now` and returns the delay the next retry will wait.
    pub fn next(&mut self, key: &str, now: Instant) -> Duration {
        let delay = match self.entries.get(key) {
            Some((delay, since)) if now.saturating_duration_since(*since) < 2 * MAX => {
                (*delay * 2).min(MAX)
            }
            _ => INITIAL,
        };
        self.entries.insert(key.to_owned(), (delay, now));
        delay
    }

    /// Forgets `key` (it succeeded).
    pub fn reset(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

/// A duration in Go's `String()` form, as upstream's messages print it: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{}h{}m{}s", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        assert_eq!(backoff.remaining("c", start), None);
        let mut delays = Vec::new();
        let mut at = start;
        for _ in 0..7 {
            delays.push(backoff.next("c", at).as_secs());
            at += Duration::from_secs(1);
        }
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn a_key_waits_out_its_delay_and_is_forgotten_after_twice_the_cap() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        backoff.next("c", start);
        assert_eq!(
            backoff.remaining("c", start + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(
            backoff.remaining("c", start + Duration::from_secs(10)),
            None
        );
        assert_eq!(backoff.next("c", start + 2 * MAX), INITIAL);
        backoff.reset("c");
        assert_eq!(backoff.delay("c"), None);
    }

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }
}
