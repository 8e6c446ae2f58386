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
        let mut stmt = self
            .conn
            .prepare("SELECT seq, id, kind, payload FROM outbox WHERE synced_at IS NULL ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, kind, payload) = row?;
            out.push(OutboxEvent {
                seq,
                id: Uuid::parse_str(&id).map_err(|e| StoreError::Invalid(e.to_string()))?,
                kind,
                payload: serde_json::from_str(&payload).map_err(|e| StoreError::Invalid(e.to_string()))?,
            });
        }
        Ok(out)
    }
}
