//! The server's store (SQLite): devices and their hashed tokens, every event received in
//! each device's order, which stall a piece is allocated to and who sold it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::wire::{
    Change, ChangeBody, ChangesPage, DeviceStatus, Event, EventResult, MAX_PAGE, Outcome, PieceStateChange, Reason,
    StallStatus,
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("storage: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("expected event {expected} next, got {got}")]
    Gap { expected: i64, got: i64 },
    #[error("sequence number {seq} already holds another event")]
    SeqReused { seq: i64 },
    #[error("event {0} was already received from another device or position")]
    IdReused(uuid::Uuid),
    #[error("{0}")]
    Invalid(String),
}

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

/// A registered kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub atelier: String,
    pub stall: String,
}

pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

pub struct Db {
    conn: Connection,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
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
        Ok(Db { conn })
    }

    /// Registers a device and returns its bearer token; only the token's hash is kept.
    pub fn add_device(&mut self, id: &str, atelier: &str, stall: &str) -> Result<String, DbError> {
        let mut secret = [0u8; 24];
        rand::fill(&mut secret);
        let token = format!("mdk_{}", data_encoding::BASE32_NOPAD.encode(&secret).to_lowercase());
        self.conn.execute(
            "INSERT INTO devices(id, atelier, stall, token_sha256) VALUES (?1, ?2, ?3, ?4)",
            params![id, atelier, stall, token_hash(&token)],
        )?;
        Ok(token)
    }

    pub fn device_by_token(&self, token: &str) -> Result<Option<Device>, DbError> {
        Ok(self
            .conn
            .query_row("SELECT id, atelier, stall FROM devices WHERE token_sha256 = ?1", [token_hash(token)], |r| {
                Ok(Device { id: r.get(0)?, atelier: r.get(1)?, stall: r.get(2)? })
            })
            .optional()?)
    }

    /// Allocates pieces to a stall: only that stall's sales of them are accepted.
    pub fn allocate(&mut self, atelier: &str, stall: &str, serials: &[String], now: i64) -> Result<(), DbError> {
        let tx = self.conn.transaction()?;
        for serial in serials {
            tx.execute(
                "INSERT INTO pieces(atelier, serial, stall) VALUES (?1, ?2, ?3)
                 ON CONFLICT(atelier, serial) DO UPDATE SET stall = excluded.stall",
                params![atelier, serial, stall],
            )?;
            publish_state(&tx, atelier, serial, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A sale in the online shop: refused like a stall's if another sale has the piece.
    pub fn sell_online(&mut self, atelier: &str, order: &str, serials: &[String], now: i64) -> Result<(), DbError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for serial in serials {
            let sold: Option<String> = tx
                .query_row(
                    "SELECT sold_sale FROM pieces WHERE atelier = ?1 AND serial = ?2",
                    params![atelier, serial],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            if let Some(other) = sold.filter(|s| s != order) {
                return Err(DbError::Invalid(format!("{serial} was already sold (sale {other})")));
            }
            tx.execute(
                "INSERT INTO pieces(atelier, serial, sold_sale, sold_by) VALUES (?1, ?2, ?3, 'online')
                 ON CONFLICT(atelier, serial) DO UPDATE SET sold_sale = excluded.sold_sale, sold_by = 'online'",
                params![atelier, serial, order],
            )?;
            publish_state(&tx, atelier, serial, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Publishes changes for the atelier's kiosks (`stall`: only that stall's), all or none.
    pub fn publish(
        &mut self,
        atelier: &str,
        stall: Option<&str>,
        changes: &[ChangeBody],
        now: i64,
    ) -> Result<(), DbError> {
        let tx = self.conn.transaction()?;
        for change in changes {
            append_change(&tx, atelier, stall, change, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Changes for a device after `since`, oldest first, at most `limit`.
    pub fn changes_since(&self, device: &Device, since: i64, limit: u32) -> Result<ChangesPage, DbError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut stmt = self.conn.prepare_cached(
            "SELECT cursor, kind, data FROM changes
             WHERE atelier = ?1 AND (stall IS NULL OR stall = ?2) AND cursor > ?3
             ORDER BY cursor LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![device.atelier, device.stall, since, limit + 1], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        let mut changes = Vec::new();
        for row in rows {
            let (cursor, kind, data) = row?;
            let data = serde_json::from_str(&data).map_err(|e| DbError::Invalid(e.to_string()))?;
            changes.push(Change { cursor, kind, data });
        }
        let more = changes.len() > limit as usize;
        changes.truncate(limit as usize);
        let next = changes.last().map_or(since, |c| c.cursor);
        Ok(ChangesPage { stall: device.stall.clone(), changes, next, more })
    }

    /// Takes a batch of a device's events: each is kept once, in the device's order, with
    /// its outcome; all of the batch or none of it.
    pub fn ingest(
        &mut self,
        device: &Device,
        events: &[Event],
        pending: u64,
        now: i64,
    ) -> Result<(Vec<EventResult>, i64), DbError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut next: i64 = tx.query_row("SELECT next_seq FROM devices WHERE id = ?1", [&device.id], |r| r.get(0))?;
        let mut results = Vec::with_capacity(events.len());
        for event in events {
            let held: Option<(String, String)> = tx
                .query_row(
                    "SELECT id, outcome FROM events WHERE device = ?1 AND seq = ?2",
                    params![device.id, event.seq],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((id, outcome)) = held {
                if id != event.id.to_string() {
                    return Err(DbError::SeqReused { seq: event.seq });
                }
                let outcome = serde_json::from_str(&outcome).map_err(|e| DbError::Invalid(e.to_string()))?;
                results.push(EventResult { id: event.id, duplicate: true, outcome });
                continue;
            }
            if event.seq != next {
                return Err(DbError::Gap { expected: next, got: event.seq });
            }
            let outcome = apply(&tx, device, event, now)?;
            let stored = serde_json::to_string(&outcome).expect("an outcome serialises");
            let inserted = tx.execute(
                "INSERT INTO events(device, seq, id, kind, at, payload, received_at, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING",
                params![
                    device.id,
                    event.seq,
                    event.id.to_string(),
                    event.kind,
                    event.at,
                    event.payload.to_string(),
                    now,
                    stored
                ],
            )?;
            if inserted == 0 {
                return Err(DbError::IdReused(event.id));
            }
            next += 1;
            results.push(EventResult { id: event.id, duplicate: false, outcome });
        }
        tx.execute(
            "UPDATE devices SET next_seq = ?2, pending = ?3, last_seen = ?4 WHERE id = ?1",
            params![device.id, next, pending as i64, now],
        )?;
        tx.commit()?;
        Ok((results, next))
    }

    pub fn touch(&self, device: &Device, now: i64) -> Result<(), DbError> {
        self.conn.execute("UPDATE devices SET last_seen = ?2 WHERE id = ?1", params![device.id, now])?;
        Ok(())
    }

    /// A device's events as received, in order: (seq, id, kind, outcome JSON).
    pub fn events_of(&self, device: &str) -> Result<Vec<(i64, String, String, String)>, DbError> {
        let mut stmt = self.conn.prepare("SELECT seq, id, kind, outcome FROM events WHERE device = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([device], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn record_photo(&self, device: &Device, sha256: &str, size: u64, now: i64) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO photos(sha256, device, size, received_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![sha256, device.id, size as i64, now],
        )?;
        Ok(())
    }

    pub fn stall_status(&self, device: &Device) -> Result<StallStatus, DbError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.last_seen, d.next_seq - 1, d.pending,
                    (SELECT count(*) FROM events e WHERE e.device = d.id AND e.outcome LIKE '{\"status\":\"rejected\"%')
             FROM devices d WHERE d.atelier = ?1 AND d.stall = ?2 ORDER BY d.id",
        )?;
        let rows = stmt.query_map(params![device.atelier, device.stall], |r| {
            Ok(DeviceStatus {
                device: r.get(0)?,
                last_seen: r.get(1)?,
                received: r.get(2)?,
                pending: r.get::<_, i64>(3)?.max(0) as u64,
                rejected: r.get(4)?,
            })
        })?;
        Ok(StallStatus {
            atelier: device.atelier.clone(),
            stall: device.stall.clone(),
            devices: rows.collect::<Result<_, _>>()?,
        })
    }
}

/// The authority rules: a sale is accepted only for pieces allocated to the device's stall
/// (or to none) and not already sold; voids and returns free the pieces again.
fn apply(tx: &rusqlite::Transaction<'_>, device: &Device, event: &Event, now: i64) -> Result<Outcome, DbError> {
    let p = &event.payload;
    let serials = |key: &str, field: Option<&str>| -> Option<Vec<String>> {
        p.get(key)?
            .as_array()?
            .iter()
            .map(|v| match field {
                Some(f) => v.get(f)?.as_str().map(str::to_owned),
                None => v.as_str().map(str::to_owned),
            })
            .collect()
    };
    let malformed =
        |what: &str| Outcome::Rejected { reason: Reason::Malformed, message: format!("{} without {what}", event.kind) };
    match event.kind.as_str() {
        "sale.completed" => {
            let (Some(serials), Some(sale)) = (serials("lines", Some("serial")), p.get("id").and_then(|v| v.as_str()))
            else {
                return Ok(malformed("lines and id"));
            };
            for serial in &serials {
                let piece: Option<(Option<String>, Option<String>)> = tx
                    .query_row(
                        "SELECT stall, sold_sale FROM pieces WHERE atelier = ?1 AND serial = ?2",
                        params![device.atelier, serial],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                match piece {
                    Some((Some(stall), _)) if stall != device.stall => {
                        return Ok(Outcome::Rejected {
                            reason: Reason::PieceAllocatedElsewhere,
                            message: format!("{serial} is allocated to the stall {stall}"),
                        });
                    }
                    Some((_, Some(other))) if other != sale => {
                        return Ok(Outcome::Rejected {
                            reason: Reason::PieceSoldElsewhere,
                            message: format!("{serial} was already sold (sale {other})"),
                        });
                    }
                    _ => {}
                }
            }
            for serial in &serials {
                tx.execute(
                    "INSERT INTO pieces(atelier, serial, sold_sale, sold_by) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(atelier, serial) DO UPDATE SET sold_sale = excluded.sold_sale,
                         sold_by = excluded.sold_by",
                    params![device.atelier, serial, sale, device.stall],
                )?;
                publish_state(tx, &device.atelier, serial, now)?;
            }
            Ok(Outcome::Accepted)
        }
        "sale.voided" | "sale.returned" => {
            let (Some(serials), Some(sale)) = (serials("serials", None), p.get("sale_id").and_then(|v| v.as_str()))
            else {
                return Ok(malformed("serials and sale_id"));
            };
            for serial in &serials {
                let freed = tx.execute(
                    "UPDATE pieces SET sold_sale = NULL, sold_by = NULL
                     WHERE atelier = ?1 AND serial = ?2 AND sold_sale = ?3",
                    params![device.atelier, serial, sale],
                )?;
                if freed > 0 {
                    publish_state(tx, &device.atelier, serial, now)?;
                }
            }
            Ok(Outcome::Accepted)
        }
        _ => Ok(Outcome::Accepted),
    }
}

fn append_change(
    tx: &rusqlite::Transaction<'_>,
    atelier: &str,
    stall: Option<&str>,
    change: &ChangeBody,
    now: i64,
) -> Result<(), DbError> {
    tx.prepare_cached("INSERT INTO changes(atelier, stall, kind, data, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![atelier, stall, change.kind(), change.data().to_string(), now])?;
    Ok(())
}

/// Tells every stall where a piece now stands, in the transaction that changed it.
fn publish_state(tx: &rusqlite::Transaction<'_>, atelier: &str, serial: &str, now: i64) -> Result<(), DbError> {
    let (allocated_to, sold_by) = tx.query_row(
        "SELECT stall, sold_by FROM pieces WHERE atelier = ?1 AND serial = ?2",
        params![atelier, serial],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let change = ChangeBody::PieceState(PieceStateChange { serial: serial.to_owned(), allocated_to, sold_by });
    append_change(tx, atelier, None, &change, now)?;
    Ok(())
}
