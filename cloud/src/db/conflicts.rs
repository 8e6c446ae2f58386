//! Refused events across the atelier's kiosks, and who dealt with each: the kiosk's staff
//! (its `sync.conflict_resolved` event) or someone in the back office (kept here, and sent
//! to the kiosk's stall so the kiosk stops asking).

use std::collections::HashMap;

use super::accounts::record;
use super::sql::{Row, vals};
use super::{Db, DbError, append_change};
use crate::wire::{ChangeBody, ConflictDealtChange, Outcome};

/// At most this many of each kind are read: a page, not an archive.
const LIMIT: i64 = 500;

/// One event the cloud refused, or a kiosk could not carry out for the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictLine {
    pub event_id: String,
    pub device: String,
    pub stall: String,
    /// The event's kind as the kiosk sent it (`sale.completed`, `reservation.refused`…).
    pub kind: String,
    pub at: i64,
    /// The cloud's reason code (`piece_sold_elsewhere`…), or `piece_unavailable` for an
    /// online reservation the kiosk could not keep.
    pub reason: String,
    pub message: String,
    pub dealt: Option<Dealt>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dealt {
    /// "the kiosk K1", or the email of who marked it in the back office.
    pub by: String,
    pub at: i64,
}

impl Db {
    /// The atelier's conflicts: open ones first, then newest first (the newest [`LIMIT`] of
    /// each kind).
    pub fn conflicts(&self, atelier: &str) -> Result<Vec<ConflictLine>, DbError> {
        self.refused_events(atelier, "")
    }

    /// [`Db::conflicts`], or only the one of event `only` (whatever its age) when not empty.
    fn refused_events(&self, atelier: &str, only: &str) -> Result<Vec<ConflictLine>, DbError> {
        let mut lines: Vec<ConflictLine> = Vec::new();
        let mut dealt: HashMap<String, Dealt> = HashMap::new();
        self.tx(|tx| {
            // The WHERE is the partial index's own, so only refused events are read.
            for row in tx.query(
                "SELECT e.id, e.device, d.stall, e.kind, e.at, e.outcome FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.atelier = $1 AND e.outcome <> '{\"status\":\"accepted\"}' AND ($3 = '' OR e.id = $3)
                 ORDER BY e.at DESC LIMIT $2",
                vals![atelier, LIMIT, only],
            )? {
                let (reason, message) = match serde_json::from_str::<Outcome>(&row.text(5)?) {
                    Ok(Outcome::Rejected { reason, message }) => (reason.as_str().to_owned(), message),
                    Ok(Outcome::Accepted) => continue,
                    Err(e) => ("unreadable".to_owned(), format!("the cloud's answer could not be read: {e}")),
                };
                lines.push(line(&row, reason, message)?);
            }
            for row in tx.query(
                "SELECT e.id, e.device, d.stall, e.kind, e.at, e.payload FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.atelier = $1 AND e.kind = 'reservation.refused' AND ($3 = '' OR e.id = $3)
                 ORDER BY e.at DESC LIMIT $2",
                vals![atelier, LIMIT, only],
            )? {
                let payload: serde_json::Value = serde_json::from_str(&row.text(5)?).unwrap_or_default();
                let field = |name: &str| payload.get(name).and_then(|v| v.as_str()).unwrap_or("?").to_owned();
                let message = format!(
                    "online reservation {} for {} could not be kept: {}",
                    field("code"),
                    field("serial"),
                    field("why")
                );
                lines.push(line(&row, "piece_unavailable".into(), message)?);
            }
            // Sent again with other content: the first version stands (the kiosk was told).
            for row in tx.query(
                "SELECT c.id, c.device, d.stall, c.kind, MIN(c.at) FROM event_conflicts c JOIN devices d ON d.id = c.device
                 WHERE d.atelier = $1 AND ($3 = '' OR c.id = $3)
                 GROUP BY c.id, c.device, d.stall, c.kind ORDER BY 5 DESC LIMIT $2",
                vals![atelier, LIMIT, only],
            )? {
                let message = "the kiosk sent this event again with other content; the first version stands".into();
                lines.push(line(&row, "event_changed".into(), message)?);
            }
            for row in tx.query(
                "SELECT e.device, e.at, e.payload FROM events e
                 WHERE e.atelier = $1 AND e.kind = 'sync.conflict_resolved'",
                vals![atelier],
            )? {
                let payload: serde_json::Value = serde_json::from_str(&row.text(2)?).unwrap_or_default();
                if let Some(id) = payload.get("event_id").and_then(|v| v.as_str()) {
                    dealt.insert(id.to_owned(), Dealt { by: format!("the kiosk {}", row.text(0)?), at: row.int(1)? });
                }
            }
            for row in
                tx.query("SELECT event_id, by_whom, at FROM conflicts_dealt WHERE atelier = $1", vals![atelier])?
            {
                // The office's mark wins when both dealt with it: it names a person.
                dealt.insert(row.text(0)?, Dealt { by: row.text(1)?, at: row.int(2)? });
            }
            Ok(())
        })?;
        let mut seen = std::collections::HashSet::new();
        lines.retain(|l| seen.insert(l.event_id.clone()));
        for l in &mut lines {
            l.dealt = dealt.remove(&l.event_id);
        }
        lines.sort_by(|a, b| a.dealt.is_some().cmp(&b.dealt.is_some()).then(b.at.cmp(&a.at)));
        Ok(lines)
    }

    /// Marks a conflict dealt with, from the back office: recorded once (a second click
    /// changes nothing and is no error), audited, and sent to the kiosk's stall.
    pub fn deal_with_conflict(&self, atelier: &str, event_id: &str, actor: &str, now: i64) -> Result<(), DbError> {
        let uuid = uuid::Uuid::parse_str(event_id)
            .map_err(|_| DbError::Invalid(format!("{event_id} is not an event's id")))?;
        // As the store keeps ids, whatever case the link used.
        let event_id = &uuid.to_string();
        let conflict = self
            .refused_events(atelier, event_id)?
            .into_iter()
            .find(|c| c.event_id == *event_id)
            .ok_or_else(|| DbError::Invalid(format!("no conflict {event_id} in this atelier")))?;
        self.write(atelier, |tx| {
            let marked = tx.execute(
                "INSERT INTO conflicts_dealt(atelier, event_id, by_whom, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                vals![atelier, event_id, actor, now],
            )?;
            if marked == 0 {
                return Ok(());
            }
            let detail =
                format!("{} from {} at {}: {}", conflict.kind, conflict.device, conflict.stall, conflict.message);
            record(tx, atelier, actor, "dealt with a conflict", &detail, now)?;
            let change = ChangeBody::ConflictDealt(ConflictDealtChange { event_id: uuid });
            append_change(tx, atelier, Some(&conflict.stall), &change, now)
        })
    }
}

/// A conflict from the first five columns (id, device, stall, kind, at).
fn line(row: &Row, reason: String, message: String) -> Result<ConflictLine, DbError> {
    Ok(ConflictLine {
        event_id: row.text(0)?,
        device: row.text(1)?,
        stall: row.text(2)?,
        kind: row.text(3)?,
        at: row.int(4)?,
        reason,
        message,
        dealt: None,
    })
}
