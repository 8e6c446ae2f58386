//! Pieces, drops and waitlist members as the stall knows them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::{Result, Store, StoreError, from_ms, outbox, to_ms};
use crate::domain::{Currency, Drop, Edition, Member, Money, Piece, PieceStatus, Serial};

/// A piece as the catalog import or demo seed supplies it.
#[derive(Debug, Clone, Serialize)]
pub struct NewPiece {
    pub serial: Serial,
    pub drop_id: Option<String>,
    pub edition: Edition,
    pub title: String,
    pub maker: String,
    pub materials: String,
    pub origin_notes: String,
    pub price: Money,
    pub assay_hash: Option<String>,
}

/// What the Sell grid shows for one piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceTile {
    pub serial: Serial,
    pub edition: Edition,
    pub title: String,
    pub price: Money,
    pub status: PieceStatus,
    /// The SHA-256 of its photo, when the cloud published one.
    pub photo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropSummary {
    pub drop: Drop,
    pub pieces: u32,
    pub available: u32,
}

/// A piece's status as read: an available piece the cloud allocated to another stall
/// reads as `elsewhere`.
macro_rules! status_as_read {
    () => {
        "CASE WHEN status = 'available' AND away IS NOT NULL THEN 'elsewhere' ELSE status END"
    };
}

const PIECE_COLUMNS: &str = concat!(
    "serial, drop_id, edition_number, edition_size, title, maker, materials, origin_notes, price_minor, \
     currency, assay_hash, ",
    status_as_read!(),
    ", held_for"
);

fn piece_from_row(r: &Row<'_>) -> rusqlite::Result<Piece> {
    let bad =
        |i: usize, msg: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, msg.into());
    let serial: String = r.get(0)?;
    let currency: String = r.get(9)?;
    let status: String = r.get(11)?;
    Ok(Piece {
        serial: Serial::parse(&serial).map_err(|e| bad(0, e.to_string()))?,
        drop_id: r.get(1)?,
        edition: Edition::new(r.get(2)?, r.get(3)?).map_err(|e| bad(2, e.to_string()))?,
        title: r.get(4)?,
        maker: r.get(5)?,
        materials: r.get(6)?,
        origin_notes: r.get(7)?,
        price: Money::new(r.get(8)?, Currency::parse(&currency).map_err(|e| bad(9, e.to_string()))?),
        assay_hash: r.get(10)?,
        status: PieceStatus::parse(&status).ok_or_else(|| bad(11, status.clone()))?,
        held_for: r.get(12)?,
    })
}

fn drop_from_row(r: &Row<'_>) -> rusqlite::Result<Drop> {
    Ok(Drop {
        id: r.get(0)?,
        name: r.get(1)?,
        opens_at: from_ms(r.get(2)?),
        general_sale_at: from_ms(r.get(3)?),
        closes_at: from_ms(r.get(4)?),
        member_limit: r.get(5)?,
    })
}

/// Inserts or updates a drop inside the caller's transaction, with its outbox event.
pub(crate) fn upsert_drop(tx: &Transaction<'_>, drop: &Drop, now: DateTime<Utc>) -> Result<()> {
    write_drop(tx, drop)?;
    outbox::append(tx, "drop.upserted", drop, now)?;
    Ok(())
}

/// The drop's row alone: a drop pulled from the cloud is not this kiosk's event.
pub(crate) fn write_drop(tx: &Transaction<'_>, drop: &Drop) -> Result<()> {
    tx.execute(
        "INSERT INTO drops(id, name, opens_at, general_sale_at, closes_at, member_limit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, opens_at = excluded.opens_at,
             general_sale_at = excluded.general_sale_at, closes_at = excluded.closes_at,
             member_limit = excluded.member_limit",
        params![
            drop.id,
            drop.name,
            to_ms(drop.opens_at),
            to_ms(drop.general_sale_at),
            to_ms(drop.closes_at),
            drop.member_limit
        ],
    )?;
    Ok(())
}

/// Adds a new piece inside the caller's transaction. An existing serial is refused: a
/// catalog import must never silently change a piece that may already be sold.
pub(crate) fn insert_piece(tx: &Transaction<'_>, p: &NewPiece, now: DateTime<Utc>) -> Result<()> {
    let exists: bool =
        tx.query_row("SELECT EXISTS(SELECT 1 FROM pieces WHERE serial = ?1)", [p.serial.as_str()], |r| r.get(0))?;
    if exists {
        return Err(StoreError::Invalid(format!("serial {} is already in the catalog", p.serial)));
    }
    write_piece(tx, p, None)?;
    outbox::append(tx, "piece.added", p, now)?;
    Ok(())
}

/// A piece's catalog entry, added or brought up to date (from the cloud); a piece already
/// here keeps its sale state, and its certificate unless a new one is given.
pub(crate) fn write_piece(tx: &Transaction<'_>, p: &NewPiece, certificate: Option<&str>) -> Result<()> {
    if let Some(drop_id) = &p.drop_id {
        let known: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM drops WHERE id = ?1)", [drop_id], |r| r.get(0))?;
        if !known {
            return Err(StoreError::Invalid(format!("drop '{drop_id}' does not exist")));
        }
    }
    tx.execute(
        "INSERT INTO pieces(serial, drop_id, edition_number, edition_size, title, maker, materials,
             origin_notes, price_minor, currency, assay_hash, certificate, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'available')
         ON CONFLICT(serial) DO UPDATE SET drop_id = excluded.drop_id,
             edition_number = excluded.edition_number, edition_size = excluded.edition_size,
             title = excluded.title, maker = excluded.maker, materials = excluded.materials,
             origin_notes = excluded.origin_notes, price_minor = excluded.price_minor,
             currency = excluded.currency, assay_hash = excluded.assay_hash,
             certificate = coalesce(excluded.certificate, pieces.certificate)",
        params![
            p.serial.as_str(),
            p.drop_id,
            p.edition.number,
            p.edition.size,
            p.title,
            p.maker,
            p.materials,
            p.origin_notes,
            p.price.minor,
            p.price.currency.code(),
            p.assay_hash,
            certificate
        ],
    )?;
    Ok(())
}

pub(crate) fn upsert_member(tx: &Transaction<'_>, m: &Member) -> Result<()> {
    tx.execute(
        "INSERT INTO members(id, name, email) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, email = excluded.email",
        params![m.id, m.name, m.email],
    )?;
    for d in &m.drops {
        tx.execute("INSERT OR IGNORE INTO waitlist(member_id, drop_id) VALUES (?1, ?2)", params![m.id, d])?;
    }
    Ok(())
}

impl Store {
    pub fn add_drop(&mut self, drop: &Drop, now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| upsert_drop(tx, drop, now))
    }

    pub fn add_piece(&mut self, piece: &NewPiece, now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| insert_piece(tx, piece, now))
    }

    /// Adds many pieces in one transaction: all or none.
    pub fn add_pieces(&mut self, pieces: &[NewPiece], now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| pieces.iter().try_for_each(|p| insert_piece(tx, p, now)))
    }

    pub fn add_member(&mut self, member: &Member) -> Result<()> {
        self.in_transaction(|tx| upsert_member(tx, member))
    }

    pub fn piece(&self, serial: &Serial) -> Result<Option<Piece>> {
        let sql = format!("SELECT {PIECE_COLUMNS} FROM pieces WHERE serial = ?1");
        Ok(self.conn.prepare_cached(&sql)?.query_row([serial.as_str()], piece_from_row).optional()?)
    }

    pub fn drop_by_id(&self, id: &str) -> Result<Option<Drop>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, name, opens_at, general_sale_at, closes_at, member_limit FROM drops WHERE id = ?1",
            )?
            .query_row([id], drop_from_row)
            .optional()?)
    }

    /// The drop the stall is selling now: the open one closing soonest, else the next to open,
    /// else the one that closed last.
    pub fn current_drop(&self, now: DateTime<Utc>) -> Result<Option<DropSummary>> {
        let now = to_ms(now);
        let drop = self
            .conn
            .prepare_cached(
                "SELECT id, name, opens_at, general_sale_at, closes_at, member_limit FROM drops
                 ORDER BY CASE WHEN opens_at <= ?1 AND ?1 < closes_at THEN 0
                               WHEN opens_at > ?1 THEN 1 ELSE 2 END,
                          CASE WHEN opens_at > ?1 THEN opens_at ELSE -closes_at END
                 LIMIT 1",
            )?
            .query_row([now], drop_from_row)
            .optional()?;
        let Some(drop) = drop else { return Ok(None) };
        let (pieces, available) = self
            .conn
            .prepare_cached("SELECT count(*), coalesce(sum(status = 'available'), 0) FROM pieces WHERE drop_id = ?1")?
            .query_row([&drop.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Some(DropSummary { drop, pieces, available }))
    }

    /// The Sell grid: a drop's pieces in edition order.
    pub fn drop_pieces(&self, drop_id: &str) -> Result<Vec<PieceTile>> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT serial, edition_number, edition_size, title, price_minor, currency, ",
            status_as_read!(),
            ", photo FROM pieces WHERE drop_id = ?1 ORDER BY edition_number, serial"
        ))?;
        let rows = stmt.query_map([drop_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (serial, n, size, title, price, currency, status, photo) = row?;
            let invalid = |what: &str| StoreError::Invalid(format!("piece {serial}: bad {what}"));
            out.push(PieceTile {
                serial: Serial::parse(&serial).map_err(|_| invalid("serial"))?,
                edition: Edition::new(n, size).map_err(|_| invalid("edition"))?,
                title,
                price: Money::new(price, Currency::parse(&currency).map_err(|_| invalid("currency"))?),
                status: PieceStatus::parse(&status).ok_or_else(|| invalid("status"))?,
                photo,
            });
        }
        Ok(out)
    }

    /// The SHA-256 of a piece's photo, when the cloud published one.
    pub fn piece_photo(&self, serial: &Serial) -> Result<Option<String>> {
        let found = self
            .conn
            .prepare_cached("SELECT photo FROM pieces WHERE serial = ?1")?
            .query_row([serial.as_str()], |r| r.get::<_, Option<String>>(0))
            .optional()?;
        Ok(found.flatten())
    }

    /// Names `serial`'s photo: the cloud's word as a pull applies it, or the demo's.
    pub fn set_piece_photo(&mut self, serial: &Serial, sha256: Option<&str>) -> Result<()> {
        self.conn.execute("UPDATE pieces SET photo = ?2 WHERE serial = ?1", params![serial.as_str(), sha256])?;
        Ok(())
    }

    /// Every piece photo the catalog names, for the sync worker to fetch what it lacks.
    pub fn piece_photos(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT DISTINCT photo FROM pieces WHERE photo IS NOT NULL")?;
        let photos = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(photos)
    }

    /// Members whose name or email starts with `query` (any case), for check-in by search.
    pub fn search_members(&self, query: &str, limit: usize) -> Result<Vec<Member>> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let pattern = format!("{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let ids: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT id FROM members WHERE name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'
                 OR name LIKE '% ' || ?1 ESCAPE '\\' ORDER BY name LIMIT ?2",
            )?
            .query_map(params![pattern, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().filter_map(|id| self.member(id).transpose()).collect()
    }

    pub fn member(&self, id: &str) -> Result<Option<Member>> {
        let row = self
            .conn
            .prepare_cached("SELECT id, name, email FROM members WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .optional()?;
        let Some((id, name, email)) = row else {
            return Ok(None);
        };
        let drops = self
            .conn
            .prepare_cached("SELECT drop_id FROM waitlist WHERE member_id = ?1 ORDER BY drop_id")?
            .query_map([&id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(Some(Member { id, name, email, drops }))
    }

    pub fn piece_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM pieces", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn new_piece(serial: &str, drop: Option<&str>) -> NewPiece {
        NewPiece {
            serial: Serial::parse(serial).unwrap(),
            drop_id: drop.map(str::to_owned),
            edition: Edition::new(1, 24).unwrap(),
            title: "Pendant".into(),
            maker: "Atelier".into(),
            materials: String::new(),
            origin_notes: String::new(),
            price: Money::new(100, Currency::GBP),
            assay_hash: None,
        }
    }

    #[test]
    fn a_serial_is_catalogued_once_and_only_into_known_drops() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let now = Utc::now();
        store.add_piece(&new_piece("AT-1", None), now).unwrap();
        assert!(matches!(store.add_piece(&new_piece("at-1", None), now), Err(StoreError::Invalid(_))));
        assert!(matches!(store.add_piece(&new_piece("AT-2", Some("nope")), now), Err(StoreError::Invalid(_))));
        assert_eq!(store.piece_count().unwrap(), 1);
        // One event per successful change, none for refused ones.
        assert_eq!(store.unsynced_count().unwrap(), 1);
    }

    #[test]
    fn current_drop_prefers_the_open_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let now = Utc::now();
        let d = |id: &str, open: i64, close: i64| Drop {
            id: id.into(),
            name: id.into(),
            opens_at: now + Duration::hours(open),
            general_sale_at: now + Duration::hours(open),
            closes_at: now + Duration::hours(close),
            member_limit: 1,
        };
        store.add_drop(&d("past", -10, -5), now).unwrap();
        store.add_drop(&d("next", 5, 10), now).unwrap();
        assert_eq!(store.current_drop(now).unwrap().unwrap().drop.id, "next");
        store.add_drop(&d("live", -1, 1), now).unwrap();
        store.add_piece(&new_piece("AT-1", Some("live")), now).unwrap();
        let live = store.current_drop(now).unwrap().unwrap();
        assert_eq!((live.drop.id.as_str(), live.pieces, live.available), ("live", 1, 1));
    }
}
