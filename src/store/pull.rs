//! Applying what the cloud publishes (`sync::pull` reads and checks it): a page of changes
//! and the cursor after it commit together, so a page is applied once whatever the network
//! does. Each change is whole or skipped (a savepoint each), and none is echoed back as
//! this kiosk's event except what the kiosk itself did about it: keeping a piece for an
//! online reservation, refusing one, releasing a hold on a piece sold elsewhere.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use uuid::Uuid;

use super::reservations::{NewReservation, create_in, release_in};
use super::{NewPiece, Result, Shipment, Store, StoreError, catalog, outbox, provenance, to_ms};
use crate::domain::provenance::TrustedKey;
use crate::domain::{Drop, Member, ReservationCode, Serial};

/// One change from the cloud, read and checked.
#[derive(Debug, Clone)]
pub enum Pulled {
    Drop(Drop),
    Piece {
        piece: NewPiece,
        certificate: Option<String>,
        /// The SHA-256 of its photo (checked to be one), or none.
        photo: Option<String>,
    },
    PieceState {
        serial: Serial,
        allocated_to: Option<String>,
        sold_by: Option<String>,
    },
    Member(Member),
    Reservation {
        new: NewReservation,
        code: ReservationCode,
        cancelled: bool,
    },
    Shipment(Shipment),
    Key(TrustedKey),
    /// A refused event of this kiosk's that the back office dealt with.
    ConflictDealt(Uuid),
}

impl Pulled {
    /// What the change is about, for logs and skipped-change notes.
    pub fn subject(&self) -> String {
        match self {
            Pulled::Drop(d) => format!("drop {}", d.id),
            Pulled::Piece { piece, .. } => format!("piece {}", piece.serial),
            Pulled::PieceState { serial, .. } => format!("state of {serial}"),
            Pulled::Member(m) => format!("member {}", m.id),
            Pulled::Reservation { code, .. } => format!("reservation {code}"),
            Pulled::Shipment(s) => format!("order {}", s.id),
            Pulled::Key(k) => format!("key {}", k.id),
            Pulled::ConflictDealt(id) => format!("conflict {id}"),
        }
    }
}

/// What applying a page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PullReport {
    pub applied: u64,
    /// Online reservations the kiosk could not keep, recorded as conflicts for staff.
    pub refused: u64,
    /// Changes that could not be applied, with why (logged; the cursor moves past them).
    pub skipped: Vec<String>,
}

const CURSOR: &str = "sync.pull_cursor";

#[derive(Serialize)]
struct Refused<'a> {
    id: Uuid,
    code: &'a str,
    serial: &'a str,
    why: String,
}

enum Applied {
    Done,
    Refused,
}

impl Store {
    /// The cursor of the last change applied (0 before the first pull).
    pub fn pull_cursor(&self) -> Result<i64> {
        Ok(self.setting(CURSOR)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Applies a page of changes for this kiosk's `stall` and moves the cursor to `next`,
    /// in one transaction.
    pub fn apply_pulled(
        &mut self,
        stall: &str,
        changes: &[Pulled],
        next: i64,
        now: DateTime<Utc>,
    ) -> Result<PullReport> {
        self.in_transaction(|tx| {
            let mut report = PullReport::default();
            for change in changes {
                tx.execute_batch("SAVEPOINT change")?;
                match apply(tx, stall, change, now) {
                    Ok(outcome) => {
                        tx.execute_batch("RELEASE change")?;
                        match outcome {
                            Applied::Done => report.applied += 1,
                            Applied::Refused => report.refused += 1,
                        }
                    }
                    // Running out of disk is not the change's fault: stop, commit nothing.
                    Err(e @ (StoreError::DiskFull | StoreError::ReadOnly(_))) => return Err(e),
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO change; RELEASE change")?;
                        tracing::warn!(change = %change.subject(), error = %e, "skipped a change from the cloud");
                        report.skipped.push(format!("{}: {e}", change.subject()));
                    }
                }
            }
            tx.execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![CURSOR, next.to_string()],
            )?;
            Ok(report)
        })
    }
}

fn apply(tx: &Transaction<'_>, stall: &str, change: &Pulled, now: DateTime<Utc>) -> Result<Applied> {
    match change {
        Pulled::Drop(drop) => catalog::write_drop(tx, drop)?,
        Pulled::Piece { piece, certificate, photo } => {
            catalog::write_piece(tx, piece, certificate.as_deref())?;
            // The cloud's word on the photo stands, a photo taken away included.
            tx.execute("UPDATE pieces SET photo = ?2 WHERE serial = ?1", params![piece.serial.as_str(), photo])?;
        }
        Pulled::PieceState { serial, allocated_to, sold_by } => {
            piece_state(tx, stall, serial, allocated_to.as_deref(), sold_by.as_deref(), now)?
        }
        Pulled::Member(member) => {
            tx.execute(
                "INSERT INTO members(id, name, email) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, email = excluded.email",
                params![member.id, member.name, member.email],
            )?;
            // The cloud's list is the whole list: a member taken off a waitlist loses the window.
            tx.execute("DELETE FROM waitlist WHERE member_id = ?1", [&member.id])?;
            for drop in &member.drops {
                tx.execute(
                    "INSERT INTO waitlist(member_id, drop_id) SELECT ?1, id FROM drops WHERE id = ?2",
                    params![member.id, drop],
                )?;
            }
        }
        Pulled::Reservation { new, code, cancelled } => return reservation(tx, new, code, *cancelled, now),
        Pulled::Shipment(s) => {
            let pieces = serde_json::to_string(&s.pieces).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.execute(
                "INSERT INTO shipments(id, sale_id, buyer, pieces, created_at) VALUES (?1, NULL, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET buyer = excluded.buyer, pieces = excluded.pieces
                 WHERE shipments.dispatched_at IS NULL",
                params![s.id, s.buyer, pieces, to_ms(s.created_at)],
            )?;
        }
        Pulled::Key(key) => provenance::trust_key_in(tx, key, now)?,
        Pulled::ConflictDealt(id) => {
            // No event back: the cloud knows already, and another kiosk of the stall holds
            // no such conflict, so nothing changes there.
            tx.execute(
                "UPDATE sync_conflicts SET resolved_at = ?2 WHERE event_id = ?1 AND resolved_at IS NULL",
                params![id.to_string(), to_ms(now)],
            )?;
        }
    }
    Ok(Applied::Done)
}

/// Where the cloud says a piece stands. A sale made here is this kiosk's own word, never
/// overruled: the cloud rules on it when the sale arrives (a refusal becomes a conflict).
fn piece_state(
    tx: &Transaction<'_>,
    stall: &str,
    serial: &Serial,
    allocated_to: Option<&str>,
    sold_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let away = allocated_to.filter(|s| *s != stall);
    let piece: Option<(i64, String)> = tx
        .query_row(
            "UPDATE pieces SET away = ?2 WHERE serial = ?1 RETURNING id, status",
            params![serial.as_str(), away],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((piece_id, status)) = piece else {
        return Err(StoreError::NotFound(format!("piece {serial}")));
    };
    let sold_here: bool =
        tx.query_row("SELECT EXISTS(SELECT 1 FROM sale_lines WHERE piece_id = ?1 AND active = 1)", [piece_id], |r| {
            r.get(0)
        })?;
    if sold_here {
        return Ok(());
    }
    match sold_by {
        // Sold at this stall: this kiosk's own sales and voids are the record here.
        Some(by) if by == stall => {}
        Some(by) => {
            if matches!(status.as_str(), "held" | "reserved") {
                let kept: Option<String> = tx
                    .query_row(
                        "SELECT id FROM reservations WHERE piece_id = ?1 AND state = 'active'",
                        [piece_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(id) = kept.and_then(|id| Uuid::parse_str(&id).ok()) {
                    let why = if by == "online" { "sold online" } else { "sold at another stall" };
                    release_in(tx, id, why, now)?;
                }
            }
            tx.execute(
                "UPDATE pieces SET status = 'sold', held_for = NULL
                 WHERE id = ?1 AND status IN ('available', 'held', 'reserved')",
                [piece_id],
            )?;
        }
        None => {
            tx.execute("UPDATE pieces SET status = 'available' WHERE id = ?1 AND status = 'sold'", [piece_id])?;
        }
    }
    Ok(())
}

/// An online reservation: kept here under the code the customer was given, or refused
/// (recorded for staff and told to the cloud) when the piece is no longer free.
fn reservation(
    tx: &Transaction<'_>,
    new: &NewReservation,
    code: &ReservationCode,
    cancelled: bool,
    now: DateTime<Utc>,
) -> Result<Applied> {
    let held: Option<String> =
        tx.query_row("SELECT state FROM reservations WHERE id = ?1", [new.id.to_string()], |r| r.get(0)).optional()?;
    match (held.as_deref(), cancelled) {
        (Some("active"), true) => release_in(tx, new.id, "cancelled online", now)?,
        (Some("active"), false) => {
            tx.execute(
                "UPDATE reservations SET expires_at = ?2 WHERE id = ?1 AND state = 'active'",
                params![new.id.to_string(), to_ms(new.expires_at)],
            )?;
        }
        (Some(_), _) | (None, true) => {}
        (None, false) if new.expires_at <= now => {}
        (None, false) => {
            tx.execute_batch("SAVEPOINT take")?;
            match create_in(tx, new, now, &mut || code.clone(), |_| None, false) {
                Ok(_) => tx.execute_batch("RELEASE take")?,
                Err(StoreError::Sell(why)) => {
                    tx.execute_batch("ROLLBACK TO take; RELEASE take")?;
                    let why = why.to_string();
                    let event = Refused { id: new.id, code: code.as_str(), serial: new.serial.as_str(), why };
                    let event_id = outbox::append(tx, "reservation.refused", &event, now)?;
                    tx.execute(
                        "INSERT INTO sync_conflicts(event_id, kind, reason, message, at)
                         VALUES (?1, 'reservation.refused', 'piece_unavailable', ?2, ?3)",
                        params![
                            event_id.to_string(),
                            format!(
                                "Online reservation {code} for {} could not be kept: {}",
                                new.customer.name, event.why
                            ),
                            to_ms(now)
                        ],
                    )?;
                    return Ok(Applied::Refused);
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Applied::Done)
}
