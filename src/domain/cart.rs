//! The cart: which pieces a customer is buying, at what price, with what discounts.
//!
//! Every rule that decides whether a piece may be sold lives here, so that the UI, the
//! catalog scanner and tests all get the same answer. The store enforces the last word
//! ("one live sale per piece") with a unique index, because two kiosks or a race can
//! still get past a check made on a stale snapshot.

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};

use super::drop::{Drop, DropPhase, Member};
use super::money::{Currency, Money, MoneyError, VatRate};
use super::piece::{Edition, Piece, PieceStatus, Serial};
use super::reservation::{Reservation, ReservationError};
use crate::i18n::{self, Language, Localized};
use crate::{msg, t, tn};
use uuid::Uuid;

/// Why staff give a discount: the choices the discount pad offers. A discount needs one, so
/// the day's report can say what the discounts were for.
/// English message ids: shown with `i18n::tr`.
pub const DISCOUNT_REASONS: [&str; 4] =
    [msg!("Returning customer"), msg!("Waitlist member"), msg!("Display piece"), msg!("Staff")];

/// Who a held or reserved piece is kept for when the store does not know the name. Said in
/// the error's English; its translations have a sentence of their own.
pub const ANOTHER_CUSTOMER: &str = "another customer";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscountKind {
    Amount(Money),
    /// Basis points: 1000 = 10 %.
    Percent(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub kind: DiscountKind,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub serial: Serial,
    pub title: String,
    pub edition: Edition,
    pub drop_id: Option<String>,
    pub unit_price: Money,
    pub discount: Option<Discount>,
    /// The hold or reservation this line collects.
    pub reservation: Option<Uuid>,
}

impl CartLine {
    pub fn discount_amount(&self) -> Result<Money, MoneyError> {
        match &self.discount {
            None => Ok(Money::zero(self.unit_price.currency)),
            Some(Discount { kind: DiscountKind::Amount(m), .. }) => Ok(*m),
            Some(Discount { kind: DiscountKind::Percent(bp), .. }) => self.unit_price.mul_div_round(*bp as i64, 10_000),
        }
    }

    pub fn net(&self) -> Result<Money, MoneyError> {
        self.unit_price.checked_sub(self.discount_amount()?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of list prices.
    pub subtotal: Money,
    pub discount: Money,
    /// What the customer pays, VAT included.
    pub total: Money,
    /// The VAT contained in `total`.
    pub vat: Money,
}

/// Why a piece cannot go into the cart, in words a stall worker acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SellError {
    #[error("No piece {0} on this stall. Check the tag and type it again.")]
    UnknownSerial(Serial),
    #[error("{0} is already sold. Put it aside and check its tag.")]
    AlreadySold(Serial),
    #[error("{serial} is held for {customer}. Release the hold first if they no longer want it.")]
    HeldForSomeoneElse { serial: Serial, customer: String },
    #[error("{serial} is reserved for {customer}. Collect it from Reservations.")]
    Reserved { serial: Serial, customer: String },
    #[error("{0} is reported lost or stolen. Do not sell it: keep it aside and call the atelier.")]
    ReportedLost(Serial),
    #[error("{0} is in transit and cannot be sold here.")]
    InTransit(Serial),
    #[error(
        "{0} is allocated to another of the atelier's stalls and cannot be sold here. Put it aside for the atelier."
    )]
    Elsewhere(Serial),
    #[error("{0} is already in the cart.")]
    AlreadyInCart(Serial),
    #[error("This drop opens at {}. Nothing in it can be sold yet.", local_time(*.0))]
    DropNotOpen(DateTime<Utc>),
    #[error("Members only until {}. Scan the customer's member pass first.", local_time(*.0))]
    MembersOnly(DateTime<Utc>),
    #[error("{member} is not on the waitlist for this drop. Members only until {}.", local_time(*.until))]
    NotOnWaitlist { member: String, until: DateTime<Utc> },
    #[error("This drop closed at {}. Its pieces can no longer be sold.", local_time(*.0))]
    DropClosed(DateTime<Utc>),
    #[error("{member} has already bought {limit} piece(s) of this drop, the most a member may in the members' window.")]
    MemberLimit { member: String, limit: u32 },
    #[error(transparent)]
    Reservation(#[from] ReservationError),
    #[error("{0} is priced in another currency than this sale.")]
    OtherCurrency(Serial),
    #[error("{0} is not in the cart.")]
    NotInCart(Serial),
    #[error("A discount needs a reason.")]
    DiscountWithoutReason,
    #[error("The discount is more than the price of the piece.")]
    DiscountTooLarge,
    #[error("The cart is empty. Add a piece first.")]
    EmptyCart,
    #[error("amount error: {0}")]
    Money(#[from] MoneyError),
}

fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%a %H:%M").to_string()
}

/// "Sat 10:00" on the stall's clock, the weekday in `language`.
fn local_time_in(language: Language, at: DateTime<Utc>) -> String {
    i18n::weekday_time(language, at.with_timezone(&Local).naive_local())
}

impl Localized for SellError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        let at = |moment: &DateTime<Utc>| local_time_in(l, *moment);
        match self {
            SellError::UnknownSerial(serial) => {
                t!(l, "No piece {serial} on this stall. Check the tag and type it again.", serial = serial)
            }
            SellError::AlreadySold(serial) => {
                t!(l, "{serial} is already sold. Put it aside and check its tag.", serial = serial)
            }
            SellError::HeldForSomeoneElse { serial, customer } if customer == ANOTHER_CUSTOMER => t!(
                l,
                "{serial} is held for another customer. Release the hold first if they no longer want it.",
                serial = serial
            ),
            SellError::HeldForSomeoneElse { serial, customer } => t!(
                l,
                "{serial} is held for {customer}. Release the hold first if they no longer want it.",
                serial = serial,
                customer = customer
            ),
            SellError::Reserved { serial, customer } if customer == ANOTHER_CUSTOMER => {
                t!(l, "{serial} is reserved for another customer. Collect it from Reservations.", serial = serial)
            }
            SellError::Reserved { serial, customer } => t!(
                l,
                "{serial} is reserved for {customer}. Collect it from Reservations.",
                serial = serial,
                customer = customer
            ),
            SellError::ReportedLost(serial) => t!(
                l,
                "{serial} is reported lost or stolen. Do not sell it: keep it aside and call the atelier.",
                serial = serial
            ),
            SellError::InTransit(serial) => {
                t!(l, "{serial} is in transit and cannot be sold here.", serial = serial)
            }
            SellError::Elsewhere(serial) => t!(
                l,
                "{serial} is allocated to another of the atelier's stalls and cannot be sold here. Put it aside for the atelier.",
                serial = serial
            ),
            SellError::AlreadyInCart(serial) => t!(l, "{serial} is already in the cart.", serial = serial),
            SellError::DropNotOpen(opens) => {
                t!(l, "This drop opens at {when}. Nothing in it can be sold yet.", when = at(opens))
            }
            SellError::MembersOnly(until) => {
                t!(l, "Members only until {when}. Scan the customer's member pass first.", when = at(until))
            }
            SellError::NotOnWaitlist { member, until } => t!(
                l,
                "{member} is not on the waitlist for this drop. Members only until {when}.",
                member = member,
                when = at(until)
            ),
            SellError::DropClosed(closed) => {
                t!(l, "This drop closed at {when}. Its pieces can no longer be sold.", when = at(closed))
            }
            SellError::MemberLimit { member, limit } => tn!(
                l,
                "{member} has already bought {n} piece of this drop, the most a member may in the members' window.",
                "{member} has already bought {n} pieces of this drop, the most a member may in the members' window.",
                *limit,
                member = member
            ),
            SellError::Reservation(e) => e.localized(l),
            SellError::OtherCurrency(serial) => {
                t!(l, "{serial} is priced in another currency than this sale.", serial = serial)
            }
            SellError::NotInCart(serial) => t!(l, "{serial} is not in the cart.", serial = serial),
            SellError::DiscountWithoutReason => t!(l, "A discount needs a reason."),
            SellError::DiscountTooLarge => t!(l, "The discount is more than the price of the piece."),
            SellError::EmptyCart => t!(l, "The cart is empty. Add a piece first."),
            SellError::Money(e) => t!(l, "amount error: {error}", error = e.localized(l)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub currency: Currency,
    pub lines: Vec<CartLine>,
    /// The checked-in waitlist member buying, if any.
    pub member: Option<Member>,
    /// Pieces of the current drop the checked-in member has already bought.
    pub member_bought: u32,
}

impl Cart {
    pub fn new(currency: Currency) -> Cart {
        Cart { currency, lines: Vec::new(), member: None, member_bought: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds a piece if it may be sold now to this cart's buyer.
    pub fn add(&mut self, piece: &Piece, drop: Option<&Drop>, now: DateTime<Utc>) -> Result<(), SellError> {
        let serial = piece.serial.clone();
        if self.lines.iter().any(|l| l.serial == serial) {
            return Err(SellError::AlreadyInCart(serial));
        }
        let customer = || piece.held_for.clone().unwrap_or_else(|| ANOTHER_CUSTOMER.into());
        match piece.status {
            PieceStatus::Available => {}
            PieceStatus::Sold => return Err(SellError::AlreadySold(serial)),
            PieceStatus::Held => {
                return Err(SellError::HeldForSomeoneElse { serial, customer: customer() });
            }
            PieceStatus::Reserved => {
                return Err(SellError::Reserved { serial, customer: customer() });
            }
            PieceStatus::Lost => return Err(SellError::ReportedLost(serial)),
            PieceStatus::InTransit => return Err(SellError::InTransit(serial)),
            PieceStatus::Elsewhere => return Err(SellError::Elsewhere(serial)),
        }
        if piece.price.currency != self.currency {
            return Err(SellError::OtherCurrency(serial));
        }
        if let Some(drop) = drop {
            match drop.phase(now) {
                DropPhase::Upcoming => return Err(SellError::DropNotOpen(drop.opens_at)),
                DropPhase::Closed => return Err(SellError::DropClosed(drop.closes_at)),
                DropPhase::GeneralSale => {}
                DropPhase::MembersOnly => match &self.member {
                    None => return Err(SellError::MembersOnly(drop.general_sale_at)),
                    Some(m) if !m.on_waitlist_for(&drop.id) => {
                        return Err(SellError::NotOnWaitlist { member: m.name.clone(), until: drop.general_sale_at });
                    }
                    Some(m) => {
                        let in_cart = self.lines.iter().filter(|l| l.drop_id.as_deref() == Some(&drop.id)).count();
                        let limit = drop.member_limit;
                        if limit > 0 && self.member_bought + in_cart as u32 >= limit {
                            return Err(SellError::MemberLimit { member: m.name.clone(), limit });
                        }
                    }
                },
            }
        }
        self.lines.push(CartLine {
            serial,
            title: piece.title.clone(),
            edition: piece.edition,
            drop_id: piece.drop_id.clone(),
            unit_price: piece.price,
            discount: None,
            reservation: None,
        });
        Ok(())
    }

    /// Adds a held or reserved piece for the customer it is kept for, at the agreed price.
    /// Drop phases do not apply: the piece was promised when the reservation was made.
    pub fn add_reserved(
        &mut self,
        piece: &Piece,
        reservation: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<(), SellError> {
        reservation.check_alive(now)?;
        let serial = piece.serial.clone();
        if self.lines.iter().any(|l| l.serial == serial) {
            return Err(SellError::AlreadyInCart(serial));
        }
        if reservation.price.currency != self.currency {
            return Err(SellError::OtherCurrency(serial));
        }
        self.lines.push(CartLine {
            serial,
            title: piece.title.clone(),
            edition: piece.edition,
            drop_id: piece.drop_id.clone(),
            unit_price: reservation.price,
            discount: None,
            reservation: Some(reservation.id),
        });
        Ok(())
    }

    pub fn remove(&mut self, serial: &Serial) -> Result<(), SellError> {
        let before = self.lines.len();
        self.lines.retain(|l| &l.serial != serial);
        if self.lines.len() == before { Err(SellError::NotInCart(serial.clone())) } else { Ok(()) }
    }

    /// Sets (or with `None` clears) the discount on one line.
    pub fn set_discount(&mut self, serial: &Serial, discount: Option<Discount>) -> Result<(), SellError> {
        let line =
            self.lines.iter_mut().find(|l| &l.serial == serial).ok_or_else(|| SellError::NotInCart(serial.clone()))?;
        if let Some(d) = &discount {
            if d.reason.trim().is_empty() {
                return Err(SellError::DiscountWithoutReason);
            }
            let amount = match d.kind {
                DiscountKind::Amount(m) => {
                    if m.currency != line.unit_price.currency || m.is_negative() {
                        return Err(SellError::DiscountTooLarge);
                    }
                    m
                }
                DiscountKind::Percent(bp) if bp > 10_000 => {
                    return Err(SellError::DiscountTooLarge);
                }
                DiscountKind::Percent(bp) => line.unit_price.mul_div_round(bp as i64, 10_000)?,
            };
            if amount.minor > line.unit_price.minor {
                return Err(SellError::DiscountTooLarge);
            }
        }
        line.discount = discount;
        Ok(())
    }

    pub fn totals(&self, vat: VatRate) -> Result<Totals, MoneyError> {
        let zero = Money::zero(self.currency);
        let mut t = Totals { subtotal: zero, discount: zero, total: zero, vat: zero };
        for line in &self.lines {
            let net = line.net()?;
            t.subtotal = t.subtotal.checked_add(line.unit_price)?;
            t.discount = t.discount.checked_add(line.discount_amount()?)?;
            t.total = t.total.checked_add(net)?;
            // VAT per line, then summed, so each receipt line's VAT adds up to the total.
            t.vat = t.vat.checked_add(vat.included_in(net)?)?;
        }
        Ok(t)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    pub(crate) fn piece(serial: &str, price: i64, status: PieceStatus) -> Piece {
        Piece {
            serial: Serial::parse(serial).unwrap(),
            drop_id: Some("rose".into()),
            edition: Edition::new(7, 24).unwrap(),
            title: "Rose-gold clasp pendant".into(),
            maker: "Atelier Test".into(),
            materials: "18ct rose gold".into(),
            origin_notes: String::new(),
            price: Money::new(price, Currency::GBP),
            assay_hash: None,
            status,
            held_for: Some("Ada".into()).filter(|_| status == PieceStatus::Held),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn drop_in_phase(phase: DropPhase) -> Drop {
        let h = Duration::hours;
        let (opens, general, closes) = match phase {
            DropPhase::Upcoming => (h(1), h(2), h(3)),
            DropPhase::MembersOnly => (h(-1), h(1), h(3)),
            DropPhase::GeneralSale => (h(-3), h(-1), h(3)),
            DropPhase::Closed => (h(-3), h(-2), h(-1)),
        };
        Drop {
            id: "rose".into(),
            name: "Rose".into(),
            opens_at: now() + opens,
            general_sale_at: now() + general,
            closes_at: now() + closes,
            member_limit: 1,
        }
    }

    #[test]
    fn a_member_may_buy_up_to_the_drop_limit_in_the_members_window() {
        let drop = drop_in_phase(DropPhase::MembersOnly);
        let member = Member {
            id: "m".into(),
            name: "Priya".into(),
            email: "p@example.com".into(),
            drops: vec![drop.id.clone()],
        };
        let mut a = piece("AT-1", 100, PieceStatus::Available);
        a.drop_id = Some(drop.id.clone());
        let mut b = piece("AT-2", 100, PieceStatus::Available);
        b.drop_id = Some(drop.id.clone());
        let mut cart = Cart::new(Currency::GBP);
        cart.member = Some(member);
        cart.add(&a, Some(&drop), now()).unwrap();
        assert!(matches!(cart.add(&b, Some(&drop), now()), Err(SellError::MemberLimit { limit: 1, .. })));
        // Already bought one earlier: none left in this visit.
        let mut later = Cart::new(Currency::GBP);
        later.member = cart.member.clone();
        later.member_bought = 1;
        assert!(matches!(later.add(&b, Some(&drop), now()), Err(SellError::MemberLimit { .. })));
    }

    #[test]
    fn sold_held_and_lost_pieces_cannot_enter_the_cart() {
        let mut cart = Cart::new(Currency::GBP);
        let cases = [
            (PieceStatus::Sold, "already sold"),
            (PieceStatus::Held, "held for Ada"),
            (PieceStatus::Lost, "lost or stolen"),
            (PieceStatus::InTransit, "in transit"),
            (PieceStatus::Elsewhere, "another of the atelier's stalls"),
        ];
        for (status, words) in cases {
            let err = cart.add(&piece("AT-1", 100, status), None, now()).unwrap_err();
            assert!(err.to_string().contains(words), "{status:?}: {err}");
        }
        assert!(cart.is_empty());
    }

    #[test]
    fn a_piece_enters_the_cart_once() {
        let mut cart = Cart::new(Currency::GBP);
        let p = piece("AT-1", 100, PieceStatus::Available);
        cart.add(&p, None, now()).unwrap();
        assert_eq!(cart.add(&p, None, now()), Err(SellError::AlreadyInCart(p.serial.clone())));
        assert_eq!(cart.lines.len(), 1);
    }

    #[test]
    fn members_only_window_needs_a_waitlisted_member() {
        let drop = drop_in_phase(DropPhase::MembersOnly);
        let p = piece("AT-1", 100, PieceStatus::Available);
        let mut cart = Cart::new(Currency::GBP);
        assert!(matches!(cart.add(&p, Some(&drop), now()), Err(SellError::MembersOnly(_))));

        cart.member = Some(Member { id: "m1".into(), name: "Bo".into(), email: "b@x".into(), drops: vec![] });
        assert!(matches!(cart.add(&p, Some(&drop), now()), Err(SellError::NotOnWaitlist { .. })));

        cart.member.as_mut().unwrap().drops.push("rose".into());
        cart.add(&p, Some(&drop), now()).unwrap();
    }

    #[test]
    fn drop_phase_gates_the_sale() {
        let p = piece("AT-1", 100, PieceStatus::Available);
        let mut cart = Cart::new(Currency::GBP);
        let upcoming = drop_in_phase(DropPhase::Upcoming);
        assert!(matches!(cart.add(&p, Some(&upcoming), now()), Err(SellError::DropNotOpen(_))));
        let closed = drop_in_phase(DropPhase::Closed);
        assert!(matches!(cart.add(&p, Some(&closed), now()), Err(SellError::DropClosed(_))));
        cart.add(&p, Some(&drop_in_phase(DropPhase::GeneralSale)), now()).unwrap();
    }

    #[test]
    fn discounts_need_a_reason_and_cannot_exceed_the_price() {
        let mut cart = Cart::new(Currency::GBP);
        let p = piece("AT-1", 10_000, PieceStatus::Available);
        cart.add(&p, None, now()).unwrap();
        let amount = |minor| DiscountKind::Amount(Money::new(minor, Currency::GBP));
        let d = |kind, reason: &str| Some(Discount { kind, reason: reason.into() });
        assert_eq!(cart.set_discount(&p.serial, d(amount(100), " ")), Err(SellError::DiscountWithoutReason));
        assert_eq!(cart.set_discount(&p.serial, d(amount(10_001), "x")), Err(SellError::DiscountTooLarge));
        assert_eq!(
            cart.set_discount(&p.serial, d(DiscountKind::Percent(10_001), "x")),
            Err(SellError::DiscountTooLarge)
        );
        cart.set_discount(&p.serial, d(DiscountKind::Percent(1_000), "Returning customer")).unwrap();
        let t = cart.totals(VatRate::UK_STANDARD).unwrap();
        assert_eq!(t.subtotal.minor, 10_000);
        assert_eq!(t.discount.minor, 1_000);
        assert_eq!(t.total.minor, 9_000);
        assert_eq!(t.vat.minor, 1_500);
    }

    #[test]
    fn totals_sum_lines_with_vat_per_line() {
        let mut cart = Cart::new(Currency::GBP);
        cart.add(&piece("AT-1", 99, PieceStatus::Available), None, now()).unwrap();
        cart.add(&piece("AT-2", 99, PieceStatus::Available), None, now()).unwrap();
        let t = cart.totals(VatRate::UK_STANDARD).unwrap();
        assert_eq!(t.total.minor, 198);
        // 17p + 17p per line, not 33p on the sum: the receipt's lines must add up.
        assert_eq!(t.vat.minor, 34);
        cart.remove(&Serial::parse("AT-1").unwrap()).unwrap();
        assert_eq!(cart.totals(VatRate::UK_STANDARD).unwrap().total.minor, 99);
    }
}
