//! The store on SQLite: one file, one writer at a time (the default, for one atelier).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use super::DbError;
use super::sql::{Row, Sql, Value};

/// Schema migrations, in order; `PRAGMA user_version` counts those applied. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: devices, events, pieces' authority, photos.
    r#"
CREATE TABLE IF NOT EXISTS devices (
    id           TEXT PRIMARY KEY,
    atelier      TEXT NOT NULL,
    stall        TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    next_seq     INTEGER NOT NULL DEFAULT 1,
    pending      INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS events (
    device      TEXT NOT NULL REFERENCES devices(id),
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (device, seq)
) STRICT;
CREATE TABLE IF NOT EXISTS pieces (
    atelier   TEXT NOT NULL,
    serial    TEXT NOT NULL,
    stall     TEXT,
    sold_sale TEXT,
    PRIMARY KEY (atelier, serial)
) STRICT;
CREATE TABLE IF NOT EXISTS photos (
    sha256      TEXT PRIMARY KEY,
    device      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
"#,
    // 2: what the atelier publishes for its kiosks to pull, and who sold a piece.
    r#"
CREATE TABLE changes (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    atelier TEXT NOT NULL,
    -- NULL: for every stall of the atelier.
    stall   TEXT,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_by_atelier ON changes(atelier, cursor);
ALTER TABLE pieces ADD COLUMN sold_by TEXT;
"#,
];

pub struct SqliteDb {
    conn: Mutex<Connection>,
}

impl SqliteDb {
    pub fn open(path: &Path) -> Result<SqliteDb, DbError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        let done = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if done > MIGRATIONS.len() {
            return Err(DbError::Invalid(format!(
                "{} was written by a newer marketday-cloud (schema {done}); upgrade this server",
                path.display()
            )));
        }
        for (n, migration) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = conn.transaction()?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", (n + 1) as i64)?;
            tx.commit()?;
        }
        Ok(SqliteDb { conn: Mutex::new(conn) })
    }

    /// Runs `f` in one transaction, committed if it succeeds. A writing transaction takes
    /// SQLite's write lock first, so its reads cannot go stale before it writes.
    pub fn transaction<R>(
        &self,
        write: bool,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let behavior = if write { TransactionBehavior::Immediate } else { TransactionBehavior::Deferred };
        let mut tx = SqliteTx(conn.transaction_with_behavior(behavior)?);
        let result = f(&mut tx)?;
        tx.0.commit()?;
        Ok(result)
    }
}

struct SqliteTx<'c>(rusqlite::Transaction<'c>);

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

/// `$1` is a named parameter to SQLite, numbered by first appearance; `?1` is numbered as
/// written, which is what PostgreSQL's `$1` means.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

impl Sql for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(&numbered(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.0.prepare_cached(&numbered(sql))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    other => {
                        return Err(DbError::Invalid(format!("column {i}: unexpected {:?}", other.data_type())));
                    }
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }
}
