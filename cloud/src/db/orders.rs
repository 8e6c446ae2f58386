//! Orders a stall hands to a courier: published to the stall (from the back office or the
//! command line) or made by its kiosk for a buyer at the stall, each with the proof of
//! dispatch its kiosk sent, if any.

use marketday_provenance::dispatch::ProofRecord;

use super::accounts::record;
use super::sql::{Sql, vals};
use super::stalls::{Standing, plural, standing};
use super::{Db, DbError, NotSent, Sent, append_change, mark_sold};
use crate::wire::{ChangeBody, ShipmentChange};

/// An order to ship, and how it left.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub order: String,
    pub buyer: String,
    pub pieces: Vec<String>,
    /// The stall that ships it; `None` for an order published to every stall.
    pub stall: Option<String>,
    pub created_at: i64,
    pub handed: Option<Handed>,
}

/// A hand-over to a courier as its kiosk signed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handed {
    pub record: ProofRecord,
    pub device: String,
    /// The signing key of the kiosk that sent it, as first seen (hex).
    pub registered_key: Option<String>,
}

impl Db {
    /// One page of the atelier's orders, newest first, with how many there are in all.
    pub fn orders(&self, atelier: &str, offset: i64, limit: i64) -> Result<(Vec<OrderLine>, i64), DbError> {
        self.tx(|tx| {
            let total = tx
                .query_opt("SELECT COUNT(*) FROM shipments WHERE atelier = $1", vals![atelier])?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0);
            let rows = tx.query(
                "SELECT order_id, buyer, pieces, stall, created_at FROM shipments WHERE atelier = $1
                 ORDER BY created_at DESC, order_id LIMIT $2 OFFSET $3",
                vals![atelier, limit, offset],
            )?;
            let mut lines = Vec::with_capacity(rows.len());
            for row in rows {
                let order = row.text(0)?;
                lines.push(OrderLine {
                    handed: handed(tx, atelier, &order)?,
                    order,
                    buyer: row.text(1)?,
                    pieces: serde_json::from_str(&row.text(2)?).map_err(|e| DbError::Invalid(e.to_string()))?,
                    stall: row.opt_text(3)?,
                    created_at: row.int(4)?,
                });
            }
            Ok((lines, total))
        })
    }

    /// The proof of dispatch of one of the atelier's orders, if its kiosk sent one.
    pub fn order_proof(&self, atelier: &str, order: &str) -> Result<Option<Handed>, DbError> {
        self.tx(|tx| handed(tx, atelier, &order.trim().to_ascii_uppercase()))
    }

    /// Asks `stall` to ship an online order, as `actor`: its pieces are recorded as sold by
    /// the order (all or none, as an online sale) and the order goes to the stall's kiosks.
    /// The same order sent again (a double click) changes nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn ship_order(
        &self,
        atelier: &str,
        order: &str,
        buyer: &str,
        serials: &[String],
        stall: &str,
        actor: &str,
        now: i64,
    ) -> Result<Sent, DbError> {
        let order = &order.trim().to_ascii_uppercase();
        self.write(atelier, |tx| {
            let held = tx.query_opt(
                "SELECT stall, buyer, pieces, published FROM shipments WHERE atelier = $1 AND order_id = $2",
                vals![atelier, order],
            )?;
            if let Some(held) = held {
                let at = held.opt_text(0)?.unwrap_or_else(|| "every stall".into());
                let same =
                    held.text(1)? == buyer && held.text(2)? == serde_json::to_string(serials).unwrap_or_default();
                return match (held.int(3)? == 1, at == stall, same) {
                    // The same form sent again: done once.
                    (true, true, true) => Ok(Sent::Done { sent: serials.len(), moved: 0 }),
                    (false, _, _) => Err(DbError::Invalid(format!(
                        "{order} is already an order the kiosk at {at} made: give this one another number"
                    ))),
                    (true, false, _) => {
                        Err(DbError::Invalid(format!("order {order} is already to be shipped from {at}")))
                    }
                    (true, true, false) => Err(DbError::Invalid(format!(
                        "order {order} was already sent to {at} with other pieces or another buyer: give this one \
                         another number"
                    ))),
                };
            }
            let mut refused = Vec::new();
            for serial in serials {
                match standing(tx, atelier, serial, now)? {
                    Standing::Unknown => refused.push(NotSent::Unknown(serial.clone())),
                    Standing::Sold(sale) if sale.eq_ignore_ascii_case(order) => {}
                    Standing::Sold(_) => refused.push(NotSent::Sold(serial.clone())),
                    Standing::Lost => refused.push(NotSent::ReportedLost(serial.clone())),
                    Standing::Held { stall, until } => {
                        refused.push(NotSent::Held { serial: serial.clone(), stall, until })
                    }
                    // The stall hands over what it has: a piece at another stall goes there first.
                    Standing::Free(Some(at)) if at != stall => {
                        refused.push(NotSent::Elsewhere { serial: serial.clone(), stall: at });
                    }
                    Standing::Free(_) => {}
                }
            }
            if !refused.is_empty() {
                return Ok(Sent::Refused(refused));
            }
            for serial in serials {
                if !matches!(standing(tx, atelier, serial, now)?, Standing::Sold(_)) {
                    mark_sold(tx, atelier, serial, order, "online", now, now)?;
                }
            }
            let shipment = ShipmentChange {
                id: order.to_owned(),
                buyer: buyer.to_owned(),
                pieces: serials.to_vec(),
                created_at: now,
            };
            append_change(tx, atelier, Some(stall), &ChangeBody::Shipment(shipment), now)?;
            let detail = format!("{order} for {buyer}, {} from {stall}", plural(serials.len()));
            record(tx, atelier, actor, "asked a stall to ship an order", &detail, now)?;
            Ok(Sent::Done { sent: serials.len(), moved: 0 })
        })
    }
}

/// Keeps an order to ship as published, or as its kiosk made it. A later version of a
/// published order replaces the first; a kiosk's own order never replaces a published one.
pub(super) fn record_shipment(
    tx: &mut dyn Sql,
    atelier: &str,
    stall: Option<&str>,
    shipment: &ShipmentChange,
    published: bool,
) -> Result<(), DbError> {
    let pieces = serde_json::to_string(&shipment.pieces).expect("serials serialise");
    let order = shipment.id.trim().to_ascii_uppercase();
    let sql = if published {
        "INSERT INTO shipments(atelier, order_id, stall, buyer, pieces, created_at, published)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT(atelier, order_id) DO UPDATE SET stall = excluded.stall, buyer = excluded.buyer,
                                                      pieces = excluded.pieces, published = 1"
    } else {
        "INSERT INTO shipments(atelier, order_id, stall, buyer, pieces, created_at, published)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT(atelier, order_id) DO NOTHING"
    };
    let flag = i64::from(published);
    tx.execute(sql, vals![atelier, order, stall, &shipment.buyer, pieces, shipment.created_at, flag])?;
    Ok(())
}

/// The first proof of dispatch received for `order` (upper-case, as kept).
fn handed(tx: &mut dyn Sql, atelier: &str, order: &str) -> Result<Option<Handed>, DbError> {
    let row = tx.query_opt(
        "SELECT x.record, x.device, d.signing_key FROM dispatches x LEFT JOIN devices d ON d.id = x.device
         WHERE x.atelier = $1 AND x.order_id = $2 ORDER BY x.received_at LIMIT 1",
        vals![atelier, order],
    )?;
    row.map(|r| {
        Ok(Handed {
            record: serde_json::from_str(&r.text(0)?).map_err(|e| DbError::Invalid(e.to_string()))?,
            device: r.text(1)?,
            registered_key: r.opt_text(2)?,
        })
    })
    .transpose()
}
