//! `marketday`: the kiosk and its maintenance commands.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Parser, Subcommand};
use slint::ComponentHandle;

use marketday::app::{self, Devices, Kiosk, KioskOptions};
use marketday::config::{self, CameraKind, Config, PrinterKind};
use marketday::print::{LabelSize, LayoutOptions, PrinterSetup};
use marketday::store::Store;
use marketday::{catalog_import, demo, screenshots};

#[derive(Parser)]
#[command(name = "marketday", version, about = "Point-of-sale kiosk for serialized jewellery drops")]
struct Cli {
    /// Configuration file. Without one (and none in /etc/marketday or ~/.config/marketday),
    /// the kiosk runs the demo stall.
    #[arg(long, global = true, env = "MARKETDAY_CONFIG")]
    config: Option<PathBuf>,
    /// Where the database and simulated devices keep their files.
    #[arg(long, global = true, env = "MARKETDAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk (the default).
    Run,
    /// Delete the demo database and seed a fresh demo stall.
    DemoReset,
    /// Set the staff PIN (read from standard input: 4-8 digits).
    SetPin,
    /// Catalog maintenance.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Render every screen, landscape and portrait, to PNG files in DIR.
    Screenshots { dir: PathBuf },
    /// Render sample receipts, stickers and Z reports (58 and 80 mm) to .bin and .png in DIR.
    PrintSamples { dir: PathBuf },
    /// Queue a test page on the configured printer and wait for it to print.
    PrintTest,
    /// Sync with the cloud without the kiosk's window: one round (exit status 0 only if it
    /// finished), or with --watch a round every `sync.interval_seconds` until stopped.
    Sync {
        /// Keep syncing, sooner after a failure, as the kiosk does.
        #[arg(long)]
        watch: bool,
        /// One JSON object per round on standard output, for scripts and monitoring.
        #[arg(long)]
        json: bool,
    },
    /// Measure sale commits, lookups and start-up on a large store.
    Bench(marketday::bench::BenchArgs),
    /// Print the documented example configuration.
    ConfigExample,
    /// Atelier keys and signed certificates.
    Provenance {
        #[command(subcommand)]
        command: marketday::provenance::cli::ProvenanceCommand,
    },
    /// Check a piece's certificate: a token, its URL, or a photo of its tag (PNG/JPEG).
    /// Exit status 0 only when genuine.
    Verify { input: String },
    /// Courier hand-overs: check or export a proof of dispatch, the device key, orders waiting.
    Dispatch {
        #[command(subcommand)]
        command: marketday::dispatch::cli::DispatchCommand,
    },
    /// Used by the power-cut test: commit sales in a loop, printing each committed one.
    #[command(hide = true)]
    TortureSales {
        db: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Used by the dispatch power-cut test: hand every waiting order over, printing each.
    #[command(hide = true)]
    TortureDispatch { data_dir: PathBuf },
    /// Checks without a screen that this machine runs the kiosk: opens the store, renders the
    /// sample printouts and the first frame with the software renderer. Exit status 0 only
    /// when all of it worked.
    SelfTest,
    /// Used by the start-up benchmark: open the store, render the first frame headless, exit.
    #[command(hide = true)]
    FirstFrame,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import pieces from a CSV file; every bad row is reported and nothing is imported
    /// unless all rows are good.
    Import { file: PathBuf },
    /// Add or update a drop.
    AddDrop {
        id: String,
        name: String,
        /// Opening time, RFC 3339 (2026-11-21T09:00:00Z).
        #[arg(long)]
        opens: chrono::DateTime<chrono::FixedOffset>,
        /// Hours after opening reserved for waitlist members.
        #[arg(long, default_value_t = 48)]
        members_hours: i64,
        #[arg(long)]
        closes: chrono::DateTime<chrono::FixedOffset>,
        /// Pieces one member may buy in the members' window (0: no limit).
        #[arg(long, default_value_t = 1)]
        member_limit: u32,
    },
}

/// Where the kiosk's settings and files come from.
struct Setup {
    config: Config,
    data_dir: PathBuf,
    store_path: PathBuf,
    demo: bool,
}

/// Where the installed kiosk (the .deb, install.sh) keeps its config and its data.
const SYSTEM_CONFIG: &str = "/etc/marketday/config.toml";
const SYSTEM_DATA: &str = "/var/lib/marketday";

fn default_data_dir() -> anyhow::Result<PathBuf> {
    directories::ProjectDirs::from("", "", "marketday")
        .map(|d| d.data_dir().to_owned())
        .context("cannot find a home directory for the data; pass --data-dir")
}

fn setup(cli: &Cli) -> anyhow::Result<Setup> {
    let found = cli.config.clone().or_else(|| {
        let mut candidates = vec![PathBuf::from(SYSTEM_CONFIG)];
        if let Some(d) = directories::ProjectDirs::from("", "", "marketday") {
            candidates.insert(0, d.config_dir().join("config.toml"));
        }
        candidates.into_iter().find(|p| p.exists())
    });
    // The installed kiosk's own config means its data too, so `sudo -u marketday marketday
    // set-pin` works on the store the service uses.
    let system = found.as_deref() == Some(Path::new(SYSTEM_CONFIG)) && Path::new(SYSTEM_DATA).is_dir();
    let data_dir = match &cli.data_dir {
        Some(d) => d.clone(),
        None if system => PathBuf::from(SYSTEM_DATA),
        None => default_data_dir()?,
    };
    let (config, demo) = match found {
        Some(path) => (Config::load(&path)?, false),
        None => {
            let mut c = Config::default();
            c.stall.name = "Atelier Thorne · Demo stall".into();
            (c, true)
        }
    };
    let store_path = match (&config.store.path, demo) {
        (Some(p), _) => p.clone(),
        (None, true) => data_dir.join("demo.sqlite"),
        (None, false) => data_dir.join("kiosk.sqlite"),
    };
    Ok(Setup { config, data_dir, store_path, demo })
}

fn open_store(setup: &Setup) -> anyhow::Result<Store> {
    if let Some(parent) = setup.store_path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let fresh = !setup.store_path.exists();
    let mut store = Store::open(&setup.store_path)?;
    // A store that opens can still be damaged inside (a card that lost pages): nothing may
    // be committed into it. The quick check reads every page without cross-checking indexes.
    if !fresh {
        // A check that cannot even run (a header page gone) is a verdict too.
        let verdict = store.quick_check().unwrap_or_else(|e| e.to_string());
        if verdict != "ok" {
            bail!(damaged(setup, &verdict));
        }
    }
    if setup.demo && fresh {
        demo::seed(&mut store, &setup.config.stall.name, Utc::now())?;
        tracing::info!(path = %setup.store_path.display(), "seeded the demo stall");
    } else if setup.demo {
        demo::refresh(&mut store, Utc::now())?;
    }
    Ok(store)
}

fn devices(setup: &Setup, store: &mut Store) -> anyhow::Result<Devices> {
    let printer = printer_setup(setup)?;
    let config = &setup.config.camera;
    let camera: Option<Box<dyn marketday_hardware::Camera>> = match config.kind {
        CameraKind::None => None,
        CameraKind::Simulated => Some(Box::new(match &config.folder {
            Some(folder) => marketday_hardware::SimulatedCamera::from_folder(folder)?,
            // The demo camera shows the demo pieces' tags in turn, and one forged tag.
            None => marketday_hardware::SimulatedCamera::from_frames(
                demo::camera_frames(store, &setup.config.stall.verify_url),
                45,
            ),
        })),
        #[cfg(feature = "camera-v4l2")]
        CameraKind::Usb => Some(Box::new(marketday_hardware::usb_camera::UsbCamera::new(
            config.device.clone(),
            (config.width, config.height),
        ))),
        #[cfg(not(feature = "camera-v4l2"))]
        CameraKind::Usb => anyhow::bail!(
            "camera.kind = \"usb\" needs a build with the USB camera: \
             cargo run --release --features camera-v4l2 (which needs libclang-dev to build), \
             or set camera.kind = \"none\" to type serials"
        ),
    };
    // The device key is made on first start; a power cut between a dispatch photo and its
    // record leaves an orphan photo, removed here.
    let stall = &setup.config.stall;
    let station =
        marketday::dispatch::Station::open(&setup.data_dir, &stall.device_id, &stall.name, &stall.verify_url)?;
    marketday::dispatch::remove_orphan_photos(store, &station.photos)?;
    Ok(Devices { printer, camera, station: Some(station) })
}

/// The configured printer, its profile and what goes on every receipt.
fn printer_setup(setup: &Setup) -> anyhow::Result<Option<PrinterSetup>> {
    use marketday_hardware::{Bitmap, FilePrinter, Printer, SerialPrinter, SerialSettings, SimulatedPrinter};
    let c = &setup.config.printer;
    // Already validated when the config was loaded.
    let profile = setup.config.printer_profile().map_err(|(key, problem)| anyhow::anyhow!("`{key}` {problem}"))?;
    let port = || c.path.clone().context("`printer.path` is not set");
    let printer: Box<dyn Printer> = match c.kind {
        PrinterKind::None => return Ok(None),
        PrinterKind::Simulated => {
            let dir = c.output_dir.clone().unwrap_or_else(|| setup.data_dir.join("printer"));
            Box::new(SimulatedPrinter::new(&dir, profile.clone())?)
        }
        PrinterKind::Serial => {
            let mut settings = SerialSettings::new(&port()?.to_string_lossy(), c.baud);
            settings.profile = Some(profile.clone());
            settings.flow_control = match c.flow_control {
                config::FlowControl::None => marketday_hardware::FlowControl::None,
                config::FlowControl::Hardware => marketday_hardware::FlowControl::Hardware,
                config::FlowControl::Software => marketday_hardware::FlowControl::Software,
            };
            Box::new(SerialPrinter::new(settings))
        }
        PrinterKind::File => Box::new(FilePrinter::new(&port()?)),
    };
    let (logo_w, logo_h) = marketday::print::LOGO_BOX;
    let logo = match &c.logo {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("`printer.logo`: cannot read {}", path.display()))?;
            Some(
                Bitmap::from_png(&bytes, logo_w, logo_h)
                    .with_context(|| format!("`printer.logo` {}", path.display()))?,
            )
        }
        None if setup.demo => Some(Bitmap::from_png(marketday::demo::LOGO_PNG, logo_w, logo_h)?),
        None => None,
    };
    let layout = LayoutOptions {
        logo,
        cash_drawer: c.cash_drawer,
        label: LabelSize { width_mm: c.label_width_mm, height_mm: c.label_height_mm },
        footer: setup.config.stall.receipt_footer.clone(),
        language: setup.config.stall.language,
    };
    Ok(Some(PrinterSetup { printer, profile, layout }))
}

/// Queues a test page and follows it until it prints or the printer says why it cannot.
fn print_test(setup: &Setup) -> anyhow::Result<std::process::ExitCode> {
    let mut store = open_store(setup)?;
    let Some(printer) = printer_setup(setup)? else {
        anyhow::bail!("no printer is configured (`printer.kind = \"none\"`)");
    };
    let queue = marketday::print::PrintQueue::start(store.path(), printer, std::time::Duration::from_millis(500))?;
    let page = marketday::domain::printout::Printout::Test { stall: setup.config.stall.name.clone(), at: Utc::now() };
    let id = store.enqueue_prints(&[page], Utc::now())?[0];
    queue.wake();
    // Patience is counted from the last sign of progress: a page going out over a slow line
    // is not a failure, and is left to finish rather than held half-way.
    let patience = std::time::Duration::from_secs(20);
    let mut deadline = std::time::Instant::now() + patience;
    let mut last_state = None;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let job = store.print_job(id)?.context("the test page job vanished")?;
        let status = queue.status();
        if job.state == marketday::store::JobState::Printed {
            println!("Test page printed on {} ({})", status.printer, marketday::print::advice(&status.status));
            return Ok(std::process::ExitCode::SUCCESS);
        }
        if last_state != Some((job.state, job.attempts)) {
            last_state = Some((job.state, job.attempts));
            deadline = std::time::Instant::now() + patience;
        }
        if job.state == marketday::store::JobState::Held {
            eprintln!("The test page did not print: {}", job.last_error.unwrap_or_else(|| "held".into()));
            return Ok(std::process::ExitCode::FAILURE);
        }
        if std::time::Instant::now() > deadline {
            let why = status.blocked.unwrap_or_else(|| marketday::print::advice(&status.status));
            if job.state == marketday::store::JobState::Printing {
                eprintln!("The test page is still going out to {} after {patience:?}: {why}.", status.printer);
                eprintln!("It will finish printing; check the printer's line speed (`printer.baud`).");
                return Ok(std::process::ExitCode::FAILURE);
            }
            // Only the test page: a customer's receipt queued meanwhile still prints. Held, it
            // cannot print by surprise later.
            store.hold_print_if_queued(id, &format!("Test page did not print: {why}"))?;
            eprintln!("The test page did not print: {why}. It is held on the Printer tab.");
            return Ok(std::process::ExitCode::FAILURE);
        }
    }
}

fn run(setup: Setup) -> anyhow::Result<()> {
    let mut store = open_store(&setup)?;
    // The desktop build needs a desktop session for its window. Without one (SSH, a
    // container, a fresh machine with no desktop) it proves what it can and says what to do,
    // rather than failing as if it were broken.
    if cfg!(not(feature = "kms")) && !has_desktop_session() {
        drop(store);
        marketday::bench::first_frame(&setup.store_path)?;
        println!(
            "No display: neither DISPLAY nor WAYLAND_DISPLAY is set, so there is no desktop session \
             to open the kiosk's window in. The store at {} opens and the first screen draws \
             headless (above). Run `cargo run --release` from a desktop session to use the kiosk, or \
             `cargo run --release -- screenshots DIR` to render every screen to PNG.",
            setup.store_path.display()
        );
        return Ok(());
    }
    let devices = devices(&setup, &mut store)?;
    let display = setup.config.display.clone();
    let options = KioskOptions { demo: setup.demo, ..Default::default() };
    let kiosk = Rc::new(RefCell::new(Kiosk::new(store, setup.config, devices, options)));
    let ui = marketday::ui::AppWindow::new().context(
        "cannot open a window: no display was found. Run the kiosk from a desktop session \
         (or under the Pi's kiosk service); `marketday screenshots DIR` renders without one",
    )?;
    let (w, h) = display.window_size(None);
    ui.window().set_size(slint::LogicalSize::new(w as f32, h as f32));
    #[cfg(feature = "desktop")]
    fit_window_to_screen(&ui, display);
    let _timers = app::attach(&ui, kiosk);
    // Under systemd: ready once the loop turns, alive while it does (a frozen screen gets the
    // kiosk restarted), and a stop that lets the print job and sync step in progress finish:
    // the kiosk and its workers are dropped after the loop ends.
    slint::invoke_from_event_loop(|| marketday::systemd::notify("READY=1"))?;
    let watchdog = slint::Timer::default();
    if let Some(every) = marketday::systemd::watchdog_interval() {
        watchdog.start(slint::TimerMode::Repeated, every, || marketday::systemd::notify("WATCHDOG=1"));
    }
    stop_on_signals()?;
    ui.run()?;
    tracing::info!("stopping: finishing the print job and sync step in progress");
    Ok(())
}

/// Sizes the desktop window for the screen it opened on, once that is known: a portrait screen
/// gets the portrait layout rather than a landscape window cut off at its edge.
#[cfg(feature = "desktop")]
fn fit_window_to_screen(ui: &marketday::ui::AppWindow, display: marketday::config::DisplayConfig) {
    use slint::winit_030::WinitWindowAccessor;
    let weak = ui.as_weak();
    // The winit window, and so its monitor, exists only once the event loop has started.
    let fit = async move {
        let Some(ui) = weak.upgrade() else { return };
        let Ok(window) = ui.window().winit_window().await else { return };
        let screen = window.current_monitor().map(|m| {
            let size = m.size().to_logical::<f64>(m.scale_factor());
            (size.width as u32, size.height as u32)
        });
        let (w, h) = display.window_size(screen);
        tracing::info!(?screen, w, h, "window sized for the screen");
        ui.window().set_size(slint::LogicalSize::new(w as f32, h as f32));
    };
    if let Err(e) = slint::spawn_local(fit) {
        tracing::warn!("cannot size the window for the screen: {e}");
    }
}

/// SIGTERM (systemd's stop), SIGINT and SIGHUP end the UI loop instead of the process.
fn stop_on_signals() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            tracing::info!(signal, "asked to stop");
            marketday::systemd::notify("STOPPING=1");
            let _ = slint::invoke_from_event_loop(|| {
                let _ = slint::quit_event_loop();
            });
        }
    })?;
    Ok(())
}

/// What staff are told about a damaged store.
fn damaged(setup: &Setup, verdict: &str) -> String {
    format!(
        "the store {} is damaged ({verdict}): nothing more is written to it. Keep the file, restore the newest \
         backup in its place or ask for help, and only then sell on this kiosk",
        setup.store_path.display()
    )
}

fn self_test(setup: &Setup) -> anyhow::Result<()> {
    let store = open_store(setup)?;
    // open_store's quick check, and here the full one: indexes against their tables too.
    let integrity = store.integrity_check().unwrap_or_else(|e| e.to_string());
    if integrity != "ok" {
        bail!(damaged(setup, &integrity));
    }
    println!("store: {} opens, {} pieces, integrity ok", setup.store_path.display(), store.piece_count()?);
    drop(store);
    let dir = std::env::temp_dir().join(format!("marketday-self-test-{}", std::process::id()));
    let printed = marketday::print::samples::render(&dir, Utc::now());
    let _ = std::fs::remove_dir_all(&dir);
    println!("printouts: {} rendered (receipts, stickers, reports; 58 and 80 mm)", printed?.len());
    marketday::bench::first_frame(&setup.store_path)?;
    println!("self-test passed");
    Ok(())
}

/// `marketday sync`: the kiosk's sync rounds, headless, said in words or as JSON.
fn sync_command(setup: &Setup, watch: bool, json: bool) -> anyhow::Result<std::process::ExitCode> {
    use marketday::sync::{Attempt, Round, next_wait, round_into};
    let sync = &setup.config.sync;
    let url = sync.url.clone().context("no cloud is configured: set `url` and `token` under [sync]")?;
    let ca = match &sync.ca_file {
        Some(file) => {
            Some(std::fs::read(file).with_context(|| format!("cannot read sync.ca_file {}", file.display()))?)
        }
        None => None,
    };
    let token = sync.token.clone().unwrap_or_default();
    let client =
        marketday::sync::client::Client::trusting(&url, &token, std::time::Duration::from_secs(30), ca.as_deref())?;
    let mut store = open_store(setup)?;
    let stall = &setup.config.stall;
    let station =
        marketday::dispatch::Station::open(&setup.data_dir, &stall.device_id, &stall.name, &stall.verify_url)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let interval = std::time::Duration::from_secs(sync.interval_seconds.into());
    let mut failures = 0;
    loop {
        let mut done = Round::default();
        let result = runtime.block_on(round_into(&mut store, &client, Some(&station.photos), &mut done));
        let (events_waiting, photos_waiting) = (store.unsynced_count()?, store.photos_to_upload()?.len());
        let error = result.as_ref().err().map(ToString::to_string);
        if json {
            let line = serde_json::json!({
                "at": Utc::now().to_rfc3339(),
                "ok": result.is_ok(),
                "error": error,
                "delivered": done.delivered,
                "refused": done.refused,
                "pulled": done.pulled,
                "photos_uploaded": done.photos,
                "events_waiting": events_waiting,
                "photos_waiting": photos_waiting,
                "clock_skew_seconds": client.clock_skew(),
            });
            println!("{line}");
        } else {
            let got = format!(
                "{} events delivered ({} refused), {} changes applied, {} photos uploaded",
                done.delivered, done.refused, done.pulled, done.photos
            );
            let waiting = format!("{events_waiting} events and {photos_waiting} photos still to send");
            match &error {
                None => println!("Synced with {url}: {got}; {waiting}."),
                Some(e) => println!("Sync with {url} failed: {e}. Before that: {got}; {waiting}."),
            }
        }
        if !watch {
            return Ok(if result.is_ok() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE });
        }
        let progressed = done.progressed();
        std::thread::sleep(next_wait(&mut failures, Attempt::of(&result, progressed), interval));
    }
}

/// Whether winit can find a display server: the variables an X11 or Wayland session sets.
fn has_desktop_session() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn set_pin(setup: &Setup) -> anyhow::Result<()> {
    let mut store = open_store(setup)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let hash = app::auth::hash_pin(line.trim())?;
    store.set_pin_hash(&hash)?;
    println!("Staff PIN set.");
    Ok(())
}

fn demo_reset(setup: &Setup) -> anyhow::Result<()> {
    if !setup.demo {
        bail!("refusing to reset: a configuration file is in use, so this is not the demo store");
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", setup.store_path.display()));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", p.display())),
        }
    }
    open_store(setup)?;
    println!("Demo stall reset: {}", setup.store_path.display());
    Ok(())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "marketday=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let setup = || setup(&cli);
    match &cli.command {
        None | Some(Command::Run) => run(setup()?)?,
        Some(Command::DemoReset) => demo_reset(&setup()?)?,
        Some(Command::SetPin) => set_pin(&setup()?)?,
        Some(Command::ConfigExample) => print!("{}", config::EXAMPLE),
        Some(Command::Screenshots { dir }) => {
            for path in screenshots::render_all(dir)? {
                println!("{}", path.display());
            }
        }
        Some(Command::Catalog { command: CatalogCommand::Import { file } }) => {
            let s = setup()?;
            let mut store = open_store(&s)?;
            let report = catalog_import::import_file(&mut store, file, s.config.currency(), Utc::now())?;
            if !report.errors.is_empty() {
                for e in &report.errors {
                    eprintln!("{e}");
                }
                eprintln!(
                    "{} bad row(s): nothing was imported. Fix them and run the import again.",
                    report.errors.len()
                );
                return Ok(std::process::ExitCode::FAILURE);
            }
            println!("Imported {} piece(s).", report.imported);
        }
        Some(Command::Catalog {
            command: CatalogCommand::AddDrop { id, name, opens, members_hours, closes, member_limit },
        }) => {
            let s = setup()?;
            let mut store = open_store(&s)?;
            let opens = opens.with_timezone(&Utc);
            let drop = marketday::domain::Drop {
                id: id.clone(),
                name: name.clone(),
                opens_at: opens,
                general_sale_at: opens + chrono::Duration::hours(*members_hours),
                closes_at: closes.with_timezone(&Utc),
                member_limit: *member_limit,
            };
            if drop.general_sale_at > drop.closes_at || *members_hours < 0 {
                bail!("the members-only window must end before the drop closes");
            }
            store.add_drop(&drop, Utc::now())?;
            println!("Drop {id} saved.");
        }
        Some(Command::Bench(args)) => {
            if args.taps_only {
                marketday::bench::taps(args)?;
                return Ok(ExitCode::SUCCESS);
            }
            if args.dispatch_only {
                marketday::bench::dispatch(args)?;
                return Ok(ExitCode::SUCCESS);
            }
            if !args.reservations_only {
                marketday::print::samples::bench(Utc::now())?;
                marketday::print::samples::sale_to_paper(Utc::now())?;
            }
            if !args.print_only {
                marketday::bench::reservations(args)?;
            }
            if !args.print_only && !args.reservations_only {
                marketday::bench::run(args)?
            }
        }
        Some(Command::PrintSamples { dir }) => {
            for path in marketday::print::samples::render(dir, Utc::now())? {
                println!("{}", path.display());
            }
        }
        Some(Command::PrintTest) => return print_test(&setup()?),
        Some(Command::Provenance { command }) => {
            let s = setup()?;
            let mut store = open_store(&s)?;
            marketday::provenance::cli::run(command, &mut store, &s.config.stall.verify_url)?;
        }
        Some(Command::Dispatch { command }) => {
            let setup = setup()?;
            let mut store = open_store(&setup)?;
            return marketday::dispatch::cli::run(command, &mut store, &setup.data_dir);
        }
        Some(Command::Verify { input }) => {
            let store = open_store(&setup()?)?;
            return marketday::provenance::cli::verify(&store, input);
        }
        Some(Command::TortureSales { db, count, seed }) => marketday::bench::torture_sales(db, *count, *seed)?,
        Some(Command::TortureDispatch { data_dir }) => marketday::bench::torture_dispatch(data_dir)?,
        Some(Command::FirstFrame) => marketday::bench::first_frame(&setup()?.store_path)?,
        Some(Command::SelfTest) => self_test(&setup()?)?,
        Some(Command::Sync { watch, json }) => return sync_command(&setup()?, *watch, *json),
    }
    Ok(ExitCode::SUCCESS)
}
