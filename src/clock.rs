//! The wall clock, read one way everywhere.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch; a clock before 1970 counts as 0 (every token then looks not-yet-valid: fail closed).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
