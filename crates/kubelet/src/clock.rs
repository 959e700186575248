//! Timestamps in the API's two wire forms.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `metav1.Time`: RFC 3339 in whole seconds.
pub fn now_rfc3339() -> String {
    gantry_api::time::rfc3339(now_secs())
}

/// `metav1.MicroTime`: RFC 3339 with six fractional digits (Leases, events.k8s.io).
pub fn now_micro() -> String {
    gantry_api::time::now_micro()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_time_has_six_fractional_digits() {
        let text = now_micro();
        let fraction = text.rsplit('.').next().unwrap();
        assert_eq!(fraction.len(), 7, "{text}");
        assert!(fraction.ends_with('Z'));
    }
}
