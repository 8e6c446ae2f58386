//! The outbox: the durable list of events sync must deliver, in order, exactly once.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use serde::Serialize;
use uuid::Uuid;

use super::{Result, Store, StoreError, to_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// What the cloud answered for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Accepted,
    /// Received but refused: recorded as a conflict for staff.
    Refused {
        reason: String,
        message: String,
    },
}

/// An event the cloud refused, as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub event_id: Uuid,
    pub kind: String,
    pub reason: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// Appends an event inside the caller's transaction; the caller commits both together.
pub(crate) fn append(tx: &Transaction<'_>, kind: &str, payload: &impl Serialize, at: DateTime<Utc>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let json = serde_json::to_string(payload).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.execute(
        "INSERT INTO outbox(id, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), kind, json, to_ms(at)],
    )?;
    Ok(id)
}

impl Store {
    /// Changes not yet acknowledged by the cloud: the number staff see in the status bar.
    pub fn unsynced_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM outbox WHERE synced_at IS NULL", [], |r| r.get(0))?)
    }

    /// The oldest unsynced events, in the order they happened.
    pub fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEvent>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, id, kind, payload, created_at FROM outbox WHERE synced_at IS NULL ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, kind, payload, at) = row?;
            out.push(OutboxEvent {
                seq,
                id: Uuid::parse_str(&id).map_err(|e| StoreError::Invalid(e.to_string()))?,
                kind,
                payload: serde_json::from_str(&payload).map_err(|e| StoreError::Invalid(e.to_string()))?,
                at: super::from_ms(at),
            });
        }
        Ok(out)
    }

    /// The cloud's answers for delivered events, in one transaction: each is marked synced,
    /// and a refused one is recorded as a conflict. Only acknowledged events are passed here.
    pub fn acknowledge(&mut self, answers: &[(Uuid, Delivery)], at: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| {
            for (id, delivery) in answers {
                let id = id.to_string();
                let changed = tx.execute(
                    "UPDATE outbox SET synced_at = ?2 WHERE id = ?1 AND synced_at IS NULL",
                    params![id, to_ms(at)],
                )?;
                if let (1, Delivery::Refused { reason, message }) = (changed, delivery) {
                    tx.execute(
                        "INSERT INTO sync_conflicts(event_id, kind, reason, message, at)
                         SELECT id, kind, ?2, ?3, ?4 FROM outbox WHERE id = ?1
                         ON CONFLICT(event_id) DO NOTHING",
                        params![id, reason, message, to_ms(at)],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// The cloud lacks events from `seq` on (its data was restored from an older copy):
    /// they are sent again. The cloud ignores any it does hold.
    pub fn resend_from(&mut self, seq: i64) -> Result<u64> {
        Ok(self.conn.execute("UPDATE outbox SET synced_at = NULL WHERE seq >= ?1 AND synced_at IS NOT NULL", [seq])?
            as u64)
    }

    /// The sequence number of the last event the cloud acknowledged (0: none yet).
    pub fn last_acknowledged_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(max(seq), 0) FROM outbox WHERE synced_at IS NOT NULL", [], |r| r.get(0))?)
    }

    /// How many refused events staff have not dealt with yet (the status bar, every second).
    pub fn open_conflict_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL", [], |r| r.get(0))?)
    }

    /// Staff have dealt with a conflict: it leaves the list, and the cloud is told who
    /// cleared it when (an event like any other).
    pub fn resolve_conflict(&mut self, event_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        #[derive(Serialize)]
        struct Resolved {
            event_id: Uuid,
        }
        self.in_transaction(|tx| {
            let changed = tx.execute(
                "UPDATE sync_conflicts SET resolved_at = ?2 WHERE event_id = ?1 AND resolved_at IS NULL",
                params![event_id.to_string(), to_ms(now)],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("open conflict {event_id}")));
            }
            append(tx, "sync.conflict_resolved", &Resolved { event_id }, now).map(drop)
        })
    }

    /// Refused events staff have not dealt with yet, newest first.
    pub fn open_conflicts(&self) -> Result<Vec<Conflict>> {
        let mut stmt = self.conn.prepare(
            "SELECT event_id, kind, reason, message, at FROM sync_conflicts WHERE resolved_at IS NULL ORDER BY at DESC",
        )?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, i64>(4)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, reason, message, at) = row?;
            out.push(Conflict {
                event_id: Uuid::parse_str(&id).map_err(|e| StoreError::Invalid(e.to_string()))?,
                kind,
                reason,
                message,
                at: super::from_ms(at),
            });
        }
        Ok(out)
    }

    /// Dispatch photos the cloud does not have yet.
    pub fn photos_to_upload(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT photo_sha256 FROM dispatch_proofs
             WHERE photo_uploaded_at IS NULL AND photo_removed_at IS NULL ORDER BY created_at",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
