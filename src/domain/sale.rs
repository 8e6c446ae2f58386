//! A completed sale, its receipt number, and the rules for voids and returns.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cart::{Cart, CartLine, SellError, Totals};
use super::money::{Money, MoneyError, VatRate};
use super::piece::Serial;
use super::tender::{Settlement, Tender, TenderError, settle};
use crate::i18n::{self, Language, Localized};
use crate::{msg, t};

/// Why a piece comes back or a sale is voided: the choices the Sales screen offers.
/// English message ids: shown with `i18n::tr`.
pub const RETURN_REASONS: [&str; 3] = [msg!("Changed mind"), msg!("Faulty"), msg!("Keyed in error")];

/// Per-device, gap-free receipt number: "K1-000042".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiptNumber {
    pub device: String,
    pub seq: u64,
}

impl fmt::Display for ReceiptNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.device, self.seq)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    pub serial: Serial,
    pub title: String,
    pub edition: String,
    pub drop_id: Option<String>,
    pub unit_price: Money,
    pub discount: Money,
    pub discount_reason: Option<String>,
    pub net: Money,
    pub vat: Money,
    /// The hold or reservation this line collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<Uuid>,
}

/// A sale ready to be committed: everything but the receipt number, which the store
/// allocates inside the same transaction so numbers stay gap-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSale {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub member_id: Option<String>,
    pub lines: Vec<SaleLine>,
    pub tenders: Vec<Tender>,
    pub totals: Totals,
    pub vat_rate: VatRate,
    pub change: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    Cart(#[from] SellError),
    #[error(transparent)]
    Tender(#[from] TenderError),
    #[error("amount error: {0}")]
    Money(#[from] MoneyError),
}

impl Localized for CheckoutError {
    fn localized(&self, language: Language) -> String {
        match self {
            CheckoutError::Cart(e) => e.localized(language),
            CheckoutError::Tender(e) => e.localized(language),
            CheckoutError::Money(e) => t!(language, "amount error: {error}", error = e.localized(language)),
        }
    }
}

impl Cart {
    /// Turns the cart and its tenders into a sale, if they pay it exactly (cash may
    /// overpay and get change).
    pub fn checkout(
        &self,
        tenders: Vec<Tender>,
        vat_rate: VatRate,
        at: DateTime<Utc>,
        id: Uuid,
    ) -> Result<(NewSale, Settlement), CheckoutError> {
        if self.is_empty() {
            return Err(SellError::EmptyCart.into());
        }
        let totals = self.totals(vat_rate)?;
        let settlement = settle(totals.total, &tenders)?;
        let lines = self.lines.iter().map(|l| sale_line(l, vat_rate)).collect::<Result<_, _>>()?;
        let sale = NewSale {
            id,
            at,
            member_id: self.member.as_ref().map(|m| m.id.clone()),
            lines,
            tenders,
            totals,
            vat_rate,
            change: settlement.change,
        };
        Ok((sale, settlement))
    }
}

fn sale_line(line: &CartLine, vat_rate: VatRate) -> Result<SaleLine, MoneyError> {
    let net = line.net()?;
    Ok(SaleLine {
        serial: line.serial.clone(),
        title: line.title.clone(),
        edition: line.edition.to_string(),
        drop_id: line.drop_id.clone(),
        unit_price: line.unit_price,
        discount: line.discount_amount()?,
        discount_reason: line.discount.as_ref().map(|d| d.reason.clone()),
        net,
        vat: vat_rate.included_in(net)?,
        reservation_id: line.reservation,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    /// The last day of the window, on the stall's clock.
    #[error("The returns window closed on {}. This sale can no longer be refunded here.", .0.format("%d %b %Y"))]
    WindowClosed(NaiveDate),
    #[error("{0} was already returned.")]
    AlreadyReturned(Serial),
    #[error("{0} is not on this receipt.")]
    NotOnReceipt(Serial),
    #[error("This sale was voided.")]
    Voided,
    #[error("Pick why first (Changed mind, Faulty or Keyed in error), then tap again.")]
    NoReason,
}

impl Localized for ReturnError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            ReturnError::WindowClosed(day) => t!(
                l,
                "The returns window closed on {day}. This sale can no longer be refunded here.",
                day = i18n::date(l, *day)
            ),
            ReturnError::AlreadyReturned(serial) => t!(l, "{serial} was already returned.", serial = serial),
            ReturnError::NotOnReceipt(serial) => t!(l, "{serial} is not on this receipt.", serial = serial),
            ReturnError::Voided => t!(l, "This sale was voided."),
            // The reasons named are RETURN_REASONS: a translation names them as it translates those.
            ReturnError::NoReason => t!(l, "Pick why first (Changed mind, Faulty or Keyed in error), then tap again."),
        }
    }
}

/// The returns and verification window printed on the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnsWindow {
    pub days: u32,
}

impl Default for ReturnsWindow {
    fn default() -> Self {
        ReturnsWindow { days: 7 }
    }
}

impl ReturnsWindow {
    pub fn ends(&self, sold_at: DateTime<Utc>) -> DateTime<Utc> {
        sold_at + Duration::days(self.days as i64)
    }

    pub fn check(&self, sold_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ReturnError> {
        let ends = self.ends(sold_at);
        if now > ends {
            Err(ReturnError::WindowClosed(ends.with_timezone(&chrono::Local).date_naive()))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::cart::tests::piece;
    use crate::domain::money::Currency;
    use crate::domain::piece::PieceStatus;

    #[test]
    fn checkout_needs_full_payment_and_keeps_change() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let mut cart = Cart::new(Currency::GBP);
        cart.add(&piece("AT-1", 12_000, PieceStatus::Available), None, now).unwrap();
        let short = vec![Tender::Cash { tendered: Money::new(100, Currency::GBP) }];
        assert!(matches!(
            cart.checkout(short, VatRate::UK_STANDARD, now, Uuid::nil()),
            Err(CheckoutError::Tender(TenderError::Short(_)))
        ));
        let cash = vec![Tender::Cash { tendered: Money::new(15_000, Currency::GBP) }];
        let (sale, s) = cart.checkout(cash, VatRate::UK_STANDARD, now, Uuid::nil()).unwrap();
        assert_eq!(s.change.minor, 3_000);
        assert_eq!(sale.lines[0].edition, "07 of 24");
        assert_eq!(sale.lines[0].vat.minor, 2_000);
        assert_eq!(sale.totals.total.minor, 12_000);
    }

    #[test]
    fn empty_cart_cannot_be_checked_out() {
        let cart = Cart::new(Currency::GBP);
        let err = cart.checkout(vec![], VatRate::UK_STANDARD, Utc::now(), Uuid::nil()).unwrap_err();
        assert_eq!(err, CheckoutError::Cart(SellError::EmptyCart));
    }

    #[test]
    fn returns_window_closes_after_its_days() {
        let sold = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
        let w = ReturnsWindow::default();
        assert!(w.check(sold, sold + Duration::days(7)).is_ok());
        assert!(matches!(
            w.check(sold, sold + Duration::days(7) + Duration::seconds(1)),
            Err(ReturnError::WindowClosed(_))
        ));
    }

    #[test]
    fn receipt_numbers_are_zero_padded_per_device() {
        assert_eq!(ReceiptNumber { device: "K1".into(), seq: 42 }.to_string(), "K1-000042");
    }
}
