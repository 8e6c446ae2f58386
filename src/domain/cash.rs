//! The cash drawer: the day's opening float, cash paid in and out, the count at close, and
//! how a refund went back to the customer. Pure arithmetic; the store keeps the movements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::money::{Currency, Money, MoneyError};
use super::tender::Tender;
use crate::i18n::{self, Language, Localized};
use crate::{msg, t};

/// What staff did with the drawer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashKind {
    /// The change the day starts with. One a day: later changes are cash in or out.
    Float,
    /// Cash put in during the day (more change from the bank, a float top-up).
    PaidIn,
    /// Cash taken out during the day (a bank drop, a small expense).
    PaidOut,
    /// What staff counted in the drawer. The last count of the day is the one that stands.
    Count,
}

impl CashKind {
    pub const ALL: [CashKind; 4] = [CashKind::Float, CashKind::PaidIn, CashKind::PaidOut, CashKind::Count];

    /// The word the store and the cloud use.
    pub fn as_str(self) -> &'static str {
        match self {
            CashKind::Float => "float",
            CashKind::PaidIn => "paid_in",
            CashKind::PaidOut => "paid_out",
            CashKind::Count => "count",
        }
    }

    pub fn parse(text: &str) -> Option<CashKind> {
        CashKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// How staff see it on screen and on paper, in `language`.
    pub fn label(self, language: Language) -> String {
        let l = language;
        match self {
            CashKind::Float => t!(l, "Opening float"),
            CashKind::PaidIn => t!(l, "Cash in"),
            CashKind::PaidOut => t!(l, "Cash out"),
            CashKind::Count => t!(l, "Counted"),
        }
    }

    /// The reasons offered for it; a movement in or out must give one. English message
    /// ids, kept as the movement's reason: shown with `i18n::tr`.
    pub fn reasons(self) -> &'static [&'static str] {
        match self {
            CashKind::Float | CashKind::Count => &[],
            CashKind::PaidIn => &[msg!("More change"), msg!("Float top-up"), msg!("Correction")],
            CashKind::PaidOut => &[msg!("Bank drop"), msg!("Expense"), msg!("Correction")],
        }
    }
}

/// One movement, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashMovement {
    pub id: Uuid,
    pub kind: CashKind,
    pub amount: Money,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CashError {
    #[error("Enter an amount above zero.")]
    NotPositive,
    #[error("A count cannot be below zero.")]
    Negative,
    #[error("Pick why the cash goes {0}.")]
    NoReason(&'static str),
    #[error(
        "The day was opened at {at} with a float of {amount}. To change what is in the drawer, use Cash in or Cash out."
    )]
    FloatAlreadySet { at: String, amount: Money },
    #[error("Amounts in {found} cannot go in a {expected} drawer.")]
    Currency { expected: String, found: String },
    #[error("A card refund goes back to the card that paid; this sale took no card. Refund it in cash.")]
    NoCardToRefund,
    #[error("amount error: {0}")]
    Money(#[from] MoneyError),
}

impl Localized for CashError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            CashError::NotPositive => t!(l, "Enter an amount above zero."),
            CashError::Negative => t!(l, "A count cannot be below zero."),
            // "in" or "out" (see `check`): one whole sentence each, for the translation.
            CashError::NoReason("in") => t!(l, "Pick why the cash goes in."),
            CashError::NoReason(_) => t!(l, "Pick why the cash goes out."),
            CashError::FloatAlreadySet { at, amount } => t!(
                l,
                "The day was opened at {time} with a float of {amount}. To change what is in the drawer, use Cash in or Cash out.",
                time = at,
                amount = i18n::money(l, *amount)
            ),
            CashError::Currency { expected, found } => {
                t!(l, "Amounts in {found} cannot go in a {expected} drawer.", found = found, expected = expected)
            }
            CashError::NoCardToRefund => {
                t!(l, "A card refund goes back to the card that paid; this sale took no card. Refund it in cash.")
            }
            CashError::Money(e) => t!(l, "amount error: {error}", error = e.localized(l)),
        }
    }
}

/// Whether a movement may be recorded as given. The float-once rule needs the day's
/// movements and is the store's to check.
pub fn check(kind: CashKind, amount: Money, reason: &str, currency: Currency) -> Result<(), CashError> {
    if amount.currency != currency {
        return Err(CashError::Currency {
            expected: currency.code().to_owned(),
            found: amount.currency.code().to_owned(),
        });
    }
    match kind {
        CashKind::Count if amount.is_negative() => Err(CashError::Negative),
        CashKind::Count => Ok(()),
        _ if amount.is_negative() || amount.is_zero() => Err(CashError::NotPositive),
        CashKind::PaidIn if reason.trim().is_empty() => Err(CashError::NoReason("in")),
        CashKind::PaidOut if reason.trim().is_empty() => Err(CashError::NoReason("out")),
        _ => Ok(()),
    }
}

/// How staff pay a return back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundMethod {
    Cash,
    /// On the card terminal, to the card the sale was paid with.
    Card,
}

/// Where a refund's money went: so much out of the drawer, so much back to a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundSplit {
    pub cash: Money,
    pub card: Money,
    /// The terminal reference of the card payment being refunded.
    pub card_reference: Option<String>,
}

impl RefundSplit {
    /// A return, paid back the way staff chose. A card refund needs a card payment on the sale.
    pub fn chosen(method: RefundMethod, amount: Money, tenders: &[Tender]) -> Result<RefundSplit, CashError> {
        let zero = Money::zero(amount.currency);
        match method {
            RefundMethod::Cash => Ok(RefundSplit { cash: amount, card: zero, card_reference: None }),
            RefundMethod::Card => {
                let reference = card_reference(tenders).ok_or(CashError::NoCardToRefund)?;
                Ok(RefundSplit { cash: zero, card: amount, card_reference: Some(reference) })
            }
        }
    }

    /// A void gives back what the sale took, the way it took it: cash first, up to the
    /// cash the sale left in the drawer less what was already refunded in cash, and the
    /// rest to the card.
    pub fn as_paid(amount: Money, cash_left: Money, tenders: &[Tender]) -> RefundSplit {
        let zero = Money::zero(amount.currency);
        let cash = if cash_left.is_negative() { zero } else { amount.min(cash_left) };
        let card = Money::new(amount.minor - cash.minor, amount.currency);
        let card_reference = if card.is_zero() { None } else { card_reference(tenders) };
        RefundSplit { cash, card, card_reference }
    }

    /// "£185.00 in cash", "£40.00 in cash and £60.00 to the card (ref 4411)", in `language`.
    pub fn describe(&self, language: Language) -> String {
        let l = language;
        let (cash, card) = (i18n::money(l, self.cash), i18n::money(l, self.card));
        let reference = self.card_reference.as_deref().filter(|r| !r.is_empty());
        match (self.cash.is_zero(), self.card.is_zero(), reference) {
            (false, true, _) | (true, true, _) => t!(l, "{cash} in cash", cash = cash),
            (true, false, Some(r)) => t!(l, "{card} to the card (ref {reference})", card = card, reference = r),
            (true, false, None) => t!(l, "{card} to the card", card = card),
            (false, false, Some(r)) => t!(
                l,
                "{cash} in cash and {card} to the card (ref {reference})",
                cash = cash,
                card = card,
                reference = r
            ),
            (false, false, None) => t!(l, "{cash} in cash and {card} to the card", cash = cash, card = card),
        }
    }
}

fn card_reference(tenders: &[Tender]) -> Option<String> {
    tenders.iter().find_map(|t| match t {
        Tender::Card { reference, .. } => Some(reference.clone()),
        Tender::Cash { .. } => None,
    })
}

/// The drawer over one day. Every amount is what moved, so `expected` is simple addition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawer {
    pub float: Money,
    /// Cash the day's sales left in the drawer (tendered less change), voided ones too:
    /// their cash came in, and the void's refund took it out again.
    pub cash_sales: Money,
    pub cash_refunds: Money,
    pub paid_in: Money,
    pub paid_out: Money,
    /// The day's last count, if staff counted.
    pub counted: Option<Money>,
    pub counted_at: Option<DateTime<Utc>>,
}

impl Drawer {
    pub fn empty(currency: Currency) -> Drawer {
        let zero = Money::zero(currency);
        Drawer {
            float: zero,
            cash_sales: zero,
            cash_refunds: zero,
            paid_in: zero,
            paid_out: zero,
            counted: None,
            counted_at: None,
        }
    }

    /// What the drawer should hold: float, plus cash sales and cash in, less cash refunds
    /// and cash out.
    pub fn expected(&self) -> Money {
        let minor = self.float.minor + self.cash_sales.minor + self.paid_in.minor
            - self.cash_refunds.minor
            - self.paid_out.minor;
        Money::new(minor, self.float.currency)
    }

    /// Counted less expected: above zero the drawer is over, below it is short.
    pub fn difference(&self) -> Option<Money> {
        self.counted.map(|c| Money::new(c.minor - self.expected().minor, c.currency))
    }
}

/// "Over by £2.00", "Short by £5.00", "Balanced", in `language`.
pub fn describe_difference(language: Language, difference: Money) -> String {
    let l = language;
    if difference.is_zero() {
        t!(l, "Balanced")
    } else if difference.is_negative() {
        let short = Money::new(-difference.minor, difference.currency);
        t!(l, "Short by {amount}", amount = i18n::money(l, short))
    } else {
        t!(l, "Over by {amount}", amount = i18n::money(l, difference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp(minor: i64) -> Money {
        Money::new(minor, Currency::GBP)
    }

    #[test]
    fn the_drawer_expects_float_and_cash_in_less_refunds_and_cash_out() {
        let drawer = Drawer {
            float: gbp(5_000),
            cash_sales: gbp(37_000),
            cash_refunds: gbp(18_500),
            paid_in: gbp(2_000),
            paid_out: gbp(10_000),
            counted: Some(gbp(15_300)),
            counted_at: None,
        };
        assert_eq!(drawer.expected(), gbp(15_500));
        assert_eq!(drawer.difference(), Some(gbp(-200)));
        assert_eq!(describe_difference(Language::En, gbp(-200)), "Short by £2.00");
        assert_eq!(describe_difference(Language::En, gbp(150)), "Over by £1.50");
        assert_eq!(describe_difference(Language::En, gbp(0)), "Balanced");
        assert_eq!(Drawer::empty(Currency::GBP).difference(), None);
    }

    #[test]
    fn movements_need_an_amount_and_money_moved_needs_a_reason() {
        let c = Currency::GBP;
        assert_eq!(check(CashKind::Float, gbp(0), "", c), Err(CashError::NotPositive));
        assert_eq!(check(CashKind::PaidOut, gbp(100), " ", c), Err(CashError::NoReason("out")));
        assert_eq!(check(CashKind::PaidIn, gbp(-100), "More change", c), Err(CashError::NotPositive));
        assert_eq!(check(CashKind::Count, gbp(0), "", c), Ok(()), "an empty drawer can be counted");
        assert_eq!(check(CashKind::Count, gbp(-1), "", c), Err(CashError::Negative));
        assert!(matches!(
            check(CashKind::PaidIn, Money::new(100, Currency::EUR), "x", c),
            Err(CashError::Currency { .. })
        ));
        assert_eq!(check(CashKind::PaidOut, gbp(100), "Bank drop", c), Ok(()));
        for kind in CashKind::ALL {
            assert_eq!(CashKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn a_void_gives_back_cash_first_up_to_what_the_drawer_took_and_the_rest_to_the_card() {
        let split =
            vec![Tender::Card { amount: gbp(6_000), reference: "4411".into() }, Tender::Cash { tendered: gbp(4_000) }];
        let r = RefundSplit::as_paid(gbp(10_000), gbp(4_000), &split);
        assert_eq!((r.cash, r.card), (gbp(4_000), gbp(6_000)));
        assert_eq!(r.describe(Language::En), "£40.00 in cash and £60.00 to the card (ref 4411)");
        // Cash already refunded for a returned piece: the void's cash share shrinks.
        let r = RefundSplit::as_paid(gbp(5_000), gbp(-1_000), &split);
        assert_eq!((r.cash, r.card), (gbp(0), gbp(5_000)));
        let cash_only = vec![Tender::Cash { tendered: gbp(20_000) }];
        let r = RefundSplit::as_paid(gbp(18_500), gbp(18_500), &cash_only);
        assert_eq!((r.cash, r.card, r.card_reference.clone()), (gbp(18_500), gbp(0), None));
        assert_eq!(r.describe(Language::En), "£185.00 in cash");
    }

    #[test]
    fn a_card_refund_needs_a_card_payment_to_go_back_to() {
        let cash_only = vec![Tender::Cash { tendered: gbp(20_000) }];
        assert_eq!(RefundSplit::chosen(RefundMethod::Card, gbp(100), &cash_only), Err(CashError::NoCardToRefund));
        let card = vec![Tender::Card { amount: gbp(100), reference: "77".into() }];
        let r = RefundSplit::chosen(RefundMethod::Card, gbp(100), &card).unwrap();
        assert_eq!(r.describe(Language::En), "£1.00 to the card (ref 77)");
        let r = RefundSplit::chosen(RefundMethod::Cash, gbp(100), &card).unwrap();
        assert_eq!(r.describe(Language::En), "£1.00 in cash");
    }
}
