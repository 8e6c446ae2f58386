//! Online reservations made in the back office: a piece kept at a stall for a customer who
//! collects it there with a code. The stall's kiosk keeps it at its next pull, and its
//! events say what became of it.

use super::accounts::record;
use super::sql::{Row, Sql, vals};
use super::stalls::{Standing, standing};
use super::{Db, DbError, NotSent, append_change, publish_state};
use crate::wire::{ChangeBody, ReservationChange};
use marketday_provenance::ReservationCode;

/// An online reservation as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationLine {
    pub id: String,
    pub code: String,
    pub serial: String,
    pub stall: String,
    pub customer_name: String,
    pub customer_contact: String,
    pub member_id: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
    /// `sent` (not yet kept by a kiosk), `kept`, `collected`, `released`, `expired`,
    /// `refused` (the kiosk could not keep it) or `cancelled` (here).
    pub state: String,
    pub state_at: i64,
}

/// A reservation to make.
#[derive(Debug, Clone)]
pub struct NewOnline {
    pub serial: String,
    pub stall: String,
    pub customer_name: String,
    pub customer_contact: String,
    pub member_id: Option<String>,
    pub expires_at: i64,
}

/// What making a reservation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    Done(ReservationLine),
    Refused(NotSent),
}

const COLUMNS: &str = "id, code, serial, stall, customer_name, customer_contact, member_id, expires_at, created_at, \
                       state, state_at";

impl Db {
    /// One page of the atelier's online reservations, those still to collect first, then
    /// newest first, with how many in all.
    pub fn reservations(&self, atelier: &str, offset: i64, limit: i64) -> Result<(Vec<ReservationLine>, i64), DbError> {
        self.tx(|tx| {
            let total = tx
                .query_opt("SELECT COUNT(*) FROM reservations WHERE atelier = $1", vals![atelier])?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0);
            let rows = tx.query(
                &format!(
                    "SELECT {COLUMNS} FROM reservations WHERE atelier = $1
                     ORDER BY CASE WHEN state IN ('sent', 'kept') THEN 0 ELSE 1 END, created_at DESC, id
                     LIMIT $2 OFFSET $3"
                ),
                vals![atelier, limit, offset],
            )?;
            Ok((rows.iter().map(line).collect::<Result<_, _>>()?, total))
        })
    }

    /// Reserves a piece online, as `actor`: the piece goes to the stall (from another stall
    /// if it was there), held there for the customer from now, and the stall's kiosks keep
    /// it at their next pull. Refused for a piece not in the catalog, sold, reported lost or
    /// held for someone already.
    pub fn reserve_online(
        &self,
        atelier: &str,
        new: &NewOnline,
        code: &mut dyn FnMut() -> ReservationCode,
        actor: &str,
        now: i64,
    ) -> Result<Reserved, DbError> {
        self.write(atelier, |tx| {
            let serial = new.serial.trim().to_ascii_uppercase();
            let why = match standing(tx, atelier, &serial, now)? {
                Standing::Unknown => Some(NotSent::Unknown(serial.clone())),
                Standing::Sold(_) => Some(NotSent::Sold(serial.clone())),
                Standing::Lost => Some(NotSent::ReportedLost(serial.clone())),
                Standing::Held { stall, until } => Some(NotSent::Held { serial: serial.clone(), stall, until }),
                Standing::Free(_) => None,
            };
            if let Some(why) = why {
                return Ok(Reserved::Refused(why));
            }
            if let Some(member) = &new.member_id {
                let known =
                    tx.query_opt("SELECT 1 FROM members WHERE atelier = $1 AND id = $2", vals![atelier, member])?;
                if known.is_none() {
                    return Err(DbError::Invalid(format!("no waitlist member {member}")));
                }
            }
            let code = loop {
                let code = code();
                let taken = tx.query_opt(
                    "SELECT 1 FROM reservations WHERE atelier = $1 AND code = $2",
                    vals![atelier, code.as_str()],
                )?;
                if taken.is_none() {
                    break code;
                }
            };
            let id = uuid::Uuid::now_v7();
            tx.execute(
                &format!(
                    "INSERT INTO reservations(atelier, {COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent', $10)"
                ),
                vals![
                    atelier,
                    id.to_string(),
                    code.as_str(),
                    &serial,
                    &new.stall,
                    &new.customer_name,
                    &new.customer_contact,
                    new.member_id.as_deref(),
                    new.expires_at,
                    now
                ],
            )?;
            // Held from now: no other stall or online sale takes it before its kiosk keeps it.
            tx.execute(
                "INSERT INTO pieces(atelier, serial, stall) VALUES ($1, $2, $3)
                 ON CONFLICT(atelier, serial) DO UPDATE SET stall = excluded.stall",
                vals![atelier, &serial, &new.stall],
            )?;
            publish_state(tx, atelier, &serial, now)?;
            tx.execute(
                "INSERT INTO holds(atelier, id, serial, stall, expires_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT(atelier, id) DO NOTHING",
                vals![atelier, id.to_string(), &serial, &new.stall, new.expires_at],
            )?;
            let change = ReservationChange {
                id,
                code: code.as_str().to_owned(),
                serial: serial.clone(),
                customer_name: new.customer_name.clone(),
                customer_contact: new.customer_contact.clone(),
                member_id: new.member_id.clone(),
                expires_at: new.expires_at,
                cancelled: false,
            };
            append_change(tx, atelier, Some(&new.stall), &ChangeBody::Reservation(change), now)?;
            let detail = format!("{code} for {}: {serial} at {}", new.customer_name, new.stall);
            record(tx, atelier, actor, "reserved a piece online", &detail, now)?;
            let row = tx
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM reservations WHERE atelier = $1 AND id = $2"),
                    vals![atelier, id.to_string()],
                )?
                .ok_or_else(|| DbError::Invalid("a reservation vanished".into()))?;
            Ok(Reserved::Done(line(&row)?))
        })
    }

    /// Cancels an online reservation not yet collected or ended, as `actor`: the kiosk lets
    /// the piece go at its next pull, and it is free here at once.
    pub fn cancel_reservation(&self, atelier: &str, id: &str, actor: &str, now: i64) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            let row = tx
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM reservations WHERE atelier = $1 AND id = $2"),
                    vals![atelier, id],
                )?
                .ok_or_else(|| DbError::Invalid(format!("no online reservation {id}")))?;
            let r = line(&row)?;
            if r.state == "cancelled" {
                return Ok(());
            }
            if !matches!(r.state.as_str(), "sent" | "kept") {
                return Err(DbError::Invalid(format!("reservation {} is {} already", r.code, r.state)));
            }
            let uuid = uuid::Uuid::parse_str(&r.id).map_err(|e| DbError::Invalid(e.to_string()))?;
            tx.execute(
                "UPDATE reservations SET state = 'cancelled', state_at = $3 WHERE atelier = $1 AND id = $2",
                vals![atelier, id, now],
            )?;
            tx.execute("DELETE FROM holds WHERE atelier = $1 AND id = $2", vals![atelier, id])?;
            let change = ReservationChange {
                id: uuid,
                code: r.code.clone(),
                serial: r.serial.clone(),
                customer_name: r.customer_name.clone(),
                customer_contact: r.customer_contact.clone(),
                member_id: r.member_id.clone(),
                expires_at: r.expires_at,
                cancelled: true,
            };
            append_change(tx, atelier, Some(&r.stall), &ChangeBody::Reservation(change), now)?;
            let detail = format!("{} for {}: {}", r.code, r.customer_name, r.serial);
            record(tx, atelier, actor, "cancelled an online reservation", &detail, now)
        })
    }
}

/// What a stall's event says became of an online reservation (by its id; a stall's own
/// holds are not in the table and change nothing). A cancellation made here stands.
pub(super) fn note_event(
    tx: &mut dyn Sql,
    atelier: &str,
    kind: &str,
    payload: &serde_json::Value,
    at: i64,
) -> Result<(), DbError> {
    let Some(id) = payload.get("id").and_then(|v| v.as_str()) else { return Ok(()) };
    let state = match kind {
        "reservation.created" | "reservation.extended" => "kept",
        "reservation.collected" => "collected",
        "reservation.released" => "released",
        "reservation.expired" => "expired",
        "reservation.refused" => "refused",
        _ => return Ok(()),
    };
    let until = payload
        .get("expires_at")
        .and_then(|v| v.as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis());
    // Every kiosk of the stall pulls the reservation: only a live one moves on, so a second
    // kiosk's later word (its refusal, or its expiry of what the first sold) never overwrites
    // how it ended; a refusal counts only while no kiosk has kept it.
    let from = if state == "refused" { "('sent')" } else { "('sent', 'kept')" };
    tx.execute(
        &format!(
            "UPDATE reservations SET state = $3, state_at = $4, expires_at = COALESCE($5, expires_at)
             WHERE atelier = $1 AND id = $2 AND state IN {from}"
        ),
        vals![atelier, id, state, at, until],
    )?;
    Ok(())
}

/// An online reservation's state here, if it is one (a stall's own holds are not).
pub(super) fn state_of(tx: &mut dyn Sql, atelier: &str, id: &str) -> Result<Option<String>, DbError> {
    tx.query_opt("SELECT state FROM reservations WHERE atelier = $1 AND id = $2", vals![atelier, id])?
        .map(|r| r.text(0))
        .transpose()
}

fn line(row: &Row) -> Result<ReservationLine, DbError> {
    Ok(ReservationLine {
        id: row.text(0)?,
        code: row.text(1)?,
        serial: row.text(2)?,
        stall: row.text(3)?,
        customer_name: row.text(4)?,
        customer_contact: row.text(5)?,
        member_id: row.opt_text(6)?,
        expires_at: row.int(7)?,
        created_at: row.int(8)?,
        state: row.text(9)?,
        state_at: row.int(10)?,
    })
}
