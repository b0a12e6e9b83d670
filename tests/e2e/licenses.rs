//! Licenses end to end: Starter < Team < Enterprise tiers with few seats, license groups
//! provisioned over SCIM, seats queued, freed, bought and billed; read back over gRPC as
//! entitlements, tier counts, purchases and the change feed.

use std::collections::HashMap;

use dirsync_proto::v1::directory_client::DirectoryClient;
use dirsync_proto::v1::licenses_client::LicensesClient;
use dirsync_proto::v1::{
    self as pb, BatchGetEntitlementsRequest, CreateTierRequest, CreateUserRequest, DeleteTierRequest,
    GetEntitlementsRequest, GetLicenseSettingsRequest, IdList, ListPurchasesRequest, ListTiersRequest,
    MapGroupToTierRequest, MemberChange, PatchGroupRequest, PurchaseFilter, SetLicenseSettingsRequest,
    UnmapGroupFromTierRequest, UpdateTierRequest, UserSpec, member_change,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::Code;

use crate::harness::{Grpc, TestApp, assert_status, change_data, patch, replica};
use crate::on_both_stores;
use crate::users::user;

async fn licenses(app: &TestApp) -> LicensesClient<Grpc> {
    LicensesClient::new(app.channel().await)
}

async fn scim_group(app: &TestApp, name: &str) -> String {
    let r = app
        .scim(Method::POST, "/Groups", Some(json!({"displayName": name})))
        .await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn scim_user(app: &TestApp, name: &str) -> String {
    let r = app.scim(Method::POST, "/Users", Some(user(name))).await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn add_member(app: &TestApp, group: &str, id: &str) {
    app.scim(
        Method::PATCH,
        &format!("/Groups/{group}"),
        Some(patch(
            json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
        )),
    )
    .await
    .expect(204);
}

async fn remove_member(app: &TestApp, group: &str, id: &str) {
    app.scim(
        Method::PATCH,
        &format!("/Groups/{group}"),
        Some(patch(
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )),
    )
    .await
    .expect(204);
}

async fn set_active(app: &TestApp, id: &str, active: bool) {
    app.scim(
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(patch(json!([{"op": "replace", "path": "active", "value": active}]))),
    )
    .await
    .expect(200);
}

/// The tenant's tiers and license groups, by name.
struct Setup {
    tiers: HashMap<&'static str, String>,
    groups: HashMap<&'static str, String>,
}

/// Starter (rank 10), Team (20), Enterprise (30) with the given seats, each with a license
/// group of its name provisioned over SCIM.
async fn setup(app: &TestApp, seats: [i64; 3]) -> Setup {
    let mut tiers = HashMap::new();
    let mut groups = HashMap::new();
    let mut client = licenses(app).await;
    for ((name, rank), seats) in [("Starter", 10), ("Team", 20), ("Enterprise", 30)]
        .into_iter()
        .zip(seats)
    {
        let tier = client
            .create_tier(CreateTierRequest {
                tenant_id: app.tenant_id.clone(),
                name: name.into(),
                rank,
                seats,
            })
            .await
            .unwrap()
            .into_inner();
        let group = scim_group(app, name).await;
        client
            .map_group_to_tier(MapGroupToTierRequest {
                tenant_id: app.tenant_id.clone(),
                group_id: group.clone(),
                tier_id: tier.id.clone(),
            })
            .await
            .unwrap();
        tiers.insert(name, tier.id);
        groups.insert(name, group);
    }
    Setup { tiers, groups }
}

/// (state, tier) of a user's license, read over gRPC.
async fn license_of(app: &TestApp, id: &str) -> (pb::LicenseState, Option<String>) {
    let e = app
        .directory()
        .await
        .get_entitlements(GetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let l = e.license.unwrap();
    (l.state(), l.tier)
}

fn assigned(tier: &str) -> (pb::LicenseState, Option<String>) {
    (pb::LicenseState::Assigned, Some(tier.into()))
}

fn pending(tier: &str) -> (pb::LicenseState, Option<String>) {
    (pb::LicenseState::Pending, Some(tier.into()))
}

fn none() -> (pb::LicenseState, Option<String>) {
    (pb::LicenseState::None, None)
}

/// (name, seats, assigned, pending) of each tier, lowest rank first.
async fn counts(app: &TestApp) -> Vec<(String, i64, i64, i64)> {
    licenses(app)
        .await
        .list_tiers(ListTiersRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tiers
        .into_iter()
        .map(|t| (t.name, t.seats, t.assigned, t.pending))
        .collect()
}

fn row(name: &str, seats: i64, assigned: i64, pending: i64) -> (String, i64, i64, i64) {
    (name.into(), seats, assigned, pending)
}

async fn a_full_tier_queues_first_come_first_served(app: TestApp) {
    let s = setup(&app, [2, 1, 1]).await;
    let mut ids = HashMap::new();
    for name in ["a", "b", "c", "d"] {
        let id = scim_user(&app, &format!("{name}@example.com")).await;
        // One request each: the queue's order is the order the IdP added them.
        add_member(&app, &s.groups["Starter"], &id).await;
        ids.insert(name, id);
    }
    let want = [
        ("a", assigned("Starter")),
        ("b", assigned("Starter")),
        ("c", pending("Starter")),
        ("d", pending("Starter")),
    ];
    for (name, license) in &want {
        assert_eq!(&license_of(&app, &ids[name]).await, license, "{name}");
    }
    assert_eq!(
        counts(&app).await,
        [
            row("Starter", 2, 2, 2),
            row("Team", 1, 0, 0),
            row("Enterprise", 1, 0, 0)
        ]
    );
    // The IdP's facts are stored although no seat was free: all four are members.
    let g = app
        .scim(Method::GET, &format!("/Groups/{}", s.groups["Starter"]), None)
        .await;
    assert_eq!(g.body["members"].as_array().unwrap().len(), 4, "{}", g.body);

    // A freed seat goes to the first pending user, not the later one.
    remove_member(&app, &s.groups["Starter"], &ids["a"]).await;
    assert_eq!(license_of(&app, &ids["a"]).await, none());
    assert_eq!(license_of(&app, &ids["c"]).await, assigned("Starter"));
    assert_eq!(license_of(&app, &ids["d"]).await, pending("Starter"));

    // Lowering the seats below the seats held is refused and changes nothing.
    let mut client = licenses(&app).await;
    let refused = client
        .update_tier(UpdateTierRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.tiers["Starter"].clone(),
            seats: Some(1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&refused, Code::FailedPrecondition, "LICENSE_IN_USE", "2 users hold one");
    // Raising them serves the queue at once.
    let raised = client
        .update_tier(UpdateTierRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.tiers["Starter"].clone(),
            seats: Some(3),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((raised.seats, raised.assigned, raised.pending), (3, 3, 0));
    assert_eq!(license_of(&app, &ids["d"]).await, assigned("Starter"));

    // A tier anyone holds cannot be deleted; an unused one can, with its mapping.
    let in_use = client
        .delete_tier(DeleteTierRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.tiers["Starter"].clone(),
        })
        .await
        .unwrap_err();
    assert_status(&in_use, Code::FailedPrecondition, "LICENSE_IN_USE", "held by 3 users");
    client
        .delete_tier(DeleteTierRequest {
            tenant_id: app.tenant_id.clone(),
            id: s.tiers["Enterprise"].clone(),
        })
        .await
        .unwrap();
    let list = client
        .list_tiers(ListTiersRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.tiers.len(), 2);
    assert_eq!(list.mappings.len(), 2);
    // Bad input is refused with a message to act on.
    let bad = client
        .create_tier(CreateTierRequest {
            tenant_id: app.tenant_id.clone(),
            name: "Free".into(),
            rank: 1,
            seats: -1,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    let taken = client
        .create_tier(CreateTierRequest {
            tenant_id: app.tenant_id.clone(),
            name: "Team".into(),
            rank: 1,
            seats: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");

    // Every decision is in the feed and in the IdP request's sync-log line.
    let changes = app.changes(&app.tenant_id, 0, 1000).await;
    let of_c: Vec<(String, Value)> = changes
        .iter()
        .filter(|c| c.resource_id == ids["c"] && c.r#type.starts_with("license."))
        .map(|c| (c.r#type.clone(), change_data(c)))
        .collect();
    assert_eq!(of_c.len(), 2, "{of_c:?}");
    assert_eq!(of_c[0].0, "license.pending");
    assert_eq!(of_c[0].1["after"]["tier"]["name"], "Starter");
    assert_eq!(of_c[1].0, "license.assigned");
    assert_eq!(of_c[1].1["before"]["state"], "pending");
    assert_eq!(of_c[1].1["after"]["state"], "assigned");
    let released = changes
        .iter()
        .find(|c| c.r#type == "license.released" && c.resource_id == ids["a"])
        .unwrap();
    assert_eq!(released.event_uri, "urn:dirsync:event:license:released");
    assert_eq!(released.connection_id.as_deref(), Some(app.connection_id.as_str()));
    assert!(
        changes
            .iter()
            .any(|c| c.event_uri == "urn:dirsync:event:license:pending")
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let lines: Vec<String> = app.sync_log().await.into_iter().map(|e| e.summary).collect();
        let pending_line = lines
            .iter()
            .any(|l| l.contains("license tier Starter pending for c@example.com"));
        let promoted_line = lines.iter().any(|l| {
            l.contains("released a@example.com's license")
                && l.contains("assigned license tier Starter to c@example.com (was pending tier Starter)")
        });
        if pending_line && promoted_line {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{lines:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn the_lowest_tier_wins_and_moves_free_seats(app: TestApp) {
    let s = setup(&app, [5, 1, 5]).await;
    let x = scim_user(&app, "x@example.com").await;
    let y = scim_user(&app, "y@example.com").await;
    let z = scim_user(&app, "z@example.com").await;
    // In two license groups, the lowest tier wins, whichever was joined first.
    add_member(&app, &s.groups["Enterprise"], &x).await;
    assert_eq!(license_of(&app, &x).await, assigned("Enterprise"));
    add_member(&app, &s.groups["Team"], &x).await;
    assert_eq!(license_of(&app, &x).await, assigned("Team"));
    // Re-ranking is an operator change: x moves at once to what is now the lowest tier, and
    // back again.
    for (rank, want) in [(5, "Enterprise"), (30, "Team")] {
        licenses(&app)
            .await
            .update_tier(UpdateTierRequest {
                tenant_id: app.tenant_id.clone(),
                id: s.tiers["Enterprise"].clone(),
                rank: Some(rank),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(license_of(&app, &x).await, assigned(want), "rank {rank}");
    }
    add_member(&app, &s.groups["Team"], &y).await;
    assert_eq!(license_of(&app, &y).await, pending("Team"));
    assert_eq!(
        counts(&app).await,
        [
            row("Starter", 5, 0, 0),
            row("Team", 1, 1, 1),
            row("Enterprise", 5, 0, 0)
        ]
    );

    // Leaving Team moves x up to Enterprise; Team's seat goes to y, who waited.
    remove_member(&app, &s.groups["Team"], &x).await;
    assert_eq!(license_of(&app, &x).await, assigned("Enterprise"));
    assert_eq!(license_of(&app, &y).await, assigned("Team"));
    let changes = app.changes(&app.tenant_id, 0, 1000).await;
    let moved = changes
        .iter()
        .rfind(|c| c.r#type == "license.assigned" && c.resource_id == x)
        .map(change_data)
        .unwrap();
    assert_eq!(
        (&moved["before"]["tier"]["name"], &moved["after"]["tier"]["name"]),
        (&json!("Team"), &json!("Enterprise"))
    );

    // Deactivation releases the seat (the memberships stay); the queue takes it.
    add_member(&app, &s.groups["Team"], &z).await;
    assert_eq!(license_of(&app, &z).await, pending("Team"));
    set_active(&app, &y, false).await;
    assert_eq!(license_of(&app, &y).await, none());
    assert_eq!(license_of(&app, &z).await, assigned("Team"));
    let g = app
        .scim(Method::GET, &format!("/Groups/{}", s.groups["Team"]), None)
        .await;
    assert_eq!(g.body["members"].as_array().unwrap().len(), 2, "{}", g.body);
    // Reactivation takes a seat again: none is free now, so y waits.
    set_active(&app, &y, true).await;
    assert_eq!(license_of(&app, &y).await, pending("Team"));
    // Deleting the holder hands its one seat on to the first in the queue, only.
    let w = scim_user(&app, "w@example.com").await;
    add_member(&app, &s.groups["Team"], &w).await;
    app.scim(Method::DELETE, &format!("/Users/{z}"), None).await.expect(204);
    assert_eq!(license_of(&app, &y).await, assigned("Team"));
    assert_eq!(license_of(&app, &w).await, pending("Team"));
    assert_eq!(counts(&app).await[1], row("Team", 1, 1, 1));
    app.scim(Method::DELETE, &format!("/Users/{w}"), None).await.expect(204);

    // Unmapping a group (an operator change) recomputes its members in the same call.
    licenses(&app)
        .await
        .unmap_group_from_tier(UnmapGroupFromTierRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: s.groups["Team"].clone(),
        })
        .await
        .unwrap();
    assert_eq!(license_of(&app, &y).await, none());
    // Deleting x's last license group releases its seat.
    app.scim(Method::DELETE, &format!("/Groups/{}", s.groups["Enterprise"]), None)
        .await
        .expect(204);
    assert_eq!(license_of(&app, &x).await, none());
    assert_eq!(
        counts(&app).await,
        [
            row("Starter", 5, 0, 0),
            row("Team", 1, 0, 0),
            row("Enterprise", 5, 0, 0)
        ]
    );
}

/// A clock pinned at a given time, to run the billing job past a window.
#[derive(Debug)]
struct At(i64);

impl dirsync_domain::clock::Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

async fn purchases(app: &TestApp, filter: PurchaseFilter) -> Vec<pb::Purchase> {
    licenses(app)
        .await
        .list_purchases(ListPurchasesRequest {
            tenant_id: app.tenant_id.clone(),
            filter: filter as i32,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .purchases
}

/// (user, state) of each purchase, as listed.
fn states(list: &[pb::Purchase]) -> Vec<(&str, pb::PurchaseState)> {
    list.iter().map(|p| (p.user_name.as_str(), p.state())).collect()
}

async fn auto_purchase_buys_and_bills_the_net(app: TestApp) {
    use dirsync_core::billing::bill_purchases;
    let s = setup(&app, [5, 1, 5]).await;
    let mut client = licenses(&app).await;
    let settings = client
        .get_license_settings(GetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((settings.auto_purchase, settings.billing_window_seconds), (false, 1800));
    let bad = client
        .set_license_settings(SetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
            billing_window_seconds: Some(0),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");

    let a = scim_user(&app, "a@example.com").await;
    let b = scim_user(&app, "b@example.com").await;
    add_member(&app, &s.groups["Team"], &a).await;
    add_member(&app, &s.groups["Team"], &b).await;
    assert_eq!(license_of(&app, &b).await, pending("Team"));
    // Turning auto-purchase on buys a seat for everyone waiting.
    client
        .set_license_settings(SetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
            auto_purchase: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(license_of(&app, &b).await, assigned("Team"));
    // From now on a full tier buys: c gets a seat, and so does d, whom the IdP deletes again
    // within the window (JumpCloud creates and deletes users like this): d costs nothing.
    let c = scim_user(&app, "c@example.com").await;
    add_member(&app, &s.groups["Team"], &c).await;
    assert_eq!(license_of(&app, &c).await, assigned("Team"));
    let d = scim_user(&app, "d@example.com").await;
    add_member(&app, &s.groups["Team"], &d).await;
    assert_eq!(counts(&app).await[1], row("Team", 4, 4, 0));
    app.scim(Method::DELETE, &format!("/Users/{d}"), None).await.expect(204);
    assert_eq!(counts(&app).await[1], row("Team", 3, 3, 0));
    // Each purchase is in one documented state, and each filter lists exactly its state.
    use pb::PurchaseState::{Billed, Cancelled, Open};
    assert_eq!(
        states(&purchases(&app, PurchaseFilter::All).await),
        [
            ("d@example.com", Cancelled),
            ("c@example.com", Open),
            ("b@example.com", Open)
        ]
    );
    assert_eq!(
        states(&purchases(&app, PurchaseFilter::Unbilled).await),
        [("c@example.com", Open), ("b@example.com", Open)],
        "a cancelled seat is not waiting for a bill"
    );
    assert_eq!(
        states(&purchases(&app, PurchaseFilter::Cancelled).await),
        [("d@example.com", Cancelled)]
    );
    assert!(purchases(&app, PurchaseFilter::Billed).await.is_empty());

    // Billing waits for the window; then one event bills the tenant's net purchases.
    let db = dirsync_core::connect(&app.store_url).await.unwrap();
    let now = dirsync_domain::clock::system().now_ms();
    let soon: dirsync_domain::clock::SharedClock = std::sync::Arc::new(At(now + 1_000));
    let later: dirsync_domain::clock::SharedClock = std::sync::Arc::new(At(now + 31 * 60_000));
    let much_later: dirsync_domain::clock::SharedClock = std::sync::Arc::new(At(now + 62 * 60_000));
    // The app's own core holds the job's lease (renewed every second): another replica skips
    // the job until that lease expires.
    assert_eq!(
        bill_purchases(&replica(&db, soon.clone()), "replica-b").await.unwrap(),
        None
    );
    assert_eq!(
        bill_purchases(&replica(&db, later.clone()), "replica-b").await.unwrap(),
        Some(1)
    );
    assert_eq!(
        bill_purchases(&replica(&db, later.clone()), "replica-b").await.unwrap(),
        Some(0)
    );
    // Billed means part of a bill: the cancelled seat is never listed as billed, and has no
    // billed time (JumpCloud's create-and-delete user costs nothing, on the list too).
    let billed = purchases(&app, PurchaseFilter::Billed).await;
    assert_eq!(states(&billed), [("c@example.com", Billed), ("b@example.com", Billed)]);
    assert!(
        billed
            .iter()
            .all(|p| p.billed.is_some() && p.billing_id.is_some() && p.cancelled.is_none())
    );
    let cancelled = purchases(&app, PurchaseFilter::Cancelled).await;
    assert_eq!(states(&cancelled), [("d@example.com", Cancelled)]);
    assert!(cancelled[0].billed.is_none() && cancelled[0].billing_id.is_none());
    assert!(purchases(&app, PurchaseFilter::Unbilled).await.is_empty());
    let bills: Vec<Value> = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .iter()
        .filter(|c| c.r#type == "billing.due")
        .map(change_data)
        .collect();
    assert_eq!(bills.len(), 1);
    let bill = &bills[0];
    assert_eq!(bill["tiers"].as_array().unwrap().len(), 1, "{bill}");
    assert_eq!(bill["tiers"][0]["tierName"], "Team");
    assert_eq!(bill["tiers"][0]["seats"], 2);
    let users: Vec<&str> = bill["tiers"][0]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["b@example.com", "c@example.com"]);
    assert_eq!(bill["cancelledPurchases"], 1);
    assert!(bill["windowEnd"].as_i64().unwrap() - bill["windowStart"].as_i64().unwrap() == 1800 * 1000);
    // The bill is a line in the sync log of the connection whose users the seats were for.
    let logged: Vec<String> = app
        .sync_log()
        .await
        .into_iter()
        .map(|e| e.summary)
        .filter(|s| s.starts_with("billing due"))
        .collect();
    assert_eq!(logged, ["billing due: 2 Team seats"], "{logged:?}");
    let bill_id = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .into_iter()
        .find(|c| c.r#type == "billing.due")
        .unwrap()
        .resource_id;
    assert!(billed.iter().all(|p| p.billing_id.as_deref() == Some(bill_id.as_str())));

    // A window whose every purchase was netted out bills nothing.
    let e = scim_user(&app, "e@example.com").await;
    add_member(&app, &s.groups["Team"], &e).await;
    remove_member(&app, &s.groups["Team"], &e).await;
    assert_eq!(counts(&app).await[1], row("Team", 3, 3, 0));
    assert_eq!(
        bill_purchases(&replica(&db, much_later.clone()), "replica-b")
            .await
            .unwrap(),
        Some(0)
    );
    let bills = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .iter()
        .filter(|c| c.r#type == "billing.due")
        .count();
    assert_eq!(bills, 1);
    assert!(purchases(&app, PurchaseFilter::Unbilled).await.is_empty());
    assert_eq!(purchases(&app, PurchaseFilter::Billed).await.len(), 2);
    assert_eq!(purchases(&app, PurchaseFilter::Cancelled).await.len(), 2);
    let feed = app.changes(&app.tenant_id, 0, 1000).await;
    assert!(
        feed.iter()
            .any(|c| c.r#type == "seats.purchased" && c.event_uri == "urn:dirsync:event:seats:purchased")
    );
    assert!(feed.iter().any(|c| c.r#type == "seats.cancelled"));
    db.close().await.unwrap();
}

async fn entitlements_carry_the_license_and_tenants_are_isolated(app: TestApp) {
    let s = setup(&app, [1, 1, 1]).await;
    let a = scim_user(&app, "a@example.com").await;
    let b = scim_user(&app, "b@example.com").await;
    let c = scim_user(&app, "c@example.com").await;
    add_member(&app, &s.groups["Starter"], &a).await;
    add_member(&app, &s.groups["Starter"], &b).await;
    let batch = app
        .directory()
        .await
        .batch_get_entitlements(BatchGetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_ids: vec![c.clone(), b.clone(), a.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(String, pb::LicenseState, Option<String>)> = batch
        .entitlements
        .iter()
        .map(|e| {
            let l = e.license.as_ref().unwrap();
            (e.user_id.clone(), l.state(), l.tier.clone())
        })
        .collect();
    assert_eq!(
        got,
        [
            (c.clone(), pb::LicenseState::None, None),
            (b.clone(), pb::LicenseState::Pending, Some("Starter".into())),
            (a.clone(), pb::LicenseState::Assigned, Some("Starter".into())),
        ]
    );

    // Another tenant sees none of this tenant's tiers and cannot touch them.
    let other = app.new_tenant("other").await;
    let mut client = licenses(&app).await;
    let theirs = client
        .list_tiers(ListTiersRequest {
            tenant_id: other.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.tiers.is_empty() && theirs.mappings.is_empty());
    let update = client
        .update_tier(UpdateTierRequest {
            tenant_id: other.id.clone(),
            id: s.tiers["Starter"].clone(),
            seats: Some(10),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(update.code(), Code::NotFound, "{update:?}");
    let delete = client
        .delete_tier(DeleteTierRequest {
            tenant_id: other.id.clone(),
            id: s.tiers["Team"].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(delete.code(), Code::NotFound, "{delete:?}");
    let map = client
        .map_group_to_tier(MapGroupToTierRequest {
            tenant_id: other.id.clone(),
            group_id: s.groups["Team"].clone(),
            tier_id: s.tiers["Team"].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(map.code(), Code::NotFound, "{map:?}");
    let unmap = client
        .unmap_group_from_tier(UnmapGroupFromTierRequest {
            tenant_id: other.id.clone(),
            group_id: s.groups["Team"].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(unmap.code(), Code::NotFound, "{unmap:?}");
    let list = client
        .list_purchases(ListPurchasesRequest {
            tenant_id: other.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(list.purchases.is_empty());
    client
        .set_license_settings(SetLicenseSettingsRequest {
            tenant_id: other.id.clone(),
            auto_purchase: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let mine = client
        .get_license_settings(GetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!mine.auto_purchase, "the other tenant's setting is its own");
    // Nothing moved here.
    assert_eq!(
        counts(&app).await,
        [
            row("Starter", 1, 1, 1),
            row("Team", 1, 0, 0),
            row("Enterprise", 1, 0, 0)
        ]
    );
    let unknown = client
        .list_tiers(ListTiersRequest {
            tenant_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    // Without a service key the API answers nothing.
    let channel = tonic::transport::Endpoint::from_shared(app.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let anonymous = LicensesClient::new(channel)
        .list_tiers(ListTiersRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}

async fn two_replicas_never_hand_out_more_seats_than_a_tier_has(app: TestApp) {
    const SEATS: i64 = 3;
    const USERS: usize = 16;
    let s = setup(&app, [SEATS, 1, 1]).await;
    // One license group per user, all for Starter: no group row serialises the requests, only
    // the tenant lock taken before counting seats.
    let mut groups = Vec::new();
    for i in 0..USERS {
        let group = scim_group(&app, &format!("Starter {i}")).await;
        licenses(&app)
            .await
            .map_group_to_tier(MapGroupToTierRequest {
                tenant_id: app.tenant_id.clone(),
                group_id: group.clone(),
                tier_id: s.tiers["Starter"].clone(),
            })
            .await
            .unwrap();
        groups.push(group);
    }
    // Two cores on one store: on SQLite they take turns at the file's write lock (writes
    // begin IMMEDIATE), on PostgreSQL at the tenant row.
    let second = app.second_core().await;
    let mut dir = app.directory().await;
    let mut ids = Vec::new();
    for i in 0..USERS {
        let u = dir
            .create_user(CreateUserRequest {
                tenant_id: app.tenant_id.clone(),
                user: Some(UserSpec {
                    user_name: format!("u{i}@example.com"),
                    active: true,
                    ..Default::default()
                }),
                connection_id: None,
            })
            .await
            .unwrap()
            .into_inner();
        ids.push(u.id);
    }
    let cores = [app.channel().await, app.connect(&second).await];
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        let mut client = DirectoryClient::new(cores[i % 2].clone());
        let tenant_id = app.tenant_id.clone();
        let group = groups[i].clone();
        let id = id.clone();
        tasks.spawn(async move {
            client
                .patch_group(PatchGroupRequest {
                    tenant_id,
                    id: group,
                    member_changes: vec![MemberChange {
                        kind: Some(member_change::Kind::Add(IdList { ids: vec![id] })),
                    }],
                    ..Default::default()
                })
                .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let starter = counts(&app).await.remove(0);
    assert_eq!(starter, row("Starter", SEATS, SEATS, USERS as i64 - SEATS));
    let batch = app
        .directory()
        .await
        .batch_get_entitlements(BatchGetEntitlementsRequest {
            tenant_id: app.tenant_id.clone(),
            user_ids: ids.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let holders = batch
        .entitlements
        .iter()
        .filter(|e| e.license.as_ref().unwrap().state() == pb::LicenseState::Assigned)
        .count();
    assert_eq!(holders, SEATS as usize);
    let assigned_events = app
        .changes(&app.tenant_id, 0, 1000)
        .await
        .iter()
        .filter(|c| c.r#type == "license.assigned")
        .count();
    assert_eq!(assigned_events, SEATS as usize);
}

/// Creates tiers (name, rank, seats) without group mappings; returns their ids by name.
async fn tiers(app: &TestApp, specs: &[(&'static str, i32, i64)]) -> HashMap<&'static str, String> {
    let mut client = licenses(app).await;
    let mut out = HashMap::new();
    for (name, rank, seats) in specs {
        let t = client
            .create_tier(CreateTierRequest {
                tenant_id: app.tenant_id.clone(),
                name: (*name).into(),
                rank: *rank,
                seats: *seats,
            })
            .await
            .unwrap()
            .into_inner();
        out.insert(*name, t.id);
    }
    out
}

async fn set_source(
    app: &TestApp,
    source: pb::LicenseSource,
    default_tier: Option<&str>,
) -> Result<pb::LicenseSettings, tonic::Status> {
    licenses(app)
        .await
        .set_license_settings(SetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
            source: Some(source as i32),
            default_tier_id: default_tier.map(str::to_owned),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// A Google Workspace tenant: no groups ever arrive, every active user gets the default tier;
/// seats, the pending queue and auto-purchase work as with groups.
async fn a_default_tier_licenses_every_active_user(app: TestApp) {
    let t = tiers(&app, &[("Starter", 10, 2), ("Team", 20, 5)]).await;
    // Invalid settings change nothing.
    let e = set_source(&app, pb::LicenseSource::Default, None).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("needs a default tier"), "{e:?}");
    let other = app.new_tenant("other").await;
    let foreign = licenses(&app)
        .await
        .create_tier(CreateTierRequest {
            tenant_id: other.id.clone(),
            name: "Theirs".into(),
            rank: 1,
            seats: 1,
        })
        .await
        .unwrap()
        .into_inner();
    let e = set_source(&app, pb::LicenseSource::Default, Some(&foreign.id))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");

    // Users provisioned before the switch are licensed by it.
    let a = scim_user(&app, "a@example.com").await;
    assert_eq!(license_of(&app, &a).await, none());
    let s = set_source(&app, pb::LicenseSource::Default, Some(&t["Starter"]))
        .await
        .unwrap();
    assert_eq!(s.source(), pb::LicenseSource::Default);
    assert_eq!(s.default_tier_id.as_deref(), Some(t["Starter"].as_str()));
    assert_eq!(license_of(&app, &a).await, assigned("Starter"));
    // New users at creation; a full tier queues them first come, first served.
    let b = scim_user(&app, "b@example.com").await;
    let c = scim_user(&app, "c@example.com").await;
    assert_eq!(license_of(&app, &b).await, assigned("Starter"));
    assert_eq!(license_of(&app, &c).await, pending("Starter"));
    assert_eq!(counts(&app).await[0], row("Starter", 2, 2, 1));
    // Deactivation frees the seat for the first pending user; reactivation queues again.
    set_active(&app, &a, false).await;
    assert_eq!(license_of(&app, &a).await, none());
    assert_eq!(license_of(&app, &c).await, assigned("Starter"));
    set_active(&app, &a, true).await;
    assert_eq!(license_of(&app, &a).await, pending("Starter"));
    // Auto-purchase buys the waiting user a seat.
    licenses(&app)
        .await
        .set_license_settings(SetLicenseSettingsRequest {
            tenant_id: app.tenant_id.clone(),
            auto_purchase: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(license_of(&app, &a).await, assigned("Starter"));
    assert_eq!(counts(&app).await[0], row("Starter", 3, 3, 0));
    // Another default tier moves everyone; the default tier cannot be deleted.
    set_source(&app, pb::LicenseSource::Default, Some(&t["Team"]))
        .await
        .unwrap();
    for id in [&a, &b, &c] {
        assert_eq!(license_of(&app, id).await, assigned("Team"));
    }
    let e = licenses(&app)
        .await
        .delete_tier(DeleteTierRequest {
            tenant_id: app.tenant_id.clone(),
            id: t["Team"].clone(),
        })
        .await
        .unwrap_err();
    assert_status(&e, Code::FailedPrecondition, "LICENSE_IN_USE", "Team");
    // Back to groups: nobody is in a license group, so nobody holds a license.
    set_source(&app, pb::LicenseSource::Groups, None).await.unwrap();
    for id in [&a, &b, &c] {
        assert_eq!(license_of(&app, id).await, none());
    }
    let feed = app.changes(&app.tenant_id, 0, 1000).await;
    assert!(feed.iter().any(|c| c.r#type == "license.assigned"));
    assert!(feed.iter().any(|c| c.r#type == "license.released"));
}

/// The tier named by a `licenseTier` extension attribute: set at creation, moved by a change,
/// an unknown name licenses nothing (and the write succeeds).
async fn a_license_tier_attribute_names_the_tier(app: TestApp) {
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    dirsync_proto::v1::schemas_client::SchemasClient::new(app.channel().await)
        .register_schema(pb::RegisterSchemaRequest {
            tenant_id: app.tenant_id.clone(),
            schema: Some(pb::ExtensionSchema {
                urn: EXT.into(),
                resource_type: "User".into(),
                attributes: vec![pb::SchemaAttribute {
                    name: "licenseTier".into(),
                    r#type: "string".into(),
                    case_exact: true,
                    ..Default::default()
                }],
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    tiers(&app, &[("Starter", 10, 5), ("Team", 20, 1)]).await;
    set_source(&app, pb::LicenseSource::Attribute, None).await.unwrap();
    let with_tier = |name: &str, tier: &str| {
        let mut body = user(name);
        body[EXT] = json!({"licenseTier": tier});
        body["schemas"].as_array_mut().unwrap().push(json!(EXT));
        body
    };
    let post = |body: Value| {
        let app = &app;
        async move {
            let r = app.scim(Method::POST, "/Users", Some(body)).await;
            r.expect(201);
            r.body["id"].as_str().unwrap().to_owned()
        }
    };
    let a = post(with_tier("a@example.com", "Team")).await;
    let b = post(with_tier("b@example.com", "Team")).await;
    let c = post(with_tier("c@example.com", "Enterprise")).await;
    assert_eq!(license_of(&app, &a).await, assigned("Team"));
    assert_eq!(license_of(&app, &b).await, pending("Team"));
    assert_eq!(license_of(&app, &c).await, none(), "no tier of that name");
    // A changed attribute moves the user, and its Team seat goes to b.
    app.scim(
        Method::PATCH,
        &format!("/Users/{a}"),
        Some(patch(
            json!([{"op": "replace", "path": format!("{EXT}:licenseTier"), "value": "Starter"}]),
        )),
    )
    .await
    .expect(200);
    assert_eq!(license_of(&app, &a).await, assigned("Starter"));
    assert_eq!(license_of(&app, &b).await, assigned("Team"));
    // Group mappings do not count with this source.
    let g = scim_group(&app, "Everyone").await;
    let tier_ids: HashMap<String, String> = licenses(&app)
        .await
        .list_tiers(ListTiersRequest {
            tenant_id: app.tenant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tiers
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    licenses(&app)
        .await
        .map_group_to_tier(MapGroupToTierRequest {
            tenant_id: app.tenant_id.clone(),
            group_id: g.clone(),
            tier_id: tier_ids["Starter"].clone(),
        })
        .await
        .unwrap();
    add_member(&app, &g, &c).await;
    assert_eq!(license_of(&app, &c).await, none());
}

on_both_stores!(
    a_full_tier_queues_first_come_first_served,
    the_lowest_tier_wins_and_moves_free_seats,
    auto_purchase_buys_and_bills_the_net,
    entitlements_carry_the_license_and_tenants_are_isolated,
    two_replicas_never_hand_out_more_seats_than_a_tier_has,
    a_default_tier_licenses_every_active_user,
    a_license_tier_attribute_names_the_tier,
);
