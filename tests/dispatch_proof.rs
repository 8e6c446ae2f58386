//! Proofs of dispatch against real files and a real process: a proof exported for an
//! insurer checks with `marketday dispatch verify`, and fails it once anything in it is
//! changed; a kiosk killed at any moment while recording hand-overs leaves every reported
//! hand-over whole, never a record without its photo, and orphan photos that start-up removes.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use common::Rng;
use marketday::dispatch::{self, Station, device_key, photo_dir};
use marketday::domain::dispatch::{Handover, ProofRecord, verify};
use marketday::photos::PhotoStore;
use marketday::store::{Shipment, Store};
use marketday_hardware::{Camera, SimulatedCamera};

fn add_orders(store: &mut Store, n: usize) {
    for i in 0..n {
        let shipment = Shipment {
            id: format!("WEB-{:05}", i + 1),
            sale_id: None,
            buyer: format!("Buyer {i}"),
            pieces: vec![format!("AT-2026-{:04}", i + 1)],
            created_at: Utc::now(),
            dispatched_at: None,
        };
        store.add_shipment(&shipment).unwrap();
    }
}

fn cli(args: &[&str], data_dir: &Path) -> (i32, String) {
    let config = data_dir.join("config.toml");
    let store = data_dir.join("kiosk.sqlite");
    std::fs::write(&config, format!("[store]\npath = {:?}\n", store.to_str().unwrap())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_marketday"))
        .args(["--data-dir", data_dir.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn an_exported_proof_verifies_and_any_tampering_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut store = Store::open(&data.join("kiosk.sqlite")).unwrap();
    add_orders(&mut store, 1);
    let station = Station::open(data, "K1", "Test stall", "https://verify.example").unwrap();
    let still = SimulatedCamera::test_pattern(1280, 720).still().unwrap();
    assert_eq!((still.width, still.height), (1280, 720));
    assert!(still.jpeg.starts_with(&[0xFF, 0xD8]), "a JPEG");
    let handover = Handover {
        order: "WEB-00001".into(),
        pieces: vec!["AT-2026-0001".into()],
        tracking_number: "jd0002234455gb".into(),
        courier: "Royal Mail".into(),
        courier_name: "Sam Porter".into(),
    };
    let now = Utc::now();
    dispatch::record_handover(&mut store, &station, handover, &still.jpeg, now, now).unwrap();
    drop(store);

    let bundle = dir.path().join("bundle");
    let (code, out) = cli(&["dispatch", "export", "WEB-00001", bundle.to_str().unwrap()], data);
    assert_eq!(code, 0, "{out}");
    let (json, jpeg) = (bundle.join("WEB-00001.json"), bundle.join("WEB-00001.jpg"));
    let key_hex = cli(&["dispatch", "device-key"], data).1.split_whitespace().next().unwrap().to_string();
    let check = |extra: &[&str]| {
        let mut args = vec!["dispatch", "verify", json.to_str().unwrap(), jpeg.to_str().unwrap()];
        args.extend_from_slice(extra);
        cli(&args, data)
    };
    let (code, out) = check(&["--device-key", &key_hex]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VALID") && out.contains("JD0002234455GB") && out.contains("Sam Porter"), "{out}");

    // Another kiosk's key: the record is genuine, but not from this device.
    let other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let (code, out) = check(&["--device-key", other]);
    assert_eq!((code, out.contains("not the expected")), (1, true), "{out}");

    // One byte of the photo.
    let original = std::fs::read(&jpeg).unwrap();
    let mut bytes = original.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&jpeg, &bytes).unwrap();
    let (code, out) = check(&[]);
    assert_eq!((code, out.contains("not the one recorded")), (1, true), "{out}");
    std::fs::write(&jpeg, &original).unwrap();

    // A field of the record, then the signature.
    let text = std::fs::read_to_string(&json).unwrap();
    let mut record: ProofRecord = serde_json::from_str(&text).unwrap();
    record.tracking_number = "JD0002234456GB".into();
    std::fs::write(&json, serde_json::to_string(&record).unwrap()).unwrap();
    let (code, out) = check(&[]);
    assert_eq!((code, out.contains("signature does not match")), (1, true), "{out}");
    let mut record: ProofRecord = serde_json::from_str(&text).unwrap();
    record.signature = record.signature.chars().rev().collect();
    std::fs::write(&json, serde_json::to_string(&record).unwrap()).unwrap();
    assert_eq!(check(&[]).0, 1);
    std::fs::write(&json, "{\"format\": 1, \"order\": ").unwrap();
    assert_ne!(check(&[]).0, 0, "a truncated record is not valid");
    std::fs::write(&json, text).unwrap();
    assert_eq!(check(&[]).0, 0, "restored, it verifies again");
}

#[test]
fn handovers_survive_sigkill_and_never_leave_a_record_without_its_photo() {
    const ORDERS: usize = 600;
    const ROUNDS: u64 = 60;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_orders(&mut Store::open(&data.join("kiosk.sqlite")).unwrap(), ORDERS);
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("kill-timing seed: {seed}");
    let mut rng = Rng(seed);
    let mut reported: HashSet<String> = HashSet::new();
    let mut killed = 0;
    for _ in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketday"))
            .arg("torture-dispatch")
            .arg(data)
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.is_empty() {
                    let _ = first_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        // The kill timer starts once the writer is under way: a cold start of a debug binary
        // on a loaded CI machine can take longer than the whole window, and killing a process
        // that has not begun proves nothing.
        let _ = first_rx.recv_timeout(Duration::from_secs(30));
        std::thread::sleep(Duration::from_micros(rng.next() % 60_000));
        child.kill().unwrap();
        if child.wait().unwrap().code().is_none() {
            killed += 1;
        }
        for line in reader.join().unwrap() {
            let order = line.strip_prefix("DISPATCHED ").and_then(|l| l.split(' ').next()).unwrap().to_string();
            assert!(reported.insert(order), "reported twice: {line}");
        }
    }
    assert!(killed > ROUNDS / 2, "the writer must really be killed mid-stream: {killed}");
    assert!(reported.len() > 20, "too few hand-overs to prove anything: {}", reported.len());

    let mut store = Store::open(&data.join("kiosk.sqlite")).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let photos = PhotoStore::open(&photo_dir(data)).unwrap();
    let key = device_key(data).unwrap().verifying_key();
    let awaiting: HashSet<String> = store.shipments_awaiting("").unwrap().into_iter().map(|s| s.id).collect();
    let mut dispatched = 0;
    for i in 0..ORDERS {
        let order = format!("WEB-{:05}", i + 1);
        match store.dispatch_proof(&order).unwrap() {
            Some(record) => {
                // Whole: its photo is on disk, unchanged, and the signature holds.
                let jpeg = photos.read_verified(&record.photo_sha256).unwrap();
                assert_eq!(verify(&record, &jpeg, Some(&key)), Ok(()), "{order}");
                assert!(!awaiting.contains(&order));
                dispatched += 1;
            }
            None => {
                assert!(!reported.contains(&order), "{order} was reported dispatched but has no proof");
                assert!(awaiting.contains(&order), "{order} is neither dispatched nor waiting");
            }
        }
    }
    assert!(dispatched >= reported.len());
    // Start-up clean-up leaves exactly the referenced photos.
    dispatch::remove_orphan_photos(&mut store, &photos).unwrap();
    let on_disk: HashSet<String> = std::fs::read_dir(photos.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".jpg").to_string())
        .collect();
    assert_eq!(on_disk, store.dispatch_photo_hashes().unwrap());
    eprintln!("{killed} kills, {} hand-overs reported, {dispatched} recorded", reported.len());
}
