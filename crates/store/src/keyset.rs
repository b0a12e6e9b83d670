//! Keyset ("seek") paging. A page token names the last row a caller saw by its sort key and
//! id, and the next page is "the rows after that one" in the query's order: rows inserted or
//! deleted meanwhile never make a page repeat or skip one, which offsets cannot promise.
//!
//! Tokens are opaque to callers (base64url of a small JSON object) and carry a fingerprint of
//! their query (resource, tenant, filter, sort), so a token is refused on any other query.
//! Tokens are not signed; they are validated on decode instead: bounded in size, the sort
//! expression always comes from the (checked) query, never from the token, and the key a token
//! carries is only ever a bound parameter whose type must be the one the sort yields
//! ([`Cursor::checked`]), so a forged token can neither reach SQL text nor make a comparison
//! the store refuses.

use std::fmt::Debug;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, Select, Value,
};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Result, StoreError};

/// Largest LIMIT / OFFSET bound: PostgreSQL takes them as signed 64-bit values.
const MAX_BOUND: u64 = i64::MAX as u64 - 1;

/// Alias of the selected sort key, read back from the last row to build the next token.
const SORT_KEY: &str = "dirsync_sort_key";

/// Longest page token accepted: a sort key is one attribute value.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// The type of value a sort expression yields on the backend in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Int,
    Bool,
    Uuid,
    /// SQLite's JSON values: text or numbers, all comparable with one another.
    Any,
}

/// A sort key value as the database returned it, typed so it binds back the same way.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Uuid(Uuid),
}

impl SortKey {
    fn value(&self) -> Value {
        match self {
            SortKey::Null => Value::String(None),
            SortKey::Text(s) => s.clone().into(),
            SortKey::Int(i) => (*i).into(),
            SortKey::Float(f) => (*f).into(),
            SortKey::Bool(b) => (*b).into(),
            SortKey::Uuid(u) => (*u).into(),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            SortKey::Null => json!(["n"]),
            SortKey::Text(s) => json!(["s", s]),
            SortKey::Int(i) => json!(["i", i]),
            SortKey::Float(f) => json!(["f", f]),
            SortKey::Bool(b) => json!(["b", b]),
            SortKey::Uuid(u) => json!(["u", u.to_string()]),
        }
    }

    fn from_json(v: &Json) -> Option<SortKey> {
        let a = v.as_array()?;
        let arg = a.get(1);
        Some(match (a.first()?.as_str()?, a.len()) {
            ("n", 1) => SortKey::Null,
            ("s", 2) => SortKey::Text(arg?.as_str()?.to_owned()),
            ("i", 2) => SortKey::Int(arg?.as_i64()?),
            ("f", 2) => SortKey::Float(arg?.as_f64()?),
            ("b", 2) => SortKey::Bool(arg?.as_bool()?),
            ("u", 2) => SortKey::Uuid(Uuid::parse_str(arg?.as_str()?).ok()?),
            _ => return None,
        })
    }

    /// The key column of a row. Its SQL type depends on the sort attribute (text, bigint,
    /// boolean, uuid), so each type is tried in turn; a NULL decodes as any of them.
    fn read(res: &QueryResult) -> std::result::Result<SortKey, DbErr> {
        if let Ok(v) = res.try_get::<Option<String>>("", SORT_KEY) {
            return Ok(v.map_or(SortKey::Null, SortKey::Text));
        }
        if let Ok(Some(v)) = res.try_get::<Option<i64>>("", SORT_KEY) {
            return Ok(SortKey::Int(v));
        }
        if let Ok(Some(v)) = res.try_get::<Option<bool>>("", SORT_KEY) {
            return Ok(SortKey::Bool(v));
        }
        if let Ok(Some(v)) = res.try_get::<Option<Uuid>>("", SORT_KEY) {
            return Ok(SortKey::Uuid(v));
        }
        if let Ok(Some(v)) = res.try_get::<Option<f64>>("", SORT_KEY) {
            return Ok(SortKey::Float(v));
        }
        Err(DbErr::Type("sort key of an unsupported type".into()))
    }
}

/// The last row of a page: its sort key (none when the query is ordered by id alone) and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: Option<SortKey>,
    pub id: Uuid,
}

impl Cursor {
    /// The cursor, if its key is of the type the query's sort yields (`None`: no sort).
    pub fn checked(self, kind: Option<KeyKind>) -> Result<Cursor> {
        let ok = matches!(
            (&self.key, kind),
            (None, None)
                | (Some(SortKey::Null), Some(_))
                | (Some(_), Some(KeyKind::Any))
                | (Some(SortKey::Text(_)), Some(KeyKind::Text))
                | (Some(SortKey::Int(_)), Some(KeyKind::Int))
                | (Some(SortKey::Bool(_)), Some(KeyKind::Bool))
                | (Some(SortKey::Uuid(_)), Some(KeyKind::Uuid))
        );
        if ok {
            Ok(self)
        } else {
            Err(StoreError::invalid_page_token(
                "page_token does not match the query's sort".into(),
            ))
        }
    }
}

/// Identifies one query, so its tokens are refused on another (`parts` are hashed, not stored).
pub fn fingerprint(parts: &[&dyn Debug]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(format!("{p:?}\u{1f}").as_bytes());
    }
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn encode(query: &str, cursor: &Cursor) -> String {
    let mut token = json!({"q": query, "id": cursor.id.to_string()});
    if let (Some(key), Some(obj)) = (&cursor.key, token.as_object_mut()) {
        obj.insert("k".into(), key.to_json());
    }
    URL_SAFE_NO_PAD.encode(token.to_string())
}

/// Decodes a token that `encode` made for the same query; anything else is refused.
pub fn decode(token: &str, query: &str) -> Result<Cursor> {
    let invalid = || StoreError::invalid_page_token("page_token is not a token of this query".into());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| invalid())?;
    let v: Json = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if v.get("q").and_then(Json::as_str) != Some(query) {
        return Err(invalid());
    }
    let id = v
        .get("id")
        .and_then(Json::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(invalid)?;
    let key = match v.get("k") {
        None => None,
        Some(k) => Some(SortKey::from_json(k).ok_or_else(invalid)?),
    };
    Ok(Cursor { key, id })
}

/// A keyset query's order: an optional sort expression, then the id ascending as tiebreak
/// (UUIDv7, so by creation time when there is no sort). NULL keys sit where the backend puts
/// them (SQLite: lowest, PostgreSQL: highest), the same order offset paging uses.
pub struct SeekOrder {
    key: Option<Expr>,
    descending: bool,
    nulls_first: bool,
    id: Expr,
}

impl SeekOrder {
    pub fn new(backend: DbBackend, key: Option<Expr>, descending: bool, id: Expr) -> Self {
        let nulls_lowest = !matches!(backend, DbBackend::Postgres);
        SeekOrder {
            key,
            descending,
            nulls_first: nulls_lowest != descending,
            id,
        }
    }

    /// Orders by id alone.
    pub fn by_id(id: Expr) -> Self {
        SeekOrder {
            key: None,
            descending: false,
            nulls_first: false,
            id,
        }
    }

    /// The condition "the row comes after `c`" in this order.
    fn after(&self, c: &Cursor) -> Result<Expr> {
        let id_after = self.id.clone().gt(Expr::val(c.id));
        match (&self.key, &c.key) {
            (None, None) => Ok(id_after),
            (Some(k), Some(SortKey::Null)) => {
                let tie = k.clone().is_null().and(id_after);
                Ok(if self.nulls_first {
                    tie.or(k.clone().is_not_null())
                } else {
                    tie
                })
            }
            (Some(k), Some(v)) => {
                let v = Expr::val(v.value());
                let beyond = if self.descending {
                    k.clone().lt(v.clone())
                } else {
                    k.clone().gt(v.clone())
                };
                let cond = beyond.or(k.clone().eq(v).and(id_after));
                Ok(if self.nulls_first {
                    cond
                } else {
                    cond.or(k.clone().is_null())
                })
            }
            _ => Err(StoreError::invalid_page_token(
                "page_token does not match the query's sort".into(),
            )),
        }
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    Offset(u64),
    After(Cursor),
}

impl Start {
    fn offset(&self) -> Option<u64> {
        match self {
            Start::Offset(n) => Some(*n),
            Start::After(_) => None,
        }
    }
}

/// The total number of matches, when an offset page already tells it: a page that ends the
/// results holds the last of them, so the total is its offset plus its rows. An empty page
/// past the first, or a page after a token, does not tell it (`None`: count them).
fn total_of_last_page(offset: Option<u64>, rows: usize, more: bool) -> Option<u64> {
    match offset {
        Some(n) if !more && (n == 0 || rows > 0) => Some(n.saturating_add(rows as u64)),
        _ => None,
    }
}

/// One page of `query` (as [`paged`]) and the total number of its matches. The COUNT query
/// runs only when the page does not tell the total (see `total_of_last_page`): a filter that
/// finds one user (an IdP's lookup before a create) is one query, not two.
pub async fn paged_and_total<E, C>(
    db: &C,
    query: Select<E>,
    order: &SeekOrder,
    start: Start,
    count: u64,
    query_id: &str,
) -> Result<(u64, Paged<E::Model>)>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync + 'static,
    C: ConnectionTrait,
{
    let offset = start.offset();
    let page = paged(db, query.clone(), order, start, count, query_id).await?;
    let total = match total_of_last_page(offset, page.rows.len(), page.more) {
        Some(total) => total,
        None => query.count(db).await?,
    };
    Ok((total, page))
}

/// A row with the sort key and id it was paged by.
struct Keyed<M> {
    model: M,
    key: SortKey,
    id: Uuid,
}

impl<M: FromQueryResult> FromQueryResult for Keyed<M> {
    fn from_query_result(res: &QueryResult, pre: &str) -> std::result::Result<Self, DbErr> {
        Ok(Keyed {
            model: M::from_query_result(res, pre)?,
            key: SortKey::read(res)?,
            id: res.try_get(pre, "id")?,
        })
    }
}

/// Reads up to `count` rows of `query` from `start` in `order`, and the cursor of the last one
/// when more rows follow (one row more is read to know).
pub async fn page<E, C>(
    db: &C,
    query: Select<E>,
    order: &SeekOrder,
    start: Start,
    count: u64,
) -> Result<(Vec<E::Model>, Option<Cursor>)>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let (rows, more) = keyed_page(db, query, order, start, count).await?;
    let next = match rows.last() {
        Some(last) if more => Some(last.cursor(order)),
        _ => None,
    };
    Ok((rows.into_iter().map(|r| r.model).collect(), next))
}

/// A page whose caller may end it early (a list page over the gRPC message limit): each row
/// keeps its cursor, so the token after any row can be made.
#[derive(Debug)]
pub struct Paged<M> {
    pub rows: Vec<M>,
    cursors: Vec<Cursor>,
    /// More rows follow the last of `rows`.
    more: bool,
    query: String,
}

impl<M> Paged<M> {
    /// No rows (a request for none, e.g. `count=0` to learn the total).
    pub fn empty() -> Self {
        Paged {
            rows: Vec::new(),
            cursors: Vec::new(),
            more: false,
            query: String::new(),
        }
    }

    /// Keeps the first `n` rows; the rest then follow the page.
    pub fn truncate(&mut self, n: usize) {
        if n < self.cursors.len() {
            self.rows.truncate(n);
            self.cursors.truncate(n);
            self.more = true;
        }
    }

    /// The token of the next page, when more rows follow.
    pub fn next_token(&self) -> Option<String> {
        match self.cursors.last() {
            Some(c) if self.more => Some(encode(&self.query, c)),
            _ => None,
        }
    }

    /// The rows `f` keeps, each made what it returns (a dropped row's cursor goes with it).
    pub fn filter_map<T>(self, mut f: impl FnMut(M) -> Option<T>) -> Paged<T> {
        let (rows, cursors) = self
            .rows
            .into_iter()
            .zip(self.cursors)
            .filter_map(|(row, cursor)| f(row).map(|t| (t, cursor)))
            .unzip();
        Paged {
            rows,
            cursors,
            more: self.more,
            query: self.query,
        }
    }

    pub fn map<T>(self, f: impl FnMut(M) -> T) -> Paged<T> {
        Paged {
            rows: self.rows.into_iter().map(f).collect(),
            cursors: self.cursors,
            more: self.more,
            query: self.query,
        }
    }
}

/// As [`page`], with every row's cursor (`query`: the fingerprint tokens are made for).
pub async fn paged<E, C>(
    db: &C,
    query: Select<E>,
    order: &SeekOrder,
    start: Start,
    count: u64,
    query_id: &str,
) -> Result<Paged<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let (rows, more) = keyed_page(db, query, order, start, count).await?;
    let cursors = rows.iter().map(|r| r.cursor(order)).collect();
    Ok(Paged {
        rows: rows.into_iter().map(|r| r.model).collect(),
        cursors,
        more,
        query: query_id.to_owned(),
    })
}

impl<M> Keyed<M> {
    fn cursor(&self, order: &SeekOrder) -> Cursor {
        Cursor {
            key: order.key.as_ref().map(|_| self.key.clone()),
            id: self.id,
        }
    }
}

/// Up to `count` rows from `start`, and whether more follow.
async fn keyed_page<E, C>(
    db: &C,
    query: Select<E>,
    order: &SeekOrder,
    start: Start,
    count: u64,
) -> Result<(Vec<Keyed<E::Model>>, bool)>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let count = std::cmp::min(count, MAX_BOUND);
    let mut query = query;
    if let Some(k) = &order.key {
        let dir = if order.descending {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        query = query.order_by(k.clone(), dir);
    }
    query = query.order_by(order.id.clone(), sea_orm::Order::Asc);
    query = match &start {
        Start::Offset(n) => query.offset(std::cmp::min(*n, MAX_BOUND)),
        Start::After(c) => query.filter(order.after(c)?),
    };
    let key = order.key.clone().unwrap_or_else(|| Expr::cust("NULL"));
    let mut rows: Vec<Keyed<E::Model>> = query
        .expr_as(key, SORT_KEY)
        .limit(count.saturating_add(1))
        .into_model::<Keyed<E::Model>>()
        .all(db)
        .await?;
    let more = rows.len() as u64 > count;
    rows.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    Ok((rows, more))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn totals_known_from_the_last_page() {
        // (offset or after a token, rows on the page, more after it) -> the total, or count
        for (offset, rows, more, want) in [
            (Some(0), 1, false, Some(1)),
            (Some(0), 0, false, Some(0)),
            (Some(0), 100, true, None),
            (Some(40), 7, false, Some(47)),
            (Some(40), 0, false, None),
            (None, 3, false, None),
            (None, 0, false, None),
        ] {
            assert_eq!(total_of_last_page(offset, rows, more), want, "{offset:?} {rows} {more}");
        }
    }

    #[test]
    fn tokens_round_trip_and_refuse_others() {
        let id = Uuid::now_v7();
        let q = fingerprint(&[&"users", &id]);
        for key in [
            None,
            Some(SortKey::Null),
            Some(SortKey::Text("ädam \"x\"".into())),
            Some(SortKey::Int(-5)),
            Some(SortKey::Float(1.5)),
            Some(SortKey::Bool(true)),
            Some(SortKey::Uuid(id)),
        ] {
            let c = Cursor { key, id };
            assert_eq!(decode(&encode(&q, &c), &q).unwrap(), c);
            let other = fingerprint(&[&"groups", &id]);
            assert!(matches!(
                decode(&encode(&q, &c), &other),
                Err(e) if e.kind() == Some(ErrorKind::InvalidPageToken)
            ));
        }
        for garbage in ["", "!!!", "bm90IGpzb24", &URL_SAFE_NO_PAD.encode(r#"{"q":"x"}"#)] {
            assert!(
                matches!(decode(garbage, &q), Err(e) if e.kind() == Some(ErrorKind::InvalidPageToken)),
                "{garbage}"
            );
        }
    }

    #[test]
    fn keys_must_be_of_the_sorts_type() {
        let id = Uuid::now_v7();
        let c = |key| Cursor { key, id };
        let cases = [
            (None, None, true),
            (None, Some(KeyKind::Text), false),
            (Some(SortKey::Text("x".into())), None, false),
            (Some(SortKey::Null), Some(KeyKind::Int), true),
            (Some(SortKey::Text("x".into())), Some(KeyKind::Text), true),
            (Some(SortKey::Int(5)), Some(KeyKind::Text), false),
            (
                Some(SortKey::Text("'; drop table users".into())),
                Some(KeyKind::Uuid),
                false,
            ),
            (Some(SortKey::Float(1.5)), Some(KeyKind::Any), true),
            (Some(SortKey::Bool(true)), Some(KeyKind::Bool), true),
        ];
        for (key, kind, ok) in cases {
            assert_eq!(c(key.clone()).checked(kind).is_ok(), ok, "{key:?} {kind:?}");
        }
        let q = fingerprint(&[&"users"]);
        let long = encode(&q, &c(Some(SortKey::Text("x".repeat(MAX_TOKEN_BYTES)))));
        assert!(decode(&long, &q).is_err());
    }

    #[test]
    fn nulls_sit_where_the_backend_puts_them() {
        let o = |b, d| SeekOrder::new(b, Some(Expr::cust("k")), d, Expr::cust("id")).nulls_first;
        assert!(o(DbBackend::Sqlite, false));
        assert!(!o(DbBackend::Sqlite, true));
        assert!(!o(DbBackend::Postgres, false));
        assert!(o(DbBackend::Postgres, true));
    }
}
