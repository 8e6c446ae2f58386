//! Tenders: how the customer pays. Cash gives change; a card terminal never does.

use serde::{Deserialize, Serialize};

use super::money::{Money, MoneyError};
use crate::i18n::{self, Language, Localized};
use crate::t;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tender {
    /// `tendered` is what the customer handed over, before change.
    Cash { tendered: Money },
    /// Paid on the external card terminal; `reference` is the terminal's auth or slip number.
    Card { amount: Money, reference: String },
}

impl Tender {
    pub fn amount(&self) -> Money {
        match self {
            Tender::Cash { tendered } => *tendered,
            Tender::Card { amount, .. } => *amount,
        }
    }

    /// How the payment is named on screen, in `language`.
    pub fn label(&self, language: Language) -> String {
        match self {
            Tender::Cash { .. } => t!(language, "Cash"),
            Tender::Card { .. } => t!(language, "Card"),
        }
    }
}

/// The outcome of paying a total with a set of tenders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub paid: Money,
    pub change: Money,
    /// Cash that stays in the drawer: tendered cash less change.
    pub cash_kept: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenderError {
    #[error("Still to pay: {0}.")]
    Short(Money),
    #[error("Card payments add up to more than the total. A card terminal cannot give change.")]
    CardOverpays,
    #[error("Enter the card terminal's reference from its slip.")]
    MissingCardReference,
    #[error("A payment must be more than zero.")]
    NotPositive,
    #[error("amount error: {0}")]
    Money(#[from] MoneyError),
}

impl Localized for TenderError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            TenderError::Short(left) => t!(l, "Still to pay: {amount}.", amount = i18n::money(l, *left)),
            TenderError::CardOverpays => {
                t!(l, "Card payments add up to more than the total. A card terminal cannot give change.")
            }
            TenderError::MissingCardReference => t!(l, "Enter the card terminal's reference from its slip."),
            TenderError::NotPositive => t!(l, "A payment must be more than zero."),
            TenderError::Money(e) => t!(l, "amount error: {error}", error = e.localized(l)),
        }
    }
}

/// What remains to pay after the tenders so far (zero when fully paid).
pub fn remaining(total: Money, tenders: &[Tender]) -> Result<Money, MoneyError> {
    let mut left = total;
    for t in tenders {
        left = left.checked_sub(t.amount())?;
    }
    Ok(if left.is_negative() { Money::zero(total.currency) } else { left })
}

/// Checks that the tenders pay `total` exactly, with any excess only from cash.
pub fn settle(total: Money, tenders: &[Tender]) -> Result<Settlement, TenderError> {
    let zero = Money::zero(total.currency);
    let (mut cash, mut card) = (zero, zero);
    for t in tenders {
        if t.amount().minor <= 0 {
            return Err(TenderError::NotPositive);
        }
        match t {
            Tender::Cash { tendered } => cash = cash.checked_add(*tendered)?,
            Tender::Card { amount, reference } => {
                if reference.trim().is_empty() {
                    return Err(TenderError::MissingCardReference);
                }
                card = card.checked_add(*amount)?;
            }
        }
    }
    if card.minor > total.minor {
        return Err(TenderError::CardOverpays);
    }
    let paid = cash.checked_add(card)?;
    let over = paid.checked_sub(total)?;
    if over.is_negative() {
        return Err(TenderError::Short(total.checked_sub(paid)?));
    }
    // Change can only come out of the cash handed over; card excess was refused above.
    Ok(Settlement { paid, change: over, cash_kept: cash.checked_sub(over)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;

    fn gbp(minor: i64) -> Money {
        Money::new(minor, Currency::GBP)
    }
    fn card(minor: i64) -> Tender {
        Tender::Card { amount: gbp(minor), reference: "A1B2".into() }
    }
    fn cash(minor: i64) -> Tender {
        Tender::Cash { tendered: gbp(minor) }
    }

    #[test]
    fn cash_gives_change() {
        let s = settle(gbp(8_450), &[cash(10_000)]).unwrap();
        assert_eq!(s.change, gbp(1_550));
        assert_eq!(s.cash_kept, gbp(8_450));
    }

    #[test]
    fn split_card_and_cash_pays_exactly() {
        let s = settle(gbp(30_000), &[card(25_000), cash(6_000)]).unwrap();
        assert_eq!(s.change, gbp(1_000));
        assert_eq!(s.cash_kept, gbp(5_000));
        assert_eq!(remaining(gbp(30_000), &[card(25_000)]).unwrap(), gbp(5_000));
    }

    #[test]
    fn short_payment_says_what_is_left() {
        assert_eq!(settle(gbp(30_000), &[card(10_000)]), Err(TenderError::Short(gbp(20_000))));
        assert_eq!(settle(gbp(100), &[]), Err(TenderError::Short(gbp(100))));
    }

    #[test]
    fn card_cannot_overpay_or_lack_a_reference() {
        assert_eq!(settle(gbp(100), &[card(200)]), Err(TenderError::CardOverpays));
        let no_ref = Tender::Card { amount: gbp(100), reference: " ".into() };
        assert_eq!(settle(gbp(100), &[no_ref]), Err(TenderError::MissingCardReference));
        assert_eq!(settle(gbp(100), &[cash(0)]), Err(TenderError::NotPositive));
    }
}
