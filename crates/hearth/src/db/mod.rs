//! The SQL surface every module writes its queries against, whatever the
//! backend: [`Conn`] (prepare, execute, query), [`Stmt`], [`Row`], values
//! in ([`ToSql`], [`params!`](crate::params)) and out ([`FromSql`]), and
//! [`Error`].
//!
//! Its shape follows rusqlite's on purpose — `prepare_cached`, `query_row`,
//! `query_map`, `optional()` — so a module's SQL reads the same as before;
//! what it hides is which engine runs the statement. Each module keeps its
//! own SQL; the few statements whose text differs per backend pick it with
//! [`Conn::dialect`].
//!
//! Nothing in here is public API: no backend type reaches an embedder.

mod sqlite;

use std::fmt;

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
}

/// A database connection (owned by the store's pools).
pub(crate) struct Conn {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("dialect", &self.dialect())
            .finish()
    }
}

/// Result of a storage call.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong below the engine's own errors.
#[derive(Debug)]
pub(crate) enum Error {
    /// `query_row` found no row.
    NoRows,
    /// A column's value could not become the requested type.
    Convert {
        /// The column index.
        column: usize,
        /// Why.
        message: String,
    },
    /// SQLite said no.
    Sqlite(rusqlite::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoRows => f.write_str("query returned no rows"),
            Error::Convert { column, message } => {
                write!(f, "column {column}: {message}")
            }
            Error::Sqlite(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A conversion failure of column `column`.
    pub(crate) fn convert(column: usize, message: impl fmt::Display) -> Error {
        Error::Convert {
            column,
            message: message.to_string(),
        }
    }
}

/// A value bound to a statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// An owned value (dynamic argument lists, exports).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// Borrows the value.
    pub(crate) fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(t.to_string()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

/// Something that can be bound as a statement parameter.
pub(crate) trait ToSql {
    /// The value to bind.
    fn to_sql(&self) -> ValueRef<'_>;
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> ValueRef<'_> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> ValueRef<'_> {
        match self {
            Some(v) => v.to_sql(),
            None => ValueRef::Null,
        }
    }
}

macro_rules! int_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> ValueRef<'_> {
                ValueRef::Integer(*self as i64)
            }
        }
    )*};
}
int_to_sql!(i64, i32, u32, u16, u8);

/// Sizes and counts: stored as `i64`, saturating (no count reaches 2^63).
impl ToSql for usize {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToSql for u64 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToSql for bool {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::from(*self))
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl ToSql for str {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for String {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> ValueRef<'_> {
        self.as_ref()
    }
}

impl ToSql for ValueRef<'_> {
    fn to_sql(&self) -> ValueRef<'_> {
        *self
    }
}

/// A statement's parameter list: `params![a, b]`, an array of one type,
/// or a slice of `&dyn ToSql`.
pub(crate) trait Params {
    /// The values, in order.
    fn values(&self) -> Vec<ValueRef<'_>>;
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

impl<T: ToSql> Params for &[T] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

impl<T: ToSql> Params for Vec<T> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(ToSql::to_sql).collect()
    }
}

/// A parameter list: `params![a, b, c]` (each anything [`ToSql`]).
#[macro_export]
#[doc(hidden)]
macro_rules! params {
    () => {{
        let p: [&dyn $crate::db::ToSql; 0] = [];
        p
    }};
    ($($p:expr),+ $(,)?) => {
        [$(&$p as &dyn $crate::db::ToSql),+]
    };
}
pub(crate) use crate::params;

/// Something a column can be read as.
pub(crate) trait FromSql: Sized {
    /// Converts the column's value; the error says why not.
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String>;
}

impl FromSql for i64 {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

macro_rules! int_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
                let i = i64::from_sql(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
int_from_sql!(i32, u32, u64, usize, u16, u8);

impl FromSql for bool {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        Ok(i64::from_sql(v)? != 0)
    }
}

impl FromSql for f64 {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromSql for String {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Text(t) => Ok(t.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            ValueRef::Text(t) => Ok(t.as_bytes().to_vec()),
            other => Err(format!("expected a blob, found {other:?}")),
        }
    }
}

impl FromSql for Value {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        Ok(v.into())
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: ValueRef<'_>) -> std::result::Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

/// A column index.
pub(crate) trait RowIndex: Copy {
    /// The zero-based index.
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One result row.
pub(crate) struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
}

impl Row<'_> {
    /// Column `idx` as a `T`.
    pub(crate) fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let i = idx.index();
        T::from_sql(self.get_ref(i)?).map_err(|m| Error::convert(i, m))
    }

    /// Column `idx` as it is stored.
    pub(crate) fn get_ref(&self, idx: usize) -> Result<ValueRef<'_>> {
        match &self.inner {
            RowInner::Sqlite(r) => sqlite::value(r, idx),
        }
    }
}

/// A prepared statement.
pub(crate) struct Stmt<'c> {
    inner: StmtInner<'c>,
}

enum StmtInner<'c> {
    Cached(rusqlite::CachedStatement<'c>),
    Plain(rusqlite::Statement<'c>),
}

impl<'c> Stmt<'c> {
    fn sqlite(&mut self) -> &mut rusqlite::Statement<'c> {
        match &mut self.inner {
            StmtInner::Cached(s) => s,
            StmtInner::Plain(s) => s,
        }
    }

    /// Runs the statement; the number of rows changed.
    pub(crate) fn execute(&mut self, p: impl Params) -> Result<usize> {
        let values = p.values();
        Ok(self.sqlite().execute(sqlite::bind(&values))?)
    }

    /// The first row, mapped; [`Error::NoRows`] if there is none.
    pub(crate) fn query_row<T>(
        &mut self,
        p: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let values = p.values();
        let mut rows = self.sqlite().query(sqlite::bind(&values))?;
        match rows.next()? {
            Some(r) => f(&Row {
                inner: RowInner::Sqlite(r),
            }),
            None => Err(Error::NoRows),
        }
    }

    /// Every row, mapped, as an iterator (collect it into a
    /// `Result<Vec<_>>`).
    pub(crate) fn query_map<'s, T, F>(
        &'s mut self,
        p: impl Params,
        mut f: F,
    ) -> Result<Box<dyn Iterator<Item = Result<T>> + 's>>
    where
        F: FnMut(&Row<'_>) -> Result<T> + 's,
        T: 's,
    {
        let values = p.values();
        let rows = self.sqlite().query_map(sqlite::bind(&values), move |r| {
            Ok(f(&Row {
                inner: RowInner::Sqlite(r),
            }))
        })?;
        Ok(Box::new(
            rows.map(|r| r.map_err(Error::from).and_then(|x| x)),
        ))
    }

    /// The rows, one at a time (`while let Some(row) = rows.next()?`).
    pub(crate) fn query(&mut self, p: impl Params) -> Result<Rows<'_>> {
        let values = p.values();
        Ok(Rows {
            inner: self.sqlite().query(sqlite::bind(&values))?,
        })
    }

    /// Whether the statement returns at least one row.
    pub(crate) fn exists(&mut self, p: impl Params) -> Result<bool> {
        let values = p.values();
        Ok(self.sqlite().exists(sqlite::bind(&values))?)
    }

    /// The result columns' names.
    pub(crate) fn column_names(&mut self) -> Vec<String> {
        self.sqlite().column_names().map(str::to_string).collect()
    }
}

/// Rows being read.
pub(crate) struct Rows<'s> {
    inner: rusqlite::Rows<'s>,
}

impl Rows<'_> {
    /// The next row, if any.
    pub(crate) fn next(&mut self) -> Result<Option<Row<'_>>> {
        Ok(self.inner.next()?.map(|r| Row {
            inner: RowInner::Sqlite(r),
        }))
    }
}

impl Conn {
    /// Wraps an open SQLite connection.
    pub(crate) fn from_sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    /// The SQLite connection (for the store's pragmas and migrations).
    pub(crate) fn as_sqlite(&self) -> &rusqlite::Connection {
        match &self.inner {
            Inner::Sqlite(c) => c,
        }
    }

    /// Which dialect this connection speaks.
    pub(crate) fn dialect(&self) -> Dialect {
        match &self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// A statement from the connection's cache.
    pub(crate) fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            inner: StmtInner::Cached(self.as_sqlite().prepare_cached(sql)?),
        })
    }

    /// A statement prepared for one use (dynamic SQL).
    pub(crate) fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            inner: StmtInner::Plain(self.as_sqlite().prepare(sql)?),
        })
    }

    /// Runs one statement (through the cache).
    pub(crate) fn execute(&self, sql: &str, p: impl Params) -> Result<usize> {
        self.prepare_cached(sql)?.execute(p)
    }

    /// Runs several statements without parameters.
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(self.as_sqlite().execute_batch(sql)?)
    }

    /// The id of the row the last `INSERT` on this connection made.
    pub(crate) fn last_insert_rowid(&self) -> i64 {
        self.as_sqlite().last_insert_rowid()
    }
}

/// `Ok(None)` for "no row", as `.optional()`.
pub(crate) trait OptionalExtension<T> {
    /// `Ok(None)` for [`Error::NoRows`].
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
