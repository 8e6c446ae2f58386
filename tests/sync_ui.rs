//! The Sync screen through the real window (Slint testing backend) against the real sync
//! server on 127.0.0.1: the kiosk's background sync meets sales the cloud refuses, the status
//! bar says so, staff open the screen from its badge, read what happened and what to do,
//! clear a conflict, and "Sync now" delivers that at once. Customers cannot open it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::Utc;
use marketday::app::{self, Devices, Kiosk, KioskOptions};
use marketday::config::Config;
use marketday::demo;
use marketday::store::Store;
use marketday::sync;
use marketday::ui::{AppWindow, Screen, SyncState};
use slint::{ComponentHandle, Model};

#[path = "common/touch.rs"]
mod touch;
use touch::{buttons, shows, tap};
#[path = "common/cloud.rs"]
mod cloud;

/// Presents the status every 20 ms until `done`; false after 20 s.
fn until(ui: &AppWindow, kiosk: &Rc<RefCell<Kiosk>>, done: impl Fn(&AppWindow) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        kiosk.borrow_mut().present_status(ui);
        if done(ui) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The kiosk in its window, without printer or camera.
fn open(store: Store, config: Config) -> (AppWindow, Rc<RefCell<Kiosk>>, (slint::Timer, slint::Timer)) {
    let devices = Devices { printer: None, camera: None, station: None };
    let kiosk = Rc::new(RefCell::new(Kiosk::new(store, config, devices, KioskOptions::default())));
    let ui = AppWindow::new().unwrap();
    ui.window().set_size(slint::LogicalSize::new(800., 480.));
    let timers = app::attach(&ui, kiosk.clone());
    ui.show().unwrap();
    (ui, kiosk, timers)
}

#[test]
fn staff_see_refused_sales_in_plain_words_clear_them_and_sync_now() {
    i_slint_backend_testing::init_no_event_loop();
    let server = cloud::Server::start();
    let (first, token) = (server.device("K0", "Broadway"), server.device("K1", "Spitalfields"));
    let dir = tempfile::tempdir().unwrap();
    // Another stall sold the same two demo pieces and synced first.
    let mut other = Store::open(&dir.path().join("other.sqlite")).unwrap();
    demo::seed(&mut other, "Broadway", Utc::now()).unwrap();
    let client = sync::Client::new(&server.url(), &first, Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(sync::round(&mut other, &client, None)).unwrap();

    let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    demo::seed(&mut store, "Spitalfields", Utc::now()).unwrap();
    let mut config = Config::default();
    config.sync.url = Some(server.url());
    config.sync.token = Some(token);
    // Rounds only when told: what arrives after the first round came from "Sync now".
    config.sync.interval_seconds = 3600;
    let (ui, kiosk, _timers) = open(store, config);

    // On the customer's screen the sync badge is only a badge.
    assert!(until(&ui, &kiosk, |ui| ui.get_status().sync == "2 sync conflicts"), "{:?}", ui.get_status().sync);
    assert_eq!(ui.get_screen(), Screen::Idle);
    assert!(buttons(&ui, "Sync: 2 sync conflicts").is_empty(), "customers cannot open the Sync screen");

    kiosk.borrow_mut().unlock(demo::DEMO_PIN);
    kiosk.borrow_mut().present(&ui);
    tap(&ui, "Sync: 2 sync conflicts");
    assert_eq!(ui.get_screen(), Screen::Sync);
    assert!(shows(&ui, "Sync status: Synced at"), "the round itself succeeded");
    let rows = ui.global::<SyncState>().get_conflicts();
    assert_eq!(rows.row_count(), 2);
    let row = rows.row_data(0).unwrap();
    assert_eq!(row.title, "A sale made here was refused: the piece was sold elsewhere first");
    assert!(row.detail.contains("was already sold"), "the cloud's own words: {}", row.detail);
    assert!(row.advice.contains("call the atelier") && row.advice.ends_with("Then tap Dealt with."));
    assert!(shows(&ui, "2 things need your attention"));

    let before = server.events("K1").len();
    tap(&ui, &format!("Dealt with: {}", row.detail));
    assert!(shows(&ui, "Marked as dealt with."));
    assert_eq!(ui.global::<SyncState>().get_conflicts().row_count(), 1);
    assert!(until(&ui, &kiosk, |ui| ui.get_status().sync == "1 sync conflict"));
    // Clearing it is an event the cloud receives; the round it started delivers it.
    assert!(until(&ui, &kiosk, |_| server.events("K1").len() == before + 1), "the clearing reached the cloud");

    // Sync now: a sale's worth of news made locally goes up without waiting an hour.
    Store::open(&dir.path().join("kiosk.sqlite")).unwrap().seed_pending_events(3, Utc::now()).unwrap();
    tap(&ui, "Sync now");
    assert!(shows(&ui, "Syncing now."));
    assert!(until(&ui, &kiosk, |_| server.events("K1").len() == before + 4), "Sync now delivered the new events");
}

#[test]
fn a_sync_that_cannot_start_says_so_instead_of_offline() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    demo::seed(&mut store, "Spitalfields", Utc::now()).unwrap();
    let waiting = store.unsynced_count().unwrap();
    assert!(waiting > 0, "the demo's sales wait for the cloud");
    let mut config = Config::default();
    config.sync.url = Some("https://cloud.example.com".into());
    config.sync.token = Some("token".into());
    // Checked when the config was loaded, then removed before the kiosk started.
    let gone = dir.path().join("cloud-ca.pem");
    config.sync.ca_file = Some(gone.clone());
    let (ui, kiosk, _timers) = open(store, config);
    kiosk.borrow_mut().present(&ui);

    assert_eq!(ui.get_status().sync, format!("Sync off · {waiting} not synced"), "not the network's fault");
    assert_eq!(ui.get_status().sync_severity, marketday::ui::Severity::Error, "shown as a fault");
    kiosk.borrow_mut().unlock(demo::DEMO_PIN);
    kiosk.borrow_mut().present(&ui);
    tap(&ui, &format!("Sync: Sync off · {waiting} not synced"));
    assert_eq!(ui.get_screen(), Screen::Sync);
    assert_eq!(ui.global::<SyncState>().get_headline(), "Sync is off");
    let detail = ui.global::<SyncState>().get_detail();
    assert!(detail.contains(&format!("cannot read sync.ca_file {}", gone.display())), "{detail}");
    assert!(detail.contains("restart the kiosk"), "{detail}");
    assert_eq!(buttons(&ui, "Sync now")[0].accessible_enabled(), Some(false), "nothing to start by hand");
}
