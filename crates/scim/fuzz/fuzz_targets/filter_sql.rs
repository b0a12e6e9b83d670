//! Filter -> SQL on arbitrary text: every filter the SCIM parser accepts is either refused as
//! invalidFilter (by the edge's conversion or the core's SQL builder) or becomes a condition
//! that SQLite executes against dirsync's schema and that renders for PostgreSQL, for users
//! and groups alike. No panics anywhere on the way.
#![no_main]

use std::sync::OnceLock;

use dirsync_core::error::ErrorKind;
use dirsync_store::filter::{Target, condition};
use dirsync_scim::schema::ResourceSchema;
use libfuzzer_sys::fuzz_target;
use sea_orm::sea_query::{Alias, Expr, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// One runtime and one migrated SQLite store for the whole run.
fn store() -> &'static (tokio::runtime::Runtime, DatabaseConnection) {
    static STORE: OnceLock<(tokio::runtime::Runtime, DatabaseConnection)> = OnceLock::new();
    STORE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = std::env::temp_dir().join(format!("dirsync-fuzz-{}", std::process::id()));
        let url = format!("sqlite://{}/fuzz.db?mode=rwc", dir.display());
        let db = rt.block_on(dirsync_core::connect(&url)).unwrap();
        (rt, db)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = dirsync_scim::filter::parse(text) else {
        return;
    };
    let (rt, db) = store();
    for (rs, target, table) in [
        (ResourceSchema::user(), Target::Users, "users"),
        (ResourceSchema::group(), Target::Groups, "groups"),
    ] {
        let Ok(pb_filter) = dirsync_edge::convert::filter(&parsed, &rs) else {
            continue;
        };
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let cond = match dirsync_core::convert::filter(&pb_filter).and_then(|f| Ok(condition(backend, target, &f)?)) {
                Ok(c) => c,
                Err(e) if e.kind() == Some(ErrorKind::InvalidFilter) => continue,
                Err(e) => panic!("{text:?}: {e:?}"),
            };
            let q = Query::select()
                .expr(Expr::val(1))
                .from(Alias::new(table))
                .and_where(cond)
                .limit(1)
                .to_owned();
            if backend == DbBackend::Postgres {
                let _ = q.build(PostgresQueryBuilder);
                continue;
            }
            let (sql, values) = q.build(SqliteQueryBuilder);
            rt.block_on(db.query_all_raw(Statement::from_sql_and_values(backend, sql.clone(), values)))
                .unwrap_or_else(|e| panic!("SQLite refused the SQL of {text:?}: {e}\n{sql}"));
        }
    }
});
