//! The kiosk's state and the operations staff perform on it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use marketday_hardware::Camera;
use marketday_hardware::scanner::CameraFeed;
use marketday_scan::Steps;

use super::auth::{self, AuthError};
use super::sell::{Completed, SellFlowError, SellSession};
use crate::config::Config;
use crate::domain::cash::RefundMethod;
use crate::domain::printout::{Printout, ReceiptDoc, RefundSlipDoc};
use crate::domain::{NewSale, ReceiptNumber, Serial, VatRate};
use crate::print::{PrintQueue, PrinterSetup};
use crate::store::{Refund, SaleRecord, Store};
use crate::ui::Screen;

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

/// A message for a banner: text and severity (0 ok, 1 warning, 2 error).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notice {
    pub text: String,
    pub severity: i32,
}

impl Notice {
    pub fn error(text: impl Into<String>) -> Notice {
        Notice { text: text.into(), severity: 2 }
    }
    pub fn warning(text: impl Into<String>) -> Notice {
        Notice { text: text.into(), severity: 1 }
    }
}

pub struct Kiosk {
    pub(super) store: Store,
    pub(super) config: Config,
    pub(super) vat: VatRate,
    pub(super) sell: SellSession,
    /// The camera and scanner threads; `None` when no camera is configured.
    pub(super) scanner: Option<CameraFeed>,
    pub(super) verify: super::verify::VerifyState,
    pub(super) printing: Option<PrintQueue>,
    /// Why printing is unavailable although a printer is configured.
    pub(super) printing_error: Option<String>,
    pub(super) options: KioskOptions,
    pub(super) screen: Screen,
    pub(super) sell_notice: Notice,
    pub(super) tender_notice: Notice,
    pub(super) pin_notice: String,
    /// While the pad is locked after wrong PINs: until when (the message counts down to it).
    pub(super) pin_locked_until: Option<DateTime<Utc>>,
    pub(super) discount_for: Option<Serial>,
    pub(super) last_done: Option<Completed>,
    pub(super) last_activity: Instant,
    /// The last tap on the screen (not a scan): a message a worker caused is theirs to read.
    pub(super) last_tap: Instant,
    pub(super) selected_sale: Option<uuid::Uuid>,
    /// What the Sales list is filtered by (part of a receipt or piece number).
    pub(super) sales_query: String,
    pub(super) today: super::today::TodayScreen,
    pub(super) sales_notice: Notice,
    pub(super) printer_notice: Notice,
    /// The cart piece the hold panel is open for.
    pub(super) hold_for: Option<Serial>,
    pub(super) hold_notice: Notice,
    pub(super) reservation_query: String,
    pub(super) reservations_notice: Notice,
    pub(super) member_panel: bool,
    pub(super) member_query: String,
    pub(super) station: Option<crate::dispatch::Station>,
    pub(super) courier: super::courier::CourierState,
    /// The screen (and courier step) the scanner last read for.
    pub(super) scan_context: std::cell::Cell<Option<(Screen, super::courier::Step)>>,
    /// Whether the last sale was put on the courier list, or why not.
    pub(super) ship_notice: Notice,
    /// The background sync with the cloud; `None` when no cloud is configured.
    pub(super) sync: Option<crate::sync::SyncWorker>,
    /// Why sync is off although a cloud is configured.
    pub(super) sync_error: Option<String>,
    pub(super) sync_notice: Notice,
}

/// The background sync, when a cloud is configured; why not in words when it cannot start.
fn start_sync(
    config: &Config,
    store: &Store,
    station: Option<&crate::dispatch::Station>,
) -> Result<Option<crate::sync::SyncWorker>, String> {
    let Some(url) = config.sync.url.clone() else { return Ok(None) };
    // Checked when the config was loaded; read again here, and a file gone since is said so.
    let ca = match &config.sync.ca_file {
        Some(file) => {
            Some(std::fs::read(file).map_err(|e| format!("cannot read sync.ca_file {}: {e}", file.display()))?)
        }
        None => None,
    };
    let settings = crate::sync::SyncSettings {
        url,
        token: config.sync.token.clone().unwrap_or_default(),
        ca,
        interval: Duration::from_secs(config.sync.interval_seconds.into()),
    };
    let photos = station.map(|s| s.photos.dir().to_owned());
    crate::sync::SyncWorker::start(store.path(), photos, settings).map(Some).map_err(|e| e.to_string())
}

impl Kiosk {
    pub fn new(store: Store, config: Config, devices: Devices, options: KioskOptions) -> Kiosk {
        let vat = config.vat_rate().unwrap_or(VatRate::UK_STANDARD);
        let sell = SellSession::new(config.currency());
        let (printing, printing_error) = match devices.printer {
            None => (None, None),
            Some(setup) => match PrintQueue::start(store.path(), setup, options.print_poll) {
                Ok(queue) => (Some(queue), None),
                Err(e) => {
                    tracing::error!(error = %e, "print queue did not start");
                    (None, Some(format!("Printing is off: {e}")))
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
        let mut kiosk = Kiosk {
            store,
            config,
            vat,
            sell,
            scanner: devices.camera.map(|camera| CameraFeed::start(camera, CAMERA_INTERVAL, Steps::default())),
            verify: Default::default(),
            printing,
            printing_error,
            options,
            screen: Screen::Idle,
            sell_notice: Notice::default(),
            tender_notice: Notice::default(),
            pin_notice: String::new(),
            pin_locked_until: None,
            discount_for: None,
            last_done: None,
            last_activity: Instant::now(),
            last_tap: Instant::now(),
            selected_sale: None,
            sales_notice: Notice::default(),
            sales_query: String::new(),
            today: Default::default(),
            printer_notice: Notice::default(),
            hold_for: None,
            hold_notice: Notice::default(),
            reservation_query: String::new(),
            reservations_notice: Notice::default(),
            member_panel: false,
            member_query: String::new(),
            station: devices.station,
            courier: Default::default(),
            scan_context: Default::default(),
            ship_notice: Notice::default(),
            sync,
            sync_error,
            sync_notice: Notice::default(),
        };
        kiosk.start_up();
        kiosk
    }

    /// Holds kept by older stores get a record; holds whose time passed while the kiosk
    /// was off end now.
    fn start_up(&mut self) {
        let now = self.now();
        let until = crate::domain::HoldLength::EndOfDay.until(now, &chrono::Local);
        match self.store.adopt_unrecorded_holds(now, until, || crate::domain::ReservationCode::random(&mut rand::rng()))
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(n, "held pieces without a record were given one, until the end of the day"),
            Err(e) => tracing::error!(error = %e, "cannot record older holds"),
        }
        self.expire_due();
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.options.clock)()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    pub fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.last_tap = self.last_activity;
    }

    pub fn show_pin_pad(&mut self) {
        self.screen = Screen::Pin;
    }

    /// What the PIN pad says: the wrong PIN's notice, or the lockout counting down.
    pub(super) fn pin_message(&self, now: DateTime<Utc>) -> String {
        match self.pin_locked_until {
            Some(until) if until > now => {
                format!("Too many wrong PINs. Try again in {}.", auth::wait_text(until, now))
            }
            Some(_) => "The pad is open again: enter the PIN.".into(),
            None => self.pin_notice.clone(),
        }
    }

    /// Whether the PIN pad is counting a lockout down, so it is redrawn every second.
    pub fn pin_counting_down(&self) -> bool {
        // Until a moment past the end, so "open again" is shown, then no more redraws.
        let now = self.now();
        self.screen == Screen::Pin && self.pin_locked_until.is_some_and(|u| u + chrono::Duration::seconds(2) > now)
    }

    pub fn unlock(&mut self, pin: &str) {
        let now = self.now();
        match auth::check_pin(&mut self.store, pin, now) {
            Ok(()) => {
                self.pin_notice.clear();
                self.pin_locked_until = None;
                self.screen =
                    if self.last_done.is_some() && self.sell.cart.is_empty() { Screen::Done } else { Screen::Sell };
                self.touch();
            }
            Err(AuthError::LockedOut { until, .. }) => {
                // Said afresh every second from this (see `pin_message`), so it counts down.
                self.pin_locked_until = Some(until);
                self.pin_notice.clear();
            }
            Err(e @ (AuthError::Wrong(_) | AuthError::NoPin | AuthError::BadPin)) => {
                self.pin_notice = e.to_string();
            }
            Err(e) => {
                tracing::error!(error = %e, "PIN check failed");
                self.pin_notice = format!("Could not check the PIN: {e}");
            }
        }
    }

    /// Back to the customer screen. The cart stays as it was for when staff return.
    pub fn lock(&mut self) {
        self.screen = Screen::Idle;
        self.discount_for = None;
        self.pin_notice.clear();
        self.pin_locked_until = None;
    }

    /// Tells staff something on the screen showing, in its own message banner (screens
    /// without one say nothing). For what happens outside any tap: a device, a sync, a test.
    pub fn say(&mut self, notice: Notice) {
        let slot = match self.screen {
            Screen::Sell => &mut self.sell_notice,
            Screen::Tender => &mut self.tender_notice,
            Screen::Sales => &mut self.sales_notice,
            Screen::Printer => &mut self.printer_notice,
            Screen::Reservations => &mut self.reservations_notice,
            Screen::Dispatch => &mut self.courier.notice,
            Screen::Sync => &mut self.sync_notice,
            Screen::Today => &mut self.today.notice,
            _ => return,
        };
        *slot = notice;
    }

    pub fn dismiss_notices(&mut self) {
        self.sell_notice = Notice::default();
        self.tender_notice = Notice::default();
        self.sales_notice = Notice::default();
        self.printer_notice = Notice::default();
        self.reservations_notice = Notice::default();
        self.hold_notice = Notice::default();
        self.courier.notice = Notice::default();
        self.sync_notice = Notice::default();
        self.today.notice = Notice::default();
        self.pin_notice.clear();
    }

    pub fn show_sell(&mut self) {
        self.screen = if self.sell.tenders.is_empty() { Screen::Sell } else { Screen::Tender };
    }

    /// The Sales screen: recent sales, to return a piece or void a sale.
    pub fn show_sales(&mut self) {
        self.screen = Screen::Sales;
        self.selected_sale = None;
        self.sales_notice = Notice::default();
    }

    /// This kiosk's device id, as receipts and the drawer are kept under it.
    pub fn config_device(&self) -> String {
        self.config.stall.device_id.clone()
    }

    pub fn currency(&self) -> crate::domain::Currency {
        self.config.currency()
    }

    /// Filters the Sales list by part of a receipt or piece number.
    pub fn search_sales(&mut self, query: &str) {
        self.sales_query = query.to_owned();
    }

    /// The Today screen: takings and the cash drawer.
    pub fn show_today(&mut self) {
        self.screen = Screen::Today;
        self.today.open();
    }

    pub fn cash_entry(&mut self, kind: &str) {
        self.today.start_entry(kind);
    }

    pub fn cash_cancel(&mut self) {
        self.today.cancel_entry();
    }

    /// Records the drawer entry open on Today. True when recorded.
    pub fn cash_record(&mut self, amount: &str, reason: &str) -> bool {
        let now = self.now();
        let cx =
            super::today::TodayContext { device: &self.config.stall.device_id, currency: self.config.currency(), now };
        let done = self.today.record(&mut self.store, &cx, amount, reason);
        if done {
            self.sync_now();
        }
        done
    }

    pub fn select_sale(&mut self, id: &str) {
        self.selected_sale = uuid::Uuid::parse_str(id).ok();
        self.sales_notice = Notice::default();
    }

    /// The refund slip for a return or void, when a printer is configured.
    fn refund_slip(&self) -> Option<impl FnOnce(&SaleRecord, &Refund) -> Option<Printout> + use<>> {
        let stall = self.config.stall.name.clone();
        self.printing.is_some().then_some({
            move |sale: &SaleRecord, refund: &Refund| {
                let lines = sale.lines.iter().filter(|l| refund.serials.contains(&l.serial)).cloned().collect();
                Some(Printout::RefundSlip(RefundSlipDoc {
                    stall,
                    receipt: sale.receipt.clone(),
                    at: refund.at,
                    void: refund.void,
                    lines,
                    amount: refund.amount,
                    split: refund.split.clone(),
                    reason: refund.reason.clone(),
                }))
            }
        })
    }

    /// What staff hand back, and whether a slip is on its way.
    fn refunded(&self, refund: &Refund) -> String {
        let slip = if self.printing.is_some() { " The refund slip is printing." } else { "" };
        format!("Give back {}.{slip}", refund.split.describe())
    }

    /// Takes a piece back within the returns window; it goes back on sale and the money
    /// goes back in cash or to the card that paid (`method`: "cash" or "card"). True when done.
    pub fn return_piece(&mut self, sale_id: &str, serial: &str, reason: &str, method: &str) -> bool {
        let (Ok(id), Ok(serial)) = (uuid::Uuid::parse_str(sale_id), Serial::parse(serial)) else { return false };
        let method = if method == "card" { RefundMethod::Card } else { RefundMethod::Cash };
        let window = self.config.returns_window();
        let now = self.now();
        let slip = self.refund_slip();
        let result = match slip {
            Some(slip) => {
                self.store.return_pieces_printing(id, std::slice::from_ref(&serial), reason, method, now, window, slip)
            }
            None => self.store.return_pieces(id, std::slice::from_ref(&serial), reason, method, now, window),
        };
        match result {
            Ok(refund) => {
                tracing::info!(%serial, amount = %refund.amount, to = %refund.split.describe(), "piece returned");
                self.after_refund();
                self.sales_notice =
                    Notice { text: format!("{serial} is back on sale. {}", self.refunded(&refund)), severity: 0 };
                true
            }
            Err(e) => {
                self.sales_notice = Notice::error(e.to_string());
                false
            }
        }
    }

    /// Cancels a whole sale keyed in error; its pieces go back on sale and the money goes
    /// back the way it was paid. True when done.
    pub fn void_sale(&mut self, sale_id: &str, reason: &str) -> bool {
        let Ok(id) = uuid::Uuid::parse_str(sale_id) else { return false };
        let window = self.config.returns_window();
        let now = self.now();
        let result = match self.refund_slip() {
            Some(slip) => self.store.void_sale_printing(id, reason, now, window, slip),
            None => self.store.void_sale(id, reason, now, window),
        };
        match result {
            Ok(refund) => {
                tracing::info!(sale = %id, amount = %refund.amount, to = %refund.split.describe(), "sale voided");
                self.after_refund();
                self.sales_notice = Notice {
                    text: format!("Sale voided; its pieces are back on sale. {}", self.refunded(&refund)),
                    severity: 0,
                };
                true
            }
            Err(e) => {
                self.sales_notice = Notice::error(e.to_string());
                false
            }
        }
    }

    fn after_refund(&self) {
        if let Some(queue) = &self.printing {
            queue.wake();
        }
        self.sync_now();
    }

    /// Whether a staff screen is showing (the rail is there; customers cannot be).
    pub fn on_staff_screen(&self) -> bool {
        matches!(
            self.screen,
            Screen::Sell
                | Screen::Tender
                | Screen::Done
                | Screen::Sales
                | Screen::Printer
                | Screen::Reservations
                | Screen::Dispatch
                | Screen::Sync
                | Screen::Today
        )
    }

    /// Locks staff screens after the configured idle time, but never mid-payment.
    pub fn auto_lock_due(&self) -> bool {
        let minutes = self.config.display.auto_lock_minutes;
        minutes > 0
            && self.on_staff_screen()
            && self.screen != Screen::Tender
            && self.last_activity.elapsed() >= Duration::from_secs(minutes as u64 * 60)
    }

    fn current_drop_id(&self) -> Option<String> {
        self.store.current_drop(self.now()).ok().flatten().map(|d| d.drop.id)
    }

    fn report(&self, e: SellFlowError) -> Notice {
        if let SellFlowError::Store(inner) = &e {
            tracing::error!(error = %inner, "store error during a sale");
        }
        Notice::error(e.to_string())
    }

    pub fn add_typed(&mut self, text: &str) {
        let drop = self.current_drop_id();
        let now = self.now();
        // A reservation code collects; a member pass checks the member in.
        if let Ok(code) = crate::domain::ReservationCode::parse(text) {
            self.sell_notice = match self.store.reservation_by_code(&code) {
                Ok(Some(r)) => self.collect_reservation(&r, now).unwrap_or_else(|| self.sell_notice.clone()),
                Ok(None) => Notice::error(format!("No reservation with code {code}. Check it with the customer.")),
                Err(e) => Notice::error(e.to_string()),
            };
            return;
        }
        if let Some(id) = text.trim().strip_prefix("MEMBER:") {
            self.check_in(id);
            return;
        }
        self.sell_notice = match self.sell.add_typed(&self.store, text, drop.as_deref(), now) {
            Ok(_) => Notice::default(),
            Err(e) => self.report(e),
        };
    }

    pub fn tap_piece(&mut self, serial: &str) {
        let Ok(serial) = Serial::parse(serial) else { return };
        // A second tap on a piece in the cart takes it out again: the grid is a toggle.
        if self.sell.cart.lines.iter().any(|l| l.serial == serial) {
            self.remove_line(serial.as_str());
            return;
        }
        let now = self.now();
        self.sell_notice = match self.sell.add(&self.store, &serial, now) {
            Ok(()) => Notice::default(),
            Err(e) => self.report(e),
        };
    }

    pub fn remove_line(&mut self, serial: &str) {
        if let Ok(serial) = Serial::parse(serial)
            && let Err(e) = self.sell.remove(&serial)
        {
            self.sell_notice = self.report(e);
        }
    }

    pub fn open_discount(&mut self, serial: &str) {
        self.discount_for = Serial::parse(serial).ok();
    }

    pub fn close_discount(&mut self) {
        self.discount_for = None;
    }

    pub fn apply_discount(&mut self, serial: &str, amount: &str, percent: bool, reason: &str) {
        let Ok(serial) = Serial::parse(serial) else { return };
        match self.sell.discount(&serial, amount, percent, reason) {
            Ok(()) => {
                self.discount_for = None;
                self.sell_notice = Notice::default();
            }
            Err(e) => self.sell_notice = self.report(e),
        }
    }

    pub fn charge(&mut self) {
        if self.sell.cart.is_empty() {
            self.sell_notice = Notice::warning("The cart is empty. Add a piece first.");
            return;
        }
        self.tender_notice = Notice::default();
        self.screen = Screen::Tender;
    }

    pub fn back_to_cart(&mut self) {
        self.screen = Screen::Sell;
    }

    pub fn add_cash(&mut self, amount: &str) {
        let amount = amount.trim_start_matches(self.config.currency().symbol());
        self.tender_notice = match self.sell.add_cash(amount, self.vat) {
            Ok(()) => Notice::default(),
            Err(e) => self.report(e),
        };
    }

    pub fn add_card(&mut self, amount: &str, reference: &str) -> bool {
        match self.sell.add_card(amount, reference, self.vat) {
            Ok(()) => {
                self.tender_notice = Notice::default();
                true
            }
            Err(e) => {
                self.tender_notice = self.report(e);
                false
            }
        }
    }

    pub fn remove_tender(&mut self, index: usize) {
        self.sell.remove_tender(index);
    }

    /// Commits the sale. The Done screen appears only once the store has returned, i.e.
    /// the sale is on disk.
    pub fn complete_sale(&mut self) {
        let now = self.now();
        let device = self.config.stall.device_id.clone();
        let receipt = self.printing.is_some().then(|| {
            let (stall, url, window) =
                (self.config.stall.name.clone(), self.config.stall.verify_url.clone(), self.config.returns_window());
            move |number: &ReceiptNumber, sale: &NewSale| {
                Printout::Receipt(ReceiptDoc::new(&stall, number.clone(), sale, window, &url))
            }
        });
        match self.sell.complete(&mut self.store, &device, self.vat, now, receipt) {
            Ok(done) => {
                if let Some(queue) = &self.printing {
                    queue.wake();
                }
                self.sync_now();
                self.last_done = Some(done);
                self.ship_notice = Notice::default();
                self.sell_notice = Notice::default();
                self.tender_notice = Notice::default();
                self.screen = Screen::Done;
            }
            Err(SellFlowError::Store(crate::store::StoreError::Sell(e))) => {
                // Someone else got the piece first (another kiosk via sync, a hold): the sale
                // was not saved. Take the piece out and send staff back to the cart to re-check.
                let gone = self.sell.drop_unavailable(&self.store).unwrap_or_default();
                tracing::warn!(error = %e, removed = gone.len(), "sale refused by the store");
                self.sell_notice = Notice::error(format!("{e} It was taken out of the cart; nothing was charged."));
                self.screen = Screen::Sell;
            }
            Err(e) => {
                let text = format!("The sale was NOT saved. {e}");
                self.tender_notice = self.report(SellFlowError::Input(text));
            }
        }
    }

    /// Starts a sync round now, if the kiosk syncs.
    pub fn sync_now(&self) {
        if let Some(sync) = &self.sync {
            sync.sync_now();
        }
    }

    pub fn new_sale(&mut self) {
        self.last_done = None;
        self.screen = Screen::Sell;
    }

    pub fn last_completed(&self) -> Option<&Completed> {
        self.last_done.as_ref()
    }
}
