//! `marketday screenshots DIR`: walks a demo sale and renders every screen, landscape and
//! portrait, to PNG — so the screens can be looked at without a display.

use crate::i18n::Language;
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use anyhow::Context;
use chrono::Utc;
use slint::ComponentHandle;

use crate::app::{self, Devices, Kiosk, KioskOptions};
use crate::config::Config;
use crate::demo;
use crate::domain::HoldLength;
use crate::headless::Headless;
use crate::store::Store;
use crate::ui::{AppWindow, CameraView, CourierState, DoneState, SellState, TodayState, VerifyState};

pub const SIZES: [(u32, u32, &str); 2] = [(800, 480, "landscape"), (720, 1280, "portrait")];

/// Renders the demo screens into `dir`, with the stall in English, then in French and in
/// German (`03-sell-empty-fr-landscape.png`); returns the files written.
pub fn render_all(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for language in Language::ALL {
        written.extend(render_all_checked(dir, language, |_, _, _| Ok(()))?);
    }
    Ok(written)
}

/// The demo screens with the stall in `language`, calling `check` with each screen's name, the window's size and the
/// window, presented at that size, before it is drawn: the tests look there for what each
/// screen must show and how big its buttons are.
pub fn render_all_checked(
    dir: &Path,
    language: Language,
    mut check: impl FnMut(&str, (u32, u32), &AppWindow) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let headless = Headless::install().context("cannot start the headless renderer")?;
    let work = tempfile_dir()?;
    let now = Utc::now();
    let mut store = Store::open(&work.join("demo.sqlite"))?;
    let mut config = demo_config();
    config.stall.language = language;
    let suffix = if language == Language::En { String::new() } else { format!("-{}", language.code()) };
    demo::seed(&mut store, &config.stall.name, now)?;
    // A serial printer emulated on a pseudo-terminal, so paper can run out on cue.
    let emulator = marketday_hardware::emulator::PrinterEmulator::start()?;
    let mut settings = marketday_hardware::SerialSettings::new(emulator.path(), 115_200);
    settings.status_timeout = std::time::Duration::from_millis(100);
    let printer = crate::print::PrinterSetup {
        printer: Box::new(marketday_hardware::SerialPrinter::new(settings)),
        profile: marketday_hardware::PrinterProfile::builtin("generic-80").expect("built-in profile"),
        layout: Default::default(),
    };
    let frames = demo::camera_frames(&store, &config.stall.verify_url);
    // Piece 7's certificate, checked as if typed for the shots in other languages: which tag
    // a debug build's scanner reads first in the demo's loop is left to chance.
    let genuine = store
        .certificate(&demo::serial(7))?
        .map(|t| crate::domain::provenance::token_url(&config.stall.verify_url, &t))
        .unwrap_or_default();
    let station = crate::dispatch::Station::open(&work, "K1", &config.stall.name, &config.stall.verify_url)?;
    let devices = Devices {
        printer: Some(printer),
        camera: Some(Box::new(marketday_hardware::SimulatedCamera::from_frames(frames, 4))),
        station: Some(station),
    };
    let options = KioskOptions {
        demo: true,
        clock: Box::new(move || now),
        print_poll: std::time::Duration::from_millis(50),
        ..KioskOptions::default()
    };
    let kiosk = Rc::new(RefCell::new(Kiosk::new(store, config, devices, options)));
    let ui = AppWindow::new()?;
    let timers = app::attach(&ui, kiosk.clone());
    ui.show()?;

    let mut written = Vec::new();
    let mut shoot = |name: &str, kiosk: &Rc<RefCell<Kiosk>>| -> anyhow::Result<()> {
        kiosk.borrow_mut().present(&ui);
        // Rendering runs due timers: a code the camera read meanwhile would change the screen
        // between one size and the next. Every size shows the same moment.
        timers.0.stop();
        timers.1.stop();
        for (w, h, orientation) in SIZES {
            headless.resize(w, h);
            check(name, (w, h), &ui).with_context(|| format!("screen {name} at {w}x{h}"))?;
            let path = dir.join(format!("{name}{suffix}-{orientation}.png"));
            headless.render().write_png(&path).with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        timers.0.restart();
        timers.1.restart();
        Ok(())
    };

    shoot("01-idle", &kiosk)?;
    kiosk.borrow_mut().show_pin_pad();
    shoot("02-pin", &kiosk)?;
    kiosk.borrow_mut().unlock("9999");
    shoot("02-pin-wrong", &kiosk)?;
    kiosk.borrow_mut().unlock(demo::DEMO_PIN);
    shoot("03-sell-empty", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.tap_piece(demo::serial(5).as_str());
        k.tap_piece(demo::serial(12).as_str());
        k.apply_discount(demo::serial(12).as_str(), "10", true, "Returning customer");
        k.tap_piece(demo::serial(3).as_str());
    }
    shoot("04-sell-cart-error", &kiosk)?;
    kiosk.borrow_mut().dismiss_notices();
    kiosk.borrow_mut().open_discount(demo::serial(5).as_str());
    shoot("05-discount", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.close_discount();
        k.charge();
        k.add_card("200", "482913");
    }
    shoot("06-tender-split", &kiosk)?;
    kiosk.borrow_mut().add_cash("200");
    shoot("07-tender-change", &kiosk)?;
    kiosk.borrow_mut().complete_sale();
    settle(&kiosk);
    shoot("08-sale-complete", &kiosk)?;
    ui.global::<DoneState>().set_shipping(true);
    ui.global::<DoneState>().set_ship_name("Ana Ruiz".into());
    shoot("08-sale-post-to", &kiosk)?;
    ui.global::<DoneState>().set_shipping(false);
    kiosk.borrow_mut().ship_last_sale("Ana Ruiz");
    shoot("08-sale-posted", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.show_sales();
        let first = k.store().recent_sales(10)?.last().map(|s| s.id.to_string()).unwrap_or_default();
        k.select_sale(&first);
    }
    shoot("09-sales", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.show_today();
        k.cash_entry("float");
        k.cash_record("50", "");
        k.cash_entry("paid_out");
        k.cash_record("20", "Bank drop");
        k.cash_entry("count");
        let expected = k
            .store()
            .drawer(&k.config_device(), k.currency(), crate::store::Day::containing(k.now()).context("day")?)?
            .expected();
        k.cash_record(&format!("{}", (expected.minor - 150) as f64 / 100.0), "");
    }
    shoot("09-today", &kiosk)?;
    kiosk.borrow_mut().cash_entry("paid_out");
    ui.global::<TodayState>().set_amount("12.50".into());
    ui.global::<TodayState>().set_reason("Expense".into());
    shoot("09-today-cash-out", &kiosk)?;
    kiosk.borrow_mut().cash_cancel();
    kiosk.borrow_mut().show_printer();
    kiosk.borrow_mut().print_test_page();
    settle(&kiosk);
    kiosk.borrow_mut().dismiss_notices();
    shoot("10-printer", &kiosk)?;
    emulator.set(marketday_hardware::emulator::EmulatedState::PaperOut);
    {
        let mut k = kiosk.borrow_mut();
        k.show_sell();
        k.new_sale();
        k.tap_piece(demo::serial(14).as_str());
        k.charge();
        k.add_cash("200");
        k.complete_sale();
    }
    settle(&kiosk);
    shoot("11-sale-complete-paper-out", &kiosk)?;
    kiosk.borrow_mut().show_printer();
    shoot("12-printer-paper-out", &kiosk)?;
    // "Print later": the receipt is held for staff, and the status bar says so.
    kiosk.borrow_mut().print_later();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while kiosk.borrow().print_status().is_some_and(|q| q.held == 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    kiosk.borrow_mut().dismiss_notices();
    shoot("12-printer-held", &kiosk)?;
    emulator.set(marketday_hardware::emulator::EmulatedState::Ready);
    {
        let mut k = kiosk.borrow_mut();
        k.show_sell();
        k.new_sale();
        k.tap_piece(demo::serial(9).as_str());
        k.open_hold(demo::serial(9).as_str());
    }
    let two_hours = HoldLength::ALL.iter().position(|l| *l == HoldLength::TwoHours).unwrap_or(0) as i32;
    ui.global::<SellState>().set_hold_name("Ana Ruiz".into());
    ui.global::<SellState>().set_hold_contact("07700 900461".into());
    ui.global::<SellState>().set_hold_pick(two_hours);
    shoot("13-hold", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.create_hold(demo::serial(9).as_str(), "Ana Ruiz", "07700 900461", two_hours);
        k.show_reservations();
    }
    shoot("14-holds", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.show_sell();
        k.open_members();
        k.search_members("pr");
    }
    shoot("15-member-check-in", &kiosk)?;
    kiosk.borrow_mut().lock();
    kiosk.borrow_mut().show_verify();
    wait_for_verdict(&kiosk, &ui, None);
    shoot("16-verify-hold-tag", &kiosk)?;
    wait_for_verdict(&kiosk, &ui, Some(crate::ui::Severity::Ok));
    shoot("17-verify-genuine", &kiosk)?;
    wait_for_verdict(&kiosk, &ui, Some(crate::ui::Severity::Error));
    shoot("18-verify-forged", &kiosk)?;
    kiosk.borrow_mut().close_verify();
    kiosk.borrow_mut().unlock(demo::DEMO_PIN);
    kiosk.borrow_mut().show_dispatch();
    shoot("19-courier-orders", &kiosk)?;
    {
        let mut k = kiosk.borrow_mut();
        k.pick_order("WEB-1042");
        k.edit_courier_field(crate::ui::CourierField::Tracking, "jd 0002 2334 4gb");
        k.edit_courier_field(crate::ui::CourierField::CourierName, "Sam Patel");
        k.choose_courier("Royal Mail");
    }
    shoot("20-courier-details", &kiosk)?;
    kiosk.borrow_mut().to_photo();
    wait_for(&kiosk, &ui, |ui| ui.global::<CameraView>().get_frame().size().width > 0);
    shoot("21-courier-photo", &kiosk)?;
    kiosk.borrow_mut().capture_photo();
    wait_for(&kiosk, &ui, |ui| ui.global::<CourierState>().get_step() == 3);
    shoot("22-courier-review", &kiosk)?;
    kiosk.borrow_mut().confirm_dispatch();
    settle(&kiosk);
    shoot("23-courier-done", &kiosk)?;
    kiosk.borrow_mut().courier_back();
    shoot("24-courier-handed-over", &kiosk)?;
    {
        // The demo's two sales as a cloud would refuse them had another stall sold the
        // pieces first (the demo runs without a sync server).
        let mut side = Store::open(&work.join("demo.sqlite"))?;
        let refused: Vec<_> = side
            .pending_events(1000)?
            .into_iter()
            .filter(|e| e.kind == "sale.completed")
            .map(|e| {
                let serial = e.payload["lines"][0]["serial"].as_str().unwrap_or("A piece").to_owned();
                let message = format!("{serial} was already sold (sale WEB-3001)");
                (e.id, crate::store::Delivery::Refused { reason: "piece_sold_elsewhere".into(), message })
            })
            .collect();
        side.acknowledge(&refused, now)?;
    }
    kiosk.borrow_mut().show_sync();
    shoot("25-sync-conflicts", &kiosk)?;
    // The welcome and a verdict as a customer reads them after one tap on their language.
    let customers = if language == Language::En { [(26, Language::Fr), (28, Language::De)].as_slice() } else { &[] };
    for &(n, language) in customers {
        let code = language.code();
        let index = Language::ALL.iter().position(|l| *l == language).unwrap_or_default();
        kiosk.borrow_mut().lock();
        kiosk.borrow_mut().choose_language(index as i32);
        shoot(&format!("{n}-idle-{code}"), &kiosk)?;
        kiosk.borrow_mut().show_verify();
        wait_for(&kiosk, &ui, |ui| ui.global::<CameraView>().get_frame().size().width > 0);
        kiosk.borrow_mut().verify_text(&genuine);
        shoot(&format!("{}-verify-genuine-{code}", n + 1), &kiosk)?;
        kiosk.borrow_mut().close_verify();
    }
    // Staff take over: the stall's language again.
    kiosk.borrow_mut().show_pin_pad();
    kiosk.borrow_mut().present(&ui);
    drop(ui);
    let _ = std::fs::remove_dir_all(&work);
    Ok(written)
}

/// Runs the camera until the Verify screen shows a verdict of `severity` (or, for `None`,
/// a preview frame and no verdict yet); gives up after ten seconds and shoots what is there.
fn wait_for_verdict(kiosk: &Rc<RefCell<Kiosk>>, ui: &AppWindow, severity: Option<crate::ui::Severity>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        kiosk.borrow_mut().poll_camera(ui);
        let shown = ui.global::<VerifyState>().get_severity();
        let framed = ui.global::<CameraView>().get_frame().size().width > 0;
        match severity {
            None if framed && !ui.global::<VerifyState>().get_shown() => return,
            // The first frame read a tag: the prompt needs a frame without one, so start over
            // with an empty preview.
            None if ui.global::<VerifyState>().get_shown() => {
                let mut k = kiosk.borrow_mut();
                k.close_verify();
                k.show_verify();
                k.present(ui);
                ui.global::<CameraView>().set_frame(Default::default());
                ui.global::<CameraView>().set_outline("".into());
            }
            Some(s) if ui.global::<VerifyState>().get_shown() && shown == s => return,
            _ => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    tracing::warn!(?severity, "screenshots: the verdict did not show in time");
}

/// Runs the camera timer's work until `shown` holds (ten seconds at most).
fn wait_for(kiosk: &Rc<RefCell<Kiosk>>, ui: &AppWindow, shown: impl Fn(&AppWindow) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline && !shown(ui) {
        kiosk.borrow_mut().poll_camera(ui);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits (up to five seconds) until the print worker has printed what it can.
fn settle(kiosk: &Rc<RefCell<Kiosk>>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    std::thread::sleep(std::time::Duration::from_millis(150));
    while std::time::Instant::now() < deadline {
        match kiosk.borrow().print_status() {
            Some(q) if q.checked && (q.waiting == 0 || !q.status.can_print()) => return,
            None => return,
            _ => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn demo_config() -> Config {
    let mut config = Config::default();
    config.stall.name = "Atelier Thorne · Spitalfields".into();
    config
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("marketday-shots-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
