//! Orders awaiting a courier and the signed proofs of their hand-over.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store, StoreError, from_ms, outbox, print_jobs, to_ms};
use crate::domain::dispatch::ProofRecord;
use crate::domain::printout::Printout;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shipment {
    /// The order number staff and buyer use.
    pub id: String,
    pub sale_id: Option<String>,
    pub buyer: String,
    pub pieces: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct Dispatched<'a> {
    record: &'a ProofRecord,
}

fn shipment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Shipment> {
    let pieces: String = r.get(3)?;
    Ok(Shipment {
        id: r.get(0)?,
        sale_id: r.get(1)?,
        buyer: r.get(2)?,
        pieces: serde_json::from_str(&pieces)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?,
        created_at: from_ms(r.get(4)?),
        dispatched_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
    })
}

const SHIPMENT_COLUMNS: &str = "id, sale_id, buyer, pieces, created_at, dispatched_at";

impl Store {
    pub fn add_shipment(&mut self, shipment: &Shipment) -> Result<()> {
        let pieces = serde_json::to_string(&shipment.pieces).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO shipments(id, sale_id, buyer, pieces, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![shipment.id, shipment.sale_id, shipment.buyer, pieces, to_ms(shipment.created_at)],
            )?;
            outbox::append(tx, "shipment.created", shipment, shipment.created_at)?;
            Ok(())
        })
    }

    /// Orders still to hand to a courier, oldest first; `search` matches the order number
    /// or the buyer's name, from their start.
    pub fn shipments_awaiting(&self, search: &str) -> Result<Vec<Shipment>> {
        let like = format!("{}%", search.trim().replace(['%', '_'], ""));
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments
             WHERE dispatched_at IS NULL AND (id LIKE ?1 OR buyer LIKE ?1 OR buyer LIKE '% ' || ?1)
             ORDER BY created_at"
        ))?;
        let rows = stmt.query_map([like], shipment_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn shipment(&self, id: &str) -> Result<Option<Shipment>> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE id = ?1"), [id], shipment_row)
            .optional()?)
    }

    /// Records a hand-over: the proof, the order marked dispatched, the event for the cloud
    /// and the slip's print job, in one transaction. The photo must already be on disk
    /// (`PhotoStore::put`).
    pub fn record_dispatch(&mut self, record: &ProofRecord, slip: Option<&Printout>, now: DateTime<Utc>) -> Result<()> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.in_transaction(|tx| {
            let dispatched: Option<Option<i64>> = tx
                .query_row("SELECT dispatched_at FROM shipments WHERE id = ?1", [&record.order], |r| r.get(0))
                .optional()?;
            match dispatched {
                None => return Err(StoreError::NotFound(format!("order {}", record.order))),
                Some(Some(_)) => {
                    return Err(StoreError::Invalid(format!("order {} was already dispatched", record.order)));
                }
                Some(None) => {}
            }
            tx.execute(
                "INSERT INTO dispatch_proofs(shipment_id, record, photo_sha256, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![record.order, json, record.photo_sha256, to_ms(now)],
            )?;
            tx.execute("UPDATE shipments SET dispatched_at = ?2 WHERE id = ?1", params![record.order, to_ms(now)])?;
            outbox::append(tx, "dispatch.recorded", &Dispatched { record }, now)?;
            if let Some(slip) = slip {
                print_jobs::insert(tx, slip, None, false, now)?;
            }
            Ok(())
        })
    }

    pub fn dispatch_proof(&self, order: &str) -> Result<Option<ProofRecord>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT record FROM dispatch_proofs WHERE shipment_id = ?1", [order], |r| r.get(0))
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Invalid(format!("proof of {order}: {e}"))))
            .transpose()
    }

    /// The photos dispatch records point to: every other photo on disk is an orphan.
    pub fn dispatch_photo_hashes(&self) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT photo_sha256 FROM dispatch_proofs")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awaiting_orders_are_found_by_number_or_buyer_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        let now = Utc::now();
        for (i, (id, buyer)) in
            [("WEB-1001", "Ada Lovelace"), ("K1-000042", "Grace Hopper"), ("WEB-1002", "Alan Turing")]
                .into_iter()
                .enumerate()
        {
            let created_at = now + chrono::Duration::seconds(i as i64);
            let s = Shipment {
                id: id.into(),
                sale_id: None,
                buyer: buyer.into(),
                pieces: vec![format!("AT-2026-000{i}")],
                created_at,
                dispatched_at: None,
            };
            store.add_shipment(&s).unwrap();
        }
        let ids = |q: &str| store.shipments_awaiting(q).unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(""), ["WEB-1001", "K1-000042", "WEB-1002"]);
        assert_eq!(ids("web-100"), ["WEB-1001", "WEB-1002"]);
        assert_eq!(ids("hop"), ["K1-000042"], "surname");
        assert_eq!(ids("al"), ["WEB-1002"]);
        assert_eq!(ids("%"), ["WEB-1001", "K1-000042", "WEB-1002"], "wildcards are text");
        assert_eq!(store.shipment("WEB-1002").unwrap().unwrap().pieces, ["AT-2026-0002"]);
        assert!(store.add_shipment(&store.shipment("WEB-1002").unwrap().unwrap()).is_err(), "one order, once");
    }
}
