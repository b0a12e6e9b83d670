//! Admission of SCIM requests: what protects the service without refusing normal IdP traffic.
//!
//! Two limits, each answering a different kind of harm:
//! - **Requests in flight**, per connection and per tenant. A client that waits for each
//!   answer (scim2-tester, an Okta import, most of an Entra cycle) never has more than one,
//!   so it is never refused; a flood of concurrent requests is, at once, with 429.
//! - **A sustained rate per tenant** (all its connections together), as a GCRA token bucket
//!   that *delays* a request which comes early instead of refusing it: a fast sequential
//!   client is slowed to the rate, never turned away. Only a request that would have to wait
//!   longer than [`MAX_WAIT`] (many requests queued at once) is refused, with the wait as
//!   `Retry-After`.
//!
//! Both are kept per tenant, so one tenant's flood spends only its own budget: another
//! tenant's requests are admitted as if it were alone (per-tenant fairness). Counts live in
//! each edge replica. The clock is passed in, so the rules are tested without sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest a request is held back to keep its tenant at the sustained rate; beyond it the
/// request is refused. Never reached by one client waiting for each answer (its wait is at
/// most one interval, at most 1 s for any rate of 1/s or more).
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// The limits; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests one connection may have in flight (including those being delayed).
    pub connection_in_flight: u32,
    /// Requests all connections of one tenant may have in flight together.
    pub tenant_in_flight: u32,
    /// Sustained requests per second per tenant.
    pub per_second: u32,
    /// Requests per tenant admitted at once, without delay, above the sustained rate.
    pub burst: u32,
}

impl Limits {
    /// Defaults from what IdPs document (README "Rate limits"):
    /// - 32 in flight per connection: Okta says even large bulk loads rarely need more than
    ///   10 simultaneous transactions (its own org-wide cap is 75); a sequential client
    ///   (Okta import, scim2-tester) has 1.
    /// - 64 per tenant: two IdPs (e.g. Entra and Okta during a migration) at full parallelism.
    /// - 500 requests/s per tenant, burst 1000: 20 times the 25 requests/s Entra asks gallery
    ///   apps to sustain per tenant (Entra's non-gallery jobs have no client-side limiter and
    ///   go as fast as answers come, which the delay absorbs without refusing).
    pub const DEFAULT: Limits = Limits {
        connection_in_flight: 32,
        tenant_in_flight: 64,
        per_second: 500,
        burst: 1000,
    };
}

/// Why a request was refused; `retry_after` goes into the `Retry-After` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after: Duration,
    pub detail: String,
}

#[derive(Debug, Default)]
struct TenantState {
    in_flight: u32,
    /// GCRA's theoretical arrival time of the next request.
    tat: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    connections: HashMap<String, u32>,
    tenants: HashMap<String, TenantState>,
}

#[derive(Debug)]
struct Inner {
    limits: Limits,
    state: Mutex<State>,
}

impl Inner {
    /// The counts stay usable after a panic elsewhere: they are plain numbers.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Admission control for the edge's SCIM requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct Limiter(Arc<Inner>);

/// A request's place among the requests in flight, given back when dropped.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
    tenant: String,
    connection: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.inner.state();
        if let Some(n) = s.connections.get_mut(&self.connection) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.connections.remove(&self.connection);
            }
        }
        if let Some(t) = s.tenants.get_mut(&self.tenant) {
            t.in_flight = t.in_flight.saturating_sub(1);
        }
    }
}

/// An admitted request: hold `permit` until answered, after waiting `delay`.
#[derive(Debug)]
pub struct Admission {
    pub permit: Permit,
    pub delay: Duration,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Self(Arc::new(Inner {
            limits,
            state: Mutex::default(),
        }))
    }

    pub fn limits(&self) -> Limits {
        self.0.limits
    }

    /// Admits a request of `connection` (of `tenant`) arriving at `now`, or says why not.
    pub fn admit(&self, tenant: &str, connection: &str, now: Instant) -> Result<Admission, Refusal> {
        let l = self.0.limits;
        let mut s = self.0.state();
        let conn_in_flight = s.connections.get(connection).copied().unwrap_or(0);
        if l.connection_in_flight > 0 && conn_in_flight >= l.connection_in_flight {
            return Err(Refusal {
                retry_after: Duration::from_secs(1),
                detail: format!(
                    "this connection already has {conn_in_flight} requests in flight, the most it may have; \
                     send fewer at once or retry after 1 s"
                ),
            });
        }
        let t = s.tenants.entry(tenant.to_owned()).or_default();
        if l.tenant_in_flight > 0 && t.in_flight >= l.tenant_in_flight {
            return Err(Refusal {
                retry_after: Duration::from_secs(1),
                detail: format!(
                    "this tenant's connections already have {} requests in flight, the most they may have; \
                     send fewer at once or retry after 1 s",
                    t.in_flight
                ),
            });
        }
        let mut delay = Duration::ZERO;
        if l.per_second > 0 {
            let interval = Duration::from_secs(1) / l.per_second;
            let tolerance = interval * l.burst.max(1).saturating_sub(1);
            let start = t.tat.map_or(now, |tat| tat.max(now));
            delay = start.saturating_duration_since(now + tolerance);
            if delay > MAX_WAIT {
                return Err(Refusal {
                    retry_after: delay - MAX_WAIT,
                    detail: format!(
                        "this tenant's connections are limited to {} requests per second together; retry after {} s",
                        l.per_second,
                        retry_secs(delay - MAX_WAIT)
                    ),
                });
            }
            t.tat = Some(start + interval);
        }
        t.in_flight += 1;
        *s.connections.entry(connection.to_owned()).or_insert(0) += 1;
        Ok(Admission {
            permit: Permit {
                inner: self.0.clone(),
                tenant: tenant.to_owned(),
                connection: connection.to_owned(),
            },
            delay,
        })
    }
}

/// `Retry-After` in whole seconds (RFC 9110 §10.2.3), at least 1.
pub fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(connection_in_flight: u32, tenant_in_flight: u32, per_second: u32, burst: u32) -> Limiter {
        Limiter::new(Limits {
            connection_in_flight,
            tenant_in_flight,
            per_second,
            burst,
        })
    }

    #[test]
    fn a_sequential_client_is_never_refused_only_slowed_to_the_rate() {
        let l = limiter(4, 8, 10, 3);
        let t0 = Instant::now();
        let mut now = t0;
        let mut waited = Duration::ZERO;
        // 100 requests, each sent the moment the previous one was answered (1 ms each).
        for i in 0..100 {
            let a = l
                .admit("t", "c", now)
                .unwrap_or_else(|r| panic!("request {i} refused: {r:?}"));
            assert!(a.delay <= Duration::from_millis(100), "{i}: {:?}", a.delay);
            waited += a.delay;
            now += a.delay + Duration::from_millis(1);
            drop(a.permit);
        }
        // The first 3 pass at once (burst); the rest are paced at 10/s.
        assert!(now - t0 >= Duration::from_millis(9600), "{:?}", now - t0);
        assert!(waited > Duration::ZERO);
    }

    #[test]
    fn in_flight_limits_per_connection_then_per_tenant() {
        let l = limiter(2, 3, 0, 0);
        let t0 = Instant::now();
        let a = l.admit("t", "c1", t0).unwrap();
        let b = l.admit("t", "c1", t0).unwrap();
        let refused = l.admit("t", "c1", t0).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(
            refused
                .detail
                .contains("this connection already has 2 requests in flight"),
            "{refused:?}"
        );
        // Another connection of the tenant gets the tenant's last place.
        let c = l.admit("t", "c2", t0).unwrap();
        let refused = l.admit("t", "c2", t0).unwrap_err();
        assert!(
            refused.detail.contains("this tenant's connections already have 3"),
            "{refused:?}"
        );
        // Another tenant is not affected.
        let other = l.admit("u", "d", t0).unwrap();
        // An answered request gives its place back.
        drop(a);
        let a2 = l.admit("t", "c1", t0).unwrap();
        drop((a2, b, c, other));
        assert!(l.0.state().connections.is_empty(), "no counts left behind");
    }

    #[test]
    fn a_concurrent_flood_is_delayed_up_to_the_limit_then_refused_with_the_wait() {
        let l = limiter(0, 0, 10, 5);
        let t0 = Instant::now();
        let mut delays = Vec::new();
        let mut permits = Vec::new();
        let refusal = loop {
            match l.admit("t", "c", t0) {
                Ok(a) => {
                    delays.push(a.delay);
                    permits.push(a.permit);
                }
                Err(r) => break r,
            }
        };
        // 5 at once, then one per 100 ms up to 1 s of delay: 15 admitted.
        assert_eq!(delays.len(), 15, "{delays:?}");
        assert!(delays[..5].iter().all(|d| d.is_zero()));
        assert_eq!(delays[14], Duration::from_secs(1));
        assert_eq!(refusal.retry_after, Duration::from_millis(100));
        assert_eq!(retry_secs(refusal.retry_after), 1);
        assert!(
            refusal.detail.contains("limited to 10 requests per second"),
            "{refusal:?}"
        );
        // Another tenant keeps its whole budget.
        assert!(l.admit("u", "d", t0).unwrap().delay.is_zero());
        // Later, the bucket has refilled.
        assert!(l.admit("t", "c", t0 + Duration::from_secs(3)).unwrap().delay.is_zero());
    }

    #[test]
    fn zero_turns_limits_off() {
        let l = limiter(0, 0, 0, 0);
        let t0 = Instant::now();
        let permits: Vec<_> = (0..10_000).map(|_| l.admit("t", "c", t0).unwrap()).collect();
        assert!(permits.iter().all(|a| a.delay.is_zero()));
    }
}
