//! A store that lost pages (a worn SD card, a copy cut short) as the `marketday` binary meets
//! it: refused, said in words, and not written to.

use std::process::Command;

use chrono::Utc;
use marketday::store::Store;

/// Damages pages in the middle of the file, as a card that lost sectors would.
fn overwrite_pages(path: &std::path::Path, pages: std::ops::Range<u64>) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for page in pages {
        file.seek(SeekFrom::Start(page * 4096)).unwrap();
        file.write_all(&[0xA5; 4096]).unwrap();
    }
    file.sync_all().unwrap();
}

#[test]
fn a_damaged_store_is_refused_by_the_kiosk_and_by_self_test_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.sqlite");
    let mut store = Store::open(&db).unwrap();
    marketday::demo::seed(&mut store, "Spitalfields", Utc::now()).unwrap();
    store.seed_pending_events(2_000, Utc::now()).unwrap();
    drop(store);
    // Everything in the main file, as after a clean stop.
    rusqlite::Connection::open(&db).unwrap().execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    let pages = std::fs::metadata(&db).unwrap().len() / 4096;
    assert!(pages > 20, "a store of {pages} pages is too small to damage in the middle");
    overwrite_pages(&db, pages / 2..pages / 2 + 3);
    let damaged = std::fs::read(&db).unwrap();

    let config = dir.path().join("marketday.toml");
    std::fs::write(
        &config,
        format!("[stall]\ndevice_id = \"K1\"\n[store]\npath = {db:?}\n[printer]\nkind = \"none\"\n[camera]\nkind = \"none\"\n"),
    )
    .unwrap();
    // The kiosk itself (headless here: it opens its store and draws its first frame), and
    // the machine check.
    for command in [&[][..], &["self-test"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_marketday"))
            .args(["--config", config.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap()])
            .args(command)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command:?} passed a damaged store: {said}");
        assert!(said.contains("is damaged") && said.contains("backup"), "{command:?}: {said}");
        assert_eq!(std::fs::read(&db).unwrap(), damaged, "{command:?} wrote to the damaged store");
    }
}
