//! Service configuration, already validated by the caller (the CLI merges file, env and flags).

use std::time::Duration;

/// How the services behave.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The city's time zone (IANA name, `Asia/Shanghai` by default): report days, office hours
    /// and deadlines are in its local time.
    pub time_zone: chrono_tz::Tz,
    /// How long a login token stays valid.
    pub session_ttl: Duration,
    /// Most appeals committed in one intake transaction.
    pub intake_batch_max: usize,
    /// Clock and amount for a department to sign for a dispatched case (响应时限).
    pub response_limit: (urbis_domain::calendar::ClockType, u32),
    /// Handling time limit for categories without their own.
    pub default_limit: (urbis_domain::calendar::ClockType, u32),
    /// How long before the deadline a reminder goes out when the category sets none.
    pub remind_before_minutes: i64,
    /// How often the SLA worker wakes.
    pub sla_interval: Duration,
    /// Below this classifier confidence an appeal keeps no category and waits for a person.
    pub auto_category_min_confidence: f32,
    /// argon2 memory cost in KiB (lower only for tests and demo speed, never below 8 MiB in production).
    pub argon2_memory_kib: u32,
    /// The server's public base URL (scheme, host and port, no trailing slash): Open311
    /// discovery and media URLs are built from it.
    pub public_url: String,
    /// Limits against abuse (hashing budget, rate limits, back-off, quotas).
    pub security: crate::guard::SecurityLimits,
    /// How intake tells that an appeal repeats an open case.
    pub repeat_rule: crate::dedup::RepeatRule,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        use urbis_domain::calendar::ClockType;
        ServiceConfig {
            time_zone: chrono_tz::Tz::Asia__Shanghai,
            session_ttl: Duration::from_secs(12 * 3600),
            intake_batch_max: 1024,
            response_limit: (ClockType::WorkingHour, 2),
            default_limit: (ClockType::WorkingDay, 5),
            remind_before_minutes: 120,
            sla_interval: Duration::from_secs(30),
            auto_category_min_confidence: 0.6,
            argon2_memory_kib: 19 * 1024,
            public_url: "http://127.0.0.1:8080".into(),
            security: crate::guard::SecurityLimits::default(),
            repeat_rule: crate::dedup::RepeatRule::default(),
        }
    }
}

impl ServiceConfig {
    /// The city's offset from UTC in minutes at an instant (480 for China Standard Time).
    pub fn utc_offset_minutes(&self, at: chrono::DateTime<chrono::Utc>) -> i32 {
        use chrono::Offset;
        at.with_timezone(&self.time_zone)
            .offset()
            .fix()
            .local_minus_utc()
            / 60
    }
}
