//! The local store: SQLite, the stall's source of truth.
//!
//! Architecture invariant: only this module speaks SQL. Every state change is one
//! transaction that also appends its outbox event, so a change and the record that it
//! must be synced can never be separated by a crash.

mod bulk;
mod cash;
mod catalog;
mod dispatch;
mod outbox;
mod print_jobs;
mod provenance;
mod pull;
mod reports;
mod reservations;
mod sales;
mod schema;
mod staff;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags};

pub use catalog::{DropSummary, NewPiece, PieceTile};
pub use dispatch::{DispatchedOrder, Shipment};
pub use outbox::{Conflict, Delivery, OutboxEvent};
pub use print_jobs::{JobState, PrintJob};
pub use provenance::PieceRecord;
pub use pull::{PullReport, Pulled};
pub use reports::Day;
pub use reservations::NewReservation;
pub use sales::{Refund, SaleRecord, SaleSummary};
pub use staff::PinState;

use crate::domain::cash::CashError;
use crate::domain::{ReturnError, SellError};
use crate::i18n::{Language, Localized};
use crate::t;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "The database file {path} is damaged or is not a Marketday database. It was left untouched: \
         copy it somewhere safe and call support; start with a different data directory to keep selling."
    )]
    Corrupt { path: PathBuf },
    #[error(
        "The database file {path} was written by a newer Marketday (schema {found}, this version knows {supported}). \
         It was left untouched: install the newer Marketday."
    )]
    NewerSchema { path: PathBuf, found: u32, supported: u32 },
    #[error("The disk is full: nothing was saved. Free some space (old photos, logs) and try again.")]
    DiskFull,
    #[error("The database is read-only or its folder cannot be written: {0}")]
    ReadOnly(String),
    #[error(transparent)]
    Sell(#[from] SellError),
    #[error(transparent)]
    Return(#[from] ReturnError),
    #[error(transparent)]
    Cash(#[from] CashError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("stored data is inconsistent: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl Localized for StoreError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            StoreError::Corrupt { path } => t!(
                l,
                "The database file {path} is damaged or is not a Marketday database. It was left untouched: copy it somewhere safe and call support; start with a different data directory to keep selling.",
                path = path.display()
            ),
            StoreError::NewerSchema { path, found, supported } => t!(
                l,
                "The database file {path} was written by a newer Marketday (schema {found}, this version knows {supported}). It was left untouched: install the newer Marketday.",
                path = path.display(),
                found = found,
                supported = supported
            ),
            StoreError::DiskFull => {
                t!(l, "The disk is full: nothing was saved. Free some space (old photos, logs) and try again.")
            }
            StoreError::ReadOnly(detail) => {
                t!(l, "The database is read-only or its folder cannot be written: {detail}", detail = detail)
            }
            StoreError::Sell(e) => e.localized(l),
            StoreError::Return(e) => e.localized(l),
            StoreError::Cash(e) => e.localized(l),
            // The store's own words for what it looked for ("sale K1-000042"): technical, kept.
            StoreError::NotFound(what) => t!(l, "{what} not found", what = what),
            StoreError::Invalid(detail) => t!(l, "stored data is inconsistent: {detail}", detail = detail),
            StoreError::Sqlite(e) => t!(l, "The kiosk's storage failed: {detail}", detail = e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen) => StoreError::ReadOnly(e.to_string()),
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
                StoreError::Corrupt { path: PathBuf::from("(open database)") }
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Counts the SQL statements this store runs from now on: the benchmark's "queries per
    /// tap". Each statement counts once as it starts (SQLite's statement trace).
    pub fn count_statements(&mut self) -> Arc<AtomicU64> {
        let count = Arc::new(AtomicU64::new(0));
        let counter = count.clone();
        let each = move |_: rusqlite::trace::TraceEvent<'_>| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        if let Err(e) = self.conn.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(each)) {
            tracing::warn!(error = %e, "cannot count statements");
        }
        count
    }

    /// Opens (creating if absent) the database at `path` and brings its schema up to date.
    ///
    /// A file that is not a SQLite database, or one from a newer Marketday, is reported
    /// and never written to.
    pub fn open(path: &Path) -> Result<Store> {
        // SQLite takes an empty file for a new database. An empty kiosk.sqlite is a store
        // that was lost (a truncating copy, a full card), and starting afresh from it would
        // restart receipt numbers and the outbox sequence, which the cloud then refuses forever.
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0);
        if empty(path) && (empty(&wal) || !wal.exists()) {
            return Err(StoreError::Invalid(format!(
                "{} is empty (0 bytes): the store it held is gone, and the kiosk never starts one afresh \
                 by itself. Restore the newest backup there, or delete the file to start a new empty \
                 store (receipt numbers and sync start again at 1, so register the kiosk anew with \
                 `marketday-cloud add-device`)",
                path.display()
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let corrupt = || StoreError::Corrupt { path: path.to_owned() };
        let conn = Connection::open_with_flags(path, flags).map_err(StoreError::from)?;
        // Reading the header is the first touch: a foreign or garbled file fails here,
        // before any pragma below could write to it.
        let version: u32 =
            conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| match StoreError::from(e) {
                StoreError::Corrupt { .. } => corrupt(),
                other => other,
            })?;
        let supported = schema::MIGRATIONS.len() as u32;
        if version > supported {
            return Err(StoreError::NewerSchema { path: path.to_owned(), found: version, supported });
        }
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL with synchronous=FULL: a commit is on the SD card before we say "done"; NORMAL
        // can lose the last commits on power loss, which is the failure a stall actually has.
        let mode: String =
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| match StoreError::from(e) {
                StoreError::Corrupt { .. } => corrupt(),
                other => other,
            })?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Invalid(format!("could not switch to WAL journal (got {mode})")));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        let mut store = Store { conn, path: path.to_owned() };
        store.migrate(version).map_err(|e| match e {
            StoreError::Corrupt { .. } => corrupt(),
            other => other,
        })?;
        Ok(store)
    }

    fn migrate(&mut self, from: u32) -> Result<()> {
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as u32)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "applied schema migration");
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA quick_check`: every page read, indexes not matched to tables; "ok" when sound.
    pub fn quick_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?)
    }

    /// `PRAGMA integrity_check`; "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self.conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Runs `f` in one immediate transaction. Used by bulk loaders (demo seed, bench) so
    /// that many inserts cost one fsync.
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// A store in a temporary folder with `n` pieces `AT-1`..`AT-n` at £100, for tests.
#[cfg(test)]
pub(crate) fn store_with_pieces(n: u32) -> (tempfile::TempDir, Store) {
    use crate::domain::{Currency, Edition, Money, Serial};
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    for i in 1..=n {
        let p = NewPiece {
            serial: Serial::parse(&format!("AT-{i}")).unwrap(),
            drop_id: None,
            edition: Edition::new(i, n).unwrap(),
            title: "Pendant".into(),
            maker: "Atelier".into(),
            materials: String::new(),
            origin_notes: String::new(),
            price: Money::new(10_000, Currency::GBP),
            assay_hash: None,
        };
        store.add_piece(&p, Utc::now()).unwrap();
    }
    (dir, store)
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_file_is_reported_corrupt_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.sqlite");
        let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, &garbage).unwrap();
        let err = Store::open(&path).err().expect("garbage must not open");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"));
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn an_emptied_store_is_refused_not_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.sqlite");
        std::fs::write(&path, b"").unwrap();
        let err = Store::open(&path).err().expect("an empty store file must not open");
        assert!(err.to_string().contains("is empty (0 bytes)") && err.to_string().contains("backup"), "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
        // A store that does not exist yet is created, as on a new kiosk.
        std::fs::remove_file(&path).unwrap();
        Store::open(&path).unwrap();
    }

    #[test]
    fn newer_schema_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 999).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).err().expect("newer schema must not open");
        assert!(matches!(err, StoreError::NewerSchema { found: 999, .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn opens_in_durable_wal_mode_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.sqlite");
        let store = Store::open(&path).unwrap();
        let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let sync: i64 = store.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous must be FULL");
        store.set_setting("stall", "Rose & Fern").unwrap();
        drop(store);
        let again = Store::open(&path).unwrap();
        assert_eq!(again.setting("stall").unwrap().as_deref(), Some("Rose & Fern"));
        assert_eq!(again.integrity_check().unwrap(), "ok");
    }
}
