//! A busy stall for an hour, to see whether the kiosk's memory grows
//! (`cargo run --release --example soak -- --minutes 60`).
//!
//! The whole kiosk as `marketday` runs it: the real window drawn by the software renderer
//! through a display loop (timers, then a redraw when something changed), staff and
//! customers tapping buttons by their labels, the print queue on the simulated printer
//! (bytes and a PNG of the paper), the camera playing a tag, the courier's photos kept and
//! signed, and the sync worker pushing everything to the real sync server, which runs in a
//! child process so that its memory is not counted. Every minute it prints the kiosk
//! process's resident memory; at the end, the growth from the end of the first tenth of
//! the run to its end. A figure, not a test: it fails only when a flow does not complete.

use std::cell::RefCell;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Parser;
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use marketday::app::{self, Devices, Kiosk, KioskOptions};
use marketday::config::Config;
use marketday::demo;
use marketday::dispatch::Station;
use marketday::domain::PieceStatus;
use marketday::domain::provenance::token_url;
use marketday::headless::Headless;
use marketday::print::PrinterSetup;
use marketday::store::Store;
use marketday::ui::{AppWindow, CameraView, CourierState, DoneState, Screen, VerifyState};
use marketday_hardware::{PrinterProfile, SimulatedCamera};
use marketday_scan::synth;
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, Rgb8Pixel};

#[path = "../tests/common/touch.rs"]
mod touch;

#[derive(Parser)]
struct Args {
    /// How long to run.
    #[arg(long, default_value_t = 60.0)]
    minutes: f64,
    /// Seconds between memory samples.
    #[arg(long, default_value_t = 60)]
    sample_seconds: u64,
    /// A person's pause between taps, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pace_ms: u64,
    /// Start in the afternoon of a busy day: 100 holds already ended, so the Holds tab's
    /// list (100 rows at most) is full from the start instead of filling during the run.
    #[arg(long)]
    busy_morning: bool,
    /// Internal: serve the sync server from this folder (the child process).
    #[arg(long, hide = true)]
    serve_cloud: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.serve_cloud {
        return serve_cloud(dir);
    }
    let dir = tempfile::Builder::new().prefix("marketday-soak").tempdir()?;
    let mut cloud = Cloud::start(&dir.path().join("cloud"))?;
    let outcome = soak(&args, dir.path(), &cloud);
    cloud.stop();
    if outcome.is_err() {
        eprintln!("kept for a look: {}", dir.keep().display());
    }
    outcome
}

/// The child: the sync server on an ephemeral port, one device registered; prints
/// "PORT TOKEN" and serves until its standard input closes (the parent has gone).
fn serve_cloud(dir: &Path) -> anyhow::Result<()> {
    let state = marketday_cloud::AppState::open(dir, None)?;
    let token = state.db().add_device("K1", demo::MAKER, "Soak stall")?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    println!("{} {token}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    rt.block_on(marketday_cloud::serve(listener, state))?;
    Ok(())
}

struct Cloud {
    child: Child,
    url: String,
    token: String,
}

impl Cloud {
    fn start(dir: &Path) -> anyhow::Result<Cloud> {
        std::fs::create_dir_all(dir)?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve-cloud")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the sync server")?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let (port, token) = line.trim().split_once(' ').context("the sync server did not start")?;
        Ok(Cloud { url: format!("http://127.0.0.1:{port}"), token: token.to_owned(), child })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Counts {
    sales: u64,
    voids: u64,
    returns: u64,
    holds: u64,
    verifications: u64,
    handovers: u64,
    test_pages: u64,
    taps: u64,
    frames: u64,
}

struct Stall {
    headless: Headless,
    frame: Vec<Rgb8Pixel>,
    ui: AppWindow,
    kiosk: Rc<RefCell<Kiosk>>,
    pace: Duration,
    counts: Counts,
    printer_dir: PathBuf,
}

fn soak(args: &Args, dir: &Path, cloud: &Cloud) -> anyhow::Result<()> {
    let headless = Headless::install()?;
    headless.resize(800, 480);
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let mut store = Store::open(&data.join("kiosk.sqlite"))?;
    demo::seed(&mut store, "Soak stall", Utc::now())?;
    if args.busy_morning {
        busy_morning(&mut store)?;
    }
    let mut config = Config::default();
    config.sync.url = Some(cloud.url.clone());
    config.sync.token = Some(cloud.token.clone());
    // The tag the customer holds to the camera; the courier photographs the same scene.
    let tag = token_url(&config.stall.verify_url, &store.certificate(&demo::serial(7))?.context("no certificate")?);
    let printer_dir = dir.join("printer");
    let devices = Devices {
        printer: Some(PrinterSetup::simulated(
            &printer_dir,
            PrinterProfile::builtin("generic-80").context("no such printer profile")?,
            Default::default(),
        )?),
        camera: Some(Box::new(SimulatedCamera::from_frames(vec![synth::tag_frame(Some(&tag), 7)], 1))),
        station: Some(Station::open(&data, "K1", "Soak stall", &config.stall.verify_url)?),
    };
    let options = KioskOptions { demo: true, ..Default::default() };
    let kiosk = Rc::new(RefCell::new(Kiosk::new(store, config, devices, options)));
    let ui = AppWindow::new()?;
    let _timers = app::attach(&ui, kiosk.clone());
    ui.show()?;
    let mut stall = Stall {
        headless,
        frame: Vec::new(),
        ui,
        kiosk,
        pace: Duration::from_millis(args.pace_ms),
        counts: Counts::default(),
        printer_dir,
    };

    let started = Instant::now();
    let run_for = Duration::from_secs_f64(args.minutes * 60.0);
    let every = Duration::from_secs(args.sample_seconds.max(1));
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_sample = Duration::ZERO;
    println!(
        "   min   RSS (KB)  SQLite (KB)  sales  voids  returns  holds  verified  handovers  taps    frames  unsynced"
    );
    let mut cycle = 0u64;
    loop {
        let elapsed = started.elapsed();
        if elapsed >= next_sample {
            let rss = rss_kb()?;
            samples.push(Sample { at: elapsed, rss, sqlite: sqlite_kb() });
            stall.print_sample(elapsed, rss)?;
            next_sample += every;
        }
        if elapsed >= run_for {
            break;
        }
        if let Err(e) = stall.cycle(cycle) {
            let shot = dir.join("failure.png");
            stall.headless.render().write_png(&shot)?;
            return Err(e.context(format!("cycle {cycle}; the screen then: {}", shot.display())));
        }
        cycle += 1;
    }
    stall.summary(&samples)?;
    Ok(())
}

fn busy_morning(store: &mut Store) -> anyhow::Result<()> {
    use marketday::domain::reservation::{Customer, Source};
    use marketday::domain::{ReservationCode, ReservationKind};
    let mut rng = rand::rng();
    for n in 0..100 {
        let now = Utc::now();
        let hold = marketday::store::NewReservation {
            id: uuid::Uuid::now_v7(),
            kind: ReservationKind::Hold,
            source: Source::Stall,
            serial: demo::serial(1),
            customer: Customer::new(&format!("Morning customer {n}"), "07700 900000")?,
            member_id: None,
            expires_at: now + chrono::Duration::hours(2),
        };
        let made = store.create_reservation(&hold, now, || ReservationCode::random(&mut rng), |_| None)?;
        store.release_reservation(made.id, "Changed mind", now)?;
    }
    Ok(())
}

/// What SQLite holds in memory across the process's connections (page caches, schemas,
/// prepared statements): it grows with the database up to each connection's cache size,
/// so it is told apart from the rest of the resident memory.
fn sqlite_kb() -> u64 {
    let (mut current, mut highest) = (0i64, 0i64);
    // SAFETY: sqlite3_status64 only writes the two integers it is given.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_status64(rusqlite::ffi::SQLITE_STATUS_MEMORY_USED, &mut current, &mut highest, 0)
    };
    if rc == rusqlite::ffi::SQLITE_OK { current.max(0) as u64 / 1024 } else { 0 }
}

struct Sample {
    at: Duration,
    rss: u64,
    sqlite: u64,
}

fn rss_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS without a figure")?.parse()?)
}

impl Stall {
    /// The display loop for `d`: a turn about every 16 ms, as a 60 Hz screen's loop.
    fn run_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        loop {
            if self.headless.turn(&mut self.frame) {
                self.counts.frames += 1;
            }
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(16)));
        }
    }

    /// Runs the loop until `done`, or fails after `limit`.
    fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&AppWindow) -> bool) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        while !done(&self.ui) {
            if Instant::now() > deadline {
                bail!("waited {limit:?} for {what}; the screen shows {:?}", self.ui.get_screen());
            }
            self.run_for(Duration::from_millis(16));
        }
        Ok(())
    }

    fn find(&self, label: &str, role: AccessibleRole) -> anyhow::Result<ElementHandle> {
        let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(&self.ui, label)
            .filter(|e| e.accessible_role() == Some(role))
            .collect();
        match found.as_slice() {
            [one] if one.accessible_enabled() != Some(false) => Ok(one.clone()),
            [_] => bail!("{label:?} is disabled"),
            _ => bail!("expected one {role:?} labelled {label:?}, found {}", found.len()),
        }
    }

    /// A finger on the element's centre and off again, then a person's pause.
    fn touch(&mut self, element: &ElementHandle) {
        let (at, size) = (element.absolute_position(), element.size());
        let position = LogicalPosition::new(at.x + size.width / 2.0, at.y + size.height / 2.0);
        let window = self.ui.window();
        let button = PointerEventButton::Left;
        window.dispatch_event(WindowEvent::PointerMoved { position });
        window.dispatch_event(WindowEvent::PointerPressed { position, button });
        self.run_for(Duration::from_millis(60));
        self.ui.window().dispatch_event(WindowEvent::PointerReleased { position, button });
        self.ui.window().dispatch_event(WindowEvent::PointerExited);
        self.counts.taps += 1;
        self.run_for(self.pace);
    }

    fn tap(&mut self, label: &str) -> anyhow::Result<()> {
        let button = self.find(label, AccessibleRole::Button)?;
        self.touch(&button);
        Ok(())
    }

    fn tab(&mut self, label: &str) -> anyhow::Result<()> {
        let tab = self.find(label, AccessibleRole::Tab)?;
        self.touch(&tab);
        Ok(())
    }

    /// Taps a text box, then types on the on-screen keyboard.
    fn type_into(&mut self, field: &str, text: &str) -> anyhow::Result<()> {
        let input = self.find(field, AccessibleRole::TextInput)?;
        self.touch(&input);
        self.keys(text)
    }

    fn keys(&mut self, text: &str) -> anyhow::Result<()> {
        for c in text.chars() {
            match c {
                ' ' => self.tap("Space")?,
                c => self.tap(&format!("Key {}", c.to_ascii_uppercase()))?,
            }
        }
        Ok(())
    }

    fn shows(&self, fragment: &str) -> bool {
        touch::shows(&self.ui, fragment)
    }

    fn sign_in(&mut self) -> anyhow::Result<()> {
        if self.ui.get_screen() != Screen::Idle {
            return Ok(());
        }
        self.tap("Staff sign-in")?;
        for d in demo::DEMO_PIN.chars() {
            self.tap(&d.to_string())?;
        }
        self.tap("Unlock")?;
        self.until("the staff screens", Duration::from_secs(5), |ui| ui.get_screen() != Screen::Idle)
    }

    /// One stretch of a market day: a sale (a fifth of them posted and handed to a
    /// courier, then returned by post; the rest voided, so the drop never sells out), a
    /// hold collected every third, a customer checking a tag every fourth, a test page
    /// and the end-of-day report now and then.
    fn cycle(&mut self, n: u64) -> anyhow::Result<()> {
        self.sign_in()?;
        if self.ui.get_screen() != Screen::Sell {
            self.tab("Sell")?;
        }
        let serial = self.available_piece()?;
        let collected = n % 3 == 1;
        if collected {
            self.hold(&serial)?;
        } else {
            self.tap(&serial)?;
        }
        let receipt = self.sell(&serial)?;
        if collected {
            self.counts.holds += 1;
        }
        if n.is_multiple_of(5) {
            self.post_and_hand_over(&receipt)?;
            self.undo_sale(&receipt, &serial, true)?;
        } else {
            self.tap("New sale")?;
            self.undo_sale(&receipt, &serial, false)?;
        }
        if n % 4 == 3 {
            self.customer_checks_a_tag()?;
        }
        if n % 25 == 24 {
            self.sign_in()?;
            self.tab("Printer")?;
            self.tap("Test page")?;
            // Asks once: the second tap prints it.
            self.tap("End-of-day report")?;
            self.tap("End-of-day report")?;
            self.counts.test_pages += 1;
        }
        Ok(())
    }

    fn available_piece(&self) -> anyhow::Result<String> {
        let k = self.kiosk.borrow();
        let pieces = k.store().drop_pieces(demo::DEMO_DROP)?;
        let piece = pieces.iter().find(|p| p.status == PieceStatus::Available).context("the drop sold out")?;
        Ok(piece.serial.to_string())
    }

    /// Holds the piece in the cart for a customer, then collects it with the slip's code.
    fn hold(&mut self, serial: &str) -> anyhow::Result<()> {
        self.tap(serial)?;
        self.tap(&format!("Hold {serial}"))?;
        self.keys("ana ruiz")?;
        self.type_into("Customer phone or email", "07700 900461")?;
        self.tap("Hold for 2 h")?;
        self.tap("Hold piece")?;
        // The sell screen's notice may already tell of the tag the camera sees (the camera
        // scans for pieces there), so the hold is checked where it lives.
        let code = {
            let k = self.kiosk.borrow();
            let piece = marketday::domain::Serial::parse(serial)?;
            k.store().reservation_for_piece(&piece, Utc::now())?.context("the hold was not made")?.code.to_string()
        };
        self.tab("Holds")?;
        self.tap(&format!("Collect {code}"))?;
        self.until("the collection", Duration::from_secs(5), |ui| ui.get_screen() == Screen::Sell)?;
        if self.find(&format!("Remove {serial}"), AccessibleRole::Button).is_err() {
            bail!("collecting {code} did not put {serial} in the cart");
        }
        Ok(())
    }

    /// Charges the cart (the piece) in cash and waits for the receipt to print.
    fn sell(&mut self, serial: &str) -> anyhow::Result<String> {
        let price = {
            let k = self.kiosk.borrow();
            k.store().piece(&marketday::domain::Serial::parse(serial)?)?.context("no piece")?.price.to_string()
        };
        self.tap("Charge")?;
        self.tap(&format!("Cash {price}"))?;
        self.tap("Complete sale")?;
        self.until("the completed sale", Duration::from_secs(5), |ui| ui.get_screen() == Screen::Done)?;
        let receipt = self.kiosk.borrow().last_completed().context("no sale")?.receipt.to_string();
        self.until("the receipt on paper", Duration::from_secs(30), |ui| {
            ui.global::<DoneState>().get_print_state().contains("Receipt printed")
        })?;
        self.counts.sales += 1;
        Ok(receipt)
    }

    fn post_and_hand_over(&mut self, receipt: &str) -> anyhow::Result<()> {
        self.tap("Post it to the buyer")?;
        self.keys("ana ruiz")?;
        self.tap("Add to the courier list")?;
        self.tab("Courier")?;
        // Four orders wait by now and the newest is below the fold, as on a real day: the
        // worker searches for it rather than tapping a row half off the screen.
        self.type_into("Search orders", receipt)?;
        self.tap("Search keyboard")?;
        self.tap(&format!("Hand over {receipt}"))?;
        self.type_into("Tracking number", &format!("JD{:09}GB", self.counts.handovers))?;
        self.tap("Courier Royal Mail")?;
        self.type_into("Courier's name", "sam patel")?;
        self.tap("Next: take the photo")?;
        self.until("the camera's preview", Duration::from_secs(5), |ui| {
            ui.global::<CameraView>().get_frame().size().width > 0
        })?;
        self.tap("Capture the photo")?;
        self.until("the photo to confirm", Duration::from_secs(10), |ui| ui.global::<CourierState>().get_step() == 3)?;
        self.tap("Use this photo")?;
        self.until("the hand-over committed", Duration::from_secs(10), |ui| {
            ui.global::<CourierState>().get_step() == 4
        })?;
        self.tap("Next parcel")?;
        self.counts.handovers += 1;
        Ok(())
    }

    /// Puts the piece back on sale: returned by post, or the sale voided as keyed in error.
    fn undo_sale(&mut self, receipt: &str, serial: &str, by_post: bool) -> anyhow::Result<()> {
        self.tab("Sales")?;
        self.tap(&format!("Receipt {receipt}"))?;
        if by_post {
            self.tap("Changed mind")?;
            self.tap(&format!("Return {serial}"))?;
            self.until("the return", Duration::from_secs(5), |_| true)?;
            if !self.shows(&format!("{serial} is back on sale")) {
                bail!("returning {serial} was not confirmed");
            }
            self.counts.returns += 1;
        } else {
            self.tap("Keyed in error")?;
            self.tap("Void whole sale")?;
            self.tap("Void whole sale")?;
            if !self.shows("Sale voided") {
                bail!("voiding {receipt} was not confirmed");
            }
            self.counts.voids += 1;
        }
        Ok(())
    }

    /// Staff lock the kiosk; a customer scans a tag and reads the verdict.
    fn customer_checks_a_tag(&mut self) -> anyhow::Result<()> {
        self.tab("Lock")?;
        self.tap("Check a piece is genuine: scan its tag")?;
        self.until("a verdict", Duration::from_secs(10), |ui| ui.global::<VerifyState>().get_shown())?;
        let verdict = self.ui.global::<VerifyState>().get_verdict();
        if !verdict.to_lowercase().contains("genuine") {
            bail!("the demo tag was not found genuine: {verdict}");
        }
        self.run_for(Duration::from_secs(2));
        self.tap("Done: back to the start")?;
        self.counts.verifications += 1;
        Ok(())
    }

    fn print_sample(&self, at: Duration, rss: u64) -> anyhow::Result<()> {
        let c = &self.counts;
        let unsynced = self.kiosk.borrow().store().unsynced_count()?;
        println!(
            "{:>6.1} {:>10} {:>12} {:>6} {:>6} {:>8} {:>6} {:>9} {:>10} {:>5} {:>9} {:>9}",
            at.as_secs_f64() / 60.0,
            rss,
            sqlite_kb(),
            c.sales,
            c.voids,
            c.returns,
            c.holds,
            c.verifications,
            c.handovers,
            c.taps,
            c.frames,
            unsynced
        );
        Ok(())
    }

    fn summary(&self, samples: &[Sample]) -> anyhow::Result<()> {
        let last = samples.last().context("no samples")?;
        // After a tenth of the run the caches (SQLite's pages, glyphs, images) are warm:
        // growth from there on is what a long day would keep adding.
        let warm = samples.iter().find(|s| s.at >= last.at / 10).unwrap_or(&samples[0]);
        let peak = samples.iter().map(|s| s.rss).max().unwrap_or(0);
        let jobs = std::fs::read_dir(&self.printer_dir)?
            .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "bin")))
            .count();
        let k = self.kiosk.borrow();
        println!();
        println!(
            "ran {:.1} min: {} taps, {} frames drawn",
            last.at.as_secs_f64() / 60.0,
            self.counts.taps,
            self.counts.frames
        );
        println!(
            "{} sales ({} collected holds, {} posted and handed over, {} voided, {} returned), {} tags checked, {} print jobs on paper",
            self.counts.sales,
            self.counts.holds,
            self.counts.handovers,
            self.counts.voids,
            self.counts.returns,
            self.counts.verifications,
            jobs
        );
        println!(
            "sync: {} events waiting, {} conflicts",
            k.store().unsynced_count()?,
            k.store().open_conflicts()?.len()
        );
        println!(
            "RSS: {} KB at {:.1} min (warm), {} KB at the end, peak {} KB; growth {:+} KB",
            warm.rss,
            warm.at.as_secs_f64() / 60.0,
            last.rss,
            peak,
            last.rss as i64 - warm.rss as i64
        );
        let rest = |s: &Sample| s.rss as i64 - s.sqlite as i64;
        println!(
            "of which SQLite's caches grew {:+} KB ({} KB to {} KB); the rest {:+} KB",
            last.sqlite as i64 - warm.sqlite as i64,
            warm.sqlite,
            last.sqlite,
            rest(last) - rest(warm)
        );
        Ok(())
    }
}
