//! The router: which screen is showing, the screens themselves, and the few things that
//! belong to no screen (the sale being built, the lock, the camera's activity).
//!
//! Every callback of the window lands on a method here that hands it to the screen it
//! belongs to, with the [`Services`] it needs, and acts on what the screen returns (a
//! completed sale opens Done, a collected reservation opens Sell). The screens never see
//! each other.

use std::cell::Cell;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use marketday_hardware::Camera;
use marketday_hardware::scanner::{CameraFeed, ScanEvent};
use marketday_scan::Steps;

use super::present::camera_message;
use super::preview::Preview;
use super::sale::{Completed, SellSession};
use super::screens::Page;
use super::screens::courier::{CourierScreen, Step};
use super::screens::done::DoneScreen;
use super::screens::pin::PinScreen;
use super::screens::printer::PrinterScreen;
use super::screens::reservations::ReservationsScreen;
use super::screens::sales::SalesScreen;
use super::screens::sell::SellScreen;
use super::screens::sync::SyncScreen;
use super::screens::tender::{Outcome, TenderScreen};
use super::screens::today::TodayScreen;
use super::screens::verify::VerifyScreen;
use super::services::{Notice, Services};
use super::status;
use crate::config::Config;
use crate::domain::VatRate;
use crate::i18n::{Language, Localized};
use crate::print::{PrintQueue, PrinterSetup, QueueStatus};
use crate::store::Store;
use crate::t;
use crate::ui::{AppWindow, CameraView, CourierField, Languages, Screen, SellState};
use slint::ComponentHandle;

/// The devices the kiosk drives. `None` means configured off.
pub struct Devices {
    pub printer: Option<PrinterSetup>,
    pub camera: Option<Box<dyn Camera>>,
    /// The kiosk as a hand-over station (device key, photo folder); `None`: proofs off.
    pub station: Option<crate::dispatch::Station>,
}

/// Pacing for cameras that do not pace themselves (the simulated one): about 15 frames a
/// second, smooth enough for a preview and within what the scanner decodes.
const CAMERA_INTERVAL: Duration = Duration::from_millis(66);

/// How long a message a worker caused is kept from being replaced by a scan's.
const WORKER_MESSAGE_KEPT: Duration = Duration::from_secs(5);

pub struct KioskOptions {
    pub demo: bool,
    /// The clock; tests and screenshots pin it.
    pub clock: Box<dyn Fn() -> DateTime<Utc>>,
    /// How often the print worker asks an idle printer how it is.
    pub print_poll: Duration,
    /// A verdict goes once its tag has been out of the camera's view this long: the next
    /// customer never sees the last one's.
    pub verdict_clears_after: Duration,
    /// Verify goes back to the idle screen after this long with nobody touching it, whatever
    /// the camera sees meanwhile.
    pub verify_quiet: Duration,
}

impl Default for KioskOptions {
    fn default() -> Self {
        KioskOptions {
            demo: false,
            clock: Box::new(Utc::now),
            print_poll: Duration::from_secs(2),
            verdict_clears_after: Duration::from_secs(5),
            verify_quiet: Duration::from_secs(60),
        }
    }
}

/// The screens with a message banner, for `say` and the banner's ×.
const WITH_BANNER: [Screen; 9] = [
    Screen::Pin,
    Screen::Sell,
    Screen::Tender,
    Screen::Sales,
    Screen::Printer,
    Screen::Reservations,
    Screen::Dispatch,
    Screen::Sync,
    Screen::Today,
];

pub struct Kiosk {
    svc: Services,
    screen: Screen,
    /// The sale being built: Sell fills the cart, Tender takes the money.
    sale: SellSession,
    pin: PinScreen,
    sell: SellScreen,
    tender: TenderScreen,
    done: DoneScreen,
    sales: SalesScreen,
    reservations: ReservationsScreen,
    printer: PrinterScreen,
    sync: SyncScreen,
    today: TodayScreen,
    courier: CourierScreen,
    verify: VerifyScreen,
    preview: Preview,
    last_activity: Instant,
    /// The last tap on the screen (not a scan): a message a worker caused is theirs to read.
    last_tap: Instant,
    /// The screen (and courier step) the scanner last read for.
    scan_context: Cell<Option<(Screen, Step)>>,
    /// When the scan context last changed: codes in frames older than this were seen for
    /// another screen and are not handled by this one.
    context_since: Cell<Instant>,
    verify_quiet: Duration,
    /// The language the window's own words (Slint's bundled translations) are in.
    shown_language: Option<Language>,
}

/// The background sync, when a cloud is configured; why not in words (the stall's
/// language) when it cannot start.
fn start_sync(
    config: &Config,
    store: &Store,
    station: Option<&crate::dispatch::Station>,
) -> Result<Option<crate::sync::SyncWorker>, String> {
    let l = config.stall.language;
    let Some(url) = config.sync.url.clone() else { return Ok(None) };
    // Checked when the config was loaded; read again here, and a file gone since is said so.
    let ca = match &config.sync.ca_file {
        Some(file) => Some(
            std::fs::read(file)
                .map_err(|e| t!(l, "cannot read sync.ca_file {file}: {error}", file = file.display(), error = e))?,
        ),
        None => None,
    };
    let settings = crate::sync::SyncSettings {
        url,
        token: config.sync.token.clone().unwrap_or_default(),
        ca,
        interval: Duration::from_secs(config.sync.interval_seconds.into()),
    };
    let photos = station.map(|s| s.photos.dir().to_owned());
    crate::sync::SyncWorker::start(store.path(), photos, settings).map(Some).map_err(|e| e.localized(l))
}

impl Kiosk {
    pub fn new(store: Store, config: Config, devices: Devices, options: KioskOptions) -> Kiosk {
        let vat = config.vat_rate().unwrap_or(VatRate::UK_STANDARD);
        let (printing, printing_error) = match devices.printer {
            None => (None, None),
            Some(setup) => match PrintQueue::start(store.path(), setup, options.print_poll) {
                Ok(queue) => (Some(queue), None),
                Err(e) => {
                    tracing::error!(error = %e, "print queue did not start");
                    // Said as "Printing is off: …" where it shows (`Services::no_printer`).
                    (None, Some(e.localized(config.stall.language)))
                }
            },
        };
        let (sync, sync_error) = match start_sync(&config, &store, devices.station.as_ref()) {
            Ok(sync) => (sync, None),
            Err(e) => {
                tracing::error!(error = %e, "sync did not start");
                (None, Some(e))
            }
        };
        let sale = SellSession::new(config.currency());
        let pictures = super::pictures::Pictures::new(crate::piece_photos::PiecePhotos::at(
            &crate::piece_photos::dir_for(store.path()),
        ));
        let svc = Services {
            pictures,
            store,
            config,
            vat,
            clock: options.clock,
            demo: options.demo,
            printing,
            printing_error,
            sync,
            sync_error,
            station: devices.station,
            camera: devices.camera.map(|camera| CameraFeed::start(camera, CAMERA_INTERVAL, Steps::default())),
            customer_language: None,
        };
        let mut kiosk = Kiosk {
            svc,
            screen: Screen::Idle,
            sale,
            pin: Default::default(),
            sell: Default::default(),
            tender: Default::default(),
            done: Default::default(),
            sales: Default::default(),
            reservations: Default::default(),
            printer: Default::default(),
            sync: Default::default(),
            today: Default::default(),
            courier: Default::default(),
            verify: VerifyScreen::new(options.verdict_clears_after),
            preview: Default::default(),
            last_activity: Instant::now(),
            last_tap: Instant::now(),
            scan_context: Default::default(),
            context_since: Cell::new(Instant::now()),
            verify_quiet: options.verify_quiet,
            shown_language: None,
        };
        kiosk.start_up();
        kiosk
    }

    /// Holds kept by older stores get a record; holds whose time passed while the kiosk
    /// was off end now.
    fn start_up(&mut self) {
        let now = self.now();
        let until = crate::domain::HoldLength::EndOfDay.until(now, &chrono::Local);
        let code = || crate::domain::ReservationCode::random(&mut rand::rng());
        match self.svc.store.adopt_unrecorded_holds(now, until, code) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(n, "held pieces without a record were given one, until the end of the day"),
            Err(e) => tracing::error!(error = %e, "cannot record older holds"),
        }
        self.svc.expire_due();
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.svc.now()
    }

    pub fn store(&self) -> &Store {
        &self.svc.store
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// This kiosk's device id, as receipts and the drawer are kept under it.
    pub fn config_device(&self) -> String {
        self.svc.device().to_owned()
    }

    pub fn currency(&self) -> crate::domain::Currency {
        self.svc.currency()
    }

    pub fn print_status(&self) -> Option<QueueStatus> {
        self.svc.print_status()
    }

    pub fn last_completed(&self) -> Option<&Completed> {
        self.done.last()
    }

    /// From the last verdict's frame reaching the scanner to the verdict being ready.
    pub fn verify_latency(&self) -> Option<Duration> {
        self.verify.latency()
    }

    pub fn dispatch_step(&self) -> Step {
        self.courier.step()
    }

    pub fn capturing(&self) -> bool {
        self.courier.capturing()
    }

    /// A tap on the screen: staff screens stay unlocked, and a message it causes is the worker's.
    pub fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.last_tap = self.last_activity;
    }

    /// The banner of a screen that has one.
    fn page(&mut self, screen: Screen) -> Option<&mut dyn Page> {
        Some(match screen {
            Screen::Pin => &mut self.pin,
            Screen::Sell => &mut self.sell,
            Screen::Tender => &mut self.tender,
            Screen::Sales => &mut self.sales,
            Screen::Printer => &mut self.printer,
            Screen::Reservations => &mut self.reservations,
            Screen::Dispatch => &mut self.courier,
            Screen::Sync => &mut self.sync,
            Screen::Today => &mut self.today,
            _ => return None,
        })
    }

    /// Tells staff something on the screen showing, in its own message banner (screens
    /// without one say nothing). For what happens outside any tap: a device, a sync, a test.
    pub fn say(&mut self, notice: Notice) {
        if let Some(page) = self.page(self.screen) {
            *page.notice() = notice;
        }
    }

    /// The banner's ×: every screen's messages go.
    pub fn dismiss_notices(&mut self) {
        for screen in WITH_BANNER {
            if let Some(page) = self.page(screen) {
                page.dismiss();
            }
        }
    }

    // --- Lock and unlock ---

    pub fn show_pin_pad(&mut self) {
        // Staff take over: their language.
        self.svc.customer_language = None;
        self.screen = Screen::Pin;
    }

    /// A customer's tap on a language button (idle and Verify): those screens speak it until
    /// the kiosk goes quiet.
    pub fn choose_language(&mut self, index: i32) {
        let Some(language) = usize::try_from(index).ok().and_then(|i| Language::ALL.get(i).copied()) else {
            return;
        };
        self.svc.customer_language = (language != self.svc.config.stall.language).then_some(language);
    }

    /// Whether a customer's language choice has outlived its customer: nobody has touched
    /// the idle screen for as long as Verify waits before going back to it.
    fn customer_gone(&self) -> bool {
        self.svc.customer_language.is_some()
            && self.screen == Screen::Idle
            && self.last_activity.elapsed() >= self.verify_quiet
    }

    pub fn unlock(&mut self, pin: &str) {
        if self.pin.unlock(&mut self.svc, pin) {
            self.screen =
                if self.done.last().is_some() && self.sale.cart.is_empty() { Screen::Done } else { Screen::Sell };
            self.touch();
        }
    }

    /// Back to the customer screen. The cart stays as it was for when staff return.
    pub fn lock(&mut self) {
        self.screen = Screen::Idle;
        self.sell.close_panels();
        self.pin.clear();
    }

    /// Whether the PIN pad is counting a lockout down, so it is redrawn every second.
    pub fn pin_counting_down(&self) -> bool {
        self.screen == Screen::Pin && self.pin.counting_down(self.now())
    }

    /// Whether a staff screen is showing (the rail is there; customers cannot be).
    pub fn on_staff_screen(&self) -> bool {
        !matches!(self.screen, Screen::Idle | Screen::Pin | Screen::Verify)
    }

    /// Locks staff screens after the configured idle time, but never mid-payment.
    pub fn auto_lock_due(&self) -> bool {
        let minutes = self.svc.config.display.auto_lock_minutes;
        minutes > 0
            && self.on_staff_screen()
            && self.screen != Screen::Tender
            && self.last_activity.elapsed() >= Duration::from_secs(minutes as u64 * 60)
    }

    // --- The staff rail ---

    pub fn show_sell(&mut self) {
        self.screen = if self.sale.tenders.is_empty() { Screen::Sell } else { Screen::Tender };
    }

    pub fn show_sales(&mut self) {
        self.screen = Screen::Sales;
        self.sales.open();
    }

    pub fn show_today(&mut self) {
        self.screen = Screen::Today;
        self.today.open();
    }

    pub fn show_reservations(&mut self) {
        self.screen = Screen::Reservations;
        self.reservations.open();
    }

    pub fn show_dispatch(&mut self) {
        self.screen = Screen::Dispatch;
        self.courier.open(&mut self.svc);
    }

    pub fn show_printer(&mut self) {
        self.screen = Screen::Printer;
        self.printer.dismiss();
    }

    /// Opened from the status bar's sync badge, on staff screens only.
    pub fn show_sync(&mut self) {
        if self.on_staff_screen() {
            self.screen = Screen::Sync;
            self.sync.dismiss();
        }
    }

    // --- Sell ---

    pub fn add_typed(&mut self, text: &str) {
        self.sell.add_typed(&self.svc, &mut self.sale, text);
    }

    pub fn tap_piece(&mut self, serial: &str) {
        self.sell.tap_piece(&self.svc, &mut self.sale, serial);
    }

    pub fn remove_line(&mut self, serial: &str) {
        self.sell.remove_line(&mut self.sale, serial, self.svc.language());
    }

    pub fn open_discount(&mut self, serial: &str) {
        self.sell.open_discount(serial);
    }

    pub fn close_discount(&mut self) {
        self.sell.close_discount();
    }

    pub fn apply_discount(&mut self, serial: &str, amount: &str, percent: bool, reason: &str) {
        let reason = super::present::reason_id(self.svc.language(), &crate::domain::DISCOUNT_REASONS, reason);
        self.sell.apply_discount(&mut self.sale, serial, amount, percent, &reason, self.svc.language());
    }

    pub fn open_hold(&mut self, serial: &str) {
        self.sell.open_hold(serial);
    }

    pub fn close_hold(&mut self) {
        self.sell.close_hold();
    }

    pub fn create_hold(&mut self, serial: &str, name: &str, contact: &str, pick: i32) -> bool {
        self.sell.create_hold(&mut self.svc, &mut self.sale, serial, name, contact, pick)
    }

    pub fn open_members(&mut self) {
        self.sell.open_members();
    }

    pub fn close_members(&mut self) {
        self.sell.close_members();
    }

    pub fn search_members(&mut self, query: &str) {
        self.sell.search_members(query);
    }

    pub fn check_in(&mut self, member_id: &str) {
        self.sell.check_in(&self.svc, &mut self.sale, member_id);
    }

    pub fn check_out_member(&mut self) {
        self.sell.check_out_member(&mut self.sale);
    }

    pub fn charge(&mut self) {
        if self.sell.charge(&self.sale, self.svc.language()) {
            self.tender.dismiss();
            self.screen = Screen::Tender;
        }
    }

    // --- Tender and Done ---

    pub fn back_to_cart(&mut self) {
        self.screen = Screen::Sell;
    }

    pub fn add_cash(&mut self, amount: &str) {
        self.tender.add_cash(&self.svc, &mut self.sale, amount);
    }

    pub fn add_card(&mut self, amount: &str, reference: &str) -> bool {
        self.tender.add_card(&self.svc, &mut self.sale, amount, reference)
    }

    pub fn remove_tender(&mut self, index: usize) {
        self.sale.remove_tender(index);
    }

    /// Commits the sale. The Done screen appears only once the store has returned, i.e.
    /// the sale is on disk.
    pub fn complete_sale(&mut self) {
        match self.tender.complete(&mut self.svc, &mut self.sale) {
            Outcome::Completed(done) => {
                self.done.show(done);
                self.sell.dismiss();
                self.screen = Screen::Done;
            }
            Outcome::Refused(why) => {
                self.sell.tell(why);
                self.screen = Screen::Sell;
            }
            Outcome::Failed => {}
        }
    }

    pub fn new_sale(&mut self) {
        self.done.clear();
        self.screen = Screen::Sell;
    }

    pub fn ship_last_sale(&mut self, buyer: &str) -> bool {
        self.done.ship(&mut self.svc, buyer)
    }

    // --- Sales ---

    pub fn search_sales(&mut self, query: &str) {
        self.sales.search(query);
    }

    pub fn select_sale(&mut self, id: &str) {
        self.sales.select(id);
    }

    pub fn return_piece(&mut self, sale_id: &str, serial: &str, reason: &str, method: &str) -> bool {
        let reason = super::present::reason_id(self.svc.language(), &crate::domain::RETURN_REASONS, reason);
        self.sales.return_piece(&mut self.svc, sale_id, serial, &reason, method)
    }

    pub fn void_sale(&mut self, sale_id: &str, reason: &str) -> bool {
        let reason = super::present::reason_id(self.svc.language(), &crate::domain::RETURN_REASONS, reason);
        self.sales.void_sale(&mut self.svc, sale_id, &reason)
    }

    pub fn reprint_receipt(&mut self, sale_id: &str) {
        self.sales.reprint_receipt(&mut self.svc, sale_id);
    }

    // --- Holds ---

    pub fn search_reservations(&mut self, query: &str) {
        self.reservations.search(query);
    }

    /// Collect: the reservation's piece goes into the cart and Sell takes over.
    pub fn collect(&mut self, id: &str) {
        let Some(r) = self.reservations.to_collect(&self.svc, id) else { return };
        let now = self.now();
        match self.sell.collect(&self.svc, &mut self.sale, &r, now) {
            Ok(()) => self.screen = Screen::Sell,
            Err(why) => self.reservations.tell(why),
        }
    }

    pub fn extend_reservation(&mut self, id: &str, reason: &str) -> bool {
        self.reservations.extend(&mut self.svc, id, reason)
    }

    pub fn release_reservation(&mut self, id: &str, reason: &str) -> bool {
        let reason = super::present::reason_id(self.svc.language(), &crate::domain::RELEASE_REASONS, reason);
        self.reservations.release(&mut self.svc, id, &reason)
    }

    // --- Today ---

    pub fn cash_entry(&mut self, kind: &str) {
        self.today.start_entry(kind);
    }

    pub fn cash_cancel(&mut self) {
        self.today.cancel_entry();
    }

    /// Records the drawer entry open on Today. True when recorded.
    pub fn cash_record(&mut self, amount: &str, reason: &str) -> bool {
        self.today.record(&mut self.svc, amount, reason)
    }

    // --- Printer ---

    pub fn print_test_page(&mut self) {
        self.printer.print_test_page(&mut self.svc);
    }

    pub fn print_drop_stickers(&mut self) {
        self.printer.print_drop_stickers(&mut self.svc);
    }

    /// The end-of-day report, from the Printer tab or Today: said on the screen it came from.
    pub fn print_z_report(&mut self) {
        let notice = PrinterScreen::print_z_report(&mut self.svc);
        self.say(notice);
    }

    pub fn print_job_again(&mut self, id: i64) {
        self.printer.print_job_again(&mut self.svc, id);
    }

    /// Asks the worker to try the queue now instead of at its next poll.
    pub fn retry_printing(&mut self) {
        self.svc.wake_printer();
    }

    pub fn print_later(&mut self) {
        self.printer.print_later(&mut self.svc);
    }

    // --- Sync ---

    pub fn sync_now_tapped(&mut self) {
        self.sync.sync_now(&self.svc);
    }

    pub fn resolve_conflict(&mut self, event_id: &str) {
        self.sync.resolve_conflict(&mut self.svc, event_id);
    }

    // --- Courier ---

    pub fn search_orders(&mut self, query: &str) {
        self.courier.search(query);
    }

    pub fn pick_order(&mut self, id: &str) {
        self.courier.pick_order(&self.svc, id);
    }

    /// What the courier typed, field by field.
    pub fn edit_courier_field(&mut self, field: CourierField, text: &str) {
        self.courier.edit_field(field, text);
    }

    pub fn choose_courier(&mut self, company: &str) {
        self.courier.choose_courier(&self.svc, company);
    }

    pub fn to_photo(&mut self) {
        self.courier.to_photo(self.svc.language());
    }

    pub fn capture_photo(&mut self) {
        self.courier.capture_photo(&self.svc);
    }

    pub fn retake_photo(&mut self) {
        self.courier.retake_photo();
    }

    pub fn confirm_dispatch(&mut self) {
        self.courier.confirm_dispatch(&mut self.svc);
    }

    pub fn courier_back(&mut self) {
        self.courier.courier_back();
    }

    // --- Verify and the camera ---

    pub fn show_verify(&mut self) {
        self.screen = Screen::Verify;
        self.verify.clear();
        self.touch();
        self.update_camera_activity();
    }

    pub fn close_verify(&mut self) {
        self.verify.clear();
        self.screen = Screen::Idle;
        self.update_camera_activity();
    }

    /// Checks a typed text on Verify, as if its tag had been shown to the camera.
    pub fn verify_text(&mut self, text: &str) {
        self.verify.check(&self.svc, text);
    }

    /// Whether the live preview shows: on Verify, and on the courier's photo step.
    fn preview_shown(&self) -> bool {
        self.screen == Screen::Verify || (self.screen == Screen::Dispatch && self.courier.shows_preview())
    }

    /// Frames are taken only on screens that scan: the camera rests otherwise.
    fn update_camera_activity(&self) {
        let Some(feed) = &self.svc.camera else { return };
        // A code still in view when the screen changes is read afresh for the new screen.
        let context = (self.screen, self.courier.step());
        if self.scan_context.replace(Some(context)) != Some(context) {
            feed.forget_seen();
            self.context_since.set(Instant::now());
        }
        let courier = self.screen == Screen::Dispatch && self.courier.wants_camera();
        feed.set_active(courier || matches!(self.screen, Screen::Verify | Screen::Sell));
    }

    /// Codes newly seen by the scanner, handled by the screen showing; true when the
    /// screen needs presenting again.
    pub fn handle_scan(&mut self, event: ScanEvent) -> bool {
        let Some(code) = event.codes.first().map(|c| c.text.clone()) else { return false };
        let svc = &self.svc;
        match self.screen {
            Screen::Verify => {
                self.verify.scanned(svc, &code, &event);
                true
            }
            // The camera counts as activity on staff screens, but a message a worker's tap
            // caused moments ago stays up: a tag lying in view must not replace it unread.
            Screen::Sell => {
                self.last_activity = Instant::now();
                let theirs = worker_notice(&mut self.sell, self.last_tap);
                self.sell.scanned(svc, &mut self.sale, &code);
                keep(&mut self.sell, theirs);
                true
            }
            Screen::Dispatch => {
                self.last_activity = Instant::now();
                let theirs = worker_notice(&mut self.courier, self.last_tap);
                let changed = self.courier.scanned(svc, &code);
                keep(&mut self.courier, theirs);
                changed
            }
            _ => false,
        }
    }

    /// The Verify screen goes back to idle after a quiet spell with nobody touching it: a
    /// camera that keeps seeing tags (a stall's display, the demo's loop) does not keep it up.
    pub fn verify_timeout_due(&self) -> bool {
        self.screen == Screen::Verify && self.last_activity.elapsed() >= self.verify_quiet
    }

    // --- Presenting ---

    /// Pushes the state to the window: the status bar and the screen showing. A page that is
    /// not on screen is not in the window (each is an `if` in `app.slint`), so what it would
    /// show is not computed, and its queries are not run, until it is shown; the change of
    /// screen is itself presented.
    pub fn present(&mut self, ui: &AppWindow) {
        let now = self.now();
        let language = self.svc.language();
        if self.shown_language != Some(language) {
            // English is the source text: selecting it selects no catalogue.
            if let Err(e) = slint::select_bundled_translation(language.code()) {
                tracing::warn!(language = language.code(), error = %e, "the window's words stay as they were");
            }
            self.shown_language = Some(language);
            super::present::option_words(ui, language);
        }
        ui.global::<Languages>().set_current(Language::ALL.iter().position(|l| *l == language).map_or(0, |i| i as i32));
        let svc = &self.svc;
        let drop = svc.current_drop(now);
        status::present_status(svc, ui, drop.as_ref(), now);
        ui.set_screen(self.screen);
        ui.set_staff(self.on_staff_screen());
        ui.global::<SellState>().set_currency_symbol(svc.currency().symbol().into());
        self.update_camera_activity();
        if !self.preview_shown() {
            self.preview.hidden();
        }
        let svc = &self.svc;
        if matches!(self.screen, Screen::Verify | Screen::Dispatch) {
            ui.global::<CameraView>().set_message(camera_message(svc.camera_status(), svc.language()).into());
        }
        match self.screen {
            Screen::Idle => status::present_drop_heading(ui, drop.as_ref(), now, svc.language()),
            Screen::Verify => self.verify.present(ui),
            Screen::Pin => self.pin.present(svc, ui),
            Screen::Sell => {
                status::present_drop_heading(ui, drop.as_ref(), now, svc.language());
                self.sell.present(svc, &self.sale, ui, drop.as_ref());
            }
            Screen::Tender => self.tender.present(svc, &self.sale, ui),
            Screen::Done => self.done.present(svc, ui),
            Screen::Sales => self.sales.present(svc, ui, now),
            Screen::Reservations => self.reservations.present(svc, ui, now),
            Screen::Printer => self.printer.present(svc, ui, now),
            Screen::Sync => self.sync.present(svc, ui, now),
            Screen::Today => self.today.present(svc, ui, now),
            Screen::Dispatch => self.courier.present(svc, ui),
        }
    }

    /// The one-second refresh: the status bar, and the screens whose state moves on its own
    /// (printing, sync, countdowns).
    pub fn present_status(&mut self, ui: &AppWindow) {
        let now = self.now();
        let svc = &self.svc;
        let drop = svc.current_drop(now);
        status::present_status(svc, ui, drop.as_ref(), now);
        match self.screen {
            Screen::Done => self.done.present(svc, ui),
            Screen::Printer => self.printer.present(svc, ui, now),
            Screen::Sync => self.sync.present(svc, ui, now),
            Screen::Reservations => self.reservations.present(svc, ui, now),
            _ => {}
        }
    }

    /// What the kiosk does every second, touched or not: screens that time out, verdicts
    /// that go stale, holds that end, the lock, and the status bar.
    pub fn every_second(&mut self, ui: &AppWindow) {
        if self.verify_timeout_due() {
            self.close_verify();
            self.present(ui);
            return;
        }
        if self.screen == Screen::Verify && self.verify.verdict_stale(&self.svc) {
            self.verify.clear();
            self.present(ui);
            return;
        }
        if self.customer_gone() {
            self.svc.customer_language = None;
            self.present(ui);
            return;
        }
        // Holds end on time even when nobody touches the kiosk.
        let expired = self.svc.expire_due();
        if self.auto_lock_due() {
            self.lock();
            self.present(ui);
        } else if expired || self.pin_counting_down() {
            self.present(ui);
        } else {
            self.present_status(ui);
        }
    }

    /// The camera timer's work: a photo the courier asked for, codes the scanner read, and
    /// the preview.
    pub fn poll_camera(&mut self, ui: &AppWindow) {
        let mut changed = self.courier.poll_capture(self.svc.language());
        while let Some(event) = self.svc.camera.as_ref().and_then(|f| f.try_event()) {
            // Waiting since before the screen changed (no camera timer ran in between): the
            // code was seen for the old screen; if it is still in view it is read again.
            if event.frame_at >= self.context_since.get() {
                changed |= self.handle_scan(event);
            }
        }
        if changed {
            self.present(ui);
        }
        if self.preview_shown() {
            self.preview.present(&self.svc, ui);
        }
    }
}

/// The message showing, if a worker's tap caused it moments ago.
fn worker_notice(page: &mut dyn Page, last_tap: Instant) -> Option<Notice> {
    let notice = page.notice();
    (!notice.is_empty() && last_tap.elapsed() < WORKER_MESSAGE_KEPT).then(|| notice.clone())
}

/// Puts the worker's message back over what a scan said.
fn keep(page: &mut dyn Page, theirs: Option<Notice>) {
    if let Some(theirs) = theirs {
        tracing::info!(camera = %page.notice().text, "a scan's message waits: the worker's stays up");
        *page.notice() = theirs;
    }
}
