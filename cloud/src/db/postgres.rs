//! The store on PostgreSQL, for an atelier with many stalls and an online shop: a pool of
//! connections, so kiosks' requests do not queue behind one another.

use std::collections::HashMap;
use std::error::Error;
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{NoTls, Statement};
use r2d2_postgres::PostgresConnectionManager;
use sha2::{Digest, Sha256};

use super::DbError;
use super::sql::{Row, Sql, Value};

/// Schema migrations, in order; `marketday_schema.version` counts those applied. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: the schema SQLite reached in its two migrations.
    r#"
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    atelier      TEXT NOT NULL,
    stall        TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    next_seq     BIGINT NOT NULL DEFAULT 1,
    pending      BIGINT NOT NULL DEFAULT 0,
    last_seen    BIGINT
);
CREATE TABLE events (
    device      TEXT NOT NULL REFERENCES devices(id),
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE TABLE pieces (
    atelier   TEXT NOT NULL,
    serial    TEXT NOT NULL,
    stall     TEXT,
    sold_sale TEXT,
    sold_by   TEXT,
    PRIMARY KEY (atelier, serial)
);
CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    device      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE TABLE changes (
    cursor  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    atelier TEXT NOT NULL,
    -- NULL: for every stall of the atelier.
    stall   TEXT,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX changes_by_atelier ON changes(atelier, cursor);
"#,
    // 2: ateliers kept apart (SQLite's 3): an event id or a photo is unique within its
    // atelier; a repeat with other content is recorded.
    r#"
ALTER TABLE events ADD COLUMN atelier TEXT;
UPDATE events e SET atelier = d.atelier FROM devices d WHERE d.id = e.device;
UPDATE events SET atelier = '' WHERE atelier IS NULL;
ALTER TABLE events ALTER COLUMN atelier SET NOT NULL;
ALTER TABLE events DROP CONSTRAINT events_id_key;
ALTER TABLE events ADD CONSTRAINT events_atelier_id_key UNIQUE (atelier, id);
ALTER TABLE photos ADD COLUMN atelier TEXT;
UPDATE photos p SET atelier = d.atelier FROM devices d WHERE d.id = p.device;
UPDATE photos SET atelier = '' WHERE atelier IS NULL;
ALTER TABLE photos ALTER COLUMN atelier SET NOT NULL;
ALTER TABLE photos DROP CONSTRAINT photos_pkey;
ALTER TABLE photos ADD PRIMARY KEY (atelier, sha256);
CREATE TABLE event_conflicts (
    device         TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    id             TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    kind           TEXT NOT NULL,
    at             BIGINT NOT NULL,
    payload        TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    PRIMARY KEY (device, seq, content_sha256)
);
"#,
    // 4: what the public pages read (see the SQLite store's migration 4).
    r#"
CREATE TABLE catalog (
    atelier TEXT NOT NULL,
    serial  TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (atelier, serial)
);
CREATE INDEX catalog_by_serial ON catalog(serial);
CREATE TABLE atelier_keys (
    atelier TEXT NOT NULL,
    key_id  TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (atelier, key_id)
);
CREATE INDEX atelier_keys_by_id ON atelier_keys(key_id);
ALTER TABLE pieces ADD COLUMN sold_at BIGINT;
ALTER TABLE pieces ADD COLUMN returned_at BIGINT;
-- When the atelier reported it lost or stolen; NULL once found again.
ALTER TABLE pieces ADD COLUMN lost_at BIGINT;
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
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (atelier, photo_sha256)
);
CREATE INDEX dispatches_by_photo ON dispatches(photo_sha256);
ALTER TABLE devices ADD COLUMN signing_key TEXT;
"#,
    // 6: work the server does once, in Rust, after migrating: the public pages' tables
    // filled from the changes and events an older store already holds; and when a sold
    // piece went to a courier.
    r#"
CREATE TABLE backfills (name TEXT PRIMARY KEY);
INSERT INTO backfills(name) VALUES ('public_records');
-- When a sold piece was handed to a courier, while it stays sold.
ALTER TABLE pieces ADD COLUMN dispatched_at BIGINT;
"#,
    // 7: the back office's people: owners and staff of an atelier (Argon2id hashes), their
    // sessions (only a hash of the cookie's token), failed sign-ins for throttling, and the
    // audit of who changed what; the catalog's title and drop as columns, for its list; kiosks
    // revoked, and kiosks pairing by a code.
    r#"
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    atelier       TEXT NOT NULL,
    -- Lower case: one address, one account.
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- Set when an owner removes the account: it can no longer sign in; its audit stays.
    removed_at    BIGINT
);
CREATE INDEX users_by_atelier ON users(atelier);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE login_failures (
    -- 'account' (an email) or 'address' (an IP address).
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures(scope, key, at);
CREATE TABLE audit (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    atelier TEXT NOT NULL,
    -- Who: a user's email, or 'command line'.
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX audit_by_atelier ON audit(atelier, id);
-- The pieces list searches and filters by these; filled from `data` once, then as published.
ALTER TABLE catalog ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog ADD COLUMN drop_id TEXT;
CREATE INDEX catalog_by_atelier ON catalog(atelier, serial);
INSERT INTO backfills(name) VALUES ('catalog_columns');
-- A revoked kiosk's token hash is replaced, so it opens nothing; the row and its events stay.
ALTER TABLE devices ADD COLUMN revoked_at BIGINT;
-- A kiosk asking to be paired: the code an owner types, the hash of the secret the kiosk
-- polls with, and, once claimed, where it goes. The token is made when the kiosk collects it.
CREATE TABLE pairings (
    code         TEXT PRIMARY KEY,
    poll_sha256  TEXT NOT NULL UNIQUE,
    address      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    atelier      TEXT,
    stall        TEXT,
    device       TEXT,
    claimed_by   TEXT,
    delivered_at BIGINT
);
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
    at       BIGINT NOT NULL,
    PRIMARY KEY (atelier, event_id)
);
CREATE INDEX events_refused ON events(atelier, at) WHERE outcome <> '{"status":"accepted"}';
-- Orders a stall is to hand to a courier: published to it, or made by its kiosk.
CREATE TABLE shipments (
    atelier    TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    stall      TEXT,
    buyer      TEXT NOT NULL,
    pieces     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- 1 when published to the stall, 0 when its kiosk made it.
    published  BIGINT NOT NULL,
    PRIMARY KEY (atelier, order_id)
);
CREATE INDEX dispatches_by_order ON dispatches(atelier, order_id);
-- Waitlist members as last published, for the members page.
CREATE TABLE members (
    atelier  TEXT NOT NULL,
    id       TEXT NOT NULL,
    name     TEXT NOT NULL,
    email    TEXT NOT NULL,
    waitlist TEXT NOT NULL,
    PRIMARY KEY (atelier, id)
);
INSERT INTO backfills(name) VALUES ('shipments');
-- Pieces a stall holds for a customer (a hold or a reservation), from its kiosk's events.
CREATE TABLE holds (
    atelier    TEXT NOT NULL,
    id         TEXT NOT NULL,
    serial     TEXT NOT NULL,
    stall      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (atelier, id)
);
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
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    state            TEXT NOT NULL,
    state_at         BIGINT NOT NULL,
    PRIMARY KEY (atelier, id),
    UNIQUE (atelier, code)
);
-- Each sale found by its receipt (`DEVICE-SEQ`) and by each serial it sold, upper-case, so
-- the sales list finds one among a million without reading them (filled by a backfill).
CREATE TABLE sale_keys (
    atelier TEXT NOT NULL,
    key     TEXT NOT NULL,
    device  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (atelier, key, device, seq)
);
INSERT INTO backfills(name) VALUES ('sale_keys');
-- What each kiosk last said of itself: its software's version, and its clock against ours.
ALTER TABLE devices ADD COLUMN version TEXT;
ALTER TABLE devices ADD COLUMN clock_skew_s BIGINT;
"#,
    r#"
-- Each atelier's time zone (an IANA name) by which the office counts its days and shows its
-- times; an atelier without a row counts in UTC.
CREATE TABLE atelier_settings (
    atelier   TEXT PRIMARY KEY,
    time_zone TEXT NOT NULL
);
"#,
];

/// Taken while migrating, so two servers starting together do not both migrate.
const MIGRATION_LOCK: i64 = 0x6d61_726b_6574;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

pub struct PgDb {
    // Always Some; taken on drop.
    pool: Option<Pool>,
}

impl Drop for PgDb {
    // Closing a synchronous client blocks on its own runtime, which tokio forbids on a
    // thread driving async tasks, where a server's last handle to the store may well go.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            std::thread::scope(|s| {
                s.spawn(move || drop(pool));
            });
        }
    }
}

impl PgDb {
    /// Connects to `url` (`postgres://user:password@host/database`) and brings its schema up
    /// to date.
    pub fn open(url: &str) -> Result<PgDb, DbError> {
        let config: postgres::Config =
            url.parse().map_err(|e| DbError::Invalid(format!("not a PostgreSQL URL ({e}): {}", redact(url))))?;
        let pool = r2d2::Pool::builder()
            .max_size(16)
            .connection_timeout(Duration::from_secs(5))
            .build(PostgresConnectionManager::new(config, NoTls))
            .map_err(|e| DbError::Storage(format!("cannot connect to PostgreSQL at {}: {e}", redact(url))))?;
        let db = PgDb { pool: Some(pool) };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.connection()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS marketday_schema (version BIGINT NOT NULL)")?;
        let done = match tx.query_opt("SELECT version FROM marketday_schema", &[])? {
            Some(row) => row.get::<_, i64>(0) as usize,
            None => {
                tx.execute("INSERT INTO marketday_schema(version) VALUES (0)", &[])?;
                0
            }
        };
        if done > MIGRATIONS.len() {
            return Err(DbError::Invalid(format!(
                "the database was written by a newer marketday-cloud (schema {done}); upgrade this server"
            )));
        }
        for (n, migration) in MIGRATIONS.iter().enumerate().skip(done) {
            tx.batch_execute(migration)?;
            tx.execute("UPDATE marketday_schema SET version = $1", &[&((n + 1) as i64)])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, DbError> {
        self.pool
            .as_ref()
            .expect("the pool lives as long as the store")
            .get()
            .map_err(|e| DbError::Storage(format!("no PostgreSQL connection: {e}")))
    }

    /// Runs `f` in one transaction, committed if it succeeds. Writers of one atelier take
    /// its lock first: they see each other's work whole, and the atelier's change cursors
    /// are handed out in commit order, so a kiosk reading changes never skips one that
    /// commits late.
    pub fn transaction<R>(
        &self,
        writes_to: Option<&str>,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let mut conn = self.connection()?;
        let mut tx = PgTx { tx: conn.transaction()?, prepared: HashMap::new() };
        if let Some(atelier) = writes_to {
            tx.tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(atelier)])?;
        }
        let result = f(&mut tx)?;
        tx.tx.commit()?;
        Ok(result)
    }
}

fn lock_key(atelier: &str) -> i64 {
    let digest = Sha256::digest(atelier.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 has 8 bytes"))
}

/// The connection string without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        (Some(_), _) => url.to_owned(),
        // key=value form
        (None, _) => url
            .split_whitespace()
            .map(|kv| if kv.starts_with("password=") { "password=***" } else { kv })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

struct PgTx<'c> {
    tx: postgres::Transaction<'c>,
    // Prepared once per transaction: a batch of events runs the same few statements
    // hundreds of times, and an unprepared statement costs a round trip more.
    prepared: HashMap<String, Statement>,
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.prepared.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Sql for PgTx<'_> {
    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, DbError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.execute(&statement, &params(values))?)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, DbError> {
        let statement = self.statement(sql)?;
        let rows = self.tx.query(&statement, &params(values))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let ty = row.columns()[i].type_();
                        Ok(if *ty == Type::INT8 {
                            row.try_get::<_, Option<i64>>(i)?.into()
                        } else if *ty == Type::INT4 {
                            row.try_get::<_, Option<i32>>(i)?.map(i64::from).into()
                        } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                            row.try_get::<_, Option<String>>(i)?.into()
                        } else {
                            return Err(DbError::Invalid(format!("column {i}: unexpected type {ty}")));
                        })
                    })
                    .collect::<Result<Vec<_>, DbError>>()
                    .map(Row)
            })
            .collect()
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
        }
    }

    // A NULL suits any column; a value is checked against the column's type below.
    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => v.to_sql_checked(ty, out),
            Value::Text(v) => v.to_sql_checked(ty, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_in_a_message_never_shows_its_password() {
        assert_eq!(redact("postgres://cloud:s3cret@db.example/marketday"), "postgres://cloud:***@db.example/marketday");
        assert_eq!(redact("host=/run/postgresql dbname=md"), "host=/run/postgresql dbname=md");
        assert_eq!(redact("host=db user=cloud password=s3cret dbname=md"), "host=db user=cloud password=*** dbname=md");
    }

    #[test]
    fn opening_fails_without_telling_the_password() {
        // Nothing listens on port 1; the pool gives up after its connection timeout.
        for url in ["postgres://cloud:s3cret@127.0.0.1:1/md", "postgres://cloud:s3cret@127.0.0.1:port/md"] {
            let Err(e) = PgDb::open(url) else { panic!("{url} opened") };
            let message = e.to_string();
            assert!(message.contains("postgres://cloud:***@127.0.0.1:"), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }
}
