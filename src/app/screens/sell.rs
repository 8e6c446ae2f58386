//! The Sell screen: the drop's pieces as a grid, the cart beside it, and its panels
//! (discount, hold for a customer, member check-in). Pieces come in by tap, typed serial,
//! scanned tag, reservation code or member pass.
//!
//! The sale being built is the router's [`SellSession`], shared with Tender; this screen
//! keeps only what its panels and banner show.

use std::rc::Rc;

use chrono::{DateTime, Local, Utc};
use slint::{ModelRc, SharedString, VecModel};
use uuid::Uuid;

use super::Page;
use crate::app::present::{fmt_money, model, update_rows};
use crate::app::sale::SellSession;
use crate::app::services::{Notice, Services};
use crate::domain::printout::{Printout, SlipDoc};
use crate::domain::provenance::{self, Reading, Verdict};
use crate::domain::reservation::{Customer, Source};
use crate::domain::{
    HoldLength, MoneyError, PieceStatus, Reservation, ReservationCode, ReservationKind, Serial, Totals,
};
use crate::i18n::{self, Language, Localized};
use crate::provenance::{Check, check};
use crate::store::{DropSummary, NewReservation};
use crate::ui::{AppWindow, CartLineData, MemberRowData, PieceTileData, SellState};
use crate::{t, tn};
use slint::ComponentHandle;

#[derive(Default)]
pub struct SellScreen {
    /// The grid's tiles, kept between taps: a tap changes one or two tiles, and only those
    /// are redrawn.
    tiles: Rc<VecModel<PieceTileData>>,
    notice: Notice,
    /// The cart piece the discount pad is open for.
    discount_for: Option<Serial>,
    /// The cart piece the hold panel is open for, and the panel's own message.
    hold_for: Option<Serial>,
    hold_notice: Notice,
    member_panel: bool,
    member_query: String,
}

fn new_code() -> ReservationCode {
    ReservationCode::random(&mut rand::rng())
}

impl SellScreen {
    /// Says something on the Sell banner (a sale refused at the till, a collection).
    pub fn tell(&mut self, notice: Notice) {
        self.notice = notice;
    }

    /// A panel open over the grid closes when staff leave the screen.
    pub fn close_panels(&mut self) {
        self.discount_for = None;
    }

    /// A serial, reservation code or member pass typed (or scanned) in.
    pub fn add_typed(&mut self, svc: &Services, sale: &mut SellSession, text: &str) {
        let now = svc.now();
        let l = svc.language();
        // A reservation code collects; a member pass checks the member in.
        if let Ok(code) = ReservationCode::parse(text) {
            let result = match svc.store.reservation_by_code(&code) {
                Ok(Some(r)) => self.collect(svc, sale, &r, now),
                Ok(None) => Err(Notice::error(t!(
                    l,
                    "No reservation with code {code}. Check it with the customer.",
                    code = code
                ))),
                Err(e) => Err(Notice::error(e.localized(l))),
            };
            if let Err(why) = result {
                self.notice = why;
            }
            return;
        }
        if let Some(id) = text.trim().strip_prefix("MEMBER:") {
            self.check_in(svc, sale, id);
            return;
        }
        let drop = svc.current_drop(now).map(|d| d.drop.id);
        self.notice = match sale.add_typed(&svc.store, text, drop.as_deref(), now) {
            Ok(_) => Notice::default(),
            Err(e) => e.notice(l),
        };
    }

    /// Puts a reservation's piece in the cart at its reserved price; why not, if it cannot.
    pub fn collect(
        &mut self,
        svc: &Services,
        sale: &mut SellSession,
        r: &Reservation,
        now: DateTime<Utc>,
    ) -> Result<(), Notice> {
        let l = svc.language();
        let piece = match svc.store.piece(&r.serial) {
            Ok(Some(p)) => p,
            Ok(None) => return Err(Notice::error(t!(l, "No piece {serial} on this stall.", serial = r.serial))),
            Err(e) => return Err(Notice::error(e.localized(l))),
        };
        sale.cart.add_reserved(&piece, r, now).map_err(|e| Notice::error(e.localized(l)))?;
        self.notice = Notice::ok(t!(
            l,
            "Collecting {serial} for {name} (code {code}).",
            serial = r.serial,
            name = r.customer.name,
            code = r.code
        ));
        Ok(())
    }

    pub fn tap_piece(&mut self, svc: &Services, sale: &mut SellSession, serial: &str) {
        let Ok(serial) = Serial::parse(serial) else { return };
        // A second tap on a piece in the cart takes it out again: the grid is a toggle.
        if sale.cart.lines.iter().any(|l| l.serial == serial) {
            self.remove_line(sale, serial.as_str(), svc.language());
            return;
        }
        self.notice = match sale.add(&svc.store, &serial, svc.now()) {
            Ok(()) => Notice::default(),
            Err(e) => e.notice(svc.language()),
        };
    }

    /// Takes a piece out of the cart; why not, in `language`.
    pub fn remove_line(&mut self, sale: &mut SellSession, serial: &str, language: Language) {
        if let Ok(serial) = Serial::parse(serial)
            && let Err(e) = sale.remove(&serial)
        {
            self.notice = e.notice(language);
        }
    }

    pub fn open_discount(&mut self, serial: &str) {
        self.discount_for = Serial::parse(serial).ok();
    }

    pub fn close_discount(&mut self) {
        self.discount_for = None;
    }

    /// Discounts a cart piece; why not, in `language`.
    pub fn apply_discount(
        &mut self,
        sale: &mut SellSession,
        serial: &str,
        amount: &str,
        percent: bool,
        reason: &str,
        language: Language,
    ) {
        let Ok(serial) = Serial::parse(serial) else { return };
        match sale.discount(&serial, amount, percent, reason) {
            Ok(()) => {
                self.discount_for = None;
                self.notice = Notice::default();
            }
            Err(e) => self.notice = e.notice(language),
        }
    }

    /// Whether the cart can go to payment; says why not, in `language`.
    pub fn charge(&mut self, sale: &SellSession, language: Language) -> bool {
        if sale.cart.is_empty() {
            self.notice = Notice::warning(t!(language, "The cart is empty. Add a piece first."));
            return false;
        }
        true
    }

    /// A code the camera read here: a piece's tag adds it, a slip collects, a member pass
    /// checks the member in. A tag whose certificate fails is refused, loudly.
    pub fn scanned(&mut self, svc: &Services, sale: &mut SellSession, text: &str) {
        let l = svc.language();
        match provenance::read(text) {
            Reading::Certificate(_) => match check(&svc.store, text) {
                Ok(Check { verdict: Verdict::Genuine { certificate, .. }, .. }) => {
                    self.add_typed(svc, sale, certificate.serial.as_str())
                }
                Ok(c) => {
                    // Short enough for the banner's two lines; the Verify screen explains more.
                    self.notice = Notice::error(t!(
                        l,
                        "This tag did not verify ({verdict}): check the piece on Verify before selling it.",
                        verdict = verdict_word(l, &c.verdict)
                    ))
                }
                Err(e) => self.notice = Notice::error(e.localized(l)),
            },
            // Stickers printed before certificates, and reservation slips, carry a path.
            _ => match text.trim().rsplit_once("/p/").or_else(|| text.trim().rsplit_once("/r/")) {
                Some((_, tail)) => self.add_typed(svc, sale, tail),
                None => self.add_typed(svc, sale, text),
            },
        }
    }

    // --- The hold panel ---

    /// Opens the hold panel for a piece in the cart.
    pub fn open_hold(&mut self, serial: &str) {
        self.hold_for = Serial::parse(serial).ok();
        self.hold_notice = Notice::default();
    }

    pub fn close_hold(&mut self) {
        self.hold_for = None;
        self.hold_notice = Notice::default();
    }

    /// Holds the piece for a customer until the chosen time; it leaves the cart. True when
    /// done (the panel closes). `pick` is the index of the chosen [`HoldLength::ALL`] (the
    /// panel's buttons, in order).
    pub fn create_hold(
        &mut self,
        svc: &mut Services,
        sale: &mut SellSession,
        serial: &str,
        name: &str,
        contact: &str,
        pick: i32,
    ) -> bool {
        let now = svc.now();
        let l = svc.language();
        let Ok(serial) = Serial::parse(serial) else { return false };
        let customer = match Customer::new(name, contact) {
            Ok(c) => c,
            Err(e) => {
                self.hold_notice = Notice::error(e.localized(l));
                return false;
            }
        };
        let Some(length) = usize::try_from(pick).ok().and_then(|i| HoldLength::ALL.get(i).copied()) else {
            self.hold_notice = Notice::error(t!(l, "Choose how long to hold it."));
            return false;
        };
        let new = NewReservation {
            id: Uuid::now_v7(),
            kind: ReservationKind::Hold,
            source: Source::Stall,
            serial: serial.clone(),
            customer,
            member_id: sale.cart.member.as_ref().map(|m| m.id.clone()),
            expires_at: length.until(now, &Local),
        };
        let slip = slip_maker(svc);
        match svc.store.create_reservation(&new, now, new_code, slip) {
            Ok(r) => {
                let _ = sale.remove(&serial);
                self.close_hold();
                svc.wake_printer();
                let until = r.expires_at.with_timezone(&Local).format("%H:%M");
                self.notice = Notice::ok(t!(
                    l,
                    "{serial} held for {name} until {until} · code {code}",
                    serial = serial,
                    name = r.customer.name,
                    until = until,
                    code = r.code
                ));
                true
            }
            Err(e) => {
                self.hold_notice = Notice::error(e.localized(l));
                false
            }
        }
    }

    // --- Member check-in ---

    pub fn open_members(&mut self) {
        self.member_panel = true;
        self.member_query.clear();
    }

    pub fn close_members(&mut self) {
        self.member_panel = false;
    }

    pub fn search_members(&mut self, query: &str) {
        self.member_query = query.trim().to_owned();
    }

    /// Identifies the customer as a waitlist member for this cart (by id: a pass scan, or a
    /// search result tapped).
    pub fn check_in(&mut self, svc: &Services, sale: &mut SellSession, member_id: &str) {
        let now = svc.now();
        let l = svc.language();
        match svc.store.member(member_id) {
            Ok(Some(m)) => {
                let drop = svc.current_drop(now).map(|d| d.drop);
                let bought =
                    drop.as_ref().map(|d| svc.store.member_pieces_bought(&m.id, &d.id).unwrap_or(0)).unwrap_or(0);
                self.notice = match &drop {
                    Some(d) if !m.on_waitlist_for(&d.id) => Notice::warning(t!(
                        l,
                        "{name} is checked in but is not on the waitlist for {drop}.",
                        name = m.name,
                        drop = d.name
                    )),
                    _ => Notice::ok(t!(l, "{name} checked in.", name = m.name)),
                };
                sale.cart.member = Some(m);
                sale.cart.member_bought = bought;
                self.member_panel = false;
            }
            Ok(None) => {
                self.notice = Notice::error(t!(l, "No member with that pass. Search by name or email instead."))
            }
            Err(e) => self.notice = Notice::error(e.localized(l)),
        }
    }

    pub fn check_out_member(&mut self, sale: &mut SellSession) {
        sale.cart.member = None;
        sale.cart.member_bought = 0;
    }

    // --- Presenting ---

    /// The grid, the cart and the open panels. `drop` is looked up once per tap by the router.
    pub fn present(&self, svc: &Services, sale: &SellSession, ui: &AppWindow, drop: Option<&DropSummary>) {
        self.present_grid(svc, sale, ui, drop);
        self.present_cart(svc, sale, ui);
        self.present_panels(svc, sale, ui, drop);
    }

    /// The live drop's pieces, each with its state.
    fn present_grid(&self, svc: &Services, sale: &SellSession, ui: &AppWindow, drop: Option<&DropSummary>) {
        let l = svc.language();
        ui.global::<SellState>().set_empty_text(
            t!(
                l,
                "No pieces to show. Import the catalog with {command}, or type a serial above.",
                command = "`marketday catalog import FILE.csv`"
            )
            .into(),
        );
        let in_cart = |s: &Serial| sale.cart.lines.iter().any(|l| &l.serial == s);
        let tiles = drop
            .map(|d| svc.store.drop_pieces(&d.drop.id).unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                // "07 of 24": the number large, the rest under it.
                let edition = t.edition.label(l);
                let (number, rest) = edition.split_once(' ').unwrap_or((&edition, ""));
                let photo = t.photo.as_deref().and_then(|sha| svc.pictures.of(sha, crate::app::pictures::TILE));
                PieceTileData {
                    has_photo: photo.is_some(),
                    photo: photo.unwrap_or_default(),
                    serial: t.serial.as_str().into(),
                    number: number.into(),
                    edition: rest.into(),
                    title: t.title.into(),
                    price: fmt_money(l, t.price),
                    status: t.status.label(l).into(),
                    state: match t.status {
                        PieceStatus::Available => 0,
                        PieceStatus::Held | PieceStatus::Reserved => 1,
                        PieceStatus::Sold => 2,
                        PieceStatus::InTransit | PieceStatus::Lost | PieceStatus::Elsewhere => 3,
                    },
                    in_cart: in_cart(&t.serial),
                }
            })
            .collect();
        update_rows(&self.tiles, tiles);
        ui.global::<SellState>().set_pieces(ModelRc::from(self.tiles.clone()));
    }

    /// The cart, its totals and the banner.
    fn present_cart(&self, svc: &Services, sale: &SellSession, ui: &AppWindow) {
        let l = svc.language();
        let lines = sale
            .cart
            .lines
            .iter()
            .map(|line| CartLineData {
                serial: line.serial.as_str().into(),
                title: line.title.clone().into(),
                edition: line.edition.label(l).into(),
                price: fmt_money(l, line.unit_price),
                discount: match line.discount_amount() {
                    Ok(d) if !d.is_zero() => fmt_money(l, d),
                    _ => SharedString::new(),
                },
                net: line.net().map(|m| fmt_money(l, m)).unwrap_or_default(),
                reserved: line.reservation.is_some(),
            })
            .collect();
        ui.global::<SellState>().set_cart(model(lines));
        ui.global::<SellState>().set_cart_count(
            match sale.cart.lines.len() {
                0 => t!(l, "Cart is empty"),
                n => tn!(l, "{n} piece", "{n} pieces", n),
            }
            .into(),
        );
        let totals = sale.cart.totals(svc.vat);
        match &totals {
            Ok(t) => {
                ui.global::<SellState>().set_discount_total(if t.discount.is_zero() {
                    SharedString::new()
                } else {
                    fmt_money(l, t.discount)
                });
                ui.global::<SellState>().set_total(fmt_money(l, t.total));
                ui.global::<SellState>().set_vat_line(
                    t!(l, "includes VAT {amount} at {rate}", amount = i18n::money(l, t.vat), rate = svc.vat).into(),
                );
            }
            Err(_) => {
                ui.global::<SellState>().set_discount_total(SharedString::new());
                ui.global::<SellState>().set_total("—".into());
                ui.global::<SellState>().set_vat_line(SharedString::new());
            }
        }
        let banner = banner(&self.notice, &totals, l);
        ui.global::<SellState>().set_error(banner.text.into());
        ui.global::<SellState>().set_error_severity(banner.severity);

        match &self.discount_for {
            Some(serial) => {
                let line = sale.cart.lines.iter().find(|l| &l.serial == serial);
                ui.global::<SellState>().set_discount_serial(serial.as_str().into());
                ui.global::<SellState>().set_discount_title(
                    line.map(|line| format!("{} ({}), {}", line.title, line.serial, i18n::money(l, line.unit_price)))
                        .unwrap_or_default()
                        .into(),
                );
            }
            None => ui.global::<SellState>().set_discount_serial(SharedString::new()),
        }
    }

    /// The hold panel and member check-in.
    fn present_panels(&self, svc: &Services, sale: &SellSession, ui: &AppWindow, drop: Option<&DropSummary>) {
        match &self.hold_for {
            Some(serial) => {
                let line = sale.cart.lines.iter().find(|l| &l.serial == serial);
                ui.global::<SellState>().set_hold_serial(serial.as_str().into());
                ui.global::<SellState>()
                    .set_hold_title(line.map(|l| format!("{} · {}", l.serial, l.title)).unwrap_or_default().into());
            }
            None => {
                ui.global::<SellState>().set_hold_serial(SharedString::new());
                ui.global::<SellState>().set_hold_name(SharedString::new());
                ui.global::<SellState>().set_hold_contact(SharedString::new());
                ui.global::<SellState>().set_hold_pick(-1);
            }
        }
        ui.global::<SellState>().set_hold_error(self.hold_notice.text.clone().into());
        let member = sale.cart.member.as_ref();
        ui.global::<SellState>().set_member_name(member.map(|m| m.name.clone()).unwrap_or_default().into());
        ui.global::<SellState>().set_member_panel(self.member_panel);
        if !self.member_panel {
            return;
        }
        let drop = drop.map(|d| d.drop.id.as_str());
        let l = svc.language();
        let rows = svc
            .store
            .search_members(&self.member_query, 3)
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let listed = drop.is_some_and(|d| m.on_waitlist_for(d));
                MemberRowData {
                    id: m.id.clone().into(),
                    name: m.name.clone().into(),
                    detail: if listed { t!(l, "{email} · on the waitlist", email = m.email) } else { m.email.clone() }
                        .into(),
                }
            })
            .collect();
        ui.global::<SellState>().set_member_results(model(rows));
    }
}

impl Page for SellScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }

    fn dismiss(&mut self) {
        self.notice = Notice::default();
        self.hold_notice = Notice::default();
    }
}

/// The reservation slip printout, when a printer exists.
fn slip_maker(svc: &Services) -> impl FnOnce(&Reservation) -> Option<Printout> + use<> {
    let enabled = svc.printing.is_some();
    let stall = svc.config.stall.name.clone();
    let url = svc.config.stall.verify_url.clone();
    move |r: &Reservation| {
        enabled.then(|| {
            Printout::Slip(SlipDoc {
                stall,
                code: r.code.to_string(),
                qr: format!("{}/r/{}", url.trim_end_matches('/'), r.code.as_str()),
                serial: r.serial.as_str().to_owned(),
                customer: r.customer.name.clone(),
                price: r.price,
                expires_at: r.expires_at,
                hold: r.kind == ReservationKind::Hold,
            })
        })
    }
}

/// The verdict in a word or two, for the Sell banner's short refusal (the Verify screen
/// explains more). The same words as [`Verdict::word`], in `language`.
fn verdict_word(language: Language, verdict: &Verdict) -> String {
    let l = language;
    match verdict {
        Verdict::Genuine { .. } => t!(l, "genuine"),
        Verdict::Forged { .. } => t!(l, "forged"),
        Verdict::UnknownSigner { .. } => t!(l, "unknown signer"),
        Verdict::RevokedKey { .. } => t!(l, "revoked key"),
        Verdict::NotMarketday => t!(l, "not a Marketday code"),
        Verdict::Damaged { .. } => t!(l, "damaged"),
    }
}

/// The banner's message: the worker's own, else why the cart cannot be totalled (a total
/// that would overflow), so a cart that cannot be charged always says why, in `language`.
fn banner(notice: &Notice, totals: &Result<Totals, MoneyError>, language: Language) -> Notice {
    match totals {
        Err(e) if notice.is_empty() => Notice::error(t!(
            language,
            "This cart cannot be totalled: {reason}. Remove the last piece.",
            reason = e.localized(language)
        )),
        _ => notice.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::services::Severity;

    #[test]
    fn a_cart_that_cannot_be_totalled_says_so_unless_the_worker_has_a_message_up() {
        let overflow = Err(MoneyError::Overflow);
        let shown = banner(&Notice::default(), &overflow, Language::En);
        assert_eq!(
            (shown.text.as_str(), shown.severity),
            ("This cart cannot be totalled: amount is too large. Remove the last piece.", Severity::Error)
        );
        let theirs = Notice::warning("AT-2026-0007 is held for Priya Shah.");
        assert_eq!(banner(&theirs, &overflow, Language::En), theirs);
        let fine = crate::domain::Cart::new(crate::domain::Currency::GBP).totals(crate::domain::VatRate::UK_STANDARD);
        assert_eq!(banner(&Notice::default(), &fine, Language::En), Notice::default());
    }
}
