//! Sync with the cloud: the outbox goes up in order, in batches, and an event counts as
//! delivered only once the cloud's answer for it has been read and committed here; dispatch
//! photos follow, resumably, and the piece photos the catalog names come down, resumably
//! too. A background thread runs it, so the UI never waits on the
//! network; the status bar reads a snapshot.

pub mod client;
pub mod pull;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use marketday_cloud::wire::{self, Outcome};

pub use client::{Client, SyncError};

use crate::photos::PhotoStore;
use crate::piece_photos::PiecePhotos;
use crate::store::{Delivery, Store};

/// Events per request: small enough that a slow link finishes a batch, large enough that
/// 10,000 queued events are a few dozen requests.
pub const BATCH: usize = 250;
const _: () = assert!(BATCH <= wire::MAX_PUSH_EVENTS);

/// What one sync round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub delivered: u64,
    pub refused: u64,
    pub photos: u64,
    /// Changes from the cloud applied here.
    pub pulled: u64,
    /// Piece photos fetched whole.
    pub piece_photos: u64,
}

/// Sends the outbox in batches until nothing is pending.
async fn push(store: &mut Store, client: &Client, done: &mut Round) -> Result<(), SyncError> {
    loop {
        let batch = store.pending_events(BATCH)?;
        let Some(first) = batch.first() else { break };
        let waiting = store.unsynced_count()?.saturating_sub(batch.len() as u64);
        let events: Vec<wire::Event> = batch
            .iter()
            .map(|e| wire::Event {
                seq: e.seq,
                id: e.id,
                kind: e.kind.clone(),
                at: e.at.timestamp_millis(),
                payload: e.payload.clone(),
            })
            .collect();
        let answer = match client.push(&events, waiting).await {
            Ok(answer) => answer,
            Err(SyncError::Gap { expected }) if expected < first.seq => {
                // The cloud lost what it had acknowledged (restored from a backup): send again.
                let again = store.resend_from(expected)?;
                if again == 0 {
                    // This kiosk never had the events the cloud waits for (its store was
                    // replaced): nothing here can fill the gap, so say so rather than loop.
                    return Err(SyncError::Gap { expected });
                }
                tracing::warn!(expected, again, "the cloud is missing acknowledged events; sending them again");
                continue;
            }
            Err(SyncError::StoreBehind { cloud_next, .. }) => {
                return Err(SyncError::StoreBehind {
                    sent: first.seq,
                    cloud_next,
                    acknowledged_here: store.last_acknowledged_seq()?,
                });
            }
            Err(e) => return Err(e),
        };
        let answers: Vec<_> = answer
            .results
            .iter()
            .map(|r| {
                let delivery = match &r.outcome {
                    Outcome::Accepted => Delivery::Accepted,
                    Outcome::Rejected { reason, message } => {
                        Delivery::Refused { reason: reason.as_str().into(), message: message.clone() }
                    }
                };
                (r.id, delivery)
            })
            .collect();
        done.refused += answers.iter().filter(|(_, d)| matches!(d, Delivery::Refused { .. })).count() as u64;
        done.delivered += answers.len() as u64;
        store.acknowledge(&answers, Utc::now())?;
    }
    Ok(())
}

/// Pushes every pending event, pulls what the atelier published, then uploads photos the
/// cloud lacks. Stops at the first failure; what was acknowledged or applied before it stays.
/// Pushing first means the cloud has this kiosk's sales before it answers about pieces.
pub async fn round(store: &mut Store, client: &Client, photos: Option<&PhotoStore>) -> Result<Round, SyncError> {
    let mut done = Round::default();
    round_into(store, client, photos, &mut done).await?;
    Ok(done)
}

/// [`round`], counting into `done` as it goes, so a round that fails part-way still tells
/// what it got through (the worker resets its backoff on any progress).
pub async fn round_into(
    store: &mut Store,
    client: &Client,
    photos: Option<&PhotoStore>,
    done: &mut Round,
) -> Result<(), SyncError> {
    push(store, client, done).await?;
    let pulled = pull::pull(store, client).await?;
    done.pulled = pulled.applied + pulled.refused;
    if pulled.refused > 0 {
        // Refusing an online reservation is news for the cloud: send it now, not next round.
        push(store, client, done).await?;
    }
    if let Some(photos) = photos {
        for sha256 in store.photos_to_upload()? {
            let bytes = photos
                .read_verified(&sha256)
                .map_err(|e| SyncError::Photo { sha256: sha256.clone(), why: e.to_string() })?;
            client.upload_photo(&sha256, &bytes).await?;
            store.mark_photo_uploaded(&sha256, Utc::now())?;
            done.photos += 1;
        }
    }
    Ok(())
}

/// Fetches every piece photo the catalog names and the folder lacks, each from where an
/// earlier, cut-off download stopped; returns how many arrived whole. A photo the cloud does
/// not have (yet) is left for a later round, and one whose bytes do not hash to its name is
/// thrown away and fetched afresh then: neither stops the others. No answer from the cloud
/// stops the round, keeping what arrived.
pub async fn fetch_piece_photos(store: &Store, client: &Client, photos: &PiecePhotos) -> Result<u64, SyncError> {
    let mut fetched = 0;
    for sha256 in store.piece_photos()? {
        if photos.has(&sha256) {
            continue;
        }
        let from = photos.fetched(&sha256)?;
        let Some(mut download) = client.piece_photo(&sha256, from).await? else {
            if from > 0 {
                // Refused from there: what is here is not a start of that photo.
                photos.writer(&sha256, 0)?;
            } else {
                tracing::warn!(photo = %sha256, "the cloud has no such piece photo yet");
            }
            continue;
        };
        let mut partial = photos.writer(&sha256, download.from)?;
        let mut written = download.from;
        loop {
            match download.chunk().await {
                Ok(Some(bytes)) => {
                    partial.append(&bytes)?;
                    written += bytes.len() as u64;
                    if written > wire::MAX_PHOTO_BYTES {
                        photos.writer(&sha256, 0)?;
                        return Err(SyncError::Photo { sha256, why: "longer than a photo may be".into() });
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // What arrived stays for the next round to go on from.
                    partial.flush()?;
                    return Err(e);
                }
            }
        }
        match partial.finish() {
            Ok(()) => fetched += 1,
            Err(e @ crate::piece_photos::PiecePhotoError::Mismatch { .. }) => tracing::warn!(error = %e),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(fetched)
}

impl Round {
    /// Whether anything was acknowledged, applied, uploaded or fetched.
    pub fn progressed(&self) -> bool {
        self.delivered + self.refused + self.photos + self.pulled + self.piece_photos > 0
    }
}

/// What the last attempt came to, for the wait before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The round finished.
    Done,
    /// No answer at all (no route, refused, timed out): costs nothing to try again soon.
    NoAnswer { progressed: bool },
    /// An answer, but a bad one (a 5xx, a portal, a broken body): the cloud is given room.
    BadAnswer { progressed: bool },
}

impl Attempt {
    /// What a round that ended with `result` came to.
    pub fn of(result: &Result<(), SyncError>, progressed: bool) -> Attempt {
        match result {
            Ok(()) => Attempt::Done,
            Err(e) if e.no_answer() => Attempt::NoAnswer { progressed },
            Err(_) => Attempt::BadAnswer { progressed },
        }
    }
}

/// The wait before the next round, and the count of bad answers in a row it is based on.
/// Any progress starts the count again: a flaky link that delivers between faults is used
/// as soon as it works, not after minutes of backoff earned before.
pub fn next_wait(failures: &mut u32, attempt: Attempt, interval: Duration) -> Duration {
    match attempt {
        Attempt::Done => {
            *failures = 0;
            interval
        }
        // Broken mid-way after progress: the link works, go on at once (a second or less).
        Attempt::NoAnswer { progressed: true } => {
            *failures = 0;
            backoff(0)
        }
        Attempt::NoAnswer { progressed: false } => backoff(2).min(OFFLINE_RETRY),
        Attempt::BadAnswer { progressed } => {
            *failures = if progressed { 1 } else { *failures + 1 };
            backoff(*failures)
        }
    }
}

/// Where sync stands, for the status bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Whether the last attempt reached the cloud; `None` until the first attempt ends.
    pub online: Option<bool>,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// A round is under way.
    pub syncing: bool,
    /// This kiosk's clock minus the cloud's, in seconds, as last seen.
    pub clock_skew: Option<i64>,
}

/// How far the kiosk's clock may drift from the cloud's before staff are told: receipts,
/// hold expiries and drop windows all read it (a Raspberry Pi has no clock battery).
pub const CLOCK_TOLERANCE_SECONDS: i64 = 120;

/// "Clock 7 min behind": the badge's words for a clock off by more than the tolerance.
pub fn clock_off(skew: Option<i64>) -> Option<String> {
    let skew = skew.filter(|s| s.abs() > CLOCK_TOLERANCE_SECONDS)?;
    let minutes = (skew.abs() + 30) / 60;
    let amount = if minutes >= 120 { format!("{} h", (minutes + 30) / 60) } else { format!("{minutes} min") };
    Some(format!("Clock {amount} {}", if skew < 0 { "behind" } else { "ahead" }))
}

pub struct SyncSettings {
    pub url: String,
    pub token: String,
    /// PEM certificate authorities to trust for the cloud besides the public ones.
    pub ca: Option<Vec<u8>>,
    /// Between rounds when all is well.
    pub interval: Duration,
}

/// The longest wait between attempts while the cloud cannot be reached at all, so the
/// first sync after the network returns comes within seconds.
pub const OFFLINE_RETRY: Duration = Duration::from_secs(4);

/// The background sync thread.
pub struct SyncWorker {
    status: Arc<Mutex<SyncStatus>>,
    wake: Arc<tokio::sync::Notify>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Waits after the n-th failure in a row: 1 s doubling to 5 min, with jitter so a market
/// full of kiosks does not reconnect in step.
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(8)).min(Duration::from_secs(300));
    base.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

impl SyncWorker {
    pub fn start(
        store_path: &Path,
        photo_dir: Option<PathBuf>,
        settings: SyncSettings,
    ) -> Result<SyncWorker, SyncError> {
        let client = Client::trusting(&settings.url, &settings.token, Duration::from_secs(30), settings.ca.as_deref())?;
        let mut store = Store::open(store_path)?;
        let photos = photo_dir.map(|d| PhotoStore::open(&d)).transpose()?;
        let piece_photos = PiecePhotos::open(&crate::piece_photos::dir_for(store_path))?;
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let wake = Arc::new(tokio::sync::Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, w, st) = (status.clone(), wake.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "sync cannot start");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut failures = 0;
                    while !st.load(Ordering::Relaxed) {
                        s.lock().unwrap_or_else(|e| e.into_inner()).syncing = true;
                        let mut done = Round::default();
                        let mut result = round_into(&mut store, &client, photos.as_ref(), &mut done).await;
                        if result.is_ok() {
                            match fetch_piece_photos(&store, &client, &piece_photos).await {
                                Ok(n) => done.piece_photos = n,
                                Err(e) => result = Err(e),
                            }
                        }
                        let wait = {
                            let mut status = s.lock().unwrap_or_else(|e| e.into_inner());
                            match result {
                                Ok(()) => {
                                    if done.progressed() {
                                        tracing::info!(?done, "synced");
                                    }
                                    *status = SyncStatus {
                                        online: Some(true),
                                        last_ok: Some(Utc::now()),
                                        last_error: None,
                                        syncing: false,
                                        clock_skew: client.clock_skew(),
                                    };
                                    next_wait(&mut failures, Attempt::Done, settings.interval)
                                }
                                Err(e) => {
                                    let progressed = done.progressed();
                                    let offline = e.no_answer();
                                    tracing::warn!(error = %e, failures, ?done, "sync failed");
                                    status.online = Some(!offline);
                                    status.last_error = Some(e.to_string());
                                    status.syncing = false;
                                    status.clock_skew = client.clock_skew().or(status.clock_skew);
                                    let attempt = Attempt::of(&Err(e), progressed);
                                    next_wait(&mut failures, attempt, settings.interval)
                                }
                            }
                        };
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = w.notified() => {}
                        }
                    }
                });
            })
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(SyncWorker { status, wake, stop, thread: Some(thread) })
    }

    pub fn status(&self) -> SyncStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Starts a round now (a new sale, or staff tapping "Sync now").
    pub fn sync_now(&self) {
        self.wake.notify_one();
    }
}

impl Drop for SyncWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        // A round in flight ends within its request timeout; nothing it committed is lost
        // and nothing unacknowledged was marked.
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_is_reported_only_beyond_the_tolerance_and_in_words() {
        assert_eq!(clock_off(None), None);
        assert_eq!(clock_off(Some(CLOCK_TOLERANCE_SECONDS)), None);
        assert_eq!(clock_off(Some(-CLOCK_TOLERANCE_SECONDS)), None);
        assert_eq!(clock_off(Some(-7 * 60)).as_deref(), Some("Clock 7 min behind"));
        assert_eq!(clock_off(Some(3 * 3600 + 100)).as_deref(), Some("Clock 3 h ahead"));
    }

    #[test]
    fn progress_resets_the_backoff_and_no_answer_never_builds_it_up() {
        let interval = Duration::from_secs(30);
        let mut failures = 0;
        // A flaky spell: ten rounds with no answer at all never wait more than a few seconds.
        for _ in 0..10 {
            assert!(next_wait(&mut failures, Attempt::NoAnswer { progressed: false }, interval) <= OFFLINE_RETRY);
        }
        assert_eq!(failures, 0, "no answer is not a bad answer");
        // Bad answers back off: by the eighth, minutes.
        for _ in 0..8 {
            next_wait(&mut failures, Attempt::BadAnswer { progressed: false }, interval);
        }
        assert_eq!(failures, 8);
        assert!(backoff(failures) >= Duration::from_secs(128));
        // One acknowledged batch before the next fault: back to a second or two.
        let wait = next_wait(&mut failures, Attempt::BadAnswer { progressed: true }, interval);
        assert_eq!(failures, 1);
        assert!(wait <= Duration::from_secs(2), "{wait:?}");
        next_wait(&mut failures, Attempt::BadAnswer { progressed: false }, interval);
        next_wait(&mut failures, Attempt::NoAnswer { progressed: true }, interval);
        assert_eq!(failures, 0);
        assert_eq!(next_wait(&mut failures, Attempt::Done, interval), interval);
    }
}
