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

/// A handed-over order with its proof and where its photo is.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchedOrder {
    pub shipment: Shipment,
    pub record: ProofRecord,
    pub photo_uploaded_at: Option<DateTime<Utc>>,
    pub photo_removed_at: Option<DateTime<Utc>>,
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
            tx.execute("DELETE FROM photo_writes WHERE sha256 = ?1", [&record.photo_sha256])?;
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

    /// Notes, durably, that a photo is about to be written for a record: if the record never
    /// commits (a power cut in between), start-up knows the photo is this store's to remove.
    pub fn begin_photo_write(&self, sha256: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO photo_writes(sha256, started_at) VALUES (?1, ?2) ON CONFLICT(sha256) DO NOTHING",
            params![sha256, to_ms(now)],
        )?;
        Ok(())
    }

    /// Photos this store wrote and no record of its own keeps: begun and never recorded (a
    /// power cut between photo and record), or marked removed after upload (a cut-off
    /// removal). Files nobody here wrote are never listed.
    pub fn photos_left_over(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT sha256 FROM photo_writes
             UNION SELECT photo_sha256 FROM dispatch_proofs WHERE photo_removed_at IS NOT NULL
             EXCEPT SELECT photo_sha256 FROM dispatch_proofs WHERE photo_removed_at IS NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The left-over photos are gone: forget that they were begun.
    pub fn forget_photo_writes(&mut self, sha256s: &[String]) -> Result<()> {
        self.in_transaction(|tx| {
            for sha256 in sha256s {
                tx.execute("DELETE FROM photo_writes WHERE sha256 = ?1", [sha256])?;
            }
            Ok(())
        })
    }

    /// The photos dispatch records point to and still keep here.
    pub fn dispatch_photo_hashes(&self) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT photo_sha256 FROM dispatch_proofs WHERE photo_removed_at IS NULL")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Orders handed over since `since`, newest first, with their proofs.
    pub fn dispatched_since(&self, since: DateTime<Utc>, limit: usize) -> Result<Vec<DispatchedOrder>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.sale_id, s.buyer, s.pieces, s.created_at, s.dispatched_at,
                    p.record, p.photo_uploaded_at, p.photo_removed_at
             FROM shipments s JOIN dispatch_proofs p ON p.shipment_id = s.id
             WHERE s.dispatched_at >= ?1 ORDER BY s.dispatched_at DESC, s.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![to_ms(since), limit as i64], |r| {
            let record: String = r.get(6)?;
            Ok((shipment_row(r)?, record, r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (shipment, record, uploaded, removed) = row?;
            let record = serde_json::from_str(&record)
                .map_err(|e| StoreError::Invalid(format!("proof of {}: {e}", shipment.id)))?;
            out.push(DispatchedOrder {
                shipment,
                record,
                photo_uploaded_at: uploaded.map(from_ms),
                photo_removed_at: removed.map(from_ms),
            });
        }
        Ok(out)
    }

    /// The cloud acknowledged this photo: its local copy may go after the retention time.
    pub fn mark_photo_uploaded(&mut self, sha256: &str, at: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE dispatch_proofs SET photo_uploaded_at = ?2 WHERE photo_sha256 = ?1 AND photo_uploaded_at IS NULL",
            params![sha256, to_ms(at)],
        )?)
    }

    /// Photos uploaded before `cutoff` and still kept here (none still needed by a record
    /// the cloud has not got).
    pub fn photos_to_remove(&self, cutoff: DateTime<Utc>) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT photo_sha256 FROM dispatch_proofs p
             WHERE photo_uploaded_at <= ?1 AND photo_removed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM dispatch_proofs q
                               WHERE q.photo_sha256 = p.photo_sha256 AND q.photo_uploaded_at IS NULL)",
        )?;
        let rows = stmt.query_map([to_ms(cutoff)], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Recorded before the file goes: a removal cut off by a power cut leaves a file no
    /// record keeps, which start-up's orphan sweep removes.
    pub fn mark_photo_removed(&mut self, sha256: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE dispatch_proofs SET photo_removed_at = ?2 WHERE photo_sha256 = ?1 AND photo_removed_at IS NULL",
            params![sha256, to_ms(at)],
        )?;
        Ok(())
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
