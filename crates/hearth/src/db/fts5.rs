//! Two FTS5 auxiliary functions, so search ranks from the index instead of
//! re-reading and re-tokenizing every candidate's text:
//!
//! - `hearth_tf(<table>)`: for each phrase of the `MATCH` query, how often
//!   it occurs in column 0 (the title) and in column 1 (the body) of the
//!   current row, as a blob of little-endian `u32`s: phrase 0's title
//!   count, phrase 0's body count, phrase 1's title count, …
//! - `hearth_len(<table>)`: the current row's tokens, all columns together.
//!
//! rusqlite has no binding for FTS5's extension API, so this module speaks
//! SQLite's C interface directly: it is one of **the engine's two places
//! with `unsafe` code** (with `store::wal_writes`; the workspace denies it
//! everywhere but five modules, listed in `docs/architecture.md`'s
//! invariants). What it
//! relies on, each at its `unsafe` block:
//!
//! - the `fts5_api` pointer comes from SQLite itself (`SELECT fts5(?1)`
//!   with the pointer bound as type `"fts5_api_ptr"`, as FTS5's
//!   documentation prescribes) and lives as long as the connection;
//! - the callbacks only call the extension API they are handed, with the
//!   context they are handed, and never unwind (no panic path: every
//!   fallible step is checked and reported with `sqlite3_result_error_code`);
//! - results are copied by SQLite (`SQLITE_TRANSIENT`) before the buffer is
//!   dropped.

#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::ptr;

use rusqlite::ffi;

/// The columns `hearth_tf` counts: title and body, in schema order.
const COUNTED_COLUMNS: usize = 2;

/// Registers `hearth_tf` and `hearth_len` on `conn` (again is harmless: a
/// new registration replaces the old).
pub(crate) fn register(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    // SAFETY: the handle is used only while `conn` is borrowed, on this
    // thread, and is neither closed nor handed on.
    let db = unsafe { conn.handle() };
    let api = fts5_api(db)?;
    let functions: [(&std::ffi::CStr, ffi::fts5_extension_function); 2] = [
        (c"hearth_tf", Some(term_counts)),
        (c"hearth_len", Some(token_count)),
    ];
    for (name, function) in functions {
        // SAFETY: `api` is the connection's live `fts5_api` (checked
        // non-null, version ≥ 2 which has `xCreateFunction`); the name is a
        // NUL-terminated static; no user data, so nothing to destroy.
        let rc = unsafe {
            match (*api).xCreateFunction {
                Some(create) => create(api, name.as_ptr(), ptr::null_mut(), function, None),
                None => ffi::SQLITE_MISUSE,
            }
        };
        check(db, rc)?;
    }
    Ok(())
}

/// The connection's `fts5_api`, the documented way: `SELECT fts5(?1)`
/// with a pointer to fill bound as `"fts5_api_ptr"`.
fn fts5_api(db: *mut ffi::sqlite3) -> rusqlite::Result<*mut ffi::fts5_api> {
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: `db` is a live connection; the statement is finalized on
    // every path below; `api` outlives the statement's one step, which is
    // when FTS5 writes through the bound pointer (no destructor: it is a
    // local).
    let rc = unsafe {
        let rc = ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            rc
        } else {
            let mut rc = ffi::sqlite3_bind_pointer(
                stmt,
                1,
                (&raw mut api).cast::<c_void>(),
                c"fts5_api_ptr".as_ptr(),
                None,
            );
            if rc == ffi::SQLITE_OK {
                rc = match ffi::sqlite3_step(stmt) {
                    ffi::SQLITE_ROW | ffi::SQLITE_DONE => ffi::SQLITE_OK,
                    other => other,
                };
            }
            ffi::sqlite3_finalize(stmt);
            rc
        }
    };
    check(db, rc)?;
    // SAFETY: non-null, so SQLite's static `fts5_api` structure.
    if api.is_null() || unsafe { (*api).iVersion } < 2 {
        return Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ERROR),
            Some("this SQLite has no FTS5 (or an FTS5 older than version 2)".into()),
        ));
    }
    Ok(api)
}

fn check(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Result<()> {
    if rc == ffi::SQLITE_OK {
        return Ok(());
    }
    // SAFETY: `db` is live; `sqlite3_errmsg` returns a NUL-terminated
    // string owned by SQLite, copied here before any other call.
    let message = unsafe {
        let m = ffi::sqlite3_errmsg(db);
        (!m.is_null()).then(|| std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned())
    };
    Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message))
}

/// `hearth_tf(<table>)`: see the module's documentation.
unsafe extern "C" fn term_counts(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    _n: c_int,
    _values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 calls this with its own live extension API and the
    // current row's context, valid for the duration of the call.
    let api = unsafe { &*api };
    let (Some(phrase_count), Some(inst_count), Some(inst)) =
        (api.xPhraseCount, api.xInstCount, api.xInst)
    else {
        // SAFETY: `ctx` is the call's live result context.
        unsafe { ffi::sqlite3_result_error_code(ctx, ffi::SQLITE_MISUSE) };
        return;
    };
    // SAFETY: as above; each call passes only the handed context and
    // out-pointers to locals.
    let counted = unsafe {
        let phrases = usize::try_from(phrase_count(fts)).unwrap_or(0);
        let mut counts = vec![0u32; phrases * COUNTED_COLUMNS];
        let mut n: c_int = 0;
        let mut rc = inst_count(fts, &mut n);
        let mut i = 0;
        while rc == ffi::SQLITE_OK && i < n {
            let (mut phrase, mut column, mut offset) = (0, 0, 0);
            rc = inst(fts, i, &mut phrase, &mut column, &mut offset);
            if rc == ffi::SQLITE_OK
                && let (Ok(p), Ok(c)) = (usize::try_from(phrase), usize::try_from(column))
                && p < phrases
                && c < COUNTED_COLUMNS
            {
                counts[p * COUNTED_COLUMNS + c] += 1;
            }
            i += 1;
        }
        (rc == ffi::SQLITE_OK).then_some(counts).ok_or(rc)
    };
    match counted {
        Ok(counts) => {
            let bytes: Vec<u8> = counts.iter().flat_map(|c| c.to_le_bytes()).collect();
            let len = c_int::try_from(bytes.len()).unwrap_or(0);
            // SAFETY: SQLite copies the blob (`SQLITE_TRANSIENT`) before
            // returning, while `bytes` is alive.
            unsafe {
                ffi::sqlite3_result_blob(ctx, bytes.as_ptr().cast(), len, ffi::SQLITE_TRANSIENT())
            };
        }
        // SAFETY: `ctx` is the call's live result context.
        Err(rc) => unsafe { ffi::sqlite3_result_error_code(ctx, rc) },
    }
}

/// `hearth_len(<table>)`: see the module's documentation.
unsafe extern "C" fn token_count(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    _n: c_int,
    _values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: as in `term_counts`; column -1 asks for all columns.
    unsafe {
        let Some(column_size) = (*api).xColumnSize else {
            ffi::sqlite3_result_error_code(ctx, ffi::SQLITE_MISUSE);
            return;
        };
        let mut n: c_int = 0;
        match column_size(fts, -1, &mut n) {
            ffi::SQLITE_OK => ffi::sqlite3_result_int64(ctx, i64::from(n)),
            rc => ffi::sqlite3_result_error_code(ctx, rc),
        }
    }
}

/// Decodes a `hearth_tf` blob into (title, body) counts per phrase.
pub(crate) fn decode_counts(blob: &[u8]) -> impl Iterator<Item = (u32, u32)> + '_ {
    blob.chunks_exact(4 * COUNTED_COLUMNS).map(|pair| {
        let word = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&pair[4 * i..4 * i + 4]);
            u32::from_le_bytes(b)
        };
        (word(0), word(1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        register(&conn).expect("register");
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(title, body, extra UNINDEXED,
                 tokenize = 'porter unicode61 remove_diacritics 2');
             INSERT INTO t (rowid, title, body, extra) VALUES
               (1, 'Rotating keys', 'Rotate the key, then rotate keys again.', 'x'),
               (2, '', 'Nothing about it here, only a key.', 'y'),
               (3, 'Café', 'café cafe CAFÉ', 'z');",
        )
        .expect("table");
        conn
    }

    fn counts(conn: &rusqlite::Connection, query: &str) -> Vec<(i64, Vec<(u32, u32)>)> {
        conn.prepare("SELECT rowid, hearth_tf(t) FROM t WHERE t MATCH ?1 ORDER BY rowid")
            .expect("prepare")
            .query_map([query], |r| {
                let blob: Vec<u8> = r.get(1)?;
                Ok((r.get(0)?, decode_counts(&blob).collect()))
            })
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    /// Counts per phrase and column, stems and diacritics folded by the
    /// table's tokenizer, phrases in query order.
    #[test]
    fn term_counts_come_from_the_index() {
        let conn = conn();
        assert_eq!(
            counts(&conn, r#"{title body} : ("key" "rotate")"#),
            vec![(1, vec![(1, 2), (1, 2)])]
        );
        assert_eq!(
            counts(&conn, r#"{title body} : ("key" OR "rotate")"#),
            vec![(1, vec![(1, 2), (1, 2)]), (2, vec![(0, 1), (0, 0)])]
        );
        assert_eq!(
            counts(&conn, r#"{title body} : ("cafe")"#),
            vec![(3, vec![(1, 3)])]
        );
    }

    /// `hearth_len` counts every column's tokens, also without a `MATCH`.
    #[test]
    fn lengths_count_all_tokens() {
        let conn = conn();
        let lens: Vec<(i64, i64)> = conn
            .prepare("SELECT rowid, hearth_len(t) FROM t ORDER BY rowid")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(lens, vec![(1, 9), (2, 7), (3, 4)]);
    }

    /// A connection without the functions cannot prepare them; registering
    /// twice is fine.
    #[test]
    fn registration_is_per_connection_and_repeatable() {
        let bare = rusqlite::Connection::open_in_memory().expect("open");
        bare.execute_batch("CREATE VIRTUAL TABLE t USING fts5(a)")
            .expect("table");
        assert!(bare.prepare("SELECT hearth_len(t) FROM t").is_err());
        register(&bare).expect("register");
        register(&bare).expect("again");
        assert!(bare.prepare("SELECT hearth_len(t) FROM t").is_ok());
    }
}
