//! Latency summaries.

use std::time::Duration;

/// The `p`-th percentile (0–100) of `samples` in milliseconds, by nearest rank.
pub(crate) fn millis(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::millis;
    use std::time::Duration;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(millis(&mut samples, 99.0), 99.0);
        assert_eq!(millis(&mut samples, 50.0), 50.0);
        assert_eq!(millis(&mut samples, 100.0), 100.0);
        assert!(millis(&mut [], 99.0).is_nan());
    }
}
