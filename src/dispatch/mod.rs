//! A courier's hand-over, from the photo to the committed proof, and the device key that
//! signs it. Order of work, which is what makes a power cut harmless: the photo is on disk
//! (fsynced, renamed) before the record is signed and committed; a photo without a record
//! is an orphan that start-up removes.

pub mod cli;

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};

use crate::domain::dispatch::{self, Handover, HandoverError, ProofProblem, ProofRecord, short_hash};
use crate::domain::printout::{DispatchSlipDoc, Printout};
use crate::photos::{PhotoError, PhotoStore};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Handover(#[from] HandoverError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("No order {0} is waiting for a courier")]
    NoSuchOrder(String),
    #[error("Order {0} was already handed to a courier")]
    AlreadyDispatched(String),
    #[error("the device key {path}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error("the proof of {order} does not hold: {problem}")]
    Broken { order: String, problem: ProofProblem },
}

impl crate::i18n::Localized for DispatchError {
    fn localized(&self, language: crate::i18n::Language) -> String {
        use crate::t;
        match self {
            DispatchError::Handover(e) => e.localized(language),
            DispatchError::Photo(e) => e.localized(language),
            DispatchError::Store(e) => e.localized(language),
            DispatchError::NoSuchOrder(order) => {
                t!(language, "No order {order} is waiting for a courier", order = order)
            }
            DispatchError::AlreadyDispatched(order) => {
                t!(language, "Order {order} was already handed to a courier", order = order)
            }
            // The kiosk's own files: what an engineer needs, in the words of the system.
            DispatchError::Key { .. } | DispatchError::File { .. } => {
                t!(language, "The kiosk's signing files cannot be used: {detail}", detail = self)
            }
            DispatchError::Broken { order, problem } => t!(
                language,
                "The proof of {order} does not hold: {problem}",
                order = order,
                problem = problem.localized(language)
            ),
        }
    }
}

const DEVICE_KEY_FILE: &str = "device-key.pem";

/// The kiosk's own signing key, created on first use (owner-only file in the data
/// directory). Its public half identifies the kiosk to whoever checks its proofs.
pub fn device_key(data_dir: &Path) -> Result<SigningKey, DispatchError> {
    let path = data_dir.join(DEVICE_KEY_FILE);
    let key_error = |why: String| DispatchError::Key { path: path.clone(), why };
    match fs::read_to_string(&path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem).map_err(|_| key_error("not an Ed25519 private key (PKCS#8 PEM); move it away to make a new one (old proofs stay checkable by their recorded key)".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            rand::fill(&mut seed);
            let key = SigningKey::from_bytes(&seed);
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| key_error(e.to_string()))?;
            fs::create_dir_all(data_dir)
                .and_then(|()| crate::provenance::create_new_file(&path, pem.as_bytes(), 0o600))
                .map_err(|e| key_error(e.to_string()))?;
            tracing::info!(path = %path.display(), "created the device's signing key");
            Ok(key)
        }
        Err(e) => Err(key_error(e.to_string())),
    }
}

/// Where a kiosk keeps its dispatch photos.
pub fn photo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("dispatch-photos")
}

/// The kiosk as a hand-over station: its device key, its photo folder, and what its slips
/// print. Opening it creates the device key on first start.
pub struct Station {
    pub key: SigningKey,
    pub device_id: String,
    pub photos: PhotoStore,
    pub stall: String,
    /// The verify host the slip's QR points to.
    pub verify_url: String,
}

impl Station {
    pub fn open(data_dir: &Path, device_id: &str, stall: &str, verify_url: &str) -> Result<Station, DispatchError> {
        Ok(Station {
            key: device_key(data_dir)?,
            device_id: device_id.into(),
            photos: PhotoStore::open(&photo_dir(data_dir))?,
            stall: stall.into(),
            verify_url: verify_url.into(),
        })
    }
}

/// Keeps the photo, signs the hand-over and commits it, in that order. Only when this
/// returns is the parcel proven handed over.
pub fn record_handover(
    store: &mut Store,
    station: &Station,
    handover: Handover,
    jpeg: &[u8],
    captured_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<ProofRecord, DispatchError> {
    let handover = handover.checked()?;
    let shipment = match store.shipment(&handover.order)? {
        None => return Err(DispatchError::NoSuchOrder(handover.order)),
        Some(s) if s.dispatched_at.is_some() => return Err(DispatchError::AlreadyDispatched(handover.order)),
        Some(s) => s,
    };
    store.begin_photo_write(&dispatch::photo_hash(jpeg), now)?;
    station.photos.put(jpeg)?;
    let record = dispatch::sign(&handover, jpeg, captured_at, &station.device_id, &station.key);
    let slip = Printout::DispatchSlip(DispatchSlipDoc {
        stall: station.stall.clone(),
        order: record.order.clone(),
        buyer: shipment.buyer,
        pieces: record.pieces.clone(),
        tracking_number: record.tracking_number.clone(),
        courier: record.courier.clone(),
        courier_name: record.courier_name.clone(),
        captured_at: record.captured_at,
        photo_short: short_hash(&record.photo_sha256).to_string(),
        qr: DispatchSlipDoc::proof_url(&station.verify_url, &record.order, &record.photo_sha256),
    });
    store.record_dispatch(&record, Some(&slip), now)?;
    Ok(record)
}

/// Start-up: photos this store began that never got their record (a power cut in between)
/// go; photos another store in the same folder wrote are never touched.
pub fn remove_orphan_photos(store: &mut Store, photos: &PhotoStore) -> Result<usize, DispatchError> {
    let left_over = store.photos_left_over()?;
    let removed = photos.remove_left_over(&left_over)?;
    store.forget_photo_writes(&left_over)?;
    Ok(removed)
}

/// Removes local copies of photos the cloud has held for `keep_days`; their records stay
/// and say where the photo is. Returns how many went.
pub fn prune_uploaded_photos(
    store: &mut Store,
    photos: &PhotoStore,
    now: DateTime<Utc>,
    keep_days: u32,
) -> Result<usize, DispatchError> {
    let due = store.photos_to_remove(now - chrono::Duration::days(i64::from(keep_days)))?;
    for sha256 in &due {
        store.mark_photo_removed(sha256, now)?;
        photos.remove(sha256)?;
    }
    if !due.is_empty() {
        tracing::info!(removed = due.len(), keep_days, "removed local copies of photos the cloud holds");
    }
    Ok(due.len())
}

/// Writes `<order>.json` and `<order>.jpg` for an insurer, after checking that the photo
/// on disk is still the one signed for.
pub fn export(
    store: &Store,
    photos: &PhotoStore,
    order: &str,
    out: &Path,
) -> Result<(PathBuf, PathBuf), DispatchError> {
    let record = store.dispatch_proof(order)?.ok_or_else(|| DispatchError::NoSuchOrder(order.into()))?;
    let jpeg = photos.read_verified(&record.photo_sha256)?;
    dispatch::verify(&record, &jpeg, None).map_err(|problem| DispatchError::Broken { order: order.into(), problem })?;
    fs::create_dir_all(out).map_err(|e| DispatchError::File { path: out.into(), why: e.to_string() })?;
    let safe: String = order.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let (json_path, photo_path) = (out.join(format!("{safe}.json")), out.join(format!("{safe}.jpg")));
    let json = serde_json::to_string_pretty(&record).expect("a record always serialises");
    for (path, bytes) in [(&json_path, json.as_bytes()), (&photo_path, jpeg.as_slice())] {
        fs::write(path, bytes).map_err(|e| DispatchError::File { path: path.clone(), why: e.to_string() })?;
    }
    Ok((json_path, photo_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Shipment;

    fn shipment(id: &str, now: DateTime<Utc>) -> Shipment {
        Shipment {
            id: id.into(),
            sale_id: None,
            buyer: "Ada Lovelace".into(),
            pieces: vec!["AT-2026-0007".into()],
            created_at: now,
            dispatched_at: None,
        }
    }

    fn station(data_dir: &Path) -> Station {
        Station::open(data_dir, "K1", "Test stall", "https://verify.example").unwrap()
    }

    fn handover(order: &str) -> Handover {
        Handover {
            order: order.into(),
            pieces: vec!["AT-2026-0007".into()],
            tracking_number: "JD000223344GB".into(),
            courier: "Royal Mail".into(),
            courier_name: "Sam".into(),
        }
    }

    #[test]
    fn a_handover_is_kept_signed_exported_and_checkable() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        store.add_shipment(&shipment("WEB-1001", now)).unwrap();
        let station = station(dir.path());
        let key = &station.key;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(DEVICE_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(device_key(dir.path()).unwrap().verifying_key(), key.verifying_key(), "the same key next start");
        let photos = &station.photos;
        let before = store.unsynced_count().unwrap();

        let jpeg = b"\xFF\xD8 a sealed parcel \xFF\xD9";
        let record = record_handover(&mut store, &station, handover("WEB-1001"), jpeg, now, now).unwrap();
        assert_eq!(store.unsynced_count().unwrap(), before + 1);
        assert!(store.shipments_awaiting("").unwrap().is_empty());
        assert_eq!(store.dispatch_proof("WEB-1001").unwrap(), Some(record.clone()));
        // Its slip was queued with it.
        let job = store.next_print_job().unwrap().expect("the dispatch slip");
        let crate::domain::printout::Printout::DispatchSlip(slip) = job.printout else { panic!("{job:?}") };
        assert_eq!((slip.order.as_str(), slip.tracking_number.as_str()), ("WEB-1001", "JD000223344GB"));
        assert_eq!((slip.buyer.as_str(), slip.photo_short.len()), ("Ada Lovelace", 12));
        assert!(slip.qr.ends_with(&format!("/d/WEB-1001/{}", record.photo_sha256)));
        assert!(matches!(
            record_handover(&mut store, &station, handover("WEB-1001"), jpeg, now, now),
            Err(DispatchError::AlreadyDispatched(_))
        ));
        assert!(matches!(
            record_handover(&mut store, &station, handover("WEB-9999"), jpeg, now, now),
            Err(DispatchError::NoSuchOrder(_))
        ));

        let (json, photo) = export(&store, photos, "WEB-1001", &dir.path().join("bundle")).unwrap();
        let back: ProofRecord = serde_json::from_slice(&fs::read(json).unwrap()).unwrap();
        assert_eq!(dispatch::verify(&back, &fs::read(photo).unwrap(), Some(&key.verifying_key())), Ok(()));

        // A photo changed on disk is reported, never exported as proof.
        fs::write(photos.path_of(&record.photo_sha256), b"\xFF\xD8 another parcel \xFF\xD9").unwrap();
        assert!(matches!(
            export(&store, photos, "WEB-1001", &dir.path().join("bundle2")),
            Err(DispatchError::Photo(PhotoError::Changed { .. }))
        ));
    }

    #[test]
    fn a_photo_whose_record_never_committed_is_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        store.add_shipment(&shipment("WEB-1", now)).unwrap();
        store.add_shipment(&shipment("WEB-2", now)).unwrap();
        let station = station(dir.path());
        let photos = &station.photos;
        let kept = record_handover(&mut store, &station, handover("WEB-1"), b"parcel one", now, now).unwrap();
        // The power goes between the photo and its record:
        store.begin_photo_write(&dispatch::photo_hash(b"parcel two"), now).unwrap();
        let orphan = photos.put(b"parcel two").unwrap();
        assert_eq!(remove_orphan_photos(&mut store, photos).unwrap(), 1);
        assert!(!photos.path_of(&orphan).exists());
        assert_eq!(photos.read_verified(&kept.photo_sha256).unwrap(), b"parcel one");
        assert_eq!(store.shipments_awaiting("").unwrap().len(), 1, "WEB-2 still waits, whole");
        assert_eq!(remove_orphan_photos(&mut store, photos).unwrap(), 0, "once");
    }

    /// The loss: a second config on the same data directory opened another store,
    /// whose start-up removed the first store's signed photo.
    #[test]
    fn another_store_sharing_the_photo_folder_never_removes_a_photo_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut demo = Store::open(&dir.path().join("demo.sqlite")).unwrap();
        demo.add_shipment(&shipment("WEB-1", now)).unwrap();
        let station = station(dir.path());
        let kept = record_handover(&mut demo, &station, handover("WEB-1"), b"parcel one", now, now).unwrap();
        // A photo from before stores noted what they write, with no record anywhere.
        let unknown = station.photos.put(b"an older kiosk's photo").unwrap();
        let mut other = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        assert_eq!(remove_orphan_photos(&mut other, &station.photos).unwrap(), 0);
        assert_eq!(remove_orphan_photos(&mut demo, &station.photos).unwrap(), 0);
        assert_eq!(station.photos.read_verified(&kept.photo_sha256).unwrap(), b"parcel one");
        assert!(station.photos.path_of(&unknown).exists(), "what no store noted is never deleted");
    }

    #[test]
    fn only_photos_the_cloud_has_held_long_enough_leave_the_kiosk() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
        let station = station(dir.path());
        let mut records = Vec::new();
        for (i, order) in ["WEB-1", "WEB-2", "WEB-3"].into_iter().enumerate() {
            store.add_shipment(&shipment(order, now)).unwrap();
            let photo = format!("parcel {i}");
            records.push(record_handover(&mut store, &station, handover(order), photo.as_bytes(), now, now).unwrap());
        }
        let day = chrono::Duration::days(1);
        store.mark_photo_uploaded(&records[0].photo_sha256, now - day * 31).unwrap();
        store.mark_photo_uploaded(&records[1].photo_sha256, now - day * 29).unwrap();
        // WEB-3's photo has not reached the cloud: it stays whatever its age.
        assert_eq!(prune_uploaded_photos(&mut store, &station.photos, now, 30).unwrap(), 1);
        assert!(!station.photos.path_of(&records[0].photo_sha256).exists());
        assert!(station.photos.path_of(&records[1].photo_sha256).exists());
        assert!(station.photos.path_of(&records[2].photo_sha256).exists());
        assert_eq!(prune_uploaded_photos(&mut store, &station.photos, now, 30).unwrap(), 0, "once");

        let listed = store.dispatched_since(now - day, 10).unwrap();
        assert_eq!(listed.len(), 3);
        let first = listed.iter().find(|d| d.shipment.id == "WEB-1").unwrap();
        assert_eq!(first.record, records[0], "the record stays");
        assert!(first.photo_removed_at.is_some());
        // Removed on purpose, so not an orphan to sweep nor a photo to keep.
        assert!(!store.dispatch_photo_hashes().unwrap().contains(&records[0].photo_sha256));
        assert_eq!(prune_uploaded_photos(&mut store, &station.photos, now, 0).unwrap(), 1, "keep 0 days: WEB-2 too");
    }

    #[test]
    fn a_damaged_device_key_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(DEVICE_KEY_FILE), "not a key").unwrap();
        let err = device_key(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not an Ed25519 private key"), "{err}");
        assert_eq!(fs::read_to_string(dir.path().join(DEVICE_KEY_FILE)).unwrap(), "not a key");
    }
}
