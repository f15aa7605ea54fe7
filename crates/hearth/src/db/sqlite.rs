//! The SQLite side of the SQL surface: binding values and reading columns
//! through rusqlite.

use rusqlite::types::{ToSqlOutput, ValueRef as SqliteRef};

use super::{Error, Result, ValueRef};

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NoRows,
            e => Error::Sqlite(e),
        }
    }
}

/// One bound value.
struct Bind<'a>(ValueRef<'a>);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            ValueRef::Null => SqliteRef::Null,
            ValueRef::Integer(i) => SqliteRef::Integer(i),
            ValueRef::Real(f) => SqliteRef::Real(f),
            ValueRef::Text(t) => SqliteRef::Text(t.as_bytes()),
            ValueRef::Blob(b) => SqliteRef::Blob(b),
        }))
    }
}

/// Values as rusqlite parameters.
pub(super) fn bind<'a>(values: &'a [ValueRef<'a>]) -> impl rusqlite::Params + 'a {
    rusqlite::params_from_iter(values.iter().map(|v| Bind(*v)))
}

/// Column `idx` of a row.
pub(super) fn value<'a>(r: &'a rusqlite::Row<'_>, idx: usize) -> Result<ValueRef<'a>> {
    Ok(match r.get_ref(idx)? {
        SqliteRef::Null => ValueRef::Null,
        SqliteRef::Integer(i) => ValueRef::Integer(i),
        SqliteRef::Real(f) => ValueRef::Real(f),
        SqliteRef::Text(t) => {
            ValueRef::Text(std::str::from_utf8(t).map_err(|e| Error::convert(idx, e))?)
        }
        SqliteRef::Blob(b) => ValueRef::Blob(b),
    })
}
