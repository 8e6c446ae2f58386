//! `marketday bench`: the figures the README reports, measured on a store seeded with a
//! busy atelier's history. Figures, not pass/fail: nothing here is a timed test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::domain::{Cart, Currency, Money, Serial, Tender, VatRate};
use crate::store::{Store, StoreError};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Pieces in the seeded store.
    #[arg(long, default_value_t = 100_000)]
    pub pieces: u64,
    /// Past sales in the seeded store.
    #[arg(long, default_value_t = 1_000_000)]
    pub sales: u64,
    /// Sales committed (and timed) on top of the history.
    #[arg(long, default_value_t = 2_000)]
    pub commits: u64,
    /// Where to build the store; a temporary folder by default. Put it on the same kind
    /// of disk as production (an SD card on a Pi) for figures that mean something.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Only the printing figures (receipt bytes, time on the wire, preview render).
    #[arg(long)]
    pub print_only: bool,
    /// Only the reservation figures (expiry sweep, search by code and by name).
    #[arg(long)]
    pub reservations_only: bool,
    /// Only the proof-of-dispatch figures: capture to committed record, and photo size.
    #[arg(long)]
    pub dispatch_only: bool,
    /// Only the cost of a tap: SQL statements and time per tap on a Sell tile, through the
    /// window's own event handling (headless), on a store of `--pieces` pieces.
    #[arg(long)]
    pub taps_only: bool,
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<28} n={:<6} p50={:>9.3} ms  p99={:>9.3} ms  max={:>9.3} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// A one-piece cash sale of `serial`, committed through the same path as the Sell screen.
fn sell_one(store: &mut Store, serial: &Serial, device: &str) -> Result<Option<Duration>, StoreError> {
    let Some(piece) = store.piece(serial)? else { return Ok(None) };
    let now = Utc::now();
    let mut cart = Cart::new(Currency::GBP);
    if cart.add(&piece, None, now).is_err() {
        return Ok(None);
    }
    let tenders = vec![Tender::Cash { tendered: Money::new(20_000, Currency::GBP) }];
    let (sale, _) = cart
        .checkout(tenders, VatRate::UK_STANDARD, now, Uuid::now_v7())
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let t = Instant::now();
    store.commit_sale(&sale, device)?;
    Ok(Some(t.elapsed()))
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("marketday-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("bench.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    println!("store: {} ({} pieces, {} past sales)", db.display(), args.pieces, args.sales);
    let mut store = Store::open(&db)?;
    let t = Instant::now();
    store.seed_synthetic_history(args.pieces, args.sales, Utc::now())?;
    println!("seeded in {:.1} s; file {:.0} MB", t.elapsed().as_secs_f64(), file_mb(&db));

    let mut rng = StdRng::seed_from_u64(7);
    let serial = |n: u64| Serial::parse(&format!("BX-{n:07}")).expect("bench serials are valid");

    // Lookups by serial, across the whole catalog.
    let mut lookups = Vec::new();
    for _ in 0..10_000 {
        let s = serial(rng.random_range(1..=args.pieces));
        let t = Instant::now();
        let found = store.piece(&s)?;
        lookups.push(t.elapsed());
        assert!(found.is_some());
    }
    report("piece lookup by serial", lookups);

    // The Sell grid: current drop, its counts and its pieces.
    let mut grids = Vec::new();
    for _ in 0..1_000 {
        let t = Instant::now();
        let drop = store.current_drop(Utc::now())?.context("bench store has a live drop")?;
        let tiles = store.drop_pieces(&drop.drop.id)?;
        grids.push(t.elapsed());
        assert!(!tiles.is_empty());
    }
    report("drop grid query", grids);

    // Sale commits: the available half of the catalog, in random order.
    let mut commits = Vec::new();
    let available_from = args.pieces / 2 + 1;
    let mut tries = 0;
    while (commits.len() as u64) < args.commits && tries < args.commits * 20 {
        tries += 1;
        let s = serial(rng.random_range(available_from..=args.pieces));
        if let Some(d) = sell_one(&mut store, &s, "K1")? {
            commits.push(d);
        }
    }
    report("sale commit (durable)", commits);
    println!("integrity_check: {}", store.integrity_check()?);
    drop(store);

    // Cold start: a fresh process opens this store and renders its first frame headless.
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = {:?}\n[printer]\nkind = \"none\"\n[camera]\nkind = \"none\"\n",
            db.display().to_string()
        ),
    )?;
    let exe = std::env::current_exe()?;
    let mut starts = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = std::process::Command::new(&exe).arg("--config").arg(&config).arg("first-frame").output()?;
        starts.push(t.elapsed());
        anyhow::ensure!(out.status.success(), "first-frame failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(kb) = text.split_whitespace().find_map(|w| w.strip_prefix("peak_rss_kb=")) {
            rss.push(kb.parse::<u64>().unwrap_or(0));
        }
    }
    report("cold start to first frame", starts);
    println!("peak RSS at first frame        max={} KB", rss.iter().max().copied().unwrap_or(0));
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn file_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0)
}

/// Peak resident set size of this process, from the kernel.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Opens the store, builds the kiosk and renders the first frame without a display.
pub fn first_frame(store_path: &Path) -> anyhow::Result<()> {
    use slint::ComponentHandle;
    let t = Instant::now();
    let headless = crate::headless::Headless::install()?;
    let (ui, _kiosk, _timers) = bare_kiosk(Store::open(store_path)?)?;
    headless.resize(800, 480);
    ui.show()?;
    let image = headless.render();
    anyhow::ensure!(image.rgb.iter().any(|&b| b != 0), "first frame is blank");
    println!("first_frame_ms={:.1} peak_rss_kb={}", t.elapsed().as_secs_f64() * 1e3, peak_rss_kb());
    Ok(())
}

type Bare = (crate::ui::AppWindow, std::rc::Rc<std::cell::RefCell<crate::app::Kiosk>>, (slint::Timer, slint::Timer));

/// A kiosk on `store` with no devices and the default config, wired to a window of its own.
fn bare_kiosk(store: Store) -> anyhow::Result<Bare> {
    let devices = crate::app::Devices { printer: None, camera: None, station: None };
    let kiosk = std::rc::Rc::new(std::cell::RefCell::new(crate::app::Kiosk::new(
        store,
        crate::config::Config::default(),
        devices,
        crate::app::KioskOptions::default(),
    )));
    let ui = crate::ui::AppWindow::new()?;
    let timers = crate::app::attach(&ui, kiosk.clone());
    Ok((ui, kiosk, timers))
}

/// The power-cut test's victim: commits random sales from the pieces `TS-000001..`,
/// printing `COMMITTED <seq> <sale id> <lines> <total minor>` after each commit returns,
/// until killed.
pub fn torture_sales(db: &Path, count: u64, seed: u64) -> anyhow::Result<()> {
    let mut store = Store::open(db)?;
    let pieces = store.piece_count()?.max(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let stdout = std::io::stdout();
    let mut empty_carts = 0;
    for _ in 0..count {
        let now = Utc::now();
        let mut cart = Cart::new(Currency::GBP);
        for _ in 0..rng.random_range(1..=3) {
            let s = Serial::parse(&format!("TS-{:06}", rng.random_range(1..=pieces)))?;
            if let Some(p) = store.piece(&s)? {
                let _ = cart.add(&p, None, now);
            }
        }
        if cart.is_empty() {
            // With (nearly) everything sold the writer would spin without a sale to show,
            // and its killer would wait in vain: stop, and say why.
            empty_carts += 1;
            if empty_carts == 10_000 {
                anyhow::bail!("torture-sales: no piece left to sell in {db:?}; give it more pieces");
            }
            continue;
        }
        empty_carts = 0;
        let total = cart.totals(VatRate::UK_STANDARD)?.total;
        let tenders = if rng.random_bool(0.5) && total.minor > 100 {
            let card = Money::new(total.minor / 2, total.currency);
            vec![
                Tender::Card { amount: card, reference: "T".into() },
                Tender::Cash { tendered: Money::new(total.minor - card.minor + 500, total.currency) },
            ]
        } else {
            vec![Tender::Cash { tendered: total }]
        };
        let (sale, _) = cart.checkout(tenders, VatRate::UK_STANDARD, now, Uuid::now_v7())?;
        match store.commit_sale(&sale, "K1") {
            Ok(receipt) => {
                let mut out = stdout.lock();
                writeln!(
                    out,
                    "COMMITTED {} {} {} {}",
                    receipt.seq,
                    sale.id,
                    sale.lines.len(),
                    sale.totals.total.minor
                )?;
                out.flush()?;
            }
            // A piece may already be sold: the store refuses, and that is the point.
            Err(StoreError::Sell(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Expiry sweep with 10,000 active holds, and search by code and by name prefix among
/// 100,000 reservations, on a store of `args.pieces` pieces.
pub fn reservations(args: &BenchArgs) -> anyhow::Result<()> {
    use crate::domain::ReservationCode;
    let dir = tempfile_dir(args)?;
    let db = dir.join("reservations.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut store = Store::open(&db)?;
    let now = Utc::now();
    store.seed_synthetic_history(args.pieces.max(20_000), 0, now)?;
    let mut rng = StdRng::seed_from_u64(11);
    let t = Instant::now();
    let codes = store.seed_synthetic_reservations(100_000, 10_000, chrono::Duration::hours(10), now, || {
        ReservationCode::random(&mut rng)
    })?;
    println!("reservations seeded in {:.1} s (100,000, of which 10,000 active)", t.elapsed().as_secs_f64());

    // The sweep the UI timer runs every second when nothing is due: one index probe.
    let mut idle = Vec::new();
    for _ in 0..1_000 {
        let t = Instant::now();
        let expired = store.expire_reservations(now)?;
        idle.push(t.elapsed());
        anyhow::ensure!(expired.is_empty());
    }
    report("expiry sweep, nothing due, 10,000 active holds", idle);
    // What the Holds tab shows, and reads again every second while it is open: the live
    // holds and the day's ended ones.
    let mut listing = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let rows = store.search_reservations("", now - chrono::Duration::hours(12), now, 100)?;
        listing.push(t.elapsed());
        anyhow::ensure!(rows.len() == 100, "the Holds tab listed {} rows", rows.len());
    }
    report("Holds tab list (100 rows), 10,000 active holds", listing);
    // One hour of holds falling due at once (1,000 of them), then all the rest.
    let t = Instant::now();
    let hour = store.expire_reservations(now + chrono::Duration::hours(1))?.len();
    let one_hour = t.elapsed();
    let t = Instant::now();
    let rest = store.expire_reservations(now + chrono::Duration::hours(11))?.len();
    let all = t.elapsed();
    println!(
        "expiry sweep ending {hour} holds in one transaction: {:.1} ms; the remaining {rest}: {:.1} ms",
        one_hour.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3
    );

    let since = now - chrono::Duration::days(400);
    let mut by_code = Vec::new();
    for i in 0..2_000 {
        let code = &codes[(i * 48_611) % codes.len()];
        let t = Instant::now();
        let found = store.search_reservations(code, since, now, 50)?;
        by_code.push(t.elapsed());
        anyhow::ensure!(found.len() == 1, "code {code} found {} times", found.len());
    }
    report("reservation search by code, 100,000 reservations", by_code);
    let mut by_name = Vec::new();
    for prefix in ["ana", "Ben C", "chl", "Dev Patel 1", "e", "Far", "gus lee 99", "Hana"].iter().cycle().take(2_000) {
        let t = Instant::now();
        let found = store.search_reservations(prefix, since, now, 50)?;
        by_name.push(t.elapsed());
        anyhow::ensure!(!found.is_empty(), "prefix {prefix} found nothing");
    }
    report("reservation search by name prefix (50 rows), 100,000 reservations", by_name);
    Ok(())
}

/// What one tap on a Sell tile costs: the pointer press and release dispatched to the
/// window (headless, 800x480), through the tile's callback, the kiosk's operation and the
/// presenting of the screen. Drawing is not included. Taps alternate: the piece goes into
/// the cart and out again.
pub fn taps(args: &BenchArgs) -> anyhow::Result<()> {
    use slint::ComponentHandle;
    use slint::platform::{PointerEventButton, WindowEvent};

    const TAPS: usize = 1_000;
    let dir = tempfile_dir(args)?;
    let db = dir.join("taps.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut store = Store::open(&db)?;
    // No past sales: the synthetic history sells the first half of the catalog, the live
    // drop's pieces among them, and a tap should put a piece in the cart and take it out.
    let sales = 0;
    store.seed_synthetic_history(args.pieces, sales, Utc::now())?;
    store.set_pin_hash(&crate::app::auth::hash_pin("1234")?)?;
    let drop = store.current_drop(Utc::now())?.context("bench store has a live drop")?;
    // An available piece among the six tiles on screen at 800x480 (three columns, two rows).
    let (index, first) = store
        .drop_pieces(&drop.drop.id)?
        .into_iter()
        .enumerate()
        .take(6)
        .find(|(_, t)| t.status == crate::domain::PieceStatus::Available)
        .context("an available piece among the live drop's first six")?;
    let statements = store.count_statements();

    let headless = crate::headless::Headless::install()?;
    let (ui, kiosk, _timers) = bare_kiosk(store)?;
    headless.resize(800, 480);
    ui.show()?;
    kiosk.borrow_mut().unlock("1234");
    kiosk.borrow_mut().present(&ui);
    anyhow::ensure!(ui.get_screen() == crate::ui::Screen::Sell, "the bench kiosk did not unlock");
    let _ = headless.render();

    // Its tile's centre at 800x480: the grid starts right of the rail, cells 136 px apart.
    let (column, row) = ((index % 3) as f32, (index / 3) as f32);
    let position = slint::LogicalPosition::new(168.0 + column * 136.3, 270.0 + row * 134.0);
    let button = PointerEventButton::Left;
    let (mut times, mut counts) = (Vec::with_capacity(TAPS), Vec::with_capacity(TAPS));
    for n in 0..TAPS {
        let before = statements.load(std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        ui.window().dispatch_event(WindowEvent::PointerPressed { position, button });
        ui.window().dispatch_event(WindowEvent::PointerReleased { position, button });
        times.push(t.elapsed());
        counts.push(statements.load(std::sync::atomic::Ordering::Relaxed) - before);
        let in_cart = slint::Model::row_count(&ui.global::<crate::ui::SellState>().get_cart());
        anyhow::ensure!(in_cart == (n + 1) % 2, "tap {n} on {} did not toggle it (cart {in_cart})", first.serial);
    }
    println!(
        "Sell tile tap, {} pieces in the store, {} past sales (tile {}, {TAPS} taps):",
        args.pieces, sales, first.serial
    );
    report("tap: callback, operation, present", times);
    counts.sort_unstable();
    let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    println!(
        "  SQL statements per tap         min={} p50={} max={} mean={mean:.1}",
        counts[0],
        counts[counts.len() / 2],
        counts[counts.len() - 1]
    );
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn tempfile_dir(args: &BenchArgs) -> anyhow::Result<std::path::PathBuf> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("marketday-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Used by the dispatch power-cut test: hands every waiting order in the data directory to
/// a courier, photo from a simulated camera, printing each one once it is committed.
pub fn torture_dispatch(data_dir: &Path) -> anyhow::Result<()> {
    use crate::dispatch::{Station, record_handover, remove_orphan_photos};
    use crate::domain::dispatch::Handover;
    use marketday_hardware::Camera;

    let mut store = Store::open(&data_dir.join("kiosk.sqlite"))?;
    let station = Station::open(data_dir, "K1", "Test stall", "https://verify.example")?;
    remove_orphan_photos(&mut store, &station.photos)?;
    let mut camera = marketday_hardware::SimulatedCamera::test_pattern(640, 480);
    let stdout = std::io::stdout();
    for shipment in store.shipments_awaiting("")? {
        let still = camera.still()?;
        let handover = Handover {
            order: shipment.id.clone(),
            pieces: shipment.pieces.clone(),
            tracking_number: format!("TT{}", shipment.id.replace('-', "")),
            courier: "Test Courier".into(),
            courier_name: "Sam".into(),
        };
        let now = Utc::now();
        let record = record_handover(&mut store, &station, handover, &still.jpeg, now, now)?;
        let mut out = stdout.lock();
        writeln!(out, "DISPATCHED {} {}", record.order, record.photo_sha256)?;
        out.flush()?;
    }
    Ok(())
}

/// Capture to committed proof of dispatch, for a 1280x720 and a 1920x1080 still: JPEG
/// encode, SHA-256, signature, photo fsynced and renamed, record committed.
pub fn dispatch(args: &BenchArgs) -> anyhow::Result<()> {
    use crate::dispatch::{Station, record_handover};
    use crate::domain::dispatch::Handover;
    use crate::store::Shipment;
    use marketday_scan::synth::{self, Category};

    const HANDOVERS: usize = 30;
    let dir = tempfile_dir(args)?.join("dispatch");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut store = Store::open(&dir.join("kiosk.sqlite"))?;
    let station = Station::open(&dir, "K1", "Bench stall", "https://verify.example")?;
    // A cluttered generated scene (grey, as the scanner's frames are), scaled for 1080p.
    let scene = synth::sample(Category::Noisy, 1).frame;
    println!("Proof of dispatch, capture to committed ({HANDOVERS} hand-overs each, store in {}):", dir.display());
    let mut order = 0;
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let img = image::GrayImage::from_raw(scene.width, scene.height, scene.luma.clone()).context("scene size")?;
        let img = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
        let frame = marketday_hardware::Frame { width: w, height: h, luma: img.into_raw() };
        let (mut encode, mut total, mut size) = (Vec::new(), Vec::new(), 0);
        for i in 0..HANDOVERS {
            order += 1;
            let id = format!("B-{order:05}");
            let now = Utc::now();
            let pieces = vec![format!("AT-2026-{order:04}")];
            store.add_shipment(&Shipment {
                id: id.clone(),
                sale_id: None,
                buyer: "Bench".into(),
                pieces: pieces.clone(),
                created_at: now,
                dispatched_at: None,
            })?;
            let mut frame = frame.clone();
            frame.luma[i] ^= 0xFF; // every photo different, as real ones are
            let started = Instant::now();
            let jpeg = marketday_hardware::encode_jpeg(&frame)?;
            encode.push(started.elapsed());
            let handover = Handover {
                order: id,
                pieces,
                tracking_number: format!("JD{order:010}GB"),
                courier: "Royal Mail".into(),
                courier_name: "Sam".into(),
            };
            record_handover(&mut store, &station, handover, &jpeg, now, now)?;
            total.push(started.elapsed());
            size = jpeg.len();
        }
        report(&format!("{w}x{h} JPEG encode"), encode);
        report(&format!("{w}x{h} capture to commit"), total);
        println!("{:<28} {} kB (grey, quality 85)", format!("{w}x{h} photo size"), size / 1000);
    }
    Ok(())
}
