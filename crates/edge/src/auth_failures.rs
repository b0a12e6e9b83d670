//! Makes a flood of bogus SCIM tokens cheap to refuse.
//!
//! - Failed authentications are counted per source address (an IPv6 /64 counts as one
//!   address) in a token bucket: [`FAILURE_BURST`] at once, then [`FAILURES_PER_MINUTE`]. A
//!   source over it gets 429 with `Retry-After` without the core being asked, so a flood from
//!   one source costs at most that many store round trips.
//! - A credential the core refused is remembered for [`REFUSED_TTL`]: presenting it again is
//!   refused on the edge (and still counts against its source).
//! - A credential the core accepted lately is trusted for [`TRUSTED_TTL`]: it is still checked
//!   by the core whenever the positive cache expires (a revoked token stops working), but its
//!   client is never limited because someone behind the same address floods bogus tokens.
//!
//! The counters live on each edge replica; their maps are bounded ([`MAX_ENTRIES`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed authentications a source may have at once.
pub const FAILURE_BURST: f64 = 20.0;
/// Failed authentications per minute a source may have after its burst.
pub const FAILURES_PER_MINUTE: f64 = 20.0;
/// How long a refused credential is refused without asking the core.
pub const REFUSED_TTL: Duration = Duration::from_secs(30);
/// How long a credential the core accepted keeps its client clear of its source's limit.
pub const TRUSTED_TTL: Duration = Duration::from_secs(600);
/// Entries per map; beyond it, stale entries are dropped first.
pub const MAX_ENTRIES: usize = 100_000;

/// What to do with a credential before asking the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Ask the core.
    Ask,
    /// The core refused this credential a moment ago: refuse it again.
    Refused,
    /// The source failed too often: refuse for this long.
    Limited(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Per-source failure buckets and the refused and trusted credentials, keyed by the hash the
/// authentication cache uses (never the secret itself).
#[derive(Debug, Default)]
pub struct AuthFailures {
    sources: Mutex<HashMap<IpAddr, Bucket>>,
    refused: Mutex<HashMap<[u8; 32], Instant>>,
    trusted: Mutex<HashMap<[u8; 32], Instant>>,
}

/// The address a limit applies to: IPv4 as is (also when mapped into IPv6), IPv6 by /64,
/// since one host usually holds a whole /64.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn refill(b: &mut Bucket, now: Instant) {
    let per_second = FAILURES_PER_MINUTE / 60.0;
    b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second).min(FAILURE_BURST);
    b.at = now;
}

/// Keeps a map under [`MAX_ENTRIES`]: drops what `stale` says first, then everything (the
/// maps only ever save work; losing them costs a round trip, never correctness).
fn bound<K, V>(map: &mut HashMap<K, V>, stale: impl FnMut(&K, &mut V) -> bool) {
    if map.len() >= MAX_ENTRIES {
        let mut stale = stale;
        map.retain(|k, v| !stale(k, v));
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
    }
}

impl AuthFailures {
    /// Whether to ask the core about credential `key` presented from `source`.
    pub fn check(&self, source: Option<IpAddr>, key: &[u8; 32]) -> Verdict {
        self.check_at(source, key, Instant::now())
    }

    fn check_at(&self, source: Option<IpAddr>, key: &[u8; 32], now: Instant) -> Verdict {
        if self.is_trusted(key, now) {
            return Verdict::Ask;
        }
        if let Some(ip) = source
            && let Ok(mut sources) = self.sources.lock()
            && let Some(b) = sources.get_mut(&source_key(ip))
        {
            refill(b, now);
            if b.tokens < 1.0 {
                let per_second = FAILURES_PER_MINUTE / 60.0;
                return Verdict::Limited(Duration::from_secs_f64((1.0 - b.tokens) / per_second));
            }
        }
        let refused = self
            .refused
            .lock()
            .ok()
            .and_then(|r| r.get(key).copied())
            .is_some_and(|at| now.saturating_duration_since(at) < REFUSED_TTL);
        if refused { Verdict::Refused } else { Verdict::Ask }
    }

    fn is_trusted(&self, key: &[u8; 32], now: Instant) -> bool {
        self.trusted
            .lock()
            .ok()
            .and_then(|t| t.get(key).copied())
            .is_some_and(|at| now.saturating_duration_since(at) < TRUSTED_TTL)
    }

    /// The core (or the refused cache) refused credential `key` from `source`.
    pub fn failed(&self, source: Option<IpAddr>, key: [u8; 32]) {
        self.failed_at(source, key, Instant::now());
    }

    fn failed_at(&self, source: Option<IpAddr>, key: [u8; 32], now: Instant) {
        if let Some(ip) = source
            && let Ok(mut sources) = self.sources.lock()
        {
            bound(&mut sources, |_, b| {
                refill(b, now);
                b.tokens >= FAILURE_BURST
            });
            let b = sources.entry(source_key(ip)).or_insert(Bucket {
                tokens: FAILURE_BURST,
                at: now,
            });
            refill(b, now);
            b.tokens = (b.tokens - 1.0).max(0.0);
        }
        if let Ok(mut refused) = self.refused.lock() {
            bound(&mut refused, |_, at| now.saturating_duration_since(*at) >= REFUSED_TTL);
            refused.entry(key).or_insert(now);
        }
        if let Ok(mut trusted) = self.trusted.lock() {
            trusted.remove(&key);
        }
    }

    /// The core accepted credential `key`.
    pub fn succeeded(&self, key: [u8; 32]) {
        let now = Instant::now();
        if let Ok(mut trusted) = self.trusted.lock() {
            bound(&mut trusted, |_, at| now.saturating_duration_since(*at) >= TRUSTED_TTL);
            trusted.insert(key, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flooding_source_is_limited_and_others_are_not() {
        let f = AuthFailures::default();
        let t0 = Instant::now();
        let attacker: IpAddr = "2001:db8::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8::ffff".parse().unwrap();
        let other: IpAddr = "192.0.2.7".parse().unwrap();
        let good = [1; 32];
        f.succeeded(good);
        let mut asked = 0;
        for i in 0..1000u32 {
            let mut key = [0; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            if f.check_at(Some(attacker), &key, t0) == Verdict::Ask {
                asked += 1;
                f.failed_at(Some(attacker), key, t0);
            }
        }
        assert_eq!(asked, FAILURE_BURST as i32);
        // The same /64 shares the limit; another address and a trusted credential do not.
        assert!(matches!(f.check_at(Some(neighbour), &[9; 32], t0), Verdict::Limited(_)));
        assert_eq!(f.check_at(Some(other), &[9; 32], t0), Verdict::Ask);
        assert_eq!(f.check_at(Some(attacker), &good, t0), Verdict::Ask);
        // A refused credential is refused from anywhere for a while, then asked about again.
        let key = [0; 32];
        assert_eq!(f.check_at(Some(other), &key, t0), Verdict::Refused);
        assert_eq!(f.check_at(Some(other), &key, t0 + REFUSED_TTL), Verdict::Ask);
        // The bucket refills at its rate.
        let later = t0 + Duration::from_secs_f64(60.0 / FAILURES_PER_MINUTE);
        assert_eq!(f.check_at(Some(attacker), &[7; 32], later), Verdict::Ask);
    }

    #[test]
    fn sources() {
        for (ip, key) in [
            ("192.0.2.1", "192.0.2.1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ] {
            assert_eq!(source_key(ip.parse().unwrap()), key.parse::<IpAddr>().unwrap());
        }
    }
}
