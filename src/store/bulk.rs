//! Synthetic history for benchmarks and load tests: a store the size of a busy atelier's
//! year, written in one transaction. Not used by the kiosk itself.

use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

use super::{Result, Store, to_ms};

impl Store {
    /// Adds `pieces` pieces in drops of 24 and `sales` past one-line sales (with their
    /// tenders and synced outbox events). The newest `pieces / 2` sales still own their
    /// piece; older ones were returned, so half the pieces stay available to sell.
    pub fn seed_synthetic_history(&mut self, pieces: u64, sales: u64, now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| {
            let start = to_ms(now - Duration::days(365));
            let drops = pieces.div_ceil(24);
            let mut add_drop = tx.prepare(
                "INSERT INTO drops(id, name, opens_at, general_sale_at, closes_at) VALUES (?1, ?2, ?3, ?3, ?4)",
            )?;
            for d in 0..drops {
                // Drop 0 is live now; the rest are in the past.
                let (opens, closes) =
                    if d == 0 { (to_ms(now) - 3_600_000, to_ms(now) + 86_400_000) } else { (start, start + 1) };
                add_drop.execute(params![format!("bench-{d}"), format!("Bench drop {d}"), opens, closes])?;
            }
            let mut add_piece = tx.prepare(
                "INSERT INTO pieces(id, serial, drop_id, edition_number, edition_size, title, maker, price_minor,
                     currency, status)
                 VALUES (?1, ?2, ?3, ?4, 24, 'Bench pendant', 'Bench atelier', 18500, 'GBP', ?5)",
            )?;
            let live_from = sales.saturating_sub(pieces / 2);
            for p in 0..pieces {
                let sold = sales > 0 && p < pieces / 2;
                add_piece.execute(params![
                    p as i64 + 1,
                    format!("BX-{:07}", p + 1),
                    format!("bench-{}", p / 24),
                    p % 24 + 1,
                    if sold { "sold" } else { "available" }
                ])?;
            }
            let mut add_sale = tx.prepare(
                "INSERT INTO sales(id, device, seq, at, currency, subtotal_minor, discount_minor, total_minor,
                     vat_minor, vat_rate_bp, change_minor, line_count)
                 VALUES (?1, 'BENCH', ?2, ?3, 'GBP', 18500, 0, 18500, 3083, 2000, 0, 1)",
            )?;
            let mut add_line = tx.prepare(
                "INSERT INTO sale_lines(sale_id, line_no, piece_id, serial, title, edition, unit_minor, discount_minor,
                     net_minor, vat_minor, active)
                 VALUES (?1, 0, ?2, ?3, 'Bench pendant', '01 of 24', 18500, 0, 18500, 3083, ?4)",
            )?;
            let mut add_tender = tx.prepare(
                "INSERT INTO tenders(sale_id, idx, kind, amount_minor, reference) VALUES (?1, 0, 'card', 18500, 'B')",
            )?;
            let mut add_event = tx.prepare(
                "INSERT INTO outbox(id, kind, payload, created_at, synced_at) VALUES (?1, 'sale.completed', '{}', ?2, ?2)",
            )?;
            let step = if sales == 0 { 0 } else { 365 * 86_400_000 / sales as i64 };
            let live_pieces = (pieces / 2).max(1);
            for s in 0..sales {
                let id = uuid::Uuid::now_v7().to_string();
                let at = start + s as i64 * step;
                let live = s >= live_from;
                let piece = if live { s - live_from } else { s % live_pieces } + 1;
                add_sale.execute(params![id, s as i64 + 1, at])?;
                add_line.execute(params![id, piece as i64, format!("BX-{piece:07}"), live as i64])?;
                add_tender.execute(params![id])?;
                add_event.execute(params![uuid::Uuid::now_v7().to_string(), at])?;
            }
            tx.execute(
                "INSERT INTO receipt_counter(device, last_seq) VALUES ('BENCH', ?1)
                 ON CONFLICT(device) DO UPDATE SET last_seq = excluded.last_seq",
                [sales as i64],
            )?;
            Ok(())
        })
    }

    /// `n` events waiting for the cloud, of a kind it only keeps: the sync tests' and
    /// benchmark's load. One transaction.
    pub fn seed_pending_events(&mut self, n: u64, now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| {
            for i in 0..n {
                let payload = serde_json::json!({ "n": i, "note": "synthetic event for sync tests" });
                super::outbox::append(tx, "test.event", &payload, now)?;
            }
            Ok(())
        })
    }

    /// Adds `total` reservations over the first pieces: `active` of them alive (each on its
    /// own available piece, which becomes held, expiring over the next `active_span`), the
    /// rest ended in the past year. Customer names come from a small list so name-prefix
    /// searches match many rows. Returns the codes, in insertion order.
    pub fn seed_synthetic_reservations(
        &mut self,
        total: u64,
        active: u64,
        active_span: Duration,
        now: DateTime<Utc>,
        mut code: impl FnMut() -> crate::domain::ReservationCode,
    ) -> Result<Vec<String>> {
        const NAMES: [&str; 8] = [
            "Ana Ruiz",
            "Ben Carter",
            "Chloe Martin",
            "Dev Patel",
            "Elena Rossi",
            "Farah Khan",
            "Gus Lee",
            "Hana Sato",
        ];
        self.in_transaction(|tx| {
            let available: Vec<(i64, String)> = tx
                .prepare("SELECT id, serial FROM pieces WHERE status = 'available' ORDER BY id LIMIT ?1")?
                .query_map([active as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let any: Vec<(i64, String)> = tx
                .prepare("SELECT id, serial FROM pieces ORDER BY id LIMIT 50000")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut insert = tx.prepare(
                "INSERT INTO reservations(id, code, kind, source, piece_id, serial, customer_name, customer_contact,
                     price_minor, currency, created_at, expires_at, state, ended_at)
                 VALUES (?1, ?2, 'hold', 'stall', ?3, ?4, ?5, '07700 900000', 18500, 'GBP', ?6, ?7, ?8, ?9)",
            )?;
            let mut hold = tx.prepare("UPDATE pieces SET status = 'held', held_for = ?2 WHERE id = ?1")?;
            let mut seen = std::collections::HashSet::new();
            let mut codes = Vec::with_capacity(total as usize);
            for i in 0..total {
                let c = loop {
                    let c = code();
                    if seen.insert(c.as_str().to_owned()) {
                        break c;
                    }
                };
                let name = format!("{} {i}", NAMES[i as usize % NAMES.len()]);
                let alive = i < active && (i as usize) < available.len();
                let (piece, serial) = if alive { &available[i as usize] } else { &any[i as usize % any.len()] };
                let (created, expires, state, ended) = if alive {
                    let expires = now + active_span * (i as i32 + 1) / active.max(1) as i32;
                    (to_ms(now), to_ms(expires), "active", None)
                } else {
                    let at = to_ms(now - Duration::days(1 + (i % 360) as i64));
                    (at, at + 3_600_000, ["collected", "expired", "released"][i as usize % 3], Some(at + 1_800_000))
                };
                insert.execute(params![
                    uuid::Uuid::now_v7().to_string(),
                    c.as_str(),
                    piece,
                    serial,
                    name,
                    created,
                    expires,
                    state,
                    ended
                ])?;
                if alive {
                    hold.execute(params![piece, name])?;
                }
                codes.push(c.as_str().to_owned());
            }
            Ok(codes)
        })
    }
}
