//! Holds, reservations and member check-in, as staff do them at the stall.

use chrono::{DateTime, Local, Utc};
use uuid::Uuid;

use super::kiosk::{Kiosk, Notice};
use crate::domain::printout::{Printout, SlipDoc};
use crate::domain::reservation::{Customer, Source};
use crate::domain::{HoldLength, Reservation, ReservationCode, ReservationKind, Serial};
use crate::store::NewReservation;
use crate::ui::Screen;

fn new_code() -> ReservationCode {
    ReservationCode::random(&mut rand::rng())
}

impl Kiosk {
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
    /// done (the panel closes).
    /// `pick` is the index of the chosen [`HoldLength::ALL`] (the panel's buttons, in order).
    pub fn create_hold(&mut self, serial: &str, name: &str, contact: &str, pick: i32) -> bool {
        let now = self.now();
        let Ok(serial) = Serial::parse(serial) else { return false };
        let customer = match Customer::new(name, contact) {
            Ok(c) => c,
            Err(e) => {
                self.hold_notice = Notice::error(e.to_string());
                return false;
            }
        };
        let Some(length) = usize::try_from(pick).ok().and_then(|i| HoldLength::ALL.get(i).copied()) else {
            self.hold_notice = Notice::error("Choose how long to hold it.");
            return false;
        };
        let expires_at = length.until(now, &Local);
        let new = NewReservation {
            id: Uuid::now_v7(),
            kind: ReservationKind::Hold,
            source: Source::Stall,
            serial: serial.clone(),
            customer,
            member_id: self.sell.cart.member.as_ref().map(|m| m.id.clone()),
            expires_at,
        };
        let slip = self.slip_maker();
        match self.store.create_reservation(&new, now, new_code, slip) {
            Ok(r) => {
                let _ = self.sell.remove(&serial);
                self.hold_for = None;
                self.hold_notice = Notice::default();
                if let Some(q) = &self.printing {
                    q.wake();
                }
                self.sell_notice = Notice {
                    text: format!(
                        "{serial} held for {} until {} · code {}",
                        r.customer.name,
                        r.expires_at.with_timezone(&Local).format("%H:%M"),
                        r.code
                    ),
                    severity: 0,
                };
                true
            }
            Err(e) => {
                self.hold_notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// The reservation slip printout, when a printer exists.
    fn slip_maker(&self) -> impl FnOnce(&Reservation) -> Option<Printout> + use<> {
        let enabled = self.printing.is_some();
        let stall = self.config.stall.name.clone();
        let url = self.config.stall.verify_url.clone();
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

    pub fn show_reservations(&mut self) {
        self.screen = Screen::Reservations;
        self.reservations_notice = Notice::default();
    }

    pub fn search_reservations(&mut self, query: &str) {
        self.reservation_query = query.trim().to_owned();
    }

    /// Staff tapped Collect, or typed/scanned a code: the piece goes into the cart at the
    /// reserved price and the Sell screen takes over.
    pub fn collect(&mut self, id: &str) {
        let Ok(id) = Uuid::parse_str(id) else { return };
        let now = self.now();
        let notice = match self.store.reservation(id) {
            Ok(Some(r)) => self.collect_reservation(&r, now),
            Ok(None) => Some(Notice::error("That reservation no longer exists.")),
            Err(e) => Some(Notice::error(e.to_string())),
        };
        match notice {
            None => self.screen = Screen::Sell,
            Some(n) => self.reservations_notice = n,
        }
    }

    /// Adds a reservation's piece to the cart; `None` when done, else why not.
    pub(super) fn collect_reservation(&mut self, r: &Reservation, now: DateTime<Utc>) -> Option<Notice> {
        let piece = match self.store.piece(&r.serial) {
            Ok(Some(p)) => p,
            Ok(None) => return Some(Notice::error(format!("No piece {} on this stall.", r.serial))),
            Err(e) => return Some(Notice::error(e.to_string())),
        };
        match self.sell.cart.add_reserved(&piece, r, now) {
            Ok(()) => {
                self.sell_notice = Notice {
                    text: format!("Collecting {} for {} (code {}).", r.serial, r.customer.name, r.code),
                    severity: 0,
                };
                None
            }
            Err(e) => Some(Notice::error(e.to_string())),
        }
    }

    /// Adds [`HoldLength::EXTENSION`] to a hold or reservation.
    pub fn extend_reservation(&mut self, id: &str, reason: &str) -> bool {
        let Ok(id) = Uuid::parse_str(id) else { return false };
        // More time is what a customer asks for: no reason to pick, one is still recorded.
        let reason = if reason.trim().is_empty() { "Extended at the stall" } else { reason };
        let now = self.now();
        let Some(current) = self.store.reservation(id).ok().flatten() else { return false };
        // Extending adds the chosen time to what is left, so a tap never shortens a hold.
        let base = current.expires_at.max(now);
        let until = HoldLength::EXTENSION.until(base, &Local);
        match self.store.extend_reservation(id, until, reason, now) {
            Ok(()) => {
                let at = until.with_timezone(&Local).format("%a %H:%M");
                self.reservations_notice =
                    Notice { text: format!("{} now held until {at}.", current.code), severity: 0 };
                true
            }
            Err(e) => {
                self.reservations_notice = Notice::error(e.to_string());
                false
            }
        }
    }

    pub fn release_reservation(&mut self, id: &str, reason: &str) -> bool {
        let Ok(id) = Uuid::parse_str(id) else { return false };
        if reason.trim().is_empty() {
            self.reservations_notice =
                Notice::warning("Pick why above (Customer asked, No show or Changed mind), then tap Release again.");
            return false;
        }
        let now = self.now();
        match self.store.release_reservation(id, reason, now) {
            Ok(()) => {
                self.reservations_notice = Notice { text: "Released: the piece is back on sale.".into(), severity: 0 };
                true
            }
            Err(e) => {
                self.reservations_notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// Ends holds whose time is up. Called every second by the UI timer and at start-up;
    /// true when something changed on screen.
    pub fn expire_due(&mut self) -> bool {
        let now = self.now();
        match self.store.expire_reservations(now) {
            Ok(codes) if codes.is_empty() => false,
            Ok(codes) => {
                tracing::info!(count = codes.len(), "holds expired");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "expiry sweep failed");
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
    pub fn check_in(&mut self, member_id: &str) {
        let now = self.now();
        match self.store.member(member_id) {
            Ok(Some(m)) => {
                let drop = self.store.current_drop(now).ok().flatten().map(|d| d.drop);
                let bought =
                    drop.as_ref().map(|d| self.store.member_pieces_bought(&m.id, &d.id).unwrap_or(0)).unwrap_or(0);
                let note = match &drop {
                    Some(d) if !m.on_waitlist_for(&d.id) => {
                        Notice::warning(format!("{} is checked in but is not on the waitlist for {}.", m.name, d.name))
                    }
                    _ => Notice { text: format!("{} checked in.", m.name), severity: 0 },
                };
                self.sell.cart.member = Some(m);
                self.sell.cart.member_bought = bought;
                self.sell_notice = note;
                self.member_panel = false;
            }
            Ok(None) => self.sell_notice = Notice::error("No member with that pass. Search by name or email instead."),
            Err(e) => self.sell_notice = Notice::error(e.to_string()),
        }
    }

    pub fn check_out_member(&mut self) {
        self.sell.cart.member = None;
        self.sell.cart.member_bought = 0;
    }
}
