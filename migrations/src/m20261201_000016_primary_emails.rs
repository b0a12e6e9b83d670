//! The stored primary e-mail follows the rule the edge now applies on every write (issue 17):
//! the address flagged primary, else the first `work` address, else the first. Users written
//! before that fix hold the first address of any type in `users.email` (and its key in
//! `users.email_key`) until their next write, so `User.email`, lookups by e-mail, invites and
//! the adoption of native accounts disagreed with the rule. This recomputes both columns from
//! the stored SCIM document with the write path's own functions (`dirsync_scim`), for every
//! user whose stored values differ.
//!
//! - Only users the IdP writes (`source` not `native`): a native client sets `email` itself
//!   and the edge's rule never applied to it.
//! - Rows already right are not written, so running it again changes nothing.
//! - `version` (the SCIM ETag) and `updated_at` (`meta.lastModified`) stay as they are: the
//!   SCIM document, which is what SCIM returns and what an IdP's cached ETag stands for, does
//!   not change; only the indexed copy the product reads is corrected. Bumping the version
//!   would make every IdP's next conditional write of these users fail with 412 for no change
//!   it could see.
//! - Keyset batches by id, so a large store is read a page at a time on SQLite and PostgreSQL.

use dirsync_scim::resource::{ci_key, primary_email};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::sea_orm::prelude::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Source,
    Email,
    EmailKey,
}

/// Users read per batch.
const BATCH: u64 = 1_000;

/// `users.source` of accounts a product created itself.
const NATIVE: &str = "native";

/// The e-mail and key the write path stores for a user with this document, given as JSON
/// text: `None` when the document is not JSON (left as it is).
fn stored_email(document: &str) -> Option<(Option<String>, Option<String>)> {
    let doc: serde_json::Value = serde_json::from_str(document).ok()?;
    let email = primary_email(&doc).map(str::to_owned);
    let key = email.as_deref().map(ci_key);
    Some((email, key))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut after: Option<Uuid> = None;
        loop {
            // The document as text on both stores (jsonb on PostgreSQL, text on SQLite).
            let mut page = Query::select();
            page.column(Users::Id)
                .columns([Users::Email, Users::EmailKey])
                .expr_as(Expr::cust(r#"CAST("document" AS TEXT)"#), Alias::new("document_text"))
                .from(Users::Table)
                .and_where(Expr::col(Users::Source).ne(NATIVE))
                .order_by(Users::Id, Order::Asc)
                .limit(BATCH);
            if let Some(id) = after {
                page.and_where(Expr::col(Users::Id).gt(id));
            }
            let rows = db.query_all(&page).await?;
            for row in &rows {
                let id: Uuid = row.try_get("", "id")?;
                let email: Option<String> = row.try_get("", "email")?;
                let email_key: Option<String> = row.try_get("", "email_key")?;
                let document: String = row.try_get("", "document_text")?;
                let Some(want) = stored_email(&document) else { continue };
                if want == (email, email_key) {
                    continue;
                }
                db.execute(
                    &Query::update()
                        .table(Users::Table)
                        .value(Users::Email, want.0)
                        .value(Users::EmailKey, want.1)
                        .and_where(Expr::col(Users::Id).eq(id))
                        .to_owned(),
                )
                .await?;
            }
            match rows.last() {
                Some(last) if rows.len() as u64 == BATCH => after = Some(last.try_get("", "id")?),
                _ => return Ok(()),
            }
        }
    }

    /// Nothing to undo: the old values were the old rule's, and the next write of each user
    /// would set the new ones anyway.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stored_email;

    #[test]
    fn the_write_paths_value_and_key() {
        let s = |e: &str| Some(e.to_owned());
        for (document, want) in [
            (
                r#"{"emails":[{"value":"Ann@Home.example","type":"home"},{"value":"Ann@ACME.example","type":"work"}]}"#,
                Some((s("Ann@ACME.example"), s("ann@acme.example"))),
            ),
            (
                r#"{"emails":[{"value":"a@home.example","type":"home"},{"value":"b@x.example","primary":true}]}"#,
                Some((s("b@x.example"), s("b@x.example"))),
            ),
            (
                r#"{"emails":[{"value":"Ärzte@x.example"}]}"#,
                Some((s("Ärzte@x.example"), s("ärzte@x.example"))),
            ),
            (r#"{"userName":"no.mail"}"#, Some((None, None))),
            ("not json", None),
        ] {
            assert_eq!(stored_email(document), want, "{document}");
        }
    }
}
