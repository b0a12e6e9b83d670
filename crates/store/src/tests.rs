//! The store applying the domain's rules, over SQLite in memory with the real migrations: a
//! seat or role rule is tested here without booting gRPC (the e2e suite covers the services).

use dirsync_domain::licenses::{Settings, Source, State};
use dirsync_domain::roles::{RoleSource, Trigger};
use dirsync_domain::{ErrorKind, User, UserSpec};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use crate::licenses::TierSpec;
use crate::roles::RoleSpec;
use crate::users::NewUser;
use crate::{admin, begin, licenses, roles, users};

const NOW: i64 = 1_700_000_000_000;

/// The production id source, as the core's pipeline injects it.
fn ids() -> dirsync_domain::ids::SharedIds {
    dirsync_domain::ids::v7()
}

/// A fresh database (one connection: every SQLite `:memory:` connection is its own database)
/// with one tenant.
async fn tenant() -> (DatabaseConnection, Uuid) {
    let mut opts = ConnectOptions::new("sqlite::memory:");
    opts.max_connections(1).sqlx_logging(false);
    let db = Database::connect(opts).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let txn = db.begin().await.unwrap();
    let t = admin::create_tenant(&txn, "acme", &*ids(), NOW).await.unwrap();
    txn.commit().await.unwrap();
    (db, t.id)
}

fn spec(user_name: &str) -> UserSpec {
    UserSpec {
        user_name: user_name.into(),
        active: true,
        ..Default::default()
    }
}

/// Creates a native user and runs the role and license hooks a create runs, in one
/// transaction.
async fn create_user(db: &DatabaseConnection, tenant_id: Uuid, user_name: &str) -> User {
    let txn = begin(db).await.unwrap();
    let new = NewUser {
        tenant_id,
        connection_id: None,
        source: "native",
        spec: &spec(user_name),
    };
    let u = users::create(&txn, new, &*ids(), NOW).await.unwrap();
    roles::after_user_write(&txn, tenant_id, None, &u, Trigger::Native, NOW)
        .await
        .unwrap();
    licenses::after_user_write(&txn, tenant_id, None, &u, &ids(), NOW)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    u
}

/// A one-seat tier every active user gets: the first user takes the seat; the others wait,
/// or with auto-purchase each gets a bought seat.
#[tokio::test]
async fn seats_are_taken_queued_or_bought() {
    // (auto-purchase, users, assigned, pending, capacity afterwards)
    let cases = [(false, 3, 1, 2, 1), (true, 3, 3, 0, 3), (false, 1, 1, 0, 1)];
    for (auto_purchase, n, assigned, pending, capacity) in cases {
        let (db, tenant_id) = tenant().await;
        let txn = begin(&db).await.unwrap();
        let tier = licenses::create(
            &txn,
            tenant_id,
            &TierSpec {
                name: "Team".into(),
                rank: 1,
                seats: 1,
            },
            &*ids(),
            NOW,
        )
        .await
        .unwrap();
        let settings = Settings {
            auto_purchase,
            source: Source::Default,
            default_tier: Some(tier.id),
            ..Default::default()
        };
        licenses::set_settings(&txn, tenant_id, settings).await.unwrap();
        txn.commit().await.unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(create_user(&db, tenant_id, &format!("user{i}")).await.id);
        }
        let held = licenses::held(&db, tenant_id, &ids).await.unwrap();
        let count = |s: State| held.values().filter(|h| h.state == s && h.tier == "Team").count();
        let case = format!("auto_purchase={auto_purchase} users={n}");
        assert_eq!(
            (count(State::Assigned), count(State::Pending)),
            (assigned, pending),
            "{case}"
        );
        assert_eq!(
            licenses::get(&db, tenant_id, tier.id).await.unwrap().seats,
            capacity,
            "{case}"
        );
        // First come, first served: the first user holds a seat in every case.
        assert_eq!(held[&ids[0]].state, State::Assigned, "{case}");
    }
}

/// The default role is an admin role here, so every user is an admin: deleting one is
/// allowed while another active admin remains, never the last one.
#[tokio::test]
async fn the_last_active_admin_is_never_deleted() {
    for admins in 1..=3 {
        let (db, tenant_id) = tenant().await;
        let txn = begin(&db).await.unwrap();
        roles::set_source(&txn, tenant_id, RoleSource::Groups).await.unwrap();
        let admin_role = RoleSpec {
            name: "Admin".into(),
            rank: 10,
            is_admin: true,
            is_guest: false,
            is_default: true,
        };
        roles::create(&txn, tenant_id, &admin_role, &*ids(), NOW).await.unwrap();
        txn.commit().await.unwrap();
        let mut ids = Vec::new();
        for i in 0..admins {
            ids.push(create_user(&db, tenant_id, &format!("admin{i}")).await.id);
        }
        assert_eq!(roles::active_admins(&db, tenant_id).await.unwrap(), admins as u64);
        for (i, id) in ids.iter().enumerate() {
            let txn = begin(&db).await.unwrap();
            let outcome = roles::before_user_delete(&txn, tenant_id, *id).await;
            if i + 1 == admins {
                let err = outcome.expect_err("the last admin's delete must be refused");
                assert_eq!(err.kind(), Some(ErrorKind::LastAdmin), "{admins} admins");
                break;
            }
            outcome.unwrap();
            users::delete(&txn, tenant_id, *id, None).await.unwrap();
            txn.commit().await.unwrap();
        }
        assert_eq!(
            roles::active_admins(&db, tenant_id).await.unwrap(),
            1,
            "{admins} admins"
        );
    }
}

/// A guest role is never the implicit default, and SCIM may not assign it by name.
#[tokio::test]
async fn guests_are_never_assigned_through_scim() {
    let (db, tenant_id) = tenant().await;
    let txn = begin(&db).await.unwrap();
    roles::set_source(&txn, tenant_id, RoleSource::Attribute).await.unwrap();
    for (name, rank, is_guest, is_default) in [("Guest", 0, true, false), ("Member", 1, false, true)] {
        let role = RoleSpec {
            name: name.into(),
            rank,
            is_admin: false,
            is_guest,
            is_default,
        };
        roles::create(&txn, tenant_id, &role, &*ids(), NOW).await.unwrap();
    }
    let mut guest = spec("ann");
    guest.document = r#"{"userName":"ann","active":true,"urn:x:User":{"userRole":"Guest"}}"#.into();
    let new = NewUser {
        tenant_id,
        connection_id: None,
        source: "native",
        spec: &guest,
    };
    let u = users::create(&txn, new, &*ids(), NOW).await.unwrap();
    let err = roles::after_user_write(&txn, tenant_id, None, &u, Trigger::Scim, NOW)
        .await
        .expect_err("a guest role through SCIM must be refused");
    assert_eq!(err.kind(), Some(ErrorKind::InvalidValue));
    // The product itself may make a user a guest.
    roles::after_user_write(&txn, tenant_id, None, &u, Trigger::Native, NOW)
        .await
        .unwrap();
}
