//! The print worker: one thread that owns the printer, polls its status, and prints the
//! store's queued jobs oldest first.
//!
//! It has its own SQLite connection, so the UI thread never waits on a serial port, and
//! the job table is the only hand-over: a job the UI queued (with its sale) is printed
//! even if the app restarts first. The UI reads a [`QueueStatus`] snapshot.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use marketday_hardware::{Printer, PrinterError, PrinterProfile, PrinterStatus, encode};

use super::layout::{LayoutOptions, layout};
use crate::store::{PrintJob, Store, StoreError};

/// A printer and how to lay out for it.
pub struct PrinterSetup {
    pub printer: Box<dyn Printer>,
    pub profile: PrinterProfile,
    pub layout: LayoutOptions,
}

impl PrinterSetup {
    /// The simulated printer writing jobs and PNG previews into `dir`.
    pub fn simulated(dir: &Path, profile: PrinterProfile, layout: LayoutOptions) -> Result<PrinterSetup, PrinterError> {
        let printer = Box::new(marketday_hardware::SimulatedPrinter::new(dir, profile.clone())?);
        Ok(PrinterSetup { printer, profile, layout })
    }
}

/// What the UI shows about printing.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStatus {
    pub printer: String,
    pub status: PrinterStatus,
    /// Jobs waiting to print (held ones not counted).
    pub waiting: u64,
    /// Why the oldest waiting job has not printed, in words for staff.
    pub blocked: Option<String>,
    /// Jobs held for staff (cut off twice, or refused by the printer).
    pub held: u64,
    /// Jobs printed since start.
    pub printed: u64,
    /// False until the worker has asked the printer once.
    pub checked: bool,
}

enum Command {
    Wake,
    Stop,
}

pub struct PrintQueue {
    commands: Sender<Command>,
    status: Arc<Mutex<QueueStatus>>,
    worker: Option<JoinHandle<()>>,
    profile: PrinterProfile,
}

/// What staff should do about a printer state.
pub fn advice(status: &PrinterStatus) -> String {
    match status {
        PrinterStatus::Ready => "Printer ready".into(),
        PrinterStatus::PaperLow => "Paper low: change the roll soon".into(),
        PrinterStatus::PaperOut => "Paper out: load a new roll".into(),
        PrinterStatus::CoverOpen => "Printer lid open: close it".into(),
        PrinterStatus::NotResponding => "Printer not answering: check it is switched on".into(),
        PrinterStatus::Offline => "Printer not found: check its cable and power".into(),
        PrinterStatus::Unusable(why) => format!("Printer port unusable: {why}"),
        PrinterStatus::Unknown => "Printer cannot report paper or lid: check it after printing".into(),
        PrinterStatus::Error(e) => format!("Printer error: {e}"),
    }
}

impl PrintQueue {
    /// Opens a second connection to the store at `store_path`, puts jobs a crash cut off
    /// back in the queue, and starts the worker.
    pub fn start(store_path: &Path, setup: PrinterSetup, poll: Duration) -> Result<PrintQueue, StoreError> {
        let mut store = Store::open(store_path)?;
        let recovered = store.recover_interrupted_prints()?;
        if recovered > 0 {
            tracing::warn!(recovered, "print jobs interrupted by a restart will be reprinted");
        }
        let (commands, rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(QueueStatus {
            printer: setup.printer.name().to_owned(),
            status: PrinterStatus::Unknown,
            waiting: store.waiting_print_count()?,
            blocked: None,
            held: store.held_print_count()?,
            printed: 0,
            checked: false,
        }));
        let profile = setup.profile.clone();
        let shared = status.clone();
        let worker = std::thread::Builder::new()
            .name("printer".into())
            .spawn(move || Worker { store, setup, status: shared, poll }.run(rx))
            .map_err(|e| StoreError::Invalid(format!("cannot start the print worker: {e}")))?;
        Ok(PrintQueue { commands, status, worker: Some(worker), profile })
    }

    /// Tells the worker a job was queued or staff asked to retry.
    pub fn wake(&self) {
        let _ = self.commands.send(Command::Wake);
    }

    pub fn status(&self) -> QueueStatus {
        self.status.lock().expect("print status lock").clone()
    }

    pub fn profile(&self) -> &PrinterProfile {
        &self.profile
    }
}

impl Drop for PrintQueue {
    /// Lets the job in progress finish, then stops.
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// How many times a job is sent whole before it is held for staff: once, and once more if
/// it was cut off. A printer that cuts every copy short would otherwise eat the roll.
pub const MAX_SENDS: u32 = 2;

fn cut_off_twice(why: &str) -> String {
    format!("Stopped part-way twice ({why}). Check the printer, then print it again from the Printer tab")
}

struct Worker {
    store: Store,
    setup: PrinterSetup,
    status: Arc<Mutex<QueueStatus>>,
    poll: Duration,
}

impl Worker {
    fn run(mut self, commands: Receiver<Command>) {
        loop {
            let status = self.setup.printer.status();
            let mut printed = false;
            if status.can_print() {
                match self.store.next_print_job() {
                    Ok(Some(job)) => printed = self.print(job),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "cannot read the print queue"),
                }
            }
            self.publish(status);
            if printed {
                // More may be waiting: check again at once.
                if let Ok(Command::Stop) = commands.try_recv() {
                    return;
                }
                continue;
            }
            match commands.recv_timeout(self.poll) {
                Ok(Command::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn publish(&mut self, status: PrinterStatus) {
        let waiting = self.store.waiting_print_count().unwrap_or(0);
        let head = if waiting > 0 { self.store.next_print_job().ok().flatten() } else { None };
        let held = self.store.held_print_count().unwrap_or(0);
        let blocked = head.map(|job| {
            if status.can_print() { job.last_error.unwrap_or_else(|| "Printing".into()) } else { advice(&status) }
        });
        let mut shared = self.status.lock().expect("print status lock");
        shared.status = status;
        shared.checked = true;
        shared.waiting = waiting;
        shared.blocked = blocked;
        shared.held = held;
    }

    /// Prints one job; true if it reached paper whole.
    fn print(&mut self, job: PrintJob) -> bool {
        let store = &mut self.store;
        match store.start_print(job.id) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "cannot mark the print job started");
                return false;
            }
        }
        let ticket = layout(&job.printout, &self.setup.profile, &self.setup.layout, job.reprint);
        let bytes = match encode(&ticket, &self.setup.profile) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "print job cannot be encoded; held");
                let _ = store.hold_print(job.id, &format!("Cannot be printed: {e}"));
                return false;
            }
        };
        let outcome = self.setup.printer.print(&bytes);
        let sends = job.attempts + 1;
        // The outcome must reach the store: a printed job left `printing` is only reprinted
        // (marked) after a restart, never silently twice. Retry a busy or failing disk a while.
        for attempt in 1..=10 {
            let result = match &outcome {
                Ok(_) => store.finish_print(job.id, Utc::now()),
                Err(PrinterError::NotReady(s)) => store.requeue_print(job.id, &advice(s), false),
                Err(PrinterError::Interrupted(s)) if sends >= MAX_SENDS => {
                    store.hold_print(job.id, &cut_off_twice(&advice(s)))
                }
                Err(PrinterError::Interrupted(s)) => store.requeue_print(job.id, &advice(s), true),
                Err(e @ PrinterError::Io { .. }) if sends >= MAX_SENDS => {
                    store.hold_print(job.id, &cut_off_twice(&e.to_string()))
                }
                Err(e @ PrinterError::Io { .. }) => store.requeue_print(job.id, &e.to_string(), true),
                Err(PrinterError::Malformed(m)) => store.hold_print(job.id, &format!("Printer refused the job: {m}")),
            };
            match result {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(job = job.id, attempt, error = %e, "cannot record the print outcome");
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        match outcome {
            Ok(_) => {
                tracing::info!(job = job.id, title = %job.title, bytes = bytes.len(), "printed");
                self.status.lock().expect("print status lock").printed += 1;
                true
            }
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "print job waits");
                false
            }
        }
    }
}
