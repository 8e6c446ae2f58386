//! The server's store: devices and their hashed tokens, every event received in each
//! device's order, which stall a piece is allocated to and who sold it, and the changes
//! kiosks pull. On SQLite (one file, the default) or PostgreSQL (many stalls); the rules
//! and their SQL are written once, over [`sql::Sql`].

mod accounts;
mod catalog;
mod conflicts;
mod members;
mod office;
mod orders;
mod pairing;
mod postgres;
mod reservations;
pub mod sales;
pub(crate) mod sql;
mod sqlite;
mod stalls;

pub use accounts::{AuditEntry, NewUser, Role, Session, Throttle, User, normal_email};
pub use catalog::CatalogEdit;
pub use conflicts::{ConflictLine, Dealt};
pub use office::{PieceLine, PiecePage, PieceQuery, Standing, Summary};
pub use orders::{Handed, OrderLine};
pub use pairing::{ClaimError, Collected, Kiosk, normal_code};
pub use reservations::{NewOnline, ReservationLine, Reserved};
pub use stalls::{NotSent, Sent, StallLine};

use std::path::Path;

use sha2::{Digest, Sha256};

use self::postgres::PgDb;
use self::sql::{Row, Sql, vals};
use self::sqlite::SqliteDb;
use crate::wire::{
    Change, ChangeBody, ChangesPage, DeviceStatus, Event, EventResult, KeyChange, MAX_PAGE, MemberChange, Outcome,
    PieceChange, PieceStateChange, Reason, ShipmentChange, StallStatus,
};
use marketday_provenance::dispatch::ProofRecord;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("storage: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("storage: {0}")]
    Storage(String),
    #[error("expected event {expected} next, got {got}")]
    Gap { expected: i64, got: i64 },
    #[error(
        "sequence number {seq} already holds another event from this device (the cloud has its events up to \
         {held}): the kiosk's store is older than what it sent before"
    )]
    SeqReused { seq: i64, held: i64 },
    #[error("event {0} was already received from another device or position")]
    IdReused(uuid::Uuid),
    #[error("{0}")]
    Invalid(String),
    /// The piece was published again between a page reading it and this write: the write
    /// would have undone that change, so nothing was written.
    #[error("{0} was changed by someone else at the same moment")]
    Changed(String),
}

/// A registered kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub atelier: String,
    pub stall: String,
}

impl Device {
    fn read(row: &Row) -> Result<Device, DbError> {
        Ok(Device { id: row.text(0)?, atelier: row.text(1)?, stall: row.text(2)? })
    }
}

/// A new device's bearer token: 192 random bits.
fn new_device_token() -> String {
    let mut secret = [0u8; 24];
    rand::fill(&mut secret);
    format!("mdk_{}", data_encoding::BASE32_NOPAD.encode(&secret).to_lowercase())
}

pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl Db {
    /// The SQLite file at `path`, created and migrated as needed.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        Db::Sqlite(SqliteDb::open(path)?).with_public_records()
    }

    /// The PostgreSQL database at `url`, migrated as needed.
    pub fn open_postgres(url: &str) -> Result<Db, DbError> {
        Db::Postgres(PgDb::open(url)?).with_public_records()
    }

    /// A store from before the public pages fills their tables once, from the changes and
    /// events it already holds, in the order it took them (migration 6 asks for it).
    fn with_public_records(self) -> Result<Db, DbError> {
        self.tx(|tx| {
            let asked = tx.query_opt("SELECT name FROM backfills WHERE name = 'public_records'", vals![])?;
            if asked.is_none() {
                return Ok(());
            }
            let rows = tx.query(
                "SELECT atelier, kind, data FROM changes WHERE kind IN ('piece', 'key') ORDER BY cursor",
                vals![],
            )?;
            for row in rows {
                let change = Change { cursor: 0, kind: row.text(1)?, data: parse_json(&row.text(2)?)? };
                if let Ok(Some(body)) = ChangeBody::read(&change) {
                    record_public(tx, &row.text(0)?, &body)?;
                }
            }
            let rows = tx.query(
                "SELECT e.payload, e.at, d.id, d.atelier, d.stall FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.kind = 'dispatch.recorded' ORDER BY e.received_at, e.device, e.seq",
                vals![],
            )?;
            for row in rows {
                let device = Device { id: row.text(2)?, atelier: row.text(3)?, stall: row.text(4)? };
                let payload = parse_json(&row.text(0)?)?;
                if let Some(Ok(record)) = payload.get("record").map(|r| serde_json::from_value(r.clone())) {
                    record_dispatch(tx, &device, &record, row.int(1)?)?;
                }
            }
            tx.execute("DELETE FROM backfills WHERE name = 'public_records'", vals![])?;
            Ok(())
        })?;
        self.with_catalog_columns()
    }

    /// The catalog's title and drop as columns, from what it holds (migration 7 asks).
    fn with_catalog_columns(self) -> Result<Db, DbError> {
        self.tx(|tx| {
            if tx.query_opt("SELECT name FROM backfills WHERE name = 'catalog_columns'", vals![])?.is_none() {
                return Ok(());
            }
            for row in tx.query("SELECT atelier, serial, data FROM catalog", vals![])? {
                let Ok(piece) = serde_json::from_str::<PieceChange>(&row.text(2)?) else { continue };
                tx.execute(
                    "UPDATE catalog SET title = $3, drop_id = $4 WHERE atelier = $1 AND serial = $2",
                    vals![row.text(0)?, row.text(1)?, piece.title, piece.drop_id],
                )?;
            }
            tx.execute("DELETE FROM backfills WHERE name = 'catalog_columns'", vals![])?;
            Ok(())
        })?;
        self.with_shipments()?.with_sale_keys()
    }

    /// Orders to ship, waitlist members and holds from the changes and events the store
    /// holds (migration 9 asks).
    fn with_shipments(self) -> Result<Db, DbError> {
        self.tx(|tx| {
            if tx.query_opt("SELECT name FROM backfills WHERE name = 'shipments'", vals![])?.is_none() {
                return Ok(());
            }
            let published =
                tx.query("SELECT atelier, stall, data FROM changes WHERE kind = 'shipment' ORDER BY cursor", vals![])?;
            for row in published {
                let Ok(shipment) = serde_json::from_str::<ShipmentChange>(&row.text(2)?) else { continue };
                orders::record_shipment(tx, &row.text(0)?, row.opt_text(1)?.as_deref(), &shipment, true)?;
            }
            let made = tx.query(
                "SELECT e.payload, e.at, d.atelier, d.stall FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.kind = 'shipment.created' ORDER BY e.received_at, e.device, e.seq",
                vals![],
            )?;
            for row in made {
                let p = parse_json(&row.text(0)?)?;
                let text = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                let pieces = p.get("pieces").and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok());
                let (Some(id), Some(buyer), Some(pieces)) = (text("id"), text("buyer"), pieces) else { continue };
                let shipment = ShipmentChange { id, buyer, pieces, created_at: row.int(1)? };
                orders::record_shipment(tx, &row.text(2)?, Some(&row.text(3)?), &shipment, false)?;
            }
            let published =
                tx.query("SELECT atelier, data FROM changes WHERE kind = 'member' ORDER BY cursor", vals![])?;
            for row in published {
                let Ok(member) = serde_json::from_str::<MemberChange>(&row.text(1)?) else { continue };
                members::record_member(tx, &row.text(0)?, &member)?;
            }
            let held = tx.query(
                "SELECT e.kind, e.payload, d.atelier, d.stall FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.kind LIKE 'reservation.%' ORDER BY e.received_at, e.device, e.seq",
                vals![],
            )?;
            for row in held {
                let payload = parse_json(&row.text(1)?)?;
                stalls::record_hold(tx, &row.text(2)?, &row.text(3)?, &row.text(0)?, &payload)?;
            }
            tx.execute("DELETE FROM backfills WHERE name = 'shipments'", vals![])?;
            Ok(())
        })?;
        Ok(self)
    }

    /// Every sale's receipt and serials as search keys (migration 9 asks), a few thousand
    /// sales a transaction, in the events' key order: a store may hold millions. A restart
    /// part-way starts again and keeps the keys already made.
    fn with_sale_keys(self) -> Result<Db, DbError> {
        const BATCH: i64 = 5_000;
        let asked = self.tx(|tx| tx.query_opt("SELECT name FROM backfills WHERE name = 'sale_keys'", vals![]))?;
        if asked.is_none() {
            return Ok(self);
        }
        let (mut device, mut seq) = (String::new(), 0_i64);
        loop {
            let last = self.tx(|tx| {
                let rows = tx.query(
                    "SELECT device, seq, atelier, payload FROM events
                     WHERE kind = 'sale.completed' AND (device, seq) > ($1, $2)
                     ORDER BY device, seq LIMIT $3",
                    vals![&device, seq, BATCH],
                )?;
                for row in &rows {
                    let payload = parse_json(&row.text(3)?)?;
                    sales::index_sale(tx, &row.text(2)?, &row.text(0)?, row.int(1)?, &payload)?;
                }
                rows.last().map(|r| Ok((r.text(0)?, r.int(1)?))).transpose()
            })?;
            match last {
                Some(next) => (device, seq) = next,
                None => break,
            }
        }
        self.tx(|tx| tx.execute("DELETE FROM backfills WHERE name = 'sale_keys'", vals![]))?;
        Ok(self)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    /// A transaction that reads, or writes only what no other writer's result depends on.
    fn tx<R>(&self, f: impl FnOnce(&mut dyn Sql) -> Result<R, DbError>) -> Result<R, DbError> {
        match self {
            Db::Sqlite(db) => db.transaction(false, f),
            Db::Postgres(db) => db.transaction(None, f),
        }
    }

    /// A transaction that writes the atelier's pieces, events or changes: one at a time per
    /// atelier.
    fn write<R>(&self, atelier: &str, f: impl FnOnce(&mut dyn Sql) -> Result<R, DbError>) -> Result<R, DbError> {
        match self {
            Db::Sqlite(db) => db.transaction(true, f),
            Db::Postgres(db) => db.transaction(Some(atelier), f),
        }
    }

    /// Registers a device and returns its bearer token; only the token's hash is kept.
    pub fn add_device(&self, id: &str, atelier: &str, stall: &str) -> Result<String, DbError> {
        let token = new_device_token();
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO devices(id, atelier, stall, token_sha256) VALUES ($1, $2, $3, $4)",
                vals![id, atelier, stall, token_hash(&token)],
            )
        })?;
        Ok(token)
    }

    pub fn device_by_token(&self, token: &str) -> Result<Option<Device>, DbError> {
        self.tx(|tx| {
            tx.query_opt("SELECT id, atelier, stall FROM devices WHERE token_sha256 = $1", vals![token_hash(token)])?
                .map(|r| Device::read(&r))
                .transpose()
        })
    }

    /// Allocates pieces to a stall: only that stall's sales of them are accepted.
    pub fn allocate(&self, atelier: &str, stall: &str, serials: &[String], now: i64) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            for serial in serials {
                tx.execute(
                    "INSERT INTO pieces(atelier, serial, stall) VALUES ($1, $2, $3)
                     ON CONFLICT(atelier, serial) DO UPDATE SET stall = excluded.stall",
                    vals![atelier, serial, stall],
                )?;
                publish_state(tx, atelier, serial, now)?;
            }
            Ok(())
        })
    }

    /// A sale in the online shop: refused like a stall's if another sale has the piece.
    pub fn sell_online(&self, atelier: &str, order: &str, serials: &[String], now: i64) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            for serial in serials {
                if let Some(other) = piece(tx, atelier, serial)?.and_then(|p| p.sold_sale).filter(|s| s != order) {
                    return Err(DbError::Invalid(format!("{serial} was already sold (sale {other})")));
                }
                mark_sold(tx, atelier, serial, order, "online", now, now)?;
            }
            Ok(())
        })
    }

    /// Publishes changes for the atelier's kiosks (`stall`: only that stall's), all or none.
    pub fn publish(&self, atelier: &str, stall: Option<&str>, changes: &[ChangeBody], now: i64) -> Result<(), DbError> {
        // A key that is not one would reach every kiosk and vouch for nothing: refuse the
        // whole batch, naming the change.
        for (n, change) in changes.iter().enumerate() {
            if let ChangeBody::Key(key) = change {
                key.trusted()
                    .map_err(|e| DbError::Invalid(format!("change {}: the key of {}: {e}", n + 1, key.atelier)))?;
            }
            // Nor a drop a kiosk would skip as unreadable.
            if let ChangeBody::Drop(d) = change
                && (d.id.trim().is_empty() || !(d.opens_at <= d.general_sale_at && d.general_sale_at <= d.closes_at))
            {
                return Err(DbError::Invalid(format!(
                    "change {}: drop '{}' needs an id and opens ≤ general sale ≤ closes",
                    n + 1,
                    d.id
                )));
            }
        }
        self.write(atelier, |tx| changes.iter().try_for_each(|change| append_change(tx, atelier, stall, change, now)))
    }

    /// Changes for a device after `since`, oldest first, at most `limit`.
    pub fn changes_since(&self, device: &Device, since: i64, limit: u32) -> Result<ChangesPage, DbError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT cursor, kind, data FROM changes
                 WHERE atelier = $1 AND (stall IS NULL OR stall = $2) AND cursor > $3
                 ORDER BY cursor LIMIT $4",
                vals![&device.atelier, &device.stall, since, i64::from(limit) + 1],
            )
        })?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let data = serde_json::from_str(&row.text(2)?).map_err(|e| DbError::Invalid(e.to_string()))?;
            changes.push(Change { cursor: row.int(0)?, kind: row.text(1)?, data });
        }
        let more = changes.len() > limit as usize;
        changes.truncate(limit as usize);
        let next = changes.last().map_or(since, |c| c.cursor);
        Ok(ChangesPage { stall: device.stall.clone(), changes, next, more })
    }

    /// Takes a batch of a device's events: each is kept once, in the device's order, with
    /// its outcome; all of the batch or none of it.
    pub fn ingest(
        &self,
        device: &Device,
        events: &[Event],
        pending: u64,
        now: i64,
    ) -> Result<(Vec<EventResult>, i64), DbError> {
        // Stored as a signed 64-bit count: a larger one is no real outbox, and must not wrap.
        let pending = i64::try_from(pending)
            .map_err(|_| DbError::Invalid(format!("pending = {pending} is not a number of waiting events")))?;
        self.write(&device.atelier, |tx| {
            let mut next = tx
                .query_opt("SELECT next_seq FROM devices WHERE id = $1", vals![&device.id])?
                .ok_or_else(|| DbError::Invalid(format!("no device {}", device.id)))?
                .int(0)?;
            let mut results = Vec::with_capacity(events.len());
            for event in events {
                let held = tx.query_opt(
                    "SELECT id, outcome, kind, at, payload FROM events WHERE device = $1 AND seq = $2",
                    vals![&device.id, event.seq],
                )?;
                if let Some(held) = held {
                    if held.text(0)? != event.id.to_string() {
                        return Err(DbError::SeqReused { seq: event.seq, held: next - 1 });
                    }
                    // Only the same event again is a repeat: other content under its id would
                    // otherwise be acknowledged and dropped without anyone knowing. Compared
                    // as the text stored (serde_json writes object keys sorted).
                    let payload = event.payload.to_string();
                    let same = held.text(2)? == event.kind && held.int(3)? == event.at && held.text(4)? == payload;
                    let outcome = if same {
                        serde_json::from_str(&held.text(1)?).map_err(|e| DbError::Invalid(e.to_string()))?
                    } else {
                        record_conflict(tx, device, event, &payload, now)?
                    };
                    results.push(EventResult { id: event.id, duplicate: true, outcome });
                    continue;
                }
                if event.seq != next {
                    return Err(DbError::Gap { expected: next, got: event.seq });
                }
                let outcome = apply(tx, device, event, now)?;
                let stored = serde_json::to_string(&outcome).expect("an outcome serialises");
                // An id is unique within the atelier: another atelier's ids are none of its business.
                let inserted = tx.execute(
                    "INSERT INTO events(device, atelier, seq, id, kind, at, payload, received_at, outcome)
                     VALUES ($1, $9, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(atelier, id) DO NOTHING",
                    vals![
                        &device.id,
                        event.seq,
                        event.id.to_string(),
                        &event.kind,
                        event.at,
                        event.payload.to_string(),
                        now,
                        stored,
                        &device.atelier
                    ],
                )?;
                if inserted == 0 {
                    return Err(DbError::IdReused(event.id));
                }
                if event.kind == "sale.completed" {
                    sales::index_sale(tx, &device.atelier, &device.id, event.seq, &event.payload)?;
                }
                next += 1;
                results.push(EventResult { id: event.id, duplicate: false, outcome });
            }
            tx.execute(
                "UPDATE devices SET next_seq = $2, pending = $3, last_seen = $4 WHERE id = $1",
                vals![&device.id, next, pending, now],
            )?;
            Ok((results, next))
        })
    }

    /// Notes a kiosk's contact with what it said of itself: its version (from its
    /// `User-Agent`) and its clock (from its `Date`), each kept when it said none.
    pub fn seen(&self, device: &Device, said: &Said, now: i64) -> Result<(), DbError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE devices SET last_seen = $2, version = COALESCE($3, version),
                                    clock_skew_s = COALESCE($4, clock_skew_s) WHERE id = $1",
                vals![&device.id, now, said.version.as_deref(), said.clock_skew_s],
            )
        })?;
        Ok(())
    }

    pub fn touch(&self, device: &Device, now: i64) -> Result<(), DbError> {
        self.tx(|tx| tx.execute("UPDATE devices SET last_seen = $2 WHERE id = $1", vals![&device.id, now]))?;
        Ok(())
    }

    /// A device's events as received, in order: (seq, id, kind, outcome JSON).
    pub fn events_of(&self, device: &str) -> Result<Vec<(i64, String, String, String)>, DbError> {
        let rows = self.tx(|tx| {
            tx.query("SELECT seq, id, kind, outcome FROM events WHERE device = $1 ORDER BY seq", vals![device])
        })?;
        rows.iter().map(|r| Ok((r.int(0)?, r.text(1)?, r.text(2)?, r.text(3)?))).collect()
    }

    /// Events received again with other content than the first time: (seq, id, kind, payload).
    pub fn conflicts_of(&self, device: &str) -> Result<Vec<(i64, String, String, String)>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT seq, id, kind, payload FROM event_conflicts WHERE device = $1 ORDER BY seq, received_at",
                vals![device],
            )
        })?;
        rows.iter().map(|r| Ok((r.int(0)?, r.text(1)?, r.text(2)?, r.text(3)?))).collect()
    }

    pub fn record_photo(&self, device: &Device, sha256: &str, size: u64, now: i64) -> Result<(), DbError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO photos(atelier, sha256, device, size, received_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                vals![&device.atelier, sha256, &device.id, size as i64, now],
            )
        })?;
        Ok(())
    }

    /// The atelier whose device sent the photo `sha256` before photos were kept apart by
    /// atelier (a data directory from an older server), if it was recorded.
    pub fn atelier_of_photo(&self, sha256: &str) -> Result<Option<String>, DbError> {
        self.tx(|tx| {
            tx.query_opt("SELECT atelier FROM photos WHERE sha256 = $1 ORDER BY received_at LIMIT 1", vals![sha256])?
                .map(|r| r.text(0))
                .transpose()
        })
    }

    /// Every atelier's record of the piece with this serial (a serial is the atelier's own,
    /// so two ateliers may have used one), for the public page; `atelier` narrows it to one.
    pub fn public_pieces(&self, serial: &str, atelier: Option<&str>) -> Result<Vec<PublicPiece>, DbError> {
        let serial = serial.trim().to_ascii_uppercase();
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT c.atelier, c.data, p.stall, p.sold_by, p.sold_at, p.returned_at, p.lost_at, p.dispatched_at
                 FROM catalog c LEFT JOIN pieces p ON p.atelier = c.atelier AND p.serial = c.serial
                 WHERE c.serial = $1 AND c.atelier = COALESCE($2, c.atelier) ORDER BY c.atelier",
                vals![serial, atelier],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(PublicPiece {
                    atelier: r.text(0)?,
                    catalog: serde_json::from_str(&r.text(1)?).map_err(|e| DbError::Invalid(e.to_string()))?,
                    stall: r.opt_text(2)?,
                    sold_by: r.opt_text(3)?,
                    sold_at: r.opt_int(4)?,
                    returned_at: r.opt_int(5)?,
                    lost_at: r.opt_int(6)?,
                    dispatched_at: r.opt_int(7)?,
                })
            })
            .collect()
    }

    /// The atelier keys published under this id (`KeyId`, hex), with their ateliers.
    pub fn keys_by_id(&self, key_id: &str) -> Result<Vec<(String, KeyChange)>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT atelier, data FROM atelier_keys WHERE key_id = $1 ORDER BY atelier",
                vals![key_id.to_ascii_lowercase()],
            )
        })?;
        rows.iter()
            .map(|r| Ok((r.text(0)?, serde_json::from_str(&r.text(1)?).map_err(|e| DbError::Invalid(e.to_string()))?)))
            .collect()
    }

    /// The proof of dispatch of `order` whose photo has this SHA-256, for the buyer's page.
    pub fn public_dispatch(&self, order: &str, sha256: &str) -> Result<Option<PublicDispatch>, DbError> {
        let row = self.tx(|tx| {
            tx.query_opt(
                "SELECT x.atelier, x.stall, x.record, d.signing_key FROM dispatches x
                 LEFT JOIN devices d ON d.id = x.device
                 WHERE x.photo_sha256 = $1 AND x.order_id = $2 ORDER BY x.received_at LIMIT 1",
                vals![sha256.to_ascii_lowercase(), order.trim().to_ascii_uppercase()],
            )
        })?;
        row.map(|r| {
            Ok(PublicDispatch {
                atelier: r.text(0)?,
                stall: r.text(1)?,
                record: serde_json::from_str(&r.text(2)?).map_err(|e| DbError::Invalid(e.to_string()))?,
                registered_key: r.opt_text(3)?,
            })
        })
        .transpose()
    }

    /// Every key published (of `atelier`, or of every atelier), with its atelier: what the
    /// static verifier carries.
    pub fn keys_of(&self, atelier: Option<&str>) -> Result<Vec<(String, KeyChange)>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT atelier, data FROM atelier_keys WHERE atelier = COALESCE($1, atelier) ORDER BY atelier, key_id",
                vals![atelier],
            )
        })?;
        rows.iter()
            .map(|r| Ok((r.text(0)?, serde_json::from_str(&r.text(1)?).map_err(|e| DbError::Invalid(e.to_string()))?)))
            .collect()
    }

    /// Reports a piece lost or stolen (`lost`), or found again: its public page says so.
    pub fn report_lost(&self, atelier: &str, serial: &str, lost: bool, now: i64) -> Result<(), DbError> {
        let serial = serial.trim().to_ascii_uppercase();
        self.write(atelier, |tx| {
            let known =
                tx.query_opt("SELECT 1 FROM catalog WHERE atelier = $1 AND serial = $2", vals![atelier, &serial])?;
            if known.is_none() {
                return Err(DbError::Invalid(format!("{atelier} has published no piece {serial}")));
            }
            tx.execute(
                "INSERT INTO pieces(atelier, serial, lost_at) VALUES ($1, $2, $3)
                 ON CONFLICT(atelier, serial) DO UPDATE SET lost_at = excluded.lost_at",
                vals![atelier, &serial, lost.then_some(now)],
            )?;
            Ok(())
        })
    }

    pub fn stall_status(&self, device: &Device) -> Result<StallStatus, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT d.id, d.last_seen, d.next_seq - 1, d.pending,
                        (SELECT count(*) FROM events e
                         WHERE e.device = d.id AND e.outcome LIKE '{\"status\":\"rejected\"%')
                 FROM devices d WHERE d.atelier = $1 AND d.stall = $2 ORDER BY d.id",
                vals![&device.atelier, &device.stall],
            )
        })?;
        let devices = rows
            .iter()
            .map(|r| {
                Ok(DeviceStatus {
                    device: r.text(0)?,
                    last_seen: r.opt_int(1)?,
                    received: r.int(2)?,
                    pending: r.int(3)?.max(0) as u64,
                    rejected: r.int(4)?,
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(StallStatus { atelier: device.atelier.clone(), stall: device.stall.clone(), devices })
    }
}

/// A proof of dispatch as the buyer's page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicDispatch {
    pub atelier: String,
    pub stall: String,
    pub record: ProofRecord,
    /// The signing key of the kiosk that pushed it, as first seen (hex).
    pub registered_key: Option<String>,
}

/// A piece as the public pages show it: its catalog entry and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicPiece {
    pub atelier: String,
    pub catalog: PieceChange,
    /// The stall it is allocated to.
    pub stall: Option<String>,
    /// The stall that sold it, or `online`.
    pub sold_by: Option<String>,
    /// When it was sold (ms since the epoch, UTC), while it is.
    pub sold_at: Option<i64>,
    /// When it was last returned.
    pub returned_at: Option<i64>,
    /// When it was reported lost or stolen, until it is found.
    pub lost_at: Option<i64>,
    /// When it was handed to a courier, while it stays sold.
    pub dispatched_at: Option<i64>,
}

/// Keeps the other version of an event the cloud already holds, once however often it is
/// sent, and answers for it: the first version stands.
fn record_conflict(
    tx: &mut dyn Sql,
    device: &Device,
    event: &Event,
    payload: &str,
    now: i64,
) -> Result<Outcome, DbError> {
    let content = format!("{}\n{}\n{payload}", event.kind, event.at);
    let content_sha256 = data_encoding::HEXLOWER.encode(&Sha256::digest(content.as_bytes()));
    tx.execute(
        "INSERT INTO event_conflicts(device, seq, id, content_sha256, kind, at, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        vals![&device.id, event.seq, event.id.to_string(), content_sha256, &event.kind, event.at, payload, now],
    )?;
    tracing::warn!(device = %device.id, seq = event.seq, id = %event.id, "event repeated with other content");
    Ok(Outcome::Rejected {
        reason: Reason::EventChanged,
        message: format!(
            "the cloud received event {} (sequence {}) before with other content; the first version stands and \
             this one is kept aside",
            event.id, event.seq
        ),
    })
}

/// A piece's row: where it is allocated and which sale has it.
struct Piece {
    stall: Option<String>,
    sold_sale: Option<String>,
}

fn piece(tx: &mut dyn Sql, atelier: &str, serial: &str) -> Result<Option<Piece>, DbError> {
    tx.query_opt("SELECT stall, sold_sale FROM pieces WHERE atelier = $1 AND serial = $2", vals![atelier, serial])?
        .map(|r| Ok(Piece { stall: r.opt_text(0)?, sold_sale: r.opt_text(1)? }))
        .transpose()
}

/// Marks a piece sold by `sale`, made by `by` (a stall, or `online`) at `at`.
fn mark_sold(
    tx: &mut dyn Sql,
    atelier: &str,
    serial: &str,
    sale: &str,
    by: &str,
    at: i64,
    now: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO pieces(atelier, serial, sold_sale, sold_by, sold_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT(atelier, serial) DO UPDATE
         SET sold_sale = excluded.sold_sale, sold_by = excluded.sold_by, sold_at = excluded.sold_at,
             dispatched_at = NULL",
        vals![atelier, serial, sale, by, at],
    )?;
    publish_state(tx, atelier, serial, now)
}

/// The authority rules: a sale is accepted only for pieces allocated to the device's stall
/// (or to none) and not already sold; voids and returns free the pieces again.
fn apply(tx: &mut dyn Sql, device: &Device, event: &Event, now: i64) -> Result<Outcome, DbError> {
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
                match piece(tx, &device.atelier, serial)? {
                    Some(Piece { stall: Some(stall), .. }) if stall != device.stall => {
                        return Ok(Outcome::Rejected {
                            reason: Reason::PieceAllocatedElsewhere,
                            message: format!("{serial} is allocated to the stall {stall}"),
                        });
                    }
                    Some(Piece { sold_sale: Some(other), .. }) if other != sale => {
                        return Ok(Outcome::Rejected {
                            reason: Reason::PieceSoldElsewhere,
                            message: format!("{serial} was already sold (sale {other})"),
                        });
                    }
                    _ => {}
                }
            }
            for serial in &serials {
                mark_sold(tx, &device.atelier, serial, sale, &device.stall, event.at, now)?;
            }
            Ok(Outcome::Accepted)
        }
        "shipment.created" => {
            let shipment = (|| {
                Some(ShipmentChange {
                    id: p.get("id")?.as_str()?.to_owned(),
                    buyer: p.get("buyer")?.as_str()?.to_owned(),
                    pieces: serials("pieces", None)?,
                    created_at: event.at,
                })
            })();
            let Some(shipment) = shipment else { return Ok(malformed("id, buyer and pieces")) };
            orders::record_shipment(tx, &device.atelier, Some(&device.stall), &shipment, false)?;
            Ok(Outcome::Accepted)
        }
        "reservation.created"
        | "reservation.extended"
        | "reservation.collected"
        | "reservation.released"
        | "reservation.expired"
        | "reservation.refused" => {
            stalls::record_hold(tx, &device.atelier, &device.stall, &event.kind, p)?;
            reservations::note_event(tx, &device.atelier, &event.kind, p, event.at)?;
            Ok(Outcome::Accepted)
        }
        "dispatch.recorded" => {
            // A record this version cannot read is still the kiosk's event, held as sent;
            // only the buyer's page goes without it.
            match p.get("record").map(|r| serde_json::from_value::<ProofRecord>(r.clone())) {
                Some(Ok(record)) => record_dispatch(tx, device, &record, event.at)?,
                _ => tracing::warn!(device = %device.id, seq = event.seq, "a dispatch record the page cannot read"),
            }
            Ok(Outcome::Accepted)
        }
        "sale.voided" | "sale.returned" => {
            let (Some(serials), Some(sale)) = (serials("serials", None), p.get("sale_id").and_then(|v| v.as_str()))
            else {
                return Ok(malformed("serials and sale_id"));
            };
            for serial in &serials {
                // A void undoes a mistake; a return is part of the piece's story.
                let returned_at = (event.kind == "sale.returned").then_some(event.at);
                let freed = tx.execute(
                    "UPDATE pieces SET sold_sale = NULL, sold_by = NULL, sold_at = NULL, dispatched_at = NULL,
                                       returned_at = COALESCE($4, returned_at)
                     WHERE atelier = $1 AND serial = $2 AND sold_sale = $3",
                    vals![&device.atelier, serial, sale, returned_at],
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
    tx: &mut dyn Sql,
    atelier: &str,
    stall: Option<&str>,
    change: &ChangeBody,
    now: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO changes(atelier, stall, kind, data, at) VALUES ($1, $2, $3, $4, $5)",
        vals![atelier, stall, change.kind(), change.data().to_string(), now],
    )?;
    match change {
        ChangeBody::Shipment(shipment) => orders::record_shipment(tx, atelier, stall, shipment, true)?,
        ChangeBody::Member(member) => members::record_member(tx, atelier, member)?,
        _ => {}
    }
    record_public(tx, atelier, change)
}

fn parse_json(text: &str) -> Result<serde_json::Value, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Invalid(e.to_string()))
}

/// Keeps what the public pages read of a published change: a piece's catalog entry, or an
/// atelier key under the id its certificates name. A key's revocation is never undone,
/// whatever is published after it.
fn record_public(tx: &mut dyn Sql, atelier: &str, change: &ChangeBody) -> Result<(), DbError> {
    match change {
        ChangeBody::Piece(piece) => {
            let serial = piece.serial.trim().to_ascii_uppercase();
            tx.execute(
                "INSERT INTO catalog(atelier, serial, data, title, drop_id) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT(atelier, serial) DO UPDATE
                 SET data = excluded.data, title = excluded.title, drop_id = excluded.drop_id",
                vals![
                    atelier,
                    serial,
                    serde_json::to_string(piece).expect("a piece serialises"),
                    piece.title.trim(),
                    piece.drop_id.as_deref()
                ],
            )?;
        }
        ChangeBody::Key(key) => {
            // `publish` refuses a key that is not one; a store from before it did may still
            // hold one in its changes, which the backfill passes over.
            let Some(id) = key_id_of(&key.public_key) else { return Ok(()) };
            let mut key = key.clone();
            let held =
                tx.query_opt("SELECT data FROM atelier_keys WHERE atelier = $1 AND key_id = $2", vals![atelier, &id])?;
            if let Some(held) = held {
                let held: KeyChange =
                    serde_json::from_str(&held.text(0)?).map_err(|e| DbError::Invalid(e.to_string()))?;
                if held.revoked_on.is_some() {
                    key.revoked_on = held.revoked_on;
                    key.revoked_reason = held.revoked_reason;
                }
            }
            tx.execute(
                "INSERT INTO atelier_keys(atelier, key_id, data) VALUES ($1, $2, $3)
                 ON CONFLICT(atelier, key_id) DO UPDATE SET data = excluded.data",
                vals![atelier, id, serde_json::to_string(&key).expect("a key serialises")],
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// Keeps a proof of dispatch for the buyer's page, and the kiosk's signing key as first
/// seen: the record came under the device's own token, so the key is the one that kiosk
/// signs with, and a later record under another key is told apart.
fn record_dispatch(tx: &mut dyn Sql, device: &Device, record: &ProofRecord, at: i64) -> Result<(), DbError> {
    for serial in &record.pieces {
        tx.execute(
            "UPDATE pieces SET dispatched_at = $3 WHERE atelier = $1 AND serial = $2 AND sold_sale IS NOT NULL",
            vals![&device.atelier, serial.trim().to_ascii_uppercase(), at],
        )?;
    }
    tx.execute(
        "UPDATE devices SET signing_key = $2 WHERE id = $1 AND signing_key IS NULL",
        vals![&device.id, record.device_key.to_ascii_lowercase()],
    )?;
    tx.execute(
        "INSERT INTO dispatches(atelier, photo_sha256, order_id, device, stall, record, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        vals![
            &device.atelier,
            record.photo_sha256.to_ascii_lowercase(),
            record.order.trim().to_ascii_uppercase(),
            &device.id,
            &device.stall,
            serde_json::to_string(record).expect("a record serialises"),
            at
        ],
    )?;
    Ok(())
}

/// What a kiosk's request says of the kiosk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said {
    pub version: Option<String>,
    pub clock_skew_s: Option<i64>,
}

impl Said {
    /// From a request's `User-Agent` (`marketday/0.4.1`) and `Date` (an HTTP date), read
    /// `now` (ms). Anything else is not said: a proxy's agent names no kiosk version.
    pub fn of(user_agent: Option<&str>, date: Option<&str>, now: i64) -> Said {
        let version = user_agent
            .and_then(|ua| ua.trim().strip_prefix("marketday/"))
            .filter(|v| !v.is_empty() && v.len() <= 40 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned);
        let clock_skew_s = date
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok())
            .map(|kiosk| (kiosk.timestamp_millis() - now).div_euclid(1000));
        Said { version, clock_skew_s }
    }
}

/// The id a certificate names its key by (`KeyId`, hex), from the key's 64 hex digits.
pub fn key_id_of(public_key_hex: &str) -> Option<String> {
    marketday_provenance::public_key(public_key_hex).ok().map(|key| marketday_provenance::KeyId::of(&key).to_string())
}

/// Tells every stall where a piece now stands, in the transaction that changed it.
fn publish_state(tx: &mut dyn Sql, atelier: &str, serial: &str, now: i64) -> Result<(), DbError> {
    let row = tx
        .query_opt("SELECT stall, sold_by FROM pieces WHERE atelier = $1 AND serial = $2", vals![atelier, serial])?
        .ok_or_else(|| DbError::Invalid(format!("no piece {serial}")))?;
    let change = ChangeBody::PieceState(PieceStateChange {
        serial: serial.to_owned(),
        allocated_to: row.opt_text(0)?,
        sold_by: row.opt_text(1)?,
    });
    append_change(tx, atelier, None, &change, now)
}

#[cfg(test)]
mod said_tests {
    use super::Said;

    #[test]
    fn a_kiosk_says_its_version_and_clock_and_nothing_else_counts() {
        // 2026-12-07 18:00:00 UTC.
        let now = 1_796_666_400_000;
        let said = Said::of(Some("marketday/0.4.1"), Some("Mon, 07 Dec 2026 18:03:00 GMT"), now);
        assert_eq!(said, Said { version: Some("0.4.1".into()), clock_skew_s: Some(180) });
        let behind = Said::of(None, Some("Mon, 07 Dec 2026 17:59:59 GMT"), now + 500);
        assert_eq!(behind, Said { version: None, clock_skew_s: Some(-2) });
        assert_eq!(Said::of(Some("curl/8.0"), Some("yesterday"), now), Said::default());
        assert_eq!(Said::of(Some("marketday/a b"), None, now).version, None, "no spaces in a version");
    }
}
