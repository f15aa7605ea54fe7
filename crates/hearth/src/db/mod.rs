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

pub(crate) mod fts5;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

#[cfg(feature = "postgres")]
use std::cell::RefCell;
use std::fmt;

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

/// A database connection (owned by the store's pools).
pub(crate) struct Conn {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    /// Boxed: a PostgreSQL session with its statement cache is large.
    #[cfg(feature = "postgres")]
    Postgres(Box<RefCell<postgres::PgConn>>),
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
    /// PostgreSQL said no.
    #[cfg(feature = "postgres")]
    Postgres(::postgres::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoRows => f.write_str("query returned no rows"),
            Error::Convert { column, message } => {
                write!(f, "column {column}: {message}")
            }
            Error::Sqlite(e) => e.fmt(f),
            #[cfg(feature = "postgres")]
            Error::Postgres(e) => match e.as_db_error() {
                // The driver's Display says only "db error".
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => e.fmt(f),
            },
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

/// How many ids one [`IdChunk`] holds.
pub(crate) const ID_CHUNK: usize = 32;

/// A list of ids for `IN (…)` as a fixed number of parameters: the
/// statement's text is the same whatever the ids (and however many, up to
/// [`ID_CHUNK`]), so it is prepared once and stays in the statement cache,
/// where literal lists made a new statement per call and pushed the hot
/// ones out. Longer lists go in several chunks ([`IdChunk::split`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdChunk([i64; ID_CHUNK]);

impl IdChunk {
    /// `ids` in chunks; unused places hold -1, which no row id is.
    pub(crate) fn split(ids: &[i64]) -> impl Iterator<Item = IdChunk> + '_ {
        ids.chunks(ID_CHUNK).map(|c| {
            let mut a = [-1; ID_CHUNK];
            a[..c.len()].copy_from_slice(c);
            IdChunk(a)
        })
    }

    /// `(?first,?first+1,…)`: the list's placeholders, its first one
    /// numbered `first`.
    pub(crate) fn placeholders(first: usize) -> String {
        let mut s = String::from("(");
        for i in 0..ID_CHUNK {
            if i > 0 {
                s.push(',');
            }
            s.push('?');
            s.push_str(&(first + i).to_string());
        }
        s.push(')');
        s
    }

    /// The ids as parameters, after `before` (the parameters numbered
    /// below the list's first).
    pub(crate) fn params<'a>(&'a self, before: &[&'a dyn ToSql]) -> Vec<&'a dyn ToSql> {
        let mut v: Vec<&dyn ToSql> = Vec::with_capacity(before.len() + ID_CHUNK);
        v.extend_from_slice(before);
        v.extend(self.0.iter().map(|id| id as &dyn ToSql));
        v
    }
}

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
    #[cfg(feature = "postgres")]
    Postgres(&'a ::postgres::Row),
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
            #[cfg(feature = "postgres")]
            RowInner::Postgres(r) => postgres::value(r, idx),
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
    #[cfg(feature = "postgres")]
    Postgres {
        conn: &'c RefCell<postgres::PgConn>,
        statement: ::postgres::Statement,
    },
}

/// The SQLite statement, or the PostgreSQL rows for the parameters.
enum Run<'s, 'c> {
    Sqlite(&'s mut rusqlite::Statement<'c>),
    #[cfg(feature = "postgres")]
    Postgres(Vec<::postgres::Row>),
}

impl<'c> Stmt<'c> {
    /// Runs a query: SQLite's statement to step through, or PostgreSQL's
    /// rows, fetched at once.
    fn run(&mut self, values: &[ValueRef<'_>]) -> Result<Run<'_, 'c>> {
        #[cfg(not(feature = "postgres"))]
        let _ = values;
        Ok(match &mut self.inner {
            StmtInner::Cached(s) => Run::Sqlite(s),
            StmtInner::Plain(s) => Run::Sqlite(s),
            #[cfg(feature = "postgres")]
            StmtInner::Postgres { conn, statement } => {
                Run::Postgres(postgres::query(&mut conn.borrow_mut(), statement, values)?)
            }
        })
    }

    /// Runs the statement; the number of rows changed.
    pub(crate) fn execute(&mut self, p: impl Params) -> Result<usize> {
        let values = p.values();
        match &mut self.inner {
            StmtInner::Cached(s) => Ok(s.execute(sqlite::bind(&values))?),
            StmtInner::Plain(s) => Ok(s.execute(sqlite::bind(&values))?),
            #[cfg(feature = "postgres")]
            StmtInner::Postgres { conn, statement } => {
                let n = postgres::execute(&mut conn.borrow_mut(), statement, &values)?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// The first row, mapped; [`Error::NoRows`] if there is none.
    pub(crate) fn query_row<T>(
        &mut self,
        p: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let values = p.values();
        match self.run(&values)? {
            Run::Sqlite(s) => {
                let mut rows = s.query(sqlite::bind(&values))?;
                match rows.next()? {
                    Some(r) => f(&Row {
                        inner: RowInner::Sqlite(r),
                    }),
                    None => Err(Error::NoRows),
                }
            }
            #[cfg(feature = "postgres")]
            Run::Postgres(rows) => match rows.first() {
                Some(r) => f(&Row {
                    inner: RowInner::Postgres(r),
                }),
                None => Err(Error::NoRows),
            },
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
        match self.run(&values)? {
            Run::Sqlite(s) => {
                let rows = s.query_map(sqlite::bind(&values), move |r| {
                    Ok(f(&Row {
                        inner: RowInner::Sqlite(r),
                    }))
                })?;
                Ok(Box::new(
                    rows.map(|r| r.map_err(Error::from).and_then(|x| x)),
                ))
            }
            #[cfg(feature = "postgres")]
            Run::Postgres(rows) => Ok(Box::new(rows.into_iter().map(move |r| {
                f(&Row {
                    inner: RowInner::Postgres(&r),
                })
            }))),
        }
    }

    /// The rows, one at a time (`while let Some(row) = rows.next()?`).
    ///
    /// Stopping early saves work only on SQLite: PostgreSQL computes and
    /// sends every row the statement selects. A loop that stops early
    /// needs the bound in its SQL too (`LIMIT`, a range on an index).
    pub(crate) fn query(&mut self, p: impl Params) -> Result<Rows<'_>> {
        let values = p.values();
        Ok(Rows {
            inner: match self.run(&values)? {
                Run::Sqlite(s) => RowsInner::Sqlite(s.query(sqlite::bind(&values))?),
                #[cfg(feature = "postgres")]
                Run::Postgres(rows) => RowsInner::Postgres(rows, 0),
            },
        })
    }

    /// Whether the statement returns at least one row.
    pub(crate) fn exists(&mut self, p: impl Params) -> Result<bool> {
        let values = p.values();
        match self.run(&values)? {
            Run::Sqlite(s) => Ok(s.exists(sqlite::bind(&values))?),
            #[cfg(feature = "postgres")]
            Run::Postgres(rows) => Ok(!rows.is_empty()),
        }
    }

    /// The result columns' names.
    pub(crate) fn column_names(&mut self) -> Vec<String> {
        match &mut self.inner {
            StmtInner::Cached(s) => s.column_names().map(str::to_string).collect(),
            StmtInner::Plain(s) => s.column_names().map(str::to_string).collect(),
            #[cfg(feature = "postgres")]
            StmtInner::Postgres { statement, .. } => statement
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }
    }
}

/// Rows being read.
pub(crate) struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    #[cfg(feature = "postgres")]
    Postgres(Vec<::postgres::Row>, usize),
}

impl Rows<'_> {
    /// The next row, if any.
    pub(crate) fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.inner {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|r| Row {
                inner: RowInner::Sqlite(r),
            })),
            #[cfg(feature = "postgres")]
            RowsInner::Postgres(rows, at) => {
                *at += 1;
                Ok(rows.get(*at - 1).map(|r| Row {
                    inner: RowInner::Postgres(r),
                }))
            }
        }
    }
}

impl Conn {
    /// Wraps an open SQLite connection.
    pub(crate) fn from_sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    /// Connects to PostgreSQL (`postgres://…` or `host=… user=…`).
    #[cfg(feature = "postgres")]
    pub(crate) fn connect_postgres(params: &str) -> Result<Conn> {
        Ok(Conn {
            inner: Inner::Postgres(Box::new(RefCell::new(postgres::PgConn::connect(params)?))),
        })
    }

    /// The SQLite connection (for the store's pragmas and migrations).
    ///
    /// # Panics
    /// On a PostgreSQL connection: the store calls this only on its
    /// SQLite pools.
    pub(crate) fn as_sqlite(&self) -> &rusqlite::Connection {
        match &self.inner {
            Inner::Sqlite(c) => c,
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => unreachable!("a SQLite call on a PostgreSQL connection"),
        }
    }

    /// Which dialect this connection speaks.
    pub(crate) fn dialect(&self) -> Dialect {
        match &self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The two-argument maximum: SQLite's scalar `max(a, b)`, PostgreSQL's
    /// `greatest(a, b)` (same call syntax; put it in with `format!`).
    pub(crate) fn greatest(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "max",
            #[cfg(feature = "postgres")]
            Dialect::Postgres => "greatest",
        }
    }

    /// A statement from the connection's cache.
    pub(crate) fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            inner: match &self.inner {
                Inner::Sqlite(c) => StmtInner::Cached(c.prepare_cached(sql)?),
                #[cfg(feature = "postgres")]
                Inner::Postgres(c) => StmtInner::Postgres {
                    statement: c.borrow_mut().statement(sql)?,
                    conn: c,
                },
            },
        })
    }

    /// A statement prepared for one use (dynamic SQL).
    pub(crate) fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            inner: match &self.inner {
                Inner::Sqlite(c) => StmtInner::Plain(c.prepare(sql)?),
                #[cfg(feature = "postgres")]
                Inner::Postgres(c) => StmtInner::Postgres {
                    statement: c.borrow_mut().statement_once(sql)?,
                    conn: c,
                },
            },
        })
    }

    /// Runs one statement (through the cache).
    pub(crate) fn execute(&self, sql: &str, p: impl Params) -> Result<usize> {
        self.prepare_cached(sql)?.execute(p)
    }

    /// Runs several statements without parameters.
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            #[cfg(feature = "postgres")]
            Inner::Postgres(c) => Ok(c.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Inserts one row with `sql` — an `INSERT` of at most one row into a
    /// table whose key `id` the database assigns (SQLite: an `INTEGER
    /// PRIMARY KEY`, the rowid), without `RETURNING` and without
    /// `ON CONFLICT … DO UPDATE` — and answers the new row's id;
    /// [`Error::NoRows`] when it inserted nothing (`ON CONFLICT DO
    /// NOTHING`, a `SELECT` that found no row).
    ///
    /// PostgreSQL runs the statement with `RETURNING id` (one round
    /// trip). SQLite runs it as written and answers the connection's last
    /// rowid: SQLite runs a `RETURNING` clause as a trigger that gathers
    /// the rows in a temporary b-tree and makes the statement keep a
    /// statement journal — ≈ 12,000 instructions and a page copy or two
    /// a statement, measured on a reply (`docs/performance.md`).
    pub(crate) fn insert_id(&self, sql: &str, p: impl Params) -> Result<i64> {
        debug_assert!(
            !sql.contains("RETURNING") && !sql.contains("DO UPDATE"),
            "insert_id takes a plain INSERT: {sql}"
        );
        match &self.inner {
            Inner::Sqlite(c) => match self.prepare_cached(sql)?.execute(p)? {
                0 => Err(Error::NoRows),
                _ => Ok(c.last_insert_rowid()),
            },
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => self
                .prepare_cached(&format!("{sql} RETURNING id"))?
                .query_row(p, |r| r.get(0)),
        }
    }

    /// The id of the row the last `INSERT` on this connection made (on
    /// PostgreSQL: the last value taken from a sequence in this session,
    /// which is the new row's id for tables whose id is an identity).
    pub(crate) fn last_insert_rowid(&self) -> Result<i64> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.last_insert_rowid()),
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => self.query_row("SELECT lastval()", params![], |r| r.get(0)),
        }
    }

    /// The first row of one statement (through the cache).
    #[cfg(feature = "postgres")]
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        p: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(p, f)
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

/// `n` numbered parameters from `?first` on, comma-separated (`?3, ?4,
/// ?5`): the places of an `IN (…)` list of a fixed shape, so that one
/// cached statement serves every call.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A connection to the server named by `HEARTH_TEST_PG` (`.ci/pg-start`)
/// for a test; without it `None` and a printed skip, but in CI (`CI` set)
/// a failure.
#[cfg(all(test, feature = "postgres"))]
pub(crate) fn test_postgres() -> Option<Conn> {
    let Ok(url) = std::env::var("HEARTH_TEST_PG") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "HEARTH_TEST_PG is not set (start a server with .ci/pg-start)"
        );
        eprintln!("SKIPPED: HEARTH_TEST_PG is not set (start one with .ci/pg-start)");
        return None;
    };
    Some(Conn::connect_postgres(&url).expect("connect to HEARTH_TEST_PG"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(3, 3), "?3, ?4, ?5");
        assert_eq!(placeholders(1, 0), "");
    }

    /// The same statements, the same answers, on every backend.
    fn round_trip(conn: &Conn) {
        conn.execute_batch(
            "CREATE TEMP TABLE t (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE PRECISION,
                                  data BYTEA, flag BIGINT)",
        )
        .expect("create");
        let insert = "INSERT INTO t (id, name, score, data, flag) VALUES (?1, ?2, ?3, ?4, ?5)";
        let n = conn
            .execute(insert, params![1i64, "ada", 2.5f64, vec![0u8, 255], true])
            .expect("insert");
        assert_eq!(n, 1);
        conn.execute(
            insert,
            params![2i64, None::<String>, None::<f64>, None::<Vec<u8>>, false],
        )
        .expect("insert nulls");
        conn.execute(insert, params![3i64, "bob", 1i64, b"x".to_vec(), 7u32])
            .expect("insert int as real");

        let (name, score, data, flag): (String, f64, Vec<u8>, bool) = conn
            .prepare_cached("SELECT name, score, data, flag FROM t WHERE id = ?1")
            .expect("prepare")
            .query_row(params![1i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .expect("row");
        assert_eq!(
            (name.as_str(), score, data, flag),
            ("ada", 2.5, vec![0, 255], true)
        );

        let names: Vec<Option<String>> = conn
            .prepare_cached("SELECT name FROM t ORDER BY id")
            .expect("prepare")
            .query_map(params![], |r| r.get(0))
            .expect("map")
            .collect::<Result<_>>()
            .expect("rows");
        assert_eq!(names, [Some("ada".into()), None, Some("bob".into())]);

        let missing = conn
            .prepare_cached("SELECT name FROM t WHERE id = ?1")
            .expect("prepare")
            .query_row(params![9i64], |r| r.get::<_, String>(0))
            .optional()
            .expect("optional");
        assert_eq!(missing, None);
        assert!(
            conn.prepare_cached("SELECT 1 FROM t WHERE name = ?1")
                .expect("prepare")
                .exists(params!["bob"])
                .expect("exists")
        );

        // A placeholder used twice, and an expression on it.
        let count: i64 = conn
            .prepare_cached("SELECT count(*) FROM t WHERE id = ?1 OR id = ?1 + 1")
            .expect("prepare")
            .query_row(params![1i64], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 2);

        let changed = conn
            .execute("UPDATE t SET flag = ?1 WHERE id > ?2", params![0i64, 1i64])
            .expect("update");
        assert_eq!(changed, 2);

        let mut stmt = conn
            .prepare("SELECT id, flag FROM t ORDER BY id")
            .expect("prepare");
        assert_eq!(stmt.column_names(), ["id", "flag"]);
        let mut rows = stmt.query(params![]).expect("query");
        let mut seen = Vec::new();
        while let Some(r) = rows.next().expect("next") {
            seen.push((
                r.get::<_, i64>(0).expect("id"),
                r.get_ref(1).expect("flag").into(),
            ));
        }
        assert_eq!(
            seen,
            [
                (1, Value::Integer(1)),
                (2, Value::Integer(0)),
                (3, Value::Integer(0))
            ]
        );

        // Id lists in fixed chunks: every id found once, at each boundary
        // of a chunk, with a parameter before the list; one statement text.
        conn.execute_batch("CREATE TEMP TABLE ids (id BIGINT PRIMARY KEY, tag BIGINT)")
            .expect("create");
        for id in 1..=2 * ID_CHUNK as i64 + 1 {
            conn.execute(
                "INSERT INTO ids (id, tag) VALUES (?1, ?2)",
                params![id, id % 2],
            )
            .expect("insert");
        }
        let sql = format!(
            "SELECT id FROM ids WHERE tag = ?1 AND id IN {}",
            IdChunk::placeholders(2)
        );
        for n in [0, 1, ID_CHUNK - 1, ID_CHUNK, ID_CHUNK + 1, 2 * ID_CHUNK + 1] {
            let wanted: Vec<i64> = (1..=n as i64).collect();
            let mut found = Vec::new();
            let mut stmt = conn.prepare_cached(&sql).expect("prepare");
            for chunk in IdChunk::split(&wanted) {
                for id in stmt
                    .query_map(chunk.params(&[&1i64]), |r| r.get::<_, i64>(0))
                    .expect("query")
                {
                    found.push(id.expect("id"));
                }
            }
            found.sort_unstable();
            let odd: Vec<i64> = wanted.iter().copied().filter(|id| id % 2 == 1).collect();
            assert_eq!(found, odd, "{n} ids");
        }

        // A type mismatch is a conversion error naming the column.
        let err = conn
            .prepare_cached("SELECT name FROM t WHERE id = 1")
            .expect("prepare")
            .query_row(params![], |r| r.get::<_, i64>(0))
            .expect_err("text is not an integer");
        assert!(matches!(err, Error::Convert { column: 0, .. }), "{err}");
    }

    #[test]
    fn sqlite_round_trip() {
        let conn = Conn::from_sqlite(rusqlite::Connection::open_in_memory().expect("open"));
        round_trip(&conn);
    }

    /// `insert_id` on a table `g (id, v UNIQUE)` whose ids the database
    /// assigns, with a table `log` an insert into `g` also writes to.
    fn insert_ids(conn: &Conn) {
        let insert = "INSERT INTO g (v) VALUES (?1) ON CONFLICT DO NOTHING";
        assert_eq!(conn.insert_id(insert, params!["a"]).expect("a"), 1);
        // Another table's insert in between does not change the answer.
        conn.execute("INSERT INTO log (v) VALUES (?1)", params!["x"])
            .expect("log");
        assert_eq!(conn.insert_id(insert, params!["b"]).expect("b"), 2);
        // Nothing inserted: no id, not the last one.
        let none = conn.insert_id(insert, params!["a"]);
        assert!(matches!(none, Err(Error::NoRows)), "{none:?}");
        let select = "INSERT INTO g (v) SELECT ?1 WHERE ?2 = 1";
        let none = conn.insert_id(select, params!["c", 0i64]);
        assert!(matches!(none, Err(Error::NoRows)), "{none:?}");
        let c = conn.insert_id(select, params!["c", 1i64]).expect("c");
        // (PostgreSQL's sequence moved on at the conflict: read it back.)
        let stored: i64 = conn
            .prepare_cached("SELECT id FROM g WHERE v = ?1")
            .expect("prepare")
            .query_row(params!["c"], |r| r.get(0))
            .expect("c's row");
        assert_eq!(c, stored);
        assert!(c > 2, "{c}");
    }

    #[test]
    fn sqlite_insert_id() {
        let conn = Conn::from_sqlite(rusqlite::Connection::open_in_memory().expect("open"));
        conn.execute_batch(
            "CREATE TABLE g (id INTEGER PRIMARY KEY, v TEXT UNIQUE);
             CREATE TABLE log (id INTEGER PRIMARY KEY, v TEXT);
             CREATE TRIGGER g_log AFTER INSERT ON g BEGIN
                 INSERT INTO log (v) VALUES ('trigger'); INSERT INTO log (v) VALUES ('again');
             END;",
        )
        .expect("create");
        insert_ids(&conn);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_round_trip() {
        let Some(conn) = test_postgres() else { return };
        assert_eq!(conn.dialect(), Dialect::Postgres);
        round_trip(&conn);
        conn.execute_batch(
            "CREATE TEMP TABLE s (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT)",
        )
        .expect("create");
        conn.execute("INSERT INTO s (v) VALUES (?1)", params!["a"])
            .expect("insert");
        conn.execute("INSERT INTO s (v) VALUES (?1)", params!["b"])
            .expect("insert");
        assert_eq!(conn.last_insert_rowid().expect("id"), 2);
        conn.execute_batch(
            "CREATE TEMP TABLE g (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT UNIQUE);
             CREATE TEMP TABLE log (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT)",
        )
        .expect("create");
        insert_ids(&conn);
    }
}
