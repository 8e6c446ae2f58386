//! Holds and reservations in SQLite. Each change is one transaction that updates the
//! reservation row, its piece's status and the outbox together.
//!
//! Every state change is a conditional `UPDATE … WHERE state = 'active'` with the time
//! rule of `domain::reservation` (alive while `now < expires_at`) in the same statement,
//! so an expiry sweep and a collection can never both win, whatever the order they run in.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_ms, outbox, print_jobs, to_ms};
use crate::domain::printout::Printout;
use crate::domain::reservation::{Customer, ReservationError, Source};
use crate::domain::{
    Currency, Money, Reservation, ReservationCode, ReservationKind, ReservationState, SellError, Serial,
};

/// What staff (or sync) ask for; the store allocates the code.
#[derive(Debug, Clone)]
pub struct NewReservation {
    pub id: Uuid,
    pub kind: ReservationKind,
    pub source: Source,
    pub serial: Serial,
    pub customer: Customer,
    pub member_id: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Event<'a> {
    id: Uuid,
    code: &'a str,
    serial: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, code, kind, source, serial, customer_name, customer_contact, member_id, price_minor, \
                       currency, created_at, expires_at, state, ended_at, end_reason, sale_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Reservation> {
    let text = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            Box::<dyn std::error::Error + Send + Sync>::from(e),
        )
    };
    let id = Uuid::parse_str(&text(0)?).map_err(|e| bad(0, e.to_string()))?;
    let code = ReservationCode::parse(&text(1)?).map_err(|e| bad(1, e.to_string()))?;
    let kind = if text(2)? == "hold" { ReservationKind::Hold } else { ReservationKind::Reservation };
    let source = if text(3)? == "online" { Source::Online } else { Source::Stall };
    let serial = Serial::parse(&text(4)?).map_err(|e| bad(4, e.to_string()))?;
    let currency = Currency::parse(&text(9)?).map_err(|e| bad(9, e.to_string()))?;
    let ended = r.get::<_, Option<i64>>(13)?.map(from_ms);
    let at = ended.unwrap_or(DateTime::UNIX_EPOCH);
    let state = match text(12)?.as_str() {
        "active" => ReservationState::Active,
        "collected" => {
            let sale: String = r.get::<_, Option<String>>(15)?.unwrap_or_default();
            ReservationState::Collected { sale_id: Uuid::parse_str(&sale).unwrap_or_default(), at }
        }
        "released" => ReservationState::Released { reason: r.get::<_, Option<String>>(14)?.unwrap_or_default(), at },
        _ => ReservationState::Expired { at },
    };
    Ok(Reservation {
        id,
        code,
        kind,
        source,
        serial,
        customer: Customer { name: text(5)?, contact: text(6)? },
        member_id: r.get(7)?,
        price: Money::new(r.get(8)?, currency),
        created_at: from_ms(r.get(10)?),
        expires_at: from_ms(r.get(11)?),
        state,
    })
}

fn by_id(tx: &rusqlite::Connection, id: Uuid) -> Result<Option<Reservation>> {
    Ok(tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM reservations WHERE id = ?1"))?
        .query_row([id.to_string()], from_row)
        .optional()?)
}

/// Why a reservation that no conditional update matched cannot change, in staff's words.
fn why_not(tx: &rusqlite::Connection, id: Uuid, now: DateTime<Utc>) -> StoreError {
    match by_id(tx, id) {
        Ok(Some(r)) => match r.check_alive(now) {
            Err(e) => SellError::Reservation(e).into(),
            Ok(()) => StoreError::Invalid(format!("reservation {} could not be changed", r.code)),
        },
        Ok(None) => StoreError::NotFound(format!("reservation {id}")),
        Err(e) => e,
    }
}

/// Inside a sale's transaction: marks the reservation collected by `sale_id` if it is still
/// alive at the sale's time, and the piece sold. Returns the piece's row id.
pub(crate) fn collect_in(
    tx: &Transaction<'_>,
    id: Uuid,
    serial: &Serial,
    sale_id: Uuid,
    at: DateTime<Utc>,
) -> Result<i64> {
    let piece: Option<i64> = tx
        .prepare_cached(
            "UPDATE reservations SET state = 'collected', sale_id = ?3, ended_at = ?4
             WHERE id = ?1 AND serial = ?2 AND state = 'active' AND expires_at > ?4 RETURNING piece_id",
        )?
        .query_row(params![id.to_string(), serial.as_str(), sale_id.to_string(), to_ms(at)], |r| r.get(0))
        .optional()?;
    let Some(piece) = piece else { return Err(why_not(tx, id, at)) };
    let sold = tx.execute(
        "UPDATE pieces SET status = 'sold', held_for = NULL WHERE id = ?1 AND status IN ('held', 'reserved')",
        [piece],
    )?;
    if sold != 1 {
        return Err(StoreError::Invalid(format!("{serial} was not kept for this reservation")));
    }
    let code: String = tx.query_row("SELECT code FROM reservations WHERE id = ?1", [id.to_string()], |r| r.get(0))?;
    let event = Event { id, code: &code, serial: serial.as_str(), reason: None, expires_at: None };
    outbox::append(tx, "reservation.collected", &event, at)?;
    Ok(piece)
}

/// Puts the piece of an ended reservation back on sale, unless something else has it.
fn free_piece(tx: &Transaction<'_>, id: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE pieces SET status = 'available', held_for = NULL
         WHERE id = (SELECT piece_id FROM reservations WHERE id = ?1) AND status IN ('held', 'reserved')",
    )?
    .execute([id])?;
    Ok(())
}

/// Releases a reservation still alive inside the caller's transaction; its piece goes back
/// on sale unless something else has it.
pub(crate) fn release_in(tx: &Transaction<'_>, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<()> {
    let row: Option<(String, String)> = tx
        .prepare_cached(
            "UPDATE reservations SET state = 'released', ended_at = ?2, end_reason = ?3
             WHERE id = ?1 AND state = 'active' AND expires_at > ?2 RETURNING code, serial",
        )?
        .query_row(params![id.to_string(), to_ms(now), reason], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((code, serial)) = row else { return Err(why_not(tx, id, now)) };
    free_piece(tx, &id.to_string())?;
    let event = Event { id, code: &code, serial: &serial, reason: Some(reason), expires_at: None };
    outbox::append(tx, "reservation.released", &event, now).map(drop)
}

/// Inserts a reservation and keeps its piece, inside the caller's transaction. The piece
/// must be available; when `adopting`, it must already be held or reserved without a record.
pub(crate) fn create_in(
    tx: &Transaction<'_>,
    new: &NewReservation,
    now: DateTime<Utc>,
    code: &mut dyn FnMut() -> ReservationCode,
    slip: impl FnOnce(&Reservation) -> Option<Printout>,
    adopting: bool,
) -> Result<Reservation> {
    let from = if adopting { "status IN ('held', 'reserved')" } else { "status = 'available' AND away IS NULL" };
    let status = if new.kind == ReservationKind::Hold { "held" } else { "reserved" };
    let taken: Option<(i64, i64, String)> = tx
        .prepare_cached(&format!(
            "UPDATE pieces SET status = ?2, held_for = ?3 WHERE serial = ?1 AND {from}
                 RETURNING id, price_minor, currency"
        ))?
        .query_row(params![new.serial.as_str(), status, new.customer.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((piece_id, price, currency)) = taken else {
        return Err(super::sales::unavailable(tx, &new.serial)?.into());
    };
    // Codes are random: on the rare collision with an old one, draw again.
    let mut attempt = 0;
    let code = loop {
        let candidate = code();
        let used: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM reservations WHERE code = ?1)", [candidate.as_str()], |r| {
                r.get(0)
            })?;
        attempt += 1;
        if !used {
            break candidate;
        }
        if attempt > 20 {
            return Err(StoreError::Invalid("could not find a free reservation code".into()));
        }
    };
    tx.prepare_cached(
        "INSERT INTO reservations(id, code, kind, source, piece_id, serial, customer_name, customer_contact,
                 member_id, price_minor, currency, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        new.id.to_string(),
        code.as_str(),
        if new.kind == ReservationKind::Hold { "hold" } else { "reservation" },
        if new.source == Source::Online { "online" } else { "stall" },
        piece_id,
        new.serial.as_str(),
        new.customer.name,
        new.customer.contact,
        new.member_id,
        price,
        currency,
        to_ms(now),
        to_ms(new.expires_at),
    ])?;
    let event = Event {
        id: new.id,
        code: code.as_str(),
        serial: new.serial.as_str(),
        reason: None,
        expires_at: Some(new.expires_at),
    };
    outbox::append(tx, "reservation.created", &event, now)?;
    let made = by_id(tx, new.id)?.ok_or_else(|| StoreError::Invalid("reservation vanished".into()))?;
    if let Some(printout) = slip(&made) {
        print_jobs::insert(tx, &printout, None, false, now)?;
    }
    Ok(made)
}

impl Store {
    /// Keeps a piece for a customer: the piece must be available now. A printout (the
    /// reservation slip) can be queued in the same transaction.
    pub fn create_reservation(
        &mut self,
        new: &NewReservation,
        now: DateTime<Utc>,
        mut code: impl FnMut() -> ReservationCode,
        slip: impl FnOnce(&Reservation) -> Option<Printout>,
    ) -> Result<Reservation> {
        if new.expires_at <= now {
            return Err(SellError::Reservation(ReservationError::ExpiryInPast).into());
        }
        self.in_transaction(|tx| create_in(tx, new, now, &mut code, slip, false))
    }

    pub fn reservation(&self, id: Uuid) -> Result<Option<Reservation>> {
        by_id(&self.conn, id)
    }

    pub fn reservation_by_code(&self, code: &ReservationCode) -> Result<Option<Reservation>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM reservations WHERE code = ?1"))?
            .query_row([code.as_str()], from_row)
            .optional()?)
    }

    /// The alive reservation keeping `serial`, if any.
    pub fn reservation_for_piece(&self, serial: &Serial, now: DateTime<Utc>) -> Result<Option<Reservation>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reservations WHERE serial = ?1 AND state = 'active' AND expires_at > ?2"
            ))?
            .query_row(params![serial.as_str(), to_ms(now)], from_row)
            .optional()?)
    }

    /// Ends every reservation whose time is up and puts its piece back on sale. Run on a
    /// timer and at start-up; it compares stored expiries with `now`, so a restart or a
    /// clock change cannot keep a piece held forever. Returns the codes expired.
    pub fn expire_reservations(&mut self, now: DateTime<Utc>) -> Result<Vec<ReservationCode>> {
        // The common case (nothing due) is one index probe, without a write transaction.
        let due: bool = self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM reservations WHERE state = 'active' AND expires_at <= ?1)",
            [to_ms(now)],
            |r| r.get(0),
        )?;
        if !due {
            return Ok(Vec::new());
        }
        self.in_transaction(|tx| {
            let expired: Vec<(String, String, String)> = tx
                .prepare_cached(
                    "UPDATE reservations SET state = 'expired', ended_at = ?1
                     WHERE state = 'active' AND expires_at <= ?1 RETURNING id, code, serial",
                )?
                .query_map([to_ms(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut codes = Vec::with_capacity(expired.len());
            for (id, code, serial) in &expired {
                free_piece(tx, id)?;
                let uuid = Uuid::parse_str(id).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let event = Event { id: uuid, code, serial, reason: None, expires_at: None };
                outbox::append(tx, "reservation.expired", &event, now)?;
                codes.push(ReservationCode::parse(code).map_err(|e| StoreError::Invalid(e.to_string()))?);
            }
            Ok(codes)
        })
    }

    /// Releases a reservation still alive, with a reason; the piece goes back on sale.
    pub fn release_reservation(&mut self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<()> {
        if reason.trim().is_empty() {
            return Err(SellError::Reservation(ReservationError::NoReason).into());
        }
        self.in_transaction(|tx| release_in(tx, id, reason, now))
    }

    /// Moves the expiry of a reservation still alive, with a reason.
    pub fn extend_reservation(
        &mut self,
        id: Uuid,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let current = self.reservation(id)?.ok_or_else(|| StoreError::NotFound(format!("reservation {id}")))?;
        current.check_extend(until, reason, now).map_err(SellError::Reservation)?;
        self.in_transaction(|tx| {
            let changed = tx.execute(
                "UPDATE reservations SET expires_at = ?3, end_reason = ?4
                 WHERE id = ?1 AND state = 'active' AND expires_at > ?2",
                params![id.to_string(), to_ms(now), to_ms(until), reason],
            )?;
            if changed != 1 {
                return Err(why_not(tx, id, now));
            }
            let event = Event {
                id,
                code: current.code.as_str(),
                serial: current.serial.as_str(),
                reason: Some(reason),
                expires_at: Some(until),
            };
            outbox::append(tx, "reservation.extended", &event, now).map(drop)
        })
    }

    /// Reservations for the Reservations screen: those alive, and those ended since
    /// `since`, matching `query` (a code, a serial, or the start of a customer's name;
    /// empty for all). The live ones come first, soonest expiry first, then the ended ones,
    /// latest first: on a busy day the morning's collected holds must not push the live
    /// ones off the list.
    pub fn search_reservations(
        &self,
        query: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>> {
        let query = query.trim();
        let window = "((state = 'active' AND expires_at > ?1) OR ended_at >= ?2)";
        let order = "ORDER BY (state = 'active' AND expires_at > ?1) DESC,
                     CASE WHEN state = 'active' AND expires_at > ?1 THEN expires_at ELSE -ended_at END";
        let mut stmt;
        let rows = if query.is_empty() {
            stmt = self
                .conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM reservations WHERE {window} {order} LIMIT ?3"))?;
            stmt.query_map(params![to_ms(now), to_ms(since), limit as i64], from_row)?
        } else if let Ok(code) = ReservationCode::parse(query) {
            // A code finds its reservation whenever it was made.
            stmt = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM reservations WHERE code = ?4 LIMIT ?3"))?;
            stmt.query_map(params![to_ms(now), to_ms(since), limit as i64, code.as_str()], from_row)?
        } else {
            // A serial, or the start of a customer's name (LIKE uses the NOCASE index; % and _
            // typed by staff match literally).
            let serial = Serial::parse(query).map(|s| s.as_str().to_owned()).unwrap_or_else(|_| query.to_owned());
            let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            stmt = self.conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reservations
                 WHERE (serial = ?4 OR customer_name LIKE ?5 ESCAPE '\\') AND {window} {order} LIMIT ?3"
            ))?;
            stmt.query_map(params![to_ms(now), to_ms(since), limit as i64, serial, format!("{escaped}%")], from_row)?
        };
        let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Pieces of `drop_id` a member has bought (lines still sold), for the members' limit.
    /// Holds and reservations still waiting for their customer.
    pub fn waiting_reservation_count(&self, now: DateTime<Utc>) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM reservations WHERE state = 'active' AND expires_at > ?1",
            [to_ms(now)],
            |r| r.get(0),
        )?)
    }

    pub fn member_pieces_bought(&self, member_id: &str, drop_id: &str) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sale_lines l JOIN sales s ON s.id = l.sale_id
             WHERE s.member_id = ?1 AND l.drop_id = ?2 AND l.active = 1",
            params![member_id, drop_id],
            |r| r.get(0),
        )?)
    }

    /// Held or reserved pieces with no reservation behind them (stores from before
    /// reservations existed) get one, so every kept piece can expire and be collected.
    pub(crate) fn adopt_unrecorded_holds(
        &mut self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        mut code: impl FnMut() -> ReservationCode,
    ) -> Result<usize> {
        let orphans: Vec<(String, Option<String>, String)> = self
            .conn
            .prepare(
                "SELECT serial, held_for, status FROM pieces p WHERE status IN ('held', 'reserved')
                 AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.piece_id = p.id AND r.state = 'active')",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        self.in_transaction(|tx| {
            for (serial, who, status) in &orphans {
                let serial = Serial::parse(serial).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let new = NewReservation {
                    id: Uuid::now_v7(),
                    kind: if status == "held" { ReservationKind::Hold } else { ReservationKind::Reservation },
                    source: Source::Stall,
                    serial,
                    customer: Customer {
                        name: who.clone().unwrap_or_else(|| "Unnamed customer".into()),
                        contact: "(not recorded)".into(),
                    },
                    member_id: None,
                    expires_at: until,
                };
                create_in(tx, &new, now, &mut code, |_| None, true)?;
            }
            Ok(())
        })?;
        Ok(orphans.len())
    }
}
