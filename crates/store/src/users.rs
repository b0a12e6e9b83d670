//! Users: create, read, replace, delete, list, lookups by key and login resolution.

use dirsync_domain::filter::{Filter, Sort};
use dirsync_domain::ids::IdSource;
use dirsync_domain::user::{User, UserSpec};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::adoption::{self, Visibility};
use super::filter::{self, Target};
use super::keyset::{self, Paged, SeekOrder, Start};
use super::{Page, ci_key, is_unique_violation};
use crate::entity::{group_members, users};
use crate::error::{Result, StoreError};

fn document(spec: &UserSpec) -> Result<serde_json::Value> {
    if spec.document.trim().is_empty() {
        return Ok(synthesized_document(spec));
    }
    let doc: serde_json::Value = serde_json::from_str(&spec.document)
        .map_err(|e| StoreError::invalid_value(format!("document is not valid JSON: {e}")))?;
    if !doc.is_object() {
        return Err(StoreError::invalid_value("document must be a JSON object".into()));
    }
    Ok(doc)
}

/// The SCIM document of a user written without one (a native client that sets only the
/// indexed fields): built from those fields, so the SCIM view shows the same userName,
/// displayName, name and primary e-mail as the gRPC queries (RFC 7643 §4.1).
pub fn synthesized_document(spec: &UserSpec) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("userName".into(), spec.user_name.clone().into());
    if let Some(v) = &spec.external_id {
        doc.insert("externalId".into(), v.clone().into());
    }
    doc.insert("active".into(), spec.active.into());
    if let Some(v) = &spec.display_name {
        doc.insert("displayName".into(), v.clone().into());
    }
    let mut name = serde_json::Map::new();
    if let Some(v) = &spec.given_name {
        name.insert("givenName".into(), v.clone().into());
    }
    if let Some(v) = &spec.family_name {
        name.insert("familyName".into(), v.clone().into());
    }
    if !name.is_empty() {
        doc.insert("name".into(), name.into());
    }
    if let Some(v) = &spec.email {
        doc.insert("emails".into(), serde_json::json!([{"value": v, "primary": true}]));
    }
    doc.into()
}

fn validate(spec: &UserSpec) -> Result<()> {
    if spec.user_name.trim().is_empty() {
        return Err(StoreError::invalid_value(
            "userName is required and must not be empty".into(),
        ));
    }
    Ok(())
}

fn taken(user_name: &str) -> StoreError {
    StoreError::uniqueness(format!("userName {user_name:?} is already taken in this tenant"))
}

pub struct NewUser<'a> {
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub source: &'a str,
    pub spec: &'a UserSpec,
}

pub async fn create(txn: &DatabaseTransaction, new: NewUser<'_>, id_source: &dyn IdSource, now: i64) -> Result<User> {
    validate(new.spec)?;
    let spec = new.spec;
    let model = users::ActiveModel {
        id: Set(id_source.new_id()),
        tenant_id: Set(new.tenant_id),
        connection_id: Set(new.connection_id),
        source: Set(new.source.to_owned()),
        user_name: Set(spec.user_name.clone()),
        user_name_key: Set(ci_key(&spec.user_name)),
        external_id: Set(spec.external_id.clone()),
        active: Set(spec.active),
        display_name: Set(spec.display_name.clone()),
        given_name: Set(spec.given_name.clone()),
        family_name: Set(spec.family_name.clone()),
        email: Set(spec.email.clone()),
        email_key: Set(spec.email.as_deref().map(ci_key)),
        display_name_key: Set(spec.display_name.as_deref().map(ci_key)),
        given_name_key: Set(spec.given_name.as_deref().map(ci_key)),
        family_name_key: Set(spec.family_name.as_deref().map(ci_key)),
        document: Set(document(spec)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(txn).await.map(User::from).map_err(|e| {
        if is_unique_violation(&e) {
            taken(&spec.user_name)
        } else {
            e.into()
        }
    })
}

pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<User> {
    users::Entity::find_by_id(id)
        .filter(users::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .map(User::from)
        .ok_or_else(|| StoreError::not_found(format!("user {id} not found")))
}

/// Locks the user's row for the rest of the transaction (step 1 of the lock order in
/// `store`); a missing user is left to the caller's own lookup to report.
pub async fn lock(txn: &DatabaseTransaction, tenant_id: Uuid, id: Uuid) -> Result<()> {
    users::Entity::find_by_id(id)
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::TenantId.eq(tenant_id))
        .lock_exclusive()
        .into_tuple::<Uuid>()
        .one(txn)
        .await?;
    Ok(())
}

/// VERSION_MISMATCH when `expected` is given and `current` is at another version.
pub fn check_version(current: &User, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current.version => Err(StoreError::version_mismatch(format!(
            "user {} is at version {}, not {v}",
            current.id, current.version
        ))),
        _ => Ok(()),
    }
}

pub async fn replace(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    spec: &UserSpec,
    expected_version: Option<i64>,
    now: i64,
) -> Result<(User, User)> {
    validate(spec)?;
    let current = get(txn, tenant_id, id).await?;
    check_version(&current, expected_version)?;
    // The version guard in the WHERE clause makes concurrent writers on other replicas
    // lose cleanly instead of overwriting each other.
    let result = users::Entity::update_many()
        .col_expr(users::Column::UserName, Expr::val(spec.user_name.clone()))
        .col_expr(users::Column::UserNameKey, Expr::val(ci_key(&spec.user_name)))
        .col_expr(users::Column::ExternalId, Expr::val(spec.external_id.clone()))
        .col_expr(users::Column::Active, Expr::val(spec.active))
        .col_expr(users::Column::DisplayName, Expr::val(spec.display_name.clone()))
        .col_expr(users::Column::GivenName, Expr::val(spec.given_name.clone()))
        .col_expr(users::Column::FamilyName, Expr::val(spec.family_name.clone()))
        .col_expr(users::Column::Email, Expr::val(spec.email.clone()))
        .col_expr(users::Column::EmailKey, Expr::val(spec.email.as_deref().map(ci_key)))
        .col_expr(
            users::Column::DisplayNameKey,
            Expr::val(spec.display_name.as_deref().map(ci_key)),
        )
        .col_expr(
            users::Column::GivenNameKey,
            Expr::val(spec.given_name.as_deref().map(ci_key)),
        )
        .col_expr(
            users::Column::FamilyNameKey,
            Expr::val(spec.family_name.as_deref().map(ci_key)),
        )
        .col_expr(users::Column::Document, Expr::val(document(spec)?))
        .col_expr(users::Column::Version, Expr::col(users::Column::Version).add(1))
        .col_expr(users::Column::UpdatedAt, Expr::val(now))
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(users::Column::Version.eq(current.version))
        .exec(txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken(&spec.user_name)
            } else {
                e.into()
            }
        })?;
    if result.rows_affected == 0 {
        return Err(StoreError::version_mismatch(format!("user {id} changed concurrently")));
    }
    Ok((current, get(txn, tenant_id, id).await?))
}

pub async fn delete(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> Result<(User, Vec<Uuid>)> {
    let current = get(txn, tenant_id, id).await?;
    check_version(&current, expected_version)?;
    let groups: Vec<Uuid> = group_members::Entity::find()
        .select_only()
        .column(group_members::Column::GroupId)
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .filter(group_members::Column::MemberId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    group_members::Entity::delete_many()
        .filter(group_members::Column::TenantId.eq(tenant_id))
        .filter(group_members::Column::MemberId.eq(id))
        .exec(txn)
        .await?;
    users::Entity::delete_many()
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::TenantId.eq(tenant_id))
        .exec(txn)
        .await?;
    Ok((current, groups))
}

/// Which users a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Managed {
    Any,
    /// Only unmanaged users (`adoption::is_unmanaged`).
    Unmanaged,
}

/// One page of the tenant's users matching `filter`, by offset or after `page_token`; returns
/// the total, the page, and the token of the next page when more rows follow. `visible` is
/// what the caller may see (see `store::adoption`).
#[allow(clippy::too_many_arguments)]
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    visible: Visibility,
    managed: Managed,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
    page: Page,
    page_token: Option<&str>,
) -> Result<(u64, Paged<User>)> {
    let backend = db.get_database_backend();
    let query_id = keyset::fingerprint(&[
        &Target::Users,
        &tenant_id,
        &filter,
        &sort,
        &visible.connection_id(),
        &managed,
    ]);
    let start = match page_token.filter(|t| !t.is_empty()) {
        Some(t) => Start::After(
            keyset::decode(t, &query_id)?.checked(
                sort.map(|s| filter::sort_key_kind(backend, Target::Users, s))
                    .transpose()?,
            )?,
        ),
        None => Start::Offset(page.offset()),
    };
    let mut query = users::Entity::find().filter(users::Column::TenantId.eq(tenant_id));
    if let Some(c) = adoption::condition(visible) {
        query = query.filter(c);
    }
    if managed == Managed::Unmanaged {
        query = query
            .filter(users::Column::Source.ne(adoption::NATIVE))
            .filter(users::Column::ConnectionId.is_null());
    }
    if let Some(f) = filter {
        query = query.filter(filter::condition(backend, Target::Users, f)?);
    }
    if page.count == 0 {
        return Ok((query.count(db).await?, Paged::empty()));
    }
    let key = sort.map(|s| filter::sort_expr(backend, Target::Users, s)).transpose()?;
    let descending = sort.is_some_and(|s| s.descending);
    let order = SeekOrder::new(backend, key, descending, users::Column::Id.into_expr());
    let (total, rows) = keyset::paged_and_total(db, query, &order, start, page.count, &query_id).await?;
    Ok((total, rows.map(User::from)))
}

/// A key that names one user of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKey<'a> {
    /// Case-insensitive.
    UserName(&'a str),
    /// The primary e-mail, case-insensitive.
    Email(&'a str),
    /// Exact.
    ExternalId(&'a str),
}

impl std::fmt::Display for LookupKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupKey::UserName(v) => write!(f, "userName {v:?}"),
            LookupKey::Email(v) => write!(f, "e-mail {v:?}"),
            LookupKey::ExternalId(v) => write!(f, "externalId {v:?}"),
        }
    }
}

/// The one user `key` names. userName is unique per tenant; e-mail and externalId are not
/// (two connections may send the same), so a key that names several users is refused rather
/// than answered with an arbitrary one.
pub async fn get_by<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    key: LookupKey<'_>,
    visible: Visibility,
) -> Result<User> {
    let (LookupKey::UserName(v) | LookupKey::Email(v) | LookupKey::ExternalId(v)) = key;
    if v.is_empty() {
        return Err(StoreError::invalid_value(format!("{key} is empty")));
    }
    let cond = match key {
        LookupKey::UserName(v) => users::Column::UserNameKey.eq(ci_key(v)),
        LookupKey::Email(v) => users::Column::EmailKey.eq(ci_key(v)),
        LookupKey::ExternalId(v) => users::Column::ExternalId.eq(v),
    };
    let mut query = users::Entity::find()
        .filter(users::Column::TenantId.eq(tenant_id))
        .filter(cond);
    if let Some(c) = adoption::condition(visible) {
        query = query.filter(c);
    }
    let mut found = query.order_by_asc(users::Column::Id).limit(2).all(db).await?;
    match found.len() {
        0 => Err(StoreError::not_found(format!("no user with {key} in this tenant"))),
        1 => Ok(found.remove(0).into()),
        _ => Err(StoreError::ambiguous(format!(
            "several users have {key} in this tenant"
        ))),
    }
}

/// The user a login subject names; a deactivated user may not log in. Deleted users are
/// gone from the table, so they are "not found" like subjects that never existed.
pub async fn resolve_login<C: ConnectionTrait>(db: &C, tenant_id: Uuid, key: LookupKey<'_>) -> Result<User> {
    let user = get_by(db, tenant_id, key, Visibility::All).await?;
    if !user.active {
        return Err(StoreError::user_inactive(format!(
            "user {} ({key}) is deactivated",
            user.id
        )));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesized_documents_carry_the_indexed_fields() {
        let full = UserSpec {
            user_name: "ada@example.com".into(),
            external_id: Some("x-1".into()),
            active: false,
            display_name: Some("Ada".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            email: Some("Ada@Example.com".into()),
            document: String::new(),
        };
        let bare = UserSpec {
            user_name: "bob".into(),
            active: true,
            ..Default::default()
        };
        let cases = [
            (
                &full,
                serde_json::json!({
                    "userName": "ada@example.com", "externalId": "x-1", "active": false,
                    "displayName": "Ada", "name": {"givenName": "Ada", "familyName": "Lovelace"},
                    "emails": [{"value": "Ada@Example.com", "primary": true}],
                }),
            ),
            (&bare, serde_json::json!({"userName": "bob", "active": true})),
        ];
        for (spec, want) in cases {
            assert_eq!(synthesized_document(spec), want);
            assert_eq!(document(spec).unwrap(), want);
        }
    }
}
