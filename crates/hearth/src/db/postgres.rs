//! The PostgreSQL side of the SQL surface: `?N` placeholders rewritten to
//! `$N`, statements cached per connection, values bound by the type the
//! server inferred, columns read by their type.

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql as PgToSql, Type, to_sql_checked};

use super::{Error, Result, ValueRef};

/// One PostgreSQL session with its statement cache.
pub(super) struct PgConn {
    pub(super) client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl PgConn {
    pub(super) fn connect(params: &str) -> Result<PgConn> {
        let client = postgres::Client::connect(params, postgres::NoTls)?;
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }

    /// The statement for `sql` (written with `?N` placeholders), prepared
    /// once per connection.
    pub(super) fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.client.prepare(&placeholders(sql))?;
        self.statements.insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// A statement prepared for one use.
    pub(super) fn statement_once(&mut self, sql: &str) -> Result<postgres::Statement> {
        Ok(self.client.prepare(&placeholders(sql))?)
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Postgres(e)
    }
}

/// Rewrites SQLite's `?N` and `?` placeholders to PostgreSQL's `$N`,
/// leaving string literals, quoted identifiers and comments alone.
pub(super) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// One bound value, converted to the type the server inferred for its
/// placeholder (SQL written for SQLite binds integers where PostgreSQL
/// may infer `int4`, `bool` or `text`).
#[derive(Debug)]
struct Bind<'a>(ValueRef<'a>);

type BoxError = Box<dyn StdError + Sync + Send>;

impl PgToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    i.to_string().to_sql(ty, out)
                }
                _ => Err(format!("cannot bind an integer as {ty}").into()),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => f.to_string().to_sql(ty, out),
                _ => Err(format!("cannot bind a number as {ty}").into()),
            },
            ValueRef::Text(t) => t.to_sql(ty, out),
            ValueRef::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Runs a query with `values`; its rows.
pub(super) fn query(
    conn: &mut PgConn,
    statement: &postgres::Statement,
    values: &[ValueRef<'_>],
) -> Result<Vec<postgres::Row>> {
    let binds: Vec<Bind<'_>> = values.iter().map(|v| Bind(*v)).collect();
    Ok(conn.client.query(statement, &params(&binds))?)
}

/// Runs a statement with `values`; the number of rows changed.
pub(super) fn execute(
    conn: &mut PgConn,
    statement: &postgres::Statement,
    values: &[ValueRef<'_>],
) -> Result<u64> {
    let binds: Vec<Bind<'_>> = values.iter().map(|v| Bind(*v)).collect();
    Ok(conn.client.execute(statement, &params(&binds))?)
}

/// The values as the driver's parameter list.
fn params<'a>(values: &'a [Bind<'a>]) -> Vec<&'a (dyn PgToSql + Sync)> {
    values.iter().map(|b| b as &(dyn PgToSql + Sync)).collect()
}

/// Column `idx` of a row, by its type.
pub(super) fn value(r: &postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    let ty = r
        .columns()
        .get(idx)
        .ok_or_else(|| Error::convert(idx, "no such column"))?
        .type_()
        .clone();
    let get = |e: postgres::Error| Error::convert(idx, e);
    Ok(match ty {
        Type::INT8 => opt(
            r.try_get::<_, Option<i64>>(idx).map_err(get)?,
            ValueRef::Integer,
        ),
        Type::INT4 => opt(r.try_get::<_, Option<i32>>(idx).map_err(get)?, |i| {
            ValueRef::Integer(i.into())
        }),
        Type::INT2 => opt(r.try_get::<_, Option<i16>>(idx).map_err(get)?, |i| {
            ValueRef::Integer(i.into())
        }),
        Type::BOOL => opt(r.try_get::<_, Option<bool>>(idx).map_err(get)?, |b| {
            ValueRef::Integer(b.into())
        }),
        Type::FLOAT8 => opt(
            r.try_get::<_, Option<f64>>(idx).map_err(get)?,
            ValueRef::Real,
        ),
        Type::FLOAT4 => opt(r.try_get::<_, Option<f32>>(idx).map_err(get)?, |f| {
            ValueRef::Real(f.into())
        }),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => opt(
            r.try_get::<_, Option<&str>>(idx).map_err(get)?,
            ValueRef::Text,
        ),
        Type::BYTEA => opt(
            r.try_get::<_, Option<&[u8]>>(idx).map_err(get)?,
            ValueRef::Blob,
        ),
        other => {
            return Err(Error::convert(
                idx,
                format!("columns of type {other} are not read; cast it in the query"),
            ));
        }
    })
}

fn opt<'a, T>(v: Option<T>, f: impl FnOnce(T) -> ValueRef<'a>) -> ValueRef<'a> {
    v.map_or(ValueRef::Null, f)
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_rewritten_outside_literals() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE x = ?1 AND y = ?12 OR z = ?1"),
            "SELECT a FROM t WHERE x = $1 AND y = $12 OR z = $1"
        );
        assert_eq!(placeholders("VALUES (?, ?, ?)"), "VALUES ($1, $2, $3)");
        assert_eq!(
            placeholders("SELECT '?1', \"a?\" -- what?\nFROM t WHERE b = ?2"),
            "SELECT '?1', \"a?\" -- what?\nFROM t WHERE b = $2"
        );
    }
}
