//! Copying a whole database to another one, on either backend: how a
//! community moves from its SQLite file to PostgreSQL (and back).
//!
//! Unlike a community export, which leaves out what must never leave the
//! site (password hashes, sessions, API keys), a copy is the database
//! itself: every table, every row, the same ids. It reads one snapshot of
//! the source and writes the target in one transaction, so a failure
//! leaves the target as empty as it was.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::{self, Conn, Dialect, Value};
use crate::error::{Error, Result};
use crate::forum::Forum;

/// What [`Forum::copy_to`] copied: rows per table, counted again on both
/// sides afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// (table, rows), in the order the tables were written.
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    /// Rows copied, all tables together.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// The full-text tables: SQLite keeps them as FTS5 tables (whose shadow
/// tables and `search_index_scope` are not copied: the index and its scope
/// are rebuilt from the rows), PostgreSQL
/// as tables with a generated `tsv` column.
const TEXT_INDEXES: &[&str] = &["search_index", "answer_index"];

impl Forum {
    /// Copies every table of this database into `target`, which must be
    /// empty (a new SQLite file, or a new PostgreSQL database): the way to
    /// move a site from SQLite to PostgreSQL. Stop the servers writing to
    /// this database first: rows written during the copy are not copied.
    ///
    /// `progress(table, done, total)` is called as rows go (`total` counts
    /// every table). Afterwards both sides are counted again and must
    /// agree; open a new `Forum` on the target to serve it (this handle's
    /// caches know nothing of the copied rows).
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// let old = Forum::open(dir.path().join("old.db"))?;
    /// old.create_user(NewUser::new("ada"))?;
    /// let new = Forum::open(dir.path().join("new.db"))?; // or postgres://…
    /// let report = old.copy_to(&new, &mut |_, _, _| {})?;
    /// assert!(report.rows() >= 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn copy_to(
        &self,
        target: &Forum,
        progress: &mut (dyn FnMut(&str, u64, u64) + Send),
    ) -> Result<CopyReport> {
        crate::store::off_async(|| self.copy_here(target, progress))
    }

    fn copy_here(
        &self,
        target: &Forum,
        progress: &mut (dyn FnMut(&str, u64, u64) + Send),
    ) -> Result<CopyReport> {
        // The target indexes what it is given: nothing may wait here.
        self.catch_up_search()?;
        let report = self.store.read(|src| {
            target.store.write_inside(|dst| {
                let tables = tables_in_order(src, dst)?;
                for table in ["users", "communities"] {
                    if count(dst, table)? > 0 {
                        return Err(Error::conflict(format!(
                            "the target database is not empty (it has {table}); copy into a new one"
                        )));
                    }
                }
                if dst.dialect() == Dialect::Sqlite {
                    dst.execute_batch("PRAGMA defer_foreign_keys = ON")?;
                }
                let mut counts = Vec::with_capacity(tables.len());
                for t in &tables {
                    counts.push((t.clone(), count(src, t)?));
                }
                let total: u64 = counts.iter().map(|(_, n)| n).sum();
                let mut done = 0;
                progress("", 0, total);
                for (table, _) in &counts {
                    copy_table(src, dst, table, &mut |n| {
                        done += n;
                        progress(table, done, total);
                    })?;
                    // Leave nothing behind: the target's copy of this table
                    // and the source's snapshot hold the same rows.
                    let (want, got) = (count(src, table)?, count(dst, table)?);
                    if want != got {
                        return Err(Error::Storage(format!(
                            "copying {table}: {want} rows read, {got} written"
                        )));
                    }
                }
                restart_identities(dst, &tables)?;
                // SQLite's search scope is derived from the text index, not
                // copied (it is one of `search_index`'s own tables).
                crate::search::rebuild_scope(dst)?;
                Ok(CopyReport { tables: counts })
            })
        })?;
        // Counted again from outside the transaction: the copy is there.
        target.store.read(|dst| {
            for (table, rows) in &report.tables {
                let now = count(dst, table)?;
                if now != *rows {
                    return Err(Error::Storage(format!(
                        "after the copy {table} has {now} rows, not {rows}"
                    )));
                }
            }
            Ok(())
        })?;
        Ok(report)
    }
}

fn count(conn: &Conn, table: &str) -> Result<u64> {
    let n: i64 = conn
        .prepare(&format!("SELECT count(*) FROM {table}"))?
        .query_row(db::params![], |r| r.get(0))?;
    Ok(n as u64)
}

/// The engine's tables (not the backend's own bookkeeping), the same on
/// both sides, ordered so that a table comes after the tables it
/// references in the target.
fn tables_in_order(src: &Conn, dst: &Conn) -> Result<Vec<String>> {
    let (have, want) = (table_names(src)?, table_names(dst)?);
    if have != want {
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            a.difference(b).cloned().collect::<Vec<_>>().join(", ")
        };
        return Err(Error::Storage(format!(
            "the two schemas differ (only in the source: [{}]; only in the target: [{}]); \
             open both with the same Hearth version",
            only(&have, &want),
            only(&want, &have)
        )));
    }
    let mut refs: BTreeMap<String, BTreeSet<String>> =
        have.iter().map(|t| (t.clone(), BTreeSet::new())).collect();
    for (table, target) in references(dst)? {
        if table != target && have.contains(&target) {
            refs.entry(table).or_default().insert(target);
        }
    }
    // Kahn's algorithm, alphabetical among equals.
    let mut order = Vec::with_capacity(refs.len());
    while !refs.is_empty() {
        let ready: Vec<String> = refs
            .iter()
            .filter(|(_, r)| r.is_empty())
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            return Err(Error::Storage(format!(
                "the tables {:?} reference each other in a cycle",
                refs.keys().collect::<Vec<_>>()
            )));
        }
        for t in ready {
            refs.remove(&t);
            for r in refs.values_mut() {
                r.remove(&t);
            }
            order.push(t);
        }
    }
    Ok(order)
}

fn table_names(conn: &Conn) -> Result<BTreeSet<String>> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        }
        #[cfg(feature = "postgres")]
        Dialect::Postgres => {
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
               AND table_name <> 'hearth_schema'"
        }
    };
    let names: Vec<String> = conn
        .prepare(sql)?
        .query_map(db::params![], |r| r.get(0))?
        .collect::<db::Result<_>>()?;
    // FTS5's shadow tables (`search_index_data`, …) are SQLite's business.
    Ok(names
        .into_iter()
        .filter(|n| !TEXT_INDEXES.iter().any(|t| n.starts_with(&format!("{t}_"))))
        .collect())
}

/// (table, table it references) for every foreign key.
fn references(conn: &Conn) -> Result<Vec<(String, String)>> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT m.name, f.\"table\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f
             WHERE m.type = 'table'"
        }
        #[cfg(feature = "postgres")]
        Dialect::Postgres => {
            "SELECT t.relname::text, r.relname::text FROM pg_constraint c
               JOIN pg_class t ON t.oid = c.conrelid
               JOIN pg_class r ON r.oid = c.confrelid
             WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace"
        }
    };
    Ok(conn
        .prepare(sql)?
        .query_map(db::params![], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<db::Result<_>>()?)
}

/// The columns to write: the target's, without generated ones (the
/// PostgreSQL text index's `tsv`), with the text indexes' `rowid` (which
/// SQLite's FTS5 keeps out of `*`).
fn columns(dst: &Conn, table: &str) -> Result<Vec<String>> {
    let mut cols: Vec<String> = dst
        .prepare(&format!("SELECT * FROM {table} LIMIT 0"))?
        .column_names()
        .into_iter()
        .filter(|c| c != "tsv")
        .collect();
    if TEXT_INDEXES.contains(&table) && !cols.iter().any(|c| c == "rowid") {
        cols.insert(0, "rowid".into());
    }
    Ok(cols)
}

fn copy_table(src: &Conn, dst: &Conn, table: &str, copied: &mut dyn FnMut(u64)) -> Result<()> {
    let cols = columns(dst, table)?.join(", ");
    let n = cols.split(", ").count();
    let placeholders = (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut insert = dst.prepare(&format!(
        "INSERT INTO {table} ({cols}) VALUES ({placeholders})"
    ))?;
    // `search_index`'s rows are post ids on PostgreSQL and post ids negated
    // on SQLite (`search::index_row`): across dialects they flip, and go in
    // the target's ascending order (FTS5 starts a segment whenever a row
    // comes below the one before it).
    let read_sql = if table == "search_index" && src.dialect() != dst.dialect() {
        let flipped = columns(dst, table)?
            .iter()
            .map(|c| {
                if c == "rowid" {
                    "-rowid".to_string()
                } else {
                    c.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("SELECT {flipped} FROM {table} ORDER BY rowid DESC")
    } else {
        format!("SELECT {cols} FROM {table}")
    };
    let mut read = src.prepare(&read_sql)?;
    let mut rows = read.query(db::params![])?;
    let mut batch = 0;
    let mut values: Vec<Value> = Vec::with_capacity(n);
    while let Some(row) = rows.next()? {
        values.clear();
        for i in 0..n {
            values.push(row.get_ref(i)?.into());
        }
        insert
            .execute(values.as_slice())
            .map_err(|e| Error::Storage(format!("copying a row of {table}: {e}")))?;
        batch += 1;
        if batch == 1000 {
            copied(batch);
            batch = 0;
        }
    }
    copied(batch);
    Ok(())
}

/// PostgreSQL's identity columns hand out ids after the copied ones, and
/// its planner learns what the tables now hold.
fn restart_identities(dst: &Conn, tables: &[String]) -> Result<()> {
    match dst.dialect() {
        Dialect::Sqlite => {
            let _ = tables;
            Ok(())
        }
        #[cfg(feature = "postgres")]
        Dialect::Postgres => {
            let identities: Vec<(String, String)> = dst
                .prepare(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND is_identity = 'YES'",
                )?
                .query_map(db::params![], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<db::Result<_>>()?;
            for (table, column) in identities.iter().filter(|(t, _)| tables.contains(t)) {
                dst.prepare(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                   coalesce(max({column}), 0) + 1, false) FROM {table}"
                ))?
                .query_row(db::params![], |_| Ok(()))?;
            }
            // Fresh statistics: without them the planner guesses from an
            // empty database (measured: latest topics 25 ms instead of
            // 0.7 ms on the 100,000-post fixture until autovacuum came by).
            dst.execute_batch("ANALYZE")?;
            Ok(())
        }
    }
}
