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
    // 3: ateliers kept apart: an event id or a photo is unique within its atelier, so one
    // atelier's device learns nothing of another's; a repeat with other content is recorded.
    r#"
CREATE TABLE events_v3 (
    device      TEXT NOT NULL REFERENCES devices(id),
    atelier     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (device, seq),
    UNIQUE (atelier, id)
) STRICT;
INSERT INTO events_v3
    SELECT e.device, COALESCE(d.atelier, ''), e.seq, e.id, e.kind, e.at, e.payload, e.received_at, e.outcome
    FROM events e LEFT JOIN devices d ON d.id = e.device;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE TABLE photos_v3 (
    atelier     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    device      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (atelier, sha256)
) STRICT;
INSERT INTO photos_v3
    SELECT COALESCE(d.atelier, ''), p.sha256, p.device, p.size, p.received_at
    FROM photos p LEFT JOIN devices d ON d.id = p.device;
DROP TABLE photos;
ALTER TABLE photos_v3 RENAME TO photos;
CREATE TABLE event_conflicts (
    device         TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    id             TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    kind           TEXT NOT NULL,
    at             INTEGER NOT NULL,
    payload        TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    PRIMARY KEY (device, seq, content_sha256)
) STRICT;
"#,
    // 4: what the public pages read: each piece's catalog entry and each atelier key as last
    // published (keys by their id, as a certificate names them), and when a piece was sold
    // or last returned.
    r#"
CREATE TABLE catalog (
    atelier TEXT NOT NULL,
    serial  TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (atelier, serial)
) STRICT;
CREATE INDEX catalog_by_serial ON catalog(serial);
CREATE TABLE atelier_keys (
    atelier TEXT NOT NULL,
    key_id  TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (atelier, key_id)
) STRICT;
CREATE INDEX atelier_keys_by_id ON atelier_keys(key_id);
ALTER TABLE pieces ADD COLUMN sold_at INTEGER;
ALTER TABLE pieces ADD COLUMN returned_at INTEGER;
-- When the atelier reported it lost or stolen; NULL once found again.
ALTER TABLE pieces ADD COLUMN lost_at INTEGER;
"#,
    // 5: proofs of dispatch as the buyer's page reads them, and each kiosk's signing key as
    // first seen in a record it pushed under its own token.
    r#"
CREATE TABLE dispatches (
    atelier      TEXT NOT NULL,
    photo_sha256 TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    device       TEXT NOT NULL,
    stall        TEXT NOT NULL,
    record       TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (atelier, photo_sha256)
) STRICT;
CREATE INDEX dispatches_by_photo ON dispatches(photo_sha256);
ALTER TABLE devices ADD COLUMN signing_key TEXT;
"#,
    // 6: work the server does once, in Rust, after migrating: the public pages' tables
    // filled from the changes and events an older store already holds; and when a sold
    // piece went to a courier.
    r#"
CREATE TABLE backfills (name TEXT PRIMARY KEY) STRICT;
INSERT INTO backfills(name) VALUES ('public_records');
-- When a sold piece was handed to a courier, while it stays sold.
ALTER TABLE pieces ADD COLUMN dispatched_at INTEGER;
"#,
    // 7: the back office's people: owners and staff of an atelier (Argon2id hashes), their
    // sessions (only a hash of the cookie's token), failed sign-ins for throttling, and the
    // audit of who changed what; the catalog's title and drop as columns, for its list; kiosks
    // revoked, and kiosks pairing by a code.
    r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    atelier       TEXT NOT NULL,
    -- Lower case: one address, one account.
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Set when an owner removes the account: it can no longer sign in; its audit stays.
    removed_at    INTEGER
) STRICT;
CREATE INDEX users_by_atelier ON users(atelier);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    csrf         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE login_failures (
    -- 'account' (an email) or 'address' (an IP address).
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_by_key ON login_failures(scope, key, at);
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    atelier TEXT NOT NULL,
    -- Who: a user's email, or 'command line'.
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_by_atelier ON audit(atelier, id);
-- The pieces list searches and filters by these; filled from `data` once, then as published.
ALTER TABLE catalog ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog ADD COLUMN drop_id TEXT;
CREATE INDEX catalog_by_atelier ON catalog(atelier, serial);
INSERT INTO backfills(name) VALUES ('catalog_columns');
-- A revoked kiosk's token hash is replaced, so it opens nothing; the row and its events stay.
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
-- A kiosk asking to be paired: the code an owner types, the hash of the secret the kiosk
-- polls with, and, once claimed, where it goes. The token is made when the kiosk collects it.
CREATE TABLE pairings (
    code         TEXT PRIMARY KEY,
    poll_sha256  TEXT NOT NULL UNIQUE,
    address      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    atelier      TEXT,
    stall        TEXT,
    device       TEXT,
    claimed_by   TEXT,
    delivered_at INTEGER
) STRICT;
CREATE INDEX pairings_by_address ON pairings(address, created_at);
"#,
    // 8: the takings page reads a day of one atelier's sales, and voids since.
    r#"
CREATE INDEX events_by_atelier_kind_time ON events(atelier, kind, at);
"#,
    // 9: refused events the back office dealt with, and the refused events themselves
    // found without reading every accepted one (the conflicts page asks with this WHERE);
    // orders to ship and waitlist members, for their pages (filled from what the store
    // holds by a backfill).
    r#"
CREATE TABLE conflicts_dealt (
    atelier  TEXT NOT NULL,
    event_id TEXT NOT NULL,
    by_whom  TEXT NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (atelier, event_id)
) STRICT;
CREATE INDEX events_refused ON events(atelier, at) WHERE outcome <> '{"status":"accepted"}';
-- Orders a stall is to hand to a courier: published to it, or made by its kiosk.
CREATE TABLE shipments (
    atelier    TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    stall      TEXT,
    buyer      TEXT NOT NULL,
    pieces     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- 1 when published to the stall, 0 when its kiosk made it.
    published  INTEGER NOT NULL,
    PRIMARY KEY (atelier, order_id)
) STRICT;
CREATE INDEX dispatches_by_order ON dispatches(atelier, order_id);
-- Waitlist members as last published, for the members page.
CREATE TABLE members (
    atelier  TEXT NOT NULL,
    id       TEXT NOT NULL,
    name     TEXT NOT NULL,
    email    TEXT NOT NULL,
    waitlist TEXT NOT NULL,
    PRIMARY KEY (atelier, id)
) STRICT;
INSERT INTO backfills(name) VALUES ('shipments');
-- Pieces a stall holds for a customer (a hold or a reservation), from its kiosk's events.
CREATE TABLE holds (
    atelier    TEXT NOT NULL,
    id         TEXT NOT NULL,
    serial     TEXT NOT NULL,
    stall      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (atelier, id)
) STRICT;
CREATE INDEX holds_by_serial ON holds(atelier, serial);
-- Online reservations made in the back office, and what became of each at its stall.
CREATE TABLE reservations (
    atelier          TEXT NOT NULL,
    id               TEXT NOT NULL,
    code             TEXT NOT NULL,
    serial           TEXT NOT NULL,
    stall            TEXT NOT NULL,
    customer_name    TEXT NOT NULL,
    customer_contact TEXT NOT NULL,
    member_id        TEXT,
    expires_at       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    state            TEXT NOT NULL,
    state_at         INTEGER NOT NULL,
    PRIMARY KEY (atelier, id),
    UNIQUE (atelier, code)
) STRICT;
-- Each sale found by its receipt (`DEVICE-SEQ`) and by each serial it sold, upper-case, so
-- the sales list finds one among a million without reading them (filled by a backfill).
CREATE TABLE sale_keys (
    atelier TEXT NOT NULL,
    key     TEXT NOT NULL,
    device  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (atelier, key, device, seq)
) STRICT;
INSERT INTO backfills(name) VALUES ('sale_keys');
-- What each kiosk last said of itself: its software's version, and its clock against ours.
ALTER TABLE devices ADD COLUMN version TEXT;
ALTER TABLE devices ADD COLUMN clock_skew_s INTEGER;
"#,
    r#"
-- Each atelier's time zone (an IANA name) by which the office counts its days and shows its
-- times; an atelier without a row counts in UTC.
CREATE TABLE atelier_settings (
    atelier   TEXT PRIMARY KEY,
    time_zone TEXT NOT NULL
) STRICT;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// A store written by a server from before ateliers were kept apart keeps every event and
    /// photo record, each now under its device's atelier.
    #[test]
    fn a_store_from_before_ateliers_were_kept_apart_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cloud.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..2] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch(
                "INSERT INTO devices(id, atelier, stall, token_sha256, next_seq) VALUES ('K1', 'Thorne', 'S', 'h1', 3);
                 INSERT INTO events VALUES ('K1', 1, 'id-1', 'sale.completed', 1, '{}', 1, '{\"status\":\"accepted\"}');
                 INSERT INTO events VALUES ('K1', 2, 'id-2', 'sale.voided', 2, '{}', 2, '{\"status\":\"accepted\"}');
                 INSERT INTO photos VALUES ('ab', 'K1', 10, 3);",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let events = db.events_of("K1").unwrap();
        assert_eq!(events.iter().map(|e| (e.0, e.1.as_str())).collect::<Vec<_>>(), vec![(1, "id-1"), (2, "id-2")]);
        assert_eq!(db.atelier_of_photo("ab").unwrap().as_deref(), Some("Thorne"));
        let conn = Connection::open(&path).unwrap();
        let ateliers: Vec<String> = conn
            .prepare("SELECT atelier FROM events")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(ateliers, ["Thorne", "Thorne"]);
        assert_eq!(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), MIGRATIONS.len() as i64);
    }

    /// A store from before the public pages shows, once opened by this server, the pieces,
    /// keys and hand-overs it held: its tables are filled once from its changes and events.
    #[test]
    fn a_store_from_before_the_public_pages_fills_their_tables_once() {
        use marketday_provenance::dispatch::{Handover, sign};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cloud.sqlite");
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let public_key = data_encoding::HEXLOWER.encode(key.verifying_key().as_bytes());
        let handover = Handover {
            order: "web-7".into(),
            pieces: vec!["AT-1".into()],
            tracking_number: "JD1".into(),
            courier: "Royal Mail".into(),
            courier_name: "Sam".into(),
        };
        let at = chrono::DateTime::from_timestamp_millis(1_796_000_000_000).unwrap();
        let record = sign(&handover.checked().unwrap(), b"jpeg", at, "K1", &key);
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..3] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            let piece = r#"{"serial":"at-1","edition_number":1,"edition_size":2,"title":"Old title","price_minor":1,"currency":"GBP"}"#;
            let retitled = piece.replace("Old title", "New title");
            let key_change = format!(r#"{{"atelier":"Thorne","public_key":"{public_key}","valid_from":"2026-01-01"}}"#);
            let payload = serde_json::json!({ "record": record }).to_string();
            let mut insert = conn
                .prepare("INSERT INTO changes(atelier, stall, kind, data, at) VALUES ('Thorne', NULL, ?1, ?2, 1)")
                .unwrap();
            for (kind, data) in [("piece", piece), ("key", &key_change), ("piece", &retitled)] {
                insert.execute([kind, data]).unwrap();
            }
            conn.execute(
                "INSERT INTO devices(id, atelier, stall, token_sha256, next_seq) VALUES ('K1', 'Thorne', 'S', 'h1', 2)",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO events VALUES ('K1', 'Thorne', 1, 'id-1', 'dispatch.recorded', 5, ?1, 6, '{\"status\":\"accepted\"}')",
                [payload],
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let pieces = db.public_pieces("AT-1", None).unwrap();
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].catalog.title, "New title", "the last published entry stands");
        let id = marketday_provenance::KeyId::of(&key.verifying_key()).to_string();
        assert_eq!(db.keys_by_id(&id).unwrap().len(), 1);
        let dispatch = db.public_dispatch("WEB-7", &record.photo_sha256).unwrap().expect("the hand-over");
        assert_eq!((dispatch.record, dispatch.registered_key), (record, Some(public_key)));
        let conn = Connection::open(&path).unwrap();
        let left: i64 = conn.query_row("SELECT count(*) FROM backfills", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 0, "done once, not at every start");
    }
}
