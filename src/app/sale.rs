//! The Sell operation: building a cart, taking tenders, committing the sale.
//!
//! This is the state behind the Sell and Tender screens. It holds no widgets; the UI
//! glue reads it to fill the view and calls these methods from callbacks.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::printout::Printout;
use crate::domain::tender::remaining;
use crate::domain::{
    Cart, CheckoutError, Currency, Discount, DiscountKind, Drop, Money, MoneyError, NewSale, PieceStatus,
    ReceiptNumber, SellError, Serial, Tender, TenderError, VatRate,
};
use crate::i18n::{Language, Localized};
use crate::store::{Store, StoreError};
use crate::{t, tn};

#[derive(Debug, thiserror::Error)]
pub enum SellFlowError {
    #[error(transparent)]
    Sell(#[from] SellError),
    #[error(transparent)]
    Tender(#[from] TenderError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Words already said in the worker's language by whoever made it.
    #[error("{0}")]
    Input(String),
    /// Digits typed match the end of more than one serial in the drop.
    #[error("{count} pieces end in {digits}. Type the whole serial.")]
    SeveralEndIn { count: usize, digits: String },
    #[error("Nothing left to pay: complete the sale.")]
    NothingLeft,
    #[error("'{0}' is not a percentage. Type e.g. 10 or 12.5.")]
    NotPercentage(String),
    #[error(transparent)]
    Serial(#[from] crate::domain::piece::SerialError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Localized for SellFlowError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            SellFlowError::Sell(e) => e.localized(l),
            SellFlowError::Tender(e) => e.localized(l),
            SellFlowError::Money(e) => e.localized(l),
            SellFlowError::Input(text) => text.clone(),
            SellFlowError::SeveralEndIn { count, digits } => tn!(
                l,
                "{n} piece ends in {digits}. Type the whole serial.",
                "{n} pieces end in {digits}. Type the whole serial.",
                *count,
                digits = digits
            ),
            SellFlowError::NothingLeft => t!(l, "Nothing left to pay: complete the sale."),
            SellFlowError::NotPercentage(text) => {
                t!(l, "'{text}' is not a percentage. Type e.g. 10 or 12.5.", text = text)
            }
            SellFlowError::Serial(e) => e.localized(l),
            SellFlowError::Store(e) => e.localized(l),
        }
    }
}

impl SellFlowError {
    /// What the worker reads, in `language`. A store error is logged here, where it is
    /// still known to be one.
    pub fn notice(self, language: Language) -> super::services::Notice {
        if let SellFlowError::Store(inner) = &self {
            tracing::error!(error = %inner, "store error during a sale");
        }
        super::services::Notice::error(self.localized(language))
    }
}

impl From<CheckoutError> for SellFlowError {
    fn from(e: CheckoutError) -> Self {
        match e {
            CheckoutError::Cart(e) => e.into(),
            CheckoutError::Tender(e) => e.into(),
            CheckoutError::Money(e) => e.into(),
        }
    }
}

/// A committed sale, as the "Sale complete" screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub sale_id: Uuid,
    pub receipt: ReceiptNumber,
    pub total: Money,
    pub change: Money,
}

pub struct SellSession {
    pub cart: Cart,
    pub tenders: Vec<Tender>,
}

impl SellSession {
    pub fn new(currency: Currency) -> SellSession {
        SellSession { cart: Cart::new(currency), tenders: Vec::new() }
    }

    /// Adds the piece staff typed or scanned. A full serial is looked up directly; digits
    /// alone match the end of a serial in the current drop ("42" finds AT-2026-0042), so a
    /// number pad is enough when the tag is hard to read.
    pub fn add_typed(
        &mut self,
        store: &Store,
        text: &str,
        current_drop: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Serial, SellFlowError> {
        let text = text.trim();
        let serial = Serial::parse(text)?;
        if store.piece(&serial)?.is_some() {
            self.add(store, &serial, now)?;
            return Ok(serial);
        }
        let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        if let (true, Some(drop_id)) = (digits_only, current_drop) {
            let matches: Vec<Serial> = store
                .drop_pieces(drop_id)?
                .into_iter()
                .map(|t| t.serial)
                .filter(|s| {
                    let tail = s.as_str().rsplit('-').next().unwrap_or_default();
                    tail.trim_start_matches('0') == text.trim_start_matches('0')
                })
                .collect();
            match matches.as_slice() {
                [one] => {
                    self.add(store, one, now)?;
                    return Ok(one.clone());
                }
                [] => {}
                many => {
                    return Err(SellFlowError::SeveralEndIn { count: many.len(), digits: text.to_owned() });
                }
            }
        }
        Err(SellError::UnknownSerial(serial).into())
    }

    /// Adds a piece by its exact serial (a tap on the grid, or a scan).
    pub fn add(&mut self, store: &Store, serial: &Serial, now: DateTime<Utc>) -> Result<(), SellFlowError> {
        let piece = store.piece(serial)?.ok_or_else(|| SellError::UnknownSerial(serial.clone()))?;
        let drop: Option<Drop> = match &piece.drop_id {
            Some(id) => store.drop_by_id(id)?,
            None => None,
        };
        self.cart.add(&piece, drop.as_ref(), now)?;
        Ok(())
    }

    pub fn remove(&mut self, serial: &Serial) -> Result<(), SellFlowError> {
        self.cart.remove(serial)?;
        self.tenders.clear();
        Ok(())
    }

    /// `amount` as typed: money, or a percentage when `percent`. Empty clears the discount.
    pub fn discount(
        &mut self,
        serial: &Serial,
        amount: &str,
        percent: bool,
        reason: &str,
    ) -> Result<(), SellFlowError> {
        let amount = amount.trim();
        let discount = if amount.is_empty() {
            None
        } else {
            let kind = if percent {
                DiscountKind::Percent(parse_percent(amount)?)
            } else {
                DiscountKind::Amount(Money::parse(amount, self.cart.currency)?)
            };
            Some(Discount { kind, reason: reason.trim().to_owned() })
        };
        self.cart.set_discount(serial, discount)?;
        self.tenders.clear();
        Ok(())
    }

    pub fn total(&self, vat: VatRate) -> Result<Money, SellFlowError> {
        Ok(self.cart.totals(vat)?.total)
    }

    pub fn remaining(&self, vat: VatRate) -> Result<Money, SellFlowError> {
        Ok(remaining(self.total(vat)?, &self.tenders)?)
    }

    /// Cash handed over. An empty amount means "exactly what is left".
    pub fn add_cash(&mut self, amount: &str, vat: VatRate) -> Result<(), SellFlowError> {
        let left = self.remaining(vat)?;
        if left.is_zero() {
            return Err(SellFlowError::NothingLeft);
        }
        let tendered = if amount.trim().is_empty() { left } else { Money::parse(amount, self.cart.currency)? };
        if tendered.minor <= 0 {
            return Err(TenderError::NotPositive.into());
        }
        self.tenders.push(Tender::Cash { tendered });
        Ok(())
    }

    /// A payment taken on the external card terminal. An empty amount means "what is left".
    pub fn add_card(&mut self, amount: &str, reference: &str, vat: VatRate) -> Result<(), SellFlowError> {
        let left = self.remaining(vat)?;
        let amount = if amount.trim().is_empty() { left } else { Money::parse(amount, self.cart.currency)? };
        if reference.trim().is_empty() {
            return Err(TenderError::MissingCardReference.into());
        }
        if amount.minor > left.minor {
            return Err(TenderError::CardOverpays.into());
        }
        if amount.minor <= 0 {
            return Err(TenderError::NotPositive.into());
        }
        self.tenders.push(Tender::Card { amount, reference: reference.trim().to_owned() });
        Ok(())
    }

    pub fn remove_tender(&mut self, index: usize) {
        if index < self.tenders.len() {
            self.tenders.remove(index);
        }
    }

    /// Commits the sale durably; only after this returns may the UI say "Sale complete".
    /// On success the session is empty again.
    pub fn complete(
        &mut self,
        store: &mut Store,
        device: &str,
        vat: VatRate,
        now: DateTime<Utc>,
        receipt: Option<impl FnOnce(&ReceiptNumber, &NewSale) -> Printout>,
    ) -> Result<Completed, SellFlowError> {
        let (sale, settlement) = self.cart.checkout(self.tenders.clone(), vat, now, Uuid::now_v7())?;
        let receipt = store.commit_sale_printing(&sale, device, |n| receipt.map(|r| r(n, &sale)))?;
        tracing::info!(%receipt, total = %sale.totals.total, "sale committed");
        let done = Completed { sale_id: sale.id, receipt, total: sale.totals.total, change: settlement.change };
        self.cart = Cart::new(self.cart.currency);
        self.tenders.clear();
        Ok(done)
    }

    /// After a failed commit, drops cart lines whose piece is no longer available, so the
    /// sale can go ahead without them. Returns the serials removed.
    pub fn drop_unavailable(&mut self, store: &Store) -> Result<Vec<Serial>, SellFlowError> {
        let mut gone = Vec::new();
        for line in &self.cart.lines {
            let available = store.piece(&line.serial)?.is_some_and(|p| p.status == PieceStatus::Available);
            if !available {
                gone.push(line.serial.clone());
            }
        }
        for s in &gone {
            self.cart.remove(s)?;
        }
        if !gone.is_empty() {
            self.tenders.clear();
        }
        Ok(gone)
    }

    /// Quick cash buttons: the exact amount and the next two round sums a customer hands over.
    pub fn quick_cash(&self, vat: VatRate) -> Vec<Money> {
        let Ok(left) = self.remaining(vat) else { return Vec::new() };
        if left.is_zero() {
            return Vec::new();
        }
        let mut out = vec![left];
        let unit = 10_i64.pow(left.currency.exponent());
        for step in [10, 50, 100] {
            let step = step * unit;
            let next = Money::new((left.minor / step + 1) * step, left.currency);
            if !out.contains(&next) && out.len() < 3 {
                out.push(next);
            }
        }
        out
    }
}

fn parse_percent(text: &str) -> Result<u32, SellFlowError> {
    crate::domain::money::parse_basis_points(text).ok_or_else(|| SellFlowError::NotPercentage(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The parsing itself is `money::parse_basis_points`'s, tested there; this is the words.
    #[test]
    fn a_bad_percentage_says_how_to_type_one() {
        let e = parse_percent("ten").unwrap_err().to_string();
        assert!(e.contains("'ten' is not a percentage") && e.contains("e.g. 10 or 12.5"), "{e}");
    }

    #[test]
    fn quick_cash_offers_exact_then_round_notes() {
        let mut s = SellSession::new(Currency::GBP);
        s.cart.lines.push(crate::domain::CartLine {
            serial: Serial::parse("AT-1").unwrap(),
            title: "t".into(),
            edition: crate::domain::Edition { number: 1, size: 1 },
            drop_id: None,
            unit_price: Money::new(18_450, Currency::GBP),
            discount: None,
            reservation: None,
        });
        let amounts: Vec<i64> = s.quick_cash(VatRate::UK_STANDARD).iter().map(|m| m.minor).collect();
        assert_eq!(amounts, vec![18_450, 19_000, 20_000]);
    }
}
