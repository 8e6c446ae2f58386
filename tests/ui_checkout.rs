//! The checkout as staff do it: through the real window, by tapping what they see.
//! Slint's testing backend finds elements by their accessible labels and clicks them.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::Utc;
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use marketday::app::{self, Devices, Kiosk, KioskOptions};
use marketday::config::Config;
use marketday::demo;
use marketday::domain::PieceStatus;
use marketday::print::PrinterSetup;
use marketday::store::Store;
use marketday::ui::{AppWindow, Screen, SellState};
use marketday_hardware::PrinterProfile;
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, Model};

#[path = "common/touch.rs"]
mod touch;
use touch::buttons;

struct Harness {
    ui: AppWindow,
    kiosk: Rc<RefCell<Kiosk>>,
    _timers: (slint::Timer, slint::Timer),
    dir: tempfile::TempDir,
}

fn start() -> Harness {
    start_with(KioskOptions { demo: true, ..Default::default() })
}

fn start_with(options: KioskOptions) -> Harness {
    start_with_config(options, Config::default())
}

fn start_with_config(options: KioskOptions, config: Config) -> Harness {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    demo::seed(&mut store, "Test stall", Utc::now()).unwrap();
    let devices = Devices {
        printer: Some(
            PrinterSetup::simulated(
                &dir.path().join("printer"),
                PrinterProfile::builtin("generic-58").unwrap(),
                Default::default(),
            )
            .unwrap(),
        ),
        camera: Some(Box::new(marketday_hardware::SimulatedCamera::test_pattern(32, 24))),
        station: None,
    };
    let kiosk = Rc::new(RefCell::new(Kiosk::new(store, config, devices, options)));
    let ui = AppWindow::new().unwrap();
    ui.window().set_size(slint::LogicalSize::new(800., 480.));
    let timers = app::attach(&ui, kiosk.clone());
    ui.show().unwrap();
    Harness { ui, kiosk, _timers: timers, dir }
}

fn tap(h: &Harness, label: &str) {
    touch::tap(&h.ui, label)
}

fn tab(h: &Harness, label: &str) {
    touch::tab(&h.ui, label)
}

fn shows(h: &Harness, fragment: &str) -> bool {
    touch::shows(&h.ui, fragment)
}

/// Waits (re-presenting the status bar) for the print worker to report what `fragment` says.
fn eventually_shows(h: &Harness, fragment: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        h.kiosk.borrow_mut().present(&h.ui);
        if shows(h, fragment) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// The lines of the first paper the simulated printer printed with `heading` on it, waiting
/// (up to 10 s) for the print worker to get there.
fn printed(h: &Harness, heading: &str) -> Vec<String> {
    let printer = h.dir.path().join("printer");
    let profile = PrinterProfile::builtin("generic-58").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = std::fs::read_dir(&printer).into_iter().flatten().flatten().find_map(|e| {
            let path = e.path();
            let bytes = std::fs::read(&path).ok().filter(|_| path.extension().is_some_and(|x| x == "bin"))?;
            let paper = marketday_hardware::Preview::render(&bytes, &profile).ok()?;
            paper.lines.iter().any(|l| l.contains(heading)).then_some(paper.lines)
        });
        if let Some(lines) = found {
            return lines;
        }
        assert!(std::time::Instant::now() < deadline, "nothing printed with {heading:?} on it");
        h.kiosk.borrow_mut().present(&h.ui);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn type_pin(h: &Harness, pin: &str) {
    for d in pin.chars() {
        tap(h, &d.to_string());
    }
    tap(h, "Unlock");
}

#[test]
fn staff_sell_a_piece_for_cash_and_see_change_and_receipt() {
    let h = start();
    assert!(eventually_shows(&h, "Printer: Ready"), "status bar shows the printer");
    assert!(shows(&h, "not synced"), "status bar shows unsynced changes");

    tap(&h, "Staff sign-in");
    type_pin(&h, "9999");
    assert!(shows(&h, "Wrong PIN"), "a wrong PIN is refused in words");
    assert!(buttons(&h.ui, "Charge").is_empty(), "still locked");
    type_pin(&h, demo::DEMO_PIN);
    // Each tile carries its piece's photo (the demo's, kept as a kiosk fetches them).
    let tiles = h.ui.global::<SellState>().get_pieces();
    assert!(tiles.row_count() == 24 && tiles.iter().all(|t| t.has_photo && t.photo.size().width == 96), "photos");

    // A sold piece cannot be added, and staff are told why.
    tap(&h, demo::serial(3).as_str());
    assert!(shows(&h, "AT-2026-0003 is already sold"));
    assert!(buttons(&h.ui, "Remove AT-2026-0003").is_empty());

    tap(&h, demo::serial(5).as_str());
    assert_eq!(buttons(&h.ui, "Remove AT-2026-0005").len(), 1, "piece is in the cart");
    assert!(shows(&h, "Total £185.00"));

    tap(&h, "Charge");
    assert_eq!(buttons(&h.ui, "Complete sale")[0].accessible_enabled(), Some(false), "nothing paid yet");
    tap(&h, "Cash £200.00");
    assert!(shows(&h, "Change due £15.00"));
    tap(&h, "Complete sale");

    assert!(shows(&h, "Sale complete"));
    assert!(shows(&h, "Receipt K1-000003"));
    assert!(shows(&h, "Change £15.00"));
    // "Sale complete" is only shown once the sale is in the database.
    let k = h.kiosk.borrow();
    let piece = k.store().piece(&demo::serial(5)).unwrap().unwrap();
    assert_eq!(piece.status, PieceStatus::Sold);
    let sale = k.store().sale(k.last_completed().unwrap().sale_id).unwrap().unwrap();
    assert_eq!(sale.receipt.to_string(), "K1-000003");
    assert_eq!(sale.change.minor, 1_500);
}

/// Where a button is on screen: (x, y, width, height) in logical pixels.
fn rect(h: &Harness, label: &str) -> (f32, f32, f32, f32) {
    let found = buttons(&h.ui, label);
    assert_eq!(found.len(), 1, "one {label:?}");
    let (at, size) = (found[0].absolute_position(), found[0].size());
    (at.x, at.y, size.width, size.height)
}

/// A wrong PIN, and then the lockout, are said inside the PIN's own box: no key moves, the
/// pad stays on an 800x480 screen, and the wait counts down to the moment it opens.
/// A German stall takes cash as Germans write it: the pad's point key is ",", the typed amount
/// reads "100,5 £", and the one-tap amount ("84,50 £" on its button) pays exactly that.
#[test]
fn a_german_stall_takes_cash_typed_and_tapped_in_its_own_figures() {
    let mut config = Config::default();
    config.stall.language = marketday::i18n::Language::De;
    let h = start_with_config(KioskOptions { demo: true, ..Default::default() }, config);
    tap(&h, "Anmeldung für das Personal");
    for d in demo::DEMO_PIN.chars() {
        tap(&h, &d.to_string());
    }
    tap(&h, "Entsperren");
    tap(&h, demo::serial(5).as_str());
    assert!(shows(&h, "Gesamt 185,00\u{a0}£"));
    tap(&h, "Kassieren");

    for key in ["1", "0", "0", "Dezimalzeichen", "5"] {
        tap(&h, key);
    }
    assert!(shows(&h, "100,5\u{a0}£"), "the typed amount is written the German way");
    let point_key_text = ElementQuery::from_root(&h.ui)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Text)
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label())
        .any(|t| t == ",");
    assert!(point_key_text, "the point key shows a comma");
    tap(&h, "Bar hinzufügen");
    tap(&h, "Bar 84,50\u{a0}£");
    tap(&h, "Abschließen");
    assert!(shows(&h, "Verkauf abgeschlossen"));

    let k = h.kiosk.borrow();
    let sale = k.store().sale(k.last_completed().unwrap().sale_id).unwrap().unwrap();
    let cash: Vec<i64> = sale
        .tenders
        .iter()
        .map(|t| match t {
            marketday::domain::Tender::Cash { tendered } => tendered.minor,
            other => panic!("only cash was taken, not {other:?}"),
        })
        .collect();
    assert_eq!(cash.iter().sum::<i64>(), 18_500, "{cash:?}");
}

#[test]
fn a_wrong_pin_moves_no_key_and_the_lockout_counts_down() {
    let now = std::sync::Arc::new(std::sync::Mutex::new(Utc::now()));
    let clock = now.clone();
    let h =
        start_with(KioskOptions { demo: true, clock: Box::new(move || *clock.lock().unwrap()), ..Default::default() });
    tap(&h, "Staff sign-in");
    let keys = ["Unlock", "Back", "1", "0", "9"];
    let before: Vec<_> = keys.iter().map(|k| rect(&h, k)).collect();
    for (key, (_, y, _, height)) in keys.iter().zip(&before) {
        assert!(y + height <= 480.0, "{key} is off the 800x480 screen at y {y} + {height}");
    }
    for attempt in 1..=5 {
        type_pin(&h, "9999");
        let after: Vec<_> = keys.iter().map(|k| rect(&h, k)).collect();
        assert_eq!(after, before, "attempt {attempt}: the keys moved");
    }
    assert!(shows(&h, "Try again in 30 seconds"), "locked after five wrong PINs");
    assert!(h.kiosk.borrow().pin_counting_down(), "redrawn every second while locked");
    *now.lock().unwrap() += chrono::Duration::seconds(12);
    h.kiosk.borrow_mut().present(&h.ui);
    assert!(shows(&h, "Try again in 18 seconds"), "the wait counts down");
    *now.lock().unwrap() += chrono::Duration::seconds(19);
    h.kiosk.borrow_mut().present(&h.ui);
    assert!(shows(&h, "open again"), "and says when the pad is open");
    type_pin(&h, demo::DEMO_PIN);
    assert_eq!(buttons(&h.ui, "Charge").len(), 1, "unlocked");
}

/// No message moves a button: on every staff screen, in both orientations, raising a
/// two-line notice leaves every button where it was.
#[test]
fn a_message_never_moves_a_button_on_any_screen() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    tap(&h, demo::serial(5).as_str());
    let long = "The printer stopped part-way twice (paper out: load a new roll). Check the printer, then print \
                it again from the Printer tab, or print it later.";
    for (w, hgt) in [(800., 480.), (720., 1280.)] {
        h.ui.window().set_size(slint::LogicalSize::new(w, hgt));
        for screen in ["Sell", "Tender", "Holds", "Sales", "Today", "Courier", "Printer"] {
            match screen {
                "Tender" => tap(&h, "Charge"),
                "Sell" => tab(&h, "Sell"),
                other => tab(&h, other),
            }
            h.kiosk.borrow_mut().dismiss_notices();
            h.kiosk.borrow_mut().present(&h.ui);
            let quiet = touch::button_places(&h.ui);
            assert!(!quiet.is_empty(), "no buttons on {screen}");
            h.kiosk.borrow_mut().say(app::Notice::error(long));
            h.kiosk.borrow_mut().present(&h.ui);
            assert!(shows(&h, "stopped part-way twice"), "{screen} shows the message");
            assert_eq!(touch::button_places(&h.ui), quiet, "a message moved buttons on {screen} at {w}x{hgt}");
            if screen == "Tender" {
                tap(&h, "Back to cart");
            }
        }
    }
}

#[test]
fn split_payment_card_then_cash_with_a_discount() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    tap(&h, demo::serial(4).as_str()); // £210.00

    tap(&h, "Discount AT-2026-0004");
    tap(&h, "Amount off");
    tap(&h, "1");
    tap(&h, "0");
    assert!(buttons(&h.ui, "Apply discount")[0].accessible_enabled() == Some(false), "a reason is required");
    tap(&h, "Returning customer");
    tap(&h, "Apply discount");
    assert!(shows(&h, "Total £200.00"));

    tap(&h, "Charge");
    tap(&h, "Card terminal");
    for d in "150".chars() {
        tap(&h, &d.to_string());
    }
    tap(&h, "Enter terminal reference");
    for d in "4821".chars() {
        tap(&h, &d.to_string());
    }
    tap(&h, "Add card payment");
    assert!(shows(&h, "Still to pay £50.00"));
    tap(&h, "Cash £50.00");
    tap(&h, "Complete sale");
    assert!(shows(&h, "Sale complete"));

    let k = h.kiosk.borrow();
    let sale = k.store().sale(k.last_completed().unwrap().sale_id).unwrap().unwrap();
    assert_eq!(sale.totals.total.minor, 20_000);
    assert_eq!(sale.lines[0].discount_reason.as_deref(), Some("Returning customer"));
    let kinds: Vec<String> = sale.tenders.iter().map(|t| t.label(marketday::i18n::Language::En)).collect();
    assert_eq!(kinds, ["Card", "Cash"]);
}

/// The status bar badge, as a button, whose label starts with `prefix` ("Printer: ").
fn badge(h: &Harness, prefix: &str) -> Option<ElementHandle> {
    let prefix = prefix.to_owned();
    ElementQuery::from_root(&h.ui)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .match_predicate(move |e| e.accessible_label().is_some_and(|l| l.starts_with(&prefix)))
        .find_first()
}

#[test]
fn staff_open_a_badges_screen_by_tapping_it_and_customers_only_read_it() {
    let h = start();
    h.kiosk.borrow_mut().present(&h.ui);
    for prefix in ["Drop: ", "Sync: ", "Printer: ", "Camera: "] {
        assert!(badge(&h, prefix).is_none(), "a customer can tap the {prefix:?} badge");
    }
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    assert_eq!(h.ui.get_screen(), Screen::Sell);

    badge(&h, "Printer: ").expect("the printer badge").mock_single_click(PointerEventButton::Left);
    assert_eq!(h.ui.get_screen(), Screen::Printer);
    // The Printer tab carries the camera's line, which is where the camera badge leads.
    assert!(shows(&h, "Camera: Ready: it checks tags"), "the camera's state and use, in words");
    tab(&h, "Sell");
    badge(&h, "Camera: ").expect("the camera badge").mock_single_click(PointerEventButton::Left);
    assert_eq!(h.ui.get_screen(), Screen::Printer);
    badge(&h, "Drop: ").expect("the drop badge").mock_single_click(PointerEventButton::Left);
    assert_eq!(h.ui.get_screen(), Screen::Today);
}

#[test]
fn every_button_is_a_comfortable_touch_target_in_both_orientations() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    tap(&h, demo::serial(5).as_str());
    for (w, hgt) in [(800., 480.), (720., 1280.)] {
        h.ui.window().set_size(slint::LogicalSize::new(w, hgt));
        for screen in ["sell", "tender", "sales", "today", "cash-out"] {
            if screen == "tender" {
                tap(&h, "Charge");
            }
            if screen == "sales" {
                tab(&h, "Sales");
                tap(&h, "Receipt K1-000001");
            }
            if screen == "today" {
                tab(&h, "Today");
            }
            if screen == "cash-out" {
                tap(&h, "Cash out");
            }
            let all: Vec<ElementHandle> = ElementQuery::from_root(&h.ui)
                .match_descendants()
                .match_accessible_role(AccessibleRole::Button)
                .find_all();
            assert!(all.len() > 10, "found only {} buttons on {screen}", all.len());
            for b in all {
                let size = b.size();
                let pos = b.absolute_position();
                let label = b.accessible_label().unwrap_or_default();
                // 48 px is 9 mm on a 7-inch 800x480 panel.
                assert!(size.height >= 48.0 && size.width >= 48.0, "{label:?} is {size:?} on {screen} at {w}x{hgt}");
                assert!(
                    pos.x >= 0.0 && pos.y >= 0.0 && pos.x + size.width <= w + 0.5,
                    "{label:?} off screen at {pos:?}"
                );
                if !label.starts_with("AT-") {
                    // Tiles scroll; everything else must fit on the screen.
                    assert!(pos.y + size.height <= hgt + 0.5, "{label:?} falls off the bottom at {w}x{hgt}");
                }
            }
            if screen == "tender" {
                tap(&h, "Back to cart");
            }
            if screen == "sales" || screen == "cash-out" {
                tab(&h, "Sell");
            }
        }
    }
}

#[test]
fn a_returned_piece_goes_back_on_sale_from_the_sales_screen() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    tab(&h, "Sales");
    // The demo's first sale is AT-2026-0003.
    tap(&h, "Receipt K1-000001");
    assert_eq!(buttons(&h.ui, "Return AT-2026-0003").len(), 1);
    // The detail says how it was paid.
    assert!(shows(&h, "Paid card"), "the sale shows how the customer paid");
    tap(&h, "Return AT-2026-0003");
    assert!(shows(&h, "Pick why first"), "a return without a reason says what it waits for");
    assert_eq!(h.kiosk.borrow().store().piece(&demo::serial(3)).unwrap().unwrap().status, PieceStatus::Sold);
    tap(&h, "Changed mind");
    // Paid by card, so the money goes back to the card unless staff choose cash.
    tap(&h, "Return AT-2026-0003");
    assert!(shows(&h, "AT-2026-0003 is back on sale. Give back"), "the banner says what to hand back");
    assert!(shows(&h, "to the card (ref DEMO"), "a card sale is refunded to its card");
    assert!(shows(&h, "1 piece · all returned"), "the list marks the returned sale");
    // The refund slip prints, saying how the money went back.
    let slip = printed(&h, "REFUND");
    assert!(slip.iter().any(|l| l.starts_with("To card (ref DEMO")), "{slip:#?}");
    assert!(slip.iter().any(|l| l.contains("Changed mind")), "{slip:#?}");
    assert!(buttons(&h.ui, "Return AT-2026-0003").is_empty(), "cannot be returned twice");
    assert_eq!(h.kiosk.borrow().store().piece(&demo::serial(3)).unwrap().unwrap().status, PieceStatus::Available);

    // Voiding the other demo sale frees its piece too.
    tap(&h, "Receipt K1-000002");
    tap(&h, "Keyed in error");
    // Voiding asks once, on the button itself: the first tap does nothing else.
    tap(&h, "Void whole sale");
    assert!(!shows(&h, "Sale voided"), "one tap voided the sale");
    assert!(shows(&h, "Tap again to void"), "the button asks, in words");
    tap(&h, "Void whole sale");
    assert!(shows(&h, "Sale voided"));
    assert_eq!(h.kiosk.borrow().store().piece(&demo::serial(11)).unwrap().unwrap().status, PieceStatus::Available);

    tab(&h, "Sell");
    tap(&h, demo::serial(3).as_str());
    assert_eq!(buttons(&h.ui, "Remove AT-2026-0003").len(), 1, "the returned piece sells again");
}

#[test]
fn the_drawer_opens_with_a_float_takes_cash_out_and_is_counted_against_what_it_should_hold() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    // A cash sale first: £200 tendered for the piece, change given.
    tap(&h, demo::serial(5).as_str());
    tap(&h, "Charge");
    tap(&h, "Cash £200.00");
    tap(&h, "Complete sale");
    tab(&h, "Today");
    assert!(shows(&h, "Not counted yet"));
    let kiosk = || h.kiosk.borrow();
    let day = marketday::store::Day::containing(kiosk().now()).unwrap();
    let drawer = |k: &Kiosk| k.store().drawer("K1", marketday::domain::Currency::GBP, day).unwrap();
    let cash_sales = drawer(&kiosk()).cash_sales;
    assert!(cash_sales.minor > 0, "the sale's cash is in the drawer");

    tap(&h, "Open with float");
    for key in ["5", "0"] {
        tap(&h, key);
    }
    tap(&h, "Record drawer entry");
    assert!(shows(&h, "opened with a float of £50.00"));
    assert!(shows(&h, "Float £50.00 set"), "the float button says it is done");
    assert_eq!(
        buttons(&h.ui, "Open with float").first().and_then(|b| b.accessible_enabled()),
        Some(false),
        "one float a day"
    );

    // Cash out needs a reason: the button says so until one is picked.
    tap(&h, "Cash out");
    tap(&h, "2");
    tap(&h, "0");
    assert!(shows(&h, "Pick why first"));
    tap(&h, "Bank drop");
    tap(&h, "Record drawer entry");
    assert!(shows(&h, "£20.00 taken out of the drawer (Bank drop)"));

    let expected = drawer(&kiosk()).expected();
    assert_eq!(expected.minor, 5_000 + cash_sales.minor - 2_000);
    // Count £1 short.
    tap(&h, "Count drawer");
    let counted = format!("{}", (expected.minor - 100) / 100);
    for key in counted.chars() {
        tap(&h, &key.to_string());
    }
    tap(&h, "Record drawer entry");
    assert!(shows(&h, "Short by £1.00"), "the count is set against what the drawer should hold");
    assert!(shows(&h, &format!("Expected in drawer: {expected}")));

    // The end-of-day report carries the drawer.
    tap(&h, "End-of-day report");
    tap(&h, "End-of-day report");
    let report = printed(&h, "END OF DAY");
    assert!(report.iter().any(|l| l.starts_with("Opening float") && l.ends_with("£50.00")), "{report:#?}");
    assert!(report.iter().any(|l| l.starts_with("Cash out") && l.ends_with("-£20.00")), "{report:#?}");
    assert!(report.iter().any(|l| l.starts_with("Expected") && l.ends_with(&expected.to_string())), "{report:#?}");
    assert!(report.iter().any(|l| l.contains("Short by £1.00")), "{report:#?}");
}

#[test]
fn the_receipt_prints_after_the_sale_and_staff_can_reprint_it() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    tap(&h, demo::serial(5).as_str());
    tap(&h, "Charge");
    tap(&h, "Cash £200.00");
    tap(&h, "Complete sale");
    assert!(eventually_shows(&h, "Receipt printed"), "the Done screen follows the receipt to paper");

    // The simulated printer kept the bytes and a picture of the paper.
    let printed = h.dir.path().join("printer/job-000001.bin");
    let bytes = std::fs::read(&printed).unwrap();
    let paper = marketday_hardware::Preview::render(&bytes, &PrinterProfile::builtin("generic-58").unwrap()).unwrap();
    assert!(paper.lines.iter().any(|l| l.starts_with("AT-2026-0005")), "{:#?}", paper.lines);
    assert!(printed.with_extension("png").exists());

    tab(&h, "Sales");
    tap(&h, "Receipt K1-000003");
    tap(&h, "Reprint receipt");
    assert!(shows(&h, "Receipt reprint queued"));
    tab(&h, "Printer");
    assert!(eventually_shows(&h, "Printer status: Printer ready"));
    assert!(eventually_shows(&h, "Receipt K1-000003 (reprint): "), "the reprint is listed");
    // ...and the row shows it printed (the row's label is "title: time · state").
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let reprint_printed = || {
        ElementQuery::from_root(&h.ui)
            .match_descendants()
            .match_predicate(|e| {
                e.accessible_label()
                    .is_some_and(|l| l.starts_with("Receipt K1-000003 (reprint): ") && l.ends_with("Printed"))
            })
            .find_first()
            .is_some()
    };
    while !reprint_printed() && std::time::Instant::now() < deadline {
        h.kiosk.borrow_mut().present(&h.ui);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(reprint_printed(), "the reprint is shown as printed");
    tap(&h, "Test page");
    assert!(eventually_shows(&h, "Test page: "));
    let jobs = || {
        std::fs::read_dir(h.dir.path().join("printer"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "bin"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while jobs() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(jobs(), 3, "receipt, reprint and test page each printed once");
}

#[test]
fn hold_a_piece_see_it_held_then_collect_it_by_code_and_sell_it() {
    let h = start();
    tap(&h, "Staff sign-in");
    type_pin(&h, demo::DEMO_PIN);
    tap(&h, demo::serial(6).as_str());
    assert_eq!(buttons(&h.ui, "Remove AT-2026-0006").len(), 1, "in the cart");
    tap(&h, "Hold AT-2026-0006");
    assert_eq!(buttons(&h.ui, "Hold piece")[0].accessible_enabled(), Some(false), "a hold needs a name first");
    assert!(shows(&h, "Type the customer's name."), "and says so");
    // The name is typed on the on-screen keyboard, which capitalises each word.
    for key in ["A", "N", "A"] {
        tap(&h, &format!("Key {key}"));
    }
    tap(&h, "Space");
    for key in ["R", "U", "I", "Z"] {
        tap(&h, &format!("Key {key}"));
    }
    assert_eq!(h.ui.global::<SellState>().get_hold_name(), "Ana Ruiz");
    h.ui.global::<SellState>().set_hold_contact("07700 900461".into());
    assert!(shows(&h, "How long? Pick a time below."), "the last thing a hold waits for");
    tap(&h, "Hold for 2 h");
    tap(&h, "Hold piece");
    assert!(shows(&h, "AT-2026-0006 held for Ana Ruiz until"));
    assert!(buttons(&h.ui, "Remove AT-2026-0006").is_empty(), "the held piece left the cart");
    // The grid marks it held, and it cannot be sold to someone else.
    let piece = h.kiosk.borrow().store().piece(&demo::serial(6)).unwrap().unwrap();
    assert_eq!(piece.status, PieceStatus::Held);
    let tile = ElementHandle::find_by_accessible_label(&h.ui, "AT-2026-0006").next().unwrap();
    let description = tile.accessible_description().unwrap_or_default();
    assert!(description.ends_with(", Held"), "the tile says held: {description}");
    tap(&h, demo::serial(6).as_str());
    assert!(shows(&h, "AT-2026-0006 is held for Ana Ruiz"));

    // The customer comes back with the code from the slip.
    let code = {
        let k = h.kiosk.borrow();
        let r = k.store().reservation_for_piece(&demo::serial(6), Utc::now()).unwrap().unwrap();
        r.code.to_string()
    };
    tab(&h, "Holds");
    assert!(shows(&h, &format!("Ana Ruiz · AT-2026-0006: {code}")));
    // More time needs no reason picked; letting the piece go does, and says so.
    tap(&h, &format!("Extend {code}"));
    assert!(shows(&h, &format!("{code} now held until")));
    tap(&h, &format!("Release {code}"));
    assert!(shows(&h, "Pick why above"), "a release without a reason says what it needs");
    assert_eq!(h.kiosk.borrow().store().piece(&demo::serial(6)).unwrap().unwrap().status, PieceStatus::Held);
    tab(&h, "Sell");
    // Staff type the code into the serial field and press Enter (the field's `accepted`
    // calls this callback); any case and the dash are accepted.
    h.ui.global::<SellState>().invoke_add_serial(code.to_lowercase().into());
    assert!(shows(&h, "Collecting AT-2026-0006 for Ana Ruiz"));
    assert!(buttons(&h.ui, "Hold AT-2026-0006").is_empty(), "a collected piece cannot be held again");
    tap(&h, "Charge");
    let price = h.kiosk.borrow().store().piece(&demo::serial(6)).unwrap().unwrap().price;
    tap(&h, &format!("Cash {price}"));
    tap(&h, "Complete sale");
    assert!(shows(&h, "Sale complete"));
    let k = h.kiosk.borrow();
    assert_eq!(k.store().piece(&demo::serial(6)).unwrap().unwrap().status, PieceStatus::Sold);
    let sale = k.store().sale(k.last_completed().unwrap().sale_id).unwrap().unwrap();
    assert!(sale.lines[0].reservation_id.is_some(), "the sale records the reservation it collected");
    assert!(k.store().reservation_for_piece(&demo::serial(6), Utc::now()).unwrap().is_none());
}
