//! Committing sales, and undoing them by void or return.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_ms, outbox, print_jobs, reservations, to_ms};
use crate::domain::cash::{RefundMethod, RefundSplit};
use crate::domain::printout::Printout;
use crate::domain::{
    Currency, Money, NewSale, PieceStatus, ReceiptNumber, ReturnError, ReturnsWindow, SaleLine, SellError, Serial,
    Tender, Totals, VatRate,
};

/// A sale as stored, with its receipt number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleRecord {
    pub id: Uuid,
    pub receipt: ReceiptNumber,
    pub at: DateTime<Utc>,
    pub member_id: Option<String>,
    pub lines: Vec<SaleLine>,
    /// Per line: still sold (true) or voided/returned (false).
    pub active: Vec<bool>,
    pub tenders: Vec<Tender>,
    pub totals: Totals,
    pub vat_rate: VatRate,
    pub change: Money,
    pub voided: bool,
}

/// One row of the recent-sales list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleSummary {
    pub id: Uuid,
    pub receipt: ReceiptNumber,
    pub at: DateTime<Utc>,
    pub total: Money,
    pub lines: u32,
    /// Lines taken back by a return (a voided sale counts as voided, not returned).
    pub returned: u32,
    pub voided: bool,
}

#[derive(Serialize)]
struct SaleCompleted<'a> {
    receipt: &'a ReceiptNumber,
    #[serde(flatten)]
    sale: &'a NewSale,
}

/// A void or return as committed: what was taken back and where the money went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: Uuid,
    pub void: bool,
    pub serials: Vec<Serial>,
    pub amount: Money,
    pub split: RefundSplit,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Serialize)]
struct SaleReversed<'a> {
    refund_id: Uuid,
    sale_id: Uuid,
    kind: &'a str,
    reason: &'a str,
    serials: &'a [Serial],
    amount: Money,
    /// Where the money went: so much in cash, so much to the card (and its reference).
    refunded: &'a RefundSplit,
}

/// Marks a piece sold if, and only if, it is still available. The check and the update
/// are one statement so no other writer can slip in between.
fn take_piece(tx: &Transaction<'_>, serial: &Serial) -> Result<i64> {
    let taken: Option<i64> = tx
        .prepare_cached(
            "UPDATE pieces SET status = 'sold', held_for = NULL
             WHERE serial = ?1 AND status = 'available' AND away IS NULL RETURNING id",
        )?
        .query_row([serial.as_str()], |r| r.get(0))
        .optional()?;
    match taken {
        Some(id) => Ok(id),
        None => Err(unavailable(tx, serial)?.into()),
    }
}

/// Why a piece could not be taken (sold, held, reserved), in words staff act on.
pub(crate) fn unavailable(tx: &Transaction<'_>, serial: &Serial) -> Result<SellError> {
    let found: Option<(String, Option<String>, bool)> = tx
        .prepare_cached("SELECT status, held_for, away IS NOT NULL FROM pieces WHERE serial = ?1")?
        .query_row([serial.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let serial = serial.clone();
    let Some((status, held_for, away)) = found else {
        return Ok(SellError::UnknownSerial(serial));
    };
    if away && status == "available" {
        return Ok(SellError::Elsewhere(serial));
    }
    let customer = held_for.unwrap_or_else(|| "another customer".into());
    Ok(match PieceStatus::parse(&status) {
        Some(PieceStatus::Held) => SellError::HeldForSomeoneElse { serial, customer },
        Some(PieceStatus::Reserved) => SellError::Reserved { serial, customer },
        Some(PieceStatus::Lost) => SellError::ReportedLost(serial),
        Some(PieceStatus::InTransit) => SellError::InTransit(serial),
        _ => SellError::AlreadySold(serial),
    })
}

fn next_receipt(tx: &Transaction<'_>, device: &str) -> Result<ReceiptNumber> {
    let seq: u64 = tx
        .prepare_cached(
            "INSERT INTO receipt_counter(device, last_seq) VALUES (?1, 1)
             ON CONFLICT(device) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
        )?
        .query_row([device], |r| r.get(0))?;
    Ok(ReceiptNumber { device: device.to_owned(), seq })
}

impl Store {
    /// Commits a sale: pieces marked sold, the receipt number taken, the sale, its lines and
    /// tenders written, and the outbox event appended — all or nothing, durable on return.
    pub fn commit_sale(&mut self, sale: &NewSale, device: &str) -> Result<ReceiptNumber> {
        self.commit_sale_printing(sale, device, |_| None)
    }

    /// [`Store::commit_sale`], queueing the receipt `receipt` makes from the allocated
    /// number in the same transaction: the sale and its print job exist together or not at all.
    pub fn commit_sale_printing(
        &mut self,
        sale: &NewSale,
        device: &str,
        receipt_printout: impl FnOnce(&ReceiptNumber) -> Option<Printout>,
    ) -> Result<ReceiptNumber> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut piece_ids = Vec::with_capacity(sale.lines.len());
        for line in sale.lines.iter().filter(|l| l.reservation_id.is_none()) {
            piece_ids.push(take_piece(&tx, &line.serial)?);
        }
        let receipt = next_receipt(&tx, device)?;
        let t = &sale.totals;
        tx.prepare_cached(
            "INSERT INTO sales(id, device, seq, at, member_id, currency, subtotal_minor, discount_minor,
                 total_minor, vat_minor, vat_rate_bp, change_minor, line_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            sale.id.to_string(),
            device,
            receipt.seq,
            to_ms(sale.at),
            sale.member_id,
            t.total.currency.code(),
            t.subtotal.minor,
            t.discount.minor,
            t.total.minor,
            t.vat.minor,
            sale.vat_rate.0,
            sale.change.minor,
            sale.lines.len(),
        ])?;
        // Collections after the sale row exists: the reservation points at it. Each is only
        // made if the reservation is still alive at the sale's time.
        let mut taken = piece_ids.into_iter();
        let mut piece_ids = Vec::with_capacity(sale.lines.len());
        for line in &sale.lines {
            piece_ids.push(match line.reservation_id {
                Some(id) => reservations::collect_in(&tx, id, &line.serial, sale.id, sale.at)?,
                None => taken.next().expect("one piece taken per unreserved line"),
            });
        }
        let mut insert_line = tx.prepare_cached(
            "INSERT INTO sale_lines(sale_id, line_no, piece_id, serial, title, edition, drop_id, unit_minor,
                 discount_minor, discount_reason, net_minor, vat_minor, reservation_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for (i, (line, piece_id)) in sale.lines.iter().zip(&piece_ids).enumerate() {
            insert_line.execute(params![
                sale.id.to_string(),
                i,
                piece_id,
                line.serial.as_str(),
                line.title,
                line.edition,
                line.drop_id,
                line.unit_price.minor,
                line.discount.minor,
                line.discount_reason,
                line.net.minor,
                line.vat.minor,
                line.reservation_id.map(|r| r.to_string()),
            ])?;
        }
        drop(insert_line);
        let mut insert_tender = tx.prepare_cached(
            "INSERT INTO tenders(sale_id, idx, kind, amount_minor, reference) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (i, tender) in sale.tenders.iter().enumerate() {
            let (kind, amount, reference) = match tender {
                Tender::Cash { tendered } => ("cash", tendered.minor, None),
                Tender::Card { amount, reference } => ("card", amount.minor, Some(reference.as_str())),
            };
            insert_tender.execute(params![sale.id.to_string(), i, kind, amount, reference])?;
        }
        drop(insert_tender);
        outbox::append(&tx, "sale.completed", &SaleCompleted { receipt: &receipt, sale }, sale.at)?;
        if let Some(printout) = receipt_printout(&receipt) {
            print_jobs::insert(&tx, &printout, Some(sale.id), false, sale.at)?;
        }
        tx.commit()?;
        Ok(receipt)
    }

    pub fn sale(&self, id: Uuid) -> Result<Option<SaleRecord>> {
        let head = self
            .conn
            .prepare_cached(
                "SELECT device, seq, at, member_id, currency, subtotal_minor, discount_minor, total_minor,
                        vat_minor, vat_rate_bp, change_minor, voided_at IS NOT NULL
                 FROM sales WHERE id = ?1",
            )?
            .query_row([id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    [r.get::<_, i64>(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                    r.get::<_, u32>(9)?,
                    r.get::<_, i64>(10)?,
                    r.get::<_, bool>(11)?,
                ))
            })
            .optional()?;
        let Some((device, seq, at, member_id, currency, [sub, disc, total, vat], rate, change, voided)) = head else {
            return Ok(None);
        };
        let cur = Currency::parse(&currency).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let m = |minor| Money::new(minor, cur);
        let mut lines = Vec::new();
        let mut active = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT serial, title, edition, drop_id, unit_minor, discount_minor, discount_reason, net_minor,
                    vat_minor, active, reservation_id
             FROM sale_lines WHERE sale_id = ?1 ORDER BY line_no",
        )?;
        let mut rows = stmt.query([id.to_string()])?;
        while let Some(r) = rows.next()? {
            let serial: String = r.get(0)?;
            lines.push(SaleLine {
                serial: Serial::parse(&serial).map_err(|e| StoreError::Invalid(e.to_string()))?,
                title: r.get(1)?,
                edition: r.get(2)?,
                drop_id: r.get(3)?,
                unit_price: m(r.get(4)?),
                discount: m(r.get(5)?),
                discount_reason: r.get(6)?,
                net: m(r.get(7)?),
                vat: m(r.get(8)?),
                reservation_id: r.get::<_, Option<String>>(10)?.and_then(|s| Uuid::parse_str(&s).ok()),
            });
            active.push(r.get(9)?);
        }
        let mut tenders = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, amount_minor, reference FROM tenders WHERE sale_id = ?1 ORDER BY idx")?;
        let mut rows = stmt.query([id.to_string()])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(0)?;
            let amount = m(r.get(1)?);
            tenders.push(match kind.as_str() {
                "cash" => Tender::Cash { tendered: amount },
                _ => Tender::Card { amount, reference: r.get::<_, Option<String>>(2)?.unwrap_or_default() },
            });
        }
        Ok(Some(SaleRecord {
            id,
            receipt: ReceiptNumber { device, seq },
            at: from_ms(at),
            member_id,
            lines,
            active,
            tenders,
            totals: Totals { subtotal: m(sub), discount: m(disc), total: m(total), vat: m(vat) },
            vat_rate: VatRate(rate),
            change: m(change),
            voided,
        }))
    }

    /// The most recent sales, newest first.
    pub fn recent_sales(&self, limit: usize) -> Result<Vec<SaleSummary>> {
        self.find_sales("", limit)
    }

    /// Sales whose receipt number or one of whose serials contains `query` (case and
    /// spaces ignored), newest first; all sales for an empty query.
    pub fn find_sales(&self, query: &str, limit: usize) -> Result<Vec<SaleSummary>> {
        let query: String = query.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, device, seq, at, total_minor, currency, line_count, voided_at IS NOT NULL,
                    (SELECT count(*) FROM sale_lines l WHERE l.sale_id = s.id AND l.active = 0)
             FROM sales s
             WHERE ?2 = ''
                OR instr(upper(device || '-' || printf('%06d', seq)), ?2) > 0
                OR EXISTS (SELECT 1 FROM sale_lines l WHERE l.sale_id = s.id AND instr(upper(l.serial), ?2) > 0)
             ORDER BY at DESC, seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64, query], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, u32>(6)?,
                r.get::<_, bool>(7)?,
                r.get::<_, u32>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, device, seq, at, total, currency, lines, voided, inactive) = row?;
            out.push(SaleSummary {
                id: Uuid::parse_str(&id).map_err(|e| StoreError::Invalid(e.to_string()))?,
                receipt: ReceiptNumber { device, seq },
                at: from_ms(at),
                total: Money::new(total, Currency::parse(&currency).map_err(|e| StoreError::Invalid(e.to_string()))?),
                lines,
                returned: if voided { 0 } else { inactive },
                voided,
            });
        }
        Ok(out)
    }

    /// Cancels a whole sale (a mistake at the till): every piece goes back to available,
    /// and the money goes back the way it was paid.
    pub fn void_sale(&mut self, id: Uuid, reason: &str, now: DateTime<Utc>, window: ReturnsWindow) -> Result<Refund> {
        self.void_sale_printing(id, reason, now, window, |_, _| None)
    }

    /// [`Store::void_sale`], queueing the refund slip `slip` makes in the same transaction.
    pub fn void_sale_printing(
        &mut self,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
        window: ReturnsWindow,
        slip: impl FnOnce(&SaleRecord, &Refund) -> Option<Printout>,
    ) -> Result<Refund> {
        let sale = self.sale(id)?.ok_or_else(|| StoreError::NotFound(format!("sale {id}")))?;
        let serials: Vec<Serial> =
            sale.lines.iter().zip(&sale.active).filter(|(_, a)| **a).map(|(l, _)| l.serial.clone()).collect();
        self.reverse(&sale, &serials, None, reason, now, window, slip)
    }

    /// Takes back some pieces of a sale within the returns window; they become available.
    /// The money goes back as staff chose: in cash, or to the card that paid.
    pub fn return_pieces(
        &mut self,
        id: Uuid,
        serials: &[Serial],
        reason: &str,
        method: RefundMethod,
        now: DateTime<Utc>,
        window: ReturnsWindow,
    ) -> Result<Refund> {
        self.return_pieces_printing(id, serials, reason, method, now, window, |_, _| None)
    }

    /// [`Store::return_pieces`], queueing the refund slip `slip` makes in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn return_pieces_printing(
        &mut self,
        id: Uuid,
        serials: &[Serial],
        reason: &str,
        method: RefundMethod,
        now: DateTime<Utc>,
        window: ReturnsWindow,
        slip: impl FnOnce(&SaleRecord, &Refund) -> Option<Printout>,
    ) -> Result<Refund> {
        let sale = self.sale(id)?.ok_or_else(|| StoreError::NotFound(format!("sale {id}")))?;
        self.reverse(&sale, serials, Some(method), reason, now, window, slip)
    }

    /// Cash this sale left in the drawer and has not yet given back.
    fn cash_left(&self, sale: &SaleRecord) -> Result<Money> {
        let refunded: i64 = self.conn.query_row(
            "SELECT coalesce(sum(cash_minor), 0) FROM refunds WHERE sale_id = ?1",
            [sale.id.to_string()],
            |r| r.get(0),
        )?;
        let tendered: i64 =
            sale.tenders.iter().filter(|t| matches!(t, Tender::Cash { .. })).map(|t| t.amount().minor).sum();
        Ok(Money::new(tendered - sale.change.minor - refunded, sale.change.currency))
    }

    /// A void (`method` None: back as paid) or a return of `serials`.
    #[allow(clippy::too_many_arguments)]
    fn reverse(
        &mut self,
        sale: &SaleRecord,
        serials: &[Serial],
        method: Option<RefundMethod>,
        reason: &str,
        now: DateTime<Utc>,
        window: ReturnsWindow,
        slip: impl FnOnce(&SaleRecord, &Refund) -> Option<Printout>,
    ) -> Result<Refund> {
        if reason.trim().is_empty() {
            return Err(ReturnError::NoReason.into());
        }
        if sale.voided {
            return Err(ReturnError::Voided.into());
        }
        window.check(sale.at, now)?;
        let mut amount = Money::zero(sale.totals.total.currency);
        for serial in serials {
            let idx = sale.lines.iter().position(|l| &l.serial == serial);
            let Some(idx) = idx else {
                return Err(ReturnError::NotOnReceipt(serial.clone()).into());
            };
            if !sale.active[idx] {
                return Err(ReturnError::AlreadyReturned(serial.clone()).into());
            }
            amount = amount.checked_add(sale.lines[idx].net).map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        let split = match method {
            Some(method) => RefundSplit::chosen(method, amount, &sale.tenders)?,
            None => RefundSplit::as_paid(amount, self.cash_left(sale)?, &sale.tenders),
        };
        let kind = if method.is_none() { "void" } else { "return" };
        let refund = Refund {
            id: Uuid::now_v7(),
            void: method.is_none(),
            serials: serials.to_vec(),
            amount,
            split,
            reason: reason.to_owned(),
            at: now,
        };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for serial in serials {
            let piece_id: i64 = tx.query_row(
                "UPDATE sale_lines SET active = 0, returned_at = ?3
                 WHERE sale_id = ?1 AND serial = ?2 AND active = 1 RETURNING piece_id",
                params![sale.id.to_string(), serial.as_str(), to_ms(now)],
                |r| r.get(0),
            )?;
            tx.execute("UPDATE pieces SET status = 'available' WHERE id = ?1 AND status = 'sold'", [piece_id])?;
        }
        if refund.void {
            tx.execute(
                "UPDATE sales SET voided_at = ?2, void_reason = ?3 WHERE id = ?1",
                params![sale.id.to_string(), to_ms(now), reason],
            )?;
        }
        tx.execute(
            "INSERT INTO refunds(id, sale_id, at, kind, reason, amount_minor, serials, cash_minor, card_minor,
                                 card_reference)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                refund.id.to_string(),
                sale.id.to_string(),
                to_ms(now),
                kind,
                reason,
                amount.minor,
                serde_json::to_string(serials).map_err(|e| StoreError::Invalid(e.to_string()))?,
                refund.split.cash.minor,
                refund.split.card.minor,
                refund.split.card_reference,
            ],
        )?;
        let event = SaleReversed {
            refund_id: refund.id,
            sale_id: sale.id,
            kind,
            reason,
            serials,
            amount,
            refunded: &refund.split,
        };
        outbox::append(&tx, if refund.void { "sale.voided" } else { "sale.returned" }, &event, now)?;
        if let Some(printout) = slip(sale, &refund) {
            print_jobs::insert(&tx, &printout, Some(sale.id), false, now)?;
        }
        tx.commit()?;
        Ok(refund)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::Cart;
    use crate::store::store_with_pieces;

    fn sale_of(store: &Store, serials: &[&str], at: DateTime<Utc>) -> NewSale {
        let mut cart = Cart::new(Currency::GBP);
        for s in serials {
            let p = store.piece(&Serial::parse(s).unwrap()).unwrap().unwrap();
            cart.add(&p, None, at).unwrap();
        }
        let total = cart.totals(VatRate::UK_STANDARD).unwrap().total;
        cart.checkout(vec![Tender::Cash { tendered: total }], VatRate::UK_STANDARD, at, Uuid::now_v7()).unwrap().0
    }

    #[test]
    fn a_sale_is_stored_whole_with_its_outbox_event() {
        let (_dir, mut store) = store_with_pieces(3);
        let before = store.unsynced_count().unwrap();
        let sale = sale_of(&store, &["AT-1", "AT-2"], Utc::now());
        let receipt = store.commit_sale(&sale, "K1").unwrap();
        assert_eq!(receipt.to_string(), "K1-000001");
        let stored = store.sale(sale.id).unwrap().unwrap();
        assert_eq!(stored.lines, sale.lines);
        assert_eq!(stored.tenders, sale.tenders);
        assert_eq!(stored.totals, sale.totals);
        assert_eq!(store.piece(&Serial::parse("AT-1").unwrap()).unwrap().unwrap().status, PieceStatus::Sold);
        assert_eq!(store.unsynced_count().unwrap(), before + 1);
        let event = store.pending_events(100).unwrap().pop().unwrap();
        assert_eq!(event.kind, "sale.completed");
        assert_eq!(event.payload["receipt"]["seq"], 1);
    }

    #[test]
    fn selling_a_piece_twice_is_impossible_even_from_a_stale_cart() {
        let (_dir, mut store) = store_with_pieces(2);
        // Two carts built while the piece was available, as two kiosks or a race would.
        let first = sale_of(&store, &["AT-1"], Utc::now());
        let second = sale_of(&store, &["AT-2", "AT-1"], Utc::now());
        store.commit_sale(&first, "K1").unwrap();
        let err = store.commit_sale(&second, "K1").unwrap_err();
        assert!(matches!(err, StoreError::Sell(SellError::AlreadySold(_))), "{err}");
        // Nothing of the refused sale remains: AT-2 is still available, no receipt number used.
        assert_eq!(store.piece(&Serial::parse("AT-2").unwrap()).unwrap().unwrap().status, PieceStatus::Available);
        assert!(store.sale(second.id).unwrap().is_none());
        let third = sale_of(&store, &["AT-2"], Utc::now());
        assert_eq!(store.commit_sale(&third, "K1").unwrap().seq, 2);
    }

    #[test]
    fn the_database_itself_refuses_a_second_live_sale_of_a_piece() {
        let (_dir, mut store) = store_with_pieces(1);
        let sale = sale_of(&store, &["AT-1"], Utc::now());
        store.commit_sale(&sale, "K1").unwrap();
        // Bypass the status check, as a buggy future code path might.
        store.conn.execute("UPDATE pieces SET status = 'available'", []).unwrap();
        let again = sale_of(&store, &["AT-1"], Utc::now());
        let err = store.commit_sale(&again, "K1").unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
    }

    #[test]
    fn void_and_return_put_pieces_back_within_the_window_only() {
        let (_dir, mut store) = store_with_pieces(3);
        let now = Utc::now();
        let window = ReturnsWindow::default();
        let sale = sale_of(&store, &["AT-1", "AT-2"], now);
        store.commit_sale(&sale, "K1").unwrap();
        let at2 = Serial::parse("AT-2").unwrap();

        let late = now + Duration::days(8);
        let err = store
            .return_pieces(sale.id, std::slice::from_ref(&at2), "Changed mind", RefundMethod::Cash, late, window)
            .unwrap_err();
        assert!(matches!(err, StoreError::Return(ReturnError::WindowClosed(_))), "{err}");

        let refunded = store
            .return_pieces(sale.id, std::slice::from_ref(&at2), "Changed mind", RefundMethod::Cash, now, window)
            .unwrap();
        assert_eq!(refunded.amount.minor, 10_000);
        assert_eq!(store.piece(&at2).unwrap().unwrap().status, PieceStatus::Available);
        let err = store
            .return_pieces(sale.id, std::slice::from_ref(&at2), "Again", RefundMethod::Cash, now, window)
            .unwrap_err();
        assert!(matches!(err, StoreError::Return(ReturnError::AlreadyReturned(_))));

        // The returned piece can be sold again; the rest of the sale can be voided.
        let resale = sale_of(&store, &["AT-2"], now);
        store.commit_sale(&resale, "K1").unwrap();
        assert_eq!(store.void_sale(sale.id, "Keyed wrong piece", now, window).unwrap().amount.minor, 10_000);
        assert_eq!(store.piece(&Serial::parse("AT-1").unwrap()).unwrap().unwrap().status, PieceStatus::Available);
        assert!(store.sale(sale.id).unwrap().unwrap().voided);
        assert!(matches!(store.void_sale(sale.id, "x", now, window), Err(StoreError::Return(ReturnError::Voided))));
        let kinds: Vec<String> = store.pending_events(100).unwrap().into_iter().map(|e| e.kind).collect();
        assert!(kinds.ends_with(&["sale.returned".into(), "sale.completed".into(), "sale.voided".into()]), "{kinds:?}");
    }
}
