//! Courier mode through the real window (Slint testing backend): staff open the Courier
//! tab, the order is picked, the courier's details typed on the on-screen keyboard, the
//! simulated camera's frame taken as the photo, and the proof committed, signed and
//! checkable. Also: the packing slip's QR picks the order, a changed photo is reported in
//! the list, and a full disk refuses the capture with nothing half-written.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::Utc;
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use marketday::app::{self, Devices, Kiosk, KioskOptions};
use marketday::config::Config;
use marketday::demo;
use marketday::dispatch::Station;
use marketday::domain::dispatch;
use marketday::print::PrinterSetup;
use marketday::store::Store;
use marketday::ui::{AppWindow, CameraView, CourierState, Screen};
use marketday_hardware::{Frame, PrinterProfile, SimulatedCamera};
use marketday_scan::synth;
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, Model};

#[path = "common/touch.rs"]
mod touch;
use touch::{shows, tab, tap};

struct Harness {
    ui: AppWindow,
    kiosk: Rc<RefCell<Kiosk>>,
    _timers: (slint::Timer, slint::Timer),
    data: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A staff-unlocked kiosk on the Courier tab, its camera playing `frames`.
fn start(frames: Vec<Frame>, before_open: impl FnOnce(&Path)) -> Harness {
    thread_local!(static PLATFORM: std::cell::OnceCell<()> = const { std::cell::OnceCell::new() });
    PLATFORM.with(|p| *p.get_or_init(i_slint_backend_testing::init_no_event_loop));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut store = Store::open(&data.join("kiosk.sqlite")).unwrap();
    demo::seed(&mut store, "Test stall", Utc::now()).unwrap();
    before_open(&data);
    let config = Config::default();
    let station = Station::open(&data, "K1", "Test stall", &config.stall.verify_url).unwrap();
    let printer = PrinterSetup::simulated(
        &dir.path().join("printer"),
        PrinterProfile::builtin("generic-58").unwrap(),
        Default::default(),
    )
    .unwrap();
    let devices = Devices {
        printer: Some(printer),
        camera: Some(Box::new(SimulatedCamera::from_frames(frames, 3))),
        station: Some(station),
    };
    let kiosk = Rc::new(RefCell::new(Kiosk::new(store, config, devices, KioskOptions::default())));
    let ui = AppWindow::new().unwrap();
    ui.window().set_size(slint::LogicalSize::new(800., 480.));
    let timers = app::attach(&ui, kiosk.clone());
    ui.show().unwrap();
    kiosk.borrow_mut().unlock(demo::DEMO_PIN);
    kiosk.borrow_mut().present(&ui);
    tab(&ui, "Courier");
    assert_eq!(ui.get_screen(), Screen::Dispatch);
    Harness { ui, kiosk, _timers: timers, data, _dir: dir }
}

/// Runs the camera timer's work until `done` holds; false after ten seconds.
fn until(h: &Harness, done: impl Fn(&AppWindow) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        h.kiosk.borrow_mut().poll_camera(&h.ui);
        if done(&h.ui) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Taps a text box, then types on the on-screen keyboard.
fn type_into(h: &Harness, field: &str, text: &str) {
    let input: Vec<_> = ElementHandle::find_by_accessible_label(&h.ui, field)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::TextInput))
        .collect();
    assert_eq!(input.len(), 1, "one box labelled {field:?}");
    input[0].mock_single_click(PointerEventButton::Left);
    for c in text.chars() {
        match c {
            ' ' => tap(&h.ui, "Space"),
            c => tap(&h.ui, &format!("Key {}", c.to_ascii_uppercase())),
        }
    }
}

fn empty_scene() -> Vec<Frame> {
    vec![synth::tag_frame(None, 11)]
}

/// From the Details step to the committed proof: tracking, company, name, photo, confirm.
fn hand_over(h: &Harness, tracking: &str) {
    type_into(h, "Tracking number", tracking);
    tap(&h.ui, "Courier Royal Mail");
    type_into(h, "Courier's name", "sam patel");
    tap(&h.ui, "Next: take the photo");
    assert_eq!(h.ui.global::<CourierState>().get_step(), 2, "{}", h.ui.global::<CourierState>().get_notice());
    assert!(until(h, |ui| ui.global::<CameraView>().get_frame().size().width > 0), "the live preview shows");
    tap(&h.ui, "Capture the photo");
    assert!(until(h, |ui| ui.global::<CourierState>().get_step() == 3), "the photo comes back for confirm or retake");
    assert!(h.ui.global::<CourierState>().get_photo().size().width > 0, "the photo taken is shown");
    tap(&h.ui, "Use this photo");
}

#[test]
fn after_the_on_screen_keyboard_the_cursor_is_at_the_end_of_the_text() {
    let h = start(empty_scene(), |_| {});
    tap(&h.ui, "Hand over WEB-1042");
    type_into(&h, "Tracking number", "JD00");
    // A key from a hardware keyboard (or a scanner in keyboard mode) lands where the cursor
    // is: after what the on-screen keys typed, not before it.
    for event in [
        slint::platform::WindowEvent::KeyPressed { text: "7".into() },
        slint::platform::WindowEvent::KeyReleased { text: "7".into() },
    ] {
        h.ui.window().dispatch_event(event);
    }
    assert_eq!(h.ui.global::<CourierState>().get_tracking(), "JD007");
}

#[test]
fn a_courier_hands_over_a_parcel_by_tapping_through_the_screen() {
    let h = start(empty_scene(), |_| {});
    assert!(shows(&h.ui, "Waiting for a courier (3)"));
    tap(&h.ui, "Hand over WEB-1042");
    assert_eq!(h.ui.global::<CourierState>().get_step(), 1);

    // Nothing typed: the courier is told what is missing, and stays.
    tap(&h.ui, "Next: take the photo");
    assert!(shows(&h.ui, "Enter the tracking number"));
    assert_eq!(h.ui.global::<CourierState>().get_step(), 1);

    // A first photo retaken: the second is the one kept.
    type_into(&h, "Tracking number", "jd 0002 2334 4gb");
    tap(&h.ui, "Courier Royal Mail");
    type_into(&h, "Courier's name", "sam patel");
    assert_eq!(h.ui.global::<CourierState>().get_courier_name(), "Sam Patel", "names are capitalised as typed");
    tap(&h.ui, "Next: take the photo");
    assert!(until(&h, |ui| ui.global::<CameraView>().get_frame().size().width > 0));
    tap(&h.ui, "Capture the photo");
    assert!(until(&h, |ui| ui.global::<CourierState>().get_step() == 3));
    tap(&h.ui, "Retake the photo");
    assert_eq!(h.ui.global::<CourierState>().get_step(), 2);
    tap(&h.ui, "Capture the photo");
    assert!(until(&h, |ui| ui.global::<CourierState>().get_step() == 3));
    let before = h.kiosk.borrow().store().unsynced_count().unwrap();
    tap(&h.ui, "Use this photo");

    assert_eq!(h.ui.global::<CourierState>().get_step(), 4, "{}", h.ui.global::<CourierState>().get_notice());
    assert!(shows(&h.ui, "WEB-1042 handed to Royal Mail"));

    // "Handed over" is shown only once the proof is committed, signed and checkable.
    let k = h.kiosk.borrow();
    let record = k.store().dispatch_proof("WEB-1042").unwrap().expect("the proof is committed");
    assert_eq!(record.tracking_number, "JD 0002 2334 4GB");
    assert_eq!((record.courier.as_str(), record.courier_name.as_str()), ("Royal Mail", "Sam Patel"));
    assert_eq!(record.pieces, ["AT-2025-0112", "AT-2025-0117"]);
    let station = Station::open(&h.data, "K1", "Test stall", "https://verify.example").unwrap();
    let photo = station.photos.read_verified(&record.photo_sha256).unwrap();
    assert_eq!(dispatch::verify(&record, &photo, Some(&station.key.verifying_key())), Ok(()));
    let decoded = image::load_from_memory(&photo).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (640, 480), "the camera's full frame, as JPEG");
    assert!(k.store().shipment("WEB-1042").unwrap().unwrap().dispatched_at.is_some());
    assert_eq!(k.store().unsynced_count().unwrap(), before + 1, "one event queued for the cloud");
    let kinds: Vec<String> = k.store().pending_events(1000).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.last().map(String::as_str), Some("dispatch.recorded"));
    let jobs = k.store().recent_print_jobs(5).unwrap();
    assert!(jobs.iter().any(|j| j.title == "Dispatch slip WEB-1042"), "the slip is queued");
    drop(k);

    // Next parcel: the order left the waiting list and shows, with its photo, as handed over.
    tap(&h.ui, "Next parcel");
    assert_eq!(h.ui.global::<CourierState>().get_step(), 0);
    assert!(shows(&h.ui, "Waiting for a courier (2)"));
    let proofs: Vec<_> = h.ui.global::<CourierState>().get_proofs().iter().collect();
    assert_eq!(proofs.len(), 1);
    assert_eq!(proofs[0].order, "WEB-1042");
    assert!(proofs[0].has_thumb && proofs[0].thumb.size().width <= 160, "a small, checked thumbnail");

    // The photo is changed on disk: the list says so and shows no picture.
    std::fs::write(station.photos.path_of(&record.photo_sha256), b"\xFF\xD8 some other parcel \xFF\xD9").unwrap();
    tab(&h.ui, "Sell");
    tab(&h.ui, "Courier");
    let row = h.ui.global::<CourierState>().get_proofs().row_data(0).unwrap();
    assert!(!row.has_thumb);
    assert_eq!(row.severity, marketday::ui::Severity::Error);
    assert!(row.note.contains("Photo changed since it was taken"), "{}", row.note);
}

#[test]
fn scanning_the_packing_slip_picks_the_order_and_a_label_fills_the_tracking_number() {
    // The camera sees the slip, then the parcel's label, in turn.
    let frames =
        vec![synth::tag_frame(Some("https://shop.example/o/WEB-1041"), 5), synth::tag_frame(Some("JD000223344GB"), 6)];
    let h = start(frames, |_| {});
    assert!(
        until(&h, |ui| ui.global::<CourierState>().get_step() == 1),
        "the slip's QR picked the order: {}",
        h.ui.global::<CourierState>().get_notice()
    );
    assert!(shows(&h.ui, "WEB-1041 · Hana Sato"));
    assert!(
        until(&h, |ui| ui.global::<CourierState>().get_tracking() == "JD000223344GB"),
        "the label's code is the tracking number"
    );
    // The slip, seen again, does not overwrite it (nor is a link taken as a tracking number).
    std::thread::sleep(Duration::from_millis(600));
    h.kiosk.borrow_mut().poll_camera(&h.ui);
    assert_eq!(h.ui.global::<CourierState>().get_tracking(), "JD000223344GB");
}

/// A real full disk: the photo folder is a 16 kB tmpfs, mounted in a mount namespace of this
/// test's own, which the test re-runs itself inside. Unprivileged, that takes a user namespace;
/// where the kernel refuses one (a chroot, Docker's default seccomp profile), root can still
/// make a mount namespace alone. Where neither works the test says so and passes over the
/// check, except under CI, which can and must run it.
#[test]
fn a_full_disk_refuses_the_capture_and_leaves_nothing_half_written() {
    const NAME: &str = "a_full_disk_refuses_the_capture_and_leaves_nothing_half_written";
    if std::env::var_os("MARKETDAY_IN_SMALL_DISK").is_none() {
        let me = std::env::current_exe().unwrap();
        let mut refusals = Vec::new();
        for namespaces in [&["--user", "--map-root-user", "--mount"][..], &["--mount"][..]] {
            let out = std::process::Command::new("unshare")
                .args(namespaces)
                .arg("--")
                .arg(&me)
                .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
                .env("MARKETDAY_IN_SMALL_DISK", "1")
                .output()
                .expect("unshare (util-linux) runs");
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            if !out.status.success() && !text.contains("running 1 test") {
                // unshare itself was refused: the test never started.
                refusals.push(format!("unshare {}: {}", namespaces.join(" "), text.trim()));
                continue;
            }
            assert!(out.status.success(), "inside the namespace:\n{text}");
            assert!(text.contains("1 passed"), "the test ran inside the namespace:\n{text}");
            return;
        }
        let why = refusals.join("; ");
        assert!(std::env::var_os("CI").is_none(), "CI must run the full-disk test, but no mount namespace: {why}");
        eprintln!("SKIPPED {NAME}: this machine allows no private mount namespace ({why})");
        return;
    }
    let h = start(empty_scene(), |data| {
        let photos = data.join("dispatch-photos");
        std::fs::create_dir_all(&photos).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
            .arg(&photos)
            .status()
            .unwrap();
        assert!(status.success(), "mount a small tmpfs");
    });
    tap(&h.ui, "Hand over WEB-1041");
    hand_over(&h, "JD000223344GB");
    assert_eq!(h.ui.global::<CourierState>().get_step(), 3, "still on the photo: nothing was recorded");
    assert!(shows(&h.ui, "storage is full"), "notice: {}", h.ui.global::<CourierState>().get_notice());
    let k = h.kiosk.borrow();
    assert!(k.store().dispatch_proof("WEB-1041").unwrap().is_none());
    assert!(k.store().shipment("WEB-1041").unwrap().unwrap().dispatched_at.is_none(), "still waiting");
    let left: Vec<_> =
        std::fs::read_dir(h.data.join("dispatch-photos")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "no half-written photo left: {left:?}");
}

#[test]
fn a_sale_to_be_posted_joins_the_courier_list() {
    let h = start(empty_scene(), |_| {});
    tab(&h.ui, "Sell");
    tap(&h.ui, demo::serial(5).as_str());
    tap(&h.ui, "Charge");
    tap(&h.ui, "Cash £200.00");
    tap(&h.ui, "Complete sale");
    assert!(shows(&h.ui, "Sale complete"));
    let receipt = h.kiosk.borrow().last_completed().unwrap().receipt.to_string();

    tap(&h.ui, "Post it to the buyer");
    for key in ["A", "N", "A", "Space", "R", "U", "I", "Z"] {
        tap(&h.ui, if key == "Space" { key.to_owned() } else { format!("Key {key}") }.as_str());
    }
    tap(&h.ui, "Add to the courier list");
    assert!(shows(&h.ui, &format!("{receipt} is on the courier list, to post to Ana Ruiz")));
    assert!(touch::buttons(&h.ui, "Post it to the buyer").is_empty(), "posted once");

    tab(&h.ui, "Courier");
    assert!(shows(&h.ui, "Waiting for a courier (4)"));
    let k = h.kiosk.borrow();
    let shipment = k.store().shipment(&receipt).unwrap().expect("on the courier list");
    assert_eq!(shipment.buyer, "Ana Ruiz");
    assert_eq!(shipment.pieces, [demo::serial(5).to_string()]);
    let kinds: Vec<String> = k.store().pending_events(1000).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.last().map(String::as_str), Some("shipment.created"), "the cloud learns of it");
}
