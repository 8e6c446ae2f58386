//! The cash drawer's movements (float, cash in and out, counts) and the day's drawer sums.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use super::reports::Day;
use super::{Result, Store, StoreError, from_ms, outbox, to_ms};
use crate::domain::cash::{self, CashError, CashKind, CashMovement, Drawer};
use crate::domain::{Currency, Money};

#[derive(Serialize)]
struct CashMoved<'a> {
    #[serde(flatten)]
    movement: &'a CashMovement,
    device: &'a str,
}

impl Store {
    /// Records a movement of the drawer with its outbox event. The day takes one opening
    /// float: a second is refused with the first's time and amount.
    pub fn record_cash(
        &mut self,
        device: &str,
        kind: CashKind,
        amount: Money,
        reason: &str,
        day: Day,
        now: DateTime<Utc>,
    ) -> Result<CashMovement> {
        cash::check(kind, amount, reason, amount.currency)?;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if kind == CashKind::Float {
            let earlier: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT at, amount_minor FROM cash_movements
                     WHERE device = ?1 AND kind = 'float' AND at >= ?2 AND at < ?3 ORDER BY at LIMIT 1",
                    params![device, to_ms(day.from), to_ms(day.to)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((at, minor)) = earlier {
                return Err(CashError::FloatAlreadySet {
                    at: from_ms(at).with_timezone(&chrono::Local).format("%H:%M").to_string(),
                    amount: Money::new(minor, amount.currency),
                }
                .into());
            }
        }
        let movement = CashMovement { id: Uuid::now_v7(), kind, amount, reason: reason.trim().to_owned(), at: now };
        tx.execute(
            "INSERT INTO cash_movements(id, device, at, kind, amount_minor, currency, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                movement.id.to_string(),
                device,
                to_ms(now),
                kind.as_str(),
                amount.minor,
                amount.currency.code(),
                movement.reason
            ],
        )?;
        outbox::append(&tx, "cash.moved", &CashMoved { movement: &movement, device }, now)?;
        tx.commit()?;
        Ok(movement)
    }

    /// The day's movements, oldest first.
    pub fn cash_movements(&self, device: &str, day: Day) -> Result<Vec<CashMovement>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, amount_minor, currency, reason, at FROM cash_movements
             WHERE device = ?1 AND at >= ?2 AND at < ?3 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![device, to_ms(day.from), to_ms(day.to)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, minor, currency, reason, at) = row?;
            let bad = |what: String| StoreError::Invalid(format!("cash movement {id}: {what}"));
            out.push(CashMovement {
                id: Uuid::parse_str(&id).map_err(|e| bad(e.to_string()))?,
                kind: CashKind::parse(&kind).ok_or_else(|| bad(format!("kind {kind}")))?,
                amount: Money::new(minor, Currency::parse(&currency).map_err(|e| bad(e.to_string()))?),
                reason,
                at: from_ms(at),
            });
        }
        Ok(out)
    }

    /// The drawer over one day: float, cash from sales (net of change, voided sales too:
    /// their cash came in and the void's refund took it out), cash refunds, cash in and
    /// out, and the last count.
    pub fn drawer(&self, device: &str, currency: Currency, day: Day) -> Result<Drawer> {
        let range = params![device, to_ms(day.from), to_ms(day.to)];
        let money = |minor: i64| Money::new(minor, currency);
        let cash_sales: i64 = self.conn.query_row(
            "SELECT coalesce(sum(t.amount_minor), 0)
                 - (SELECT coalesce(sum(s2.change_minor), 0) FROM sales s2
                    WHERE s2.device = ?1 AND s2.at >= ?2 AND s2.at < ?3)
             FROM tenders t JOIN sales s ON s.id = t.sale_id
             WHERE s.device = ?1 AND s.at >= ?2 AND s.at < ?3 AND t.kind = 'cash'",
            range,
            |r| r.get(0),
        )?;
        let cash_refunds: i64 = self.conn.query_row(
            "SELECT coalesce(sum(r.cash_minor), 0) FROM refunds r JOIN sales s ON s.id = r.sale_id
             WHERE s.device = ?1 AND r.at >= ?2 AND r.at < ?3",
            range,
            |r| r.get(0),
        )?;
        let mut drawer =
            Drawer { cash_sales: money(cash_sales), cash_refunds: money(cash_refunds), ..Drawer::empty(currency) };
        for m in self.cash_movements(device, day)? {
            match m.kind {
                CashKind::Float => drawer.float = money(drawer.float.minor + m.amount.minor),
                CashKind::PaidIn => drawer.paid_in = money(drawer.paid_in.minor + m.amount.minor),
                CashKind::PaidOut => drawer.paid_out = money(drawer.paid_out.minor + m.amount.minor),
                CashKind::Count => {
                    drawer.counted = Some(m.amount);
                    drawer.counted_at = Some(m.at);
                }
            }
        }
        Ok(drawer)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::cash::RefundMethod;
    use crate::domain::{Cart, ReturnsWindow, Serial, Tender, VatRate};
    use crate::store::store_with_pieces;

    fn gbp(minor: i64) -> Money {
        Money::new(minor, Currency::GBP)
    }

    #[test]
    fn the_drawer_counts_float_sales_refunds_and_movements_and_the_day_has_one_float() {
        let (_dir, mut store) = store_with_pieces(2);
        let from = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let day = Day { date: from.date_naive(), from, to: from + Duration::days(1) };
        let t = |m| from + Duration::minutes(m);
        store.record_cash("K1", CashKind::Float, gbp(5_000), "", day, t(1)).unwrap();
        let again = store.record_cash("K1", CashKind::Float, gbp(6_000), "", day, t(2)).unwrap_err();
        assert!(again.to_string().contains("float of £50.00"), "{again}");
        // £200 cash for two £100 pieces; one returned in cash.
        let mut cart = Cart::new(Currency::GBP);
        for s in ["AT-1", "AT-2"] {
            cart.add(&store.piece(&Serial::parse(s).unwrap()).unwrap().unwrap(), None, t(3)).unwrap();
        }
        let tenders = vec![Tender::Cash { tendered: gbp(20_000) }];
        let (sale, _) = cart.checkout(tenders, VatRate(2000), t(3), Uuid::now_v7()).unwrap();
        store.commit_sale(&sale, "K1").unwrap();
        let window = ReturnsWindow::default();
        let serial = Serial::parse("AT-1").unwrap();
        store.return_pieces(sale.id, &[serial], "Faulty", RefundMethod::Cash, t(4), window).unwrap();
        store.record_cash("K1", CashKind::PaidOut, gbp(8_000), "Bank drop", day, t(5)).unwrap();
        store.record_cash("K1", CashKind::PaidIn, gbp(1_000), "More change", day, t(6)).unwrap();
        assert!(store.record_cash("K1", CashKind::PaidOut, gbp(1_000), "", day, t(7)).is_err(), "no reason");
        store.record_cash("K1", CashKind::Count, gbp(9_000), "", day, t(8)).unwrap();
        store.record_cash("K1", CashKind::Count, gbp(7_900), "", day, t(9)).unwrap();
        // Another device's drawer and the next day are not this one.
        store.record_cash("K2", CashKind::PaidIn, gbp(999), "x", day, t(9)).unwrap();
        let next = Day { date: day.date.succ_opt().unwrap(), from: day.to, to: day.to + Duration::days(1) };
        store.record_cash("K1", CashKind::Float, gbp(5_000), "", next, day.to + Duration::hours(1)).unwrap();

        let d = store.drawer("K1", Currency::GBP, day).unwrap();
        assert_eq!(
            (d.float, d.cash_sales, d.cash_refunds, d.paid_in, d.paid_out),
            (gbp(5_000), gbp(20_000), gbp(10_000), gbp(1_000), gbp(8_000))
        );
        assert_eq!(d.expected(), gbp(8_000));
        assert_eq!((d.counted, d.difference()), (Some(gbp(7_900)), Some(gbp(-100))), "the last count stands");
        let events = store.pending_events(100).unwrap();
        let moved: Vec<_> = events.iter().filter(|e| e.kind == "cash.moved").collect();
        assert_eq!(moved.len(), 7, "one event per movement kept");
        assert_eq!(moved[0].payload["kind"], "float");
        assert_eq!(moved[0].payload["amount"]["minor"], 5_000);
        let returned = events.iter().find(|e| e.kind == "sale.returned").unwrap();
        assert_eq!(returned.payload["refunded"]["cash"]["minor"], 10_000);
    }
}
