//! The spans database: written so that it can never be corrupted.
//!
//! The database says what it is: `PRAGMA application_id` is
//! [`APPLICATION_ID`] and `PRAGMA user_version` is [`SCHEMA_VERSION`], so a
//! later version can recognise and migrate it. Files from before these were
//! set (version 0: the same table without `file`) are recognised by their
//! shape.
//!
//! How a database is written ([`SpansDb`]): rows go, run by run as results
//! arrive, to a new database in a temporary file beside the destination.
//! When the destination does not exist, that file is renamed into place.
//! When it does, it must be a rollout-sim spans database (anything else is
//! refused) and is changed in place, in one exclusive SQLite transaction
//! that copies the rows over: replacing its rows (`--spans`) or adding to
//! them (`--spans-append`). Changing it in place, under SQLite's own locks,
//! is what keeps another process that has it open safe: renaming a new file
//! over it would pair that process's journal with the wrong file. A file
//! another process holds in a transaction is refused, before the run and at
//! the end, without waiting (busy timeout 0).

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::ScenarioReport;
use super::machine::spans::{COLUMNS, Row, SQLITE_INDEXES, SQLITE_TABLE};
use super::output::{Destination, OutputError, Outputs, Temporary, begin_transaction};
use super::spans::{APPLICATION_ID, SCHEMA_VERSION, SpansMode};
use rollout_simulator::RunResult;

/// An existing file at the destination, as far as spans go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// An empty file, or an SQLite database with no tables: nothing to keep.
    Blank,
    /// A rollout-sim spans database of this version.
    Current,
    /// A rollout-sim spans database from before `file` and the version.
    Version0,
}

const NOT_OURS: &str = "remove it or choose another path";

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn held() -> String {
    "it is held by another process (a transaction is open on it); try again when it is done".into()
}

fn sql_error(e: rusqlite::Error) -> String {
    if is_busy(&e) { held() } else { e.to_string() }
}

/// Says what the database `db` (in a transaction) is, refusing what is not
/// a rollout-sim spans database `mode` can write.
fn recognise(db: &Connection, mode: SpansMode) -> Result<Found, String> {
    let application_id: i32 = db
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql_error)?;
    let version: i32 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_error)?;
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql_error)?;
    let columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('spans') ORDER BY cid")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql_error)?;
    let only_spans = tables == ["spans"];
    let found = if tables.is_empty() && (application_id == 0 || application_id == APPLICATION_ID) {
        Found::Blank
    } else if application_id == APPLICATION_ID && version > SCHEMA_VERSION {
        return Err(format!(
            "it is a rollout-sim spans database of schema version {version}, newer than this \
             tool's {SCHEMA_VERSION}; use a newer rollout-sim or another path"
        ));
    } else if application_id == APPLICATION_ID
        && version == SCHEMA_VERSION
        && only_spans
        && columns == COLUMNS
    {
        Found::Current
    } else if application_id == 0 && version == 0 && only_spans && columns == COLUMNS[1..] {
        Found::Version0
    } else {
        let tables = if tables.is_empty() {
            "no tables".to_string()
        } else {
            format!("tables: {}", tables.join(", "))
        };
        return Err(format!(
            "it is an SQLite database but not a rollout-sim spans database (application_id \
             {application_id:#x}, {tables}); {NOT_OURS}"
        ));
    };
    if found == Found::Version0 && mode == SpansMode::Append {
        return Err(
            "it is a spans database from an older rollout-sim, without the `file` column; \
             --spans replaces it, --spans-append cannot add to it"
                .into(),
        );
    }
    Ok(found)
}

/// The first bytes of every SQLite database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Refuses an existing file that is neither empty nor an SQLite database,
/// before SQLite is let near it.
fn check_magic(target: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(target).map_err(|e| e.to_string())?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if read == 0 || head == *SQLITE_MAGIC {
        Ok(())
    } else {
        Err(format!(
            "it is not an SQLite database, so not a rollout-sim spans database; {NOT_OURS}"
        ))
    }
}

/// Opens the existing database at `target` without waiting for locks.
fn open_existing(target: &Path) -> Result<Connection, String> {
    let db = Connection::open_with_flags(
        target,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_error)?;
    db.busy_timeout(std::time::Duration::ZERO)
        .map_err(sql_error)?;
    Ok(db)
}

/// Checks, under an exclusive lock taken and released at once, that the
/// existing database at `target` is one `mode` may write.
fn probe(target: &Path, mode: SpansMode) -> Result<(), String> {
    check_magic(target)?;
    let mut db = open_existing(target)?;
    let _guard = begin_transaction(Box::new({
        let handle = db.get_interrupt_handle();
        move || handle.interrupt()
    }));
    let tx = db
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(sql_error)?;
    let found = recognise(&tx, mode);
    drop(tx);
    db.close().map_err(|(_, e)| sql_error(e))?;
    found.map(drop)
}

/// A spans database being written: see the module documentation.
pub struct SpansDb {
    shown: PathBuf,
    target: PathBuf,
    mode: SpansMode,
    /// The new rows, in a temporary database beside the target.
    temp: Temporary,
    db: Connection,
    /// The first error; later runs are skipped.
    failed: Option<String>,
}

impl SpansDb {
    /// Checks `path` (the value of `flag`) and starts the temporary
    /// database, before anything runs.
    pub fn open(
        outputs: &mut Outputs,
        flag: &str,
        path: &Path,
        mode: SpansMode,
    ) -> Result<Self, OutputError> {
        let refuse = |message: String| OutputError::new(path, message);
        let target = match outputs.claim(flag, path)? {
            Destination::File { target, .. } => target,
            Destination::Stream(_) => {
                return Err(refuse(
                    "an SQLite database must be a regular file, not a device or a pipe".into(),
                ));
            }
        };
        if target.exists() {
            probe(&target, mode).map_err(refuse)?;
        }
        let (temp, file) = Temporary::beside(&target).map_err(|e| refuse(e.to_string()))?;
        drop(file);
        let db = Connection::open(temp.path()).map_err(|e| refuse(e.to_string()))?;
        // The temporary file is discarded whole on any failure, so it needs
        // no journal: none can be left behind.
        db.execute_batch(&format!(
            "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;
             PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};
             {SQLITE_TABLE}"
        ))
        .map_err(|e| refuse(e.to_string()))?;
        Ok(Self {
            shown: path.to_path_buf(),
            target,
            mode,
            temp,
            db,
            failed: None,
        })
    }

    /// Adds one run's spans; `report.file` fills the `file` column.
    pub fn add(&mut self, report: &ScenarioReport, run: &RunResult) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = insert(&mut self.db, report, run) {
            self.failed = Some(e.to_string());
        }
    }

    /// Puts the rows in place: see the module documentation.
    pub fn commit(self) -> Result<(), OutputError> {
        let Self {
            shown,
            target,
            mode,
            temp,
            db,
            failed,
        } = self;
        let refuse = |message: String| OutputError::new(&shown, message);
        if let Some(e) = failed {
            return Err(refuse(e));
        }
        db.execute_batch(SQLITE_INDEXES)
            .map_err(|e| refuse(e.to_string()))?;
        db.close().map_err(|(_, e)| refuse(e.to_string()))?;
        // An existing file, even an empty one (which SQLite may have open),
        // is changed in place under SQLite's locks, never renamed over.
        let fresh = match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(refuse(e.to_string())),
            Ok(meta) if meta.is_file() => false,
            Ok(_) => {
                return Err(refuse(format!(
                    "{} stopped being a regular file while this command ran; it is left as it is",
                    target.display()
                )));
            }
        };
        if fresh {
            std::fs::File::open(temp.path())
                .and_then(|f| f.sync_all())
                .map_err(|e| refuse(e.to_string()))?;
            return temp.rename_onto(&target).map_err(|e| refuse(e.to_string()));
        }
        copy_in_place(&target, temp.path(), mode).map_err(refuse)
    }
}

fn insert(db: &mut Connection, report: &ScenarioReport, run: &RunResult) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO spans ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            COLUMNS.join(", ")
        ))?;
        for span in run.snapshot.spans.all() {
            insert.execute(Row::new(report, span).params())?;
        }
    }
    tx.commit()
}

/// Replaces or extends the rows of the existing database at `target` with
/// those of `rows` (a database of [`SQLITE_SCHEMA`]), in one exclusive
/// transaction that rolls back on any error or interruption.
fn copy_in_place(target: &Path, rows: &Path, mode: SpansMode) -> Result<(), String> {
    // Refuses a file that stopped being an SQLite database during the run.
    check_magic(target)?;
    let mut db = open_existing(target)?;
    let guard = begin_transaction(Box::new({
        let handle = db.get_interrupt_handle();
        move || handle.interrupt()
    }));
    db.execute("ATTACH DATABASE ?1 AS run", [rows.to_string_lossy()])
        .map_err(sql_error)?;
    let result = (|| {
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(sql_error)?;
        // Checked again under the lock: it may have changed since the run began.
        let found = recognise(&tx, mode)?;
        let fresh_table = mode == SpansMode::Replace || found != Found::Current;
        if fresh_table {
            tx.execute_batch(&format!("DROP TABLE IF EXISTS main.spans; {SQLITE_TABLE}"))
                .map_err(sql_error)?;
        }
        tx.execute_batch(&format!(
            "PRAGMA main.application_id = {APPLICATION_ID}; \
             PRAGMA main.user_version = {SCHEMA_VERSION};"
        ))
        .map_err(sql_error)?;
        if guard.abandoned() {
            return Err("interrupted".to_string());
        }
        let columns = COLUMNS.join(", ");
        tx.execute(
            &format!(
                "INSERT INTO main.spans ({columns}) SELECT {columns} FROM run.spans ORDER BY rowid"
            ),
            [],
        )
        .map_err(sql_error)?;
        if fresh_table {
            tx.execute_batch(SQLITE_INDEXES).map_err(sql_error)?;
        }
        tx.commit().map_err(sql_error)
    })();
    let detached = db.execute("DETACH DATABASE run", []).map(drop);
    let closed = db.close().map_err(|(_, e)| e);
    drop(guard);
    result?;
    detached.and(closed).map_err(sql_error)
}
