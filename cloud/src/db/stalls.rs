//! Stalls as the back office sees them, and pieces sent to one. A stall is a name: kiosks
//! are paired to it and pieces allocated to it; once allocated, another stall's sale of the
//! piece is refused.

use super::accounts::record;
use super::sql::vals;
use super::{Db, DbError, mark_sold, publish_state};

/// One stall at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StallLine {
    pub name: String,
    /// Kiosks paired to it and not revoked.
    pub kiosks: i64,
    /// The latest contact from any of them.
    pub last_seen: Option<i64>,
    /// Pieces allocated to it, neither sold nor reported lost.
    pub on_sale: i64,
    /// Pieces it sold.
    pub sold: i64,
}

/// Why a piece cannot be sent to a stall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    Unknown(String),
    Sold(String),
    ReportedLost(String),
    /// Held for a customer at a stall, until (ms).
    Held {
        serial: String,
        stall: String,
        until: i64,
    },
    /// At another stall than the one asked to hand it over.
    Elsewhere {
        serial: String,
        stall: String,
    },
}

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSent::Unknown(s) => write!(f, "{s} is not in the catalog"),
            NotSent::Sold(s) => write!(f, "{s} is sold"),
            NotSent::ReportedLost(s) => write!(f, "{s} is reported lost or stolen"),
            NotSent::Held { serial, stall, until } => {
                let until = chrono::DateTime::from_timestamp_millis(*until)
                    .map_or_else(String::new, |t| t.format(" until %Y-%m-%d %H:%M UTC").to_string());
                write!(f, "{serial} is held for a customer at {stall}{until}")
            }
            NotSent::Elsewhere { serial, stall } => {
                write!(f, "{serial} is at {stall}: send it to this stall first, on the Stalls page")
            }
        }
    }
}

/// What sending pieces to a stall did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// All of them went: how many, and how many of those came from another stall.
    Done { sent: usize, moved: usize },
    /// None went, because of these.
    Refused(Vec<NotSent>),
}

impl Db {
    /// Every stall the atelier has: those kiosks are paired to and those pieces are at.
    pub fn stalls(&self, atelier: &str) -> Result<Vec<StallLine>, DbError> {
        self.tx(|tx| {
            let names = tx.query(
                "SELECT stall FROM devices WHERE atelier = $1
                 UNION SELECT stall FROM pieces WHERE atelier = $1 AND stall IS NOT NULL
                 UNION SELECT sold_by FROM pieces WHERE atelier = $1 AND sold_by IS NOT NULL AND sold_by <> 'online'
                 ORDER BY 1",
                vals![atelier],
            )?;
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let name = name.text(0)?;
                let kiosks = tx
                    .query_opt(
                        "SELECT COUNT(*), MAX(last_seen) FROM devices
                         WHERE atelier = $1 AND stall = $2 AND revoked_at IS NULL",
                        vals![atelier, &name],
                    )?
                    .ok_or_else(|| DbError::Invalid("a count gave no row".into()))?;
                let pieces = tx
                    .query_opt(
                        "SELECT COUNT(CASE WHEN stall = $2 AND sold_sale IS NULL AND lost_at IS NULL THEN 1 END),
                                COUNT(CASE WHEN sold_by = $2 THEN 1 END)
                         FROM pieces WHERE atelier = $1",
                        vals![atelier, &name],
                    )?
                    .ok_or_else(|| DbError::Invalid("a count gave no row".into()))?;
                out.push(StallLine {
                    kiosks: kiosks.int(0)?,
                    last_seen: kiosks.opt_int(1)?,
                    on_sale: pieces.int(0)?,
                    sold: pieces.int(1)?,
                    name,
                });
            }
            Ok(out)
        })
    }

    /// The pieces of a drop still in the workshop: at no stall, not sold, not reported lost.
    pub fn in_workshop(&self, atelier: &str, drop_id: &str) -> Result<Vec<String>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT c.serial FROM catalog c
                 LEFT JOIN pieces p ON p.atelier = c.atelier AND p.serial = c.serial
                 WHERE c.atelier = $1 AND c.drop_id = $2
                   AND p.stall IS NULL AND p.sold_sale IS NULL AND p.lost_at IS NULL
                 ORDER BY c.serial",
                vals![atelier, drop_id],
            )
        })?;
        rows.iter().map(|r| r.text(0)).collect()
    }

    /// Sends pieces to `stall` for its kiosks to sell, as `actor`: all of them or, when any
    /// is not in the catalog, sold or reported lost, none. Each goes out as a `piece_state`
    /// change in the same transaction, with the audit's line.
    pub fn send_to_stall(
        &self,
        atelier: &str,
        stall: &str,
        serials: &[String],
        actor: &str,
        now: i64,
    ) -> Result<Sent, DbError> {
        self.write(atelier, |tx| {
            let mut refused = Vec::new();
            let mut moved = 0;
            for serial in serials {
                match standing(tx, atelier, serial, now)? {
                    Standing::Unknown => refused.push(NotSent::Unknown(serial.clone())),
                    Standing::Sold(_) => refused.push(NotSent::Sold(serial.clone())),
                    Standing::Lost => refused.push(NotSent::ReportedLost(serial.clone())),
                    Standing::Held { stall: at, until } if at != stall => {
                        refused.push(NotSent::Held { serial: serial.clone(), stall: at, until });
                    }
                    Standing::Held { .. } => {}
                    Standing::Free(Some(at)) if at != stall => moved += 1,
                    Standing::Free(_) => {}
                }
            }
            if !refused.is_empty() {
                return Ok(Sent::Refused(refused));
            }
            for serial in serials {
                tx.execute(
                    "INSERT INTO pieces(atelier, serial, stall) VALUES ($1, $2, $3)
                     ON CONFLICT(atelier, serial) DO UPDATE SET stall = excluded.stall",
                    vals![atelier, serial, stall],
                )?;
                publish_state(tx, atelier, serial, now)?;
            }
            let detail = format!("{} to {stall}", plural(serials.len()));
            record(tx, atelier, actor, "sent pieces to a stall", &detail, now)?;
            Ok(Sent::Done { sent: serials.len(), moved })
        })
    }

    /// Records a sale in the online shop from the back office, as `actor`: kiosks learn the
    /// pieces are sold, and a stall's later sale of them is refused. All or none: a serial
    /// not in the catalog, sold by another sale or reported lost refuses the lot. The same
    /// order sent again (a double click) changes nothing.
    pub fn record_online_sale(
        &self,
        atelier: &str,
        order: &str,
        serials: &[String],
        actor: &str,
        now: i64,
    ) -> Result<Sent, DbError> {
        self.write(atelier, |tx| {
            let mut refused = Vec::new();
            let mut already = 0;
            for serial in serials {
                match standing(tx, atelier, serial, now)? {
                    Standing::Unknown => refused.push(NotSent::Unknown(serial.clone())),
                    Standing::Sold(sale) if sale == order => already += 1,
                    Standing::Sold(_) => refused.push(NotSent::Sold(serial.clone())),
                    Standing::Lost => refused.push(NotSent::ReportedLost(serial.clone())),
                    Standing::Held { stall, until } => {
                        refused.push(NotSent::Held { serial: serial.clone(), stall, until })
                    }
                    Standing::Free(_) => {}
                }
            }
            if !refused.is_empty() {
                return Ok(Sent::Refused(refused));
            }
            if already == serials.len() {
                return Ok(Sent::Done { sent: serials.len(), moved: 0 });
            }
            for serial in serials {
                mark_sold(tx, atelier, serial, order, "online", now, now)?;
            }
            let detail = format!("{order}: {}", plural(serials.len()));
            record(tx, atelier, actor, "recorded an online sale", &detail, now)?;
            Ok(Sent::Done { sent: serials.len(), moved: 0 })
        })
    }
}

/// Where a piece stands, for sending it out or selling it online.
pub(super) enum Standing {
    /// Not in the catalog.
    Unknown,
    /// Sold, by this sale.
    Sold(String),
    /// Reported lost or stolen (and not sold).
    Lost,
    /// Held for a customer at a stall (not sold, not lost), until (ms).
    Held { stall: String, until: i64 },
    /// None of these: at this stall, or at none.
    Free(Option<String>),
}

/// Where a piece stands `now` (ms): a hold past its end no longer counts, whether or not its
/// kiosk has said it expired.
pub(super) fn standing(
    tx: &mut dyn super::sql::Sql,
    atelier: &str,
    serial: &str,
    now: i64,
) -> Result<Standing, DbError> {
    if tx.query_opt("SELECT 1 FROM catalog WHERE atelier = $1 AND serial = $2", vals![atelier, serial])?.is_none() {
        return Ok(Standing::Unknown);
    }
    let row = tx.query_opt(
        "SELECT stall, sold_sale, lost_at FROM pieces WHERE atelier = $1 AND serial = $2",
        vals![atelier, serial],
    )?;
    // A piece never sent out nor sold has no row, and may still be held at a stall.
    let (stall, sold, lost) = match row {
        Some(row) => (row.opt_text(0)?, row.opt_text(1)?, row.opt_int(2)?),
        None => (None, None, None),
    };
    Ok(match (sold, lost) {
        (Some(sale), _) => Standing::Sold(sale),
        (None, Some(_)) => Standing::Lost,
        (None, None) => match held(tx, atelier, serial, now)? {
            Some((stall, until)) => Standing::Held { stall, until },
            None => Standing::Free(stall),
        },
    })
}

/// The stall holding `serial` for a customer `now`, and until when.
fn held(tx: &mut dyn super::sql::Sql, atelier: &str, serial: &str, now: i64) -> Result<Option<(String, i64)>, DbError> {
    let row = tx.query_opt(
        "SELECT stall, expires_at FROM holds WHERE atelier = $1 AND serial = $2 AND expires_at > $3
         ORDER BY expires_at DESC LIMIT 1",
        vals![atelier, serial, now],
    )?;
    row.map(|r| Ok((r.text(0)?, r.int(1)?))).transpose()
}

/// Follows a stall's hold or reservation from its kiosk's event: made, extended, or ended
/// (collected, released, expired). An event this version cannot read changes nothing.
pub(super) fn record_hold(
    tx: &mut dyn super::sql::Sql,
    atelier: &str,
    stall: &str,
    kind: &str,
    payload: &serde_json::Value,
) -> Result<(), DbError> {
    let text = |k: &str| payload.get(k).and_then(|v| v.as_str());
    let Some(id) = text("id") else { return Ok(()) };
    let until =
        text("expires_at").and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_millis());
    // An online reservation already ended or cancelled here holds nothing, whatever a kiosk
    // that pulled it earlier says; one a kiosk kept is not freed by another kiosk's refusal.
    let online = super::reservations::state_of(tx, atelier, id)?;
    let ended = online.as_deref().is_some_and(|s| !matches!(s, "sent" | "kept"));
    match (kind, until) {
        ("reservation.created" | "reservation.extended", _) if ended => {}
        ("reservation.refused", _) if online.as_deref() == Some("kept") => {}
        ("reservation.created", Some(until)) => {
            let Some(serial) = text("serial") else { return Ok(()) };
            tx.execute(
                "INSERT INTO holds(atelier, id, serial, stall, expires_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT(atelier, id) DO NOTHING",
                vals![atelier, id, serial.trim().to_ascii_uppercase(), stall, until],
            )?;
        }
        ("reservation.extended", Some(until)) => {
            tx.execute("UPDATE holds SET expires_at = $3 WHERE atelier = $1 AND id = $2", vals![atelier, id, until])?;
        }
        ("reservation.collected" | "reservation.released" | "reservation.expired" | "reservation.refused", _) => {
            tx.execute("DELETE FROM holds WHERE atelier = $1 AND id = $2", vals![atelier, id])?;
        }
        _ => {}
    }
    Ok(())
}

pub(super) fn plural(n: usize) -> String {
    if n == 1 { "1 piece".to_owned() } else { format!("{n} pieces") }
}
