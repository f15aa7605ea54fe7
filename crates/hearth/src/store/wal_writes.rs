//! The writer's VFS: a commit's WAL frames reach the file in one write.
//!
//! SQLite writes a WAL frame as two `pwrite`s — its 24-byte header, then
//! the page — so a reply's commit of ≈ 28 pages was ≈ 56 system calls.
//! This VFS wraps the platform's default one (`unix` on Linux) for the
//! writer connection only: frames appended to the end of the log are
//! gathered in memory and written with one call when the transaction's
//! **commit frame** (the frame whose header names the database size) is
//! complete — inside that same `xWrite`, so a failure is the commit's
//! error, as it would have been without the gathering.
//!
//! Why this is safe, in SQLite's own order of events (`walFrames`): a
//! transaction's frames are written, the commit frame last; only then is
//! the WAL index's header updated, which is what makes the frames visible
//! to any other connection. The gathered frames are on disk before the
//! commit frame's `xWrite` returns, so before that header. Everything else
//! is written straight through, after whatever is gathered: a frame
//! rewritten in place (a page spilled twice in one transaction), the
//! checksums rewritten after that, the log's own header when it starts
//! over, the padding and the sync of `synchronous=FULL`. Any other call on
//! the log — a read (the writer reading back a spilled page, or
//! checkpointing), a sync, a size, a truncation, a file control, closing —
//! first writes what is gathered. And as a last guard, the database file's
//! `xShmBarrier` (called between the two copies of the index header that
//! publish a commit) writes out anything still gathered; it never has any
//! (the tests count it).
//!
//! Readers, the checkpointer and other processes use the default VFS: they
//! never write the log.
//!
//! This module speaks SQLite's C interface (rusqlite has no VFS binding):
//! it is one of the engine's places with `unsafe` code (listed in
//! `docs/architecture.md`'s invariants). What it relies on, at each block:
//!
//! - a file handle SQLite passes in is the allocation of `szOsFile` bytes
//!   it made for this VFS, laid out as [`File`] followed by the default
//!   VFS's own handle (`real`), and is used by one thread at a time (the
//!   connection's);
//! - `File`'s Rust fields are written in `x_open` before SQLite sees the
//!   handle, and dropped in `x_close`, which SQLite calls exactly once for
//!   every successful open;
//! - the callbacks never unwind: nothing in them panics (no indexing, no
//!   `unwrap`), allocation failure aborts as everywhere in Rust.

#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The VFS's registered name.
const NAME: &CStr = c"hearth-wal";

/// A WAL frame's header.
const FRAME_HEADER: usize = 24;
/// The WAL file's own header; frames start after it.
const WAL_HEADER: i64 = 32;
/// The most one write hands the default VFS: the `unix` VFS writes at
/// most 2¹⁷ − 1 bytes a call (`seekAndWriteFd` masks the length), so a
/// larger gathering is written in parts. A reply's commit (≈ 28 frames of
/// 4,120 bytes) fits in one.
const WRITE_LIMIT: usize = (1 << 17) - 1;
/// Gathered bytes are written out before a frame that would take them
/// past this (a transaction of thousands of pages is not held whole).
const GATHER_LIMIT: usize = 1 << 20;

/// The name of the VFS to open the writer with: registered on first use.
/// `None` when SQLite has no default VFS to wrap (then the writer opens
/// with the default, writing frame by frame).
pub(crate) fn name() -> Option<&'static CStr> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    REGISTERED.get_or_init(register).then_some(NAME)
}

fn register() -> bool {
    // SAFETY: `sqlite3_vfs_find(NULL)` returns the default VFS, which
    // SQLite keeps for the life of the process (we never unregister it).
    let base = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
    if base.is_null() {
        return false;
    }
    // SAFETY: `base` is a valid, registered VFS (checked non-null above).
    let base_ref = unsafe { &*base };
    if base_ref.iVersion < 2 {
        // This VFS forwards `xCurrentTimeInt64`, a version 2 method.
        return false;
    }
    let header = std::mem::size_of::<File>();
    let vfs = Box::new(ffi::sqlite3_vfs {
        // Version 2: the system-call overrides of version 3 are SQLite's
        // testing hooks, not offered through this VFS.
        iVersion: 2,
        szOsFile: c_int::try_from(header).unwrap_or(c_int::MAX) + base_ref.szOsFile,
        mxPathname: base_ref.mxPathname,
        pNext: ptr::null_mut(),
        zName: NAME.as_ptr(),
        pAppData: base.cast(),
        xOpen: Some(x_open),
        xDelete: Some(x_delete),
        xAccess: Some(x_access),
        xFullPathname: Some(x_full_pathname),
        xDlOpen: Some(x_dl_open),
        xDlError: Some(x_dl_error),
        xDlSym: Some(x_dl_sym),
        xDlClose: Some(x_dl_close),
        xRandomness: Some(x_randomness),
        xSleep: Some(x_sleep),
        xCurrentTime: Some(x_current_time),
        xGetLastError: Some(x_get_last_error),
        xCurrentTimeInt64: Some(x_current_time_int64),
        xSetSystemCall: None,
        xGetSystemCall: None,
        xNextSystemCall: None,
    });
    // SAFETY: the VFS is leaked, so it outlives every connection; SQLite
    // only reads it. Not made the default (`0`).
    let rc = unsafe { ffi::sqlite3_vfs_register(Box::into_raw(vfs), 0) };
    rc == ffi::SQLITE_OK
}

/// A file opened through this VFS: what it is, what it gathers, then the
/// default VFS's handle (`real`, in the same allocation).
#[repr(C)]
struct File {
    /// Must be first: SQLite reads `pMethods` through a `sqlite3_file*`.
    base: ffi::sqlite3_file,
    /// The default VFS's handle, right after this struct.
    real: *mut ffi::sqlite3_file,
    /// For a database file: its open WAL (or null). For a WAL: null.
    wal: *mut File,
    /// For a WAL file: its database file (or null). For a database: null.
    db: *mut File,
    /// For a WAL file: the gathered frames. `None` for a database.
    gather: Option<Box<Gather>>,
}

/// Frames appended to a WAL, not written yet.
#[derive(Default)]
struct Gather {
    bytes: Vec<u8>,
    /// The file offset of `bytes[0]`.
    at: i64,
    /// The offset after the last byte accepted (gathered or written), or
    /// −1 when unknown (then the next frame is written through, and
    /// gathering starts after it).
    end: i64,
    /// The last gathered bytes are a frame header whose page comes next.
    header_pending: bool,
    /// … and that header is a commit frame's.
    commit: bool,
}

#[cfg(test)]
thread_local! {
    /// WAL writes that reached the default VFS, on this thread.
    static WAL_WRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Gathered frames found unwritten by `xShmBarrier`, on this thread.
    static LATE_FLUSHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Make WAL writes fail (`SQLITE_IOERR_WRITE`), on this thread.
    static FAIL_WAL_WRITES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl File {
    /// The default VFS's methods for this file.
    ///
    /// # Safety
    /// `self.real` is an open handle of the default VFS.
    unsafe fn methods(&self) -> &ffi::sqlite3_io_methods {
        // SAFETY: per the contract, `real` is open, so `pMethods` is set.
        unsafe { &*(*self.real).pMethods }
    }

    /// Writes `len` bytes at `off` through the default VFS.
    ///
    /// # Safety
    /// As [`File::methods`]; `data` points at `len` readable bytes.
    unsafe fn write_through(&self, data: *const c_void, len: c_int, off: i64) -> c_int {
        #[cfg(test)]
        if self.gather.is_some() {
            WAL_WRITES.with(|c| c.set(c.get() + 1));
            if FAIL_WAL_WRITES.with(|f| f.get()) {
                return ffi::SQLITE_IOERR_WRITE;
            }
        }
        // SAFETY: per the contract.
        match unsafe { self.methods() }.xWrite {
            Some(write) => unsafe { write(self.real, data, len, off) },
            None => ffi::SQLITE_IOERR_WRITE,
        }
    }

    /// Writes out the gathered frames, if any.
    ///
    /// # Safety
    /// As [`File::methods`].
    unsafe fn flush(&mut self) -> c_int {
        let (data, len, at) = match &self.gather {
            Some(g) if !g.bytes.is_empty() => (g.bytes.as_ptr(), g.bytes.len(), g.at),
            _ => return ffi::SQLITE_OK,
        };
        let mut rc = ffi::SQLITE_OK;
        let mut done = 0;
        while done < len && rc == ffi::SQLITE_OK {
            let part = (len - done).min(WRITE_LIMIT);
            // SAFETY: `data[done..done + part]` is within the gathered
            // bytes, not touched until the write returns.
            rc = unsafe {
                self.write_through(data.add(done).cast(), part as c_int, at + done as i64)
            };
            done += part;
        }
        if let Some(gather) = self.gather.as_mut() {
            gather.bytes.clear();
            gather.header_pending = false;
            if rc != ffi::SQLITE_OK {
                gather.end = -1;
            }
        }
        rc
    }

    /// `xWrite` on a WAL file: gather an appended frame, write anything
    /// else through (after what is gathered).
    ///
    /// # Safety
    /// As [`File::methods`]; `data` points at `len` readable bytes.
    unsafe fn wal_write(&mut self, data: *const c_void, len: c_int, off: i64) -> c_int {
        let Some(gather) = self.gather.as_mut() else {
            // SAFETY: per the contract.
            return unsafe { self.write_through(data, len, off) };
        };
        let size = usize::try_from(len).unwrap_or(0);
        // SAFETY: SQLite hands `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size) };
        let appends = off == gather.end && off >= WAL_HEADER;
        if appends && size == FRAME_HEADER && !gather.header_pending {
            if gather.bytes.len() >= GATHER_LIMIT {
                // SAFETY: per the contract.
                let rc = unsafe { self.flush() };
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
            }
            let Some(gather) = self.gather.as_mut() else {
                return ffi::SQLITE_IOERR_WRITE;
            };
            if gather.bytes.is_empty() {
                gather.at = off;
            }
            gather.bytes.extend_from_slice(bytes);
            gather.end = off + i64::from(len);
            gather.header_pending = true;
            // Bytes 4..8 of a frame header: the database's size in pages
            // after a commit, 0 in any other frame.
            gather.commit = bytes.get(4..8).is_some_and(|n| n != [0, 0, 0, 0]);
            return ffi::SQLITE_OK;
        }
        if appends && gather.header_pending {
            gather.bytes.extend_from_slice(bytes);
            gather.end = off + i64::from(len);
            gather.header_pending = false;
            if gather.commit {
                // SAFETY: per the contract.
                return unsafe { self.flush() };
            }
            return ffi::SQLITE_OK;
        }
        // SAFETY: per the contract.
        let rc = unsafe { self.flush() };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        // SAFETY: per the contract.
        let rc = unsafe { self.write_through(data, len, off) };
        if let Some(gather) = self.gather.as_mut() {
            gather.end = if rc == ffi::SQLITE_OK {
                off + i64::from(len)
            } else {
                -1
            };
        }
        rc
    }
}

/// The `File` behind a handle SQLite passes to this VFS's methods.
///
/// # Safety
/// `f` was opened by [`x_open`] and not yet closed.
unsafe fn file<'a>(f: *mut ffi::sqlite3_file) -> &'a mut File {
    // SAFETY: per the contract, `f` is the start of a `File`.
    unsafe { &mut *f.cast::<File>() }
}

/// The default VFS, kept in this VFS's `pAppData`.
///
/// # Safety
/// `vfs` is this module's registered VFS.
unsafe fn base(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY: per the contract.
    unsafe { (*vfs).pAppData.cast() }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    handle: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite hands this VFS's own pointer.
    let base = unsafe { base(vfs) };
    let wal = flags & ffi::SQLITE_OPEN_WAL != 0;
    let main = flags & ffi::SQLITE_OPEN_MAIN_DB != 0;
    // SAFETY: `base` is the default VFS, which has `xOpen`.
    let Some(open) = (unsafe { (*base).xOpen }) else {
        return ffi::SQLITE_CANTOPEN;
    };
    if !wal && !main {
        // Journals, temporary files: the default VFS's own handle, in
        // place (`szOsFile` covers it), with its own methods.
        // SAFETY: `handle` has room for the default VFS's handle.
        return unsafe { open(base, name, handle, flags, out_flags) };
    }
    let real = handle
        .cast::<u8>()
        .wrapping_add(std::mem::size_of::<File>())
        .cast::<ffi::sqlite3_file>();
    // SAFETY: `handle` is `szOsFile` bytes: a `File`, then the default
    // VFS's handle at `real` (`File` is 8-byte aligned and sized).
    unsafe {
        ptr::write(
            handle.cast::<File>(),
            File {
                base: ffi::sqlite3_file {
                    pMethods: ptr::null(),
                },
                real,
                wal: ptr::null_mut(),
                db: ptr::null_mut(),
                gather: wal.then(|| {
                    Box::new(Gather {
                        end: -1,
                        ..Gather::default()
                    })
                }),
            },
        );
    }
    // SAFETY: as above.
    let f = unsafe { file(handle) };
    // SAFETY: `real` has room for the default VFS's handle.
    let rc = unsafe { open(base, name, real, flags, out_flags) };
    // SAFETY: `real` was just opened (or failed, leaving it unset).
    if rc != ffi::SQLITE_OK || unsafe { (*real).pMethods.is_null() } {
        // SQLite will not call `xClose`: drop what `File` holds here.
        f.gather = None;
        return if rc == ffi::SQLITE_OK {
            ffi::SQLITE_CANTOPEN
        } else {
            rc
        };
    }
    if wal {
        // SAFETY: `name` is the WAL name SQLite passed to `xOpen`, which
        // is what `sqlite3_database_file_object` takes; the handle it
        // returns is this connection's open database file.
        let db = unsafe { ffi::sqlite3_database_file_object(name) };
        // SAFETY: a handle whose methods are ours is a `File`.
        if !db.is_null() && unsafe { ptr::eq((*db).pMethods, &METHODS) } {
            let db = db.cast::<File>();
            f.db = db;
            // SAFETY: the database file is open and on this thread.
            unsafe { (*db).wal = f };
        }
    }
    f.base.pMethods = &METHODS;
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_close(handle: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a handle this VFS opened, once.
    let f = unsafe { file(handle) };
    // SAFETY: `real` is open until closed below.
    let flushed = unsafe { f.flush() };
    // SAFETY: the linked file, if any, is open (each unlinks on close).
    unsafe {
        if !f.db.is_null() {
            (*f.db).wal = ptr::null_mut();
        }
        if !f.wal.is_null() {
            (*f.wal).db = ptr::null_mut();
        }
    }
    f.gather = None;
    // SAFETY: `real` is open.
    let rc = match unsafe { f.methods() }.xClose {
        Some(close) => unsafe { close(f.real) },
        None => ffi::SQLITE_OK,
    };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        rc
    }
}

/// File methods that hand the call to the default VFS's handle — after
/// writing out what is gathered where marked `flushed` — when the default
/// VFS's methods are of version `v` or later, else answer `missing`.
macro_rules! file_methods {
    ($(fn $name:ident => $field:ident(v $ver:literal $(, $flushed:ident)?; $($arg:ident: $ty:ty),*) -> $ret:ty = $missing:expr;)*) => {$(
        unsafe extern "C" fn $name(handle: *mut ffi::sqlite3_file, $($arg: $ty),*) -> $ret {
            // SAFETY: SQLite calls with a handle this VFS opened and has
            // not closed; `real` is open; the other arguments are SQLite's
            // own, for this method, passed on as they came. A method past
            // the default VFS's version is not read.
            unsafe {
                let f = file(handle);
                $(
                    let $flushed = f.flush();
                    if $flushed != ffi::SQLITE_OK {
                        return $flushed;
                    }
                )?
                let methods = f.methods();
                match methods.$field {
                    Some(method) if methods.iVersion >= $ver => method(f.real, $($arg),*),
                    _ => $missing,
                }
            }
        }
    )*};
}

file_methods! {
    fn x_read => xRead(v 1, flushed; out: *mut c_void, len: c_int, off: i64) -> c_int
        = ffi::SQLITE_IOERR_READ;
    fn x_truncate_through => xTruncate(v 1, flushed; size: i64) -> c_int
        = ffi::SQLITE_IOERR_TRUNCATE;
    fn x_sync => xSync(v 1, flushed; flags: c_int) -> c_int = ffi::SQLITE_IOERR_FSYNC;
    fn x_file_size => xFileSize(v 1, flushed; size: *mut i64) -> c_int
        = ffi::SQLITE_IOERR_FSTAT;
    fn x_file_control => xFileControl(v 1, flushed; op: c_int, arg: *mut c_void) -> c_int
        = ffi::SQLITE_NOTFOUND;
    fn x_lock => xLock(v 1; level: c_int) -> c_int = ffi::SQLITE_OK;
    fn x_unlock => xUnlock(v 1; level: c_int) -> c_int = ffi::SQLITE_OK;
    fn x_check_reserved_lock => xCheckReservedLock(v 1; out: *mut c_int) -> c_int
        = ffi::SQLITE_IOERR_CHECKRESERVEDLOCK;
    fn x_sector_size => xSectorSize(v 1;) -> c_int = 4096;
    fn x_device_characteristics => xDeviceCharacteristics(v 1;) -> c_int = 0;
    fn x_shm_map => xShmMap(v 2;
        region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int
        = ffi::SQLITE_IOERR_SHMMAP;
    fn x_shm_lock => xShmLock(v 2; offset: c_int, n: c_int, flags: c_int) -> c_int
        = ffi::SQLITE_IOERR_SHMLOCK;
    fn x_shm_barrier_through => xShmBarrier(v 2;) -> () = ();
    fn x_shm_unmap => xShmUnmap(v 2; delete: c_int) -> c_int = ffi::SQLITE_OK;
    // No mapping: SQLite reads the page instead.
    fn x_fetch => xFetch(v 3; off: i64, len: c_int, out: *mut *mut c_void) -> c_int
        = { *out = ptr::null_mut(); ffi::SQLITE_OK };
    fn x_unfetch => xUnfetch(v 3; off: i64, p: *mut c_void) -> c_int
        = ffi::SQLITE_OK;
}

unsafe extern "C" fn x_write(
    handle: *mut ffi::sqlite3_file,
    data: *const c_void,
    len: c_int,
    off: i64,
) -> c_int {
    // SAFETY: an open handle of this VFS; SQLite hands `len` bytes.
    unsafe { file(handle).wal_write(data, len, off) }
}

unsafe extern "C" fn x_truncate(handle: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: an open handle of this VFS.
    let rc = unsafe { x_truncate_through(handle, size) };
    // The log's end moved: the next frame is written through.
    // SAFETY: as above.
    if let Some(gather) = unsafe { file(handle) }.gather.as_mut() {
        gather.end = -1;
    }
    rc
}

unsafe extern "C" fn x_shm_barrier(handle: *mut ffi::sqlite3_file) {
    // SAFETY: an open handle of this VFS.
    let f = unsafe { file(handle) };
    if !f.wal.is_null() {
        // SAFETY: the linked WAL is open (it unlinks itself on close) and
        // belongs to this connection, on this thread.
        let wal = unsafe { &mut *f.wal };
        if wal.gather.as_ref().is_some_and(|g| !g.bytes.is_empty()) {
            #[cfg(test)]
            LATE_FLUSHES.with(|c| c.set(c.get() + 1));
            // SAFETY: the WAL's `real` is open.
            if unsafe { wal.flush() } != ffi::SQLITE_OK {
                tracing::error!("gathered WAL frames could not be written before a barrier");
            }
        }
    }
    // SAFETY: as above.
    unsafe { x_shm_barrier_through(handle) }
}

/// The VFS's own methods: the default VFS's, called with its pointer.
macro_rules! vfs_methods {
    ($(fn $name:ident => $field:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $missing:expr;)*) => {$(
        unsafe extern "C" fn $name(vfs: *mut ffi::sqlite3_vfs, $($arg: $ty),*) -> $ret {
            // SAFETY: SQLite calls with this VFS's pointer, whose
            // `pAppData` is the default VFS (of version 2 or later, checked
            // at registration); the other arguments are passed on.
            unsafe {
                let base = base(vfs);
                match (*base).$field {
                    Some(method) => method(base, $($arg),*),
                    None => $missing,
                }
            }
        }
    )*};
}

type DlSym = unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char);

vfs_methods! {
    fn x_delete => xDelete(name: *const c_char, sync: c_int) -> c_int = ffi::SQLITE_IOERR_DELETE;
    fn x_access => xAccess(name: *const c_char, flags: c_int, out: *mut c_int) -> c_int
        = ffi::SQLITE_IOERR_ACCESS;
    fn x_full_pathname => xFullPathname(name: *const c_char, len: c_int, out: *mut c_char) -> c_int
        = ffi::SQLITE_CANTOPEN;
    fn x_dl_open => xDlOpen(name: *const c_char) -> *mut c_void = ptr::null_mut();
    fn x_dl_error => xDlError(len: c_int, out: *mut c_char) -> () = ();
    fn x_dl_sym => xDlSym(lib: *mut c_void, symbol: *const c_char) -> Option<DlSym> = None;
    fn x_dl_close => xDlClose(lib: *mut c_void) -> () = ();
    fn x_randomness => xRandomness(len: c_int, out: *mut c_char) -> c_int = 0;
    fn x_sleep => xSleep(micros: c_int) -> c_int = 0;
    fn x_current_time => xCurrentTime(out: *mut f64) -> c_int = ffi::SQLITE_ERROR;
    fn x_get_last_error => xGetLastError(len: c_int, out: *mut c_char) -> c_int = 0;
    fn x_current_time_int64 => xCurrentTimeInt64(out: *mut i64) -> c_int = ffi::SQLITE_ERROR;
}

// `File` is followed by the default VFS's handle, which must be aligned.
const _: () = assert!(std::mem::size_of::<File>().is_multiple_of(8));

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use rusqlite::{Connection, OpenFlags};

    use super::*;

    fn wal_writes() -> u64 {
        WAL_WRITES.with(|c| c.get())
    }

    fn late_flushes() -> u64 {
        LATE_FLUSHES.with(|c| c.get())
    }

    /// A writer through this VFS on a fresh file, as the store sets it up
    /// (WAL, `synchronous=NORMAL`: no sync at a commit), checkpoints by
    /// hand; then `pragmas`.
    fn writer(dir: &Path, pragmas: &str) -> (PathBuf, Connection) {
        let path = dir.join("t.db");
        let vfs = name().unwrap_or_else(|| panic!("the VFS registers"));
        let conn = Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), vfs)
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA wal_autocheckpoint = 0; {pragmas}
             CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
             CREATE INDEX t_v ON t (v);"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        (path, conn)
    }

    /// A plain connection (the default VFS), as readers have.
    fn reader(path: &Path) -> Connection {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Rows `from..from + n`, each with a 300-byte value that sorts
    /// somewhere in the index's middle.
    fn insert(conn: &Connection, from: i64, n: i64) {
        let tx = conn
            .unchecked_transaction()
            .unwrap_or_else(|e| panic!("{e}"));
        for id in from..from + n {
            let v = format!(
                "{:016x}{}",
                (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                "x".repeat(284)
            );
            tx.execute(
                "INSERT INTO t (id, v) VALUES (?1, ?2)",
                rusqlite::params![id, v],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().unwrap_or_else(|e| panic!("{e}"));
    }

    /// What SQLite's recovery reads from a copy of the database and its
    /// log, as after a crash: every row, and a file that checks out.
    fn recovered(path: &Path) -> i64 {
        let copy = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let to = copy.path().join("t.db");
        std::fs::copy(path, &to).unwrap_or_else(|e| panic!("{e}"));
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        std::fs::copy(&wal, copy.path().join("t.db-wal")).unwrap_or_else(|e| panic!("{e}"));
        let conn = Connection::open(&to).unwrap_or_else(|e| panic!("{e}"));
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check, "ok");
        count(&conn)
    }

    #[test]
    fn a_commit_of_many_pages_is_one_write() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (path, conn) = writer(dir.path(), "");
        insert(&conn, 0, 20);
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        for round in 1..=30 {
            let (writes, size) = (wal_writes(), std::fs::metadata(&wal).map(|m| m.len()));
            insert(&conn, round * 20, 20);
            let grown = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0)
                - size.unwrap_or_else(|e| panic!("{e}"));
            // Several pages (the table's and the index's leaves)…
            assert!(grown >= 3 * (4096 + 24), "round {round}: {grown} bytes");
            // … in one write, or as few as the default VFS takes.
            let parts = grown.div_ceil(WRITE_LIMIT as u64);
            assert_eq!(wal_writes() - writes, parts, "round {round}: {grown} bytes");
        }
        assert_eq!(late_flushes(), 0);
        assert_eq!(count(&reader(&path)), 620);
        assert_eq!(recovered(&path), 620);
    }

    #[test]
    fn every_commit_is_on_disk_before_readers_see_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (path, conn) = writer(dir.path(), "");
        let other = reader(&path);
        for round in 0..40 {
            insert(&conn, round * 7, 7);
            assert_eq!(count(&other), (round + 1) * 7);
        }
        assert_eq!(late_flushes(), 0);
        assert_eq!(recovered(&path), 280);
    }

    #[test]
    fn pages_spilled_and_rewritten_in_one_transaction() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Ten pages of cache: a big transaction spills frames before its
        // commit, and writing the same rows again rewrites spilled frames
        // in place (then SQLite rewrites their checksums at the commit).
        let (path, conn) = writer(dir.path(), "PRAGMA cache_size = 10;");
        let tx = conn
            .unchecked_transaction()
            .unwrap_or_else(|e| panic!("{e}"));
        for id in 0..2_000_i64 {
            tx.execute(
                "INSERT INTO t (id, v) VALUES (?1, ?2)",
                rusqlite::params![id, format!("{id:08}{}", "y".repeat(200))],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        for pass in 0..3 {
            tx.execute("UPDATE t SET v = v || ?1 WHERE id % 3 = ?1", [pass])
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // Read back inside the transaction: spilled pages come from the log.
        let longer: i64 = tx
            .query_row("SELECT count(*) FROM t WHERE length(v) > 208", [], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(longer, 2_000);
        tx.commit().unwrap_or_else(|e| panic!("{e}"));
        insert(&conn, 2_000, 10);
        assert_eq!(late_flushes(), 0);
        assert_eq!(count(&reader(&path)), 2_010);
        assert_eq!(recovered(&path), 2_010);
    }

    #[test]
    fn synchronous_full_and_a_log_that_starts_over() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // FULL: padding frames and a sync at each commit. Checkpoints
        // every 20 pages: the log starts over from its first frame.
        let (path, conn) = writer(
            dir.path(),
            "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 20;",
        );
        let other = reader(&path);
        for round in 0..60 {
            insert(&conn, round * 5, 5);
            assert_eq!(count(&other), (round + 1) * 5);
        }
        conn.execute_batch("PRAGMA wal_checkpoint(RESTART)")
            .unwrap_or_else(|e| panic!("{e}"));
        insert(&conn, 300, 5);
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap_or_else(|e| panic!("{e}"));
        insert(&conn, 305, 5);
        assert_eq!(late_flushes(), 0);
        assert_eq!(count(&other), 310);
        assert_eq!(recovered(&path), 310);
    }

    #[test]
    fn a_failed_write_fails_its_commit_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (path, conn) = writer(dir.path(), "");
        insert(&conn, 0, 10);
        let other = reader(&path);
        FAIL_WAL_WRITES.with(|f| f.set(true));
        let failed = (|| {
            let tx = conn.unchecked_transaction()?;
            tx.execute("INSERT INTO t (id, v) VALUES (100, 'lost')", [])?;
            tx.commit()
        })();
        FAIL_WAL_WRITES.with(|f| f.set(false));
        let err = failed
            .err()
            .unwrap_or_else(|| panic!("the commit should fail"));
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::SystemIoFailure),
            "{err}"
        );
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(count(&other), 10);
        insert(&conn, 10, 10);
        assert_eq!(count(&other), 20);
        assert_eq!(count(&conn), 20);
        assert_eq!(late_flushes(), 0);
        assert_eq!(recovered(&path), 20);
    }
}
