//! When a failed delivery is tried again.

use std::time::Duration;

use serde::Deserialize;

/// The waits before each attempt of a series, in seconds: the first is the wait before the
/// first attempt, which is always 0 (a delivery is due the moment it is written, and a resend
/// the moment it is asked for), the second the wait after the first failure, and so on. After
/// the last attempt fails, the delivery has failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Schedule(Vec<u64>);

impl Default for Schedule {
    /// 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about three
    /// days, as the Standard Webhooks recommendations suggest.
    fn default() -> Self {
        Schedule(vec![0, 5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400])
    }
}

impl Schedule {
    /// A schedule from waits in seconds; `None` when it has no attempt at all or does not start
    /// with 0.
    pub fn new(waits: Vec<u64>) -> Option<Self> {
        (waits.first() == Some(&0)).then_some(Schedule(waits))
    }

    /// Whether the schedule can be used: at least one attempt, the first at once.
    pub fn is_valid(&self) -> bool {
        self.0.first() == Some(&0)
    }

    /// The wait before the next attempt, after `failed` attempts of the series have failed;
    /// `None` when that was the last one.
    pub fn wait_after(&self, failed: usize) -> Option<Duration> {
        self.0.get(failed).map(|s| Duration::from_secs(*s))
    }

    /// How many attempts a series has.
    pub fn attempts(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_tries_ten_times_over_three_days() {
        let s = Schedule::default();
        assert_eq!(s.attempts(), 10);
        assert_eq!(s.wait_after(1), Some(Duration::from_secs(5)));
        assert_eq!(s.wait_after(9), Some(Duration::from_secs(86_400)));
        assert_eq!(s.wait_after(10), None, "after the tenth failure: failed");
        let total: u64 = s.0.iter().sum();
        assert!((2 * 86_400..4 * 86_400).contains(&total), "{total}");
        assert!(Schedule::new(vec![]).is_none());
        assert!(
            Schedule::new(vec![60, 5]).is_none(),
            "the first attempt is always at once"
        );
    }
}
