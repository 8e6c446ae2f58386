//! Kiosk state → screen properties. Everything the `.slint` side shows is formatted here.

use std::rc::Rc;

use chrono::{DateTime, Utc};
use marketday_hardware::{CameraStatus, PrinterStatus};

use super::verify::VerdictCard;
use slint::{ModelRc, SharedString, VecModel};

use super::kiosk::{Kiosk, Notice};
use crate::domain::ReservationState;
use crate::domain::{DropPhase, Money, PieceStatus, Tender};
use crate::print::advice;
use crate::store::{DropSummary, JobState};
use crate::ui::{
    AppWindow, CartLineData, MemberRowData, PieceTileData, PrintJobRowData, ReservationRowData, SaleLineRowData,
    SaleRowData, StatusData, TenderData,
};

pub(super) fn model<T: Clone + 'static>(rows: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(rows)))
}

/// "2 d 4 h", "3 h 05 min", "12 min", "40 s".
pub fn countdown(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

/// An amount as the pages show it ("£185.00").
fn fmt_money(m: Money) -> SharedString {
    m.to_string().into()
}

/// The Sell screen's message: the worker's own, else why the cart cannot be totalled (a
/// total that would overflow), so a cart that cannot be charged always says why.
fn sell_banner(notice: &Notice, totals: &Result<crate::domain::Totals, crate::domain::MoneyError>) -> Notice {
    match totals {
        Err(e) if notice.text.is_empty() => {
            Notice::error(format!("This cart cannot be totalled: {e}. Remove the last piece."))
        }
        _ => notice.clone(),
    }
}

/// The printer badge's word and severity.
fn printer_word(status: &PrinterStatus) -> (&'static str, i32) {
    match status {
        PrinterStatus::Ready => ("Ready", 0),
        PrinterStatus::PaperLow => ("Paper low", 1),
        PrinterStatus::PaperOut => ("Paper out", 2),
        PrinterStatus::CoverOpen => ("Lid open", 2),
        PrinterStatus::NotResponding => ("Not answering", 2),
        PrinterStatus::Offline => ("Unplugged", 2),
        PrinterStatus::Unusable(_) => ("Wrong port", 2),
        PrinterStatus::Unknown => ("No status", 1),
        PrinterStatus::Error(_) => ("Error", 2),
    }
}

fn camera_badge(status: Option<CameraStatus>) -> (&'static str, i32) {
    match status {
        None | Some(CameraStatus::NoCamera) => ("None", 3),
        Some(CameraStatus::Ready) => ("Ready", 0),
        Some(CameraStatus::Disconnected) => ("Unplugged", 2),
        Some(CameraStatus::Error(_)) => ("Error", 2),
    }
}

impl Kiosk {
    /// "Paper out · 2 waiting": the printer's state and the jobs it holds up.
    fn printer_badge(&self) -> (String, i32) {
        let Some(q) = self.print_status() else {
            return if self.printing_error.is_some() { ("Off".into(), 2) } else { ("None".into(), 3) };
        };
        if !q.checked {
            return ("Checking".into(), 3);
        }
        let (word, severity) = printer_word(&q.status);
        let (text, severity) = match q.waiting {
            0 => (word.to_owned(), severity),
            n if q.status.can_print() => (format!("Printing {n}"), severity),
            n => (format!("{word} · {n} waiting"), severity),
        };
        // A held job needs staff even when the printer is fine.
        match q.held {
            0 => (text, severity),
            n => (format!("{text} · {n} held"), severity.max(1)),
        }
    }

    /// The status bar, given the current drop (looked up once per refresh by the caller).
    fn status_data(&mut self, drop: Option<&DropSummary>, now: DateTime<Utc>) -> StatusData {
        let (drop_name, phase, phase_severity, countdown_text) = match drop {
            None => (String::new(), "No drop".to_owned(), 3, String::new()),
            Some(d) => {
                let phase = d.drop.phase(now);
                let severity = match phase {
                    DropPhase::GeneralSale => 0,
                    DropPhase::MembersOnly | DropPhase::Upcoming => 1,
                    DropPhase::Closed => 2,
                };
                let until = d.drop.next_change(now).map(|t| {
                    let verb = match phase {
                        DropPhase::Upcoming => "opens in ",
                        DropPhase::MembersOnly => "public in ",
                        _ => "",
                    };
                    format!("{verb}{}", countdown(now, t))
                });
                (d.drop.name.clone(), phase.label().to_owned(), severity, until.unwrap_or_default())
            }
        };
        let (sync, sync_severity) = self.sync_badge();
        let (printer, printer_severity) = self.printer_badge();
        let (camera, camera_severity) = camera_badge(self.camera_status());
        StatusData {
            stall: self.config.stall.name.clone().into(),
            drop: drop_name.into(),
            phase: phase.into(),
            phase_severity,
            countdown: countdown_text.into(),
            sync: sync.into(),
            sync_severity,
            printer: printer.into(),
            printer_severity,
            camera: camera.into(),
            camera_severity,
        }
    }

    /// "Synced 14:05", "Syncing · 12 left", "Offline · 3 not synced", "2 sync conflicts".
    fn sync_badge(&self) -> (String, i32) {
        let waiting = match self.store.unsynced_count() {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot count unsynced changes");
                return ("Store error".to_owned(), 2);
            }
        };
        // What staff must act on comes first, whatever the connection.
        let conflicts = self.store.open_conflict_count().unwrap_or(0);
        if conflicts > 0 {
            return (format!("{conflicts} sync conflict{}", if conflicts == 1 { "" } else { "s" }), 2);
        }
        let Some(sync) = &self.sync else {
            if self.sync_error.is_some() {
                return (if waiting == 0 { "Sync off".into() } else { format!("Sync off · {waiting} not synced") }, 2);
            }
            return if waiting == 0 {
                ("Offline · all synced".into(), 3)
            } else {
                (format!("Offline · {waiting} not synced"), 1)
            };
        };
        let status = sync.status();
        if let Some(clock) = crate::sync::clock_off(status.clock_skew) {
            return (clock, 2);
        }
        match (status.online, waiting) {
            (Some(false), 0) => ("Offline · all synced".into(), 3),
            (Some(false), n) => (format!("Offline · {n} not synced"), 1),
            (Some(true), n) if status.last_error.is_some() => (format!("Sync problem · {n} not synced"), 2),
            (Some(true), 0) => (
                format!(
                    "Synced {}",
                    status
                        .last_ok
                        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
                        .unwrap_or_default()
                ),
                0,
            ),
            (Some(true), n) => (format!("Syncing · {n} left"), 1),
            (None, n) => (format!("Connecting · {n} not synced"), 1),
        }
    }

    /// Refreshes only the status bar: cheap enough for a one-second timer.
    pub fn present_status(&mut self, ui: &AppWindow) {
        let now = self.now();
        let drop = self.store.current_drop(now).ok().flatten();
        ui.set_status(self.status_data(drop.as_ref(), now));
        self.present_printing(ui, now);
        self.present_sync(ui, now);
        if self.screen == crate::ui::Screen::Reservations {
            self.present_holds(ui, now);
        }
    }

    /// Pushes the state to the window: the status bar and the screen showing. A page that is
    /// not on screen is not in the window (each is an `if` in `app.slint`), so what it would
    /// show is not computed, and its queries are not run, until it is shown; the change of
    /// screen is itself presented.
    pub fn present(&mut self, ui: &AppWindow) {
        use crate::ui::Screen;
        let now = self.now();
        let screen = self.screen;
        let drop = self.store.current_drop(now).ok().flatten();
        ui.set_status(self.status_data(drop.as_ref(), now));
        ui.set_screen(self.screen);
        self.update_camera_activity();
        self.present_verify(ui);
        ui.set_currency_symbol(self.config.currency().symbol().into());

        // Idle and drop summary.
        if matches!(screen, Screen::Idle | Screen::Sell) {
            self.present_drop_heading(ui, drop.as_ref(), now);
        }
        if screen == Screen::Pin {
            ui.set_pin_hint(if self.options.demo { "Demo PIN: 1234".into() } else { SharedString::new() });
            ui.set_pin_message(self.pin_message(now).into());
        }
        if screen == Screen::Sell {
            self.present_grid(ui, drop.as_ref());
        }
        if matches!(screen, Screen::Sell | Screen::Tender) {
            self.present_cart(ui);
        }
        if screen == Screen::Tender {
            self.present_tender(ui);
        }

        self.present_printing(ui, now);
        self.present_sync(ui, now);
        if matches!(screen, Screen::Sell | Screen::Reservations) {
            self.present_holds(ui, now);
        }
        match screen {
            Screen::Dispatch => self.present_courier(ui),
            Screen::Sales => self.present_sales(ui, now),
            Screen::Today => {
                let cx = super::today::TodayContext {
                    device: &self.config.stall.device_id,
                    currency: self.config.currency(),
                    now,
                };
                self.today.present(&self.store, &cx, ui);
            }
            Screen::Done => self.present_done(ui),
            _ => {}
        }
    }

    /// The idle screen's welcome and the Sell grid's heading: the drop and what is left.
    fn present_drop_heading(&self, ui: &AppWindow, drop: Option<&DropSummary>, now: DateTime<Utc>) {
        match drop {
            Some(d) => {
                ui.set_idle_headline(format!("{} · {} of {} pieces left", d.drop.name, d.available, d.pieces).into());
                let detail = match d.drop.phase(now) {
                    DropPhase::GeneralSale => "On sale now. Ask us to see any piece.",
                    DropPhase::MembersOnly => "Waitlist members only for now. Ask us about the waitlist.",
                    DropPhase::Upcoming => "Opening soon. Ask us about the waitlist.",
                    DropPhase::Closed => "This drop has closed. Thank you for visiting.",
                };
                ui.set_idle_detail(detail.into());
                let phase = d.drop.phase(now);
                let next = d.drop.next_change(now).map(|t| {
                    let what = match phase {
                        DropPhase::Upcoming => "opens in",
                        DropPhase::MembersOnly => "public in",
                        _ => "closes in",
                    };
                    format!(" · {what} {}", countdown(now, t))
                });
                // The phase is in the status bar just above; the heading keeps its room for the
                // count and the countdown so that neither is cut on the 800 px screen.
                ui.set_drop_title(
                    format!("{} · {} of {} left{}", d.drop.name, d.available, d.pieces, next.unwrap_or_default())
                        .into(),
                );
            }
            None => {
                ui.set_idle_headline("Welcome".into());
                ui.set_idle_detail("Ask us about our pieces.".into());
                ui.set_drop_title("No drop on sale".into());
            }
        }
    }

    /// The Sell grid: the live drop's pieces, each with its state.
    fn present_grid(&self, ui: &AppWindow, drop: Option<&DropSummary>) {
        ui.set_empty_text(
            "No pieces to show. Import the catalog with `marketday catalog import FILE.csv`, or type a serial above."
                .into(),
        );
        let in_cart = |s: &crate::domain::Serial| self.sell.cart.lines.iter().any(|l| &l.serial == s);
        let tiles = drop
            .map(|d| self.store.drop_pieces(&d.drop.id).unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let edition = t.edition.to_string();
                let (number, rest) = edition.split_once(' ').unwrap_or((&edition, ""));
                PieceTileData {
                    serial: t.serial.as_str().into(),
                    number: number.into(),
                    edition: rest.into(),
                    title: t.title.into(),
                    price: fmt_money(t.price),
                    status: t.status.label().into(),
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
        ui.set_pieces(model(tiles));
    }

    /// The cart, its totals and the Sell screen's message; the Tender screen shows the total.
    fn present_cart(&self, ui: &AppWindow) {
        // Cart and totals.
        let lines = self
            .sell
            .cart
            .lines
            .iter()
            .map(|l| CartLineData {
                serial: l.serial.as_str().into(),
                title: l.title.clone().into(),
                edition: l.edition.to_string().into(),
                price: fmt_money(l.unit_price),
                discount: match l.discount_amount() {
                    Ok(d) if !d.is_zero() => fmt_money(d),
                    _ => SharedString::new(),
                },
                net: l.net().map(fmt_money).unwrap_or_default(),
                reserved: l.reservation.is_some(),
            })
            .collect();
        ui.set_cart(model(lines));
        let totals = self.sell.cart.totals(self.vat);
        match &totals {
            Ok(t) => {
                ui.set_discount_total(if t.discount.is_zero() { SharedString::new() } else { fmt_money(t.discount) });
                ui.set_total(fmt_money(t.total));
                ui.set_vat_line(format!("includes VAT {} at {}", t.vat, self.vat).into());
            }
            Err(_) => {
                ui.set_discount_total(SharedString::new());
                ui.set_total("—".into());
                ui.set_vat_line(SharedString::new());
            }
        }
        let banner = sell_banner(&self.sell_notice, &totals);
        ui.set_sell_error(banner.text.into());
        ui.set_sell_error_severity(banner.severity);

        // Discount panel.
        match &self.discount_for {
            Some(serial) => {
                let line = self.sell.cart.lines.iter().find(|l| &l.serial == serial);
                ui.set_discount_serial(serial.as_str().into());
                ui.set_discount_title(
                    line.map(|l| format!("{} ({}), {}", l.title, l.serial, l.unit_price)).unwrap_or_default().into(),
                );
            }
            None => ui.set_discount_serial(SharedString::new()),
        }
    }

    /// Payments taken so far, what is left and the change.
    fn present_tender(&self, ui: &AppWindow) {
        let remaining = self.sell.remaining(self.vat).ok();
        ui.set_remaining(remaining.map(fmt_money).unwrap_or_default());
        let tenders = self
            .sell
            .tenders
            .iter()
            .map(|t| TenderData {
                kind: t.label().into(),
                amount: fmt_money(t.amount()),
                detail: match t {
                    Tender::Cash { .. } => SharedString::new(),
                    Tender::Card { reference, .. } => format!("ref. {reference}").into(),
                },
            })
            .collect();
        ui.set_tenders(model(tenders));
        let total = self.sell.total(self.vat).ok();
        let settlement = total.and_then(|t| crate::domain::tender::settle(t, &self.sell.tenders).ok());
        ui.set_can_complete(settlement.is_some() && !self.sell.cart.is_empty());
        ui.set_change(match settlement {
            Some(s) if !s.change.is_zero() => fmt_money(s.change),
            _ => SharedString::new(),
        });
        ui.set_quick_cash(model(self.sell.quick_cash(self.vat).into_iter().map(fmt_money).collect()));
        ui.set_tender_error(self.tender_notice.text.clone().into());
    }

    /// The sale just completed.
    fn present_done(&self, ui: &AppWindow) {
        if let Some(done) = &self.last_done {
            ui.set_receipt(done.receipt.to_string().into());
            ui.set_done_total(fmt_money(done.total));
            ui.set_done_change(if done.change.is_zero() { SharedString::new() } else { fmt_money(done.change) });
            ui.set_done_ship(self.ship_notice.text.clone().into());
            ui.set_done_ship_severity(self.ship_notice.severity);
        }
    }
}

impl Kiosk {
    /// The hold panel, member check-in and the Reservations screen.
    fn present_holds(&self, ui: &AppWindow, now: DateTime<Utc>) {
        match &self.hold_for {
            Some(serial) => {
                let line = self.sell.cart.lines.iter().find(|l| &l.serial == serial);
                ui.set_hold_serial(serial.as_str().into());
                ui.set_hold_title(line.map(|l| format!("{} · {}", l.serial, l.title)).unwrap_or_default().into());
            }
            None => {
                ui.set_hold_serial(SharedString::new());
                ui.set_hold_name(SharedString::new());
                ui.set_hold_contact(SharedString::new());
                ui.set_hold_pick(-1);
            }
        }
        ui.set_hold_error(self.hold_notice.text.clone().into());
        let member = self.sell.cart.member.as_ref();
        ui.set_member_name(member.map(|m| m.name.clone()).unwrap_or_default().into());
        ui.set_member_panel(self.member_panel);
        if self.member_panel {
            let drop = self.store.current_drop(now).ok().flatten().map(|d| d.drop.id);
            let rows = self
                .store
                .search_members(&self.member_query, 3)
                .unwrap_or_default()
                .into_iter()
                .map(|m| {
                    let listed = drop.as_deref().is_some_and(|d| m.on_waitlist_for(d));
                    MemberRowData {
                        id: m.id.clone().into(),
                        name: m.name.clone().into(),
                        detail: format!("{}{}", m.email, if listed { " · on the waitlist" } else { "" }).into(),
                    }
                })
                .collect();
            ui.set_member_results(model(rows));
        }
        if self.screen != crate::ui::Screen::Reservations {
            return;
        }
        let today = now.with_timezone(&chrono::Local).date_naive();
        let since = today
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now - chrono::Duration::hours(24));
        let rows = self
            .store
            .search_reservations(&self.reservation_query, since, now, 100)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot list reservations");
                Vec::new()
            })
            .into_iter()
            .map(|r| {
                let kind = if r.kind == crate::domain::ReservationKind::Hold { "Hold" } else { "Reservation" };
                let at = |t: DateTime<Utc>| t.with_timezone(&chrono::Local).format("%H:%M").to_string();
                let (detail, severity, active) = match &r.state {
                    ReservationState::Active if r.is_alive(now) => {
                        let left = r.expires_at - now;
                        let online =
                            if r.source == crate::domain::reservation::Source::Online { " (online)" } else { "" };
                        let detail = format!("{kind}{online} · {} left · {}", countdown(now, r.expires_at), r.price);
                        (detail, i32::from(left < chrono::Duration::minutes(30)), true)
                    }
                    ReservationState::Active | ReservationState::Expired { .. } => {
                        (format!("{kind} · expired"), 2, false)
                    }
                    ReservationState::Collected { at: t, .. } => (format!("{kind} · collected {}", at(*t)), 2, false),
                    ReservationState::Released { reason, at: t } => {
                        (format!("{kind} · released {} ({reason})", at(*t)), 2, false)
                    }
                };
                ReservationRowData {
                    id: r.id.to_string().into(),
                    title: format!("{} · {}", r.customer.name, r.serial).into(),
                    code: r.code.to_string().into(),
                    detail: detail.into(),
                    severity,
                    active,
                }
            })
            .collect();
        ui.set_reservations(model(rows));
        ui.set_reservations_notice(self.reservations_notice.text.clone().into());
        ui.set_reservations_notice_severity(self.reservations_notice.severity);
    }

    /// The receipt line of the Done screen and the Printer screen; both change as the
    /// worker prints, so the one-second timer refreshes them too.
    fn present_printing(&self, ui: &AppWindow, now: DateTime<Utc>) {
        let status = self.print_status();
        let blocked_by = status.as_ref().filter(|q| !q.status.can_print()).map(|q| advice(&q.status));
        if self.screen == crate::ui::Screen::Done {
            let (text, severity, blocked) = match (&status, self.last_receipt_job()) {
                (None, _) => (String::new(), 0, false),
                (Some(_), None) => ("No receipt for this sale".into(), 1, false),
                (Some(_), Some(job)) => match job.state {
                    JobState::Printed => ("Receipt printed".into(), 0, false),
                    JobState::Held => ("Receipt held: print it from the Printer tab".into(), 1, false),
                    JobState::Queued | JobState::Printing => match &blocked_by {
                        Some(why) => (format!("Receipt waiting. {why}"), 2, true),
                        None => ("Printing receipt…".into(), 0, false),
                    },
                },
            };
            ui.set_done_print(text.into());
            ui.set_done_print_severity(severity);
            ui.set_done_print_blocked(blocked);
        }
        if self.screen != crate::ui::Screen::Printer {
            return;
        }
        let (headline, severity, detail) = match &status {
            None => (
                self.printing_error.clone().unwrap_or_else(|| "No printer configured".into()),
                3,
                "Set [printer] in the config file: kind, path, baud and profile.".to_owned(),
            ),
            Some(q) => {
                let profile = self.printing.as_ref().map(|p| p.profile());
                let about = profile
                    .map(|p| format!("{} · {} ({} mm paper)", q.printer, p.name, p.paper_mm()))
                    .unwrap_or_else(|| q.printer.clone());
                let waiting = match q.waiting {
                    0 => String::new(),
                    n => format!(" · {n} waiting"),
                };
                let held = match q.held {
                    0 => String::new(),
                    n => format!(" · {n} held: tap Print below to print it"),
                };
                (advice(&q.status), printer_word(&q.status).1, format!("{about}{waiting}{held}"))
            }
        };
        ui.set_printer_camera(self.camera_detail().into());
        ui.set_printer_headline(headline.into());
        ui.set_printer_severity(severity);
        ui.set_printer_detail(detail.into());
        ui.set_printer_blocked(blocked_by.is_some() && status.as_ref().is_some_and(|q| q.waiting > 0));
        let today = now.with_timezone(&chrono::Local).date_naive();
        let jobs = self.store.recent_print_jobs(30).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot list print jobs");
            Vec::new()
        });
        let rows = jobs
            .into_iter()
            .map(|job| {
                let local = job.created_at.with_timezone(&chrono::Local);
                let time =
                    if local.date_naive() == today { local.format("%H:%M") } else { local.format("%d %b %H:%M") };
                let reprint = if job.reprint { " (reprint)" } else { "" };
                let (state, severity, action) = match job.state {
                    JobState::Printed => ("Printed".to_owned(), 0, "Reprint"),
                    JobState::Held => (format!("Held{}", with(&job.last_error)), 1, "Print"),
                    JobState::Queued | JobState::Printing => match (&blocked_by, job.last_error.as_deref()) {
                        (Some(why), _) => (format!("Waiting: {why}"), 2, ""),
                        (None, Some(e)) => (format!("Retrying: {e}"), 1, ""),
                        (None, None) => ("Printing".to_owned(), 1, ""),
                    },
                };
                PrintJobRowData {
                    id: job.id as i32,
                    title: format!("{}{reprint}", job.title).into(),
                    detail: format!("{time} · {state}").into(),
                    severity,
                    action: action.into(),
                }
            })
            .collect();
        ui.set_print_jobs(model(rows));
        ui.set_printer_notice(self.printer_notice.text.clone().into());
        ui.set_printer_notice_severity(self.printer_notice.severity);
    }

    fn present_sales(&self, ui: &AppWindow, now: DateTime<Utc>) {
        let today = now.with_timezone(&chrono::Local).date_naive();
        let when = |t: DateTime<Utc>| {
            let local = t.with_timezone(&chrono::Local);
            if local.date_naive() == today { local.format("%H:%M") } else { local.format("%d %b %H:%M") }.to_string()
        };
        let rows = self
            .store
            .find_sales(&self.sales_query, 50)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot list sales");
                Vec::new()
            })
            .into_iter()
            .map(|s| {
                let pieces = if s.lines == 1 { "1 piece".to_owned() } else { format!("{} pieces", s.lines) };
                let summary = match s.returned {
                    0 => pieces,
                    n if n == s.lines => format!("{pieces} · all returned"),
                    n => format!("{pieces} · {n} returned"),
                };
                SaleRowData {
                    id: s.id.to_string().into(),
                    receipt: s.receipt.to_string().into(),
                    time: when(s.at).into(),
                    total: s.total.to_string().into(),
                    summary: summary.into(),
                    voided: s.voided,
                    returned: s.returned > 0,
                }
            })
            .collect();
        ui.set_sales(model(rows));
        ui.set_sales_day(self.sales_day(now).into());
        let selected = self.selected_sale.and_then(|id| self.store.sale(id).ok().flatten());
        match selected {
            Some(sale) => {
                ui.set_selected_sale(sale.id.to_string().into());
                let paid: Vec<String> = sale
                    .tenders
                    .iter()
                    .map(|t| match t {
                        Tender::Cash { tendered } => format!("cash {tendered} tendered"),
                        Tender::Card { amount, reference } => format!("card {amount} (ref {reference})"),
                    })
                    .collect();
                let change = if sale.change.is_zero() { String::new() } else { format!(", change {}", sale.change) };
                ui.set_selected_sale_title(
                    format!(
                        "{} · {} · {}\nPaid {}{change}",
                        sale.receipt,
                        when(sale.at),
                        sale.totals.total,
                        paid.join(" + ")
                    )
                    .into(),
                );
                let lines = sale
                    .lines
                    .iter()
                    .zip(&sale.active)
                    .map(|(l, active)| SaleLineRowData {
                        serial: l.serial.as_str().into(),
                        title: l.title.clone().into(),
                        net: l.net.to_string().into(),
                        returned: !active,
                    })
                    .collect();
                ui.set_selected_lines(model(lines));
                ui.set_selected_voided(sale.voided);
                let card = sale.tenders.iter().any(|t| matches!(t, Tender::Card { .. }));
                let cash = sale.tenders.iter().any(|t| matches!(t, Tender::Cash { .. }));
                ui.set_selected_card(card);
                // Money goes back the way it came unless staff say otherwise.
                let method = ui.get_refund_method();
                if method.is_empty() || (method == "card" && !card) {
                    ui.set_refund_method(if card && !cash { "card" } else { "cash" }.into());
                }
            }
            None => {
                ui.set_selected_sale(SharedString::new());
                ui.set_selected_lines(model(Vec::new()));
                ui.set_selected_voided(false);
                ui.set_selected_card(false);
            }
        }
        ui.set_sales_notice(self.sales_notice.text.clone().into());
        ui.set_sales_notice_severity(self.sales_notice.severity);
    }
}

impl Kiosk {
    /// "Today: 7 sales · £1,234.00" for the Sales list's heading.
    fn sales_day(&self, now: DateTime<Utc>) -> String {
        let c = &self.config;
        let Some(day) = crate::store::Day::containing(now) else { return String::new() };
        match self.store.z_report("", &c.stall.device_id, c.currency(), day, now) {
            Ok(z) => format!("Today: {} sale{} · {}", z.sales, if z.sales == 1 { "" } else { "s" }, z.gross),
            Err(e) => format!("Cannot add up today: {e}"),
        }
    }
}

fn with(error: &Option<String>) -> String {
    error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
}

/// On-screen keyboard editing: keys come in upper case; names get a capital at the start
/// of each word and lower case after it, everything else (emails, searches) lower case.
pub fn apply_text_key(value: &str, key: &str, capitalize: bool, max_len: usize) -> String {
    let mut out = value.to_owned();
    if key == "del" {
        out.pop();
        return out;
    }
    if out.chars().count() >= max_len || (key == " " && (out.is_empty() || out.ends_with(' '))) {
        return out;
    }
    let word_start = out.is_empty() || out.ends_with([' ', '-', '\'']);
    if capitalize && word_start {
        out.push_str(&key.to_uppercase());
    } else {
        out.push_str(&key.to_lowercase());
    }
    out
}

/// Keypad editing: append a key or delete one character, within the pad's limits.
pub fn apply_key(value: &str, key: &str, allow_point: bool, max_len: usize) -> String {
    let mut out = value.to_owned();
    match key {
        "del" => {
            out.pop();
        }
        "." if !allow_point || out.contains('.') => {}
        k if out.chars().count() < max_len => out.push_str(k),
        _ => {}
    }
    out
}

impl Kiosk {
    fn present_verify(&mut self, ui: &AppWindow) {
        let card = self.verify.card.clone().unwrap_or(VerdictCard { severity: -1, ..VerdictCard::default() });
        ui.set_verify_severity(card.severity);
        ui.set_verify_verdict(card.verdict.into());
        ui.set_verify_headline(card.headline.into());
        ui.set_verify_details(card.details.into());
        ui.set_verify_explanation(card.explanation.into());
        ui.set_verify_status(card.status.into());
        ui.set_camera_message(self.camera_message().into());
        if !self.preview_shown() {
            self.verify.shown_frames = 0;
        }
    }

    /// Handles what the scanner read and refreshes the preview: the camera timer's work.
    /// What the kiosk does every second, touched or not: screens that time out, verdicts
    /// that go stale, holds that end, the lock, and the status bar.
    pub fn every_second(&mut self, ui: &AppWindow) {
        if self.verify_timeout_due() {
            self.close_verify();
            self.present(ui);
            return;
        }
        if self.verdict_stale() {
            self.clear_verdict();
            self.present(ui);
            return;
        }
        // Holds end on time even when nobody touches the kiosk.
        let expired = self.expire_due();
        if self.auto_lock_due() {
            self.lock();
            self.present(ui);
        } else if expired || self.pin_counting_down() {
            self.present(ui);
        } else {
            self.present_status(ui);
        }
    }

    pub fn poll_camera(&mut self, ui: &AppWindow) {
        let mut changed = self.poll_capture();
        while let Some(event) = self.scanner.as_ref().and_then(|f| f.try_event()) {
            changed |= self.handle_scan(event);
        }
        if changed {
            self.present(ui);
        }
        self.present_camera(ui);
    }

    /// Sends the newest preview frame and the outline of the code seen to the Verify
    /// screen. Cheap when nothing changed; called by the camera timer.
    pub fn present_camera(&mut self, ui: &AppWindow) {
        if !self.preview_shown() {
            return;
        }
        let Some(feed) = &self.scanner else { return };
        let preview = feed.preview();
        let outline = preview.outline.map(outline_path).unwrap_or_default();
        if outline != self.verify.shown_outline {
            ui.set_camera_outline(outline.as_str().into());
            self.verify.shown_outline = outline;
        }
        if preview.frames == self.verify.shown_frames {
            return;
        }
        self.verify.shown_frames = preview.frames;
        if let Some(frame) = &preview.frame {
            let mut pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(frame.width, frame.height);
            for (px, &v) in pixels.make_mut_slice().iter_mut().zip(&frame.luma) {
                *px = slint::Rgb8Pixel { r: v, g: v, b: v };
            }
            ui.set_camera_frame(slint::Image::from_rgb8(pixels));
            ui.set_camera_frame_width(frame.width as f32);
            ui.set_camera_frame_height(frame.height as f32);
        }
        ui.set_camera_message(self.camera_message().into());
    }
}

/// An SVG path through the code's corners, in preview pixels.
fn outline_path(corners: [marketday_scan::Pt; 4]) -> String {
    let [a, b, c, d] = corners;
    format!("M {:.0} {:.0} L {:.0} {:.0} L {:.0} {:.0} L {:.0} {:.0} Z", a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn a_cart_that_cannot_be_totalled_says_so_unless_the_worker_has_a_message_up() {
        let overflow = Err(crate::domain::MoneyError::Overflow);
        let shown = sell_banner(&Notice::default(), &overflow);
        assert_eq!(
            (shown.text.as_str(), shown.severity),
            ("This cart cannot be totalled: amount is too large. Remove the last piece.", 2)
        );
        let theirs = Notice::warning("AT-2026-0007 is held for Priya Shah.");
        assert_eq!(sell_banner(&theirs, &overflow), theirs);
        let fine = crate::domain::Cart::new(crate::domain::Currency::GBP).totals(crate::domain::VatRate::UK_STANDARD);
        assert_eq!(sell_banner(&Notice::default(), &fine), Notice::default());
    }

    #[test]
    fn countdown_reads_naturally() {
        let t = Utc::now();
        assert_eq!(countdown(t, t + Duration::hours(50)), "2 d 2 h");
        assert_eq!(countdown(t, t + Duration::minutes(185)), "3 h 05 min");
        assert_eq!(countdown(t, t + Duration::minutes(12)), "12 min");
        assert_eq!(countdown(t, t - Duration::minutes(12)), "0 s");
    }

    #[test]
    fn on_screen_keyboard_capitalises_names_only() {
        let typed = |keys: &[&str], cap: bool| keys.iter().fold(String::new(), |v, k| apply_text_key(&v, k, cap, 40));
        assert_eq!(typed(&["A", "N", "A", " ", "R", "U", "I", "Z"], true), "Ana Ruiz");
        assert_eq!(typed(&["M", "A", "R", "Y", "-", "J", "O"], true), "Mary-Jo");
        assert_eq!(typed(&["A", "@", "B", ".", "C", "O"], false), "a@b.co");
        assert_eq!(typed(&[" ", "A", " ", " ", "B"], true), "A B", "no leading or double spaces");
        assert_eq!(apply_text_key("Ana", "del", true, 40), "An");
        assert_eq!(apply_text_key("abc", "D", false, 3), "abc");
    }

    #[test]
    fn keypad_edits_within_limits() {
        assert_eq!(apply_key("12", "3", true, 9), "123");
        assert_eq!(apply_key("12.5", ".", true, 9), "12.5");
        assert_eq!(apply_key("12", ".", false, 9), "12");
        assert_eq!(apply_key("1234", "5", false, 4), "1234");
        assert_eq!(apply_key("12", "del", true, 9), "1");
        assert_eq!(apply_key("", "del", true, 9), "");
    }
}
