//! Users: create, read, replace, delete, list.

use dirsync_proto::v1::{Filter, Sort, UserSpec};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::filter::{self, Target};
use super::{Page, ci_key, is_unique_violation};
use crate::entity::{group_members, users};
use crate::error::{CoreError, Result};

fn document(spec: &UserSpec) -> Result<serde_json::Value> {
    if spec.document.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    let doc: serde_json::Value = serde_json::from_str(&spec.document)
        .map_err(|e| CoreError::InvalidValue(format!("document is not valid JSON: {e}")))?;
    if !doc.is_object() {
        return Err(CoreError::InvalidValue("document must be a JSON object".into()));
    }
    Ok(doc)
}

fn validate(spec: &UserSpec) -> Result<()> {
    if spec.user_name.trim().is_empty() {
        return Err(CoreError::InvalidValue(
            "userName is required and must not be empty".into(),
        ));
    }
    Ok(())
}

fn taken(user_name: &str) -> CoreError {
    CoreError::Uniqueness(format!("userName {user_name:?} is already taken in this tenant"))
}

pub struct NewUser<'a> {
    pub tenant_id: Uuid,
    pub connection_id: Option<Uuid>,
    pub source: &'a str,
    pub spec: &'a UserSpec,
}

pub async fn create(txn: &DatabaseTransaction, new: NewUser<'_>, now: i64) -> Result<users::Model> {
    validate(new.spec)?;
    let spec = new.spec;
    let model = users::ActiveModel {
        id: Set(Uuid::now_v7()),
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
        document: Set(document(spec)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    model.insert(txn).await.map_err(|e| {
        if is_unique_violation(&e) {
            taken(&spec.user_name)
        } else {
            e.into()
        }
    })
}

pub async fn get<C: ConnectionTrait>(db: &C, tenant_id: Uuid, id: Uuid) -> Result<users::Model> {
    users::Entity::find_by_id(id)
        .filter(users::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("user {id} not found")))
}

fn check_version(current: &users::Model, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current.version => Err(CoreError::VersionMismatch(format!(
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
) -> Result<(users::Model, users::Model)> {
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
        return Err(CoreError::VersionMismatch(format!("user {id} changed concurrently")));
    }
    Ok((current, get(txn, tenant_id, id).await?))
}

pub async fn delete(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> Result<(users::Model, Vec<Uuid>)> {
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

pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<users::Model>)> {
    let backend = db.get_database_backend();
    let mut query = users::Entity::find().filter(users::Column::TenantId.eq(tenant_id));
    if let Some(f) = filter {
        query = query.filter(filter::condition(backend, Target::Users, f)?);
    }
    let total = query.clone().count(db).await?;
    if page.count == 0 {
        return Ok((total, Vec::new()));
    }
    if let Some(s) = sort {
        let order = if s.descending {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        query = query.order_by(filter::sort_expr(backend, Target::Users, s)?, order);
    }
    // UUIDv7 ids grow with creation time: a stable order across pages.
    let rows = query
        .order_by_asc(users::Column::Id)
        .offset(page.offset())
        .limit(page.count)
        .all(db)
        .await?;
    Ok((total, rows))
}
