//! The mass-deprovisioning hold of a connection: when its IdP deactivates or deletes more of
//! its users within a window than the admin allows, those changes wait for the admin's
//! decision instead of taking access away. Opt-in per connection.

use serde_json::json;
use uuid::Uuid;

use crate::events::Event;

/// The shortest and longest window, in seconds.
pub const MIN_WINDOW_SECONDS: u64 = 60;
pub const MAX_WINDOW_SECONDS: u64 = 7 * 24 * 3600;
/// The window of a connection that never set one.
pub const DEFAULT_WINDOW_SECONDS: u64 = 3600;

/// A connection's hold settings; both thresholds 0: the hold is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPolicy {
    /// Most deprovisionings allowed within the window; 0: no count threshold.
    pub max_users: u32,
    /// Most deprovisionings allowed, in percent of the connection's active users at the
    /// window's start; 0: no share threshold.
    pub max_percent: u32,
    pub window_seconds: u64,
}

impl HoldPolicy {
    pub fn enabled(&self) -> bool {
        self.max_users > 0 || self.max_percent > 0
    }

    /// Checks the values an admin sets; the message says which is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_percent > 100 {
            return Err(format!("hold_max_percent is 0 to 100; got {}", self.max_percent));
        }
        if !(MIN_WINDOW_SECONDS..=MAX_WINDOW_SECONDS).contains(&self.window_seconds) {
            return Err(format!(
                "hold_window_seconds is {MIN_WINDOW_SECONDS} to {MAX_WINDOW_SECONDS}; got {}",
                self.window_seconds
            ));
        }
        Ok(())
    }

    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// What the window holds when one more deprovisioning arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Deactivations and deletions of active users the connection made within the window.
    pub deprovisioned: u64,
    /// The connection's active users now (the one about to go included).
    pub active: u64,
}

/// Whether one more deprovisioning trips the hold: it would make more than `max_users`, or
/// more than `max_percent` of the users active at the window's start (those active now plus
/// those deprovisioned within it).
pub fn trips(policy: &HoldPolicy, w: Window) -> bool {
    let after = w.deprovisioned.saturating_add(1);
    let by_count = policy.max_users > 0 && after > u64::from(policy.max_users);
    let base = w.active.saturating_add(w.deprovisioned);
    let by_share =
        policy.max_percent > 0 && u128::from(after) * 100 > u128::from(policy.max_percent) * u128::from(base);
    by_count || by_share
}

/// What a held change does once approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Deactivate,
    Delete,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Deactivate => "deactivate",
            Effect::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Effect> {
        match s {
            "deactivate" => Some(Effect::Deactivate),
            "delete" => Some(Effect::Delete),
            _ => None,
        }
    }

    /// The sync log's words for a held change of `user_name`.
    pub fn held_summary(self, user_name: &str) -> String {
        let what = match self {
            Effect::Deactivate => "deactivation",
            Effect::Delete => "deletion",
        };
        format!("held {what} of user {user_name}: waits for an admin's decision (mass-deprovisioning hold)")
    }
}

pub mod uri {
    pub const HOLD_STARTED: &str = "urn:dirsync:event:connection:hold_started";
    pub const HOLD_APPROVED: &str = "urn:dirsync:event:connection:hold_approved";
    pub const HOLD_REJECTED: &str = "urn:dirsync:event:connection:hold_rejected";
}

impl Event {
    /// A connection's deprovisioning started to wait: `w` is the window that tripped it.
    pub fn hold_started(connection_id: Uuid, policy: &HoldPolicy, w: Window, first: Effect, user_name: &str) -> Event {
        Event {
            kind: "connection.hold_started",
            uri: uri::HOLD_STARTED,
            resource_type: "Connection",
            resource_id: connection_id,
            data: json!({
                "connectionId": connection_id,
                "deprovisionedInWindow": w.deprovisioned,
                "activeUsers": w.active,
                "heldUsers": 1,
                "maxUsers": policy.max_users,
                "maxPercent": policy.max_percent,
                "windowSeconds": policy.window_seconds,
            }),
            summary: format!(
                "{}; mass-deprovisioning hold started: {} users deprovisioned within {} s of {} active, \
                 further deactivations and deletions wait for an admin",
                first.held_summary(user_name),
                w.deprovisioned,
                policy.window_seconds,
                w.active.saturating_add(w.deprovisioned)
            ),
        }
    }

    /// An admin decided on a connection's hold: `approved`, or rejected; `users` changes
    /// applied or discarded; `actor` says who (JSON) and `by` in words.
    pub fn hold_decided(connection_id: Uuid, approved: bool, users: u64, actor: serde_json::Value, by: &str) -> Event {
        let (kind, uri, verb) = if approved {
            ("connection.hold_approved", uri::HOLD_APPROVED, "approved")
        } else {
            ("connection.hold_rejected", uri::HOLD_REJECTED, "rejected")
        };
        let effect = if approved {
            "applied"
        } else {
            "discarded; the users keep their access"
        };
        Event {
            kind,
            uri,
            resource_type: "Connection",
            resource_id: connection_id,
            data: json!({"connectionId": connection_id, "users": users, "actor": actor}),
            summary: format!("{verb} the mass-deprovisioning hold: {users} held changes {effect} (by {by})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_users: u32, max_percent: u32) -> HoldPolicy {
        HoldPolicy {
            max_users,
            max_percent,
            window_seconds: DEFAULT_WINDOW_SECONDS,
        }
    }

    #[test]
    fn trips_only_above_a_threshold() {
        // (max_users, max_percent, deprovisioned before, active now, trips)
        let cases = [
            // Off: never.
            (0, 0, 1000, 1, false),
            // Count 3: the 1st to 3rd go through, the 4th is held.
            (3, 0, 0, 10, false),
            (3, 0, 2, 8, false),
            (3, 0, 3, 7, true),
            (3, 0, 10, 7, true),
            // Share 20 % of 10 users: 2 go through, the 3rd (30 %) is held.
            (0, 20, 1, 9, false),
            (0, 20, 2, 8, true),
            // Share counts against the users active at the window's start.
            (0, 50, 49, 51, false),
            (0, 50, 50, 50, true),
            // 100 % never trips by share.
            (0, 100, 9, 1, false),
            // Either threshold trips.
            (5, 20, 2, 8, true),
            (2, 90, 2, 8, true),
            (5, 90, 2, 8, false),
            // One user of one is 100 %.
            (0, 99, 0, 1, true),
        ];
        for (max_users, max_percent, deprovisioned, active, want) in cases {
            let w = Window { deprovisioned, active };
            assert_eq!(
                trips(&policy(max_users, max_percent), w),
                want,
                "max_users {max_users}, max_percent {max_percent}, {w:?}"
            );
        }
    }

    #[test]
    fn validates_ranges() {
        let cases = [
            (policy(0, 0), true),
            (policy(10, 100), true),
            (policy(0, 101), false),
            (
                HoldPolicy {
                    window_seconds: 59,
                    ..policy(1, 0)
                },
                false,
            ),
            (
                HoldPolicy {
                    window_seconds: MAX_WINDOW_SECONDS,
                    ..policy(1, 0)
                },
                true,
            ),
            (
                HoldPolicy {
                    window_seconds: MAX_WINDOW_SECONDS + 1,
                    ..policy(1, 0)
                },
                false,
            ),
        ];
        for (p, ok) in cases {
            assert_eq!(p.validate().is_ok(), ok, "{p:?}");
        }
    }

    #[test]
    fn effects_round_trip() {
        for e in [Effect::Deactivate, Effect::Delete] {
            assert_eq!(Effect::parse(e.as_str()), Some(e));
        }
        assert_eq!(Effect::parse("suspend"), None);
    }
}
