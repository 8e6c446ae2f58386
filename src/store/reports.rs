//! The end-of-day (Z) report, summed by SQL over one device's day.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::{Result, Store, to_ms};
use crate::domain::printout::ZReport;
use crate::domain::{Currency, Money};

/// The local day a report covers, as a UTC interval.
#[derive(Debug, Clone, Copy)]
pub struct Day {
    pub date: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Day {
    /// The local day `now` falls in; `None` only where the zone makes midnight ambiguous
    /// beyond repair.
    pub fn containing(now: DateTime<Utc>) -> Option<Day> {
        use chrono::{Local, NaiveTime, TimeZone};
        let date = now.with_timezone(&Local).date_naive();
        let midnight = |d: NaiveDate| {
            Local.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest().map(|t| t.with_timezone(&Utc))
        };
        Some(Day { date, from: midnight(date)?, to: midnight(date.succ_opt()?)? })
    }
}

impl Store {
    /// Sums the day's sales, tenders, drops, refunds and the drawer. Voided sales are left
    /// out of the takings and counted as voids.
    pub fn z_report(
        &self,
        stall: &str,
        device: &str,
        currency: Currency,
        day: Day,
        now: DateTime<Utc>,
    ) -> Result<ZReport> {
        let range = params![device, to_ms(day.from), to_ms(day.to)];
        let money = |minor: i64| Money::new(minor, currency);
        let (sales, gross, vat): (u32, i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(total_minor), 0), coalesce(sum(vat_minor), 0) FROM sales
             WHERE device = ?1 AND at >= ?2 AND at < ?3 AND voided_at IS NULL",
            range,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let pieces: u32 = self.conn.query_row(
            "SELECT count(*) FROM sale_lines l JOIN sales s ON s.id = l.sale_id
             WHERE s.device = ?1 AND s.at >= ?2 AND s.at < ?3 AND s.voided_at IS NULL",
            range,
            |r| r.get(0),
        )?;
        let mut by_tender = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.kind, count(DISTINCT t.sale_id), sum(t.amount_minor),
                 (SELECT coalesce(sum(s2.change_minor), 0) FROM sales s2
                  WHERE s2.device = ?1 AND s2.at >= ?2 AND s2.at < ?3 AND s2.voided_at IS NULL)
             FROM tenders t JOIN sales s ON s.id = t.sale_id
             WHERE s.device = ?1 AND s.at >= ?2 AND s.at < ?3 AND s.voided_at IS NULL
             GROUP BY t.kind ORDER BY t.kind DESC",
        )?;
        let rows = stmt.query_map(range, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        for row in rows {
            let (kind, count, amount, change) = row?;
            // Change comes out of the cash drawer, so cash takings are net of it.
            let (label, kept) =
                if kind == "cash" { (crate::msg!("Cash"), amount - change) } else { (crate::msg!("Card"), amount) };
            by_tender.push((label.to_owned(), count, money(kept)));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(d.name, 'No drop'), count(*), sum(l.net_minor)
             FROM sale_lines l JOIN sales s ON s.id = l.sale_id LEFT JOIN drops d ON d.id = l.drop_id
             WHERE s.device = ?1 AND s.at >= ?2 AND s.at < ?3 AND s.voided_at IS NULL
             GROUP BY 1 ORDER BY 1",
        )?;
        let by_drop = stmt
            .query_map(range, |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, money(r.get(2)?))))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (voids, returns, refunded): (u32, u32, i64) = self.conn.query_row(
            "SELECT coalesce(sum(r.kind = 'void'), 0), coalesce(sum(r.kind = 'return'), 0),
                 coalesce(sum(CASE r.kind WHEN 'return' THEN r.amount_minor ELSE 0 END), 0)
             FROM refunds r JOIN sales s ON s.id = r.sale_id
             WHERE s.device = ?1 AND r.at >= ?2 AND r.at < ?3",
            range,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let to_card: i64 = self.conn.query_row(
            "SELECT coalesce(sum(r.card_minor), 0) FROM refunds r JOIN sales s ON s.id = r.sale_id
             WHERE s.device = ?1 AND r.at >= ?2 AND r.at < ?3",
            range,
            |r| r.get(0),
        )?;
        let drawer = self.drawer(device, currency, day)?;
        Ok(ZReport {
            stall: stall.to_owned(),
            device: device.to_owned(),
            day: day.date,
            generated_at: now,
            sales,
            pieces,
            gross: money(gross),
            vat: money(vat),
            by_tender,
            by_drop,
            voids,
            returns,
            refunded: money(refunded),
            cash_expected: drawer.expected(),
            refunded_to_card: Some(money(to_card)),
            drawer: Some(drawer),
            unsynced_changes: self.unsynced_count()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;

    use super::*;
    use crate::domain::cash::{CashKind, RefundMethod};
    use crate::domain::{Cart, ReturnsWindow, Serial, Tender, VatRate};
    use crate::store::store_with_pieces;

    fn sell(store: &mut Store, serials: &str, tenders: Vec<Tender>, at: DateTime<Utc>) -> Uuid {
        let mut cart = Cart::new(Currency::GBP);
        for serial in serials.split(',') {
            let p = store.piece(&Serial::parse(serial).unwrap()).unwrap().unwrap();
            cart.add(&p, None, at).unwrap();
        }
        let (sale, _) = cart.checkout(tenders, VatRate(2000), at, Uuid::now_v7()).unwrap();
        store.commit_sale(&sale, "K1").unwrap();
        sale.id
    }

    #[test]
    fn the_drawer_gives_back_only_the_cash_a_voided_sale_took() {
        let (_dir, mut store) = store_with_pieces(3);
        let gbp = |m| Money::new(m, Currency::GBP);
        let from = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let day = Day { date: from.date_naive(), from, to: from + Duration::days(1) };
        let t = |h| from + Duration::hours(h);
        let window = ReturnsWindow::default();
        // Two pieces for £200 cash; one returned (£100 out), then the sale voided (£100 more).
        let both = sell(&mut store, "AT-1,AT-2", vec![Tender::Cash { tendered: gbp(20_000) }], t(1));
        store
            .return_pieces(both, &[Serial::parse("AT-1").unwrap()], "Faulty", RefundMethod::Cash, t(2), window)
            .unwrap();
        store.void_sale(both, "Keyed in error", t(3), window).unwrap();
        // A card sale voided: no cash moved either way.
        let card = sell(&mut store, "AT-3", vec![Tender::Card { amount: gbp(10_000), reference: "9".into() }], t(4));
        store.void_sale(card, "Keyed in error", t(5), window).unwrap();
        let z = store.z_report("Stall", "K1", Currency::GBP, day, t(6)).unwrap();
        assert_eq!((z.sales, z.voids, z.returns), (0, 2, 1));
        assert_eq!(z.cash_expected, gbp(0));
        assert_eq!(z.refunded_to_card, Some(gbp(10_000)), "the card sale's void went back to its card");
    }

    #[test]
    fn z_report_adds_up_takings_tenders_drops_and_refunds_for_one_day() {
        let (_dir, mut store) = store_with_pieces(5);
        let gbp = |m| Money::new(m, Currency::GBP);
        let from = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let day = Day { date: from.date_naive(), from, to: from + Duration::days(1) };
        let t = |h| from + Duration::hours(h);
        // Cash £120 for £100 (change £20); card; split card + cash; a sale voided; one returned.
        sell(&mut store, "AT-1", vec![Tender::Cash { tendered: gbp(12_000) }], t(1));
        sell(&mut store, "AT-2", vec![Tender::Card { amount: gbp(10_000), reference: "1".into() }], t(2));
        let split =
            vec![Tender::Card { amount: gbp(4_000), reference: "2".into() }, Tender::Cash { tendered: gbp(6_000) }];
        let returned = sell(&mut store, "AT-3", split, t(3));
        let voided = sell(&mut store, "AT-4", vec![Tender::Cash { tendered: gbp(10_000) }], t(4));
        // The next day's sale is not today's.
        sell(&mut store, "AT-5", vec![Tender::Cash { tendered: gbp(10_000) }], t(25));
        let window = ReturnsWindow::default();
        store.void_sale(voided, "Keyed in error", t(5), window).unwrap();
        store
            .return_pieces(
                returned,
                &[Serial::parse("AT-3").unwrap()],
                "Changed mind",
                RefundMethod::Cash,
                t(6),
                window,
            )
            .unwrap();

        let z = store.z_report("Stall", "K1", Currency::GBP, day, t(7)).unwrap();
        assert_eq!((z.sales, z.pieces, z.gross), (3, 3, gbp(30_000)));
        assert_eq!(z.vat, gbp(5_001), "VAT of three £100 sales at 20%, per sale");
        assert_eq!(z.by_tender, vec![("Cash".into(), 2, gbp(16_000)), ("Card".into(), 2, gbp(14_000))]);
        assert_eq!(z.by_drop, vec![("No drop".into(), 3, gbp(30_000))]);
        assert_eq!((z.voids, z.returns, z.refunded), (1, 1, gbp(10_000)));
        assert_eq!(z.cash_expected, gbp(6_000), "cash kept less the cash refund");
        assert_eq!(z.refunded_to_card, Some(gbp(0)));

        // The drawer: a float, a bank drop and a count are the report's too.
        store.record_cash("K1", CashKind::Float, gbp(5_000), "", day, t(0)).unwrap();
        store.record_cash("K1", CashKind::PaidOut, gbp(2_000), "Bank drop", day, t(7)).unwrap();
        store.record_cash("K1", CashKind::Count, gbp(8_500), "", day, t(8)).unwrap();
        let z = store.z_report("Stall", "K1", Currency::GBP, day, t(9)).unwrap();
        let d = z.drawer.clone().unwrap();
        assert_eq!(z.cash_expected, gbp(9_000), "float + cash kept - cash refund - bank drop");
        assert_eq!(
            (d.float, d.paid_out, d.counted, d.difference()),
            (gbp(5_000), gbp(2_000), Some(gbp(8_500)), Some(gbp(-500)))
        );

        assert!(z.unsynced_changes > 0);
    }
}
