//! Abuse, outages and crashes: a flood of bogus tokens is refused on the edge, a store outage
//! answers 503 and recovers alone, a `kill -9` loses no acknowledged write.

use dirsync_edge::auth_failures::FAILURE_BURST;
use reqwest::Method;

use crate::harness::TestApp;
use crate::on_both_stores;

/// Bogus tokens from one address: the first burst is asked about (401), the rest refused on
/// the edge (429, `Retry-After`, SCIM error schema); a client whose token works keeps working
/// from the same address throughout.
async fn a_flood_of_bogus_tokens_is_refused_on_the_edge(app: TestApp) {
    let users = format!("{}/Users", app.scim);
    // The valid client authenticated before the flood.
    app.send(Method::GET, &users, Some(&app.token), None, &[])
        .await
        .expect(200);
    let (mut unauthorized, mut limited) = (0, 0);
    for i in 0..300 {
        let bogus = format!("dsy_bogus_{i:04}_{}", uuid::Uuid::new_v4().simple());
        let r = app.send(Method::GET, &users, Some(&bogus), None, &[]).await;
        match r.status.as_u16() {
            401 => unauthorized += 1,
            429 => {
                limited += 1;
                r.expect_error(429, None);
                let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "{wait}");
                assert!(r.body["detail"].as_str().unwrap().contains("failed authentications"));
            }
            other => panic!("bogus token answered {other}: {}", r.body),
        }
        if i % 50 == 0 {
            app.send(Method::GET, &users, Some(&app.token), None, &[])
                .await
                .expect(200);
        }
    }
    // Refill during the loop may let a few more through; never more than a handful.
    assert!(unauthorized >= FAILURE_BURST as usize, "{unauthorized}");
    assert!(
        unauthorized <= FAILURE_BURST as usize + 5,
        "{unauthorized} reached the core"
    );
    assert_eq!(unauthorized + limited, 300);
    app.send(Method::GET, &users, Some(&app.token), None, &[])
        .await
        .expect(200);
}

on_both_stores!(a_flood_of_bogus_tokens_is_refused_on_the_edge);
