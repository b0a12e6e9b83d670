//! The journal of a mutation: its change-feed events and its sync-log entry, written in the
//! mutation's own transaction, so that neither can disagree with the data.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Set};
use serde_json::{Value, json};
use tonic::metadata::MetadataMap;
use uuid::Uuid;

use crate::entity::{changes, groups, roles, sync_log, tenants, users};
use crate::error::{CoreError, Result};

/// gRPC metadata the edge sends with each call it makes for a SCIM request.
pub mod metadata {
    pub const REQUEST_ID: &str = "x-dirsync-request-id";
    pub const METHOD: &str = "x-dirsync-method";
    pub const PATH: &str = "x-dirsync-path";
    pub const IDP_REQUEST_ID: &str = "x-dirsync-idp-request-id";
    /// A user write's `<urn>:<attribute>` values the tenant's schema kept on removal.
    pub const KEPT_ON_REMOVAL: &str = "x-dirsync-kept-on-removal";
}

/// RFC 9967 provisioning event URIs; dirsync's own events use `urn:dirsync:event:`.
pub mod uri {
    pub const CREATE: &str = "urn:ietf:params:SCIM:event:prov:create:full";
    pub const PUT: &str = "urn:ietf:params:SCIM:event:prov:put:full";
    pub const DELETE: &str = "urn:ietf:params:SCIM:event:prov:delete";
    pub const ACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:activate";
    pub const DEACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:deactivate";
    pub const MEMBERS_ADDED: &str = "urn:dirsync:event:group:members:added";
    pub const MEMBERS_REMOVED: &str = "urn:dirsync:event:group:members:removed";
    pub const ROLE_ASSIGNED: &str = "urn:dirsync:event:role:assigned";
}

/// The SCIM request a mutation answers, as the edge described it in gRPC metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub method: String,
    pub path: String,
    pub idp_request_id: Option<String>,
    pub trace_id: Option<String>,
    /// Values the IdP cleared and the tenant's schema kept (`keptOnRemoval`).
    pub kept_on_removal: Vec<String>,
}

impl RequestContext {
    pub fn from_metadata(md: &MetadataMap) -> Self {
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
        RequestContext {
            request_id: get(metadata::REQUEST_ID),
            method: get(metadata::METHOD).unwrap_or_default(),
            path: get(metadata::PATH).unwrap_or_default(),
            idp_request_id: get(metadata::IDP_REQUEST_ID),
            trace_id: dirsync_telemetry::trace_id(&tracing::Span::current()),
            kept_on_removal: get(metadata::KEPT_ON_REMOVAL)
                .map(|v| v.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
        }
    }
}

/// One change, as the feed carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub uri: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Uuid,
    pub data: Value,
    /// What the sync log says about it.
    pub summary: String,
}

/// Most member ids one event carries; larger changes become several events.
const MEMBERS_PER_EVENT: usize = 1000;

fn user_view(u: &users::Model) -> Value {
    json!({
        "id": u.id,
        "userName": u.user_name,
        "externalId": u.external_id,
        "active": u.active,
        "displayName": u.display_name,
        "givenName": u.given_name,
        "familyName": u.family_name,
        "email": u.email,
        "version": u.version,
    })
}

fn group_view(g: &groups::Model) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "externalId": g.external_id, "version": g.version})
}

/// Top-level attributes whose values differ between two documents.
fn changed_attributes(before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl Event {
    pub fn user_created(u: &users::Model) -> Event {
        Event {
            kind: "user.created",
            uri: uri::CREATE,
            resource_type: "User",
            resource_id: u.id,
            data: json!({ "after": user_view(u) }),
            summary: format!("created user {}", u.user_name),
        }
    }

    /// The events of a user replacement: deactivation and reactivation are events of their
    /// own, any other change is `user.updated` with the changed attributes.
    pub fn user_changed(before: &users::Model, after: &users::Model) -> Vec<Event> {
        let mut out = Vec::new();
        let data = json!({
            "before": user_view(before),
            "after": user_view(after),
            "changedAttributes": changed_attributes(&before.document, &after.document),
        });
        if before.active != after.active {
            let (kind, uri, verb) = if after.active {
                ("user.reactivated", uri::ACTIVATE, "reactivated")
            } else {
                ("user.deactivated", uri::DEACTIVATE, "deactivated")
            };
            out.push(Event {
                kind,
                uri,
                resource_type: "User",
                resource_id: after.id,
                data: data.clone(),
                summary: format!("{verb} user {}", after.user_name),
            });
        }
        let mut attrs = changed_attributes(&before.document, &after.document);
        attrs.retain(|a| a != "active");
        if !attrs.is_empty() || before.user_name != after.user_name {
            out.push(Event {
                kind: "user.updated",
                uri: uri::PUT,
                resource_type: "User",
                resource_id: after.id,
                data,
                summary: format!("updated user {} ({})", after.user_name, attrs.join(", ")),
            });
        }
        out
    }

    pub fn user_deleted(u: &users::Model, groups: &[Uuid]) -> Event {
        Event {
            kind: "user.deleted",
            uri: uri::DELETE,
            resource_type: "User",
            resource_id: u.id,
            data: json!({ "before": user_view(u), "groups": groups }),
            summary: format!("deleted user {}", u.user_name),
        }
    }

    pub fn group_created(g: &groups::Model) -> Event {
        Event {
            kind: "group.created",
            uri: uri::CREATE,
            resource_type: "Group",
            resource_id: g.id,
            data: json!({ "after": group_view(g) }),
            summary: format!("created group {}", g.display_name),
        }
    }

    pub fn group_changed(before: &groups::Model, after: &groups::Model) -> Option<Event> {
        let attrs = changed_attributes(&before.document, &after.document);
        if before.display_name == after.display_name && attrs.is_empty() {
            return None;
        }
        let renamed = before.display_name != after.display_name;
        Some(Event {
            kind: if renamed { "group.renamed" } else { "group.updated" },
            uri: uri::PUT,
            resource_type: "Group",
            resource_id: after.id,
            data: json!({ "before": group_view(before), "after": group_view(after), "changedAttributes": attrs }),
            summary: if renamed {
                format!("renamed group {} to {}", before.display_name, after.display_name)
            } else {
                format!("updated group {} ({})", after.display_name, attrs.join(", "))
            },
        })
    }

    pub fn group_deleted(g: &groups::Model) -> Event {
        Event {
            kind: "group.deleted",
            uri: uri::DELETE,
            resource_type: "Group",
            resource_id: g.id,
            data: json!({ "before": group_view(g) }),
            summary: format!("deleted group {}", g.display_name),
        }
    }

    /// A user's role changed (`before` is unset for a first assignment, `after` when the
    /// tenant has no role left to give).
    pub fn role_assigned(
        user_id: Uuid,
        user_name: &str,
        before: Option<&roles::Model>,
        after: Option<&roles::Model>,
    ) -> Event {
        let view = |r: Option<&roles::Model>| {
            r.map_or(
                Value::Null,
                |r| json!({"id": r.id, "name": r.name, "isAdmin": r.is_admin, "isGuest": r.is_guest}),
            )
        };
        let name = |r: Option<&roles::Model>| r.map_or("no role".to_owned(), |r| format!("role {}", r.name));
        Event {
            kind: "role.assigned",
            uri: uri::ROLE_ASSIGNED,
            resource_type: "User",
            resource_id: user_id,
            data: json!({
                "userId": user_id,
                "userName": user_name,
                "before": view(before),
                "after": view(after),
            }),
            summary: format!("assigned {} to {user_name} (was {})", name(after), name(before)),
        }
    }

    /// Membership changes, split into events of at most [`MEMBERS_PER_EVENT`] ids.
    pub fn members(g: &groups::Model, added: &[Uuid], removed: &[Uuid]) -> Vec<Event> {
        let mut out = Vec::new();
        for (ids, kind, uri, verb, prep) in [
            (added, "group.members_added", uri::MEMBERS_ADDED, "added", "to"),
            (
                removed,
                "group.members_removed",
                uri::MEMBERS_REMOVED,
                "removed",
                "from",
            ),
        ] {
            for chunk in ids.chunks(MEMBERS_PER_EVENT) {
                out.push(Event {
                    kind,
                    uri,
                    resource_type: "Group",
                    resource_id: g.id,
                    data: json!({ "group": group_view(g), "members": chunk }),
                    summary: format!(
                        "{verb} {} member{} {prep} {}",
                        chunk.len(),
                        if chunk.len() == 1 { "" } else { "s" },
                        g.display_name
                    ),
                });
            }
        }
        out
    }
}

/// Writes the events of one mutation (with gapless per-tenant cursors) and, for a SCIM
/// request, its sync-log entry, in the mutation's transaction.
pub async fn write(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    connection_id: Option<Uuid>,
    ctx: &RequestContext,
    events: &[Event],
    now: i64,
) -> Result<()> {
    // A write whose only effect was to keep values the IdP cleared still says so.
    let kept = (!ctx.kept_on_removal.is_empty()).then(|| {
        format!(
            "kept on removal: {} (the IdP cleared it; the tenant's schema keeps it)",
            ctx.kept_on_removal.join(", ")
        )
    });
    if events.is_empty() {
        if let (Some(connection_id), Some(kept)) = (connection_id, kept) {
            log_line(txn, tenant_id, connection_id, ctx, kept, now).await?;
        }
        return Ok(());
    }
    let n = events.len() as i64;
    // Locks the tenant row until commit: a tenant's changes commit in cursor order.
    let bump = Query::update()
        .table(tenants::Entity)
        .value(tenants::Column::ChangeSeq, Expr::col(tenants::Column::ChangeSeq).add(n))
        .and_where(tenants::Column::Id.eq(tenant_id))
        .returning_col(tenants::Column::ChangeSeq)
        .to_owned();
    let row = txn
        .query_one(&bump)
        .await?
        .ok_or_else(|| CoreError::not_found(format!("tenant {tenant_id} not found")))?;
    let last: i64 = row.try_get("", "change_seq")?;
    let first = last - n + 1;
    let rows = events.iter().enumerate().map(|(i, e)| changes::ActiveModel {
        tenant_id: Set(tenant_id),
        seq: Set(first + i as i64),
        kind: Set(e.kind.to_owned()),
        event_uri: Set(e.uri.to_owned()),
        resource_type: Set(e.resource_type.to_owned()),
        resource_id: Set(e.resource_id),
        connection_id: Set(connection_id),
        data: Set(e.data.clone()),
        created_at: Set(now),
    });
    changes::Entity::insert_many(rows).exec_without_returning(txn).await?;

    if let Some(connection_id) = connection_id {
        let summary = events
            .iter()
            .map(|e| e.summary.as_str())
            .chain(kept.as_deref())
            .collect::<Vec<_>>()
            .join("; ");
        log_line(txn, tenant_id, connection_id, ctx, summary, now).await?;
    }
    Ok(())
}

/// The sync log's method for lines the core writes on its own (jobs), outside any request.
pub const JOB_METHOD: &str = "JOB";

impl RequestContext {
    /// The context of a job's work on one thing (`key` makes its sync-log line unique).
    pub fn job(key: String, path: String) -> Self {
        RequestContext {
            request_id: Some(key),
            method: JOB_METHOD.into(),
            path,
            ..Default::default()
        }
    }
}

/// What a mutation did, as a line of the request's sync-log entry (the edge records the
/// request's outcome on the same entry, keyed by connection and request id). Without a
/// request id there is no entry to write to.
pub async fn log_line<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    ctx: &RequestContext,
    summary: String,
    now: i64,
) -> Result<()> {
    let Some(request_id) = ctx.request_id.as_deref() else {
        return Ok(());
    };
    let entry = sync_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        connection_id: Set(connection_id),
        request_id: Set(request_id.to_owned()),
        at: Set(now),
        method: Set(ctx.method.clone()),
        path: Set(ctx.path.clone()),
        status: Set(0),
        duration_ms: Set(0),
        summary: Set(summary),
        error: Set(None),
        idp_request_id: Set(ctx.idp_request_id.clone()),
        trace_id: Set(ctx.trace_id.clone()),
        body: Set(None),
        warning: Set(None),
    };
    sync_log::Entity::insert(entry)
        .on_conflict(
            OnConflict::columns([sync_log::Column::ConnectionId, sync_log::Column::RequestId])
                .update_column(sync_log::Column::Summary)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Adds a warning for the IdP's admin to the request's sync-log entry (the one `write` wrote
/// in the same transaction, or a new one when the request changed nothing).
pub async fn log_warning<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    connection_id: Uuid,
    ctx: &RequestContext,
    warning: String,
    now: i64,
) -> Result<()> {
    let Some(request_id) = ctx.request_id.as_deref() else {
        return Ok(());
    };
    let entry = sync_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        connection_id: Set(connection_id),
        request_id: Set(request_id.to_owned()),
        at: Set(now),
        method: Set(ctx.method.clone()),
        path: Set(ctx.path.clone()),
        status: Set(0),
        duration_ms: Set(0),
        summary: Set(crate::store::sync_log::describe(&ctx.method, &ctx.path, 0, None)),
        error: Set(None),
        idp_request_id: Set(ctx.idp_request_id.clone()),
        trace_id: Set(ctx.trace_id.clone()),
        body: Set(None),
        warning: Set(Some(warning)),
    };
    sync_log::Entity::insert(entry)
        .on_conflict(
            OnConflict::columns([sync_log::Column::ConnectionId, sync_log::Column::RequestId])
                .update_column(sync_log::Column::Warning)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_attributes_compare_top_level_values() {
        let before = json!({"a": 1, "b": {"x": 1}, "c": 3});
        let after = json!({"a": 1, "b": {"x": 2}, "d": 4});
        assert_eq!(changed_attributes(&before, &after), vec!["b", "c", "d"]);
    }
}
