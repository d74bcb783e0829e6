//! One way to run a statement on either backend. Repositories write each statement once, with
//! `?` placeholders, and bind owned [`Value`]s; [`Query`] runs it on the connection it is given —
//! SQLite as written, PostgreSQL with the placeholders numbered (`$1`, `$2`, …). Typed rows come
//! back through sqlx's `FromRow`, which a derived row type implements for both backends.
//!
//! Why not sqlx's `Any` driver: it decodes only a few primitive types (no `timestamptz`, no
//! `jsonb`), and PostgreSQL gets its native column types here. Why not two copies of every
//! repository: the statements are the same SQL; only placeholders, a few types and the
//! connection differ, and those differences live in this module and in [`crate::db`].

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, FromRow, Postgres, Sqlite};
use urbis_domain::area::AreaLevel;
use urbis_domain::role::Role;
use urbis_domain::workflow::CaseState;

use crate::db::Conn;
use crate::{Result, StorageError};

/// A value bound to a placeholder. Nulls keep their type: PostgreSQL types every parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
    /// A point in time: RFC 3339 text with microseconds on SQLite, `timestamptz` on PostgreSQL.
    Time(Option<DateTime<Utc>>),
    /// A JSON document: text on SQLite, `jsonb` on PostgreSQL.
    Json(Option<String>),
}

/// JSON text stored as a document: TEXT on SQLite, `jsonb` on PostgreSQL. Rows read it back as
/// the text it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonText(pub String);

impl std::ops::Deref for JsonText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for JsonText {
    fn from(text: String) -> JsonText {
        JsonText(text)
    }
}

impl From<&str> for JsonText {
    fn from(text: &str) -> JsonText {
        JsonText(text.to_owned())
    }
}

/// Anything a statement can bind.
pub trait Bind {
    fn value(self) -> Value;
}

macro_rules! bind_via {
    ($variant:ident: $($ty:ty => |$v:ident| $conv:expr),* $(,)?) => {$(
        impl Bind for $ty {
            fn value(self) -> Value {
                let $v = self;
                Value::$variant(Some($conv))
            }
        }
        impl Bind for Option<$ty> {
            fn value(self) -> Value {
                Value::$variant(self.map(|$v| $conv))
            }
        }
        impl Bind for &Option<$ty> {
            fn value(self) -> Value {
                Value::$variant(self.as_ref().map(|$v| {
                    #[allow(clippy::clone_on_copy, clippy::useless_conversion)]
                    let $v = $v.clone();
                    $conv
                }))
            }
        }
    )*};
}

bind_via!(Int: i64 => |v| v, i32 => |v| i64::from(v), u32 => |v| i64::from(v), &i64 => |v| *v);
bind_via!(Real: f64 => |v| v, &f64 => |v| *v);
bind_via!(Bool: bool => |v| v, &bool => |v| *v);
bind_via!(Text: String => |v| v, &str => |v| v.to_owned(), &String => |v| v.clone());
bind_via!(Bytes: Vec<u8> => |v| v, &[u8] => |v| v.to_vec(), &Vec<u8> => |v| v.clone());
bind_via!(Time: DateTime<Utc> => |v| v, &DateTime<Utc> => |v| *v);
bind_via!(Json: JsonText => |v| v.0, &JsonText => |v| v.0.clone());
bind_via!(Text: CaseState => |v| v.as_str().to_owned(), &CaseState => |v| v.as_str().to_owned());
bind_via!(Text: Role => |v| v.as_str().to_owned(), AreaLevel => |v| v.as_str().to_owned());

impl Bind for Value {
    fn value(self) -> Value {
        self
    }
}

/// A row type both backends can decode (a `#[derive(sqlx::FromRow)]` struct or a tuple).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A single value both backends can decode.
pub trait Scalar:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + Unpin
{
}

/// What running a statement returns: a boxed future, so callers' futures stay `Send` (sqlx's
/// executor bounds are higher-ranked, which the compiler cannot always see through in a
/// spawned task otherwise).
pub type Fut<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>;

/// A statement and its bound values.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is executed or fetched"]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Value>,
}

/// Starts a statement.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    /// Binds the next `?`.
    pub fn bind(mut self, value: impl Bind) -> Query {
        self.args.push(value.value());
        self
    }

    /// Runs the statement; returns the number of rows it changed.
    pub fn execute<'c>(self, conn: &'c mut Conn) -> Fut<'c, u64> {
        Box::pin(async move {
            Ok(match conn {
                Conn::Sqlite(c) => sqlx::query_with(&self.sql, sqlite_args(self.args)?)
                    .execute(&mut **c)
                    .await?
                    .rows_affected(),
                Conn::Postgres(c) => {
                    let sql = numbered(&self.sql);
                    sqlx::query_with(&sql, pg_args(self.args)?)
                        .execute(&mut **c)
                        .await?
                        .rows_affected()
                }
            })
        })
    }

    /// Every row, decoded as `T`.
    pub fn fetch_all<'c, T: Row>(self, conn: &'c mut Conn) -> Fut<'c, Vec<T>> {
        Box::pin(async move {
            Ok(match conn {
                Conn::Sqlite(c) => {
                    sqlx::query_as_with(&self.sql, sqlite_args(self.args)?)
                        .fetch_all(&mut **c)
                        .await?
                }
                Conn::Postgres(c) => {
                    let sql = numbered(&self.sql);
                    sqlx::query_as_with(&sql, pg_args(self.args)?)
                        .fetch_all(&mut **c)
                        .await?
                }
            })
        })
    }

    /// The first row, if any.
    pub fn fetch_optional<'c, T: Row>(self, conn: &'c mut Conn) -> Fut<'c, Option<T>> {
        Box::pin(async move {
            Ok(match conn {
                Conn::Sqlite(c) => {
                    sqlx::query_as_with(&self.sql, sqlite_args(self.args)?)
                        .fetch_optional(&mut **c)
                        .await?
                }
                Conn::Postgres(c) => {
                    let sql = numbered(&self.sql);
                    sqlx::query_as_with(&sql, pg_args(self.args)?)
                        .fetch_optional(&mut **c)
                        .await?
                }
            })
        })
    }

    /// The first row; `NotFound("row")` when there is none.
    pub fn fetch_one<'c, T: Row>(self, conn: &'c mut Conn) -> Fut<'c, T> {
        Box::pin(async move {
            self.fetch_optional(conn)
                .await?
                .ok_or(StorageError::NotFound("row"))
        })
    }

    /// The first column of every row.
    pub fn scalars<'c, T: Scalar>(self, conn: &'c mut Conn) -> Fut<'c, Vec<T>> {
        Box::pin(async move {
            Ok(match conn {
                Conn::Sqlite(c) => {
                    sqlx::query_scalar_with(&self.sql, sqlite_args(self.args)?)
                        .fetch_all(&mut **c)
                        .await?
                }
                Conn::Postgres(c) => {
                    let sql = numbered(&self.sql);
                    sqlx::query_scalar_with(&sql, pg_args(self.args)?)
                        .fetch_all(&mut **c)
                        .await?
                }
            })
        })
    }

    /// The first column of the first row, if there is a row.
    pub fn scalar_optional<'c, T: Scalar>(self, conn: &'c mut Conn) -> Fut<'c, Option<T>> {
        Box::pin(async move {
            Ok(match conn {
                Conn::Sqlite(c) => {
                    sqlx::query_scalar_with(&self.sql, sqlite_args(self.args)?)
                        .fetch_optional(&mut **c)
                        .await?
                }
                Conn::Postgres(c) => {
                    let sql = numbered(&self.sql);
                    sqlx::query_scalar_with(&sql, pg_args(self.args)?)
                        .fetch_optional(&mut **c)
                        .await?
                }
            })
        })
    }

    /// The first column of the first row; `NotFound("row")` when there is none.
    pub fn scalar<'c, T: Scalar>(self, conn: &'c mut Conn) -> Fut<'c, T> {
        Box::pin(async move {
            self.scalar_optional(conn)
                .await?
                .ok_or(StorageError::NotFound("row"))
        })
    }
}

/// Builds a statement piece by piece (filters, `IN` lists, multi-row inserts).
#[derive(Debug, Clone, Default)]
pub struct Builder {
    sql: String,
    args: Vec<Value>,
}

impl Builder {
    pub fn new(start: impl Into<String>) -> Builder {
        Builder {
            sql: start.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, sql: &str) -> &mut Builder {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder and binds its value.
    pub fn push_bind(&mut self, value: impl Bind) -> &mut Builder {
        self.sql.push('?');
        self.args.push(value.value());
        self
    }

    /// Appends `VALUES (?, ?, …), (…)`: one parenthesised row for each item.
    pub fn push_values<I, F>(&mut self, items: I, mut each: F) -> &mut Builder
    where
        I: IntoIterator,
        F: FnMut(Separated<'_>, I::Item),
    {
        self.sql.push_str("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            each(self.separated(", "), item);
            self.sql.push(')');
        }
        self
    }

    /// Appends items with `separator` between them.
    pub fn separated(&mut self, separator: &'static str) -> Separated<'_> {
        Separated {
            builder: self,
            separator,
            first: true,
        }
    }

    /// The statement, ready to run.
    pub fn build(self) -> Query {
        Query {
            sql: Cow::Owned(self.sql),
            args: self.args,
        }
    }
}

/// Items of a list built by [`Builder::separated`] or [`Builder::push_values`].
pub struct Separated<'b> {
    builder: &'b mut Builder,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    fn separate(&mut self) {
        if !self.first {
            self.builder.sql.push_str(self.separator);
        }
        self.first = false;
    }

    /// Appends a placeholder for `value`, after a separator unless it is the first item.
    pub fn push_bind(&mut self, value: impl Bind) -> &mut Self {
        self.separate();
        self.builder.push_bind(value);
        self
    }

    /// Appends SQL text as an item.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.separate();
        self.builder.push(sql);
        self
    }

    /// Appends SQL text without a separator.
    pub fn push_unseparated(&mut self, sql: &str) -> &mut Self {
        self.builder.push(sql);
        self
    }
}

/// Formats ids as a comma-separated list for an `IN (…)` clause: integers formatted here, never
/// user text.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Numbers the `?` placeholders (`$1`, `$2`, …) for PostgreSQL, leaving quoted text alone.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for ch in sql.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                out.push(ch);
            }
            (None, '?') => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            (None, c) => out.push(c),
        }
    }
    out
}

fn sqlite_args(values: Vec<Value>) -> Result<SqliteArguments<'static>> {
    let mut args = SqliteArguments::default();
    for value in values {
        let added = match value {
            Value::Int(v) => args.add(v),
            Value::Real(v) => args.add(v),
            Value::Text(v) | Value::Json(v) => args.add(v),
            Value::Bool(v) => args.add(v),
            Value::Bytes(v) => args.add(v),
            Value::Time(v) => args.add(v.map(crate::time::to_db)),
        };
        added.map_err(|err| StorageError::Refused(format!("cannot bind a value: {err}")))?;
    }
    Ok(args)
}

fn pg_args(values: Vec<Value>) -> Result<PgArguments> {
    let mut args = PgArguments::default();
    for value in values {
        let added = match value {
            Value::Int(v) => args.add(v),
            Value::Real(v) => args.add(v),
            Value::Text(v) => args.add(v),
            Value::Json(v) => args.add(v.map(JsonText)),
            Value::Bool(v) => args.add(v),
            Value::Bytes(v) => args.add(v),
            Value::Time(v) => args.add(v),
        };
        added.map_err(|err| StorageError::Refused(format!("cannot bind a value: {err}")))?;
    }
    Ok(args)
}

mod json_types {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueFormat, PgValueRef};
    use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Decode, Encode, Postgres, Sqlite, Type, TypeInfo};

    use super::JsonText;

    impl Type<Postgres> for JsonText {
        fn type_info() -> PgTypeInfo {
            PgTypeInfo::with_name("jsonb")
        }
        fn compatible(ty: &PgTypeInfo) -> bool {
            matches!(ty.name(), "JSONB" | "JSON" | "TEXT" | "VARCHAR")
        }
    }

    impl Encode<'_, Postgres> for JsonText {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            // jsonb's binary form: a version byte, then the text.
            buf.push(1);
            buf.extend_from_slice(self.0.as_bytes());
            Ok(IsNull::No)
        }
    }

    impl<'r> Decode<'r, Postgres> for JsonText {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let jsonb = value.format() == PgValueFormat::Binary
                && sqlx::ValueRef::type_info(&value).name() == "JSONB";
            let mut bytes = value.as_bytes()?;
            if jsonb {
                match bytes.split_first() {
                    Some((1, rest)) => bytes = rest,
                    _ => return Err("unsupported jsonb format version".into()),
                }
            }
            Ok(JsonText(std::str::from_utf8(bytes)?.to_owned()))
        }
    }

    impl Type<Sqlite> for JsonText {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }
        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <String as Type<Sqlite>>::compatible(ty)
        }
    }

    impl<'q> Encode<'q, Sqlite> for JsonText {
        fn encode_by_ref(
            &self,
            buf: &mut Vec<SqliteArgumentValue<'q>>,
        ) -> Result<IsNull, BoxDynError> {
            <String as Encode<'q, Sqlite>>::encode(self.0.clone(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for JsonText {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(JsonText(<String as Decode<'r, Sqlite>>::decode(value)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)"
        );
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
    }
}
